"""The visual-QA data set, the clevr task's scoring and the executor benchmark."""

from __future__ import annotations

import numpy as np
import pytest
from hybrid.symbolic.programs import answer_text, execute
from hybrid.tasks.clevr import question_type, write_questions, write_scenes

from hybrid.vqa.data import VQAData, load_clevr, make_vqa_data
from hybrid.vqa.nsvqa import program_tokens, spread_over_templates
from hybrid.vqa.reproduce import executor_benchmark
from hybrid.vqa.task import CLEVRTask, accuracy_by_type


@pytest.fixture(scope="module")
def data() -> VQAData:
    return make_vqa_data(12, 5, np.random.default_rng(3))


def test_images_are_the_scenes_renders_and_questions_point_at_them(data):
    assert data.images.shape == (12, 128, 128, 3) and data.images.dtype == np.uint8
    assert len(data.scenes) == 12 and len(data) > 30
    for q in data.questions:
        result = execute(program_tokens(q), data.scenes[q.image_index])
        assert result.valid and answer_text(result) == str(q.answer)


def test_subset_reindexes_images(data):
    sub = data.subset(7)
    assert len(sub) == 7
    assert len(sub.images) == len({q.image_index for q in data.questions[:7]})
    for q_old, q_new in zip(data.questions[:7], sub.questions, strict=True):
        assert q_new.question == q_old.question
        assert np.array_equal(sub.images[q_new.image_index], data.images[q_old.image_index])
        assert sub.scenes[q_new.image_index] == data.scenes[q_old.image_index]


def test_bad_data_raises(data):
    with pytest.raises(ValueError, match="uint8"):
        VQAData(data.images.astype(float), data.scenes, data.questions)
    with pytest.raises(ValueError, match="scenes"):
        VQAData(data.images[:3], data.scenes, ())
    with pytest.raises(ValueError, match="image_index"):
        VQAData(data.images[:2], data.scenes[:2], data.questions)


def test_clevr_files_load_as_they_are(tmp_path, data):
    write_scenes(tmp_path / "CLEVR_scenes.json", data.scenes)
    write_questions(tmp_path / "CLEVR_questions.json", data.questions)
    loaded = load_clevr(tmp_path / "CLEVR_scenes.json", tmp_path / "CLEVR_questions.json")
    assert np.array_equal(loaded.images, data.images)
    assert loaded.answers() == data.answers()
    assert [program_tokens(q) for q in loaded.questions] == [program_tokens(q) for q in data.questions]


def test_programs_are_spread_over_templates(data):
    chosen = spread_over_templates(data.questions, 10)
    templates = {(data.questions[i].template_filename, data.questions[i].question_family_index) for i in chosen}
    assert len(chosen) == 10 and len(templates) == 10
    assert len(spread_over_templates(data.questions, 10_000)) == len(data)


def test_spread_over_templates_can_be_limited_to_candidates_busiest_template_first(data):
    key = [(q.template_filename, q.question_family_index) for q in data.questions]
    busiest = max(set(key), key=key.count)
    among = [i for i, k in enumerate(key) if k == busiest][:3] + [i for i, k in enumerate(key) if k != busiest][:1]
    chosen = spread_over_templates(data.questions, 1, among=among, busiest_first=True)
    assert len(chosen) == 1 and key[chosen[0]] == busiest
    assert set(spread_over_templates(data.questions, 10, among=among)) == set(among)


def test_accuracy_by_type_counts_each_type(data):
    truth = data.answers()
    wrong_counts = [("nope" if question_type(q) == "count" else a) for q, a in zip(data.questions, truth, strict=True)]
    acc, by_type = accuracy_by_type(data, wrong_counts)
    assert by_type["count"] == 0.0
    assert all(v == 1.0 for t, v in by_type.items() if t != "count")
    n_count = sum(question_type(q) == "count" for q in data.questions)
    assert acc == pytest.approx(1 - n_count / len(data))


