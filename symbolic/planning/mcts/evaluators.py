"""Leaf evaluators: callables ``evaluate(states) -> (priors [B, num_actions], values [B])``.

The search hands an evaluator a list of leaf states at once (a batch) and reads back a prior
over all actions for each state (the search keeps only the legal ones and renormalises) and a
value from the point of view of the player to move in each state. A policy/value network is
one such callable; this module holds the symbolic ones: random rollouts, and a uniform prior
with value 0 (for tests and for searches driven by rewards alone).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Evaluator = Callable[[list[Any]], tuple[np.ndarray, np.ndarray]]
"""``evaluate(states) -> (priors [B, num_actions], values [B])``, values for the player to move."""

_BUFFER = 4096


def check_evaluation(priors: Any, values: Any, batch_size: int, num_actions: int) -> tuple[np.ndarray, np.ndarray]:
    """Check an evaluator's output and return it as float64 arrays.

    Args:
        priors: the evaluator's priors, expected array-like of shape ``(batch_size, num_actions)``.
        values: the evaluator's values, expected array-like of shape ``(batch_size,)``.
        batch_size: how many states were evaluated.
        num_actions: the model's number of actions.

    Returns:
        ``(priors, values)`` as numpy float64 arrays.

    Raises:
        ValueError: if a shape differs from the expected one (naming both), or a value is not finite.
    """
    priors = np.asarray(priors, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if priors.shape != (batch_size, num_actions):
        raise ValueError(
            f"evaluate returned priors of shape {priors.shape}; expected (batch, num_actions) = "
            f"{(batch_size, num_actions)}"
        )
    if values.shape != (batch_size,):
        raise ValueError(f"evaluate returned values of shape {values.shape}; expected (batch,) = {(batch_size,)}")
    if not np.isfinite(values).all():
        raise ValueError("evaluate returned values that are not finite")
    return priors, values


class UniformEvaluator:
    """Uniform priors and value 0 for every state: search guided by rewards alone.

    Args:
        num_actions: the model's number of actions (>= 1).
    """

    def __init__(self, num_actions: int) -> None:
        if isinstance(num_actions, bool) or not isinstance(num_actions, (int, np.integer)) or num_actions < 1:
            raise ValueError(f"num_actions must be an int >= 1, got {num_actions!r}")
        self.num_actions = int(num_actions)

    def __call__(self, states: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(priors [B, num_actions] all 1/num_actions, values [B] all 0)``."""
        b = len(states)
        return np.full((b, self.num_actions), 1.0 / self.num_actions), np.zeros(b)


class RolloutEvaluator:
    """Random rollouts through a :class:`hybrid.tasks.envs.model.TransitionModel`.

    Each state's value is the (discounted) return of playing uniformly random legal actions
    until the episode ends (or ``max_steps`` moves), averaged over ``num_rollouts`` rollouts,
    from the point of view of the player to move in the state: in a two-player model a reward
    earned by the opponent counts negatively. Priors are uniform over all actions (the search
    keeps the legal ones). Random numbers are drawn from ``rng`` in blocks, so a run is
    deterministic given the generator.

    Args:
        model: the transition model.
        rng: a ``numpy.random.Generator``.
        num_rollouts: rollouts per state (>= 1).
        max_steps: the longest rollout, in moves (>= 1); a rollout cut short scores the
            rewards earned so far.
        discount: per-move discount of rewards, in (0, 1].
    """

    def __init__(
        self,
        model: Any,
        rng: np.random.Generator,
        num_rollouts: int = 1,
        max_steps: int = 10_000,
        discount: float = 1.0,
    ) -> None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        for name, v in (("num_rollouts", num_rollouts), ("max_steps", max_steps)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        if not 0.0 < float(discount) <= 1.0:
            raise ValueError(f"discount must be in (0, 1], got {discount!r}")
        self.model = model
        self.num_rollouts = int(num_rollouts)
        self.max_steps = int(max_steps)
        self.discount = float(discount)
        self._rng = rng
        self._buffer: list[float] = []
        self._pos = 0
        self._uniform: dict[int, np.ndarray] = {}
        self._num_actions = int(model.num_actions)
        self._two_player = int(model.num_players) == 2
        self._step = model.step
        self._legal = model.legal_action_ids
        self._is_terminal = model.is_terminal
        self._current_player = model.current_player

    def __call__(self, states: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(priors [B, num_actions] uniform, values [B])`` for a list of states."""
        b = len(states)
        priors = self._uniform.get(b)
        if priors is None:
            priors = np.full((b, self._num_actions), 1.0 / self._num_actions)
            priors.flags.writeable = False
            self._uniform[b] = priors
        rollout = self.rollout
        if self.num_rollouts == 1:
            values = [rollout(s) for s in states]
        else:
            n = self.num_rollouts
            values = [sum(rollout(s) for _ in range(n)) / n for s in states]
        return priors, np.array(values, dtype=np.float64)

    def rollout(self, state: Any) -> float:
        """Return the return of one random rollout from ``state``, for its player to move."""
        if self._is_terminal(state):
            return 0.0
        step = self._step
        legal = self._legal
        buf = self._buffer
        pos = self._pos
        end = len(buf)
        discount = self.discount
        total = 0.0
        scale = 1.0
        s = state
        for _ in range(self.max_steps):
            ids = legal(s)
            if not ids:
                break
            if pos == end:
                buf = self._buffer = self._rng.random(_BUFFER).tolist()
                pos = 0
                end = _BUFFER
            nxt, r, done = step(s, ids[int(buf[pos] * len(ids))])
            pos += 1
            if r:
                if self._two_player and self._current_player(s) != self._current_player(state):
                    total -= scale * r
                else:
                    total += scale * r
            if done:
                break
            if discount != 1.0:
                scale *= discount
            s = nxt
        self._pos = pos
        return total
