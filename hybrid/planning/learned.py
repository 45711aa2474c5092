"""Rules learned from pixels: a Latplan-style planner that invents its symbols and its action model.

:class:`LearnedRulesPlanner` is fitted on unlabelled transitions ``(frame, action, next
frame)`` and nothing else -- no grid, no label, no ``env.unwrapped.model``:

1. a :class:`~hybrid.neural.planning.latent.DiscreteStateEncoder` learns to write each frame
   as a latent state of categorical symbols (the perception half; torch);
2. the encoded pairs ``(z, action, z')`` become an
   :class:`~hybrid.symbolic.planning.action_model.ActionModel` of grounded STRIPS actions
   (plain data: no torch past this point);
3. :meth:`LearnedRulesPlanner.plan` encodes a start and a goal frame and searches the
   learned model (:func:`~hybrid.symbolic.planning.learned_search.plan`); the plan is a
   list of env actions, to be executed in the true env -- where it may fail: a learned
   model can be wrong, and callers must check (:func:`execute_plan`).

Labels (:mod:`hybrid.planning.labels`): rules learned, from unlabelled transitions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybrid.planning.labels import RULES_LEARNED_TRANSITIONS
from hybrid.symbolic.planning.action_model import ActionModel
from hybrid.symbolic.planning.best_first import SearchResult
from hybrid.symbolic.planning.learned_search import SEARCHES, plan

__all__ = ["ExecutedPlan", "LearnedPlan", "LearnedRulesPlanner", "execute_plan"]


@dataclass(frozen=True)
class LearnedPlan:
    """A plan found in the learned model.

    Attributes:
        result: the search's :class:`~hybrid.symbolic.planning.best_first.SearchResult`
            (``actions``: env actions; ``states``: latent states; ``info["grounded"]``).
        start, goal: the latent states the start and goal frames were encoded to.
        encode_seconds: seconds spent encoding the two frames.
    """

    result: SearchResult
    start: tuple[int, ...]
    goal: tuple[int, ...]
    encode_seconds: float

    @property
    def found(self) -> bool:
        """Whether the search found a plan in the learned model."""
        return bool(self.result.solved)

    @property
    def actions(self) -> tuple[int, ...]:
        """The plan's env actions (empty when not found)."""
        return tuple(int(a) for a in self.result.actions)


@dataclass(frozen=True)
class ExecutedPlan:
    """What a plan did in the true rules.

    Attributes:
        valid: every action was legal and the last state is the goal.
        reached: the state after the legal prefix of the plan.
        illegal_at: the index of the first illegal action (None: all legal).
    """

    valid: bool
    reached: Any
    illegal_at: int | None


def execute_plan(model: Any, start: Any, goal: Any, actions: Any) -> ExecutedPlan:
    """Run ``actions`` from ``start`` in a true :class:`~hybrid.tasks.envs.model.TransitionModel` and judge them.

    A plan is valid when each action is legal where it is taken and the plan ends at
    ``goal`` (an illegal action, which a puzzle env would treat as a no-op, makes it invalid).

    Returns:
        An :class:`ExecutedPlan`.
    """
    state = start
    for k, a in enumerate(actions):
        if int(a) not in model.legal_action_ids(state):
            return ExecutedPlan(False, state, k)
        state = model.step(state, int(a)).state
    return ExecutedPlan(state == goal, state, None)


