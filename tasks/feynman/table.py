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


#: At most this many characters in a formula: FSReD's longest is under 100, and Python's
#: parser overflows its own recursion limit on a few thousand chained operators.
MAX_FORMULA_CHARS = 4000
#: At most this many levels of nested operations and calls (a chain of ``+``/``-`` or of
#: ``*``/``/`` counts as one level, so a long flat sum is not deep).
MAX_FORMULA_DEPTH = 100
#: Integer literals may have at most this many digits.
MAX_LITERAL_DIGITS = 100
#: A numeric exponent may be at most this large in magnitude (``x**(9**9)`` is refused).
MAX_EXPONENT = 10_000
#: An exact number in the result may have at most this many bits (about 3,000 digits, so
#: it still prints): ``10**10000`` is refused before sympy computes it, and so is a product
#: of many long literals.
MAX_NUMBER_BITS = 10_000

_ADDITIVE = (ast.Add, ast.Sub)
_MULTIPLICATIVE = (ast.Mult, ast.Div)


def _chain_group(node: ast.AST) -> tuple[type, ...] | None:
    """The operator group (additive or multiplicative) of a binary node, else None."""
    if isinstance(node, ast.BinOp):
        for group in (_ADDITIVE, _MULTIPLICATIVE):
            if isinstance(node.op, group):
                return group
    return None


def _nesting_depth(root: ast.AST) -> int:
    """Levels of nesting below ``root``, computed without recursion.

    A left operand of the same operator group (``a + b - c``'s ``a + b``) does not add a
    level: flat sums and products are as shallow as their deepest term.
    """
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        group = _chain_group(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.operator, ast.unaryop, ast.expr_context)):
                continue
            same_chain = group is not None and child is node.left and _chain_group(child) is group
            stack.append((child, depth if same_chain else depth + 1))
    return deepest


def _flatten_chain(node: ast.BinOp, group: tuple[type, ...]) -> list[tuple[ast.operator | None, ast.AST]]:
    """The operands of a left-leaning chain of one operator group, each with the operator
    before it (``None`` for the first), found without recursion."""
    items: list[tuple[ast.operator | None, ast.AST]] = []
    current: ast.AST = node
    while isinstance(current, ast.BinOp) and _chain_group(current) is group:
        items.append((current.op, current.right))
        current = current.left
    items.append((None, current))
    items.reverse()
    return items


def _exact_bits(expr: sympy.Basic) -> float:
    """The size in bits (``log2``) of the largest numerator or denominator among ``expr``'s exact numbers."""
    bits = 0.0
    for atom in expr.atoms(sympy.Rational):
        for part in (int(atom.p), int(atom.q)):
            if part not in (0, 1, -1):
                bits = max(bits, math.log2(abs(part)))
    return bits


def _checked_power(base: sympy.Expr, exponent: sympy.Expr, what: str) -> sympy.Expr:
    """``base**exponent``, refused before sympy evaluates a power too large to compute."""
    if exponent.is_Number and exponent.is_finite:
        if abs(exponent) > MAX_EXPONENT:
            raise FormulaError(f"{what}: exponent {exponent} is larger than {MAX_EXPONENT} in magnitude")
        if _exact_bits(base) * abs(exponent) > MAX_NUMBER_BITS:
            raise FormulaError(
                f"{what}: a power to the exponent {exponent} would produce numbers of more than {MAX_NUMBER_BITS} bits"
            )
    return base**exponent


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
    ``+ - * / **``, unary ``-``/``+`` and calls of ``functions``. The work is bounded, so
    a hostile string fails fast instead of hanging: at most :data:`MAX_FORMULA_CHARS`
    characters, :data:`MAX_FORMULA_DEPTH` levels of nesting, integer literals of at most
    :data:`MAX_LITERAL_DIGITS` digits, numeric exponents of at most :data:`MAX_EXPONENT`
    and exact numbers of at most :data:`MAX_NUMBER_BITS` bits.

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
            arguments, any other construct, or a formula over the limits above.

    Example:
        >>> import sympy
        >>> x = sympy.Symbol("x")
        >>> formula_to_sympy("2*x**2 + 1", names={"x": x}, functions={}, read_float=sympy.Float, what="f")
        2*x**2 + 1
    """
    if len(what) > 120:  # the message names a long formula by its start
        what = what[:117] + "..."
    if len(source) > MAX_FORMULA_CHARS:
        raise FormulaError(f"{what} is {len(source)} characters long; at most {MAX_FORMULA_CHARS} are allowed")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"{what} is not valid syntax: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise FormulaError(f"{what} is nested too deeply for Python's parser") from None
    depth = _nesting_depth(tree.body)
    if depth > MAX_FORMULA_DEPTH:
        raise FormulaError(f"{what} is nested {depth} levels deep; at most {MAX_FORMULA_DEPTH} are allowed")

    def walk(node: ast.AST) -> sympy.Expr:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            if isinstance(node.value, bool) or not (allow_non_finite or math.isfinite(node.value)):
                raise FormulaError(f"{what}: constant {node.value!r} is not allowed")
            if isinstance(node.value, float):
                return read_float(node.value)
            if abs(node.value) >= 10**MAX_LITERAL_DIGITS:
                raise FormulaError(f"{what}: integer literal has more than {MAX_LITERAL_DIGITS} digits")
            return sympy.Integer(node.value)
        if isinstance(node, ast.Name):
            if node.id in names:
                return names[node.id]
            raise FormulaError(f"{what}: unknown name {node.id!r}")
        group = _chain_group(node)
        if group is not None:
            # a chain of + - (or * /) is built in one step: no recursion per term, and
            # sympy's Add/Mul flatten all terms at once instead of one pair at a time
            assert isinstance(node, ast.BinOp)
            terms = []
            for op, operand in _flatten_chain(node, group):
                value = walk(operand)
                if isinstance(op, ast.Sub):
                    value = -value
                elif isinstance(op, ast.Div):
                    value = 1 / value if value.is_Number else sympy.Pow(value, -1)
                terms.append(value)
            value = sympy.Add(*terms) if group is _ADDITIVE else sympy.Mul(*terms)
            if _exact_bits(value) > MAX_NUMBER_BITS:
                raise FormulaError(f"{what}: a sum or product of numbers has more than {MAX_NUMBER_BITS} bits")
            return value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return _checked_power(walk(node.left), walk(node.right), what)
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
            ``low > high``, two rows share an id, or a formula is not one that
            :func:`parse_formula` accepts (a :class:`FormulaError` naming the file and line).
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
        try:
            _ = eq.expression  # parsed (and cached) now, so a bad formula names its file and line
        except FormulaError as exc:
            raise FormulaError(f"{source}, line {line}: {exc}") from None
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
