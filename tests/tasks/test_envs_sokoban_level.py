"""Sokoban levels: the standard text format, level files, Boxoban's levels and the generator."""

from __future__ import annotations

import numpy as np
import pytest
from hybrid.tasks.envs.sokoban import (
    Level,
    SokobanModel,
    boxoban_path,
    format_level,
    format_levels,
    generate,
    generate_level,
    load_boxoban,
    load_levels,
    normalise_level_text,
    parse_level,
    parse_levels,
)

# All seven characters: wall, player on goal, box, box on goal, goal, floor.
ALL_CHARS = """\
#######
#+ $  #
# *.$ #
#  .  #
#######"""


def test_parse_reads_every_character():
    level = parse_level(ALL_CHARS)
    assert level.shape == (5, 7)
    assert level.player == (1, 1)
    assert level.boxes == ((1, 3), (2, 2), (2, 4))
    assert level.goals == frozenset({(1, 1), (2, 2), (2, 3), (3, 3)})
    assert (0, 0) in level.walls and (1, 2) not in level.walls
    assert len(level.walls) == 2 * 7 + 2 * 3
    assert not level.is_solved


def test_format_round_trips_exactly():
    assert format_level(parse_level(ALL_CHARS)) == ALL_CHARS
    plain = "#####\n#@$.#\n#####"
    assert format_level(parse_level(plain)) == plain
    level = parse_level(ALL_CHARS)
    assert parse_level(format_level(level)) == level


def test_floor_aliases_ragged_rows_and_comments_are_normalised():
    text = "; level 7\n\n--####\n###  #\n#@$.#\n####\n\n"
    level = parse_level(text)
    assert level.name == "level 7"
    assert level.shape == (4, 6)  # short rows padded with floor on the right
    expected = "  ####\n###  #\n#@$.# \n####  "
    assert normalise_level_text(text) == expected
    assert format_level(level) == expected
    assert parse_level("_#####\n_#@$.#\n_#####").player == (1, 2)


def test_open_level_is_valid_the_grid_edge_is_a_wall():
    level = parse_level("@$.")
    model = SokobanModel(level)
    assert model.legal_action_ids(model.initial_state) == (3,)  # only right: every other move leaves the grid
    assert model.step(model.initial_state, 3).done


@pytest.mark.parametrize(
    "text, message",
    [
        ("#####\n# $.#\n#####", "no player"),
        ("######\n#@$.@#\n######", "2 players"),
        ("#####\n#@$$.#\n#####", "2 boxes but only 1 goals"),
        ("#####\n#@ .#\n#####", "no box"),
        ("#####\n#@$x.#\n#####", r"unknown character 'x' at line 2, column 4"),
        ("", "no level"),
        ("#####\n#@$.#\n#####\n\n#####\n#@$.#\n#####", "2 levels"),
    ],
)
def test_bad_levels_raise_naming_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        parse_level(text)


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="text must be a str"):
        parse_level(3)
    with pytest.raises(TypeError, match="level must be a Level"):
        format_level("#@$.#")
    with pytest.raises(ValueError, match="off the 3x3 grid"):
        Level((3, 3), frozenset(), frozenset({(0, 0)}), ((5, 5),), (1, 1))
    with pytest.raises(ValueError, match="player stands on a box"):
        Level((3, 3), frozenset(), frozenset({(0, 0)}), ((1, 1),), (1, 1))
    with pytest.raises(ValueError, match="box on a wall"):
        Level((3, 3), frozenset({(0, 1)}), frozenset({(0, 0)}), ((0, 1),), (1, 1))


def test_more_goals_than_boxes_is_allowed():
    level = parse_level("######\n#@$..#\n######")
    assert len(level.goals) == 2 and len(level.boxes) == 1


BOXOBAN_STYLE = """\
; 0
#####
#@$.#
#####

; 1
######
#@$ .#
######
"""

XSB_STYLE = """\
Title: A collection
Author: someone

#####
#@$.#
#####
Title: Second

;comment before the second level
-#####
-#@$.#
-#####

######
#.$@ #
######
"""


