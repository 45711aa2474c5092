"""The search tree as explicit flat arrays indexed by node id (the layout of mctx's ``Tree``).

Node ``0`` is the root. Every per-node field is a Python list indexed by node id, and every
per-edge field is a list (one per node) of small lists indexed by *slot*: the position of an
action among the node's legal actions. Only legal actions get a slot, so a masked action can
never be expanded, selected or returned: masking is structural, not a penalty.

Values are stored from the point of view of the player who chooses: ``child_values[n][i]`` is
the sum of the returns backed up through slot ``i`` of node ``n``, each return seen by the
player to move in ``n`` (the edge reward plus the discounted value of the child, negated when
the child's player to move is the opponent). ``raw_values[n]`` is the evaluator's value of
node ``n`` from the point of view of its own player to move.

Plain Python lists, not numpy arrays: the selection loop looks at 2-9 children at a time,
where a numpy call costs more than the arithmetic it would vectorise. ``search`` grows a tree
in place and returns it; :func:`~hybrid.symbolic.planning.mcts.reuse.reuse_tree` cuts out a subtree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

ROOT = 0
UNEXPANDED = -1


@dataclass(eq=False)
class Tree:
    """A search tree in flat arrays; node ``0`` is the root.

    Attributes:
        num_actions: size of the model's action space.
        states: the model state of each node.
        players: the player to move in each node (``-1`` for terminal nodes).
        terminal: whether each node is a terminal state.
        parents: the parent of each node (``-1`` for the root).
        parent_slots: the slot of each node in its parent's edge lists (``-1`` for the root).
        rewards: the reward of the move into each node, for the player who made it.
        actions: the legal actions of each node, in slot order (empty for terminal nodes).
        children: per node, the child node id of each slot (``-1`` until the child is created).
        child_visits: per node, the visit count of each slot (virtual visits included while a
            batch is in flight).
        child_values: per node, the sum of returns backed up through each slot, from the point
            of view of the node's player to move.
        priors: per node, the evaluator's prior probability of each slot, renormalised over
            the legal actions; ``None`` until the node has been evaluated.
        raw_values: the evaluator's value of each node, from its own player to move's view
            (``0.0`` for terminal nodes and before evaluation).
        visits: how many simulations reached or passed through each node.
    """

    num_actions: int
    states: list[Any] = field(default_factory=list)
    players: list[int] = field(default_factory=list)
    terminal: list[bool] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    parent_slots: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    actions: list[tuple[int, ...]] = field(default_factory=list)
    children: list[list[int]] = field(default_factory=list)
    child_visits: list[list[int]] = field(default_factory=list)
    child_values: list[list[float]] = field(default_factory=list)
    priors: list[list[float] | None] = field(default_factory=list)
    raw_values: list[float] = field(default_factory=list)
    visits: list[int] = field(default_factory=list)

    @property
    def num_nodes(self) -> int:
        """Return the number of nodes in the tree."""
        return len(self.states)

    @property
    def root_state(self) -> Any:
        """Return the model state at the root."""
        return self.states[ROOT]


def add_node(
    tree: Tree,
    state: Any,
    player: int,
    terminal: bool,
    actions: tuple[int, ...],
    parent: int = -1,
    parent_slot: int = -1,
    reward: float = 0.0,
) -> int:
    """Append an unevaluated node to ``tree`` and link it to its parent.

    Args:
        tree: the tree to grow (mutated).
        state: the node's model state.
        player: the player to move in ``state`` (``-1`` if terminal).
        terminal: whether ``state`` is terminal.
        actions: the legal actions of ``state`` in the slot order to use (empty if terminal).
        parent: the parent node id, ``-1`` for a root.
        parent_slot: the slot of the new node in its parent's edge lists.
        reward: the reward of the move into ``state`` for the player who made it.

    Returns:
        The new node's id.
    """
    node = len(tree.states)
    k = len(actions)
    tree.states.append(state)
    tree.players.append(player)
    tree.terminal.append(terminal)
    tree.parents.append(parent)
    tree.parent_slots.append(parent_slot)
    tree.rewards.append(reward)
    tree.actions.append(actions)
    tree.children.append([UNEXPANDED] * k)
    tree.child_visits.append([0] * k)
    tree.child_values.append([0.0] * k)
    tree.priors.append(None)
    tree.raw_values.append(0.0)
    tree.visits.append(0)
    if parent >= 0:
        tree.children[parent][parent_slot] = node
    return node


def new_tree(model: Any, state: Any) -> Tree:
    """Return a one-node tree rooted at ``state`` (not yet evaluated).

    Args:
        model: a :class:`hybrid.tasks.envs.model.TransitionModel`.
        state: the root state; it must not be terminal.

    Returns:
        A :class:`Tree` whose root holds ``state`` and its legal actions in increasing order.

    Raises:
        ValueError: if ``state`` is terminal or has no legal action.
    """
    if model.is_terminal(state):
        raise ValueError("state: the root state is terminal; there is nothing to search")
    actions = tuple(int(a) for a in model.legal_action_ids(state))
    if not actions:
        raise ValueError("state: the root state has no legal action")
    tree = Tree(num_actions=int(model.num_actions))
    add_node(tree, state, int(model.current_player(state)), False, actions)
    return tree


def edge_visit_counts(tree: Tree, node: int = ROOT) -> np.ndarray:
    """Return the visit count of every action of ``node`` as an int64 array [num_actions].

    Illegal actions (no slot) have count 0.
    """
    out = np.zeros(tree.num_actions, dtype=np.int64)
    for a, n in zip(tree.actions[node], tree.child_visits[node], strict=True):
        out[a] = n
    return out


def edge_q_values(tree: Tree, node: int = ROOT) -> np.ndarray:
    """Return the mean return of every action of ``node`` as a float array [num_actions].

    The mean is from the point of view of the node's player to move; actions never visited
    (and illegal actions) are NaN.
    """
    out = np.full(tree.num_actions, np.nan)
    for a, n, w in zip(tree.actions[node], tree.child_visits[node], tree.child_values[node], strict=True):
        if n:
            out[a] = w / n
    return out


def node_value(tree: Tree, node: int = ROOT) -> float:
    """Return the search value of ``node``: the mean of its own evaluation and every return
    backed up through it, from the point of view of its player to move (mctx's node value).
    """
    n = sum(tree.child_visits[node])
    w = sum(tree.child_values[node])
    if tree.priors[node] is None:
        return w / n if n else 0.0
    return (tree.raw_values[node] + w) / (n + 1)


def backup(tree: Tree, leaf: int, value: float, discount: float = 1.0, virtual_loss: float = 0.0) -> None:
    """Back a leaf's value up to the root, adding each edge's return to ``child_values`` (in place).

    The return is seen by the player who chooses at each parent: the edge reward plus the
    discounted return below, negated when the child's player to move is the opponent (see
    the module docstring). Visit counts are not touched: the search counts them on the way down.

    Args:
        tree: the tree.
        leaf: the node whose value is backed up (its own player's point of view).
        value: the leaf's value (0 for a terminal node).
        discount: the factor on the return below each edge.
        virtual_loss: the virtual loss the descent subtracted from each edge, given back here.
    """
    parents, players, rewards = tree.parents, tree.players, tree.rewards
    child_values, parent_slots = tree.child_values, tree.parent_slots
    g = value
    node = leaf
    while node != ROOT:
        parent = parents[node]
        if players[parent] == players[node]:
            g = rewards[node] + discount * g
        else:
            g = rewards[node] - discount * g
        child_values[parent][parent_slots[node]] += g + virtual_loss
        node = parent
