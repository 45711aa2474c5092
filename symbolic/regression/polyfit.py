"""Polynomial fits with exact coefficients (AI Feynman's polynomial step).

All monomials up to a total degree are fitted by least squares; negligible or
insignificant terms are dropped and the rest refitted; every coefficient is snapped to an exact constant (an
integer, a simple fraction, ``r * pi**k`` or ``r * e**j``); and the snapped polynomial
is kept only if it still fits the data to the requested relative tolerance. Degrees are
tried from 0 upwards and the first that passes is returned. numpy and sympy only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

import numpy as np
import sympy
from hybrid.symbolic.regression.snapping import snap_constant_with_e
from hybrid.tasks.arrays import check_variable_names, check_X, check_xy

# Largest number of monomials (columns of the design matrix) fitted at one degree.
MAX_MONOMIALS = 500
#: Per-coefficient snapping tolerances are tried at these fractions of the error budget.
SNAP_SCALES = (1.0, 1e-1, 1e-2, 1e-3, 1e-4)
#: A term whose coefficient is below this many standard errors is dropped as noise.
T_MIN = 4.0
#: A snapped constant must be this many bits shorter than the precision it is matched to
#: (about log2 of the 65 powers pi**k * e**j tried, each a chance of a spurious match).
SNAP_MARGIN_BITS = 6.0


@dataclass(frozen=True)
class PolynomialFit:
    """The result of :func:`fit_polynomial`.

    Attributes:
        expression: the polynomial as a sympy expression over ``symbols``.
        symbols: one real sympy symbol per input column.
        degree: the total degree of the monomial basis that was fitted (the expression's
            own degree may be lower, after negligible terms were dropped).
        rmse: root-mean-square error of ``expression`` on the data.
        relative_error: ``rmse / rms(y)`` (``0`` if ``y`` is all zero and so is the fit).
        n_terms: number of monomials with a non-zero coefficient.
        operations: rough count of floating-point operations spent (for a work meter).
        monomials: exponent tuples of the kept terms (one entry per input column).
        coefficients: the kept coefficients, exact where snapped.
        exact: ``True`` if every coefficient snapped to an exact constant; otherwise the
            unsnappable ones are ``sympy.Float``.
    """

    expression: sympy.Expr
    symbols: tuple[sympy.Symbol, ...]
    degree: int
    rmse: float
    relative_error: float
    n_terms: int
    operations: int
    monomials: tuple[tuple[int, ...], ...] = ()
    coefficients: tuple[sympy.Expr, ...] = ()
    exact: bool = True

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Evaluate the polynomial.

        Args:
            X: inputs, shape ``(n, len(symbols))``.

        Returns:
            Array ``(n,)``.
        """
        X = check_X(X, n_features=len(self.symbols))
        coef = np.array([float(c) for c in self.coefficients])
        return monomial_design(X, list(self.monomials)) @ coef if self.monomials else np.zeros(X.shape[0])


