"""A seeded generator of CLEVR-style scenes, with the placement rules of CLEVR's renderer.

It follows ``image_generation/render_images.py`` of CLEVR (Johnson et al., 2017):

- between ``min_objects`` and ``max_objects`` objects, each with a size, shape, colour
  and material drawn uniformly from :func:`~hybrid.tasks.clevr.scene.vocabulary` (under
  CLEVR-CoGenT, the colour is drawn from those allowed for the shape: see
  :func:`cogent_allowed`) and a rotation uniform in [0, 360) degrees;
- a position ``(x, y)`` uniform in [-3, 3]^2, rejected if the object would come closer
  than ``min_dist`` to another object's surface (centre distance - r1 - r2 < min_dist),
  or if along one of the four cardinal directions its offset to another object is
  positive but smaller than ``margin`` (which keeps left/right/front/behind
  unambiguous). After ``max_retries`` rejections for one object the scene starts over;
  after ``max_restarts`` starts a ``RuntimeError`` is raised. CLEVR retries 50 times;
  the default here is 1000 (tested in vectorised batches), because with the camera's
  axes along the square's sides the margin rule blocks a band of width ``2 margin`` in
  x *and* in y around every object, and 50 tries fill a 10-object scene only ~2% of
  the time (1000 tries: ~55%);
- optionally (``min_visible > 0``) a scene in which some object shows less than that
  fraction of its silhouette in the renderer is started over too (CLEVR's
  ``min_pixels_per_object`` check, here as a fraction, resolution-free);
- relationships by CLEVR's rule (:func:`compute_relationships`).

Geometry: an object of size radius ``r`` (large 0.7, small 0.35) has its centre at
height ``z = r`` (spheres, cylinders of radius ``r`` and height ``2 r``) or
``z = r / sqrt(2)`` (cubes: like CLEVR, a cube's half-side is ``r / sqrt(2)``, so its
footprint fits in the circle of radius ``r`` at any rotation). Spacing uses that circle
of radius ``r`` for every shape.

Camera directions (:data:`DIRECTIONS`, one fixed convention shared with
:mod:`hybrid.tasks.clevr.render`): right = (1, 0, 0), left = (-1, 0, 0), behind = (0, 1, 0),
front = (0, -1, 0), above = (0, 0, 1), below = (0, 0, -1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
from hybrid.tasks._checks import check_int, check_real
from hybrid.tasks.clevr.render import project, visible_fractions
from hybrid.tasks.clevr.scene import RELATIONS, Scene, SceneObject, load_json, vocabulary

#: The camera's directions in scene coordinates (x right, y behind, z up).
DIRECTIONS: Mapping[str, tuple[float, float, float]] = MappingProxyType(
    {
        "right": (1.0, 0.0, 0.0),
        "left": (-1.0, 0.0, 0.0),
        "behind": (0.0, 1.0, 0.0),
        "front": (0.0, -1.0, 0.0),
        "above": (0.0, 0.0, 1.0),
        "below": (0.0, 0.0, -1.0),
    }
)

#: Objects' centres are drawn uniformly in [-PLACEMENT_HALF_WIDTH, PLACEMENT_HALF_WIDTH]^2.
PLACEMENT_HALF_WIDTH: float = 3.0


def cogent_allowed(condition: str | None) -> dict[str, tuple[str, ...]]:
    """The colours allowed for each shape under a CLEVR-CoGenT condition.

    Args:
        condition: ``"A"`` or ``"B"`` (CLEVR-CoGenT: spheres take any colour, cubes and
            cylinders swap their two colour sets between A and B), or ``None`` (CLEVR:
            every colour for every shape).

    Returns:
        shape -> allowed colours, shapes in the vocabulary's order.

    Raises:
        ValueError: any other ``condition``.
    """
    voc = vocabulary()
    if condition is None:
        return {shape: voc.colors for shape in voc.shapes}
    if condition not in ("A", "B"):
        raise ValueError(f"condition must be None, 'A' or 'B', got {condition!r}")
    table = load_json(f"CoGenT_{condition}.json")
    return {shape: tuple(table[shape]) for shape in voc.shapes}


def object_height(shape: str, size: str) -> float:
    """Height ``z`` of an object's centre above the ground: ``r``, or ``r / sqrt(2)`` for a cube."""
    radius = vocabulary().radius
    if size not in radius:
        raise ValueError(f"size must be one of {sorted(radius)}, got {size!r}")
    return radius[size] / math.sqrt(2.0) if shape == "cube" else radius[size]


def image_filename(split: str, image_index: int) -> str:
    """CLEVR's image file name, ``CLEVR_{split}_{image_index:06d}.png``."""
    return f"CLEVR_{split}_{image_index:06d}.png"


