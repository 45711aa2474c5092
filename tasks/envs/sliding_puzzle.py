"""The sliding-tile puzzle (the 8-puzzle of Latplan by default): :class:`SlidingPuzzleModel` and its env.

Board and state
    An ``n x n`` board holds tiles ``1 .. n*n - 1`` and one blank (``0``). A state is the
    tuple of ``n*n`` ints read row by row from the top left. The goal is
    ``(0, 1, 2, ..., n*n - 1)``: the blank in the top-left corner, tiles in order (as in
    Latplan, Asai & Fukunaga 2018). Only half of the arrangements can reach the goal;
    :meth:`SlidingPuzzleModel.is_solvable` tells which.

Actions
    The blank moves: 0 up, 1 down, 2 left, 3 right (it swaps with the neighbouring tile
    on that side); a move off the board is illegal. The goal is terminal: no move is
    legal from it.

Grid classes (:meth:`SlidingPuzzleModel.to_grid`, what the env draws per cell)
    The tile number: 0 the blank (a dark cell), ``k`` the tile showing the digits of ``k``.

Pictures
    ``digits="printed"`` (default): the digits of a 5 x 7 bitmap font. ``digits="handwritten"``
    (Latplan's MNIST 8-puzzle, with scikit-learn's bundled handwritten digits instead of
    MNIST): tile ``k`` shows a real handwritten ``k`` from ``sklearn.datasets.load_digits``
    (1,797 8 x 8 scans, no download), upscaled bilinearly to the tile; a two-digit number
    (boards larger than 3 x 3) is two handwritten digits side by side. Which scan each
    tile shows is drawn by ``numpy.random.default_rng(writer)``: each ``writer`` is another
    hand, and the same ``writer`` always gives the same tiles.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from hybrid.tasks.envs.drawing import paint, text_mask, tile
from hybrid.tasks.envs.grid_env import PuzzleEnv, check_int
from hybrid.tasks.envs.model import Transition

#: Action ids and the blank's ``(d_row, d_col)`` for each.
UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
MOVES: tuple[tuple[int, int], ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))
ACTION_NAMES: tuple[str, ...] = ("up", "down", "left", "right")
_new_transition = tuple.__new__


class SlidingPuzzleModel:
    """The rules of the ``size x size`` sliding-tile puzzle as a pure :class:`~hybrid.tasks.envs.model.TransitionModel`.

    Args:
        size: the side of the board, 2..9 (default 3: the 8-puzzle).

    States are tuples of ``size**2`` ints, 0 the blank (see the module docstring); the
    reward is 1 for the move that reaches :attr:`goal_state`, 0 otherwise.

    Attributes:
        size, rows, cols: the side of the board.
        num_actions: 4 (the blank moves up, down, left, right).
        num_players: 1.
        num_classes: ``size**2`` (the blank and each tile).
        goal_state: ``(0, 1, ..., size**2 - 1)``.
    """

    num_actions: int = 4
    num_players: int = 1

    def __init__(self, size: int = 3) -> None:
        self.size = check_int("size", size, 2, 9)
        n = self.size
        self.rows = self.cols = n
        self.num_classes = n * n
        self.goal_state: tuple[int, ...] = tuple(range(n * n))
        # For each blank position: the cell it swaps with per action (-1: off the board).
        self._target: tuple[tuple[int, ...], ...] = tuple(
            tuple((r + dr) * n + (c + dc) if 0 <= r + dr < n and 0 <= c + dc < n else -1 for dr, dc in MOVES)
            for r in range(n)
            for c in range(n)
        )
        self._legal: tuple[tuple[int, ...], ...] = tuple(tuple(a for a in range(4) if t[a] >= 0) for t in self._target)

    def __repr__(self) -> str:
        return f"SlidingPuzzleModel(size={self.size})"

    # ------------------------------------------------------------------ the protocol

    def step(self, state: tuple[int, ...], action: int) -> Transition:
        """Return the :class:`Transition` of moving the blank in direction ``action``.

        Raises:
            ValueError: if ``action`` is not 0..3, the move leaves the board, or ``state``
                is the goal.
        """
        blank = state.index(0)
        try:
            if not 0 <= action < 4 or state == self.goal_state:
                raise ValueError(self._illegal_message(state, action))
            other = self._target[blank][action]
        except TypeError:  # a float or other non-index action
            raise ValueError(self._illegal_message(state, action)) from None
        if other < 0:
            raise ValueError(self._illegal_message(state, action))
        cells = list(state)
        cells[blank] = cells[other]
        cells[other] = 0
        nxt = tuple(cells)
        done = nxt == self.goal_state
        return _new_transition(Transition, (nxt, 1.0 if done else 0.0, done))

    def legal_action_ids(self, state: tuple[int, ...]) -> tuple[int, ...]:
        """Return the blank's moves that stay on the board (``()`` at the goal)."""
        if state == self.goal_state:
            return ()
        return self._legal[state.index(0)]

    def legal_actions(self, state: tuple[int, ...]) -> np.ndarray:
        """Return a boolean mask of length 4 (up, down, left, right): True where the blank may move."""
        mask = np.zeros(4, dtype=bool)
        mask[list(self.legal_action_ids(state))] = True
        return mask

    def is_terminal(self, state: tuple[int, ...]) -> bool:
        """Return True at the goal."""
        return state == self.goal_state

    def current_player(self, state: tuple[int, ...]) -> int:
        """Return 0 (a single-agent puzzle)."""
        return 0

    def to_grid(self, state: tuple[int, ...]) -> np.ndarray:
        """Return the ``[size, size]`` int64 grid of tile numbers (0 the blank)."""
        return np.asarray(state, dtype=np.int64).reshape(self.size, self.size)

    def from_grid(self, grid: np.ndarray) -> tuple[int, ...]:
        """Return the state a ``[size, size]`` grid of tile numbers shows.

        Raises:
            ValueError: wrong shape, not a permutation of ``0 .. size**2 - 1``, or an
                arrangement that cannot reach the goal.
        """
        g = np.asarray(grid)
        n = self.size
        if g.shape != (n, n):
            raise ValueError(f"grid must have shape ({n}, {n}), got {g.shape}")
        if not np.issubdtype(g.dtype, np.integer) or sorted(g.reshape(-1).tolist()) != list(range(n * n)):
            raise ValueError(f"grid must hold each of 0..{n * n - 1} once, got {g.reshape(-1).tolist()}")
        state = tuple(int(v) for v in g.reshape(-1))
        if not self.is_solvable(state):
            raise ValueError(f"grid is not a reachable position: {state} cannot reach the goal (wrong parity)")
        return state

    def encode(self, state: tuple[int, ...]) -> np.ndarray:
        """Return float32 one-hot planes ``[size**2, size, size]``: plane ``k`` marks where tile ``k`` is."""
        n = self.size
        planes = np.zeros((n * n, n * n), dtype=np.float32)
        planes[list(state), np.arange(n * n)] = 1.0
        return planes.reshape(n * n, n, n)

    # ------------------------------------------------------------------ extras

    def is_solvable(self, state: tuple[int, ...]) -> bool:
        """Return True when ``state`` (a permutation of ``0 .. size**2 - 1``) can reach the goal.

        Every move is a transposition that moves the blank by one cell, so a state is
        solvable exactly when the parity of its permutation equals the parity of the
        blank's Manhattan distance from the goal corner.
        """
        n = self.size
        perm = list(state)
        inversions = sum(1 for i in range(len(perm)) for j in range(i + 1, len(perm)) if perm[i] > perm[j])
        blank = perm.index(0)
        return inversions % 2 == (blank // n + blank % n) % 2

    def sample_state(self, rng: np.random.Generator) -> tuple[int, ...]:
        """Return a uniformly random solvable state other than the goal, drawn with ``rng``."""
        while True:
            perm = [int(v) for v in rng.permutation(self.size * self.size)]
            if not self.is_solvable(perm):  # swapping two tiles flips the parity: a bijection
                i, j = _two_tiles(perm)
                perm[i], perm[j] = perm[j], perm[i]
            state = tuple(perm)
            if state != self.goal_state:
                return state

    def scramble(self, rng: np.random.Generator, moves: int) -> tuple[int, ...]:
        """Return the end of a random walk of exactly ``moves`` blank moves from the goal (Latplan's protocol).

        Each move is drawn uniformly among the legal moves other than the one that undoes
        the previous move. The walk's end is at most ``moves`` moves from the goal, with
        the same parity, but can be closer: the shortest cycles of the 8-puzzle have 12
        moves, so from 6 moves on a walk can cut a corner (7 moves can end 5 from the
        goal), and from 12 on it can come back to the goal itself -- then the walk is
        drawn again, so that an episode never starts solved.

        Raises:
            ValueError: if ``moves`` is not an int >= 1.
        """
        moves = check_int("moves", moves, 1)
        while True:
            state = self.goal_state
            blank, previous = 0, -1
            for _ in range(moves):
                options = [a for a in self._legal[blank] if previous < 0 or a != previous ^ 1]
                a = options[int(rng.integers(len(options)))]
                other = self._target[blank][a]
                cells = list(state)
                cells[blank], cells[other] = cells[other], 0
                state, blank, previous = tuple(cells), other, a
            if state != self.goal_state:
                return state

    # ------------------------------------------------------------------ helpers

    def _illegal_message(self, state: tuple[int, ...], action: Any) -> str:
        """Say why ``step(state, action)`` is illegal."""
        if not isinstance(action, (int, np.integer)) or not 0 <= action < 4:
            return f"action must be 0 (up), 1 (down), 2 (left) or 3 (right), got {action!r}"
        if state == self.goal_state:
            return "the puzzle is solved: no move is legal from the goal"
        return f"action {action} ({ACTION_NAMES[action]}) moves the blank off the board"


def _two_tiles(perm: list[int]) -> tuple[int, int]:
    """Return the positions of the first two non-blank cells of ``perm``."""
    first = [k for k in range(len(perm)) if perm[k] != 0][:2]
    return first[0], first[1]


# ---------------------------------------------------------------------------- the env

#: Colours of the drawing.
TILE, INK, BLANK, EDGE = (235, 225, 195), (20, 20, 20), (30, 30, 30), (90, 80, 60)
#: The ``digits`` styles of the tiles.
DIGIT_STYLES: tuple[str, ...] = ("printed", "handwritten")


@lru_cache(maxsize=1)
def handwritten_digits() -> tuple[np.ndarray, np.ndarray]:
    """Return scikit-learn's handwritten digits (``load_digits``, loaded once and cached).

    Returns:
        ``(images, labels)``: ``[1797, 8, 8]`` float32 ink in ``0..1`` (1 = full ink; the
        data set's 0..16 grey divided by 16) and ``[1797]`` int64 digits ``0..9``; both read-only.
    """
    from sklearn.datasets import load_digits  # imported here: the printed tiles need no scikit-learn

    data = load_digits()
    images = (np.asarray(data.images, dtype=np.float32) / 16.0).clip(0.0, 1.0)
    labels = np.asarray(data.target, dtype=np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def _resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Return ``image`` ``[h, w]`` resized to ``[height, width]`` by bilinear interpolation (pixel centres aligned)."""
    h, w = image.shape
    ys = np.clip((np.arange(height) + 0.5) * h / height - 0.5, 0.0, h - 1.0)
    xs = np.clip((np.arange(width) + 0.5) * w / width - 0.5, 0.0, w - 1.0)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = image[y0][:, x0] * (1 - fx) + image[y0][:, x1] * fx
    bottom = image[y1][:, x0] * (1 - fx) + image[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def handwritten_ink(text: str, px: int, rng: np.random.Generator, margin: int) -> np.ndarray:
    """Return a ``[px, px]`` float32 ink map in ``0..1`` of the digits of ``text``, each a handwritten scan.

    Each digit's scan is drawn with ``rng`` among the scans of that digit in
    :func:`handwritten_digits`; the scans are put side by side and upscaled bilinearly
    to fill the square ``[margin:px - margin]`` across (centred vertically).

    Args:
        text: one or more digits ``0``-``9``.
        px: the side of the cell.
        rng: draws which scan shows each digit (consumed once per digit).
        margin: pixels left free on each side (the tile's border and some space).

    Raises:
        ValueError: naming ``text`` if it is not digits, or ``margin`` if nothing is left to draw in.
    """
    if not text or not text.isdigit() or not text.isascii():
        raise ValueError(f"text must be one or more digits 0-9, got {text!r}")
    side = px - 2 * margin
    if side < len(text):
        raise ValueError(f"margin={margin} leaves no room for {text!r} in a {px}-pixel cell")
    images, labels = handwritten_digits()
    scans = []
    for ch in text:
        pool = np.flatnonzero(labels == int(ch))
        scans.append(images[pool[int(rng.integers(len(pool)))]])
    strip = np.concatenate(scans, axis=1)
    height = max(1, round(side / len(text)))
    ink = np.zeros((px, px), dtype=np.float32)
    top = (px - height) // 2
    ink[top : top + height, margin : margin + side] = _resize_bilinear(strip, height, side)
    return ink


def _check_digits(digits: Any) -> str:
    """Return ``digits`` after checking it is one of :data:`DIGIT_STYLES`."""
    if not isinstance(digits, str) or digits not in DIGIT_STYLES:
        raise ValueError(f"digits must be 'printed' or 'handwritten', got {digits!r}")
    return digits


def sliding_puzzle_tiles(size: int = 3, cell_px: int = 32, digits: str = "printed", writer: int = 0) -> np.ndarray:
    """Return the ``[size**2, cell_px, cell_px, 3]`` uint8 tiles: the blank (dark), then tiles 1.. with their digits.

    Args:
        size: the side of the board (tiles ``1 .. size**2 - 1``).
        cell_px: the side of a tile in pixels.
        digits: ``"printed"`` (default: a bitmap font) or ``"handwritten"`` (scikit-learn's
            handwritten digits, dark ink on the light tile, the tile's border kept; see the
            module docstring).
        writer: the seed (an int >= 0) of ``numpy.random.default_rng`` that picks which
            handwritten scan each tile shows (ignored for ``"printed"``).

    Raises:
        ValueError: naming ``digits`` or ``writer`` when they are not as above, or
            ``cell_px`` if the printed digits do not fit.
    """
    digits = _check_digits(digits)
    writer = check_int("writer", writer, 0)
    border = max(1, cell_px // 16)
    out = [tile(cell_px, BLANK, EDGE, border)]
    base = tile(cell_px, TILE, EDGE, border)
    if digits == "handwritten":
        rng = np.random.default_rng(writer)
        margin = border + max(1, cell_px // 16)
        paper, ink_colour = np.asarray(TILE, dtype=np.float32), np.asarray(INK, dtype=np.float32)
        for k in range(1, size * size):
            ink = handwritten_ink(str(k), cell_px, rng, margin)[..., None]
            drawn = np.rint(paper * (1 - ink) + ink_colour * ink).astype(np.uint8)
            inside = ink[..., 0] > 0
            out.append(np.where(inside[..., None], drawn, base))
        return np.stack(out)
    for k in range(1, size * size):
        try:
            mask = text_mask(str(k), cell_px)
        except ValueError:
            raise ValueError(f"cell_px={cell_px} is too small to draw tile {k}; use a larger cell_px") from None
        out.append(paint(base, mask, INK))
    return np.stack(out)


class SlidingPuzzleEnv(PuzzleEnv):
    """The sliding-tile puzzle (``hybrid/SlidingPuzzle-v0``): reward 1 and ``terminated`` at the goal.

    Args:
        size: side of the board, 2..9 (default 3: the 8-puzzle).
        render_mode: None, ``"rgb_array"`` or ``"ansi"``.
        obs_type: ``"rgb"`` (default: the ``[size cell_px, size cell_px, 3]`` frame)
            or ``"symbolic"`` (the ``[size, size]`` grid of tile numbers, 0 the blank).
        cell_px: side of a cell in pixels (default 32: 96 x 96 frames for the 8-puzzle).
        digits: ``"printed"`` (default: a bitmap font) or ``"handwritten"`` (tile ``k`` shows
            a real handwritten ``k`` from scikit-learn's ``load_digits``, as Latplan's MNIST
            8-puzzle; two digits side by side on boards larger than 3 x 3).
        writer: which hand writes the handwritten digits (an int >= 0: the seed that picks
            each tile's scan; ignored for printed digits). The same writer always draws the
            same tiles; another writer draws others.

    ``reset`` options (at most one):
        ``{"scramble": k}``: the end of a random walk of exactly ``k`` >= 1 moves from the
        goal without immediate undo (:meth:`SlidingPuzzleModel.scramble`; Latplan's
        instances use 7 and 14; the true distance is at most ``k`` and may be shorter);
        ``{"state": s}``: start from the solvable non-goal state ``s`` (validated).
        Without options: a uniformly random solvable state (never the goal).

    Actions move the blank (0 up, 1 down, 2 left, 3 right); a move off the board is a
    no-op (see :class:`~hybrid.tasks.envs.grid_env.PuzzleEnv`). The rules are ``self.model``.
    """

    def __init__(
        self,
        size: int = 3,
        render_mode: str | None = None,
        obs_type: str = "rgb",
        cell_px: int = 32,
        digits: str = "printed",
        writer: int = 0,
    ) -> None:
        model = SlidingPuzzleModel(size)
        cell_px = check_int("cell_px", cell_px, 8, 512)
        self.digits = _check_digits(digits)
        self.writer = check_int("writer", writer, 0)
        tiles = sliding_puzzle_tiles(model.size, cell_px, self.digits, self.writer)
        super().__init__(model, tiles, render_mode, obs_type)

    def _initial_state(self, options: dict[str, Any]) -> tuple[int, ...]:
        """Return the start state for ``reset``'s ``options`` (see the class docstring)."""
        unknown = set(options) - {"scramble", "state"}
        if unknown:
            raise ValueError(f"options may only hold 'scramble' or 'state', got {sorted(unknown)}")
        if len(options) > 1:
            raise ValueError("options may hold 'scramble' or 'state', not both")
        if "scramble" in options:
            return self.model.scramble(self.np_random, check_int("options['scramble']", options["scramble"], 1))
        if "state" in options:
            try:
                state = self.model.from_grid(self.model.to_grid(options["state"]))
            except (TypeError, ValueError) as err:
                raise ValueError(f"options['state'] is not a valid state: {err}") from None
            if state == self.model.goal_state:
                raise ValueError("options['state'] is the goal: the episode would start solved")
            return state
        return self.model.sample_state(self.np_random)
