"""fit_power_law: exact recovery of every FSReD power law, a property test, noise, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hybrid.symbolic.regression import PowerLawFit, fit_power_law, is_exact_recovery
from hybrid.tasks.feynman import get_equation, power_law_equations, sample_equation
from hypothesis import given, settings
from hypothesis import strategies as st

POWER_LAWS = power_law_equations()


def _samples(eq, n=16, seed=0, noise=0.0):
    return sample_equation(eq, n, np.random.default_rng(seed), noise=noise)


def _rename(expr: sympy.Expr, like: sympy.Expr) -> sympy.Expr:
    """``expr`` over the symbols of ``like`` (matched by name)."""
    by_name = {s.name: s for s in like.free_symbols}
    return expr.xreplace({s: by_name[s.name] for s in expr.free_symbols})


def test_there_are_38_power_laws():
    assert len(POWER_LAWS) == 38


@pytest.mark.parametrize("eq", POWER_LAWS, ids=lambda eq: eq.id)
def test_every_power_law_is_recovered_exactly_from_16_clean_samples(eq):
    s = _samples(eq)
    fit = fit_power_law(s.X, s.y, eq.variables)
    assert isinstance(fit, PowerLawFit)
    assert is_exact_recovery(fit.expression, eq.expression)
    assert all(isinstance(a, sympy.Rational) for a in fit.exponents)
    assert not fit.expression.atoms(sympy.Float)  # exact: no 0.25/pi for 1/(4 pi)
    assert not fit.constant.atoms(sympy.Float)
    assert [s_.name for s_ in fit.symbols] == list(eq.variables)
    assert fit.rmse_log < 1e-9
    np.testing.assert_allclose(fit.predict(s.X), s.y, rtol=1e-9)


@pytest.mark.parametrize("eq_id", ["I.12.2", "I.32.5", "I.47.23", "III.15.14", "III.19.51"])
def test_recovered_formula_divided_by_truth_simplifies_to_one(eq_id):
    eq = get_equation(eq_id)
    s = _samples(eq, seed=1)
    fit = fit_power_law(s.X, s.y, eq.variables)
    ratio = sympy.simplify(_rename(fit.expression, eq.expression) / eq.expression)
    assert ratio == 1


def test_coulomb_exponents_and_constant_are_exact():
    eq = get_equation("I.12.2")  # q1 q2 / (4 pi epsilon r^2)
    s = _samples(eq, seed=2)
    fit = fit_power_law(s.X, s.y, eq.variables)
    assert fit.exponents == (1, 1, -1, -2)
    assert all(a.is_Integer for a in fit.exponents)
    assert fit.constant == 1 / (4 * sympy.pi)
    np.testing.assert_allclose(fit.raw_exponents, [1, 1, -1, -2], atol=1e-9)
    assert fit.operations["snap_candidates"] > 0
    assert fit.flops > 0


def test_negative_power_law_keeps_its_sign():
    eq = get_equation("III.21.20")  # -rho_c_0 q A_vec / m
    s = _samples(eq)
    assert np.all(s.y < 0)
    fit = fit_power_law(s.X, s.y, eq.variables)
    assert fit.constant == -1
    assert fit.exponents == (1, 1, 1, -1)
    assert is_exact_recovery(fit.expression, eq.expression)


def test_default_variable_names():
    X = np.random.default_rng(0).uniform(1, 3, (12, 2))
    fit = fit_power_law(X, 3 * X[:, 0] ** 2 / X[:, 1])
    x0, x1 = sympy.symbols("x0 x1", positive=True)
    assert [s.name for s in fit.symbols] == ["x0", "x1"]
    assert fit.expression == 3 * x0**2 / x1


# exponents of physics: halves and thirds in [-3, 3]
EXPONENTS = sorted({sympy.Rational(k, 2) for k in range(-6, 7)} | {sympy.Rational(k, 3) for k in range(-9, 10)})


@st.composite
def power_laws(draw):
    d = draw(st.integers(1, 4))
    exps = [draw(st.sampled_from(EXPONENTS)) for _ in range(d)]
    r = sympy.Rational(draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    k = draw(st.sampled_from([sympy.Rational(j, 2) for j in range(-4, 5)]))
    sign = draw(st.sampled_from([1, -1]))
    lows = [draw(st.floats(0.1, 10.0)) for _ in range(d)]
    spans = [draw(st.floats(1.5, 10.0)) for _ in range(d)]
    seed = draw(st.integers(0, 2**16))
    return exps, sign * r * sympy.pi**k, [(lo, lo * f) for lo, f in zip(lows, spans, strict=True)], seed


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(power_laws())
def test_random_power_laws_are_recovered_exactly(law):
    exps, constant, ranges, seed = law
    d = len(exps)
    syms = sympy.symbols(f"v0:{d}", positive=True)
    truth = constant * sympy.Mul(*(s**a for s, a in zip(syms, exps, strict=True)))
    rng = np.random.default_rng(seed)
    low, high = np.array(ranges).T
    X = low + (high - low) * rng.random((16, d))
    y = float(constant) * np.prod(X ** np.array([float(a) for a in exps]), axis=1)
    fit = fit_power_law(X, y, [s.name for s in syms])
    assert fit.exponents == tuple(exps)
    assert fit.constant == constant
    assert is_exact_recovery(fit.expression, truth)


def test_noisy_coulomb_is_recovered_exactly():
    eq = get_equation("I.12.2")
    s = _samples(eq, n=128, seed=0, noise=1e-3)
    truth = sample_equation(eq, 128, np.random.default_rng(0)).y
    assert not np.array_equal(s.y, truth)  # the noise is really there
    fit = fit_power_law(s.X, s.y, eq.variables)
    assert is_exact_recovery(fit.expression, eq.expression)


def test_heavy_noise_leaves_unsnapped_floats():
    # with 30% noise on 10 points the exponents cannot be pinned to 1e-6; the fit must
    # say so (a Float), not invent an exact rational
    X = np.random.default_rng(0).uniform(1, 5, (10, 1))
    y = 0.7345 * X[:, 0] ** 1.37 * (1 + 0.3 * np.random.default_rng(1).standard_normal(10))
    fit = fit_power_law(X, np.abs(y), ["x"], significance=0.01)
    assert fit.exponents[0].is_Float


def test_a_few_wrong_sign_points_are_dropped():
    X = np.random.default_rng(0).uniform(1, 4, (32, 2))
    y = 2 * X[:, 0] * X[:, 1] ** 3
    y[[3, 10, 20]] *= -1  # 3 of 32 < a quarter
    fit = fit_power_law(X, y, ["a", "b"])
    a, b = sympy.symbols("a b", positive=True)
    assert fit.expression == 2 * a * b**3


def _xy():
    X = np.random.default_rng(0).uniform(1, 4, (20, 2))
    return X, X[:, 0] ** 2 / X[:, 1]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_y_raises(bad):
    X, y = _xy()
    y[4] = bad
    with pytest.raises(ValueError, match="y contains NaN or inf"):
        fit_power_law(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_x_raises(bad):
    X, y = _xy()
    X[2, 1] = bad
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        fit_power_law(X, y)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_non_positive_x_raises(bad):
    X, y = _xy()
    X[5, 0] = bad
    with pytest.raises(ValueError, match="> 0"):
        fit_power_law(X, y)


@pytest.mark.parametrize(
    ("X", "y"),
    [
        (np.ones((5, 2)), np.ones(4)),  # mismatched
        (np.ones(5), np.ones(5)),  # 1-D X
        (np.ones((5, 2)), np.ones((5, 1))),  # 2-D y
        (np.ones((0, 2)), np.ones(0)),  # empty
    ],
)
def test_bad_shapes_raise(X, y):
    with pytest.raises(ValueError):
        fit_power_law(X, y)


def test_mixed_sign_y_raises():
    X, y = _xy()
    y[::2] *= -1  # half the samples flipped
    with pytest.raises(ValueError, match="sign"):
        fit_power_law(X, y)


def test_all_zero_y_raises():
    X, _ = _xy()
    with pytest.raises(ValueError, match="sign"):
        fit_power_law(X, np.zeros(len(X)))


@pytest.mark.parametrize("names", [["a"], ["a", "b", "c"], ["a", "a"]])
def test_bad_variable_names_raise(names):
    X, y = _xy()
    with pytest.raises(ValueError, match="variable_names"):
        fit_power_law(X, y, names)