def _coords_of(objects) -> np.ndarray:
    rows = [o.coords if isinstance(o, SceneObject) else o for o in objects]
    if not rows:
        return np.zeros((0, 3))
    try:
        coords = np.asarray(rows, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"objects must be SceneObjects or (x, y, z) triples: {exc}") from None
    if coords.ndim != 2 or coords.shape[1] != 3 or not np.all(np.isfinite(coords)):
        raise ValueError(f"objects' coordinates must be finite (x, y, z) triples, got an array of shape {coords.shape}")
    return coords


def compute_relationships(
    objects: Sequence[SceneObject] | Sequence[Sequence[float]],
    directions: Mapping[str, Sequence[float]] = DIRECTIONS,
    eps: float = 0.2,
) -> dict[str, list[list[int]]]:
    """CLEVR's spatial relationships between the objects of a scene.

    For each relation ``name`` of ``left``, ``right``, ``behind``, ``front`` and each
    object ``i``, ``result[name][i]`` lists (sorted) the objects ``j != i`` with
    ``dot(coords_j - coords_i, directions[name]) > eps``: the objects that are
    ``name`` of ``i`` (CLEVR's ``compute_all_relationships``).

    Args:
        objects: the scene's objects, as :class:`SceneObject` or ``(x, y, z)`` triples.
        directions: direction name -> 3-vector; must hold the four relations.
        eps: the threshold, >= 0.

    Returns:
        relation -> one sorted list of indices per object.

    Raises:
        ValueError: a missing or malformed direction, bad coordinates or ``eps``.
    """
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    coords = _coords_of(objects)
    n = len(coords)
    result: dict[str, list[list[int]]] = {}
    for name in RELATIONS:
        if name not in directions:
            raise ValueError(f"directions must hold {RELATIONS}, missing {name!r}")
        vec = np.asarray(directions[name], dtype=float)
        if vec.shape != (3,) or not np.all(np.isfinite(vec)):
            raise ValueError(f"directions[{name!r}] must be three finite numbers, got {directions[name]!r}")
        proj = coords @ vec
        related = (proj[None, :] - proj[:, None]) > eps  # [i, j]: j is `name` of i
        np.fill_diagonal(related, False)
        result[name] = [np.flatnonzero(related[i]).tolist() for i in range(n)]
    return result


def _first_valid(candidates: np.ndarray, r: float, placed: np.ndarray, min_dist: float, margin: float) -> int:
    """Index of the first candidate ``(x, y)`` row that passes CLEVR's tests, or -1.

    A candidate fails if its circle of radius ``r`` comes within ``min_dist`` of a placed
    ``(x, y, r)`` row's circle, or if along a cardinal direction its offset to a placed
    object is in ``(0, margin)``.
    """
    if placed.shape[0] == 0:
        return 0
    dx = candidates[:, None, 0] - placed[None, :, 0]
    dy = candidates[:, None, 1] - placed[None, :, 1]
    bad = np.hypot(dx, dy) - r - placed[None, :, 2] < min_dist
    for name in RELATIONS:
        vx, vy, _ = DIRECTIONS[name]
        offset = dx * vx + dy * vy
        bad |= (offset > 0) & (offset < margin)
    good = np.flatnonzero(~bad.any(axis=1))
    return int(good[0]) if good.size else -1


#: Candidate positions drawn (and tested) at once while placing one object.
_BATCH = 64


