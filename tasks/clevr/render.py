"""A fast 2D renderer for CLEVR-style scenes: numpy only, with exact per-object masks.

It stands in for CLEVR's Blender renderer: every object is drawn as a flat, shaded
silhouette, so a small CNN can read the four attributes and a scene parser can be
trained on exact masks, in milliseconds per image.

The camera (one fixed convention, shared with :mod:`hybrid.tasks.clevr.generator`):

- orthographic, looking at the ground from the front (from ``-y``) and from above, at
  an elevation ``phi`` with ``sin(phi) = 0.8`` (about 53 degrees);
- image x grows with scene x (``right = (1, 0, 0)``);
- image *up* is ``0.8 * y + 0.6 * z``: an object further behind (larger y) or higher
  (larger z) appears higher in the image;
- ``depth`` is the distance from the camera along its viewing direction,
  ``CAMERA_DISTANCE + 0.6 * y - 0.8 * z``: larger is further away;
- :data:`HALF_EXTENT` scene units span half the image's width, whatever its size, so
  an image of any size shows the same view.

Silhouettes, at a pixel radius ``R = radius * image_size / (2 * HALF_EXTENT)`` with the
object's size radius (large 0.7, small 0.35: small objects are half as wide):

- sphere: a disc of radius ``R`` (fills pi/4 of its box);
- cube: an axis-aligned square with the disc's area (half-side ``R * sqrt(pi) / 2``),
  so area tells size and outline tells shape; its upper band (the top face) is lighter.
  The object's ``rotation`` is not drawn;
- cylinder: an upright rectangle ``1.44 R`` wide with elliptical caps (semi-axes
  ``0.72 R`` by ``0.36 R``), ``2.4 R`` tall in all: taller than wide, with rounded
  ends; its top ellipse is lighter.

Shading multiplies the CLEVR colour (``vocabulary().rgb``) by a Lambert-like factor
(light from the upper left). Metal objects also get a specular highlight, a small
near-white spot (every channel >= :data:`HIGHLIGHT_MIN`); rubber objects never reach
that brightness, since every CLEVR colour has a channel <= 87. The ground is a plain
light grey with a slight vertical gradient, darker than :data:`HIGHLIGHT_MIN`.

Occlusion uses the painter's algorithm: objects are drawn from the largest ``depth``
of their centre to the smallest, so nearer objects cover further ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from hybrid.tasks._checks import check_int
from hybrid.tasks.clevr.scene import Scene, SceneObject, vocabulary

#: sin and cos of the camera's elevation above the ground.
SIN_ELEVATION: float = 0.8
COS_ELEVATION: float = 0.6
#: Scene units from the image's centre to its left (or right) edge.
HALF_EXTENT: float = 3.75
#: Scene units of image *up* (``0.8 y + 0.6 z``) shown at the image's centre row.
VERTICAL_OFFSET: float = 0.4
#: Added to the depth so that it is positive for every object in the scene area.
CAMERA_DISTANCE: float = 10.0
#: A pixel whose three channels are all at least this bright is "near white"; only
#: metal highlights are.
HIGHLIGHT_MIN: int = 230

_GROUND_TOP = 188.0  # grey level of the ground at the image's top row ...
_GROUND_BOTTOM = 212.0  # ... and at its bottom row
_HIGHLIGHT_RGB = np.array([250.0, 250.0, 250.0])
_CUBE_HALF = math.sqrt(math.pi) / 2  # cube half-side / R: the square has the disc's area
_CYL_HALF_WIDTH = 0.72  # cylinder half-width / R
_CYL_CAP = 0.36  # cylinder cap's vertical semi-axis / R
_CYL_BODY = 1.2 - _CYL_CAP  # cylinder: half the distance between its caps' centres / R
_LIGHT = np.array([-0.5, -0.6, 0.65]) / np.linalg.norm([-0.5, -0.6, 0.65])  # (image x, image y down, out)


@dataclass(frozen=True)
class Rendering:
    """A rendered scene.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB.
        masks: ``(n_objects, H, W)`` bool, the *visible* pixels of each object after
            occlusion (pairwise disjoint; a fully hidden object has an empty mask).
        boxes: ``(n_objects, 4)`` int ``(x0, y0, x1, y1)``, end-exclusive, so that
            ``masks[i][y0:y1, x0:x1]`` holds every pixel of ``masks[i]``. It is the box
            of the visible mask; for a fully hidden object, the box of its whole
            silhouette (clipped to the image); ``(0, 0, 0, 0)`` if that is empty too.
        order: object indices in drawing order, back to front.
    """

    image: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray
    order: tuple[int, ...]


def _check_image_size(image_size: int) -> int:
    return check_int("image_size", image_size, 16)


def _check_coords(coords) -> tuple[float, float, float]:
    arr = np.asarray(coords, dtype=float)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"coords must be three finite numbers (x, y, z), got {coords!r}")
    return float(arr[0]), float(arr[1]), float(arr[2])


def pixel_scale(image_size: int = 128) -> float:
    """Pixels per scene unit in an image ``image_size`` pixels wide."""
    return _check_image_size(image_size) / (2.0 * HALF_EXTENT)


def project(coords: Sequence[float], image_size: int = 128) -> tuple[float, float, float]:
    """Project a scene point into the image (see the module docstring for the camera).

    Args:
        coords: ``(x, y, z)`` in scene units (z up).
        image_size: the square image's side in pixels (>= 16).

    Returns:
        ``(px, py, depth)``: the column and row in pixels (0 at the left/top edge,
        pixel centres at half-integers) and the distance from the camera in scene units.

    Raises:
        ValueError: ``coords`` not three finite numbers, or a bad ``image_size``.
    """
    x, y, z = _check_coords(coords)
    size = _check_image_size(image_size)
    scale = size / (2.0 * HALF_EXTENT)
    up = SIN_ELEVATION * y + COS_ELEVATION * z - VERTICAL_OFFSET
    return size / 2.0 + scale * x, size / 2.0 - scale * up, CAMERA_DISTANCE + COS_ELEVATION * y - SIN_ELEVATION * z


def _radius(obj: SceneObject, index: int) -> float:
    radius = vocabulary().radius
    if obj.size not in radius:
        raise ValueError(f"objects[{index}].size must be one of {sorted(radius)}, got {obj.size!r}")
    return radius[obj.size]


@dataclass(frozen=True)
class _Sprite:
    """One object's silhouette in a window of the image, plus what shading needs."""

    rows: slice
    cols: slice
    inside: np.ndarray  # bool (h, w): the whole silhouette in the window
    dx: np.ndarray  # (1, w) pixel-centre offsets from the object's centre, in pixels
    dy: np.ndarray  # (h, 1)
    r: float  # pixel radius R


