"""Registers the regression pillar's tasks and methods with the evaluator."""

from __future__ import annotations

from hybrid.evaluate.registry import register_method, register_task
from hybrid.neural.regression import MLPRegressor
from hybrid.regression.compressed import CompressedRegressor
from hybrid.regression.feynman import FeynmanRegressor
from hybrid.regression.feynman_task import FeynmanTask
from hybrid.regression.peers import GPLearnRegressor, OperonRegressor, make_peer
from hybrid.regression.per_problem import PerProblemRegressor
from hybrid.regression.powerlaw import PowerLawRegressor
from hybrid.regression.powerlaw_task import PowerLawTask

POWERLAW_TASKS = ("powerlaw", "powerlaw-all")
FEYNMAN_TASKS = ("feynman", "feynman-all")
MLP_DEFAULTS = {"widths": [32, 128], "learning_rates": [0.01, 0.003], "depth": 2, "max_epochs": 10000, "patience": 100}


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
    pillar="regression",
    in_quick=False,
)
register_task(
    "powerlaw-all",
    _powerlaw_all,
    "all 38 power laws of the Feynman table (the same metrics; not in --quick)",
    quick_sizes=(8, 32),
    quick_seeds=1,
    pillar="regression",
    in_quick=False,
)
#: ``compare --quick``'s regression: six of the ``feynman`` task's equations (a Gaussian, a sum with
#: a sine, a weighted mean, a quotient by gamma - 1, a difference of squares in a denominator and
#: Planck's law), the solver at 10 s per equation (60 s in the full task), and the MLP and its int8
#: form with one width and learning rate (64, 0.01) instead of the full search's four.
QUICK_FEYNMAN = ("I.6.2a", "I.12.11", "I.18.4", "I.39.11", "II.11.3", "III.4.33")
QUICK_MLP = {"widths": [64], "learning_rates": [0.01]}
register_task(
    "feynman",
    _feynman,
    "24 Feynman equations beyond power laws (sums, roots, exp, trig; 1-6 variables), with SI units: "
    "R^2 in and outside the training range, exact recovery (--quick: 6 of them)",
    quick_sizes=(10, 100),
    quick_seeds=2,
    pillar="regression",
    quick_params={"equations": list(QUICK_FEYNMAN), "n_test": 200},
    quick_methods={"ai-feynman": {"time_budget_s": 10.0}, "mlp": QUICK_MLP, "mlp-int8": QUICK_MLP},
)
register_task(
    "feynman-all",
    _feynman_all,
    "all 100 Feynman equations, with SI units (the same metrics; not in --quick)",
    quick_sizes=(100,),
    quick_seeds=1,
    pillar="regression",
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
    defaults=MLP_DEFAULTS,
)

#: name -> (recipe, settings, description): the MLP's compressions (``compressed-deep``).
COMPRESSED_MLPS: dict[str, tuple[str, dict, str]] = {
    "mlp-pruned": ("prune", {"amount": 0.8},
                   "the MLP, 80% of its weights magnitude-pruned, fine-tuned; stored sparse"),
    "mlp-pruned-structured": ("prune-structured", {"amount": 0.5},
                              "the MLP, half of each hidden layer's units removed (Torch-Pruning), fine-tuned"),
    "mlp-int8": ("int8", {"fine_tune_epochs": 0}, "the MLP, dynamic int8 quantisation (CPU)"),
    "mlp-pruned-int8": ("prune+int8", {"amount": 0.8}, "the MLP, 80% pruned and fine-tuned, then int8"),
    "mlp-low-rank": ("low-rank", {"energy": 0.9},
                     "the MLP, weights factorised by truncated SVD (90% energy), fine-tuned"),
    "mlp-distilled": ("distill", {"factor": 4.0}, "a 4x smaller MLP distilled from the MLP"),
    "mlp-lottery": ("lottery", {"amount": 0.5, "rounds": 2, "fine_tune_epochs": 2000},
                    "lottery ticket of the MLP's architecture: 2 rounds of 50% pruning with rewinding (75% sparse)"),
}
#: The compressed MLPs in ``compare --quick``: none yet. Each retrains the teacher MLP, the quick
#: path's longest runs, which would roughly triple ``make demo``; they run when named with ``--methods``.
QUICK_COMPRESSED_MLPS: tuple[str, ...] = ()
#: Settings of :class:`CompressedRegressor` (the rest of a method's parameters go to the teacher MLP).
_COMPRESSION_PARAMS = ("amount", "energy", "factor", "rounds", "fine_tune_epochs")


def _compressed_mlp_method(recipe: str):
    """A factory of the MLP compressed by ``recipe``, one clone per equation (the teacher's training is charged)."""

    def factory(task, *, seed: int, device: str, **params) -> PerProblemRegressor:
        settings = {k: params.pop(k) for k in _COMPRESSION_PARAMS if k in params}
        teacher = MLPRegressor(seed=seed, device=device, **params)
        return PerProblemRegressor(CompressedRegressor(teacher, recipe=recipe, seed=seed, **settings))

    return factory


for _name, (_recipe, _settings, _description) in COMPRESSED_MLPS.items():
    register_method(
        _name,
        _compressed_mlp_method(_recipe),
        estimator=CompressedRegressor,
        tasks=POWERLAW_TASKS + FEYNMAN_TASKS,
        description=_description + " (the teacher MLP's training is charged to it)",
        defaults={**MLP_DEFAULTS, "fine_tune_epochs": 300, **_settings},
        in_quick=_name in QUICK_COMPRESSED_MLPS,
    )
