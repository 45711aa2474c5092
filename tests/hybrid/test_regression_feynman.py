"""The AI-Feynman solver end to end: exact formulas, each step on its own, bad input."""

import numpy as np
import pytest
import sympy
from hybrid.symbolic.regression import is_exact_recovery
from hybrid.tasks.feynman import get_equation, sample_equation, units_for

from hybrid.regression.feynman import FeynmanRegressor

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _fit(eq_id, budget=30.0, n=500, units=True, **kwargs):
    eq = get_equation(eq_id)
    s = sample_equation(eq, n, np.random.default_rng(0))
    model = FeynmanRegressor(time_budget_s=budget, **kwargs).fit(
        s.X, s.y, variable_names=eq.variables, units=units_for(eq) if units else None
    )
    ok = is_exact_recovery(model.sympy(), eq.expression, check_points=s.X[:20], variables=eq.variables)
    return model, ok


@pytest.mark.parametrize(
    "eq_id",
    # each is solved by polyfit or a brute force of a few tokens, so a slow machine does not change the result
    ["I.12.1", "I.6.2a", "I.10.7", "I.12.11", "I.26.2", "I.14.4", "I.34.8", "II.27.16", "I.12.4", "III.12.43",
     "I.39.11", "I.12.2"],
)
def test_easy_equations_are_recovered_exactly(eq_id):
    model, ok = _fit(eq_id, use_oracle=False)
    assert ok, f"{eq_id}: got {model.sympy()} via {model.steps_}"
    assert model.solved_
    assert model.steps_[0] == "dimensional"
    np.testing.assert_allclose(model.predict(np.ones((2, len(model.symbols_))) * 1.5), model.predict(
        np.ones((2, len(model.symbols_))) * 1.5))


def test_works_without_units():
    model, ok = _fit("I.26.2", units=False, use_oracle=False)
    assert ok and "dimensional" not in model.steps_


def test_pareto_front_is_returned():
    model, _ = _fit("I.29.4", use_oracle=False)
    points = model.pareto_front_.points
    assert len(points) >= 1
    complexities = [p.complexity for p in points]
    assert complexities == sorted(complexities)
    errors = [p.error for p in points]
    assert all(a >= b for a, b in zip(errors, errors[1:], strict=False))


def test_distance_between_points_is_recovered():
    # d = sqrt((x2-x1)^2 + (y2-y1)^2), 4 variables, no units: polyfit of d**2 or the oracle's symmetries
    X = np.random.default_rng(0).uniform(1, 5, (800, 4))
    y = np.sqrt((X[:, 1] - X[:, 0]) ** 2 + (X[:, 3] - X[:, 2]) ** 2)
    model = FeynmanRegressor(time_budget_s=120, operators=("+", "-", "*", "/", "sqrt", "square")).fit(
        X, y, variable_names=["a", "b", "c", "d"]
    )
    a, b, c, d = sympy.symbols("a b c d", real=True)
    truth = sympy.sqrt((b - a) ** 2 + (d - c) ** 2)
    assert is_exact_recovery(model.sympy(), truth, check_points=X[:20], variables=("a", "b", "c", "d")), model.sympy()


