"""Compositionality from the oracle's gradients (AI Feynman 2.0, Udrescu et al. 2020).

Is ``f(x) = F(g(x_S), x_rest)`` for a subset ``S`` of the variables? Then ``f``'s
gradient restricted to ``S`` points along ``grad g``, which depends on ``x_S`` alone: its
*direction* does not change when only ``x_rest`` does. :func:`find_compositions` tests
that on the oracle (finite differences at data points, and at the same points with
``x_rest`` taken from other rows), for every subset of 2 to ``max_size`` variables that
leaves at least one out. The whole formula then splits into an inner ``g`` of
``|S|`` variables and an outer ``F`` of ``d - |S| + 1``, each solved on its own.

:func:`fit_inner` finds ``g``: a brute force over expressions of ``x_S`` in order of
length whose *gradient direction* matches the oracle's, measured by finite differences
of each candidate on shifted copies of the points, so the search engine of
:mod:`hybrid.symbolic.regression.bruteforce` runs unchanged apart from its score. Any function
with the same level sets has the same direction (``g``, ``2g + 1``, ``log g``): the
shortest wins, and the outer ``F`` absorbs the rest.

Examples of laws this splits: ``Z = sqrt(R**2 + (omega*L - 1/(omega*C))**2)`` (``g =
omega*L - 1/(omega*C)``), the single-slit intensity (``g = a*sin(theta)/lambda``),
``r = g2/g1*exp(-(E2 - E1)/(k*T))`` (``g = (E2 - E1)/(k*T)``).

numpy and sympy only: the oracle is any callable ``(n, d) -> (n,)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import sympy
from hybrid.symbolic.regression.bruteforce import _check_constants, _Search, check_operators

Oracle = Callable[[np.ndarray], np.ndarray]

#: Base points of a test, and of the inner search (whose point matrix holds them and their shifted copies).
N_POINTS = 40
#: Finite-difference step, relative to each column's range.
STEP = 1e-3


@dataclass(frozen=True)
class Composition:
    """``f`` depends on the variables ``subset`` only through one function of them.

    Attributes:
        subset: column indices of ``S`` (sorted).
        error: median sine of the angle between the restricted gradients at the same
            ``x_S`` with different ``x_rest`` (0: the same direction everywhere).
    """

    subset: tuple[int, ...]
    error: float

    def apply(self, X: np.ndarray, inner: np.ndarray) -> np.ndarray:
        """``X`` with the subset's columns replaced by the one column ``inner``, at the first's place."""
        keep = [k for k in range(X.shape[1]) if k not in self.subset[1:]]
        out = X[:, keep].copy()
        out[:, keep.index(self.subset[0])] = inner
        return out


def _steps(X: np.ndarray) -> np.ndarray:
    return STEP * np.maximum(X.max(axis=0) - X.min(axis=0), 1e-12)


def _inside(X: np.ndarray, rows: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``rows`` pulled inside the data box by two steps, so that ``rows +- h`` stay where the oracle was trained."""
    lo, hi = X.min(axis=0) + 2 * h, X.max(axis=0) - 2 * h
    return np.clip(rows, lo, np.maximum(lo, hi))


def restricted_gradients(oracle: Oracle, points: np.ndarray, subset: Sequence[int], h: np.ndarray) -> np.ndarray:
    """Central-difference gradients of ``oracle`` over the ``subset`` columns at ``points``: ``(n, |subset|)``.

    One oracle call of ``2 * n * |subset|`` rows.
    """
    n = len(points)
    batch = []
    for k in subset:
        for sign in (1.0, -1.0):
            shifted = points.copy()
            shifted[:, k] += sign * h[k]
            batch.append(shifted)
    with np.errstate(all="ignore"):
        values = np.asarray(oracle(np.concatenate(batch)), dtype=float).reshape(len(subset), 2, n)
    return ((values[:, 0] - values[:, 1]) / (2 * h[list(subset)][:, None])).T


