"""CLEVR's scenes and questions files: round trips, CLEVR v1.0's exact layout, malformed input."""

import json
from dataclasses import replace

import numpy as np
import pytest
from hybrid.tasks.clevr import Question, generate_scenes, read_questions, read_scenes, write_questions, write_scenes

# Two scenes in CLEVR v1.0's layout (its keys, key order and number types), numbers made up.
CLEVR_V1_SCENES = """
{"info": {"date": "2/14/2017", "version": "1.0", "split": "val",
          "license": "Creative Commons Attribution (CC BY 4.0)"},
 "scenes": [
  {"image_index": 0,
   "objects": [
     {"color": "brown", "size": "large", "rotation": 178.9, "shape": "cylinder",
      "3d_coords": [-1.49, -1.99, 0.7], "material": "rubber", "pixel_coords": [119, 231, 10.8]},
     {"color": "gray", "size": "large", "rotation": 243.4, "shape": "cube",
      "3d_coords": [1.55, -2.54, 0.49], "material": "metal", "pixel_coords": [258, 199, 8.9]},
     {"color": "green", "size": "small", "rotation": 109.2, "shape": "sphere",
      "3d_coords": [-2.42, 1.69, 0.35], "material": "rubber", "pixel_coords": [166, 122, 13.5]}],
   "relationships": {"right": [[1], [], [0, 1]], "behind": [[2], [0, 2], []],
                     "front": [[1], [], [0, 1]], "left": [[2], [0, 2], []]},
   "image_filename": "CLEVR_val_000000.png", "split": "val",
   "directions": {"right": [0.656, 0.754, -0.0], "behind": [-0.754, 0.656, 0.0], "above": [0.0, 0.0, 1.0],
                  "below": [-0.0, -0.0, -1.0], "left": [-0.656, -0.754, 0.0], "front": [0.754, -0.656, -0.0]}},
  {"image_index": 1, "image_filename": "CLEVR_val_000001.png", "split": "val",
   "objects": [
     {"color": "red", "size": "small", "shape": "sphere", "3d_coords": [0.0, 0.0, 0.35], "material": "metal"},
     {"color": "blue", "size": "large", "shape": "cube", "3d_coords": [2.0, 0.0, 0.49], "material": "rubber"}],
   "directions": {"right": [0.656, 0.754, -0.0], "behind": [-0.754, 0.656, 0.0],
                  "left": [-0.656, -0.754, 0.0], "front": [0.754, -0.656, -0.0]}}
 ]}
"""

# Questions in CLEVR v1.0's layout (``function`` + ``value_inputs``), one from its test split.
CLEVR_V1_QUESTIONS = """
{"info": {"split": "val", "license": "Creative Commons Attribution (CC BY 4.0)", "version": "1.0",
          "date": "2/14/2017"},
 "questions": [
  {"image_index": 0,
   "program": [{"inputs": [], "function": "scene", "value_inputs": []},
               {"inputs": [0], "function": "filter_size", "value_inputs": ["large"]},
               {"inputs": [1], "function": "filter_material", "value_inputs": ["metal"]},
               {"inputs": [2], "function": "unique", "value_inputs": []},
               {"inputs": [3], "function": "same_shape", "value_inputs": []},
               {"inputs": [4], "function": "exist", "value_inputs": []}],
   "question_index": 0, "image_filename": "CLEVR_val_000000.png", "question_family_index": 39,
   "split": "val", "answer": "no",
   "question": "Are there any other things that are the same shape as the big metallic object?"},
  {"image_index": 3, "question_index": 7, "image_filename": "CLEVR_test_000003.png", "split": "test",
   "question": "How many cubes are there?"}
 ]}
"""


def test_scenes_round_trip(tmp_path):
    scenes = generate_scenes(6, np.random.default_rng(0), split="val")
    path = tmp_path / "CLEVR_val_scenes.json"
    write_scenes(path, scenes)
    assert read_scenes(path) == scenes
    data = json.loads(path.read_text())
    assert data["info"] == {"version": "1.0", "split": "val"}
    first = data["scenes"][0]
    assert set(first) == {"split", "image_index", "image_filename", "objects", "relationships", "directions"}
    assert set(first["objects"][0]) == {"color", "size", "shape", "material", "3d_coords", "rotation", "pixel_coords"}
    write_scenes(path, scenes[:2], info={"date": "today"})
    assert json.loads(path.read_text())["info"] == {"date": "today"}
    assert read_scenes(path) == scenes[:2]


