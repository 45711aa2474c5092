"""The NS-VQA pipeline end to end on a tiny set: it trains, answers from pixels, and round-trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hybrid.symbolic.programs import answer_text, execute
from sklearn.exceptions import NotFittedError

from hybrid.vqa.data import make_vqa_data
from hybrid.vqa.nsvqa import NSVQA, fallbacks_by_type, program_tokens, spread_over_templates


@pytest.fixture(scope="module")
def fitted():
    torch.set_num_threads(1)
    train = make_vqa_data(40, 6, np.random.default_rng(0), image_size=64)
    model = NSVQA(
        n_programs=120,
        reinforce_steps=3,
        reinforce_batch=16,
        # one network: on 40 scenes of 64 px the factored colour branch needs more epochs
        # (tests/neural/test_vqa_scene_parser.py covers it; the benchmark measures it)
        scene_parser={"image_size": 64, "epochs": 25, "factored_colour": False},
        question_parser={"epochs": 150},
        seed=0,
    ).fit(train)
    return model, train


def test_pipeline_answers_from_pixels_better_than_its_fallback(fitted):
    model, train = fitted
    answered = model.run(train.images, train.texts(), train.image_index)
    truth = train.answers()
    accuracy = np.mean([a.answer == t for a, t in zip(answered, truth, strict=True)])
    fallback = np.mean([model.fallback_answer_ == t for t in truth])
    assert accuracy > fallback + 0.1
    # every valid answer is the executor's answer for its program on the parsed scene
    scenes = model.parse_scenes(train.images)
    for a, i in zip(answered, train.image_index, strict=True):
        if a.valid:
            assert answer_text(execute(list(a.program), scenes[i])) == a.answer
    assert model.n_programs_used_ == 120 and model.n_scenes_used_ == 40
    # the last third of the budget went to questions the first-round parser got wrong
    first = set(spread_over_templates(train.questions, 80))
    assert first < set(model.annotated_) and len(model.annotated_) == 120 and model.active_failures_ > 0


def test_question_parser_learns_the_annotated_programs(fitted):
    model, train = fitted
    parsed = model.question_parser_.parse(train.texts()[:60])
    exact = np.mean([p == program_tokens(q) for p, q in zip(parsed, train.questions[:60], strict=True)])
    assert exact > 0.5


def test_save_and_load_give_the_same_answers(fitted, tmp_path):
    model, train = fitted
    model.save(tmp_path / "model")
    loaded = NSVQA.load(tmp_path / "model")
    texts = train.texts()[:30]
    index = train.image_index[:30]
    assert loaded.answer(train.images, texts, index) == model.answer(train.images, texts, index)


def test_bad_input_is_refused(fitted, tmp_path):
    model, train = fitted
    with pytest.raises(ValueError, match="VQAData"):
        NSVQA().fit("not data")
    with pytest.raises(NotFittedError, match="not fitted"):
        NSVQA().answer(train.images, ["what?"], [0])
    with pytest.raises(ValueError, match="missing"):
        NSVQA.load(tmp_path)
    with pytest.raises(ValueError, match="image_index"):
        model.answer(train.images, ["How many things are there?"], [len(train.images)])
    with pytest.raises(ValueError, match="n_programs"):
        NSVQA(n_programs=0).fit(train)
    # a question with words never seen still gets an answer
    assert len(model.answer(train.images[:1], ["Is the flibbertigibbet zorbly?"])) == 1


def test_clevr_task_runs_through_the_evaluator():
    from hybrid.evaluate.api import compare

    records = compare(
        "clevr", ["ns-vqa", "cnn-lstm"], sizes=[40], seeds=1, jobs=1, track_energy=False, progress=False,
        task_params={"clevr": {"n_test": 20, "image_size": 64}},
        method_params={
            "ns-vqa": {"n_programs": 40, "reinforce_steps": 2, "reinforce_batch": 8,
                       "scene_parser": {"image_size": 64, "epochs": 3}, "question_parser": {"epochs": 3}},
            "cnn-lstm": {"epochs": 2},
        },
    )
    assert {r.config.method: r.config.family for r in records} == {"ns-vqa": "hybrid", "cnn-lstm": "deep"}
    for r in records:
        assert r.status == "ok", r.error
        assert 0.0 <= r.metrics["accuracy"] <= 1.0
        assert set(r.metrics) >= {"accuracy_count", "accuracy_exist", "accuracy_query_attribute"}
    hybrid = next(r for r in records if r.config.method == "ns-vqa")
    assert hybrid.inference["symbolic_ops"]["programs"] == 20  # one program run per test question
    assert hybrid.train["symbolic_ops"]["programs"] == 2 * 8  # REINFORCE: 2 steps of 8 sampled programs


class _Scenes:
    """A scene parser that reads every image as the given scene."""

    def __init__(self, scene):
        self.scene = scene

    def parse(self, images):
        return [self.scene] * len(images)


class _Candidates:
    """A question parser whose candidates are fixed: first one that cannot run, then one that can."""

    def parse_candidates(self, questions, beam_size=5, bound_values=False):
        return [[["count", "unique", "scene"], ["count", "scene"]] for _ in questions]

    def parse(self, questions, beam_size=1, bound_values=False):
        return [c[0] for c in self.parse_candidates(questions, beam_size, bound_values)]


@pytest.mark.parametrize("guided", [False, True])
def test_guided_decoding_answers_with_the_first_candidate_that_runs(guided):
    data = make_vqa_data(3, 1, np.random.default_rng(0))
    scene = next(s for s in data.scenes if len(s.objects) > 1)  # `unique` of several objects cannot run
    model = NSVQA(guided_decoding=guided)
    model.scene_parser_, model.question_parser_ = _Scenes(scene), _Candidates()
    model.fallback_answer_ = "no"  # the most common answer overall ...
    model.fallback_answers_ = fallbacks_by_type(["no", "no", "yes", "0", "0", "4", "red"])  # ... and per type
    (answered,) = model.run(np.zeros((1, 8, 8, 3), np.uint8), ["How many things are there?"])
    if guided:
        assert answered.valid and answered.answer == str(len(scene.objects))
        assert answered.program == ("count", "scene")
    else:  # the first candidate only: it fails, and a count answers a "how many" question, not "no"
        assert not answered.valid and answered.answer == "0" and answered.program == ("count", "unique", "scene")


def test_fallback_stays_within_the_answer_type_of_the_programs_last_function():
    fallbacks = fallbacks_by_type(["no", "yes", "yes", "2", "3", "3", "cube", "red", "rubber", "large", "??"])
    assert fallbacks == {"Bool": "yes", "Integer": "3", "Shape": "cube", "Color": "red", "Material": "rubber",
                         "Size": "large"}
    model = NSVQA()
    model.question_parser_, model.fallback_answer_, model.fallback_answers_ = object(), "yes", fallbacks
    assert model.fallback_for(["count", "unique", "scene"]) == "3"
    assert model.fallback_for(["query_color", "unique", "scene"]) == "red"
    assert model.fallback_for(["equal_integer", "count", "scene", "count", "scene"]) == "yes"
    # no answer type to go by (an object set, nothing parsed, an unknown token): the most common answer
    for tokens in (["filter_color[red]", "scene"], [], ["no_such_function"]):
        assert model.fallback_for(tokens) == "yes"
