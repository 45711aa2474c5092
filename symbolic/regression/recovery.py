"""Exact-recovery check, as SRBench does it: symbolic first, numeric as a fallback."""

from __future__ import annotations

import numpy as np
import sympy


def _by_name(expr: sympy.Expr, symbols: dict[str, sympy.Symbol]) -> sympy.Expr:
    """Rename ``expr``'s symbols onto ``symbols`` (same names, shared assumptions)."""
    return expr.xreplace({s: symbols[s.name] for s in expr.free_symbols if s.name in symbols})


def is_exact_recovery(
    candidate: sympy.Expr,
    truth: sympy.Expr,
    *,
    check_points: np.ndarray | None = None,
    variables: tuple[str, ...] | None = None,
    allow_constant_factor: bool = False,
    rtol: float = 1e-9,
) -> bool:
    """True if ``candidate`` is the same formula as ``truth``.

    Symbols are matched by name, so a candidate built over its own symbols compares
    against the table's truth. The test is that ``candidate - truth`` simplifies to 0
    (or, with ``allow_constant_factor``, that ``candidate / truth`` simplifies to a
    constant). If sympy cannot decide and ``check_points`` is given, the two are
    compared numerically there to relative tolerance ``rtol``.

    Args:
        candidate: the recovered expression.
        truth: the true expression.
        check_points: optional array ``(n, len(variables))`` for the numeric fallback.
        variables: the names of ``check_points``' columns.
        allow_constant_factor: accept a constant ratio (SRBench's looser criterion).
        rtol: relative tolerance of the numeric fallback.
    """
    common = {s.name: s for s in truth.free_symbols}
    for s in candidate.free_symbols:
        if s.name not in common:
            return False
    cand = _by_name(candidate, common)
    cand = cand.xreplace({f: sympy.nsimplify(f, rational=True) for f in cand.atoms(sympy.Float)})
    # A candidate that is numerically off needs no simplify (which can take minutes on a
    # long wrong formula); one that is far longer than the truth is judged numerically.
    if check_points is not None and variables is not None:
        if not _numerically_equal(cand, truth, common, check_points, variables, allow_constant_factor, rtol):
            return False
        if sympy.count_ops(cand) > 4 * sympy.count_ops(truth) + 40:
            return True
    diff = sympy.simplify(cand - truth)
    if diff == 0:
        return True
    if allow_constant_factor:
        ratio = sympy.simplify(cand / truth)
        if not ratio.free_symbols and ratio != 0:
            return True
    if check_points is None or variables is None:
        return False
    return _numerically_equal(cand, truth, common, check_points, variables, allow_constant_factor, rtol)


def _numerically_equal(cand, truth, common, check_points, variables, allow_constant_factor, rtol) -> bool:
    syms = [common.get(v, sympy.Symbol(v)) for v in variables]
    f_c = sympy.lambdify(syms, cand, modules="numpy")
    f_t = sympy.lambdify(syms, truth, modules="numpy")
    with np.errstate(all="ignore"):
        a = np.broadcast_to(np.asarray(f_c(*check_points.T), dtype=float), (len(check_points),))
        b = np.broadcast_to(np.asarray(f_t(*check_points.T), dtype=float), (len(check_points),))
    if allow_constant_factor:
        ok = np.isfinite(a) & np.isfinite(b) & (b != 0)
        if not ok.any():
            return False
        r = a[ok] / b[ok]
        return bool(np.allclose(r, r[0], rtol=rtol, atol=0))
    return bool(np.allclose(a, b, rtol=rtol, atol=0))
