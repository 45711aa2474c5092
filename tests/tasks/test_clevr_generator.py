"""The seeded CLEVR-style scene generator: CLEVR's placement rules, relationships, CoGenT."""

import itertools
import math

import numpy as np
import pytest
from hybrid.tasks.clevr import (
    DIRECTIONS,
    RELATIONS,
    SceneObject,
    cogent_allowed,
    compute_relationships,
    generate_scene,
    generate_scenes,
    object_height,
    project,
    visible_fractions,
    vocabulary,
)


@pytest.fixture(scope="module")
def scenes():
    return generate_scenes(60, np.random.default_rng(7))


def test_same_seed_same_scenes_other_seed_other_scenes():
    a = generate_scenes(5, np.random.default_rng(3))
    b = generate_scenes(5, np.random.default_rng(3))
    c = generate_scenes(5, np.random.default_rng(4))
    assert a == b
    assert a != c


def test_objects_are_clevrs(scenes):
    voc = vocabulary()
    counts = [len(s) for s in scenes]
    assert min(counts) >= 3 and max(counts) <= 10
    assert len(set(counts)) >= 5  # the count varies over the range
    for s in scenes:
        for o in s.objects:
            assert o.shape in voc.shapes and o.color in voc.colors
            assert o.size in voc.sizes and o.material in voc.materials
            x, y, z = o.coords
            assert -3 <= x <= 3 and -3 <= y <= 3
            r = voc.radius[o.size]
            assert z == pytest.approx(r / math.sqrt(2) if o.shape == "cube" else r)
            assert 0 <= o.rotation < 360
            assert o.pixel_coords == pytest.approx(project(o.coords, 128))
    every = [getattr(o, a) for s in scenes for o in s.objects for a in ("shape", "color", "size", "material")]
    assert set(every) == set(voc.shapes + voc.colors + voc.sizes + voc.materials)


def test_bookkeeping_fields():
    s = generate_scenes(3, np.random.default_rng(0), start_index=41, split="train")
    assert [x.image_index for x in s] == [41, 42, 43]
    assert s[0].image_filename == "CLEVR_train_000041.png" and s[0].split == "train"
    assert dict(s[0].directions) == dict(DIRECTIONS)
    assert DIRECTIONS["left"] == (-1.0, 0.0, 0.0) and DIRECTIONS["behind"] == (0.0, 1.0, 0.0)


def test_no_overlaps_and_margins_hold(scenes):
    voc = vocabulary()
    for s in scenes:
        for a, b in itertools.combinations(s.objects, 2):
            dx, dy = a.coords[0] - b.coords[0], a.coords[1] - b.coords[1]
            assert math.hypot(dx, dy) - voc.radius[a.size] - voc.radius[b.size] >= 0.25
            assert abs(dx) >= 0.4 and abs(dy) >= 0.4


def test_custom_spacing_is_respected():
    voc = vocabulary()
    for s in generate_scenes(10, np.random.default_rng(1), min_dist=0.6, margin=0.5, max_objects=6):
        for a, b in itertools.combinations(s.objects, 2):
            dx, dy = a.coords[0] - b.coords[0], a.coords[1] - b.coords[1]
            assert math.hypot(dx, dy) - voc.radius[a.size] - voc.radius[b.size] >= 0.6
            assert abs(dx) >= 0.5 and abs(dy) >= 0.5


def test_relationships_follow_the_coordinates_and_mirror(scenes):
    for s in scenes:
        assert set(s.relationships) == set(RELATIONS)
        n = len(s)
        for i, j in itertools.permutations(range(n), 2):
            xi, yi, _ = s.objects[i].coords
            xj, yj, _ = s.objects[j].coords
            assert (j in s.related("left", i)) == (xj < xi - 0.2)
            assert (j in s.related("right", i)) == (xj > xi + 0.2)
            assert (j in s.related("behind", i)) == (yj > yi + 0.2)
            assert (j in s.related("front", i)) == (yj < yi - 0.2)
            assert (j in s.related("left", i)) == (i in s.related("right", j))
            assert (j in s.related("front", i)) == (i in s.related("behind", j))
            # The margin rule makes every pair comparable both ways.
            assert (j in s.related("left", i)) != (j in s.related("right", i))
            assert (j in s.related("front", i)) != (j in s.related("behind", i))
        for rows in s.relationships.values():
            assert all(list(row) == sorted(row) for row in rows)


