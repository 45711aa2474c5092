"""PowerLawRegressor: the hybrid method of the power-law task, a scikit-learn regressor."""

from __future__ import annotations

import numbers

import numpy as np
import sympy
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from hybrid.evaluate.meter import record_flops, record_ops
from hybrid.regression.sklearn_input import check_lengths
from hybrid.symbolic.regression import PowerLawFit, fit_power_law
from hybrid.tasks.arrays import check_X, check_xy


class PowerLawRegressor(RegressorMixin, BaseEstimator):
    """Recover ``y = c * prod(x_i ** a_i)`` exactly: log-space least squares plus snapping.

    Args:
        max_denominator: largest denominator an exponent may snap to (an int >= 1).
        significance: snap within this many standard errors of the fit (a number > 0).

    Attributes:
        fit_: the :class:`~hybrid.symbolic.regression.PowerLawFit`.
        expression_: the recovered sympy expression.
        n_features_in_: the number of input columns.

    A scikit-learn estimator: ``clone``, ``get_params``/``set_params``, pipelines,
    ``cross_val_score`` and pickling work; ``score`` is R^2. Inputs must be > 0 and the
    target of one sign (its tags say ``positive_only``).

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).uniform(1, 5, (16, 2))
        >>> reg = PowerLawRegressor().fit(X, X[:, 0] ** 2 / X[:, 1], variable_names=["m", "r"])
        >>> reg.sympy()
        m**2/r
    """

    family = "hybrid"

    def __init__(self, max_denominator: int = 6, significance: float = 4.0):
        self.max_denominator = max_denominator
        self.significance = significance

    def fit(self, X, y, variable_names=None) -> PowerLawRegressor:
        """Fit on ``X`` ``(n, d)`` (all > 0) and ``y`` ``(n,)``; returns self.

        Args:
            X: inputs, more rows than columns (``n > d``: ``d`` exponents and a constant).
            y: targets of one sign.
            variable_names: column names (default: a DataFrame's, else ``x0, x1, ...``).

        Raises:
            ValueError: on NaN/inf, mismatched shapes, ``n <= d`` (underdetermined: the
                message names ``n_samples`` and ``n_features``), non-positive ``X``, ``y``
                that is not of one sign, or a parameter out of range.
            TypeError: on a parameter of the wrong type.
        """
        self._check_params()
        check_lengths(X, y)
        X, y = validate_data(self, X, y, y_numeric=True, reset=True)
        if np.any(X < 0):
            raise ValueError("Negative values in data passed to PowerLawRegressor.fit: X must be > 0 everywhere")
        X, y = check_xy(X, y, positive_x=True)
        n, d = X.shape
        if n <= d:
            raise ValueError(
                f"need more samples than variables: got n_samples={n} for n_features={d}; a power law has "
                f"{d + 1} unknowns (d exponents and a constant), so the fit is underdetermined")
        if variable_names is None and hasattr(self, "feature_names_in_"):
            variable_names = [str(c) for c in self.feature_names_in_]
        self.fit_: PowerLawFit = fit_power_law(
            X,
            y,
            variable_names,
            max_denominator=self.max_denominator,
            significance=self.significance,
        )
        self.expression_ = self.fit_.expression
        record_ops("lstsq_solves", 2)
        for kind, count in self.fit_.operations.items():
            record_ops(kind, count)
        record_flops(self.fit_.flops)
        return self

    def _check_params(self) -> None:
        md, sig = self.max_denominator, self.significance
        if isinstance(md, bool) or not isinstance(md, numbers.Integral):
            raise TypeError(f"max_denominator must be an int, got {type(md).__name__} {md!r}")
        if md < 1:
            raise ValueError(f"max_denominator must be >= 1, got {md}")
        if isinstance(sig, bool) or not isinstance(sig, numbers.Real):
            raise TypeError(f"significance must be a number, got {type(sig).__name__} {sig!r}")
        if not (np.isfinite(sig) and sig > 0):
            raise ValueError(f"significance must be a finite number > 0, got {sig!r}")

    def predict(self, X) -> np.ndarray:
        """Evaluate the recovered formula on ``X`` ``(n, d)``; returns ``(n,)``.

        Raises:
            sklearn.exceptions.NotFittedError: before :meth:`fit`.
            ValueError: on a wrong number of columns or NaN/inf.
        """
        check_is_fitted(self, "fit_")
        X = check_X(validate_data(self, X, reset=False), n_features=self.n_features_in_)
        record_flops(3.0 * X.shape[0] * (X.shape[1] + 1))
        return self.fit_.predict(X)

    def sympy(self) -> sympy.Expr:
        """The recovered formula as a sympy expression.

        Raises:
            sklearn.exceptions.NotFittedError: before :meth:`fit`.
        """
        check_is_fitted(self, "expression_")
        return self.expression_

    def latex(self) -> str:
        """The recovered formula in LaTeX."""
        return sympy.latex(self.sympy())

    def __sklearn_tags__(self):
        """scikit-learn tags: inputs and target must be positive (a product of powers)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.target_tags.positive_only = True
        return tags
