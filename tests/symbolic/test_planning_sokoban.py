"""The Sokoban solver: optimal on tiny levels, deadlocks, Boxoban levels, generated levels, time limits."""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import pytest
from hybrid.symbolic.planning.sokoban import SokobanSolver, solve, solve_many
from hybrid.tasks.envs.sokoban import SokobanModel, SokobanState, generate, load_boxoban, parse_level

# (level, fewest moves, fewest pushes); Microban 1 is 33 moves / 8 pushes.
TINY = [
    ("#####\n#@$.#\n#####", 1, 1),
    ("######\n#    #\n# $  #\n#@ . #\n######", 5, 2),
    ("#######\n#     #\n# $@$.#\n#  .  #\n#######", 8, 3),
    ("####\n# .#\n#  ###\n#*@  #\n#  $ #\n#  ###\n####", 33, 8),
    ("######\n#    #\n# #@ #\n# $* #\n# .* #\n#    #\n######", 16, 3),
]

# A generated 20x20 level (top rows of wall dropped) with 12 boxes: solvable (it was built
# backwards from the solved position) but not within 20 s for this solver.
HARD = """\
####################
#  #################
# .#################
# $#################
# .#################
#  $@#### ### ######
#  $$$.   $ . ######
#    $      . ######
#  $ $##############
#. . .##############
##$.$$  ############
#     .#############
#     .#############
# .#################
####################"""


def _bfs_moves(model: SokobanModel) -> int:
    start = model.initial_state
    dist = {start: 0}
    queue = deque([start])
    while queue:
        s = queue.popleft()
        if model.is_solved(s):
            return dist[s]
        for a in model.legal_action_ids(s):
            t = model.step(s, a).state
            if t not in dist:
                dist[t] = dist[s] + 1
                queue.append(t)
    raise AssertionError("unsolvable")


def _replays(level, actions) -> bool:
    model = SokobanModel(level) if not isinstance(level, SokobanModel) else level
    s = model.initial_state
    for a in actions:
        s = model.step(s, a).state
    return model.is_solved(s)


@pytest.mark.parametrize("text, moves, pushes", TINY)
def test_astar_modes_are_optimal_on_tiny_levels(text, moves, pushes):
    level = parse_level(text)
    assert _bfs_moves(SokobanModel(level)) == moves  # the oracle agrees with the table
    by_moves = solve(level, mode="moves")
    assert by_moves.solved and by_moves.cost == moves == len(by_moves.actions)
    assert _replays(level, by_moves.actions)
    by_pushes = solve(level, mode="pushes")
    assert by_pushes.solved and by_pushes.info["pushes"] == pushes
    assert _replays(level, by_pushes.actions)
    fast = solve(text)
    assert fast.solved and fast.info["pushes"] <= 2 * pushes and _replays(level, fast.actions)


def test_dead_squares_are_the_corners_and_dead_walls():
    solver = SokobanSolver("#######\n#     #\n# $ @ #\n#   . #\n#######")
    dead = solver.dead_squares
    assert {(1, 1), (1, 5), (3, 1), (3, 5)} <= dead  # corners
    assert (1, 3) in dead and (2, 1) in dead  # along walls without a goal
    assert (3, 4) not in dead and (3, 2) not in dead  # the goal's wall row is live
    assert (2, 2) not in dead and (2, 3) not in dead
    assert solver.push_distance((2, 2), (3, 4)) == 3
    assert solver.push_distance((1, 1), (3, 4)) == float("inf")


def _state(solver: SokobanSolver, player, boxes) -> SokobanState:
    return SokobanState(player, tuple(sorted(boxes)))


def test_deadlock_detection_on_hand_made_positions():
    solver = SokobanSolver(parse_level("########\n#      #\n#  $   #\n#  @   #\n#  ....#\n########"))
    ok = _state(solver, (3, 3), [(2, 3)])
    assert not solver.is_deadlock(ok) and solver.lower_bound(ok) == 2
    corner = _state(solver, (3, 3), [(1, 1)])  # a box in a corner, not on a goal
    assert solver.is_deadlock(corner) and solver.lower_bound(corner) == float("inf")
    four = SokobanSolver(parse_level("########\n#      #\n#  $$  #\n#  $$  #\n#@ ....#\n########"))
    block = _state(four, (4, 1), [(2, 3), (2, 4), (3, 3), (3, 4)])  # a 2x2 block: frozen
    assert four.is_deadlock(block)
    assert four.lower_bound(block) < float("inf")  # only the freeze check sees it
    loose = _state(four, (4, 1), [(2, 2), (2, 4), (3, 3), (3, 5)])
    assert not four.is_deadlock(loose)
    on_goals = _state(four, (1, 1), [(4, 3), (4, 4), (4, 5), (4, 6)])  # frozen, but every box on a goal
    assert not four.is_deadlock(on_goals)
    pair = _state(four, (3, 1), [(1, 3), (1, 4), (3, 3), (3, 5)])  # two boxes side by side along a wall
    assert four.is_deadlock(pair)


