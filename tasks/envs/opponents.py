"""Built-in opponents for the two-player envs: uniformly random, and a small plain UCT.

An opponent is any callable ``opponent(state, legal_ids, rng) -> action``: it gets the
model state (the player to move is the opponent), the legal actions as a tuple of ints
and the env's ``numpy.random.Generator`` (so that a seeded reset makes the whole episode
reproducible), and returns one of ``legal_ids``.

:class:`UCTOpponent` is deliberately minimal -- UCB1 selection, one expansion per
simulation, uniformly random rollouts, the most visited move -- written only over the
:class:`~hybrid.tasks.envs.model.TransitionModel` protocol, because ``tasks`` may not import
``symbolic``. The full-featured searches (UCT, PUCT, Gumbel MCTS with tree reuse,
transpositions and networks) live in ``hybrid.symbolic.planning``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
from hybrid.tasks.envs.model import TransitionModel

#: The signature of an opponent: ``(state, legal_ids, rng) -> action``.
Opponent = Callable[[Any, tuple[int, ...], np.random.Generator], int]


def random_opponent(state: Any, legal_ids: tuple[int, ...], rng: np.random.Generator) -> int:
    """Return one of ``legal_ids`` drawn uniformly with ``rng`` (``state`` is ignored)."""
    return legal_ids[int(rng.integers(len(legal_ids)))]


class _Node:
    """One node of :class:`UCTOpponent`'s tree: the state reached and its statistics."""

    __slots__ = ("state", "mover", "untried", "children", "visits", "value", "done", "reward")

    def __init__(self, state: Any, mover: int, untried: list[int], done: bool, reward: float) -> None:
        self.state = state
        self.mover = mover  # the player who made the move into this node
        self.untried = untried
        self.children: list[tuple[int, _Node]] = []
        self.visits = 0
        self.value = 0.0  # summed outcomes for ``mover``
        self.done = done
        self.reward = reward  # the move's reward for ``mover``


class UCTOpponent:
    """Plain UCT with uniformly random rollouts, over any two-player :class:`TransitionModel`.

    Args:
        model: the game's rules (``num_players == 2``; rewards +1/0 for the player who moved).
        simulations: simulations per move (>= 1).
        exploration: the UCB1 constant ``c`` in ``Q + c * sqrt(ln N / n)``.

    Calling it as ``opponent(state, legal_ids, rng)`` returns the most visited legal
    action after ``simulations`` simulations from ``state``; rollouts use a
    ``random.Random`` seeded from ``rng``, so the move is a function of ``rng``'s state.
    """

    def __init__(self, model: TransitionModel, simulations: int = 200, exploration: float = math.sqrt(2.0)) -> None:
        if getattr(model, "num_players", None) != 2:
            raise ValueError(f"model must be a two-player TransitionModel, got {model!r}")
        if isinstance(simulations, bool) or not isinstance(simulations, (int, np.integer)) or simulations < 1:
            raise ValueError(f"simulations must be an int >= 1, got {simulations!r}")
        if not exploration >= 0:
            raise ValueError(f"exploration must be >= 0, got {exploration!r}")
        self.model = model
        self.simulations = int(simulations)
        self.exploration = float(exploration)

    def __repr__(self) -> str:
        return f"UCTOpponent({self.model!r}, simulations={self.simulations}, exploration={self.exploration:g})"

    def __call__(self, state: Any, legal_ids: tuple[int, ...], rng: np.random.Generator) -> int:
        """Return the chosen action for the player to move in ``state`` (one of ``legal_ids``)."""
        if len(legal_ids) == 1:
            return legal_ids[0]
        model = self.model
        legal = model.legal_action_ids
        step = model.step
        coin = random.Random(int(rng.integers(2**63)))
        me = model.current_player(state)
        root = _Node(state, 1 - me, list(legal_ids), False, 0.0)
        c = self.exploration
        for _ in range(self.simulations):
            node, path = root, [root]
            # Selection: descend through fully expanded nodes by UCB1.
            while not node.untried and node.children:
                log_n = math.log(node.visits)
                best, best_score = None, -math.inf
                for _action, child in node.children:
                    score = child.value / child.visits + c * math.sqrt(log_n / child.visits)
                    if score > best_score:
                        best, best_score = child, score
                node = best
                path.append(node)
            # Expansion: one new child, unless the node is terminal.
            if node.untried and not node.done:
                action = node.untried.pop(int(coin.random() * len(node.untried)))
                mover = 1 - node.mover
                t = step(node.state, action)
                child = _Node(t.state, mover, [] if t.done else list(legal(t.state)), t.done, t.reward)
                node.children.append((action, child))
                node = child
                path.append(node)
            # Rollout: uniformly random moves to the end of the game.
            if node.done:
                winner = node.mover if node.reward > 0 else (1 - node.mover if node.reward < 0 else None)
            else:
                s, mover = node.state, node.mover
                while True:
                    ids = legal(s)
                    mover = 1 - mover
                    t = step(s, ids[int(coin.random() * len(ids))])
                    if t.done:
                        winner = mover if t.reward > 0 else (1 - mover if t.reward < 0 else None)
                        break
                    s = t.state
            # Backup: each node scores the outcome for the player who moved into it.
            for n in path:
                n.visits += 1
                if winner is not None:
                    n.value += 1.0 if winner == n.mover else -1.0
        return max(root.children, key=lambda ac: ac[1].visits)[0]


_OPPONENT_ERROR = "opponent must be 'random', 'mcts' or a callable (state, legal_ids, rng) -> action, got {!r}"


def make_opponent(opponent: str | Opponent, model: TransitionModel, simulations: int = 200) -> Opponent:
    """Return the opponent callable that an env's ``opponent=`` argument names.

    Args:
        opponent: ``"random"`` (:func:`random_opponent`), ``"mcts"`` (:class:`UCTOpponent`)
            or a callable ``(state, legal_ids, rng) -> action``.
        model: the game's rules (for ``"mcts"``).
        simulations: simulations per move for ``"mcts"``.

    Raises:
        ValueError: an unknown name, or a bad ``simulations``.
    """
    if isinstance(opponent, str):
        if opponent == "random":
            return random_opponent
        if opponent == "mcts":
            return UCTOpponent(model, simulations)
        raise ValueError(_OPPONENT_ERROR.format(opponent))
    if callable(opponent):
        return opponent
    raise ValueError(_OPPONENT_ERROR.format(opponent))
