"""Image warps for harder pictures: :func:`swirl`, the twist of Latplan's *Twisted Lights Out*.

Latplan (Asai & Fukunaga 2018) bends its Lights Out frames with scikit-image's
``skimage.transform.swirl`` (strength 3, radius 0.75 of the image side, bilinear), so that
the cells are no longer squares and a perception cannot cut the frame into a grid.
:func:`swirl` is the same warp written in numpy (no scikit-image needed).

The warp is an inverse map: each output pixel at polar coordinates ``(rho, theta)``
around the frame's centre takes its colour from the input at ``(rho, theta + strength *
exp(-rho / r))`` with ``r = ln(2) * radius / 5`` (so the twist has decayed to about
1/1000 of ``strength`` at ``radius``). Rotation keeps ``rho``: the centre pixel never moves,
and pixels far from the centre barely move. Colours are read by bilinear interpolation;
points that fall outside the frame read its nearest edge pixel.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["default_swirl_radius", "swirl"]

#: Latplan's swirl radius, as a fraction of the frame's longer side.
RELATIVE_RADIUS: float = 0.75


def default_swirl_radius(height: int, width: int) -> float:
    """Return the default swirl radius of a ``height x width`` frame: 0.75 of its longer side (Latplan's choice)."""
    return RELATIVE_RADIUS * max(int(height), int(width))


def swirl(frame: np.ndarray, strength: float, radius: float | None = None) -> np.ndarray:
    """Return ``frame`` swirled around its centre (the warp of ``skimage.transform.swirl``, in numpy).

    Args:
        frame: ``[H, W]`` or ``[H, W, C]`` uint8 image.
        strength: the twist at the centre, in radians (0: the identity; negative: the other way).
        radius: the swirl's extent in pixels (> 0): the twist decays as ``exp(-rho * 5 / (ln(2) * radius))``.
            None: :func:`default_swirl_radius` (0.75 of the longer side, as Latplan).

    Returns:
        A new uint8 array of the same shape: output pixel ``(y, x)`` is the input read
        bilinearly at the point the swirl maps it to (edge pixels outside the frame). The
        centre of the frame is ``((H - 1) / 2, (W - 1) / 2)`` in pixel coordinates, so for
        odd sides the centre pixel is kept exactly.

    Raises:
        ValueError: naming ``frame``, ``strength`` or ``radius`` when they are not as above.
    """
    img = np.asarray(frame)
    if img.dtype != np.uint8 or img.ndim not in (2, 3) or img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f"frame must be a [H, W] or [H, W, C] uint8 array, got {img.dtype} of shape {img.shape}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float, np.integer, np.floating)):
        raise ValueError(f"strength must be a finite number, got {strength!r}")
    if not math.isfinite(float(strength)):
        raise ValueError(f"strength must be a finite number, got {strength!r}")
    h, w = img.shape[:2]
    if radius is None:
        radius = default_swirl_radius(h, w)
    if isinstance(radius, bool) or not isinstance(radius, (int, float, np.integer, np.floating)):
        raise ValueError(f"radius must be a number > 0 or None, got {radius!r}")
    if not (math.isfinite(float(radius)) and radius > 0):
        raise ValueError(f"radius must be a number > 0 or None, got {radius!r}")
    if float(strength) == 0.0:
        return img.copy()
    index, weight = _swirl_map(h, w, float(strength), float(radius))
    flat = img.reshape(h * w, -1).astype(np.float32)
    out = (flat[index] * weight[..., None]).sum(axis=1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(img.shape)


@lru_cache(maxsize=32)
def _swirl_map(h: int, w: int, strength: float, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """The bilinear sampling of a swirl: ``[H * W, 4]`` flat source indices and their ``[H * W, 4]`` weights."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    y0, x0 = (h - 1) / 2.0, (w - 1) / 2.0
    dy, dx = yy - y0, xx - x0
    rho = np.hypot(dy, dx)
    theta = np.arctan2(dy, dx) + strength * np.exp(-rho / (math.log(2.0) * radius / 5.0))
    sy = np.clip(y0 + rho * np.sin(theta), 0.0, h - 1.0).reshape(-1)
    sx = np.clip(x0 + rho * np.cos(theta), 0.0, w - 1.0).reshape(-1)
    top, left = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    bottom, right = np.minimum(top + 1, h - 1), np.minimum(left + 1, w - 1)
    fy, fx = sy - top, sx - left
    index = np.stack([top * w + left, top * w + right, bottom * w + left, bottom * w + right], axis=1)
    weight = np.stack([(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx], axis=1).astype(np.float32)
    index.flags.writeable = False
    weight.flags.writeable = False
    return index, weight
