"""Planning's networks, compressed.

:class:`CompressedPolicy` compresses the deep RL baselines (a ``compressed-deep`` method);
:class:`CompressedPerceiveAndSearch` compresses the perceive-plan hybrid's perception net
(a ``hybrid`` method: the search is untouched).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from torch import nn

from hybrid.compressed_hybrid import CompressedHybrid
from hybrid.compression import CompressedDeep
from hybrid.planning.task import PlanningTrainSpec

#: The recipes that apply to a trained policy: post-training ones only (see :class:`CompressedPolicy`).
POLICY_RECIPES = ("prune", "int8", "prune+int8")


class CompressedPolicy(CompressedDeep):
    """A stable-baselines3 PPO or DQN policy (:class:`~hybrid.planning.task.DeepRLPolicy`) trained, then compressed.

    ``fit(train)`` trains a clone of ``teacher`` for the run's budget of environment steps
    (charged to this method), then compresses its policy network (the whole SB3 policy:
    NatureCNN features and heads; for DQN its online and target Q-networks) by
    ``recipe``. ``act`` is the teacher clone's greedy ``act`` running the compressed policy.

    Only post-training recipes apply (:data:`POLICY_RECIPES`): fine-tuning, a lottery
    ticket's retraining or distillation would take environment steps beyond the budget
    that is the run's x-axis, so ``fine_tune_epochs`` must be 0. An int8 policy runs on
    the CPU (its convolutions stay float: dynamic int8 covers the Linear layers).
    """

    def fit(self, train: PlanningTrainSpec) -> CompressedPolicy:
        """Train the teacher for ``train.n`` environment steps, then compress its policy; returns self.

        Raises:
            ValueError: a bad setting, a recipe that does not apply, or ``fine_tune_epochs > 0``.
        """
        self._check_params()
        if self.recipe not in POLICY_RECIPES:
            raise ValueError(f"recipe {self.recipe!r} is not available for the RL baselines; "
                             f"use one of {', '.join(POLICY_RECIPES)} (post-training only)")
        if self.fine_tune_epochs:
            raise ValueError(f"fine_tune_epochs must be 0 for a policy (fine-tuning would take environment steps "
                             f"beyond the run's budget), got {self.fine_tune_epochs!r}")
        model = clone(self.teacher).fit(train)
        self._dense_policy = model.model_.policy
        self._compress(model)
        self.model_ = model
        return self

    def reset(self) -> None:
        """Nothing to forget: the policy is reactive."""

    def act(self, frame: np.ndarray) -> int:
        """The compressed policy's greedy action for ``frame``.

        Raises:
            NotFittedError: before :meth:`fit`.
        """
        if not hasattr(self, "model_"):
            raise NotFittedError("CompressedPolicy is not fitted: call fit(train) first")
        return self.model_.act(frame)

    # ------------------------------------------------------------------ the pillar's part

    def _network(self, model: Any) -> nn.Module:
        policy = model.model_.policy
        dist = getattr(policy, "action_dist", None)
        if dist is not None and hasattr(dist, "distribution"):
            dist.distribution = None  # the last call's cached logits (non-leaf tensors) do not copy
        return policy

    def _set_network(self, model: Any, network: nn.Module) -> None:
        sb3 = model.model_
        sb3.policy = network
        if hasattr(sb3, "_create_aliases"):  # DQN: q_net and q_net_target are the policy's
            sb3._create_aliases()

    def _train_fn(self, model: Any, epochs: int):
        raise ValueError("fine-tuning a policy would take environment steps beyond the run's budget")

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        """The state to pickle: the teacher with its dense policy (as SB3's own bytes) and the compressed policy.

        SB3 saves a model as its policy's state dict and rebuilds a float policy on load,
        which an int8 policy's state dict does not fit; the compressed policy is pickled
        beside it instead.
        """
        state = dict(super().__getstate__())
        if "model_" in state:
            compressed = self.model_.model_.policy
            self._set_network(self.model_, self._dense_policy)
            try:  # the teacher's own state, computed now (its SB3 model as bytes), while it holds the dense policy
                state["model_"] = (type(self.model_), self.model_.__getstate__())
            finally:
                self._set_network(self.model_, compressed)
            state["_compressed_policy"] = compressed
            state.pop("_dense_policy", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled compressed policy (see :meth:`__getstate__`)."""
        if isinstance(state.get("model_"), tuple):
            state = dict(state)
            cls, teacher_state = state["model_"]
            model = cls.__new__(cls)
            model.__setstate__(teacher_state)
            dense = model.model_.policy
            self._set_network(model, state.pop("_compressed_policy"))
            state.update(model_=model, _dense_policy=dense)
        super().__setstate__(state)


class CompressedPerceiveAndSearch(CompressedHybrid):
    """The perceive-plan hybrid (:class:`~hybrid.planning.task.PerceiveAndSearch`), trained, its perception compressed.

    ``fit(train)`` trains a clone of ``hybrid`` on ``train.n`` labelled frames (charged to
    this method), then compresses its cell classifier (a small CNN with a Linear head)
    by ``recipe`` (see :mod:`hybrid.compressed_hybrid`): ``prune`` cuts ``amount`` of its
    weights and fine-tunes it to reproduce the dense net's logits on the distinct cell
    crops of the frames it was trained on (drawn again from the same seed; no label is
    read again, no new frame drawn); ``int8`` quantises the Linear head only (torch's
    dynamic int8 has no convolution kernel). ``act``, ``reset`` and ``perceive`` are the
    clone's own: the same search over the same rules, reading frames with the compressed net.
    """

    def fit(self, train: PlanningTrainSpec) -> CompressedPerceiveAndSearch:
        """Train perceive-plan on ``train``, compress its perception net; returns self.

        Raises:
            ValueError: ``train`` is not a :class:`~hybrid.planning.task.PlanningTrainSpec`, or a bad setting.
        """
        if not isinstance(train, PlanningTrainSpec):
            raise ValueError(f"train must be a PlanningTrainSpec, got {type(train).__name__}")
        super().fit(train)
        self.interactions_ = self.model_.interactions_
        return self

    def perceive(self, frame: np.ndarray) -> np.ndarray:
        """The grid of cell classes the compressed perception net reads in ``frame``."""
        self._check_fitted()
        return self.model_.perceive(frame)

    def reset(self) -> None:
        """Forget the previous episode's plan."""
        self._check_fitted()
        self.model_.reset()

    def act(self, frame: np.ndarray) -> int | None:
        """The next action of the plan (see :meth:`~hybrid.planning.task.PerceiveAndSearch.act`)."""
        self._check_fitted()
        return self.model_.act(frame)

    def _parts(self, model: Any) -> dict[str, Any]:
        return {"perception": model.perception_}

    def _training_inputs(self, model: Any, train: PlanningTrainSpec) -> dict[str, torch.Tensor]:
        from hybrid.planning.perceive import perception_frames

        frames, _ = perception_frames(train.env_id, int(train.n), int(train.seed), train.env_kwargs)
        return {"perception": model.perception_.cell_inputs(frames)}
