"""Refit the numeric constants of a formula on data, then snap them to exact numbers.

A formula assembled from sub-problems (solved on oracle data, which are only
approximately right) carries float constants. Levenberg-Marquardt on the real data
with a finite-difference Jacobian refines them; each is then snapped to an exact
number (:func:`~symbolic.regression.bruteforce.snap_number`) and the snapped formula
is kept if it still fits. numpy and sympy only.
"""

from __future__ import annotations

import numpy as np
import sympy

from symbolic.regression.bruteforce import evaluate, snap_number


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
    params = sympy.symbols(f"_c0:{len(floats)}", real=True)
    templ = expr.xreplace(dict(zip(floats, params, strict=True)))
    fn = sympy.lambdify(tuple(symbols) + tuple(params), templ, modules="numpy")
    cols = list(X.T)

    def model(theta: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*cols, *theta), dtype=float)
        return np.broadcast_to(out, y.shape)

    theta = np.array([float(f) for f in floats])
    res = model(theta) - y
    cost = float(res @ res) if np.all(np.isfinite(res)) else np.inf
    damping = 1e-3
    for _ in range(iterations if np.isfinite(cost) else 0):
        J = np.empty((y.size, theta.size))
        for i in range(theta.size):
            h = 1e-7 * max(abs(theta[i]), 1e-3)
            t2 = theta.copy()
            t2[i] += h
            J[:, i] = (model(t2) - model(theta)) / h
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
