"""What the symmetry and separability tests share: the :data:`Oracle` type, :class:`CountingOracle`,
and the helpers that evaluate an oracle, measure errors and squeeze points into the trusted box.

See :mod:`hybrid.symbolic.regression.symmetry` for the tests and the error measure; both
public names are re-exported there. numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

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
