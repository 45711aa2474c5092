"""Sokoban levels: the standard text format, level files, and the shipped Boxoban levels.

The text format is the one every Sokoban collection uses (XSB):

====  ===================
char  cell
====  ===================
``#``  wall
``@``  player
``+``  player on a goal
``$``  box
``*``  box on a goal
``.``  goal
space  floor (``-`` and ``_`` are read as floor too, as some collections write it)
====  ===================

Conventions of this module:

- a cell is ``(row, col)``, row 0 at the top;
- rows shorter than the widest row are padded with floor on the right (collections
  often drop trailing spaces), so a level is always a rectangle of ``shape``;
- a level need not be enclosed by walls: the edge of the grid acts as a wall (nothing
  ever moves off the grid), so an open level is valid and plays as if walled in;
- a level has exactly one player, at least one box, and at least as many goals as
  boxes (more goals than boxes is allowed: solved means every box is on a goal).

:func:`format_level` writes a level back as text and ``parse_level(format_level(level))
== level`` for every level; ``format_level(parse_level(text))`` equals the *normalised*
text: floor written as a space (a row of floor only as ``-``, since a blank line ends a
level), rows padded to the widest row, comment lines and surrounding blank lines dropped
(see :func:`normalise_level_text`).

Level files hold several levels. :func:`parse_levels` reads both common layouts:
Boxoban's (a ``; N`` header line, the board, a blank line) and the XSB collections'
(boards separated by blank lines, ``;`` comment lines and ``Title:``/``Author:``-style
metadata lines before or after a board). A level's ``name`` is the text of the last
``;`` comment or ``Title:`` line seen before its board (for Boxoban, the level number),
or its 0-based index in the file when there is none.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

#: A cell of the grid, ``(row, col)`` with row 0 at the top.
Cell = tuple[int, int]

WALL_CHAR = "#"
PLAYER_CHAR = "@"
PLAYER_ON_GOAL_CHAR = "+"
BOX_CHAR = "$"
BOX_ON_GOAL_CHAR = "*"
GOAL_CHAR = "."
FLOOR_CHAR = " "
#: Characters read as floor besides the space (some collections write ``-`` or ``_``).
FLOOR_ALIASES = "-_"
#: Every character a board row may hold.
BOARD_CHARS = frozenset("#@+$*. " + FLOOR_ALIASES)


@dataclass(frozen=True)
class Level:
    """One Sokoban level: walls, goals, boxes and the player on a ``rows x cols`` grid.

    Attributes:
        shape: ``(rows, cols)`` of the grid.
        walls: the wall cells.
        goals: the goal cells.
        boxes: the box cells, sorted (boxes are interchangeable).
        player: the player's cell.
        name: a label (the level's number in a Boxoban file, its title in a collection).

    Raises:
        ValueError: if a cell is off the grid, a box or the player stands on a wall, the
            player stands on a box, two boxes share a cell, there is no box, or there
            are more boxes than goals.
    """

    shape: tuple[int, int]
    walls: frozenset[Cell]
    goals: frozenset[Cell]
    boxes: tuple[Cell, ...]
    player: Cell
    name: str = ""

    def __post_init__(self) -> None:
        if (
            not isinstance(self.shape, tuple)
            or len(self.shape) != 2
            or not all(isinstance(n, int) and n > 0 for n in self.shape)
        ):
            raise ValueError(f"shape must be a (rows, cols) tuple of positive ints, got {self.shape!r}")
        object.__setattr__(self, "walls", frozenset(_cell(c, "walls") for c in self.walls))
        object.__setattr__(self, "goals", frozenset(_cell(c, "goals") for c in self.goals))
        boxes = tuple(sorted(_cell(c, "boxes") for c in self.boxes))
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "player", _cell(self.player, "player"))
        rows, cols = self.shape
        for what, cells in (("walls", self.walls), ("goals", self.goals), ("boxes", boxes), ("player", [self.player])):
            for r, c in cells:
                if not (0 <= r < rows and 0 <= c < cols):
                    raise ValueError(f"{what}: cell {(r, c)} is off the {rows}x{cols} grid")
        if len(set(boxes)) != len(boxes):
            dup = next(b for i, b in enumerate(boxes) if b in boxes[:i])
            raise ValueError(f"boxes: two boxes on cell {dup}")
        on_wall = [b for b in boxes if b in self.walls]
        if on_wall:
            raise ValueError(f"boxes: box on a wall at {on_wall[0]}")
        if self.goals & self.walls:
            raise ValueError(f"goals: goal on a wall at {min(self.goals & self.walls)}")
        if self.player in self.walls:
            raise ValueError(f"player: the player stands on a wall at {self.player}")
        if self.player in boxes:
            raise ValueError(f"player: the player stands on a box at {self.player}")
        if not boxes:
            raise ValueError("level has no box")
        if len(boxes) > len(self.goals):
            raise ValueError(f"level has {len(boxes)} boxes but only {len(self.goals)} goals (fewer goals than boxes)")

    @property
    def rows(self) -> int:
        """Number of rows of the grid."""
        return self.shape[0]

    @property
    def cols(self) -> int:
        """Number of columns of the grid."""
        return self.shape[1]

    @property
    def is_solved(self) -> bool:
        """True when every box is on a goal."""
        return all(b in self.goals for b in self.boxes)

    def replace(self, *, boxes: Iterable[Cell] | None = None, player: Cell | None = None) -> Level:
        """Return the same level (walls, goals, name) with other ``boxes`` and/or ``player``."""
        return Level(
            shape=self.shape,
            walls=self.walls,
            goals=self.goals,
            boxes=tuple(self.boxes if boxes is None else boxes),
            player=self.player if player is None else player,
            name=self.name,
        )

    def padded(self, shape: tuple[int, int]) -> Level:
        """Return this level on a larger ``shape`` grid: the new cells (right and bottom) are walls.

        Raises:
            ValueError: if ``shape`` is smaller than the level in either direction.
        """
        rows, cols = shape
        if rows < self.rows or cols < self.cols:
            raise ValueError(f"shape must be at least {self.shape}, got {shape}")
        extra = {(r, c) for r in range(rows) for c in range(cols) if r >= self.rows or c >= self.cols}
        return Level((rows, cols), self.walls | extra, self.goals, self.boxes, self.player, self.name)

    def __str__(self) -> str:
        return format_level(self)


def _cell(c: object, what: str) -> Cell:
    try:
        r, col = c  # type: ignore[misc]
        return (int(r), int(col))
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected (row, col) cells, got {c!r}") from None


# ----------------------------------------------------------------------------------------------- parsing


def _board_to_level(rows: list[tuple[int, str]], name: str) -> Level:
    """Build a level from board rows given as ``(line_number, text)``."""
    width = max(len(text) for _, text in rows)
    walls: set[Cell] = set()
    goals: set[Cell] = set()
    boxes: list[Cell] = []
    players: list[Cell] = []
    for r, (lineno, text) in enumerate(rows):
        for c, ch in enumerate(text):
            if ch not in BOARD_CHARS:
                raise ValueError(f"unknown character {ch!r} at line {lineno}, column {c + 1}")
            if ch == WALL_CHAR:
                walls.add((r, c))
            if ch in "+*.":
                goals.add((r, c))
            if ch in "$*":
                boxes.append((r, c))
            if ch in "@+":
                players.append((r, c))
    where = f"level {name!r} (line {rows[0][0]})" if name else f"level at line {rows[0][0]}"
    if not players:
        raise ValueError(f"{where}: no player ('@' or '+')")
    if len(players) > 1:
        raise ValueError(f"{where}: {len(players)} players, at {players} (expected exactly one '@' or '+')")
    if not boxes:
        raise ValueError(f"{where}: no box ('$' or '*')")
    if len(boxes) > len(goals):
        raise ValueError(f"{where}: {len(boxes)} boxes but only {len(goals)} goals (fewer goals than boxes)")
    return Level((len(rows), width), frozenset(walls), frozenset(goals), tuple(boxes), players[0], name)


def _is_board_line(line: str) -> bool:
    """A line that belongs to a board: its first non-floor character is a wall."""
    stripped = line.lstrip(" " + FLOOR_ALIASES + "\t")
    return stripped.startswith(WALL_CHAR)


def _is_floor_only(line: str) -> bool:
    """A non-blank line of floor only (``-``/``_``, maybe spaces): an all-floor board row."""
    return bool(line.strip()) and set(line) <= set(FLOOR_CHAR + FLOOR_ALIASES)


def _split(text: str, strict: bool) -> list[tuple[list[tuple[int, str]], str]]:
    """Split ``text`` into boards (lists of ``(line_number, row)``) with the name each carries.

    An all-floor row (written ``-----``, see :func:`format_level`) belongs to the board
    around it; in a file (not ``strict``) such rows before a board's first row with a
    piece or wall are held back and join the board when one follows without a break.
    """
    boards: list[tuple[list[tuple[int, str]], str]] = []
    current: list[tuple[int, str]] = []
    floor_rows: list[tuple[int, str]] = []  # all-floor rows seen while no board is open
    pending_name = ""

    def close() -> None:
        nonlocal current, pending_name, floor_rows
        floor_rows = []
        if current:
            boards.append((current, pending_name))
            current, pending_name = [], ""

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            close()
        elif line.lstrip().startswith(";"):
            close()
            pending_name = line.lstrip()[1:].strip()
        elif set(line) <= BOARD_CHARS and (strict or current or any(ch in "#@+$*." for ch in line)):
            if not current and floor_rows:
                current.extend(floor_rows)
                floor_rows = []
            current.append((lineno, line))
        elif _is_floor_only(line):
            floor_rows.append((lineno, line))
        elif strict or _is_board_line(line):
            col = next(i for i, ch in enumerate(line) if ch not in BOARD_CHARS)
            raise ValueError(f"unknown character {line[col]!r} at line {lineno}, column {col + 1}")
        else:  # metadata ("Title: ...", "Author: ...", free text between levels)
            close()
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                pending_name = value.strip()
    close()
    return boards


def parse_level(text: str, name: str = "") -> Level:
    """Parse one level written in the standard Sokoban text format.

    Blank lines around the board and ``;`` comment lines are ignored; every other line is
    a board row. Short rows are padded with floor to the widest row.

    Args:
        text: the board, one row per line.
        name: the level's label; if empty, the last ``;`` comment before the board.

    Returns:
        The :class:`Level`.

    Raises:
        TypeError: if ``text`` is not a string.
        ValueError: naming the problem: an unknown character (with its line and column),
            no board or more than one, no player or two, no box, fewer goals than boxes.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    boards = _split(text, strict=True)
    if not boards:
        raise ValueError("text holds no level (no board rows)")
    if len(boards) > 1:
        raise ValueError(f"text holds {len(boards)} levels (blank-line separated); use parse_levels")
    rows, found = boards[0]
    return _board_to_level(rows, name or found)


def parse_levels(text: str) -> list[Level]:
    """Parse every level of a level file (Boxoban's ``; N`` layout or an XSB collection).

    Args:
        text: the file's contents.

    Returns:
        The levels in file order; each is named by the ``;`` comment or ``Title:`` line
        before it, or by its 0-based index in the file.

    Raises:
        TypeError: if ``text`` is not a string.
        ValueError: if a board is invalid (see :func:`parse_level`) or ``text`` holds no level.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    boards = _split(text, strict=False)
    if not boards:
        raise ValueError("text holds no level (no board rows)")
    return [_board_to_level(rows, name or str(i)) for i, (rows, name) in enumerate(boards)]


def format_level(level: Level) -> str:
    """Write a level in the standard text format: one row per line, no trailing newline.

    Floor is written as a space and every row has ``level.cols`` characters, except a
    row that is all floor: it is written with the ``-`` floor alias (``-----``), since a
    blank line would end the level. :func:`parse_level` and :func:`parse_levels` read
    every level back equal to itself.

    Example:
        >>> level = parse_level("-----\\n#@$.#")
        >>> print(format_level(level))
        -----
        #@$.#
        >>> parse_level(format_level(level)) == level
        True

    Raises:
        TypeError: if ``level`` is not a :class:`Level`.
    """
    if not isinstance(level, Level):
        raise TypeError(f"level must be a Level, got {type(level).__name__}")
    grid = [[FLOOR_CHAR] * level.cols for _ in range(level.rows)]
    for r, c in level.walls:
        grid[r][c] = WALL_CHAR
    for r, c in level.goals:
        grid[r][c] = GOAL_CHAR
    for r, c in level.boxes:
        grid[r][c] = BOX_ON_GOAL_CHAR if (r, c) in level.goals else BOX_CHAR
    r, c = level.player
    grid[r][c] = PLAYER_ON_GOAL_CHAR if level.player in level.goals else PLAYER_CHAR
    floor_row = FLOOR_ALIASES[0] * level.cols
    return "\n".join(floor_row if set(row) == {FLOOR_CHAR} else "".join(row) for row in grid)


def format_levels(levels: Iterable[Level]) -> str:
    """Write levels as a Boxoban-style file: ``; name`` (or the index), the board, a blank line."""
    parts = []
    for i, level in enumerate(levels):
        parts.append(f"; {level.name or i}\n{format_level(level)}\n")
    return "\n".join(parts)


def normalise_level_text(text: str) -> str:
    """The text :func:`format_level` writes for ``parse_level(text)``, computed on the text itself.

    ``-`` and ``_`` become spaces, ``;`` comment lines and surrounding blank lines are
    dropped, and rows are padded with spaces to the widest row; a row of floor only is
    written ``-`` across the width.
    """
    rows = [line.rstrip("\r\n") for line in text.splitlines() if line.strip() and not line.lstrip().startswith(";")]
    table = str.maketrans({ch: FLOOR_CHAR for ch in FLOOR_ALIASES})
    rows = [row.translate(table) for row in rows]
    width = max((len(row) for row in rows), default=0)
    return "\n".join(FLOOR_ALIASES[0] * width if not row.strip() else row.ljust(width) for row in rows)


# ----------------------------------------------------------------------------------------------- files


def load_levels(path: str | os.PathLike) -> list[Level]:
    """Read every level of a level file, or of every ``*.txt`` file in a folder (sorted by name).

    Args:
        path: a level file (Boxoban's, or an XSB collection) or a folder of them (a
            Boxoban split such as ``boxoban-levels/medium/train``).

    Returns:
        The levels, file by file in name order, each file's levels in file order. Levels
        read from a folder are named ``"<file stem>:<name>"``.

    Raises:
        ValueError: if ``path`` does not exist, a folder holds no ``*.txt`` file, or a
            file is not a valid level file (the message names the file).
    """
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.txt"))
        if not files:
            raise ValueError(f"path: folder {str(p)!r} holds no *.txt level file")
        levels = []
        for f in files:
            for level in _load_file(f):
                levels.append(
                    Level(level.shape, level.walls, level.goals, level.boxes, level.player, f"{f.stem}:{level.name}")
                )
        return levels
    if not p.is_file():
        raise ValueError(f"path: no level file or folder at {str(p)!r}")
    return _load_file(p)


def _load_file(p: Path) -> list[Level]:
    try:
        return parse_levels(p.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ValueError(f"{p}: {err}") from None


def boxoban_path() -> Path:
    """The shipped Boxoban file: DeepMind's ``unfiltered/test/000.txt`` (1,000 levels, Apache-2.0)."""
    return Path(str(resources.files("hybrid.tasks.envs").joinpath("data", "boxoban", "unfiltered", "test", "000.txt")))


def load_boxoban(path: str | os.PathLike | None = None) -> list[Level]:
    """Load Boxoban levels: the 1,000 shipped test levels, or any Boxoban file or split folder.

    Args:
        path: a Boxoban file (``000.txt``) or a folder of them (``medium/train``); None
            for the shipped ``unfiltered/test/000.txt``.

    Returns:
        The levels (10x10, 4 boxes each in DeepMind's sets), named by their ``; N`` header.

    Raises:
        ValueError: as :func:`load_levels`.
    """
    return list(_shipped_boxoban()) if path is None else load_levels(path)


@lru_cache(maxsize=1)
def _shipped_boxoban() -> tuple[Level, ...]:
    return tuple(load_levels(boxoban_path()))
