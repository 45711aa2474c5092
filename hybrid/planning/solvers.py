"""The exact solvers of the planning envs, in the one signature :class:`~hybrid.planning.agents.PlanningAgent` calls.

A solver is any callable ``(model, state, time_limit_s) -> SearchResult``
(:class:`~hybrid.symbolic.planning.best_first.SearchResult`; only ``solved``, ``actions`` and
``reason`` are read): :func:`sliding_puzzle_solver` (A* with Manhattan distance and linear
conflicts), :func:`lights_out_solver` (exact GF(2) algebra, fewest presses),
:func:`sokoban_solver` (the push-level Sokoban solver), :func:`blocksworld_solver` (A* with
the count of blocks not yet on their final tower, the fewest moves) or :func:`astar_solver`
for any model. :func:`sokoban_model_from_grid` is Sokoban's *model factory*: a frame shows its
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
from hybrid.tasks.envs.blocksworld import BlocksworldModel
from hybrid.tasks.envs.lights_out import LightsOutModel
from hybrid.tasks.envs.sliding_puzzle import SlidingPuzzleModel
from hybrid.tasks.envs.sokoban import SokobanModel, level_from_grid

__all__ = [
    "Solver",
    "astar_solver",
    "blocksworld_heuristic",
    "blocksworld_solver",
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


def blocksworld_heuristic(model: BlocksworldModel) -> Callable[[tuple[tuple[int, ...], ...]], float]:
    """Return the Blocksworld heuristic of ``model``'s goal: the number of blocks not yet *in place*.

    A block is in place when it stands where the goal has it (same stack, same height)
    and every block below it is in place too. A block not in place must move at least
    once (itself, or to let a block below it move), so the count is admissible; a move
    changes the place of one block only and leaves every block below it as it was, so
    the count changes by at most one per move (consistent): A* with it returns a plan
    with the fewest moves.

    Args:
        model: a :class:`~hybrid.tasks.envs.blocksworld.BlocksworldModel` (its ``goal_state`` is read).

    Returns:
        ``state -> float``, 0 exactly at the goal.
    """
    goal = model.goal_state
    n = model.num_blocks

    def heuristic(state: tuple[tuple[int, ...], ...]) -> float:
        in_place = 0
        for stack, target in zip(state, goal, strict=True):
            for block, wanted in zip(stack, target, strict=False):
                if block != wanted:
                    break
                in_place += 1
        return float(n - in_place)

    return heuristic


def blocksworld_solver(
    model: BlocksworldModel, state: tuple[tuple[int, ...], ...], time_limit_s: float | None
) -> SearchResult:
    """Solve a Blocksworld state with A* and :func:`blocksworld_heuristic`: the fewest moves (exact).

    Blocksworld with up to 6 blocks on 6 stacks has at most 332,640 states, so the search
    is exhaustive when it has to be (``reason="exhausted"`` never happens: with 3 or more
    stacks every state reaches the goal).

    Args:
        model: a :class:`~hybrid.tasks.envs.blocksworld.BlocksworldModel`.
        state: the start state (a tuple of bottom-to-top stacks).
        time_limit_s: seconds before giving up (``reason="time limit"``), or None.

    Returns:
        The :class:`~hybrid.symbolic.planning.best_first.SearchResult` of
        :func:`~hybrid.symbolic.planning.best_first.astar`; its ``actions`` replay through ``model.step``.
    """
    return astar(model, state, blocksworld_heuristic(model), time_limit_s=time_limit_s)


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
