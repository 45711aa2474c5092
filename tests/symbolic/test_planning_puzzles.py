"""Exact puzzle solvers: A* with Manhattan + linear conflicts on the 8-puzzle, Lights Out over GF(2)."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from hybrid.symbolic.planning.puzzles import (
    LightsOutSolver,
    linear_conflicts,
    manhattan_distance,
    sliding_puzzle_heuristic,
    solve_lights_out,
    solve_sliding_puzzle,
)
from hybrid.tasks.envs.lights_out import LightsOutModel
from hybrid.tasks.envs.sliding_puzzle import SlidingPuzzleModel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def eight_puzzle_distances() -> dict[tuple[int, ...], int]:
    """Breadth-first distances to the goal of all 181,440 solvable 8-puzzle states."""
    model = SlidingPuzzleModel(3)
    goal = model.goal_state
    dist = {goal: 0}
    queue = deque([goal])
    target = model._target
    while queue:
        s = queue.popleft()
        b = s.index(0)
        for other in target[b]:
            if other < 0:
                continue
            cells = list(s)
            cells[b], cells[other] = cells[other], 0
            t = tuple(cells)
            if t not in dist:
                dist[t] = dist[s] + 1
                queue.append(t)
    assert len(dist) == 181_440 and max(dist.values()) == 31
    return dist


def _replay_sliding(state, actions):
    model = SlidingPuzzleModel(3)
    for a in actions:
        state = model.step(state, a).state
    return state


def test_heuristic_is_admissible_and_consistent(eight_puzzle_distances):
    h = sliding_puzzle_heuristic(3)
    plain = sliding_puzzle_heuristic(3, linear_conflict=False)
    model = SlidingPuzzleModel(3)
    states = list(eight_puzzle_distances)
    rng = np.random.default_rng(0)
    stronger = 0
    for i in rng.choice(len(states), 4000, replace=False):
        s = states[i]
        assert plain(s) <= h(s) <= eight_puzzle_distances[s]
        stronger += h(s) > plain(s)
        for a in model.legal_action_ids(s):
            assert h(s) <= 1 + h(model.step(s, a).state)  # consistent: A* never reopens a state
    assert stronger > 1000  # linear conflicts add to Manhattan distance on many states
    assert h(model.goal_state) == 0


def test_astar_is_optimal_on_random_instances(eight_puzzle_distances):
    states = list(eight_puzzle_distances)
    rng = np.random.default_rng(1)
    picks = [states[i] for i in rng.choice(len(states), 25, replace=False)]
    picks.append(next(s for s, d in eight_puzzle_distances.items() if d == 31))  # a hardest state
    for s in picks:
        res = solve_sliding_puzzle(s, 3)
        assert res.solved and res.reason == "solved"
        assert res.cost == len(res.actions) == eight_puzzle_distances[s]
        assert _replay_sliding(s, res.actions) == tuple(range(9))
        assert res.seconds < 1.0


def test_heuristic_values_by_hand():
    # tiles 2 and 1 swapped in their goal row: 2 moves of Manhattan distance, one linear conflict (+2)
    s = (0, 2, 1, 3, 4, 5, 6, 7, 8)
    assert manhattan_distance(s, 3) == 2
    assert linear_conflicts(s, 3) == 2
    assert sliding_puzzle_heuristic(3)(s) == 4.0
    # 3 and 6 swapped in their goal column: a column conflict
    s = (0, 1, 2, 6, 4, 5, 3, 7, 8)
    assert linear_conflicts(s, 3) == 2 and manhattan_distance(s, 3) == 2
    assert linear_conflicts(tuple(range(9)), 3) == 0
    # a whole row reversed: two of the three tiles must step out (LIS of 3 reversed values is 1)
    s4 = (3, 2, 1, 0, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    assert linear_conflicts(s4, 4) == 4  # tiles 3, 2, 1 in row 0 (blank excluded): LIS 1, so 2 step out
    assert linear_conflicts((0, 3, 2, 1, *range(4, 16)), 4) == 4


def test_sliding_unsolvable_and_bad_inputs():
    res = solve_sliding_puzzle((0, 2, 1, 3, 4, 5, 6, 7, 8), 3)  # one transposition: odd parity
    assert not res.solved and res.reason == "exhausted" and res.expanded == 0
    with pytest.raises(ValueError, match="size"):
        solve_sliding_puzzle(tuple(range(9)), 10)
    with pytest.raises(ValueError, match="state"):
        solve_sliding_puzzle((0, 1, 2), 3)
    with pytest.raises(ValueError, match="state"):
        manhattan_distance((0, 0, 1, 2, 3, 4, 5, 6, 7), 3)
    with pytest.raises(ValueError, match="linear_conflict"):
        sliding_puzzle_heuristic(3, linear_conflict="yes")
    res = solve_sliding_puzzle((8, 6, 7, 2, 5, 4, 3, 0, 1), 3, max_expansions=5)
    assert not res.solved and res.reason == "node limit"


# ============================================================================ Lights Out


def _brute_force_minimum(model: LightsOutModel, state: int) -> int | None:
    """Fewest presses turning ``state`` off, by trying every subset of presses (small boards only)."""
    n = model.num_actions
    masks = np.array(model.press_masks, dtype=np.int64)
    subsets = np.arange(1 << n, dtype=np.int64)
    effect = np.zeros(1 << n, dtype=np.int64)
    for k in range(n):
        effect ^= np.where((subsets >> k) & 1, masks[k], 0)
    hits = subsets[effect == state]
    if len(hits) == 0:
        return None
    return int(min(bin(int(x)).count("1") for x in hits))


def test_lights_out_nullity_matches_known_values():
    assert [len(LightsOutSolver(n).null_space) for n in (2, 3, 4, 5, 6, 9)] == [0, 0, 4, 2, 0, 8]
    assert LightsOutSolver(5).rank == 23


@pytest.mark.parametrize("size", [3, 4, 5, 6, 7])
def test_lights_out_solves_random_instances_by_replay(size):
    model = LightsOutModel(size)
    solver = LightsOutSolver(size)
    rng = np.random.default_rng(size)
    for _ in range(40):
        state = model.sample_state(rng)
        res = solver.solve(state)
        assert res.solved and res.reason == "solved"
        assert model.press(state, res.actions) == 0  # the presses turn every light off
        t = state
        for a in res.actions:
            t = model.step(t, a).state
        assert t == 0 and res.states[-1] == 0 and res.cost == len(res.actions)
        assert list(res.actions) == sorted(set(res.actions))
    # the grid form is read as the bitmask
    state = model.sample_state(rng)
    assert solver.solve(model.to_grid(state)).actions == solver.solve(state).actions


def test_lights_out_presses_are_minimal():
    model = LightsOutModel(3)  # every pattern solvable, unique solution: check all 512
    solver = LightsOutSolver(3)
    for state in range(1, 1 << 9):
        assert solver.solve(state).cost == _brute_force_minimum(model, state)
    model4 = LightsOutModel(4)  # nullity 4: 16 solutions per solvable pattern, the fewest kept
    solver4 = LightsOutSolver(4)
    rng = np.random.default_rng(4)
    for _ in range(6):
        state = model4.sample_state(rng)
        res = solver4.solve(state)
        assert res.cost == _brute_force_minimum(model4, state)
        assert res.info["minimal"] and res.info["nullity"] == 4


@pytest.mark.parametrize("size", [4, 5])
def test_lights_out_reports_unsolvable_patterns(size):
    model = LightsOutModel(size)
    solver = LightsOutSolver(size)
    rng = np.random.default_rng(10 + size)
    unsolvable = solvable = 0
    for _ in range(400):
        state = int(rng.integers(1, 1 << (size * size)))
        res = solve_lights_out(state, size)
        assert res.solved == model.is_solvable(state) == solver.is_solvable(state)
        if res.solved:
            solvable += 1
            assert model.press(state, res.actions) == 0
        else:
            unsolvable += 1
            assert res.reason == "exhausted" and res.actions == () and res.cost == float("inf")
            assert solver.minimal_presses(state) is None and solver.particular_solution(state) is None
    # a pattern is solvable with probability 2**-nullity: 1/16 for 4 x 4, 1/4 for 5 x 5
    expected = 400 / (16 if size == 4 else 4)
    assert 0.5 * expected < solvable < 1.6 * expected and unsolvable > 200
    # one lit corner is the classic unsolvable 5 x 5 pattern
    if size == 5:
        assert not solve_lights_out(1, 5).solved


def test_lights_out_bad_inputs():
    with pytest.raises(ValueError, match="size"):
        LightsOutSolver(1)
    with pytest.raises(ValueError, match="size"):
        solve_lights_out(3, size=17)
    with pytest.raises(ValueError, match="state"):
        solve_lights_out(1 << 25, 5)
    with pytest.raises(ValueError, match="state"):
        solve_lights_out(-1, 5)
    with pytest.raises(ValueError, match="state"):
        solve_lights_out(np.full((4, 4), 2), 4)
    assert solve_lights_out(0, 5).solved and solve_lights_out(0, 5).actions == ()


def test_puzzle_solvers_need_no_torch():
    code = textwrap.dedent(
        """
        import sys; sys.modules["torch"] = None
        from hybrid.symbolic.planning.puzzles import solve_lights_out, solve_sliding_puzzle
        print(solve_sliding_puzzle((1, 2, 0, 3, 4, 5, 6, 7, 8)).cost, solve_lights_out(2**12, 5).solved)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["2.0", "True"]


def test_lights_out_cycles_are_null_space():
    # every null-space combination presses to nothing; together they span 2**nullity press sets
    solver = LightsOutSolver(5)
    model = LightsOutModel(5)
    for r in range(len(solver.null_space) + 1):
        for combo in itertools.combinations(solver.null_space, r):
            q = 0
            for c in combo:
                q ^= c
            assert model.press(0, [k for k in range(25) if q >> k & 1]) == 0
