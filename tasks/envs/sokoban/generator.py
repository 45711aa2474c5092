"""Procedural Sokoban levels, solvable by construction (in the spirit of Boxoban's generator).

The recipe of gym-sokoban, which DeepMind used to make Boxoban:

1. carve a room: a random walk through a walled ``rows x cols`` grid that opens a small
   random pattern of floor cells around each position it visits;
2. put the goals and the player on random floor cells, with a box on every goal (the
   solved position);
3. play the game *backwards* from there: walk the player to a random box it can pull
   and *pull* it (the inverse of a push) one to ``max_run`` cells in a line, again and
   again, ``num_pulls`` pulls in all;
4. keep the position along the way with the best score, ``box swaps x total box
   displacement`` (as gym-sokoban scores it; a swap is a pull of another box than the
   last one), among those with every box off its goal; finally walk the player to a
   random cell of its region.

Every reverse move undoes a legal forward move, so the reversed walk is a solution: the
level is solvable by construction and :func:`generate` returns that solution too (not
an optimal one). A room that yields no position with every box off the goals is
thrown away and another is carved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hybrid.tasks.envs.sokoban.level import Cell, Level
from hybrid.tasks.envs.sokoban.model import DELTAS

_MASKS = (
    ((0, 0, 0), (1, 1, 1), (0, 0, 0)),
    ((0, 1, 0), (0, 1, 0), (0, 1, 0)),
    ((0, 0, 0), (1, 1, 0), (0, 1, 0)),
    ((0, 0, 0), (1, 1, 0), (1, 1, 0)),
    ((0, 0, 0), (0, 1, 1), (0, 1, 0)),
)
_OPPOSITE = (1, 0, 3, 2)


@dataclass(frozen=True)
class GeneratedLevel:
    """A generated level with the solution its construction proves.

    Attributes:
        level: the level.
        solution: actions (0 up, 1 down, 2 left, 3 right) that solve it (not optimal).
        score: gym-sokoban's score of the kept position (box swaps x box displacement).
    """

    level: Level
    solution: tuple[int, ...]
    score: int


def _carve(rng: np.random.Generator, rows: int, cols: int, walk_steps: int, turn_prob: float) -> np.ndarray:
    floor = np.zeros((rows, cols), dtype=bool)
    r, c = int(rng.integers(1, rows - 1)), int(rng.integers(1, cols - 1))
    dr, dc = DELTAS[int(rng.integers(4))]
    for _ in range(walk_steps):
        if rng.random() < turn_prob:
            dr, dc = DELTAS[int(rng.integers(4))]
        r = min(max(r + dr, 1), rows - 2)
        c = min(max(c + dc, 1), cols - 2)
        mask = _MASKS[int(rng.integers(len(_MASKS)))]
        for i in range(3):
            for j in range(3):
                if mask[i][j]:
                    rr, cc = r + i - 1, c + j - 1
                    if 1 <= rr <= rows - 2 and 1 <= cc <= cols - 2:
                        floor[rr, cc] = True
    return floor


def _walk(floor: np.ndarray, boxes: set[Cell], src: Cell) -> dict[Cell, tuple[Cell, int] | None]:
    """Breadth-first tree of the player's walks from ``src`` around ``boxes``: cell -> (previous cell, action)."""
    tree: dict[Cell, tuple[Cell, int] | None] = {src: None}
    frontier = [src]
    while frontier:
        nxt_frontier = []
        for r, c in frontier:
            for a, (dr, dc) in enumerate(DELTAS):
                n = (r + dr, c + dc)
                if n not in tree and floor[n] and n not in boxes:
                    tree[n] = ((r, c), a)
                    nxt_frontier.append(n)
        frontier = nxt_frontier
    return tree


def _path(tree: dict[Cell, tuple[Cell, int] | None], dst: Cell) -> list[int]:
    path = []
    while tree[dst] is not None:
        dst, a = tree[dst]
        path.append(a)
    return path[::-1]


def _reverse_play(
    rng: np.random.Generator,
    floor: np.ndarray,
    goals: list[Cell],
    player: Cell,
    num_pulls: int,
    max_run: int,
    away_weight: float,
) -> tuple[int, list[Cell], Cell, list[int]] | None:
    """Pull boxes away from the goals; returns the best (score, boxes, player, forward solution) or None.

    Each round walks the player to a random box it can pull (the cell beyond the player
    free; a pull is ``away_weight`` times likelier for each of: it takes the box further
    from its own goal, the box stands on a goal, it does not end on a goal) and pulls it
    1..``max_run`` cells in a straight line, until ``num_pulls`` pulls.
    The reverse moves (walk steps and pulls) are recorded; reversed, they solve the level.
    """
    boxes = list(goals)  # box i starts on goal i; identities are tracked for the score
    goal_set = set(goals)
    where = {b: i for i, b in enumerate(boxes)}
    moves: list[int] = []  # reverse moves: the player's direction at each step
    swaps, last_box, pulls = 0, -1, 0
    best: tuple[int, list[Cell], Cell, int] | None = None
    p = player
    while pulls < num_pulls:
        tree = _walk(floor, set(where), p)
        options = []
        for (br, bc), i in where.items():
            for a, (dr, dc) in enumerate(DELTAS):
                stand, beyond = (br + dr, bc + dc), (br + 2 * dr, bc + 2 * dc)
                if stand in tree and floor[beyond] and beyond not in where:
                    g = goals[i]
                    away = abs(stand[0] - g[0]) + abs(stand[1] - g[1]) > abs(br - g[0]) + abs(bc - g[1])
                    weight = away_weight if away else 1.0
                    weight *= away_weight if (br, bc) in goal_set else 1.0  # get boxes off goals ...
                    weight /= away_weight if stand in goal_set else 1.0  # ... and not onto other ones
                    options.append((i, a, stand, weight))
        if not options:
            break
        weights = np.array([o[3] for o in options])
        i, a, stand, _ = options[int(rng.choice(len(options), p=weights / weights.sum()))]
        moves += _path(tree, stand)
        p = stand
        dr, dc = DELTAS[a]
        for _ in range(int(rng.integers(1, max_run + 1))):
            beyond = (p[0] + dr, p[1] + dc)
            if not floor[beyond] or beyond in where or pulls >= num_pulls:
                break
            where[p] = where.pop(boxes[i])
            boxes[i] = p
            p = beyond
            moves.append(a)
            pulls += 1
        if i != last_box:
            swaps += 1
            last_box = i
        if all(b not in goal_set for b in boxes):
            displacement = sum(abs(b[0] - g[0]) + abs(b[1] - g[1]) for b, g in zip(boxes, goals, strict=True))
            score = swaps * displacement
            if best is None or score > best[0]:
                best = (score, list(boxes), p, len(moves))
    if best is None or best[0] == 0:
        return None
    score, best_boxes, best_player, n = best
    moves = moves[:n]
    # Finally, walk the player to a random cell of its region (same puzzle, varied start).
    tree = _walk(floor, set(best_boxes), best_player)
    cells = sorted(tree)
    end = cells[int(rng.integers(len(cells)))]
    moves += _path(tree, end)
    solution = [_OPPOSITE[a] for a in reversed(moves)]
    return score, best_boxes, end, solution


