"""Description length in bits and a Pareto front of (complexity, error) (AI Feynman 2.0).

AI Feynman 2.0 (Udrescu et al. 2020) keeps, instead of a single answer, every candidate
formula that no other candidate beats on both complexity and error. Complexity is a
description length: the bits needed to write the formula down.

Description-length convention (:func:`description_length`)
-----------------------------------------------------------
The expression is read as a binary expression tree in the usual written form, and

    bits = n_tokens * log2(alphabet_size) + sum(bits of each numeric constant)

* **Tokens** are variables, the binary operators ``+ - * / ^``, the unary ``neg``
  (a leading minus) and ``inv`` (``1/x``), functions (``sqrt exp log sin cos tan asin acos
  atan sinh cosh tanh abs``, and any other applied function, one token each) and the
  named constants ``pi`` and ``E``. An ``n``-ary sum or product costs ``n - 1`` operator
  tokens; a term with a negative coefficient in a sum is a subtraction (``x - y`` costs
  the same as ``x + y``); factors with negative exponents in a product are a division
  (``x/y`` costs the same as ``x*y``); ``x**(1/2)`` is ``sqrt(x)`` and ``x**-1`` is
  ``inv(x)``; ``x**k`` otherwise is ``x``, ``^`` and the constant ``k``.
* **The alphabet** is the 22 operators/functions/named constants above plus one symbol
  per variable: ``n_variables`` if given, else the number of distinct free symbols
  (at least 1). So every token costs ``log2(22 + n_variables)`` bits.
* **Numeric constants** cost no token, only their own bits: an integer ``n`` costs
  ``log2(1 + |n|)``; a rational ``p/q`` costs ``log2(1 + |p|) + log2(q)``; any other
  number (a ``Float``, ``oo``, ``nan``, ...) costs ``float_bits`` (32 by default) whatever
  its value. A negative constant adds a ``neg`` token unless a sum absorbs it as a
  subtraction.

So ``x*y`` (3 tokens) < ``x*y + z`` (5 tokens), and ``2*x`` (2 tokens + 1.58 bits) <
``1.2345*x`` (2 tokens + 32 bits). The result depends only on the expression's structure
as sympy stores it, so it is deterministic. numpy and sympy only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sympy

#: Operators, functions and named constants of the alphabet (variables are added per problem).
OPERATOR_ALPHABET: tuple[str, ...] = (
    "+", "-", "*", "/", "^", "neg", "inv",
    "sqrt", "exp", "log", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "abs",
    "pi", "E",
)  # fmt: skip

#: Bits charged for a constant that is not an exact rational.
FLOAT_BITS = 32.0


def description_length(
    expr: sympy.Expr | int | float,
    *,
    n_variables: int | None = None,
    float_bits: float = FLOAT_BITS,
) -> float:
    """The description length of ``expr`` in bits (the module docstring gives the convention).

    Args:
        expr: a sympy expression (Python ints and floats are accepted as constants;
            strings are not parsed).
        n_variables: the number of variables in the alphabet (e.g. the problem's inputs);
            default: the number of free symbols of ``expr``, at least 1.
        float_bits: the bits charged for each non-rational numeric constant.

    Returns:
        ``n_tokens * log2(len(OPERATOR_ALPHABET) + n_variables) + constant bits`` (>= 0).

    Raises:
        TypeError: if ``expr`` is not a sympy object or a number.
        ValueError: if ``n_variables`` is negative.
    """
    expr = _as_sympy(expr)
    if n_variables is None:
        n_variables = max(1, len(expr.free_symbols))
    if n_variables < 0:
        raise ValueError(f"n_variables must be >= 0, got {n_variables}")
    tokens, bits = _cost(expr, float_bits)
    return tokens * math.log2(len(OPERATOR_ALPHABET) + n_variables) + bits


@dataclass(frozen=True)
class ParetoPoint:
    """One candidate formula on a :class:`ParetoFront`.

    Attributes:
        expression: the formula.
        complexity: its description length in bits.
        error: its error on the data (e.g. RMS error relative to ``rms(y)``); lower is better.
        source: which step produced it, e.g. ``"polyfit"``, ``"bruteforce"``, ``"separable(add)"``.
    """

    expression: sympy.Expr
    complexity: float
    error: float
    source: str = ""


class ParetoFront:
    """The candidates that no other candidate beats on both complexity and error.

    A point dominates another if its complexity and its error are both no larger. On a
    tie in complexity the lower error stays; on a tie in both the point added first stays.
    An expression already on the front is not added twice.
    """

    def __init__(self, points: Iterable[ParetoPoint] = (), *, n_variables: int | None = None) -> None:
        """Start a front.

        Args:
            points: initial points (each goes through :meth:`add_point`).
            n_variables: passed to :func:`description_length` when :meth:`add` computes a
                complexity, so that all candidates of one problem share an alphabet.
        """
        self._points: list[ParetoPoint] = []
        self.n_variables = n_variables
        for p in points:
            self.add_point(p)

    @property
    def points(self) -> list[ParetoPoint]:
        """The points, sorted by complexity ascending (so error descending); a copy."""
        return list(self._points)

    def add(
        self,
        expression: sympy.Expr,
        error: float,
        source: str = "",
        complexity: float | None = None,
    ) -> bool:
        """Offer a candidate.

        Args:
            expression: the formula.
            error: its error on the data (finite, >= 0; NaN or inf is never kept).
            source: which step produced it.
            complexity: its description length; computed by :func:`description_length`
                (with this front's ``n_variables``) if ``None``.

        Returns:
            ``True`` if the candidate is now on the front, ``False`` if it was dominated,
            a duplicate, or had a non-finite error.

        Raises:
            ValueError: if ``error`` or ``complexity`` is negative.
        """
        expression = _as_sympy(expression)
        if complexity is None:
            complexity = description_length(expression, n_variables=self.n_variables)
        return self.add_point(ParetoPoint(expression, float(complexity), float(error), source))

    def add_point(self, point: ParetoPoint) -> bool:
        """Offer a ready-made :class:`ParetoPoint`; the same rules and return value as :meth:`add`.

        Args:
            point: the candidate.

        Returns:
            ``True`` if it is now on the front.

        Raises:
            ValueError: if its error or complexity is negative (or its complexity is NaN).
        """
        if not math.isfinite(point.error):
            return False
        if point.error < 0:
            raise ValueError(f"error must be >= 0, got {point.error}")
        if math.isnan(point.complexity) or point.complexity < 0:
            raise ValueError(f"complexity must be >= 0, got {point.complexity}")
        for q in self._points:
            if q.expression == point.expression and q.error <= point.error:
                return False  # duplicate
            if q.complexity <= point.complexity and q.error <= point.error:
                return False  # dominated (or tied with an earlier point)
        self._points = [
            q
            for q in self._points
            if not (q.complexity >= point.complexity and q.error >= point.error) and q.expression != point.expression
        ]
        self._points.append(point)
        self._points.sort(key=lambda q: (q.complexity, q.error))
        return True

    def best(self, max_error: float | None = None) -> ParetoPoint | None:
        """Pick one point.

        Args:
            max_error: the largest acceptable error, or ``None``.

        Returns:
            The simplest point with ``error <= max_error``; if there is none (or
            ``max_error`` is ``None``) the point with the lowest error; ``None`` if the
            front is empty.
        """
        if not self._points:
            return None
        if max_error is not None:
            for p in self._points:
                if p.error <= max_error:
                    return p
        return min(self._points, key=lambda q: (q.error, q.complexity))

    def merge(self, other: ParetoFront | Iterable[ParetoPoint]) -> int:
        """Offer every point of ``other`` (with its own complexity and source).

        Args:
            other: another front, or any iterable of points.

        Returns:
            How many of them were kept when offered.
        """
        return sum(self.add_point(p) for p in list(other))

    def __len__(self) -> int:
        """The number of points on the front."""
        return len(self._points)

    def __iter__(self) -> Iterator[ParetoPoint]:
        """The points in order of complexity."""
        return iter(list(self._points))

    def __repr__(self) -> str:
        """A one-line summary, e.g. ``ParetoFront(3 points)``."""
        return f"ParetoFront({len(self._points)} points)"


# ---------------------------------------------------------------------------- cost of a tree


def _as_sympy(expr) -> sympy.Basic:
    if isinstance(expr, sympy.Basic):
        return expr
    if isinstance(expr, bool):
        raise TypeError("expected a sympy expression or a number, got bool")
    if isinstance(expr, int):
        return sympy.Integer(expr)
    if isinstance(expr, float):
        return sympy.Float(expr)
    raise TypeError(f"expected a sympy expression or a number, got {type(expr).__name__}")


def _number_bits(x: sympy.Number, float_bits: float) -> float:
    """Bits of a non-negative number's magnitude."""
    if isinstance(x, sympy.Integer):
        return math.log2(1 + abs(int(x)))
    if isinstance(x, sympy.Rational):
        return math.log2(1 + abs(int(x.p))) + math.log2(int(x.q))
    return float_bits


def _cost(e: sympy.Basic, fb: float) -> tuple[int, float]:
    """``(tokens, constant bits)`` of ``e``."""
    if isinstance(e, sympy.Symbol):
        return 1, 0.0
    if e is sympy.pi or e is sympy.E:
        return 1, 0.0
    if isinstance(e, sympy.Number):
        if e.is_extended_real and e.is_negative:
            return 1, _number_bits(-e, fb)  # neg token
        return 0, _number_bits(e, fb)
    if isinstance(e, sympy.NumberSymbol):  # EulerGamma, GoldenRatio, ...: a named constant
        return 1, 0.0
    if isinstance(e, sympy.Add):
        return _add_cost(e, fb)
    if isinstance(e, sympy.Mul):
        return _mul_cost(e, fb)
    if isinstance(e, sympy.Pow):
        return _pow_cost(e.base, e.exp, fb)
    # functions (sin, exp, ...) and anything else: one token for the head plus the arguments
    tokens, bits = 1, 0.0
    for a in e.args:
        t, b = _cost(a, fb)
        tokens, bits = tokens + t, bits + b
    return tokens, bits


def _add_cost(e: sympy.Add, fb: float) -> tuple[int, float]:
    tokens, bits = 0, 0.0
    for i, term in enumerate(e.args):
        coeff, rest = term.as_coeff_Mul()
        if coeff.is_extended_real and coeff.is_negative:
            t, b = _cost(-term, fb)  # subtraction of the positive term
            t += 1  # '-' (or a leading 'neg' for the first term)
        else:
            t, b = _cost(term, fb)
            t += 0 if i == 0 else 1  # '+'
        tokens, bits = tokens + t, bits + b
    return tokens, bits


def _mul_cost(e: sympy.Mul, fb: float) -> tuple[int, float]:
    coeff, factors = e.as_coeff_mul()
    tokens, bits = 0, 0.0
    if coeff.is_extended_real and coeff.is_negative:
        tokens += 1  # neg
        coeff = -coeff
    numerator: list[sympy.Basic] = []
    denominator: list[sympy.Basic] = []
    for f in factors:
        if isinstance(f, sympy.Pow) and f.exp.is_Number and f.exp.is_negative:
            denominator.append(sympy.Pow(f.base, -f.exp))
        else:
            numerator.append(f)
    if coeff != 1:
        numerator.insert(0, coeff)
    for group in (numerator, denominator):
        for f in group:
            t, b = _cost(f, fb)
            tokens, bits = tokens + t, bits + b
        if group:
            tokens += len(group) - 1  # '*' between factors
    if denominator:
        tokens += 1  # '/' (or 'inv' when nothing is above the line)
    return tokens, bits


def _pow_cost(base: sympy.Basic, exp: sympy.Basic, fb: float) -> tuple[int, float]:
    if exp.is_Number and exp.is_negative:
        t, b = _pow_cost(base, -exp, fb)
        return t + 1, b  # inv
    t, b = _cost(base, fb)
    if exp == sympy.Rational(1, 2):
        return t + 1, b  # sqrt
    if exp == 1:
        return t, b
    te, be = _cost(exp, fb)
    return t + te + 1, b + be  # '^'
