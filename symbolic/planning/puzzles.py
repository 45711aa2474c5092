"""Exact solvers for two puzzles of :mod:`hybrid.tasks.envs`: sliding tiles (A*) and Lights Out (GF(2) algebra).

Sliding-tile puzzle (:class:`~hybrid.tasks.envs.sliding_puzzle.SlidingPuzzleModel`)
    States are tuples of ``n*n`` ints read row by row, ``0`` the blank, goal
    ``(0, 1, ..., n*n - 1)`` (tile ``k`` belongs at index ``k``). :func:`sliding_puzzle_heuristic`
    is the Manhattan distance of the tiles (blank excluded) plus the linear conflicts of
    Hansson, Mayer and Yung (1992): in a row, the tiles whose goal is that row but which
    stand in the wrong order must leave it and come back, two moves each for every tile
    outside the longest increasing subsequence of their goal columns (same for columns).
    The sum is admissible and consistent (a move changes one tile's Manhattan distance
    by one and at most one line's conflict count by two, in the direction that keeps
    ``h(s) <= 1 + h(s')``), so A* over it returns a plan of the fewest moves.
    :func:`solve_sliding_puzzle` runs that A*.

Lights Out (:class:`~hybrid.tasks.envs.lights_out.LightsOutModel`)
    Presses commute and two presses of a cell cancel, so solving a pattern ``s`` is
    solving ``A x = s`` over GF(2), ``A`` the ``n*n x n*n`` press matrix (a press toggles
    its cell and the orthogonal neighbours). :class:`LightsOutSolver` eliminates ``A``
    once per size (Gauss-Jordan on bitmask rows, tracking which presses give each row);
    a pattern is then solved by one pass over the pivots. When ``A`` is singular (4 x 4:
    nullity 4; 5 x 5: nullity 2) a pattern is solvable only when its reduced form
    vanishes, and a solution is unique only up to the null space: the solver tries every
    null-space combination (``2**nullity`` of them, at most 256 for sizes up to 16) and
    keeps the fewest presses, so its plans are minimal. Unsolvable patterns give a
    :class:`~hybrid.symbolic.planning.best_first.SearchResult` with ``solved=False`` and
    ``reason="exhausted"`` (no solution exists), never an exception.

Pure Python and numpy: nothing here needs torch.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from hybrid.symbolic.planning.best_first import SearchResult, astar
from hybrid.tasks.envs.sliding_puzzle import SlidingPuzzleModel

__all__ = [
    "LightsOutSolver",
    "cached_lights_out_solver",
    "linear_conflicts",
    "manhattan_distance",
    "sliding_puzzle_heuristic",
    "solve_lights_out",
    "solve_sliding_puzzle",
]


# ============================================================================ sliding-tile puzzle


def _check_size(name: str, size: Any, lo: int, hi: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not lo <= size <= hi:
        raise ValueError(f"{name} must be an int in {lo}..{hi}, got {size!r}")
    return int(size)


def _check_permutation(state: Any, size: int) -> tuple[int, ...]:
    try:
        s = tuple(int(v) for v in state)
    except (TypeError, ValueError):
        raise ValueError(f"state must be a sequence of {size * size} ints, got {state!r}") from None
    if sorted(s) != list(range(size * size)):
        raise ValueError(f"state must hold each of 0..{size * size - 1} once, got {s}")
    return s


def manhattan_distance(state: Sequence[int], size: int = 3) -> int:
    """Return the sum over tiles (blank excluded) of each tile's row + column distance to its goal cell.

    Args:
        state: the ``size**2`` tile numbers read row by row (0 the blank); goal ``(0, 1, ..., size**2 - 1)``.
        size: the side of the board (2..9).

    Raises:
        ValueError: naming ``size`` or ``state`` when they are not a board.
    """
    n = _check_size("size", size, 2, 9)
    s = _check_permutation(state, n)
    return sum(abs(i // n - t // n) + abs(i % n - t % n) for i, t in enumerate(s) if t)


def _lis_length(values: list[int]) -> int:
    """Length of the longest strictly increasing subsequence of ``values``."""
    tails: list[int] = []
    for v in values:
        k = bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
        else:
            tails[k] = v
    return len(tails)


def linear_conflicts(state: Sequence[int], size: int = 3) -> int:
    """Return the linear-conflict moves of ``state``: 2 per tile that must leave its goal line to let others pass.

    In each row, the tiles whose goal row it is are read left to right; those outside
    the longest increasing subsequence of their goal columns are in conflict (the fewest
    tiles that must step out of the row). Columns likewise. Each costs two extra moves.

    Args:
        state: the ``size**2`` tile numbers read row by row (0 the blank).
        size: the side of the board (2..9).

    Raises:
        ValueError: naming ``size`` or ``state`` when they are not a board.
    """
    n = _check_size("size", size, 2, 9)
    s = _check_permutation(state, n)
    extra = 0
    for line in range(n):
        row = [s[line * n + c] % n for c in range(n) if s[line * n + c] and s[line * n + c] // n == line]
        col = [s[r * n + line] // n for r in range(n) if s[r * n + line] and s[r * n + line] % n == line]
        extra += 2 * (len(row) - _lis_length(row)) + 2 * (len(col) - _lis_length(col))
    return extra


def sliding_puzzle_heuristic(size: int = 3, linear_conflict: bool = True) -> Callable[[tuple[int, ...]], float]:
    """Return ``h(state)``: Manhattan distance (plus linear conflicts when asked), admissible and consistent.

    The returned function does no input checks (it runs inside the search loop); states
    must be tuples of ``size**2`` ints, a permutation of ``0 .. size**2 - 1``.

    Args:
        size: the side of the board (2..9).
        linear_conflict: add :func:`linear_conflicts` to the Manhattan distance.

    Returns:
        ``state -> float`` lower bound on the moves to the goal ``(0, 1, ..., size**2 - 1)``.

    Raises:
        ValueError: naming ``size`` or ``linear_conflict``.
    """
    n = _check_size("size", size, 2, 9)
    if not isinstance(linear_conflict, (bool, np.bool_)):
        raise ValueError(f"linear_conflict must be a bool, got {linear_conflict!r}")
    cells = n * n
    # dist[i][t]: Manhattan distance of tile t standing at index i (0 for the blank)
    dist = tuple(
        tuple(0 if t == 0 else abs(i // n - t // n) + abs(i % n - t % n) for t in range(cells)) for i in range(cells)
    )
    rows = tuple(tuple(range(r * n, r * n + n)) for r in range(n))
    cols = tuple(tuple(range(c, cells, n)) for c in range(n))

    def manhattan(state: tuple[int, ...]) -> float:
        return float(sum(dist[i][t] for i, t in enumerate(state)))

    if not linear_conflict:
        return manhattan

    def line_extra(values: list[int]) -> int:
        # fewest tiles to remove so that the rest are increasing (len - LIS); short lines, so a tiny loop
        if len(values) < 2:
            return 0
        return len(values) - _lis_length(values)

    def manhattan_lc(state: tuple[int, ...]) -> float:
        h = 0
        for i, t in enumerate(state):
            h += dist[i][t]
        extra = 0
        for r, idx in enumerate(rows):
            line = [state[i] % n for i in idx if state[i] and state[i] // n == r]
            extra += line_extra(line)
        for c, idx in enumerate(cols):
            line = [state[i] // n for i in idx if state[i] and state[i] % n == c]
            extra += line_extra(line)
        return float(h + 2 * extra)

    return manhattan_lc


def solve_sliding_puzzle(
    state: Sequence[int],
    size: int = 3,
    *,
    time_limit_s: float | None = None,
    max_expansions: int | None = None,
    linear_conflict: bool = True,
) -> SearchResult:
    """Solve a sliding-tile puzzle with A* over Manhattan distance + linear conflicts: a plan of the fewest moves.

    Args:
        state: the start, ``size**2`` tile numbers read row by row (0 the blank).
        size: the side of the board (2..9; 3 is the 8-puzzle).
        time_limit_s: seconds before giving up (``reason="time limit"``); None: no limit.
        max_expansions: expansions before giving up (``reason="node limit"``); None: no limit.
        linear_conflict: use the linear conflicts on top of the Manhattan distance.

    Returns:
        A :class:`~hybrid.symbolic.planning.best_first.SearchResult`: ``actions`` move the blank
        (0 up, 1 down, 2 left, 3 right, as :class:`~hybrid.tasks.envs.sliding_puzzle.SlidingPuzzleModel`),
        ``cost`` is their number; an unsolvable arrangement (wrong permutation parity)
        gives ``solved=False`` and ``reason="exhausted"`` at once, without a search.

    Raises:
        ValueError: naming ``size``, ``state`` or a limit.
    """
    n = _check_size("size", size, 2, 9)
    s = _check_permutation(state, n)
    model = _sliding_model(n)
    if not model.is_solvable(s):
        return SearchResult(False, (), math.inf, 0, 0, 0.0, "exhausted", info={"unsolvable": True})
    return astar(
        model,
        s,
        _sliding_heuristic(n, bool(linear_conflict)),
        time_limit_s=time_limit_s,
        max_expansions=max_expansions,
    )


@lru_cache(maxsize=16)
def _sliding_model(size: int) -> SlidingPuzzleModel:
    return SlidingPuzzleModel(size)


@lru_cache(maxsize=32)
def _sliding_heuristic(size: int, linear_conflict: bool) -> Callable[[tuple[int, ...]], float]:
    return sliding_puzzle_heuristic(size, linear_conflict)


# ============================================================================ Lights Out over GF(2)


class LightsOutSolver:
    """Lights Out on a ``size x size`` board solved exactly over GF(2), with the fewest presses.

    Args:
        size: the side of the board (2..16).

    Attributes:
        size: the side of the board.
        null_space: a basis of the press combinations that change nothing (bitmasks over
            the cells); its length is the nullity of the press matrix (0 for 3 x 3, 4 for
            4 x 4, 2 for 5 x 5).
        press_masks: for each cell, the bitmask of the lights its press toggles.

    Raises:
        ValueError: naming ``size``.
    """

    #: Null spaces larger than this are not enumerated (a solution is then exact but maybe not minimal).
    MAX_NULLITY_ENUMERATED = 16

    def __init__(self, size: int = 5) -> None:
        self.size = _check_size("size", size, 2, 16)
        n = self.size
        cells = n * n
        masks = []
        for r in range(n):
            for c in range(n):
                m = 0
                for dr, dc in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)):
                    if 0 <= r + dr < n and 0 <= c + dc < n:
                        m |= 1 << ((r + dr) * n + c + dc)
                masks.append(m)
        self.press_masks: tuple[int, ...] = tuple(masks)
        # Gauss-Jordan over GF(2): each row is (lights toggled, presses that toggle them).
        rows = [(m, 1 << i) for i, m in enumerate(masks)]
        pivots: list[tuple[int, int, int]] = []  # (pivot bit, lights, presses), fully reduced
        rank = 0
        for bit in range(cells):
            pick = next((i for i in range(rank, cells) if rows[i][0] >> bit & 1), None)
            if pick is None:
                continue
            rows[rank], rows[pick] = rows[pick], rows[rank]
            pv, pc = rows[rank]
            for i in range(cells):
                if i != rank and rows[i][0] >> bit & 1:
                    rows[i] = (rows[i][0] ^ pv, rows[i][1] ^ pc)
            rank += 1
        for value, combo in rows[:rank]:
            pivots.append(((value & -value).bit_length() - 1, value, combo))
        self._pivots = tuple(pivots)
        self.null_space: tuple[int, ...] = tuple(combo for value, combo in rows[rank:] if value == 0)
        self.rank = rank

    def __repr__(self) -> str:
        return f"LightsOutSolver(size={self.size}, nullity={len(self.null_space)})"

    def _check_state(self, state: Any) -> int:
        n = self.size
        if isinstance(state, np.ndarray) and state.ndim == 2:
            if state.shape != (n, n) or not np.isin(state, (0, 1)).all():
                raise ValueError(f"state must be a ({n}, {n}) grid of 0/1 or an int bitmask, got {state.shape} grid")
            return sum(1 << k for k, v in enumerate(state.reshape(-1).tolist()) if v)
        if isinstance(state, bool) or not isinstance(state, (int, np.integer)) or not 0 <= state < 1 << (n * n):
            raise ValueError(f"state must be an int bitmask in 0..2**{n * n} - 1 or a 0/1 grid, got {state!r}")
        return int(state)

    def particular_solution(self, state: int) -> int | None:
        """Return a bitmask of presses that turns ``state`` off, or None when no presses do.

        Args:
            state: the lights on, an int bitmask (bit ``r * size + c``) or a ``(size, size)`` 0/1 grid.

        Raises:
            ValueError: naming ``state`` when it is not a pattern of this board.
        """
        s = self._check_state(state)
        x = 0
        for bit, value, combo in self._pivots:
            if s >> bit & 1:
                s ^= value
                x ^= combo
        return None if s else x

    def is_solvable(self, state: int) -> bool:
        """Return True when some presses turn every light of ``state`` off."""
        return self.particular_solution(state) is not None

    def minimal_presses(self, state: int) -> tuple[int, ...] | None:
        """Return the fewest cells to press (sorted) that turn ``state`` off, or None when none do.

        Every solution is the particular one plus a null-space combination; all
        ``2**nullity`` are tried (ties go to the smaller bitmask). For a nullity above
        :attr:`MAX_NULLITY_ENUMERATED` the particular solution is returned as it is.

        Raises:
            ValueError: naming ``state`` when it is not a pattern of this board.
        """
        x = self.particular_solution(state)
        if x is None:
            return None
        best = x
        if len(self.null_space) <= self.MAX_NULLITY_ENUMERATED:
            candidates = [x]
            for q in self.null_space:
                candidates += [c ^ q for c in candidates]
            best = min(candidates, key=lambda c: (c.bit_count(), c))
        return tuple(k for k in range(self.size * self.size) if best >> k & 1)

    def solve(self, state: int) -> SearchResult:
        """Solve ``state``: a :class:`~hybrid.symbolic.planning.best_first.SearchResult`, fewest presses as actions.

        Args:
            state: the lights on (int bitmask or ``(size, size)`` 0/1 grid).

        Returns:
            ``solved=True`` with ``actions`` the cells to press (in increasing order; any
            order works) and ``cost`` their number, verified by replaying the presses; or
            ``solved=False, reason="exhausted"`` for a pattern no presses turn off.
            ``info`` has ``nullity`` and ``minimal`` (whether the fewest presses were guaranteed);
            ``expanded`` counts the candidate solutions tried (``2**nullity``).

        Raises:
            ValueError: naming ``state`` when it is not a pattern of this board.
        """
        t0 = time.perf_counter()
        s = self._check_state(state)
        presses = self.minimal_presses(s)
        info = {"nullity": len(self.null_space), "minimal": len(self.null_space) <= self.MAX_NULLITY_ENUMERATED}
        expanded = 1 << min(len(self.null_space), self.MAX_NULLITY_ENUMERATED)
        if presses is None:
            return SearchResult(False, (), math.inf, expanded, 0, time.perf_counter() - t0, "exhausted", info=info)
        states = [s]
        for k in presses:
            states.append(states[-1] ^ self.press_masks[k])
        if states[-1] != 0:
            raise RuntimeError("internal error: the presses do not turn every light off")
        return SearchResult(
            True, presses, float(len(presses)), expanded, len(presses), time.perf_counter() - t0, "solved",
            tuple(states), info,
        )


@lru_cache(maxsize=16)
def cached_lights_out_solver(size: int = 5) -> LightsOutSolver:
    """Return the (cached) :class:`LightsOutSolver` of a ``size x size`` board."""
    return LightsOutSolver(size)


def solve_lights_out(state: int, size: int = 5) -> SearchResult:
    """Solve a Lights Out pattern with the fewest presses (see :meth:`LightsOutSolver.solve`).

    Args:
        state: the lights on, an int bitmask (bit ``r * size + c``) or a ``(size, size)`` 0/1 grid.
        size: the side of the board (2..16).

    Raises:
        ValueError: naming ``size`` or ``state``.
    """
    n = _check_size("size", size, 2, 16)
    return cached_lights_out_solver(n).solve(state)

