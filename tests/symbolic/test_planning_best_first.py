"""Best-first search: A* optimality, weighted A*'s bound, greedy, duplicates, limits, models."""

from __future__ import annotations

import math
import time

import pytest
from hybrid.symbolic.planning.best_first import (
    SearchResult,
    astar,
    best_first_search,
    greedy_best_first,
    model_successors,
    weighted_astar,
)
from hybrid.tasks.envs.sokoban import SokobanModel

MAZE = [
    "S....#....",
    ".###.#.##.",
    ".#...#..#.",
    ".#.###.##.",
    ".#.......G",
    ".####.###.",
    "..........",
]
MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))


def _grid(maze=MAZE):
    cells = {(r, c): ch for r, row in enumerate(maze) for c, ch in enumerate(row)}
    start = next(p for p, ch in cells.items() if ch == "S")
    goal = next(p for p, ch in cells.items() if ch == "G")

    def successors(p):
        for a, (dr, dc) in enumerate(MOVES):
            q = (p[0] + dr, p[1] + dc)
            if cells.get(q, "#") != "#":
                yield a, q, 1.0

    def manhattan(p):
        return abs(p[0] - goal[0]) + abs(p[1] - goal[1])

    return start, goal, successors, manhattan


def _bfs_distance(start, goal, successors):
    frontier, seen, d = [start], {start}, 0
    while frontier:
        if goal in frontier:
            return d
        nxt = []
        for p in frontier:
            for _, q, _ in successors(p):
                if q not in seen:
                    seen.add(q)
                    nxt.append(q)
        frontier, d = nxt, d + 1
    return math.inf


def test_astar_is_optimal_and_expands_less_than_uniform_cost():
    start, goal, successors, manhattan = _grid()
    optimum = _bfs_distance(start, goal, successors)
    res = best_first_search(start, successors, lambda p: p == goal, manhattan)
    assert res.solved and res.reason == "solved" and res.cost == optimum == len(res.actions)
    assert res.states[0] == start and res.states[-1] == goal and len(res.states) == len(res.actions) + 1
    p = start  # the actions replay to the goal
    for a in res.actions:
        p = (p[0] + MOVES[a][0], p[1] + MOVES[a][1])
    assert p == goal
    dijkstra = best_first_search(start, successors, lambda p: p == goal)
    assert dijkstra.cost == optimum and dijkstra.expanded > res.expanded


def test_weighted_and_greedy_stay_within_their_bounds():
    start, goal, successors, manhattan = _grid()
    optimum = _bfs_distance(start, goal, successors)
    for w in (1.5, 3.0):
        res = best_first_search(start, successors, lambda p: p == goal, manhattan, weight=w)
        assert res.solved and optimum <= res.cost <= w * optimum
    greedy = best_first_search(start, successors, lambda p: p == goal, manhattan, greedy=True)
    assert greedy.solved and greedy.cost >= optimum


def test_key_merges_duplicates_and_inf_prunes():
    # states carry a visit counter that the key ignores: without the key the space is infinite
    def successors(s):
        n, visits = s
        for a, m in enumerate((n - 1, n + 1)):
            if 0 <= m <= 20:
                yield a, (m, visits + 1), 1.0

    res = best_first_search((0, 0), successors, lambda s: s[0] == 20, key=lambda s: s[0])
    assert res.solved and res.cost == 20 and res.expanded <= 21
    pruned = best_first_search(
        (0, 0), successors, lambda s: s[0] == 20, lambda s: math.inf if s[0] == 10 else 0.0, key=lambda s: s[0]
    )
    assert not pruned.solved and pruned.reason == "exhausted" and pruned.cost == math.inf


def test_limits_stop_the_search(monkeypatch):
    def endless(n):
        yield 0, n + 1, 1.0
        yield 1, n + 2, 1.0

    res = best_first_search(0, endless, lambda n: n < 0, max_expansions=50)
    assert not res.solved and res.reason == "node limit" and res.expanded == 50
    # a clock that moves 10 ms per reading: the limit must stop an endless search after
    # about 0.2 / 0.01 expansions, whatever the machine's speed
    monkeypatch.setattr(time, "perf_counter", _ticking_clock(0.01))
    res = best_first_search(0, endless, lambda n: n < 0, time_limit_s=0.2)
    assert not res.solved and res.reason == "time limit" and 0 < res.expanded <= 20
    assert isinstance(res, SearchResult) and res.actions == () and res.states == ()


def _ticking_clock(step: float):
    """A stand-in for ``time.perf_counter`` that advances ``step`` seconds at each call."""
    now = [0.0]

    def clock() -> float:
        now[0] += step
        return now[0]

    return clock


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="callable"):
        best_first_search(0, None, lambda s: True)
    with pytest.raises(ValueError, match="weight"):
        best_first_search(0, lambda s: [], lambda s: True, weight=-1)
    with pytest.raises(ValueError, match="max_expansions"):
        best_first_search(0, lambda s: [], lambda s: True, max_expansions=-3)
    with pytest.raises(ValueError, match="time_limit_s"):
        best_first_search(0, lambda s: [], lambda s: True, time_limit_s="soon")
    with pytest.raises(TypeError, match="TransitionModel"):
        astar(object(), 0)


def test_model_searches_solve_sokoban_and_replay():
    model = SokobanModel.from_text("#######\n#     #\n# $@$.#\n#  .  #\n#######")
    start = model.initial_state
    res = astar(model, start)  # no heuristic: breadth-first order, optimal
    assert res.solved and res.cost == 8
    s = start
    for a in res.actions:
        s = model.step(s, a).state
    assert model.is_solved(s) and s == res.states[-1]
    assert weighted_astar(model, start, lambda s: 0.0, 2.0).cost == 8
    assert greedy_best_first(model, start, lambda s: 0.0).solved


class _Line:
    """States 0..3 on a line; action 0 falls into a dead end (-1: terminal, not solved)."""

    num_actions = 2
    num_players = 1

    def legal_action_ids(self, s):
        return (0, 1)

    def step(self, s, a):
        nxt = -1 if a == 0 else s + 1
        return nxt, 0.0, self.is_terminal(nxt)

    def is_solved(self, s):
        return s == 3

    def is_terminal(self, s):
        return s in (-1, 3)


def test_dead_ends_are_never_successors():
    line = _Line()
    assert model_successors(line)(0) == [(1, 1, 1.0)]
    res = astar(line, 0)
    assert res.solved and res.actions == (1, 1, 1)
