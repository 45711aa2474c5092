"""Regression tasks over the FSReD equations: any subset, its power laws, with or without units.

:class:`FeynmanTask` draws ``n`` samples of each chosen equation (with its SI units
attached, so a solver can do dimensional analysis), a noise-free test set in range and
one beyond the ranges, scores R^2 on both and, outside the method's metered cost,
checks each returned formula for exact recovery in sympy.
:class:`~hybrid.regression.powerlaw_task.PowerLawTask` is the same over power laws.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybrid.evaluate.protocols import MetricSpec
from hybrid.symbolic.regression import is_exact_recovery, is_symbolic_solution, model_size
from hybrid.tasks.feynman import (
    FeynmanEquation,
    RegressionProblem,
    extrapolation_ranges,
    feynman_equations,
    get_equation,
    hard_equations,
    sample_equation,
    units_for,
)

#: 24 equations beyond power laws -- sums, roots, exponentials, trigonometry, 1 to 6
#: variables -- for the ``feynman`` task's sample-efficiency curves.
SAMPLE_EFFICIENCY = (
    "I.6.2a", "I.8.14", "I.10.7", "I.11.19", "I.12.11", "I.15.3x", "I.16.6", "I.18.4",
    "I.24.6", "I.26.2", "I.29.16", "I.34.8", "I.39.11", "I.40.1", "I.48.2", "II.6.15a",
    "II.11.3", "II.13.23", "II.24.17", "II.35.18", "III.4.33", "III.8.54", "III.10.19", "III.15.12",
)


@dataclass(frozen=True)
class FeynmanTestSet:
    """Test data per equation: in the training ranges and outside them."""

    in_range: dict[str, RegressionProblem]
    extrapolation: dict[str, RegressionProblem]


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination; ``-inf`` for non-finite predictions."""
    if not np.all(np.isfinite(y_pred)):
        return float("-inf")
    ss_res = float(np.sum((y_true - y_pred) ** 2))
    ss_tot = float(np.sum((y_true - np.mean(y_true)) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else float("-inf"))


def _units_or_none(eq: FeynmanEquation):
    """The equation's SI units, or ``None`` for one that has none (a generated formula)."""
    try:
        return units_for(eq)
    except KeyError:
        return None


class FeynmanTask:
    """Recover laws of physics from samples.

    Args:
        equations: equation ids (FSReD's, the hard set's or generated ones, see
            :func:`~hybrid.tasks.feynman.get_equation`), ``"sample-efficiency"``
            (:data:`SAMPLE_EFFICIENCY`), ``"all"`` (FSReD's 100) or ``"hard"`` (the hard set).
        noise: relative noise on training outputs (``noise * rms(y)``).
        n_test: test points per equation, in range and outside it.
        units: attach each equation's SI units to its training problem.

    Metrics (medians over equations, so one wild extrapolation does not swamp the rest):
        ``r2_test``, ``r2_extrap``, and ``exact``: the share of equations whose formula
        is sympy-equal to the truth (NaN for methods that return no formula).
    """

    name = "feynman"
    #: What one training sample is (the overview's x axis).
    x_label = "training points per equation"
    metrics = (
        MetricSpec("r2_extrap", "R^2 outside the training range (median)", True, 0.99, floor=-1.0, ceiling=1.0),
        MetricSpec("r2_test", "R^2 in range (median)", True, 0.99, floor=-1.0, ceiling=1.0),
        MetricSpec("exact", "share of formulas recovered exactly", True, 1.0, floor=0.0, ceiling=1.0,
                   minimum=0.0),
        MetricSpec("solution", "share of symbolic solutions (SRBench: law up to a constant offset or factor)", True,
                   None, floor=0.0, ceiling=1.0, minimum=0.0),
    )

    def __init__(
        self,
        equations: str | Sequence[str] = "sample-efficiency",
        noise: float = 0.0,
        n_test: int = 500,
        name: str = "feynman",
        units: bool = True,
    ):
        ids = self._resolve(equations)
        if not ids:
            raise ValueError("equations is empty")
        if not np.isfinite(noise) or noise < 0:
            raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
        if n_test < 2:
            raise ValueError(f"n_test must be >= 2, got {n_test}")
        try:
            self.equations: list[FeynmanEquation] = [get_equation(i) for i in ids]
        except KeyError as exc:
            raise ValueError(f"equations: {exc.args[0]}") from None
        self.noise = float(noise)
        self.n_test = int(n_test)
        self.name = name
        self.units = bool(units)
        self._equations_arg = equations if isinstance(equations, str) else list(ids)

    @staticmethod
    def _resolve(equations: str | Sequence[str]) -> list[str]:
        if isinstance(equations, str) and equations == "sample-efficiency":
            return list(SAMPLE_EFFICIENCY)
        if isinstance(equations, str) and equations == "all":
            return list(feynman_equations())
        if isinstance(equations, str) and equations == "hard":
            return list(hard_equations())
        if isinstance(equations, str):
            raise ValueError(
                f"equations must be 'sample-efficiency', 'all', 'hard' or a list of ids, got {equations!r}")
        return list(equations)

    def params(self) -> dict[str, Any]:
        """The task's configuration."""
        return {"equations": self._equations_arg, "noise": self.noise, "n_test": self.n_test, "name": self.name,
                "units": self.units}

    def _rng(self, eq: FeynmanEquation, seed: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([seed, zlib.crc32(eq.id.encode()), stream])

    def train_set(self, n: int, seed: int) -> list[RegressionProblem]:
        """``n`` noisy samples of each equation in its ranges.

        The first ``n`` points (inputs and noisy outputs) are the same for every larger
        ``n`` at the same seed, so sample-efficiency curves compare nested training sets:
        the noise has its own random stream, and its scale is ``noise`` times the RMS
        of the equation over its ranges (from a fixed reference sample), not of the
        ``n`` points drawn.
        """
        problems = []
        for eq in self.equations:
            s = sample_equation(eq, n, self._rng(eq, seed, 0))
            y = s.y
            if self.noise > 0:
                reference = sample_equation(eq, 1000, self._rng(eq, 0, 4)).y
                scale = self.noise * float(np.sqrt(np.mean(reference**2)))
                y = y + scale * self._rng(eq, seed, 3).standard_normal(n)
            units = _units_or_none(eq) if self.units else None
            problems.append(RegressionProblem(eq.id, s.X, y, eq.variables, units))
        return problems

    def test_set(self, seed: int) -> FeynmanTestSet:
        """Noise-free test points per equation: in range, and just outside every range."""
        in_range, extrap = {}, {}
        for eq in self.equations:
            s = sample_equation(eq, self.n_test, self._rng(eq, seed, 1))
            in_range[eq.id] = RegressionProblem(eq.id, s.X, s.y, eq.variables)
            e = sample_equation(eq, self.n_test, self._rng(eq, seed, 2), ranges=extrapolation_ranges(eq))
            extrap[eq.id] = RegressionProblem(eq.id, e.X, e.y, eq.variables)
        return FeynmanTestSet(in_range, extrap)

    def score(self, method, test: FeynmanTestSet) -> dict[str, Any]:
        """R^2 in range and outside it, per equation and as medians (the method's inference)."""
        details = {}
        for eq in self.equations:
            a, b = test.in_range[eq.id], test.extrapolation[eq.id]
            details[eq.id] = {
                "r2_test": r2_score(a.y, method.predict(eq.id, a.X)),
                "r2_extrap": r2_score(b.y, method.predict(eq.id, b.X)),
                **(method.info(eq.id) if hasattr(method, "info") else {}),
            }
        return {
            "r2_test": float(np.median([d["r2_test"] for d in details.values()])),
            "r2_extrap": float(np.median([d["r2_extrap"] for d in details.values()])),
            "details": details,
        }

    def test_examples(self, test: FeynmanTestSet) -> int:
        """Points ``score`` predicts: every equation's in-range and outside-range test points."""
        return sum(len(p.y) for p in (*test.in_range.values(), *test.extrapolation.values()))

    #: examples per inference call when latency is timed at the task's batch: one equation's test set.
    inference_batch = 500

    def latency_call(self, method, test: FeynmanTestSet, batch: int):
        """A call predicting ``batch`` in-range points of the first equation (points repeat past ``n_test``)."""
        problem = test.in_range[self.equations[0].id]
        X = np.resize(problem.X, (batch, problem.X.shape[1]))
        return lambda: method.predict(problem.id, X)

    def audit(self, method, test: FeynmanTestSet) -> dict[str, Any]:
        """Recovery checked by the evaluator in sympy (not counted as the method's cost).

        Per equation: ``exact`` (the law, constants exact), ``solution`` (SRBench's symbolic
        solution: the difference or ratio with the law is a constant) and ``size`` (the
        model's tree nodes); as shares over the equations, ``exact`` and ``solution``
        (NaN for a method that returns no formula).
        """
        if not hasattr(method, "formula"):
            return {"exact": float("nan"), "solution": float("nan")}
        details = {}
        for eq in self.equations:
            formula = method.formula(eq.id)
            if formula is None:
                details[eq.id] = {"formula": None, "exact": False, "solution": False, "size": None}
                continue
            points = test.in_range[eq.id].X[:20]
            exact = is_exact_recovery(formula, eq.expression, check_points=points, variables=eq.variables)
            solution = exact or is_symbolic_solution(formula, eq.expression, check_points=points,
                                                     variables=eq.variables)
            details[eq.id] = {"formula": str(formula), "exact": bool(exact), "solution": bool(solution),
                              "size": model_size(formula)}
        if all(d["formula"] is None for d in details.values()):
            return {"exact": float("nan"), "solution": float("nan")}
        n = len(details)
        return {"exact": sum(d["exact"] for d in details.values()) / n,
                "solution": sum(d["solution"] for d in details.values()) / n, "details": details}
