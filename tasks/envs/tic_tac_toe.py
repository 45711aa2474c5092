"""Tic-tac-toe: the rules as a tabled bitboard :class:`TicTacToeModel`, and a gymnasium env against an opponent.

Board and state
    Cells are numbered ``r * 3 + c`` (row ``r`` from the top, column ``c`` from the left);
    action ``k`` puts the mover's mark on cell ``k``. Player 0 (X) moves first, player 1
    (O) second. A state is the tuple ``(x_bits, o_bits, over)``: bit ``k`` of ``x_bits``
    (``o_bits``) is set when X (O) holds cell ``k``, and ``over`` is True when the game has
    ended (a line of three, or a full board). ``over`` is a function of the two bitboards,
    kept in the state so that a search tests termination with one tuple index.

Speed
    Tic-tac-toe has 5,478 reachable positions; the model enumerates them once (per
    process, ~30 ms) and tables every transition, so ``step``, ``legal_action_ids`` and
    ``is_terminal`` are dictionary look-ups (~0.2 microseconds for ``step``). A state that
    is not a reachable position is rejected with ``ValueError``.

Grid classes (:meth:`TicTacToeModel.to_grid`, what the env draws per cell)
    0 empty, 1 X (player 0), 2 O (player 1).
"""

from __future__ import annotations

import functools

import numpy as np
from hybrid.tasks.envs.drawing import cross_mask, paint, ring_mask, tile
from hybrid.tasks.envs.grid_env import BoardGameEnv, check_int
from hybrid.tasks.envs.model import Transition
from hybrid.tasks.envs.opponents import Opponent

#: Number of rows and columns of the board.
SIZE: int = 3
#: Number of cells (and of actions).
NUM_CELLS: int = SIZE * SIZE
#: Grid classes drawn per cell.
EMPTY, X, O = 0, 1, 2
#: The eight winning lines as bitmasks over cells ``r * 3 + c``.
WIN_LINES: tuple[int, ...] = tuple(
    sum(1 << cell for cell in line)
    for line in (
        (0, 1, 2), (3, 4, 5), (6, 7, 8),  # rows
        (0, 3, 6), (1, 4, 7), (2, 5, 8),  # columns
        (0, 4, 8), (2, 4, 6),  # diagonals
    )
)  # fmt: skip
_FULL = (1 << NUM_CELLS) - 1
_new_transition = tuple.__new__


def has_line(bits: int) -> bool:
    """Return True when the cells set in ``bits`` (an int over cells ``r * 3 + c``) contain a line of three."""
    return any(bits & line == line for line in WIN_LINES)


@functools.cache
def _tables() -> tuple[dict, dict]:
    """Enumerate every reachable position from the empty board.

    Returns:
        ``(steps, legal)``: ``steps[state]`` maps each legal action to its
        :class:`Transition`; ``legal[state]`` is the tuple of legal actions (``()`` when
        the game is over).
    """
    start = (0, 0, False)
    steps: dict = {}
    legal: dict = {}
    stack = [start]
    while stack:
        state = stack.pop()
        if state in steps:
            continue
        x, o, over = state
        row: dict[int, Transition] = {}
        if not over:
            occupied = x | o
            x_moves = x.bit_count() == o.bit_count()
            for action in range(NUM_CELLS):
                bit = 1 << action
                if occupied & bit:
                    continue
                if x_moves:
                    nx, no = x | bit, o
                    won = has_line(nx)
                else:
                    nx, no = x, o | bit
                    won = has_line(no)
                done = won or (occupied | bit) == _FULL
                nxt = (nx, no, done)
                row[action] = _new_transition(Transition, (nxt, 1.0 if won else 0.0, done))
                stack.append(nxt)
        steps[state] = row
        legal[state] = tuple(sorted(row))
    return steps, legal


