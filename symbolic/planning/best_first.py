"""Best-first search: A*, weighted A* and greedy best-first, over any successor function.

The core, :func:`best_first_search`, knows nothing about environments: it takes a start
state, a ``successors(state)`` function yielding ``(action, next_state, step_cost)``, a
goal test and a heuristic. :func:`astar`, :func:`weighted_astar` and
:func:`greedy_best_first` run it over a :class:`~hybrid.tasks.envs.model.TransitionModel`
(one unit of cost per action).

Nodes are ordered by ``f = g + weight * h`` (``weight = 1``: A*; ``> 1``: weighted A*,
whose solutions cost at most ``weight`` times the optimum when ``h`` is admissible), or
by ``h`` alone (``greedy=True``); ties go to the smaller ``h`` (the deeper node), then to
the older node. A heuristic returning ``math.inf`` prunes the state (a dead end).

Duplicate states are detected through ``key(state)`` (default: the state itself): a
state is expanded at most once, and a generated state is dropped when its key was
reached before at a cost no higher. With a consistent heuristic (``h(s) <= c(s, s') +
h(s')``) and ``weight = 1`` the first solution is optimal. Closed states are never
reopened, so with an inconsistent heuristic A* may return a suboptimal path.

The search stops at a goal, when nothing is left to expand (``reason="exhausted"``: no
solution in the reachable space), at ``max_expansions`` (``"node limit"``) or at
``time_limit_s`` (``"time limit"``, checked before each expansion, so it never hangs
longer than one expansion).
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

#: ``reason`` values of a :class:`SearchResult`.
REASONS = ("solved", "exhausted", "node limit", "time limit")


@dataclass(frozen=True)
class SearchResult:
    """What a search found and what it cost.

    Attributes:
        solved: True when a goal was reached.
        actions: the actions from the start to the goal (empty when not solved).
        cost: the path's total cost (``math.inf`` when not solved).
        expanded: states expanded (successors generated).
        generated: states generated (pushed on the open list).
        seconds: wall-clock seconds the search took.
        reason: ``"solved"``, ``"exhausted"``, ``"node limit"`` or ``"time limit"``.
        states: the states along the path, start and goal included (empty when not solved).
        info: extra numbers a caller adds (e.g. a Sokoban solver's push count).
    """

    solved: bool
    actions: tuple
    cost: float
    expanded: int
    generated: int
    seconds: float
    reason: str
    states: tuple = ()
    info: dict[str, Any] = field(default_factory=dict)


def _check_limits(max_expansions: int | None, time_limit_s: float | None) -> None:
    if max_expansions is not None and (not isinstance(max_expansions, int) or max_expansions < 0):
        raise ValueError(f"max_expansions must be None or an int >= 0, got {max_expansions!r}")
    if time_limit_s is not None and (not isinstance(time_limit_s, (int, float)) or not time_limit_s >= 0):
        raise ValueError(f"time_limit_s must be None or a number >= 0, got {time_limit_s!r}")


def best_first_search(
    start: Any,
    successors: Callable[[Any], Iterable[tuple[Any, Any, float]]],
    is_goal: Callable[[Any], bool],
    heuristic: Callable[[Any], float] | None = None,
    *,
    weight: float = 1.0,
    greedy: bool = False,
    key: Callable[[Any], Hashable] | None = None,
    max_expansions: int | None = None,
    time_limit_s: float | None = None,
    lifo: bool = False,
) -> SearchResult:
    """Search from ``start`` for a state with ``is_goal(state)`` true, best ``f`` first.

    Args:
        start: the start state.
        successors: ``state -> iterable of (action, next_state, step_cost)``, costs >= 0.
        is_goal: the goal test (checked when a state is expanded, so A* stays optimal).
        heuristic: ``state -> estimated cost to a goal`` (``math.inf``: prune); None is 0
            (uniform-cost search / Dijkstra).
        weight: the heuristic's weight in ``f = g + weight * h`` (>= 0).
        greedy: order by ``h`` alone (greedy best-first); ``weight`` is then unused.
        key: ``state -> hashable`` for duplicate detection (default: the state).
        max_expansions: stop after this many expansions (None: no limit).
        time_limit_s: stop after this many seconds (None: no limit).
        lifo: among nodes of equal priority and ``h``, expand the newest first
            (depth-first on plateaus) instead of the oldest.

    Returns:
        A :class:`SearchResult`.

    Raises:
        TypeError: if ``successors`` or ``is_goal`` is not callable.
        ValueError: if ``weight`` is negative or a limit is invalid.
    """
    if not callable(successors) or not callable(is_goal):
        raise TypeError("successors and is_goal must be callable")
    if heuristic is not None and not callable(heuristic):
        raise TypeError(f"heuristic must be callable or None, got {type(heuristic).__name__}")
    if not isinstance(weight, (int, float)) or not weight >= 0:
        raise ValueError(f"weight must be a number >= 0, got {weight!r}")
    _check_limits(max_expansions, time_limit_s)
    h_fn = heuristic if heuristic is not None else (lambda s: 0.0)
    key_fn = key if key is not None else (lambda s: s)
    t0 = time.perf_counter()
    deadline = math.inf if time_limit_s is None else t0 + time_limit_s
    max_exp = math.inf if max_expansions is None else max_expansions

    def finish(solved: bool, reason: str, node: int | None = None, cost: float = math.inf) -> SearchResult:
        actions: list = []
        states: list = []
        while node is not None:
            parent, action, state = nodes[node]
            states.append(state)
            if parent is not None:
                actions.append(action)
            node = parent
        return SearchResult(
            solved,
            tuple(reversed(actions)),
            cost if solved else math.inf,
            expanded,
            generated,
            time.perf_counter() - t0,
            reason,
            tuple(reversed(states)),
        )

    nodes: list[tuple[int | None, Any, Any]] = [(None, None, start)]  # (parent id, action, state)
    expanded = 0
    generated = 1
    h0 = h_fn(start)
    if h0 == math.inf:
        return finish(False, "exhausted")
    tie = itertools.count(0, -1) if lifo else itertools.count()
    k0 = key_fn(start)
    # heap entries: (priority, h, tie, g, node id, key)
    open_heap: list[tuple[float, float, int, float, int, Hashable]] = [
        (h0 if greedy else weight * h0, h0, next(tie), 0.0, 0, k0)
    ]
    best_g: dict[Hashable, float] = {k0: 0.0}
    closed: set[Hashable] = set()
    push, pop = heapq.heappush, heapq.heappop
    while open_heap:
        if time.perf_counter() > deadline:
            return finish(False, "time limit")
        _, _, _, g, node, k = pop(open_heap)
        if k in closed:
            continue
        state = nodes[node][2]
        if is_goal(state):
            return finish(True, "solved", node, g)
        if expanded >= max_exp:
            return finish(False, "node limit")
        closed.add(k)
        expanded += 1
        for action, child, cost in successors(state):
            ck = key_fn(child)
            if ck in closed:
                continue
            cg = g + cost
            if best_g.get(ck, math.inf) <= cg:
                continue
            h = h_fn(child)
            if h == math.inf:
                continue
            best_g[ck] = cg
            nodes.append((node, action, child))
            generated += 1
            push(open_heap, (h if greedy else cg + weight * h, h, next(tie), cg, len(nodes) - 1, ck))
    return finish(False, "exhausted")


def model_successors(model: Any, is_goal: Callable[[Any], bool] | None = None) -> Callable[[Any], list]:
    """A ``successors`` function over a transition model: every legal action, cost 1.

    Children that are terminal but not goals (dead ends, e.g. a stuck Sokoban player)
    are left out.

    Args:
        model: an object with ``legal_action_ids(state)``, ``step(state, action)`` and
            ``is_terminal(state)`` (a :class:`~hybrid.tasks.envs.model.TransitionModel`).
        is_goal: the goal test (default: see :func:`default_goal`).

    Returns:
        ``state -> [(action, next_state, 1.0), ...]``.
    """
    goal = is_goal if is_goal is not None else default_goal(model)

    def successors(state: Any) -> list:
        out = []
        for a in model.legal_action_ids(state):
            nxt, _, done = model.step(state, a)
            if done and not goal(nxt):
                continue
            out.append((a, nxt, 1.0))
        return out

    return successors


def default_goal(model: Any) -> Callable[[Any], bool]:
    """The goal test of a model: its ``is_solved`` method when it has one, else ``is_terminal``."""
    solved = getattr(model, "is_solved", None)
    return solved if callable(solved) else model.is_terminal


def astar(
    model: Any,
    start: Any,
    heuristic: Callable[[Any], float] | None = None,
    *,
    weight: float = 1.0,
    is_goal: Callable[[Any], bool] | None = None,
    key: Callable[[Any], Hashable] | None = None,
    max_expansions: int | None = None,
    time_limit_s: float | None = None,
) -> SearchResult:
    """A* over a transition model, one unit of cost per action (``weight > 1``: weighted A*).

    Args:
        model: a :class:`~hybrid.tasks.envs.model.TransitionModel` (single-agent).
        start: the start state.
        heuristic: ``state -> lower bound on the actions left`` (None: breadth-first order).
        weight, key, max_expansions, time_limit_s: as :func:`best_first_search`.
        is_goal: the goal test (default: ``model.is_solved`` if it exists, else ``model.is_terminal``).

    Returns:
        A :class:`SearchResult` whose ``actions`` replay through ``model.step``.

    Raises:
        TypeError: if ``model`` is not a single-agent transition model.
    """
    _check_model(model)
    goal = is_goal if is_goal is not None else default_goal(model)
    return best_first_search(
        start,
        model_successors(model, goal),
        goal,
        heuristic,
        weight=weight,
        key=key,
        max_expansions=max_expansions,
        time_limit_s=time_limit_s,
    )


def weighted_astar(
    model: Any,
    start: Any,
    heuristic: Callable[[Any], float],
    weight: float = 2.0,
    **kwargs: Any,
) -> SearchResult:
    """Weighted A* over a transition model: :func:`astar` with ``f = g + weight * h``."""
    return astar(model, start, heuristic, weight=weight, **kwargs)


def greedy_best_first(
    model: Any,
    start: Any,
    heuristic: Callable[[Any], float],
    *,
    is_goal: Callable[[Any], bool] | None = None,
    key: Callable[[Any], Hashable] | None = None,
    max_expansions: int | None = None,
    time_limit_s: float | None = None,
) -> SearchResult:
    """Greedy best-first search over a transition model: expand the smallest ``h`` first."""
    _check_model(model)
    goal = is_goal if is_goal is not None else default_goal(model)
    return best_first_search(
        start,
        model_successors(model, goal),
        goal,
        heuristic,
        greedy=True,
        key=key,
        max_expansions=max_expansions,
        time_limit_s=time_limit_s,
    )


def _check_model(model: Any) -> None:
    for name in ("legal_action_ids", "step", "is_terminal"):
        if not callable(getattr(model, name, None)):
            raise TypeError(f"model must be a TransitionModel (no callable {name!r}), got {type(model).__name__}")
    if getattr(model, "num_players", 1) != 1:
        raise TypeError(f"model must be single-agent (num_players == 1), got num_players={model.num_players}")
