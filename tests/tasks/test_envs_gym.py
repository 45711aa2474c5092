"""The gymnasium side of the grid envs: registration, the env checker, seeding, frames, masks and rewards."""

import importlib
import warnings

import gymnasium as gym
import hybrid.tasks.envs
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hybrid.tasks.envs import ConnectFourEnv, LightsOutEnv, SlidingPuzzleEnv, TicTacToeEnv
from hybrid.tasks.envs.drawing import frame_from_grid, grid_from_frame
from hybrid.tasks.envs.grid_env import episode_succeeded

OURS = ["hybrid/SlidingPuzzle-v0", "hybrid/LightsOut-v0", "hybrid/TicTacToe-v0", "hybrid/ConnectFour-v0"]
ALL_IDS = OURS + ["hybrid/Sokoban-v0"]


def first_legal(state, legal_ids, rng):
    """A deterministic opponent: the lowest legal action."""
    return legal_ids[0]


def random_episode(env, seed, steps, legal_only=True):
    """Reset with ``seed`` and play up to ``steps`` seeded random actions; return observations, states, rewards."""
    rng = np.random.default_rng(seed + 1000)
    obs, info = env.reset(seed=seed)
    observations, states, rewards = [obs], [info["state"]], []
    for _ in range(steps):
        mask = info["action_mask"]
        choices = np.flatnonzero(mask) if legal_only else np.arange(len(mask))
        obs, reward, terminated, truncated, info = env.step(int(rng.choice(choices)))
        observations.append(obs)
        states.append(info["state"])
        rewards.append(reward)
        if terminated or truncated:
            break
    return observations, states, rewards


def test_every_env_is_registered_and_registration_is_idempotent():
    for env_id in ALL_IDS:
        assert env_id in gym.registry
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(hybrid.tasks.envs)
        assert hybrid.tasks.envs.register_envs() == []
    spec = gym.spec("hybrid/LightsOut-v0")
    assert spec.namespace == "hybrid" and spec.max_episode_steps == 100
    assert gym.spec("hybrid/TicTacToe-v0").max_episode_steps == 9
    env = gym.make("hybrid.tasks.envs:hybrid/LightsOut-v0", obs_type="symbolic")
    assert isinstance(env.unwrapped, LightsOutEnv)
    env.close()


