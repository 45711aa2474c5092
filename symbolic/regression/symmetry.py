"""Symmetry and separability tests against a black-box oracle (AI Feynman, Udrescu & Tegmark 2020).

The solver fits a neural "oracle" ``f(X) -> y`` to the samples and queries it at new points
to find structure that shrinks the problem. This module holds the tests; it works with *any*
callable ``oracle(X: ndarray (n, d)) -> ndarray (n,)`` and never imports torch.

Tests
    * :func:`find_translational_symmetry`: ``f`` depends on ``x_i, x_j`` only through
      ``x_i - x_j`` ("minus") or ``x_i + x_j`` ("plus").
    * :func:`find_scaling_symmetry`: only through ``x_i * x_j`` ("times") or ``x_i / x_j``
      ("divide").
    * :func:`find_separability`: ``f(a, b) = g(a) + h(b)`` ("add") or ``g(a) * h(b)`` ("mul")
      for a bipartition ``(a, b)`` of the variables.
    * :func:`find_equal_variables`: ``f`` is unchanged when ``x_i`` and ``x_j`` are swapped
      (a hint: try ``x_i + x_j`` and ``x_i * x_j`` first).
    * :func:`analyse_symmetries` runs all four and returns a :class:`SymmetryReport` with the
      number of oracle calls and rows evaluated.

Trusted region
    The oracle is only trustworthy inside the sampled box ``[min(X), max(X)]`` per column.
    Every test therefore moves its base points toward the box centre (an affine squeeze of
    the affected columns into the sub-interval where the transformed point stays in the
    box) before it transforms them; separability mixes coordinates of data rows, which
    stays inside the box by construction.

Error measure (dimensionless)
    For a point test, ``error = median|f(X') - f(X)| / s`` with the typical size
    ``s = max(median|f(X)|, median|f(X) - median f(X)|)`` over the base points (the second
    term guards against ``f`` centred on zero). Additive separability uses
    ``median|f11 + f22 - f12 - f21| / s``, multiplicative ``median|f11 f22 - f12 f21| / s**2``
    with ``s`` over the data rows ``f11, f22``. Non-finite oracle values are dropped; if
    fewer than half of the values are finite the error is ``inf``. A candidate holds when
    ``error <= tolerance``. The median makes the test robust to a few bad oracle values, at
    the price of missing a symmetry broken on less than half of the points.

Cost
    Every ``find_*`` function makes exactly one oracle call: all pairs (or bipartitions)
    and kinds of one test are stacked into a single batch. Wrap the oracle in
    :class:`CountingOracle` to count calls and rows, or use :func:`analyse_symmetries`.

numpy and sympy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import sympy
from hybrid.tasks.arrays import check_X

__all__ = [
    "SCALING_KINDS",
    "SEPARATION_KINDS",
    "TRANSLATIONAL_KINDS",
    "CountingOracle",
    "Oracle",
    "Separation",
    "SwapSymmetry",
    "Symmetry",
    "SymmetryReport",
    "analyse_symmetries",
    "find_equal_variables",
    "find_scaling_symmetry",
    "find_separability",
    "find_translational_symmetry",
]

Oracle = Callable[[np.ndarray], np.ndarray]
"""A model of the data: ``oracle(X)`` with ``X`` of shape ``(n, d)`` returns ``y`` of shape ``(n,)``."""

TRANSLATIONAL_KINDS: tuple[str, ...] = ("minus", "plus")
SCALING_KINDS: tuple[str, ...] = ("times", "divide")
SEPARATION_KINDS: tuple[str, ...] = ("add", "mul")

# kind -> (operation, exponent/sign on x_i, on x_j): shift x -> x + e*a, scale x -> x * c**e.
_KIND_SPEC: dict[str, tuple[str, int, int]] = {
    "minus": ("shift", 1, 1),
    "plus": ("shift", 1, -1),
    "times": ("scale", 1, -1),
    "divide": ("scale", 1, 1),
}
_MIN_KEEP = 0.25  # a squeezed column keeps at least this fraction of its range
_LIFT_GRID = 65  # candidate x_j values tried per point when lifting an oracle


class CountingOracle:
    """Wrap an oracle and count how often, and on how many rows, it is evaluated.

    Args:
        oracle: the callable to wrap.

    Attributes:
        calls: number of calls so far.
        rows: total number of rows evaluated so far.
    """

    def __init__(self, oracle: Oracle) -> None:
        """Wrap ``oracle`` with both counters at zero."""
        self.oracle = oracle
        self.calls = 0
        self.rows = 0

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Evaluate the wrapped oracle on ``X`` (n, d), count it, and return its output (n,)."""
        X = np.asarray(X, dtype=float)
        self.calls += 1
        self.rows += int(X.shape[0])
        return self.oracle(X)


