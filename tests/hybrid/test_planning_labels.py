"""Every planning result is labelled: rules given / learned / none, and what was learned from."""

import json
import warnings

import numpy as np
import pytest
import torch
from hybrid.neural.planning import GridPerception, collect_labelled_frames, collect_transitions

from hybrid.evaluate.registry import get_method, methods_for
from hybrid.evaluate.report import write_report
from hybrid.evaluate.store import RunConfig, RunRecord
from hybrid.planning.agents import make_agent
from hybrid.planning.compressed import CompressedPerceiveAndSearch, CompressedPolicy
from hybrid.planning.labels import (
    DATA_ENV_STEPS,
    DATA_LABELLED_FRAMES,
    DATA_NONE,
    DATA_UNLABELLED_TRANSITIONS,
    LABEL_KEYS,
    MODEL_FREE,
    RULES_GIVEN,
    RULES_GIVEN_FRAMES,
    RULES_GIVEN_TRANSITIONS,
    RULES_LEARNED,
    RULES_LEARNED_TRANSITIONS,
    RULES_NONE,
    PlanningLabels,
    label_row,
    method_labels,
    perception_data,
    planning_labels,
    register_labels,
)
from hybrid.planning.task import DeepRLPolicy, PerceiveAndSearch, PlanningTask, RandomPolicy

LIGHTS_OUT = "hybrid/LightsOut-v0"


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def frames_perception():
    torch.set_num_threads(1)
    frames, grids = collect_labelled_frames(LIGHTS_OUT, 20, seed=0, env_kwargs={"size": 5})
    return GridPerception(5, 5, 2, epochs=1, seed=0).fit(frames, grids)


