"""Dimensional analysis: a dimensionful prefactor and dimensionless groups (AI Feynman, step 1).

Given the unit exponents of the inputs (rows of ``input_units``: one variable each, one
column per base unit, e.g. m, s, kg, K, A) and of the output, any physical law
``y = f(x_1, ..., x_n)`` can be written as

    y = prod_i x_i**p_i * g(Pi_1, ..., Pi_k),   Pi_j = prod_i x_i**G[j, i],

where ``prod x_i**p_i`` has the output's units and every ``Pi_j`` is dimensionless
(Buckingham's Pi theorem). ``p`` solves ``U.T @ p = u_out`` (``U = input_units``) and the
rows of ``G`` span the nullspace of ``U.T``. All linear algebra here is exact
(:class:`fractions.Fraction`); no floats touch the exponents.

Simple choices are preferred. Dimensionless groups are built from *circuits* (minimal
sets of inputs whose units can cancel, e.g. two lengths giving ``x1/x2``), ranked by the
number of variables they use, then the size of their exponents; the prefactor is the
sparsest solution (fewest variables, then smallest ``sum |p_i|``). numpy and sympy only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import comb, gcd, lcm

import numpy as np
import sympy
from hybrid.tasks.arrays import check_X, check_xy

# Unit exponents may be integers or simple rationals (CGS units have halves).
_MAX_UNIT_DENOMINATOR = 6
_UNIT_TOLERANCE = 1e-9
# Subset enumeration (circuits, sparse particular solutions) is skipped above this many subsets.
_MAX_SUBSETS = 20000
# Small integer combinations of the group basis tried for the prefactor.
_MAX_COMBINATIONS = 20000

Vector = tuple[Fraction, ...]


@dataclass(frozen=True)
class DimensionalReduction:
    """The result of :func:`dimensional_reduction`: ``y = prefactor(x) * g(groups(x))``.

    Attributes:
        prefactor_exponents: ``p``, one exact ``sympy.Rational`` per input variable, such
            that ``prod x_i**p_i`` has the output's units.
        group_exponents: ``G``, ``n_groups`` rows of ``n_vars`` integers; group ``j`` is
            ``prod_i x_i**G[j][i]`` and is dimensionless. The first non-zero entry of each
            row is positive. A dimensionless input ``x_i`` is its own group.
        n_groups: the number of dimensionless groups (``len(group_exponents)``). With 0
            groups the law must be ``y = C * prefactor``.
    """

    prefactor_exponents: tuple[sympy.Rational, ...]
    group_exponents: tuple[tuple[int, ...], ...]
    n_groups: int

    def __post_init__(self) -> None:
        """Check that the fields agree with each other."""
        if self.n_groups != len(self.group_exponents):
            raise ValueError(f"n_groups={self.n_groups} but {len(self.group_exponents)} rows of group_exponents")
        n_vars = len(self.prefactor_exponents)
        for row in self.group_exponents:
            if len(row) != n_vars:
                raise ValueError(f"a group row has {len(row)} exponents for {n_vars} variables")

    @property
    def n_vars(self) -> int:
        """The number of input variables."""
        return len(self.prefactor_exponents)

    def groups(self, X: np.ndarray) -> np.ndarray:
        """Evaluate the dimensionless groups on data.

        Args:
            X: inputs, shape ``(n, n_vars)``, finite. Negative values are fine (exponents
                of groups are integers); a zero raised to a negative exponent gives ``inf``.

        Returns:
            Array ``(n, n_groups)``; column ``j`` is ``prod_i X[:, i]**G[j][i]``.
        """
        X = check_X(X, n_features=self.n_vars)
        out = np.empty((X.shape[0], self.n_groups))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for j, row in enumerate(self.group_exponents):
                out[:, j] = _power_product(X, np.array(row, dtype=float))
        return out

    def prefactor(self, X: np.ndarray) -> np.ndarray:
        """Evaluate the prefactor ``prod_i x_i**p_i`` on data.

        Args:
            X: inputs, shape ``(n, n_vars)``, finite.

        Returns:
            Array ``(n,)``. A negative ``x_i`` with a fractional ``p_i`` gives ``nan`` (numpy's
            real power); a zero with a negative ``p_i`` gives ``inf``.
        """
        X = check_X(X, n_features=self.n_vars)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return _power_product(X, np.array([float(p) for p in self.prefactor_exponents]))

    def reduce_target(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The dimensionless target ``y / prefactor(X)``, which depends on the groups only.

        Args:
            X: inputs ``(n, n_vars)``.
            y: outputs ``(n,)``.

        Returns:
            Array ``(n,)`` (``nan``/``inf`` where the prefactor is ``nan`` or 0).
        """
        X, y = check_xy(X, y)
        pre = self.prefactor(X)
        with np.errstate(divide="ignore", invalid="ignore"):
            return y / pre

    def group_expressions(self, symbols: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
        """The groups as sympy expressions.

        Args:
            symbols: one sympy symbol per input variable, in column order.

        Returns:
            ``n_groups`` expressions ``prod_i symbols[i]**G[j][i]``.
        """
        symbols = self._check_symbols(symbols)
        return [_monomial(symbols, row) for row in self.group_exponents]

    def prefactor_expression(self, symbols: Sequence[sympy.Symbol]) -> sympy.Expr:
        """The prefactor ``prod_i symbols[i]**p_i`` as a sympy expression.

        Args:
            symbols: one sympy symbol per input variable, in column order.

        Returns:
            The expression (``1`` if every ``p_i`` is 0).
        """
        symbols = self._check_symbols(symbols)
        return _monomial(symbols, self.prefactor_exponents)

    def restore(
        self,
        g_expr: sympy.Expr,
        group_symbols: Sequence[sympy.Symbol],
        variable_symbols: Sequence[sympy.Symbol],
    ) -> sympy.Expr:
        """Undo the reduction: ``prefactor * g`` with every group symbol written out.

        Args:
            g_expr: the law found for the reduced target, over ``group_symbols``.
            group_symbols: the symbol standing for each group, ``n_groups`` of them.
            variable_symbols: one symbol per original input variable.

        Returns:
            ``prefactor_expression(variable_symbols) * g_expr`` with ``group_symbols[j]``
            replaced by ``group_expressions(variable_symbols)[j]``.

        Raises:
            ValueError: if the number of group or variable symbols is wrong.
            TypeError: if ``g_expr`` is neither a sympy expression nor a number (strings are
                not parsed).
        """
        if len(group_symbols) != self.n_groups:
            raise ValueError(f"need {self.n_groups} group symbols, got {len(group_symbols)}")
        if isinstance(g_expr, bool) or not isinstance(g_expr, (sympy.Basic, int, float)):
            raise TypeError(f"g_expr must be a sympy expression or a number, got {type(g_expr).__name__}")
        if isinstance(g_expr, int):
            g_expr = sympy.Integer(g_expr)
        elif isinstance(g_expr, float):
            g_expr = sympy.Float(g_expr)
        exprs = self.group_expressions(variable_symbols)
        substituted = g_expr.xreplace(dict(zip(group_symbols, exprs, strict=True)))
        return self.prefactor_expression(variable_symbols) * substituted

    def _check_symbols(self, symbols: Sequence[sympy.Symbol]) -> tuple[sympy.Symbol, ...]:
        symbols = tuple(symbols)
        if len(symbols) != self.n_vars:
            raise ValueError(f"need {self.n_vars} variable symbols, got {len(symbols)}")
        return symbols


def dimensional_reduction(
    input_units: np.ndarray | Sequence[Sequence[float]],
    output_units: np.ndarray | Sequence[float],
    *,
    base_names: Sequence[str] | None = None,
) -> DimensionalReduction:
    """Split a law into a dimensionful prefactor and a function of dimensionless groups.

    Args:
        input_units: unit exponents of the inputs, shape ``(n_vars, n_base)``; row ``i``
            holds the powers of the base units (e.g. m, s, kg, K, A) in variable ``i``.
            Entries must be integers or simple rationals (denominator <= 6), up to 1e-9.
        output_units: unit exponents of the output, shape ``(n_base,)``.
        base_names: optional names of the base units, used in error messages.

    Returns:
        The reduction: the sparsest prefactor exponents ``p`` with ``U.T @ p = u_out`` and
        a sparse, small-integer basis of the dimensionless groups.

    Raises:
        ValueError: if the arrays have the wrong shapes, hold NaN/inf or non-rational-ish
            exponents, or if the output's units cannot be built from the inputs' (the
            message says which base unit, if one appears in the output but in no input).
    """
    U = np.asarray(input_units, dtype=float)
    u = np.asarray(output_units, dtype=float)
    if U.ndim != 2:
        raise ValueError(f"input_units must be 2-D (n_vars, n_base), got shape {U.shape}")
    if u.ndim != 1 or u.shape[0] != U.shape[1]:
        raise ValueError(
            f"output_units must be 1-D with {U.shape[1]} entries to match input_units, got shape {u.shape}"
        )
    if base_names is not None and len(base_names) != U.shape[1]:
        raise ValueError(f"base_names has {len(base_names)} names for {U.shape[1]} base units")
    n_vars, n_base = U.shape
    units = [[_exact(v, "input_units") for v in row] for row in U]
    out = tuple(_exact(v, "output_units") for v in u)
    # A = U.T: one equation per base unit, one unknown per variable.
    A = [[units[i][b] for i in range(n_vars)] for b in range(n_base)]

    particular = _solve(A, out, n_vars)
    if particular is None:
        names = list(base_names) if base_names is not None else [f"base unit {b}" for b in range(n_base)]
        orphans = [names[b] for b in range(n_base) if out[b] != 0 and all(units[i][b] == 0 for i in range(n_vars))]
        if orphans:
            raise ValueError(
                f"output units cannot be balanced by the inputs: the output has {', '.join(orphans)} "
                "which no input carries"
            )
        raise ValueError(
            "output units cannot be balanced by the inputs: they are not in the span of the input "
            "units (no product of powers of the inputs has the output's dimension)"
        )

    basis = _group_basis(A, n_vars)
    prefactor = _simplest_prefactor(A, out, n_vars, particular, basis)
    return DimensionalReduction(
        prefactor_exponents=tuple(sympy.Rational(p.numerator, p.denominator) for p in prefactor),
        group_exponents=tuple(tuple(int(v) for v in g) for g in basis),
        n_groups=len(basis),
    )


# ---------------------------------------------------------------------------- exact linear algebra


def _exact(value: float, what: str) -> Fraction:
    """``value`` as a Fraction with a small denominator, or ValueError."""
    if not np.isfinite(value):
        raise ValueError(f"{what} contains NaN or inf")
    frac = Fraction(float(value)).limit_denominator(_MAX_UNIT_DENOMINATOR)
    if abs(float(frac) - value) > _UNIT_TOLERANCE:
        raise ValueError(
            f"{what} must hold integer (or simple rational, denominator <= {_MAX_UNIT_DENOMINATOR}) "
            f"exponents, got {float(value)!r}"
        )
    return frac


def _rref(rows: list[list[Fraction]], n_cols: int) -> tuple[list[list[Fraction]], list[int]]:
    """Reduced row echelon form (exact) and the pivot columns."""
    M = [list(r) for r in rows]
    pivots: list[int] = []
    r = 0
    for c in range(n_cols):
        pivot = next((i for i in range(r, len(M)) if M[i][c] != 0), None)
        if pivot is None:
            continue
        M[r], M[pivot] = M[pivot], M[r]
        lead = M[r][c]
        M[r] = [v / lead for v in M[r]]
        for i in range(len(M)):
            if i != r and M[i][c] != 0:
                f = M[i][c]
                M[i] = [a - f * b for a, b in zip(M[i], M[r], strict=True)]
        pivots.append(c)
        r += 1
        if r == len(M):
            break
    return M, pivots


def _rank(rows: list[Sequence[Fraction]], n_cols: int) -> int:
    return len(_rref([list(r) for r in rows], n_cols)[1])


def _solve(A: list[list[Fraction]], b: Sequence[Fraction], n: int) -> list[Fraction] | None:
    """One solution of ``A x = b`` (free variables 0), or None if there is none."""
    aug = [row + [rhs] for row, rhs in zip(A, b, strict=True)]
    M, pivots = _rref(aug, n + 1)
    if n in pivots:  # a pivot in the right-hand side column: inconsistent
        return None
    x = [Fraction(0)] * n
    for r, c in enumerate(pivots):
        x[c] = M[r][n]
    return x


def _nullspace(A: list[list[Fraction]], n: int) -> list[list[Fraction]]:
    """A basis of ``{x : A x = 0}`` (from the RREF's free columns)."""
    M, pivots = _rref(A, n)
    free = [c for c in range(n) if c not in pivots]
    basis = []
    for f in free:
        x = [Fraction(0)] * n
        x[f] = Fraction(1)
        for r, c in enumerate(pivots):
            x[c] = -M[r][f]
        basis.append(x)
    return basis


def _primitive(v: Sequence[Fraction]) -> tuple[int, ...]:
    """The integer vector on ``v``'s ray with coprime entries and first non-zero entry > 0."""
    den = lcm(*(x.denominator for x in v)) if v else 1
    ints = [int(x * den) for x in v]
    g = 0
    for x in ints:
        g = gcd(g, x)
    if g == 0:
        return tuple(ints)
    ints = [x // g for x in ints]
    first = next(x for x in ints if x != 0)
    return tuple(-x for x in ints) if first < 0 else tuple(ints)


def _subsets(n: int, max_size: int) -> list[tuple[int, ...]] | None:
    """All index subsets of size 1..max_size in order of size, or None if there are too many."""
    total = sum(comb(n, k) for k in range(1, max_size + 1))
    if total > _MAX_SUBSETS:
        return None
    return [s for k in range(1, max_size + 1) for s in itertools.combinations(range(n), k)]


def _vector_key(v: Sequence[Fraction | int]) -> tuple:
    """Simplicity order: fewest non-zeros, smallest L1, smallest largest denominator, earliest support."""
    fr = [Fraction(x) for x in v]
    support = tuple(i for i, x in enumerate(fr) if x != 0)
    return (
        len(support),
        sum(abs(x) for x in fr),
        max((x.denominator for x in fr), default=1),
        max((abs(x) for x in fr), default=0),
        support,
        tuple(-x for x in fr),  # deterministic last resort: larger leading entries first
    )


def _group_basis(A: list[list[Fraction]], n: int) -> list[tuple[int, ...]]:
    """A sparse, small-integer basis of the nullspace of ``A``, simplest first."""
    raw = _nullspace(A, n)
    dim = len(raw)
    if dim == 0:
        return []
    candidates: set[tuple[int, ...]] = {_primitive(v) for v in raw}
    # Circuits: minimal supports of nullspace vectors, found as subsets whose nullspace is 1-D
    # with full support. A circuit has at most rank(A) + 1 elements.
    subsets = _subsets(n, min(n, n - dim + 1))
    if subsets is not None:
        for s in subsets:
            sub = [[row[i] for i in s] for row in A]
            ns = _nullspace(sub, len(s))
            if len(ns) != 1 or any(x == 0 for x in ns[0]):
                continue
            full = [Fraction(0)] * n
            for i, x in zip(s, ns[0], strict=True):
                full[i] = x
            candidates.add(_primitive(full))
    # Small combinations of the raw basis, for when the subsets were too many to enumerate.
    ints = [_primitive(v) for v in raw]
    if 3**dim <= _MAX_COMBINATIONS:
        for coeffs in itertools.product((-1, 0, 1), repeat=dim):
            if any(coeffs):
                v = [sum(c * b[i] for c, b in zip(coeffs, ints, strict=True)) for i in range(n)]
                candidates.add(_primitive([Fraction(x) for x in v]))
    chosen: list[tuple[int, ...]] = []
    for v in sorted(candidates, key=_vector_key):
        if _rank([[Fraction(x) for x in c] for c in [*chosen, v]], n) == len(chosen) + 1:
            chosen.append(v)
            if len(chosen) == dim:
                break
    return chosen


def _simplest_prefactor(
    A: list[list[Fraction]],
    b: Sequence[Fraction],
    n: int,
    particular: list[Fraction],
    basis: list[tuple[int, ...]],
) -> list[Fraction]:
    """The simplest ``p`` with ``A p = b``: basic solutions on small supports, else ``p0 + sum c_j G_j``."""
    candidates: set[tuple[Fraction, ...]] = {tuple(particular)}
    rank = n - len(basis)
    subsets = _subsets(n, rank) if rank > 0 else []
    if subsets is not None:
        for s in subsets:
            sub = [[row[i] for i in s] for row in A]
            if _rank(sub, len(s)) != len(s):
                continue
            x = _solve(sub, b, len(s))
            if x is None:
                continue
            full = [Fraction(0)] * n
            for i, v in zip(s, x, strict=True):
                full[i] = v
            candidates.add(tuple(full))
    dim = len(basis)
    # The sparsest solutions are basic (independent columns on their support), so when every
    # support was enumerated the combinations below cannot win; they are the fallback otherwise.
    if dim and subsets is None:
        span = (-2, -1, 0, 1, 2) if 5**dim <= _MAX_COMBINATIONS else (-1, 0, 1) if 3**dim <= _MAX_COMBINATIONS else None
        combos = itertools.product(span, repeat=dim) if span is not None else _unit_combos(dim)
        for coeffs in combos:
            v = tuple(particular[i] + sum(c * g[i] for c, g in zip(coeffs, basis, strict=True)) for i in range(n))
            candidates.add(v)
    return list(min(candidates, key=_vector_key))


def _unit_combos(dim: int):
    """Coefficient vectors with a single +-1 (used when the full grid is too large)."""
    for j in range(dim):
        for c in (-1, 1):
            yield tuple(c if k == j else 0 for k in range(dim))


# ---------------------------------------------------------------------------- evaluation helpers


def _power_product(X: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """``prod_i X[:, i]**exponents[i]``, skipping zero exponents (so 0**0 and (-x)**0 are 1)."""
    out = np.ones(X.shape[0])
    for i, e in enumerate(exponents):
        if e != 0:
            out = out * np.power(X[:, i], e)
    return out


def _monomial(symbols: Sequence[sympy.Symbol], exponents: Sequence) -> sympy.Expr:
    """``prod symbols[i]**exponents[i]`` with exact exponents."""
    factors = []
    for s, e in zip(symbols, exponents, strict=True):
        e = sympy.Rational(e) if not isinstance(e, sympy.Rational) else e
        if e != 0:
            factors.append(s**e)
    return sympy.Mul(*factors)