def fit_polynomial(
    X: np.ndarray,
    y: np.ndarray,
    *,
    max_degree: int = 4,
    variable_names: Sequence[str] | None = None,
    tolerance: float = 1e-6,
    max_terms: int | None = None,
) -> PolynomialFit | None:
    """The lowest-degree polynomial with snapped coefficients that fits ``y`` to ``tolerance``.

    For each total degree ``D = 0, 1, ..., max_degree`` (while the number of monomials,
    ``C(d + D, D)``, is below ``n_samples`` and at most :data:`MAX_MONOMIALS`): least squares on
    every monomial of degree <= D; then terms whose contribution is negligible next to
    ``tolerance * rms(y)``, or whose coefficient is under :data:`T_MIN` standard errors
    (noise), are dropped and the rest refitted; then each coefficient is snapped with
    :func:`~hybrid.symbolic.regression.snapping.snap_constant_with_e` to the shortest exact
    constant within its share of the error budget, provided that constant is clearly
    shorter than the precision it is matched to (the budget share or the coefficient's
    standard error, whichever is coarser). Shares of 1, 1e-1, ..., 1e-4 of the budget are
    tried: the first fully exact polynomial that fits wins, else the first that fits with
    some coefficients left as ``sympy.Float`` (refitted; ``exact`` is then ``False``).

    Args:
        X: inputs ``(n, d)``; ``d`` may be 0 (then only a constant is fitted). A degree is
            only tried if it has fewer monomials than there are samples (so a constant
            needs 2 samples).
        y: targets ``(n,)``.
        max_degree: the highest total degree tried (>= 0).
        variable_names: names of the ``d`` columns (default ``x0, x1, ...``); symbols are
            ``sympy.Symbol(name, real=True)``.
        tolerance: largest accepted ``rms(fit - y) / rms(y)`` (> 0).
        max_terms: if given, fits with more non-zero terms than this are rejected.

    Returns:
        The fit, or ``None`` if no degree up to ``max_degree`` passes.

    Raises:
        ValueError: on bad shapes, NaN/inf, a negative ``max_degree``, a non-positive
            ``tolerance`` or ``max_terms``, or wrong ``variable_names``.
    """
    X, y = check_xy(X, y)
    n, d = X.shape
    if max_degree < 0:
        raise ValueError(f"max_degree must be >= 0, got {max_degree}")
    if not (tolerance > 0 and np.isfinite(tolerance)):
        raise ValueError(f"tolerance must be a positive number, got {tolerance}")
    if max_terms is not None and max_terms < 1:
        raise ValueError(f"max_terms must be >= 1, got {max_terms}")
    names = check_variable_names(variable_names, d)
    symbols = tuple(sympy.Symbol(name, real=True) for name in names)
    rms_y = float(np.sqrt(np.mean(y**2)))
    ops = 0

    if rms_y == 0.0:  # y == 0 everywhere: the zero polynomial is exact
        return PolynomialFit(sympy.Integer(0), symbols, 0, 0.0, 0.0, 0, n, (), (), True)

    for degree in range(max_degree + 1):
        n_monomials = comb(d + degree, degree)
        # An interpolating fit (as many monomials as samples) always "passes": keep a spare sample.
        if n_monomials >= n or n_monomials > MAX_MONOMIALS:
            break
        monomials = monomial_exponents(d, degree)
        design = monomial_design(X, monomials)
        ops += n * len(monomials) * max(degree, 1)
        fit, spent = _fit_degree(design, y, rms_y, tolerance, max_terms)
        ops += spent
        if fit is not None:
            keep, coefficients, rmse = fit
            kept = [monomials[k] for k in keep]
            expression = sympy.Add(*(c * monomial_expr(symbols, m) for c, m in zip(coefficients, kept, strict=True)))
            return PolynomialFit(
                expression=expression,
                symbols=symbols,
                degree=degree,
                rmse=rmse,
                relative_error=rmse / rms_y,
                n_terms=len(kept),
                operations=int(ops),
                monomials=tuple(kept),
                coefficients=tuple(coefficients),
                exact=not any(c.atoms(sympy.Float) for c in coefficients),
            )
        if d == 0:  # higher degrees add no monomials
            break
    return None


def fit_linear_combination(
    design: np.ndarray, y: np.ndarray, tolerance: float, max_terms: int | None = None
) -> tuple[tuple[int, ...], tuple[sympy.Expr, ...], float] | None:
    """Fit ``y`` as a sparse combination of fixed columns with exact (snapped) coefficients.

    The same machinery as one degree of :func:`fit_polynomial`, for any set of columns (a
    library of basis functions, say): least squares; negligible or insignificant columns
    dropped and the rest refitted; each coefficient snapped to a short exact constant
    (integer, fraction, ``r * pi**k * e**j``, guarded against long constants matching by
    chance); and the result kept only if it still fits to ``tolerance``. Coefficients that
    do not snap are left as ``sympy.Float`` (refitted with the snapped ones held fixed).

    Include a column of ones in ``design`` for an intercept. Keep fewer columns than rows:
    an interpolating design fits anything.

    Args:
        design: the columns ``(n, m)``, finite.
        y: targets ``(n,)``, finite.
        tolerance: largest accepted ``rms(fit - y) / rms(y)`` (> 0).
        max_terms: if given, fits keeping more columns than this are rejected (>= 1).

    Returns:
        ``(kept column indices, coefficients, rmse)``, the coefficients exact where they
        snapped; ``((), (), 0.0)`` if ``y`` is all zero; ``None`` if no fit passes.

    Raises:
        ValueError: on bad shapes, NaN/inf, a non-positive ``tolerance`` or ``max_terms``.
    """
    design, y = check_xy(design, y, min_samples=0)  # the design matrix plays X's part
    if not (tolerance > 0 and np.isfinite(tolerance)):
        raise ValueError(f"tolerance must be a positive number, got {tolerance}")
    if max_terms is not None and max_terms < 1:
        raise ValueError(f"max_terms must be >= 1, got {max_terms}")
    rms_y = float(np.sqrt(np.mean(y**2))) if y.size else 0.0
    if rms_y == 0.0:
        return (), (), 0.0
    if design.shape[1] == 0:
        return None
    fit, _ = _fit_degree(design, y, rms_y, tolerance, max_terms)
    if fit is None:
        return None
    keep, coefficients, rmse = fit
    return tuple(int(k) for k in keep), tuple(coefficients), float(rmse)