@pytest.fixture(scope="module")
def transitions_perception():
    torch.set_num_threads(1)
    tr = collect_transitions(LIGHTS_OUT, 150, seed=0, steps_per_episode=2, presses=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # tied namings are the naming's business, not the label's
        return GridPerception(5, 5, 2, epochs=1, seed=0).fit_transitions(tr)


def test_the_labels_are_two_keys_of_fixed_values():
    assert LABEL_KEYS == ("rules", "data")
    assert RULES_GIVEN_FRAMES.as_dict() == {"rules": "rules given", "data": "labelled frames"}
    assert RULES_GIVEN_TRANSITIONS.as_dict() == {"rules": "rules given", "data": "unlabelled transitions"}
    assert RULES_LEARNED_TRANSITIONS.as_dict() == {"rules": "rules learned", "data": "unlabelled transitions"}
    assert MODEL_FREE.as_dict() == {"rules": "none (model-free)", "data": "environment steps"}
    assert str(MODEL_FREE) == "none (model-free); environment steps"
    with pytest.raises(ValueError, match="rules must be one of"):
        PlanningLabels("rules guessed", DATA_LABELLED_FRAMES)
    with pytest.raises(ValueError, match="data must be one of"):
        PlanningLabels(RULES_GIVEN, "pixels")


def test_label_row_adds_rules_and_data_and_keeps_the_row():
    row = {"puzzle": "sokoban", "solved_rate": 1.0}
    labelled = label_row(row, RULES_GIVEN_FRAMES)
    assert labelled == {"puzzle": "sokoban", "solved_rate": 1.0, "rules": RULES_GIVEN, "data": DATA_LABELLED_FRAMES}
    assert row == {"puzzle": "sokoban", "solved_rate": 1.0}  # a copy
    assert list(labelled)[-2:] == ["rules", "data"]
    assert planning_labels(labelled) == RULES_GIVEN_FRAMES  # a labelled row reads back
    assert label_row({"rules": "x", "data": "y"}, MODEL_FREE) == MODEL_FREE.as_dict()


def test_rules_given_agent_with_labelled_frame_perception(frames_perception):
    assert perception_data(frames_perception) == DATA_LABELLED_FRAMES
    agent = make_agent(LIGHTS_OUT, frames_perception, {"size": 5})
    assert agent.planning_labels == RULES_GIVEN_FRAMES
    assert planning_labels(agent) == PlanningLabels("rules given", "labelled frames")


def test_rules_given_agent_with_perception_from_unlabelled_transitions(transitions_perception):
    assert perception_data(transitions_perception) == DATA_UNLABELLED_TRANSITIONS
    agent = make_agent(LIGHTS_OUT, transitions_perception, {"size": 5})
    assert planning_labels(agent) == PlanningLabels("rules given", "unlabelled transitions")
    assert label_row({"puzzle": "lights-out"}, agent)["data"] == "unlabelled transitions"


def test_an_agent_reading_symbols_learned_nothing():
    agent = make_agent(LIGHTS_OUT, None, {"size": 5})
    assert planning_labels(agent) == PlanningLabels(RULES_GIVEN, DATA_NONE)


def test_perceive_plan_is_rules_given_from_labelled_frames_before_and_after_fit():
    method = PerceiveAndSearch(perception={"epochs": 1})
    assert planning_labels(method) == RULES_GIVEN_FRAMES
    task = PlanningTask("lights-out", n_test=1)
    method.fit(task.train_set(5, seed=0))
    assert planning_labels(method) == RULES_GIVEN_FRAMES == method.agent_.planning_labels
    wrapped = CompressedPerceiveAndSearch(PerceiveAndSearch(), recipe="int8")
    assert planning_labels(wrapped) == RULES_GIVEN_FRAMES  # through the hybrid it wraps


def test_deep_baselines_are_model_free_from_environment_steps():
    for policy in (DeepRLPolicy("ppo"), DeepRLPolicy("dqn")):
        labels = planning_labels(policy)
        assert labels == MODEL_FREE and labels.rules == RULES_NONE and labels.data == DATA_ENV_STEPS
    assert planning_labels(DeepRLPolicy) == MODEL_FREE  # the class declares them
    assert planning_labels(CompressedPolicy(DeepRLPolicy("ppo"), recipe="int8")) == MODEL_FREE  # its teacher's
    assert planning_labels(RandomPolicy(4)) == PlanningLabels(RULES_NONE, DATA_NONE)


def test_every_registered_planning_method_is_labelled():
    expected = {"perceive-plan": RULES_GIVEN_FRAMES, "perceive-plan-pruned": RULES_GIVEN_FRAMES,
                "perceive-plan-int8": RULES_GIVEN_FRAMES, "ppo": MODEL_FREE, "dqn": MODEL_FREE,
                "ppo-int8": MODEL_FREE, "dqn-pruned-int8": MODEL_FREE}
    for name, labels in expected.items():
        assert planning_labels(name) == labels
        assert get_method(name).description.endswith(f"[{labels}]")
    for task in ("8-puzzle", "lights-out", "sokoban"):
        for name, entry in methods_for(task).items():
            labels = method_labels(name)
            assert labels is not None, f"{name} has no planning labels"
            assert (labels.rules == RULES_NONE) == (entry.family in ("deep", "compressed-deep")), name
            built = entry.factory(PlanningTask(task, n_test=1), seed=0, device="cpu", **entry.defaults)
            assert planning_labels(built) == labels, name  # what the registry says is what the method says
    assert PlanningTask.method_labels("ppo") == {"rules": "none (model-free)", "data": "environment steps"}
    assert PlanningTask.method_labels("no-such-method") == {}


def test_a_new_module_declares_its_labels_once(monkeypatch):
    from hybrid.planning import labels as module

    monkeypatch.setattr(module, "_METHOD_LABELS", dict(module._METHOD_LABELS))  # left as it was after the test

    class Learned:
        planning_labels = RULES_LEARNED_TRANSITIONS

    register_labels("test-latplan", (RULES_LEARNED, DATA_UNLABELLED_TRANSITIONS))
    assert planning_labels("test-latplan") == planning_labels(Learned()) == RULES_LEARNED_TRANSITIONS
    with pytest.raises(ValueError, match="rules must be one of"):
        register_labels("test-bad", ("rules invented", DATA_NONE))


def test_what_has_no_labels_is_refused():
    with pytest.raises(ValueError, match="no planning labels"):
        planning_labels("no-such-method")
    with pytest.raises(TypeError, match="no planning labels"):
        planning_labels(object())
    with pytest.raises(TypeError, match="rules"):
        planning_labels({"rules": RULES_GIVEN})
    with pytest.raises(TypeError):
        planning_labels(PerceiveAndSearch)  # its labels are the fitted agent's: ask an instance


def _record(method, family, n, seed, rate):
    config = RunConfig(task="lights-out", task_params={"n_test": 2}, method=method, method_params={}, family=family,
                       n_train=n, seed=seed, device="cpu")
    return RunRecord(config=config, status="ok", metrics={"success_rate": rate, "perception_state_accuracy": np.nan},
                     train={"flops": 1e6, "wall_s": 0.1}, inference={"flops": 1e3, "wall_s": 0.01})


def test_the_evaluator_report_shows_the_labels(tmp_path):
    records = [_record(m, f, n, s, r) for s in (0, 1) for m, f, r in
               (("perceive-plan", "hybrid", 1.0), ("ppo", "deep", 0.0)) for n in (5, 20)]
    files = write_report(records, tmp_path)
    text = files.report.read_text()
    section = text[text.index("### Method labels"):]
    section = section[:section.index("\n###")]
    assert "| method | family | rules | data |" in section
    assert "| perceive-plan | hybrid | rules given | labelled frames |" in section
    assert "| ppo | deep | none (model-free) | environment steps |" in section
    summary = json.loads(files.summary.read_text())
    assert summary["lights-out.perceive-plan.rules"] == "rules given"
    assert summary["lights-out.ppo.data"] == "environment steps"
