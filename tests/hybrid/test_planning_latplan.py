"""Latplan's protocol: instances at exact optimal lengths, plans judged in the true rules, the reproduce run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hybrid.symbolic.planning.best_first import best_first_search, model_successors

from hybrid.planning.envs import planning_env
from hybrid.planning.labels import RULES_LEARNED_TRANSITIONS
from hybrid.planning.latplan import (
    LATPLAN_DOMAINS,
    domain_frames,
    latplan_domain,
    latplan_instances,
    reachable_states,
    score_plans,
    training_transitions,
)
from hybrid.planning.latplan_reproduce import GIVEN, LEARNED, reproduce_latplan
from hybrid.planning.learned import execute_plan


@pytest.mark.parametrize("key", [d.key for d in LATPLAN_DOMAINS])
def test_instances_are_exactly_their_optimal_length_from_the_goal(key):
    domain = latplan_domain(key)
    row, model = planning_env(domain.env_id), domain.model()
    instances = latplan_instances(domain, per_length=2, steps=(3, 5), seed=4)
    assert [i.optimal for i in instances] == [3, 3, 5, 5]
    assert len({i.start for i in instances}) == 4
    for inst in instances:
        if domain.level is None:  # the canonical goal: the env's exact solver
            found = row.solver(model, inst.start, 30.0)
        else:  # one Sokoban level: breadth-first to that very goal state (player included)
            found = best_first_search(inst.start, model_successors(model, inst.goal.__eq__), inst.goal.__eq__)
        assert found.solved and len(found.actions) == inst.optimal
        assert execute_plan(model, inst.start, inst.goal, found.actions).valid


def test_plans_are_judged_in_the_true_rules():
    domain = latplan_domain("lights-out")
    model = domain.model()
    instances = latplan_instances(domain, per_length=1, steps=(3,), seed=0) * 4
    best = planning_env(domain.env_id).solver(model, instances[0].start, None).actions
    longer = (0, 0) + tuple(best)  # pressing a cell twice undoes it: valid, not optimal
    wrong = tuple(best[:-1])
    scores = score_plans(domain, instances, [tuple(best), longer, wrong, None], [0.1, 0.2, 0.3, 0.4],
                         RULES_LEARNED_TRANSITIONS, transitions=7)
    assert scores["found"] == 0.75 and scores["valid"] == 0.5 and scores["optimal"] == 0.25
    assert scores["by_length"]["3"]["valid"] == 0.5
    assert scores["rules"] == "rules learned" and scores["data"] == "unlabelled transitions"
    assert scores["transitions"] == 7 and scores["max_seconds"] == 0.4


def test_an_illegal_move_makes_a_plan_invalid():
    domain = latplan_domain("8-puzzle")
    model = domain.model()
    # the blank one cell right of the goal's corner: "left" solves it, "up" moves the blank off the board
    start = (1, 0, 2, 3, 4, 5, 6, 7, 8)
    assert execute_plan(model, start, model.goal_state, (2,)).valid
    result = execute_plan(model, start, model.goal_state, (0, 2))
    assert not result.valid and result.illegal_at == 0


def test_sokoban_transitions_are_drawn_from_the_levels_reachable_states():
    domain = latplan_domain("sokoban")
    model = domain.model()
    data = training_transitions(domain, 50, seed=3)
    assert data.frames.shape == (50, 56, 56, 3) and data.frames.dtype == np.uint8
    reachable = set(reachable_states(model))
    frames = {f.tobytes() for f in domain_frames(domain, list(reachable))}
    assert all(f.tobytes() in frames for f in data.frames) and all(f.tobytes() in frames for f in data.next_frames)
    assert not np.array_equal(data.frames, data.next_frames)


def test_unknown_domain_and_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="domain must be one of"):
        latplan_domain("15-puzzle")
    with pytest.raises(ValueError, match="per_length"):
        latplan_instances(latplan_domain("lights-out"), per_length=0)
    with pytest.raises(ValueError, match="ppo_multipliers"):
        reproduce_latplan("unused", ppo_multipliers=[0])


def test_reproduce_writes_the_labelled_table_and_resumes(tmp_path):
    settings = {"domains": ["lights-out"], "per_length": 1, "transitions": 300, "epochs": 1, "given_frames": 20,
                "ppo_multipliers": [1], "time_limit_s": 1.0}
    logs: list[str] = []
    summary = reproduce_latplan(tmp_path, settings=settings, ppo=False, progress=False, log=logs.append)
    row = summary["results"]["lights-out"]
    assert row[LEARNED]["rules"] == "rules learned" and row[LEARNED]["data"] == "unlabelled transitions"
    assert row[GIVEN]["rules"] == "rules given" and row[GIVEN]["data"] == "labelled frames"
    assert row[LEARNED]["transitions"] == 300 and row[LEARNED]["instances"] == 2
    table = (tmp_path / "latplan.md").read_text()
    assert "| lights-out | learned action model + search | rules learned | unlabelled transitions | 300 |" in table
    assert "| lights-out | perception + exact solver | rules given | labelled frames | 20 |" in table
    model = json.loads((tmp_path / "models" / "lights-out.json").read_text())
    assert model["num_slots"] == 25 and model["observed"] == 300
    assert "(define (domain learned-lights-out)" in (tmp_path / "pddl" / "lights-out-domain.pddl").read_text()
    assert json.loads((tmp_path / "summary.json").read_text())["targets"]["lights-out valid"]["target"] == ">= 95%"
    again = reproduce_latplan(tmp_path, settings=settings, ppo=False, progress=False, log=logs.append)
    assert again["stages_computed"] == [] and again["results"] == json.loads(json.dumps(summary["results"]))
    assert np.isfinite(row[LEARNED]["train_seconds"])


def test_ppo_plans_are_what_the_policy_did_from_each_start():
    pytest.importorskip("stable_baselines3")
    from hybrid.planning.latplan import ppo_plans

    domain = latplan_domain("lights-out")
    instances = latplan_instances(domain, per_length=1, steps=(1, 2), seed=0)
    plans, seconds, info = ppo_plans(domain, instances, budget=64, seed=0, max_steps=5)
    assert info["env_steps"] == 64 and len(plans) == len(seconds) == 2
    model = domain.model()
    for inst, p in zip(instances, plans, strict=True):
        # a plan is kept only when the policy reached the goal within the step limit, and it replays there
        assert p is None or execute_plan(model, inst.start, inst.goal, p).valid


def test_reproduce_runs_the_sokoban_room_without_ppo(tmp_path):
    settings = {"domains": ["sokoban"], "per_length": 1, "transitions": 200, "epochs": 1, "given_frames": 20,
                "held_out": 0, "ppo_multipliers": [1], "time_limit_s": 1.0}
    summary = reproduce_latplan(tmp_path, settings=settings, ppo=True, progress=False, log=lambda _: None)
    row = summary["results"]["sokoban"]
    assert set(row) == {LEARNED, GIVEN}  # PPO needs an env that starts from a given state
    assert row[LEARNED]["instances"] == 2 and row[LEARNED]["merged_symbols"] >= 0
    assert "| sokoban | learned action model + search | rules learned |" in (tmp_path / "latplan.md").read_text()
