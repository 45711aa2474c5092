"""Separability tests against a black-box oracle: :func:`find_separability` (``f(a, b) = g(a) + h(b)``
or ``g(a) * h(b)``), as :mod:`hybrid.symbolic.regression.symmetry` describes (error measure,
trusted region, cost); re-exported there. numpy and sympy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import sympy
from hybrid.symbolic.regression.probes import (
    SEPARATION_KINDS,
    Oracle,
    _check_kinds,
    _check_tolerance,
    _evaluate,
    _relative,
    _typical,
)
from hybrid.tasks.arrays import check_X

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