@pytest.mark.parametrize("env_id", OURS)
@pytest.mark.parametrize("obs_type", ["rgb", "symbolic"])
def test_env_checker_passes_without_warnings(env_id, obs_type):
    kwargs = {"opponent": "mcts", "opponent_simulations": 20} if "Four" in env_id or "Tac" in env_id else {}
    env = gym.make(env_id, render_mode="rgb_array", obs_type=obs_type, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    env.close()


@pytest.mark.parametrize("env_id", OURS)
def test_made_env_runs_under_the_passive_checker_without_warnings(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id, render_mode="rgb_array")
        obs, info = env.reset(seed=0)
        assert env.observation_space.contains(obs)
        for _ in range(3):
            obs, reward, terminated, truncated, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
            assert env.observation_space.contains(obs) and isinstance(reward, float)
            if terminated:
                break
        assert env.render().shape == obs.shape
        env.close()


@pytest.mark.parametrize("env_id", OURS)
def test_same_seed_same_episode_and_different_seeds_differ(env_id):
    env = gym.make(env_id, obs_type="rgb")
    a_obs, a_states, a_rewards = random_episode(env, 3, 12)
    b_obs, b_states, b_rewards = random_episode(env, 3, 12)
    assert a_states == b_states and a_rewards == b_rewards
    assert all(np.array_equal(x, y) for x, y in zip(a_obs, b_obs, strict=True))
    others = [random_episode(env, seed, 12)[1] for seed in range(4, 8)]
    assert any(states != a_states for states in others)


@pytest.mark.parametrize("env_id", ["hybrid/SlidingPuzzle-v0", "hybrid/LightsOut-v0"])
def test_puzzle_env_agrees_with_its_model(env_id):
    env = gym.make(env_id, obs_type="rgb", render_mode="rgb_array")
    model = env.unwrapped.model
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        state = info["state"]
        for _ in range(30):
            assert np.array_equal(info["action_mask"], model.legal_actions(state))
            assert np.array_equal(env.unwrapped.action_masks(), info["action_mask"])
            assert np.array_equal(obs, frame_from_grid(model.to_grid(state), env.unwrapped.tiles))
            assert np.array_equal(grid_from_frame(obs, env.unwrapped.tiles), model.to_grid(state))
            assert np.array_equal(env.render(), obs)
            action = int(env.unwrapped.np_random.choice(model.legal_action_ids(state)))
            t = model.step(state, action)
            obs, reward, terminated, truncated, info = env.step(action)
            assert info["state"] == t.state and reward == t.reward and terminated == t.done
            assert not info["illegal_action"] and info["is_success"] == terminated
            state = t.state
            if terminated:
                break


@pytest.mark.parametrize("env_cls", [TicTacToeEnv, ConnectFourEnv])
@pytest.mark.parametrize("agent_player", [0, 1])
def test_game_env_agrees_with_its_model(env_cls, agent_player):
    env = env_cls(agent_player=agent_player, obs_type="symbolic")
    model = env.model
    outcomes = set()
    for seed in range(12):
        obs, info = env.reset(seed=seed)
        state = info["state"]
        assert model.current_player(state) == agent_player
        assert (info["opponent_action"] is not None) == (agent_player == 1)
        while True:
            assert np.array_equal(obs, model.to_grid(state)) and obs.dtype == np.uint8
            legal = model.legal_action_ids(state)
            action = legal[seed % len(legal)]
            obs, reward, terminated, truncated, info = env.step(action)
            expected = model.step(state, action)
            if not expected.done:
                expected = model.step(expected.state, info["opponent_action"])
            assert info["state"] == expected.state and not truncated
            assert terminated == model.is_terminal(info["state"])
            winner = model.winner(info["state"])
            assert info["winner"] == winner
            assert reward == (0.0 if winner is None else 1.0 if winner == agent_player else -1.0)
            assert info["is_success"] == (reward == 1.0)
            state = info["state"]
            if terminated:
                assert not info["action_mask"].any() and not env.action_masks().any()
                outcomes.add(reward)
                break
    assert outcomes >= {1.0, -1.0}


def test_tic_tac_toe_rewards_win_loss_and_draw():
    env = TicTacToeEnv(opponent=first_legal, obs_type="symbolic")
    model = env.model

    def outcome(actions):
        env.reset(seed=0)
        for a in actions:
            _, reward, terminated, _, info = env.step(a)
        assert terminated
        return reward, info["winner"]

    assert outcome([0, 3, 6]) == (1.0, 0)  # X: 0 3 6 (O replies 1, 2)
    assert outcome([8, 5, 4]) == (-1.0, 1)  # O (first legal: 0, 1, 2) completes the top row

    # Find agent moves that draw against the deterministic opponent, then replay them in the env.
    def draw_line(state, moves):
        for a in model.legal_action_ids(state):
            t = model.step(state, a)
            if t.done:
                if t.reward == 0.0:
                    return moves + [a]
                continue
            reply = model.step(t.state, first_legal(t.state, model.legal_action_ids(t.state), None))
            if reply.done:
                if reply.reward == 0.0:
                    return moves + [a]
                continue
            found = draw_line(reply.state, moves + [a])
            if found:
                return found
        return None

    line = draw_line(model.initial_state(), [])
    assert line is not None and outcome(line) == (0.0, None)


def test_illegal_actions_in_games_lose_without_corrupting_the_state():
    env = ConnectFourEnv(opponent=first_legal, obs_type="symbolic")
    env.reset(seed=0)
    for _ in range(3):
        _, _, terminated, _, info = env.step(0)  # the opponent answers in column 0 too: 6 stones fill it
    assert not terminated and not info["action_mask"][0]
    before = info["state"]
    obs, reward, terminated, truncated, info = env.step(0)
    assert reward == -1.0 and terminated and info["illegal_action"] and info["state"] == before
    assert not info["is_success"]
    assert info["winner"] == 1 and np.array_equal(obs, env.model.to_grid(before))
    with pytest.raises(RuntimeError, match="over"):
        env.step(1)
    env.reset(seed=0)
    for bad in (-1, 7, 2.5, "3"):
        with pytest.raises(ValueError, match="action"):
            env.step(bad)
    assert env.state == env.model.initial_state()


def test_illegal_actions_in_puzzles_are_no_ops():
    env = SlidingPuzzleEnv(obs_type="symbolic")
    obs, info = env.reset(options={"state": (1, 2, 0, 3, 4, 5, 6, 7, 8)})  # blank top right
    assert info["action_mask"].tolist() == [False, True, True, False]
    for action in (0, 3):  # up, right: off the board
        new_obs, reward, terminated, truncated, new_info = env.step(action)
        assert new_info["illegal_action"] and reward == 0.0 and not terminated
        assert new_info["state"] == info["state"] and np.array_equal(new_obs, obs)
    with pytest.raises(ValueError, match="action"):
        env.step(4)
    limited = gym.make("hybrid/SlidingPuzzle-v0", obs_type="symbolic", max_episode_steps=2)
    limited.reset(options={"state": (1, 2, 0, 3, 4, 5, 6, 7, 8)})
    limited.step(0)
    assert limited.step(0)[3]  # illegal steps count towards the time limit


def test_sliding_puzzle_reset_options():
    env = SlidingPuzzleEnv(obs_type="symbolic")
    _, info = env.reset(seed=1, options={"scramble": 1})
    assert info["state"] in {(1, 0, 2, 3, 4, 5, 6, 7, 8), (3, 1, 2, 0, 4, 5, 6, 7, 8)}
    action = {(1, 0, 2, 3, 4, 5, 6, 7, 8): 2, (3, 1, 2, 0, 4, 5, 6, 7, 8): 0}[info["state"]]
    _, reward, terminated, _, info = env.step(action)
    assert reward == 1.0 and terminated and info["state"] == env.model.goal_state
    _, a = env.reset(seed=5, options={"scramble": 7})
    _, b = env.reset(seed=5, options={"scramble": 7})
    assert a["state"] == b["state"]
    grid = np.array([[1, 0, 2], [3, 4, 5], [6, 7, 8]])
    assert env.reset(options={"state": grid})[1]["state"] == (1, 0, 2, 3, 4, 5, 6, 7, 8)
    for options, match in [
        ({"scramble": 0}, "scramble"),
        ({"scramble": 3, "state": grid}, "both"),
        ({"shuffle": 3}, "options"),
        ({"state": (0, 2, 1, 3, 4, 5, 6, 7, 8)}, "state"),  # unsolvable
        ({"state": tuple(range(9))}, "goal"),
        ({"state": (1, 2, 3)}, "state"),
    ]:
        with pytest.raises(ValueError, match=match):
            env.reset(options=options)


def test_lights_out_reset_options():
    env = LightsOutEnv(obs_type="symbolic")
    _, info = env.reset(seed=2, options={"presses": 1})
    assert bin(info["state"]).count("1") in (3, 4, 5)  # one press lights a cross, clipped at the border
    press = [a for a in range(25) if env.model.press_masks[a] == info["state"]][0]
    _, reward, terminated, _, info = env.step(press)
    assert reward == 1.0 and terminated and info["state"] == 0
    grid = env.model.to_grid(env.model.press(0, [0, 12]))
    assert env.reset(options={"state": grid})[1]["state"] == env.model.from_grid(grid)
    for options, match in [
        ({"presses": 0}, "presses"),
        ({"presses": 26}, "presses"),
        ({"state": 0}, "off"),
        ({"state": 1}, "state"),  # unsolvable on 5 x 5
        ({"flips": 2}, "options"),
    ]:
        with pytest.raises(ValueError, match=match):
            env.reset(options=options)


def test_game_reset_from_a_given_state():
    env = TicTacToeEnv(opponent=first_legal, obs_type="symbolic")
    s = env.model.step(env.model.step(env.model.initial_state(), 4).state, 0).state
    _, info = env.reset(options={"state": s})
    assert info["state"] == s and info["opponent_action"] is None
    with pytest.raises(ValueError, match="agent"):
        env.reset(options={"state": env.model.step(s, 1).state})  # O to move, but the agent plays X
    with pytest.raises(ValueError, match="state"):
        env.reset(options={"state": (7, 0, False)})


def test_callable_opponents_must_play_legal_moves():
    env = TicTacToeEnv(opponent=lambda state, legal, rng: 99)
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="opponent"):
        env.step(0)


