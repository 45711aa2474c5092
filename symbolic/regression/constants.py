"""Refit the numeric constants of a formula on data, then snap them to exact numbers.

A formula assembled from sub-problems (solved on oracle data, which are only
approximately right) carries float constants. Levenberg-Marquardt on the real data
with a finite-difference Jacobian refines them; each is then snapped to an exact
number (:func:`~hybrid.symbolic.regression.bruteforce.snap_number`) and the snapped formula
is kept if it still fits. numpy and sympy only.

On noisy data a constant is known only to within its standard error, and the right
exact number is the simplest one inside that interval, not the one nearest the
estimate: :func:`snap_within_uncertainty` snaps one constant at a time, each to the
simplest number within its confidence interval, and keeps a snap only if the fit
worsens by no more than chance would (a chi-square test on the residual sum of squares).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import sympy
from hybrid.symbolic.regression.bruteforce import evaluate, snap_number, snap_number_with_bits
from hybrid.symbolic.regression.noise import chi2_quantile


def _relative_rms(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)) / (np.sqrt(np.mean(y**2)) or 1.0))


def polish_constants(
    expr: sympy.Expr,
    symbols: tuple[sympy.Symbol, ...],
    X: np.ndarray,
    y: np.ndarray,
    *,
    snap_tolerance: float = 1e-4,
    iterations: int = 40,
) -> tuple[sympy.Expr, float, bool]:
    """Refine the float constants of ``expr`` on ``(X, y)`` and snap them.

    Args:
        expr: a formula over ``symbols``; its ``Float`` atoms are the free constants.
        symbols: one per column of ``X``.
        X, y: the data.
        snap_tolerance: relative tolerance for snapping each constant.
        iterations: Levenberg-Marquardt steps.

    Returns:
        ``(expression, relative RMS error, exact)``: the snapped formula when snapping
        costs at most a factor 1.5 in error (or the error stays below
        ``snap_tolerance``), else the refined float one; ``exact`` says no float is left.
        The error is ``inf`` when the formula is not finite on the data.
    """
    floats = sorted(expr.atoms(sympy.Float), key=lambda f: float(f))
    if not floats:
        pred = evaluate(expr, symbols, X)
        return expr, (np.inf if pred is None else _relative_rms(pred, y)), True
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        return expr, np.inf, False
    params, templ, model = _template(expr, floats, symbols, X, y)
    theta, cost = _levenberg_marquardt(model, np.array([float(f) for f in floats]), y, iterations)
    refined = templ.xreplace({p: sympy.Float(v, 15) for p, v in zip(params, theta, strict=True)})
    err = _relative_rms(model(theta), y) if np.isfinite(cost) else np.inf
    snapped = {}
    for p, v in zip(params, theta, strict=True):
        s = snap_number(float(v), snap_tolerance)
        if s is None:
            return refined, err, False
        snapped[p] = s
    exact = templ.xreplace(snapped)
    pred = evaluate(exact, symbols, X)
    if pred is None:
        return refined, err, False
    exact_err = _relative_rms(pred, y)
    if exact_err <= max(1.5 * err, snap_tolerance * 1e-3) or exact_err <= 1e-9:
        return exact, exact_err, True
    return refined, err, False


def free_coefficients(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with its numeric coefficients and numeric terms turned into ``Float``.

    The coefficient of a product (all its numeric factors together: ``8*pi/25`` in
    ``8*pi*v**2/(25*c**2)``) and the numeric term of a sum become one free constant each;
    ``0``, ``1`` and ``-1`` and exponents stay as they are. Equal coefficients become
    distinct floats (nudged by 1e-12), since sympy would otherwise make them one atom and
    tie them in a fit.

    Args:
        expr: a formula.

    Returns:
        The formula with free (``Float``) constants, ready for :func:`snap_within_uncertainty`.
    """
    seen: set[float] = set()

    def fresh(value: float) -> sympy.Float:
        while value in seen:
            value = value * (1 + 1e-12) + 1e-300
        seen.add(value)
        return sympy.Float(value, 15)

    def free(e: sympy.Expr) -> sympy.Expr:
        if e.is_number:
            return e if e in (0, 1, -1) else fresh(float(e))
        if e.is_Atom:
            return e
        if e.is_Pow:
            return sympy.Pow(free(e.base), e.exp)
        args = [a if a.is_number else free(a) for a in e.args]
        if e.is_Mul or e.is_Add:
            numeric = [a for a in args if a.is_number]
            rest = [a for a in args if not a.is_number]
            value = e.func(*numeric) if numeric else None
            if value is not None and value not in (0, 1, -1) and value.is_real:
                numeric = [fresh(float(value))]
            return e.func(*numeric, *rest)
        return e.func(*args)

    return free(expr)


