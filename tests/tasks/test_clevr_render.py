"""The 2D renderer: camera, silhouettes, occlusion, masks and boxes, shading and highlights."""

import itertools

import numpy as np
import pytest
from hybrid.tasks.clevr import (
    SceneObject,
    generate_scenes,
    object_height,
    project,
    render_scene,
    visible_fractions,
    vocabulary,
)
from hybrid.tasks.clevr.render import HIGHLIGHT_MIN


def obj(shape="sphere", color="red", size="large", material="rubber", x=0.0, y=0.0):
    return SceneObject(shape, color, size, material, (x, y, object_height(shape, size)))


def near_white(pixels):
    return np.all(pixels >= HIGHLIGHT_MIN, axis=-1)


def test_projection_follows_the_camera_convention():
    px, py, depth = project((0.0, 0.0, 0.0), 128)
    assert px == pytest.approx(64.0)
    right, behind, up = project((1.0, 0, 0), 128), project((0, 1.0, 0), 128), project((0, 0, 1.0), 128)
    assert right[0] > px and right[1] == pytest.approx(py) and right[2] == pytest.approx(depth)
    assert behind[1] < py and behind[2] > depth  # behind: higher in the image and further away
    assert up[1] < py and up[2] < depth  # above: higher in the image and nearer
    assert py - behind[1] > py - up[1]  # ground depth moves further up the image than height
    double = project((1.5, -2.0, 0.7), 256)
    single = project((1.5, -2.0, 0.7), 128)
    assert double[:2] == pytest.approx((2 * single[0], 2 * single[1]))
    with pytest.raises(ValueError, match="coords"):
        project((1.0, 2.0), 128)
    with pytest.raises(ValueError, match="image_size"):
        project((0, 0, 0), 8)


def test_every_generated_object_fits_in_the_image():
    for s in generate_scenes(30, np.random.default_rng(5)):
        r = render_scene(s)
        assert all(m.any() for m in r.masks)
        x0, y0, x1, y1 = r.boxes.T
        assert np.all(x0 > 0) and np.all(y0 > 0) and np.all(x1 < 128) and np.all(y1 < 128)


def test_masks_are_disjoint_and_boxes_contain_them():
    for s in generate_scenes(15, np.random.default_rng(6), min_objects=8):
        r = render_scene(s)
        assert r.image.shape == (128, 128, 3) and r.image.dtype == np.uint8
        assert r.masks.shape == (len(s), 128, 128) and r.masks.dtype == bool
        assert r.masks.sum(axis=0).max() <= 1
        assert sorted(r.order) == list(range(len(s)))
        for m, (x0, y0, x1, y1) in zip(r.masks, r.boxes, strict=True):
            inner = np.zeros_like(m)
            inner[y0:y1, x0:x1] = True
            assert not (m & ~inner).any()  # the box contains the mask ...
            assert m[y0, x0:x1].any() and m[y1 - 1, x0:x1].any()  # ... tightly
            assert m[y0:y1, x0].any() and m[y0:y1, x1 - 1].any()
        ground = ~r.masks.any(axis=0)
        g = r.image[ground].astype(int)
        assert np.all(g[:, 0] == g[:, 1]) and np.all(g[:, 1] == g[:, 2])  # plain grey ground
        assert not near_white(r.image[ground]).any()


def test_nearer_objects_occlude_further_ones():
    back, front = obj("cube", "blue", x=0.0, y=1.0), obj("sphere", "red", x=0.2, y=0.0)
    r = render_scene([front, back])
    assert r.order == (1, 0)  # back to front
    alone = render_scene([front]).masks[0]
    assert np.array_equal(r.masks[0], alone)  # the front sphere is whole
    back_alone = render_scene([back]).masks[0]
    assert r.masks[1].sum() < back_alone.sum() and not (r.masks[1] & ~back_alone).any()
    assert np.array_equal(r.masks[1], back_alone & ~alone)
    assert visible_fractions([front, back]) == pytest.approx([1.0, r.masks[1].sum() / back_alone.sum()])