# --- small helpers ----------------------------------------------------------------------


def _evaluate(oracle: Oracle, X: np.ndarray) -> np.ndarray:
    """One oracle call on ``X``; the output as a float vector of length ``len(X)``."""
    with np.errstate(all="ignore"):
        y = np.asarray(oracle(X), dtype=float).reshape(-1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"oracle returned {y.shape[0]} values for {X.shape[0]} rows")
    return y


def _typical(f: np.ndarray) -> float:
    """Robust typical size of ``f``: ``max(median|f|, median|f - median f|)`` over finite values."""
    f = f[np.isfinite(f)]
    if f.size == 0:
        return float("nan")
    med = float(np.median(f))
    return max(float(np.median(np.abs(f))), float(np.median(np.abs(f - med))))


def _relative(delta: np.ndarray, scale: float) -> float:
    """``median|delta| / scale`` over finite entries (``inf`` if under half are finite)."""
    finite = np.isfinite(delta)
    if delta.size == 0 or finite.mean() < 0.5:
        return float("inf")
    num = float(np.median(np.abs(delta[finite])))
    if num == 0.0:
        return 0.0
    if not (np.isfinite(scale) and scale > 0):
        return float("inf")
    return num / scale


def _check_tolerance(tolerance: float) -> float:
    tolerance = float(tolerance)
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    return tolerance


