"""Draw Sokoban grids as RGB frames, one square tile per cell, and read them back.

Every cell class (:data:`~hybrid.tasks.envs.sokoban.model.CELL_CLASSES`) has its own tile, with
a distinct colour *and* shape so a small CNN can tell them apart at 8 px per cell:

- wall: brick red-brown with darker mortar lines;
- floor: black;
- goal: a red square outline on the floor;
- box: a brown-yellow square with a dark border;
- box on goal: the same square, green;
- player: a light-blue figure (head and body) on the floor;
- player on goal: the figure with the goal's red outline around it.

Tiles are aligned to the grid: cell ``(r, c)`` is pixels ``[r*t:(r+1)*t, c*t:(c+1)*t]``
for tile size ``t``. :func:`read_frame` inverts :func:`render_grid` exactly.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from hybrid.tasks.envs.sokoban.model import BOX, BOX_ON_GOAL, CELL_CLASSES, FLOOR, GOAL, PLAYER, PLAYER_ON_GOAL, WALL

#: Default tile size in pixels (Boxoban's 80x80 frames for 10x10 levels).
TILE_SIZE: int = 8

_WALL = (140, 62, 40)
_MORTAR = (70, 32, 20)
_FLOOR = (0, 0, 0)
_GOAL = (230, 60, 60)
_BOX = (200, 150, 50)
_BOX_EDGE = (90, 60, 10)
_BOX_GOAL = (60, 200, 70)
_BOX_GOAL_EDGE = (20, 90, 30)
_PLAYER = (120, 200, 255)


@lru_cache(maxsize=16)
def tiles(tile_size: int = TILE_SIZE) -> np.ndarray:
    """The ``[7, t, t, 3]`` uint8 tiles of the cell classes, in class order.

    Raises:
        ValueError: if ``tile_size`` is not an int >= 4.
    """
    if not isinstance(tile_size, int) or tile_size < 4:
        raise ValueError(f"tile_size must be an int >= 4, got {tile_size!r}")
    t = tile_size
    out = np.zeros((len(CELL_CLASSES), t, t, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:t, 0:t]

    wall = np.empty((t, t, 3), dtype=np.uint8)
    wall[:] = _WALL
    half = t // 2
    course = (yy // half) % 2  # bricks of alternate courses are offset by half a brick
    mortar = (yy % half == half - 1) | (course == 0) & (xx == t - 1) | (course == 1) & (xx == half - 1)
    wall[mortar] = _MORTAR
    out[WALL] = wall
    out[FLOOR] = _FLOOR

    m = max(1, t // 8)  # margin of the goal outline
    outline = ((yy == m) | (yy == t - 1 - m) | (xx == m) | (xx == t - 1 - m)) & (yy >= m) & (yy <= t - 1 - m)
    outline &= (xx >= m) & (xx <= t - 1 - m)
    goal = np.zeros((t, t, 3), dtype=np.uint8)
    goal[outline] = _GOAL
    out[GOAL] = goal

    border = (yy == 0) | (yy == t - 1) | (xx == 0) | (xx == t - 1)
    for cls, fill, edge in ((BOX, _BOX, _BOX_EDGE), (BOX_ON_GOAL, _BOX_GOAL, _BOX_GOAL_EDGE)):
        tile = np.empty((t, t, 3), dtype=np.uint8)
        tile[:] = fill
        tile[border] = edge
        tile[(yy == xx) | (yy == t - 1 - xx)] = edge  # a cross, so boxes differ from walls in shape too
        out[cls] = tile

    c = (t - 1) / 2
    head = (yy - t * 0.28) ** 2 + (xx - c) ** 2 <= (t * 0.2) ** 2
    body = (yy >= t * 0.45) & (yy <= t - 1 - m) & (np.abs(xx - c) <= t * 0.3)
    figure = head | body
    player = np.zeros((t, t, 3), dtype=np.uint8)
    player[figure] = _PLAYER
    out[PLAYER] = player
    on_goal = goal.copy()
    on_goal[figure & ~outline] = _PLAYER
    out[PLAYER_ON_GOAL] = on_goal
    out.setflags(write=False)
    return out


def render_grid(grid: np.ndarray, tile_size: int = TILE_SIZE) -> np.ndarray:
    """Draw a ``[rows, cols]`` grid of cell classes as a ``[rows*t, cols*t, 3]`` uint8 RGB frame.

    Raises:
        ValueError: if ``grid`` is not 2-D or holds a class outside ``0..6``, or ``tile_size`` < 4.
    """
    grid = np.asarray(grid)
    if grid.ndim != 2:
        raise ValueError(f"grid must be 2-D, got shape {grid.shape}")
    if grid.size and (grid.min() < 0 or grid.max() >= len(CELL_CLASSES)):
        raise ValueError("grid holds a class outside 0..6")
    t = tiles(tile_size)
    rows, cols = grid.shape
    return t[grid.astype(np.intp)].transpose(0, 2, 1, 3, 4).reshape(rows * tile_size, cols * tile_size, 3)


def read_frame(frame: np.ndarray, tile_size: int = TILE_SIZE) -> np.ndarray:
    """Read a frame drawn by :func:`render_grid` back into its ``[rows, cols]`` int64 grid of cell classes.

    Each tile is given the class whose tile is nearest (sum of absolute differences), so
    a clean frame is read exactly.

    Raises:
        ValueError: if ``frame`` is not ``[H, W, 3]`` with ``H`` and ``W`` multiples of ``tile_size``.
    """
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] % tile_size or frame.shape[1] % tile_size:
        raise ValueError(f"frame must be [H, W, 3] with H, W multiples of tile_size={tile_size}, got {frame.shape}")
    rows, cols = frame.shape[0] // tile_size, frame.shape[1] // tile_size
    patches = frame.reshape(rows, tile_size, cols, tile_size, 3).transpose(0, 2, 1, 3, 4).astype(np.int32)
    ref = tiles(tile_size).astype(np.int32)
    dist = np.abs(patches[:, :, None] - ref[None, None]).sum(axis=(3, 4, 5))
    return dist.argmin(axis=2).astype(np.int64)
