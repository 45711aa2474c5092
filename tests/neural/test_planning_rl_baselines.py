"""Deep-RL baselines through stable-baselines3: wrappers, a tiny end-to-end run, success counting."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from hybrid.neural.planning.rl_baselines import (  # noqa: E402
    IllegalActionAsNoop,
    ResizeFrame,
    evaluate_success,
    interactions_used,
    make_env,
    sb3_from_bytes,
    sb3_to_bytes,
    train_sb3,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class _Walk(gym.Env):
    """A player on a 3 x 3 board walks to the bottom-right corner (reward 1, terminated); 8-pixel cells.

    Actions up, down, left, right; a move off the board is illegal (``info["action_mask"]``) and
    raises, as a strict env would.
    """

    COLORS = np.array([[20, 20, 20], [230, 50, 50], [50, 210, 50]], np.uint8)

    def __init__(self):
        self.observation_space = gym.spaces.Box(0, 255, (24, 24, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(4)

    def _mask(self):
        r, c = self.pos
        return np.array([r > 0, r < 2, c > 0, c < 2])

    def _out(self):
        grid = np.zeros((3, 3), int)
        grid[2, 2] = 2
        grid[self.pos] = 1
        return self.COLORS[grid].repeat(8, 0).repeat(8, 1), {"state": self.pos, "action_mask": self._mask()}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = (int(self.np_random.integers(0, 2)), int(self.np_random.integers(0, 2)))
        return self._out()

    def step(self, action):
        if not self._mask()[action]:
            raise ValueError(f"illegal action {action}")
        r, c = self.pos
        self.pos = [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)][int(action)]
        done = self.pos == (2, 2)
        frame, info = self._out()
        return frame, float(done), done, False, info


def _make():
    return gym.wrappers.TimeLimit(_Walk(), max_episode_steps=12)


def test_resize_frame_reaches_nature_cnn_size_and_keeps_cells():
    env = ResizeFrame(_make(), 48)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (48, 48, 3) and obs.dtype == np.uint8 and env.observation_space.contains(obs)
    # upscaling by 2 duplicates pixels: the corner cell (goal, green) fills the corner 16 x 16 block
    assert (obs[32:, 32:] == _Walk.COLORS[2]).all()
    with pytest.raises(ValueError, match="size"):
        ResizeFrame(_make(), 2)


def test_illegal_action_as_noop_stands_still_and_still_times_out():
    env = IllegalActionAsNoop(_make(), illegal_reward=-0.5)
    obs, info = env.reset(seed=1)
    bad = int(np.flatnonzero(~info["action_mask"])[0])
    for k in range(12):
        obs2, reward, terminated, truncated, info2 = env.step(bad)
        assert reward == -0.5 and not terminated and info2["illegal_action"]
        np.testing.assert_array_equal(obs2, obs)
        assert truncated == (k == 11)
    with pytest.raises(ValueError, match="illegal_action"):
        make_env(_make, illegal_action="skip")


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_train_and_evaluate_end_to_end_on_a_tiny_budget(algo):
    kwargs = {"n_steps": 32, "batch_size": 32, "n_epochs": 1} if algo == "ppo" else {"learning_starts": 32}
    model = train_sb3(
        algo, _make, total_timesteps=128, seed=0, frame_size=36, illegal_action="noop", algo_kwargs=kwargs, n_envs=2
    )
    assert interactions_used(model) == 128
    assert model.observation_space.shape == (3, 36, 36)  # VecTransposeImage: channel-first for the CnnPolicy
    rate = evaluate_success(model, _make, n_episodes=4, seed=1, frame_size=36, illegal_action="noop")
    assert 0.0 <= rate <= 1.0 and rate * 4 == int(rate * 4)


class _Always:
    """A fake model that always plays one action."""

    def __init__(self, action):
        self.action = action

    def predict(self, obs, deterministic=True):
        return np.array(self.action), None


def test_evaluate_success_counts_goal_reaching_episodes():
    # episodes start in rows 0-1: always-right stops on column 2 above the corner, then stands still until the limit
    assert evaluate_success(_Always(3), _make, n_episodes=5, seed=0, frame_size=None, illegal_action="noop") == 0.0

    class _Greedy:
        def predict(self, obs, deterministic=True):
            # read the player's cell off the frame (red) and walk down, then right
            r, c = np.argwhere((obs[::8, ::8] == _Walk.COLORS[1]).all(-1))[0]
            return np.array(1 if r < 2 else 3), None

    assert evaluate_success(_Greedy(), _make, n_episodes=5, seed=0, frame_size=None) == 1.0


def test_bad_arguments():
    with pytest.raises(ValueError, match="algo"):
        train_sb3("a2c", _make, 10)
    with pytest.raises(ValueError, match="total_timesteps"):
        train_sb3("ppo", _make, 0)
    with pytest.raises(ValueError, match="NatureCNN"):
        train_sb3("ppo", _make, 10, frame_size=None)
    with pytest.raises(ValueError, match="n_episodes"):
        evaluate_success(_Always(0), _make, n_episodes=0)


def test_ppo_runs_on_a_registered_env():
    model = train_sb3("ppo", "hybrid/LightsOut-v0", 64, seed=0, algo_kwargs={"n_steps": 16, "batch_size": 32})
    assert interactions_used(model) == 64 and model.observation_space.shape == (3, 64, 64)
    rate = evaluate_success(model, "hybrid/LightsOut-v0", n_episodes=2, seed=0, max_steps=20)
    assert rate in (0.0, 0.5, 1.0)


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_a_model_round_trips_through_bytes(algo):
    kwargs = {"n_steps": 16, "batch_size": 16, "n_epochs": 1} if algo == "ppo" else {"learning_starts": 8}
    model = train_sb3(algo, _make, total_timesteps=16, seed=0, frame_size=36, illegal_action="noop", algo_kwargs=kwargs,
                      n_envs=1)
    data = sb3_to_bytes(model)
    assert isinstance(data, bytes) and data[:2] == b"PK"  # SB3's zip
    restored = sb3_from_bytes(algo, data)
    assert restored.env is None and interactions_used(restored) == interactions_used(model)
    frames = np.random.default_rng(0).integers(0, 256, (4, 3, 36, 36), dtype=np.uint8)
    for frame in frames:
        assert restored.predict(frame, deterministic=True)[0] == model.predict(frame, deterministic=True)[0]
    with pytest.raises(ValueError, match="algo"):
        sb3_from_bytes("a2c", data)
