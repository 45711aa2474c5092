"""Levin tree search: complete with a uniform policy, fast with a good one, batched or not."""

from __future__ import annotations

import numpy as np
import pytest
from hybrid.symbolic.planning.best_first import astar
from hybrid.symbolic.planning.levin import levin_search, uniform_policy
from hybrid.tasks.envs.sokoban import SokobanModel

# Microban 1: 33 moves at best.
MICROBAN_1 = "####\n# .#\n#  ###\n#*@  #\n#  $ #\n#  ###\n####"


def _replays(model, start, actions) -> bool:
    s = start
    for a in actions:
        s = model.step(s, a).state
    return model.is_solved(s)


def _path_policy(model, start, solution, mass=0.9):
    """A good policy: ``mass`` on the next action of a known solution, the rest spread evenly."""
    on_path = {}
    s = start
    for a in solution:
        on_path[s] = a
        s = model.step(s, a).state

    def policy(state):
        p = np.full(4, (1 - mass) / 3)
        if state in on_path:
            p[on_path[state]] = mass
        else:
            p[:] = 0.25
        return p

    return policy


def test_uniform_policy_solves_and_a_good_policy_expands_fewer():
    model = SokobanModel.from_text(MICROBAN_1)
    start = model.initial_state
    uniform = levin_search(model, start, uniform_policy(4))
    assert uniform.solved and _replays(model, start, uniform.actions)
    assert uniform.cost == len(uniform.actions) and uniform.info["levin_cost"] > 0
    optimal = astar(model, start)
    good = levin_search(model, start, _path_policy(model, start, optimal.actions))
    assert good.solved and _replays(model, start, good.actions)
    assert good.actions == optimal.actions  # the policy's path, followed straight
    assert len(optimal.actions) <= good.expanded <= 2 * len(optimal.actions)
    assert good.expanded * 10 < uniform.expanded
    # LevinTS's guarantee: no more expansions than the solution's d / pi
    assert good.expanded <= good.info["levin_cost"] and uniform.expanded <= uniform.info["levin_cost"]
    assert good.info["levin_cost"] < uniform.info["levin_cost"]


def test_batched_policy_gives_the_same_guarantee():
    model = SokobanModel.from_text(MICROBAN_1)
    start = model.initial_state
    calls = []

    def batch_policy(states):
        calls.append(len(states))
        return np.full((len(states), 4), 0.25)

    res = levin_search(model, start, batch_policy=batch_policy, batch_size=16)
    assert res.solved and _replays(model, start, res.actions)
    assert max(calls) > 1 and max(calls) <= 16
    assert len(calls) < res.expanded  # several nodes per policy call


def test_zero_probability_actions_are_never_taken_and_limits_stop():
    model = SokobanModel.from_text("#####\n#@$.#\n#####")
    never_right = levin_search(model, model.initial_state, lambda s: np.array([0.5, 0.5, 0.0, 0.0]))
    assert not never_right.solved and never_right.reason == "exhausted"
    hard = SokobanModel.from_text(MICROBAN_1)
    res = levin_search(hard, hard.initial_state, uniform_policy(4), max_expansions=5)
    assert not res.solved and res.reason == "node limit" and res.expanded == 5
    res = levin_search(hard, hard.initial_state, uniform_policy(4), time_limit_s=0.0)
    assert not res.solved and res.reason == "time limit"


def test_bad_arguments_raise():
    model = SokobanModel.from_text("#####\n#@$.#\n#####")
    s = model.initial_state
    with pytest.raises(ValueError, match="exactly one"):
        levin_search(model, s)
    with pytest.raises(ValueError, match="exactly one"):
        levin_search(model, s, uniform_policy(4), batch_policy=lambda xs: np.ones((len(xs), 4)))
    with pytest.raises(ValueError, match="batch_size"):
        levin_search(model, s, batch_policy=lambda xs: np.ones((len(xs), 4)), batch_size=0)
    with pytest.raises(ValueError, match="4 probabilities"):
        levin_search(model, s, lambda state: np.ones(3))
    with pytest.raises(TypeError, match="callable"):
        levin_search(model, s, "uniform")
    with pytest.raises(ValueError, match="num_actions"):
        uniform_policy(0)
