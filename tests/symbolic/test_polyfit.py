"""fit_polynomial: exact coefficients, lowest degree first, None when no polynomial fits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hybrid.symbolic.regression import PolynomialFit, fit_polynomial, snap_constant, snap_constant_with_e

x, y = sympy.symbols("x y", real=True)


@pytest.fixture
def X2() -> np.ndarray:
    return np.random.default_rng(0).uniform(-3.0, 3.0, size=(60, 2))


def test_recovers_a_polynomial_with_rational_coefficients_exactly(X2):
    target = 3 * X2[:, 0] ** 2 - X2[:, 0] * X2[:, 1] / 2 + 1
    fit = fit_polynomial(X2, target, variable_names=["x", "y"])
    assert isinstance(fit, PolynomialFit)
    assert sympy.simplify(fit.expression - (3 * x**2 - x * y / 2 + 1)) == 0
    assert not fit.expression.atoms(sympy.Float)
    assert fit.degree == 2
    assert fit.n_terms == 3
    assert fit.exact
    assert fit.relative_error <= 1e-6
    assert fit.operations > 0
    np.testing.assert_allclose(fit.predict(X2), target, rtol=1e-9, atol=1e-9)


def test_recovers_pi_coefficient_exactly(X2):
    fit = fit_polynomial(X2[:, :1], math.pi * X2[:, 0] ** 2 / 4, variable_names=["x"])
    assert fit is not None
    assert sympy.simplify(fit.expression - sympy.pi * x**2 / 4) == 0
    assert fit.n_terms == 1


def test_recovers_e_coefficient_exactly(X2):
    fit = fit_polynomial(X2, math.e * X2[:, 0] * X2[:, 1] - 2 * X2[:, 1])
    x0, x1 = sympy.symbols("x0 x1", real=True)
    assert fit is not None
    assert sympy.simplify(fit.expression - (sympy.E * x0 * x1 - 2 * x1)) == 0


def test_returns_none_for_sin_at_tight_tolerance(X2):
    assert fit_polynomial(X2[:, :1], np.sin(X2[:, 0]), tolerance=1e-6) is None


def test_returns_lowest_degree_that_fits(X2):
    fit = fit_polynomial(X2, 2 * X2[:, 0] - X2[:, 1] / 3, max_degree=4)
    assert fit is not None
    assert fit.degree == 1


def test_constant_target_without_and_with_inputs():
    fit = fit_polynomial(np.zeros((10, 0)), np.full(10, 2 * math.pi))
    assert fit is not None
    assert fit.expression == 2 * sympy.pi
    assert fit.degree == 0
    assert fit.symbols == ()

    X = np.random.default_rng(1).normal(size=(10, 3))
    fit = fit_polynomial(X, np.full(10, 1.5))
    assert fit is not None
    assert fit.expression == sympy.Rational(3, 2)

    zero = fit_polynomial(X, np.zeros(10))
    assert zero is not None and zero.expression == 0 and zero.n_terms == 0


def test_symbols_are_real_and_named():
    X = np.random.default_rng(2).uniform(1, 2, size=(20, 2))
    fit = fit_polynomial(X, X[:, 0] * X[:, 1])
    assert fit is not None
    assert [s.name for s in fit.symbols] == ["x0", "x1"]
    assert all(s.is_real for s in fit.symbols)
    assert fit.expression == fit.symbols[0] * fit.symbols[1]


def test_max_terms_and_degree_limits(X2):
    target = X2[:, 0] ** 3 + X2[:, 1] ** 3 + X2[:, 0] * X2[:, 1] + 1
    assert fit_polynomial(X2, target, max_degree=2) is None
    assert fit_polynomial(X2, target, max_terms=3) is None
    fit = fit_polynomial(X2, target, max_terms=4)
    assert fit is not None and fit.n_terms == 4


def test_too_few_samples_for_the_degree_gives_none():
    # 3 samples cannot support the 6 monomials of a quadratic in 2 variables
    X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0]])
    assert fit_polynomial(X, X[:, 0] ** 2 + X[:, 1] ** 2) is None


def test_noisy_data_at_a_loose_tolerance():
    rng = np.random.default_rng(3)
    X = rng.uniform(1, 3, size=(200, 1))
    target = 5 * X[:, 0] ** 2 + rng.normal(scale=1e-4, size=200)
    fit = fit_polynomial(X, target, tolerance=1e-3)
    assert fit is not None
    assert fit.expression == 5 * fit.symbols[0] ** 2
    assert fit_polynomial(X, target, tolerance=1e-9) is None


def test_bad_inputs_raise():
    X = np.ones((5, 2))
    with pytest.raises(ValueError):
        fit_polynomial(X, np.ones(4))
    with pytest.raises(ValueError):
        fit_polynomial(X, np.ones(5), variable_names=["a"])
    with pytest.raises(ValueError):
        fit_polynomial(X, np.ones(5), max_degree=-1)
    with pytest.raises(ValueError):
        fit_polynomial(X, np.ones(5), tolerance=0.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (math.e, sympy.E),
        (3 * math.e**2 / 7, 3 * sympy.E**2 / 7),
        (math.pi / math.e, sympy.pi / sympy.E),
        (-1 / (4 * math.pi), -1 / (4 * sympy.pi)),
        (0.5, sympy.Rational(1, 2)),
        (1e6, sympy.Integer(10**6)),
    ],
)
def test_snap_constant_with_e(value, expected):
    snapped = snap_constant_with_e(value, 1e-12)
    assert snapped == expected
    assert not snapped.atoms(sympy.Float)


def test_snap_constant_with_e_picks_the_shortest_and_respects_max_bits():
    # 1e6 + 0.06 is within 1e-7 of 10**6; the closest fraction with denominator <= 64 is not
    assert snap_constant_with_e(1e6 + 0.06, 1e-7, pi_powers=(sympy.Integer(0),), e_powers=(0,)) == 10**6
    assert snap_constant_with_e(0.5, 1e-9, max_bits=1.0) is None
    assert snap_constant_with_e(0.0, 1e-3) is None
    assert snap_constant_with_e(float("nan"), 1e-3) is None
    assert snap_constant(math.e, 1e-12) is None  # snap_constant itself is unchanged: no e
