"""Monte Carlo tree search over a transition model: simulate, evaluate leaves in batches, back up.

One function, :func:`search`, runs ``num_simulations`` simulations from a state. Each
simulation descends the tree with the configured selection rule (UCT, PUCT, or Gumbel MuZero's
root and interior rules), creates one new node by stepping the model, and queues it; every
``batch_size`` simulations the queued leaves go to the evaluator together, and their values
are backed up. Virtual loss (a provisional visit scored as a loss of ``virtual_loss`` for the
chooser) steers the simulations of one batch to different leaves; with ``batch_size=1`` there
is none and the search is plain sequential MCTS.

Backing up: the return of the edge into a node is its reward plus the discounted value below,
negated when the player to move changes (``model.current_player``), so two-player (negamax)
and single-agent (discounted rewards along the path plus the leaf value) share one rule.
Terminal nodes are worth 0 and are backed up at once, without the evaluator. One function backs up
every path, evaluated leaves and inline ones alike: :func:`~hybrid.symbolic.planning.mcts.tree.backup`.
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from hybrid.symbolic.planning.mcts.evaluators import Evaluator, RolloutEvaluator, check_evaluation
from hybrid.symbolic.planning.mcts.selection import (
    completed_q,
    considered_visit_sequence,
    gumbel_interior_select,
    gumbel_root_select,
    prior_logits,
    puct_select,
    softmax,
    uct_select,
)
from hybrid.symbolic.planning.mcts.tree import ROOT, Tree, edge_q_values, edge_visit_counts, new_tree, node_value
from hybrid.symbolic.planning.mcts.tree import backup as backup_path

SELECTIONS = ("uct", "puct", "gumbel")


@dataclass(frozen=True)
class MCTSConfig:
    """Hyper-parameters of :func:`search`.

    Attributes:
        num_simulations: simulations per call (>= 1); the root's own evaluation is not one.
        selection: ``"uct"`` (evaluator priors ignored), ``"puct"`` (AlphaZero) or ``"gumbel"``
            (Gumbel MuZero: sequential halving at the root, deterministic rule inside).
        batch_size: leaves evaluated together (>= 1); 1 means no virtual loss.
        virtual_loss: the provisional loss scored on each edge of an in-flight simulation (>= 0).
        uct_c: UCT's exploration constant (> 0); 2.0 matches OpenSpiel's MCTS example.
        c_base: PUCT's ``c_base`` (AlphaZero: 19652).
        c_init: PUCT's ``c_init`` (AlphaZero: 1.25).
        discount: per-move discount in (0, 1] (1 for board games).
        max_num_considered_actions: Gumbel: actions sampled at the root (>= 1).
        gumbel_scale: Gumbel: scale of the root noise (>= 0; 0 makes the search deterministic).
        value_scale: Gumbel: ``c_scale`` of the completed-Q transform (0.1).
        maxvisit_init: Gumbel: ``c_visit`` of the completed-Q transform (50).
        dirichlet_alpha: PUCT: concentration of root Dirichlet noise (AlphaZero: 0.3 chess,
            0.03 Go); ``None`` for no noise.
        dirichlet_fraction: PUCT: weight of the noise in the root prior (AlphaZero: 0.25).
    """

    num_simulations: int = 800
    selection: str = "uct"
    batch_size: int = 1
    virtual_loss: float = 1.0
    uct_c: float = 2.0
    c_base: float = 19652.0
    c_init: float = 1.25
    discount: float = 1.0
    max_num_considered_actions: int = 16
    gumbel_scale: float = 1.0
    value_scale: float = 0.1
    maxvisit_init: float = 50.0
    dirichlet_alpha: float | None = None
    dirichlet_fraction: float = 0.25

    def __post_init__(self) -> None:
        for name in ("num_simulations", "batch_size", "max_num_considered_actions"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}, got {self.selection!r}")
        for name in ("uct_c", "c_base", "maxvisit_init"):
            if not float(getattr(self, name)) > 0.0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("virtual_loss", "c_init", "gumbel_scale", "value_scale"):
            if not float(getattr(self, name)) >= 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0.0 < float(self.discount) <= 1.0:
            raise ValueError(f"discount must be in (0, 1], got {self.discount!r}")
        if self.dirichlet_alpha is not None and not float(self.dirichlet_alpha) > 0.0:
            raise ValueError(f"dirichlet_alpha must be > 0 or None, got {self.dirichlet_alpha!r}")
        if not 0.0 <= float(self.dirichlet_fraction) <= 1.0:
            raise ValueError(f"dirichlet_fraction must be in [0, 1], got {self.dirichlet_fraction!r}")


@dataclass
class SearchResult:
    """What a search found at the root.

    Attributes:
        action: the chosen action (UCT/PUCT: most visited, ties to the higher Q; Gumbel: the
            survivor of sequential halving). Always legal.
        visit_counts: int64 [num_actions], root visits per action (0 for illegal actions),
            those of a reused tree included.
        q_values: float [num_actions], mean return per action for the player to move (NaN if
            never visited or illegal).
        root_value: the root's search value for the player to move.
        policy: float [num_actions], the improved policy, a training target: visit frequencies
            for UCT/PUCT, ``softmax(logits + sigma(completed Q))`` for Gumbel; 0 on illegal actions.
        num_simulations: simulations run by this call.
        tree: the grown tree (pass ``reuse_tree(tree, action)`` to the next search).
    """

    action: int
    visit_counts: np.ndarray
    q_values: np.ndarray
    root_value: float
    policy: np.ndarray
    num_simulations: int
    tree: Tree


_INV_SQRT: list[float] = [0.0]
_SQRT_LOG: list[float] = [0.0]


def _tables(size: int) -> tuple[list[float], list[float]]:
    """Return the shared lists ``1/sqrt(n)`` and ``sqrt(ln n)`` for ``n < size`` (grown on demand; 0 at n=0)."""
    if len(_INV_SQRT) < size:
        _INV_SQRT.extend(1.0 / math.sqrt(n) for n in range(len(_INV_SQRT), size))
        _SQRT_LOG.extend(math.sqrt(math.log(n)) for n in range(len(_SQRT_LOG), size))
    return _INV_SQRT, _SQRT_LOG


def _masked_priors(row: list[float], actions: tuple[int, ...]) -> list[float]:
    p = [row[a] for a in actions]
    total = 0.0
    for x in p:
        if x < 0.0 or x != x:
            raise ValueError(f"evaluate returned a prior that is negative or NaN: {x!r}")
        total += x
    if total > 0.0 and total != math.inf:
        return [x / total for x in p]
    return [1.0 / len(actions)] * len(actions)


def search(
    model: Any,
    state: Any,
    evaluate: Evaluator,
    rng: np.random.Generator,
    config: MCTSConfig | None = None,
    tree: Tree | None = None,
) -> SearchResult:
    """Run Monte Carlo tree search from ``state`` and return the root's statistics.

    Args:
        model: a :class:`hybrid.tasks.envs.model.TransitionModel` (``step``, ``legal_action_ids``,
            ``current_player``, ``is_terminal``, ``num_actions``).
        state: the root state (not terminal).
        evaluate: ``evaluate(states: list) -> (priors [B, num_actions], values [B])``, values
            from the point of view of the player to move in each state (see
            :mod:`~hybrid.symbolic.planning.mcts.evaluators`).
        rng: a ``numpy.random.Generator`` (child order, Gumbel and Dirichlet noise); the
            search is deterministic given it and a deterministic evaluator.
        config: hyper-parameters (default :class:`MCTSConfig()`).
        tree: a tree whose root state equals ``state`` (from
            :func:`~hybrid.symbolic.planning.mcts.reuse.reuse_tree`) to continue; it is grown in place.

    Returns:
        A :class:`SearchResult`.

    Raises:
        TypeError: if ``rng``, ``config``, ``tree`` or ``evaluate`` has the wrong type.
        ValueError: if ``state`` is terminal, ``tree`` belongs to another state or action space,
            or the evaluator returns arrays of the wrong shape (naming expected and actual).
    """
    if config is None:
        config = MCTSConfig()
    if not isinstance(config, MCTSConfig):
        raise TypeError(f"config must be an MCTSConfig, got {type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not callable(evaluate):
        raise TypeError(f"evaluate must be callable, got {type(evaluate).__name__}")
    num_actions = int(model.num_actions)
    if tree is None:
        tree = new_tree(model, state)
    else:
        if not isinstance(tree, Tree):
            raise TypeError(f"tree must be a Tree or None, got {type(tree).__name__}")
        if tree.num_actions != num_actions:
            raise ValueError(f"tree has {tree.num_actions} actions; the model has {num_actions}")
        if tree.states[ROOT] != state:
            raise ValueError("tree: its root state differs from state; pass the tree of this state or None")

    # Local bindings: this loop runs hundreds of thousands of times a second.
    step = model.step
    legal = model.legal_action_ids
    current_player = model.current_player
    states = tree.states
    players = tree.players
    terminal = tree.terminal
    parents = tree.parents
    parent_slots = tree.parent_slots
    rewards = tree.rewards
    actions = tree.actions
    children = tree.children
    child_visits = tree.child_visits
    child_values = tree.child_values
    priors = tree.priors
    raw_values = tree.raw_values
    visits = tree.visits
    selection = config.selection
    use_priors = selection != "uct"
    uct_c = float(config.uct_c)
    c_base = float(config.c_base)
    c_init = float(config.c_init)
    discount = float(config.discount)
    batch_size = int(config.batch_size)
    vl = float(config.virtual_loss) if batch_size > 1 else 0.0
    num_simulations = int(config.num_simulations)
    value_scale = float(config.value_scale)
    maxvisit_init = float(config.maxvisit_init)

    def backup(leaf: int, value: float) -> None:  # the one backup, for evaluated leaves and inline ones alike
        backup_path(tree, leaf, value, discount, vl)

    # Fast path: UCT ignores priors, so a RolloutEvaluator's rollouts are called directly
    # (same random numbers, same values) without building the [B, num_actions] arrays.
    direct = None
    if selection == "uct" and isinstance(evaluate, RolloutEvaluator) and evaluate.num_rollouts == 1:
        direct = evaluate.rollout

    def evaluate_leaves(leaves: list[int]) -> None:
        if direct is not None:
            for leaf in leaves:
                v = direct(states[leaf])
                if priors[leaf] is None:
                    priors[leaf] = [1.0 / len(actions[leaf])] * len(actions[leaf])
                    raw_values[leaf] = v
                backup(leaf, v)
            return
        out = evaluate([states[n] for n in leaves])
        if not isinstance(out, tuple) or len(out) != 2:
            raise ValueError("evaluate must return a tuple (priors, values)")
        p_batch, v_batch = check_evaluation(out[0], out[1], len(leaves), num_actions)
        vals = v_batch.tolist()
        rows = p_batch.tolist() if use_priors else None
        for j, leaf in enumerate(leaves):
            v = vals[j]
            if priors[leaf] is None:
                acts = actions[leaf]
                if rows is not None:
                    priors[leaf] = _masked_priors(rows[j], acts)
                else:
                    priors[leaf] = [1.0 / len(acts)] * len(acts)
                raw_values[leaf] = v
            backup(leaf, v)

    # The root: evaluate it once (not a simulation), then set up the root rule.
    if priors[ROOT] is None:
        visits[ROOT] += 1
        evaluate_leaves([ROOT])
    root_priors = priors[ROOT]
    num_root = len(root_priors)
    if selection == "puct" and config.dirichlet_alpha is not None:
        noise = rng.dirichlet([float(config.dirichlet_alpha)] * num_root).tolist()
        f = float(config.dirichlet_fraction)
        root_priors = [(1.0 - f) * p + f * n for p, n in zip(root_priors, noise, strict=True)]
    gumbel: list[float] = []
    root_logits: list[float] = []
    base_visits = list(child_visits[ROOT])
    considered: tuple[int, ...] = ()
    if selection == "gumbel":
        gumbel = (float(config.gumbel_scale) * rng.gumbel(size=num_root)).tolist()
        root_logits = prior_logits(root_priors)
        considered = considered_visit_sequence(min(int(config.max_num_considered_actions), num_root), num_simulations)
    order = rng.random(num_simulations).tolist()  # rotates each new node's slot order

    def select(node: int, sim: int) -> int:
        if selection == "uct":
            return uct_select(child_visits[node], child_values[node], visits[node], uct_c)
        if selection == "puct":
            p = root_priors if node == ROOT else priors[node]
            return puct_select(child_visits[node], child_values[node], p, visits[node], c_base, c_init)
        sigma = completed_q(
            child_visits[node], child_values[node], priors[node], raw_values[node], value_scale, maxvisit_init
        )
        if node == ROOT:
            this_search = [n - b for n, b in zip(child_visits[ROOT], base_visits, strict=True)]
            return gumbel_root_select(this_search, gumbel, root_logits, sigma, considered[sim])
        return gumbel_interior_select(child_visits[node], prior_logits(priors[node]), sigma)

    fast_uct = selection == "uct"
    inline_eval = direct is not None and batch_size == 1
    inv_sqrt, sqrt_log = _tables(visits[ROOT] + num_simulations + 1)
    gc_was_enabled = gc.isenabled()
    if direct is not None:  # rollouts allocate only acyclic tuples and lists: collections only cost time
        gc.disable()
    try:
        sim = 0
        while sim < num_simulations:
            b = min(batch_size, num_simulations - sim)
            leaves: list[int] = []
            for _ in range(b):
                node = ROOT
                visits[ROOT] += 1
                leaf = -1
                value = 0.0
                while True:
                    cv = child_visits[node]
                    if fast_uct:  # uct_select inlined: the hot path of rollout searches
                        if 0 in cv:  # the first unvisited slot (C-speed scans)
                            slot = cv.index(0)
                        else:
                            slot = -1
                            best = -math.inf
                            explore = uct_c * sqrt_log[visits[node]]
                            cw = child_values[node]
                            for i, n in enumerate(cv):
                                score = cw[i] / n + explore * inv_sqrt[n]
                                if score > best:
                                    best = score
                                    slot = i
                    else:
                        slot = select(node, sim)
                    cv[slot] += 1
                    if vl:
                        child_values[node][slot] -= vl
                    child = children[node][slot]
                    if child < 0:  # expand: step the model into a new node
                        nxt, reward, done = step(states[node], actions[node][slot])
                        if done:
                            acts: tuple[int, ...] = ()
                            player = -1
                        else:
                            acts = legal(nxt)
                            k = len(acts)
                            if k == 0:
                                done = True
                                player = -1
                            else:
                                off = int(order[sim] * k)
                                if off:
                                    acts = acts[off:] + acts[:off]
                                player = current_player(nxt)
                        child = len(states)
                        k = len(acts)
                        states.append(nxt)
                        players.append(player)
                        terminal.append(done)
                        parents.append(node)
                        parent_slots.append(slot)
                        rewards.append(reward)
                        actions.append(acts)
                        children.append([-1] * k)
                        child_visits.append([0] * k)
                        child_values.append([0.0] * k)
                        raw_values.append(0.0)
                        visits.append(1)
                        children[node][slot] = child
                        if done:
                            priors.append(None)
                            leaf = child
                        elif inline_eval:
                            value = direct(nxt)
                            priors.append([1.0 / k] * k)
                            raw_values[child] = value
                            leaf = child
                        else:
                            priors.append(None)
                            leaves.append(child)
                        break
                    node = child
                    visits[node] += 1
                    if terminal[node]:
                        leaf = node
                        break
                    if priors[node] is None:  # already queued in this batch: evaluate it again
                        leaves.append(node)
                        break
                if leaf >= 0:  # back up a terminal (value 0) or an inline rollout at once
                    backup(leaf, value)
                sim += 1
            if leaves:
                evaluate_leaves(leaves)
    finally:
        if gc_was_enabled:
            gc.enable()

    return _result(tree, selection, gumbel, root_logits, base_visits, value_scale, maxvisit_init, num_simulations)


def _result(
    tree: Tree,
    selection: str,
    gumbel: list[float],
    root_logits: list[float],
    base_visits: list[int],
    value_scale: float,
    maxvisit_init: float,
    num_simulations: int,
) -> SearchResult:
    acts = tree.actions[ROOT]
    cv = tree.child_visits[ROOT]
    cw = tree.child_values[ROOT]
    policy = np.zeros(tree.num_actions)
    if selection == "gumbel":
        sigma = completed_q(cv, cw, tree.priors[ROOT], tree.raw_values[ROOT], value_scale, maxvisit_init)
        this_search = [n - b for n, b in zip(cv, base_visits, strict=True)]
        most = max(this_search)
        top = max(root_logits)
        scores = [
            gumbel[i] + root_logits[i] - top + sigma[i] if this_search[i] == most else -math.inf
            for i in range(len(acts))
        ]
        slot = max(range(len(acts)), key=scores.__getitem__)
        for a, p in zip(acts, softmax([lg + s for lg, s in zip(root_logits, sigma, strict=True)]), strict=True):
            policy[a] = p
    else:
        slot = max(range(len(acts)), key=lambda i: (cv[i], cw[i] / cv[i] if cv[i] else -math.inf, -acts[i]))
        total = sum(cv)
        for a, n in zip(acts, cv, strict=True):
            policy[a] = n / total
    return SearchResult(
        action=int(acts[slot]),
        visit_counts=edge_visit_counts(tree),
        q_values=edge_q_values(tree),
        root_value=float(node_value(tree)),
        policy=policy,
        num_simulations=num_simulations,
        tree=tree,
    )
