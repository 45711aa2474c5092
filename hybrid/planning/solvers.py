"""The exact solvers of the planning envs, in the one signature :class:`~hybrid.planning.agents.PlanningAgent` calls.

A solver is any callable ``(model, state, time_limit_s) -> SearchResult``
(:class:`~hybrid.symbolic.planning.best_first.SearchResult`; only ``solved``, ``actions`` and
``reason`` are read): :func:`sliding_puzzle_solver` (A* with Manhattan distance and linear
conflicts), :func:`lights_out_solver` (exact GF(2) algebra, fewest presses),
:func:`sokoban_solver` (the push-level Sokoban solver) or :func:`astar_solver` for any
model. :func:`sokoban_model_from_grid` is Sokoban's *model factory*: a frame shows its
own walls and goals, so the level's rules are built from the perceived grid.

Which env uses which is one row each of :data:`hybrid.planning.envs.PLANNING_ENVS`;
the names are re-exported by :mod:`hybrid.planning.agents`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hybrid.symbolic.planning.best_first import SearchResult, astar
from hybrid.symbolic.planning.puzzles import solve_lights_out, solve_sliding_puzzle
from hybrid.symbolic.planning.sokoban import solve as solve_sokoban
from hybrid.tasks.envs.lights_out import LightsOutModel
from hybrid.tasks.envs.sliding_puzzle import SlidingPuzzleModel
from hybrid.tasks.envs.sokoban import SokobanModel, level_from_grid

__all__ = [
    "Solver",
    "astar_solver",
    "lights_out_solver",
    "sliding_puzzle_solver",
    "sokoban_model_from_grid",
    "sokoban_solver",
]

#: A solver: ``(model, state, time_limit_s or None) -> SearchResult``.
Solver = Callable[[Any, Any, "float | None"], SearchResult]


def sliding_puzzle_solver(
    model: SlidingPuzzleModel, state: tuple[int, ...], time_limit_s: float | None
) -> SearchResult:
    """Solve a sliding-puzzle state with A* (Manhattan distance + linear conflicts): the fewest moves.

    Args:
        model: a :class:`~hybrid.tasks.envs.sliding_puzzle.SlidingPuzzleModel` (its ``size`` is used).
        state: the start state.
        time_limit_s: seconds before giving up, or None.

    Returns:
        The :class:`~hybrid.symbolic.planning.best_first.SearchResult` of
        :func:`~hybrid.symbolic.planning.puzzles.solve_sliding_puzzle`.
    """
    return solve_sliding_puzzle(state, model.size, time_limit_s=time_limit_s)


def lights_out_solver(model: LightsOutModel, state: int, time_limit_s: float | None) -> SearchResult:
    """Solve a Lights Out pattern exactly over GF(2), with the fewest presses (the time limit is not needed).

    Args:
        model: a :class:`~hybrid.tasks.envs.lights_out.LightsOutModel` (its ``size`` is used).
        state: the lights on (int bitmask).
        time_limit_s: unused (one elimination pass and ``2**nullity`` candidates).

    Returns:
        The :class:`~hybrid.symbolic.planning.best_first.SearchResult` of
        :func:`~hybrid.symbolic.planning.puzzles.solve_lights_out` (``reason="exhausted"`` when unsolvable).
    """
    return solve_lights_out(state, model.size)


def sokoban_solver(model: SokobanModel, state: Any, time_limit_s: float | None) -> SearchResult:
    """Solve a Sokoban state with :func:`hybrid.symbolic.planning.sokoban.solve` (``"fast"`` mode).

    Args:
        model: the level's :class:`~hybrid.tasks.envs.sokoban.SokobanModel`.
        state: a :class:`~hybrid.tasks.envs.sokoban.SokobanState` of that level.
        time_limit_s: seconds before giving up (the level analysis counts), or None.

    Returns:
        The solver's :class:`~hybrid.symbolic.planning.best_first.SearchResult` (moves, with
        ``info["pushes"]`` when solved).
    """
    return solve_sokoban(state, time_limit_s, model=model)


def astar_solver(heuristic: Callable[[Any], float] | None = None, weight: float = 1.0) -> Solver:
    """Return a solver running :func:`~hybrid.symbolic.planning.best_first.astar` over any single-agent model.

    Args:
        heuristic: ``state -> lower bound on the moves left`` (None: breadth-first order).
        weight: ``f = g + weight * h`` (>= 0; > 1 is weighted A*).

    Raises:
        ValueError: naming ``heuristic`` or ``weight``.
    """
    if heuristic is not None and not callable(heuristic):
        raise ValueError(f"heuristic must be callable or None, got {type(heuristic).__name__}")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
        raise ValueError(f"weight must be a number >= 0, got {weight!r}")

    def solver(model: Any, state: Any, time_limit_s: float | None) -> SearchResult:
        return astar(model, state, heuristic, weight=float(weight), time_limit_s=time_limit_s)

    return solver


def sokoban_model_from_grid(grid: np.ndarray) -> SokobanModel:
    """Return the model of the Sokoban level a grid of the 7 cell classes shows (walls, goals, boxes, player).

    Raises:
        ValueError: naming ``grid`` when it is no level (no player or two, no box, fewer goals than boxes, ...).
    """
    try:
        return SokobanModel(level_from_grid(grid))
    except ValueError as err:
        raise ValueError(f"grid is not a Sokoban level: {err}") from None
