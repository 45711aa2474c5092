"""Registers the regression pillar's tasks and methods with the evaluator."""

from __future__ import annotations

from hybrid.evaluate.registry import register_method, register_task
from hybrid.regression.per_problem import PerProblemRegressor
from hybrid.regression.powerlaw import PowerLawRegressor
from hybrid.regression.powerlaw_task import PowerLawTask
from neural.regression import MLPRegressor

POWERLAW_TASKS = ("powerlaw", "powerlaw-all")


def _powerlaw(**params) -> PowerLawTask:
    params.setdefault("equations", "representative")
    return PowerLawTask(**{**params, "name": "powerlaw"})


def _powerlaw_all(**params) -> PowerLawTask:
    params.setdefault("equations", "all")
    return PowerLawTask(**{**params, "name": "powerlaw-all"})


def _power_law_method(task, *, seed: int, device: str, **params) -> PerProblemRegressor:
    return PerProblemRegressor(lambda: PowerLawRegressor(**params), family="hybrid")


def _mlp_method(task, *, seed: int, device: str, **params) -> PerProblemRegressor:
    return PerProblemRegressor(lambda: MLPRegressor(seed=seed, device=device, **params), family="deep")


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
register_method(
    "powerlaw-lstsq",
    _power_law_method,
    family="hybrid",
    tasks=POWERLAW_TASKS,
    description="least squares in log space, exponents snapped to rationals, constant to r*pi^k",
    defaults={"max_denominator": 6, "significance": 4.0},
)
register_method(
    "mlp",
    _mlp_method,
    family="deep",
    tasks=POWERLAW_TASKS,
    description="tanh MLP, standardised, early stopping, width x learning-rate search",
    defaults={
        "widths": [32, 128],
        "learning_rates": [0.01, 0.003],
        "depth": 2,
        "max_epochs": 1500,
        "patience": 100,
    },
)
