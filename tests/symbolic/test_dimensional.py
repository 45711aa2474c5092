"""dimensional_reduction: prefactor and dimensionless groups of known unit sets, exactly."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hybrid.symbolic.regression import DimensionalReduction, dimensional_reduction

R = sympy.Rational
# base units: m, s, kg, K, A
M, S, KG, K, A = np.eye(5, dtype=int)
G_UNITS = 3 * M - 2 * S - KG  # gravitational constant
FORCE = M - 2 * S + KG


def _equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    return sympy.simplify(a - b) == 0


def test_newton_gravity_has_one_group_mass_ratio():
    # F = G m1 m2 / r^2 with inputs (G, m1, m2, r)
    red = dimensional_reduction(np.array([G_UNITS, KG, KG, M]), FORCE)
    assert isinstance(red, DimensionalReduction)
    assert red.n_groups == 1
    assert red.group_exponents in (((0, 1, -1, 0),), ((0, -1, 1, 0),))
    # sparsest prefactor: G m1^2 / r^2 (3 variables beat G m1 m2 / r^2's 4)
    assert red.prefactor_exponents == (1, 2, 0, -2)
    assert all(isinstance(p, sympy.Rational) for p in red.prefactor_exponents)
    assert all(isinstance(e, int) for row in red.group_exponents for e in row)


def test_newton_gravity_restore_and_reduced_target():
    Gs, m1, m2, r = syms = sympy.symbols("G m1 m2 r", positive=True)
    red = dimensional_reduction(np.array([G_UNITS, KG, KG, M]), FORCE)
    assert red.group_expressions(syms) == [m1 / m2]
    assert red.prefactor_expression(syms) == Gs * m1**2 / r**2
    pi1 = sympy.Symbol("pi1")
    restored = red.restore(1 / pi1, [pi1], syms)
    assert _equal(restored, Gs * m1 * m2 / r**2)

    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 3.0, size=(20, 4))
    y = X[:, 0] * X[:, 1] * X[:, 2] / X[:, 3] ** 2
    g = red.reduce_target(X, y)
    groups = red.groups(X)
    assert groups.shape == (20, 1)
    np.testing.assert_allclose(g, 1 / groups[:, 0], rtol=1e-12)


def test_pendulum_period_has_no_groups_and_sqrt_prefactor():
    # T = 2 pi sqrt(L / g) with inputs (L, g)
    red = dimensional_reduction(np.array([M, M - 2 * S]), S)
    assert red.n_groups == 0
    assert red.group_exponents == ()
    assert red.prefactor_exponents == (R(1, 2), R(-1, 2))
    L, g = syms = sympy.symbols("L g", positive=True)
    assert _equal(red.prefactor_expression(syms), sympy.sqrt(L / g))
    assert _equal(red.restore(2 * sympy.pi, [], syms), 2 * sympy.pi * sympy.sqrt(L / g))

    rng = np.random.default_rng(1)
    X = rng.uniform(0.1, 10.0, size=(30, 2))
    y = 2 * np.pi * np.sqrt(X[:, 0] / X[:, 1])
    reduced = red.reduce_target(X, y)
    np.testing.assert_allclose(reduced, 2 * np.pi, rtol=1e-12)  # exact power law: constant
    assert red.groups(X).shape == (30, 0)


def test_kinetic_energy_prefactor():
    red = dimensional_reduction(np.array([KG, M - S]), 2 * M - 2 * S + KG)
    assert red.n_groups == 0
    assert red.prefactor_exponents == (1, 2)
    m, v = syms = sympy.symbols("m v")
    assert red.restore(R(1, 2), [], syms) == m * v**2 / 2


def test_like_dimensioned_variables_give_a_ratio_and_dimensionless_inputs_are_groups():
    # y = x1 * f(x2/x1, theta): inputs (x1 [m], x2 [m], theta [1]), output [m]
    red = dimensional_reduction(np.array([M, M, 0 * M]), M)
    assert red.n_groups == 2
    assert set(red.group_exponents) == {(0, 0, 1), (1, -1, 0)}
    assert red.prefactor_exponents == (1, 0, 0)
    x1, x2, th = syms = sympy.symbols("x1 x2 theta")
    assert set(red.group_expressions(syms)) == {th, x1 / x2}

    # negative inputs are fine for integer group exponents
    X = np.array([[2.0, -4.0, -0.5], [-1.0, 2.0, 3.0]])
    groups = red.groups(X)
    by_row = dict(zip(red.group_exponents, groups.T, strict=True))
    np.testing.assert_allclose(by_row[(1, -1, 0)], [-0.5, -0.5])
    np.testing.assert_allclose(by_row[(0, 0, 1)], [-0.5, 3.0])


def test_restore_of_a_known_g_gives_the_true_formula():
    # Coulomb: F = q1 q2 / (4 pi eps r^2), inputs (q1, q2, eps, r), eps = A^2 s^4 kg^-1 m^-3
    q = A + S
    eps = 2 * A + 4 * S - KG - 3 * M
    red = dimensional_reduction(np.array([q, q, eps, M]), FORCE)
    assert red.n_groups == 1
    q1, q2, e, r = syms = sympy.symbols("q1 q2 epsilon r", positive=True)
    (group,) = red.group_expressions(syms)
    assert group in (q1 / q2, q2 / q1)
    p = sympy.Symbol("p")
    g = 1 / (4 * sympy.pi * p) if group == q1 / q2 else p / (4 * sympy.pi)
    assert _equal(red.restore(g, [p], syms), q1 * q2 / (4 * sympy.pi * e * r**2))

    rng = np.random.default_rng(2)
    X = rng.uniform(0.5, 2.0, size=(25, 4))
    y = X[:, 0] * X[:, 1] / (4 * np.pi * X[:, 2] * X[:, 3] ** 2)
    reduced = red.reduce_target(X, y)
    np.testing.assert_allclose(reduced, [float(g.subs(p, v)) for v in red.groups(X)[:, 0]], rtol=1e-12)


def test_group_exponents_have_a_positive_first_entry():
    red = dimensional_reduction(np.array([M, S, M, S, KG]), KG)
    assert red.n_groups == 2
    for row in red.group_exponents:
        first = next(v for v in row if v != 0)
        assert first > 0
    assert set(red.group_exponents) == {(1, 0, -1, 0, 0), (0, 1, 0, -1, 0)}
    assert red.prefactor_exponents == (0, 0, 0, 0, 1)


def test_fractional_prefactor_gives_nan_for_negative_inputs():
    red = dimensional_reduction(np.array([M, M - 2 * S]), S)
    pre = red.prefactor(np.array([[-1.0, 1.0], [4.0, 1.0]]))
    assert np.isnan(pre[0])
    assert pre[1] == pytest.approx(2.0)


def test_unbalanceable_output_raises_and_names_the_missing_unit():
    with pytest.raises(ValueError, match="kg"):
        dimensional_reduction(np.array([M, S]), KG, base_names=["m", "s", "kg", "K", "A"])
    # every base unit is carried, but the output is outside the inputs' span (velocity only)
    with pytest.raises(ValueError, match="cannot be balanced"):
        dimensional_reduction(np.array([M - S]), M)


@pytest.mark.parametrize(
    ("input_units", "output_units", "match"),
    [
        (np.array([1.0, 0.0]), np.array([1.0]), "2-D"),
        (np.array([[1.0, 0.0]]), np.array([1.0, 0.0, 0.0]), "1-D"),
        (np.array([[np.nan, 0.0]]), np.array([1.0, 0.0]), "NaN"),
        (np.array([[1.0, 0.0]]), np.array([np.inf, 0.0]), "NaN"),
        (np.array([[0.3, 0.0]]), np.array([0.3, 0.0]), "integer"),
    ],
)
def test_bad_inputs_raise(input_units, output_units, match):
    with pytest.raises(ValueError, match=match):
        dimensional_reduction(input_units, output_units)


def test_methods_check_their_inputs():
    red = dimensional_reduction(np.array([M, M]), M)
    with pytest.raises(ValueError):
        red.groups(np.ones((4, 3)))
    with pytest.raises(ValueError):
        red.reduce_target(np.ones((4, 2)), np.ones(3))
    with pytest.raises(ValueError):
        red.group_expressions(sympy.symbols("a b c"))
    with pytest.raises(ValueError):
        red.restore(sympy.Integer(1), [], sympy.symbols("a b"))
    with pytest.raises(TypeError):
        red.restore("x", [sympy.Symbol("p")], sympy.symbols("a b"))
