"""A hybrid's own networks compressed: output matching, NS-VQA's parsers, perceive-plan's perception.

A pruned network keeps exactly ``w - round(amount * w)`` of each layer's ``w`` weights;
output matching brings a pruned network's outputs closer to its dense original's than
pruning alone leaves them; int8 quantises the question parser only; the pruned perception
still reads fresh frames right and the hybrid still solves its puzzles; bad settings and
recipes that change nothing are refused.
"""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hybrid.neural.compress import magnitude_prune
from sklearn.base import clone
from torch import nn

from hybrid.compressed_hybrid import CompressedHybrid, match_outputs
from hybrid.evaluate.footprint import model_footprint
from hybrid.evaluate.registry import methods_for, tasks
from hybrid.vqa.compressed import CompressedNSVQA
from hybrid.vqa.nsvqa import NSVQA

pytestmark = pytest.mark.usefixtures("one_torch_thread")

_NSVQA = {"n_programs": 5, "n_scenes": 6, "reinforce_steps": 0, "active_share": 0.0,
          "scene_parser": {"image_size": 64, "epochs": 2, "channels": 8, "factored_colour": False},
          "question_parser": {"epochs": 2, "embed_dim": 8, "hidden_dim": 16}}


def _conv_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 4, 1))


def test_output_matching_brings_a_pruned_network_back_towards_its_dense_outputs():
    torch.manual_seed(0)
    dense, inputs = _conv_net(), torch.randn(64, 3, 8, 8)
    with torch.no_grad():
        target = dense(inputs)
    untuned = magnitude_prune(dense, 0.7)
    tuned = magnitude_prune(dense, 0.7, permanent=False)
    match_outputs(tuned, dense, inputs, epochs=30, lr=3e-3, batch_size=16, seed=0)
    with torch.no_grad():
        err_untuned = float(((untuned(inputs) - target) ** 2).mean())
        err_tuned = float(((tuned(inputs) - target) ** 2).mean())
    assert err_tuned < 0.5 * err_untuned
    for a, b in zip(untuned.modules(), tuned.modules(), strict=True):  # the same weights are zero
        if isinstance(a, nn.Conv2d):
            assert torch.equal(a.weight == 0, b.weight == 0)


@pytest.fixture(scope="module")
def clevr():
    task = tasks()["clevr"].factory(n_test=10, image_size=64)
    return task, task.train_set(30, 0), task.test_set(0)


def test_the_compressed_ns_vqa_methods_are_hybrids_registered_for_both_clevr_tasks():
    for task in ("clevr", "clevr-cogent"):
        found = methods_for(task)
        for suffix in ("int8", "pruned", "pruned-int8"):
            assert found[f"ns-vqa-{suffix}"].family == "hybrid"


def test_pruned_scene_parser_keeps_exactly_the_unpruned_weights_and_the_question_parser(clevr):
    _, train, test = clevr
    method = CompressedNSVQA(NSVQA(seed=0, **_NSVQA), recipe="prune", amount=0.8, fine_tune_epochs=2).fit(train)
    dense = NSVQA(seed=0, **_NSVQA).fit(train)
    scene = dense.scene_parser_.net_
    pruned = method.model_.scene_parser_.net_
    for a, b in zip(scene.modules(), pruned.modules(), strict=True):
        if isinstance(a, nn.Conv2d):  # every layer keeps its share
            assert int(torch.count_nonzero(b.weight)) == a.weight.numel() - round(0.8 * a.weight.numel())
    assert method.compressed_networks_ == ["scene_parser"]
    for a, b in zip(dense.question_parser_.net_.state_dict().values(),
                    method.model_.question_parser_.net_.state_dict().values(), strict=True):
        assert torch.equal(a, b)  # the same seed trains the same question parser, left dense
    report = method.compression_
    footprint = model_footprint(method)
    assert footprint["nonzero_params"] == report.nonzero_after < report.nonzero_before
    assert report.bytes_after < report.bytes_before
    answers = method.answer(test.images, test.texts()[:5], np.asarray(test.image_index)[:5])
    assert len(answers) == 5 and all(isinstance(a, str) for a in answers)
    restored = pickle.loads(pickle.dumps(method))
    assert restored.answer(test.images, test.texts()[:5], np.asarray(test.image_index)[:5]) == answers


