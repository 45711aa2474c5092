"""The camera fitted to scene tables: it maps pixels back to the ground at a known height."""

from __future__ import annotations

import numpy as np
import pytest
from hybrid.tasks.clevr import generate_scene, object_height
from hybrid.tasks.clevr.camera import fit_camera, ground_point, project_point
from hybrid.tasks.clevr.render import project


def _objects(n_scenes=30, seed=0):
    rng = np.random.default_rng(seed)
    return [o for _ in range(n_scenes) for o in generate_scene(rng).objects]


def test_fit_recovers_the_numpy_renderers_orthographic_camera():
    objects = _objects()
    camera = fit_camera([o.coords for o in objects], [project(o.coords, 128) for o in objects])
    for o in objects[:20]:
        u, v, _ = project(o.coords, 128)
        assert project_point(camera, o.coords) == pytest.approx((u, v), abs=1e-6)
        assert ground_point(camera, u, v, o.coords[2]) == pytest.approx(o.coords, abs=1e-6)
    assert np.allclose(camera[2, :3], 0, atol=1e-9)  # affine: no perspective row


def test_fit_recovers_a_perspective_camera_through_noise():
    # CLEVR-like: camera up and to the side, looking down at the origin, 35 mm lens on a 32 mm sensor
    eye, target = np.array([7.5, -6.5, 5.3]), np.zeros(3)
    fwd = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(fwd, [0, 0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    f = 240 * 35 / 32
    k = np.array([[f, 0, 120], [0, f, 80], [0, 0, 1.0]])
    rot = np.stack([right, -up, fwd])
    truth = k @ np.c_[rot, -rot @ eye]
    objects = _objects()
    pixels = np.array([project_point(truth, o.coords) for o in objects])
    noisy = pixels + np.random.default_rng(1).normal(0, 0.3, pixels.shape)
    camera = fit_camera([o.coords for o in objects], noisy)
    errors = [np.subtract(ground_point(camera, *project_point(truth, o.coords), o.coords[2]), o.coords)
              for o in objects]
    assert np.abs(errors).max() < 0.05  # scene units; CLEVR keeps objects 0.4 apart along each direction


def test_fit_refuses_too_few_or_coplanar_points():
    objects = _objects(3)
    with pytest.raises(ValueError, match="at least 6"):
        fit_camera([o.coords for o in objects[:5]], [project(o.coords) for o in objects[:5]])
    flat = [(o.coords[0], o.coords[1], 0.35) for o in objects]
    with pytest.raises(ValueError, match="one plane"):
        fit_camera(flat, [project(c) for c in flat])
    with pytest.raises(ValueError, match="same n"):
        fit_camera([o.coords for o in objects], [(0, 0)])
    assert object_height("cube", "large") != object_height("sphere", "large")
