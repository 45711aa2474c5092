"""Levin tree search (LevinTS): best-first search guided by a policy, with a guarantee.

Orseau, Lelis, Lattimore and Weber, "Single-Agent Policy Tree Search With Guarantees"
(NeurIPS 2018). A node ``n`` at depth ``d(n)`` reached by actions ``a_1 .. a_d`` has
path probability ``pi(n) = prod_i pi(a_i | s_{i-1})`` under the policy, and LevinTS
expands nodes in increasing order of the *Levin cost* ``d(n) / pi(n)``. It then expands
at most ``d(n*) / pi(n*)`` nodes before reaching any goal node ``n*``: a policy that puts
its mass on a solution makes the search short, and a uniform policy still finds every
solution eventually.

The policy is any callable, ``state -> probabilities over the actions`` (a neural net,
a hand-written rule, a uniform vector); probabilities of illegal actions are dropped and
the rest renormalised. With ``batch_policy`` instead, up to ``batch_size`` of the best
nodes are popped together and their policies computed in one call (one forward pass of
a network); this relaxes the order slightly (within a batch), not the search's
completeness.

Costs are kept in log space: ``log d - log pi``. Duplicate states (through ``key``) are
cut as in the paper's "state cuts": a node is dropped when a node of the same state
has been expanded with a path probability at least as high. Children that are terminal
but not goals (dead ends) are dropped.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
from hybrid.symbolic.planning.best_first import SearchResult, _check_limits, _check_model, default_goal


def uniform_policy(num_actions: int) -> Callable[[Any], np.ndarray]:
    """A policy that gives every action probability ``1 / num_actions`` (LevinTS as iterative widening)."""
    if not isinstance(num_actions, int) or num_actions < 1:
        raise ValueError(f"num_actions must be an int >= 1, got {num_actions!r}")
    probs = np.full(num_actions, 1.0 / num_actions)
    return lambda state: probs


def levin_search(
    model: Any,
    start: Any,
    policy: Callable[[Any], Sequence[float]] | None = None,
    *,
    batch_policy: Callable[[list[Any]], np.ndarray] | None = None,
    batch_size: int = 32,
    is_goal: Callable[[Any], bool] | None = None,
    key: Callable[[Any], Hashable] | None = None,
    max_expansions: int | None = None,
    time_limit_s: float | None = None,
) -> SearchResult:
    """Levin tree search over a transition model, guided by a policy.

    Args:
        model: a single-agent :class:`~hybrid.tasks.envs.model.TransitionModel`.
        start: the start state.
        policy: ``state -> probabilities of the model's actions`` (length ``num_actions``,
            non-negative; normalised over the legal actions here).
        batch_policy: instead of ``policy``: ``[states] -> array [len(states), num_actions]``,
            called on up to ``batch_size`` nodes at a time.
        batch_size: nodes popped per ``batch_policy`` call (>= 1).
        is_goal: the goal test (default: ``model.is_solved`` if it exists, else ``model.is_terminal``).
        key: ``state -> hashable`` for state cuts (default: the state).
        max_expansions: stop after this many expansions (None: no limit).
        time_limit_s: stop after this many seconds (None: no limit).

    Returns:
        A :class:`SearchResult`; ``cost`` is the solution's length (actions), and
        ``info["levin_cost"]`` its ``d / pi``.

    Raises:
        TypeError: if ``model`` is not a single-agent model or the policy is not callable.
        ValueError: if not exactly one of ``policy`` / ``batch_policy`` is given, a limit
            or ``batch_size`` is invalid, or the policy returns a wrong-length vector.
    """
    _check_model(model)
    if (policy is None) == (batch_policy is None):
        raise ValueError("give exactly one of policy= and batch_policy=")
    fn = policy if policy is not None else batch_policy
    if not callable(fn):
        raise TypeError(f"policy must be callable, got {type(fn).__name__}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    _check_limits(max_expansions, time_limit_s)
    if policy is not None:
        batch_size = 1
    goal = is_goal if is_goal is not None else default_goal(model)
    key_fn = key if key is not None else (lambda s: s)
    n_actions = int(model.num_actions)
    t0 = time.perf_counter()
    deadline = math.inf if time_limit_s is None else t0 + time_limit_s
    max_exp = math.inf if max_expansions is None else max_expansions

    nodes: list[tuple[int | None, Any, Any]] = [(None, None, start)]
    expanded = 0
    generated = 1

    def finish(solved: bool, reason: str, node: int | None = None, depth: int = 0, log_pi: float = 0.0):
        actions: list = []
        states: list = []
        while node is not None:
            parent, action, state = nodes[node]
            states.append(state)
            if parent is not None:
                actions.append(action)
            node = parent
        info = {"levin_cost": depth / math.exp(log_pi)} if solved else {}
        return SearchResult(
            solved,
            tuple(reversed(actions)),
            float(depth) if solved else math.inf,
            expanded,
            generated,
            time.perf_counter() - t0,
            reason,
            tuple(reversed(states)),
            info,
        )

    if goal(start):
        return finish(True, "solved", 0)
    tie = itertools.count()
    # (levin cost in log space, tie, depth, log pi, node id)
    open_heap: list[tuple[float, int, int, float, int]] = [(-math.inf, next(tie), 0, 0.0, 0)]
    best_log_pi: dict[Hashable, float] = {}
    while open_heap:
        if time.perf_counter() > deadline:
            return finish(False, "time limit")
        batch = []
        while open_heap and len(batch) < batch_size:
            item = heapq.heappop(open_heap)
            state = nodes[item[4]][2]
            k = key_fn(state)
            if best_log_pi.get(k, -math.inf) >= item[3]:
                continue  # state cut: this state was expanded with a higher path probability
            if expanded >= max_exp:
                return finish(False, "node limit")
            best_log_pi[k] = item[3]
            expanded += 1
            batch.append((item, state))
        if not batch:
            continue
        if policy is not None:
            probs = [np.asarray(policy(batch[0][1]), dtype=np.float64)]
        else:
            probs = list(np.asarray(batch_policy([s for _, s in batch]), dtype=np.float64))
            if len(probs) != len(batch):
                raise ValueError(f"batch_policy returned {len(probs)} rows for {len(batch)} states")
        for (item, state), p in zip(batch, probs, strict=True):
            if p.shape != (n_actions,):
                raise ValueError(f"policy must return {n_actions} probabilities, got shape {p.shape}")
            _, _, depth, log_pi, node = item
            legal = model.legal_action_ids(state)
            total = float(sum(max(float(p[a]), 0.0) for a in legal))
            for a in legal:
                pa = max(float(p[a]), 0.0)
                if pa <= 0.0 or total <= 0.0:
                    continue
                child, _, done = model.step(state, a)
                child_log_pi = log_pi + math.log(pa / total)
                if best_log_pi.get(key_fn(child), -math.inf) >= child_log_pi:
                    continue
                nodes.append((node, a, child))
                generated += 1
                if goal(child):
                    # Goal test at generation: the child's Levin cost is the lowest left to reach it.
                    return finish(True, "solved", len(nodes) - 1, depth + 1, child_log_pi)
                if done:
                    continue  # a dead end: terminal but not a goal
                cost = math.log(depth + 1) - child_log_pi
                heapq.heappush(open_heap, (cost, next(tie), depth + 1, child_log_pi, len(nodes) - 1))
    return finish(False, "exhausted")
