"""A Sokoban solver: push-level best-first search with deadlock pruning and a matching heuristic.

How it works (the classic recipe of Sokoban solvers, e.g. Junghanns & Schaeffer's Rolling Stone):

- **Bitboards.** The level is embedded in a grid with a one-cell wall border, cells
  numbered ``(row + 1) * W + col + 1``; a set of cells is a Python int with one bit per
  cell, so the player's reachable region is a flood fill of a few shifts and masks.
- **Dead squares.** A box on a cell from which no goal can be reached by pushes (ignoring
  the other boxes), e.g. a corner without a goal, is a deadlock; such cells are never
  pushed into. Found by "pulling" a box backwards from every goal.
- **Freeze deadlocks.** After a push, the moved box is checked for being frozen: blocked
  on both axes by walls, by dead squares on both sides, or by boxes that are themselves
  frozen (a 2x2 block of boxes, a box against a frozen box along a wall). A frozen group
  with a box off its goal can never be solved.
- **Heuristic.** Push distances (pushes needed to bring a box from a cell to a goal,
  ignoring the other boxes) from one backward search per goal; the heuristic is the
  minimum-cost matching of boxes to goals (Hungarian algorithm,
  ``scipy.optimize.linear_sum_assignment``), an admissible and consistent lower bound
  on the pushes (and so on the moves) left. No matching means a deadlock.
- **PI-corral pruning** (as in YASS and JSoko). When the player is shut out of an area
  by boxes, and every push of those boxes that could help goes into the area and can be
  made now, one of them must come first in any solution: the node's successors are
  restricted to those pushes (a large cut in open rooms; no solution is lost, nor the
  fewest pushes). No such push at all is a deadlock.
- **Push-level search with normalised player.** A node is the box set plus the player's
  reachable region, named by its smallest cell: all player positions from which the
  same pushes are possible are one node (the transposition table's key). Successors are
  the pushes; the solution's pushes are expanded back into player moves by shortest
  walks, and the whole move sequence is replayed through
  :class:`~hybrid.tasks.envs.sokoban.model.SokobanModel` to verify it.

Modes of :func:`solve`:

- ``"fast"`` (default): weighted A* over pushes, ``f = pushes + 2 h`` (:data:`FAST_WEIGHT`):
  at most twice the fewest pushes; the benchmark setting;
- ``"pushes"``: push-level A*: a solution with the fewest pushes;
- ``"moves"``: move-level A* over the rules themselves: a solution with the fewest
  moves (exponentially slower; for small puzzles).

Nothing here is tuned to a level set: the same code runs on any level.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np
from hybrid.symbolic.planning.best_first import SearchResult, best_first_search
from hybrid.tasks.envs.sokoban.level import Cell, Level, parse_level
from hybrid.tasks.envs.sokoban.model import SokobanModel, SokobanState
from scipy.optimize import linear_sum_assignment

MODES = ("fast", "pushes", "moves")
#: The heuristic's weight in ``"fast"`` mode: weighted A* over pushes, ``f = pushes + 2 h``.
FAST_WEIGHT: float = 2.0
_INF = math.inf
_BIG = 1_000_000  # stands for an impossible box-goal pair in the assignment matrix


def _bits(mask: int) -> list[int]:
    """The set bits of ``mask``, lowest first."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


