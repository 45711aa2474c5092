"""Blocksworld (Latplan's photo-realistic Blocksworld, drawn flat): :class:`BlocksworldModel` and its env.

Blocks and stacks
    ``num_blocks`` blocks, numbered ``1 .. num_blocks``, each with its own colour
    (:data:`BLOCK_COLOURS`), stand in ``num_stacks`` stacks on a table (stack ``0`` on the
    left). A state is a tuple of ``num_stacks`` tuples, one per stack, each holding its
    block numbers from the bottom up: ``((1, 2), (), (3,))`` has block 2 on block 1 in
    stack 0 and block 3 alone in stack 2. Stacks are places on the table, so which stack
    a tower stands in matters (the picture shows it).

Actions
    Move the top block of stack ``i`` onto stack ``j`` (``i != j``): ``num_stacks *
    (num_stacks - 1)`` actions, numbered source by source, destinations in increasing
    order with ``i`` skipped: action ``a`` moves from ``i = a // (num_stacks - 1)`` to ``j =
    r if r < i else r + 1`` where ``r = a % (num_stacks - 1)`` (:func:`move_of`,
    :func:`action_of`). With 3 stacks: 0 is 0->1, 1 is 0->2, 2 is 1->0, 3 is 1->2, 4 is
    2->0, 5 is 2->1. A move from an empty stack is illegal. At least 3 stacks are needed
    (with 2, the blocks could only be shuffled back and forth as one sequence), and with
    3 or more every arrangement can reach every other.

Goal
    By default all blocks in one tower on stack 0, ``1`` at the bottom up to
    ``num_blocks`` at the top; any other valid state can be given as ``goal``. The goal is
    terminal (no move is legal from it), as in the other puzzles.

Grid classes (:meth:`BlocksworldModel.to_grid`, what the env draws per cell)
    ``[num_blocks, num_stacks]``: column ``c`` is stack ``c`` and the bottom row of the
    grid is the table level (the bottom of the picture); class 0 is empty space, class
    ``k`` block ``k``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hybrid.tasks.envs.drawing import tile
from hybrid.tasks.envs.grid_env import PuzzleEnv, check_int
from hybrid.tasks.envs.model import Transition

__all__ = [
    "BACKGROUND",
    "BLOCK_COLOURS",
    "EDGE",
    "MAX_BLOCKS",
    "BlocksworldEnv",
    "BlocksworldModel",
    "action_of",
    "blocksworld_tiles",
    "move_of",
]

#: The colour of each block, by name: block ``k`` is the ``k``-th (block 1 red, 2 blue, ...).
BLOCK_COLOURS: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("red", (215, 48, 39)),
    ("blue", (49, 104, 199)),
    ("green", (46, 160, 67)),
    ("yellow", (240, 200, 30)),
    ("purple", (128, 70, 170)),
    ("orange", (245, 130, 30)),
    ("cyan", (40, 190, 210)),
    ("pink", (235, 110, 180)),
    ("brown", (130, 85, 45)),
)
#: The most blocks a world holds (one distinct colour each).
MAX_BLOCKS: int = len(BLOCK_COLOURS)
#: The most stacks a world has.
MAX_STACKS: int = 12
#: Colours of the drawing: the empty space behind the blocks and the blocks' border.
BACKGROUND, EDGE = (236, 234, 226), (30, 30, 30)

State = tuple[tuple[int, ...], ...]
_new_transition = tuple.__new__


def move_of(action: int, num_stacks: int) -> tuple[int, int]:
    """Return ``(i, j)``: action ``action`` moves the top block of stack ``i`` onto stack ``j``.

    Raises:
        ValueError: naming ``action`` when it is not in ``0 .. num_stacks * (num_stacks - 1) - 1``.
    """
    n = num_stacks * (num_stacks - 1)
    if isinstance(action, bool) or not isinstance(action, (int, np.integer)) or not 0 <= action < n:
        raise ValueError(f"action must be an int in 0..{n - 1}, got {action!r}")
    i, r = divmod(int(action), num_stacks - 1)
    return i, (r if r < i else r + 1)


def action_of(i: int, j: int, num_stacks: int) -> int:
    """Return the action that moves the top block of stack ``i`` onto stack ``j`` (the inverse of :func:`move_of`).

    Raises:
        ValueError: naming ``i`` and ``j`` when they are not two different stacks.
    """
    ok = all(not isinstance(v, bool) and isinstance(v, (int, np.integer)) for v in (i, j))
    if not ok or not (0 <= i < num_stacks and 0 <= j < num_stacks) or i == j:
        raise ValueError(f"i and j must be two different stacks in 0..{num_stacks - 1}, got i={i!r}, j={j!r}")
    return int(i) * (num_stacks - 1) + (int(j) if j < i else int(j) - 1)


class BlocksworldModel:
    """The rules of Blocksworld as a pure :class:`~hybrid.tasks.envs.model.TransitionModel`.

    Args:
        num_blocks: how many blocks, 2..9 (default 4).
        num_stacks: how many places on the table, 3..12 (default: ``max(3, num_blocks)``,
            room to lay every block out side by side).
        goal: the goal state (a tuple of ``num_stacks`` bottom-to-top tuples holding each
            block once; lists are accepted). Default: one tower ``(1, 2, ..., num_blocks)``
            on stack 0, the other stacks empty.

    States, actions and grids are described in the module docstring; the reward is 1 for
    the move that reaches :attr:`goal_state`, 0 otherwise.

    Attributes:
        num_blocks, num_stacks: as given.
        rows, cols: ``num_blocks`` (the tallest tower) and ``num_stacks``.
        num_actions: ``num_stacks * (num_stacks - 1)``.
        num_players: 1.
        num_classes: ``num_blocks + 1`` (empty, then each block).
        goal_state: the goal.
        moves: ``moves[a] == (i, j)``: action ``a`` moves the top of stack ``i`` onto stack ``j``.
    """

    num_players: int = 1

    def __init__(self, num_blocks: int = 4, num_stacks: int | None = None, goal: Any = None) -> None:
        self.num_blocks = check_int("num_blocks", num_blocks, 2, MAX_BLOCKS)
        if num_stacks is None:
            num_stacks = max(3, self.num_blocks)
        self.num_stacks = check_int("num_stacks", num_stacks, 3, MAX_STACKS)
        self.rows, self.cols = self.num_blocks, self.num_stacks
        self.num_classes = self.num_blocks + 1
        self.num_actions = self.num_stacks * (self.num_stacks - 1)
        self.moves: tuple[tuple[int, int], ...] = tuple(move_of(a, self.num_stacks) for a in range(self.num_actions))
        default = (tuple(range(1, self.num_blocks + 1)),) + ((),) * (self.num_stacks - 1)
        self.goal_state: State = default if goal is None else self.check_state(goal, "goal")
        self._default_goal = self.goal_state == default
        # Legal actions by the bitmask of non-empty stacks.
        self._legal_by_mask: dict[int, tuple[int, ...]] = {}

    def __repr__(self) -> str:
        goal = "" if self._default_goal else f", goal={self.goal_state!r}"
        return f"BlocksworldModel(num_blocks={self.num_blocks}, num_stacks={self.num_stacks}{goal})"

    # ------------------------------------------------------------------ the protocol

    def step(self, state: State, action: int) -> Transition:
        """Return the :class:`Transition` of moving the top block of stack ``i`` onto stack ``j`` (``moves[action]``).

        Raises:
            ValueError: if ``action`` is out of range, its source stack is empty, or
                ``state`` is the goal.
        """
        try:
            if not 0 <= action < self.num_actions or state == self.goal_state:
                raise ValueError(self._illegal_message(state, action))
            i, j = self.moves[action]
        except TypeError:  # a float or other non-index action
            raise ValueError(self._illegal_message(state, action)) from None
        source = state[i]
        if not source:
            raise ValueError(self._illegal_message(state, action))
        stacks = list(state)
        stacks[i] = source[:-1]
        stacks[j] = state[j] + source[-1:]
        nxt = tuple(stacks)
        done = nxt == self.goal_state
        return _new_transition(Transition, (nxt, 1.0 if done else 0.0, done))

    def legal_action_ids(self, state: State) -> tuple[int, ...]:
        """Return the moves whose source stack is not empty, in increasing order (``()`` at the goal)."""
        if state == self.goal_state:
            return ()
        return self._moves_from(state)

    def legal_actions(self, state: State) -> np.ndarray:
        """Return a boolean mask of length ``num_actions``: True where the move's source stack has a block."""
        mask = np.zeros(self.num_actions, dtype=bool)
        mask[list(self.legal_action_ids(state))] = True
        return mask

    def is_terminal(self, state: State) -> bool:
        """Return True at the goal."""
        return state == self.goal_state

    def current_player(self, state: State) -> int:
        """Return 0 (a single-agent puzzle)."""
        return 0

    def to_grid(self, state: State) -> np.ndarray:
        """Return the ``[num_blocks, num_stacks]`` int64 grid: column ``c`` is stack ``c``, table level at the bottom.

        Raises:
            ValueError: if ``state`` is not a state of this model (see :meth:`check_state`).
        """
        state = self.check_state(state)
        grid = np.zeros((self.rows, self.cols), dtype=np.int64)
        for c, stack in enumerate(state):
            for h, block in enumerate(stack):
                grid[self.rows - 1 - h, c] = block
        return grid

    def from_grid(self, grid: np.ndarray) -> State:
        """Return the state a ``[num_blocks, num_stacks]`` grid of classes shows (bottom row = the table).

        Raises:
            ValueError: wrong shape, a class out of ``0 .. num_blocks``, a floating block (a
                block above an empty cell), a block shown twice, or a block missing.
        """
        g = np.asarray(grid)
        if g.shape != (self.rows, self.cols):
            raise ValueError(f"grid must have shape ({self.rows}, {self.cols}), got {g.shape}")
        if not np.issubdtype(g.dtype, np.integer) or g.min() < 0 or g.max() > self.num_blocks:
            raise ValueError(
                f"grid classes must be integers 0 (empty) to {self.num_blocks} (block {self.num_blocks}), "
                f"got {np.unique(g).tolist()}"
            )
        stacks = []
        for c in range(self.cols):
            column = [int(v) for v in g[::-1, c]]  # from the table up
            height = next((h for h, v in enumerate(column) if v == 0), len(column))
            above = [(h, v) for h, v in enumerate(column[height:], start=height) if v]
            if above:
                h, v = above[0]
                raise ValueError(
                    f"grid has a floating block: block {v} in column {c}, row {self.rows - 1 - h}, "
                    f"has an empty cell below it"
                )
            stacks.append(tuple(column[:height]))
        counts = np.bincount(g.reshape(-1), minlength=self.num_classes)[1:]
        twice = [int(k) + 1 for k in np.flatnonzero(counts > 1)]
        if twice:
            raise ValueError(f"grid shows blocks {twice} more than once; each block must appear exactly once")
        missing = [int(k) + 1 for k in np.flatnonzero(counts == 0)]
        if missing:
            raise ValueError(f"grid is missing blocks {missing}; each of 1..{self.num_blocks} must appear once")
        return tuple(stacks)

    def encode(self, state: State) -> np.ndarray:
        """Return float32 one-hot planes ``[num_blocks + 1, num_blocks, num_stacks]``: plane ``k`` marks class ``k``."""
        grid = self.to_grid(state)
        return (grid[None] == np.arange(self.num_classes)[:, None, None]).astype(np.float32)

    # ------------------------------------------------------------------ extras

    def check_state(self, state: Any, name: str = "state") -> State:
        """Return ``state`` as a tuple of ``num_stacks`` tuples of ints after checking it is a state.

        Raises:
            ValueError: naming ``name``, when it is not ``num_stacks`` sequences of block
                numbers holding each of ``1 .. num_blocks`` exactly once.
        """
        if isinstance(state, (str, bytes, np.ndarray)) or not isinstance(state, (tuple, list)):
            raise ValueError(f"{name} must be a tuple of {self.num_stacks} stacks (tuples of blocks), got {state!r}")
        if len(state) != self.num_stacks:
            raise ValueError(f"{name} must have {self.num_stacks} stacks, got {len(state)}: {state!r}")
        stacks = []
        for stack in state:
            if isinstance(stack, (str, bytes)) or not isinstance(stack, (tuple, list)):
                raise ValueError(f"{name} must hold tuples of block numbers, got the stack {stack!r}")
            for b in stack:
                if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not 1 <= b <= self.num_blocks:
                    raise ValueError(f"{name} holds {b!r}, not a block number in 1..{self.num_blocks}")
            stacks.append(tuple(int(b) for b in stack))
        blocks = sorted(b for stack in stacks for b in stack)
        if blocks != list(range(1, self.num_blocks + 1)):
            raise ValueError(f"{name} must hold each of blocks 1..{self.num_blocks} exactly once, got {state!r}")
        return tuple(stacks)

    def sample_state(self, rng: np.random.Generator) -> State:
        """Return a uniformly random state other than the goal, drawn with ``rng``.

        Every state is one order of the blocks cut into ``num_stacks`` (possibly empty)
        runs, the cuts placed by stars and bars; both are drawn uniformly, so every state
        is equally likely.
        """
        n, s = self.num_blocks, self.num_stacks
        while True:
            order = [int(b) + 1 for b in rng.permutation(n)]
            cuts = {int(c) for c in rng.choice(n + s - 1, size=s - 1, replace=False)}
            stacks: list[tuple[int, ...]] = []
            current: list[int] = []
            for slot in range(n + s - 1):
                if slot in cuts:
                    stacks.append(tuple(current))
                    current = []
                else:
                    current.append(order.pop())
            stacks.append(tuple(current))
            state = tuple(stacks)
            if state != self.goal_state:
                return state

    def scramble(self, rng: np.random.Generator, moves: int) -> State:
        """Return the end of a random walk of exactly ``moves`` moves from the goal (as the sliding puzzle's).

        Each move is drawn uniformly among the moves of a non-empty stack other than the
        one that undoes the previous move (moving the same block straight back). The end is
        at most ``moves`` moves from the goal and may be closer; a walk that ends at the
        goal is drawn again, so that an episode never starts solved.

        Raises:
            ValueError: if ``moves`` is not an int >= 1.
        """
        moves = check_int("moves", moves, 1)
        while True:
            state, undo = self.goal_state, -1
            for _ in range(moves):
                options = [a for a in self._moves_from(state) if a != undo]
                a = options[int(rng.integers(len(options)))]
                i, j = self.moves[a]
                stacks = list(state)
                stacks[i], stacks[j] = state[i][:-1], state[j] + state[i][-1:]
                state, undo = tuple(stacks), action_of(j, i, self.num_stacks)
            if state != self.goal_state:
                return state

    # ------------------------------------------------------------------ helpers

    def _moves_from(self, state: State) -> tuple[int, ...]:
        """The moves of ``state``'s non-empty stacks (the goal's too: a walk from the goal needs them)."""
        mask = sum(1 << i for i, stack in enumerate(state) if stack)
        legal = self._legal_by_mask.get(mask)
        if legal is None:
            legal = tuple(a for a, (i, _) in enumerate(self.moves) if mask >> i & 1)
            self._legal_by_mask[mask] = legal
        return legal

    def _illegal_message(self, state: State, action: Any) -> str:
        """Say why ``step(state, action)`` is illegal."""
        if isinstance(action, bool) or not isinstance(action, (int, np.integer)) or not 0 <= action < self.num_actions:
            return f"action must be an int in 0..{self.num_actions - 1}, got {action!r}"
        if state == self.goal_state:
            return "the puzzle is solved: no move is legal from the goal"
        i, j = self.moves[action]
        return f"action {action} moves the top of stack {i} onto stack {j}, but stack {i} is empty"