class TicTacToeModel:
    """The rules of tic-tac-toe as a pure :class:`~hybrid.tasks.envs.model.TransitionModel`.

    States are ``(x_bits, o_bits, over)`` tuples (see the module docstring); actions are
    cells ``0..8``; ``step`` returns the reward of the player who moved (+1 for a win, 0
    otherwise: a move never loses). Takes no arguments.

    Attributes:
        num_actions: 9.
        num_players: 2.
        rows, cols: 3, 3.
        num_classes: 3 grid classes (empty, X, O).
    """

    num_actions: int = NUM_CELLS
    num_players: int = 2
    rows: int = SIZE
    cols: int = SIZE
    num_classes: int = 3

    def __init__(self) -> None:
        self._steps, self._legal = _tables()

    def __repr__(self) -> str:
        return "TicTacToeModel()"

    # ------------------------------------------------------------------ the protocol

    def initial_state(self) -> tuple[int, int, bool]:
        """Return the empty board, X (player 0) to move."""
        return (0, 0, False)

    def step(self, state: tuple[int, int, bool], action: int) -> Transition:
        """Return the :class:`Transition` of putting the mover's mark on cell ``action``.

        Raises:
            ValueError: if ``state`` is not a reachable position, or ``action`` is out of
                range, on an occupied cell, or played after the game is over.
        """
        try:
            return self._steps[state][action]
        except (KeyError, TypeError):
            raise ValueError(self._illegal_message(state, action)) from None

    def legal_action_ids(self, state: tuple[int, int, bool]) -> tuple[int, ...]:
        """Return the empty cells of ``state`` in increasing order (``()`` once the game is over)."""
        try:
            return self._legal[state]
        except (KeyError, TypeError):
            raise ValueError(f"state is not a reachable tic-tac-toe position: {state!r}") from None

    def legal_actions(self, state: tuple[int, int, bool]) -> np.ndarray:
        """Return a boolean mask of length 9, True on the cells the player to move may take."""
        mask = np.zeros(NUM_CELLS, dtype=bool)
        mask[list(self.legal_action_ids(state))] = True
        return mask

    def is_terminal(self, state: tuple[int, int, bool]) -> bool:
        """Return True when the game is over (a line of three or a full board)."""
        return state[2]

    def current_player(self, state: tuple[int, int, bool]) -> int:
        """Return the player to move: 0 (X) when both have as many marks, else 1 (O)."""
        return (state[0] | state[1]).bit_count() & 1

    def winner(self, state: tuple[int, int, bool]) -> int | None:
        """Return 0 if X has a line, 1 if O has a line, None otherwise (game on, or a draw)."""
        if has_line(state[0]):
            return 0
        if has_line(state[1]):
            return 1
        return None

    def to_grid(self, state: tuple[int, int, bool]) -> np.ndarray:
        """Return the ``[3, 3]`` int64 grid of classes: 0 empty, 1 X, 2 O."""
        x, o, _ = state
        grid = np.zeros(NUM_CELLS, dtype=np.int64)
        for k in range(NUM_CELLS):
            if x >> k & 1:
                grid[k] = X
            elif o >> k & 1:
                grid[k] = O
        return grid.reshape(SIZE, SIZE)

    def from_grid(self, grid: np.ndarray) -> tuple[int, int, bool]:
        """Return the state a ``[3, 3]`` grid of classes (0 empty, 1 X, 2 O) shows.

        Raises:
            ValueError: wrong shape, a class other than 0/1/2, or a position no game
                reaches (mark counts, two winners, play continued after a win).
        """
        g = np.asarray(grid)
        if g.shape != (SIZE, SIZE):
            raise ValueError(f"grid must have shape (3, 3), got {g.shape}")
        if not np.issubdtype(g.dtype, np.integer) or not np.isin(g, (EMPTY, X, O)).all():
            raise ValueError(f"grid classes must be integers 0 (empty), 1 (X) or 2 (O), got {np.unique(g).tolist()}")
        flat = g.reshape(-1)
        x = sum(1 << k for k in range(NUM_CELLS) if flat[k] == X)
        o = sum(1 << k for k in range(NUM_CELLS) if flat[k] == O)
        nx, no = x.bit_count(), o.bit_count()
        if nx not in (no, no + 1):
            raise ValueError(f"grid is not a reachable position: X has {nx} marks and O {no} (X moves first)")
        for over in (False, True):
            if (x, o, over) in self._steps:
                return (x, o, over)
        raise ValueError("grid is not a reachable position: both players have a line, or play went on after a win")

    def encode(self, state: tuple[int, int, bool]) -> np.ndarray:
        """Return float32 planes ``[3, 3, 3]``: the mover's marks, the opponent's, and ones if X (player 0) moves."""
        grid = self.to_grid(state)
        me = X if self.current_player(state) == 0 else O
        other = O if me == X else X
        planes = np.empty((3, SIZE, SIZE), dtype=np.float32)
        planes[0] = grid == me
        planes[1] = grid == other
        planes[2] = 1.0 if me == X else 0.0
        return planes

    # ------------------------------------------------------------------ helpers

    def _illegal_message(self, state, action) -> str:
        """Say why ``step(state, action)`` is illegal."""
        try:
            known = state in self._steps
        except TypeError:
            known = False
        if not known:
            return f"state is not a reachable tic-tac-toe position: {state!r}"
        if not isinstance(action, (int, np.integer)) or not 0 <= action < NUM_CELLS:
            return f"action must be an int in 0..8, got {action!r}"
        if state[2]:
            return f"action {action} is illegal: the game is over"
        return f"action {action} is illegal: cell {action} is occupied"