class LearnedRulesPlanner:
    """Symbols and rules learned from unlabelled transitions, then classical search (see the module docstring).

    Args:
        grid: ``(rows, cols)`` of the latent map (frames split into this many patches).
        categories: symbols per slot (an upper bound).
        epochs: the encoder's passes over the transitions.
        transition_weight: weight of the encoder's transition-consistency loss.
        preconditions: ``"changed"`` or ``"constant"`` (see
            :meth:`~hybrid.symbolic.planning.action_model.ActionModel.from_transitions`).
        min_support: instances before ``"constant"`` preconditions are added.
        search: ``"bidirectional"`` or ``"astar"`` (:func:`~hybrid.symbolic.planning.learned_search.plan`).
        time_limit_s: seconds per search.
        max_states: states a search may store.
        encoder_kwargs: more :class:`~hybrid.neural.planning.latent.DiscreteStateEncoder` arguments.
        seed: seeds the encoder.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` for the encoder.
        progress: a tqdm bar over the encoder's epochs.

    Attributes (after :meth:`fit`):
        encoder_: the fitted encoder; ``model_``: the learned :class:`ActionModel`;
        transitions_: training transitions; ``fit_seconds_``: wall time of the whole fit.
    """

    family = "hybrid"
    planning_labels = RULES_LEARNED_TRANSITIONS

    def __init__(
        self,
        grid: tuple[int, int],
        categories: int = 16,
        epochs: int = 40,
        transition_weight: float = 0.1,
        preconditions: str = "changed",
        min_support: int = 3,
        search: str = "bidirectional",
        time_limit_s: float = 10.0,
        max_states: int = 2_000_000,
        encoder_kwargs: dict[str, Any] | None = None,
        seed: int = 0,
        device: str = "auto",
        progress: bool = False,
    ) -> None:
        if search not in SEARCHES:
            raise ValueError(f"search must be one of {SEARCHES}, got {search!r}")
        self.grid = tuple(grid)
        self.categories = categories
        self.epochs = epochs
        self.transition_weight = transition_weight
        self.preconditions = preconditions
        self.min_support = min_support
        self.search = search
        self.time_limit_s = time_limit_s
        self.max_states = max_states
        self.encoder_kwargs = dict(encoder_kwargs or {})
        self.seed = seed
        self.device = device
        self.progress = progress

    def fit(self, frames: np.ndarray, actions: Any, next_frames: np.ndarray, num_actions: int) -> LearnedRulesPlanner:
        """Learn the encoder, then the action model, from transitions.

        Args:
            frames, next_frames: uint8 ``(N, H, W, 3)`` frames before and after each action.
            actions: int ``(N,)`` env actions in ``0 .. num_actions - 1``.
            num_actions: the env's number of actions.

        Returns:
            self.

        Raises:
            ValueError: from the encoder's checks (frame sizes, lengths, action ids).
        """
        from hybrid.neural.planning.latent import DiscreteStateEncoder

        t0 = time.perf_counter()
        self.encoder_ = DiscreteStateEncoder(
            self.grid,
            categories=self.categories,
            epochs=self.epochs,
            transition_weight=self.transition_weight,
            seed=self.seed,
            device=self.device,
            progress=self.progress,
            **self.encoder_kwargs,
        ).fit(frames, actions, next_frames, num_actions)
        z, z2 = self.encoder_.encode(frames), self.encoder_.encode(next_frames)
        self.model_ = ActionModel.from_transitions(
            z,
            np.asarray(actions),
            z2,
            num_actions=num_actions,
            num_values=self.categories,
            preconditions=self.preconditions,
            min_support=self.min_support,
        )
        self.transitions_ = len(frames)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _require_fit(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("LearnedRulesPlanner is not fitted: call fit(frames, actions, next_frames, num_actions)")

    def encode(self, frames: np.ndarray) -> np.ndarray:
        """Return the latent states ``(N, slots)`` of uint8 frames (see the encoder's ``encode``)."""
        self._require_fit()
        return self.encoder_.encode(frames)

    def plan(self, start_frame: np.ndarray, goal_frame: np.ndarray) -> LearnedPlan:
        """Encode a start and a goal frame and search the learned model between them.

        Args:
            start_frame, goal_frame: uint8 ``(H, W, 3)`` frames of the training frames' size.

        Returns:
            A :class:`LearnedPlan` (``found`` False when the learned model holds no path).

        Raises:
            RuntimeError: before :meth:`fit`.
            ValueError: frames the encoder cannot read (another size, not RGB uint8).
        """
        self._require_fit()
        pair = np.stack([np.asarray(start_frame), np.asarray(goal_frame)])
        t0 = time.perf_counter()
        zs, zg = (tuple(int(v) for v in z) for z in self.encoder_.encode(pair))
        seconds = time.perf_counter() - t0
        result = plan(self.model_, zs, zg, search=self.search, time_limit_s=self.time_limit_s,
                      max_states=self.max_states)
        return LearnedPlan(result, zs, zg, seconds)

    def decode(self, states: Any) -> np.ndarray:
        """Return the frames the encoder's decoder draws for latent states (a plan's ``result.states``)."""
        self._require_fit()
        return self.encoder_.decode(np.asarray(states, dtype=np.int64))

    def to_pddl(self, plan_: LearnedPlan, domain: str = "learned",
                action_names: tuple[str, ...] | None = None) -> tuple[str, str]:
        """Return the learned model as PDDL ``(domain, problem)`` for a plan's start and goal."""
        self._require_fit()
        return self.model_.to_pddl(plan_.start, plan_.goal, domain=domain, action_names=action_names)
