"""PowerLawRegressor: the hybrid method of the power-law task, scikit-learn style."""

from __future__ import annotations

import numpy as np
import sympy

from hybrid.evaluate.meter import record_flops, record_ops
from hybrid.symbolic.regression import PowerLawFit, fit_power_law
from hybrid.tasks.arrays import check_X


class PowerLawRegressor:
    """Recover ``y = c * prod(x_i ** a_i)`` exactly: log-space least squares plus snapping.

    Args:
        max_denominator: largest denominator an exponent may snap to.
        significance: snap within this many standard errors of the fit.

    Attributes:
        fit_: the :class:`~hybrid.symbolic.regression.PowerLawFit`.
        expression_: the recovered sympy expression.

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

        Raises:
            ValueError: on NaN/inf, mismatched shapes, non-positive ``X`` or ``y``
                that is not of one sign.
        """
        self.fit_: PowerLawFit = fit_power_law(
            X,
            y,
            variable_names,
            max_denominator=self.max_denominator,
            significance=self.significance,
        )
        self.expression_ = self.fit_.expression
        self.n_features_in_ = len(self.fit_.symbols)
        record_ops("lstsq_solves", 2)
        for kind, count in self.fit_.operations.items():
            record_ops(kind, count)
        record_flops(self.fit_.flops)
        return self

    def predict(self, X) -> np.ndarray:
        """Evaluate the recovered formula on ``X`` ``(n, d)``."""
        if not hasattr(self, "fit_"):
            raise RuntimeError("PowerLawRegressor is not fitted: call fit(X, y) first")
        X = check_X(X, n_features=self.n_features_in_)
        record_flops(3.0 * X.shape[0] * (X.shape[1] + 1))
        return self.fit_.predict(X)

    def sympy(self) -> sympy.Expr:
        """The recovered formula as a sympy expression."""
        if not hasattr(self, "expression_"):
            raise RuntimeError("PowerLawRegressor is not fitted: call fit(X, y) first")
        return self.expression_

    def latex(self) -> str:
        """The recovered formula in LaTeX."""
        return sympy.latex(self.sympy())
