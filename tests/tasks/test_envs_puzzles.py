"""The sliding-tile puzzle and Lights Out models: moves, goals, solvability, scrambles and grids."""

from collections import deque

import numpy as np
import pytest
from hybrid.tasks.envs import LightsOutModel, SlidingPuzzleModel, TransitionModel
from hybrid.tasks.envs.sliding_puzzle import DOWN, LEFT, RIGHT, UP

PUZ = SlidingPuzzleModel()
LO = LightsOutModel()


def distances_from_goal(model, depth):
    """Breadth-first distances from the goal of every state within ``depth`` moves (moves are reversible)."""
    dist = {model.goal_state: 0}
    frontier = deque([model.goal_state])
    while frontier:
        s = frontier.popleft()
        if dist[s] == depth:
            continue
        blank = s.index(0)
        for a in model._legal[blank]:  # the goal's own moves too: search expands it
            cells = list(s)
            other = model._target[blank][a]
            cells[blank], cells[other] = cells[other], 0
            n = tuple(cells)
            if n not in dist:
                dist[n] = dist[s] + 1
                frontier.append(n)
    return dist


@pytest.mark.parametrize("model", [PUZ, LO, SlidingPuzzleModel(4), LightsOutModel(3)])
def test_puzzle_models_follow_the_protocol(model):
    assert isinstance(model, TransitionModel) and model.num_players == 1
    s = model.sample_state(np.random.default_rng(0))
    hash(s)
    assert not model.is_terminal(s) and model.current_player(s) == 0
    mask = model.legal_actions(s)
    assert mask.dtype == bool and mask.shape == (model.num_actions,)
    assert tuple(int(a) for a in np.flatnonzero(mask)) == model.legal_action_ids(s)
    assert model.from_grid(model.to_grid(s)) == s
    assert model.is_terminal(model.goal_state) and model.legal_action_ids(model.goal_state) == ()
    assert not model.legal_actions(model.goal_state).any()
    assert model.encode(s).dtype == np.float32 and model.encode(s).shape[1:] == (model.rows, model.cols)


def test_sliding_puzzle_moves_the_blank():
    s = (4, 1, 2, 3, 0, 5, 6, 7, 8)  # blank in the centre
    assert PUZ.legal_action_ids(s) == (UP, DOWN, LEFT, RIGHT)
    assert PUZ.step(s, UP).state == (4, 0, 2, 3, 1, 5, 6, 7, 8)
    assert PUZ.step(s, DOWN).state == (4, 1, 2, 3, 7, 5, 6, 0, 8)
    assert PUZ.step(s, LEFT).state == (4, 1, 2, 0, 3, 5, 6, 7, 8)
    assert PUZ.step(s, RIGHT).state == (4, 1, 2, 3, 5, 0, 6, 7, 8)
    corner = (1, 2, 3, 4, 5, 6, 7, 8, 0)
    assert PUZ.legal_action_ids(corner) == (UP, LEFT)
    for action in (DOWN, RIGHT, -1, 4, 0.5):
        with pytest.raises(ValueError):
            PUZ.step(corner, action)
    one_away = (1, 0, 2, 3, 4, 5, 6, 7, 8)
    t = PUZ.step(one_away, LEFT)
    assert t.state == PUZ.goal_state and t.reward == 1.0 and t.done
    assert PUZ.step(one_away, DOWN).reward == 0.0
    with pytest.raises(ValueError, match="solved"):
        PUZ.step(PUZ.goal_state, DOWN)


def test_sliding_puzzle_encode_is_one_hot():
    s = PUZ.sample_state(np.random.default_rng(3))
    planes = PUZ.encode(s)
    assert planes.shape == (9, 3, 3) and (planes.sum(0) == 1).all()
    assert (planes.argmax(0) == PUZ.to_grid(s)).all()


def test_sliding_puzzle_solvability_and_from_grid():
    swapped = (0, 2, 1, 3, 4, 5, 6, 7, 8)
    assert not PUZ.is_solvable(swapped)
    with pytest.raises(ValueError, match="reachable"):
        PUZ.from_grid(np.array(swapped).reshape(3, 3))
    with pytest.raises(ValueError, match="once"):
        PUZ.from_grid(np.array([0, 1, 1, 3, 4, 5, 6, 7, 8]).reshape(3, 3))
    with pytest.raises(ValueError, match="shape"):
        PUZ.from_grid(np.arange(16).reshape(4, 4))
    # Every state within 10 moves of the goal is solvable; all 12 solvable states of the 2 x 2 puzzle are reached.
    assert all(PUZ.is_solvable(s) for s in distances_from_goal(PUZ, 10))
    small = SlidingPuzzleModel(2)
    assert len(distances_from_goal(small, 100)) == 12


