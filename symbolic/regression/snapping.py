"""Snap fitted numbers to exact ones: small rationals, and rationals times powers of pi."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy


def snap_rational(value: float, tolerance: float, max_denominator: int = 6) -> sympy.Rational | None:
    """The simplest rational within ``tolerance`` of ``value``.

    Simplest means smallest denominator, then smallest numerator. Used for exponents,
    where physics has integers and halves far more often than anything else.

    Args:
        value: the fitted number.
        tolerance: largest accepted absolute difference (> 0).
        max_denominator: denominators tried are ``1..max_denominator``.

    Returns:
        The rational, or ``None`` if none is close enough.
    """
    if not np.isfinite(value):
        return None
    for q in range(1, max_denominator + 1):
        p = round(value * q)
        if abs(value - p / q) <= tolerance:
            return sympy.Rational(p, q)
    return None


def snap_constant(
    value: float,
    relative_tolerance: float,
    max_denominator: int = 64,
    pi_powers: tuple[sympy.Rational, ...] = tuple(sympy.Rational(k, 2) for k in range(-6, 7)),
) -> sympy.Expr | None:
    """Write ``value`` as ``r * pi**k`` with a small rational ``r``, if one is close enough.

    Candidates are ranked by description length in bits (``r``'s numerator and
    denominator, plus ``|k|``, plus a surcharge for half-integer ``k``, which physics
    rarely needs) and the shortest within ``relative_tolerance`` wins, so
    ``0.0795775 -> 1/(4*pi)`` rather than a long fraction.

    Args:
        value: the fitted constant (non-zero, finite).
        relative_tolerance: largest accepted ``|candidate - value| / |value|``.
        max_denominator: largest denominator of ``r``.
        pi_powers: the powers ``k`` of pi tried (default: -3 to 3 in halves).

    Returns:
        The sympy constant, or ``None`` if no candidate is close enough.
    """
    if value == 0 or not np.isfinite(value):
        return None
    best: tuple[float, sympy.Expr] | None = None
    for k in pi_powers:
        scaled = value / float(sympy.pi**k)
        frac = Fraction(scaled).limit_denominator(max_denominator)
        if frac == 0:
            continue
        candidate = float(frac) * float(sympy.pi**k)
        if abs(candidate - value) > relative_tolerance * abs(value):
            continue
        length = _description_bits(frac, k)
        if best is None or length < best[0]:
            best = (length, sympy.Rational(frac.numerator, frac.denominator) * sympy.pi**k)
    return None if best is None else best[1]


def _description_bits(frac: Fraction, k: sympy.Rational) -> float:
    bits = np.log2(abs(frac.numerator) + 1) + np.log2(frac.denominator + 1) + float(abs(k))
    return bits + (0.0 if k.is_integer else 3.0)