def generate(
    rng: np.random.Generator,
    dim: tuple[int, int] = (10, 10),
    num_boxes: int = 4,
    *,
    num_pulls: int = 40,
    max_run: int = 3,
    away_weight: float = 3.0,
    walk_steps: int | None = None,
    turn_prob: float = 0.35,
    max_tries: int = 200,
    name: str = "",
) -> GeneratedLevel:
    """Generate one level, solvable by construction, and the solution that proves it.

    Args:
        rng: the random generator (the only source of randomness).
        dim: ``(rows, cols)`` of the grid, outer walls included (Boxoban: 10x10).
        num_boxes: number of boxes (and goals), >= 1.
        num_pulls: box pulls played backwards from the solved position (more: harder levels).
        max_run: most cells one box is pulled in a line before another pick.
        away_weight: how much likelier a pull is picked when it takes the box further
            from its goal (1: uniform; larger: boxes end further out).
        walk_steps: length of the room-carving walk; default ``1.5 * (rows + cols)``.
        turn_prob: probability that the carving walk changes direction at a step.
        max_tries: rooms to carve before giving up.
        name: the level's name.

    Returns:
        A :class:`GeneratedLevel` (the level, a solution, its score).

    Raises:
        TypeError: if ``rng`` is not a ``numpy.random.Generator``.
        ValueError: naming a bad argument, or if ``max_tries`` rooms gave no level.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not (isinstance(dim, (tuple, list)) and len(dim) == 2 and all(isinstance(n, (int, np.integer)) for n in dim)):
        raise ValueError(f"dim must be a (rows, cols) pair of ints, got {dim!r}")
    rows, cols = int(dim[0]), int(dim[1])
    if rows < 5 or cols < 5:
        raise ValueError(f"dim must be at least (5, 5) (outer walls included), got {dim!r}")
    if not isinstance(num_boxes, (int, np.integer)) or num_boxes < 1:
        raise ValueError(f"num_boxes must be an int >= 1, got {num_boxes!r}")
    if num_boxes + 1 > (rows - 2) * (cols - 2) // 2:
        raise ValueError(f"num_boxes={num_boxes} is too many for a {rows}x{cols} room")
    for arg, value in (("num_pulls", num_pulls), ("max_run", max_run), ("max_tries", max_tries)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{arg} must be an int >= 1, got {value!r}")
    if walk_steps is None:
        walk_steps = int(1.5 * (rows + cols))
    if not isinstance(walk_steps, (int, np.integer)) or walk_steps < 1:
        raise ValueError(f"walk_steps must be an int >= 1, got {walk_steps!r}")
    if not isinstance(away_weight, (int, float)) or not away_weight > 0:
        raise ValueError(f"away_weight must be a number > 0, got {away_weight!r}")
    if not isinstance(turn_prob, (int, float)) or not 0.0 <= float(turn_prob) <= 1.0:
        raise ValueError(f"turn_prob must be a number in [0, 1], got {turn_prob!r}")

    for _ in range(max_tries):
        floor = _carve(rng, rows, cols, int(walk_steps), float(turn_prob))
        cells = [(int(r), int(c)) for r, c in np.argwhere(floor)]
        if len(cells) < num_boxes + 1 + 2:
            continue
        picks = rng.choice(len(cells), size=num_boxes + 1, replace=False)
        goals = [cells[int(i)] for i in picks[:num_boxes]]
        player = cells[int(picks[num_boxes])]
        found = _reverse_play(rng, floor, goals, player, int(num_pulls), int(max_run), float(away_weight))
        if found is None:
            continue
        score, boxes, start, solution = found
        walls = frozenset((int(r), int(c)) for r, c in np.argwhere(~floor))
        level = Level((rows, cols), walls, frozenset(goals), tuple(boxes), start, name)
        return GeneratedLevel(level, tuple(solution), int(score))
    raise ValueError(f"no level found in max_tries={max_tries} rooms; try a larger dim or fewer boxes")


def generate_level(rng: np.random.Generator, dim: tuple[int, int] = (10, 10), num_boxes: int = 4, **kwargs) -> Level:
    """Generate one level solvable by construction; see :func:`generate` for the arguments."""
    return generate(rng, dim, num_boxes, **kwargs).level
