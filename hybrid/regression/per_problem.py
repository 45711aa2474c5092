"""Adapter: fit one scikit-style regressor per problem of a multi-equation task."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hybrid.tasks.feynman import RegressionProblem


class PerProblemRegressor:
    """A Method over a list of :class:`~hybrid.tasks.feynman.RegressionProblem`: one regressor each.

    Args:
        make_regressor: builds a fresh regressor with ``fit(X, y[, variable_names])``
            and ``predict(X)`` (and ``sympy()`` if it returns formulas).
        family: the method family (``"hybrid"``, ``"deep"``).

    Attributes:
        models_: fitted regressors by problem id.
        errors_: ``{problem id: error text}`` for problems whose fit raised.
    """

    def __init__(self, make_regressor: Callable[[], Any], family: str):
        self.make_regressor = make_regressor
        self.family = family

    def fit(self, problems: Sequence[RegressionProblem]) -> PerProblemRegressor:
        """Fit one regressor per problem; a problem whose fit raises is recorded, not fatal."""
        self.models_: dict[str, Any] = {}
        self.errors_: dict[str, str] = {}
        self.seconds_: dict[str, float] = {}
        for problem in problems:
            model = self.make_regressor()
            accepted = inspect.signature(model.fit).parameters
            kwargs: dict[str, Any] = {}
            if "variable_names" in accepted:
                kwargs["variable_names"] = problem.variables
            if "units" in accepted and problem.units is not None:
                kwargs["units"] = problem.units
            start = time.perf_counter()
            try:
                model.fit(problem.X, problem.y, **kwargs)
            except ValueError as exc:
                self.errors_[problem.id] = f"{type(exc).__name__}: {exc}"
                continue
            finally:
                self.seconds_[problem.id] = time.perf_counter() - start
            self.models_[problem.id] = model
        if not self.models_:
            raise RuntimeError(f"every fit failed; first error: {next(iter(self.errors_.values()))}")
        return self

    def predict(self, problem_id: str, X: np.ndarray) -> np.ndarray:
        """Predictions of the regressor fitted to ``problem_id`` (NaN if its fit failed)."""
        if problem_id not in self.models_:
            return np.full(len(X), np.nan)
        return self.models_[problem_id].predict(X)

    def info(self, problem_id: str) -> dict[str, Any]:
        """What the fit of ``problem_id`` reports: seconds, and the solver's steps if it has them."""
        out: dict[str, Any] = {"seconds": self.seconds_.get(problem_id, float("nan"))}
        model = self.models_.get(problem_id)
        if model is None:
            out["error"] = self.errors_.get(problem_id, "not fitted")
            return out
        for attr in ("steps_", "solved_", "error_"):
            if hasattr(model, attr):
                value = getattr(model, attr)
                out[attr.rstrip("_")] = list(value) if isinstance(value, tuple) else value
        return out

    def formula(self, problem_id: str):
        """The sympy formula for ``problem_id``, or ``None`` (no formula, or fit failed)."""
        model = self.models_.get(problem_id)
        return model.sympy() if model is not None and hasattr(model, "sympy") else None
