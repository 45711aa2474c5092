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

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import sympy
from hybrid.symbolic.regression.probes import (
    _KIND_SPEC,
    _LIFT_GRID,
    _MIN_KEEP,
    SCALING_KINDS,
    SEPARATION_KINDS,
    TRANSLATIONAL_KINDS,
    CountingOracle,
    Oracle,
    _allowed,
    _check_kinds,
    _check_tolerance,
    _evaluate,
    _move,
    _relative,
    _sample_rows,
    _squeeze,
    _typical,
)
from hybrid.symbolic.regression.separability import Separation, find_separability
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
