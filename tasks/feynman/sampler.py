"""Draw samples of an FSReD equation: in its ranges, with noise, or outside them."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy
from hybrid.tasks.feynman.table import FeynmanEquation


@dataclass(frozen=True)
class Samples:
    """Samples of one equation.

    Attributes:
        X: inputs, shape ``(n, n_variables)``, columns in the equation's variable order.
        y: outputs, shape ``(n,)``; noisy if the samples were drawn with noise.
        variables: the column names.
    """

    X: np.ndarray
    y: np.ndarray
    variables: tuple[str, ...]


@functools.lru_cache(maxsize=256)
def _truth_function(eq: FeynmanEquation):
    # The expression comes from the whitelisted parser, never from a raw string.
    return sympy.lambdify(eq.symbols, eq.expression, modules="numpy")


def evaluate_equation(eq: FeynmanEquation, X: np.ndarray) -> np.ndarray:
    """Evaluate the true formula of ``eq`` on inputs ``X`` of shape ``(n, n_variables)``."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != len(eq.variables):
        raise ValueError(
            f"X must have shape (n, {len(eq.variables)}) for {eq.id}, got {X.shape}"
        )
    y = _truth_function(eq)(*X.T)
    return np.broadcast_to(np.asarray(y, dtype=float), (X.shape[0],)).copy()


#: Times the points where an equation is not finite are drawn again before giving up.
MAX_REDRAWS = 100


def extrapolation_ranges(eq: FeynmanEquation, widen: float = 1.0) -> tuple[tuple[float, float], ...]:
    """Ranges just beyond the training ranges: ``[high, high + widen * (high - low)]``.

    Every coordinate of an extrapolation point lies outside its training range, so the
    whole point is outside the training box.
    """
    if widen <= 0:
        raise ValueError(f"widen must be > 0, got {widen}")
    return tuple((hi, hi + widen * max(hi - lo, abs(hi) * 0.1, 1e-12)) for lo, hi in eq.ranges)


def sample_equation(
    eq: FeynmanEquation,
    n: int,
    rng: np.random.Generator,
    *,
    noise: float = 0.0,
    ranges: tuple[tuple[float, float], ...] | None = None,
) -> Samples:
    """Draw ``n`` points uniformly in ``ranges`` (default: the table's) and evaluate.

    Args:
        eq: the equation.
        n: number of points, >= 1.
        rng: the random generator (pass one seeded explicitly).
        noise: relative noise level; ``y`` gets ``noise * rms(y_true) * N(0, 1)`` added
            (SRBench's target-noise convention).
        ranges: per-variable ``(low, high)``; default ``eq.ranges``.

    Returns:
        The samples: every ``y`` finite (points where the law is not defined are redrawn).

    Raises:
        ValueError: on bad ``n``, ``noise`` or ``ranges``, or if the law stays undefined
            at some points after :data:`MAX_REDRAWS` redraws.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if noise < 0 or not np.isfinite(noise):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    ranges = eq.ranges if ranges is None else ranges
    if len(ranges) != len(eq.variables):
        raise ValueError(f"ranges must give {len(eq.variables)} (low, high) pairs")
    low = np.array([r[0] for r in ranges], dtype=float)
    high = np.array([r[1] for r in ranges], dtype=float)
    X = low + (high - low) * rng.random((int(n), len(ranges)))
    with np.errstate(all="ignore"):
        y = evaluate_equation(eq, X)
    # Points where the law is not real (arcsin beyond 1, say, in widened ranges) are redrawn.
    for _ in range(MAX_REDRAWS):
        bad = ~np.isfinite(y)
        if not bad.any():
            break
        X[bad] = low + (high - low) * rng.random((int(bad.sum()), len(ranges)))
        with np.errstate(all="ignore"):
            y[bad] = evaluate_equation(eq, X[bad])
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{eq.id} is not finite at {int((~np.isfinite(y)).sum())} of {n} points drawn in {ranges}, "
                         f"even after {MAX_REDRAWS} redraws")
    if noise > 0:
        scale = float(np.sqrt(np.mean(y**2)))
        y = y + noise * scale * rng.standard_normal(y.shape)
    return Samples(X=X, y=y, variables=eq.variables)