# ---------------------------------------------------------------------------- the env


def blocksworld_tiles(num_blocks: int = 4, cell_px: int = 16) -> np.ndarray:
    """Return the ``[num_blocks + 1, cell_px, cell_px, 3]`` uint8 tiles: empty space, then each block.

    Empty space is the light background; block ``k`` is a square filled with the ``k``-th
    colour of :data:`BLOCK_COLOURS` inside a dark border of ``max(1, cell_px // 8)`` pixels.

    Raises:
        ValueError: naming ``num_blocks`` or ``cell_px`` when out of range (2..9, 4..512).
    """
    num_blocks = check_int("num_blocks", num_blocks, 2, MAX_BLOCKS)
    cell_px = check_int("cell_px", cell_px, 4, 512)
    border = max(1, cell_px // 8)
    blocks = [tile(cell_px, colour, EDGE, border) for _, colour in BLOCK_COLOURS[:num_blocks]]
    return np.stack([tile(cell_px, BACKGROUND), *blocks])


class BlocksworldEnv(PuzzleEnv):
    """Blocksworld (``hybrid/Blocksworld-v0``): reward 1 and ``terminated`` at the goal tower.

    Args:
        num_blocks: how many blocks, 2..9 (default 4).
        num_stacks: places on the table, 3..12 (default ``max(3, num_blocks)``).
        render_mode: None, ``"rgb_array"`` or ``"ansi"``.
        obs_type: ``"rgb"`` (default: the ``[num_blocks cell_px, num_stacks cell_px, 3]``
            frame, coloured blocks on a light background, the table at the bottom) or
            ``"symbolic"`` (the ``[num_blocks, num_stacks]`` grid of classes, 0 empty).
        cell_px: side of a block in pixels (default 16: 64 x 64 frames for 4 blocks).
        goal: the goal state (default: the tower ``1, 2, ..., num_blocks`` on stack 0).

    ``reset`` options (at most one):
        ``{"moves": k}``: the end of a random walk of exactly ``k`` >= 1 moves from the goal
        (:meth:`BlocksworldModel.scramble`; the true distance is at most ``k``);
        ``{"state": s}``: start from the non-goal state ``s`` (a tuple of stacks, or a grid
        of classes; validated). Without options: a uniformly random state other than the goal.

    Action ``a`` moves the top block of stack ``i`` onto stack ``j``, ``(i, j) ==
    model.moves[a]``; a move from an empty stack is a no-op (see
    :class:`~hybrid.tasks.envs.grid_env.PuzzleEnv`). The rules are ``self.model``.
    """

    def __init__(
        self,
        num_blocks: int = 4,
        num_stacks: int | None = None,
        render_mode: str | None = None,
        obs_type: str = "rgb",
        cell_px: int = 16,
        goal: Any = None,
    ) -> None:
        model = BlocksworldModel(num_blocks, num_stacks, goal)
        cell_px = check_int("cell_px", cell_px, 4, 512)
        super().__init__(model, blocksworld_tiles(model.num_blocks, cell_px), render_mode, obs_type)

    def _initial_state(self, options: dict[str, Any]) -> State:
        """Return the start state for ``reset``'s ``options`` (see the class docstring)."""
        unknown = set(options) - {"moves", "state"}
        if unknown:
            raise ValueError(f"options may only hold 'moves' or 'state', got {sorted(unknown)}")
        if len(options) > 1:
            raise ValueError("options may hold 'moves' or 'state', not both")
        if "moves" in options:
            return self.model.scramble(self.np_random, check_int("options['moves']", options["moves"], 1))
        if "state" in options:
            s = options["state"]
            try:
                state = self.model.from_grid(s) if isinstance(s, np.ndarray) else self.model.check_state(s)
            except (TypeError, ValueError) as err:
                raise ValueError(f"options['state'] is not a valid state: {err}") from None
            if state == self.model.goal_state:
                raise ValueError("options['state'] is the goal: the episode would start solved")
            return state
        return self.model.sample_state(self.np_random)
