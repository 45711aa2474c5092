"""Connect Four (6 rows x 7 columns): the rules as a bitboard :class:`ConnectFourModel`, and a gymnasium env.

Board and state
    John Tromp's bitboard layout: column ``c`` owns bits ``7 c .. 7 c + 6``, bit
    ``7 c + h`` is the cell at height ``h`` (0 = bottom row) and bit ``7 c + 6`` is an
    always-empty sentinel that stops lines from wrapping between columns. A state is the
    tuple ``(bits0, bits1, over)``: the stones of player 0 (red, who moves first) and of
    player 1 (yellow), and ``over``, True once the game has ended (four in a row, or a
    full board). ``over`` is a function of the two bitboards, kept in the state so that a
    search tests termination with one tuple index. Action ``c`` drops the mover's stone
    into column ``c`` (0 = left); it is legal while the column has room and the game is on.

Speed
    ``step`` is a handful of integer operations (the four-in-a-row test is Tromp's
    shift-and-mask check on the mover's stones only), ~1 microsecond in CPython;
    ``legal_action_ids`` is one look-up keyed by the top row.

Grid classes (:meth:`ConnectFourModel.to_grid`, what the env draws per cell)
    0 empty, 1 player 0's stone, 2 player 1's stone; grid row 0 is the top of the board.
"""

from __future__ import annotations

import numpy as np
from hybrid.tasks.envs.drawing import disc_mask, paint, tile
from hybrid.tasks.envs.grid_env import BoardGameEnv, check_int
from hybrid.tasks.envs.model import Transition
from hybrid.tasks.envs.opponents import Opponent

#: Rows and columns of the board.
ROWS: int = 6
COLS: int = 7
#: Bits per column in the bitboard (rows plus a sentinel).
_H1 = ROWS + 1
#: Grid classes drawn per cell.
EMPTY, RED, YELLOW = 0, 1, 2

_BOTTOM: tuple[int, ...] = tuple(1 << (c * _H1) for c in range(COLS))
_TOP: tuple[int, ...] = tuple(1 << (c * _H1 + ROWS - 1) for c in range(COLS))
_COLUMN: tuple[int, ...] = tuple(((1 << ROWS) - 1) << (c * _H1) for c in range(COLS))
_FULL: int = sum(_COLUMN)
_TOP_ROW: int = sum(_TOP)
#: Legal columns for each pattern of full columns (keyed by ``mask & _TOP_ROW``).
_LEGAL_BY_TOP: dict[int, tuple[int, ...]] = {}
for _pattern in range(1 << COLS):
    _key = sum(_TOP[c] for c in range(COLS) if _pattern >> c & 1)
    _LEGAL_BY_TOP[_key] = tuple(c for c in range(COLS) if not _pattern >> c & 1)
del _pattern, _key
_NOTHING: tuple[int, ...] = ()
_new_transition = tuple.__new__


def has_four(bits: int) -> bool:
    """Return True when the stones in ``bits`` (a bitboard in Tromp's layout) hold four in a row."""
    m = bits & (bits >> 7)  # horizontal
    if m & (m >> 14):
        return True
    m = bits & (bits >> 6)  # diagonal /
    if m & (m >> 12):
        return True
    m = bits & (bits >> 8)  # diagonal \
    if m & (m >> 16):
        return True
    m = bits & (bits >> 1)  # vertical
    return bool(m & (m >> 2))


def cell_bit(row: int, col: int) -> int:
    """Return the bitboard bit of grid cell ``(row, col)``, row 0 being the top of the board."""
    return 1 << (col * _H1 + ROWS - 1 - row)


