"""AlphaZero-style self-play training: targets, lockstep batching, symmetries, matches, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hybrid.neural.planning.policy_value import make_evaluator
from hybrid.symbolic.planning.mcts import MCTSConfig, UniformEvaluator
from hybrid.tasks.envs.connect_four import ConnectFourModel
from hybrid.tasks.envs.tic_tac_toe import WIN_LINES, TicTacToeModel

from hybrid.planning.alphazero import (
    AlphaZeroAgent,
    AlphaZeroConfig,
    RolloutMCTSAgent,
    build_net,
    load_checkpoint,
    play_match,
    train_alphazero,
)
from hybrid.planning.selfplay import (
    CachedEvaluator,
    ReplayBuffer,
    Symmetry,
    board_symmetries,
    game_targets,
    play_selfplay_games,
    run_lockstep,
    shared_batch,
)

torch.set_num_threads(1)

TINY = dict(channels=8, blocks=1, batch_size=32, eval_every=0, cache_size=1000)


class CountingEvaluator:
    """A uniform evaluator that records the batch sizes it is called with."""

    def __init__(self, num_actions: int) -> None:
        self.inner = UniformEvaluator(num_actions)
        self.sizes: list[int] = []

    def __call__(self, states):
        self.sizes.append(len(states))
        return self.inner(states)


class RandomAgent:
    def __init__(self, model):
        self.model = model

    def act(self, state, rng):
        legal = self.model.legal_action_ids(state)
        return int(legal[int(rng.integers(len(legal)))])


class RecordingAgent(RandomAgent):
    """Random play that remembers, per game, whether it made the first move."""

    def __init__(self, model):
        super().__init__(model)
        self.first: list[bool] = []

    def act(self, state, rng):
        marks = (state[0] | state[1]).bit_count()
        if marks <= 1:
            self.first.append(marks == 0)
        return super().act(state, rng)


def _ttt_net(seed: int = 0):
    return build_net(TicTacToeModel(), AlphaZeroConfig(seed=seed, **TINY))


# ---------------------------------------------------------------------------- self-play targets


def test_selfplay_targets_have_the_right_shapes_and_outcomes():
    model = TicTacToeModel()
    net = _ttt_net()
    config = AlphaZeroConfig(num_simulations=12, **TINY).mcts_config()
    records = play_selfplay_games(model, make_evaluator(net, model), 6, config, seed=3, parallel=3)
    assert len(records) == 6
    for rec in records:
        planes, pi, z, masks = game_targets(model, rec)
        t = len(rec.states)
        assert planes.shape == (t, 3, 3, 3) and planes.dtype == np.float32
        assert pi.shape == masks.shape == (t, 9)
        np.testing.assert_allclose(pi.sum(axis=1), 1.0, atol=1e-6)
        assert (pi[~masks] == 0).all()
        # replay the game: the players alternate and z is the outcome for the mover
        state = model.initial_state()
        for k, a in enumerate(rec.actions):
            assert state == rec.states[k] and rec.players[k] == model.current_player(state)
            assert masks[k][a]
            state = model.step(state, a).state
        assert model.is_terminal(state)
        winner = model.winner(state)
        expected = [0.0 if winner is None else (1.0 if p == winner else -1.0) for p in rec.players]
        np.testing.assert_array_equal(z, np.array(expected, dtype=np.float32))
        assert set(np.unique(z)) <= {-1.0, 0.0, 1.0}
        # plane 0 holds the mover's marks, plane 1 the opponent's
        for k in range(t):
            mine = int(np.sum(rec.players[:k] == rec.players[k]))
            assert planes[k, 0].sum() == mine and planes[k, 1].sum() == k - mine


def test_gumbel_selfplay_targets_the_improved_policy():
    model = TicTacToeModel()
    config = AlphaZeroConfig(num_simulations=8, selection="gumbel", **TINY).mcts_config()
    assert config.dirichlet_alpha is None
    records = play_selfplay_games(model, UniformEvaluator(9), 3, config, seed=0, parallel=3)
    for rec in records:
        _, pi, _, masks = game_targets(model, rec)
        np.testing.assert_allclose(pi.sum(axis=1), 1.0, atol=1e-6)
        assert (pi[masks] > 0).all() and (pi[~masks] == 0).all()  # a softmax over every legal action


def test_q_weight_mixes_the_root_value_into_the_target():
    model = TicTacToeModel()
    config = MCTSConfig(num_simulations=8, selection="puct")
    (rec,) = play_selfplay_games(model, UniformEvaluator(9), 1, config, seed=1)
    _, _, z, _ = game_targets(model, rec, q_weight=0.0)
    _, _, mixed, _ = game_targets(model, rec, q_weight=0.5)
    np.testing.assert_allclose(mixed, 0.5 * z + 0.5 * np.clip(rec.root_values, -1, 1), atol=1e-6)
    with pytest.raises(ValueError, match="q_weight"):
        game_targets(model, rec, q_weight=2.0)


def test_lockstep_batches_across_games_and_is_deterministic():
    model = TicTacToeModel()
    config = MCTSConfig(num_simulations=10, selection="puct", dirichlet_alpha=0.5)
    runs = []
    for _ in range(2):
        ev = CountingEvaluator(9)
        records = play_selfplay_games(model, ev, 8, config, seed=5, parallel=4)
        runs.append(([r.actions for r in records], ev.sizes))
    assert runs[0] == runs[1]
    assert max(runs[0][1]) == 4  # one state per game per round, four games at a time
    # the games differ from one another (each has its own random stream)
    assert len({tuple(a) for a in runs[0][0]}) > 1


def test_cached_evaluator_answers_repeats_without_the_net():
    model = TicTacToeModel()
    ev = CountingEvaluator(9)
    cached = CachedEvaluator(ev, max_size=100)
    s0 = model.initial_state()
    s1 = model.step(s0, 4).state
    p, v = cached([s0, s1, s0])
    assert p.shape == (3, 9) and v.shape == (3,)
    cached([s1])
    assert ev.sizes == [2] and cached.hits == 2 and cached.misses == 2


def test_run_lockstep_reraises_job_errors_and_honours_the_deadline():
    def boom():
        raise RuntimeError("job failed")

    ev = shared_batch(UniformEvaluator(3))
    with pytest.raises(RuntimeError, match="job failed"):
        run_lockstep([lambda: ev([0]), boom, lambda: ev([1])], parallel=3)
    assert run_lockstep([lambda: 1, lambda: 2], parallel=2, deadline=0.0) == [None, None]
    assert run_lockstep([lambda: 1, lambda: 2], parallel=2) == [1, 2]
    with pytest.raises(ValueError, match="parallel"):
        run_lockstep([lambda: 1], parallel=0)


# ---------------------------------------------------------------------------- symmetries and the buffer


def _play(model, actions):
    s = model.initial_state()
    for a in actions:
        s = model.step(s, a).state
    return s


def test_connect_four_mirror_maps_planes_and_policies_together():
    model = ConnectFourModel()
    (mirror,) = board_symmetries(model)
    moves = [3, 2, 2, 6, 0, 1, 1]
    s = _play(model, moves)
    t = _play(model, [6 - a for a in moves])
    planes = model.encode(s)[None]
    pi = np.array([[0.0, 0.1, 0.2, 0.3, 0.4, 0.0, 0.0]], dtype=np.float32)
    mask = model.legal_actions(s)[None]
    mp, mpi, mmask = mirror.apply(planes, pi, mask)
    np.testing.assert_array_equal(mp[0], model.encode(t))
    np.testing.assert_array_equal(mpi[0], pi[0, ::-1])
    np.testing.assert_array_equal(mmask[0], model.legal_actions(t))


def test_tic_tac_toe_mirror_permutes_cells_and_asymmetric_encodings_get_none():
    model = TicTacToeModel()
    (mirror,) = board_symmetries(model)
    assert mirror.actions.tolist() == [2, 1, 0, 5, 4, 3, 8, 7, 6]

    class Lopsided(TicTacToeModel):
        def encode(self, state):
            planes = super().encode(state)
            planes[2] = np.arange(3, dtype=np.float32)[None, :]  # not mirror-invariant
            return planes

    assert board_symmetries(Lopsided()) == []


def test_replay_buffer_ring_sampling_and_round_trip(tmp_path):
    buf = ReplayBuffer(5, (1, 1, 3), 3)
    for k in range(7):
        planes = np.full((1, 1, 1, 3), k, dtype=np.float32)
        planes[0, 0, 0, 0] = -1  # marks the left edge
        pi = np.array([[1.0, 0.0, 0.0]], dtype=np.float32)
        buf.add(planes, pi, np.array([k % 3 - 1.0], dtype=np.float32), np.array([[True, True, False]]))
    assert len(buf) == 5 and buf.added == 7
    assert sorted(buf.planes[:, 0, 0, 1].tolist()) == [2, 3, 4, 5, 6]  # the two oldest went
    flip = Symmetry("mirror", lambda p: p[..., ::-1], np.array([2, 1, 0]))
    planes, pi, z, masks = buf.sample(200, np.random.default_rng(0), [flip])
    flipped = planes[:, 0, 0, 2] == -1
    assert 40 < flipped.sum() < 160
    assert (pi[flipped, 2] == 1).all() and (pi[~flipped, 0] == 1).all()
    assert (masks[flipped] == [False, True, True]).all() and (masks[~flipped] == [True, True, False]).all()
    buf.save(tmp_path / "b.npz")
    other = ReplayBuffer(5, (1, 1, 3), 3)
    other.load(tmp_path / "b.npz")
    assert other.added == 7
    np.testing.assert_array_equal(np.sort(other.values[:5]), np.sort(buf.values[:5]))
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(2, (1, 1, 3), 3).sample(1, np.random.default_rng(0))


# ---------------------------------------------------------------------------- matches


def test_play_match_alternates_first_player_and_counts_consistently():
    model = TicTacToeModel()
    a, b = RecordingAgent(model), RecordingAgent(model)
    out = play_match(a, b, model, games=7, seed=1)
    assert out["wins"] + out["draws"] + out["losses"] == 7 == out["games"]
    assert a.first == [True, False, True, False, True, False, True]
    assert sum(out["as_first"]) == 4 and sum(out["as_second"]) == 3
    assert out["score"] == pytest.approx((out["wins"] + 0.5 * out["draws"]) / 7)
    again = play_match(RandomAgent(model), RandomAgent(model), model, games=7, seed=1)
    assert {k: again[k] for k in ("wins", "draws", "losses")} == {k: out[k] for k in ("wins", "draws", "losses")}
    # a real search beats random play, whichever side it starts on
    strong = play_match(RolloutMCTSAgent(model, 200), RandomAgent(model), model, games=10, seed=0, parallel_games=5)
    assert strong["losses"] == 0 and strong["wins"] >= 6
    with pytest.raises(ValueError, match="games"):
        play_match(a, b, model, games=0)
    with pytest.raises(ValueError, match="agent_b"):
        play_match(a, object(), model, games=1)


def test_match_in_lockstep_gives_the_same_result_as_sequential_play():
    model = TicTacToeModel()
    agent = AlphaZeroAgent(_ttt_net(), model, num_simulations=8)
    seq = play_match(agent, RolloutMCTSAgent(model, 8), model, games=6, seed=2, parallel_games=1)
    par = play_match(agent, RolloutMCTSAgent(model, 8), model, games=6, seed=2, parallel_games=3)
    assert seq["games"] == par["games"] == 6
    assert seq["as_first"] == par["as_first"] and seq["as_second"] == par["as_second"]


# ---------------------------------------------------------------------------- training


def _positions(model, kind, count=12):
    """Positions from random games: ``"win"``, the mover can complete a line (but most moves do not);
    ``"lost"``, the mover cannot and the opponent threatens two lines at once."""
    rng = np.random.default_rng(7)
    out, seen = [], set()
    while len(out) < count:
        s = model.initial_state()
        while not model.is_terminal(s):
            legal = model.legal_action_ids(s)
            wins = {a for a in legal if model.step(s, a).reward > 0}
            if kind == "win":
                keep = wins and 2 * len(wins) < len(legal)
            else:
                theirs = s[1] if model.current_player(s) == 0 else s[0]
                threats = {a for a in legal if any((theirs | 1 << a) & line == line for line in WIN_LINES)}
                keep = not wins and len(threats) >= 2
            if keep and s not in seen:
                seen.add(s)
                out.append((s, wins))
            s = model.step(s, int(legal[int(rng.integers(len(legal)))])).state
    return out


def _value_contrast(net, model, won, lost):
    """Mean value of won positions minus mean value of lost ones (for the player to move)."""
    _, v_won = net.predict(np.stack([model.encode(s) for s, _ in won]))
    _, v_lost = net.predict(np.stack([model.encode(s) for s, _ in lost]))
    return float(v_won.mean() - v_lost.mean())


def test_short_training_learns_to_take_immediate_wins_on_tic_tac_toe():
    model = TicTacToeModel()
    config = AlphaZeroConfig(
        num_simulations=16,
        games_per_iteration=16,
        parallel_games=8,
        train_steps=40,
        batch_size=64,
        channels=16,
        blocks=1,
        lr=3e-3,
        temperature_moves=4,
        eval_every=0,
        seed=0,
    )
    won, lost = _positions(model, "win"), _positions(model, "lost")
    untrained_net = build_net(model, config)
    untrained = AlphaZeroAgent(untrained_net, model, num_simulations=0)  # the net's policy alone
    result = train_alphazero(model, config, max_iterations=8, progress=False)
    trained = AlphaZeroAgent(result.net, model, num_simulations=0)
    rng = np.random.default_rng(0)
    hits_before = sum(untrained.act(s, rng) in wins for s, wins in won)
    hits_after = sum(trained.act(s, rng) in wins for s, wins in won)
    assert hits_after >= hits_before + 3, (hits_before, hits_after)
    # the value head tells won positions from lost ones (an untrained one does not)
    assert abs(_value_contrast(untrained_net, model, won, lost)) < 0.2
    assert _value_contrast(result.net, model, won, lost) > 0.4
    h = result.history
    assert len(h) == 8 and h[-1].total_games == 8 * 16 == result.games
    assert result.symmetries == ["mirror"]
    assert h[-1].policy_loss < h[0].policy_loss


def test_checkpoint_resume_continues_the_same_run(tmp_path):
    model = TicTacToeModel()
    config = AlphaZeroConfig(num_simulations=6, games_per_iteration=4, parallel_games=2, train_steps=2, **TINY)
    train_alphazero(model, config, max_iterations=2, progress=False, checkpoint_dir=tmp_path / "whole")
    first = train_alphazero(model, config, max_iterations=1, progress=False, checkpoint_dir=tmp_path / "parts")
    net, state = load_checkpoint(tmp_path / "parts")
    for k, v in first.net.state_dict().items():
        assert torch.equal(v, net.state_dict()[k])
    assert state["iteration"] == 1 and state["games"] == 4
    resumed = train_alphazero(model, config, max_iterations=2, progress=False, checkpoint_dir=tmp_path / "parts")
    assert resumed.resumed_from == 1 and len(resumed.history) == 2 and resumed.games == 8
    assert [h.iteration for h in resumed.history] == [0, 1]
    # the second iteration's games came from the same net and seeds: the buffers agree
    a = np.load(tmp_path / "whole" / "buffer.npz")
    b = np.load(tmp_path / "parts" / "buffer.npz")
    for key in ("planes", "policies", "values", "masks"):
        np.testing.assert_array_equal(a[key], b[key])
    # a checkpoint of another net size is refused
    with pytest.raises(ValueError, match="checkpoint_dir"):
        train_alphazero(
            model,
            AlphaZeroConfig(**{**TINY, "channels": 4}),
            max_iterations=3,
            progress=False,
            checkpoint_dir=tmp_path / "parts",
        )


def test_training_stops_at_the_time_budget_and_shows_progress(capsys):
    model = TicTacToeModel()
    config = AlphaZeroConfig(num_simulations=4, games_per_iteration=4, parallel_games=2, train_steps=1, **TINY)
    lines: list[str] = []
    result = train_alphazero(model, config, max_seconds=1.0, progress=True, log=lines.append)
    assert result.history and len(lines) == len(result.history)
    assert result.seconds < 30
    assert "alphazero" in capsys.readouterr().err  # the tqdm bar


def test_bad_arguments_name_the_argument():
    model = TicTacToeModel()
    for kwargs, name in (
        ({"num_simulations": 0}, "num_simulations"),
        ({"selection": "uct"}, "selection"),
        ({"dirichlet_fraction": 1.5}, "dirichlet_fraction"),
        ({"temperature": 0}, "temperature"),
        ({"games_per_iteration": 0}, "games_per_iteration"),
        ({"augment": 1}, "augment"),
        ({"device": "tpu"}, "device"),
    ):
        with pytest.raises(ValueError, match=name):
            AlphaZeroConfig(**kwargs)
    with pytest.raises(ValueError, match="max_seconds or max_iterations"):
        train_alphazero(model, AlphaZeroConfig(**TINY))
    with pytest.raises(ValueError, match="max_seconds"):
        train_alphazero(model, AlphaZeroConfig(**TINY), max_seconds=-1)
    with pytest.raises(ValueError, match="num_simulations"):
        AlphaZeroAgent(_ttt_net(), model, num_simulations=-1)
    with pytest.raises(ValueError, match="net"):
        AlphaZeroAgent(object(), model)
    with pytest.raises(ValueError, match="num_simulations"):
        RolloutMCTSAgent(model, 0)
    with pytest.raises(ValueError, match="num_games"):
        play_selfplay_games(model, UniformEvaluator(9), -1, MCTSConfig())
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0, (1, 1, 1), 1)
