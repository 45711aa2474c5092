"""The scene table shared by the scene parser and the executor; CLEVR's vocabulary."""

import pytest
from hybrid.tasks.clevr import Scene, SceneObject, load_json, vocabulary


def test_vocabulary_is_clevrs():
    v = vocabulary()
    assert v.shapes == ("cube", "sphere", "cylinder")
    assert len(v.colors) == 8 and "cyan" in v.colors
    assert set(v.sizes) == {"small", "large"} and set(v.materials) == {"rubber", "metal"}
    assert v.rgb["red"] == (173, 35, 35)
    assert v.radius["large"] == 2 * v.radius["small"]
    assert v.values("material") == v.materials
    with pytest.raises(ValueError, match="attribute"):
        v.values("weight")


def test_templates_ship_with_the_package():
    assert len(load_json("templates/zero_hop.json")) > 0
    assert load_json("synonyms.json")["cube"] == ["cube", "block"]


def test_scene_checks_its_relationships():
    a = SceneObject("cube", "red", "large", "metal", (1.0, 0.0, 0.7))
    b = SceneObject("sphere", "blue", "small", "rubber", (-1.0, 0.0, 0.35))
    scene = Scene((a, b), relationships={"left": [[1], []], "right": [[], [0]]})
    assert scene.related("left", 0) == (1,)
    assert scene.objects[1].attribute("color") == "blue"
    with pytest.raises(ValueError, match="one row per object"):
        Scene((a, b), relationships={"left": [[1]]})
    with pytest.raises(ValueError, match="invalid object index"):
        Scene((a, b), relationships={"left": [[0], []]})
    with pytest.raises(ValueError, match="relation"):
        scene.related("above", 0)
