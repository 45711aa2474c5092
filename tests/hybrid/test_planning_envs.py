"""The one table of planning envs: every reader dispatches through it, unknown ids list the known ones."""

import dataclasses

import gymnasium as gym
import hybrid.tasks.envs
import numpy as np
import pytest

from hybrid.planning.agents import SUPPORTED_ENVS, PlanningAgent, make_agent
from hybrid.planning.envs import PLANNING_ENVS, PlanningEnv, game_env, planning_env, planning_env_ids, task_env
from hybrid.planning.perceive import frames_of_states, perception_key
from hybrid.planning.plan import PLAN_ENVS
from hybrid.planning.task import PlanningTask


def test_every_row_is_a_registered_env_and_rows_are_frozen():
    assert len({row.id for row in PLANNING_ENVS}) == len(PLANNING_ENVS)
    for row in PLANNING_ENVS:
        assert row.id in hybrid.tasks.envs.ENV_SPECS and row.id in gym.registry
    with pytest.raises(dataclasses.FrozenInstanceError):
        PLANNING_ENVS[0].id = "x"


def test_the_readers_derive_their_ids_from_the_table():
    assert SUPPORTED_ENVS == planning_env_ids("solver") == (
        "hybrid/SlidingPuzzle-v0", "hybrid/LightsOut-v0", "hybrid/Sokoban-v0")
    assert PLAN_ENVS == ("hybrid/Sokoban-v0",)
    assert PlanningTask.ENVS == {
        "8-puzzle": ("hybrid/SlidingPuzzle-v0", 200, 3),
        "lights-out": ("hybrid/LightsOut-v0", 100, 5),
        "sokoban": ("hybrid/Sokoban-v0", 300, None),
    }
    assert task_env("lights-out").id == "hybrid/LightsOut-v0"
    assert type(game_env("connect_four").model()).__name__ == "ConnectFourModel"


@pytest.mark.parametrize(
    "call",
    [
        lambda: planning_env("hybrid/Chess-v0"),
        lambda: make_agent("hybrid/Chess-v0"),
        lambda: make_agent("hybrid/TicTacToe-v0"),  # in the table, but no single-agent solver
        lambda: perception_key("hybrid/Chess-v0", None, 10, 0),
        lambda: frames_of_states("hybrid/Chess-v0", []),
    ],
)
def test_unknown_ids_raise_value_error_listing_the_known_ones(call):
    with pytest.raises(ValueError, match=r"env_id must be one of \(.*hybrid/SlidingPuzzle-v0.*\), got"):
        call()


def test_unknown_task_and_game_names_list_the_known_ones():
    with pytest.raises(ValueError, match=r"name must be one of \['8-puzzle', 'lights-out', 'sokoban'\]"):
        task_env("chess")
    with pytest.raises(ValueError, match=r"game must be one of \['connect_four', 'tic_tac_toe'\]"):
        game_env("go")


@pytest.mark.parametrize("env_id", planning_env_ids("solver"))
def test_make_agent_uses_the_rows_rules_and_solver(env_id):
    row = planning_env(env_id)
    agent = make_agent(env_id)
    assert isinstance(agent, PlanningAgent) and agent.solver is row.solver
    if row.id == "hybrid/Sokoban-v0":
        assert agent.model is None and agent.model_factory is not None  # the level is read from each frame
    else:
        assert repr(agent.model) == repr(row.model())


@pytest.mark.parametrize("env_id", planning_env_ids("draw"))
def test_a_rows_drawing_is_the_envs_own_frame(env_id):
    env = gym.make(env_id)
    frame, info = env.reset(seed=3)
    grid = env.unwrapped.model.to_grid(info["state"])
    rows, cols, k = planning_env(env_id).grid_spec(
        {"dim": grid.shape} if env_id == "hybrid/Sokoban-v0" else {})
    assert (rows, cols) == grid.shape and int(grid.max()) < k
    assert np.array_equal(frames_of_states(env_id, [grid])[0], frame)
    env.close()


def test_a_new_row_is_all_an_agent_needs():
    lights = planning_env("hybrid/LightsOut-v0")
    row = PlanningEnv(id="hybrid/LightsOut-v0", rules=lambda kwargs: lights.model({"size": 3}),
                      solver=lights.solver)
    model = row.model()
    plus = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])  # what pressing the centre of a dark 3 x 3 board lights
    state = model.from_grid(plus)
    agent = PlanningAgent(row.model(), row.solver)
    assert agent.plan(state) == [4]