def _sine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sine of the angle between rows of ``a`` and ``b`` (directions up to sign); NaN for a zero row."""
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    with np.errstate(all="ignore"):
        cos = np.abs(np.sum(a * b, axis=1)) / (na * nb)
    return np.sqrt(np.clip(1.0 - cos**2, 0.0, 1.0))


def find_compositions(
    oracle: Oracle,
    X: np.ndarray,
    *,
    tolerance: float = 0.02,
    max_size: int = 4,
    rng: np.random.Generator | None = None,
) -> list[Composition]:
    """Subsets ``S`` (2 to ``max_size`` variables, at least one left out) through which ``f`` is one function.

    Args:
        oracle: a smooth model of the data.
        X: the data's inputs ``(n, d)`` (they bound where the oracle is trusted).
        tolerance: the largest median sine between the restricted gradients at the same
            ``x_S`` and different ``x_rest``.
        max_size: the largest subset tried.
        rng: picks the points.

    Returns:
        The subsets that hold, largest first, then by error.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    n, d = X.shape
    if d < 3:
        return []
    h = _steps(X)
    base = _inside(X, X[rng.choice(n, size=min(N_POINTS, n), replace=False)], h)
    others = _inside(X, X[rng.choice(n, size=len(base), replace=True)], h)
    found = []
    for size in range(min(max_size, d - 1), 1, -1):
        for subset in combinations(range(d), size):
            mixed = others.copy()
            mixed[:, subset] = base[:, subset]
            g_base = restricted_gradients(oracle, base, subset, h)
            g_mixed = restricted_gradients(oracle, mixed, subset, h)
            scale = np.median(np.linalg.norm(g_base, axis=1))
            if not np.isfinite(scale) or scale == 0:
                continue
            # Both gradients must be clearly non-zero for the direction to mean anything.
            ok = (np.linalg.norm(g_base, axis=1) > 1e-6 * scale) & (np.linalg.norm(g_mixed, axis=1) > 1e-6 * scale)
            if ok.sum() < len(base) // 2:
                continue
            # ... and must really differ in direction across x_S (else S is a single direction: no test).
            error = float(np.median(_sine(g_base[ok], g_mixed[ok])))
            if error <= tolerance and _varies(g_base[ok]):
                found.append(Composition(tuple(subset), error))
    return sorted(found, key=lambda c: (-len(c.subset), c.error))


def _varies(g: np.ndarray) -> bool:
    """True when the directions ``g`` are not all the same (a constant direction tells nothing about g)."""
    unit = g / np.linalg.norm(g, axis=1, keepdims=True)
    return float(np.median(_sine(unit, np.broadcast_to(unit[0], unit.shape)))) > 1e-3 or unit.shape[1] == 1


class _DirectionSearch(_Search):
    """The brute force, scoring each expression by how well its gradient direction matches a target's.

    The point matrix holds ``m`` base points, then the base points shifted by ``h_i`` in
    each variable ``i``: an expression's values on it give its forward-difference
    gradient at the base points.
    """

    def __init__(self, points, h, target, names, operators, constants, deadline, max_rows, rng):
        m, s = points.shape
        shifted = [points] + [points + np.eye(s)[i] * h[i] for i in range(s)]
        augmented = np.concatenate(shifted)
        super().__init__(augmented, np.arange(len(augmented), dtype=float), names, operators, constants, 0.0,
                         deadline, max_rows, rng)
        self.m, self.s, self.h = m, s, h
        self.target = target / np.linalg.norm(target, axis=1, keepdims=True)

    def _score(self, length, values, rows, chunks_index=None) -> None:
        m, s = self.m, self.s
        base = values[:, :m]
        grads = np.stack([(values[:, m * (i + 1): m * (i + 2)] - base) / self.h[i] for i in range(s)], axis=2)
        with np.errstate(all="ignore"):
            norms = np.linalg.norm(grads, axis=2)
            cos = np.abs(np.einsum("eps,ps->ep", grads, self.target)) / norms
            err = np.sqrt(np.clip(1.0 - cos**2, 0.0, 1.0)).mean(axis=1)
        err = np.where(np.isfinite(err), err, np.inf)
        k = min(4, len(err))
        best = np.argpartition(err, k - 1)[:k] if len(err) > k else np.arange(len(err))
        entries = [(float(err[b]), chunks_index if rows is None else -1, int(b if rows is None else rows[b]))
                   for b in best if np.isfinite(err[b])]
        if rows is not None:
            self.top.setdefault(length, []).extend((e, length, r) for e, _, r in entries)
        else:
            self._pending = sorted(self._pending + entries)[:8]


