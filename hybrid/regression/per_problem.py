"""Adapter: fit one scikit-learn regressor per problem of a multi-equation task."""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from hybrid.tasks.feynman import RegressionProblem


class PerProblemRegressor(BaseEstimator):
    """A Method over a list of :class:`~hybrid.tasks.feynman.RegressionProblem`: one regressor each.

    A scikit-learn meta-estimator: :meth:`fit` gives every problem its own
    ``sklearn.base.clone`` of ``estimator`` (the estimator passed in is never fitted), so
    ``get_params()`` shows its hyper-parameters as ``estimator__<name>`` and
    ``set_params(estimator__<name>=...)`` changes them.

    Args:
        estimator: an unfitted scikit-learn estimator (``get_params``) with
            ``fit(X, y[, variable_names][, units])`` and ``predict(X)`` (and ``sympy()``
            if it returns formulas), and a ``family`` attribute.

    Attributes:
        family: the estimator's family (``"hybrid"``, ``"deep"``, ``"peer"``), read from it.
        models_: fitted regressors by problem id.
        errors_: ``{problem id: error text}`` for problems whose fit raised.
        seconds_: wall seconds of each problem's fit.
    """

    def __init__(self, estimator: Any):
        self.estimator = estimator

    @property
    def family(self) -> str:
        """The family of the wrapped estimator (a meta-estimator has none of its own)."""
        return getattr(self.estimator, "family", "")

    def fit(self, problems: Sequence[RegressionProblem], y: None = None) -> PerProblemRegressor:
        """Fit a clone of ``estimator`` to each problem; returns self.

        A problem whose fit raises ``ValueError`` is recorded in ``errors_``, not fatal.
        ``y`` is ignored (each problem holds its own targets); it lets a scikit-learn
        ``Pipeline`` call ``fit(problems, y)``.

        Raises:
            TypeError: ``estimator`` is not a scikit-learn estimator instance.
            RuntimeError: every problem's fit failed.
        """
        if isinstance(self.estimator, type) or not hasattr(self.estimator, "get_params"):
            raise TypeError(
                "estimator must be an unfitted scikit-learn estimator instance (with get_params), "
                f"got {self.estimator!r}"
            )
        self.models_: dict[str, Any] = {}
        self.errors_: dict[str, str] = {}
        self.seconds_: dict[str, float] = {}
        for problem in problems:
            model = clone(self.estimator)
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
        """Predictions ``(n,)`` of the regressor fitted to ``problem_id`` on ``X`` ``(n, d)`` (NaN if its fit failed).

        Raises:
            NotFittedError: before :meth:`fit`.
        """
        if not hasattr(self, "models_"):
            raise NotFittedError("PerProblemRegressor is not fitted: call fit(problems) first")
        if problem_id not in self.models_:
            return np.full(len(X), np.nan)
        return self.models_[problem_id].predict(X)

    def info(self, problem_id: str) -> dict[str, Any]:
        """What the fit of ``problem_id`` reports: seconds, the solver's steps if it has them, and a
        compressed model's ``compression`` (its :class:`~hybrid.neural.compress.CompressionReport` as a dict)."""
        out: dict[str, Any] = {"seconds": self.seconds_.get(problem_id, float("nan"))}
        model = self.models_.get(problem_id)
        if model is None:
            out["error"] = self.errors_.get(problem_id, "not fitted")
            return out
        for attr in ("steps_", "solved_", "error_"):
            if hasattr(model, attr):
                value = getattr(model, attr)
                out[attr.rstrip("_")] = list(value) if isinstance(value, tuple) else value
        if hasattr(model, "compression_"):  # a compressed-deep method: what its compression bought
            out["compression"] = model.compression_.as_dict()
        return out

    def formula(self, problem_id: str):
        """The sympy formula for ``problem_id``, or ``None`` (no formula, or fit failed)."""
        model = self.models_.get(problem_id)
        return model.sympy() if model is not None and hasattr(model, "sympy") else None
