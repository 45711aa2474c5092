"""The gymnasium Sokoban env: the env checker, seeding, masks, agreement with the model, frames."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hybrid.tasks.envs.sokoban import (
    CELL_CLASSES,
    STEP_REWARD,
    SokobanEnv,
    SokobanModel,
    boxoban_path,
    format_level,
    format_levels,
    load_boxoban,
    parse_level,
    read_frame,
    render_grid,
    tiles,
)

UP, DOWN, LEFT, RIGHT = range(4)
ONE = "#####\n#@$.#\n#####"


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"obs_type": "symbolic"},
        {"level_file": "BOXOBAN", "render_mode": "rgb_array"},
        {"level": ONE, "tile_size": 10},
    ],
)
def test_passes_gymnasiums_env_checker(kwargs):
    if kwargs.get("level_file") == "BOXOBAN":
        kwargs = dict(kwargs, level_file=boxoban_path())
    env = SokobanEnv(**kwargs)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*alternative render modes.*")
        check_env(env)


def test_reset_is_deterministic_under_a_seed():
    env = SokobanEnv()
    obs1, info1 = env.reset(seed=3)
    obs2, info2 = env.reset(seed=3)
    assert np.array_equal(obs1, obs2) and info1["state"] == info2["state"]
    obs3, _ = env.reset(seed=4)
    assert not np.array_equal(obs1, obs3)
    files = SokobanEnv(level_file=boxoban_path())
    a = [files.reset(seed=s)[1]["level_index"] for s in (0, 1, 0)]
    assert a[0] == a[2] and 0 <= a[1] < 1000
    assert files.reset(options={"level_index": 17})[1]["level_index"] == 17


def test_observations_spaces_and_frames():
    env = SokobanEnv(level_file=boxoban_path(), level_index=0)
    obs, info = env.reset(seed=0)
    assert env.observation_space.shape == (80, 80, 3) and obs.dtype == np.uint8
    assert env.action_space.n == 4
    model = SokobanModel(load_boxoban()[0])
    assert info["state"] == model.initial_state
    assert np.array_equal(read_frame(obs), model.to_grid(model.initial_state))
    sym = SokobanEnv(level=ONE, obs_type="symbolic")
    obs, _ = sym.reset()
    assert sym.observation_space.shape == (3, 5) and obs.dtype == np.uint8
    assert [CELL_CLASSES[k] for k in obs[1]] == ["wall", "player", "box", "goal", "wall"]
    assert SokobanEnv(level=ONE).render() is None  # no render_mode
    r = SokobanEnv(level=ONE, render_mode="rgb_array")
    r.reset()
    assert r.render().shape == (24, 40, 3)


def test_tiles_are_distinct_so_frames_read_back_exactly():
    t = tiles(8)
    assert t.shape == (7, 8, 8, 3)
    flat = t.reshape(7, -1).astype(int)
    assert min(np.abs(flat[i] - flat[j]).sum() for i in range(7) for j in range(i + 1, 7)) > 500
    grid = np.arange(7).reshape(1, 7).repeat(2, axis=0)
    assert np.array_equal(read_frame(render_grid(grid, 6), 6), grid)


def test_env_agrees_with_the_model_and_masks_are_noops():
    env = SokobanEnv(level_file=boxoban_path(), level_index=5, obs_type="symbolic")
    obs, info = env.reset(seed=0)
    model = env.model
    state = info["state"]
    rng = np.random.default_rng(0)
    for _ in range(60):
        a = int(rng.integers(4))
        mask = env.action_masks()
        assert np.array_equal(mask, model.legal_actions(state)) and np.array_equal(mask, info["action_mask"])
        obs, reward, terminated, truncated, info = env.step(a)
        if mask[a]:
            t = model.step(state, a)
            assert info["state"] == t.state and reward == pytest.approx(t.reward) and terminated == t.done
        else:  # an illegal action: nothing moves, the step costs the step penalty
            assert info["state"] == state and reward == pytest.approx(STEP_REWARD)
        state = info["state"]
        assert np.array_equal(obs, model.to_grid(state))
        if terminated or truncated:
            break


def test_solving_terminates_with_is_success_and_the_env_never_truncates_itself():
    env = SokobanEnv(level=ONE)
    _, info = env.reset()
    assert not info["is_success"] and not info["illegal_action"]
    _, reward, terminated, truncated, info = env.step(RIGHT)
    assert terminated and not truncated and info["is_success"] and info["solved"] and reward == pytest.approx(10.9)
    env.reset()
    flags = [env.step(LEFT) for _ in range(200)]  # into the wall: no-ops, each a step, never truncated
    assert all(not f[2] and not f[3] and f[4]["illegal_action"] and not f[4]["is_success"] for f in flags)
    assert flags[-1][4]["steps"] == 200


def test_time_limit_is_the_registered_wrapper_like_the_other_envs():
    import hybrid.tasks.envs  # noqa: F401  (registers the ids)

    assert gym.spec("hybrid/Sokoban-v0").max_episode_steps == 120
    env = gym.make("hybrid/Sokoban-v0", level=ONE, obs_type="symbolic", max_episode_steps=3)
    env.reset(seed=0)
    flags = [env.step(LEFT)[2:4] for _ in range(3)]  # into the wall: no-ops, each a step
    assert flags == [(False, False), (False, False), (False, True)]
    with pytest.raises(TypeError, match="max_steps"):
        SokobanEnv(level=ONE, max_steps=3)


def test_level_files_of_mixed_sizes_are_padded(tmp_path):
    small = parse_level(ONE)
    big = load_boxoban()[0]
    path = tmp_path / "mixed.txt"
    path.write_text(format_levels([small, big]))
    env = SokobanEnv(level_file=path, obs_type="symbolic")
    assert env.observation_space.shape == (10, 10)
    obs, info = env.reset(options={"level_index": 0})
    assert obs.shape == (10, 10) and info["state"] == SokobanModel(small).initial_state
    assert format_level(env.levels[0]).splitlines()[1].startswith("#@$.#")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"level": ONE, "level_file": "x.txt"}, "at most one"),
        ({"level_index": 3}, "needs level_file"),
        ({"obs_type": "pixels"}, "obs_type"),
        ({"render_mode": "human"}, "render_mode"),
        ({"tile_size": 2}, "tile_size"),
        ({"level": "#####\n#@$$#\n#####"}, "level: .*2 boxes but only 0 goals"),
        ({"level": 5}, "level must be"),
        ({"level_file": "/no/such/file.txt"}, "level_file: path"),
        ({"level_file": "BOXOBAN", "level_index": 1000}, "level_index must be an int in 0..999"),
        ({"dim": (3, 3)}, "dim"),
        ({"num_boxes": 0}, "num_boxes"),
        ({"generator_kwargs": {"bogus": 1}}, "generated levels"),
    ],
)
def test_bad_kwargs_raise_at_construction(kwargs, message):
    if kwargs.get("level_file") == "BOXOBAN":
        kwargs = dict(kwargs, level_file=boxoban_path())
    with pytest.raises(ValueError, match=message):
        SokobanEnv(**kwargs)


def test_step_before_reset_and_bad_actions():
    env = SokobanEnv(level=ONE)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset()
    with pytest.raises(ValueError, match="action"):
        env.step(7)
    with pytest.raises(ValueError, match="options"):
        env.reset(options={"level": 3})


def test_registered_id_makes_the_env():
    import hybrid.tasks.envs  # noqa: F401  (registers the ids)

    if "hybrid/Sokoban-v0" not in gym.registry:
        pytest.skip("hybrid/Sokoban-v0 is not registered yet (tasks/envs/__init__.py)")
    env = gym.make("hybrid/Sokoban-v0", level=ONE, obs_type="symbolic")
    obs, info = env.reset(seed=0)
    assert obs.shape == (3, 5) and "state" in info
    with pytest.raises(ValueError, match="obs_type"):
        gym.make("hybrid/Sokoban-v0", obs_type="pixels")
