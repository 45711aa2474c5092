"""Compositionality from gradients: which variables enter through one function, and which function."""

import numpy as np
import sympy
from hybrid.symbolic.regression.composition import Composition, find_compositions, fit_inner
from hybrid.tasks.feynman import evaluate_equation, get_equation, sample_equation


def _exact(eq_id):
    eq = get_equation(eq_id)
    data = sample_equation(eq, 500, np.random.default_rng(0))
    return eq, data.X, (lambda Q: evaluate_equation(eq, Q))


def test_rlc_impedance_splits_into_the_reactance_and_the_rest():
    eq, X, oracle = _exact("em.rlc_impedance")  # sqrt(R**2 + (omega*Ls - 1/(omega*C))**2)
    comps = find_compositions(oracle, X, tolerance=0.002, rng=np.random.default_rng(1))
    subsets = [tuple(eq.variables[k] for k in c.subset) for c in comps]
    assert subsets[0] == ("omega", "Ls", "C")
    assert ("R", "omega", "Ls") not in subsets  # omega enters twice: no single function of (R, omega, Ls)
    g, err = fit_inner(oracle, X, comps[0].subset, eq.variables, time_budget_s=30, rng=np.random.default_rng(2))
    omega, Ls, C = (sympy.Symbol(n, real=True) for n in ("omega", "Ls", "C"))
    reactance = omega * Ls - 1 / (omega * C)
    # the same level sets as the reactance: the same function up to an affine map
    assert sympy.simplify(g / reactance).is_number or sympy.simplify(g - reactance).is_number
    assert err < 0.005


def test_a_function_with_no_inner_function_has_no_composition():
    # x1*x2 + x2*x3 + x3*x1: over any two variables the gradient's direction moves with the third
    X = np.random.default_rng(0).uniform(1, 5, (500, 3))
    oracle = lambda Q: Q[:, 0] * Q[:, 1] + Q[:, 1] * Q[:, 2] + Q[:, 2] * Q[:, 0]  # noqa: E731
    assert find_compositions(oracle, X, tolerance=0.002, rng=np.random.default_rng(0)) == []
    # ... while exp(x1*x2)*x3 + x3**2 has x1, x2 through g = x1*x2 only
    oracle = lambda Q: np.exp(Q[:, 0] * Q[:, 1] / 5) * Q[:, 2] + Q[:, 2] ** 2  # noqa: E731
    assert [c.subset for c in find_compositions(oracle, X, tolerance=0.002)] == [(0, 1)]


def test_apply_replaces_the_subset_by_one_column():
    X = np.arange(12.0).reshape(3, 4)
    out = Composition((1, 3), 0.0).apply(X, np.array([7.0, 8.0, 9.0]))
    assert out.tolist() == [[0.0, 7.0, 2.0], [4.0, 8.0, 6.0], [8.0, 9.0, 10.0]]
