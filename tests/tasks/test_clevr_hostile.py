"""Hostile CLEVR JSON files: each fails with a ValueError that names the file and what is wrong."""

from __future__ import annotations

import json

import pytest
from hybrid.tasks.clevr import io as clevr_io

OBJECT = {"color": "red", "size": "large", "shape": "cube", "material": "rubber", "3d_coords": [0.0, 1.0, 0.7]}


def _scene_text(coords: str) -> str:
    obj = json.dumps({**OBJECT, "3d_coords": "@"}).replace('"@"', coords)
    return '{"info": {}, "scenes": [{"objects": [' + obj + "]}]}"


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("text", "what"),
    [
        (_scene_text("[1e999, 0, 0]"), "out of range"),
        (_scene_text("[-1e999, 0, 0]"), "out of range"),
        (_scene_text("[NaN, 0, 0]"), "NaN is not a JSON number"),
        (_scene_text("[Infinity, 0, 0]"), "Infinity is not a JSON number"),
        (_scene_text("[" + "1" + "0" * 400 + ", 0, 0]"), r"scenes\[0\]\['objects'\]\[0\]\['3d_coords'\] must be"),
        (_scene_text("[" + "9" * 5000 + ", 0, 0]"), "digits"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"scenes": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ("{" + '"a": {' * 50_000 + "}" * 50_001, "nested too deeply"),
        ("not json", "not valid JSON"),
    ],
)
def test_hostile_scene_files_raise_value_error_naming_the_file(tmp_path, text, what):
    path = tmp_path / "hostile_scenes.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=what) as excinfo:
        clevr_io.read_scenes(path)
    assert str(excinfo.value).startswith(str(path))
    assert len(str(excinfo.value)) < 1000


@pytest.mark.timeout(10)
def test_huge_rotation_and_index_are_value_errors(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"scenes": [{"objects": [{**OBJECT, "rotation": 10**400}]}]}))
    with pytest.raises(ValueError, match=r"s\.json: scenes\[0\]\['objects'\]\[0\]\['rotation'\]"):
        clevr_io.read_scenes(path)
    path.write_text(json.dumps({"scenes": [{"objects": [OBJECT], "image_index": -(10**400)}]}))
    with pytest.raises(ValueError, match=r"s\.json: scenes\[0\]\['image_index'\] must be an int >= 0"):
        clevr_io.read_scenes(path)


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("text", "what"),
    [
        ('{"questions": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('{"questions": [{"question": "q?", "image_index": 1e999}]}', "out of range"),
        ('{"questions": [{"question": "q?", "image_index": -1}]}', r"questions\[0\]: image_index must be"),
    ],
)
def test_hostile_question_files_raise_value_error_naming_the_file(tmp_path, text, what):
    path = tmp_path / "hostile_questions.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=what) as excinfo:
        clevr_io.read_questions(path)
    assert str(excinfo.value).startswith(str(path))


def test_ordinary_files_still_load(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps({"scenes": [{"objects": [{**OBJECT, "3d_coords": [1, -2.5, 10**3]}]}]}))
    (scene,) = clevr_io.read_scenes(path)
    assert scene.objects[0].coords == (1.0, -2.5, 1000.0)
