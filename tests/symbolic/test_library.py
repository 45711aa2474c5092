"""fit_library: sparse sums of products of unary functions, with exact coefficients."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hybrid.symbolic.regression.library import DEFAULT_UNARY, UNARY, LibraryFit, fit_library
from hybrid.symbolic.regression.polyfit import fit_linear_combination

a, b, d, s, t, u, x, y, z = sympy.symbols("a b d s t u x y z", real=True)
PI = sympy.pi


def _data(truth: sympy.Expr, names: list[str], n: int = 1000, seed: int = 0, low: float = 1.0, high: float = 5.0):
    """Inputs uniform in [low, high] (like the Feynman data set) and the noise-free target."""
    X = np.random.default_rng(seed).uniform(low, high, (n, len(names)))
    fn = sympy.lambdify([sympy.Symbol(v, real=True) for v in names], truth, "numpy")
    return X, np.broadcast_to(fn(*X.T), (n,)).astype(float)


@pytest.mark.parametrize(
    ("truth", "names"),
    [
        (1 + a + 2 * sympy.sqrt(a) * sympy.cos(d), ["a", "d", "z"]),
        (sympy.cos(b) + a * sympy.cos(b) ** 2, ["a", "b", "z"]),
        (-(t**2) / (2 * s**2) - sympy.log(s) - sympy.log(2 * PI) / 2, ["s", "t", "z"]),  # log of a Gaussian
        (1 + a**2 - 2 * a * sympy.cos(u), ["a", "u", "z"]),
        (3 * x * sympy.sin(y), ["x", "y", "z"]),
        (x**2 + 3 * y, ["x", "y", "z"]),
    ],
)
def test_recovers_the_expression_exactly(truth, names):
    X, target = _data(truth, names)  # z is a distractor: the truth does not use it
    fit = fit_library(X, target, variable_names=names)
    assert isinstance(fit, LibraryFit)
    assert sympy.simplify(fit.expression - truth) == 0
    assert fit.exact
    assert not fit.expression.atoms(sympy.Float)
    assert fit.relative_error <= 1e-6
    assert fit.symbols == tuple(sympy.Symbol(v, real=True) for v in names)
    recombined = sympy.Add(*(c * m for c, m in zip(fit.coefficients, fit.terms, strict=True)))
    assert sympy.simplify(recombined - fit.expression) == 0
    X_new, expected = _data(truth, names, n=200, seed=1)
    np.testing.assert_allclose(fit.predict(X_new), expected, rtol=1e-9, atol=1e-9)


def test_returns_none_outside_the_library():
    X, target = _data(sympy.exp(x * y) / (1 + x), ["x", "y"])
    assert fit_library(X, target, variable_names=["x", "y"], max_factors=2) is None


def test_finds_the_structure_under_noise():
    truth = sympy.cos(b) + a * sympy.cos(b) ** 2
    X, clean = _data(truth, ["a", "b"])
    noisy = clean + 1e-2 * np.sqrt(np.mean(clean**2)) * np.random.default_rng(5).standard_normal(clean.shape)
    fit = fit_library(X, noisy, variable_names=["a", "b"], tolerance=0.015)
    assert fit is not None
    assert set(fit.terms) - {sympy.Integer(1)} == {sympy.cos(b), a * sympy.cos(b) ** 2}
    X_new, expected = _data(truth, ["a", "b"], n=500, seed=2)
    rel = np.sqrt(np.mean((fit.predict(X_new) - expected) ** 2) / np.mean(expected**2))
    assert rel < 0.02


def test_an_unsnappable_coefficient_stays_a_float():
    X = np.random.default_rng(0).uniform(1.0, 5.0, (500, 2))
    fit = fit_library(X, 1.2345678 * X[:, 0] + X[:, 1] ** 2)
    assert fit is not None and not fit.exact
    assert fit.expression.atoms(sympy.Float)
    x0, x1 = sympy.symbols("x0 x1", real=True)
    assert set(fit.terms) == {x0, x1**2}
    assert fit.relative_error <= 1e-6


def test_unary_functions_only_where_defined_on_the_data():
    # Negative inputs: no sqrt or log of x may enter; the fit still finds x**2*sin(y) + 1/pi.
    truth = x**2 * sympy.sin(y) + 1 / PI
    X, target = _data(truth, ["x", "y"], low=-3.0, high=3.0)
    fit = fit_library(X, target, variable_names=["x", "y"])
    assert fit is not None and fit.exact
    assert sympy.simplify(fit.expression - truth) == 0
    X_pos, inverse = _data(2 / x, ["x", "y"], n=300)
    fit = fit_library(X_pos, inverse, variable_names=["x", "y"])
    assert fit is not None and fit.expression == 2 / x
    X_pos[0, 0] = 0.0  # 1/x is not finite there: no inverse of x enters the library
    inverse[0] = 1.0
    assert fit_library(X_pos, inverse, variable_names=["x", "y"]) is None


def test_constant_and_zero_targets():
    X = np.random.default_rng(0).uniform(1.0, 5.0, (50, 2))
    fit = fit_library(X, np.full(50, 2.5))
    assert fit is not None and fit.expression == sympy.Rational(5, 2) and fit.exact
    zero = fit_library(X, np.zeros(50))
    assert zero is not None and zero.expression == 0 and zero.terms == ()
    np.testing.assert_array_equal(zero.predict(X), np.zeros(50))


def test_many_samples_are_subsampled_for_selection_and_checked_on_all():
    truth = sympy.cos(b) + a * sympy.cos(b) ** 2
    X, target = _data(truth, ["a", "b"], n=4000)
    first = fit_library(X, target, variable_names=["a", "b"], rng=3)
    again = fit_library(X, target, variable_names=["a", "b"], rng=np.random.default_rng(3))
    assert first is not None and again is not None
    assert sympy.simplify(first.expression - truth) == 0
    assert first.expression == again.expression


def test_repeated_and_constant_inputs_do_not_confuse_the_search():
    X = np.random.default_rng(0).uniform(1.0, 5.0, (400, 4))
    X[:, 1] = X[:, 0]  # two identical inputs: their columns are duplicates
    X[:, 3] = 2.0  # a constant input: its columns are constant or rescaled copies
    x0, x1, x2 = sympy.symbols("x0 x1 x2", real=True)
    fit = fit_library(X, X[:, 0] ** 2 + 3 * X[:, 2])
    assert fit is not None and fit.exact
    assert sympy.simplify(fit.expression.subs(x1, x0) - (x0**2 + 3 * x2)) == 0


def test_library_is_cut_to_max_columns():
    truth = a * b * sympy.cos(u)
    X, target = _data(truth, ["a", "b", "u"], n=600)
    fit = fit_library(X, target, variable_names=["a", "b", "u"], max_factors=3)
    assert fit is not None and sympy.simplify(fit.expression - truth) == 0
    # 3 * 12 + 3 * 144 = 468 columns with two factors, 2196 with three: 500 forces two.
    assert fit_library(X, target, variable_names=["a", "b", "u"], max_factors=3, max_columns=500) is None


def test_max_terms_limits_the_fit():
    truth = 1 + a**2 - 2 * a * sympy.cos(u)
    X, target = _data(truth, ["a", "u"], n=500)
    assert fit_library(X, target, variable_names=["a", "u"], max_terms=1) is None
    assert fit_library(X, target, variable_names=["a", "u"], max_terms=2) is not None


def test_unary_registry():
    assert set(DEFAULT_UNARY) == set(UNARY)
    assert {"id", "square", "cube", "sqrt", "inv", "inv_square", "log", "exp", "sin", "cos"} <= set(UNARY)
    assert {"sin_square", "cos_square"} <= set(UNARY)
    values = np.array([0.5, 1.0, 2.0])
    for name, fn in UNARY.items():
        assert fn.domain(values), name
        expr = fn.sympy(x)
        numeric = sympy.lambdify(x, expr, "numpy")(values)
        np.testing.assert_allclose(np.broadcast_to(numeric, values.shape), fn.numpy(values), rtol=1e-12)
    assert not UNARY["sqrt"].domain(np.array([1.0, -1.0]))
    assert not UNARY["log"].domain(np.array([0.0, 1.0]))
    assert not UNARY["inv"].domain(np.array([0.0, 1.0]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unary": ("id", "tanh")}, "unknown unary"),
        ({"unary": ()}, "at least one"),
        ({"max_terms": 0}, "max_terms"),
        ({"max_terms": 1.5}, "max_terms"),
        ({"max_factors": 0}, "max_factors"),
        ({"max_columns": 0}, "max_columns"),
        ({"tolerance": 0.0}, "tolerance"),
        ({"tolerance": float("nan")}, "tolerance"),
        ({"variable_names": ["x"]}, "variable_names"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    X = np.random.default_rng(0).uniform(1.0, 5.0, (20, 2))
    with pytest.raises(ValueError, match=message):
        fit_library(X, X[:, 0], **kwargs)


def test_unknown_unary_error_lists_the_valid_names():
    X = np.ones((5, 1)) + np.arange(5)[:, None]
    with pytest.raises(ValueError) as info:
        fit_library(X, X[:, 0], unary=["tanh"])
    for name in UNARY:
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("X", "target", "message"),
    [
        (np.array([[1.0, np.nan], [2.0, 3.0], [3.0, 1.0]]), np.ones(3), "NaN"),
        (np.ones((3, 2)), np.array([1.0, np.inf, 2.0]), "NaN"),
        (np.ones((3, 2)), np.ones(4), "y must be 1-D"),
        (np.ones(3), np.ones(3), "2-D"),
        (np.ones((1, 2)), np.ones(1), "at least 2 samples"),
    ],
)
def test_bad_data_raise(X, target, message):
    with pytest.raises(ValueError, match=message):
        fit_library(X, target)


def test_predict_checks_its_input():
    X, target = _data(3 * x * sympy.sin(y), ["x", "y"], n=200)
    fit = fit_library(X, target, variable_names=["x", "y"])
    assert fit is not None
    with pytest.raises(ValueError, match="columns"):
        fit.predict(np.ones((4, 3)))


def test_fit_linear_combination_snaps_and_sparsifies():
    rng = np.random.default_rng(0)
    v = rng.uniform(1.0, 5.0, 200)
    design = np.column_stack([np.ones(200), v, v**2, np.sin(v)])
    kept, coefficients, rmse = fit_linear_combination(design, 2 + v**2 / 3, 1e-6)
    assert kept == (0, 2)
    assert coefficients == (sympy.Integer(2), sympy.Rational(1, 3))
    assert rmse < 1e-9
    assert fit_linear_combination(design, np.exp(v), 1e-6) is None
    assert fit_linear_combination(design, np.zeros(200), 1e-6) == ((), (), 0.0)
    assert fit_linear_combination(design, 2 + v**2 / 3, 1e-6, max_terms=1) is None
    with pytest.raises(ValueError, match="2-D"):
        fit_linear_combination(v, v, 1e-6)
    with pytest.raises(ValueError, match="tolerance"):
        fit_linear_combination(design, v, 0.0)
    with pytest.raises(ValueError, match="max_terms"):
        fit_linear_combination(design, v, 1e-6, max_terms=0)