def test_task_draws_sizes_and_scores_an_oracle(data):
    task = CLEVRTask(n_test=20)
    train = task.train_set(25, seed=0)
    assert len(train) == 25 and len(train.images) <= 4
    test = task.test_set(seed=0)
    assert len(test) == 20

    class Oracle:
        def answer(self, images, questions, image_index):
            by_text = {(q.question, q.image_index): str(q.answer) for q in test.questions}
            return [by_text[(t, i)] for t, i in zip(questions, image_index, strict=True)]

    assert task.score(Oracle(), test)["accuracy"] == 1.0


def test_cogent_task_tests_on_the_other_condition():
    task = CLEVRTask(n_test=10, condition="AB")
    train, test = task.train_set(10, 0), task.test_set(0)
    from hybrid.tasks.clevr import cogent_allowed

    allowed_a, allowed_b = cogent_allowed("A"), cogent_allowed("B")
    for scene in train.scenes:
        assert all(o.color in allowed_a[o.shape] for o in scene.objects)
    for scene in test.scenes:
        assert all(o.color in allowed_b[o.shape] for o in scene.objects)


def test_executor_benchmark_agrees_with_the_generator():
    result = executor_benchmark(200, seed=0)
    assert result["questions"] == 200 and result["agreement"] == 1.0 and result["invalid"] == 0
    assert result["questions_per_s"] > 0


def test_reproduce_summary_and_table_from_stored_stages(tmp_path):
    from hybrid.vqa.reproduce import _settings, _summary, _write_table

    types = {"count": 0.98, "exist": 1.0, "compare_integer": 0.99, "query_attribute": 1.0, "compare_attribute": 1.0}
    row = {"programs": 270, "scenes": 1000, "qa_pairs": 10000, "train_seconds": 900.0, "accuracy": 0.99,
           "accuracy_by_type": types, "program_accuracy": 0.98, "train_flops": 2e12,
           "train_flops_without_rnn_kernels": 1e12}
    deep = {"cnn-lstm": {"1000": {"accuracy": 0.4, "accuracy_by_type": types, "train_seconds": 30.0, "epochs": 12,
                                  "stopped_by": "early-stopping", "train_flops": 1e12,
                                  "train_flops_without_rnn_kernels": 2e11},
                         "10000": {"accuracy": 0.95, "accuracy_by_type": types, "train_seconds": 300.0, "epochs": 300,
                                   "stopped_by": "epoch-cap", "train_flops": 8e12,
                                   "train_flops_without_rnn_kernels": 1e12}}}
    sp = {"object_accuracy": 0.998, "train_scenes": 1000, "train_seconds": 250.0}
    cog = {"A": {"accuracy": 0.99, "object_accuracy": 0.99}, "B": {"accuracy": 0.98, "object_accuracy": 0.99},
           "drop_points": 1.0}
    executor = {"questions_per_s": 12000.0, "agreement": 1.0, "questions": 100000}
    summary = _summary(_settings(False) | {"programs": [270]}, False, executor, sp, {"270": row}, cog, deep, 10000)
    assert summary["accuracy"] == 0.99 and summary["scene_parser_object_accuracy"] == 0.998
    assert summary["deep"]["cnn-lstm"]["qa_pairs_to_90"] == 10000
    assert summary["deep"]["cnn-lstm"]["qa_ratio_to_90_vs_hybrid"] == 1.0
    _write_table(tmp_path / "t.md", summary)
    text = (tmp_path / "t.md").read_text()
    assert "| 270 | 10000 | 99.00% |" in text and "reaches 90% at 10000 QA pairs" in text
    # training compute, as counted now and without the fused LSTM kernels' formulas
    assert summary["deep"]["cnn-lstm"]["train_flops_ratio_vs_hybrid"] == {"1000": 0.5, "10000": 4.0}
    assert summary["deep"]["cnn-lstm"]["train_flops_ratio_vs_hybrid_without_rnn_kernels"] == {"1000": 0.2,
                                                                                             "10000": 1.0}
    assert "| cnn-lstm | 1000 | 1e+12 | 0.5 | 2e+11 | 0.2 |" in text
    # a run the epoch cap ended is flagged
    assert "| 12 (early-stopping) |" in text and "300 (epoch-cap) **(cap)**" in text