# ---------------------------------------------------------------------------- the env

#: Colours of the drawing.
BACKGROUND, GRID_LINE, X_COLOR, O_COLOR = (235, 235, 235), (60, 60, 60), (200, 30, 30), (30, 70, 200)


def tic_tac_toe_tiles(cell_px: int = 32) -> np.ndarray:
    """Return the ``[3, cell_px, cell_px, 3]`` uint8 tiles of the grid classes: empty, X (red cross), O (blue ring)."""
    base = tile(cell_px, BACKGROUND, GRID_LINE, max(1, cell_px // 16))
    x = paint(base, cross_mask(cell_px, 0.32, 0.09), X_COLOR)
    o = paint(base, ring_mask(cell_px, 0.36, 0.11), O_COLOR)
    return np.stack([base, x, o])


class TicTacToeEnv(BoardGameEnv):
    """Tic-tac-toe against a built-in opponent (``hybrid/TicTacToe-v0``).

    Args:
        opponent: ``"random"`` (default), ``"mcts"`` (a small UCT with random rollouts) or
            a callable ``(state, legal_ids, rng) -> action``.
        opponent_simulations: UCT simulations per opponent move (default 200; ``"mcts"`` only).
        agent_player: 0 (default: the agent plays X and moves first) or 1 (the agent plays O).
        render_mode: None, ``"rgb_array"`` or ``"ansi"``.
        obs_type: ``"rgb"`` (default: the ``[3 cell_px, 3 cell_px, 3]`` frame) or
            ``"symbolic"`` (the ``[3, 3]`` grid: 0 empty, 1 X, 2 O).
        cell_px: side of a cell in pixels (default 32: 96 x 96 frames; at least 8).

    Actions are cells ``r * 3 + c``; see :class:`~hybrid.tasks.envs.grid_env.BoardGameEnv` for
    rewards, illegal actions and ``info``. The rules are ``self.model``, a :class:`TicTacToeModel`.
    """

    def __init__(
        self,
        opponent: str | Opponent = "random",
        opponent_simulations: int = 200,
        agent_player: int = 0,
        render_mode: str | None = None,
        obs_type: str = "rgb",
        cell_px: int = 32,
    ) -> None:
        cell_px = check_int("cell_px", cell_px, 8, 512)
        super().__init__(
            TicTacToeModel(),
            tic_tac_toe_tiles(cell_px),
            render_mode,
            obs_type,
            opponent,
            opponent_simulations,
            agent_player,
        )
