"""The parts of symbolic.planning.mcts: selection rules, evaluators, the tree arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hybrid.symbolic.planning.mcts import (
    RolloutEvaluator,
    UniformEvaluator,
    check_evaluation,
    completed_q,
    considered_visit_sequence,
    edge_q_values,
    edge_visit_counts,
    gumbel_interior_select,
    gumbel_root_select,
    new_tree,
    node_value,
    puct_select,
    uct_select,
)
from hybrid.tasks.envs.connect_four import ConnectFourModel
from hybrid.tasks.envs.model import Transition
from hybrid.tasks.envs.tic_tac_toe import TicTacToeModel


def test_uct_visits_unvisited_children_first_then_balances_value_and_exploration():
    assert uct_select([3, 0, 2], [3.0, 0.0, 2.0], 6, 2.0) == 1
    # equal counts: the higher mean wins
    assert uct_select([4, 4], [1.0, 2.0], 9, 2.0) == 1
    # a much less visited child wins on exploration
    n = 101
    assert uct_select([90, 10], [45.0, 4.0], n, 2.0) == 1
    assert uct_select([90, 10], [45.0, 4.0], n, 0.0) == 0
    # the score is the textbook one
    scores = [w / c + 2.0 * math.sqrt(math.log(n) / c) for c, w in ((90, 45.0), (10, 4.0))]
    assert scores[1] > scores[0]


def test_puct_uses_alphazero_constants_and_priors():
    # no visits yet: the highest prior
    assert puct_select([0, 0, 0], [0.0, 0.0, 0.0], [0.2, 0.5, 0.3], 1) == 1
    # a strong Q keeps the visits against an unvisited child of small prior, not of an equal one
    assert puct_select([100, 0], [90.0, 0.0], [0.95, 0.05], 101) == 0
    assert puct_select([100, 0], [90.0, 0.0], [0.5, 0.5], 101) == 1
    n, c_base, c_init = 11, 19652.0, 1.25
    c = (math.log((n + c_base + 1) / c_base) + c_init) * math.sqrt(n)
    s0, s1 = 0.1 + c * 0.3 / 6, -0.2 + c * 0.7 / 5
    assert puct_select([5, 4], [0.5, -0.8], [0.3, 0.7], n) == (0 if s0 > s1 else 1)


def test_considered_visit_sequence_matches_sequential_halving():
    # 4 actions, 16 simulations: one round of 4 x 2 visits, then 2 actions x 4 visits each
    assert considered_visit_sequence(4, 16) == (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5)
    assert considered_visit_sequence(1, 4) == (0, 1, 2, 3)
    assert len(considered_visit_sequence(16, 50)) == 50


def test_completed_q_fills_unvisited_with_the_mixed_value_and_rescales():
    visits, values, priors = [2, 0, 1], [1.0, 0.0, -1.0], [0.5, 0.25, 0.25]
    sigma = completed_q(visits, values, priors, raw_value=0.2, value_scale=0.1, maxvisit_init=50.0)
    q = [0.5, None, -1.0]
    weighted = (0.5 * 0.5 + 0.25 * -1.0) / 0.75
    mixed = (0.2 + 3 * weighted) / 4
    q[1] = mixed
    lo, hi = min(q), max(q)
    expected = [(v - lo) / (hi - lo) * (50 + 2) * 0.1 for v in q]
    assert sigma == pytest.approx(expected)


def test_gumbel_root_select_considers_only_the_current_visit_level():
    visits = [1, 0, 1, 0]
    gumbel = [10.0, 0.0, 10.0, 0.5]
    logits = [0.0, 0.0, 0.0, 0.0]
    sigma = [0.0, 0.0, 0.0, 0.0]
    assert gumbel_root_select(visits, gumbel, logits, sigma, considered_visit=0) == 3
    assert gumbel_root_select(visits, gumbel, logits, [1.0, 0.0, 0.0, 0.0], considered_visit=1) == 0


def test_gumbel_interior_select_matches_visits_to_the_improved_policy():
    logits = [0.0, 0.0]
    assert gumbel_interior_select([0, 0], logits, [1.0, 0.0]) == 0
    assert gumbel_interior_select([5, 0], logits, [1.0, 0.0]) == 1  # visit share 5/6 > pi'(0)


class Chain:
    """Single agent: ``k`` moves of the only action, reward 1 on the last one."""

    num_actions = 2
    num_players = 1

    def __init__(self, k):
        self.k = k

    def legal_action_ids(self, s):
        return () if s >= self.k else (0,)

    def legal_actions(self, s):
        return np.array([s < self.k, False])

    def step(self, s, a):
        return Transition(s + 1, 1.0 if s + 1 == self.k else 0.0, s + 1 == self.k)

    def is_terminal(self, s):
        return s >= self.k

    def current_player(self, s):
        return 0


def test_rollout_values_are_for_the_player_to_move_and_discounted():
    chain = Chain(4)
    priors, values = RolloutEvaluator(chain, np.random.default_rng(0), discount=0.5)([0, 3, 4])
    assert values.tolist() == [0.5**3, 1.0, 0.0]  # reward 1 after 4, 1 and 0 moves
    assert priors.shape == (3, 2) and np.allclose(priors, 0.5)
    # tic-tac-toe positions whose every rollout ends the same way: +1 for a mover whose only
    # move wins, -1 for a mover (O) whose two moves both leave X a winning last cell
    ttt = TicTacToeModel()
    won, lost = _forced_positions(ttt)
    ev = RolloutEvaluator(ttt, np.random.default_rng(1))
    assert ev([won] * 10)[1].tolist() == [1.0] * 10
    assert ev([lost] * 10)[1].tolist() == [-1.0] * 10
    assert ttt.current_player(lost) == 1


def _forced_positions(ttt):
    """Return a position whose single move wins, and an O-to-move position lost whatever O plays."""
    rng = np.random.default_rng(0)
    won = lost = None
    while won is None or lost is None:
        s = ttt.initial_state()
        while not ttt.is_terminal(s):
            ids = ttt.legal_action_ids(s)
            if len(ids) == 1 and ttt.step(s, ids[0]).reward == 1.0:
                won = s
            after = [ttt.step(s, a) for a in ids]
            if (
                len(ids) == 2
                and not any(t.done for t in after)
                and all(ttt.step(t.state, b).reward == 1.0 for t in after for b in ttt.legal_action_ids(t.state))
            ):
                lost = s
            s = ttt.step(s, ids[int(rng.integers(len(ids)))]).state
    return won, lost


def test_rollout_evaluator_is_deterministic_and_cut_by_max_steps():
    c4 = ConnectFourModel()
    a = RolloutEvaluator(c4, np.random.default_rng(5))([c4.initial_state()] * 50)[1]
    b = RolloutEvaluator(c4, np.random.default_rng(5))([c4.initial_state()] * 50)[1]
    assert a.tolist() == b.tolist()
    assert set(a.tolist()) <= {-1.0, 0.0, 1.0}
    short = RolloutEvaluator(c4, np.random.default_rng(5), max_steps=3)([c4.initial_state()] * 20)[1]
    assert short.tolist() == [0.0] * 20  # nobody wins in 3 moves


def test_check_evaluation_names_expected_and_actual_shapes():
    p, v = check_evaluation([[0.5, 0.5]], [0.1], 1, 2)
    assert p.dtype == np.float64 and v.shape == (1,)
    with pytest.raises(ValueError, match=r"priors of shape \(2, 2\); expected \(batch, num_actions\) = \(1, 2\)"):
        check_evaluation(np.ones((2, 2)), [0.0], 1, 2)
    with pytest.raises(ValueError, match=r"values of shape \(2,\); expected \(batch,\) = \(1,\)"):
        check_evaluation(np.ones((1, 2)), [0.0, 1.0], 1, 2)
    with pytest.raises(ValueError, match="num_actions"):
        UniformEvaluator(0)


def test_new_tree_and_root_statistics():
    ttt = TicTacToeModel()
    tree = new_tree(ttt, ttt.initial_state())
    assert tree.num_nodes == 1 and tree.actions[0] == tuple(range(9)) and tree.players[0] == 0
    tree.child_visits[0][4] = 3
    tree.child_values[0][4] = 1.5
    assert edge_visit_counts(tree).tolist() == [0, 0, 0, 0, 3, 0, 0, 0, 0]
    q = edge_q_values(tree)
    assert q[4] == 0.5 and np.isnan(q[0])
    tree.priors[0] = [1 / 9] * 9
    tree.raw_values[0] = 0.5
    assert node_value(tree) == pytest.approx((0.5 + 1.5) / 4)
    with pytest.raises(ValueError, match="terminal"):
        new_tree(Chain(1), 1)
