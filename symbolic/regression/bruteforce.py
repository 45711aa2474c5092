"""Brute-force search over expressions in reverse Polish notation, shortest first.

Every expression over the variables, a few constants and the chosen operators is
enumerated bottom-up by length (number of RPN tokens), which, with one alphabet, is the
order of description length. Each length is built from the shorter ones and evaluated
on all sample points at once as numpy arrays (one row per expression), so the search
never parses or walks a tree per point. Two expressions that agree on the sample points
are the same function for the data, and only the first (shortest) is kept: this
observational-equivalence pruning is what keeps lengths 6-8 within reach.

Each expression ``f`` is scored against the target as ``y ~ a*f + b`` with ``a`` and
``b`` fitted in closed form for all expressions at once; the few that fit best are
rebuilt as sympy, their constants snapped to exact numbers (integers, fractions,
``r * pi**k``, ``r * e``, square roots of those) and checked on all the data.

numpy and sympy only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy
from hybrid.symbolic.regression.snapping import constant_bits, snap_constant
from hybrid.tasks.arrays import check_variable_names, check_xy


@dataclass(frozen=True)
class Operator:
    """One operator of the search alphabet.

    Attributes:
        name: the name a user passes in ``operators``.
        arity: 1 or 2.
        numpy: the vectorised implementation.
        sympy: builds the sympy expression from the operands' expressions.
        commutative: for binary operators, ``f(a, b) == f(b, a)`` (halves the work).
    """

    name: str
    arity: int
    numpy: Callable[..., np.ndarray]
    sympy: Callable[..., sympy.Expr]
    commutative: bool = False


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("+", 2, np.add, lambda a, b: a + b, commutative=True),
        Operator("-", 2, np.subtract, lambda a, b: a - b),
        Operator("*", 2, np.multiply, lambda a, b: a * b, commutative=True),
        Operator("/", 2, np.divide, lambda a, b: a / b),
        Operator("neg", 1, np.negative, lambda a: -a),
        Operator("inv", 1, np.reciprocal, lambda a: 1 / a),
        Operator("sqrt", 1, np.sqrt, sympy.sqrt),
        Operator("square", 1, np.square, lambda a: a**2),
        Operator("exp", 1, np.exp, sympy.exp),
        Operator("log", 1, np.log, sympy.log),
        Operator("sin", 1, np.sin, sympy.sin),
        Operator("cos", 1, np.cos, sympy.cos),
        Operator("tan", 1, np.tan, sympy.tan),
        Operator("arcsin", 1, np.arcsin, sympy.asin),
        Operator("arccos", 1, np.arccos, sympy.acos),
        Operator("arctan", 1, np.arctan, sympy.atan),
        Operator("tanh", 1, np.tanh, sympy.tanh),
        Operator("inc", 1, lambda a: a + 1, lambda a: a + 1),
        Operator("dec", 1, lambda a: a - 1, lambda a: a - 1),
    )
}

#: AI Feynman's default alphabet, less its increment/decrement (reachable as ``+ 1``).
DEFAULT_OPERATORS: tuple[str, ...] = (
    "+", "-", "*", "/", "neg", "inv", "sqrt", "square", "exp", "log", "sin", "cos", "arcsin", "arctan",
)

#: Unary operators that may act on a constant (``sqrt(2)``, ``1/pi``) in a short expression.
_ALGEBRAIC = frozenset({"neg", "inv", "sqrt", "square", "inc", "dec"})

CONSTANTS: dict[str, tuple[float, sympy.Expr]] = {
    "1": (1.0, sympy.Integer(1)),
    "2": (2.0, sympy.Integer(2)),
    "pi": (math.pi, sympy.pi),
    "e": (math.e, sympy.E),
}
DEFAULT_CONSTANTS: tuple[str, ...] = ("1", "2", "pi")


def check_operators(operators) -> tuple[str, ...]:
    """Validate an operator list; returns it as a tuple.

    Raises:
        ValueError: on an unknown name, listing the valid ones.
    """
    operators = tuple(operators)
    unknown = [o for o in operators if o not in OPERATORS]
    if unknown:
        raise ValueError(f"unknown operators {unknown}; valid operators are {sorted(OPERATORS)}")
    if not operators:
        raise ValueError(f"operators must not be empty; valid operators are {sorted(OPERATORS)}")
    return operators


def _check_constants(constants) -> tuple[str, ...]:
    constants = tuple(constants)
    unknown = [c for c in constants if c not in CONSTANTS]
    if unknown:
        raise ValueError(f"unknown constants {unknown}; valid constants are {sorted(CONSTANTS)}")
    return constants


@dataclass(frozen=True)
class Candidate:
    """One formula found by the search.

    Attributes:
        expression: the formula with snapped constants, over the variable symbols.
        error: RMS error on all the data relative to ``rms(y)``.
        length: RPN tokens of the inner expression ``f`` (before ``a*f + b``).
        rpn: the inner expression in reverse Polish notation.
        exact_constants: every constant snapped to an exact number.
    """

    expression: sympy.Expr
    error: float
    length: int
    rpn: tuple[str, ...]
    exact_constants: bool


@dataclass
class BruteForceResult:
    """What :func:`brute_force` returns.

    Attributes:
        best: the first (shortest) candidate within tolerance, or ``None``.
        candidates: the best few of each length, verified on all the data (the caller
            builds a Pareto front from them).
        evaluated: expressions evaluated (the symbolic work).
        max_length: the longest length fully searched.
        timed_out: the time budget ran out before the search finished.
    """

    best: Candidate | None
    candidates: list[Candidate] = field(default_factory=list)
    evaluated: int = 0
    max_length: int = 0
    timed_out: bool = False


class _Level:
    """The expressions of one length: values on the points and how each was built."""

    def __init__(self, values: np.ndarray, op: np.ndarray, left: np.ndarray, right: np.ndarray, lref, rref):
        self.values = values  # (n, P)
        self.op = op  # operator index (or -1-leaf index for leaves)
        self.left = left  # index into level lref[k]
        self.right = right
        self.lref = lref  # level length of the left operand, per row
        self.rref = rref


def _hash_rows(values: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row's values rounded to ~9 significant digits."""
    mant, expo = np.frexp(values[:, : min(values.shape[1], 12)])
    q = np.round(mant * (1 << 30)).astype(np.int64)
    weights = np.array([1000003, 998244353, 1000000007, 19260817, 16777619, 2654435761, 40503, 2246822519,
                        3266489917, 668265263, 374761393, 1181783497], dtype=np.int64)[: q.shape[1]]
    with np.errstate(over="ignore"):
        h = (q * weights).sum(axis=1) + (expo.astype(np.int64) * (weights + 7)).sum(axis=1)
    return h


