"""format_level / parse_level round-trip every valid level, all-floor rows included."""

from __future__ import annotations

import pytest
from hybrid.tasks.envs.sokoban.level import (
    Level,
    format_level,
    format_levels,
    load_boxoban,
    normalise_level_text,
    parse_level,
    parse_levels,
)
from hypothesis import given, settings
from hypothesis import strategies as st


@st.composite
def levels(draw) -> Level:
    """A valid level: one player, as many goals as boxes (>= 1), walls anywhere else,
    and some rows (first and last included) forced to be all floor."""
    rows = draw(st.integers(1, 7))
    cols = draw(st.integers(1, 7))
    cells = [(r, c) for r in range(rows) for c in range(cols)]
    floor_rows = draw(st.sets(st.integers(0, rows - 1)))
    n_boxes = draw(st.integers(1, 3))
    # the player and the boxes need free cells, goals may share them with the player
    if len(cells) < n_boxes + 1:
        n_boxes = len(cells) - 1
        if n_boxes < 1:
            rows, cols = 1, 2
            cells = [(0, 0), (0, 1)]
            n_boxes = 1
            floor_rows = set()
    order = draw(st.permutations(cells))
    player, boxes = order[0], tuple(order[1 : 1 + n_boxes])
    goals = frozenset(draw(st.permutations(cells))[:n_boxes])
    occupied = {player, *boxes, *goals}
    walls = frozenset(
        cell for cell in cells if cell not in occupied and cell[0] not in floor_rows and draw(st.booleans())
    )
    # rows in floor_rows hold no wall; those without a piece on them are all floor
    return Level((rows, cols), walls, goals, boxes, player)


@settings(max_examples=300, deadline=None)
@given(levels())
def test_parse_level_of_format_level_is_the_level(level):
    text = format_level(level)
    assert parse_level(text) == level
    assert normalise_level_text(text) == text


@settings(max_examples=100, deadline=None)
@given(st.lists(levels(), min_size=1, max_size=4))
def test_parse_levels_of_format_levels_is_the_levels(level_list):
    named = [lv.replace() for lv in level_list]
    back = parse_levels(format_levels(named))
    assert [(lv.shape, lv.walls, lv.goals, lv.boxes, lv.player) for lv in back] == [
        (lv.shape, lv.walls, lv.goals, lv.boxes, lv.player) for lv in named
    ]
    assert [lv.name for lv in back] == [str(i) for i in range(len(named))]


@pytest.mark.parametrize(
    "board",
    [
        ["     ", "#@$.#"],  # a leading all-floor row
        ["#@$.#", "     "],  # a trailing one
        ["#@$ #", "     ", "#  .#"],  # one in the middle
        ["  .  ", "#@$ #"],  # a leading row of goals and floor only
    ],
)
def test_all_floor_and_goal_only_rows_survive(board):
    level = parse_level("\n".join(row.replace(" ", "-") if not row.strip() else row for row in board))
    assert level.shape == (len(board), 5)
    assert parse_level(format_level(level)) == level
    assert parse_levels("; a\n" + format_level(level) + "\n\n; b\n" + format_level(level)) == [
        Level(level.shape, level.walls, level.goals, level.boxes, level.player, name) for name in ("a", "b")
    ]


def test_format_writes_all_floor_rows_with_the_floor_alias():
    level = Level((3, 4), frozenset({(1, 0)}), frozenset({(1, 3)}), ((1, 2),), (1, 1))
    assert format_level(level) == "----\n#@$.\n----"


def test_shipped_boxoban_levels_still_load_and_round_trip():
    shipped = load_boxoban()
    assert len(shipped) == 1000
    assert all(parse_level(format_level(lv), lv.name) == lv for lv in shipped[:50])
