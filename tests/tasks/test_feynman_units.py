"""SI units of the FSReD variables: the shipped table, the loader and the dimension checker."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hybrid.tasks.feynman import (
    BASE_UNITS,
    DimensionError,
    EquationUnits,
    check_balance,
    dimension_of,
    feynman_equations,
    get_equation,
    units_for,
)
from hybrid.tasks.feynman.units import load_units

EQUATIONS = list(feynman_equations().values())

# dimension vectors, ordered as BASE_UNITS = (m, s, kg, K, A)
ONE = (0, 0, 0, 0, 0)
METRE = (1, 0, 0, 0, 0)
SECOND = (0, 1, 0, 0, 0)
KILOGRAM = (0, 0, 1, 0, 0)
VELOCITY = (1, -1, 0, 0, 0)
ENERGY = (2, -2, 1, 0, 0)

x, y, t, m, v = sympy.symbols("x y t m v", positive=True)


# ---------------------------------------------------------------- the shipped units table


def test_base_units():
    assert BASE_UNITS == ("m", "s", "kg", "K", "A")


def test_units_file_covers_exactly_the_100_equations():
    raw = load_units()
    assert list(raw) == list(feynman_equations())


@pytest.mark.parametrize("eq", EQUATIONS, ids=lambda eq: eq.id)
def test_every_equation_has_units_for_exactly_its_variables_and_balances(eq):
    entry = load_units()[eq.id]
    assert set(entry) == {*eq.variables, eq.output}
    assert entry[eq.output][1] == "output"
    assert all(entry[name][1] == "input" for name in eq.variables)

    units = units_for(eq)
    assert units.id == eq.id and units.variables == eq.variables and units.output_name == eq.output
    assert units.inputs.shape == (len(eq.variables), 5) and units.inputs.dtype.kind == "i"
    assert units.output.shape == (5,) and units.output.dtype.kind == "i"
    assert units_for(eq.id) == units

    check_balance(eq)
    check_balance(eq.id)
    symbol_units = dict(zip(eq.symbols, units.inputs, strict=True))
    np.testing.assert_array_equal(dimension_of(eq.expression, symbol_units), units.output)


def test_physical_constants_have_one_unit_everywhere():
    expected = {
        "G": (3, -2, -1, 0, 0),
        "c": (1, -1, 0, 0, 0),
        "h": (2, -1, 1, 0, 0),
        "kb": (2, -2, 1, -1, 0),
        "epsilon": (-3, 4, -1, 0, 2),
    }
    seen = {name: 0 for name in expected}
    for eid, entry in load_units().items():
        for name, (exponents, _) in entry.items():
            if name in expected:
                assert exponents == expected[name], (eid, name)
                seen[name] += 1
    assert all(seen.values())


def test_some_units_worked_out_by_hand():
    coulomb = units_for("I.12.2")
    assert coulomb.as_dict()["F"].tolist() == [1, -2, 1, 0, 0]
    assert coulomb.as_dict()["q1"].tolist() == [0, 1, 0, 0, 1]
    assert units_for("I.12.1").as_dict()["mu"].tolist() == list(ONE)  # friction coefficient
    assert units_for("II.15.4").as_dict()["mom"].tolist() == [2, 0, 0, 0, 1]  # A m^2
    assert units_for("II.13.17").as_dict()["B"].tolist() == [0, -2, 1, 0, -1]  # tesla


def test_arrays_are_read_only_and_in_variable_order():
    units = units_for("I.9.18")
    assert units.variables == ("m1", "m2", "G", "x1", "x2", "y1", "y2", "z1", "z2")
    assert units.inputs[2].tolist() == [3, -2, -1, 0, 0]
    with pytest.raises(ValueError):
        units.inputs[0, 0] = 5


def test_equation_units_checks_its_shape():
    with pytest.raises(ValueError, match="exponent rows"):
        EquationUnits("X", ("a", "b"), "y", ((0, 0, 0, 0, 0),), (0, 0, 0, 0, 0))
    with pytest.raises(ValueError, match="exponents"):
        EquationUnits("X", ("a",), "y", ((0, 0, 0),), (0, 0, 0, 0, 0))


# ---------------------------------------------------------------- units_for errors


def test_units_for_unknown_id_raises_key_error_naming_it():
    with pytest.raises(KeyError, match="IV.1.1"):
        units_for("IV.1.1")
    with pytest.raises(KeyError, match="IV.1.1"):
        units_for(dataclasses.replace(get_equation("I.12.1"), id="IV.1.1"))


def test_units_for_with_a_file_lacking_a_variable(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("id,variable,role,m,s,kg,K,A\nI.12.1,F,output,1,-2,1,0,0\nI.12.1,mu,input,0,0,0,0,0\n")
    with pytest.raises(ValueError, match="Nn"):
        units_for("I.12.1", path=path)
    with pytest.raises(KeyError, match="I.12.2"):
        units_for("I.12.2", path=path)


def test_units_for_rejects_extra_names_and_wrong_roles(tmp_path):
    header = "id,variable,role,m,s,kg,K,A\n"
    rows = "I.12.1,F,output,1,-2,1,0,0\nI.12.1,mu,input,0,0,0,0,0\nI.12.1,Nn,input,1,-2,1,0,0\n"
    extra = tmp_path / "extra.csv"
    extra.write_text(header + rows + "I.12.1,zeta,input,0,0,0,0,0\n")
    with pytest.raises(ValueError, match="zeta"):
        units_for("I.12.1", path=extra)
    swapped = tmp_path / "swapped.csv"
    swapped.write_text(header + rows.replace("F,output", "F,input").replace("mu,input", "mu,output"))
    with pytest.raises(ValueError, match="listed as"):
        units_for("I.12.1", path=swapped)


@pytest.mark.parametrize(
    "body, message",
    [
        ("I.1,x,output,1,0,0,0,0\nI.1,x,output,1,0,0,0,0\n", "twice"),
        ("I.1,x,result,1,0,0,0,0\n", "role"),
        ("I.1,x,output,1.5,0,0,0,0\n", "integers"),
        ("I.1,x,input,1,0,0,0,0\n", "output rows"),
    ],
)
def test_load_units_rejects_malformed_files(tmp_path, body, message):
    path = tmp_path / "units.csv"
    path.write_text("id,variable,role,m,s,kg,K,A\n" + body)
    with pytest.raises(ValueError, match=message):
        load_units(path)


def test_load_units_rejects_missing_columns(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("id,variable,role,m,s,kg\nI.1,x,output,1,0,0\n")
    with pytest.raises(ValueError, match="missing columns"):
        load_units(path)


def test_load_units_returns_a_fresh_dict():
    load_units()["I.12.1"].clear()
    assert set(load_units()["I.12.1"]) == {"F", "mu", "Nn"}


# ---------------------------------------------------------------- dimension_of


def test_kinetic_energy():
    dim = dimension_of(m * v**2 / 2, {m: KILOGRAM, v: VELOCITY})
    np.testing.assert_array_equal(dim, ENERGY)


def test_numbers_and_pi_are_dimensionless():
    np.testing.assert_array_equal(dimension_of(sympy.sqrt(2 * sympy.pi), {}), ONE)
    np.testing.assert_array_equal(dimension_of(3, {}), ONE)


def test_sum_of_metres_and_seconds_raises_naming_both():
    with pytest.raises(DimensionError, match=r"cannot add") as info:
        dimension_of(x + t, {x: METRE, t: SECOND})
    assert "x" in str(info.value) and "t" in str(info.value)
    # a number added to a length is as wrong
    with pytest.raises(DimensionError):
        dimension_of(1 + x, {x: METRE})


def test_sum_of_like_terms_is_fine():
    np.testing.assert_array_equal(dimension_of(x + v * t, {x: METRE, v: VELOCITY, t: SECOND}), METRE)


@pytest.mark.parametrize("func", [sympy.exp, sympy.log, sympy.sin, sympy.cos, sympy.tan, sympy.tanh, sympy.atan])
def test_transcendental_of_a_length_raises(func):
    with pytest.raises(DimensionError, match="dimensionless"):
        dimension_of(func(x), {x: METRE})
    np.testing.assert_array_equal(dimension_of(func(x / y), {x: METRE, y: METRE}), ONE)


@pytest.mark.parametrize("func", [sympy.asin, sympy.acos])
def test_inverse_trig_of_a_length_raises(func):
    z = sympy.Symbol("z", real=True)
    with pytest.raises(DimensionError, match="dimensionless"):
        dimension_of(func(z), {z: METRE})


def test_sqrt_halves_exponents():
    area_per_time = (2, -1, 0, 0, 0)
    np.testing.assert_array_equal(dimension_of(sympy.sqrt(x), {x: area_per_time}), (1, -0.5, 0, 0, 0))
    np.testing.assert_array_equal(dimension_of(x ** sympy.Rational(1, 3), {x: (3, 0, 0, 0, 0)}), METRE)


def test_powers_of_dimensional_bases_must_be_numeric():
    n = sympy.Symbol("n", positive=True)
    with pytest.raises(DimensionError, match="non-numeric"):
        dimension_of(x**n, {x: METRE, n: ONE})
    with pytest.raises(DimensionError, match="irrational"):
        dimension_of(x**sympy.pi, {x: METRE})
    # a dimensionless base may take any dimensionless exponent
    np.testing.assert_array_equal(dimension_of((x / y) ** n, {x: METRE, y: METRE, n: ONE}), ONE)
    with pytest.raises(DimensionError, match="exponent"):
        dimension_of((x / y) ** t, {x: METRE, y: METRE, t: SECOND})


def test_units_may_be_given_by_name_and_as_fractions():
    plain = sympy.Symbol("x")
    dim = dimension_of(sympy.sqrt(plain), {"x": (Fraction(1), 0, 0, 0, 0)})
    np.testing.assert_array_equal(dim, (0.5, 0, 0, 0, 0))


def test_missing_symbol_and_bad_input():
    with pytest.raises(KeyError, match="'y'"):
        dimension_of(x * y, {x: METRE})
    with pytest.raises(ValueError, match="5 exponents"):
        dimension_of(x, {x: (1, 0)})
    with pytest.raises(TypeError):
        dimension_of("x + t", {x: METRE})  # strings are never parsed


# ---------------------------------------------------------------- check_balance


def test_wrong_units_make_check_balance_raise():
    eq = get_equation("I.12.2")  # F = q1*q2*r/(4*pi*epsilon*r**3)
    good = units_for(eq)
    wrong_epsilon = list(good.input_exponents)
    wrong_epsilon[eq.variables.index("epsilon")] = ONE  # forget the permittivity's units
    bad = dataclasses.replace(good, input_exponents=tuple(wrong_epsilon))
    with pytest.raises(DimensionError, match=r"I\.12\.2.*output F"):
        check_balance(eq, bad)

    wrong_output = dataclasses.replace(good, output_exponents=ENERGY)
    with pytest.raises(DimensionError, match="I.12.2"):
        check_balance(eq, wrong_output)


def test_inconsistent_units_inside_the_formula_are_reported_with_the_id():
    eq = get_equation("I.15.3x")  # (x - u*t)/sqrt(1 - u**2/c**2)
    good = units_for(eq)
    rows = list(good.input_exponents)
    rows[eq.variables.index("t")] = ONE  # then x - u*t adds metres to velocities
    with pytest.raises(DimensionError, match=r"I\.15\.3x: cannot add"):
        check_balance(eq, dataclasses.replace(good, input_exponents=tuple(rows)))


def test_check_balance_unknown_id():
    with pytest.raises(KeyError, match="IV.1.1"):
        check_balance("IV.1.1")
