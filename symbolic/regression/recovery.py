"""Did a regressor recover the law? Exact recovery, SRBench's symbolic solution, and model size.

All checks are symbolic first (sympy), numeric as a fallback.
"""

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
    constant). Given ``check_points``, the two are compared numerically there instead,
    to relative tolerance ``rtol`` (at 1e-9 a wrong formula does not pass by chance).

    Args:
        candidate: the recovered expression.
        truth: the true expression.
        check_points: optional array ``(n, len(variables))`` for the numeric test.
        variables: the names of ``check_points``' columns.
        allow_constant_factor: accept a constant ratio (SRBench's looser criterion).
        rtol: relative tolerance of the numeric test.
    """
    common = {s.name: s for s in truth.free_symbols}
    for s in candidate.free_symbols:
        if s.name not in common:
            return False
    cand = _by_name(candidate, common)
    cand = cand.xreplace({f: sympy.nsimplify(f, rational=True) for f in cand.atoms(sympy.Float)})
    # With points, they decide: a simplify that fails falls back to the same numeric test,
    # so it could only confirm what the points say, and it can take minutes (a snapped
    # constant such as 4342944819/10000000000 for 1/log(10) sends it through huge integers).
    if check_points is not None and variables is not None:
        return _numerically_equal(cand, truth, common, check_points, variables, allow_constant_factor, rtol)
    diff = sympy.simplify(cand - truth)
    if diff == 0:
        return True
    if allow_constant_factor:
        ratio = sympy.simplify(cand / truth)
        if not ratio.free_symbols and ratio != 0:
            return True
    return False


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


def is_symbolic_solution(
    candidate: sympy.Expr,
    truth: sympy.Expr,
    *,
    check_points: np.ndarray | None = None,
    variables: tuple[str, ...] | None = None,
    rtol: float = 1e-6,
) -> bool:
    """SRBench's criterion: ``candidate - truth`` is a constant, or ``candidate / truth`` a non-zero one.

    Looser than :func:`is_exact_recovery`: the model may carry fitted float constants
    (``0.9999*x`` solves ``x``) and an additive offset. The points (if given) reject a
    candidate cheaply at ``rtol`` (fitted floats); where sympy cannot decide, only an
    identity to round-off on the points counts.

    Args:
        candidate: the model's expression.
        truth: the true expression.
        check_points: optional array ``(n, len(variables))`` for the numeric fallback.
        variables: the names of ``check_points``' columns.
        rtol: relative tolerance of the numeric check.

    Returns:
        Whether the model is a symbolic solution.
    """
    common = {s.name: s for s in truth.free_symbols}
    if any(s.name not in common for s in candidate.free_symbols):
        return False
    cand = _by_name(candidate, common)
    numeric = check_points is not None and variables is not None
    if numeric and not _constant_offset_or_ratio(cand, truth, common, check_points, variables, rtol):
        return False  # cheap rejection before any simplify
    if not sympy.simplify(cand - truth).free_symbols:
        return True
    ratio = sympy.simplify(cand / truth)
    if not ratio.free_symbols and ratio != 0:
        return True
    # sympy could not show it; only an identity to round-off counts (an approximation
    # that fits to 1e-6, a polynomial for 2**n, is not a solution)
    return numeric and _constant_offset_or_ratio(cand, truth, common, check_points, variables, 1e-10)


def _constant_offset_or_ratio(cand, truth, common, check_points, variables, rtol) -> bool:
    """``cand - truth`` or ``cand / truth`` constant on the points, to ``rtol`` of the truth's scale."""
    syms = [common.get(v, sympy.Symbol(v)) for v in variables]
    with np.errstate(all="ignore"):
        a = _values(cand, syms, check_points)
        b = _values(truth, syms, check_points)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 2:
        return False
    a, b = a[ok], b[ok]
    scale = np.max(np.abs(b)) or 1.0
    offset = a - b
    with np.errstate(all="ignore"):
        ratio = a / b
    ratio_ok = bool(np.all(b != 0) and ratio[0] != 0 and np.allclose(ratio, ratio[0], rtol=rtol, atol=0))
    return ratio_ok or bool(np.allclose(offset, offset[0], rtol=0, atol=rtol * scale))


def model_size(expr: sympy.Expr) -> int:
    """Nodes of the expression tree (SRBench's model size): symbols, numbers and operators."""
    return sum(1 for _ in sympy.preorder_traversal(expr))


def _values(expr: sympy.Expr, syms, X: np.ndarray) -> np.ndarray:
    """``expr`` on the rows of ``X``; NaN where it is not a real number."""
    try:
        out = np.asarray(sympy.lambdify(syms, expr, modules="numpy")(*X.T))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return np.full(len(X), np.nan)
    if np.iscomplexobj(out):
        out = np.where(np.abs(out.imag) > 0, np.nan, out.real)
    return np.broadcast_to(out.astype(float), (len(X),)).copy()
