"""The planning envs, as one table: what each registered env id means to the hybrid planners.

Every place of :mod:`hybrid.planning` that used to branch on an env id reads its row of
:data:`PLANNING_ENVS` instead (:func:`planning_env` looks one up; an unknown id is a
``ValueError`` that lists the known ones):

- :func:`~hybrid.planning.agents.make_agent`: the rules (:attr:`PlanningEnv.rules`) and the
  exact solver (:attr:`PlanningEnv.solver`);
- :mod:`~hybrid.planning.perceive`: the grid shape a perception net reads
  (:attr:`PlanningEnv.grid_spec`), how a grid is drawn (:attr:`PlanningEnv.draw`), which
  ``env_kwargs`` perception trains on (:attr:`PlanningEnv.training_kwargs`,
  :attr:`PlanningEnv.training_refuses`);
- :mod:`~hybrid.planning.task` and :mod:`~hybrid.planning.register`: the evaluator task
  (:attr:`PlanningEnv.task`, its step limit, its train and test kwargs and episodes) and
  whether frames are read cell by cell (:attr:`PlanningEnv.any_size_frames`);
- :mod:`~hybrid.planning.plan`: whether ``hybrid plan`` reads level files for it
  (:attr:`PlanningEnv.level_files`);
- :mod:`~hybrid.planning.alphazero` and :mod:`~hybrid.planning.openspiel_peer`: the
  two-player games by their short name (:attr:`PlanningEnv.game`).

Adding an env to the planners means registering it in :mod:`hybrid.tasks.envs` and adding
one row here. The rows hold plain functions and import nothing heavy (no torch): the
solvers of :mod:`hybrid.planning.solvers`, and the env modules imported when a row's
function is called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybrid.planning.solvers import (
    blocksworld_solver,
    lights_out_solver,
    sliding_puzzle_solver,
    sokoban_model_from_grid,
    sokoban_solver,
)

__all__ = [
    "PLANNING_ENVS",
    "PlanningEnv",
    "game_env",
    "planning_env",
    "planning_env_ids",
    "task_env",
]

Kwargs = dict[str, Any]


@dataclass(frozen=True)
class PlanningEnv:
    """One row of the table: a registered env id and what the planners need to know of it.

    Attributes:
        id: the gymnasium id (``"hybrid/Sokoban-v0"``).
        rules: ``env_kwargs -> model``: a :class:`~hybrid.tasks.envs.model.TransitionModel`, or a
            factory ``grid -> model`` for worlds whose rules come with the picture (Sokoban).
        solver: ``(model, state, time_limit_s) -> SearchResult``, the exact single-agent solver
            (None for the two-player games, searched with MCTS instead).
        grid_spec: ``env_kwargs -> (rows, cols, num_classes)`` of the grids a frame shows
            (None when the planners read no frames of it).
        draw: ``(grids, env_kwargs) -> frames``, drawing grids of cell classes as the env does.
        training_kwargs: ``env_kwargs`` defaults perception trains on (filled in under the caller's).
        training_refuses: ``env_kwargs`` keys perception may not train with (the levels to solve).
        any_size_frames: frames may have another number of cells than the training frames
            (read cell by cell with :func:`hybrid.planning.perceive.read_grid`).
        level_files: ``hybrid plan`` reads level files of this env.
        task: the evaluator task's name (None: no task).
        task_max_steps: steps per test episode of the task before it counts as failed.
        task_size: the task's default board side (None: the levels set the size).
        task_about: what the task is, in a few words (the evaluator's registry shows it).
        task_quick_sizes: the task's ``n_train`` sizes of a quick sweep.
        test_kwargs: ``(size, max_steps) -> env_kwargs`` of the task's test env.
        test_episodes: ``(rng, seeds) -> (episodes, labels)``: the test episodes' ``reset`` arguments.
        game: the short name of a two-player game (``"connect_four"``), else None.
    """

    id: str
    rules: Callable[[Kwargs], Any]
    solver: Callable[[Any, Any, float | None], Any] | None = None
    grid_spec: Callable[[Kwargs], tuple[int, int, int]] | None = None
    draw: Callable[[list[np.ndarray], Kwargs], list[np.ndarray]] | None = None
    training_kwargs: tuple[tuple[str, Any], ...] = ()
    training_refuses: tuple[str, ...] = ()
    any_size_frames: bool = False
    level_files: bool = False
    task: str | None = None
    task_max_steps: int | None = None
    task_size: int | None = None
    task_about: str = ""
    task_quick_sizes: tuple[int, ...] = ()
    test_kwargs: Callable[[int | None, int], Kwargs] | None = None
    test_episodes: Callable[[np.random.Generator, list[int]], tuple[tuple[dict, ...], tuple[str, ...]]] | None = None
    game: str | None = None

    def model(self, env_kwargs: Kwargs | None = None) -> Any:
        """The rules for these ``env_kwargs``: a model, or a ``grid -> model`` factory (see :attr:`rules`)."""
        return self.rules(dict(env_kwargs or {}))


# ============================================================================ the rows' functions


def _size(kwargs: Kwargs, default: int) -> int:
    return kwargs.get("size", default)


def _model_spec(model: Any) -> tuple[int, int, int]:
    return int(model.rows), int(model.cols), int(model.num_classes)


def _sliding_rules(kwargs: Kwargs) -> Any:
    from hybrid.tasks.envs.sliding_puzzle import SlidingPuzzleModel

    return SlidingPuzzleModel(_size(kwargs, 3))


def _lights_rules(kwargs: Kwargs) -> Any:
    from hybrid.tasks.envs.lights_out import LightsOutModel

    return LightsOutModel(_size(kwargs, 5))


def _sokoban_rules(kwargs: Kwargs) -> Any:
    return sokoban_model_from_grid  # the level is read from each frame


def _sokoban_spec(kwargs: Kwargs) -> tuple[int, int, int]:
    from hybrid.tasks.envs.sokoban import CELL_CLASSES

    rows, cols = kwargs.get("dim", (10, 10))
    return int(rows), int(cols), len(CELL_CLASSES)


def _draw_tiles(grids: list[np.ndarray], tiles: np.ndarray) -> list[np.ndarray]:
    from hybrid.tasks.envs.drawing import frame_from_grid

    return [frame_from_grid(np.asarray(g, dtype=np.int64), tiles) for g in grids]


def _sliding_draw(grids: list[np.ndarray], kwargs: Kwargs) -> list[np.ndarray]:
    """The sliding puzzle's frames: printed or handwritten digits (``digits``, ``writer``), as the env draws them."""
    from hybrid.tasks.envs.sliding_puzzle import sliding_puzzle_tiles

    tiles = sliding_puzzle_tiles(
        _size(kwargs, 3), kwargs.get("cell_px", 32), kwargs.get("digits", "printed"), kwargs.get("writer", 0)
    )
    return _draw_tiles(grids, tiles)


def _lights_frames(grids: list[np.ndarray], kwargs: Kwargs, default_twist: float) -> list[np.ndarray]:
    """Lights Out frames, swirled by ``kwargs["twist"]`` (default ``default_twist``) as the env swirls them."""
    from hybrid.tasks.envs.lights_out import check_twist, lights_out_tiles
    from hybrid.tasks.envs.warp import swirl

    frames = _draw_tiles(grids, lights_out_tiles(kwargs.get("cell_px", 16)))
    twist = check_twist(kwargs.get("twist", default_twist))
    return [swirl(f, twist) for f in frames] if twist > 0 else frames


def _lights_draw(grids: list[np.ndarray], kwargs: Kwargs) -> list[np.ndarray]:
    return _lights_frames(grids, kwargs, 0.0)


def _twisted_lights_draw(grids: list[np.ndarray], kwargs: Kwargs) -> list[np.ndarray]:
    from hybrid.tasks.envs.lights_out import TWIST

    return _lights_frames(grids, kwargs, TWIST)


def _blocks_rules(kwargs: Kwargs) -> Any:
    from hybrid.tasks.envs.blocksworld import BlocksworldModel

    return BlocksworldModel(kwargs.get("num_blocks", 4), kwargs.get("num_stacks"), kwargs.get("goal"))


def _blocks_draw(grids: list[np.ndarray], kwargs: Kwargs) -> list[np.ndarray]:
    from hybrid.tasks.envs.blocksworld import blocksworld_tiles

    return _draw_tiles(grids, blocksworld_tiles(kwargs.get("num_blocks", 4), kwargs.get("cell_px", 16)))


def _sokoban_draw(grids: list[np.ndarray], kwargs: Kwargs) -> list[np.ndarray]:
    from hybrid.tasks.envs.sokoban import TILE_SIZE, render_grid

    return [render_grid(g, kwargs.get("tile_size", TILE_SIZE)) for g in grids]


def _sized_test_kwargs(size: int | None, max_steps: int) -> Kwargs:
    return {"size": size}


def _sokoban_test_kwargs(size: int | None, max_steps: int) -> Kwargs:
    from hybrid.tasks.envs.sokoban import boxoban_path

    # max_episode_steps is gymnasium.make's: the TimeLimit wrapper (the env never truncates itself).
    return {"level_file": str(boxoban_path()), "max_episode_steps": max_steps}


def _sliding_episodes(rng: np.random.Generator, seeds: list[int]) -> tuple[tuple[dict, ...], tuple[str, ...]]:
    """Latplan's protocol: half the instances 7 random moves from the goal, half 14."""
    scrambles = [7 if k % 2 == 0 else 14 for k in range(len(seeds))]
    episodes = tuple({"seed": s, "options": {"scramble": m}} for s, m in zip(seeds, scrambles, strict=True))
    return episodes, tuple(f"{m} moves" for m in scrambles)


def _lights_episodes(rng: np.random.Generator, seeds: list[int]) -> tuple[tuple[dict, ...], tuple[str, ...]]:
    """Uniformly random solvable patterns (the env's own reset)."""
    return tuple({"seed": s, "options": None} for s in seeds), ()


def _sokoban_episodes(rng: np.random.Generator, seeds: list[int]) -> tuple[tuple[dict, ...], tuple[str, ...]]:
    """Levels drawn without replacement from the shipped Boxoban unfiltered test levels."""
    from hybrid.tasks.envs.sokoban import load_boxoban

    total = len(load_boxoban())
    picks = rng.choice(total, size=min(len(seeds), total), replace=False)
    episodes = tuple({"seed": s, "options": {"level_index": int(i)}} for s, i in zip(seeds, picks, strict=False))
    return episodes, tuple(f"boxoban {int(i)}" for i in picks)


def _tic_tac_toe_rules(kwargs: Kwargs) -> Any:
    from hybrid.tasks.envs.tic_tac_toe import TicTacToeModel

    return TicTacToeModel()


def _connect_four_rules(kwargs: Kwargs) -> Any:
    from hybrid.tasks.envs.connect_four import ConnectFourModel

    return ConnectFourModel()


# ============================================================================ the table

#: The planning envs, one row each (see the module docstring for who reads what).
PLANNING_ENVS: tuple[PlanningEnv, ...] = (
    PlanningEnv(
        id="hybrid/SlidingPuzzle-v0",
        rules=_sliding_rules,
        solver=sliding_puzzle_solver,
        grid_spec=lambda kwargs: _model_spec(_sliding_rules(kwargs)),
        draw=_sliding_draw,
        task="8-puzzle",
        task_max_steps=200,
        task_size=3,
        task_about="the 8-puzzle from pixels, 7 and 14 moves from the goal (Latplan)",
        task_quick_sizes=(50, 500),
        test_kwargs=_sized_test_kwargs,
        test_episodes=_sliding_episodes,
    ),
    PlanningEnv(
        id="hybrid/LightsOut-v0",
        rules=_lights_rules,
        solver=lights_out_solver,
        grid_spec=lambda kwargs: _model_spec(_lights_rules(kwargs)),
        draw=_lights_draw,
        task="lights-out",
        task_max_steps=100,
        task_size=5,
        task_about="5x5 Lights Out from pixels, random solvable patterns",
        task_quick_sizes=(20, 200),
        test_kwargs=_sized_test_kwargs,
        test_episodes=_lights_episodes,
    ),
    PlanningEnv(
        id="hybrid/Sokoban-v0",
        rules=_sokoban_rules,
        solver=sokoban_solver,
        grid_spec=_sokoban_spec,
        draw=_sokoban_draw,
        training_kwargs=(("dim", (10, 10)), ("num_boxes", 4)),
        training_refuses=("level", "level_file", "level_index"),
        any_size_frames=True,
        level_files=True,
        task="sokoban",
        # More than Boxoban's 120: a plan that solves a level is not always the shortest.
        task_max_steps=300,
        task_about="Sokoban from pixels on Boxoban unfiltered test levels (learning on generated 10x10, 4-box levels)",
        task_quick_sizes=(50, 500),
        test_kwargs=_sokoban_test_kwargs,
        test_episodes=_sokoban_episodes,
    ),
    PlanningEnv(
        id="hybrid/TwistedLightsOut-v0",
        rules=_lights_rules,
        solver=lights_out_solver,
        grid_spec=lambda kwargs: _model_spec(_lights_rules(kwargs)),
        draw=_twisted_lights_draw,
    ),
    PlanningEnv(
        id="hybrid/Blocksworld-v0",
        rules=_blocks_rules,
        solver=blocksworld_solver,
        grid_spec=lambda kwargs: _model_spec(_blocks_rules(kwargs)),
        draw=_blocks_draw,
    ),
    PlanningEnv(id="hybrid/TicTacToe-v0", rules=_tic_tac_toe_rules, game="tic_tac_toe"),
    PlanningEnv(id="hybrid/ConnectFour-v0", rules=_connect_four_rules, game="connect_four"),
)

_BY_ID: dict[str, PlanningEnv] = {row.id: row for row in PLANNING_ENVS}


def planning_env_ids(need: str | None = None) -> tuple[str, ...]:
    """The ids of the table, or of the rows that have the field ``need`` set (``"solver"``, ``"task"``, ...)."""
    return tuple(row.id for row in PLANNING_ENVS if need is None or getattr(row, need))


def planning_env(env_id: str, need: str | None = None) -> PlanningEnv:
    """Return the row of an env id.

    Args:
        env_id: a registered id (``"hybrid/LightsOut-v0"``).
        need: a field the caller needs (``"solver"``, ``"grid_spec"``, ``"level_files"``, ...):
            an id whose row lacks it is refused like an unknown one.

    Raises:
        ValueError: naming ``env_id`` and the ids that would do.
    """
    row = _BY_ID.get(env_id) if isinstance(env_id, str) else None
    if row is None or (need is not None and not getattr(row, need)):
        raise ValueError(f"env_id must be one of {planning_env_ids(need)}, got {env_id!r}")
    return row


def task_env(name: str) -> PlanningEnv:
    """Return the row of an evaluator task name (``"8-puzzle"``, ``"lights-out"``, ``"sokoban"``).

    Raises:
        ValueError: naming ``name`` and the known task names.
    """
    for row in PLANNING_ENVS:
        if row.task is not None and row.task == name:
            return row
    known = sorted(row.task for row in PLANNING_ENVS if row.task is not None)
    raise ValueError(f"name must be one of {known}, got {name!r}")


def game_env(name: str) -> PlanningEnv:
    """Return the row of a two-player game by its short name (``"tic_tac_toe"``, ``"connect_four"``).

    Raises:
        ValueError: naming ``name`` and the known games.
    """
    for row in PLANNING_ENVS:
        if row.game is not None and row.game == name:
            return row
    known = sorted(row.game for row in PLANNING_ENVS if row.game is not None)
    raise ValueError(f"game must be one of {known}, got {name!r}")
