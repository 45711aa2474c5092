"""Hybrid planning agents: perception -> state -> search -> actions, replanning, and the perception cache."""

from __future__ import annotations

import inspect

import gymnasium as gym
import hybrid.tasks.envs  # noqa: F401  (registers the hybrid/* ids)
import numpy as np
import pytest
from hybrid.neural.planning.perception import GridPerception
from hybrid.symbolic.planning.puzzles import sliding_puzzle_heuristic, solve_sliding_puzzle
from hybrid.tasks.envs.lights_out import LightsOutModel
from hybrid.tasks.envs.sliding_puzzle import SlidingPuzzleModel
from hybrid.tasks.envs.sokoban import SokobanModel, parse_level, read_frame, render_grid

from hybrid.planning.agents import (
    NoPlanError,
    PerceptionError,
    PlanningAgent,
    astar_solver,
    make_agent,
    sliding_puzzle_solver,
)
from hybrid.planning.perceive import frames_of_states, perception_key, read_grid, read_grids, train_perception

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PUZZLE = "hybrid/SlidingPuzzle-v0"
SMALL = {"epochs": 8, "channels": 8}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("perception-cache")


@pytest.fixture(scope="module")
def puzzle_perception(cache, one_torch_thread):
    return train_perception(PUZZLE, 100, seed=0, env_kwargs={"size": 3}, cache_dir=cache, perception_kwargs=SMALL)


def _frame(state: tuple[int, ...]) -> np.ndarray:
    return frames_of_states(PUZZLE, [SlidingPuzzleModel(3).to_grid(state)])[0]


def _replay(model, state, actions):
    for a in actions:
        state = model.step(state, a).state
    return state


def test_agent_solves_an_eight_puzzle_from_pixels(puzzle_perception):
    model = SlidingPuzzleModel(3)
    agent = make_agent(PUZZLE, puzzle_perception, time_limit_s=1.0)
    rng = np.random.default_rng(5)
    for moves in (7, 14, 30):
        true_state = model.scramble(rng, moves)
        result = agent.solve(_frame(true_state))
        assert result.solved and result.state == true_state and result.reason == "solved"
        assert _replay(model, true_state, result.actions) == model.goal_state  # replayed on the TRUE state
        assert len(result.actions) == solve_sliding_puzzle(true_state).cost  # A* is optimal
        assert result.seconds < 1.0 and result.perceive_seconds > 0
        assert agent.plan(_frame(true_state)) == list(result.actions)
    assert agent.plan(_frame(model.goal_state)) == []  # at the goal: nothing to do


def test_act_follows_the_plan_and_replans_when_pushed_off_it(puzzle_perception):
    env = gym.make(PUZZLE)
    obs, info = env.reset(seed=3, options={"scramble": 14})
    optimal = solve_sliding_puzzle(info["state"]).cost
    agent = make_agent(PUZZLE, puzzle_perception)
    steps, terminated = 0, False
    while not terminated:
        obs, _, terminated, _, info = env.step(agent.act(obs))
        steps += 1
    assert steps == optimal and agent.replans == 0 and info["is_success"]
    with pytest.raises(NoPlanError) as err:
        agent.act(obs)
    assert err.value.reason == "terminal"

    # the world moves the blank somewhere the plan did not say: the agent replans from what it sees
    obs, info = env.reset(seed=4, options={"scramble": 14})
    agent = make_agent(PUZZLE, puzzle_perception)
    obs, *_ = env.step(agent.act(obs))
    planned = agent.act(obs)
    other = next(a for a in np.flatnonzero(env.unwrapped.action_masks()) if a != planned)
    obs, _, terminated, _, info = env.step(int(other))
    for _ in range(40):
        if terminated:
            break
        obs, _, terminated, _, info = env.step(agent.act(obs))
    assert terminated and info["is_success"] and agent.replans == 1


