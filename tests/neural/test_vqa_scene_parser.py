"""The scene parser: camera inversion, learning, decoding into scenes, persistence, scoring, input checks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hybrid.neural.vqa.scene_parser import SceneParser, hue_jitter, object_accuracy, unproject
from hybrid.tasks.clevr import (
    ATTRIBUTES,
    RELATIONS,
    Scene,
    compute_relationships,
    generate_scenes,
    project,
    render_scene,
    vocabulary,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIZE = 64  # small images keep the tests fast; the benchmark uses 128


def _data(n, seed, image_size=SIZE):
    scenes = generate_scenes(n, np.random.default_rng(seed), min_visible=0.3, image_size=image_size)
    return np.stack([render_scene(s, image_size).image for s in scenes]), scenes


@pytest.fixture(scope="module")
def trained():
    images, scenes = _data(60, 0)
    parser = SceneParser(image_size=SIZE, channels=16, epochs=25, batch_size=16, lr=5e-3, seed=0).fit(images, scenes)
    return parser, images, scenes


@pytest.fixture(scope="module")
def held_out():
    return _data(30, 1)


@pytest.mark.parametrize("image_size", [64, 128, 320])
def test_unproject_inverts_project_on_generated_scenes(image_size):
    for scene in generate_scenes(20, np.random.default_rng(3)):
        for obj in scene.objects:
            px, py, _ = project(obj.coords, image_size)
            assert unproject(px, py, obj.coords[2], image_size) == pytest.approx(obj.coords, abs=1e-9)


def test_unproject_rejects_bad_input():
    with pytest.raises(ValueError, match="px, py and z"):
        unproject(float("nan"), 0.0, 0.0)
    with pytest.raises(ValueError, match="image_size"):
        unproject(1.0, 2.0, 0.5, image_size=8)


def test_training_lowers_the_loss(trained):
    parser = trained[0]
    assert parser.epochs_ == 25
    assert parser.history_[-1] < 0.5 * parser.history_[0]


def test_parses_held_out_scenes_better_than_chance(trained, held_out):
    parser = trained[0]
    images, scenes = held_out
    scores = object_accuracy(parser.parse(images), scenes, image_size=SIZE, max_distance_px=2.0)
    assert scores["recall"] > 0.7
    assert scores["precision"] > 0.7
    assert scores["count_accuracy"] > 0.4
    assert scores["position_error_px"] < 1.5
    chance = {"shape": 1 / 3, "color": 1 / 8, "size": 1 / 2, "material": 1 / 2}
    for name, p in chance.items():
        assert scores[f"{name}_accuracy"] > p + 0.1, (name, scores)


def test_parsed_scenes_hold_vocabulary_values_and_clevr_relations(trained, held_out):
    parser = trained[0]
    images = held_out[0][:10]
    voc = vocabulary()
    parsed = parser.parse(images, batch_size=3)
    assert len(parsed) == len(images)
    assert any(len(scene) for scene in parsed)
    for i, scene in enumerate(parsed):
        assert isinstance(scene, Scene)
        assert scene.image_index == i
        for obj in scene.objects:
            for name in ATTRIBUTES:
                assert obj.attribute(name) in voc.values(name)
            assert obj.pixel_coords == pytest.approx(project(obj.coords, SIZE))
        expected = compute_relationships(scene.objects)
        for name in RELATIONS:
            assert [list(row) for row in scene.relationships[name]] == expected[name]
        assert set(scene.directions) >= set(RELATIONS)


def test_perfect_parse_scores_one_and_errors_are_counted(held_out):
    scenes = held_out[1]
    perfect = object_accuracy(scenes, scenes, image_size=SIZE)
    assert perfect["object_accuracy"] == perfect["relation_accuracy"] == perfect["scene_accuracy"] == 1.0
    assert perfect["position_error_px"] == 0.0
    first = scenes[0]
    recoloured = dataclasses.replace(first.objects[0], color="gray" if first.objects[0].color != "gray" else "red")
    wrong = Scene((recoloured, *first.objects[1:]), first.relationships, first.directions)
    dropped = Scene(first.objects[1:], compute_relationships(first.objects[1:]), first.directions)
    scores = object_accuracy([wrong, dropped], [first, first], image_size=SIZE)
    n = len(first)
    assert scores["object_accuracy"] == pytest.approx((n - 1 + n - 1) / (2 * n))
    assert scores["recall"] == pytest.approx((2 * n - 1) / (2 * n))
    assert scores["precision"] == 1.0
    assert scores["count_accuracy"] == 0.5
    assert scores["relation_accuracy"] == 0.5  # the recoloured one keeps its relations
    assert scores["scene_accuracy"] == 0.0
    with pytest.raises(ValueError, match="same length"):
        object_accuracy(scenes[:2], scenes[:3])


def test_save_load_round_trip_parses_identically(trained, held_out, tmp_path):
    parser = trained[0]
    images = held_out[0][:8]
    path = tmp_path / "parser.pt"
    parser.save(path)
    loaded = SceneParser.load(path)
    assert loaded.image_size == SIZE and loaded.channels == 16
    assert loaded.parse(images) == parser.parse(images)


def test_training_is_reproducible_for_a_seed():
    images, scenes = _data(6, 4)
    kw = {"image_size": SIZE, "channels": 8, "epochs": 2, "batch_size": 4}
    a = SceneParser(seed=5, **kw).fit(images, scenes)
    b = SceneParser(seed=5, **kw).fit(images, scenes)
    c = SceneParser(seed=6, **kw).fit(images, scenes)
    assert a.history_ == b.history_
    assert a.history_ != c.history_


def test_max_seconds_stops_training_early():
    images, scenes = _data(4, 5)
    parser = SceneParser(image_size=SIZE, channels=8, epochs=50, max_seconds=1e-3).fit(images, scenes)
    assert parser.epochs_ == 1


def test_bad_input_raises_value_error():
    images, scenes = _data(3, 6)
    parser = SceneParser(image_size=SIZE, channels=8, epochs=1)
    with pytest.raises(ValueError, match="dtype uint8"):
        parser.fit(images.astype(np.float32), scenes)
    with pytest.raises(ValueError, match="shape"):
        parser.fit(images[0], scenes)
    with pytest.raises(ValueError, match="shape"):
        SceneParser(image_size=128).fit(images, scenes)
    with pytest.raises(ValueError, match="one Scene per image"):
        parser.fit(images, scenes[:2])
    with pytest.raises(ValueError, match="numpy array"):
        parser.fit(images.tolist(), scenes)
    with pytest.raises(ValueError, match="device"):
        SceneParser(image_size=SIZE, device="tpu").fit(images, scenes)
    with pytest.raises(ValueError, match="image_size"):
        SceneParser(image_size=66).fit(images, scenes)
    with pytest.raises(ValueError, match="epochs"):
        SceneParser(image_size=SIZE, epochs=0).fit(images, scenes)
    with pytest.raises(ValueError, match="threshold"):
        SceneParser(image_size=SIZE, threshold=1.5).fit(images, scenes)
    with pytest.raises(RuntimeError, match="not fitted"):
        parser.parse(images)
    fitted = parser.fit(images, scenes)
    with pytest.raises(ValueError, match="shape"):
        fitted.parse(images[:, :32])
    with pytest.raises(ValueError, match="batch_size"):
        fitted.parse(images, batch_size=0)
    with pytest.raises(ValueError, match="device"):
        SceneParser.load("unused.pt", device="quantum")


def test_hue_jitter_keeps_greys_and_moves_colours():
    import torch

    x = torch.tensor([[0.2, 0.2, 0.2], [0.8, -0.6, -0.6]]).T.reshape(1, 3, 1, 2).repeat(8, 1, 1, 1)
    out = hue_jitter(x, torch.Generator().manual_seed(0), brightness=0.0)
    assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1
    grey = out[:, :, 0, 0]
    assert torch.allclose(grey, x[:, :, 0, 0], atol=1e-5)  # grey stays grey (and as bright)
    red = out[:, :, 0, 1]
    assert len({tuple(int(v) for v in (c * 10).round()) for c in red}) > 4  # the red pixel takes many hues
    again = hue_jitter(x, torch.Generator().manual_seed(0), brightness=0.0)
    assert torch.equal(out, again)


def test_factored_colour_is_an_option_and_old_files_load_as_one_network(tmp_path):
    import torch

    images, scenes = _data(3, 7)
    plain = SceneParser(image_size=SIZE, channels=8, epochs=1, factored_colour=False).fit(images, scenes)
    assert plain.net_.colour is None
    blob = {"config": {k: v for k, v in plain._config().items() if k != "factored_colour"},
            "state": plain.net_.state_dict()}
    torch.save(blob, tmp_path / "old.pt")  # a file written before the option existed
    loaded = SceneParser.load(tmp_path / "old.pt")
    assert loaded.factored_colour is False and len(loaded.parse(images)) == 3
    factored = SceneParser(image_size=SIZE, channels=8, epochs=1).fit(images, scenes)
    assert factored.net_.colour is not None
    with pytest.raises(ValueError, match="factored_colour"):
        SceneParser(image_size=SIZE, factored_colour="yes").fit(images, scenes)


def test_recorded_positions_train_on_pictures_the_numpy_renderer_did_not_draw(held_out, tmp_path):
    """Mirror every picture left to right and record each object's pixel there: a parser
    with ``positions="recorded"`` learns the mirrored camera from the tables and puts parsed
    objects back where they stand; the default (projected) mode could not."""

    def mirrored(images, scenes):
        flipped = np.ascontiguousarray(images[:, :, ::-1])
        moved = [dataclasses.replace(s, objects=tuple(
            dataclasses.replace(o, pixel_coords=(SIZE - project(o.coords, SIZE)[0], *project(o.coords, SIZE)[1:]))
            for o in s.objects)) for s in scenes]
        return flipped, moved

    images, scenes = mirrored(*_data(60, 0))
    parser = SceneParser(image_size=SIZE, channels=16, epochs=25, batch_size=16, lr=5e-3, seed=0,
                         positions="recorded").fit(images, scenes)
    obj = scenes[0].objects[0]
    u, v, _ = obj.pixel_coords
    from hybrid.tasks.clevr.camera import ground_point

    assert ground_point(parser.camera_, u, v, obj.coords[2]) == pytest.approx(obj.coords, abs=1e-6)
    test_images, test_scenes = mirrored(*held_out)
    parsed = parser.parse(test_images)
    by_pixels = object_accuracy(parsed, test_scenes, image_size=SIZE, max_distance_px=2.0, match_on="pixels")
    by_coords = object_accuracy(parsed, test_scenes, image_size=SIZE, max_distance_px=2.0)
    assert by_pixels["recall"] > 0.7 and by_coords["recall"] > 0.7  # found where they are, and put back on the ground
    assert by_coords["coords_error"] < 0.2
    parser.save(tmp_path / "recorded.pt")  # the camera and directions travel with the weights
    assert SceneParser.load(tmp_path / "recorded.pt").parse(test_images[:5]) == parsed[:5]
    with pytest.raises(ValueError, match="match_on"):
        object_accuracy(parsed, test_scenes, match_on="boxes")
    with pytest.raises(ValueError, match="positions"):
        SceneParser(positions="guessed").fit(images, scenes)