def test_parse_levels_reads_boxoban_and_xsb_layouts():
    box = parse_levels(BOXOBAN_STYLE)
    assert [lv.name for lv in box] == ["0", "1"]
    assert box[1].boxes == ((1, 2),)
    xsb = parse_levels(XSB_STYLE)
    assert len(xsb) == 3
    # a level is named by the last comment / title line before it, else by its index
    assert [lv.name for lv in xsb] == ["A collection", "comment before the second level", "2"]
    assert xsb[1].player == (1, 2) and xsb[1].shape == (3, 6)
    assert xsb[2].player == (1, 3) and xsb[2].goals == frozenset({(1, 1)})
    with pytest.raises(ValueError, match=r"unknown character 'x' at line 3, column 3"):
        parse_levels("; 0\n#####\n#@x.#\n#####\n")


def test_format_levels_round_trips_a_file():
    levels = parse_levels(BOXOBAN_STYLE)
    assert format_levels(levels) == BOXOBAN_STYLE
    assert parse_levels(format_levels(levels)) == levels


def test_load_boxoban_ships_the_1000_test_levels(tmp_path):
    levels = load_boxoban()
    assert len(levels) == 1000
    assert all(lv.shape == (10, 10) and len(lv.boxes) == 4 and len(lv.goals) == 4 for lv in levels)
    assert [lv.name for lv in levels[:3]] == ["0", "1", "2"]
    assert levels[0].player == (8, 5)
    assert boxoban_path().read_text().startswith("; 0\n##########\n")
    # Another Boxoban file, or a split folder of them, loads the same way.
    split = tmp_path / "medium" / "train"
    split.mkdir(parents=True)
    (split / "000.txt").write_text(format_levels(levels[:3]))
    (split / "001.txt").write_text(format_levels(levels[3:5]))
    assert load_boxoban(split / "001.txt") == [lv for lv in levels[3:5]]
    folder = load_boxoban(split)
    assert [lv.name for lv in folder] == ["000:0", "000:1", "000:2", "001:3", "001:4"]
    assert [lv.boxes for lv in folder] == [lv.boxes for lv in levels[:5]]
    with pytest.raises(ValueError, match="no level file"):
        load_levels(tmp_path / "missing.txt")
    (tmp_path / "bad.txt").write_text("#####\n#@$.#\n#####\n\n#####\n# $.#\n#####\n")
    with pytest.raises(ValueError, match=r"bad.txt: level '1' \(line 5\): no player"):
        load_levels(tmp_path / "bad.txt")


def _replay(level: Level, actions) -> bool:
    model = SokobanModel(level)
    state = model.initial_state
    for a in actions:
        state = model.step(state, a).state
    return model.is_solved(state)


def test_generator_is_deterministic_and_solvable_by_construction():
    a = [generate(np.random.default_rng(7)) for _ in range(1)][0]
    b = generate(np.random.default_rng(7))
    assert a == b
    rng = np.random.default_rng(0)
    levels = [generate(rng) for _ in range(20)]
    assert len({format_level(g.level) for g in levels}) == 20
    for g in levels:
        lv = g.level
        assert lv.shape == (10, 10) and len(lv.boxes) == 4 and len(lv.goals) == 4
        assert not any(b in lv.goals for b in lv.boxes)  # every box starts off the goals, as in Boxoban
        assert all((r, c) in lv.walls for r in range(10) for c in (0, 9))  # walled in
        assert g.score > 0
        assert _replay(lv, g.solution)


def test_generator_sizes_and_bad_arguments():
    lv = generate_level(np.random.default_rng(1), dim=(12, 14), num_boxes=6)
    assert lv.shape == (12, 14) and len(lv.boxes) == 6
    with pytest.raises(TypeError, match="rng"):
        generate_level(0)
    with pytest.raises(ValueError, match="dim"):
        generate_level(np.random.default_rng(0), dim=(3, 3))
    with pytest.raises(ValueError, match="num_boxes"):
        generate_level(np.random.default_rng(0), num_boxes=0)
    with pytest.raises(ValueError, match="too many"):
        generate_level(np.random.default_rng(0), dim=(6, 6), num_boxes=8)
    with pytest.raises(ValueError, match="num_pulls"):
        generate_level(np.random.default_rng(0), num_pulls=0)