def _fit_degree(
    design: np.ndarray, y: np.ndarray, rms_y: float, tolerance: float, max_terms: int | None
) -> tuple[tuple[list[int], list[sympy.Expr], float] | None, int]:
    """Sparsify, snap and check one degree. Returns ``((kept columns, coefficients, rmse) | None, flops)``."""
    n, m = design.shape
    ops = 2 * n * m
    budget = tolerance * rms_y
    col_rms = np.sqrt(np.mean(design**2, axis=0))
    keep = [int(k) for k in np.flatnonzero(col_rms > 0)]
    coef = np.zeros(0)
    # Least squares, then drop terms that are negligible next to the budget (all at once) or
    # statistically insignificant (|t| < T_MIN, a quarter of the terms at most per round), refit.
    for round_ in range(m + 1):
        if not keep:
            return None, ops
        coef, stderr, flops = _lstsq(design[:, keep], y, col_rms[keep])
        ops += flops
        if round_ == 0 and np.sqrt(np.mean((design[:, keep] @ coef - y) ** 2)) > budget:
            return None, ops  # all the terms together miss: no subset can do better
        t_stat = _t_stat(coef, stderr)
        contribution = np.abs(coef) * col_rms[keep]
        drop = contribution < budget / (10.0 * np.sqrt(len(keep)))
        weak = np.flatnonzero(~drop & (t_stat < T_MIN))
        if weak.size:
            weakest = weak[np.argsort(t_stat[weak], kind="stable")][: max(1, len(keep) // 4)]
            drop[weakest] = True
        if not drop.any():
            break
        if drop.all():  # nothing carries the signal: test the largest term alone
            drop[int(np.argmax(contribution))] = False
            keep = [k for k, d in zip(keep, drop, strict=True) if not d]
            coef, stderr, flops = _lstsq(design[:, keep], y, col_rms[keep])
            ops += flops
            break
        keep = [k for k, d in zip(keep, drop, strict=True) if not d]
    if max_terms is not None and len(keep) > max_terms:
        return None, ops
    sub = design[:, keep]
    resid = sub @ coef - y
    ops += 2 * n * len(keep)
    if np.sqrt(np.mean(resid**2)) > budget:
        return None, ops  # not even the unsnapped fit is good enough

    # Snap within a share of the budget; looser shares allow only short constants, tighter ones
    # longer constants. The first exact pass wins, else the first pass with floats left in.
    fallback: tuple[list[int], list[sympy.Expr], float] | None = None
    for scale in SNAP_SCALES:
        coefficients = _snap_all(coef, stderr, col_rms[keep], budget * scale)
        ops += 4200 * len(keep)  # snap candidates tried
        values = np.array([float(c) for c in coefficients])
        # Refit the coefficients that did not snap with the snapped ones held fixed.
        loose = [i for i, c in enumerate(coefficients) if c.atoms(sympy.Float)]
        if loose:
            fixed = [i for i in range(len(keep)) if i not in loose]
            target = y - sub[:, fixed] @ values[fixed]
            refit, _, flops = _lstsq(sub[:, loose], target, col_rms[keep][loose])
            ops += flops
            for i, v in zip(loose, refit, strict=True):
                coefficients[i] = sympy.Float(float(v), 15)
                values[i] = float(v)
        resid = sub @ values - y
        ops += 2 * n * len(keep)
        rmse = float(np.sqrt(np.mean(resid**2)))
        if rmse > budget:
            continue
        nonzero = [i for i, c in enumerate(coefficients) if c != 0]
        result = ([keep[i] for i in nonzero], [coefficients[i] for i in nonzero], rmse)
        if not loose:
            return result, ops
        if fallback is None:
            fallback = result
    return fallback, ops


def _snap_all(coef: np.ndarray, stderr: np.ndarray, col_rms: np.ndarray, budget: float) -> list[sympy.Expr]:
    """Snap each coefficient within its share of ``budget``; ``Float`` where nothing fits.

    A constant is accepted only if its description is at least ``SNAP_MARGIN_BITS``
    shorter than the relative precision it is matched to, ``log2(1/rel)``, where ``rel`` is
    the larger of the snapping tolerance and the coefficient's relative standard error:
    so a long constant matching by chance (a loose tolerance, or a tolerance tighter than
    the data can resolve) is left as a float.
    """
    share = budget / np.sqrt(max(len(coef), 1))
    out: list[sympy.Expr] = []
    for c, se, r in zip(coef, stderr, col_rms, strict=True):
        c = float(c)
        if c == 0.0:
            out.append(sympy.Integer(0))
            continue
        rel = min(1e-2, share / (abs(c) * r))
        precision = max(rel, float(se) / abs(c), 1e-16)
        snapped = snap_constant_with_e(c, rel, max_bits=np.log2(1.0 / precision) - SNAP_MARGIN_BITS)
        out.append(snapped if snapped is not None else sympy.Float(c, 15))
    return out


def _t_stat(coef: np.ndarray, stderr: np.ndarray) -> np.ndarray:
    """``|coef| / stderr``: ``inf`` where the standard error is 0 (an exact fit), 0 for a zero coefficient."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(coef == 0, 0.0, np.abs(coef) / stderr)


def _lstsq(A: np.ndarray, y: np.ndarray, col_rms: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Least squares with columns scaled to unit RMS (for conditioning).

    Returns ``(coef, standard errors of coef, flops)``.
    """
    n, m = A.shape
    scaled_A = A / col_rms
    scaled, *_ = np.linalg.lstsq(scaled_A, y, rcond=None)
    resid = scaled_A @ scaled - y
    sigma2 = float(resid @ resid) / max(n - m, 1)
    cov_diag = np.clip(np.diag(np.linalg.pinv(scaled_A.T @ scaled_A)), 0.0, None)
    stderr = np.sqrt(sigma2 * cov_diag)
    return scaled / col_rms, stderr / col_rms, 4 * n * m * m + 4 * n * m + 2 * m**3


def monomial_exponents(d: int, degree: int) -> list[tuple[int, ...]]:
    """Exponent tuples of every monomial in ``d`` variables of total degree <= ``degree``, by degree."""
    out: list[tuple[int, ...]] = []
    for total in range(degree + 1):
        for combo in itertools.combinations_with_replacement(range(d), total):
            exps = [0] * d
            for i in combo:
                exps[i] += 1
            out.append(tuple(exps))
    return out


def monomial_design(X: np.ndarray, monomials: list[tuple[int, ...]]) -> np.ndarray:
    """Columns ``prod_i X[:, i]**e_i``, one per monomial."""
    cols = np.ones((X.shape[0], len(monomials)))
    for j, exps in enumerate(monomials):
        for i, e in enumerate(exps):
            if e:
                cols[:, j] *= X[:, i] ** e
    return cols


def monomial_expr(symbols: tuple[sympy.Symbol, ...], exps: tuple[int, ...]) -> sympy.Expr:
    """The monomial ``prod_i symbols[i]**exps[i]`` as a sympy expression."""
    return sympy.Mul(*(s**e for s, e in zip(symbols, exps, strict=True) if e))

