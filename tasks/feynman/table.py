"""The Feynman Symbolic Regression Database (FSReD) equation table.

Reads FSReD's ``FeynmanEquations.csv`` as it is published (columns ``Filename``,
``Number``, ``Output``, ``Formula``, ``# variables``, ``v1_name``, ``v1_low``,
``v1_high``, ...) and turns each row into a :class:`FeynmanEquation` whose formula is a
sympy expression.

Formulas are parsed by walking Python's syntax tree against a whitelist (numbers,
the row's own variable names, ``pi``, arithmetic and a fixed set of functions); the
string is never evaluated, so a table from elsewhere is safe to load.

The published table has known slips: several rows give a ``# variables`` count that
disagrees with the variable names listed (``I.18.12`` says 2 and lists ``r, F,
theta``). The listed names are what the formula uses, so they win; the slip is kept
in :attr:`FeynmanEquation.declared_n_variables` for reference.
"""

from __future__ import annotations

import ast
import csv
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from os import PathLike
from pathlib import Path

import sympy

#: Functions a formula may call, by the names FSReD uses.
ALLOWED_FUNCTIONS: dict[str, sympy.FunctionClass | type] = {
    "sqrt": sympy.sqrt,
    "exp": sympy.exp,
    "ln": sympy.log,
    "log": sympy.log,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "tanh": sympy.tanh,
    "arcsin": sympy.asin,
    "arccos": sympy.acos,
    "arctan": sympy.atan,
    "asin": sympy.asin,
    "acos": sympy.acos,
    "atan": sympy.atan,
}
ALLOWED_CONSTANTS = {"pi": sympy.pi, "E": sympy.E}


class FormulaError(ValueError):
    """A formula string uses syntax or names outside the whitelist."""


@dataclass(frozen=True)
class FeynmanEquation:
    """One row of the FSReD table.

    Attributes:
        id: the FSReD id, e.g. ``"I.12.2"``.
        number: the row's ``Number`` column.
        output: the output variable's name.
        formula: the formula as written in the table.
        variables: variable names, in the table's order (the order of ``X``'s columns).
        ranges: ``(low, high)`` sampling range of each variable.
        declared_n_variables: the table's ``# variables`` column, slips included.
    """

    id: str
    number: int
    output: str
    formula: str
    variables: tuple[str, ...]
    ranges: tuple[tuple[float, float], ...]
    declared_n_variables: int

    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        """Sympy symbols of the variables; positive where the whole range is positive."""
        return tuple(
            sympy.Symbol(name, positive=True) if low > 0 else sympy.Symbol(name, real=True)
            for name, (low, _) in zip(self.variables, self.ranges, strict=True)
        )

    @functools.cached_property
    def expression(self) -> sympy.Expr:
        """The formula as a sympy expression over :attr:`symbols`."""
        return parse_formula(self.formula, dict(zip(self.variables, self.symbols, strict=True)))


def parse_formula(text: str, symbols: dict[str, sympy.Symbol]) -> sympy.Expr:
    """Parse an arithmetic formula into sympy without evaluating the string.

    Args:
        text: a formula in Python syntax, e.g. ``"q1*q2/(4*pi*epsilon*r**2)"``.
        symbols: the names the formula may use, mapped to their sympy symbols.

    Returns:
        The sympy expression. Float literals that are integers become sympy Integers,
        others exact Rationals of their decimal form (``0.5`` -> ``1/2``).

    Raises:
        FormulaError: on a syntax error, an unknown name, or any construct other than
            numbers, names, ``+ - * / **``, unary minus and whitelisted function calls.
    """
    if not isinstance(text, str):
        raise TypeError(f"formula must be a str, got {type(text).__name__}")
    return formula_to_sympy(
        text.strip(),
        names={**ALLOWED_CONSTANTS, **symbols},
        functions={name: (1, fn) for name, fn in ALLOWED_FUNCTIONS.items()},
        read_float=lambda v: sympy.nsimplify(v, rational=True),
        what=f"formula {text!r}",
    )


_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


