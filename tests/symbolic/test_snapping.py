"""Snapping fitted numbers to exact ones: small rationals, and r * pi**k."""

from __future__ import annotations

import math

import pytest
import sympy
from hybrid.symbolic.regression import snap_constant, snap_rational

R = sympy.Rational
PI = sympy.pi


@pytest.mark.parametrize(
    ("value", "tolerance", "expected"),
    [
        (0.5000001, 1e-6, R(1, 2)),
        (0.3333, 1e-3, R(1, 3)),
        (0.667, 1e-2, R(2, 3)),
        (1.0000001, 1e-6, R(1)),
        (-1.4999999, 1e-6, R(-3, 2)),
        (-2.0, 1e-9, R(-2)),
        (0.0, 1e-9, R(0)),
        (0.26, 0.02, R(1, 4)),
        (1.2, 1e-9, R(6, 5)),
    ],
)
def test_snap_rational_finds_the_rational(value, tolerance, expected):
    snapped = snap_rational(value, tolerance)
    assert isinstance(snapped, sympy.Rational)
    assert snapped == expected


def test_snap_rational_prefers_the_smallest_denominator_over_the_closest():
    # 2/5 is exact, but 1/3 is within tolerance and simpler
    assert snap_rational(0.4, 0.07) == R(1, 3)
    assert snap_rational(0.4, 0.05) == R(2, 5)


@pytest.mark.parametrize(
    ("value", "tolerance", "max_denominator"),
    [
        (0.123, 1e-4, 6),
        (0.4, 1e-6, 4),  # 2/5 needs denominator 5
        (math.pi, 1e-3, 6),
        (1 / 7, 1e-6, 6),
        (float("nan"), 1.0, 6),
        (float("inf"), 1.0, 6),
    ],
)
def test_snap_rational_returns_none_when_nothing_fits(value, tolerance, max_denominator):
    assert snap_rational(value, tolerance, max_denominator) is None


def test_snap_rational_max_denominator_widens_the_search():
    assert snap_rational(1 / 7, 1e-9, 6) is None
    assert snap_rational(1 / 7, 1e-9, 7) == R(1, 7)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1 / (4 * math.pi), 1 / (4 * PI)),
        (3 / (20 * math.pi), 3 / (20 * PI)),
        (2 * math.pi, 2 * PI),
        (-1 / (4 * math.pi), -1 / (4 * PI)),
        (math.pi**2 / 6, PI**2 / 6),
        (1 / (6 * math.pi), 1 / (6 * PI)),
        (math.sqrt(math.pi) / 2, sympy.sqrt(PI) / 2),
        (0.5, R(1, 2)),
        (3.0, R(3)),
        (1 / (4 * math.pi) ** 2, 1 / (16 * PI**2)),
    ],
)
def test_snap_constant_exact(value, expected):
    snapped = snap_constant(value, 1e-9)
    assert snapped is not None
    assert snapped == expected  # sympy equality: exact, no Float
    assert not snapped.atoms(sympy.Float)


def test_snap_constant_ranks_by_description_length():
    value = 1 / (4 * math.pi)
    # 5/63 is also within 1%, but 1/(4 pi) is the shorter description
    assert abs(5 / 63 - value) / value < 1e-2
    assert snap_constant(value, 1e-2) == 1 / (4 * PI)
    # slightly off 1/(4 pi), as a fit would give it
    assert snap_constant(0.0795775, 1e-5) == 1 / (4 * PI)


@pytest.mark.parametrize("value", [math.e**0.7, math.log(3), 0.123456789, math.sqrt(2 * math.pi), math.exp(1)])
def test_snap_constant_returns_none_for_transcendental_looking_numbers(value):
    assert snap_constant(value, 1e-12) is None


@pytest.mark.parametrize("value", [0.0, float("nan"), float("inf")])
def test_snap_constant_returns_none_for_zero_and_non_finite(value):
    assert snap_constant(value, 1e-3) is None


def test_snap_constant_respects_pi_powers_and_max_denominator():
    assert snap_constant(2 * math.pi, 1e-9, pi_powers=(R(0),)) is None
    assert snap_constant(1 / 100, 1e-9) is None  # denominator 100 > 64
    assert snap_constant(1 / 100, 1e-9, max_denominator=100) == R(1, 100)


@pytest.mark.parametrize("value", [1.7e308, -1.7e308, 1e307, 5e-324, -2.2e-308])
def test_snapping_values_at_the_ends_of_the_float_range_never_raises(value):
    # I.6.2b, data seed 1: a fit's constant near the float maximum made Fraction(inf) raise OverflowError
    from hybrid.symbolic.regression.bruteforce import snap_number

    result = snap_constant(value, 1e-6)
    assert result is None or abs(float(result) - value) <= 1e-6 * abs(value)
    snap_number(value, 1e-6)
