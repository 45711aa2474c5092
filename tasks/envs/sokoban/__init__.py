"""Sokoban: levels in the standard text format, Boxoban's level sets, a generator, the rules and the env.

- :mod:`~hybrid.tasks.envs.sokoban.level`: :class:`Level`, parse/format, level files, :func:`load_boxoban`;
- :mod:`~hybrid.tasks.envs.sokoban.model`: :class:`SokobanModel`, the pure rules planners search;
- :mod:`~hybrid.tasks.envs.sokoban.generator`: levels solvable by construction;
- :mod:`~hybrid.tasks.envs.sokoban.render`: RGB frames, one tile per cell, and their exact inverse;
- :mod:`~hybrid.tasks.envs.sokoban.env`: :class:`SokobanEnv`, registered as ``hybrid/Sokoban-v0``.
"""

from hybrid.tasks.envs.sokoban.env import SokobanEnv
from hybrid.tasks.envs.sokoban.generator import GeneratedLevel, generate, generate_level
from hybrid.tasks.envs.sokoban.level import (
    BOARD_CHARS,
    Cell,
    Level,
    boxoban_path,
    format_level,
    format_levels,
    load_boxoban,
    load_levels,
    normalise_level_text,
    parse_level,
    parse_levels,
)
from hybrid.tasks.envs.sokoban.model import (
    ACTIONS,
    BOX_OFF_REWARD,
    BOX_ON_REWARD,
    CELL_CLASSES,
    DELTAS,
    SOLVED_REWARD,
    STEP_REWARD,
    SokobanModel,
    SokobanState,
    level_from_grid,
)
from hybrid.tasks.envs.sokoban.render import TILE_SIZE, read_frame, render_grid, tiles

__all__ = [
    "ACTIONS",
    "BOARD_CHARS",
    "BOX_OFF_REWARD",
    "BOX_ON_REWARD",
    "CELL_CLASSES",
    "DELTAS",
    "SOLVED_REWARD",
    "STEP_REWARD",
    "TILE_SIZE",
    "Cell",
    "GeneratedLevel",
    "Level",
    "SokobanEnv",
    "SokobanModel",
    "SokobanState",
    "boxoban_path",
    "format_level",
    "format_levels",
    "generate",
    "generate_level",
    "level_from_grid",
    "load_boxoban",
    "load_levels",
    "normalise_level_text",
    "parse_level",
    "parse_levels",
    "read_frame",
    "render_grid",
    "tiles",
]
