"""Grid-aligned drawing for the envs: one square tile per cell class, a bitmap digit font, simple shapes.

Every env draws a frame as the grid of cell classes (``model.to_grid``) with each cell
replaced by its class's tile, so cell ``(r, c)`` of a frame is exactly the pixels
``[r * px:(r + 1) * px, c * px:(c + 1) * px]`` and depends on that cell's class only:
:func:`frame_from_grid` draws, :func:`grid_from_frame` reads a clean frame back (an
exact perception oracle, for tests and as a reference for learned perception).
"""

from __future__ import annotations

import numpy as np

#: A 5 x 7 bitmap font for the digits 0-9 ("#" = ink).
DIGIT_FONT: dict[str, tuple[str, ...]] = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
}
_GLYPH_H, _GLYPH_W = 7, 5

Color = tuple[int, int, int]


def glyph(char: str) -> np.ndarray:
    """Return the ``[7, 5]`` boolean bitmap of a digit ``char`` (``"0"``-``"9"``)."""
    if char not in DIGIT_FONT:
        raise ValueError(f"char must be a digit 0-9, got {char!r}")
    return np.array([[p == "#" for p in row] for row in DIGIT_FONT[char]], dtype=bool)


def text_mask(text: str, px: int, fill: float = 0.6) -> np.ndarray:
    """Return a ``[px, px]`` boolean mask with the digits of ``text`` centred, scaled by an integer factor.

    Args:
        text: one or more digits.
        px: the side of the square cell.
        fill: the largest fraction of the cell the text may span in either direction.

    Raises:
        ValueError: if the text does not fit at scale 1 with a one-pixel margin.
    """
    width = len(text) * (_GLYPH_W + 1) - 1
    scale = max(1, int(min(fill * px / _GLYPH_H, fill * px / width)))
    if width * scale > px - 2 or _GLYPH_H * scale > px - 2:
        raise ValueError(f"text {text!r} does not fit in a {px}-pixel cell; use a larger cell_px")
    bitmap = np.zeros((_GLYPH_H, width), dtype=bool)
    for i, ch in enumerate(text):
        bitmap[:, i * (_GLYPH_W + 1) : i * (_GLYPH_W + 1) + _GLYPH_W] = glyph(ch)
    big = np.kron(bitmap, np.ones((scale, scale), dtype=bool))
    mask = np.zeros((px, px), dtype=bool)
    top, left = (px - big.shape[0]) // 2, (px - big.shape[1]) // 2
    mask[top : top + big.shape[0], left : left + big.shape[1]] = big
    return mask


def _centre_distance(px: int) -> np.ndarray:
    """Return the ``[px, px]`` distances of pixel centres from the cell's centre, in pixels."""
    yy, xx = np.mgrid[0:px, 0:px] + 0.5
    return np.hypot(yy - px / 2, xx - px / 2)


def disc_mask(px: int, radius: float) -> np.ndarray:
    """Return a ``[px, px]`` boolean disc centred in the cell, of ``radius`` times the cell side."""
    return _centre_distance(px) <= radius * px


def ring_mask(px: int, radius: float, width: float) -> np.ndarray:
    """Return a ``[px, px]`` boolean ring of outer ``radius`` and ``width`` (fractions of the cell side)."""
    d = _centre_distance(px)
    return (d <= radius * px) & (d >= (radius - width) * px)


def cross_mask(px: int, half: float, width: float) -> np.ndarray:
    """Return a ``[px, px]`` boolean X: two diagonals spanning ``half`` of the side from the centre, ``width`` thick."""
    yy, xx = np.mgrid[0:px, 0:px] + 0.5
    y, x = yy - px / 2, xx - px / 2
    thick = width * px / 2 * np.sqrt(2.0)
    inside = (np.abs(x) <= half * px) & (np.abs(y) <= half * px)
    return inside & ((np.abs(x - y) <= thick) | (np.abs(x + y) <= thick))


def tile(px: int, background: Color, border: Color | None = None, border_px: int = 1) -> np.ndarray:
    """Return a ``[px, px, 3]`` uint8 tile filled with ``background``, framed by ``border_px`` pixels of ``border``."""
    t = np.empty((px, px, 3), dtype=np.uint8)
    t[:] = background
    if border is not None and border_px > 0:
        t[:border_px], t[-border_px:], t[:, :border_px], t[:, -border_px:] = border, border, border, border
    return t


def paint(t: np.ndarray, mask: np.ndarray, color: Color) -> np.ndarray:
    """Return a copy of tile ``t`` with the pixels of ``mask`` set to ``color``."""
    out = t.copy()
    out[mask] = color
    return out


def frame_from_grid(grid: np.ndarray, tiles: np.ndarray) -> np.ndarray:
    """Draw a grid of classes: return the ``[rows * px, cols * px, 3]`` uint8 frame of ``tiles[grid]``.

    Args:
        grid: ``[rows, cols]`` integer classes.
        tiles: ``[num_classes, px, px, 3]`` uint8, one tile per class.
    """
    rows, cols = grid.shape
    px = tiles.shape[1]
    return np.ascontiguousarray(tiles[grid].transpose(0, 2, 1, 3, 4).reshape(rows * px, cols * px, 3))


def grid_from_frame(frame: np.ndarray, tiles: np.ndarray) -> np.ndarray:
    """Read a frame back: return the ``[rows, cols]`` int64 grid of the nearest tile (L2) in each cell.

    Args:
        frame: ``[rows * px, cols * px, 3]`` image drawn by :func:`frame_from_grid`.
        tiles: the ``[num_classes, px, px, 3]`` tiles it was drawn with.

    Raises:
        ValueError: if the frame's sides are not multiples of the tile side.
    """
    px = tiles.shape[1]
    h, w = frame.shape[:2]
    if frame.ndim != 3 or h % px or w % px:
        raise ValueError(f"frame must be [rows * {px}, cols * {px}, 3], got shape {frame.shape}")
    cells = frame.reshape(h // px, px, w // px, px, 3).transpose(0, 2, 1, 3, 4).astype(np.float32)
    flat = cells.reshape(h // px, w // px, -1)
    ref = tiles.reshape(len(tiles), -1).astype(np.float32)
    d = ((flat[:, :, None, :] - ref[None, None]) ** 2).sum(-1)
    return d.argmin(-1).astype(np.int64)
