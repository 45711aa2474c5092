"""A camera learned from scene tables: 3D centres and the pixels they were drawn at.

A scene parser that finds each object's centre in the image still has to say where the
object stands on the ground. When the pictures come from a renderer whose camera is not
known in closed form (CLEVR's Blender scenes, a user's image folder), the camera is
estimated from the training scenes themselves: every object gives a 3D centre
(``3d_coords``) and the pixel it appears at (``pixel_coords``), and a projective camera
``P`` (3 x 4, ``[u, v, 1] ~ P [x, y, z, 1]``) is fitted to all of them by the direct linear
transform (Hartley & Zisserman, "Multiple View Geometry", 2nd ed., Alg. 7.1), with
Hartley's normalisation of both point sets, then refined to the least reprojection error
in pixels (their Alg. 7.1's "minimise geometric error" step). The orthographic view of this package's
numpy renderer is the special case whose last row is ``(0, 0, 0, 1)``.

Given a pixel and the object's height (known from its shape and size), the ground
position follows from two linear equations (:func:`ground_point`). Jitter of the camera
between images (CLEVR moves it by up to 0.5 units per axis) is averaged by the fit; its
effect on one image is close to a common shift of every object, which leaves
left/right/front/behind unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _normaliser(points: np.ndarray) -> np.ndarray:
    """The similarity that moves ``points`` (n, d) to mean 0 and mean distance sqrt(d)."""
    d = points.shape[1]
    centre = points.mean(0)
    spread = np.sqrt(((points - centre) ** 2).sum(1)).mean()
    scale = np.sqrt(d) / spread if spread > 0 else 1.0
    t = np.eye(d + 1)
    t[:d, :d] *= scale
    t[:d, d] = -scale * centre
    return t


def fit_camera(
    coords: Sequence[Sequence[float]], pixels: Sequence[Sequence[float]], refine: bool = True
) -> np.ndarray:
    """The projective camera that best maps 3D points to their pixels.

    The normalised DLT gives a first camera; with ``refine`` it is then moved to the least
    squared reprojection error in pixels (Levenberg-Marquardt). The refinement matters
    when the pixels are noisy: the DLT minimises an algebraic error, and on CLEVR-style
    renders whose camera is jittered between images (several pixels) its camera turned
    the ground enough to get left/right/front/behind wrong in most scenes, where the
    refined one keeps them.

    Args:
        coords: ``(n, 3)`` points ``(x, y, z)``; they must not all lie in one plane.
        pixels: ``(n, 2)`` (or ``(n, 3)``: a third column, such as CLEVR's depth, is
            ignored) pixel positions ``(column, row)`` of the same points.
        refine: refine the DLT's camera by reprojection error.

    Returns:
        ``P``, 3 x 4, scaled so that its last row has unit norm.

    Raises:
        ValueError: fewer than 6 points, mismatched lengths, non-finite values, or points
            that fix no camera (all in one plane).
    """
    x = np.asarray(coords, dtype=float)
    u = np.asarray(pixels, dtype=float)
    if x.ndim != 2 or x.shape[1] != 3 or u.ndim != 2 or u.shape[1] not in (2, 3) or len(x) != len(u):
        raise ValueError(f"coords must be (n, 3) and pixels (n, 2) of the same n, got {x.shape} and {u.shape}")
    u = u[:, :2]
    if len(x) < 6:
        raise ValueError(f"a camera needs at least 6 points, got {len(x)}")
    if not (np.isfinite(x).all() and np.isfinite(u).all()):
        raise ValueError("coords and pixels must be finite")
    if np.linalg.matrix_rank(x - x.mean(0), tol=1e-9) < 3:
        raise ValueError("the points lie in one plane (e.g. objects of a single height): they fix no camera")
    tx, tu = _normaliser(x), _normaliser(u)
    xh = np.c_[x, np.ones(len(x))] @ tx.T
    uh = np.c_[u, np.ones(len(u))] @ tu.T
    rows = []
    for (a, b, c, d), (p, q, _) in zip(xh, uh, strict=True):
        rows.append([a, b, c, d, 0, 0, 0, 0, -p * a, -p * b, -p * c, -p * d])
        rows.append([0, 0, 0, 0, a, b, c, d, -q * a, -q * b, -q * c, -q * d])
    _, _, vt = np.linalg.svd(np.asarray(rows))
    p_norm = vt[-1].reshape(3, 4)
    if refine:
        p_norm = _refine(p_norm, xh, uh[:, :2])
    camera = np.linalg.inv(tu) @ p_norm @ tx
    return camera / np.linalg.norm(camera[2])


def _refine(p: np.ndarray, xh: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Minimise the reprojection error (pixels, squared) from the DLT's camera, by
    Levenberg-Marquardt over the 12 entries (the scale is fixed by the start's norm)."""
    from scipy.optimize import least_squares

    def residuals(flat: np.ndarray) -> np.ndarray:
        q = flat.reshape(3, 4)
        proj = xh @ q.T
        return (proj[:, :2] / proj[:, 2:3] - u).ravel()

    start = p.ravel() / np.linalg.norm(p)
    return least_squares(residuals, start, method="lm").x.reshape(3, 4)


def project_point(camera: np.ndarray, point: Sequence[float]) -> tuple[float, float]:
    """The pixel ``(column, row)`` where ``camera`` draws the 3D ``point``."""
    u, v, w = np.asarray(camera, dtype=float) @ np.r_[np.asarray(point, dtype=float), 1.0]
    return float(u / w), float(v / w)


def ground_point(camera: np.ndarray, u: float, v: float, z: float) -> tuple[float, float, float]:
    """The 3D point at height ``z`` that ``camera`` draws at pixel ``(u, v)``.

    Solves ``(P_1 - u P_3) X = 0`` and ``(P_2 - v P_3) X = 0`` for ``X = (x, y, z, 1)``.

    Raises:
        ValueError: the camera looks along the ground (no unique point).
    """
    p = np.asarray(camera, dtype=float)
    r1, r2 = p[0] - u * p[2], p[1] - v * p[2]
    a = np.array([[r1[0], r1[1]], [r2[0], r2[1]]])
    b = -np.array([r1[2] * z + r1[3], r2[2] * z + r2[3]])
    if abs(np.linalg.det(a)) < 1e-12:
        raise ValueError("the camera maps this pixel to no single ground point")
    x, y = np.linalg.solve(a, b)
    return float(x), float(y), float(z)
