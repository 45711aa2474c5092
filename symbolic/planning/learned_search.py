"""Planning in a learned action model: from a latent start to a latent goal, shortest plans first.

Two searches over an :class:`~hybrid.symbolic.planning.action_model.ActionModel`, both
optimal in the learned model (every grounded action costs 1):

- ``"astar"``: A* (:func:`~hybrid.symbolic.planning.best_first.best_first_search`) with the
  goal-count heuristic ``h(z) = ceil(mismatched slots / max_effect)`` -- no action fixes
  more than ``max_effect`` slots, so ``h`` is admissible and consistent;
- ``"bidirectional"``: breadth-first from the start and back from the goal
  (:meth:`~hybrid.symbolic.planning.action_model.ActionModel.predecessors`), always growing
  the smaller frontier by a whole layer and stopping after the layer where they meet:
  blind, but it visits about the square root of the states a one-sided search does,
  which is what a domain with a weak goal count (Lights Out) needs. It stops at the first
  state both sides reached: no state of the finished layers is on both sides, so every
  path is longer than their two depths added, and that state is on a path exactly one longer.

The plan comes back as the env actions of its grounded actions (``SearchResult.actions``),
the grounded ids in ``info["grounded"]`` and the latent states in ``states``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from hybrid.symbolic.planning.action_model import ActionModel, State
from hybrid.symbolic.planning.best_first import SearchResult, best_first_search

__all__ = ["SEARCHES", "goal_count", "plan"]

#: The searches :func:`plan` runs.
SEARCHES: tuple[str, ...] = ("bidirectional", "astar")


def goal_count(model: ActionModel, goal: State):
    """Return ``h(z) = ceil(slots of z that differ from goal / model.max_effect)``, an admissible heuristic."""
    width = model.max_effect

    def h(state: State) -> float:
        return math.ceil(sum(1 for a, b in zip(state, goal, strict=True) if a != b) / width)

    return h


def _packed_goal_count(model: ActionModel, goal: State):
    """:func:`goal_count` over packed states: the slots where ``x ^ goal`` is not zero, counted by bits."""
    g, bits, width = model.pack(goal), model.pack((1,) * model.num_slots), model.max_effect
    shifts = range(max(1, (max(model.num_values, 2) - 1).bit_length()))

    def h(x: int) -> float:
        y, folded = x ^ g, 0
        for k in shifts:
            folded |= y >> k
        return math.ceil((folded & bits).bit_count() / width)

    return h


def plan(
    model: ActionModel,
    start: Any,
    goal: Any,
    *,
    search: str = "bidirectional",
    time_limit_s: float | None = 10.0,
    max_states: int | None = 2_000_000,
) -> SearchResult:
    """Find a shortest plan from ``start`` to ``goal`` in a learned model.

    Args:
        model: the learned :class:`ActionModel`.
        start, goal: latent states (``model.num_slots`` symbols each).
        search: ``"bidirectional"`` (blind, two-sided) or ``"astar"`` (goal count).
        time_limit_s: seconds before giving up (None: no limit).
        max_states: states stored before giving up (None: no limit).

    Returns:
        A :class:`~hybrid.symbolic.planning.best_first.SearchResult`: ``actions`` are env
        action ids, ``info["grounded"]`` the grounded action ids, ``states`` the latent states.

    Raises:
        ValueError: a start or goal the model cannot hold, or an unknown search.
    """
    start, goal = model.check_state(start, "start"), model.check_state(goal, "goal")
    if search not in SEARCHES:
        raise ValueError(f"search must be one of {SEARCHES}, got {search!r}")
    if search == "astar":
        g, h = model.pack(goal), _packed_goal_count(model, goal)
        found = best_first_search(
            model.pack(start),
            lambda x: [(i, y, 1.0) for i, y in model.successors_packed(x)],
            lambda x: x == g,
            h,
            max_expansions=max_states,
            time_limit_s=time_limit_s,
        )
        return _relabel(model, found, tuple(found.actions))
    return _bidirectional(model, start, goal, time_limit_s, max_states)


def _relabel(model: ActionModel, found: SearchResult, grounded: tuple[int, ...]) -> SearchResult:
    """``found`` with env actions in ``actions`` and the grounded ids in ``info``."""
    return SearchResult(
        found.solved,
        tuple(model.actions[i].action for i in grounded),
        found.cost,
        found.expanded,
        found.generated,
        found.seconds,
        found.reason,
        tuple(model.unpack(x) for x in found.states),
        {**found.info, "grounded": grounded},
    )


def _bidirectional(
    model: ActionModel, start: State, goal: State, time_limit_s: float | None, max_states: int | None
) -> SearchResult:
    """Layered breadth-first search from both ends over packed states (see the module docstring)."""
    t0 = time.perf_counter()
    deadline = math.inf if time_limit_s is None else t0 + time_limit_s
    limit = math.inf if max_states is None else max_states
    s0, g0 = model.pack(start), model.pack(goal)
    # packed state -> (parent, grounded id) on each side; the roots map to None.
    fwd: dict[int, tuple[int, int] | None] = {s0: None}
    bwd: dict[int, tuple[int, int] | None] = {g0: None}
    fwd_layer, bwd_layer = [s0], [g0]
    expanded = 0

    def finish(solved: bool, reason: str, meet: int | None = None) -> SearchResult:
        seconds = time.perf_counter() - t0
        if not solved:
            stored = len(fwd) + len(bwd)
            return SearchResult(False, (), math.inf, expanded, stored, seconds, reason, (), {"grounded": ()})
        path, ids = [meet], []
        while fwd[path[-1]] is not None:
            parent, i = fwd[path[-1]]
            path.append(parent)
            ids.append(i)
        path.reverse()
        ids.reverse()
        x = meet
        while bwd[x] is not None:
            x, i = bwd[x]
            ids.append(i)
            path.append(x)
        return SearchResult(
            True,
            tuple(model.actions[i].action for i in ids),
            float(len(ids)),
            expanded,
            len(fwd) + len(bwd),
            seconds,
            "solved",
            tuple(model.unpack(x) for x in path),
            {"grounded": tuple(ids)},
        )

    if s0 == g0:
        return finish(True, "solved", s0)
    while fwd_layer and bwd_layer:
        forward = len(fwd_layer) <= len(bwd_layer)
        layer, seen, other = (fwd_layer, fwd, bwd) if forward else (bwd_layer, bwd, fwd)
        expand = model.successors_packed if forward else model.predecessors_packed
        new_layer: list[int] = []
        for k, x in enumerate(layer):
            if not k % 256 and time.perf_counter() > deadline:
                return finish(False, "time limit")
            expanded += 1
            for i, y in expand(x):
                if y in seen:
                    continue
                seen[y] = (x, i)
                new_layer.append(y)
                if y in other:
                    # Optimal already: no state of the finished layers is on both sides, so every path is
                    # longer than their depths added, and a meeting state in this layer is exactly one longer.
                    return finish(True, "solved", y)
            if len(fwd) + len(bwd) > limit:
                return finish(False, "node limit")
        if forward:
            fwd_layer = new_layer
        else:
            bwd_layer = new_layer
    return finish(False, "exhausted")