def _sprite(obj: SceneObject, index: int, image_size: int) -> _Sprite:
    if obj.shape not in ("cube", "sphere", "cylinder"):
        raise ValueError(f"objects[{index}].shape must be one of cube, sphere, cylinder, got {obj.shape!r}")
    if obj.color not in vocabulary().rgb:
        raise ValueError(f"objects[{index}].color must be one of {sorted(vocabulary().rgb)}, got {obj.color!r}")
    if obj.material not in vocabulary().materials:
        raise ValueError(f"objects[{index}].material must be one of {vocabulary().materials}, got {obj.material!r}")
    cx, cy, _ = project(obj.coords, image_size)
    r = _radius(obj, index) * image_size / (2.0 * HALF_EXTENT)
    reach = 1.25 * r + 1.0
    y0, y1 = max(0, int(math.floor(cy - reach))), min(image_size, int(math.ceil(cy + reach)))
    x0, x1 = max(0, int(math.floor(cx - reach))), min(image_size, int(math.ceil(cx + reach)))
    y1, x1 = max(y0, y1), max(x0, x1)
    dy = (np.arange(y0, y1, dtype=float) + 0.5 - cy)[:, None]
    dx = (np.arange(x0, x1, dtype=float) + 0.5 - cx)[None, :]
    if obj.shape == "sphere":
        inside = dx**2 + dy**2 <= r * r
    elif obj.shape == "cube":
        a = _CUBE_HALF * r
        inside = (np.abs(dx) <= a) & (np.abs(dy) <= a)
    else:
        w, b, h = _CYL_HALF_WIDTH * r, _CYL_CAP * r, _CYL_BODY * r
        body = (np.abs(dx) <= w) & (np.abs(dy) <= h)
        top = (dx / w) ** 2 + ((dy + h) / b) ** 2 <= 1.0
        bottom = (dx / w) ** 2 + ((dy - h) / b) ** 2 <= 1.0
        inside = body | top | bottom
    inside = np.broadcast_to(inside, (y1 - y0, x1 - x0))
    return _Sprite(slice(y0, y1), slice(x0, x1), inside, dx, dy, r)


