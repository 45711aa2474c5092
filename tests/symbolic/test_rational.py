"""fit_rational: exact P/Q from data, lowest degree pair first, None when no rational function fits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hybrid.symbolic.regression.rational import RationalFit, fit_rational


def _sample(n_vars: int, n: int = 200, seed: int = 0, low: float = 1.0, high: float = 5.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, size=(n, n_vars))


def _symbols(names: str) -> tuple[sympy.Symbol, ...]:
    return tuple(sympy.Symbol(name, real=True) for name in names.split())


def _assert_recovers(names: str, truth: str, X: np.ndarray, **kwargs) -> RationalFit:
    symbols = _symbols(names)
    target = sympy.sympify(truth, locals={s.name: s for s in symbols})
    y = sympy.lambdify(symbols, target, "numpy")(*X.T)
    fit = fit_rational(X, y, variable_names=names.split(), **kwargs)
    assert isinstance(fit, RationalFit), f"no fit for {truth}"
    assert sympy.simplify(fit.expression - target) == 0, f"{fit.expression} != {target}"
    assert fit.exact
    assert not fit.expression.atoms(sympy.Float)
    assert fit.relative_error <= 1e-6
    assert fit.symbols == symbols
    np.testing.assert_allclose(fit.predict(X), y, rtol=1e-9)
    return fit


def test_relativistic_velocity_addition():
    fit = _assert_recovers("u v", "(u + v) / (1 + u*v)", _sample(2))
    # The lowest pair that holds it: numerator degree 1, denominator degree 2 (u*v).
    assert (fit.numerator_degree, fit.denominator_degree) == (1, 2)
    assert set(fit.numerator_monomials) == {(1, 0), (0, 1)}
    assert set(fit.denominator_monomials) == {(0, 0), (1, 1)}


def test_centre_of_mass():
    fit = _assert_recovers("m1 m2 r1 r2", "(m1*r1 + m2*r2) / (m1 + m2)", _sample(4))
    assert (fit.numerator_degree, fit.denominator_degree) == (2, 1)


def test_squares_over_difference_of_squares():
    _assert_recovers("a b", "(1 - a)**2 / (1 - b**2)", _sample(2, seed=1))


def test_one_variable():
    fit = _assert_recovers("x", "x / (1 + x)", _sample(1, n=30))
    assert (fit.numerator_degree, fit.denominator_degree) == (1, 1)


def test_fractions_are_cleared():
    fit = _assert_recovers("x y", "3*x*y / (2 + y**2)", _sample(2, seed=2))
    x, y = fit.symbols
    assert fit.expression == 3 * x * y / (y**2 + 2)


def test_inverse_square_distance():
    fit = _assert_recovers("x y z", "1 / (x**2 + y**2 + z**2)", _sample(3, seed=3))
    assert fit.numerator_monomials == ((0, 0, 0),)
    assert (fit.numerator_degree, fit.denominator_degree) == (0, 2)


def test_pi_and_e_coefficients():
    fit = _assert_recovers("x y", "pi*x / (E + y)", _sample(2, seed=4))
    assert fit.expression.has(sympy.pi) and fit.expression.has(sympy.E)


def test_returns_none_for_exp_within_low_degrees():
    X = _sample(1, n=1000)
    assert fit_rational(X, np.exp(X[:, 0])) is None
    X3 = _sample(3, n=1000, seed=5)
    assert fit_rational(X3, np.exp(X3[:, 0]) * X3[:, 1] + X3[:, 2]) is None


def test_returns_none_when_the_denominator_has_a_pole_in_the_data():
    X = _sample(2, seed=6)
    assert fit_rational(X, X[:, 0] / (X[:, 1] - 3.0)) is None


def test_noisy_velocity_addition_keeps_the_structure():
    rng = np.random.default_rng(7)
    X = rng.uniform(1.0, 5.0, size=(1000, 2))
    truth = (X[:, 0] + X[:, 1]) / (1 + X[:, 0] * X[:, 1])
    y = truth * (1 + 1e-2 * rng.normal(size=len(truth)))
    fit = fit_rational(X, y, variable_names=["u", "v"], tolerance=1.5e-2)
    assert fit is not None
    assert fit.relative_error <= 0.02
    assert set(fit.numerator_monomials) == {(1, 0), (0, 1)}
    assert set(fit.denominator_monomials) == {(0, 0), (1, 1)}
    fresh = rng.uniform(1.0, 5.0, size=(2000, 2))
    expected = (fresh[:, 0] + fresh[:, 1]) / (1 + fresh[:, 0] * fresh[:, 1])
    error = np.sqrt(np.mean((fit.predict(fresh) - expected) ** 2)) / np.sqrt(np.mean(expected**2))
    assert error < 0.02


def test_large_data_is_subsampled_but_judged_on_all_of_it():
    rng = np.random.default_rng(8)
    X = rng.uniform(1.0, 5.0, size=(5000, 2))
    y = X[:, 0] / (1 + X[:, 1]) * (1 + 1e-3 * rng.normal(size=5000))
    fit = fit_rational(X, y, tolerance=1e-2)
    assert fit is not None
    x0, x1 = fit.symbols
    assert sympy.simplify(fit.expression - x0 / (1 + x1)) == 0
    all_data = math.sqrt(np.mean((fit.predict(X) - y) ** 2)) / math.sqrt(np.mean(y**2))
    assert fit.relative_error == pytest.approx(all_data, rel=1e-9)


def test_max_columns_limits_the_pairs_tried():
    X = _sample(2)
    y = (X[:, 0] + X[:, 1]) / (1 + X[:, 0] * X[:, 1])
    assert fit_rational(X, y, max_columns=8) is None  # (1, 2) needs 3 + 6 = 9 coefficients
    assert fit_rational(X, y, max_denominator_degree=1) is None


def test_zero_and_constant_targets():
    X = _sample(2, n=20)
    zero = fit_rational(X, np.zeros(20))
    assert zero is not None and zero.expression == 0 and zero.exact
    np.testing.assert_array_equal(zero.predict(X), np.zeros(20))
    constant = fit_rational(X, np.full(20, 2 * math.pi))
    assert constant is not None and constant.expression == 2 * sympy.pi


def test_symbols_are_real_and_default_named():
    X = _sample(2, n=40)
    fit = fit_rational(X, X[:, 0] / X[:, 1])
    assert fit is not None
    assert [s.name for s in fit.symbols] == ["x0", "x1"]
    assert all(s.is_real for s in fit.symbols)


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "message"),
    [
        (np.ones((10, 2)), np.ones(9), {}, "y must be 1-D"),
        (np.ones(10), np.ones(10), {}, "X must be 2-D"),
        (np.array([[1.0], [np.nan]]), np.ones(2), {}, "NaN"),
        (np.ones((2, 1)), np.array([1.0, np.inf]), {}, "NaN"),
        (np.ones((10, 1)), np.ones(10), {"max_degree": -1}, "max_degree"),
        (np.ones((10, 1)), np.ones(10), {"max_denominator_degree": 0}, "max_denominator_degree"),
        (np.ones((10, 1)), np.ones(10), {"max_degree": 1.5}, "max_degree"),
        (np.ones((10, 1)), np.ones(10), {"max_columns": 1}, "max_columns"),
        (np.ones((10, 1)), np.ones(10), {"tolerance": 0.0}, "tolerance"),
        (np.ones((10, 1)), np.ones(10), {"tolerance": -1e-3}, "tolerance"),
        (np.ones((10, 1)), np.ones(10), {"tolerance": float("nan")}, "tolerance"),
        (np.ones((10, 2)), np.ones(10), {"variable_names": ["x"]}, "variable_names"),
    ],
)
def test_bad_input_raises(X, y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_rational(X, y, **kwargs)


def test_predict_checks_the_width():
    X = _sample(1, n=30)
    fit = fit_rational(X, X[:, 0] / (1 + X[:, 0]))
    assert fit is not None
    with pytest.raises(ValueError, match="columns"):
        fit.predict(np.ones((3, 2)))
