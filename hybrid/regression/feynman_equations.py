"""What a fitted :class:`~hybrid.regression.feynman.FeynmanRegressor` offers: its equations
table, the choice of one equation, and the equation as a numpy function or as text.

* :class:`EquationTable` (``equations_``) is PySR's table without pandas: one
  :class:`Equation` per point of the Pareto front over the user's variables, by
  complexity, with ``loss`` (relative RMS error on the training data), ``score``
  (``-d log(loss) / d complexity`` between consecutive rows, PySR's definition) and
  the solver ``steps`` that found it.
* :func:`select_index` applies ``model_selection`` (``"best"``, ``"accuracy"``,
  ``"score"``, PySR's semantics, or ``"solver"``, the solver's own choice).
* :class:`NumpyFormula` is a picklable ``f(X) -> y`` (the compiled function is dropped
  when pickled and rebuilt on the next call).
* :func:`parse_srepr` reads back ``sympy.srepr`` text (saved models) by walking Python's
  :mod:`ast` against a whitelist of sympy classes: no ``eval``, no ``sympify``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from hybrid.symbolic.regression.pareto import ParetoFront, ParetoPoint, description_length
from hybrid.tasks.arrays import check_X

#: Values of ``model_selection``.
MODEL_SELECTIONS: tuple[str, ...] = ("solver", "best", "accuracy", "score")

#: Loss below which ``log(loss)`` is taken at this floor (an exact formula has loss 0).
LOSS_FLOOR = 1e-300

#: ``"best"`` keeps the equations whose loss is at most this many times the lowest (PySR's rule).
BEST_LOSS_FACTOR = 1.5


@dataclass(frozen=True)
class Equation:
    """One row of an :class:`EquationTable`.

    Attributes:
        complexity: description length in bits
            (:func:`~hybrid.symbolic.regression.pareto.description_length`).
        loss: relative RMS error on the training data, ``rms(f(X) - y) / rms(y)``.
        score: ``-(log loss - log previous loss) / (complexity - previous complexity)``;
            0 for the first row.
        equation: the formula as text (``str`` of the sympy expression).
        sympy: the formula as a sympy expression over the user's variables.
        steps: the solver steps that produced it, e.g. ``("dimensional", "polyfit")``.
    """

    complexity: float
    loss: float
    score: float
    equation: str
    sympy: sympy.Expr
    steps: tuple[str, ...]

    def as_dict(self) -> dict:
        """The row as a dict with the table's column names as keys."""
        return {c: getattr(self, c) for c in EquationTable.columns}