def _shade(obj: SceneObject, s: _Sprite) -> np.ndarray:
    """RGB (h, w, 3) float colours of the sprite's window (meaningful inside the silhouette)."""
    base = np.asarray(vocabulary().rgb[obj.color], dtype=float)
    r, dx, dy = s.r, s.dx, s.dy
    metal = obj.material == "metal"
    if obj.shape == "sphere":
        nx, ny = dx / r, dy / r
        nz = np.sqrt(np.clip(1.0 - nx**2 - ny**2, 0.0, 1.0))
        lambert = np.clip(nx * _LIGHT[0] + ny * _LIGHT[1] + nz * _LIGHT[2], 0.0, 1.0)
        factor = 0.4 + 0.75 * lambert
        spot = (-0.35 * r, -0.35 * r)
    elif obj.shape == "cube":
        a = _CUBE_HALF * r
        top = dy < -0.25 * a
        factor = np.where(top, 1.15, 0.85 - 0.12 * dx / a)
        spot = (-0.4 * a, -0.6 * a)
    else:
        w, h = _CYL_HALF_WIDTH * r, _CYL_BODY * r
        u = np.clip(dx / w, -1.0, 1.0)
        side = np.clip(-0.45 * u + 0.9 * np.sqrt(1.0 - u**2), 0.0, 1.0)
        top = (dx / w) ** 2 + ((dy + h) / (_CYL_CAP * r)) ** 2 <= 1.0
        factor = np.where(top, 1.15, 0.45 + 0.55 * side)
        spot = (-0.4 * w, -0.2 * h)
    if metal:
        factor = 0.25 + 1.05 * (factor - 0.4)  # more contrast than rubber
    factor = np.broadcast_to(factor, s.inside.shape)
    rgb = np.clip(base[None, None, :] * factor[..., None], 0.0, 255.0)
    if metal:
        d2 = (dx - spot[0]) ** 2 + (dy - spot[1]) ** 2
        core = max(1.5, 0.2 * r)
        halo = np.clip(1.0 - (np.sqrt(d2) - core) / core, 0.0, 1.0)[..., None] * 0.6
        rgb = rgb * (1.0 - halo) + _HIGHLIGHT_RGB * halo
        rgb = np.where((d2 <= core * core)[..., None], _HIGHLIGHT_RGB, rgb)
    return rgb


def _ground(image_size: int) -> np.ndarray:
    grey = np.linspace(_GROUND_TOP, _GROUND_BOTTOM, image_size)
    return np.repeat(np.repeat(grey[:, None, None], image_size, axis=1), 3, axis=2)


def _drawing_order(objects: Sequence[SceneObject]) -> tuple[int, ...]:
    depths = [CAMERA_DISTANCE + COS_ELEVATION * o.coords[1] - SIN_ELEVATION * o.coords[2] for o in objects]
    return tuple(sorted(range(len(objects)), key=lambda i: (-depths[i], i)))


def _objects_of(scene) -> tuple[SceneObject, ...]:
    if isinstance(scene, Scene):
        return scene.objects
    objects = tuple(scene)
    for i, obj in enumerate(objects):
        if not isinstance(obj, SceneObject):
            raise TypeError(f"objects[{i}] must be a SceneObject, got {type(obj).__name__}")
    return objects


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0, 0, 0, 0)
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def render_scene(scene: Scene | Sequence[SceneObject], image_size: int = 128) -> Rendering:
    """Render a scene as a shaded 2D image with per-object visible masks.

    Args:
        scene: a :class:`Scene` (or a sequence of :class:`SceneObject`); attributes must
            come from CLEVR's vocabulary.
        image_size: side of the square image in pixels (>= 16).

    Returns:
        A :class:`Rendering` (image, visible masks, boxes, drawing order).

    Raises:
        ValueError: bad ``image_size``, or an object with an unknown shape, colour or size.
    """
    size = _check_image_size(image_size)
    objects = _objects_of(scene)
    image = _ground(size)
    owner = np.full((size, size), -1, dtype=np.int64)
    order = _drawing_order(objects)
    sprites = {}
    for i in order:
        sprites[i] = s = _sprite(objects[i], i, size)
        rgb = _shade(objects[i], s)
        window = image[s.rows, s.cols]
        window[s.inside] = rgb[s.inside]
        owner[s.rows, s.cols][s.inside] = i
    masks = np.stack([owner == i for i in range(len(objects))]) if objects else np.zeros((0, size, size), bool)
    boxes = np.zeros((len(objects), 4), dtype=np.int64)
    for i in range(len(objects)):
        box = _box(masks[i])
        if box == (0, 0, 0, 0):
            s = sprites[i]
            full = np.zeros((size, size), dtype=bool)
            full[s.rows, s.cols] = s.inside
            box = _box(full)
        boxes[i] = box
    return Rendering(np.round(image).astype(np.uint8), masks, boxes, order)


def visible_fractions(scene: Scene | Sequence[SceneObject], image_size: int = 128) -> np.ndarray:
    """The fraction of each object's silhouette that is visible, after occlusion.

    Only the silhouettes are drawn (no shading), so it is cheaper than :func:`render_scene`.

    Args:
        scene: a :class:`Scene` or a sequence of :class:`SceneObject`.
        image_size: side of the square image in pixels (>= 16).

    Returns:
        ``(n_objects,)`` floats in [0, 1]: visible pixels / silhouette pixels inside the
        image (0 for an object entirely outside the image).
    """
    size = _check_image_size(image_size)
    objects = _objects_of(scene)
    owner = np.full((size, size), -1, dtype=np.int64)
    areas = np.zeros(len(objects))
    for i in _drawing_order(objects):
        s = _sprite(objects[i], i, size)
        owner[s.rows, s.cols][s.inside] = i
        areas[i] = s.inside.sum()
    counts = np.bincount(owner[owner >= 0], minlength=len(objects)).astype(float)
    return np.divide(counts, areas, out=np.zeros(len(objects)), where=areas > 0)