def test_compute_relationships_by_hand():
    coords = [(0.0, 0.0, 0.35), (1.0, 0.1, 0.7), (-0.1, -2.0, 0.35)]
    rel = compute_relationships(coords, DIRECTIONS)
    assert rel["right"] == [[1], [], [1]]
    assert rel["left"] == [[], [0, 2], []]  # object 2 is only 0.1 left of 0: within eps
    assert rel["behind"] == [[], [], [0, 1]]
    assert rel["front"] == [[2], [2], []]
    objects = [SceneObject("cube", "red", "small", "metal", c) for c in coords]
    assert compute_relationships(objects, DIRECTIONS, eps=0.05)["left"] == [[2], [0, 2], []]
    # CLEVR's own camera: diagonal directions, z ignored by the four relations.
    diag = {"left": (-0.7, -0.7, 0.0), "right": (0.7, 0.7, 0.0), "front": (0.7, -0.7, 0.0), "behind": (-0.7, 0.7, 0.0)}
    assert compute_relationships([(0, 0, 0), (1, 1, 5)], diag)["right"] == [[1], []]
    with pytest.raises(ValueError, match="missing 'front'"):
        compute_relationships(coords, {"left": (1, 0, 0), "right": (1, 0, 0), "behind": (0, 1, 0)})
    with pytest.raises(ValueError, match="directions\\['left'\\]"):
        compute_relationships(coords, {**DIRECTIONS, "left": (1, 0)})
    with pytest.raises(ValueError, match="eps"):
        compute_relationships(coords, DIRECTIONS, eps=-1)
    with pytest.raises(ValueError, match="triples"):
        compute_relationships([(0, 0), (1, 1)], DIRECTIONS)


def test_cogent_tables():
    a, b = cogent_allowed("A"), cogent_allowed("B")
    colors = set(vocabulary().colors)
    assert set(a["sphere"]) == set(b["sphere"]) == colors
    assert set(a["cube"]) == set(b["cylinder"]) and set(a["cylinder"]) == set(b["cube"])
    assert set(a["cube"]) | set(a["cylinder"]) == colors and not set(a["cube"]) & set(a["cylinder"])
    assert all(set(v) == colors for v in cogent_allowed(None).values())
    with pytest.raises(ValueError, match="condition"):
        cogent_allowed("C")


@pytest.mark.parametrize("condition", ["A", "B"])
def test_cogent_scenes_keep_their_colour_constraints(condition):
    allowed = cogent_allowed(condition)
    seen: dict[str, set] = {shape: set() for shape in allowed}
    for s in generate_scenes(80, np.random.default_rng(11), condition=condition):
        for o in s.objects:
            assert o.color in allowed[o.shape]
            seen[o.shape].add(o.color)
    assert all(seen[shape] == set(allowed[shape]) for shape in allowed)  # every allowed pair occurs


def test_min_visible_rejects_hidden_objects():
    for s in generate_scenes(10, np.random.default_rng(2), min_objects=8, min_visible=0.97):
        assert np.all(visible_fractions(s) >= 0.97)


def test_object_height():
    assert object_height("sphere", "large") == 0.7
    assert object_height("cube", "small") == pytest.approx(0.35 / math.sqrt(2))
    with pytest.raises(ValueError, match="size"):
        object_height("cube", "huge")


def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="rng"):
        generate_scene(np.random.RandomState(0))
    with pytest.raises(ValueError, match="max_objects"):
        generate_scene(rng, min_objects=5, max_objects=4)
    with pytest.raises(ValueError, match="min_objects"):
        generate_scene(rng, min_objects=0)
    with pytest.raises(ValueError, match="condition"):
        generate_scene(rng, condition="a")
    with pytest.raises(ValueError, match="at most 16 fit"):
        generate_scene(rng, min_objects=17, max_objects=17)
    with pytest.raises(ValueError, match="min_visible"):
        generate_scene(rng, min_visible=1.5)
    with pytest.raises(ValueError, match="image_size"):
        generate_scene(rng, image_size=4)
    with pytest.raises(ValueError, match="split"):
        generate_scene(rng, split="")
    with pytest.raises(TypeError, match="start_index"):
        generate_scenes(2, rng, image_index=3)
    with pytest.raises(RuntimeError, match="could not place 14 objects"):
        generate_scene(rng, min_objects=14, max_objects=14, max_retries=5, max_restarts=3)
