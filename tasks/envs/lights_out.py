"""Lights Out: :class:`LightsOutModel` (the rules over an int bitmask) and its env.

Board and state
    An ``n x n`` board of lights, cell ``r * n + c``. A state is an int whose bit
    ``r * n + c`` is set when that light is on. Action ``k`` presses cell ``k``: it toggles
    that light and its (up to four) orthogonal neighbours. Every press is legal; the goal,
    all lights off (state ``0``), is terminal.

Solvability
    Presses commute and pressing twice undoes, so the states reachable from all-off (and
    back) are the span of the press patterns over GF(2). For some sizes that span is not
    everything (5 x 5: a quarter of the patterns, the press matrix having a nullity of 2);
    :meth:`LightsOutModel.is_solvable` tests membership, and ``from_grid`` rejects
    unsolvable patterns.

Grid classes (:meth:`LightsOutModel.to_grid`, what the env draws per cell)
    0 off (dark), 1 on (yellow).

Twisted Lights Out
    ``LightsOutEnv(twist=s)`` with ``s > 0`` swirls every frame it returns around its
    centre (:func:`hybrid.tasks.envs.warp.swirl`, Latplan's *Twisted Lights Out*), so that
    cells are no longer squares; the rules are unchanged. ``hybrid/TwistedLightsOut-v0``
    is :class:`TwistedLightsOutEnv`, whose twist defaults to :data:`TWIST` (3.0, Latplan's).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hybrid.tasks.envs.drawing import tile
from hybrid.tasks.envs.grid_env import PuzzleEnv, check_int
from hybrid.tasks.envs.model import Transition
from hybrid.tasks.envs.warp import swirl

_new_transition = tuple.__new__


class LightsOutModel:
    """The rules of ``size x size`` Lights Out as a pure :class:`~hybrid.tasks.envs.model.TransitionModel`.

    Args:
        size: the side of the board, 2..16 (default 5).

    States are ints (bit ``r * size + c`` set when that light is on); the reward is 1 for
    the press that turns the last light off, 0 otherwise.

    Attributes:
        size, rows, cols: the side of the board.
        num_actions: ``size**2`` (press cell ``r * size + c``).
        num_players: 1.
        num_classes: 2 (off, on).
        goal_state: 0 (all lights off).
        press_masks: for each action, the bitmask of the lights it toggles.
    """

    num_players: int = 1
    num_classes: int = 2
    goal_state: int = 0

    def __init__(self, size: int = 5) -> None:
        self.size = check_int("size", size, 2, 16)
        n = self.size
        self.rows = self.cols = n
        self.num_actions = n * n
        masks = []
        for r in range(n):
            for c in range(n):
                m = 0
                for dr, dc in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)):
                    if 0 <= r + dr < n and 0 <= c + dc < n:
                        m |= 1 << ((r + dr) * n + c + dc)
                masks.append(m)
        self.press_masks: tuple[int, ...] = tuple(masks)
        self._all_actions: tuple[int, ...] = tuple(range(n * n))
        self._null_space: tuple[int, ...] = _null_space(self.press_masks, n * n)

    def __repr__(self) -> str:
        return f"LightsOutModel(size={self.size})"

    # ------------------------------------------------------------------ the protocol

    def step(self, state: int, action: int) -> Transition:
        """Return the :class:`Transition` of pressing cell ``action``.

        Raises:
            ValueError: if ``action`` is not a cell ``0 .. size**2 - 1``, or ``state`` is
                the goal (all off).
        """
        try:
            if not state or not 0 <= action < self.num_actions:
                raise ValueError(self._illegal_message(state, action))
            nxt = state ^ self.press_masks[action]
        except TypeError:  # a float or other non-index action
            raise ValueError(self._illegal_message(state, action)) from None
        if nxt:
            return _new_transition(Transition, (nxt, 0.0, False))
        return _new_transition(Transition, (0, 1.0, True))

    def legal_action_ids(self, state: int) -> tuple[int, ...]:
        """Return every cell (``()`` once all lights are off)."""
        return self._all_actions if state else ()

    def legal_actions(self, state: int) -> np.ndarray:
        """Return a boolean mask of length ``size**2``: all True, or all False once all lights are off."""
        return np.full(self.num_actions, bool(state))

    def is_terminal(self, state: int) -> bool:
        """Return True when all lights are off."""
        return not state

    def current_player(self, state: int) -> int:
        """Return 0 (a single-agent puzzle)."""
        return 0

    def to_grid(self, state: int) -> np.ndarray:
        """Return the ``[size, size]`` int64 grid: 1 where a light is on, 0 where it is off."""
        n = self.size
        if isinstance(state, bool) or not isinstance(state, (int, np.integer)) or not 0 <= state < 1 << (n * n):
            raise ValueError(f"state must be an int bitmask in 0..2**{n * n} - 1, got {state!r}")
        bits = np.array([(int(state) >> k) & 1 for k in range(n * n)], dtype=np.int64)
        return bits.reshape(n, n)

    def from_grid(self, grid: np.ndarray) -> int:
        """Return the state a ``[size, size]`` grid of 0 (off) / 1 (on) shows.

        Raises:
            ValueError: wrong shape, a class other than 0/1, or a pattern that no presses
                turn off (see :meth:`is_solvable`).
        """
        g = np.asarray(grid)
        n = self.size
        if g.shape != (n, n):
            raise ValueError(f"grid must have shape ({n}, {n}), got {g.shape}")
        if not np.issubdtype(g.dtype, np.integer) or not np.isin(g, (0, 1)).all():
            raise ValueError(f"grid classes must be integers 0 (off) or 1 (on), got {np.unique(g).tolist()}")
        state = sum(1 << k for k, v in enumerate(g.reshape(-1).tolist()) if v)
        if not self.is_solvable(state):
            raise ValueError("grid is not a reachable position: no presses turn this pattern off")
        return state

    def encode(self, state: int) -> np.ndarray:
        """Return float32 planes ``[1, size, size]``: 1 where a light is on."""
        return self.to_grid(state).astype(np.float32)[None]

    # ------------------------------------------------------------------ extras

    def _illegal_message(self, state: int, action: Any) -> str:
        """Say why ``step(state, action)`` is illegal."""
        if not isinstance(action, (int, np.integer)) or not 0 <= action < self.num_actions:
            return f"action must be a cell in 0..{self.num_actions - 1}, got {action!r}"
        return "the puzzle is solved: no press is legal when all lights are off"

    def is_solvable(self, state: int) -> bool:
        """Return True when some presses turn every light of ``state`` off (its pattern is in the presses' span)."""
        return all((state & q).bit_count() % 2 == 0 for q in self._null_space)

    def press(self, state: int, cells: Any) -> int:
        """Return ``state`` after pressing each cell of ``cells`` once (order does not matter)."""
        for k in cells:
            state ^= self.press_masks[int(k)]
        return state

    def sample_state(self, rng: np.random.Generator, presses: int | None = None) -> int:
        """Return a solvable state other than all-off, drawn with ``rng`` by pressing random cells from all-off.

        Args:
            rng: the random generator.
            presses: None (default): each cell is pressed with probability 1/2, which
                draws uniformly among the solvable patterns; an int ``k`` in
                ``1 .. size**2``: ``k`` distinct cells drawn uniformly. The fewest presses
                that solve the result are at most ``k`` (fewer when the presses overlap
                a null pattern of the press matrix). A draw that leaves every light off is
                drawn again.

        Raises:
            ValueError: ``presses`` out of range.
        """
        if presses is not None:
            presses = check_int("presses", presses, 1, self.num_actions)
        while True:
            if presses is None:
                cells = np.flatnonzero(rng.random(self.num_actions) < 0.5)
            else:
                cells = rng.choice(self.num_actions, size=presses, replace=False)
            state = self.press(0, cells)
            if state:
                return state


def _null_space(masks: tuple[int, ...], n_bits: int) -> tuple[int, ...]:
    """Return a basis (as bitmasks) of the null space over GF(2) of the symmetric matrix whose rows are ``masks``.

    The press matrix is symmetric, so its column space is orthogonal to its null space:
    a pattern is solvable exactly when it has even overlap with every basis vector.
    """
    # Gaussian elimination on rows, tracking which combination of presses gives each row.
    rows = [(m, 1 << i) for i, m in enumerate(masks)]
    pivot_row = 0
    for bit in range(n_bits):
        pick = next((i for i in range(pivot_row, len(rows)) if rows[i][0] >> bit & 1), None)
        if pick is None:
            continue
        rows[pivot_row], rows[pick] = rows[pick], rows[pivot_row]
        pm, pc = rows[pivot_row]
        for i in range(len(rows)):
            if i != pivot_row and rows[i][0] >> bit & 1:
                rows[i] = (rows[i][0] ^ pm, rows[i][1] ^ pc)
        pivot_row += 1
    # Rows reduced to zero: their press combinations change nothing, i.e. the null space.
    return tuple(combo for value, combo in rows[pivot_row:] if value == 0)


# ---------------------------------------------------------------------------- the env

#: Colours of the drawing.
OFF, ON, EDGE = (45, 45, 55), (250, 215, 60), (15, 15, 20)
#: The twist of ``hybrid/TwistedLightsOut-v0`` (radians at the centre): Latplan's swirl strength.
#: On the 80 x 80 frame of 5 x 5 Lights Out it turns the centre cell by up to half a turn and
#: bends the ring of cells around it into curved wedges, while the corner cells stay almost square.
TWIST: float = 3.0


def check_twist(twist: Any) -> float:
    """Return ``twist`` as a float after checking it is a finite number >= 0.

    Raises:
        ValueError: naming ``twist``.
    """
    if isinstance(twist, bool) or not isinstance(twist, (int, float, np.integer, np.floating)):
        raise ValueError(f"twist must be a number >= 0, got {twist!r}")
    if not np.isfinite(twist) or twist < 0:
        raise ValueError(f"twist must be a finite number >= 0, got {twist!r}")
    return float(twist)


def lights_out_tiles(cell_px: int = 16) -> np.ndarray:
    """Return the ``[2, cell_px, cell_px, 3]`` uint8 tiles: a light off (dark) and on (yellow), framed."""
    border = max(1, cell_px // 8)
    return np.stack([tile(cell_px, OFF, EDGE, border), tile(cell_px, ON, EDGE, border)])


class LightsOutEnv(PuzzleEnv):
    """Lights Out (``hybrid/LightsOut-v0``): reward 1 and ``terminated`` when all lights are off.

    Args:
        size: side of the board, 2..16 (default 5).
        render_mode: None, ``"rgb_array"`` or ``"ansi"``.
        obs_type: ``"rgb"`` (default: the ``[size cell_px, size cell_px, 3]`` frame)
            or ``"symbolic"`` (the ``[size, size]`` grid of 0 off / 1 on).
        cell_px: side of a cell in pixels (default 16: 80 x 80 frames for 5 x 5; at least 4).
        twist: swirl strength in radians (default 0.0: square cells, the frames of old). ``> 0``
            swirls every frame the env returns (observation and ``render``) with
            :func:`hybrid.tasks.envs.warp.swirl` (default radius: 0.75 of the frame side), so
            that cells are no longer squares; the rules and the symbolic observation are unchanged.

    ``reset`` options (at most one):
        ``{"presses": k}``: press ``k`` distinct random cells from all-off
        (:meth:`LightsOutModel.sample_state`); ``{"state": s}``: start from the solvable
        pattern ``s`` (an int bitmask, or a ``[size, size]`` 0/1 grid), not all-off.
        Without options: random presses of each cell with probability 1/2 (uniform over
        solvable patterns).

    Action ``k`` presses cell ``k = r * size + c``; every press is legal. The rules are ``self.model``.
    """

    def __init__(
        self,
        size: int = 5,
        render_mode: str | None = None,
        obs_type: str = "rgb",
        cell_px: int = 16,
        twist: float = 0.0,
    ) -> None:
        model = LightsOutModel(size)
        cell_px = check_int("cell_px", cell_px, 4, 512)
        self.twist = check_twist(twist)
        super().__init__(model, lights_out_tiles(cell_px), render_mode, obs_type)

    def frame(self) -> np.ndarray:
        """Return the current ``[size * cell_px, size * cell_px, 3]`` uint8 frame, swirled when ``twist > 0``."""
        flat = super().frame()
        return swirl(flat, self.twist) if self.twist > 0 else flat

    def _initial_state(self, options: dict[str, Any]) -> int:
        """Return the start state for ``reset``'s ``options`` (see the class docstring)."""
        unknown = set(options) - {"presses", "state"}
        if unknown:
            raise ValueError(f"options may only hold 'presses' or 'state', got {sorted(unknown)}")
        if len(options) > 1:
            raise ValueError("options may hold 'presses' or 'state', not both")
        if "presses" in options:
            presses = check_int("options['presses']", options["presses"], 1, self.model.num_actions)
            return self.model.sample_state(self.np_random, presses)
        if "state" in options:
            s = options["state"]
            try:
                grid = s if isinstance(s, np.ndarray) else self.model.to_grid(s)
                state = self.model.from_grid(grid)
            except (TypeError, ValueError) as err:
                raise ValueError(f"options['state'] is not a valid state: {err}") from None
            if state == self.model.goal_state:
                raise ValueError("options['state'] has every light off: the episode would start solved")
            return state
        return self.model.sample_state(self.np_random)


class TwistedLightsOutEnv(LightsOutEnv):
    """Twisted Lights Out (``hybrid/TwistedLightsOut-v0``): :class:`LightsOutEnv` with ``twist=TWIST`` by default.

    Args:
        size, render_mode, obs_type, cell_px: as :class:`LightsOutEnv`.
        twist: swirl strength (default :data:`TWIST`, 3.0 as in Latplan; 0 gives the plain frames).

    Every frame (observation and ``render``) is the plain Lights Out frame swirled around
    its centre; the rules (``self.model``), actions, rewards and ``reset`` options are those
    of Lights Out.
    """

    def __init__(
        self,
        size: int = 5,
        render_mode: str | None = None,
        obs_type: str = "rgb",
        cell_px: int = 16,
        twist: float = TWIST,
    ) -> None:
        super().__init__(size, render_mode, obs_type, cell_px, twist)
