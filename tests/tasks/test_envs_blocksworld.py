"""Blocksworld: the model's rules, its grids and the env (its solver: tests/hybrid/test_planning_envs.py)."""

import warnings
from collections import Counter, deque

import gymnasium as gym
import hybrid.tasks.envs  # noqa: F401  (registers the ids)
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hybrid.tasks.envs import BlocksworldEnv, BlocksworldModel, TransitionModel
from hybrid.tasks.envs.blocksworld import BACKGROUND, BLOCK_COLOURS, EDGE, action_of, blocksworld_tiles, move_of
from hybrid.tasks.envs.drawing import frame_from_grid, grid_from_frame

M3 = BlocksworldModel(3)
M4 = BlocksworldModel()


def all_states(model):
    """Every state of ``model``, with its distance to the goal (breadth first from the goal; moves are reversible)."""
    dist = {model.goal_state: 0}
    frontier = deque([model.goal_state])
    while frontier:
        s = frontier.popleft()
        for a in model._moves_from(s):
            i, j = model.moves[a]
            stacks = list(s)
            stacks[i], stacks[j] = s[i][:-1], s[j] + s[i][-1:]
            n = tuple(stacks)
            if n not in dist:
                dist[n] = dist[s] + 1
                frontier.append(n)
    return dist


# ---------------------------------------------------------------------------- the model


def test_model_follows_the_protocol():
    model = M4
    assert isinstance(model, TransitionModel) and model.num_players == 1
    assert (model.rows, model.cols, model.num_classes, model.num_actions) == (4, 4, 5, 12)
    assert model.goal_state == ((1, 2, 3, 4), (), (), ())
    s = model.sample_state(np.random.default_rng(0))
    hash(s)
    assert not model.is_terminal(s) and model.current_player(s) == 0
    mask = model.legal_actions(s)
    assert mask.dtype == bool and mask.shape == (12,)
    assert tuple(int(a) for a in np.flatnonzero(mask)) == model.legal_action_ids(s)
    assert model.from_grid(model.to_grid(s)) == s
    assert model.is_terminal(model.goal_state) and model.legal_action_ids(model.goal_state) == ()
    assert not model.legal_actions(model.goal_state).any()
    planes = model.encode(s)
    assert planes.dtype == np.float32 and planes.shape == (5, 4, 4)
    assert np.array_equal(planes.argmax(0), model.to_grid(s)) and (planes.sum(0) == 1).all()
    assert repr(model) == "BlocksworldModel(num_blocks=4, num_stacks=4)"


def test_action_ids_are_source_then_destination():
    assert M3.moves == ((0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1))
    for stacks in (3, 4, 6):
        for a in range(stacks * (stacks - 1)):
            i, j = move_of(a, stacks)
            assert i != j and action_of(i, j, stacks) == a
    for bad in (-1, 6, 1.0, True):
        with pytest.raises(ValueError, match="action"):
            move_of(bad, 3)
    with pytest.raises(ValueError, match="i and j"):
        action_of(1, 1, 3)


def test_a_move_takes_the_top_block_onto_another_stack():
    s = ((1, 2), (), (3,))
    assert M3.legal_action_ids(s) == (0, 1, 4, 5)  # stack 1 is empty: its moves are illegal
    t = M3.step(s, action_of(0, 2, 3))
    assert t.state == ((1,), (), (3, 2)) and t.reward == 0.0 and not t.done
    assert M3.step(s, action_of(2, 1, 3)).state == ((1, 2), (3,), ())
    done = M3.step(s, action_of(2, 0, 3))
    assert done.state == ((1, 2, 3), (), ()) and done.reward == 1.0 and done.done
    assert s == ((1, 2), (), (3,))  # the input is never mutated
    for bad in (action_of(1, 0, 3), -1, 6, 0.5):
        with pytest.raises(ValueError):
            M3.step(s, bad)
    with pytest.raises(ValueError, match="stack 1 is empty"):
        M3.step(s, action_of(1, 2, 3))
    with pytest.raises(ValueError, match="solved"):
        M3.step(M3.goal_state, 0)


def test_every_state_reaches_the_goal_and_the_counts_are_right():
    dist = all_states(M3)
    assert len(dist) == 60  # 3! orders x C(5, 2) ways to cut them into 3 stacks
    assert len(all_states(M4)) == 840 and max(all_states(M4).values()) == 9