def _check_kinds(kinds: Sequence[str] | str, valid: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(dict.fromkeys(kinds))
    bad = [k for k in kinds if k not in valid]
    if bad:
        raise ValueError(f"unknown kind(s) {bad}; valid kinds: {', '.join(valid)}")
    return kinds


def _sample_rows(X: np.ndarray, n_points: int, rng: np.random.Generator | None) -> np.ndarray:
    """Up to ``n_points`` rows of ``X``: all of them, a random subset, or evenly spaced ones."""
    if n_points < 1:
        raise ValueError(f"n_points must be >= 1, got {n_points}")
    n = X.shape[0]
    if n <= n_points:
        return X.copy()
    if rng is not None:
        return X[np.sort(rng.choice(n, size=n_points, replace=False))].copy()
    return X[np.linspace(0, n - 1, n_points).round().astype(int)].copy()


def _squeeze(col: np.ndarray, lo: float, hi: float, new_lo: float, new_hi: float) -> np.ndarray:
    """Map ``col`` affinely from ``[lo, hi]`` onto ``[new_lo, new_hi]``."""
    if hi <= lo:
        return np.full_like(col, new_lo)
    return new_lo + (col - lo) * ((new_hi - new_lo) / (hi - lo))


def _allowed(lo: float, hi: float, op: str, amount: float) -> tuple[float, float]:
    """Sub-interval of ``[lo, hi]`` whose image under the move stays in ``[lo, hi]``.

    ``op == "shift"``: move ``x -> x + amount``; ``op == "scale"``: ``x -> x * amount``
    (``amount > 0``). Both are increasing maps, so the preimage of ``[lo, hi]`` is an interval.
    """
    if op == "shift":
        return max(lo, lo - amount), min(hi, hi - amount)
    return max(lo, lo / amount), min(hi, hi / amount)


def _move(col: np.ndarray, op: str, amount: float) -> np.ndarray:
    return col + amount if op == "shift" else col * amount


# --- pair symmetries ----------------------------------------------------------------------


@dataclass(frozen=True)
class Symmetry:
    """A pair symmetry: ``f`` depends on ``x_i`` and ``x_j`` only through one combination.

    Attributes:
        kind: ``"minus"`` (``x_i - x_j``), ``"plus"`` (``x_i + x_j``), ``"times"``
            (``x_i * x_j``) or ``"divide"`` (``x_i / x_j``).
        i: column of ``x_i`` (the combined variable takes its place).
        j: column of ``x_j`` (removed by :meth:`apply`).
        error: measured dimensionless error (see the module docstring); 0 for exact.
        reference: value of ``x_j`` used by :meth:`lift` when it cannot keep the lifted
            point inside the box (the median of column ``j`` when found by a ``find_*``
            function; non-zero for "times"/"divide").
        range_i: ``(min, max)`` of column ``i`` in the data, or ``None``.
        range_j: ``(min, max)`` of column ``j`` in the data, or ``None``. With both ranges
            known, :meth:`lift` picks ``x_j`` per point so the point stays in the box.
    """

    kind: str
    i: int
    j: int
    error: float
    reference: float = 1.0
    range_i: tuple[float, float] | None = None
    range_j: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        """Validate ``kind`` and the column indices."""
        if self.kind not in _KIND_SPEC:
            raise ValueError(f"unknown symmetry kind {self.kind!r}; valid kinds: {', '.join(_KIND_SPEC)}")
        if self.i < 0 or self.j < 0 or self.i == self.j:
            raise ValueError(f"need distinct non-negative columns, got i={self.i}, j={self.j}")
        if self.kind in ("times", "divide") and self.reference == 0:
            raise ValueError(f"reference must be non-zero for a {self.kind!r} symmetry")

    @property
    def new_index(self) -> int:
        """Column of the combined variable in :meth:`apply`'s output (``i``, less one if ``j < i``)."""
        return self.i if self.j > self.i else self.i - 1

    def combine(self, sym_i: sympy.Expr, sym_j: sympy.Expr) -> sympy.Expr:
        """The combined variable in terms of the original ones, e.g. ``sym_i - sym_j`` for "minus".

        Substitute it for the reduced problem's new variable to get the formula in ``x``.
        """
        if self.kind == "minus":
            return sym_i - sym_j
        if self.kind == "plus":
            return sym_i + sym_j
        if self.kind == "times":
            return sym_i * sym_j
        return sym_i / sym_j

    def combined_values(self, X: np.ndarray) -> np.ndarray:
        """The combined variable on the rows of ``X`` (n, d); returns shape (n,)."""
        X = np.asarray(X, dtype=float)
        xi, xj = X[:, self.i], X[:, self.j]
        with np.errstate(all="ignore"):
            if self.kind == "minus":
                return xi - xj
            if self.kind == "plus":
                return xi + xj
            if self.kind == "times":
                return xi * xj
            return xi / xj

    def apply(self, X: np.ndarray) -> np.ndarray:
        """The reduced inputs: ``X`` (n, d) -> (n, d - 1).

        Column ``i`` is replaced by the combined variable and column ``j`` is deleted; the
        other columns keep their order, so the combined variable ends up at
        :attr:`new_index` and original column ``k`` at ``k`` (``k < j``) or ``k - 1``
        (``k > j``). ``x_j == 0`` gives ``inf``/``nan`` for "divide".
        """
        X = check_X(X)
        self._check_width(X.shape[1])
        out = X.copy()
        out[:, self.i] = self.combined_values(X)
        return np.delete(out, self.j, axis=1)

    def _check_width(self, d: int) -> None:
        if max(self.i, self.j) >= d:
            raise ValueError(f"symmetry uses columns {self.i}, {self.j} but X has {d} columns")

    def _reconstruct_i(self, u: np.ndarray, xj: np.ndarray) -> np.ndarray:
        """``x_i`` from the combined value ``u`` and ``x_j`` (broadcasting)."""
        with np.errstate(all="ignore"):
            if self.kind == "minus":
                return u + xj
            if self.kind == "plus":
                return u - xj
            if self.kind == "times":
                return u / xj
            return u * xj

    def _choose_xj(self, u: np.ndarray) -> np.ndarray:
        """Per point, an ``x_j`` that puts ``x_i`` inside ``range_i`` (closest to ``reference``)."""
        ref = float(self.reference)
        if self.range_i is None or self.range_j is None:
            return np.full_like(u, ref)
        lo_i, hi_i = self.range_i
        lo_j, hi_j = self.range_j
        grid = np.append(np.linspace(lo_j, hi_j, _LIFT_GRID), ref)
        if self.kind in ("times", "divide"):
            grid = grid[grid != 0]
            if grid.size == 0:
                return np.full_like(u, ref)
        xi = self._reconstruct_i(u[:, None], grid[None, :])
        width_i = max(hi_i - lo_i, 1e-300)
        violation = np.maximum(np.maximum(lo_i - xi, xi - hi_i), 0.0) / width_i
        violation = np.where(np.isfinite(violation), violation, np.inf)
        best = violation.min(axis=1, keepdims=True)
        distance = np.abs(grid - ref)[None, :]
        distance = np.where(violation <= best + 1e-12, distance, np.inf)
        return grid[np.argmin(distance, axis=1)]

    def lift(self, oracle: Oracle) -> Oracle:
        """An oracle on the reduced inputs (n, d - 1) built from ``oracle`` on (n, d).

        The reduced point (combined variable ``u`` at :attr:`new_index`) is expanded back:
        ``x_j`` is chosen per point (see the class docstring) and ``x_i`` solved from ``u``
        (``u + x_j``, ``u - x_j``, ``u / x_j`` or ``u * x_j``). Exact when ``f`` has the
        symmetry; one call of ``oracle`` per call of the returned function. The reduced
        problem's data are ``(apply(X), y)`` and its oracle is ``lift(oracle)``.
        """

        def lifted(Z: np.ndarray) -> np.ndarray:
            Z = check_X(Z)
            d = Z.shape[1] + 1
            self._check_width(d)
            u = Z[:, self.new_index]
            xj = self._choose_xj(u)
            rest = np.delete(Z, self.new_index, axis=1)  # the untouched columns, in order
            full = np.empty((Z.shape[0], d))
            others = [k for k in range(d) if k not in (self.i, self.j)]
            full[:, others] = rest
            full[:, self.j] = xj
            full[:, self.i] = self._reconstruct_i(u, xj)
            return _evaluate(oracle, full)

        return lifted


def _pair_symmetries(
    oracle: Oracle,
    X: np.ndarray,
    kinds: tuple[str, ...],
    tolerance: float,
    n_points: int,
    rng: np.random.Generator | None,
    shift_fraction: float,
    factor: float,
    keep_all: bool,
) -> list[Symmetry]:
    """Shared engine of the translational and scaling tests (one batched oracle call)."""
    d = X.shape[1]
    lo, hi = X.min(axis=0), X.max(axis=0)
    std = X.std(axis=0)
    med = np.median(X, axis=0)
    base_rows = _sample_rows(X, n_points, rng)
    blocks: list[np.ndarray] = []
    meta: list[tuple[str, int, int]] = []
    for i, j in combinations(range(d), 2):
        if hi[i] <= lo[i] or hi[j] <= lo[j]:
            continue  # a constant column: nothing to test
        for kind in kinds:
            op, e_i, e_j = _KIND_SPEC[kind]
            if op == "shift":
                a = shift_fraction * min(std[i], std[j])
                amounts = (e_i * a, e_j * a)
                intervals = (_allowed(lo[i], hi[i], op, amounts[0]), _allowed(lo[j], hi[j], op, amounts[1]))
                ok = a > 0
            else:
                c = factor
                ok = False
                for _ in range(30):
                    amounts = (c**e_i, c**e_j)
                    intervals = (_allowed(lo[i], hi[i], op, amounts[0]), _allowed(lo[j], hi[j], op, amounts[1]))
                    if all(
                        iv[1] - iv[0] >= _MIN_KEEP * (hi[k] - lo[k]) for iv, k in zip(intervals, (i, j), strict=True)
                    ):
                        ok = True
                        break
                    c = 1.0 + (c - 1.0) / 2.0
                ok = ok and c - 1.0 > 1e-6
            if not ok:
                continue
            base = base_rows.copy()
            moved = base_rows.copy()
            for k, amount, (new_lo, new_hi) in zip((i, j), amounts, intervals, strict=True):
                base[:, k] = _squeeze(base_rows[:, k], lo[k], hi[k], new_lo, new_hi)
                moved[:, k] = _move(base[:, k], op, amount)
            blocks.extend((base, moved))
            meta.append((kind, i, j))
    if not meta:
        return []
    values = _evaluate(oracle, np.vstack(blocks))
    m = base_rows.shape[0]
    found: list[Symmetry] = []
    for t, (kind, i, j) in enumerate(meta):
        f0 = values[2 * t * m : (2 * t + 1) * m]
        f1 = values[(2 * t + 1) * m : (2 * t + 2) * m]
        error = _relative(f1 - f0, _typical(f0))
        if keep_all or error <= tolerance:
            ref = float(med[j])
            if kind in ("times", "divide") and ref == 0:
                nonzero = X[:, j][X[:, j] != 0]
                ref = float(nonzero[np.argmin(np.abs(nonzero))]) if nonzero.size else 1.0
            found.append(
                Symmetry(
                    kind=kind,
                    i=i,
                    j=j,
                    error=error,
                    reference=ref,
                    range_i=(float(lo[i]), float(hi[i])),
                    range_j=(float(lo[j]), float(hi[j])),
                )
            )
    found.sort(key=lambda s: (s.error, s.i, s.j, s.kind))
    return found


def find_translational_symmetry(
    oracle: Oracle,
    X: np.ndarray,
    *,
    tolerance: float,
    kinds: Sequence[str] = TRANSLATIONAL_KINDS,
    n_points: int = 300,
    shift_fraction: float = 0.5,
    rng: np.random.Generator | None = None,
    keep_all: bool = False,
) -> list[Symmetry]:
    """Pairs ``(i, j)`` through which ``f`` depends only on ``x_i - x_j`` or ``x_i + x_j``.

    "minus" compares ``f(X)`` with ``f`` at ``x_i + a, x_j + a``; "plus" with ``x_i + a,
    x_j - a``; ``a = shift_fraction * min(std_i, std_j)``. Base points are up to
    ``n_points`` data rows with columns ``i, j`` squeezed so the shifted points stay in the box.

    Args:
        oracle: ``(n, d) -> (n,)``; called exactly once (all pairs batched), or not at all
            when there is nothing to test.
        X: the data inputs (n, d); they fix the trusted box and the base points.
        tolerance: a pair holds when its error (module docstring) is ``<= tolerance``.
        kinds: subset of ``("minus", "plus")``.
        n_points: base points per pair.
        shift_fraction: the shift as a fraction of the smaller column standard deviation.
        rng: picks the base rows when ``n > n_points`` (evenly spaced rows if ``None``).
        keep_all: return every tested candidate, not only those that hold.

    Returns:
        :class:`Symmetry` candidates (``i < j``), best (smallest error) first.

    Raises:
        ValueError: on invalid ``X``, ``kinds``, ``tolerance`` or oracle output length.
    """
    X = check_X(X)
    kinds = _check_kinds(kinds, TRANSLATIONAL_KINDS)
    tolerance = _check_tolerance(tolerance)
    if not shift_fraction > 0:
        raise ValueError(f"shift_fraction must be > 0, got {shift_fraction}")
    return _pair_symmetries(oracle, X, kinds, tolerance, n_points, rng, shift_fraction, 1.0, keep_all)


def find_scaling_symmetry(
    oracle: Oracle,
    X: np.ndarray,
    *,
    tolerance: float,
    kinds: Sequence[str] = SCALING_KINDS,
    n_points: int = 300,
    factor: float = 1.2,
    rng: np.random.Generator | None = None,
    keep_all: bool = False,
) -> list[Symmetry]:
    """Pairs ``(i, j)`` through which ``f`` depends only on ``x_i * x_j`` or ``x_i / x_j``.

    "times" compares ``f(X)`` with ``f`` at ``x_i * c, x_j / c``; "divide" with ``x_i * c,
    x_j * c``. Base points are squeezed so the scaled points stay in the box; where that
    would keep less than a quarter of a column's range (e.g. a narrow positive range),
    ``c`` is moved toward 1 (halving ``c - 1``), which weakens the test for that pair.

    Args:
        oracle: ``(n, d) -> (n,)``; called exactly once (all pairs batched), or not at all.
        X: the data inputs (n, d).
        tolerance: a pair holds when its error is ``<= tolerance``.
        kinds: subset of ``("times", "divide")``.
        n_points: base points per pair.
        factor: the scale factor ``c > 1``.
        rng: picks the base rows when ``n > n_points`` (evenly spaced rows if ``None``).
        keep_all: return every tested candidate, not only those that hold.

    Returns:
        :class:`Symmetry` candidates (``i < j``), best first.

    Raises:
        ValueError: on invalid ``X``, ``kinds``, ``tolerance``, ``factor`` or oracle output.
    """
    X = check_X(X)
    kinds = _check_kinds(kinds, SCALING_KINDS)
    tolerance = _check_tolerance(tolerance)
    if not factor > 1:
        raise ValueError(f"factor must be > 1, got {factor}")
    return _pair_symmetries(oracle, X, kinds, tolerance, n_points, rng, 0.0, float(factor), keep_all)


# --- swap symmetry ------------------------------------------------------------------------


@dataclass(frozen=True)
class SwapSymmetry:
    """``f`` is unchanged when ``x_i`` and ``x_j`` are swapped.

    A hint, not a reduction: symmetric functions of two variables are often functions of
    ``x_i + x_j`` or ``x_i * x_j`` (try those symmetries first).

    Attributes:
        i: first column (``i < j`` when found by :func:`find_equal_variables`).
        j: second column.
        error: measured dimensionless error.
    """

    i: int
    j: int
    error: float


def find_equal_variables(
    oracle: Oracle,
    X: np.ndarray,
    *,
    tolerance: float,
    n_points: int = 300,
    rng: np.random.Generator | None = None,
    keep_all: bool = False,
) -> list[SwapSymmetry]:
    """Pairs ``(i, j)`` under whose swap ``f`` is invariant.

    Both columns are squeezed into the overlap of their ranges (so the swapped point stays
    in the box); pairs whose overlap is under a quarter of the smaller range are skipped.

    Args:
        oracle: ``(n, d) -> (n,)``; called exactly once (all pairs batched), or not at all.
        X: the data inputs (n, d).
        tolerance: a pair holds when its error is ``<= tolerance``.
        n_points: base points per pair.
        rng: picks the base rows when ``n > n_points`` (evenly spaced rows if ``None``).
        keep_all: return every tested pair, not only those that hold.

    Returns:
        :class:`SwapSymmetry` pairs (``i < j``), best first.
    """
    X = check_X(X)
    tolerance = _check_tolerance(tolerance)
    d = X.shape[1]
    lo, hi = X.min(axis=0), X.max(axis=0)
    base_rows = _sample_rows(X, n_points, rng)
    blocks: list[np.ndarray] = []
    pairs: list[tuple[int, int]] = []
    for i, j in combinations(range(d), 2):
        new_lo, new_hi = max(lo[i], lo[j]), min(hi[i], hi[j])
        if not new_hi - new_lo >= _MIN_KEEP * min(hi[i] - lo[i], hi[j] - lo[j]) or new_hi <= new_lo:
            continue
        base = base_rows.copy()
        for k in (i, j):
            base[:, k] = _squeeze(base_rows[:, k], lo[k], hi[k], new_lo, new_hi)
        swapped = base.copy()
        swapped[:, [i, j]] = base[:, [j, i]]
        blocks.extend((base, swapped))
        pairs.append((i, j))
    if not pairs:
        return []
    values = _evaluate(oracle, np.vstack(blocks))
    m = base_rows.shape[0]
    found = []
    for t, (i, j) in enumerate(pairs):
        f0 = values[2 * t * m : (2 * t + 1) * m]
        f1 = values[(2 * t + 1) * m : (2 * t + 2) * m]
        error = _relative(f1 - f0, _typical(f0))
        if keep_all or error <= tolerance:
            found.append(SwapSymmetry(i=i, j=j, error=error))
    found.sort(key=lambda s: (s.error, s.i, s.j))
    return found


# --- separability -------------------------------------------------------------------------


@dataclass(frozen=True)
class Separation:
    """``f(a, b) = g(a) + h(b)`` ("add") or ``g(a) * h(b)`` ("mul").

    Attributes:
        kind: ``"add"`` or ``"mul"``.
        left: columns of block ``a`` (sorted; the smaller block when found by
            :func:`find_separability`).
        right: columns of block ``b`` (sorted); ``left + right`` covers ``0..d-1``.
        error: measured dimensionless error.
        reference: the reference point ``(a0, b0)`` as a full row of length ``d``, or
            ``None`` (then :meth:`split` uses the median row of its ``X``).
    """

    kind: str
    left: tuple[int, ...]
    right: tuple[int, ...]
    error: float
    reference: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        """Validate ``kind`` and that ``left``/``right`` partition ``0..d-1``."""
        if self.kind not in SEPARATION_KINDS:
            raise ValueError(f"unknown separation kind {self.kind!r}; valid kinds: {', '.join(SEPARATION_KINDS)}")
        left, right = tuple(sorted(int(k) for k in self.left)), tuple(sorted(int(k) for k in self.right))
        object.__setattr__(self, "left", left)
        object.__setattr__(self, "right", right)
        if not left or not right:
            raise ValueError("both blocks must be non-empty")
        if sorted(left + right) != list(range(len(left) + len(right))):
            raise ValueError(f"left {left} and right {right} must partition 0..d-1")
        if self.reference is not None:
            ref = tuple(float(v) for v in self.reference)
            if len(ref) != self.n_features:
                raise ValueError(f"reference has {len(ref)} values, need {self.n_features}")
            object.__setattr__(self, "reference", ref)

    @property
    def n_features(self) -> int:
        """Number of variables ``d`` of the full problem."""
        return len(self.left) + len(self.right)

    def combine(self, g_expr: sympy.Expr, h_expr: sympy.Expr) -> sympy.Expr:
        """The full formula from the solved parts: ``g + h`` ("add") or ``g * h`` ("mul")."""
        return g_expr + h_expr if self.kind == "add" else g_expr * h_expr

    def _reference_row(self, X: np.ndarray | None) -> np.ndarray:
        if self.reference is not None:
            return np.asarray(self.reference, dtype=float)
        if X is None:
            raise ValueError("this Separation has no reference point; pass X or set reference")
        return np.median(X, axis=0)

    def _parts(self, f_left: np.ndarray, f_right: np.ndarray, f_ref: float) -> tuple[np.ndarray, np.ndarray]:
        """``g`` and ``h`` values from ``f(a, b0)``, ``f(a0, b)`` and ``f(a0, b0)``."""
        if self.kind == "add":
            return f_left, f_right - f_ref
        if f_ref == 0 or not np.isfinite(f_ref):
            raise ValueError("f at the reference point is 0 or not finite; cannot split multiplicatively")
        return f_left, f_right / f_ref

    def _evaluate_parts(
        self, oracle: Oracle, A: np.ndarray, B: np.ndarray, ref: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """One oracle call on ``(A, b0)``, ``(a0, B)`` and ``(a0, b0)``; returns ``(g(A), h(B))``."""
        rows_a = np.tile(ref, (A.shape[0], 1))
        rows_a[:, list(self.left)] = A
        rows_b = np.tile(ref, (B.shape[0], 1))
        rows_b[:, list(self.right)] = B
        values = _evaluate(oracle, np.vstack([rows_a, rows_b, ref[None, :]]))
        n_a = A.shape[0]
        return self._parts(values[:n_a], values[n_a:-1], float(values[-1]))

    def split(
        self, oracle: Oracle, X: np.ndarray
    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Data for the two sub-problems.

        Args:
            oracle: the full oracle ``(n, d) -> (n,)`` (called once).
            X: the full inputs (n, d).

        Returns:
            ``((X_left, y_left), (X_right, y_right))`` with ``X_left = X[:, left]``,
            ``y_left = g(a) = f(a, b0)``, ``X_right = X[:, right]`` and ``y_right = h(b) =
            f(a0, b) - f(a0, b0)`` ("add") or ``f(a0, b) / f(a0, b0)`` ("mul"). Row by row,
            ``combine`` of the two targets gives back ``f(X)`` when ``f`` is separable.

        Raises:
            ValueError: ``X`` has the wrong width, or ("mul") ``f(a0, b0)`` is 0.
        """
        X = check_X(X, n_features=self.n_features)
        ref = self._reference_row(X)
        A, B = X[:, list(self.left)], X[:, list(self.right)]
        g, h = self._evaluate_parts(oracle, A, B, ref)
        return (A, g), (B, h)

    def sub_oracles(self, oracle: Oracle) -> tuple[Oracle, Oracle]:
        """Oracles for the parts: ``g`` on ``(n, len(left))`` and ``h`` on ``(n, len(right))``.

        Each call of either makes one call of ``oracle`` (the reference row is batched in).

        Raises:
            ValueError: this Separation has no ``reference``.
        """
        ref = self._reference_row(None)
        empty_a = np.empty((0, len(self.left)))
        empty_b = np.empty((0, len(self.right)))

        def g_oracle(A: np.ndarray) -> np.ndarray:
            A = check_X(A, n_features=len(self.left))
            return self._evaluate_parts(oracle, A, empty_b, ref)[0]

        def h_oracle(B: np.ndarray) -> np.ndarray:
            B = check_X(B, n_features=len(self.right))
            return self._evaluate_parts(oracle, empty_a, B, ref)[1]

        return g_oracle, h_oracle


def _bipartitions(d: int, max_size: int) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Bipartitions ``(left, right)`` with ``1 <= len(left) <= max_size``, each listed once."""
    out = []
    for k in range(1, min(max_size, d // 2) + 1):
        for left in combinations(range(d), k):
            if 2 * k == d and 0 not in left:
                continue  # the complement was listed already
            out.append((left, tuple(c for c in range(d) if c not in left)))
    return out


def find_separability(
    oracle: Oracle,
    X: np.ndarray,
    *,
    tolerance: float,
    rng: np.random.Generator,
    max_subset_size: int | None = None,
    kinds: Sequence[str] = SEPARATION_KINDS,
    n_pairs: int = 300,
    keep_all: bool = False,
) -> list[Separation]:
    """Additive and multiplicative separability over bipartitions of the variables.

    For random pairs of data rows ``r1 = (a1, b1)``, ``r2 = (a2, b2)`` the mixed points
    ``(a1, b2)`` and ``(a2, b1)`` are evaluated; "add" holds when ``f11 + f22 - f12 - f21``
    is small relative to typical ``|f|``, "mul" when ``f11 f22 - f12 f21`` is small relative
    to typical ``f**2``. The same row pairs serve every bipartition.

    Args:
        oracle: ``(n, d) -> (n,)``; called exactly once (everything batched).
        X: the data inputs (n, d), n >= 2.
        tolerance: a candidate holds when its error is ``<= tolerance``.
        rng: draws the row pairs (explicit; no global seeding).
        max_subset_size: largest size of the smaller block. ``None``: all bipartitions for
            ``d <= 6``, single variables and pairs against the rest for larger ``d``.
        kinds: subset of ``("add", "mul")``.
        n_pairs: number of row pairs.
        keep_all: return every tested candidate, not only those that hold.

    Returns:
        :class:`Separation` candidates (``left`` the smaller block), best first; each carries
        a reference row: the coordinate-wise data median, or the nearest data row with a
        typical ``|f|`` if ``f`` is near 0 there (so that "mul" can divide by it).
    """
    X = check_X(X)
    kinds = _check_kinds(kinds, SEPARATION_KINDS)
    tolerance = _check_tolerance(tolerance)
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
    n, d = X.shape
    if d < 2 or n < 2:
        return []
    if max_subset_size is None:
        max_subset_size = d // 2 if d <= 6 else 2
    if max_subset_size < 1:
        raise ValueError(f"max_subset_size must be >= 1, got {max_subset_size}")
    partitions = _bipartitions(d, max_subset_size)

    r1 = rng.integers(0, n, size=n_pairs)
    r2 = (r1 + rng.integers(1, n, size=n_pairs)) % n  # r2 != r1
    P1, P2 = X[r1], X[r2]
    # reference candidates: the median row, then the data rows nearest to it
    median = np.median(X, axis=0)
    spread = X.std(axis=0)
    spread[spread == 0] = 1.0
    nearest = np.argsort((((X - median) / spread) ** 2).sum(axis=1), kind="stable")[:8]
    ref_candidates = np.vstack([median[None, :], X[nearest]])

    blocks = [P1, P2, ref_candidates]
    for _left, right in partitions:
        p12, p21 = P1.copy(), P2.copy()
        p12[:, list(right)] = P2[:, list(right)]
        p21[:, list(right)] = P1[:, list(right)]
        blocks.extend((p12, p21))
    values = _evaluate(oracle, np.vstack(blocks))
    m, k = n_pairs, ref_candidates.shape[0]
    f11, f22 = values[:m], values[m : 2 * m]
    f_ref = values[2 * m : 2 * m + k]
    scale = _typical(np.concatenate([f11, f22]))

    good = np.flatnonzero(np.isfinite(f_ref) & (np.abs(f_ref) >= 0.5 * scale))
    if good.size:
        reference = ref_candidates[good[0]]
    else:
        reference = ref_candidates[int(np.nanargmax(np.where(np.isfinite(f_ref), np.abs(f_ref), -1.0)))]
    reference_t = tuple(float(v) for v in reference)

    found: list[Separation] = []
    offset = 2 * m + k
    for t, (left, right) in enumerate(partitions):
        f12 = values[offset + 2 * t * m : offset + (2 * t + 1) * m]
        f21 = values[offset + (2 * t + 1) * m : offset + (2 * t + 2) * m]
        for kind in kinds:
            if kind == "add":
                error = _relative(f11 + f22 - f12 - f21, scale)
            else:
                error = _relative(f11 * f22 - f12 * f21, scale**2)
            if keep_all or error <= tolerance:
                found.append(Separation(kind=kind, left=left, right=right, error=error, reference=reference_t))
    order = {kind: r for r, kind in enumerate(SEPARATION_KINDS)}
    found.sort(key=lambda s: (s.error, order[s.kind], len(s.left), s.left))
    return found


# --- everything at once -------------------------------------------------------------------


@dataclass(frozen=True)
class SymmetryReport:
    """All tests of :func:`analyse_symmetries` on one problem, with their cost.

    Attributes:
        translational: holding "minus"/"plus" symmetries, best first.
        scaling: holding "times"/"divide" symmetries, best first.
        separations: holding separations, best first.
        equal_variables: holding swap symmetries, best first.
        oracle_calls: number of oracle calls made by all tests.
        oracle_rows: total rows evaluated by the oracle (the solver's symbolic-work meter).
    """

    translational: tuple[Symmetry, ...]
    scaling: tuple[Symmetry, ...]
    separations: tuple[Separation, ...]
    equal_variables: tuple[SwapSymmetry, ...]
    oracle_calls: int
    oracle_rows: int

    @property
    def symmetries(self) -> tuple[Symmetry, ...]:
        """Translational and scaling symmetries together, best first."""
        return tuple(sorted(self.translational + self.scaling, key=lambda s: (s.error, s.i, s.j, s.kind)))


def analyse_symmetries(
    oracle: Oracle,
    X: np.ndarray,
    *,
    tolerance: float,
    rng: np.random.Generator,
    n_points: int = 300,
    max_subset_size: int | None = None,
) -> SymmetryReport:
    """Run every test (translational, scaling, separability, swap) and count the oracle work.

    Args:
        oracle: ``(n, d) -> (n,)``; called at most four times.
        X: the data inputs (n, d).
        tolerance: shared threshold on the errors.
        rng: draws sample rows and row pairs.
        n_points: base points per pair test and row pairs for separability.
        max_subset_size: see :func:`find_separability`.

    Returns:
        A :class:`SymmetryReport`.
    """
    counter = CountingOracle(oracle)
    X = check_X(X)
    translational = find_translational_symmetry(counter, X, tolerance=tolerance, n_points=n_points, rng=rng)
    scaling = find_scaling_symmetry(counter, X, tolerance=tolerance, n_points=n_points, rng=rng)
    separations = find_separability(
        counter, X, tolerance=tolerance, rng=rng, max_subset_size=max_subset_size, n_pairs=n_points
    )
    equal = find_equal_variables(counter, X, tolerance=tolerance, n_points=n_points, rng=rng)
    return SymmetryReport(
        translational=tuple(translational),
        scaling=tuple(scaling),
        separations=tuple(separations),
        equal_variables=tuple(equal),
        oracle_calls=counter.calls,
        oracle_rows=counter.rows,
    )