def test_solves_boxoban_levels_within_the_limit():
    levels = load_boxoban()[:10]
    results = solve_many(levels, time_limit_s=10.0)
    for level, res in zip(levels, results, strict=True):
        assert res.solved and res.reason == "solved" and res.seconds < 10.0
        assert _replays(level, res.actions)
        assert res.states[-1] == SokobanModel(level).step(res.states[-2], res.actions[-1]).state


def test_generated_levels_are_solved():
    rng = np.random.default_rng(11)
    for _ in range(10):
        g = generate(rng)
        res = solve(g.level, time_limit_s=10.0)
        assert res.solved and _replays(g.level, res.actions)


def test_time_limit_is_respected_on_a_hard_level(monkeypatch):
    # a clock that moves 1 ms per reading: the limit must stop the search after a bounded
    # number of expansions, whatever the machine's speed
    now = [0.0]

    def clock() -> float:
        now[0] += 0.001
        return now[0]

    monkeypatch.setattr(time, "perf_counter", clock)
    res = solve(HARD, time_limit_s=0.3)
    assert not res.solved and res.reason == "time limit" and res.actions == ()
    assert 0 < res.expanded <= 300
    monkeypatch.undo()
    res = solve(HARD, time_limit_s=None, max_expansions=50)
    assert not res.solved and res.reason == "node limit"


def test_unsolvable_level_is_reported_exhausted():
    res = solve("#######\n#@$  .#\n#######\n", mode="fast")  # solvable: control
    assert res.solved
    res = solve("#######\n#@ $ .#\n#  #  #\n#######", time_limit_s=5.0)
    assert res.solved
    res = solve("######\n#.  @#\n#$   #\n######", time_limit_s=5.0)  # the box is in a corner
    assert not res.solved and res.reason == "exhausted"


def test_solve_from_a_state_of_a_model():
    model = SokobanModel.from_text(TINY[2][0])
    state = model.step(model.initial_state, 0).state  # one move away from the start
    res = solve(state, model=model, mode="moves")
    assert res.solved and res.states[0] == state and model.is_solved(res.states[-1])
    # a state whose player is in another region of the level
    split = SokobanModel.from_text("#########\n#@$ .#. #\n#    #$ #\n#########")
    other = SokobanState((1, 7), split.initial_state.boxes)
    res = solve(other, model=split)
    assert not res.solved and res.reason == "exhausted"  # the left box needs the player on the left
    with pytest.raises(TypeError, match="model is required"):
        solve(state)
    with pytest.raises(TypeError, match="only taken with a state"):
        solve(model.level, model=model)
    with pytest.raises(ValueError, match="mode"):
        solve(model.level, mode="best")
    with pytest.raises(ValueError, match="weight"):
        solve(model.level, weight=0.5)
    with pytest.raises(TypeError, match="level must be"):
        SokobanSolver(42)


def test_states_that_do_not_fit_the_level_are_refused():
    model = SokobanModel.from_text(TINY[2][0])
    with pytest.raises(ValueError, match="not a state of this level"):
        solve(SokobanState((0, 0), ((2, 2), (2, 4))), model=model)  # the player on a wall
    with pytest.raises(ValueError, match="1 boxes, the level 2"):
        solve(SokobanState((2, 3), ((2, 2),)), model=model)


# The 16x16, 8-box level the solver could not solve in 60 s before PI-corral pruning.
OPEN_ROOM = """\
################
### # ####@ ####
#     . $ $$ ###
#   $      . ###
#  ##    #######
#  ##. $ #######
#..   . ########
#$$# .  ########
#.    $ ########
#       ########
################"""


def test_pi_corral_pruning_keeps_optimal_push_counts_and_cuts_the_search():
    for level in load_boxoban()[:15]:
        with_corrals = SokobanSolver(level).solve(mode="pushes")
        without = SokobanSolver(level, pi_corrals=False).solve(mode="pushes")
        assert with_corrals.info["pushes"] == without.info["pushes"]
        assert with_corrals.expanded <= without.expanded
    assert SokobanSolver(OPEN_ROOM).solve(max_expansions=500).solved
    res = SokobanSolver(OPEN_ROOM, pi_corrals=False).solve(max_expansions=2000)
    assert not res.solved and res.reason == "node limit"