class EquationTable(Sequence):
    """The equations of a fit, simplest first: a read-only sequence of :class:`Equation`.

    ``table[i]`` is a row, ``table.column("loss")`` a column, ``print(table)`` a text table,
    ``table.to_dicts()`` a list of dicts (for ``pandas.DataFrame(...)`` if you use pandas).
    """

    columns: tuple[str, ...] = ("complexity", "loss", "score", "equation", "sympy", "steps")

    def __init__(self, rows: Sequence[Equation]):
        """Hold ``rows`` (already sorted by complexity)."""
        self._rows = tuple(rows)

    def __len__(self) -> int:
        """Number of equations."""
        return len(self._rows)

    def __getitem__(self, i):
        """Row ``i`` (an :class:`Equation`), or an :class:`EquationTable` for a slice."""
        if isinstance(i, slice):
            return EquationTable(self._rows[i])
        return self._rows[i]

    def __iter__(self) -> Iterator[Equation]:
        """The rows, simplest first."""
        return iter(self._rows)

    def column(self, name: str) -> list:
        """The values of column ``name`` (one of :attr:`columns`), row by row.

        Raises:
            ValueError: if ``name`` is not a column.
        """
        if name not in self.columns:
            raise ValueError(f"name must be one of {self.columns}, got {name!r}")
        return [getattr(r, name) for r in self._rows]

    def to_dicts(self) -> list[dict]:
        """The rows as dicts keyed by column name."""
        return [r.as_dict() for r in self._rows]

    def to_string(self, max_equation: int = 60) -> str:
        """A fixed-width text table (the ``sympy`` column is left out: ``equation`` prints it).

        Args:
            max_equation: longer equation texts are cut to this many characters.
        """
        head = f"{'':>3}  {'complexity':>10}  {'loss':>10}  {'score':>9}  {'equation':<{max_equation}}  steps"
        lines = [head]
        for i, r in enumerate(self._rows):
            text = r.equation if len(r.equation) <= max_equation else r.equation[: max_equation - 3] + "..."
            lines.append(f"{i:>3}  {r.complexity:>10.2f}  {r.loss:>10.3e}  {r.score:>9.3f}  "
                         f"{text:<{max_equation}}  {' > '.join(r.steps)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        """:meth:`to_string`."""
        return self.to_string()

    def __repr__(self) -> str:
        """:meth:`to_string`, so that the table prints at the prompt as PySR's does."""
        return self.to_string()


def equation_table(points: Sequence[ParetoPoint], chosen: ParetoPoint, inputs: set[sympy.Symbol]) -> EquationTable:
    """The table of a fit: the Pareto points over ``inputs``, with the solver's formula always in it.

    Args:
        points: the fit's Pareto front (points over a sub-problem's own variables are left out).
        chosen: the solver's formula; it joins the front and, if the front dominates it,
            is inserted anyway at its complexity.
        inputs: the user's variables.

    Returns:
        The rows sorted by complexity, with scores computed between consecutive rows.
    """
    front = ParetoFront()
    for p in points:
        if p.expression.free_symbols <= inputs:
            front.add_point(p)
    on_front = front.add_point(chosen) or any(p.expression == chosen.expression for p in front.points)
    kept = list(front.points)
    if not on_front:
        kept.append(chosen)
        kept.sort(key=lambda q: (q.complexity, q.error))
    rows = []
    for k, p in enumerate(kept):
        score = 0.0
        if k > 0:
            prev = kept[k - 1]
            dc = p.complexity - prev.complexity
            if dc > 0:
                score = -(math.log(max(p.error, LOSS_FLOOR)) - math.log(max(prev.error, LOSS_FLOOR))) / dc
        steps = tuple(s for s in p.source.split("+") if s)
        rows.append(Equation(float(p.complexity), float(p.error), float(score), str(p.expression), p.expression, steps))
    return EquationTable(rows)


def point_of(expression: sympy.Expr, error: float, steps: Sequence[str]) -> ParetoPoint:
    """A :class:`ParetoPoint` for a formula, its error and its steps (complexity by description length)."""
    return ParetoPoint(expression, description_length(expression), float(error), "+".join(steps))


def select_index(table: EquationTable, model_selection: str, solver_expression: sympy.Expr | None = None) -> int:
    """The row ``model_selection`` picks.

    Args:
        table: the equations (not empty).
        model_selection: ``"accuracy"`` (lowest loss), ``"score"`` (highest score), ``"best"``
            (highest score among the rows whose loss is at most 1.5x the lowest), or
            ``"solver"`` (the row holding ``solver_expression``: the solver's choice).
        solver_expression: the solver's formula (for ``"solver"``).

    Returns:
        A row index.

    Raises:
        ValueError: on an unknown ``model_selection`` or an empty table.
    """
    if model_selection not in MODEL_SELECTIONS:
        raise ValueError(f"model_selection must be one of {MODEL_SELECTIONS}, got {model_selection!r}")
    if not len(table):
        raise ValueError("the equations table is empty")
    losses = np.array(table.column("loss"))
    scores = np.array(table.column("score"))
    if model_selection == "solver":
        for i, row in enumerate(table):
            if row.sympy == solver_expression:
                return i
        model_selection = "best"
    if model_selection == "accuracy":
        return int(np.argmin(losses))  # the first (simplest) on a tie
    if model_selection == "score":
        return int(np.argmax(scores))
    ok = np.flatnonzero(losses <= BEST_LOSS_FACTOR * losses.min())
    return int(ok[np.argmax(scores[ok])])


class NumpyFormula:
    """A formula as a picklable numpy function: ``f(X)`` with ``X`` ``(n, d)`` returns ``(n,)``.

    Args:
        expression: the formula.
        symbols: the symbols of ``X``'s columns, in order.

    The compiled function (``sympy.lambdify``) is built on the first call and dropped when
    pickled, so a fitted model pickles.
    """

    def __init__(self, expression: sympy.Expr, symbols: Sequence[sympy.Symbol]):
        self.expression = expression
        self.symbols = tuple(symbols)
        self._fn = None

    def __call__(self, X) -> np.ndarray:
        """Evaluate on ``X`` ``(n, d)``; returns float ``(n,)`` (NaN/inf outside the formula's domain)."""
        X = check_X(X, n_features=len(self.symbols))
        if self._fn is None:
            self._fn = sympy.lambdify(self.symbols, self.expression, modules="numpy")
        with np.errstate(all="ignore"):
            out = np.asarray(self._fn(*X.T), dtype=float)
        return np.broadcast_to(out, (X.shape[0],)).copy()

    def __getstate__(self) -> dict:
        """The state without the compiled function."""
        return {"expression": self.expression, "symbols": self.symbols, "_fn": None}

    def __repr__(self) -> str:
        """``NumpyFormula(<formula>)``."""
        return f"NumpyFormula({self.expression})"


# ----------------------------------------------------------------------------- reading srepr

#: sympy classes and functions :func:`parse_srepr` may call.
_CALLABLE = frozenset({
    "Add", "Mul", "Pow", "Symbol", "Dummy", "Integer", "Rational", "Float",
    "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
    "acosh", "atanh", "exp", "log", "Abs", "sign", "sqrt",
})  # fmt: skip
#: sympy constants :func:`parse_srepr` may name.
_NAMES = {"pi": sympy.pi, "E": sympy.E, "oo": sympy.oo, "zoo": sympy.zoo, "nan": sympy.nan, "I": sympy.I}


def parse_srepr(text: str) -> sympy.Expr:
    """Read ``sympy.srepr`` text back into an expression, without ``eval`` or ``sympify``.

    Only calls of whitelisted sympy classes and functions (arithmetic, numbers, symbols,
    elementary functions) with literal or nested-call arguments are accepted.

    Args:
        text: e.g. ``"Mul(Integer(2), Symbol('x', real=True))"``.

    Returns:
        The expression.

    Raises:
        TypeError: if ``text`` is not a string.
        ValueError: on anything outside the whitelist, or text that is not srepr.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"text is not a sympy srepr expression: {exc}") from None
    return _build(tree.body)


def _build(node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        value = _build(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALLABLE:
        args = [_build(a) for a in node.args]
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None or not isinstance(kw.value, ast.Constant):
                raise ValueError("text: keyword arguments must be literals")
            kwargs[kw.arg] = kw.value.value
        return getattr(sympy, node.func.id)(*args, **kwargs)
    raise ValueError(f"text: {ast.dump(node)[:80]} is not allowed in a saved formula")