def generate_scene(
    rng: np.random.Generator,
    *,
    min_objects: int = 3,
    max_objects: int = 10,
    condition: str | None = None,
    image_index: int = 0,
    split: str = "new",
    min_dist: float = 0.25,
    margin: float = 0.4,
    min_visible: float = 0.0,
    image_size: int = 128,
    max_retries: int = 1000,
    max_restarts: int = 100,
) -> Scene:
    """Draw one random scene with CLEVR's placement rules (see the module docstring).

    Args:
        rng: the random generator (pass one seeded explicitly); the scene depends on it only.
        min_objects, max_objects: the object count is uniform in [min_objects, max_objects].
        condition: ``None`` (CLEVR), ``"A"`` or ``"B"`` (CLEVR-CoGenT colour constraints).
        image_index, split: CLEVR's bookkeeping; the file name is
            ``CLEVR_{split}_{image_index:06d}.png``.
        min_dist: least gap between two objects' bounding circles, scene units.
        margin: least offset along any cardinal direction between two objects.
        min_visible: least visible fraction of every object's silhouette in the renderer
            (0 disables the check).
        image_size: the image size that ``pixel_coords`` (and the visibility check) refer to.
        max_retries: rejected positions for one object before the scene starts over.
        max_restarts: starts before giving up.

    Returns:
        A :class:`Scene` with objects, relationships, :data:`DIRECTIONS`, ``pixel_coords``
        from :func:`hybrid.tasks.clevr.render.project`, and CLEVR's file name.

    Raises:
        TypeError: ``rng`` is not a ``numpy.random.Generator``.
        ValueError: a bad argument, or more objects than the margin can separate.
        RuntimeError: no scene satisfied the rules within ``max_restarts`` starts.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    min_objects = check_int("min_objects", min_objects, 1)
    max_objects = check_int("max_objects", max_objects, min_objects)
    image_index = check_int("image_index", image_index, 0)
    max_retries = check_int("max_retries", max_retries, 1)
    max_restarts = check_int("max_restarts", max_restarts, 1)
    min_dist = check_real("min_dist", min_dist, 0.0)
    margin = check_real("margin", margin, 0.0)
    min_visible = check_real("min_visible", min_visible, 0.0, 1.0)
    if not isinstance(split, str) or not split:
        raise ValueError(f"split must be a non-empty string, got {split!r}")
    allowed = cogent_allowed(condition)
    project((0.0, 0.0, 0.0), image_size)  # validates image_size
    if margin > 0:
        # Two objects differ by >= margin along x (and y): at most this many fit in the square.
        most = int(math.floor(2 * PLACEMENT_HALF_WIDTH / margin + 1e-9)) + 1
        if max_objects > most:
            raise ValueError(f"max_objects={max_objects} cannot be placed with margin={margin}: at most {most} fit")

    voc = vocabulary()
    n = int(rng.integers(min_objects, max_objects + 1))
    for _ in range(max_restarts):
        objects = _try_place(rng, n, allowed, min_dist, margin, max_retries, image_size)
        if objects is None:
            continue
        if min_visible > 0 and np.any(visible_fractions(objects, image_size) < min_visible):
            continue
        return Scene(
            objects=tuple(objects),
            relationships=compute_relationships(objects, DIRECTIONS),
            directions=DIRECTIONS,
            image_filename=image_filename(split, image_index),
            image_index=image_index,
            split=split,
        )
    raise RuntimeError(
        f"could not place {n} objects (min_dist={min_dist}, margin={margin}, min_visible={min_visible}) "
        f"in {max_restarts} starts of {max_retries} tries per object; lower max_objects, min_dist, margin "
        f"or min_visible (sizes: {dict(voc.radius)})"
    )


def _try_place(
    rng: np.random.Generator,
    n: int,
    allowed: dict[str, tuple[str, ...]],
    min_dist: float,
    margin: float,
    max_retries: int,
    image_size: int,
) -> list[SceneObject] | None:
    """One attempt at placing ``n`` objects; ``None`` when one of them found no position."""
    voc = vocabulary()
    shapes = tuple(allowed)
    placed = np.zeros((0, 3))
    objects: list[SceneObject] = []
    for _ in range(n):
        size = voc.sizes[int(rng.integers(len(voc.sizes)))]
        r = voc.radius[size]
        position = None
        for start in range(0, max_retries, _BATCH):
            shape = (min(_BATCH, max_retries - start), 2)
            candidates = rng.uniform(-PLACEMENT_HALF_WIDTH, PLACEMENT_HALF_WIDTH, size=shape)
            k = _first_valid(candidates, r, placed, min_dist, margin)
            if k >= 0:
                position = candidates[k]
                break
        if position is None:
            return None
        x, y = float(position[0]), float(position[1])
        shape_name = shapes[int(rng.integers(len(shapes)))]
        colours = allowed[shape_name]
        color = colours[int(rng.integers(len(colours)))]
        material = voc.materials[int(rng.integers(len(voc.materials)))]
        rotation = float(rng.uniform(0.0, 360.0))
        coords = (x, y, object_height(shape_name, size))
        objects.append(
            SceneObject(
                shape=shape_name,
                color=color,
                size=size,
                material=material,
                coords=coords,
                pixel_coords=project(coords, image_size),
                rotation=rotation,
            )
        )
        placed = np.vstack([placed, [x, y, r]])
    return objects


def generate_scenes(n: int, rng: np.random.Generator, *, start_index: int = 0, **kwargs) -> list[Scene]:
    """Draw ``n`` scenes in turn from one generator (see :func:`generate_scene`).

    Args:
        n: number of scenes, >= 0.
        rng: the random generator, shared by all scenes (same seed, same list).
        start_index: ``image_index`` of the first scene; the others follow on.
        **kwargs: any keyword of :func:`generate_scene` but ``image_index``.

    Returns:
        The scenes, with ``image_index`` ``start_index, start_index + 1, ...``.
    """
    n = check_int("n", n, 0)
    start_index = check_int("start_index", start_index, 0)
    if "image_index" in kwargs:
        raise TypeError("generate_scenes numbers the scenes itself: pass start_index, not image_index")
    return [generate_scene(rng, image_index=start_index + i, **kwargs) for i in range(n)]
