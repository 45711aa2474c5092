"""The FSReD equation table: loading, the whitelisted formula parser, the power-law subset."""

from __future__ import annotations

import csv

import pytest
import sympy
from hybrid.tasks.feynman import (
    FeynmanEquation,
    FormulaError,
    feynman_equations,
    get_equation,
    load_table,
    parse_formula,
    power_law_equations,
)

# Rows of the published table whose "# variables" disagrees with the names it lists.
KNOWN_SLIPS = {
    "I.18.12": (2, ("r", "F", "theta")),
    "I.18.14": (3, ("m", "r", "v", "theta")),
    "I.38.12": (3, ("m", "q", "h", "epsilon")),
    "II.37.1": (6, ("mom", "B", "chi")),
    "III.10.19": (3, ("mom", "Bx", "By", "Bz")),
    "III.19.51": (4, ("m", "q", "h", "n", "epsilon")),
}


# ---------------------------------------------------------------- the shipped table


def test_shipped_table_has_all_100_rows_in_order():
    table = feynman_equations()
    assert len(table) == 100
    ids = list(table)
    assert ids[0] == "I.6.2a"
    assert ids[-1] == "III.21.20"
    assert all(isinstance(eq, FeynmanEquation) and eq.id == key for key, eq in table.items())
    # the published table numbers its rows 1..100 (I.13.4 is number 9, out of order)
    assert sorted(eq.number for eq in table.values()) == list(range(1, 101))
    assert table["I.13.4"].number == 9 and table["I.12.2"].number == 10


def test_load_table_without_path_is_the_shipped_table():
    assert load_table() == feynman_equations()


@pytest.mark.parametrize("eq", list(feynman_equations().values()), ids=lambda eq: eq.id)
def test_expression_uses_exactly_the_listed_variables(eq):
    names = {s.name for s in eq.expression.free_symbols}
    assert names == set(eq.variables)
    assert len(eq.variables) == len(set(eq.variables)) == len(eq.ranges)
    assert all(low <= high for low, high in eq.ranges)
    # the expression is built over eq.symbols themselves, not look-alikes
    assert eq.expression.free_symbols == set(eq.symbols)


def test_symbols_are_positive_exactly_where_the_range_is_positive():
    eq = get_equation("I.18.12")  # theta's range starts at 0
    by_name = dict(zip(eq.variables, eq.symbols, strict=True))
    assert by_name["r"].is_positive is True
    assert by_name["theta"].is_positive is None
    assert by_name["theta"].is_real is True


def test_known_slips_keep_listed_names_and_record_declared_count():
    table = feynman_equations()
    slipped = {
        i: (eq.declared_n_variables, eq.variables)
        for i, eq in table.items()
        if eq.declared_n_variables != len(eq.variables)
    }
    assert slipped == KNOWN_SLIPS


def test_coulomb_row_parsed_exactly():
    eq = get_equation("I.12.2")
    q1, q2, epsilon, r = eq.symbols
    assert eq.variables == ("q1", "q2", "epsilon", "r")
    assert eq.ranges == ((1.0, 5.0),) * 4
    assert eq.output == "F"
    assert sympy.simplify(eq.expression - q1 * q2 / (4 * sympy.pi * epsilon * r**2)) == 0


def test_get_equation_known_id():
    eq = get_equation("II.11.27")
    assert eq.id == "II.11.27"
    assert eq.variables == ("n", "alpha", "epsilon", "Ef")
    n, alpha, epsilon, ef = eq.symbols
    truth = n * alpha / (1 - n * alpha / 3) * epsilon * ef
    assert sympy.simplify(eq.expression - truth) == 0


def test_get_equation_unknown_id_raises_key_error_naming_it():
    with pytest.raises(KeyError, match=r"IV\.1\.1"):
        get_equation("IV.1.1")


# ---------------------------------------------------------------- the power-law subset


def test_power_law_subset_is_the_38_known_equations():
    ids = [eq.id for eq in power_law_equations()]
    assert len(ids) == 38 == len(set(ids))
    for expected in ("I.12.1", "I.12.2", "I.14.3", "I.39.22", "I.47.23", "II.34.2", "III.19.51", "III.21.20"):
        assert expected in ids
    for excluded in ("I.6.2a", "I.6.2", "I.10.7", "I.39.11", "I.18.12", "II.11.27", "III.10.19"):
        assert excluded not in ids
    table_order = [i for i in feynman_equations() if i in set(ids)]
    assert ids == table_order


# ---------------------------------------------------------------- parse_formula

X = sympy.Symbol("x", positive=True)
SYMS = {"x": X}


