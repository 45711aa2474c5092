"""The gymnasium Sokoban environment (``hybrid/Sokoban-v0``).

One episode plays one level. Where the level comes from (exactly one source):

- ``level=``: a fixed level (text in the standard format, or a :class:`Level`);
- ``level_file=``: a level file or a folder of them (Boxoban's, or an XSB collection);
  ``level_index=`` picks one, otherwise each reset draws one from the env's seeded rng
  (``reset(options={"level_index": i})`` picks one for that episode);
- neither: a level generated at each reset (``dim``, ``num_boxes``), solvable by
  construction, from the env's seeded rng.

Observations: ``obs_type="rgb"`` (default) is the ``[rows*t, cols*t, 3]`` uint8 frame
(:func:`~hybrid.tasks.envs.sokoban.render.render_grid`, ``t = tile_size``);
``obs_type="symbolic"`` is the ``[rows, cols]`` uint8 grid of cell classes. Levels of a
file with different sizes are padded with walls (right and bottom) to the largest, so
every observation has the same shape.

Actions: ``Discrete(4)``: up, down, left, right. An illegal action (into a wall, or a
blocked push; ``info["action_mask"]`` / :meth:`SokobanEnv.action_masks` mark them) is a
no-op: the state stays, the step counts and costs the step penalty (-0.1).

Rewards are the model's (:mod:`hybrid.tasks.envs.sokoban.model`): -0.1 per step, +1 per box
pushed onto a goal, -1 per box pushed off, +10 on solving. ``terminated`` when the model
says the state is terminal (solved, or no legal action left). The env never truncates
itself: like the other envs of :mod:`hybrid.tasks.envs`, the step limit is the
``TimeLimit`` wrapper that ``gymnasium.make`` adds (120 steps, Boxoban's limit;
``gymnasium.make("hybrid/Sokoban-v0", max_episode_steps=300)`` for another).
``info``: ``state`` (a :class:`SokobanState`), ``action_mask``, ``is_success`` (the level
is solved: the key every env here reports), ``solved`` (the same, Sokoban's older name),
``illegal_action`` (the last action was a no-op), ``boxes_on_goals``, ``steps``,
``level_index`` (None unless from a file).
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from hybrid.tasks.envs.sokoban.generator import generate_level
from hybrid.tasks.envs.sokoban.level import Level, load_levels, parse_level
from hybrid.tasks.envs.sokoban.model import CELL_CLASSES, STEP_REWARD, SokobanModel, SokobanState
from hybrid.tasks.envs.sokoban.render import TILE_SIZE, render_grid

OBS_TYPES = ("rgb", "symbolic")


class SokobanEnv(gym.Env):
    """Sokoban as a gymnasium environment; see the module docstring for sources, observations and rewards.

    Args:
        level: a fixed level, as text or a :class:`Level`.
        level_file: a level file or folder (not with ``level``).
        level_index: the level of ``level_file`` to play; None draws one per reset.
        dim: ``(rows, cols)`` of generated levels (when neither ``level`` nor ``level_file``).
        num_boxes: boxes of generated levels.
        obs_type: ``"rgb"`` or ``"symbolic"``.
        tile_size: pixels per cell in frames (>= 4).
        render_mode: None or ``"rgb_array"``.
        generator_kwargs: extra keyword arguments of :func:`~hybrid.tasks.envs.sokoban.generator.generate`.

    Raises:
        ValueError: naming the argument, for any invalid combination or value (so a bad
            ``gymnasium.make`` call fails at once).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        level: str | Level | None = None,
        level_file: str | os.PathLike | None = None,
        level_index: int | None = None,
        dim: tuple[int, int] = (10, 10),
        num_boxes: int = 4,
        obs_type: str = "rgb",
        tile_size: int = TILE_SIZE,
        render_mode: str | None = None,
        generator_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if level is not None and level_file is not None:
            raise ValueError("give at most one of level= and level_file=")
        if level_index is not None and level_file is None:
            raise ValueError("level_index= needs level_file=")
        if obs_type not in OBS_TYPES:
            raise ValueError(f"obs_type must be one of {OBS_TYPES}, got {obs_type!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if not isinstance(tile_size, int) or tile_size < 4:
            raise ValueError(f"tile_size must be an int >= 4, got {tile_size!r}")
        self.obs_type = obs_type
        self.tile_size = tile_size
        self.render_mode = render_mode
        self.level_index = level_index
        self._levels: list[Level] | None = None
        self._fixed = level is not None
        self._generator_kwargs = dict(generator_kwargs or {})

        if level is not None:
            if isinstance(level, str):
                try:
                    level = parse_level(level)
                except ValueError as err:
                    raise ValueError(f"level: {err}") from None
            elif not isinstance(level, Level):
                raise ValueError(f"level must be level text or a Level, got {type(level).__name__}")
            self._levels = [level]
        elif level_file is not None:
            try:
                levels = load_levels(level_file)
            except ValueError as err:
                raise ValueError(f"level_file: {err}") from None
            if level_index is not None:
                if not isinstance(level_index, int) or not 0 <= level_index < len(levels):
                    raise ValueError(f"level_index must be an int in 0..{len(levels) - 1}, got {level_index!r}")
            rows = max(lv.rows for lv in levels)
            cols = max(lv.cols for lv in levels)
            self._levels = [lv if lv.shape == (rows, cols) else lv.padded((rows, cols)) for lv in levels]
        else:
            if not (isinstance(dim, (tuple, list)) and len(dim) == 2 and all(isinstance(n, int) for n in dim)):
                raise ValueError(f"dim must be a (rows, cols) pair of ints, got {dim!r}")
            if not isinstance(num_boxes, int) or num_boxes < 1:
                raise ValueError(f"num_boxes must be an int >= 1, got {num_boxes!r}")
            # Fail now, not at the first reset, on arguments the generator refuses.
            try:
                generate_level(np.random.default_rng(0), tuple(dim), num_boxes, **self._generator_kwargs)
            except (TypeError, ValueError) as err:
                raise ValueError(f"generated levels: {err}") from None
        self.dim = (int(dim[0]), int(dim[1])) if self._levels is None else self._levels[0].shape
        self.num_boxes = num_boxes
        rows, cols = self.dim

        self.action_space = spaces.Discrete(4)
        if obs_type == "rgb":
            self.observation_space = spaces.Box(0, 255, (rows * tile_size, cols * tile_size, 3), dtype=np.uint8)
        else:
            self.observation_space = spaces.Box(0, len(CELL_CLASSES) - 1, (rows, cols), dtype=np.uint8)
        self.model: SokobanModel | None = None
        self.state: SokobanState | None = None
        self._current_index: int | None = None
        self._steps = 0

    # ----------------------------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode; returns ``(observation, info)``.

        ``options={"level_index": i}`` plays level ``i`` of ``level_file`` this episode.

        Raises:
            ValueError: if ``options`` holds an unknown key or a bad ``level_index``.
        """
        super().reset(seed=seed)
        options = dict(options or {})
        index = options.pop("level_index", None)
        if options:
            raise ValueError(f"options: unknown keys {sorted(options)} (known: level_index)")
        if self._levels is None:
            if index is not None:
                raise ValueError("options: level_index needs level_file= (levels here are generated)")
            level = generate_level(self.np_random, self.dim, self.num_boxes, **self._generator_kwargs)
            self._current_index = None
        else:
            if index is None:
                index = self.level_index
            if index is None:
                index = 0 if len(self._levels) == 1 else int(self.np_random.integers(len(self._levels)))
            if not isinstance(index, (int, np.integer)) or not 0 <= int(index) < len(self._levels):
                raise ValueError(f"options: level_index must be in 0..{len(self._levels) - 1}, got {index!r}")
            level = self._levels[int(index)]
            self._current_index = None if self._fixed else int(index)
        self.model = SokobanModel(level)
        self.state = self.model.initial_state
        self._steps = 0
        return self._obs(), self._info(False)

    def step(self, action):
        """Play one action; returns ``(observation, reward, terminated, truncated, info)``.

        Raises:
            RuntimeError: if called before :meth:`reset`.
            ValueError: if ``action`` is not in ``0..3``.
        """
        if self.model is None or self.state is None:
            raise RuntimeError("call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an int in 0..3, got {action!r}")
        action = int(action)
        self._steps += 1
        legal = bool(self.model.legal_actions(self.state)[action])
        if legal:
            transition = self.model.step(self.state, action)
            self.state, reward, terminated = transition.state, transition.reward, transition.done
        else:
            reward, terminated = STEP_REWARD, self.model.is_terminal(self.state)
        # Never truncated here: the step limit is gymnasium's TimeLimit wrapper (see the module docstring).
        return self._obs(), float(reward), bool(terminated), False, self._info(not legal)

    def render(self) -> np.ndarray | None:
        """The current frame (``[rows*t, cols*t, 3]`` uint8) when ``render_mode="rgb_array"``, else None."""
        if self.render_mode != "rgb_array" or self.model is None:
            return None
        return render_grid(self.model.to_grid(self.state), self.tile_size)

    def action_masks(self) -> np.ndarray:
        """Boolean mask of the legal actions in the current state (sb3-contrib's MaskablePPO reads it).

        Raises:
            RuntimeError: if called before :meth:`reset`.
        """
        if self.model is None:
            raise RuntimeError("call reset() before action_masks()")
        return self.model.legal_actions(self.state)

    @property
    def levels(self) -> list[Level] | None:
        """The levels the env plays (padded to one shape), or None when they are generated."""
        return None if self._levels is None else list(self._levels)

    # ----------------------------------------------------------------------------------------------

    def _obs(self) -> np.ndarray:
        grid = self.model.to_grid(self.state)
        if self.obs_type == "symbolic":
            return grid.astype(np.uint8)
        return render_grid(grid, self.tile_size)

    def _info(self, illegal: bool) -> dict[str, Any]:
        solved = bool(self.model.is_solved(self.state))
        return {
            "state": self.state,
            "action_mask": self.model.legal_actions(self.state),
            "is_success": solved,
            "solved": solved,
            "illegal_action": illegal,
            "boxes_on_goals": self.model.boxes_on_goals(self.state),
            "steps": self._steps,
            "level_index": self._current_index,
        }