class _HashSet:
    """A set of int64 hashes as a few sorted arrays, merged like a binary counter.

    Membership of a whole batch is a vectorised ``searchsorted`` per array, so the
    search never loops in Python over expressions.
    """

    def __init__(self):
        self.arrays: list[np.ndarray] = []

    def contains(self, h: np.ndarray) -> np.ndarray:
        found = np.zeros(h.shape, dtype=bool)
        for arr in self.arrays:
            pos = np.minimum(np.searchsorted(arr, h), arr.size - 1)
            found |= arr[pos] == h
        return found

    def add(self, sorted_new: np.ndarray) -> None:
        """Add sorted hashes that are not in the set yet."""
        if sorted_new.size == 0:
            return
        self.arrays.append(sorted_new)
        while len(self.arrays) >= 2 and self.arrays[-1].size * 2 >= self.arrays[-2].size:
            b, a = self.arrays.pop(), self.arrays.pop()
            merged = np.concatenate([a, b])
            merged.sort(kind="stable")
            self.arrays.append(merged)


class _Search:
    def __init__(self, X, y, names, operators, constants, tolerance, deadline, max_rows, rng):
        self.names = names
        self.unary = [OPERATORS[o] for o in operators if OPERATORS[o].arity == 1]
        self.binary = [OPERATORS[o] for o in operators if OPERATORS[o].arity == 2]
        self.ops = self.unary + self.binary
        self.leaves = [sympy.Symbol(n, real=True) for n in names] + [CONSTANTS[c][1] for c in constants]
        self.X_full, self.y_full = X, y
        n = X.shape[0]
        idx = rng.choice(n, size=min(n, 128), replace=False) if n > 128 else np.arange(n)
        self.P = X[idx].T  # (d, P)
        self.t = y[idx]
        self.deadline = deadline
        self.max_rows = max_rows
        self.tolerance = tolerance
        self.levels: dict[int, _Level] = {}
        self.seen = _HashSet()
        self.stored = 0
        self.evaluated = 0
        self.top: dict[int, list[tuple[float, int, int]]] = {}  # length -> [(err, level, row)]
        self.rms_t = float(np.sqrt(np.mean(self.t**2))) or 1.0
        self.tc = self.t - self.t.mean()
        self.tc2 = float(self.tc @ self.tc)
        self.t2 = float(self.t @ self.t)

    # --- building -------------------------------------------------------------------
    def leaves_level(self, constants) -> None:
        d, P = self.P.shape
        rows = [self.P[i] for i in range(d)] + [np.full(P, CONSTANTS[c][0]) for c in constants]
        values = np.array(rows, dtype=float).reshape(len(rows), P)
        k = len(rows)
        lvl = _Level(values, -1 - np.arange(k), np.zeros(k, int), np.zeros(k, int), np.zeros(k, int),
                      np.zeros(k, int))
        self.seen.add(np.unique(_hash_rows(values)))
        self.levels[1] = lvl
        self.stored += k
        self._score(1, values, np.arange(k))

    def _keep(self, values: np.ndarray, allow_constant: bool) -> np.ndarray:
        """Indices of rows that are finite, not huge, and new."""
        # One pass for the row maxima and one for the minima: NaN propagates through both,
        # so their finiteness is the rows' (fewer passes over memory than isfinite/abs/ptp).
        with np.errstate(all="ignore"):
            hi, lo = values.max(axis=1), values.min(axis=1)
            ok = (hi < 1e15) & (lo > -1e15)
            if not allow_constant:
                ok &= (hi - lo) > 1e-12 * (np.maximum(hi, -lo) + 1e-300)
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return idx
        h = _hash_rows(values[idx])
        unique, first = np.unique(h, return_index=True)
        new = ~self.seen.contains(unique)
        self.seen.add(unique[new])
        keep = np.sort(first[new])
        return idx[keep]

    def _full(self, chunks) -> bool:
        """True once this length's expressions would take the store past ``max_rows``.

        One length can hold tens of millions of new expressions (128 floats each): it is
        cut there, so the search's memory stays bounded (it once reached 21 GB).
        """
        if len(chunks) != self._counted[0]:  # chunks only grow: add the new ones' rows
            self._counted = (len(chunks), self._counted[1] + sum(len(c[0]) for c in chunks[self._counted[0]:]))
        return self.stored + self._counted[1] >= self.max_rows

    def build(self, length: int) -> bool:
        """Enumerate every expression of ``length`` tokens; False if the deadline passed or the store filled."""
        chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._pending = []
        self._counted = (0, 0)  # (chunks counted, their rows), for _full
        store = True
        allow_constant = length <= 3
        # unary: op(level length-1)
        prev = self.levels.get(length - 1)
        if prev is not None:
            with np.errstate(all="ignore"):
                for oi, op in enumerate(self.ops):
                    if op.arity != 1:
                        continue
                    vals = op.numpy(prev.values)
                    self.evaluated += len(vals)
                    # cos(2), log(pi): a transcendental function of a constant is no physical
                    # constant, and as a free number it would let the search fit anything.
                    keep = self._keep(vals, allow_constant and op.name in _ALGEBRAIC)
                    n = keep.size
                    if n:
                        kept = vals[keep]
                        chunks.append((kept, np.full(n, oi), keep, np.zeros(n, int),
                                       np.full(n, length - 1), np.zeros(n, int)))
                        self._score(length, kept, None, chunks_index=len(chunks) - 1)
                    if time.perf_counter() > self.deadline or self._full(chunks):
                        self._finish(length, chunks, store)
                        return False
        # binary: op(level i, level length-1-i)
        for oi, op in enumerate(self.ops):
            if op.arity != 2:
                continue
            for i in range(1, length - 1):
                j = length - 1 - i
                if op.commutative and i > j:
                    continue
                A, B = self.levels.get(i), self.levels.get(j)
                if A is None or B is None:
                    continue
                nB = len(B.values)
                step = max(1, 60000 // max(nB, 1))
                for start in range(0, len(A.values), step):
                    a_idx = np.arange(start, min(start + step, len(A.values)))
                    with np.errstate(all="ignore"):
                        vals = op.numpy(A.values[a_idx, None, :], B.values[None, :, :]).reshape(-1, self.t.size)
                    li = np.repeat(a_idx, nB)
                    ri = np.tile(np.arange(nB), len(a_idx))
                    if op.commutative and i == j:
                        sel = li <= ri
                        vals, li, ri = vals[sel], li[sel], ri[sel]
                    self.evaluated += len(vals)
                    keep = self._keep(vals, allow_constant)
                    n = keep.size
                    if n:
                        kept = vals[keep]
                        chunks.append((kept, np.full(n, oi), li[keep], ri[keep], np.full(n, i), np.full(n, j)))
                        self._score(length, kept, None, chunks_index=len(chunks) - 1)
                    if time.perf_counter() > self.deadline or self._full(chunks):
                        self._finish(length, chunks, store)
                        return False
        self._finish(length, chunks, store)
        return True

    def _finish(self, length, chunks, store) -> None:
        if not chunks:
            self.levels[length] = _Level(np.zeros((0, self.t.size)), *(np.zeros(0, int) for _ in range(5)))
            self._pending = []
            return
        cat = [np.concatenate([c[k] for c in chunks]) for k in range(6)]
        lvl = _Level(cat[0], cat[1], cat[2], cat[3], cat[4], cat[5])
        self.levels[length] = lvl
        offsets = np.cumsum([0] + [len(c[0]) for c in chunks])
        # translate pending (chunk, row) scores into level rows
        self.top[length] = [(e, length, int(offsets[ci] + r)) for e, ci, r in self._pending]
        self._pending = []
        if store:
            self.stored += len(lvl.values)

    # --- scoring --------------------------------------------------------------------
    _pending: list[tuple[float, int, int]] = []

    def _score(self, length, values, rows, chunks_index=None) -> None:
        """Affine least-squares error of each row against the target; remember the best."""
        P = self.t.size
        mean = values.mean(axis=1)
        fc_t = values @ self.tc
        f2 = np.einsum("ij,ij->i", values, values)
        var = f2 - P * mean**2
        with np.errstate(all="ignore"):
            res_aff = self.tc2 - fc_t**2 / var
            ft = values @ self.t
            res_mul = self.t2 - ft**2 / f2
        res = np.where(var > 1e-300 * P, np.minimum(res_aff, res_mul + 0.0), res_mul)
        err = np.sqrt(np.maximum(res, 0) / P) / self.rms_t
        err = np.where(np.isfinite(err), err, np.inf)
        k = min(4, len(err))
        best = np.argpartition(err, k - 1)[:k] if len(err) > k else np.arange(len(err))
        entries = [(float(err[b]), chunks_index if rows is None else -1, int(b if rows is None else rows[b]))
                   for b in best if np.isfinite(err[b])]
        if rows is not None:  # leaves: rows are level rows already
            self.top.setdefault(length, []).extend((e, length, r) for e, _, r in entries)
        else:
            self._pending = sorted(self._pending + entries)[:8]

    # --- reading back ---------------------------------------------------------------
    def rpn(self, length: int, row: int) -> list[str]:
        lvl = self.levels[length]
        op = int(lvl.op[row])
        if op < 0:
            leaf = -1 - op
            return [self.names[leaf] if leaf < len(self.names) else str(self.leaves[leaf])]
        o = self.ops[op]
        if o.arity == 1:
            return self.rpn(int(lvl.lref[row]), int(lvl.left[row])) + [o.name]
        return self.rpn(int(lvl.lref[row]), int(lvl.left[row])) + self.rpn(int(lvl.rref[row]),
                                                                            int(lvl.right[row])) + [o.name]

    def expression(self, length: int, row: int) -> sympy.Expr:
        lvl = self.levels[length]
        op = int(lvl.op[row])
        if op < 0:
            return self.leaves[-1 - op]
        o = self.ops[op]
        if o.arity == 1:
            return o.sympy(self.expression(int(lvl.lref[row]), int(lvl.left[row])))
        return o.sympy(self.expression(int(lvl.lref[row]), int(lvl.left[row])),
                       self.expression(int(lvl.rref[row]), int(lvl.right[row])))


def snap_number(value: float, relative_tolerance: float) -> sympy.Expr | None:
    """The shortest exact number within ``relative_tolerance`` of ``value``, or ``None``.

    Tries ``r * pi**k`` (:func:`snap_constant`), ``r * e``, and square roots of
    ``r * pi**k`` (``1/sqrt(2*pi)``), and returns the one of fewest description bits
    (:func:`~hybrid.symbolic.regression.snapping.constant_bits`; a square root costs 2 bits
    more than its argument), earlier forms winning ties. On noisy data several forms fit:
    ``20/(9*pi**(3/2))`` and ``1/sqrt(2*pi)`` differ by 4e-4, and the shorter is the law.
    """
    snapped = snap_number_with_bits(value, relative_tolerance)
    return None if snapped is None else snapped[0]


def snap_number_with_bits(value: float, relative_tolerance: float) -> tuple[sympy.Expr, float] | None:
    """:func:`snap_number`, with the description bits of the number it returns.

    Returns:
        ``(number, bits)`` or ``None``; zero costs 1 bit.
    """
    if value == 0:
        return sympy.Integer(0), 1.0
    if not np.isfinite(value):
        return None
    found: list[tuple[float, int, sympy.Expr]] = []
    snapped = snap_constant(value, relative_tolerance, max_denominator=36)
    if snapped is not None:
        found.append((constant_bits(snapped), 0, snapped))
    s = snap_constant(value / math.e, relative_tolerance, max_denominator=12, pi_powers=(sympy.Integer(0),))
    if s is not None:
        found.append((constant_bits(s * sympy.E), 1, s * sympy.E))
    sign = 1 if value > 0 else -1
    s = snap_constant(value * value, 2 * relative_tolerance, max_denominator=36,
                      pi_powers=tuple(sympy.Integer(k) for k in range(-3, 4)))
    if s is not None and s.is_positive:
        found.append((constant_bits(s) + 2.0, 2, sign * sympy.sqrt(s)))
    if not found:
        return None
    bits, _, number = min(found, key=lambda f: f[:2])
    return number, bits


def fit_affine(
    expr: sympy.Expr,
    symbols: tuple[sympy.Symbol, ...],
    X: np.ndarray,
    y: np.ndarray,
    *,
    snap_tolerance: float,
) -> tuple[sympy.Expr, float, bool] | None:
    """Fit ``y ~ a*expr + b`` on all the data and snap ``a`` and ``b`` to exact numbers.

    Args:
        expr: the inner expression over ``symbols``.
        symbols: one per column of ``X``.
        X, y: the data.
        snap_tolerance: relative tolerance for snapping the constants.

    Returns:
        ``(expression, relative RMS error, exact)``, where ``exact`` says both constants
        were snapped, or ``None`` if ``expr`` is not finite on the data.
    """
    f = evaluate(expr, symbols, X)
    if f is None:
        return None
    rms_y = float(np.sqrt(np.mean(y**2))) or 1.0
    best: tuple[float, sympy.Expr, bool] | None = None
    designs = [np.column_stack([f])]
    if np.ptp(f) > 0:
        designs.append(np.column_stack([f, np.ones_like(f)]))
    for A in designs:
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        terms, exact = [], True
        for c, basis in zip(coef, (expr, sympy.Integer(1)), strict=False):
            s = snap_number(float(c), snap_tolerance)
            if s is None:
                exact = False
                s = sympy.Float(float(c), 12)
            terms.append(s * basis)
        candidate = sympy.Add(*terms)
        pred = evaluate(candidate, symbols, X)
        if pred is None:
            continue
        err = float(np.sqrt(np.mean((pred - y) ** 2))) / rms_y
        key = err if exact else err * 1.0 + 1e-15
        if best is None or key < best[0] or (exact and not best[2] and err <= best[0] * 1.5 + 1e-12):
            best = (err, candidate, exact)
    if best is None:
        return None
    return best[1], best[0], best[2]


def evaluate(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...], X: np.ndarray) -> np.ndarray | None:
    """Evaluate ``expr`` on the columns of ``X``; ``None`` if not finite everywhere."""
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        return None
    try:
        fn = sympy.lambdify(symbols, expr, modules="numpy")
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*X.T), dtype=complex if expr.has(sympy.I) else float)
    except (TypeError, ValueError, KeyError, ZeroDivisionError, OverflowError):
        return None
    if np.iscomplexobj(out):
        return None
    out = np.broadcast_to(out, (X.shape[0],)).astype(float)
    return out if np.all(np.isfinite(out)) else None