def test_grids_put_the_table_at_the_bottom_and_round_trip():
    s = ((1, 2), (), (3,))
    assert M3.to_grid(s).tolist() == [[0, 0, 0], [2, 0, 0], [1, 0, 3]]
    for state in all_states(M3):
        assert M3.from_grid(M3.to_grid(state)) == state


@pytest.mark.parametrize(
    "grid, message",
    [
        ([[0, 0, 0], [2, 0, 0], [0, 1, 3]], "floating block: block 2 in column 0"),
        ([[3, 0, 0], [2, 0, 0], [1, 0, 1]], r"blocks \[1\] more than once"),
        ([[0, 0, 0], [2, 0, 0], [1, 0, 0]], r"missing blocks \[3\]"),
        ([[0, 0, 0], [2, 0, 0], [1, 0, 4]], "classes must be integers 0"),
        ([[0, 0], [2, 0], [1, 3]], r"shape \(3, 3\)"),
        (np.array([[0, 0, 0], [2, 0, 0], [1, 0, 3]], dtype=float), "classes must be integers"),
    ],
)
def test_from_grid_rejects_impossible_pictures(grid, message):
    with pytest.raises(ValueError, match=message):
        M3.from_grid(np.asarray(grid))


@pytest.mark.parametrize(
    "state",
    [((1, 2), (3,)), ((1, 2), (), (3, 3)), ((1, 2), (), ()), ((1, 2), (), (4,)), "abc", ((1, 2), (), 3), None],
)
def test_invalid_states_are_rejected(state):
    with pytest.raises(ValueError, match="state"):
        M3.to_grid(state)


def test_a_given_goal_is_terminal_and_shows_in_the_repr():
    goal = ((), (3, 1), (2,))
    model = BlocksworldModel(3, goal=[[], [3, 1], [2]])
    assert model.goal_state == goal and model.is_terminal(goal) and not model.is_terminal(M3.goal_state)
    assert repr(model) == "BlocksworldModel(num_blocks=3, num_stacks=3, goal=((), (3, 1), (2,)))"
    assert model.step(((), (3,), (2, 1)), action_of(2, 1, 3)) == (goal, 1.0, True)
    with pytest.raises(ValueError, match="goal"):
        BlocksworldModel(3, goal=((1, 2), (), ()))


@pytest.mark.parametrize(
    "kwargs, name",
    [({"num_blocks": 1}, "num_blocks"), ({"num_blocks": 10}, "num_blocks"), ({"num_stacks": 2}, "num_stacks")],
)
def test_bad_sizes_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        BlocksworldModel(**kwargs)
    assert BlocksworldModel(2).num_stacks == 3  # at least 3 stacks, so every state reaches the goal


def test_sample_state_is_uniform_over_the_non_goal_states():
    model = BlocksworldModel(2)  # 2! x C(4, 2) = 12 states, 11 of them not the goal
    rng = np.random.default_rng(0)
    counts = Counter(model.sample_state(rng) for _ in range(4400))
    assert set(counts) == set(all_states(model)) - {model.goal_state}
    assert max(counts.values()) < 1.25 * 400 and min(counts.values()) > 0.75 * 400


def test_scramble_walks_exactly_k_moves_from_the_goal():
    dist = all_states(M4)
    rng = np.random.default_rng(1)
    for k in (1, 2, 5, 9):
        for _ in range(20):
            s = M4.scramble(rng, k)
            assert s != M4.goal_state and 1 <= dist[s] <= k
    assert all(dist[M4.scramble(rng, 1)] == 1 for _ in range(10))
    with pytest.raises(ValueError, match="moves"):
        M4.scramble(rng, 0)


# ---------------------------------------------------------------------------- the env


def test_registered_with_a_step_limit():
    spec = gym.spec("hybrid/Blocksworld-v0")
    assert spec.max_episode_steps == 100
    env = gym.make("hybrid/Blocksworld-v0")
    assert isinstance(env.unwrapped, BlocksworldEnv)
    assert env.observation_space.shape == (64, 64, 3) and env.action_space.n == 12
    env.close()


