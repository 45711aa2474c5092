"""Registers the regression pillar's tasks and methods with the evaluator."""

from __future__ import annotations

from hybrid.evaluate.registry import register_method, register_task
from hybrid.neural.regression import MLPRegressor
from hybrid.regression.feynman import FeynmanRegressor
from hybrid.regression.feynman_task import FeynmanTask
from hybrid.regression.peers import GPLearnRegressor, OperonRegressor, make_peer
from hybrid.regression.per_problem import PerProblemRegressor
from hybrid.regression.powerlaw import PowerLawRegressor
from hybrid.regression.powerlaw_task import PowerLawTask

POWERLAW_TASKS = ("powerlaw", "powerlaw-all")
FEYNMAN_TASKS = ("feynman", "feynman-all")


def _powerlaw(**params) -> PowerLawTask:
    params.setdefault("equations", "representative")
    return PowerLawTask(**{**params, "name": "powerlaw"})


def _powerlaw_all(**params) -> PowerLawTask:
    params.setdefault("equations", "all")
    return PowerLawTask(**{**params, "name": "powerlaw-all"})


def _feynman(**params) -> FeynmanTask:
    params.setdefault("equations", "sample-efficiency")
    return FeynmanTask(**{**params, "name": "feynman"})


def _feynman_all(**params) -> FeynmanTask:
    params.setdefault("equations", "all")
    return FeynmanTask(**{**params, "name": "feynman-all"})


def _ai_feynman_method(task, *, seed: int, device: str, **params) -> PerProblemRegressor:
    """The AI-Feynman solver, one clone per equation."""
    return PerProblemRegressor(FeynmanRegressor(seed=seed, device=device, **params))


def _peer_method(name: str):
    """A factory of the peer called ``name`` (see :data:`hybrid.regression.peers.PEERS`), one clone per equation."""

    def factory(task, *, seed: int, device: str, **params) -> PerProblemRegressor:
        return PerProblemRegressor(make_peer(name, seed=seed, **params))

    return factory


def _power_law_method(task, *, seed: int, device: str, **params) -> PerProblemRegressor:
    """The power-law regressor, one clone per equation."""
    return PerProblemRegressor(PowerLawRegressor(**params))


def _mlp_method(task, *, seed: int, device: str, **params) -> PerProblemRegressor:
    """The MLP baseline, one clone per equation."""
    return PerProblemRegressor(MLPRegressor(seed=seed, device=device, **params))


register_task(
    "powerlaw",
    _powerlaw,
    "10 power laws of the Feynman table (Coulomb, Larmor, ideal gas, ...): R^2 in and "
    "outside the training range, exact recovery",
    quick_sizes=(8, 32, 128),
    quick_seeds=2,
)
register_task(
    "powerlaw-all",
    _powerlaw_all,
    "all 38 power laws of the Feynman table (the same metrics; not in --quick)",
    quick_sizes=(8, 32),
    quick_seeds=1,
    in_quick=False,
)
register_task(
    "feynman",
    _feynman,
    "24 Feynman equations beyond power laws (sums, roots, exp, trig; 1-6 variables), with SI units: "
    "R^2 in and outside the training range, exact recovery (not in --quick)",
    quick_sizes=(10, 100),
    quick_seeds=1,
    in_quick=False,
)
register_task(
    "feynman-all",
    _feynman_all,
    "all 100 Feynman equations, with SI units (the same metrics; not in --quick)",
    quick_sizes=(100,),
    quick_seeds=1,
    in_quick=False,
)
register_method(
    "ai-feynman",
    _ai_feynman_method,
    estimator=FeynmanRegressor,
    tasks=FEYNMAN_TASKS,
    description="AI-Feynman loop: dimensional analysis, polyfit, brute force, MLP-oracle symmetries, recursion",
    defaults={"time_budget_s": 60.0},
)
register_method(
    "gplearn",
    _peer_method("gplearn"),
    estimator=GPLearnRegressor,
    tasks=FEYNMAN_TASKS,
    description="gplearn genetic programming (peer; needs the 'peers' extra), stopped at the time budget",
    defaults={"time_budget_s": 60.0},
)
register_method(
    "operon",
    _peer_method("operon"),
    estimator=OperonRegressor,
    tasks=FEYNMAN_TASKS,
    description="Operon (pyoperon) genetic programming (peer; needs the 'peers' extra), SRBench settings",
    defaults={"time_budget_s": 60.0},
)
register_method(
    "powerlaw-lstsq",
    _power_law_method,
    estimator=PowerLawRegressor,
    tasks=POWERLAW_TASKS,
    description="least squares in log space, exponents snapped to rationals, constant to r*pi^k",
    defaults={"max_denominator": 6, "significance": 4.0},
)
register_method(
    "mlp",
    _mlp_method,
    estimator=MLPRegressor,
    tasks=POWERLAW_TASKS + FEYNMAN_TASKS,
    description="tanh MLP, standardised, early stopping, width x learning-rate search",
    defaults={
        "widths": [32, 128],
        "learning_rates": [0.01, 0.003],
        "depth": 2,
        "max_epochs": 10000,
        "patience": 100,
    },
)
