"""Constants refitted on noisy data and snapped within their error bars."""

import numpy as np
import pytest
import sympy
from hybrid.symbolic.regression.bruteforce import snap_number
from hybrid.symbolic.regression.constants import free_coefficients, snap_within_uncertainty
from hybrid.symbolic.regression.snapping import constant_bits

m, v, c = sympy.symbols("m v c", real=True)


def _relativistic(noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.uniform([1, 1, 3], [5, 2, 10], size=(1000, 3))
    y = X[:, 0] * X[:, 1] / np.sqrt(1 - X[:, 1] ** 2 / X[:, 2] ** 2)
    return X, y + noise * np.sqrt(np.mean(y**2)) * rng.standard_normal(y.size)


def test_free_coefficients_frees_each_coefficient_and_term_once():
    expr = m * v / sympy.sqrt(1 - 8 * sympy.pi * v**2 / (25 * c**2))
    freed = free_coefficients(expr)
    floats = freed.atoms(sympy.Float)
    assert len(floats) == 1  # 8*pi/25 is one constant; the 1, the signs and the exponents stay
    assert abs(float(next(iter(floats)))) == pytest.approx(8 * np.pi / 25)
    assert free_coefficients(sympy.Rational(3, 7)) == pytest.approx(3 / 7)
    assert free_coefficients(m * v) == m * v
    gauss = free_coefficients(sympy.exp(-(v**2) / 2) / sympy.sqrt(2 * sympy.pi))
    assert len(gauss.atoms(sympy.Float)) == 2  # the prefactor and the -1/2 in the exponent


def test_a_nearby_long_constant_snaps_back_to_the_law_on_noisy_data():
    X, y = _relativistic(1e-2)
    wrong = m * v / sympy.sqrt(1 - 8 * sympy.pi * v**2 / (25 * c**2))  # 8*pi/25 = 1.005
    expr, err, exact = snap_within_uncertainty(free_coefficients(wrong), (m, v, c), X, y)
    assert exact
    assert sympy.simplify(expr - m * v / sympy.sqrt(1 - v**2 / c**2)) == 0
    assert 0.008 < err < 0.012


def test_a_constant_outside_every_simple_number_s_error_bar_stays_a_float():
    # At 1e-6 noise the float 1.0137 takes ~20 bits to say; no exact number near it is
    # shorter once its distance in standard errors is paid for.
    X, y = _relativistic(1e-6)
    y = y * 1.0137
    expr, err, exact = snap_within_uncertainty(sympy.Float(1.0) * m * v / sympy.sqrt(1 - v**2 / c**2),
                                               (m, v, c), X, y)
    assert not exact
    assert float(next(iter(expr.atoms(sympy.Float)))) == pytest.approx(1.0137, rel=1e-3)


def test_precisely_measured_non_simple_constants_stay_floats():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 2000)
    y = 1.003 * x + 0.9971 + 1e-6 * rng.standard_normal(x.size)
    X = x[:, None]
    t = sympy.Symbol("x", real=True)
    expr, err, exact = snap_within_uncertainty(free_coefficients(1.5 * t + 1.5), (t,), X, y)
    assert not exact
    assert err < 2e-6
    assert sorted(float(f) for f in expr.atoms(sympy.Float)) == pytest.approx([0.9971, 1.003], rel=1e-6)


def test_bad_confidence_is_rejected():
    X, y = _relativistic(0.0)
    with pytest.raises(ValueError, match="confidence"):
        snap_within_uncertainty(sympy.Float(1.0) * m, (m, v, c), X, y, confidence=1.0)


def test_snap_number_returns_the_shortest_form():
    assert snap_number(0.3991, 1e-3) == 1 / sympy.sqrt(2 * sympy.pi)  # not 20/(9*pi**(3/2))
    assert snap_number(3 / (20 * np.pi), 1e-6) == 3 / (20 * sympy.pi)
    assert snap_number(1.5 * np.e, 1e-9) == 3 * sympy.E / 2
    assert constant_bits(sympy.Integer(1)) < constant_bits(3 / (20 * sympy.pi)) < constant_bits(
        sympy.Rational(20, 9) * sympy.pi ** sympy.Rational(-3, 2))


def test_equal_coefficients_are_freed_as_separate_constants():
    t = sympy.Symbol("x", real=True)
    assert len(free_coefficients(3 * t + 3).atoms(sympy.Float)) == 2