def test_int8_quantises_the_question_parser_and_keeps_its_programs(clevr):
    _, train, test = clevr
    method = CompressedNSVQA(NSVQA(seed=0, **_NSVQA), recipe="int8").fit(train)
    dense = NSVQA(seed=0, **_NSVQA).fit(train)
    assert method.compressed_networks_ == ["question_parser"]
    parser = method.model_.question_parser_
    assert parser.device_.type == "cpu"
    assert any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in parser.net_.modules())
    texts = test.texts()
    same = np.mean([a == b for a, b in zip(parser.parse(texts), dense.question_parser_.parse(texts), strict=True)])
    assert same >= 0.9  # int8 weights change a few decoding steps at most
    assert method.compression_.bytes_after < method.compression_.bytes_before


class _NoNetworks(CompressedHybrid):
    def _parts(self, model):
        return {"perception": SimpleNamespace(net_=nn.Sequential(nn.Conv2d(3, 4, 3)), device_=torch.device("cpu"))}

    def _fit_hybrid(self, train):
        return object()


@pytest.mark.parametrize(("setting", "message"), [
    ({"recipe": "distill"}, "recipe must be one of int8, prune, prune\\+int8"),
    ({"amount": 1.0}, "amount must be a fraction in \\(0, 1\\)"),
    ({"fine_tune_epochs": -1}, "fine_tune_epochs must be an integer >= 0"),
    ({"lr": 0.0}, "lr must be a number > 0"),
    ({"recipe": "int8"}, "recipe 'int8' changes none of object's networks \\(perception\\)"),
    ({"recipe": "prune"}, "recipe 'prune' changes none of object's networks \\(perception\\): none is fine-tunable"),
])
def test_bad_settings_and_recipes_that_change_nothing_are_refused(setting, message):
    with pytest.raises(ValueError, match=message):
        _NoNetworks(NSVQA(), **setting).fit(None)


def test_pruned_perception_reads_fresh_frames_as_the_dense_one_and_the_hybrid_still_plans():
    from hybrid.planning.compressed import CompressedPerceiveAndSearch
    from hybrid.planning.perceive import perception_frames
    from hybrid.planning.task import PerceiveAndSearch

    task = tasks()["lights-out"].factory(n_test=3)
    train = task.train_set(100, 0)
    hybrid = PerceiveAndSearch(seed=0, perception={"epochs": 3}, time_limit_s=5.0)
    method = CompressedPerceiveAndSearch(hybrid, recipe="prune", amount=0.8, fine_tune_epochs=100).fit(train)
    dense = clone(hybrid).fit(train)
    for a, b in zip(dense.perception_.net_.modules(), method.model_.perception_.net_.modules(), strict=True):
        if isinstance(a, (nn.Conv2d, nn.Linear)):
            assert int(torch.count_nonzero(b.weight)) == a.weight.numel() - round(0.8 * a.weight.numel())
    frames, grids = perception_frames(train.env_id, 30, seed=7, env_kwargs=train.env_kwargs)
    assert (dense.perception_.predict(frames) == grids).all()
    assert (method.model_.perception_.predict(frames) == grids).all()
    assert method.interactions_ == 100
    assert task.score(method, task.test_set(0))["success_rate"] == 1.0
    assert method.compression_.nonzero_after < 0.25 * method.compression_.nonzero_before


def test_int8_perception_quantises_its_linear_head_only():
    from hybrid.planning.compressed import CompressedPerceiveAndSearch
    from hybrid.planning.task import PerceiveAndSearch

    task = tasks()["lights-out"].factory(n_test=1)
    method = CompressedPerceiveAndSearch(PerceiveAndSearch(seed=0, perception={"epochs": 1}), recipe="int8")
    method.fit(task.train_set(20, 0))
    net = method.model_.perception_.net_
    assert type(net.head).__module__.startswith("torch.ao.nn.quantized")
    assert all(type(m) is nn.Conv2d for m in net.features.modules() if "Conv" in type(m).__name__)
    assert method.model_.perception_.device_.type == "cpu"