def _clevr_folder(tmp_path, data, size=(240, 160), mode="RGBA"):
    """``data`` written as CLEVR ships it: scenes and questions files, and an image folder of
    ``size`` PNGs (its renders stretched, with an alpha channel as CLEVR's PNGs have)."""
    from PIL import Image

    folder = tmp_path / "images" / "val"
    folder.mkdir(parents=True)
    for image, scene in zip(data.images, data.scenes, strict=True):
        Image.fromarray(image).resize(size).convert(mode).save(folder / scene.image_filename)
    write_scenes(tmp_path / "CLEVR_val_scenes.json", data.scenes)
    write_questions(tmp_path / "CLEVR_val_questions.json", data.questions)
    return folder


def test_clevr_image_folder_is_read_as_it_is_and_pixel_coords_follow_the_resize(tmp_path, data):
    folder = _clevr_folder(tmp_path, data)
    loaded = load_clevr(tmp_path / "CLEVR_val_scenes.json", tmp_path / "CLEVR_val_questions.json", images=folder,
                        image_size=64)
    assert loaded.images.shape == (12, 64, 64, 3) and loaded.images.dtype == np.uint8
    assert loaded.answers() == data.answers()
    # 240 x 160 on disk -> 64 x 64: columns scale by 64/240, rows by 64/160, depth kept
    before, after = data.scenes[0].objects[0].pixel_coords, loaded.scenes[0].objects[0].pixel_coords
    assert after == pytest.approx((before[0] * 64 / 240, before[1] * 64 / 160, before[2]))
    # the pictures are the files' (not redrawn): compare with the file resized directly
    from PIL import Image

    with Image.open(folder / data.scenes[3].image_filename) as im:
        direct = np.asarray(im.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR))
    assert np.array_equal(loaded.images[3], direct)


def test_clevr_image_folder_errors_name_the_file(tmp_path, data):
    folder = _clevr_folder(tmp_path, data)
    scenes, questions = tmp_path / "CLEVR_val_scenes.json", tmp_path / "CLEVR_val_questions.json"
    missing = folder / data.scenes[5].image_filename
    missing.rename(folder / "elsewhere.png")
    with pytest.raises(FileNotFoundError, match=missing.name + ".*scenes\\[5\\].*1 of 12"):
        load_clevr(scenes, questions, images=folder)
    (folder / "elsewhere.png").rename(missing)
    missing.write_bytes(b"not a png")
    with pytest.raises(ValueError, match=missing.name + " is not a readable image"):
        load_clevr(scenes, questions, images=folder)
    empty = tmp_path / "train_images"
    empty.mkdir()
    (empty / "CLEVR_train_000000.png").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="holds none of the scenes' 12 images"):
        load_clevr(scenes, questions, images=empty)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_clevr(scenes, questions, images=tmp_path / "nowhere")


def test_generator_answers_load_as_clevr_spells_them(tmp_path, data):
    import json

    write_scenes(tmp_path / "s.json", data.scenes)
    records = [{"question": q.question, "image_index": q.image_index, "program": list(q.program),
                "answer": {"yes": True, "no": False}.get(q.answer, int(q.answer) if q.answer.isdigit() else q.answer)}
               for q in data.questions]
    (tmp_path / "q.json").write_text(json.dumps({"questions": records}))
    loaded = load_clevr(tmp_path / "s.json", tmp_path / "q.json")
    assert loaded.answers() == data.answers()
    assert all(isinstance(q.answer, str) for q in loaded.questions)