def test_predict_and_latex():
    model, ok = _fit("I.12.1", use_oracle=False)
    assert ok
    X = np.array([[2.0, 3.0]])
    np.testing.assert_allclose(model.predict(X), [6.0])
    assert "mu" in model.latex()


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "match"),
    [
        (np.array([[1.0], [np.nan], [2.0]]), np.array([1.0, 2.0, 3.0]), {}, "NaN"),
        (np.ones((5, 2)), np.ones(4), {}, "match"),
        (np.random.default_rng(0).random((2, 3)), np.array([1.0, 2.0]), {}, "more samples than variables"),
        (np.random.default_rng(0).random((10, 2)), np.full(10, 3.0), {}, "constant"),
        (np.random.default_rng(0).random((10, 2)), np.arange(10.0), {"units": np.zeros((2, 5))}, "shape"),
        (np.random.default_rng(0).random((10, 2)) + 1, np.arange(10.0) + 1,
         {"units": np.array([[1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 1, 0, 0, 0]])}, "balance|span|cannot"),
    ],
)
def test_bad_input_raises_value_error(X, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        FeynmanRegressor(time_budget_s=5).fit(X, y, **kwargs)


def test_unknown_operator_lists_valid_ones():
    X = np.random.default_rng(0).random((10, 1)) + 1
    with pytest.raises(ValueError, match="valid operators"):
        FeynmanRegressor(operators=("+", "bogus")).fit(X, X[:, 0] ** 2)


@pytest.mark.parametrize("eq_id", ["II.8.7", "I.15.1", "I.12.2"])
def test_laws_are_recovered_from_one_percent_noise(eq_id):
    # II.8.7: the constant 3/(20*pi), not 1/21, which is as close as the old tolerance.
    # I.15.1: 1/sqrt(1 - v**2/c**2) from a fit of 1/y**2, whose constant lands at 1.005.
    # I.12.2: the dimensionless target's noise spans a factor 600 (weights read y's).
    eq = get_equation(eq_id)
    s = sample_equation(eq, 1000, np.random.default_rng(0), noise=0.01)
    model = FeynmanRegressor(time_budget_s=60, use_oracle=False).fit(
        s.X, s.y, variable_names=eq.variables, units=units_for(eq))
    assert is_exact_recovery(model.sympy(), eq.expression, check_points=s.X[:20], variables=eq.variables), \
        f"{eq_id}: got {model.sympy()} via {model.steps_}"
    assert model.solved_
    assert 0.005 < model.noise_ < 0.02


@pytest.mark.parametrize("budget", [float("nan"), float("inf"), -1.0, True])
def test_time_budget_must_be_finite_and_positive(budget):
    X = np.random.default_rng(0).uniform(1, 2, (50, 2))
    with pytest.raises(ValueError, match="time_budget_s must be a finite number"):
        FeynmanRegressor(time_budget_s=budget).fit(X, X[:, 0] * X[:, 1])


@pytest.mark.parametrize("eq_id", ["I.9.18", "I.6.2b", "optics.fresnel_s"])
def test_solver_returns_a_formula_over_the_users_variables_whatever_the_draw(eq_id):
    """On valid data the solver never raises: a search that fails returns its best formula over X's variables."""
    eq = get_equation(eq_id)
    names = set(eq.variables)
    for seed in range(3):
        data = sample_equation(eq, 300, np.random.default_rng([seed, 17]), noise=0.01 * seed)
        reg = FeynmanRegressor(time_budget_s=3.0, seed=seed).fit(data.X, data.y, variable_names=eq.variables)
        assert {s.name for s in reg.sympy().free_symbols} <= names
        pred = reg.predict(data.X[:10])
        assert pred.shape == (10,) and pred.dtype == float


def test_tidy_leaves_formulas_that_would_blow_up_cancel_and_factor_alone():
    # a fallback fit from a generated formula: sympy.factor of it took 23 GB before the kernel killed it
    from hybrid.regression.feynman_steps import _tidy

    x1, x2, x3, x4 = symbols = sympy.symbols("x1:5")
    pi, e = sympy.pi, sympy.E
    huge = sympy.exp((-sympy.Rational(11514154531, 7) * pi**2 * x1 - sympy.Rational(676005449, 2) * pi**2 * x2
                      - sympy.Rational(6044482519, 6) * e * x3 - 3356679004 * pi * x4
                      + sympy.Rational(40731269725, 7) * pi**2)
                     / (-sympy.Rational(3709051947, 4) * x1 - 5783600252 * x2 / pi + x3
                        - sympy.Rational(470687429, 6) * pi**2 * x4 + sympy.Rational(250190257, 2) * e))
    X = np.random.default_rng(0).uniform(1, 2, size=(60, 4))
    assert _tidy(huge, symbols, X) is huge
    high_power = x1 ** sympy.Rational(271, 34) * x2 ** sympy.Rational(55, 17) + x3
    assert _tidy(high_power, symbols, X) is high_power
    small = (x1 * x2 + x1 * x3) / x1  # still cancelled
    assert sympy.simplify(_tidy(small, symbols, X) - (x2 + x3)) == 0
    assert sympy.count_ops(_tidy(small, symbols, X)) < sympy.count_ops(small)
