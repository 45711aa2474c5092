"""Sokoban's rules as a pure :class:`~hybrid.tasks.envs.model.TransitionModel`.

A :class:`SokobanModel` holds what never changes in a level (walls and goals); a
:class:`SokobanState` holds what moves (the player and the boxes). States are plain
immutable tuples of ``(row, col)`` cells, so a planner can hash them and a perception
net can produce them (:meth:`SokobanModel.from_grid`).

Actions (:data:`ACTIONS`): ``0`` up, ``1`` down, ``2`` left, ``3`` right. An action moves
the player one cell; if a box is on that cell it is pushed one cell further. An action
is *illegal* when the player would walk into a wall (or off the grid), or push a box
into a wall, off the grid or into another box. :meth:`SokobanModel.step` raises
``ValueError`` on an illegal action; the gymnasium env plays it as a no-op instead.

Rewards follow gym-sokoban / Boxoban: :data:`STEP_REWARD` (-0.1) for every move,
:data:`BOX_ON_REWARD` (+1) for pushing a box onto a goal, :data:`BOX_OFF_REWARD` (-1)
for pushing one off, and :data:`SOLVED_REWARD` (+10) when the move solves the level.

A state is terminal when it is solved (every box on a goal) or when no action is legal
(the player is walled in by boxes it cannot push); :meth:`SokobanModel.is_solved` tells
the two apart.

Cell classes (:data:`CELL_CLASSES`), what :meth:`SokobanModel.to_grid` writes and the
env draws: ``0`` wall, ``1`` floor, ``2`` goal, ``3`` box, ``4`` box on goal, ``5`` player,
``6`` player on goal. :meth:`SokobanModel.encode` one-hot encodes them as 7 float32 planes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hybrid.tasks.envs.model import Transition
from hybrid.tasks.envs.sokoban.level import Cell, Level

#: Action names by id.
ACTIONS: tuple[str, ...] = ("up", "down", "left", "right")
#: ``(d_row, d_col)`` of each action.
DELTAS: tuple[Cell, ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))

#: Cell class names by id (what a perception net predicts per cell).
CELL_CLASSES: tuple[str, ...] = ("wall", "floor", "goal", "box", "box_on_goal", "player", "player_on_goal")
WALL, FLOOR, GOAL, BOX, BOX_ON_GOAL, PLAYER, PLAYER_ON_GOAL = range(7)

STEP_REWARD: float = -0.1
BOX_ON_REWARD: float = 1.0
BOX_OFF_REWARD: float = -1.0
SOLVED_REWARD: float = 10.0


class SokobanState(NamedTuple):
    """What moves in a Sokoban level.

    Attributes:
        player: the player's cell ``(row, col)``.
        boxes: the box cells, sorted (boxes are interchangeable, so equal positions are
            equal states).
    """

    player: Cell
    boxes: tuple[Cell, ...]


class SokobanModel:
    """The rules of one Sokoban level (its walls and goals) as a pure transition model.

    Args:
        level: the :class:`~hybrid.tasks.envs.sokoban.level.Level`; its boxes and player give
            :attr:`initial_state`.

    Attributes:
        num_actions: 4 (up, down, left, right).
        num_players: 1.
        level: the level the model was built from.
        shape: ``(rows, cols)``.
        walls, goals: frozensets of cells.
        initial_state: the level's starting :class:`SokobanState`.

    Raises:
        TypeError: if ``level`` is not a :class:`Level`.
    """

    num_actions: int = 4
    num_players: int = 1

    def __init__(self, level: Level) -> None:
        if not isinstance(level, Level):
            raise TypeError(f"level must be a Level, got {type(level).__name__}")
        self.level = level
        self.shape = level.shape
        self.walls = level.walls
        self.goals = level.goals
        rows, cols = level.shape
        # Walls plus a ring of cells just off the grid: membership alone decides blocking.
        ring = {(r, c) for r in range(-1, rows + 1) for c in (-1, cols)}
        ring |= {(r, c) for r in (-1, rows) for c in range(cols)}
        self._blocked = frozenset(level.walls) | frozenset(ring)
        self.initial_state = SokobanState(level.player, level.boxes)
        self._wall_grid = np.zeros(level.shape, dtype=bool)
        self._goal_grid = np.zeros(level.shape, dtype=bool)
        for r, c in level.walls:
            self._wall_grid[r, c] = True
        for r, c in level.goals:
            self._goal_grid[r, c] = True

    @classmethod
    def from_text(cls, text: str) -> SokobanModel:
        """Build the model of a level written in the standard text format (see :func:`parse_level`)."""
        from hybrid.tasks.envs.sokoban.level import parse_level

        return cls(parse_level(text))

    def __repr__(self) -> str:
        return f"SokobanModel(shape={self.shape}, boxes={len(self.level.boxes)}, name={self.level.name!r})"

    # ------------------------------------------------------------------------------------------- rules

    def _check(self, state: SokobanState) -> None:
        if not isinstance(state, tuple) or len(state) != 2:
            raise TypeError(f"state must be a SokobanState (player, boxes), got {state!r}")

    def _move(self, state: SokobanState, action: int) -> SokobanState | None:
        """The next state, or None when ``action`` is illegal."""
        (r, c), boxes = state
        dr, dc = DELTAS[action]
        nxt = (r + dr, c + dc)
        if nxt in self._blocked:
            return None
        if nxt in boxes:
            beyond = (nxt[0] + dr, nxt[1] + dc)
            if beyond in self._blocked or beyond in boxes:
                return None
            return SokobanState(nxt, tuple(sorted(beyond if b == nxt else b for b in boxes)))
        return SokobanState(nxt, boxes)

    def legal_actions(self, state: SokobanState) -> np.ndarray:
        """Boolean mask of length 4: True where the move (or push) is possible."""
        self._check(state)
        return np.array([self._move(state, a) is not None for a in range(4)], dtype=bool)

    def legal_action_ids(self, state: SokobanState) -> tuple[int, ...]:
        """The legal actions of ``state``, in increasing order."""
        self._check(state)
        return tuple(a for a in range(4) if self._move(state, a) is not None)

    def step(self, state: SokobanState, action: int) -> Transition:
        """Play ``action`` in ``state``; return the next state, the reward and whether it is terminal.

        Raises:
            ValueError: if ``action`` is not in ``0..3`` or is illegal in ``state``.
            TypeError: if ``state`` is not a ``(player, boxes)`` pair.
        """
        self._check(state)
        if not isinstance(action, (int, np.integer)) or not 0 <= int(action) < 4:
            raise ValueError(f"action must be an int in 0..3 (up, down, left, right), got {action!r}")
        nxt = self._move(state, int(action))
        if nxt is None:
            raise ValueError(
                f"action {int(action)} ({ACTIONS[int(action)]}) is illegal in state {state}: "
                "it walks into a wall or pushes a box into a wall or another box"
            )
        reward = STEP_REWARD
        if nxt.boxes is not state.boxes:
            goals = self.goals
            before = sum(b in goals for b in state.boxes)
            after = sum(b in goals for b in nxt.boxes)
            reward += (after - before) * BOX_ON_REWARD if after >= before else (before - after) * BOX_OFF_REWARD
        solved = self.is_solved(nxt)
        if solved:
            reward += SOLVED_REWARD
        # The cell the player just left is empty, so stepping back is always legal: a state
        # reached by a move is never stuck, and it is terminal exactly when it is solved.
        return Transition(nxt, reward, solved)

    def is_solved(self, state: SokobanState) -> bool:
        """True when every box is on a goal."""
        goals = self.goals
        return all(b in goals for b in state[1])

    def is_terminal(self, state: SokobanState) -> bool:
        """True when ``state`` is solved or no action is legal."""
        return self.is_solved(state) or not self.legal_action_ids(state)

    def current_player(self, state: SokobanState) -> int:
        """Always 0: Sokoban is a single-agent puzzle."""
        return 0

    def boxes_on_goals(self, state: SokobanState) -> int:
        """How many boxes of ``state`` stand on a goal."""
        return sum(b in self.goals for b in state[1])

    # ------------------------------------------------------------------------------------------- grids

    def to_grid(self, state: SokobanState) -> np.ndarray:
        """The ``[rows, cols]`` int64 grid of cell classes (:data:`CELL_CLASSES`) drawing ``state``."""
        self._check(state)
        grid = np.where(self._wall_grid, WALL, np.where(self._goal_grid, GOAL, FLOOR)).astype(np.int64)
        for r, c in state.boxes:
            grid[r, c] = BOX_ON_GOAL if self._goal_grid[r, c] else BOX
        r, c = state.player
        grid[r, c] = PLAYER_ON_GOAL if self._goal_grid[r, c] else PLAYER
        return grid

    def from_grid(self, grid: np.ndarray) -> SokobanState:
        """The state a grid of cell classes shows, checked against this level's walls and goals.

        Raises:
            ValueError: if the grid has the wrong shape, a class outside ``0..6``, walls or
                goals other than the level's, not exactly one player, or a different
                number of boxes than the level.
        """
        level = level_from_grid(grid)
        if level.shape != self.shape:
            raise ValueError(f"grid must have shape {self.shape}, got {level.shape}")
        if level.walls != self.walls:
            diff = sorted(level.walls ^ self.walls)
            raise ValueError(f"grid's walls differ from the level's at {diff[:5]}")
        if level.goals != self.goals:
            diff = sorted(level.goals ^ self.goals)
            raise ValueError(f"grid's goals differ from the level's at {diff[:5]}")
        if len(level.boxes) != len(self.level.boxes):
            raise ValueError(f"grid shows {len(level.boxes)} boxes, the level has {len(self.level.boxes)}")
        return SokobanState(level.player, level.boxes)

    def encode(self, state: SokobanState) -> np.ndarray:
        """One-hot float32 planes ``[7, rows, cols]``, plane ``k`` marking the cells of class ``k``."""
        grid = self.to_grid(state)
        return (np.arange(len(CELL_CLASSES))[:, None, None] == grid[None]).astype(np.float32)

    def to_level(self, state: SokobanState) -> Level:
        """The :class:`Level` showing ``state`` (to format it as text, or start a new model from it)."""
        self._check(state)
        return self.level.replace(boxes=state.boxes, player=state.player)


def level_from_grid(grid: np.ndarray, name: str = "") -> Level:
    """Read a whole level (walls and goals too) from a ``[rows, cols]`` grid of cell classes.

    Raises:
        ValueError: if ``grid`` is not 2-D, holds a class outside ``0..6``, or is not a
            valid level (no player or two, no box, fewer goals than boxes).
    """
    grid = np.asarray(grid)
    if grid.ndim != 2 or grid.size == 0:
        raise ValueError(f"grid must be a non-empty 2-D array of cell classes, got shape {grid.shape}")
    if not np.issubdtype(grid.dtype, np.integer):
        if not np.all(np.equal(np.mod(grid, 1), 0)):
            raise ValueError("grid must hold integer cell classes")
        grid = grid.astype(np.int64)
    if grid.min() < 0 or grid.max() >= len(CELL_CLASSES):
        bad = np.argwhere((grid < 0) | (grid >= len(CELL_CLASSES)))[0]
        raise ValueError(f"grid: class {int(grid[tuple(bad)])} at {tuple(int(i) for i in bad)} is not in 0..6")

    def cells(*classes: int) -> list[Cell]:
        return [(int(r), int(c)) for r, c in np.argwhere(np.isin(grid, classes))]

    players = cells(PLAYER, PLAYER_ON_GOAL)
    if len(players) != 1:
        raise ValueError(f"grid must show exactly one player, found {len(players)}")
    return Level(
        shape=(int(grid.shape[0]), int(grid.shape[1])),
        walls=frozenset(cells(WALL)),
        goals=frozenset(cells(GOAL, BOX_ON_GOAL, PLAYER_ON_GOAL)),
        boxes=tuple(cells(BOX, BOX_ON_GOAL)),
        player=players[0],
        name=name,
    )
