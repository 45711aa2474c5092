"""Snap fitted numbers to exact ones: small rationals, and rationals times powers of pi (and of e)."""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

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
        if not math.isfinite(scaled):  # |value| near the float range's ends: this power overflows
            continue
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


def snap_constant_with_e(
    value: float,
    relative_tolerance: float,
    max_denominator: int = 64,
    pi_powers: tuple[sympy.Rational, ...] = tuple(sympy.Rational(k, 2) for k in range(-6, 7)),
    e_powers: tuple[int, ...] = (-2, -1, 0, 1, 2),
    max_bits: float | None = None,
) -> sympy.Expr | None:
    """Write ``value`` as ``r * pi**k * e**j`` with a small rational ``r``, choosing the shortest.

    Like :func:`snap_constant`, with powers of e as well, and a full search: for every
    ``pi**k * e**j`` and every denominator ``q <= max_denominator`` the nearest ``p/q`` is
    tried (``snap_constant`` tries only the closest fraction per power, which for a large
    or noisy value may be a long one when a short one is also within tolerance). Of the
    candidates within ``relative_tolerance`` the one with the fewest description bits wins
    (``snap_constant``'s bits, plus ``|j| + 1`` for a power of e), ties going to the closer.

    Args:
        value: the fitted constant (non-zero, finite).
        relative_tolerance: largest accepted ``|candidate - value| / |value|``.
        max_denominator: largest denominator of ``r``.
        pi_powers: the powers ``k`` of pi tried (default: -3 to 3 in halves).
        e_powers: the integer powers ``j`` of e tried (default: -2 to 2).
        max_bits: if given, a candidate longer than this many bits is not accepted (a
            long constant that matches a loose tolerance is more likely chance than law).

    Returns:
        The exact sympy constant (e.g. ``3*E/2``, ``pi/E``), or ``None`` if no candidate is
        close (and short) enough.
    """
    if value == 0 or not np.isfinite(value):
        return None
    q = np.arange(1, max_denominator + 1, dtype=float)
    best: tuple[float, float, sympy.Expr] | None = None
    for j in e_powers:
        for k in pi_powers:
            factor, factor_value = _factor(sympy.Rational(k), int(j))
            p = np.round(value / factor_value * q)
            with np.errstate(over="ignore", invalid="ignore"):
                err = np.abs(p / q * factor_value - value) / abs(value)
            exact = np.abs(p) < 2.0**53  # also False for inf and NaN, which have no integer to cast to
            whole = np.where(exact, np.abs(p), 0).astype(np.int64)
            ok = (p != 0) & exact & (err <= relative_tolerance) & (np.gcd(whole, q.astype(np.int64)) == 1)
            if not ok.any():
                continue
            bits = np.log2(np.abs(p) + 1) + np.log2(q + 1) + float(abs(sympy.Rational(k)))
            bits += 0.0 if sympy.Rational(k).is_integer else 3.0
            bits += 0.0 if j == 0 else abs(int(j)) + 1.0
            idx = np.flatnonzero(ok)
            i = idx[np.lexsort((err[idx], bits[idx]))[0]]
            if max_bits is not None and bits[i] > max_bits:
                continue
            if best is None or (bits[i], err[i]) < (best[0], best[1]):
                best = (float(bits[i]), float(err[i]), sympy.Rational(int(p[i]), int(q[i])) * factor)
    return None if best is None else best[2]


def constant_bits(expr: sympy.Expr) -> float:
    """Description bits of an exact constant ``r * pi**k * e**j`` (``r`` rational).

    The convention of :func:`snap_constant` and :func:`snap_constant_with_e`:
    ``log2(|p| + 1) + log2(q + 1)`` for ``r = p/q``, plus ``|k|`` (and 3 more for a
    half-integer ``k``), plus ``|j| + 1`` for a power of e. Any other factor (a square
    root of a rational, say) costs 8 bits.

    Args:
        expr: a sympy number.

    Returns:
        The bits (> 0).
    """
    r, rest = expr.as_coeff_Mul()
    if not r.is_Rational:  # a float coefficient: charge it as an unknown factor
        r, rest = sympy.Integer(1), expr
    powers = dict(rest.as_powers_dict()) if rest != 1 else {}
    k = sympy.Rational(powers.pop(sympy.pi, 0))
    j = powers.pop(sympy.E, 0)
    bits = _description_bits(Fraction(int(r.p), int(r.q)), k)
    bits += 0.0 if j == 0 else abs(float(j)) + 1.0
    return bits + 8.0 * len(powers)


@lru_cache(maxsize=1024)
def _factor(k: sympy.Rational, j: int) -> tuple[sympy.Expr, float]:
    """``pi**k * e**j`` exactly and as a float (cached: sympy evaluation is slow)."""
    factor = sympy.pi**k * sympy.E**j
    return factor, float(factor)


def _description_bits(frac: Fraction, k: sympy.Rational) -> float:
    bits = math.log2(abs(frac.numerator) + 1) + math.log2(frac.denominator + 1) + float(abs(k))
    return bits + (0.0 if k.is_integer else 3.0)