def test_mcts_opponent_beats_a_weak_agent():
    env = gym.make("hybrid/TicTacToe-v0", opponent="mcts", opponent_simulations=200, obs_type="symbolic")
    rewards = []
    for seed in range(3):
        _, info = env.reset(seed=seed)
        while True:  # the agent always takes its lowest legal cell
            _, reward, terminated, _, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
            if terminated:
                rewards.append(reward)
                break
    assert rewards == [-1.0, -1.0, -1.0]


@pytest.mark.parametrize("env_cls", [SlidingPuzzleEnv, LightsOutEnv, TicTacToeEnv, ConnectFourEnv])
def test_frames_are_grid_aligned_and_big_enough_for_a_nature_cnn(env_cls):
    env = env_cls(render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.uint8 and obs.ndim == 3 and obs.shape[2] == 3 and min(obs.shape[:2]) >= 64
    tiles = env.tiles
    assert len(tiles) == env.model.num_classes
    assert len({t.tobytes() for t in tiles}) == len(tiles)  # every class looks different
    assert np.array_equal(grid_from_frame(obs, tiles), env.model.to_grid(info["state"]))
    text = env_cls(render_mode="ansi")
    text.reset(seed=0)
    assert len(text.render().splitlines()) == env.model.rows


def test_cell_px_sets_the_frame_size():
    env = ConnectFourEnv(cell_px=10)
    assert env.observation_space.shape == (60, 70, 3)
    assert SlidingPuzzleEnv(size=4, cell_px=20).observation_space.shape == (80, 80, 3)
    assert LightsOutEnv(obs_type="symbolic").observation_space.shape == (5, 5)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "match"),
    [
        ("hybrid/SlidingPuzzle-v0", {"size": 1}, "size"),
        ("hybrid/SlidingPuzzle-v0", {"size": 0}, "size"),
        ("hybrid/SlidingPuzzle-v0", {"size": -2}, "size"),
        ("hybrid/SlidingPuzzle-v0", {"size": 5, "cell_px": 9}, "cell_px"),
        ("hybrid/LightsOut-v0", {"size": 1}, "size"),
        ("hybrid/LightsOut-v0", {"cell_px": 2}, "cell_px"),
        ("hybrid/LightsOut-v0", {"obs_type": "pixels"}, "obs_type"),
        ("hybrid/LightsOut-v0", {"render_mode": "video"}, "render_mode"),
        ("hybrid/TicTacToe-v0", {"opponent": "minimax"}, "opponent"),
        ("hybrid/TicTacToe-v0", {"opponent_simulations": 0}, "opponent_simulations"),
        ("hybrid/TicTacToe-v0", {"agent_player": 2}, "agent_player"),
        ("hybrid/ConnectFour-v0", {"agent_player": -1}, "agent_player"),
        ("hybrid/ConnectFour-v0", {"opponent": None}, "opponent"),
        ("hybrid/ConnectFour-v0", {"obs_type": "ram"}, "obs_type"),
    ],
)
def test_bad_arguments_raise_at_make(env_id, kwargs, match):
    with warnings.catch_warnings(), pytest.raises(ValueError, match=match):
        warnings.simplefilter("ignore", UserWarning)  # gymnasium's own note about an unknown render_mode
        gym.make(env_id, **kwargs)


def test_success_needs_termination_and_the_env_flag():
    assert episode_succeeded(True, {"is_success": True})
    assert episode_succeeded(True, {"solved": True})
    assert episode_succeeded(False, {}) is False  # truncated or cut at a step limit
    assert not episode_succeeded(False, {"is_success": True}, reward=1.0)
    assert not episode_succeeded(True, {"solved": False}, reward=10.0)  # the env's flag wins over the reward
    assert not episode_succeeded(True, {"is_success": False}, reward=1.0)
    assert episode_succeeded(True, {"success": True})
    assert episode_succeeded(True, {}, reward=1.0)  # an env with no flag: a positive final reward
    assert not episode_succeeded(True, {}, reward=0.0)
    assert not episode_succeeded(True, {}, reward=-1.0)  # a lost game