def snap_within_uncertainty(
    expr: sympy.Expr,
    symbols: tuple[sympy.Symbol, ...],
    X: np.ndarray,
    y: np.ndarray,
    *,
    confidence: float = 0.9999,
    iterations: int = 40,
) -> tuple[sympy.Expr, float, bool]:
    """Fit the ``Float`` constants of ``expr`` to noisy data and snap each within its error bar.

    The constants are fitted by Levenberg-Marquardt; their standard errors come from the
    Jacobian (``s^2 (J^T J)^-1``, ``s^2`` the residual variance). Then, one at a time, the
    constant with the smallest relative standard error is replaced by the exact number
    (:func:`~hybrid.symbolic.regression.bruteforce.snap_number`) within ``z`` standard errors
    (``z`` the two-sided normal quantile of ``confidence``) that describes it in fewest
    bits, its distance from the fit counted (:func:`_simplest_in_bar`), if that is fewer
    than the float needs; and the others are refitted. A snap is kept only while the
    residual sum of squares has grown by less than the ``confidence`` quantile of
    ``s^2 chi2(k)`` for ``k`` constants snapped: what fixing ``k`` constants at their true
    values costs on pure noise.

    Args:
        expr: a formula over ``symbols`` whose ``Float`` atoms are the free constants
            (see :func:`free_coefficients`).
        symbols: one per column of ``X``.
        X, y: the data.
        confidence: of the interval a snapped constant must lie in, and of the test.
        iterations: Levenberg-Marquardt steps per fit.

    Returns:
        ``(expression, relative RMS error, exact)``: the snapped formula if every constant
        snapped and passed the test, else the fitted float formula. The error is ``inf``
        when the formula is not finite on the data.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    floats = sorted(expr.atoms(sympy.Float), key=lambda f: float(f))
    if not floats:
        pred = evaluate(expr, symbols, X)
        return expr, (np.inf if pred is None else _relative_rms(pred, y)), True
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        return expr, np.inf, False
    params, templ, model = _template(expr, floats, symbols, X, y)
    theta, cost = _levenberg_marquardt(model, np.array([float(f) for f in floats]), y, iterations)
    if not np.isfinite(cost):
        return expr, np.inf, False
    fitted = templ.xreplace({p: sympy.Float(v, 15) for p, v in zip(params, theta, strict=True)})
    fitted_err = _relative_rms(model(theta), y)
    n, p = y.size, theta.size
    s2 = cost / max(n - p, 1)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    exact: dict[int, sympy.Expr] = {}
    values = theta.copy()
    while len(exact) < p:
        free = [i for i in range(p) if i not in exact]
        se = _standard_errors(model, values, free, y, s2)
        i = min(free, key=lambda j: se[j] / max(abs(values[j]), 1e-300))
        snapped = _simplest_in_bar(float(values[i]), float(se[i]), z)
        if snapped is None:
            return fitted, fitted_err, False
        exact[i] = snapped
        values[i] = float(snapped)
        rest = [j for j in range(p) if j not in exact]
        if rest:
            def partial(sub: np.ndarray, rest=rest) -> np.ndarray:
                full = values.copy()
                full[rest] = sub
                return model(full)

            sub, new_cost = _levenberg_marquardt(partial, values[rest], y, iterations)
            values[rest] = sub
        else:
            res = model(values) - y
            new_cost = float(res @ res) if np.all(np.isfinite(res)) else np.inf
        if not (new_cost - cost <= s2 * chi2_quantile(confidence, len(exact)) or new_cost <= 1e-18 * n):
            return fitted, fitted_err, False
    out = templ.xreplace({params[i]: exact[i] for i in range(p)})
    pred = evaluate(out, symbols, X)
    if pred is None:
        return fitted, fitted_err, False
    return out, _relative_rms(pred, y), True


def _simplest_in_bar(value: float, se: float, z: float) -> sympy.Expr | None:
    """The exact number that says ``value +- se`` in fewest bits, or ``None`` if the float does.

    A number ``k`` standard errors off costs its own bits plus ``k**2 / 2`` nats of residual
    (what the data then take more to send); the float costs the bits of its precision,
    ``log2(|value| / se)``. Only numbers within ``z`` standard errors are tried.
    """
    if not (np.isfinite(se) and se > 0):
        se = abs(value) * 1e-12
    float_bits = max(math.log2(max(abs(value), 1e-300) / se), 0.0)
    best: tuple[float, sympy.Expr] | None = None
    for k in (0.25, 0.5, 1.0, 2.0, 3.0, z):
        found = snap_number_with_bits(value, max(min(k, z) * se / max(abs(value), 1e-300), 1e-15))
        if found is None:
            continue
        number, bits = found
        off = (float(number) - value) / se
        cost = bits + 0.5 * off * off * math.log2(math.e)
        if best is None or cost < best[0]:
            best = (cost, number)
    return best[1] if best is not None and best[0] < float_bits else None


def _template(expr, floats, symbols, X, y):
    """``(parameters, expr with them in place of the floats, model(theta) -> prediction)``."""
    params = sympy.symbols(f"_c0:{len(floats)}", real=True)
    templ = expr.xreplace(dict(zip(floats, params, strict=True)))
    fn = sympy.lambdify(tuple(symbols) + tuple(params), templ, modules="numpy")
    cols = list(X.T)

    def model(theta: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*cols, *theta), dtype=float)
        return np.broadcast_to(out, y.shape)

    return params, templ, model


def _jacobian(model, theta: np.ndarray) -> np.ndarray:
    """Forward-difference Jacobian of ``model`` at ``theta``, ``(n, len(theta))``."""
    base = model(theta)
    J = np.empty((base.size, theta.size))
    for i in range(theta.size):
        h = 1e-7 * max(abs(theta[i]), 1e-3)
        t2 = theta.copy()
        t2[i] += h
        J[:, i] = (model(t2) - base) / h
    return J


def _standard_errors(model, values: np.ndarray, free: list[int], y: np.ndarray, s2: float) -> np.ndarray:
    """Standard errors of ``values[free]`` (others held fixed); ``inf`` where unknown."""
    se = np.full(values.size, np.inf)

    def partial(sub: np.ndarray) -> np.ndarray:
        full = values.copy()
        full[free] = sub
        return model(full)

    J = _jacobian(partial, values[free])
    if np.all(np.isfinite(J)):
        # pinv: constants the data cannot tell apart get the spread of the identifiable part.
        cov = s2 * np.clip(np.diag(np.linalg.pinv(J.T @ J)), 0.0, None)
        se[free] = np.sqrt(cov)
    return se


def _levenberg_marquardt(model, theta: np.ndarray, y: np.ndarray, iterations: int) -> tuple[np.ndarray, float]:
    """Minimise ``||model(theta) - y||^2`` from ``theta``; returns ``(theta, cost)`` (``inf`` if not finite)."""
    res = model(theta) - y
    cost = float(res @ res) if np.all(np.isfinite(res)) else np.inf
    damping = 1e-3
    for _ in range(iterations if np.isfinite(cost) and theta.size else 0):
        J = _jacobian(model, theta)
        if not np.all(np.isfinite(J)):
            break
        A = J.T @ J
        g = J.T @ res
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(g))):
            break  # J.T @ J overflowed: keep the constants reached so far
        try:
            # lstsq, not solve: constants the data cannot tell apart make the system singular.
            step = np.linalg.lstsq(A + damping * np.diag(np.diag(A) + 1e-12), -g, rcond=None)[0]
        except np.linalg.LinAlgError:
            break
        new = theta + step
        new_res = model(new) - y
        new_cost = float(new_res @ new_res) if np.all(np.isfinite(new_res)) else np.inf
        if new_cost < cost:
            theta, res, cost, damping = new, new_res, new_cost, damping / 3
            if np.all(np.abs(step) <= 1e-12 * (np.abs(theta) + 1e-12)):
                break
        else:
            damping *= 10
            if damping > 1e10:
                break
    return theta, cost