def test_accuracy_by_template_names_each_template(data):
    from hybrid.vqa.task import accuracy_by_template, template_of

    truth = data.answers()
    wrong_first = ["wrong"] + truth[1:]
    by_template = accuracy_by_template(data, wrong_first)
    first = template_of(data.questions[0])
    same = sum(template_of(q) == first for q in data.questions)
    assert by_template[first] == pytest.approx(1 - 1 / same)
    assert all(v == 1.0 for k, v in by_template.items() if k != first)
    assert ":" in first and not first.endswith(".json")


def test_seed_summary_reports_mean_worst_seed_and_worst_template(tmp_path):
    from hybrid.vqa.reproduce import _seed_lines, _seed_summary

    types = {"count": 0.99, "exist": 1.0}
    rows = {"0": {"accuracy": 0.996, "object_accuracy": 0.999, "accuracy_by_type": types, "train_seconds": 10.0,
                  "min_template": ["single_or:3", 0.98]},
            "1": {"accuracy": 0.990, "object_accuracy": 0.998, "accuracy_by_type": types, "train_seconds": 11.0,
                  "min_template": ["single_or:7", 0.95]}}
    seeds = _seed_summary(rows)
    assert seeds["accuracy_mean"] == pytest.approx(0.993) and seeds["accuracy_min"] == pytest.approx(0.99)
    assert seeds["min_template"] == {"accuracy": 0.95, "template": "single_or:7", "seed": "1"}
    text = "\n".join(_seed_lines(seeds, list(types)))
    assert "| 1 | 99.80% | 99.00% | count 99.00% | single_or:7 95.00% | — | — | 11 |" in text
    assert "worst seed 99.00%" in text and "Guided" not in text
    for r in rows.values():
        r["guided"] = {"accuracy": 0.997, "min_template": ["compare_integer:7", 0.99]}
    seeds = _seed_summary(rows)
    assert seeds["guided"]["accuracy_mean"] == pytest.approx(0.997) and seeds["min_template"]["accuracy"] == 0.95
    assert "Guided decoding: mean accuracy 99.70%" in "\n".join(_seed_lines(seeds, list(types)))


def test_pictures_keep_numpy_data_and_refuse_unknown_renderers(tmp_path, data):
    from hybrid.vqa.reproduce import Pictures

    assert Pictures("numpy", tmp_path)(data, "train") is data
    assert Pictures("numpy", tmp_path).scene_parser_args() == {}
    assert Pictures("blender", tmp_path, image_size=192).scene_parser_args() == {"positions": "recorded",
                                                                                  "image_size": 192}
    assert Pictures("blender", tmp_path).scene_parser_args({"epochs": 2})["epochs"] == 2
    with pytest.raises(ValueError, match="renderer"):
        Pictures("povray", tmp_path)


def test_table_without_cogent_says_so(tmp_path):
    from hybrid.vqa.reproduce import _settings, _summary, _write_table

    types = {"count": 0.9, "exist": 0.95}
    row = {"programs": 270, "scenes": 873, "qa_pairs": 8730, "train_seconds": 1800.0, "accuracy": 0.911,
           "accuracy_by_type": types, "program_accuracy": 0.97, "min_template": ["single_or:7", 0.72]}
    sp = {"object_accuracy": 0.935, "train_scenes": 873, "train_seconds": 1100.0}
    executor = {"questions_per_s": 12000.0, "agreement": 1.0, "questions": 100000}
    summary = _summary(_settings(False, "blender"), False, executor, sp, {"270": row}, None, {}, 8730)
    summary.update(renderer="blender", renders={"train": {"scenes": 1000, "dropped": 127, "rendered": 248,
                                                          "images_per_s": 0.57}})
    summary["settings"]["render_samples"] = 16
    _write_table(tmp_path / "t.md", summary)
    text = (tmp_path / "t.md").read_text()
    assert "Not run (`--no-cogent`)." in text and "| train | 1000 | 127 | 248 | 0.57 |" in text
    assert "single_or:7 72.00%" in text and "Blender (Cycles, 16 samples per pixel" in text
