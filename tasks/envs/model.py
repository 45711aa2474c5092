"""The rules of an environment as a pure transition model, for planners to search.

Every environment in :mod:`hybrid.tasks.envs` exposes its rules as an object that follows
:class:`TransitionModel`. A planner (``hybrid.symbolic.planning``) searches over the model's
states and never steps the gymnasium env; a perception net (``hybrid.neural.planning``) reads
an image into one of these states. The state is the boundary between the two halves of
the planning pillar: plain, immutable, hashable data defined here in ``tasks``.

Conventions every model keeps:

- a state is immutable and hashable (a tuple, an int bitboard, a frozen dataclass), so
  that it can key a transposition table or a reused search tree;
- ``step`` never mutates its input and raises ``ValueError`` on an illegal action;
- actions are the integers ``0 .. num_actions - 1``; ``legal_actions`` is a boolean
  mask of that length and ``legal_action_ids`` the same set as a tuple of ints (the
  cheap form a Python search loop wants);
- ``to_grid`` / ``from_grid`` convert a state to and from the integer grid of cell
  classes that the env draws (one class per cell: what a perception net predicts), and
  ``encode`` turns a state into float32 planes ``[C, rows, cols]`` for a policy/value
  net, seen from the player to move;
- single-agent models (``num_players == 1``) return the environment's reward;
  two-player models (``num_players == 2``) return the reward of the player who made
  the move (+1 for a win, -1 for a loss, 0 otherwise), and ``current_player`` says who
  moves in a state (0 or 1), so that a search can negate values between plies.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np


class Transition(NamedTuple):
    """What one action does: the next state, its reward and whether the episode ended.

    Attributes:
        state: the state after the action.
        reward: the reward of the move (for two-player games, for the player who moved).
        done: True when ``state`` is terminal (solved, won, lost or drawn).
    """

    state: Any
    reward: float
    done: bool


@runtime_checkable
class TransitionModel(Protocol):
    """Pure rules: states in, states out; no randomness, no hidden mutable state.

    Attributes:
        num_actions: size of the action space (actions are ``0 .. num_actions - 1``).
        num_players: 1 for puzzles, 2 for alternating two-player games.
    """

    num_actions: int
    num_players: int

    def legal_actions(self, state: Any) -> np.ndarray:
        """Return a boolean mask of length ``num_actions``: True where an action is legal."""
        ...

    def legal_action_ids(self, state: Any) -> tuple[int, ...]:
        """Return the legal actions of ``state`` as a tuple of ints, in increasing order."""
        ...

    def step(self, state: Any, action: int) -> Transition:
        """Return the :class:`Transition` of taking ``action`` in ``state``.

        Raises:
            ValueError: if ``action`` is out of range or illegal in ``state``.
        """
        ...

    def is_terminal(self, state: Any) -> bool:
        """Return True when no further action may be taken from ``state``."""
        ...

    def current_player(self, state: Any) -> int:
        """Return the player to move in ``state`` (always 0 for single-agent models)."""
        ...

    def to_grid(self, state: Any) -> np.ndarray:
        """Return the ``[rows, cols]`` integer grid of cell classes that draws ``state``."""
        ...

    def from_grid(self, grid: np.ndarray) -> Any:
        """Return the state a grid of cell classes shows.

        Raises:
            ValueError: if the grid is not a state of this model (wrong shape, a class
                out of range, or an impossible arrangement), naming what is wrong.
        """
        ...

    def encode(self, state: Any) -> np.ndarray:
        """Return float32 planes ``[C, rows, cols]`` describing ``state`` for a network."""
        ...