class SokobanSolver:
    """The precomputed analysis of one level (dead squares, push distances) and its searches.

    Args:
        level: a :class:`Level`, a :class:`SokobanModel`, or level text.
        pi_corrals: prune the push searches with PI-corrals (see :meth:`_pi_corral_pushes`);
            False only to measure what the pruning saves.

    Attributes:
        model: the :class:`SokobanModel` solutions are verified with.
        dead_squares: cells (``(row, col)``) where a box can never reach a goal.

    Raises:
        TypeError: if ``level`` is none of these.
        ValueError: if level text is invalid.
    """

    def __init__(self, level: Level | SokobanModel | str, *, pi_corrals: bool = True) -> None:
        if isinstance(level, str):
            level = parse_level(level)
        if isinstance(level, SokobanModel):
            model = level
        elif isinstance(level, Level):
            model = SokobanModel(level)
        else:
            raise TypeError(f"level must be a Level, a SokobanModel or level text, got {type(level).__name__}")
        self.model = model
        rows, cols = model.shape
        self._rows, self._cols = rows, cols
        W = cols + 2
        self._W = W
        self._offsets = (-W, W, -1, 1)  # up, down, left, right: the model's action order
        self._nbits = ((rows + 2) * W).bit_length()
        open_cells = 0
        for r in range(rows):
            for c in range(cols):
                if (r, c) not in model.walls:
                    open_cells |= 1 << self.flat((r, c))
        self._open = open_cells  # every non-wall cell
        self._goal = 0
        for g in model.goals:
            self._goal |= 1 << self.flat(g)
        self._goal_cells = sorted(self.flat(g) for g in model.goals)
        self._regions: dict[int, tuple] = {}
        self._goal_count = len(model.goals)
        self._box_count = len(model.level.boxes)
        self._use_corrals = bool(pi_corrals)
        self._analyse(model.level.player)

    # ------------------------------------------------------------------------------------ coordinates

    def flat(self, cell: Cell) -> int:
        """The bitboard index of cell ``(row, col)``."""
        return (cell[0] + 1) * self._W + cell[1] + 1

    def cell(self, index: int) -> Cell:
        """The ``(row, col)`` of bitboard index ``index``."""
        r, c = divmod(index, self._W)
        return (r - 1, c - 1)

    def _mask(self, cells: Iterable[Cell]) -> int:
        m = 0
        for c in cells:
            m |= 1 << self.flat(c)
        return m

    def _flood(self, start_bit: int, free: int) -> int:
        W = self._W
        reach = frontier = start_bit
        while frontier:
            frontier = ((frontier << 1) | (frontier >> 1) | (frontier << W) | (frontier >> W)) & free & ~reach
            reach |= frontier
        return reach

    # ------------------------------------------------------------------------------------ analysis

    def _analyse(self, player: Cell) -> None:
        """Set the floor region of ``player`` (boxes ignored), its dead squares and push distances."""
        p = self.flat(player)
        for region, data in self._regions.items():
            if (region >> p) & 1:
                self._floor, self._live, self._dead, self._dist, self._nearest, self._h_memo = data
                return
        floor = self._flood(1 << p, self._open)
        floor_cells = _bits(floor)
        dist_by_goal = []
        live = 0
        for g in self._goal_cells:
            d = {g: 0} if (floor >> g) & 1 else {}
            queue = deque(d)
            while queue:
                y = queue.popleft()
                for o in self._offsets:
                    x = y - o  # a box on x pushed along o lands on y; the player stands on x - o
                    if x not in d and (floor >> x) & 1 and (floor >> (x - o)) & 1:
                        d[x] = d[y] + 1
                        queue.append(x)
            dist_by_goal.append(d)
            for x in d:
                live |= 1 << x
        # _BIG (not inf) for impossible pairs: the assignment solver needs finite costs; a
        # matching that has to use one sums to >= _BIG, which _h turns into inf.
        dist = {c: [float(d.get(c, _BIG)) for d in dist_by_goal] for c in floor_cells}
        nearest = {c: min((d, i) for i, d in enumerate(row)) for c, row in dist.items()}
        dead = floor & ~live
        data = (floor, live, dead, dist, nearest, {})
        self._regions[floor] = data
        self._floor, self._live, self._dead, self._dist, self._nearest, self._h_memo = data

    @property
    def dead_squares(self) -> frozenset[Cell]:
        """Cells of the player's region where a box can never reach a goal (pushed alone)."""
        return frozenset(self.cell(i) for i in _bits(self._dead))

    def push_distance(self, cell: Cell, goal: Cell) -> float:
        """Pushes needed to bring a lone box from ``cell`` to ``goal`` (``math.inf`` if impossible)."""
        row = self._dist.get(self.flat(cell))
        if row is None or goal not in self.model.goals:
            return _INF
        d = row[self._goal_cells.index(self.flat(goal))]
        return _INF if d >= _BIG else d

    # ------------------------------------------------------------------------------------ deadlocks

    def _frozen(self, c: int, boxes: int, extra: int, group: list[int]) -> bool:
        """True when the box on ``c`` can never move (boxes in ``extra`` count as walls); fills ``group``."""
        extra |= 1 << c
        mark = len(group)
        blocked = ~self._floor | extra
        dead = self._dead
        for o in (1, self._W):
            a, b = c - o, c + o
            if (blocked >> a) & 1 or (blocked >> b) & 1:
                continue
            if (dead >> a) & 1 and (dead >> b) & 1:
                continue
            if (boxes >> a) & 1 and self._frozen(a, boxes, extra, group):
                continue
            if (boxes >> b) & 1 and self._frozen(b, boxes, extra, group):
                continue
            del group[mark:]
            return False
        group.append(c)
        return True

    def _freeze_deadlock(self, c: int, boxes: int) -> bool:
        """True when the box on ``c`` is frozen together with a box that is off its goal."""
        group: list[int] = []
        if not self._frozen(c, boxes, 0, group):
            return False
        goal = self._goal
        return any(not (goal >> g) & 1 for g in group)

    def _h(self, boxes: int) -> float:
        """Minimum-cost matching of boxes to goals over push distances (``inf``: unsolvable)."""
        h = self._h_memo.get(boxes)
        if h is not None:
            return h
        dist, nearest = self._dist, self._nearest
        rows = []
        total = 0.0
        chosen = set()
        for b in _bits(boxes):
            row = dist.get(b)
            if row is None:
                self._h_memo[boxes] = _INF
                return _INF
            rows.append(row)
            d, g = nearest[b]
            total += d
            chosen.add(g)
        if len(chosen) == len(rows):  # every box has its own nearest goal: that is the matching
            h = total
        else:
            r, c = linear_sum_assignment(np.array(rows))
            h = float(sum(rows[i][j] for i, j in zip(r.tolist(), c.tolist(), strict=True)))
        if h >= _BIG:
            h = _INF
        self._h_memo[boxes] = h
        return h

    def _boxes_of(self, state: SokobanState) -> int:
        return self._mask(state[1])

    def _use_region_of(self, state: SokobanState) -> None:
        if not (self._floor >> self.flat(state[0])) & 1:
            self._analyse(state[0])

    def is_deadlock(self, state: SokobanState) -> bool:
        """True when ``state`` is provably unsolvable: a box off-goal on a dead square, a frozen
        group with a box off its goal, or no matching of boxes to goals they can reach."""
        self._use_region_of(state)
        boxes = self._boxes_of(state)
        if boxes & ~self._live & ~self._goal:
            return True
        if any(self._freeze_deadlock(b, boxes) for b in _bits(boxes)):
            return True
        return self._h(boxes) == _INF

    def lower_bound(self, state: SokobanState) -> float:
        """The matching heuristic: a lower bound on the pushes (and moves) ``state`` still needs;
        ``math.inf`` when the boxes cannot all reach distinct goals."""
        self._use_region_of(state)
        return self._h(self._boxes_of(state))

    # ------------------------------------------------------------------------------------ searches

    def _push_search(self, state: SokobanState, weight: float, max_expansions, time_limit_s) -> SearchResult:
        """Best-first search over pushes; states are ``(boxes, player, last pushed box or -1)``."""
        floor, live, goal, nbits = self._floor, self._live, self._goal, self._nbits
        offsets = tuple(enumerate(self._offsets))
        flood, matching, freeze_deadlock = self._flood, self._h, self._freeze_deadlock
        regions: dict[int, list[tuple[int, int]]] = {}  # boxes -> [(player region, node key)]

        def region(boxes: int, p: int) -> tuple[int, int]:
            """The player's region (a bitboard) and the node key ``(boxes, smallest region cell)``."""
            regs = regions.get(boxes)
            if regs is None:
                regs = regions[boxes] = []
            else:
                for reach, k in regs:
                    if (reach >> p) & 1:
                        return reach, k
            reach = flood(1 << p, floor & ~boxes)
            k = (boxes << nbits) | ((reach & -reach).bit_length() - 1)
            regs.append((reach, k))
            return reach, k

        pi_corral = self._pi_corral_pushes if self._use_corrals else None
        h_memo: dict[int, float] = {}

        def heuristic(s: tuple[int, int, int]) -> float:
            """The matching bound of the boxes (memoised), ``inf`` when the last push froze a box off goal."""
            boxes, _, moved = s
            h = h_memo.get(boxes)
            if h is None:
                h = _INF if moved >= 0 and freeze_deadlock(moved, boxes) else matching(boxes)
                h_memo[boxes] = h
            return h

        def successors(s: tuple[int, int, int]) -> list:
            boxes, p, _ = s
            reach = region(boxes, p)[0]
            restricted = pi_corral(boxes, reach) if pi_corral is not None else None
            target_ok = floor & live & ~boxes
            out = []
            for di, o in offsets:
                if restricted is not None:
                    cand = restricted[di]
                # the player on b - o (reachable), a box on b, the cell b + o empty and live
                elif o > 0:
                    cand = (reach << o) & boxes & (target_ok >> o)
                else:
                    cand = (reach >> -o) & boxes & (target_ok << -o)
                while cand:
                    low = cand & -cand
                    cand ^= low
                    b = low.bit_length() - 1
                    child = (boxes ^ low | (1 << (b + o)), b, b + o)
                    # Deadlocks are dropped here, before the search floods the child's region for its key.
                    if heuristic(child) != _INF:
                        out.append(((b, di), child, 1.0))
            return out

        boxes = self._boxes_of(state)
        return best_first_search(
            (boxes, self.flat(state[0]), -1),
            successors,
            lambda s: not s[0] & ~goal,
            heuristic,
            weight=weight,
            key=lambda s: region(s[0], s[1])[1],
            max_expansions=max_expansions,
            time_limit_s=time_limit_s,
        )

    def _pi_corral_pushes(self, boxes: int, reach: int) -> tuple[int, int, int, int] | None:
        """The pushes into the best PI-corral of a position, or None when it has none.

        A *corral* is a connected area of empty cells the player cannot reach; its
        *barrier* is the boxes next to it. It is a *PI-corral* when (I) every push of a
        barrier box that could ever be part of a solution goes into the corral (pushes
        blocked by walls, by other barrier boxes or onto dead squares cannot; boxes
        outside the barrier are ignored, as they may move away) and (P) the player can
        reach, now, every square from which such a push into the corral starts. If it also
        holds a barrier box off its goal (or an empty goal while there are as many goals
        as boxes), the first push of any solution that touches the corral is one of these
        pushes, and it can be played first: the other pushes can be postponed, and a
        search loses no solution (and no shortest one) by trying only these. The corral
        with the fewest such pushes is chosen; none at all means a deadlock.

        Returns:
            Per action (up, down, left, right), the bitboard of barrier boxes to push; or None.
        """
        floor, live, goal = self._floor, self._live, self._goal
        W = self._W
        unreached = floor & ~boxes & ~reach
        if not unreached:
            return None
        enough_goals_only = self._goal_count == self._box_count
        best: tuple[int, int, int, int] | None = None
        best_count = -1
        while unreached:
            comp = self._flood(unreached & -unreached, unreached)
            unreached &= ~comp
            around = (comp << 1) | (comp >> 1) | (comp << W) | (comp >> W)
            barrier = around & boxes
            if not (barrier & ~goal) and not (enough_goals_only and comp & goal):
                continue
            stand = floor & ~comp & ~barrier  # where a player may ever stand to push a barrier box
            outside = floor & ~comp & ~barrier & live  # live targets that are not in this corral
            inside = comp & live
            pushes = []
            count = 0
            for o in self._offsets:
                if o > 0:
                    pushable = barrier & (stand << o)  # b - o is a standing square
                    out_push = pushable & (outside >> o)  # b + o outside the corral
                    into = pushable & (inside >> o)
                    unreachable = into & ~(reach << o)
                else:
                    pushable = barrier & (stand >> -o)
                    out_push = pushable & (outside << -o)
                    into = pushable & (inside << -o)
                    unreachable = into & ~(reach >> -o)
                if out_push or unreachable:
                    break
                pushes.append(into)
                count += into.bit_count()
            else:
                if best is None or count < best_count:
                    best, best_count = tuple(pushes), count
                    if count <= 1:
                        break
        return best

    def _move_successors(self, state: tuple[int, int]) -> list:
        p, boxes = state
        floor = self._floor
        live = self._live
        out = []
        for di, o in enumerate(self._offsets):
            n = p + o
            if not (floor >> n) & 1:
                continue
            if (boxes >> n) & 1:
                t = n + o
                if not (floor >> t) & 1 or (boxes >> t) & 1 or not (live >> t) & 1:
                    continue
                nb = boxes ^ (1 << n) | (1 << t)
                if self._freeze_deadlock(t, nb):
                    continue
                out.append((di, (n, nb), 1.0))
            else:
                out.append((di, (n, boxes), 1.0))
        return out

    def _move_search(self, state: SokobanState, weight: float, max_expansions, time_limit_s):
        start = (self.flat(state[0]), self._boxes_of(state))
        goal = self._goal
        h = self._h
        return best_first_search(
            start,
            self._move_successors,
            lambda s: not s[1] & ~goal,
            lambda s: h(s[1]),
            weight=weight,
            max_expansions=max_expansions,
            time_limit_s=time_limit_s,
        )

    def _walk(self, src: int, dst: int, boxes: int) -> list[int]:
        """Shortest player walk (actions) from ``src`` to ``dst`` around the boxes."""
        if src == dst:
            return []
        free = self._floor & ~boxes
        parent = {src: (-1, -1)}
        queue = deque([src])
        while queue:
            x = queue.popleft()
            for di, o in enumerate(self._offsets):
                y = x + o
                if y in parent or not (free >> y) & 1:
                    continue
                parent[y] = (x, di)
                if y == dst:
                    path = []
                    while y != src:
                        y, di = parent[y]
                        path.append(di)
                    return path[::-1]
                queue.append(y)
        raise RuntimeError(f"internal error: no walk from {self.cell(src)} to {self.cell(dst)}")

    def _pushes_to_moves(self, state: SokobanState, pushes: Iterable[tuple[int, int]]) -> list[int]:
        player = self.flat(state[0])
        boxes = self._boxes_of(state)
        moves: list[int] = []
        for b, di in pushes:
            o = self._offsets[di]
            moves += self._walk(player, b - o, boxes)
            moves.append(di)
            boxes = boxes ^ (1 << b) | (1 << (b + o))
            player = b
        return moves

    def solve(
        self,
        state: SokobanState | None = None,
        *,
        time_limit_s: float | None = 10.0,
        mode: str = "fast",
        weight: float | None = None,
        max_expansions: int | None = None,
    ) -> SearchResult:
        """Solve from ``state`` (default: the level's start); see :func:`solve`."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if weight is not None and (not isinstance(weight, (int, float)) or weight < 1):
            raise ValueError(f"weight must be None or a number >= 1, got {weight!r}")
        if time_limit_s is not None and (not isinstance(time_limit_s, (int, float)) or not time_limit_s >= 0):
            raise ValueError(f"time_limit_s must be None or a number >= 0, got {time_limit_s!r}")
        t0 = time.perf_counter()
        state = self.model.initial_state if state is None else state
        if not isinstance(state, tuple) or len(state) != 2:
            raise TypeError(f"state must be a SokobanState (player, boxes), got {state!r}")
        try:
            checked = self.model.to_level(SokobanState(tuple(state[0]), tuple(tuple(b) for b in state[1])))
        except (TypeError, ValueError) as err:
            raise ValueError(f"state is not a state of this level: {err}") from None
        if len(checked.boxes) != len(self.model.level.boxes):
            raise ValueError(f"state has {len(checked.boxes)} boxes, the level {len(self.model.level.boxes)}")
        state = SokobanState(checked.player, checked.boxes)
        self._use_region_of(state)
        if mode == "moves":
            res = self._move_search(state, 1.0 if weight is None else weight, max_expansions, time_limit_s)
            moves = list(res.actions)
        else:
            w = weight if weight is not None else (FAST_WEIGHT if mode == "fast" else 1.0)
            res = self._push_search(state, w, max_expansions, time_limit_s)
            moves = self._pushes_to_moves(state, res.actions) if res.solved else []
        if not res.solved:
            return SearchResult(
                False, (), _INF, res.expanded, res.generated, time.perf_counter() - t0, res.reason, info={"mode": mode}
            )
        states = [state]
        model = self.model
        for a in moves:
            states.append(model.step(states[-1], a).state)
        if not model.is_solved(states[-1]):
            raise RuntimeError("internal error: the solution does not replay to a solved state")
        pushes = sum(1 for s0, s1 in zip(states[:-1], states[1:], strict=True) if s0.boxes != s1.boxes)
        return SearchResult(
            True,
            tuple(moves),
            float(len(moves)),
            res.expanded,
            res.generated,
            time.perf_counter() - t0,
            "solved",
            tuple(states),
            {"mode": mode, "pushes": pushes, "moves": len(moves)},
        )


def solve(
    level_or_state: Level | SokobanModel | SokobanState | str,
    time_limit_s: float | None = 10.0,
    *,
    model: SokobanModel | None = None,
    mode: str = "fast",
    weight: float | None = None,
    max_expansions: int | None = None,
) -> SearchResult:
    """Solve a Sokoban level (or a state of one) and return player moves verified by the rules.

    Args:
        level_or_state: a :class:`Level`, level text, a :class:`SokobanModel` (solved from
            its start), or a :class:`SokobanState` (then ``model`` is required).
        time_limit_s: seconds before giving up (None: no limit); an unsolved level ends
            with ``solved=False`` and ``reason="time limit"``.
        model: the model of ``level_or_state`` when it is a state.
        mode: ``"fast"`` (weighted A* over pushes), ``"pushes"`` (fewest pushes)
            or ``"moves"`` (fewest moves); see the module docstring.
        weight: use weighted A* with ``f = g + weight * h`` (>= 1) instead of the mode's
            default order (in ``"fast"``/``"pushes"`` over pushes, in ``"moves"`` over moves).
        max_expansions: stop after this many expanded nodes (``reason="node limit"``).

    Returns:
        A :class:`~hybrid.symbolic.planning.best_first.SearchResult`: ``actions`` are moves
        (0 up, 1 down, 2 left, 3 right), replayed through :class:`SokobanModel` to a
        solved state (``states`` holds that replay); ``cost`` is the number of moves;
        ``info`` has ``pushes`` and ``moves``; ``expanded`` counts search nodes.

    Raises:
        TypeError: if ``level_or_state`` is of another type, or a state comes without ``model``.
        ValueError: naming a bad ``mode``, ``weight`` or limit, or invalid level text.
    """
    t0 = time.perf_counter()
    if time_limit_s is not None and (not isinstance(time_limit_s, (int, float)) or not time_limit_s >= 0):
        raise ValueError(f"time_limit_s must be None or a number >= 0, got {time_limit_s!r}")
    if isinstance(level_or_state, tuple):
        if model is None:
            raise TypeError("model is required when level_or_state is a state")
        solver, state = SokobanSolver(model), level_or_state
    else:
        if model is not None:
            raise TypeError("model is only taken with a state (a level carries its own rules)")
        solver, state = SokobanSolver(level_or_state), None
    # The analysis (dead squares, distance tables) counts against the time limit too.
    left = None if time_limit_s is None else max(0.0, time_limit_s - (time.perf_counter() - t0))
    res = solver.solve(state, time_limit_s=left, mode=mode, weight=weight, max_expansions=max_expansions)
    return dataclasses.replace(res, seconds=time.perf_counter() - t0)


def solve_many(levels: Iterable[Level], time_limit_s: float = 10.0, **kwargs: Any) -> list[SearchResult]:
    """Solve each level in turn with :func:`solve` (same keyword arguments); returns the results in order."""
    return [solve(level, time_limit_s, **kwargs) for level in levels]