class ConnectFourModel:
    """The rules of Connect Four (6 x 7) as a pure :class:`~hybrid.tasks.envs.model.TransitionModel`.

    States are ``(bits0, bits1, over)`` tuples (see the module docstring); actions are
    columns ``0..6``; ``step`` returns the reward of the player who moved (+1 for four in
    a row, 0 otherwise). Takes no arguments.

    Attributes:
        num_actions: 7.
        num_players: 2.
        rows, cols: 6, 7.
        num_classes: 3 grid classes (empty, player 0, player 1).
    """

    num_actions: int = COLS
    num_players: int = 2
    rows: int = ROWS
    cols: int = COLS
    num_classes: int = 3

    def __repr__(self) -> str:
        return "ConnectFourModel()"

    # ------------------------------------------------------------------ the protocol

    def initial_state(self) -> tuple[int, int, bool]:
        """Return the empty board, player 0 to move."""
        return (0, 0, False)

    def step(self, state: tuple[int, int, bool], action: int) -> Transition:
        """Return the :class:`Transition` of dropping the mover's stone into column ``action``.

        Raises:
            ValueError: if ``action`` is not a column 0..6, the column is full, or the
                game is over.
        """
        p0, p1, over = state
        mask = p0 | p1
        try:
            if over or not 0 <= action < COLS or mask & _TOP[action]:
                raise ValueError(self._illegal_message(state, action))
        except TypeError:  # a float or other non-index action
            raise ValueError(self._illegal_message(state, action)) from None
        new_mask = mask | (mask + _BOTTOM[action])
        if mask.bit_count() & 1:
            bits = p1 = p1 | (new_mask ^ mask)
        else:
            bits = p0 = p0 | (new_mask ^ mask)
        # Tromp's four-in-a-row test on the mover's stones (inlined: it is the hot path).
        m = bits & (bits >> 7)
        if m & (m >> 14):
            return _new_transition(Transition, ((p0, p1, True), 1.0, True))
        m = bits & (bits >> 6)
        if m & (m >> 12):
            return _new_transition(Transition, ((p0, p1, True), 1.0, True))
        m = bits & (bits >> 8)
        if m & (m >> 16):
            return _new_transition(Transition, ((p0, p1, True), 1.0, True))
        m = bits & (bits >> 1)
        if m & (m >> 2):
            return _new_transition(Transition, ((p0, p1, True), 1.0, True))
        if new_mask == _FULL:
            return _new_transition(Transition, ((p0, p1, True), 0.0, True))
        return _new_transition(Transition, ((p0, p1, False), 0.0, False))

    def legal_action_ids(self, state: tuple[int, int, bool]) -> tuple[int, ...]:
        """Return the columns with room, in increasing order (``()`` once the game is over)."""
        if state[2]:
            return _NOTHING
        return _LEGAL_BY_TOP[(state[0] | state[1]) & _TOP_ROW]

    def legal_actions(self, state: tuple[int, int, bool]) -> np.ndarray:
        """Return a boolean mask of length 7, True on the columns the player to move may play."""
        mask = np.zeros(COLS, dtype=bool)
        mask[list(self.legal_action_ids(state))] = True
        return mask

    def is_terminal(self, state: tuple[int, int, bool]) -> bool:
        """Return True when the game is over (four in a row or a full board)."""
        return state[2]

    def current_player(self, state: tuple[int, int, bool]) -> int:
        """Return the player to move: 0 when both have as many stones, else 1."""
        return (state[0] | state[1]).bit_count() & 1

    def winner(self, state: tuple[int, int, bool]) -> int | None:
        """Return 0 or 1 for the player with four in a row, None otherwise (game on, or a draw)."""
        if has_four(state[0]):
            return 0
        if has_four(state[1]):
            return 1
        return None

    def to_grid(self, state: tuple[int, int, bool]) -> np.ndarray:
        """Return the ``[6, 7]`` int64 grid of classes (0 empty, 1 player 0, 2 player 1), row 0 at the top."""
        p0, p1, _ = state
        grid = np.zeros((ROWS, COLS), dtype=np.int64)
        for r in range(ROWS):
            for c in range(COLS):
                bit = cell_bit(r, c)
                if p0 & bit:
                    grid[r, c] = RED
                elif p1 & bit:
                    grid[r, c] = YELLOW
        return grid

    def from_grid(self, grid: np.ndarray) -> tuple[int, int, bool]:
        """Return the state a ``[6, 7]`` grid of classes shows (row 0 at the top).

        The grid must be a position some game reaches: stones rest on the bottom or on
        other stones, player 0 has as many stones as player 1 or one more, and there is
        an order of alternating moves that builds it without a four in a row before the
        last move (checked by a backward search over column heights).

        Raises:
            ValueError: wrong shape, a class other than 0/1/2, or an unreachable position,
                saying which.
        """
        g = np.asarray(grid)
        if g.shape != (ROWS, COLS):
            raise ValueError(f"grid must have shape ({ROWS}, {COLS}), got {g.shape}")
        if not np.issubdtype(g.dtype, np.integer) or not np.isin(g, (EMPTY, RED, YELLOW)).all():
            raise ValueError(f"grid classes must be integers 0 (empty), 1 or 2 (players), got {np.unique(g).tolist()}")
        filled = g != EMPTY
        floating = filled[:-1] & ~filled[1:]
        if floating.any():
            r, c = np.argwhere(floating)[0]
            raise ValueError(f"grid is not a reachable position: the stone at row {r}, column {c} floats over a hole")
        p0 = p1 = 0
        for r, c in np.argwhere(filled):
            if g[r, c] == RED:
                p0 |= cell_bit(int(r), int(c))
            else:
                p1 |= cell_bit(int(r), int(c))
        n0, n1 = p0.bit_count(), p1.bit_count()
        if n0 not in (n1, n1 + 1):
            raise ValueError(f"grid is not a reachable position: player 0 has {n0} stones and player 1 {n1}")
        win0, win1 = has_four(p0), has_four(p1)
        if win0 and win1:
            raise ValueError("grid is not a reachable position: both players have four in a row")
        winner = 0 if win0 else 1 if win1 else None
        if winner is not None and winner != (n0 + n1 - 1) % 2:
            raise ValueError(
                f"grid is not a reachable position: player {winner} has four in a row but did not move last"
            )
        if not _reachable(p0, p1, winner):
            raise ValueError("grid is not a reachable position: no order of alternating moves builds it")
        return (p0, p1, winner is not None or (p0 | p1) == _FULL)

    def encode(self, state: tuple[int, int, bool]) -> np.ndarray:
        """Return float32 planes ``[3, 6, 7]``: the mover's stones, the opponent's, and ones if player 0 moves."""
        grid = self.to_grid(state)
        me = RED if self.current_player(state) == 0 else YELLOW
        planes = np.empty((3, ROWS, COLS), dtype=np.float32)
        planes[0] = grid == me
        planes[1] = grid == (YELLOW if me == RED else RED)
        planes[2] = 1.0 if me == RED else 0.0
        return planes

    # ------------------------------------------------------------------ helpers

    def _illegal_message(self, state, action) -> str:
        """Say why ``step(state, action)`` is illegal."""
        if not isinstance(action, (int, np.integer)) or not 0 <= action < COLS:
            return f"action must be a column in 0..{COLS - 1}, got {action!r}"
        if state[2]:
            return f"action {action} is illegal: the game is over"
        return f"action {action} is illegal: column {action} is full"