@pytest.mark.parametrize("obs_type", ["rgb", "symbolic"])
def test_env_checker_passes_without_warnings(obs_type):
    env = gym.make("hybrid/Blocksworld-v0", render_mode="rgb_array", obs_type=obs_type)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    env.close()


def test_tiles_are_coloured_blocks_with_a_dark_border_on_a_light_background():
    tiles = blocksworld_tiles(4, 16)
    assert tiles.shape == (5, 16, 16, 3) and len({t.tobytes() for t in tiles}) == 5
    assert (tiles[0] == BACKGROUND).all()
    for k in range(1, 5):
        assert (tiles[k, 0] == EDGE).all() and (tiles[k, :, -1] == EDGE).all()
        assert (tiles[k, 8, 8] == BLOCK_COLOURS[k - 1][1]).all()
    names = [name for name, _ in BLOCK_COLOURS]
    assert names[:4] == ["red", "blue", "green", "yellow"] and len(set(names)) == len(names) == 9
    assert len({c for _, c in BLOCK_COLOURS}) == 9


def test_env_agrees_with_its_model_and_draws_its_grid():
    env = BlocksworldEnv(render_mode="rgb_array")
    model = env.model
    obs, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        state = info["state"]
        assert np.array_equal(obs, frame_from_grid(model.to_grid(state), env.tiles))
        assert np.array_equal(grid_from_frame(obs, env.tiles), model.to_grid(state))
        assert np.array_equal(env.render(), obs) and np.array_equal(info["action_mask"], model.legal_actions(state))
        action = int(rng.choice(model.legal_action_ids(state)))
        t = model.step(state, action)
        obs, reward, terminated, truncated, info = env.step(action)
        assert info["state"] == t.state and reward == t.reward and terminated == t.done
        if terminated:
            break


def test_a_block_on_the_table_is_drawn_at_the_bottom_of_the_picture():
    env = BlocksworldEnv(num_blocks=3, cell_px=8)
    obs, _ = env.reset(options={"state": ((), (), (3, 1, 2))})
    assert obs.shape == (24, 24, 3)
    assert (obs[20, 20] == BLOCK_COLOURS[2][1]).all()  # block 3, bottom right
    assert (obs[4, 20] == BLOCK_COLOURS[1][1]).all()  # block 2 on top
    assert (obs[20, 4] == BACKGROUND).all()


def test_reset_options_and_illegal_moves():
    env = BlocksworldEnv(num_blocks=3, obs_type="symbolic")
    obs, info = env.reset(seed=0, options={"state": ((1, 2), (), (3,))})
    assert info["state"] == ((1, 2), (), (3,)) and obs.dtype == np.uint8
    obs, reward, terminated, truncated, info = env.step(action_of(1, 0, 3))  # from the empty stack: a no-op
    assert info["illegal_action"] and info["state"] == ((1, 2), (), (3,)) and reward == 0.0 and not terminated
    obs, reward, terminated, truncated, info = env.step(action_of(2, 0, 3))
    assert reward == 1.0 and terminated and info["is_success"]
    grid = np.array([[0, 0, 0], [3, 0, 0], [1, 0, 2]])
    assert env.reset(options={"state": grid})[1]["state"] == ((1, 3), (), (2,))
    _, info = env.reset(seed=1, options={"moves": 1})
    assert all_states(env.model)[info["state"]] == 1
    bad = [
        ({"state": ((1, 2, 3), (), ())}, "goal"),
        ({"state": ((1, 2), (), (2,))}, "not a valid state"),
        ({"state": np.array([[0, 0, 0], [3, 0, 0], [0, 1, 2]])}, "floating"),
        ({"moves": 0}, "moves"),
        ({"moves": 2, "state": ((1,), (2,), (3,))}, "not both"),
        ({"presses": 2}, "may only hold"),
    ]
    for options, message in bad:
        with pytest.raises(ValueError, match=message):
            env.reset(options=options)
    with pytest.raises(ValueError, match="action"):
        env.step(6)


def test_ansi_render_shows_the_grid():
    env = BlocksworldEnv(num_blocks=3, render_mode="ansi")
    env.reset(options={"state": ((1, 2), (), (3,))})
    assert env.render() == " 0  0  0\n 2  0  0\n 1  0  3\n"