def test_unreadable_frames_are_clear_errors_or_trusted_mid_plan(puzzle_perception):
    model = SlidingPuzzleModel(3)
    state = model.scramble(np.random.default_rng(1), 10)
    agent = make_agent(PUZZLE, puzzle_perception)
    bad_grid = model.to_grid(state).copy()
    bad_grid[bad_grid == 5] = 0  # two blanks: no state of the 8-puzzle
    bad = frames_of_states(PUZZLE, [bad_grid])[0]
    result = agent.solve(bad)
    assert not result.solved and result.reason == "perception" and "grid must hold each" in result.error
    assert result.grid is not None and (result.grid == bad_grid).all()
    with pytest.raises(PerceptionError, match="no valid state"):
        agent.plan(bad)
    with pytest.raises(PerceptionError):
        agent.act(bad)  # no plan under way: nothing to fall back on

    first = agent.act(_frame(state))
    expected = model.step(state, first).state
    second = agent.act(bad)  # mid-plan, an unreadable frame is taken to show the expected state
    assert agent.misreads == 1 and agent.replans == 0
    assert second == agent.last_result.actions[1]
    assert model.step(expected, second)  # legal from the expected state
    with pytest.raises(ValueError, match="observation"):
        agent.solve(np.zeros((50, 50, 3), dtype=np.uint8))  # not made of the training frame size
    with pytest.raises(ValueError, match="no perception"):
        make_agent(PUZZLE).solve(_frame(state))


def test_agents_from_symbols_lights_out_and_sokoban():
    lights = LightsOutModel(5)
    agent = make_agent("hybrid/LightsOut-v0")
    state = lights.sample_state(np.random.default_rng(2))
    presses = agent.plan(lights.to_grid(state))  # a grid of cell classes
    assert lights.press(state, presses) == 0
    assert agent.plan(state) == presses  # the state itself
    unsolvable = np.zeros((5, 5), dtype=np.int64)
    unsolvable[0, 0] = 1  # one lit corner: no presses turn it off, so it is no state of the model
    with pytest.raises(PerceptionError, match="no presses"):
        agent.plan(unsolvable)
    result = PlanningAgent(lights, lambda m, s, t: agent.solver(m, s, t)).solve(1)
    assert result.reason == "exhausted" and not result.solved  # the solver's own verdict, no crash
    with pytest.raises(NoPlanError) as err:
        PlanningAgent(lights, agent.solver).plan(1)
    assert err.value.reason == "exhausted"

    level = parse_level("#######\n#     #\n# $@$.#\n#  .  #\n#######")
    true_model = SokobanModel(level)

    class Oracle:  # an exact reader of Sokoban frames, standing in for a trained net
        def predict(self, frame):
            return read_frame(frame)

    sokoban = make_agent("hybrid/Sokoban-v0", Oracle())
    frame = render_grid(true_model.to_grid(true_model.initial_state))
    actions = sokoban.plan(frame)
    assert true_model.is_solved(_replay(true_model, true_model.initial_state, actions))
    env = gym.make("hybrid/Sokoban-v0", level=level)
    obs, _ = env.reset(seed=0)
    agent = make_agent("hybrid/Sokoban-v0", Oracle())
    for _ in range(60):
        obs, _, terminated, _, info = env.step(agent.act(obs))
        if terminated:
            break
    assert info["solved"]


def test_generic_astar_solver_and_bad_arguments():
    model = SlidingPuzzleModel(3)
    state = model.scramble(np.random.default_rng(0), 9)
    agent = PlanningAgent(model, astar_solver(sliding_puzzle_heuristic(3)))
    assert _replay(model, state, agent.plan(state)) == model.goal_state
    assert PlanningAgent(model, sliding_puzzle_solver).plan(state) == agent.plan(state)
    with pytest.raises(ValueError, match="env_id"):
        make_agent("hybrid/TicTacToe-v0")
    with pytest.raises(ValueError, match="model"):
        PlanningAgent(42, sliding_puzzle_solver)
    with pytest.raises(ValueError, match="solver"):
        PlanningAgent(model, "astar")
    with pytest.raises(ValueError, match="perception"):
        PlanningAgent(model, sliding_puzzle_solver, perception=object())
    with pytest.raises(ValueError, match="time_limit_s"):
        PlanningAgent(model, sliding_puzzle_solver, time_limit_s=-1)
    with pytest.raises(ValueError, match="weight"):
        astar_solver(weight=-1)
    hard = (8, 6, 7, 2, 5, 4, 3, 0, 1)  # 31 moves from the goal
    result = PlanningAgent(model, astar_solver()).solve(hard, time_limit_s=0.0)
    assert not result.solved and result.reason == "time limit"


