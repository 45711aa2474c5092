"""The planning tasks of the evaluator: test sets, training specs, scoring, and the registry."""

import math

import numpy as np
import pytest
import torch

from hybrid.evaluate.registry import get_method, methods_for, tasks
from hybrid.evaluate.sweep import execute_run, plan_grid
from hybrid.planning.task import (
    DeepRLPolicy,
    PerceiveAndSearch,
    PlanningTask,
    RandomPolicy,
    sb3_budget_kwargs,
)


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def test_registered_tasks_and_methods():
    registered = tasks()
    for name in ("8-puzzle", "lights-out", "sokoban"):
        assert name in registered
        assert registered[name].in_quick == (name == "lights-out")  # the quick path's one planning task
        assert registered[name].pillar == "planning"
        methods = methods_for(name)
        assert {"perceive-plan", "ppo", "dqn"} <= set(methods)
        assert methods["perceive-plan"].family == "hybrid"
        assert methods["ppo"].family == "deep" and methods["dqn"].family == "deep"
        task = registered[name].factory()
        assert task.name == name and task.metrics[0].name == "success_rate"
        assert task.metrics[0].target == 0.95


def test_test_sets_are_deterministic_and_follow_the_protocols():
    eight = PlanningTask("8-puzzle", n_test=6)
    a, b = eight.test_set(3), eight.test_set(3)
    assert a == b and a != eight.test_set(4)
    assert [ep["options"]["scramble"] for ep in a.episodes] == [7, 14] * 3
    soko = PlanningTask("sokoban", n_test=5).test_set(0)
    indexes = [ep["options"]["level_index"] for ep in soko.episodes]
    assert len(set(indexes)) == 5 and all(0 <= i < 1000 for i in indexes)
    assert soko.env_kwargs["level_file"].endswith("000.txt") and soko.max_steps == 300


def test_train_set_is_a_budget_on_generated_instances():
    spec = PlanningTask("sokoban").train_set(250, 1)
    assert (spec.env_id, spec.n, spec.seed) == ("hybrid/Sokoban-v0", 250, 1)
    assert "level_file" not in spec.env_kwargs and spec.env_kwargs["num_boxes"] == 4


@pytest.mark.parametrize("kwargs", [{"name": "chess"}, {"n_test": 0}, {"max_steps": 0},
                                    {"name": "sokoban", "size": 5}, {"name": "lights-out", "size": 1}])
def test_bad_task_arguments_are_named(kwargs):
    with pytest.raises(ValueError, match=list(kwargs)[-1]):
        PlanningTask(**kwargs)


def test_bad_budget_is_refused():
    with pytest.raises(ValueError, match="n must be"):
        PlanningTask("lights-out").train_set(0, 0)


def test_hybrid_beats_a_random_policy_on_lights_out():
    task = PlanningTask("lights-out", n_test=4)
    test = task.test_set(0)
    hybrid = PerceiveAndSearch(seed=0, perception={"epochs": 5}).fit(task.train_set(30, 0))
    assert hybrid.interactions_ == 30
    scored = task.score(hybrid, test)
    rand = task.score(RandomPolicy(25, seed=0).fit(task.train_set(1, 0)), test)
    assert 0.0 <= rand["success_rate"] <= 1.0 and 0.0 <= scored["success_rate"] <= 1.0
    assert scored["success_rate"] > rand["success_rate"]
    assert scored["success_rate"] == 1.0 and scored["perception_state_accuracy"] == 1.0
    assert math.isnan(rand["perception_state_accuracy"])  # no perceive(): no perception figure
    assert len(scored["details"]["episodes"]) == 4


def test_giving_up_ends_the_episode_as_a_failure():
    class GivesUp:
        family = "hybrid"

        def reset(self):
            pass

        def act(self, frame):
            return None

    test = PlanningTask("lights-out", n_test=2).test_set(0)
    scored = PlanningTask("lights-out").score(GivesUp(), test)
    assert scored["success_rate"] == 0.0
    assert all(ep["steps"] == 1 for ep in scored["details"]["episodes"])


def test_deep_policy_trains_within_its_budget_and_scores_a_rate():
    task = PlanningTask("lights-out", n_test=1, max_steps=20)
    ppo = DeepRLPolicy("ppo", seed=0).fit(task.train_set(16, 0))
    assert 16 <= ppo.interactions_ <= 24
    action = ppo.act(np.zeros((80, 80, 3), np.uint8))
    assert 0 <= action < 25
    assert 0.0 <= task.score(ppo, task.test_set(0))["success_rate"] <= 1.0
    with pytest.raises(ValueError, match="algo"):
        DeepRLPolicy("a2c")


def test_small_ppo_budgets_use_one_short_rollout():
    assert sb3_budget_kwargs("ppo", 100) == (1, {"n_steps": 104, "batch_size": 8})
    assert sb3_budget_kwargs("ppo", 10) == (1, {"n_steps": 16, "batch_size": 16})
    assert sb3_budget_kwargs("ppo", 5000) == (4, {})
    assert sb3_budget_kwargs("dqn", 10) == (1, {})


def test_the_evaluator_runs_a_planning_config():
    configs = plan_grid(["lights-out"], ["perceive-plan"], [20], 1, "cpu",
                        task_params={"lights-out": {"n_test": 2}},
                        method_params={"perceive-plan": {"perception": {"epochs": 5}}})
    record = execute_run(configs[0], track_energy=False)
    assert record.status == "ok", record.details
    assert record.metrics["success_rate"] == 1.0
    assert record.inference["symbolic_ops"]["search_expansions"] >= 2
    assert get_method("perceive-plan", "lights-out").defaults == {"time_limit_s": 10.0}