def brute_force(
    X: np.ndarray,
    y: np.ndarray,
    *,
    variable_names: list[str] | tuple[str, ...] | None = None,
    operators=DEFAULT_OPERATORS,
    constants=DEFAULT_CONSTANTS,
    time_budget_s: float = 10.0,
    max_length: int = 12,
    tolerance: float = 1e-7,
    max_stored: int = 1_500_000,
    rng: np.random.Generator | None = None,
) -> BruteForceResult:
    """Search formulas ``y = a*f(x) + b`` with ``f`` in order of RPN length.

    Args:
        X: inputs ``(n, d)``.
        y: targets ``(n,)``.
        variable_names: names of the columns (default ``x0, x1, ...``).
        operators: operator names (see :data:`OPERATORS`; default :data:`DEFAULT_OPERATORS`).
        constants: constant leaves (``"1"``, ``"2"``, ``"pi"``, ``"e"``).
        time_budget_s: hard wall-clock budget; the search stops when it is spent.
        max_length: the longest expression tried.
        tolerance: a candidate whose relative RMS error (to ``rms(y)``), after its
            constants are snapped, is within this ends the search.
        max_stored: expressions kept for building longer ones (memory bound: each holds
            128 float64 values); beyond it the search still scores but stops growing.
        rng: picks the 128 points the search runs on when there are more.

    Returns:
        A :class:`BruteForceResult`.

    Raises:
        ValueError: on bad data, or unknown operator or constant names.
    """
    X, y = check_xy(X, y)
    operators = check_operators(operators)
    constants = _check_constants(constants)
    names = check_variable_names(variable_names, X.shape[1])
    rng = rng if rng is not None else np.random.default_rng(0)
    deadline = time.perf_counter() + float(time_budget_s)
    search = _Search(X, y, names, operators, constants, tolerance, deadline, max_stored, rng)
    symbols = tuple(search.leaves[: len(names)])
    result = BruteForceResult(best=None)
    search.leaves_level(constants)
    checked: set[str] = set()
    # The constants a and b of y ~ a*f + b are known to about tolerance / sqrt(n) (the
    # noise averaged over the points), so that is how close a snapped constant must be.
    snap_tol = max(1e-6, min(1e-2, 3 * tolerance / np.sqrt(X.shape[0])))
    for length in range(1, max_length + 1):
        complete = True if length == 1 else search.build(length)
        result.evaluated = search.evaluated
        for err0, lvl, row in sorted(search.top.get(length, []))[:4]:
            if not np.isfinite(err0) or err0 > max(0.5, 1e3 * tolerance):
                continue
            expr = search.expression(lvl, row)
            key = sympy.srepr(expr)
            if key in checked:
                continue
            checked.add(key)
            fitted = fit_affine(expr, symbols, X, y, snap_tolerance=snap_tol)
            if fitted is None:
                continue
            candidate = Candidate(fitted[0], fitted[1], length, tuple(search.rpn(lvl, row)), fitted[2])
            result.candidates.append(candidate)
            if candidate.error <= tolerance and candidate.exact_constants and result.best is None:
                result.best = candidate
        if result.best is not None:
            result.max_length = length
            return result
        if not complete:
            result.timed_out = True
            return result
        result.max_length = length
        if time.perf_counter() > deadline:
            result.timed_out = True
            break
        if search.stored >= max_stored:  # memory bound reached: longer lengths cannot be built
            break
    return result