#: Alphabets the inner search tries in turn, each for a share of the budget: an inner
#: function is most often rational (``omega*L - 1/(omega*C)``), so the small alphabet first
#: reaches lengths that the full one cannot in the same time.
ALPHABETS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("+", "-", "*", "/"), ("1",)),
    (("+", "-", "*", "/", "inv", "square", "sqrt"), ("1", "2")),
    (("+", "-", "*", "/", "inv", "square", "sqrt", "exp", "log", "sin", "cos"), ("1", "2", "pi")),
)


def fit_inner(
    oracle: Oracle,
    X: np.ndarray,
    subset: Sequence[int],
    names: Sequence[str],
    *,
    alphabets=ALPHABETS,
    tolerance: float = 0.005,
    time_budget_s: float = 10.0,
    max_length: int = 11,
    rng: np.random.Generator | None = None,
    work: dict[str, int] | None = None,
) -> tuple[sympy.Expr, float] | None:
    """The shortest ``g(x_S)`` whose gradient direction matches the oracle's over ``subset``.

    Args:
        oracle: the model of the data.
        X: the data's inputs ``(n, d)``.
        subset: the columns ``S`` (from :func:`find_compositions`).
        names: the names of ``X``'s columns (``g`` is written over those of ``S``).
        alphabets: ``(operators, constants)`` pairs searched in turn (default
            :data:`ALPHABETS`), each for an equal share of what is left of the budget.
        tolerance: the largest mean sine between ``grad g`` and the oracle's gradient.
        time_budget_s: the searches' wall-clock budget.
        max_length: the longest expression (RPN tokens) tried.
        rng: picks the points.
        work: if given, ``work["candidates"]`` is increased by the expressions evaluated
            (plain data, for the caller's work meter).

    Returns:
        ``(g, mean sine)`` of the first expression within tolerance, or ``None``.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    subset = list(subset)
    h = _steps(X)
    points = _inside(X, X[rng.choice(len(X), size=min(128 // (len(subset) + 1), len(X)), replace=False)], h)
    target = restricted_gradients(oracle, points, subset, h)
    good = np.all(np.isfinite(target), axis=1) & (np.linalg.norm(target, axis=1) > 0)
    if good.sum() < 8:
        return None
    end = time.perf_counter() + float(time_budget_s)
    sub_names = [names[k] for k in subset]
    for k, (operators, constants) in enumerate(alphabets):
        share = (end - time.perf_counter()) / (len(alphabets) - k)
        if share <= 0:
            return None
        search = _DirectionSearch(points[good][:, subset], h[subset], target[good], sub_names,
                                  check_operators(operators), _check_constants(constants),
                                  time.perf_counter() + share, 1_500_000, rng)
        search.leaves_level(constants)
        try:
            for length in range(1, max_length + 1):
                complete = True if length == 1 else search.build(length)
                ranked = sorted(search.top.get(length, []))
                if ranked and ranked[0][0] <= tolerance:
                    err, lvl, row = ranked[0]
                    return search.expression(lvl, row), float(err)
                if not complete or time.perf_counter() > search.deadline or search.stored >= search.max_rows:
                    break
        finally:
            if work is not None:
                work["candidates"] = work.get("candidates", 0) + int(search.evaluated)
    return None


__all__ = ["Composition", "find_compositions", "fit_inner", "restricted_gradients"]
