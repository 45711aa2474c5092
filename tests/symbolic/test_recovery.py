"""is_exact_recovery: symbols matched by name, symbolic test first, numeric fallback."""

from __future__ import annotations

import numpy as np
import sympy
from hybrid.symbolic.regression import is_exact_recovery
from hybrid.tasks.feynman import get_equation

PI = sympy.pi


def test_same_formula_over_differently_built_symbols_is_recognised():
    q1, q2, eps, r = sympy.symbols("q1 q2 epsilon r")  # no assumptions; the table's are positive
    truth = get_equation("I.12.2").expression
    candidate = q1 * q2 / (4 * PI * eps * r**2)
    # a plain sympy comparison sees different symbols (different assumptions) ...
    assert sympy.simplify(candidate - truth) != 0
    # ... matching by name sees the same formula
    assert is_exact_recovery(candidate, truth)


def test_plain_and_real_symbols_of_one_name_match():
    x_plain, y_real = sympy.Symbol("x"), sympy.Symbol("y", real=True)
    x_pos, y_pos = sympy.symbols("x y", positive=True)
    assert is_exact_recovery(x_plain**2 * y_real / 3, x_pos**2 * y_pos / 3)
    assert is_exact_recovery(x_pos**2 * y_pos / 3, x_plain**2 * y_real / 3)


def test_different_form_same_value_is_recognised():
    m, v = sympy.symbols("m v", positive=True)
    assert is_exact_recovery(m * v * v / 2, sympy.Rational(1, 2) * m * v**2)
    assert is_exact_recovery(sympy.sqrt(m**2 * v), m * sympy.sqrt(v))


def test_float_coefficients_are_read_as_rationals():
    x = sympy.Symbol("x", positive=True)
    assert is_exact_recovery(sympy.Float(0.25) * x / PI, x / (4 * PI))
    assert not is_exact_recovery(sympy.Float(0.2501) * x / PI, x / (4 * PI))


def test_wrong_exponent_is_rejected():
    q1, q2, eps, r = sympy.symbols("q1 q2 epsilon r", positive=True)
    truth = get_equation("I.12.2").expression
    wrong = q1 * q2 / (4 * PI * eps * r**3)
    assert not is_exact_recovery(wrong, truth)
    points = np.random.default_rng(0).uniform(1, 5, (20, 4))
    assert not is_exact_recovery(wrong, truth, check_points=points, variables=("q1", "q2", "epsilon", "r"))


def test_wrong_constant_is_rejected_unless_a_factor_is_allowed():
    x, y = sympy.symbols("x y", positive=True)
    truth = x * y**2 / (4 * PI)
    assert not is_exact_recovery(2 * truth, truth)
    assert is_exact_recovery(2 * truth, truth, allow_constant_factor=True)
    assert is_exact_recovery(truth / PI, truth, allow_constant_factor=True)


def test_constant_factor_does_not_excuse_a_wrong_shape():
    x, y = sympy.symbols("x y", positive=True)
    truth = x * y**2
    assert not is_exact_recovery(2 * x * y**3, truth, allow_constant_factor=True)
    assert not is_exact_recovery(truth + 1, truth, allow_constant_factor=True)
    assert not is_exact_recovery(0 * x, truth, allow_constant_factor=True)


def test_unknown_symbol_in_candidate_is_rejected():
    x, z = sympy.symbols("x z", positive=True)
    assert not is_exact_recovery(x * z / z * z, x)  # x*z, with z not in the truth
    assert not is_exact_recovery(x + 0 * z + z, x)


def test_numeric_fallback_when_sympy_cannot_decide():
    # acos(cos(x)) == x only on [0, pi]: sympy cannot simplify the difference to 0,
    # so the answer comes from the check points
    x = sympy.Symbol("x", positive=True)
    candidate, truth = sympy.acos(sympy.cos(x)), x
    assert sympy.simplify(candidate - truth) != 0
    inside = np.linspace(0.1, 3.0, 25)[:, None]
    outside = np.linspace(3.5, 6.0, 25)[:, None]
    assert not is_exact_recovery(candidate, truth)
    assert is_exact_recovery(candidate, truth, check_points=inside, variables=("x",))
    assert not is_exact_recovery(candidate, truth, check_points=outside, variables=("x",))
    # check points without their names: no fallback
    assert not is_exact_recovery(candidate, truth, check_points=inside)


def test_numeric_fallback_with_constant_factor():
    x = sympy.Symbol("x", positive=True)
    candidate, truth = 3 * sympy.acos(sympy.cos(x)), x
    points = np.linspace(0.1, 3.0, 25)[:, None]
    assert not is_exact_recovery(candidate, truth, check_points=points, variables=("x",))
    assert is_exact_recovery(candidate, truth, check_points=points, variables=("x",), allow_constant_factor=True)


def test_numeric_fallback_honours_rtol():
    x = sympy.Symbol("x", positive=True)
    candidate = sympy.Rational(1000001, 1000000) * x  # off by 1e-6
    points = np.linspace(1.0, 2.0, 10)[:, None]
    assert not is_exact_recovery(candidate, x, check_points=points, variables=("x",))
    assert is_exact_recovery(candidate, x, check_points=points, variables=("x",), rtol=1e-5)


def test_symbolic_solution_accepts_a_constant_offset_or_factor_and_fitted_floats():
    import numpy as np
    import sympy
    from hybrid.symbolic.regression import is_symbolic_solution, model_size

    x, y = sympy.symbols("x y", positive=True)
    truth = x * sympy.sin(y) / 2
    points = np.random.default_rng(0).uniform(1, 5, (20, 2))
    kw = {"check_points": points, "variables": ("x", "y")}
    assert is_symbolic_solution(truth + 3, truth, **kw)
    assert is_symbolic_solution(sympy.Float(0.4999999) * x * sympy.sin(y), truth, **kw)
    assert is_symbolic_solution(2 * truth, truth)  # symbolic alone
    assert not is_symbolic_solution(x * sympy.cos(y) / 2, truth, **kw)
    assert not is_symbolic_solution(truth + x, truth, **kw)
    assert not is_symbolic_solution(0 * x, truth, **kw)
    assert not is_symbolic_solution(sympy.Symbol("u0") * x, truth, **kw)  # a variable the law does not have
    assert model_size(x * sympy.sin(y) / 2) == 5  # Mul(1/2, x, sin(y)): the Mul, 1/2, x, sin and y
