"""Which FSReD equations are power laws: a constant times a product of powers."""

from __future__ import annotations

import sympy
from hybrid.tasks.feynman.table import FeynmanEquation, feynman_equations


def power_law_exponents(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> dict | None:
    """Split ``expr`` as ``c * prod(x_i ** a_i)`` with numeric ``c`` and rational ``a_i``.

    Returns:
        ``{"constant": c, "exponents": {symbol: a_i}}``, or ``None`` when ``expr`` is
        not such a product (a sum, a transcendental function of a variable, ...).
    """
    expr = sympy.powsimp(sympy.expand_power_base(expr, force=True), force=True)
    coeff, factors = expr.as_coeff_mul()
    constant = sympy.Integer(1) * coeff
    exponents: dict[sympy.Symbol, sympy.Rational] = {}
    for factor in factors:
        base, exp = factor.as_base_exp()
        if not factor.free_symbols:
            constant *= factor
        elif base in symbols and exp.is_Rational:
            exponents[base] = exponents.get(base, 0) + exp
        else:
            return None
    return {"constant": constant, "exponents": exponents}


def is_power_law(eq: FeynmanEquation) -> bool:
    """True if every variable enters ``eq`` as a power and the ranges are positive."""
    positive = all(low > 0 for low, _ in eq.ranges)
    return positive and power_law_exponents(eq.expression, eq.symbols) is not None


def power_law_equations() -> list[FeynmanEquation]:
    """The shipped FSReD equations that are power laws, in table order."""
    return [eq for eq in feynman_equations().values() if is_power_law(eq)]
