"""Rational-function fits with exact coefficients (the sibling of :mod:`hybrid.symbolic.regression.polyfit`).

``y = P(x) / Q(x)`` with ``P`` of total degree <= ``dp`` and ``Q`` of total degree <= ``dq``
(``dq >= 1``; a plain polynomial is :func:`~hybrid.symbolic.regression.polyfit.fit_polynomial`'s
job). The fit is linearised as ``P(x) - y * Q(x) = 0``, a homogeneous system ``M v = 0``
whose least-squares solution is the right singular vector of ``M``'s smallest singular
value; that solution is refined by Gauss-Newton on ``y ~ P/Q`` itself (which removes the
linearisation's weighting by ``Q`` and, with noisy ``y``, its bias), negligible or
insignificant terms are dropped (and the rest re-solved), one coefficient is set to
exactly 1 and every other one snapped to an exact constant (an integer, a simple
fraction, ``r * pi**k`` or ``r * e**j``). Degree pairs are tried from the fewest
coefficients up and the first that fits the data to the requested relative tolerance is
returned. numpy and sympy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

import numpy as np
import sympy
from hybrid.symbolic.regression.pareto import description_length
from hybrid.symbolic.regression.polyfit import (
    SNAP_MARGIN_BITS,
    SNAP_SCALES,
    T_MIN,
    monomial_design,
    monomial_exponents,
    monomial_expr,
)
from hybrid.symbolic.regression.snapping import snap_constant_with_e
from hybrid.tasks._checks import check_int, is_real
from hybrid.tasks.arrays import check_variable_names, check_X, check_xy

# Largest number of samples the fit itself uses (a fixed random subset of larger data sets);
# the error that decides acceptance is always measured on all the data.
MAX_SAMPLES = 1000
# The SVD solution of the linearised system is refined only if its relative error is
# within this factor of the tolerance (linearisation weights the residual by Q and, with
# noisy y, biases the coefficients; the refinement removes both, but not a factor of 10).
_GATE = 10.0
# Gauss-Newton iterations on y ~ P/Q, and the relative decrease of the squared error below
# which it stops.
_GN_STEPS = 20
_GN_RTOL = 1e-10
# The shortest constants (+-1) are this many bits long in snap_constant_with_e's count.
_MIN_BITS = 2.0
# A denominator that reaches this fraction of its largest magnitude on the data counts as vanishing.
_POLE_RTOL = 1e-9


@dataclass(frozen=True)
class RationalFit:
    """The result of :func:`fit_rational`.

    Attributes:
        expression: ``P / Q`` as a sympy expression over ``symbols``; coefficients are exact
            where snapped (one of them exactly 1), ``sympy.Float`` where not.
        symbols: one real sympy symbol per input column.
        numerator_degree: the total degree ``dp`` of the numerator basis that was fitted
            (the expression's own degree may be lower, after negligible terms were dropped).
        denominator_degree: the total degree ``dq`` of the denominator basis.
        relative_error: ``rms(fit - y) / rms(y)`` on all the data.
        exact: ``True`` if every coefficient snapped to an exact constant.
        rmse: root-mean-square error of ``expression`` on all the data.
        numerator_monomials: exponent tuples of the numerator's kept terms.
        numerator_coefficients: their coefficients.
        denominator_monomials: exponent tuples of the denominator's kept terms.
        denominator_coefficients: their coefficients.
    """

    expression: sympy.Expr
    symbols: tuple[sympy.Symbol, ...]
    numerator_degree: int
    denominator_degree: int
    relative_error: float
    exact: bool
    rmse: float = 0.0
    numerator_monomials: tuple[tuple[int, ...], ...] = ()
    numerator_coefficients: tuple[sympy.Expr, ...] = ()
    denominator_monomials: tuple[tuple[int, ...], ...] = ()
    denominator_coefficients: tuple[sympy.Expr, ...] = ()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Evaluate ``P / Q``.

        Args:
            X: inputs, shape ``(n, len(symbols))``.

        Returns:
            Array ``(n,)`` (``inf``/``nan`` where ``X`` hits a pole of the fit).
        """
        X = check_X(X, n_features=len(self.symbols))
        if not self.numerator_monomials:
            return np.zeros(X.shape[0])
        num_coef = np.array([float(c) for c in self.numerator_coefficients])
        den_coef = np.array([float(c) for c in self.denominator_coefficients])
        num = monomial_design(X, list(self.numerator_monomials)) @ num_coef
        den = monomial_design(X, list(self.denominator_monomials)) @ den_coef
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / den


def fit_rational(
    X: np.ndarray,
    y: np.ndarray,
    *,
    max_degree: int = 2,
    max_denominator_degree: int = 2,
    variable_names: Sequence[str] | None = None,
    tolerance: float = 1e-6,
    max_columns: int = 300,
) -> RationalFit | None:
    """The lowest rational function ``P/Q`` with snapped coefficients that fits ``y`` to ``tolerance``.

    Degree pairs ``(dp, dq)``, ``0 <= dp <= max_degree`` and ``1 <= dq <=
    max_denominator_degree``, are tried in increasing number of coefficients
    ``C(d + dp, dp) + C(d + dq, dq)`` (ties: lower ``dq`` first), skipping pairs with as
    many coefficients as samples or more than ``max_columns``; the first pair that yields
    an accepted fit is returned. (Going lowest first matters: a higher pair than needed
    also fits, as ``P*R / (Q*R)``, with an ambiguous solution.)

    For one pair, on at most :data:`MAX_SAMPLES` samples: the right singular vector of the
    smallest singular value of ``[Phi_P, -y * Phi_Q]`` (each block orthonormalised, for
    conditioning), then Gauss-Newton on ``y ~ P/Q`` with the largest denominator
    coefficient held fixed (a pair whose linearised fit is off by more than
    ``10 * tolerance`` is rejected before that: the cheap path for data that are no
    rational function of these degrees);
    terms whose contribution to the output is negligible next to ``tolerance * rms(y)``,
    or whose coefficient is under :data:`~hybrid.symbolic.regression.polyfit.T_MIN` standard
    errors (heteroscedasticity-consistent), are dropped and the rest re-solved, until
    nothing more drops. Then each kept coefficient in turn (the denominator's first, its
    constant term first, then by contribution) is set to exactly 1 and the other ratios
    snapped with
    :func:`~hybrid.symbolic.regression.snapping.snap_constant_with_e` within their share of the
    error budget left over by the unsnapped fit (shares 1, 1e-1, ..., 1e-4 of it), a
    constant being accepted only if it is clearly shorter than the precision it is matched
    to; the rest are refitted with the snapped ones fixed and tried again. A candidate
    whose denominator vanishes or changes sign on the data is rejected (a pole inside the
    data is not a fit). At the first share of the budget where fully exact candidates fit
    to ``tolerance`` on all the data, the one with the shortest
    :func:`~hybrid.symbolic.regression.pareto.description_length` wins (fractions cleared:
    ``3*x*y/(y**2 + 2)``); if none is exact, the one with the fewest floats (``exact`` is
    then ``False``).

    Args:
        X: inputs ``(n, d)``.
        y: targets ``(n,)``. If ``y`` is zero everywhere the result is the expression 0
            with both degrees 0.
        max_degree: the highest total degree of the numerator (>= 0).
        max_denominator_degree: the highest total degree of the denominator (>= 1).
        variable_names: names of the ``d`` columns (default ``x0, x1, ...``); symbols are
            ``sympy.Symbol(name, real=True)``.
        tolerance: largest accepted ``rms(fit - y) / rms(y)`` (> 0).
        max_columns: the most coefficients (numerator plus denominator) of a pair tried (>= 2).

    Returns:
        The fit, or ``None`` if no pair passes.

    Raises:
        ValueError: on bad shapes, NaN/inf, a negative ``max_degree``, a
            ``max_denominator_degree`` below 1, ``max_columns`` below 2, a non-positive
            ``tolerance``, or wrong ``variable_names``.
    """
    X, y = check_xy(X, y)
    n, d = X.shape
    for name, value, least in (
        ("max_degree", max_degree, 0),
        ("max_denominator_degree", max_denominator_degree, 1),
        ("max_columns", max_columns, 2),
    ):
        check_int(name, value, least)
    if not (is_real(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance must be a positive number, got {tolerance!r}")
    names = check_variable_names(variable_names, d)
    symbols = tuple(sympy.Symbol(name, real=True) for name in names)
    rms_y = float(np.sqrt(np.mean(y**2)))
    if rms_y == 0.0:  # y == 0 everywhere: P = 0
        return RationalFit(sympy.Integer(0), symbols, 0, 0, 0.0, True)

    if n > MAX_SAMPLES:
        rows = np.sort(np.random.default_rng(0).choice(n, MAX_SAMPLES, replace=False))
        Xs, ys = X[rows], y[rows]
    else:
        Xs, ys = X, y
    top = max(max_degree, max_denominator_degree)
    monomials = monomial_exponents(d, top)  # ordered by degree: each lower degree is a prefix
    design = monomial_design(Xs, monomials)

    seen: set[tuple[int, int]] = set()
    for dp, dq in _pairs(d, max_degree, max_denominator_degree):
        mp, mq = comb(d + dp, dp), comb(d + dq, dq)
        if mp + mq >= n or mp + mq > max_columns or (mp, mq) in seen:
            continue
        seen.add((mp, mq))
        problem = _Problem(design[:, :mp], design[:, :mq], ys, rms_y * tolerance)
        try:
            kept = problem.solve()
            fit = (
                None
                if kept is None
                else _snap_and_check(problem, kept, monomials, X, y, rms_y, tolerance, symbols, dp, dq)
            )
        except np.linalg.LinAlgError:  # an SVD that does not converge (degenerate data): no fit here
            fit = None
        if fit is not None:
            return fit
    return None


def _pairs(d: int, max_p: int, max_q: int) -> list[tuple[int, int]]:
    """Degree pairs ``(dp, dq)`` by number of coefficients, then lower ``dq``, then lower ``dp``."""
    pairs = [(p, q) for p in range(max_p + 1) for q in range(1, max_q + 1)]
    return sorted(pairs, key=lambda pq: (comb(d + pq[0], pq[0]) + comb(d + pq[1], pq[1]), pq[1], pq[0]))


@dataclass
class _Kept:
    """A refined solution on a subset of columns: ``theta`` over ``cols`` (numerator ones first)."""

    cols: np.ndarray  # indices into the combined column list [numerator..., denominator...]
    theta: np.ndarray  # unscaled coefficients
    stderr: np.ndarray  # standard errors (0 for those held fixed)
    contribution: np.ndarray  # |theta_i| * rms(d fit / d theta_i): what dropping term i costs
    rmse: float  # on the subsample


class _Problem:
    """One degree pair on the (sub)sample: the numerator and denominator bases and the target."""

    def __init__(self, phi_p: np.ndarray, phi_q: np.ndarray, y: np.ndarray, budget: float):
        self.mp = phi_p.shape[1]
        self.basis = np.hstack([phi_p, phi_q])  # P = basis[:, :mp] @ a, Q = basis[:, mp:] @ b
        self.y = y
        self.budget = budget
        # RMS of the columns of the linearised system [Phi_P, -y * Phi_Q].
        self.lin_rms = np.concatenate(
            [np.sqrt(np.mean(phi_p**2, axis=0)), np.sqrt(np.mean((y[:, None] * phi_q) ** 2, axis=0))]
        )

    def is_numerator(self, cols: np.ndarray) -> np.ndarray:
        """Which of ``cols`` (indices into ``basis``) are numerator columns."""
        return cols < self.mp

    def solve(self) -> _Kept | None:
        """SVD, refine, drop negligible or insignificant terms, repeat; ``None`` if it does not fit."""
        cols = np.flatnonzero(self.lin_rms > 0)
        kept: _Kept | None = None
        for _ in range(len(self.lin_rms) + 1):
            theta = self._null_vector(cols)
            if theta is None:
                return None
            is_den = ~self.is_numerator(cols)
            den_scaled = np.where(is_den, np.abs(theta) * self.lin_rms[cols], 0.0)
            fixed = int(np.argmax(den_scaled))
            if den_scaled[fixed] == 0.0:
                return None  # no denominator: a dependency among the numerator's columns
            theta = theta / theta[fixed]
            fit = self._evaluate(cols, theta)
            if fit is None:
                return None  # pole in the data
            # Cheap rejection before refining: the linearised fit is far off.
            if kept is None and np.sqrt(np.mean((fit - self.y) ** 2)) > _GATE * self.budget:
                return None
            free = np.ones(len(cols), dtype=bool)
            free[fixed] = False
            refined = self._refine(cols, theta, free)
            if refined is None:
                return None
            kept = refined
            if kept.rmse > self.budget:
                return None  # dropping terms will not make it fit better
            k = len(cols)
            drop = kept.contribution < self.budget / (10.0 * np.sqrt(k))
            t_stat = np.full(k, np.inf)
            with np.errstate(divide="ignore", invalid="ignore"):
                np.divide(np.abs(kept.theta), kept.stderr, out=t_stat, where=kept.stderr > 0)
            weak = np.flatnonzero(~drop & (t_stat < T_MIN))
            if weak.size:
                weakest = weak[np.argsort(t_stat[weak], kind="stable")][: max(1, k // 4)]
                drop[weakest] = True
            drop[fixed] = False
            if not drop.any():
                return kept
            cols = cols[~drop]
        return kept

    def _null_vector(self, cols: np.ndarray) -> np.ndarray | None:
        """Unscaled coefficients ``theta`` minimising ``||P - y Q||`` with ``||P||^2 + ||Q y_rms||^2 = 1``.

        Each block is orthonormalised first (an SVD of its unit-RMS columns): the monomials
        on a range like ``[1, 5]`` are nearly collinear, and on the raw columns the smallest
        singular vector of noisy data favours a ``Q`` that is small by cancellation.
        """
        is_num = self.is_numerator(cols)
        if not (~is_num).any():
            return None
        y_rms = float(np.sqrt(np.mean(self.y**2)))
        u_p, back_p = _orthonormal(self.basis[:, cols[is_num]])
        u_q, back_q = _orthonormal(self.basis[:, cols[~is_num]])
        system = np.hstack([u_p, -(self.y / y_rms)[:, None] * u_q])
        _, _, vt = np.linalg.svd(system, full_matrices=False)
        v = vt[-1]
        theta = np.empty(len(cols))
        theta[is_num] = back_p @ v[: u_p.shape[1]]
        theta[~is_num] = back_q @ v[u_p.shape[1] :] / y_rms
        return theta if np.all(np.isfinite(theta)) else None

    def _evaluate(self, cols: np.ndarray, theta: np.ndarray) -> np.ndarray | None:
        """``P/Q`` on the sample, or ``None`` if ``Q`` vanishes or changes sign there."""
        num, den = _num_den(self.basis[:, cols], self.is_numerator(cols), theta)
        if not _no_pole(den):
            return None
        return num / den

    def _jacobian(self, sub: np.ndarray, is_num: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(P/Q, d(P/Q)/d theta)`` on the sample."""
        num, den = _num_den(sub, is_num, theta)
        fit = num / den
        jac = np.where(is_num, sub / den[:, None], -(fit / den)[:, None] * sub)
        return fit, jac

    def _refine(self, cols: np.ndarray, theta: np.ndarray, free: np.ndarray) -> _Kept | None:
        """Gauss-Newton on ``sum (P/Q - y)**2`` over ``theta[free]``; ``None`` if ``Q`` has a pole.

        Standard errors are heteroscedasticity-consistent (sandwich, HC1): noise on data
        like these is usually relative, larger in absolute terms where ``|y|`` is, and the
        plain estimate then calls terms fitted to the noisy region significant.
        """
        sub = self.basis[:, cols]
        is_num = self.is_numerator(cols)
        y = self.y
        n = len(y)
        if self._evaluate(cols, theta) is None:
            return None
        fit, jac = self._jacobian(sub, is_num, theta)
        sse = float(np.sum((fit - y) ** 2))
        for _ in range(_GN_STEPS if free.any() else 0):
            if sse == 0.0:
                break
            jf = jac[:, free]
            scale = np.sqrt(np.mean(jf**2, axis=0))
            scale[scale == 0] = 1.0
            step, *_ = np.linalg.lstsq(jf / scale, y - fit, rcond=None)
            step /= scale
            accepted = None
            for _halving in range(8):
                trial = theta.copy()
                trial[free] += step
                trial_fit = self._evaluate(cols, trial)
                if trial_fit is not None:
                    trial_sse = float(np.sum((trial_fit - y) ** 2))
                    if trial_sse < sse:
                        accepted = trial, trial_sse
                        break
                step = step / 2
            if accepted is None:
                break
            theta, new_sse = accepted
            fit, jac = self._jacobian(sub, is_num, theta)
            converged = sse - new_sse <= _GN_RTOL * sse
            sse = new_sse
            if converged:
                break
        n_free = int(free.sum())
        stderr = np.zeros(len(cols))
        if n_free:
            jf = jac[:, free]
            scale = np.sqrt(np.mean(jf**2, axis=0))
            scale[scale == 0] = 1.0
            js = jf / scale
            inv = np.linalg.pinv(js.T @ js)
            meat = (js * (fit - y)[:, None] ** 2).T @ js
            cov_diag = np.clip(np.einsum("ij,jk,ki->i", inv, meat, inv), 0.0, None) * n / max(n - n_free, 1)
            stderr[free] = np.sqrt(cov_diag) / scale
        contribution = np.abs(theta) * np.sqrt(np.mean(jac**2, axis=0))
        return _Kept(cols, theta, stderr, contribution, float(np.sqrt(sse / n)))


def _orthonormal(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(U, B)``: orthonormal columns ``U`` spanning ``A``'s (``A @ B == U``, up to rounding)."""
    if A.shape[1] == 0:
        return A, np.zeros((0, 0))
    scale = np.sqrt(np.mean(A**2, axis=0))
    scale[scale == 0] = 1.0
    u, s, vt = np.linalg.svd(A / scale, full_matrices=False)
    keep = s > s[0] * 1e-12
    return u[:, keep], (vt[keep].T / s[keep]) / scale[:, None]


def _num_den(sub: np.ndarray, is_num: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(P, Q)`` from the kept columns ``sub`` and their coefficients."""
    return sub[:, is_num] @ theta[is_num], sub[:, ~is_num] @ theta[~is_num]


def _no_pole(den: np.ndarray) -> bool:
    """``True`` if ``den`` keeps one sign and stays clear of zero."""
    if den.size == 0:
        return False
    lo, hi = float(np.min(den)), float(np.max(den))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return False
    big = max(abs(lo), abs(hi))
    return big > 0 and (lo > _POLE_RTOL * big or hi < -_POLE_RTOL * big)


def _normalisers(problem: _Problem, kept: _Kept, monomials: list[tuple[int, ...]]) -> list[int]:
    """Positions of the coefficients to set to 1, in order: the denominator's, then the
    numerator's; within each the constant term first, then by contribution."""
    is_num = problem.is_numerator(kept.cols)
    order = []
    for part in (~is_num, is_num):
        idx = np.flatnonzero(part)
        const = [i for i in idx if not any(_monomial_of(problem, monomials, kept.cols[i]))]
        rest = sorted((i for i in idx if i not in const), key=lambda i: -kept.contribution[i])
        order += [int(i) for i in const] + [int(i) for i in rest]
    return order


def _monomial_of(problem: _Problem, monomials: list[tuple[int, ...]], col: int) -> tuple[int, ...]:
    """The exponent tuple of combined column ``col``."""
    return monomials[col] if col < problem.mp else monomials[col - problem.mp]


def _snap_and_check(
    problem: _Problem,
    kept: _Kept,
    monomials: list[tuple[int, ...]],
    X: np.ndarray,
    y: np.ndarray,
    rms_y: float,
    tolerance: float,
    symbols: tuple[sympy.Symbol, ...],
    dp: int,
    dq: int,
) -> RationalFit | None:
    """Snap ``kept`` (each share of the budget and normaliser in turn) and check on all the data.

    For one normaliser (the coefficient set to 1): the other ratios are refitted with it
    fixed (which gives their standard errors), every one that snaps is fixed at its exact
    value and the rest refitted and tried again, until all have snapped or none more does
    (a refit with correct constants fixed pulls the others closer to theirs, which
    matters with noisy data). Unsnapped coefficients are left as ``sympy.Float``.
    """
    cols = kept.cols
    k = len(cols)
    is_num = problem.is_numerator(cols)
    terms = [_monomial_of(problem, monomials, c) for c in cols]
    full = monomial_design(X, terms)  # the kept columns on all the data
    budget = tolerance * rms_y
    # What the unsnapped fit leaves of the error budget is what snapping may spend.
    room = np.sqrt(max(budget**2 - kept.rmse**2, 0.0)) or budget * 1e-3
    normalisers = _normalisers(problem, kept, monomials)
    memo = _Memo(problem, kept.cols)
    tried: set[tuple] = set()
    best: tuple[tuple[int, float], RationalFit] | None = None
    for scale in SNAP_SCALES:
        share = room * scale / np.sqrt(max(k - 1, 1))
        exact: list[tuple[float, RationalFit]] = []
        for norm in normalisers:
            coefficients = _snap_ratios(memo, kept, norm, share)
            if coefficients is None:
                continue
            values, exact_values = coefficients
            signature = (norm, tuple(str(c) for c in exact_values))
            if signature in tried:  # the same outcome as at another share of the budget
                continue
            tried.add(signature)
            fit = _candidate(values, exact_values, full, is_num, y, rms_y, terms, symbols, dp, dq)
            if fit is None or fit.relative_error > tolerance:
                continue
            if fit.exact:
                exact.append((description_length(fit.expression, n_variables=len(symbols)), fit))
                continue
            key = (sum(1 for c in exact_values if c is None), fit.relative_error)
            if best is None or key < best[0]:
                best = (key, fit)
        if exact:  # the same function written with different coefficients set to 1: the shortest
            return min(exact, key=lambda lf: lf[0])[1]
    return None if best is None else best[1]


class _Memo:
    """Refits and snaps already done for one set of kept columns (the budget shares repeat them)."""

    def __init__(self, problem: _Problem, cols: np.ndarray):
        self.problem = problem
        self.cols = cols
        self.refits: dict[tuple[bytes, bytes], _Kept | None] = {}
        self.failed: dict[tuple[float, float], float] = {}  # (value, max_bits) -> largest failed tolerance

    def refine(self, values: np.ndarray, free: np.ndarray) -> _Kept | None:
        """:meth:`_Problem._refine`, once per distinct input."""
        key = (values.tobytes(), free.tobytes())
        if key not in self.refits:
            self.refits[key] = self.problem._refine(self.cols, values, free)
        return self.refits[key]

    def snap(self, value: float, rel: float, max_bits: float) -> sympy.Expr | None:
        """:func:`snap_constant_with_e`, skipped where a looser tolerance with the same
        ``max_bits`` already found nothing."""
        key = (value, max_bits)
        if self.failed.get(key, -1.0) >= rel:
            return None
        snapped = snap_constant_with_e(value, rel, max_bits=max_bits)
        if snapped is None:
            self.failed[key] = max(rel, self.failed.get(key, -1.0))
        return snapped


def _snap_ratios(
    memo: _Memo, kept: _Kept, norm: int, share: float
) -> tuple[np.ndarray, list[sympy.Expr | None]] | None:
    """Coefficients with ``theta[norm] = 1``: ``(values, exact values or None where unsnapped)``.

    Each ratio may move by ``share / contribution`` (at most 1e-2 relative); a constant is
    accepted only if its description is at least ``SNAP_MARGIN_BITS`` shorter than the
    precision it is matched to, ``log2(1/rel)``, ``rel`` being the larger of that
    tolerance and the ratio's relative standard error (polyfit's guard against long
    constants matching by chance). ``None`` if a refit runs into a pole.
    """
    k = len(kept.cols)
    values = kept.theta / kept.theta[norm]
    exact: list[sympy.Expr | None] = [None] * k
    exact[norm] = sympy.Integer(1)
    free = np.ones(k, dtype=bool)
    free[norm] = False
    while free.any():
        refined = memo.refine(values, free)
        if refined is None:
            return None
        values = refined.theta.copy()
        progress = False
        for i in np.flatnonzero(free):
            v = float(values[i])
            if v == 0.0 or refined.contribution[i] == 0.0:
                continue
            rel = min(1e-2, share / refined.contribution[i])
            precision = max(rel, float(refined.stderr[i]) / abs(v), 1e-16)
            max_bits = np.log2(1.0 / precision) - SNAP_MARGIN_BITS
            if max_bits < _MIN_BITS:
                continue  # not even +-1 is short enough: spare the search
            snapped = memo.snap(v, rel, max_bits)
            if snapped is not None:
                exact[i] = snapped
                values[i] = float(snapped)
                free[i] = False
                progress = True
        if not progress:
            break
    return values, exact


def _candidate(
    values: np.ndarray,
    exact_values: list[sympy.Expr | None],
    full: np.ndarray,
    is_num: np.ndarray,
    y: np.ndarray,
    rms_y: float,
    terms: list[tuple[int, ...]],
    symbols: tuple[sympy.Symbol, ...],
    dp: int,
    dq: int,
) -> RationalFit | None:
    """Build ``P/Q`` (``sympy.Float`` where ``exact_values`` is ``None``) and measure it on all the data."""
    num, den = _num_den(full, is_num, values)
    if not _no_pole(den):
        return None
    rmse = float(np.sqrt(np.mean((num / den - y) ** 2)))
    exact = all(c is not None for c in exact_values)
    if exact:  # clear fractions: 3/2*x*y / (1 + y**2/2) -> 3*x*y / (2 + y**2)
        lcm = 1
        for c in exact_values:
            lcm = sympy.ilcm(lcm, sympy.Rational(c.as_coeff_Mul()[0]).q)
        exact_values = [c * lcm for c in exact_values]
        values = values * lcm
    coefficients = [sympy.Float(float(v), 15) if c is None else c for v, c in zip(values, exact_values, strict=True)]
    numerator = sympy.Add(
        *(c * monomial_expr(symbols, m) for c, m, p in zip(coefficients, terms, is_num, strict=True) if p)
    )
    denominator = sympy.Add(
        *(c * monomial_expr(symbols, m) for c, m, p in zip(coefficients, terms, is_num, strict=True) if not p)
    )
    pick = np.flatnonzero(is_num)
    rest = np.flatnonzero(~is_num)
    return RationalFit(
        expression=numerator / denominator,
        symbols=symbols,
        numerator_degree=dp,
        denominator_degree=dq,
        relative_error=rmse / rms_y,
        exact=exact,
        rmse=rmse,
        numerator_monomials=tuple(terms[i] for i in pick),
        numerator_coefficients=tuple(coefficients[i] for i in pick),
        denominator_monomials=tuple(terms[i] for i in rest),
        denominator_coefficients=tuple(coefficients[i] for i in rest),
    )
