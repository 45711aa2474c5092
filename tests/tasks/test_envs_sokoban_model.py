"""Sokoban's rules as a pure transition model: moves, pushes, rewards, grids and encodings."""

from __future__ import annotations

import numpy as np
import pytest
from hybrid.tasks.envs.model import TransitionModel
from hybrid.tasks.envs.sokoban import (
    BOX_OFF_REWARD,
    BOX_ON_REWARD,
    CELL_CLASSES,
    SOLVED_REWARD,
    STEP_REWARD,
    SokobanModel,
    SokobanState,
    format_level,
    level_from_grid,
    load_boxoban,
    parse_level,
)

UP, DOWN, LEFT, RIGHT = range(4)

TWO = """\
#######
#     #
# $@$.#
#  .  #
#######"""


def test_follows_the_protocol():
    model = SokobanModel.from_text(TWO)
    assert isinstance(model, TransitionModel)
    assert model.num_actions == 4 and model.num_players == 1
    s = model.initial_state
    assert s == SokobanState((2, 3), ((2, 2), (2, 4)))
    assert hash(s) == hash(SokobanState((2, 3), ((2, 2), (2, 4))))
    assert model.current_player(s) == 0


def test_moves_pushes_and_illegal_actions():
    model = SokobanModel.from_text(TWO)
    s = model.initial_state
    # up and down walk; left and right push a box (the cells beyond are free)
    assert model.legal_actions(s).tolist() == [True, True, True, True]
    t = model.step(s, UP)
    assert t.state == SokobanState((1, 3), s.boxes) and t.reward == pytest.approx(STEP_REWARD) and not t.done
    t = model.step(s, LEFT)
    assert t.state == SokobanState((2, 2), ((2, 1), (2, 4)))
    # a box against a wall cannot be pushed further; the player cannot walk into walls
    s2 = t.state
    assert model.legal_action_ids(s2) == (UP, DOWN, RIGHT)
    with pytest.raises(ValueError, match="illegal"):
        model.step(s2, LEFT)
    with pytest.raises(ValueError, match="action must be an int in 0..3"):
        model.step(s, 4)
    with pytest.raises(TypeError, match="state"):
        model.step("state", 0)
    # two boxes in a row cannot be pushed
    row = SokobanModel.from_text("######\n#@$$.#\n#   .#\n######")
    assert RIGHT not in row.legal_action_ids(row.initial_state)
    assert model.step(s, UP).state is not s and s == model.initial_state  # inputs never mutated


def test_rewards_follow_boxoban():
    model = SokobanModel.from_text(TWO)
    t = model.step(model.initial_state, RIGHT)  # a box onto its goal, the other still off
    assert t.reward == pytest.approx(STEP_REWARD + BOX_ON_REWARD) and not t.done
    assert model.boxes_on_goals(t.state) == 1
    off = SokobanModel.from_text("#######\n# @* .#\n#######")
    t = off.step(off.initial_state, RIGHT)  # a box pushed off its goal
    assert t.state.boxes == ((1, 4),) and t.reward == pytest.approx(STEP_REWARD + BOX_OFF_REWARD)
    one = SokobanModel.from_text("#####\n#@$.#\n#####")
    t = one.step(one.initial_state, RIGHT)
    assert t.done and one.is_solved(t.state)
    assert t.reward == pytest.approx(STEP_REWARD + BOX_ON_REWARD + SOLVED_REWARD)


def test_stuck_player_is_terminal_but_not_solved():
    model = SokobanModel.from_text("######\n#.#..#\n#$@$*#\n##$###\n######")
    s = model.initial_state
    assert model.legal_action_ids(s) == () and not model.legal_actions(s).any()
    assert model.is_terminal(s) and not model.is_solved(s)


def test_grid_round_trip_and_encoding():
    level = parse_level("#######\n#+ $  #\n# *.$ #\n#  .  #\n#######")
    model = SokobanModel(level)
    s = model.initial_state
    grid = model.to_grid(s)
    assert grid.shape == (5, 7)
    names = [CELL_CLASSES[k] for k in (grid[0, 0], grid[3, 1], grid[3, 3], grid[1, 3], grid[2, 2], grid[1, 1])]
    assert names == ["wall", "floor", "goal", "box", "box_on_goal", "player_on_goal"]
    assert model.from_grid(grid) == s
    moved = model.step(s, RIGHT).state
    assert CELL_CLASSES[model.to_grid(moved)[1, 2]] == "player"
    assert model.from_grid(model.to_grid(moved)) == moved
    assert format_level(level_from_grid(grid)) == format_level(level)
    planes = model.encode(s)
    assert planes.shape == (7, 5, 7) and planes.dtype == np.float32
    assert np.array_equal(planes.argmax(axis=0), grid) and np.all(planes.sum(axis=0) == 1)


def test_from_grid_rejects_what_is_not_a_state_of_the_level():
    model = SokobanModel.from_text(TWO)
    grid = model.to_grid(model.initial_state)
    with pytest.raises(ValueError, match="shape"):
        model.from_grid(grid[:, :-1])
    bad = grid.copy()
    bad[0, 0] = 9
    with pytest.raises(ValueError, match="not in 0..6"):
        model.from_grid(bad)
    bad = grid.copy()
    bad[1, 1] = 0  # a wall where the level has floor
    with pytest.raises(ValueError, match="walls differ"):
        model.from_grid(bad)
    bad = grid.copy()
    bad[2, 3] = 1  # the player erased
    with pytest.raises(ValueError, match="exactly one player"):
        model.from_grid(bad)
    bad = grid.copy()
    bad[1, 1] = 3  # a third box
    with pytest.raises(ValueError, match="3 boxes"):
        model.from_grid(bad)


def test_model_accepts_boxoban_levels():
    level = load_boxoban()[0]
    model = SokobanModel(level)
    assert model.to_level(model.initial_state) == level
    assert model.legal_action_ids(model.initial_state) == (UP,)
    with pytest.raises(TypeError, match="level must be a Level"):
        SokobanModel("#@$.#")


def test_done_flags_agree_with_is_terminal_along_random_walks():
    rng = np.random.default_rng(0)
    for level in load_boxoban()[:5]:
        model = SokobanModel(level)
        s = model.initial_state
        for _ in range(200):
            legal = model.legal_action_ids(s)
            t = model.step(s, legal[int(rng.integers(len(legal)))])
            assert t.done == model.is_terminal(t.state) == model.is_solved(t.state)
            s = t.state
