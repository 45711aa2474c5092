"""MCTS (symbolic.planning.mcts): correct search on toy models, tic-tac-toe and Connect Four."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hybrid.symbolic.planning.mcts import (
    MCTSConfig,
    RolloutEvaluator,
    Tree,
    UniformEvaluator,
    reuse_tree,
    search,
)
from hybrid.tasks.envs.connect_four import ConnectFourModel
from hybrid.tasks.envs.model import Transition
from hybrid.tasks.envs.tic_tac_toe import TicTacToeModel

ROOT_DIR = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- toy models


class TableModel:
    """A model given by an explicit table: ``table[state][action] = (next, reward, done)``."""

    def __init__(self, table: dict, players: dict, num_actions: int, num_players: int = 2) -> None:
        self.table = table
        self.players = players
        self.num_actions = num_actions
        self.num_players = num_players

    def legal_action_ids(self, state):
        return tuple(sorted(self.table.get(state, {})))

    def legal_actions(self, state):
        mask = np.zeros(self.num_actions, dtype=bool)
        mask[list(self.legal_action_ids(state))] = True
        return mask

    def step(self, state, action):
        try:
            return Transition(*self.table[state][action])
        except KeyError:
            raise ValueError(f"illegal action {action} in {state!r}") from None

    def is_terminal(self, state):
        return not self.table.get(state)

    def current_player(self, state):
        return self.players.get(state, 0)


class Nim:
    """Take 1, 2 or 3 stones (actions 0, 1, 2); who takes the last stone wins. State (pile, player)."""

    num_actions = 3
    num_players = 2

    def legal_action_ids(self, state):
        return tuple(range(min(3, state[0])))

    def legal_actions(self, state):
        mask = np.zeros(3, dtype=bool)
        mask[list(self.legal_action_ids(state))] = True
        return mask

    def step(self, state, action):
        pile, player = state
        if action not in self.legal_action_ids(state):
            raise ValueError("illegal")
        left = pile - action - 1
        return Transition((left, 1 - player), 1.0 if left == 0 else 0.0, left == 0)

    def is_terminal(self, state):
        return state[0] == 0

    def current_player(self, state):
        return state[1]


def bandit(rewards, legal=None) -> TableModel:
    """A one-move single-agent game: action ``a`` ends the episode with reward ``rewards[a]``."""
    legal = range(len(rewards)) if legal is None else legal
    table = {"s": {a: (("end", a), float(rewards[a]), True) for a in legal}}
    return TableModel(table, {}, len(rewards), num_players=1)


class ConstantEvaluator:
    """Priors ``prior`` (or uniform) and value ``value`` for every state; records batch sizes."""

    def __init__(self, num_actions, value=0.0, prior=None):
        self.num_actions = num_actions
        self.value = value
        self.prior = np.full(num_actions, 1.0 / num_actions) if prior is None else np.asarray(prior, float)
        self.batches: list[int] = []

    def __call__(self, states):
        self.batches.append(len(states))
        return np.tile(self.prior, (len(states), 1)), np.full(len(states), self.value)


def play(model, moves):
    state = model.initial_state()
    for a in moves:
        state = model.step(state, a).state
    return state


def uct(n, **kw) -> MCTSConfig:
    return MCTSConfig(num_simulations=n, selection="uct", **kw)


# ---------------------------------------------------------------- backing up


def test_single_agent_backup_adds_discounted_rewards_and_leaf_value_exactly():
    # s0 -a0-> s1 (reward 0.5) -a0-> s2 (reward 1, terminal); the evaluator says 0.25 everywhere.
    table = {"s0": {0: ("s1", 0.5, False)}, "s1": {0: ("s2", 1.0, True)}}
    model = TableModel(table, {}, 1, num_players=1)
    ev = ConstantEvaluator(1, value=0.25)
    r = search(model, "s0", ev, np.random.default_rng(0), MCTSConfig(num_simulations=2, selection="puct", discount=0.9))
    # simulation 1 expands s1: 0.5 + 0.9 * 0.25; simulation 2 reaches terminal s2: 0.5 + 0.9 * 1.
    assert r.tree.child_values[0][0] == pytest.approx(0.725 + 1.4)
    assert r.q_values[0] == pytest.approx((0.725 + 1.4) / 2)
    assert r.root_value == pytest.approx((0.25 + 0.725 + 1.4) / 3)
    assert ev.batches == [1, 1]  # the root, then s1; the terminal s2 is never evaluated


def test_two_player_backup_negates_between_players_and_not_when_the_same_player_moves_again():
    # "a" (player 0) -0-> "b" (player 1), -1-> "c" (player 0 again: a bonus move).
    table = {"a": {0: ("b", 0.0, False), 1: ("c", 0.2, False)}, "b": {0: ("x", 1.0, True)}, "c": {0: ("y", 1.0, True)}}
    model = TableModel(table, {"a": 0, "b": 1, "c": 0}, 2)
    ev = ConstantEvaluator(2, value=0.3)
    r = search(model, "a", ev, np.random.default_rng(0), MCTSConfig(num_simulations=2, selection="puct"))
    tree = r.tree
    q = {a: tree.child_values[0][i] / tree.child_visits[0][i] for i, a in enumerate(tree.actions[0])}
    assert q[0] == pytest.approx(-0.3)  # the opponent's 0.3 is our -0.3
    assert q[1] == pytest.approx(0.2 + 0.3)  # our own move again: reward plus our value


def test_virtual_loss_is_undone_and_every_simulation_counts():
    model = Nim()
    ev = ConstantEvaluator(3, value=0.0)
    cfg = MCTSConfig(num_simulations=64, selection="puct", batch_size=8)
    r = search(model, (30, 0), ev, np.random.default_rng(1), cfg)
    assert r.visit_counts.sum() == 64
    assert max(ev.batches[1:]) <= 8 and sum(ev.batches[1:]) <= 64
    assert len(ev.batches) < 20  # the leaves were really batched
    # no rewards below depth 27 and value 0: every backed-up return is exactly 0
    assert all(w == 0.0 for ws in r.tree.child_values for w in ws)
    assert all(sum(cv) + 1 <= n for cv, n in zip(r.tree.child_visits, r.tree.visits, strict=True))


# ---------------------------------------------------------------- finding moves


@pytest.mark.parametrize("selection", ["uct", "puct", "gumbel"])
@pytest.mark.parametrize("pile", [5, 6, 7])
def test_nim_finds_the_winning_move(selection, pile):
    model = Nim()
    rng = np.random.default_rng(pile)
    ev = RolloutEvaluator(model, np.random.default_rng(100 + pile))
    r = search(model, (pile, 0), ev, rng, MCTSConfig(num_simulations=300, selection=selection))
    assert r.action == pile % 4 - 1  # leave a multiple of 4


def test_tic_tac_toe_takes_the_immediate_win():
    model = TicTacToeModel()
    state = play(model, [0, 3, 1, 4])  # X holds 0, 1; O holds 3, 4 and threatens 5; X to move wins at 2
    for seed in range(3):
        rng = np.random.default_rng(seed)
        r = search(model, state, RolloutEvaluator(model, np.random.default_rng(seed)), rng, uct(400))
        assert r.action == 2
        assert r.q_values[2] == 1.0


def test_tic_tac_toe_blocks_the_opponents_immediate_win():
    model = TicTacToeModel()
    state = play(model, [0, 4, 8, 3])  # O threatens 5 (3-4-5); X has no win
    for seed in range(3):
        rng = np.random.default_rng(seed)
        r = search(model, state, RolloutEvaluator(model, np.random.default_rng(seed)), rng, uct(1000))
        assert r.action == 5


def test_connect_four_takes_the_immediate_win_and_blocks():
    model = ConnectFourModel()
    win = play(model, [0, 0, 1, 1, 2, 2])  # player 0: three on the bottom row, 3 wins
    block = play(model, [0, 6, 1, 6, 2])  # player 1 must block column 3
    for seed in range(2):
        rng = np.random.default_rng(seed)
        ev = RolloutEvaluator(model, np.random.default_rng(seed))
        assert search(model, win, ev, rng, uct(300)).action == 3
        assert search(model, block, ev, rng, uct(2000)).action == 3


@pytest.mark.parametrize("selection", ["puct", "gumbel"])
def test_connect_four_win_and_block_with_a_uniform_prior_and_terminal_rewards(selection):
    model = ConnectFourModel()
    ev = UniformEvaluator(7)
    rng = np.random.default_rng(0)
    assert search(model, play(model, [0, 0, 1, 1, 2, 2]), ev, rng, MCTSConfig(64, selection)).action == 3
    assert search(model, play(model, [0, 6, 1, 6, 2]), ev, rng, MCTSConfig(400, selection)).action == 3


def test_puct_follows_a_perfect_prior_with_few_simulations():
    model = TicTacToeModel()
    state = play(model, [0, 4, 8, 3])
    prior = np.full(9, 0.01)
    prior[5] = 1.0
    r = search(model, state, ConstantEvaluator(9, 0.0, prior), np.random.default_rng(0), MCTSConfig(8, "puct"))
    assert r.action == 5
    assert r.visit_counts[5] == r.visit_counts.max()
    assert r.policy.sum() == pytest.approx(1.0)


def test_empty_tic_tac_toe_is_a_draw_with_many_simulations():
    model = TicTacToeModel()
    rng = np.random.default_rng(0)
    r = search(model, model.initial_state(), UniformEvaluator(9), rng, MCTSConfig(20000, "puct"))
    assert abs(r.root_value) < 0.1  # 0.06 here; 1.0 would be a won game for X
    assert abs(r.q_values[r.action]) < 0.15
    assert r.action == 4  # the centre is the most searched opening


def test_gumbel_picks_the_best_arm_with_few_simulations():
    rewards = [0.1, 0.5, 0.2, 1.0, 0.0, 0.3, 0.4, 0.6]
    model = bandit(rewards)
    picked = []
    for seed in range(20):
        r = search(model, "s", UniformEvaluator(8), np.random.default_rng(seed), MCTSConfig(16, "gumbel"))
        picked.append(r.action)
        assert r.visit_counts.sum() == 16
        assert int(np.argmax(r.policy)) == 3  # the improved policy ranks the best arm first
    # the final action is a Gumbel sample among the survivors: the 0.6 arm wins a few draws
    assert picked.count(3) >= 17
    for seed in range(5):  # without noise, sequential halving keeps the best arm to the end
        cfg = MCTSConfig(16, "gumbel", gumbel_scale=0.0)
        assert search(model, "s", UniformEvaluator(8), np.random.default_rng(seed), cfg).action == 3


def test_gumbel_considers_only_the_top_k_with_fewer_simulations_than_actions():
    model = bandit([0.0] * 8)
    cfg = MCTSConfig(4, "gumbel", max_num_considered_actions=4)
    r = search(model, "s", UniformEvaluator(8), np.random.default_rng(0), cfg)
    assert sorted(r.visit_counts.tolist()) == [0, 0, 0, 0, 1, 1, 1, 1]


def test_single_agent_corridor_prefers_the_goal_with_discount():
    # positions 0..4, actions 0 (left) and 1 (right); reaching 4 pays 1 and ends.
    table = {}
    for p in range(4):
        table[p] = {0: (max(p - 1, 0), 0.0, False), 1: (p + 1, 1.0 if p == 3 else 0.0, p == 3)}
    model = TableModel(table, {}, 2, num_players=1)
    for selection in ("uct", "puct", "gumbel"):
        r = search(model, 0, UniformEvaluator(2), np.random.default_rng(0), MCTSConfig(200, selection, discount=0.9))
        assert r.action == 1, selection
        assert r.q_values[1] > r.q_values[0]
        assert r.q_values[1] <= 0.9**3 + 1e-12


# ---------------------------------------------------------------- masking


class MaskingModel:
    """Single move; actions 1 and 3 are always illegal; action a pays a / 10."""

    num_actions = 5
    num_players = 1

    def legal_action_ids(self, state):
        return () if state != "s" else (0, 2, 4)

    def legal_actions(self, state):
        return np.array([a in self.legal_action_ids(state) for a in range(5)])

    def step(self, state, action):
        if action not in self.legal_action_ids(state):
            raise ValueError("illegal")
        return Transition(("end", action), action / 10, True)

    def is_terminal(self, state):
        return state != "s"

    def current_player(self, state):
        return 0


@pytest.mark.parametrize("selection", ["uct", "puct", "gumbel"])
@pytest.mark.parametrize("batch_size", [1, 4])
def test_masked_actions_are_never_expanded_selected_or_returned(selection, batch_size):
    model = MaskingModel()
    prior = [0.05, 0.45, 0.05, 0.4, 0.05]  # most prior mass on the illegal actions
    ev = ConstantEvaluator(5, 0.0, prior)
    cfg = MCTSConfig(40, selection, batch_size=batch_size, dirichlet_alpha=0.3 if selection == "puct" else None)
    r = search(model, "s", ev, np.random.default_rng(0), cfg)
    assert r.action in (0, 2, 4)
    assert r.visit_counts[[1, 3]].tolist() == [0, 0] and r.policy[[1, 3]].tolist() == [0.0, 0.0]
    assert np.isnan(r.q_values[[1, 3]]).all()
    assert set(r.tree.actions[0]) == {0, 2, 4}
    assert all(s == "s" or s[1] in (0, 2, 4) for s in r.tree.states)
    assert sum(r.tree.priors[0]) == pytest.approx(1.0)  # renormalised over the legal actions


def test_tic_tac_toe_occupied_cells_are_never_searched():
    model = TicTacToeModel()
    state = play(model, [4, 0, 8])
    r = search(model, state, RolloutEvaluator(model, np.random.default_rng(0)), np.random.default_rng(0), uct(500))
    assert r.visit_counts[[0, 4, 8]].tolist() == [0, 0, 0]
    for node, st in enumerate(r.tree.states):
        assert set(r.tree.actions[node]) <= set(model.legal_action_ids(st))


# ---------------------------------------------------------------- evaluator contract


@pytest.mark.parametrize(
    "out, match",
    [
        ((np.ones((1, 8)), np.zeros(1)), r"priors of shape \(1, 8\); expected .* \(1, 9\)"),
        ((np.ones((1, 9)), np.zeros((1, 1))), r"values of shape \(1, 1\); expected .* \(1,\)"),
        ((np.ones(9), np.zeros(1)), r"priors of shape \(9,\); expected .* \(1, 9\)"),
        ((np.ones((1, 9)), np.array([np.nan])), "not finite"),
        ((-np.ones((1, 9)), np.zeros(1)), "negative"),
        (np.ones((1, 9)), r"tuple \(priors, values\)"),
    ],
)
def test_bad_evaluator_output_is_a_clear_value_error(out, match):
    model = TicTacToeModel()
    with pytest.raises(ValueError, match=match):
        search(model, model.initial_state(), lambda states: out, np.random.default_rng(0), MCTSConfig(4, "puct"))


def test_bad_arguments_name_the_argument():
    model = TicTacToeModel()
    s = model.initial_state()
    ev = UniformEvaluator(9)
    rng = np.random.default_rng(0)
    for kw, name in [
        ({"num_simulations": 0}, "num_simulations"),
        ({"batch_size": 0}, "batch_size"),
        ({"selection": "ucb"}, "selection"),
        ({"discount": 0.0}, "discount"),
        ({"uct_c": -1.0}, "uct_c"),
        ({"dirichlet_alpha": 0.0}, "dirichlet_alpha"),
        ({"max_num_considered_actions": 0}, "max_num_considered_actions"),
    ]:
        with pytest.raises(ValueError, match=name):
            MCTSConfig(**kw)
    with pytest.raises(TypeError, match="rng"):
        search(model, s, ev, 0, MCTSConfig(4))
    with pytest.raises(TypeError, match="config"):
        search(model, s, ev, rng, {"num_simulations": 4})
    with pytest.raises(TypeError, match="evaluate"):
        search(model, s, None, rng, MCTSConfig(4))
    with pytest.raises(ValueError, match="terminal"):
        search(model, play(model, [0, 3, 1, 4, 2]), ev, rng, MCTSConfig(4))
    other = search(model, s, ev, rng, MCTSConfig(4)).tree
    with pytest.raises(ValueError, match="tree"):
        search(model, play(model, [4]), ev, rng, MCTSConfig(4), tree=other)
    with pytest.raises(ValueError, match="num_rollouts"):
        RolloutEvaluator(model, rng, num_rollouts=0)
    with pytest.raises(TypeError, match="rng"):
        RolloutEvaluator(model, np.random.RandomState(0))


# ---------------------------------------------------------------- determinism and reuse


@pytest.mark.parametrize("selection", ["uct", "puct", "gumbel"])
@pytest.mark.parametrize("batch_size", [1, 8])
def test_search_is_deterministic_given_the_generators(selection, batch_size):
    model = ConnectFourModel()
    state = play(model, [3, 3])

    def run():
        ev = RolloutEvaluator(model, np.random.default_rng(7))
        return search(model, state, ev, np.random.default_rng(8), MCTSConfig(200, selection, batch_size=batch_size))

    a, b = run(), run()
    assert a.action == b.action
    assert a.visit_counts.tolist() == b.visit_counts.tolist()
    assert a.root_value == b.root_value
    assert a.policy.tolist() == b.policy.tolist()


def test_the_rollout_fast_path_equals_the_generic_batched_call():
    model = ConnectFourModel()
    state = play(model, [3, 2])
    fast = search(model, state, RolloutEvaluator(model, np.random.default_rng(1)), np.random.default_rng(2), uct(300))
    ev = RolloutEvaluator(model, np.random.default_rng(1))
    slow = search(model, state, lambda states: ev(states), np.random.default_rng(2), uct(300))
    assert fast.visit_counts.tolist() == slow.visit_counts.tolist()
    assert fast.root_value == pytest.approx(slow.root_value)


@pytest.mark.parametrize("selection", ["uct", "puct", "gumbel"])
def test_tree_reuse_keeps_the_childs_statistics(selection):
    model = TicTacToeModel()
    state = model.initial_state()
    ev = RolloutEvaluator(model, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    r = search(model, state, ev, rng, MCTSConfig(500, selection))
    old = r.tree
    child = old.children[0][old.actions[0].index(r.action)]
    sub = reuse_tree(old, r.action)
    assert isinstance(sub, Tree)
    assert sub.states[0] == model.step(state, r.action).state
    assert sub.child_visits[0] == old.child_visits[child]
    assert sub.child_values[0] == old.child_values[child]
    assert sub.parents[0] == -1
    before = sum(sub.child_visits[0])
    nxt = search(model, sub.states[0], ev, rng, MCTSConfig(200, selection), tree=sub)
    assert nxt.tree is sub
    assert nxt.visit_counts.sum() == before + 200
    # the compacted subtree is consistent: every child points back at its parent and slot
    for node in range(sub.num_nodes):
        for slot, c in enumerate(sub.children[node]):
            if c >= 0:
                assert sub.parents[c] == node and sub.parent_slots[c] == slot
                assert sub.states[c] == model.step(sub.states[node], sub.actions[node][slot]).state


def test_reuse_tree_returns_none_for_an_unexpanded_action_and_rejects_an_illegal_one():
    model = TicTacToeModel()
    r = search(model, model.initial_state(), UniformEvaluator(9), np.random.default_rng(0), MCTSConfig(2, "puct"))
    unvisited = [a for a in range(9) if r.visit_counts[a] == 0]
    assert reuse_tree(r.tree, unvisited[0]) is None
    r2 = search(model, play(model, [4]), UniformEvaluator(9), np.random.default_rng(0), MCTSConfig(20, "puct"))
    with pytest.raises(ValueError, match="action 4"):
        reuse_tree(r2.tree, 4)


def test_two_player_game_with_reuse_plays_legal_moves_to_the_end():
    model = ConnectFourModel()
    state = model.initial_state()
    ev = RolloutEvaluator(model, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    tree = None
    while not model.is_terminal(state):
        r = search(model, state, ev, rng, uct(60), tree=tree)
        assert r.action in model.legal_action_ids(state)
        tree = reuse_tree(r.tree, r.action)
        state = model.step(state, r.action).state


def test_the_mcts_package_imports_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import hybrid.symbolic.planning.mcts as m\n"
        "import numpy as np\n"
        "from hybrid.tasks.envs.tic_tac_toe import TicTacToeModel\n"
        "t = TicTacToeModel()\n"
        "r = m.search(t, t.initial_state(), m.UniformEvaluator(9), np.random.default_rng(0), m.MCTSConfig(8))\n"
        "print(r.action)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT_DIR, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