# ============================================================================ perception cache


def test_perception_cache_hit_returns_identical_predictions(puzzle_perception, cache):
    again = train_perception(PUZZLE, 100, seed=0, env_kwargs={"size": 3}, cache_dir=cache, perception_kwargs=SMALL)
    assert again.from_cache_ and not puzzle_perception.from_cache_
    assert again.cache_path_ == puzzle_perception.cache_path_ and again.cache_path_.is_file()
    assert again.cache_path_.with_suffix(".json").is_file()
    assert again.interactions_ == 100
    model, rng = SlidingPuzzleModel(3), np.random.default_rng(0)
    frames = np.stack(frames_of_states(PUZZLE, [model.to_grid(model.sample_state(rng)) for _ in range(20)]))
    np.testing.assert_array_equal(again.predict_proba(frames), puzzle_perception.predict_proba(frames))
    # the key follows what decides the weights, not where they run
    key = perception_key(PUZZLE, {"size": 3}, 100, 0, SMALL)
    assert key in again.cache_path_.name
    assert perception_key(PUZZLE, {"size": 3}, 100, 1, SMALL) != key
    assert perception_key(PUZZLE, {"size": 3}, 101, 0, SMALL) != key
    assert perception_key(PUZZLE, {"size": 3}, 100, 0, {**SMALL, "channels": 4}) != key
    default_lr = inspect.signature(GridPerception).parameters["lr"].default
    assert perception_key(PUZZLE, {"size": 3}, 100, 0, {**SMALL, "lr": default_lr}) == key  # a default spelled out


def test_train_perception_refuses_levels_to_solve_and_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="env_kwargs.*generated levels only"):
        train_perception("hybrid/Sokoban-v0", 10, env_kwargs={"level_file": "levels.txt"}, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="env_id"):
        train_perception("hybrid/TicTacToe-v0", 10, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="n_frames"):
        train_perception(PUZZLE, 0, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="perception_kwargs"):
        train_perception(PUZZLE, 10, cache_dir=tmp_path, perception_kwargs={"rows": 4})
    with pytest.raises(ValueError, match="perception_kwargs"):
        train_perception(PUZZLE, 10, cache_dir=tmp_path, perception_kwargs={"no_such": 1})
    with pytest.raises(ValueError, match="obs_type"):
        train_perception(PUZZLE, 10, env_kwargs={"obs_type": "symbolic"}, cache_dir=tmp_path)


def test_sokoban_perception_reads_levels_of_any_size(tmp_path):
    perception = train_perception("hybrid/Sokoban-v0", 40, seed=0, cache_dir=tmp_path,
                                  perception_kwargs={"epochs": 3, "channels": 8})
    assert perception.frame_shape_ == (80, 80)  # trained on generated 10 x 10 levels
    small = SokobanModel(parse_level("#####\n#@$.#\n#####"))
    wide = SokobanModel(parse_level("############\n#@ $   .   #\n# $  . ##  #\n############"))
    grids = [m.to_grid(m.initial_state) for m in (small, wide)]
    frames = [render_grid(g) for g in grids]
    read = read_grids(perception, frames)
    for got, want in zip(read, grids, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(read_grid(perception, frames[1]), grids[1])
    with pytest.raises(ValueError, match="frame"):
        read_grid(perception, np.zeros((20, 21, 3), dtype=np.uint8))