def test_sampled_states_are_solvable_distinct_and_seeded():
    for size in (2, 3, 4):
        model = SlidingPuzzleModel(size)
        states = [model.sample_state(np.random.default_rng(seed)) for seed in range(40)]
        assert all(model.is_solvable(s) and s != model.goal_state for s in states)
        assert states == [model.sample_state(np.random.default_rng(seed)) for seed in range(40)]
    assert len(set(states)) == 40


def test_scramble_walks_exactly_k_moves_and_states_the_true_distance():
    dist = distances_from_goal(PUZ, 14)
    for k in (1, 2, 3, 4, 5):  # below half the shortest cycle (12): a walk without undo is a shortest path
        for seed in range(20):
            assert dist[PUZ.scramble(np.random.default_rng(seed), k)] == k
    shorter = 0
    for k in (7, 14):  # Latplan's instances: at most k moves from the goal, same parity, sometimes fewer
        for seed in range(60):
            d = dist[PUZ.scramble(np.random.default_rng(seed), k)]
            assert 0 < d <= k and d % 2 == k % 2
            shorter += d < k
    assert shorter > 0
    with pytest.raises(ValueError, match="moves"):
        PUZ.scramble(np.random.default_rng(0), 0)


def test_lights_out_press_toggles_the_cross():
    model = LightsOutModel(3)
    t = model.step(0b000000001, 4)  # a corner light on; press the centre
    assert model.to_grid(t.state).tolist() == [[1, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert not t.done and t.reward == 0.0
    corner = model.to_grid(model.press(0, [0])).tolist()
    assert corner == [[1, 1, 0], [1, 0, 0], [0, 0, 0]]
    for action in (-1, 9, 2.0):
        with pytest.raises(ValueError, match="cell"):
            model.step(1, action)
    with pytest.raises(ValueError, match="solved"):
        model.step(0, 3)


def test_lights_out_solving_ends_with_reward_one():
    rng = np.random.default_rng(4)
    cells = rng.choice(25, size=6, replace=False)
    state = LO.press(0, cells)
    assert state != 0 and not LO.is_terminal(state)
    for i, cell in enumerate(cells):  # pressing the same cells again turns everything off
        t = LO.step(state, int(cell))
        state = t.state
        assert t.done == (i == len(cells) - 1) and t.reward == float(t.done)
    assert state == LO.goal_state == 0 and LO.is_terminal(state)


def test_lights_out_solvability():
    # 5 x 5: the press matrix has nullity 2, so a quarter of the patterns are solvable.
    assert len(LO._null_space) == 2
    for q in LO._null_space:  # a null pattern of presses changes nothing
        assert LO.press(0, [k for k in range(25) if q >> k & 1]) == 0
    rng = np.random.default_rng(0)
    patterns = rng.integers(0, 2, size=(4000, 25))
    solvable = [LO.is_solvable(sum(1 << k for k in range(25) if p[k])) for p in patterns]
    assert 0.2 < np.mean(solvable) < 0.3
    assert not LO.is_solvable(1)  # a single corner light cannot be turned off on 5 x 5
    with pytest.raises(ValueError, match="reachable"):
        LO.from_grid(LO.to_grid(1))
    assert LightsOutModel(4)._null_space and not LightsOutModel(3)._null_space  # 3 x 3: every pattern
    for _ in range(20):
        assert LO.is_solvable(LO.sample_state(rng))
        assert LO.is_solvable(LO.sample_state(rng, presses=3))


def test_lights_out_grids_and_encoding():
    s = LO.sample_state(np.random.default_rng(1))
    grid = LO.to_grid(s)
    assert grid.shape == (5, 5) and set(np.unique(grid)) <= {0, 1}
    assert LO.from_grid(grid) == s and (LO.encode(s)[0] == grid).all()
    with pytest.raises(ValueError, match="classes"):
        LO.from_grid(np.full((5, 5), 2))
    with pytest.raises(ValueError, match="shape"):
        LO.from_grid(np.zeros((4, 5), int))
    with pytest.raises(ValueError, match="bitmask"):
        LO.to_grid(-1)


@pytest.mark.parametrize("size", [0, 1, -3, 10, 2.5, True, "3"])
def test_sliding_puzzle_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match="size"):
        SlidingPuzzleModel(size)


@pytest.mark.parametrize("size", [0, 1, -1, 17, 5.0])
def test_lights_out_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match="size"):
        LightsOutModel(size)


def test_lights_out_rejects_bad_press_counts():
    with pytest.raises(ValueError, match="presses"):
        LO.sample_state(np.random.default_rng(0), presses=0)
    with pytest.raises(ValueError, match="presses"):
        LO.sample_state(np.random.default_rng(0), presses=26)
