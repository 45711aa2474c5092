"""The learned action model and the search over it, on latent transitions whose truth is known."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hybrid.symbolic.planning.action_model import ActionModel, GroundedAction
from hybrid.symbolic.planning.learned_search import goal_count, plan
from hybrid.tasks.envs.lights_out import LightsOutModel
from hybrid.tasks.envs.sliding_puzzle import SlidingPuzzleModel


def _bits(state: int, n: int) -> tuple[int, ...]:
    return tuple((state >> k) & 1 for k in range(n))


def _lights_out_transitions(size: int = 3):
    """Every (state, press, next state) of Lights Out, states written as one bit per cell."""
    model = LightsOutModel(size)
    n = size * size
    z, a, z2 = [], [], []
    for s in range(2**n):
        for k in range(n):
            z.append(_bits(s, n))
            a.append(k)
            z2.append(_bits(s ^ model.press_masks[k], n))
    return model, np.array(z), np.array(a), np.array(z2)


def _sliding_transitions(rng: np.random.Generator, n: int):
    """Random 8-puzzle transitions (illegal moves included: they change nothing), the state as the latent."""
    model = SlidingPuzzleModel(3)
    z, a, z2 = [], [], []
    state = model.scramble(rng, 20)
    for _ in range(n):
        act = int(rng.integers(4))
        nxt = model.step(state, act).state if act in model.legal_action_ids(state) else state
        z.append(state)
        a.append(act)
        z2.append(nxt)
        state = nxt if nxt != model.goal_state else model.scramble(rng, 20)
    return model, np.array(z), np.array(a), np.array(z2)


def _bfs_distance(model, start, goal) -> int:
    frontier, seen, d = [start], {start}, 0
    while frontier:
        if goal in frontier:
            return d
        nxt = []
        for s in frontier:
            for act in model.legal_action_ids(s):
                t = model.step(s, act).state
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        frontier, d = nxt, d + 1
    raise AssertionError("unreachable")


def test_lights_out_actions_are_grounded_by_the_cells_they_toggle():
    model, z, a, z2 = _lights_out_transitions(3)
    am = ActionModel.from_transitions(z, a, z2, num_actions=9)
    # press k flips its cross; a grounded action per pattern of the cross's old values
    for g in am.actions:
        cross = [s for s in range(9) if (model.press_masks[g.action] >> s) & 1]
        assert [s for s, _ in g.eff] == cross
        assert all(dict(g.pre)[s] != v for s, v in g.eff)
    assert len(am.actions) == sum(2 ** bin(m).count("1") for m in model.press_masks)
    assert am.noops == 0 and am.observed == len(z)


def test_successors_and_predecessors_agree_with_the_true_rules():
    model, z, a, z2 = _lights_out_transitions(3)
    am = ActionModel.from_transitions(z, a, z2, num_actions=9)
    for s in (0, 5, 0b101010101):
        state = _bits(s, 9)
        got = sorted((am.actions[i].action, nxt) for i, nxt, _ in am.successors(state))
        assert got == [(k, _bits(s ^ model.press_masks[k], 9)) for k in range(9)]
        back = sorted((am.actions[i].action, prev) for i, prev in am.predecessors(state))
        assert back == [(k, _bits(s ^ model.press_masks[k], 9)) for k in range(9)]


@pytest.mark.parametrize("search", ["bidirectional", "astar"])
def test_plans_in_the_learned_model_are_optimal_in_the_true_one(search):
    rng = np.random.default_rng(0)
    model, z, a, z2 = _sliding_transitions(rng, 6000)
    am = ActionModel.from_transitions(z, a, z2, num_actions=4)
    assert am.noops > 0  # the illegal moves were recorded and dropped
    for _ in range(4):
        start = model.scramble(rng, 10)
        found = plan(am, start, model.goal_state, search=search, time_limit_s=30)
        assert found.solved
        state = start
        for act in found.actions:
            state = model.step(state, act).state
        assert state == model.goal_state
        assert len(found.actions) == _bfs_distance(model, start, model.goal_state)
        assert found.states[0] == start and found.states[-1] == model.goal_state


def test_a_goal_the_data_never_reaches_is_not_found():
    z = np.array([[0, 0], [1, 0]])
    z2 = np.array([[1, 0], [0, 0]])
    am = ActionModel.from_transitions(z, np.array([0, 0]), z2, num_actions=1)
    for search in ("bidirectional", "astar"):
        found = plan(am, (0, 0), (0, 1), search=search)
        assert not found.solved and found.reason == "exhausted" and found.actions == ()


def test_constant_preconditions_keep_what_never_varied():
    # action 0 moves a block from slot 0 to slot 1; slot 2 (above slot 0) was always empty (0)
    z = np.array([[3, 0, 0, 5], [3, 0, 0, 6], [3, 0, 0, 7]])
    z2 = z.copy()
    z2[:, 0], z2[:, 1] = 0, 3
    changed = ActionModel.from_transitions(z, np.zeros(3, int), z2, num_actions=1)
    constant = ActionModel.from_transitions(z, np.zeros(3, int), z2, num_actions=1, preconditions="constant")
    assert changed.actions[0].pre == ((0, 3), (1, 0))
    assert constant.actions[0].pre == ((0, 3), (1, 0), (2, 0))
    assert constant.applicable((3, 0, 0, 1)) == [0] and constant.applicable((3, 0, 4, 1)) == []
    assert changed.applicable((3, 0, 4, 1)) == [0]


def test_goal_count_is_admissible():
    model, z, a, z2 = _lights_out_transitions(3)
    am = ActionModel.from_transitions(z, a, z2, num_actions=9)
    goal = _bits(0, 9)
    h = goal_count(am, goal)
    for s in range(0, 512, 37):
        state = _bits(s, 9)
        exact = plan(am, state, goal).cost
        assert h(state) <= exact


def test_json_and_pddl_round_trip():
    model, z, a, z2 = _lights_out_transitions(2)
    am = ActionModel.from_transitions(z, a, z2, num_actions=4)
    again = ActionModel.from_dict(json.loads(json.dumps(am.to_dict())))
    assert again.actions == am.actions and again.num_slots == 4
    domain, problem = am.to_pddl((1, 0, 0, 0), (0, 0, 0, 0), domain="lights-out", action_names=("a", "b", "c", "d"))
    assert domain.count("(:action ") == len(am.actions)
    assert "(:requirements :strips)" in domain and "(s0-v1)" in domain
    assert "(:init (s0-v1) (s1-v0) (s2-v0) (s3-v0))" in problem
    assert "(:goal (and (s0-v0) (s1-v0) (s2-v0) (s3-v0)))" in problem
    # every effect deletes the old value of its slot
    for g in am.actions:
        for s, v in g.eff:
            assert f"(not (s{s}-v{dict(g.pre)[s]})) (s{s}-v{v})" in domain


def test_bad_input_is_refused_with_clear_errors():
    z = np.zeros((3, 2), int)
    with pytest.raises(ValueError, match="actions must be in 0..1"):
        ActionModel.from_transitions(z, np.array([0, 1, 2]), z, num_actions=2)
    with pytest.raises(ValueError, match="one shape"):
        ActionModel.from_transitions(z, np.zeros(3, int), np.zeros((3, 3), int), num_actions=1)
    with pytest.raises(ValueError, match="preconditions"):
        ActionModel.from_transitions(z, np.zeros(3, int), z, num_actions=1, preconditions="all")
    with pytest.raises(ValueError, match="num_values"):
        ActionModel.from_transitions(z + 4, np.zeros(3, int), z, num_actions=1, num_values=2)
    am = ActionModel.from_transitions(z, np.zeros(3, int), z, num_actions=1, num_values=2)
    with pytest.raises(ValueError, match="start must be 2 ints in 0..1"):
        plan(am, (0, 5), (0, 0))
    with pytest.raises(ValueError, match="goal must be 2 ints"):
        plan(am, (0, 0), (0, 0, 0))
    with pytest.raises(ValueError, match="search"):
        plan(am, (0, 0), (0, 0), search="dfs")
    with pytest.raises(ValueError, match="domain must be a PDDL name"):
        am.to_pddl((0, 0), (0, 0), domain="9 bad")
    with pytest.raises(ValueError, match="not an action model"):
        ActionModel.from_dict({"actions": []})


def test_grounded_action_applies_and_sets_its_effects():
    g = GroundedAction(2, ((0, 1), (3, 0)), ((0, 0), (3, 2)), 5)
    assert g.applies((1, 9, 9, 0)) and not g.applies((0, 9, 9, 0))
    assert g.apply((1, 9, 9, 0)) == (0, 9, 9, 2)


def test_observed_preconditions_forbid_what_the_instances_never_showed():
    # a block (symbol 3) moves from slot 0 onto slot 1; slot 2, under slot 1, always held a block (1 or 2),
    # and elsewhere in the data it is empty (0): landing on empty space is forbidden
    z = np.array([[3, 0, 1, 0], [3, 0, 2, 0], [3, 0, 1, 0]])
    z2 = z.copy()
    z2[:, 0], z2[:, 1] = 0, 3
    other = np.array([[0, 0, 0, 3]])
    states = np.concatenate([z, other])
    nexts = np.concatenate([z2, np.array([[0, 0, 0, 0]])])
    am = ActionModel.from_transitions(states, np.array([0, 0, 0, 1]), nexts, num_actions=2, preconditions="observed")
    move = next(g for g in am.actions if g.action == 0)
    assert move.pre == ((0, 3), (1, 0), (3, 0)) and (2, 0) in move.neg
    assert move.applies((3, 0, 2, 0)) and not move.applies((3, 0, 0, 0))
    domain, _ = am.to_pddl((3, 0, 1, 0), (0, 3, 1, 0))
    assert ":negative-preconditions" in domain and "(not (s2-v0))" in domain
    assert ActionModel.from_dict(am.to_dict()).actions == am.actions
