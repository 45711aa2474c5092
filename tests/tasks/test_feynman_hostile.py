"""Hostile formulas: every one fails fast with a FormulaError (a ValueError) that says what is wrong."""

from __future__ import annotations

import csv

import pytest
import sympy
from hybrid.tasks.feynman import FormulaError, load_table, parse_formula
from hybrid.tasks.feynman.table import MAX_FORMULA_CHARS, MAX_FORMULA_DEPTH

X = sympy.Symbol("x", positive=True)
SYMS = {"x": X}


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("x**(9**9**9)", "exponent 387420489"),
        ("9**9**9", "exponent 387420489"),
        ("(2*x)**(9**9)", "exponent 387420489"),
        ("x**(10**5)", "larger than 10000"),
        ("((((2*x)**1000)**1000)**1000)", "bits"),
        ("(3**10000)**10000", "bits"),
        ("x*" + "1" * 101, "more than 100 digits"),
        ("*".join(["9" * 99] * 40), "more than 10000 bits"),  # a product of long literals
        ("10**10000", "more than 10000 bits"),
        ("+".join(["x"] * 20_000), f"at most {MAX_FORMULA_CHARS}"),
        ("-" * 100_000 + "x", f"at most {MAX_FORMULA_CHARS}"),
        ("(" * 100_000 + "x" + ")" * 100_000, f"at most {MAX_FORMULA_CHARS}"),
        ("-" * 500 + "x", f"at most {MAX_FORMULA_DEPTH}"),
        ("x" + "**x" * 500, f"at most {MAX_FORMULA_DEPTH}"),
        ("sqrt(" * 150 + "x" + ")" * 150, f"at most {MAX_FORMULA_DEPTH}"),
        ("(" * 250 + "x" + ")" * 250, "not valid syntax"),  # Python's own limit: 200 nested parentheses
    ],
)
def test_hostile_formulas_are_refused_quickly_with_a_reason(text, what):
    with pytest.raises(FormulaError, match=what) as excinfo:
        parse_formula(text, SYMS)
    assert isinstance(excinfo.value, ValueError)
    assert len(str(excinfo.value)) < 400  # a long formula is named by its start, not pasted whole


@pytest.mark.timeout(10)
def test_long_flat_sums_and_products_parse_without_recursion():
    n = MAX_FORMULA_CHARS // 2 - 1
    assert parse_formula("+".join(["x"] * n), SYMS) == n * X
    assert parse_formula("*".join(["x"] * n), SYMS) == X**n
    assert parse_formula("-".join(["x"] * 5), SYMS) == -3 * X
    assert parse_formula("x/2/3*4", SYMS) == sympy.Rational(2, 3) * X
    assert parse_formula("1-x+2*x-3", SYMS) == X - 2


@pytest.mark.timeout(10)
def test_numbers_up_to_the_limit_parse():
    assert parse_formula("2**9999", SYMS) == sympy.Integer(2) ** 9999
    assert parse_formula("x*" + "9" * 100, SYMS) == int("9" * 100) * X


@pytest.mark.timeout(10)
def test_nesting_up_to_the_limit_parses():
    depth = MAX_FORMULA_DEPTH - 2
    text = "sin(" * depth + "x" + ")" * depth
    expr = parse_formula(text, SYMS)
    assert expr.free_symbols == {X}


@pytest.mark.timeout(10)
def test_chains_keep_operator_meaning():
    # subtraction and division bind to the term after them, never to the rest of the chain
    assert parse_formula("x - (x + 1) - 2", SYMS) == -3
    assert parse_formula("x / (x * 2) / 3", SYMS) == sympy.Rational(1, 6)
    assert parse_formula("2**3**2", SYMS) == 512  # ** stays right-associative
    assert parse_formula("x**0.5", SYMS) == sympy.sqrt(X)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("formula", ["x**(9**9**9)", "+".join(["x"] * 20_000), "x*" + "9" * 200])
def test_load_table_refuses_a_hostile_formula_naming_file_and_line(tmp_path, formula):
    path = tmp_path / "hostile.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Filename", "Number", "Output", "Formula", "# variables", "v1_name", "v1_low", "v1_high"])
        writer.writerow(["A.1", "1", "F", "2*x", "1", "x", "1", "5"])
        writer.writerow(["A.2", "2", "F", formula, "1", "x", "1", "5"])
    with pytest.raises(FormulaError, match=r"hostile\.csv, line 3: formula"):
        load_table(path)
