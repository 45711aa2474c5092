"""The one table of planning envs: every reader dispatches through it, unknown ids list the known ones."""

import dataclasses
from collections import deque

import gymnasium as gym
import hybrid.tasks.envs
import numpy as np
import pytest
from hybrid.symbolic.planning.best_first import SearchResult, astar
from hybrid.tasks.envs.blocksworld import BlocksworldModel

from hybrid.planning.agents import SUPPORTED_ENVS, PlanningAgent, make_agent
from hybrid.planning.envs import PLANNING_ENVS, PlanningEnv, game_env, planning_env, planning_env_ids, task_env
from hybrid.planning.perceive import frames_of_states, perception_key
from hybrid.planning.plan import PLAN_ENVS
from hybrid.planning.solvers import blocksworld_heuristic, blocksworld_solver
from hybrid.planning.task import PlanningTask


def test_every_row_is_a_registered_env_and_rows_are_frozen():
    assert len({row.id for row in PLANNING_ENVS}) == len(PLANNING_ENVS)
    for row in PLANNING_ENVS:
        assert row.id in hybrid.tasks.envs.ENV_SPECS and row.id in gym.registry
    with pytest.raises(dataclasses.FrozenInstanceError):
        PLANNING_ENVS[0].id = "x"


def test_the_readers_derive_their_ids_from_the_table():
    assert SUPPORTED_ENVS == planning_env_ids("solver") == (
        "hybrid/SlidingPuzzle-v0", "hybrid/LightsOut-v0", "hybrid/Sokoban-v0",
        "hybrid/TwistedLightsOut-v0", "hybrid/Blocksworld-v0")
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


# ============================================================================ the rows of the harder pictures


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("hybrid/SlidingPuzzle-v0", {"digits": "handwritten", "writer": 7}),
        ("hybrid/SlidingPuzzle-v0", {"size": 4, "cell_px": 24, "digits": "handwritten"}),
        ("hybrid/LightsOut-v0", {"twist": 1.5}),
        ("hybrid/TwistedLightsOut-v0", {}),
        ("hybrid/TwistedLightsOut-v0", {"twist": 0.0, "size": 4}),
        ("hybrid/TwistedLightsOut-v0", {"twist": 5.0, "cell_px": 12}),
        ("hybrid/Blocksworld-v0", {"num_blocks": 5, "num_stacks": 3}),
    ],
)
def test_a_rows_drawing_honours_the_picture_kwargs(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    frame, info = env.reset(seed=1)
    grid = env.unwrapped.model.to_grid(info["state"])
    assert planning_env(env_id).grid_spec(kwargs)[:2] == grid.shape
    assert np.array_equal(frames_of_states(env_id, [grid], kwargs)[0], frame)
    env.close()


def test_twisted_lights_out_has_the_rules_and_solver_of_lights_out():
    twisted, plain = planning_env("hybrid/TwistedLightsOut-v0"), planning_env("hybrid/LightsOut-v0")
    assert twisted.solver is plain.solver and twisted.task is None
    assert repr(twisted.model({"size": 4})) == repr(plain.model({"size": 4})) == "LightsOutModel(size=4)"
    grid = np.array([[0, 1, 0, 0, 0], [1, 1, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    flat, bent = frames_of_states(plain.id, [grid])[0], frames_of_states(twisted.id, [grid])[0]
    assert flat.shape == bent.shape and not np.array_equal(flat, bent)
    assert make_agent(twisted.id).plan(twisted.model().from_grid(grid)) == [6]  # press the plus's centre


def _distances(model):
    """Every Blocksworld state's distance to the goal, breadth first from the goal (moves are reversible)."""
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


M3 = BlocksworldModel(3)
M4 = BlocksworldModel()


@pytest.mark.parametrize(
    "state, optimum",
    [
        (((1,), (2,), (3,)), 2),  # put 2, then 3, on block 1
        (((), (3, 2, 1), ()), 3),  # unstack the reversed tower straight onto stack 0
        (((3, 2, 1), (), ()), 7),  # a reversed tower in place: 3 must leave and come back
        (((1, 2), (3,), ()), 1),
    ],
)
def test_solver_finds_the_shortest_plan(state, optimum):
    result = blocksworld_solver(M3, state, None)
    assert isinstance(result, SearchResult) and result.solved and result.reason == "solved"
    assert len(result.actions) == optimum == _distances(M3)[state]
    s = state
    for a in result.actions:
        s = M3.step(s, a).state
    assert s == M3.goal_state


def test_solver_is_optimal_against_breadth_first_search_and_a_given_goal():
    rng = np.random.default_rng(3)
    for _ in range(15):
        s = M4.sample_state(rng)
        assert len(blocksworld_solver(M4, s, 10.0).actions) == len(astar(M4, s, None).actions)
    model = BlocksworldModel(4, goal=((), (4, 3), (), (2, 1)))
    dist = _distances(model)
    for s in list(dist)[::97]:
        assert len(blocksworld_solver(model, s, None).actions) == dist[s]


def test_heuristic_is_admissible_and_consistent():
    for model in (M3, BlocksworldModel(3, goal=((2,), (), (3, 1)))):
        h = blocksworld_heuristic(model)
        dist = _distances(model)
        for s, d in dist.items():
            assert h(s) <= d and (h(s) == 0) == (s == model.goal_state)
            for a in model._moves_from(s):
                i, j = model.moves[a]
                stacks = list(s)
                stacks[i], stacks[j] = s[i][:-1], s[j] + s[i][-1:]
                assert abs(h(s) - h(tuple(stacks))) <= 1


def test_solver_stops_at_its_time_limit():
    result = blocksworld_solver(BlocksworldModel(6), ((6, 5, 4, 3, 2, 1), (), (), (), (), ()), 0.0)
    assert not result.solved and result.reason == "time limit"


def test_the_tables_row_draws_as_the_env_and_plans_optimally():
    row = planning_env("hybrid/Blocksworld-v0")
    assert row.solver is blocksworld_solver and row.task is None
    kwargs = {"num_blocks": 3, "num_stacks": 4, "cell_px": 10}
    env = gym.make("hybrid/Blocksworld-v0", **kwargs)
    obs, info = env.reset(seed=2)
    assert row.grid_spec(kwargs) == (3, 4, 4)
    grid = env.unwrapped.model.to_grid(info["state"])
    assert np.array_equal(frames_of_states("hybrid/Blocksworld-v0", [grid], kwargs)[0], obs)
    agent = make_agent("hybrid/Blocksworld-v0", env_kwargs={"num_blocks": 3})
    assert agent.plan(((3, 2, 1), (), ())) == list(blocksworld_solver(M3, ((3, 2, 1), (), ()), None).actions)
    assert len(agent.plan(((3, 2, 1), (), ()))) == 7
    env.close()
