"""Perception from transitions alone: clustering cells, naming the clusters with the rules, training on that."""

from __future__ import annotations

import numpy as np
import pytest
from hybrid.neural.planning import GridPerception, collect_labelled_frames, collect_transitions, label_from_transitions
from hybrid.neural.planning.transitions import assign_classes, cluster_cells

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _held_out(env_id, n=100):
    return collect_labelled_frames(env_id, n, seed=99, steps_per_episode=1)


def test_collect_transitions_records_frames_actions_and_ends_without_states():
    tr = collect_transitions("hybrid/LightsOut-v0", 40, seed=0, steps_per_episode=2, presses=1)
    assert len(tr) == 40 and tr.frames.shape == tr.next_frames.shape == (40, 80, 80, 3)
    assert tr.actions.dtype == np.int64 and tr.terminated.dtype == bool and len(tr.models) == 40
    # episodes of at most 2 steps: the first step's next frame is the second step's frame, unless it ended the episode
    step_in_episode, chained = 0, 0
    for i in range(39):
        if step_in_episode == 0 and not tr.terminated[i]:
            np.testing.assert_array_equal(tr.next_frames[i], tr.frames[i + 1])
            chained += 1
            step_in_episode = 1
        else:
            step_in_episode = 0
    assert chained >= 15
    again = collect_transitions("hybrid/LightsOut-v0", 40, seed=0, steps_per_episode=2, presses=1)
    np.testing.assert_array_equal(again.actions, tr.actions)
    with pytest.raises(ValueError, match="single-agent"):
        collect_transitions("hybrid/TicTacToe-v0", 5)
    with pytest.raises(ValueError, match="n must be"):
        collect_transitions("hybrid/LightsOut-v0", 0)


def test_cluster_cells_groups_identical_tiles():
    frames, grids = collect_labelled_frames("hybrid/Sokoban-v0", 40, seed=0)
    clusters = cluster_cells(frames, 10, 10, 7)
    # a bijection between clusters and classes: each cluster holds exactly one class
    pairs = {(int(c), int(g)) for c, g in zip(clusters.ravel(), grids.ravel(), strict=True)}
    assert len(pairs) == 7 == len({c for c, _ in pairs}) == len({g for _, g in pairs})
    with pytest.raises(ValueError, match="distinct cell crops"):
        cluster_cells(frames[:1] * 0, 10, 10, 7)


def test_lights_out_read_from_unlabelled_transitions():
    tr = collect_transitions("hybrid/LightsOut-v0", 150, seed=0, steps_per_episode=2, presses=1)
    assert tr.terminated.any()  # some episodes reach the goal: they break the on/off symmetry
    p = GridPerception(5, 5, 2, epochs=1, seed=0).fit_transitions(tr)
    assert p.labelling_.consistency == 1.0 and p.labelling_.tied == 1
    frames, grids = _held_out("hybrid/LightsOut-v0")
    assert p.score(frames, grids)["state_accuracy"] == 1.0


def test_a_symmetry_the_rules_cannot_break_is_reported():
    # without an episode that ends at the goal, "on" and "off" are interchangeable under the rules
    tr = collect_transitions("hybrid/LightsOut-v0", 60, seed=0, steps_per_episode=3)
    assert not tr.terminated.any()
    _, _, labelling = label_from_transitions(tr, 5, 5, 2, n_init=1)
    assert labelling.consistency == 1.0 and labelling.tied == 2
    with pytest.warns(RuntimeWarning, match="namings"):
        GridPerception(5, 5, 2, epochs=1).fit_transitions(tr, n_init=1)


def test_sokoban_read_from_unlabelled_transitions():
    tr = collect_transitions("hybrid/Sokoban-v0", 120, seed=0)
    frames, grids, labelling = label_from_transitions(tr, 10, 10, 7, max_transitions=120)
    assert labelling.tied == 1 and labelling.consistency == 1.0
    test_frames, test_grids = _held_out("hybrid/Sokoban-v0")
    p = GridPerception(10, 10, 7, epochs=1, seed=0).fit(frames, grids)
    assert p.score(test_frames, test_grids)["state_accuracy"] == 1.0


def test_assign_classes_rejects_what_it_cannot_search():
    g = np.zeros((1, 2, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="num_classes"):
        assign_classes(g, g, np.zeros(1, int), np.zeros(1, bool), [None], 10)
    with pytest.raises(ValueError, match="one entry each"):
        assign_classes(g, g, np.zeros(2, int), np.zeros(1, bool), [None], 2)
