"""How well a scene parser reads scenes: :func:`object_accuracy` (re-exported by
:mod:`hybrid.neural.vqa.scene_parser`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hybrid.tasks.clevr.generator import compute_relationships
from hybrid.tasks.clevr.render import project
from hybrid.tasks.clevr.scene import ATTRIBUTES, Scene

# -- evaluation ----------------------------------------------------------------------


def _centres(scene: Scene, image_size: int, match_on: str) -> np.ndarray:
    if match_on == "pixels":
        return np.array([o.pixel_coords[:2] for o in scene.objects], dtype=float)
    return np.array([project(o.coords, image_size)[:2] for o in scene.objects])


def _match(pred: Scene, true: Scene, image_size: int, max_distance_px: float, match_on: str = "coords"):
    """Hungarian matching of objects by centre distance in the image: (pairs (t, p), distances)."""
    from scipy.optimize import linear_sum_assignment

    if not pred.objects or not true.objects:
        return [], []
    tp, pp = _centres(true, image_size, match_on), _centres(pred, image_size, match_on)
    dist = np.linalg.norm(tp[:, None, :] - pp[None, :, :], axis=-1)
    rows, cols = linear_sum_assignment(dist)
    keep = dist[rows, cols] <= max_distance_px
    return list(zip(rows[keep].tolist(), cols[keep].tolist(), strict=True)), dist[rows, cols][keep].tolist()


def _relations(scene: Scene) -> dict:
    if scene.relationships:
        return {k: [set(r) for r in v] for k, v in scene.relationships.items()}
    return {k: [set(r) for r in v] for k, v in compute_relationships(scene.objects).items()}


def object_accuracy(
    predicted: Sequence[Scene],
    truth: Sequence[Scene],
    image_size: int = 128,
    max_distance_px: float = 3.0,
    match_on: str = "coords",
) -> dict:
    """Score parsed scenes against the true ones.

    Objects are matched one-to-one (Hungarian, on the distance between their centres in
    the image); a pair further apart than ``max_distance_px`` is no match. ``match_on``:
    ``"coords"`` projects both tables' ``coords`` with the numpy renderer's camera into an
    ``image_size`` image; ``"pixels"`` takes each object's ``pixel_coords`` as they are
    (pictures from another renderer: the truth's must be in the image's pixels, as
    :func:`~hybrid.vqa.data.load_clevr` with ``images=`` gives them).

    Returns:
        A dict of floats:

        - ``object_accuracy``: true objects matched to a predicted object with all four
          attributes right, over all true objects;
        - ``precision``: matched predicted objects / predicted objects; ``recall``:
          matched true objects / true objects;
        - ``count_accuracy``: scenes with the right number of objects;
        - ``<attribute>_accuracy`` for each attribute, over matched objects;
        - ``position_error_px``: mean centre distance of matched pairs, pixels;
          ``coords_error``: their mean 3D distance, scene units;
        - ``relation_accuracy``: scenes whose objects all match one-to-one and whose
          relationships are identical under the matching;
        - ``scene_accuracy``: those scenes that also have every attribute right.

    Raises:
        ValueError: the two sequences differ in length or hold something else than scenes.
    """
    predicted, truth = list(predicted), list(truth)
    if match_on not in ("coords", "pixels"):
        raise ValueError(f"match_on must be 'coords' or 'pixels', got {match_on!r}")
    if len(predicted) != len(truth):
        raise ValueError(f"predicted and truth must have the same length, got {len(predicted)} and {len(truth)}")
    for name, seq in (("predicted", predicted), ("truth", truth)):
        for k, s in enumerate(seq):
            if not isinstance(s, Scene):
                raise ValueError(f"{name}[{k}] must be a Scene, got {type(s).__name__}")
    n_true = n_pred = n_match = n_right = n_count = n_rel = n_scene = 0
    attr_right = dict.fromkeys(ATTRIBUTES, 0)
    dists, errs = [], []
    for p, t in zip(predicted, truth, strict=True):
        pairs, d = _match(p, t, image_size, max_distance_px, match_on)
        n_true += len(t.objects)
        n_pred += len(p.objects)
        n_match += len(pairs)
        n_count += len(p.objects) == len(t.objects)
        dists += d
        all_right = True
        for ti, pi in pairs:
            a, b = t.objects[ti], p.objects[pi]
            ok = [a.attribute(name) == b.attribute(name) for name in ATTRIBUTES]
            for name, good in zip(ATTRIBUTES, ok, strict=True):
                attr_right[name] += good
            n_right += all(ok)
            all_right &= all(ok)
            errs.append(float(np.linalg.norm(np.subtract(a.coords, b.coords))))
        if len(pairs) == len(t.objects) == len(p.objects):
            to_pred = dict(pairs)
            rt, rp = _relations(t), _relations(p)
            same = all(
                {to_pred[j] for j in rt[name][ti]} == rp.get(name, [set()] * len(p.objects))[to_pred[ti]]
                for name in rt
                for ti in range(len(t.objects))
            )
            n_rel += same
            n_scene += same and all_right
    scenes = max(len(truth), 1)
    result = {
        "object_accuracy": n_right / n_true if n_true else 1.0,
        "precision": n_match / n_pred if n_pred else 1.0,
        "recall": n_match / n_true if n_true else 1.0,
        "count_accuracy": n_count / scenes,
        "position_error_px": float(np.mean(dists)) if dists else 0.0,
        "coords_error": float(np.mean(errs)) if errs else 0.0,
        "relation_accuracy": n_rel / scenes,
        "scene_accuracy": n_scene / scenes,
    }
    for name in ATTRIBUTES:
        result[f"{name}_accuracy"] = attr_right[name] / n_match if n_match else 0.0
    return result
