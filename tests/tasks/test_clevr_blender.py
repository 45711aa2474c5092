"""Blender rendering: a clear error without the extra; with it, CLEVR's records of a render."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hybrid.tasks.clevr import generate_scene
from hybrid.tasks.clevr.blender import (
    MISSING_BPY,
    BlenderSettings,
    blender_available,
    read_masks,
    render_scenes,
    scene_hash,
)


def test_settings_are_checked_and_the_hash_follows_the_picture():
    with pytest.raises(ValueError, match="device"):
        BlenderSettings(device="metal")
    with pytest.raises(ValueError, match="samples"):
        BlenderSettings(samples=0)
    scene = generate_scene(np.random.default_rng(0))
    base = scene_hash(scene, BlenderSettings())
    assert scene_hash(scene, BlenderSettings(threads=1, device="cuda")) == base  # where, not what
    assert scene_hash(scene, BlenderSettings(samples=64)) != base
    assert scene_hash(scene, BlenderSettings(), seed=1) != base
    assert BlenderSettings(width=480, height=320).least_pixels == 200  # CLEVR's floor at its size


@pytest.mark.skipif(blender_available(), reason="bpy is installed here")
def test_without_bpy_the_error_names_the_extra(tmp_path):
    scene = generate_scene(np.random.default_rng(0))
    scene = type(scene)(**{**scene.__dict__, "image_filename": "CLEVR_new_000000.png"})
    with pytest.raises(ImportError, match="'render' extra"):
        render_scenes([scene], tmp_path, progress=False)
    cli = subprocess.run([sys.executable, "-m", "hybrid.cli", "reproduce", "ns-vqa", "--renderer", "blender",
                          "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert cli.returncode == 2 and "render' extra" in cli.stderr and MISSING_BPY[:40] in cli.stderr


@pytest.mark.skipif(not blender_available(), reason="needs the 'render' extra (bpy)")
def test_a_blender_render_records_what_clevr_records(tmp_path):
    from dataclasses import replace

    scene = generate_scene(np.random.default_rng(2), min_objects=4, max_objects=4)
    scene = replace(scene, image_filename="CLEVR_new_000000.png")
    settings = BlenderSettings(width=96, height=64, samples=2, denoise=False)
    (first,) = render_scenes([scene], tmp_path, settings, progress=False)
    assert (tmp_path / "CLEVR_new_000000.png").is_file() and first.seconds > 0
    masks = read_masks(tmp_path, scene, settings)
    assert masks.shape == (4, 64, 96) and not (masks.sum(0) > 1).any()  # disjoint
    for obj, mask, box, visible in zip(first.scene.objects, masks, first.boxes, first.visible_pixels, strict=True):
        assert visible == mask.sum()
        if visible > 20:  # the object's centre projects inside its box
            x0, y0, x1, y1 = box
            assert x0 - 1 <= obj.pixel_coords[0] <= x1 + 1 and y0 - 1 <= obj.pixel_coords[1] <= y1 + 1
    (again,) = render_scenes([scene], tmp_path, settings, progress=False)  # from the cache
    assert again.seconds == 0 and again.scene == first.scene
