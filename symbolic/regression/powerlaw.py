"""Power laws by least squares in log space, with exact exponents and constants.

A power law ``y = c * x_1**a_1 * ... * x_d**a_d`` is linear in logs:
``log|y| = log|c| + sum_i a_i log x_i``. One least-squares solve gives the exponents;
each is snapped to the simplest rational its standard error allows, the constant is
refitted with the exponents fixed and snapped to ``r * pi**k`` the same way, and the
result is a sympy expression. numpy and sympy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy
from hybrid.symbolic.regression.snapping import snap_constant, snap_rational
from hybrid.tasks.arrays import check_variable_names, check_xy


@dataclass(frozen=True)
class PowerLawFit:
    """The result of :func:`fit_power_law`.

    Attributes:
        expression: the formula as a sympy expression over ``symbols``.
        symbols: one symbol per input column.
        exponents: fitted exponents, exact ``Rational`` where snapped, ``Float`` otherwise.
        constant: the multiplicative constant, exact where snapped.
        raw_exponents: the unsnapped least-squares exponents.
        rmse_log: root-mean-square residual in log space of the returned formula.
        operations: counted symbolic work (``"snap_candidates"``: numbers tried while
            snapping) for the evaluator's meter.
        flops: an analytic count of the floating-point work of the solve.
    """

    expression: sympy.Expr
    symbols: tuple[sympy.Symbol, ...]
    exponents: tuple[sympy.Expr, ...]
    constant: sympy.Expr
    raw_exponents: np.ndarray
    rmse_log: float
    operations: dict[str, int] = field(default_factory=dict)
    flops: float = 0.0

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Evaluate the formula on ``X`` of shape ``(n, d)``."""
        X = np.asarray(X, dtype=float)
        exps = np.array([float(a) for a in self.exponents])
        return float(self.constant) * np.prod(X**exps, axis=1)


def fit_power_law(
    X: np.ndarray,
    y: np.ndarray,
    variable_names: list[str] | tuple[str, ...] | None = None,
    *,
    max_denominator: int = 6,
    significance: float = 4.0,
    min_tolerance: float = 1e-6,
) -> PowerLawFit:
    """Fit ``y = c * prod(x_i ** a_i)`` and return it with exact exponents where the data allow.

    Args:
        X: inputs, shape ``(n, d)``, all > 0.
        y: outputs, shape ``(n,)``, of one sign. With noise a few values near zero may
            cross it: points whose sign differs from the majority are dropped, up to
            a quarter of them.
        variable_names: names of the ``d`` columns (default ``x0, x1, ...``).
        max_denominator: largest denominator an exponent may snap to.
        significance: an exponent snaps to a rational within ``significance``
            standard errors (or ``min_tolerance``, whichever is larger).
        min_tolerance: absolute tolerance used when the fit is exact (zero residual).

    Returns:
        The fit.

    Raises:
        ValueError: on bad shapes, NaN/inf, ``X <= 0``, or when more than a quarter of
            ``y`` is zero or of the minority sign.
    """
    X, y = check_xy(X, y, positive_x=True)
    names = check_variable_names(variable_names, X.shape[1])
    sign = 1.0 if np.sum(y > 0) >= np.sum(y < 0) else -1.0
    keep = np.sign(y) == sign
    if keep.sum() < 0.75 * len(y):
        raise ValueError(
            "y changes sign or is zero in more than a quarter of the samples; "
            "a power law on positive inputs keeps one sign"
        )
    X, y = X[keep], y[keep]
    n, d = X.shape

    A = np.column_stack([np.ones(n), np.log(X)])
    b = np.log(np.abs(y))
    coef, *_ = np.linalg.lstsq(A, b, rcond=None)
    # Additive noise of fixed size hits log|y| as noise/|y|: one reweighted solve with
    # weights ~ y_hat**2 undoes that bias. On exact data the residual is ~0 and the
    # weights change nothing.
    y_hat = np.exp(A @ coef)
    w = np.clip(y_hat**2 / np.mean(y_hat**2), 1e-12, None)
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(A * sw[:, None], b * sw, rcond=None)
    resid = (b - A @ coef) * sw
    dof = max(n - (d + 1), 1)
    sigma2 = float(resid @ resid) / dof
    cov = sigma2 * np.linalg.pinv((A * w[:, None]).T @ A)
    stderr = np.sqrt(np.clip(np.diag(cov), 0, None))
    operations = {"snap_candidates": 0}

    exponents: list[sympy.Expr] = []
    for i in range(d):
        tol = max(significance * stderr[i + 1], min_tolerance)
        snapped = snap_rational(coef[i + 1], tol, max_denominator)
        operations["snap_candidates"] += max_denominator
        exponents.append(snapped if snapped is not None else sympy.Float(coef[i + 1], 6))

    exps = np.array([float(a) for a in exponents])
    offsets = b - np.log(X) @ exps
    log_c = float(np.sum(w * offsets) / np.sum(w))
    resid_fixed = offsets - log_c
    n_eff = float(np.sum(w) ** 2 / np.sum(w**2))
    c_stderr = float(np.sqrt(np.sum(w * resid_fixed**2) / np.sum(w) / max(n_eff - 1, 1)))
    rel_tol = max(significance * c_stderr, min_tolerance)
    magnitude = snap_constant(float(np.exp(log_c)), rel_tol)
    operations["snap_candidates"] += 13
    constant = sympy.Integer(int(sign)) * (magnitude if magnitude is not None else sympy.Float(np.exp(log_c), 6))

    symbols = tuple(sympy.Symbol(name, positive=True) for name in names)
    expression = constant * sympy.Mul(*(s**a for s, a in zip(symbols, exponents, strict=True)))
    fitted = np.log(abs(float(constant))) + np.log(X) @ exps
    # two lstsq solves of an n x (d+1) matrix (~4 n (d+1)^2 flops each), plus the refit.
    flops = 8.0 * n * (d + 1) ** 2 + 12.0 * n * d
    return PowerLawFit(
        expression=expression,
        symbols=symbols,
        exponents=tuple(exponents),
        constant=constant,
        raw_exponents=coef[1:].copy(),
        rmse_log=float(np.sqrt(np.mean((b - fitted) ** 2))),
        operations=operations,
        flops=flops,
    )

