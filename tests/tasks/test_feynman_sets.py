"""The hard set and the formula generator: loadable, balanced, finite, reproducible."""

import numpy as np
import pytest
import sympy
from hybrid.tasks.feynman import (
    check_balance,
    equation_from_id,
    generate_equation,
    generated_equations,
    get_equation,
    hard_equations,
    sample_equation,
    units_for,
)
from hybrid.tasks.feynman.hard import FAMILIES


def test_hard_set_has_52_published_formulas_in_every_family():
    table = hard_equations()
    assert len(table) == 52
    assert {i.split(".")[0] for i in table} == set(FAMILIES)
    assert sum(i.startswith("strogatz.") for i in table) == 14


@pytest.mark.parametrize("eq_id", list(hard_equations()))
def test_hard_equation_balances_in_si_units_and_samples_finite(eq_id):
    eq = get_equation(eq_id)
    check_balance(eq, units_for(eq))
    s = sample_equation(eq, 500, np.random.default_rng(0))
    assert np.all(np.isfinite(s.y)) and np.ptp(s.y) > 0


def test_generated_equation_is_a_function_of_its_id():
    a = generate_equation(3, 7, 2)
    b = equation_from_id("gen.d3.s7.2")
    assert a == b and a.id == "gen.d3.s7.2"
    assert get_equation("gen.d3.s7.2").formula == a.formula
    assert generate_equation(3, 7, 3).formula != a.formula


def _height(expr) -> int:
    return 0 if not expr.args else 1 + max(_height(a) for a in expr.args)


def test_generated_formulas_are_finite_and_nest_deeper_with_depth():
    heights = {}
    for depth in (1, 3, 5):
        eqs = generated_equations(12, depth, seed=0)
        for eq in eqs.values():
            s = sample_equation(eq, 300, np.random.default_rng(1))
            assert np.all(np.isfinite(s.y)) and np.ptp(s.y) > 0
            assert list(eq.variables) == [f"x{k}" for k in range(1, len(eq.variables) + 1)]
            assert all(r == (1.0, 5.0) for r in eq.ranges)
        heights[depth] = np.mean([_height(eq.expression) for eq in eqs.values()])
    assert heights[1] < heights[3] < heights[5]


@pytest.mark.parametrize(("args", "match"), [((-1, 0, 0), "depth"), ((7, 0, 0), "depth"), ((2, -3, 0), "seed"),
                                             ((2, 0, True), "index")])
def test_generator_refuses_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        generate_equation(*args)


def test_unknown_ids_are_key_errors():
    with pytest.raises(KeyError, match="no FSReD, hard-set or generated"):
        get_equation("nope")
    with pytest.raises(KeyError, match="gen.d<depth>"):
        equation_from_id("gen.x")
    assert sympy.srepr(get_equation("rel.doppler").expression)