def test_parse_formula_arithmetic_functions_and_constants():
    expr = parse_formula("-x**2/(4*pi) + sqrt(x) - exp(x) + ln(x) + E", SYMS)
    assert expr == -(X**2) / (4 * sympy.pi) + sympy.sqrt(X) - sympy.exp(X) + sympy.log(X) + sympy.E
    assert parse_formula("+x", SYMS) == X


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.5*x", X / 2),
        ("0.1*x", X / 10),
        ("0.333*x", sympy.Rational(333, 1000) * X),
        ("2.0*x", 2 * X),
        ("3*x", 3 * X),
    ],
)
def test_float_literals_become_exact_rationals(text, expected):
    expr = parse_formula(text, SYMS)
    assert expr == expected
    assert not expr.atoms(sympy.Float)


@pytest.mark.parametrize(
    "text",
    [
        "x.__class__",
        "lambda: 1",
        "y + 1",  # unknown name
        "os",
        "sqrt(x=1)",  # keyword arguments
        "log(x, base=2)",
        "sqrt(x, **{})",
        "sqrt(x, 2)",
        "sqrt()",
        "'x'",  # strings
        "b'x'",
        "x[0]",
        "x if x else 1",
        "x < 1",
        "x // 2",
        "x % 2",
        "x ^ 2",
        "1j*x",
        "True*x",
        "1e999",
        "eval('1')",
        "getattr(x, 'y')",
        "x.y(1)",
        "[x]",
        "(x, x)",
        "x +",
        "",
    ],
)
def test_parse_formula_rejects_unsafe_or_unknown_input(text):
    with pytest.raises(FormulaError):
        parse_formula(text, SYMS)


def test_formula_error_is_a_value_error():
    assert issubclass(FormulaError, ValueError)


def test_parse_formula_never_executes_the_string(tmp_path):
    marker = tmp_path / "pwned"
    for text in (
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w')",
        f"x + __import__('pathlib').Path('{marker}').touch()",
    ):
        with pytest.raises(FormulaError):
            parse_formula(text, SYMS)
    assert not marker.exists()


def test_parse_formula_rejects_non_string():
    with pytest.raises(TypeError):
        parse_formula(1.5, SYMS)


# ---------------------------------------------------------------- load_table on user files

HEADER = [
    "Filename",
    "Number",
    "Output",
    "Formula",
    "# variables",
    "v1_name",
    "v1_low",
    "v1_high",
    "v2_name",
    "v2_low",
    "v2_high",
]


def _write(path, header, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_load_table_reads_a_user_csv(tmp_path):
    path = _write(
        tmp_path / "t.csv",
        HEADER,
        [
            ["A.1", "1", "F", "m*a", "2", "m", "1", "5", "a", "2", "3"],
            ["A.2", "2", "E", "0.5*m", "", "m", "1", "5", "", "", ""],
        ],
    )
    table = load_table(path)
    assert list(table) == ["A.1", "A.2"]
    a1, a2 = table["A.1"], table["A.2"]
    assert a1.variables == ("m", "a") and a1.ranges == ((1.0, 5.0), (2.0, 3.0))
    assert a1.declared_n_variables == 2 and a1.number == 1 and a1.output == "F"
    m, a = a1.symbols
    assert a1.expression == m * a
    assert a2.variables == ("m",)
    assert a2.declared_n_variables == 1  # blank count: the listed names
    assert a2.expression == a2.symbols[0] / 2


def test_load_table_missing_column_raises(tmp_path):
    header = [h for h in HEADER if h != "Formula"]
    path = _write(tmp_path / "t.csv", header, [["A.1", "1", "F", "1", "m", "1", "5", "", "", ""]])
    with pytest.raises(ValueError, match="Formula"):
        load_table(path)


def test_load_table_duplicate_ids_raise(tmp_path):
    path = _write(
        tmp_path / "t.csv",
        HEADER,
        [
            ["A.1", "1", "F", "m", "1", "m", "1", "5", "", "", ""],
            ["A.1", "2", "F", "2*m", "1", "m", "1", "5", "", "", ""],
        ],
    )
    with pytest.raises(ValueError, match="duplicate"):
        load_table(path)


@pytest.mark.parametrize(("low", "high"), [("5", "1"), ("one", "5"), ("1", "")])
def test_load_table_bad_range_raises(tmp_path, low, high):
    path = _write(tmp_path / "t.csv", HEADER, [["A.1", "1", "F", "m", "1", "m", low, high, "", "", ""]])
    with pytest.raises(ValueError, match="'m'"):
        load_table(path)


def test_load_table_formula_is_parsed_safely_and_names_the_file(tmp_path):
    marker = tmp_path / "pwned"
    path = _write(
        tmp_path / "t.csv",
        HEADER,
        [
            ["A.1", "1", "F", f"__import__('os').system('touch {marker}')", "1", "m", "1", "5", "", "", ""],
        ],
    )
    with pytest.raises(FormulaError, match=r"t\.csv, line 2: formula"):
        load_table(path)
    assert not marker.exists()


def test_load_table_empty_table_message_does_not_claim_missing_columns(tmp_path):
    path = _write(tmp_path / "t.csv", HEADER, [])
    with pytest.raises(ValueError) as excinfo:
        load_table(path)
    assert "missing columns" not in str(excinfo.value)