def _reachable(p0: int, p1: int, winner: int | None) -> bool:
    """Return True when alternating moves from the empty board build ``(p0, p1)``.

    Works backwards: the last mover's colour is fixed by the stone count, so a position
    is reachable when one of that colour's top stones can be lifted to leave a reachable
    position. Only the last move may complete a four (``winner``); the search is memoised
    on column heights, which (with the fixed colours) determine the position.
    """
    heights = tuple(((p0 | p1) >> (c * _H1) & ((1 << ROWS) - 1)).bit_length() for c in range(COLS))
    failed: set[tuple[int, ...]] = set()

    def search(h: tuple[int, ...], a: int, b: int, first: bool) -> bool:
        n = sum(h)
        if n == 0:
            return True
        if h in failed:
            return False
        mover = (n - 1) % 2
        mover_bits = b if mover else a
        for c in range(COLS):
            if h[c] == 0:
                continue
            bit = 1 << (c * _H1 + h[c] - 1)
            if not mover_bits & bit:
                continue
            na, nb = (a, b ^ bit) if mover else (a ^ bit, b)
            if first and winner is not None and (has_four(na) or has_four(nb)):
                continue  # the last move must be the one that completed every four
            if search(h[:c] + (h[c] - 1,) + h[c + 1 :], na, nb, False):
                return True
        failed.add(h)
        return False

    return search(heights, p0, p1, True)


# ---------------------------------------------------------------------------- the env

#: Colours of the drawing.
BOARD, HOLE, RED_COLOR, YELLOW_COLOR = (25, 65, 185), (235, 235, 235), (210, 35, 35), (240, 200, 25)


def connect_four_tiles(cell_px: int = 16) -> np.ndarray:
    """Return the ``[3, cell_px, cell_px, 3]`` uint8 tiles of the grid classes: a hole, a red disc, a yellow disc."""
    board = tile(cell_px, BOARD)
    disc = disc_mask(cell_px, 0.4)
    return np.stack([paint(board, disc, HOLE), paint(board, disc, RED_COLOR), paint(board, disc, YELLOW_COLOR)])


class ConnectFourEnv(BoardGameEnv):
    """Connect Four (6 x 7) against a built-in opponent (``hybrid/ConnectFour-v0``).

    Args:
        opponent: ``"random"`` (default), ``"mcts"`` (a small UCT with random rollouts) or
            a callable ``(state, legal_ids, rng) -> action``.
        opponent_simulations: UCT simulations per opponent move (default 200; ``"mcts"`` only).
        agent_player: 0 (default: the agent plays red and moves first) or 1 (yellow).
        render_mode: None, ``"rgb_array"`` or ``"ansi"``.
        obs_type: ``"rgb"`` (default: the ``[6 cell_px, 7 cell_px, 3]`` frame) or
            ``"symbolic"`` (the ``[6, 7]`` grid: 0 empty, 1 red, 2 yellow; row 0 on top).
        cell_px: side of a cell in pixels (default 16: 96 x 112 frames; at least 8).

    Actions are columns ``0..6``; see :class:`~hybrid.tasks.envs.grid_env.BoardGameEnv` for
    rewards, illegal actions (a full column loses) and ``info``. The rules are
    ``self.model``, a :class:`ConnectFourModel`.
    """

    def __init__(
        self,
        opponent: str | Opponent = "random",
        opponent_simulations: int = 200,
        agent_player: int = 0,
        render_mode: str | None = None,
        obs_type: str = "rgb",
        cell_px: int = 16,
    ) -> None:
        cell_px = check_int("cell_px", cell_px, 8, 512)
        super().__init__(
            ConnectFourModel(),
            connect_four_tiles(cell_px),
            render_mode,
            obs_type,
            opponent,
            opponent_simulations,
            agent_player,
        )