def test_clevr_v1_scenes_load_as_they_are(tmp_path):
    path = tmp_path / "CLEVR_val_scenes.json"
    path.write_text(CLEVR_V1_SCENES)
    first, second = read_scenes(path)
    assert first.image_filename == "CLEVR_val_000000.png" and first.split == "val" and len(first) == 3
    cube = first.objects[1]
    assert (cube.shape, cube.color, cube.size, cube.material) == ("cube", "gray", "large", "metal")
    assert cube.coords == (1.55, -2.54, 0.49) and cube.pixel_coords == (258, 199, 8.9) and cube.rotation == 243.4
    assert first.related("right", 2) == (0, 1) and first.related("left", 1) == (0, 2)
    assert first.directions["front"] == (0.754, -0.656, 0.0)
    # No relationships, rotation or pixel_coords: relationships come from CLEVR's rule on the directions.
    assert second.objects[0].rotation == 0.0 and second.objects[0].pixel_coords == (0.0, 0.0, 0.0)
    assert second.related("right", 0) == (1,) and second.related("left", 1) == (0,)
    assert second.related("front", 0) == (1,) and second.related("behind", 1) == (0,)


def test_other_scene_file_shapes(tmp_path):
    records = json.loads(CLEVR_V1_SCENES)["scenes"]
    bare, single = tmp_path / "bare.json", tmp_path / "single.json"
    bare.write_text(json.dumps(records))
    single.write_text(json.dumps(records[0]))  # one file per image, as CLEVR's renderer writes
    assert len(read_scenes(bare)) == 2
    assert read_scenes(single)[0].image_filename == "CLEVR_val_000000.png"
    no_dirs = {
        "objects": [{"color": "red", "size": "small", "shape": "cube", "material": "metal", "3d_coords": [0, 0, 0]}]
    }
    single.write_text(json.dumps(no_dirs))
    scene = read_scenes(single)[0]
    assert dict(scene.relationships) == {} and scene.image_index == 0


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s[1].pop("objects"), r"scenes\[1\] has no 'objects' key"),
        (lambda s: s[0]["objects"][2].pop("color"), r"scenes\[0\]\['objects'\]\[2\] has no 'color' key"),
        (lambda s: s[0]["objects"][0].update({"3d_coords": [1, 2]}), r"scenes\[0\]\['objects'\]\[0\]\['3d_coords'\]"),
        (lambda s: s[0]["objects"][0].update({"shape": 3}), r"scenes\[0\]\['objects'\]\[0\]\['shape'\]"),
        (lambda s: s[0]["objects"][1].update({"shape": "pyramid"}), r"\['shape'\] is 'pyramid', not one of CLEVR"),
        (lambda s: s[0]["objects"][0].update({"color": "pink"}), r"\['color'\] is 'pink'"),
        (lambda s: s[0]["objects"][0].update({"rotation": "ninety"}), r"\['rotation'\]"),
        (lambda s: s[0]["relationships"]["left"].pop(), r"scenes\[0\].*one row per object"),
        (lambda s: s[0]["relationships"]["left"].__setitem__(0, [7]), r"scenes\[0\].*invalid object index"),
        (lambda s: s[0]["relationships"].update({"left": "abc"}), r"scenes\[0\]\['relationships'\]"),
        (lambda s: s[1]["directions"].pop("front"), r"scenes\[1\].*missing 'front'"),
        (lambda s: s[1].update({"image_index": -2}), r"scenes\[1\]\['image_index'\]"),
        (lambda s: s.append([]), r"scenes\[2\] must be a JSON object"),
    ],
)
def test_malformed_scenes_name_the_scene_and_key(tmp_path, mutate, message):
    data = json.loads(CLEVR_V1_SCENES)
    mutate(data["scenes"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message):
        read_scenes(path)


def test_unreadable_files(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_scenes(path)
    path.write_text('{"info": {}}')
    with pytest.raises(ValueError, match="no 'scenes'"):
        read_scenes(path)
    with pytest.raises(ValueError, match="no 'questions'"):
        read_questions(path)
    with pytest.raises(TypeError, match="Scene"):
        write_scenes(path, ["scene"])
    with pytest.raises(TypeError, match="Question"):
        write_questions(path, [{"question": "?"}])


def test_questions_round_trip(tmp_path):
    v1 = [
        {"inputs": [], "function": "scene", "value_inputs": []},
        {"inputs": [0], "function": "count", "value_inputs": []},
    ]
    generator_style = [{"type": "scene", "inputs": [], "side_inputs": []}, {"type": "exist", "inputs": [0]}]
    questions = [
        Question("How many things?", "3", tuple(v1), "CLEVR_val_000000.png", 0, "val", 0, 12),
        Question("How many things?", 3, tuple(v1), "CLEVR_val_000000.png", 0, "val", 1, 12, "one_hop.json"),
        Question("Is there a cube?", True, tuple(generator_style), "CLEVR_val_000001.png", 1, "val", 2),
        Question("Is there a ball?", None, (), "CLEVR_val_000002.png", 2, "val", 3),
    ]
    path = tmp_path / "CLEVR_val_questions.json"
    write_questions(path, questions)
    back = read_questions(path)
    # answers come back as CLEVR v1.0 spells them, whatever the writer gave (the generator's int and bool)
    assert [q.answer for q in back] == ["3", "3", "yes", None]
    assert [replace(q, answer=None) for q in back] == [replace(q, answer=None) for q in questions]
    records = json.loads(path.read_text())
    assert records["info"]["split"] == "val"
    assert "answer" not in records["questions"][3] and records["questions"][1]["template_filename"] == "one_hop.json"
    assert records["questions"][2]["program"] == generator_style  # nodes written as given


def test_clevr_v1_questions_load_as_they_are(tmp_path):
    path = tmp_path / "CLEVR_val_questions.json"
    path.write_text(CLEVR_V1_QUESTIONS)
    q, test_q = read_questions(path)
    assert q.question.startswith("Are there any other things") and q.answer == "no"
    assert q.question_family_index == 39 and q.template_filename is None and q.image_index == 0
    assert q.program[1] == {"inputs": [0], "function": "filter_size", "value_inputs": ["large"]}
    assert [node["function"] for node in q.program][-1] == "exist"
    assert test_q.answer is None and test_q.program == () and test_q.question_family_index is None
    assert (test_q.split, test_q.image_index, test_q.question_index) == ("test", 3, 7)
    # A bare list of question records loads too.
    raw = json.loads(CLEVR_V1_QUESTIONS)["questions"]
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(raw))
    assert read_questions(bare)[0] == q


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda q: q[1].pop("question"), r"questions\[1\] has no 'question' key"),
        (lambda q: q[0].update({"program": {"function": "scene"}}), r"questions\[0\]\['program'\]"),
        (lambda q: q[0]["program"].append("count"), r"questions\[0\]: program\[6\] must be a dict"),
        (lambda q: q[0].update({"answer": 1.5}), r"questions\[0\]: answer"),
        (lambda q: q[1].update({"image_index": "3"}), r"questions\[1\]: image_index"),
        (lambda q: q[0].update({"question_family_index": "39"}), r"questions\[0\]: question_family_index"),
    ],
)
def test_malformed_questions_name_the_question_and_key(tmp_path, mutate, message):
    data = json.loads(CLEVR_V1_QUESTIONS)
    mutate(data["questions"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message):
        read_questions(path)


def test_question_checks_its_fields():
    with pytest.raises(ValueError, match="question must be a string"):
        Question(None)
    with pytest.raises(ValueError, match="question_index"):
        Question("?", question_index=-1)
    q = Question("?", program=[{"function": "scene"}])
    assert q.program == ({"function": "scene"},)