def formula_to_sympy(
    source: str,
    *,
    names: Mapping[str, sympy.Expr],
    functions: Mapping[str, tuple[int, Callable[..., sympy.Expr]]],
    read_float: Callable[[float], sympy.Expr],
    what: str,
    allow_non_finite: bool = False,
) -> sympy.Expr:
    """Parse infix Python-syntax ``source`` into sympy by walking its AST against whitelists.

    The string is never evaluated. Allowed: int and float literals, the ``names``,
    ``+ - * / **``, unary ``-``/``+`` and calls of ``functions``.

    Args:
        source: the formula text.
        names: the symbols and constants it may use.
        functions: name -> (number of arguments, sympy builder).
        read_float: turns a float literal into sympy (exact rational, or ``Float``).
        what: how error messages name the formula (``"formula 'x*y'"``).
        allow_non_finite: accept ``inf``/``nan`` float literals.

    Returns:
        The sympy expression.

    Raises:
        FormulaError: on a syntax error, an unknown name or function, a wrong number of
            arguments, or any other construct.
    """
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"{what} is not valid syntax: {exc.msg}") from None

    def walk(node: ast.AST) -> sympy.Expr:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            if isinstance(node.value, bool) or not (allow_non_finite or math.isfinite(node.value)):
                raise FormulaError(f"{what}: constant {node.value!r} is not allowed")
            return read_float(node.value) if isinstance(node.value, float) else sympy.Integer(node.value)
        if isinstance(node, ast.Name):
            if node.id in names:
                return names[node.id]
            raise FormulaError(f"{what}: unknown name {node.id!r}")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = walk(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Call):
            func = node.func
            if not isinstance(func, ast.Name) or func.id not in functions:
                name = func.id if isinstance(func, ast.Name) else ast.dump(func)
                raise FormulaError(f"{what}: function {name!r} is not allowed")
            arity, build = functions[func.id]
            if node.keywords or len(node.args) != arity:
                count = "one argument" if arity == 1 else f"{arity} arguments"
                raise FormulaError(f"{what}: {func.id} takes exactly {count}")
            return build(*(walk(arg) for arg in node.args))
        raise FormulaError(f"{what}: {type(node).__name__} is not allowed")

    return walk(tree.body)


def load_table(path: str | PathLike[str] | None = None) -> dict[str, FeynmanEquation]:
    """Load an FSReD equation table.

    Args:
        path: a CSV in FSReD's layout; ``None`` loads the copy shipped with Hybrid.

    Returns:
        Equations keyed by FSReD id, in the table's order.

    Raises:
        ValueError: if a required column is missing, a range is not numeric or has
            ``low > high``, or two rows share an id.
    """
    if path is None:
        text = resources.files("hybrid.tasks.feynman").joinpath("FeynmanEquations.csv").read_text()
        source = "the shipped FeynmanEquations.csv"
    else:
        text = Path(path).read_text()
        source = str(path)
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        raise ValueError(f"{source}: the table has no rows")
    required = {"Filename", "Output", "Formula", "v1_name", "v1_low", "v1_high"}
    if not rows or not required <= set(rows[0]):
        missing = sorted(required - set(rows[0] if rows else ()))
        raise ValueError(f"{source}: not an FSReD table (missing columns {missing})")
    table: dict[str, FeynmanEquation] = {}
    for line, row in enumerate(rows, start=2):
        eq = _row_to_equation(row, f"{source}, line {line}")
        if eq.id in table:
            raise ValueError(f"{source}, line {line}: duplicate equation id {eq.id!r}")
        table[eq.id] = eq
    return table


def _row_to_equation(row: dict[str, str], where: str) -> FeynmanEquation:
    names: list[str] = []
    ranges: list[tuple[float, float]] = []
    for i in range(1, 100):
        name = (row.get(f"v{i}_name") or "").strip()
        if not name:
            if f"v{i}_name" not in row:
                break
            continue
        try:
            low, high = float(row[f"v{i}_low"]), float(row[f"v{i}_high"])
        except (TypeError, ValueError):
            raise ValueError(f"{where}: range of {name!r} is not numeric") from None
        if not low <= high:
            raise ValueError(f"{where}: range of {name!r} has low > high")
        names.append(name)
        ranges.append((low, high))
    declared = (row.get("# variables") or "").strip()
    number = (row.get("Number") or "").strip()
    return FeynmanEquation(
        id=row["Filename"].strip(),
        number=int(float(number)) if number else 0,
        output=row["Output"].strip(),
        formula=row["Formula"].strip(),
        variables=tuple(names),
        ranges=tuple(ranges),
        declared_n_variables=int(float(declared)) if declared else len(names),
    )


@functools.lru_cache(maxsize=1)
def feynman_equations() -> dict[str, FeynmanEquation]:
    """The shipped FSReD table (cached): equations keyed by id."""
    return load_table()


def get_equation(equation_id: str) -> FeynmanEquation:
    """The shipped equation with id ``equation_id``: FSReD's (``"II.11.27"``), the hard set's
    (``"rel.doppler"``, see :mod:`hybrid.tasks.feynman.hard`) or a generated one (``"gen.d3.s0.7"``,
    rebuilt from its id, see :mod:`hybrid.tasks.feynman.generated`).

    Raises:
        KeyError: naming the id when it is none of these.
    """
    table = feynman_equations()
    if equation_id in table:
        return table[equation_id]
    from hybrid.tasks.feynman.generated import equation_from_id
    from hybrid.tasks.feynman.hard import hard_equations

    if equation_id in hard_equations():
        return hard_equations()[equation_id]
    if isinstance(equation_id, str) and equation_id.startswith("gen."):
        return equation_from_id(equation_id)
    raise KeyError(f"no FSReD, hard-set or generated equation with id {equation_id!r}")
