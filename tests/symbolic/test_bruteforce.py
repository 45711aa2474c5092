"""Brute force: finds formulas shortest first, snaps constants, honours its budget and alphabet."""

import numpy as np
import pytest
import sympy
from hybrid.symbolic.regression import is_exact_recovery
from hybrid.symbolic.regression.bruteforce import OPERATORS, brute_force, snap_number
from hybrid.symbolic.regression.constants import polish_constants
from hybrid.symbolic.regression.noise import estimate_noise

x, y = sympy.symbols("x y", real=True)


def _data(f, n=300, low=1.0, high=5.0, d=2, seed=0):
    X = np.random.default_rng(seed).uniform(low, high, (n, d))
    return X, f(X)


@pytest.mark.parametrize(
    ("truth", "fn"),
    [
        (x * sympy.sin(y), lambda X: X[:, 0] * np.sin(X[:, 1])),
        (x / (1 + y), lambda X: X[:, 0] / (1 + X[:, 1])),
        (sympy.sqrt(x**2 + y**2), lambda X: np.sqrt(X[:, 0] ** 2 + X[:, 1] ** 2)),
        (3 * x**3 * y / 7, lambda X: 3 * X[:, 0] ** 3 * X[:, 1] / 7),
        (2 * sympy.exp(-x * y), lambda X: 2 * np.exp(-X[:, 0] * X[:, 1])),
        (sympy.exp(-(x**2) / 2) / sympy.sqrt(2 * sympy.pi), lambda X: np.exp(-X[:, 0] ** 2 / 2) / np.sqrt(2 * np.pi)),
    ],
)
def test_finds_the_formula_exactly(truth, fn):
    X, t = _data(fn)
    result = brute_force(X, t, variable_names=["x", "y"], time_budget_s=30)
    assert result.best is not None
    assert is_exact_recovery(result.best.expression, truth)
    assert result.best.exact_constants
    assert result.evaluated > 0


def test_shortest_formula_comes_first():
    X, t = _data(lambda X: X[:, 0] * X[:, 1])
    result = brute_force(X, t, variable_names=["x", "y"], time_budget_s=10)
    assert result.best.length == 3 and result.best.rpn == ("x", "y", "*")


def test_operator_set_is_the_users():
    X, t = _data(lambda X: X[:, 0] * np.sin(X[:, 1]))
    result = brute_force(X, t, variable_names=["x", "y"], operators=["+", "*"], time_budget_s=2, max_length=7)
    assert result.best is None  # sin is not in the alphabet
    for c in result.candidates:
        assert not c.expression.has(sympy.sin)


def test_unknown_operator_lists_valid_ones():
    X, t = _data(lambda X: X[:, 0])
    with pytest.raises(ValueError, match="valid operators") as info:
        brute_force(X, t, operators=["+", "sinh"])
    assert "sqrt" in str(info.value) and "sinh" in str(info.value)
    assert "sinh" not in OPERATORS


def test_search_stops_when_the_budget_is_spent():
    X, t = _data(lambda X: np.sin(X[:, 0] * X[:, 1]) ** 3 + np.exp(X[:, 2] / X[:, 0]), d=3)
    result = brute_force(X, t, time_budget_s=1.0, max_length=12)
    assert result.timed_out and result.best is None
    assert result.max_length < 12


def test_bad_input_raises():
    with pytest.raises(ValueError, match="NaN"):
        brute_force(np.array([[1.0], [np.nan]]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="match"):
        brute_force(np.ones((3, 1)), np.ones(4))


@pytest.mark.parametrize(
    ("value", "exact"),
    [
        (0.25, sympy.Rational(1, 4)),
        (1 / (4 * np.pi), 1 / (4 * sympy.pi)),
        (1 / np.sqrt(2 * np.pi), 1 / sympy.sqrt(2 * sympy.pi)),
        (3 * np.e, 3 * sympy.E),
    ],
)
def test_snap_number(value, exact):
    assert sympy.simplify(snap_number(value, 1e-9) - exact) == 0


def test_polish_constants_refits_and_snaps():
    X, t = _data(lambda X: 0.5 * X[:, 0] ** 2 + np.pi * X[:, 1])
    rough = sympy.Float(0.49) * x**2 + sympy.Float(3.2) * y
    expr, err, exact = polish_constants(rough, (x, y), X, t)
    assert exact and err < 1e-12
    assert sympy.simplify(expr - (x**2 / 2 + sympy.pi * y)) == 0


def test_noise_estimate_tracks_the_noise():
    X, t = _data(lambda X: X[:, 0] * np.sin(X[:, 1]), n=1000)
    rms = np.sqrt(np.mean(t**2))
    noisy = t + 1e-2 * rms * np.random.default_rng(1).standard_normal(t.size)
    assert estimate_noise(X, t) < 2e-3
    assert 0.007 < estimate_noise(X, noisy) < 0.015



def test_polish_constants_survives_a_jacobian_that_overflows():
    # exp(c * x) with x up to 800 overflows J.T @ J; the refit must stop, not raise.
    x = sympy.Symbol("x", real=True)
    X = np.linspace(1, 800, 60)[:, None]
    rough = sympy.Float(1.0) * sympy.exp(sympy.Float(0.88) * x)
    expr, err, exact = polish_constants(rough, (x,), X, np.exp(0.88 * X[:, 0]) * 1e-300)
    assert isinstance(expr, sympy.Expr) and (np.isnan(err) or err >= 0)


def test_one_length_cannot_take_the_store_past_its_bound():
    # A single length can hold millions of new expressions; the store stops at max_stored
    # (strogatz.shearflow1 once grew one length to 21 GB).
    import numpy as np
    from hybrid.symbolic.regression.bruteforce import brute_force

    X = np.random.default_rng(0).uniform(0.3, 2.8, (200, 2))
    y = np.cos(X[:, 0]) * np.cos(X[:, 1]) / np.sin(X[:, 1]) + 0.01 * np.sin(7 * X[:, 0] * X[:, 1])
    result = brute_force(X, y, time_budget_s=60, max_stored=20_000, tolerance=1e-12)
    assert result.best is None and result.timed_out  # stopped by the store's bound, well before 60 s