def test_a_fully_hidden_object_has_an_empty_mask_and_its_silhouette_box():
    big = obj("cube", "gray", "large", x=0.0, y=0.0)
    small = obj("sphere", "cyan", "small", x=0.0, y=0.3)  # just behind the big cube's face
    r = render_scene([big, small])
    assert not r.masks[1].any()
    assert visible_fractions([big, small])[1] == 0.0
    alone = render_scene([small])
    assert np.array_equal(r.boxes[1], alone.boxes[0])


def test_silhouettes_differ_by_shape_and_size():
    area, fill, aspect = {}, {}, {}
    for shape, size in itertools.product(("cube", "sphere", "cylinder"), ("large", "small")):
        r = render_scene([obj(shape, "green", size, x=0.3, y=0.2)])
        x0, y0, x1, y1 = r.boxes[0]
        area[shape, size] = r.masks[0].sum()
        fill[shape, size] = area[shape, size] / ((x1 - x0) * (y1 - y0))
        aspect[shape, size] = (y1 - y0) / (x1 - x0)
    for size in ("large", "small"):
        assert fill["cube", size] > 0.97
        assert 0.72 < fill["sphere", size] < 0.86  # pi / 4
        assert 0.86 < fill["cylinder", size] < 0.97
        assert 0.85 < aspect["cube", size] < 1.15 and 0.85 < aspect["sphere", size] < 1.15
        assert aspect["cylinder", size] > 1.45  # an upright shape
    for shape in ("cube", "sphere", "cylinder"):
        assert 3.3 < area[shape, "large"] / area[shape, "small"] < 4.7  # half the width, a quarter of the area
    assert max(area[s, "small"] for s in ("cube", "sphere", "cylinder")) * 2 < min(
        area[s, "large"] for s in ("cube", "sphere", "cylinder")
    )


def test_metal_has_a_highlight_and_rubber_none():
    voc = vocabulary()
    for shape, size, color in itertools.product(voc.shapes, voc.sizes, voc.colors):
        for material in voc.materials:
            r = render_scene([obj(shape, color, size, material, x=-1.0, y=0.5)])
            white = near_white(r.image)
            if material == "metal":
                assert (white & r.masks[0]).any(), (shape, size, color)
                assert not (white & ~r.masks[0]).any()
            else:
                assert not white.any(), (shape, size, color)


def test_colours_come_from_the_vocabulary():
    voc = vocabulary()
    chroma = {c: np.asarray(v, float) / (np.linalg.norm(v)) for c, v in voc.rgb.items()}
    for shape, color in itertools.product(voc.shapes, voc.colors):
        r = render_scene([obj(shape, color, "large", "rubber")])
        median = np.median(r.image[r.masks[0]].astype(float), axis=0)
        unit = median / np.linalg.norm(median)
        assert max(chroma, key=lambda c: unit @ chroma[c]) == color
        assert len(np.unique(r.image[r.masks[0]], axis=0)) > 3  # shaded, not flat


def test_rendering_is_deterministic_and_scales():
    s = generate_scenes(1, np.random.default_rng(9))[0]
    a, b = render_scene(s), render_scene(s)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.masks, b.masks)
    small = render_scene(s, image_size=64)
    assert small.image.shape == (64, 64, 3)
    assert np.allclose(small.boxes, a.boxes / 2, atol=2)


def test_bad_input():
    with pytest.raises(ValueError, match="image_size"):
        render_scene([obj()], image_size=10)
    with pytest.raises(ValueError, match=r"objects\[0\]\.shape"):
        render_scene([SceneObject("cone", "red", "large", "rubber")])
    with pytest.raises(ValueError, match=r"objects\[1\]\.color"):
        render_scene([obj(), SceneObject("cube", "pink", "large", "rubber")])
    with pytest.raises(ValueError, match=r"size"):
        render_scene([SceneObject("cube", "red", "medium", "rubber")])
    with pytest.raises(TypeError, match="SceneObject"):
        render_scene([("cube", "red")])
    empty = render_scene([])
    assert empty.masks.shape == (0, 128, 128) and empty.boxes.shape == (0, 4)
