"""Adapter: fit one scikit-style regressor per problem of a multi-equation task."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tasks.feynman import RegressionProblem


class PerProblemRegressor:
    """A Method over a list of :class:`~tasks.feynman.RegressionProblem`: one regressor each.

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
        for problem in problems:
            model = self.make_regressor()
            try:
                if "variable_names" in inspect.signature(model.fit).parameters:
                    model.fit(problem.X, problem.y, variable_names=problem.variables)
                else:
                    model.fit(problem.X, problem.y)
            except ValueError as exc:
                self.errors_[problem.id] = f"{type(exc).__name__}: {exc}"
                continue
            self.models_[problem.id] = model
        if not self.models_:
            raise RuntimeError(f"every fit failed; first error: {next(iter(self.errors_.values()))}")
        return self

    def predict(self, problem_id: str, X: np.ndarray) -> np.ndarray:
        """Predictions of the regressor fitted to ``problem_id`` (NaN if its fit failed)."""
        if problem_id not in self.models_:
            return np.full(len(X), np.nan)
        return self.models_[problem_id].predict(X)

    def formula(self, problem_id: str):
        """The sympy formula for ``problem_id``, or ``None`` (no formula, or fit failed)."""
        model = self.models_.get(problem_id)
        return model.sympy() if model is not None and hasattr(model, "sympy") else None
