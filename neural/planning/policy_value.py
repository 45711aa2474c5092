"""An AlphaZero-style policy/value network over the planes of a :class:`~hybrid.tasks.envs.model.TransitionModel`.

``model.encode(state)`` gives float32 planes ``[C, rows, cols]`` seen from the player to
move; :class:`PolicyValueNet` maps a batch of them to

- **policy logits** over the ``num_actions`` actions, and
- a **value** in ``[-1, 1]`` (tanh): the expected outcome for the player to move.

The tower is AlphaZero's (Silver et al., 2017/2018), scaled down: a 3 x 3 convolution
stem, ``blocks`` residual blocks (two 3 x 3 convolutions with batch norm and a skip), a
policy head (1 x 1 convolution to 2 planes, a linear layer to the logits) and a value
head (1 x 1 convolution to 1 plane, a hidden linear layer, a linear layer, tanh).

Training uses AlphaZero's loss on a replay buffer of ``(planes, pi, z)``: the
cross-entropy of the policy against the search's visit distribution ``pi``, the squared
error of the value against the outcome ``z``, and an L2 penalty ``c * ||theta||^2``
(``weight_decay``, added to the gradients by Adam, i.e. the gradient of
``weight_decay / 2 * ||theta||^2``).

:meth:`PolicyValueNet.predict` takes and returns numpy only (priors masked to the legal
actions and renormalised, values as floats), so that it can serve as the batched
evaluator of a search (``hybrid.symbolic.planning``) without either side importing the other;
:func:`make_evaluator` wraps it for a given transition model, from states to
``(priors, values)``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from hybrid.neural.device import torch_device
from hybrid.tasks._checks import is_int, is_real
from torch import nn

__all__ = ["PolicyValueNet", "make_evaluator"]


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(y)))


class PolicyValueNet(nn.Module):
    """AlphaZero-style residual tower with a policy head and a value head (see the module docstring).

    Args:
        in_channels: planes per state (``C`` of ``model.encode``).
        rows, cols: the planes' spatial shape.
        num_actions: size of the action space (policy logits per state).
        channels: width of the tower.
        blocks: residual blocks.
        lr: Adam's learning rate for :meth:`train_step` / :meth:`fit`.
        weight_decay: the L2 coefficient ``c`` of the loss (AlphaZero used 1e-4).
        value_weight: weight of the value's squared error against the policy's cross-entropy.
        seed: seeds the initialisation and :meth:`fit`'s minibatch order (``torch.Generator``).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Attributes:
        history_: after :meth:`fit`, the mean losses of each epoch (dicts as :meth:`train_step` returns).
        steps_: optimiser steps taken so far.
    """

    def __init__(
        self,
        in_channels: int,
        rows: int,
        cols: int,
        num_actions: int,
        channels: int = 64,
        blocks: int = 4,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        value_weight: float = 1.0,
        seed: int = 0,
        device: str = "cpu",
    ):
        for name, v, least in (
            ("in_channels", in_channels, 1),
            ("rows", rows, 1),
            ("cols", cols, 1),
            ("num_actions", num_actions, 1),
            ("channels", channels, 1),
            ("blocks", blocks, 0),
        ):
            if not is_int(v) or v < least:
                raise ValueError(f"{name} must be an int >= {least}, got {v!r}")
        for name, v in (("lr", lr), ("weight_decay", weight_decay), ("value_weight", value_weight)):
            if not is_real(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        if not is_int(seed):
            raise ValueError(f"seed must be an int, got {seed!r}")
        super().__init__()
        self.config = {
            "in_channels": int(in_channels),
            "rows": int(rows),
            "cols": int(cols),
            "num_actions": int(num_actions),
            "channels": int(channels),
            "blocks": int(blocks),
            "lr": float(lr),
            "weight_decay": float(weight_decay),
            "value_weight": float(value_weight),
            "seed": int(seed),
        }
        c, cells = int(channels), int(rows) * int(cols)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.tower = nn.Sequential(*[_ResidualBlock(c) for _ in range(blocks)])
        self.policy_conv = nn.Sequential(nn.Conv2d(c, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU())
        self.policy_fc = nn.Linear(2 * cells, num_actions)
        self.value_conv = nn.Sequential(nn.Conv2d(c, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU())
        self.value_fc = nn.Sequential(nn.Linear(cells, c), nn.ReLU(), nn.Linear(c, 1))
        self._generator = torch.Generator().manual_seed(int(seed))
        self._init_weights()
        self.device_ = torch_device(device)
        self.to(self.device_)
        self.eval()
        self._optimizer: torch.optim.Optimizer | None = None
        self.steps_ = 0
        self.history_: list[dict[str, float]] = []

    def _init_weights(self) -> None:
        """PyTorch's default scales, drawn from the seeded generator (no global seeding)."""
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    bound = 1.0 / math.sqrt(m.weight[0].numel())
                    m.weight.copy_((torch.rand(m.weight.shape, generator=self._generator) * 2 - 1) * bound)
                    if m.bias is not None:
                        m.bias.copy_((torch.rand(m.bias.shape, generator=self._generator) * 2 - 1) * bound)

    # -- the network -----------------------------------------------------------------

    @property
    def num_actions(self) -> int:
        """Size of the action space."""
        return self.config["num_actions"]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Planes ``(B, C, rows, cols)`` -> ``(policy logits (B, A), values (B,) in [-1, 1])``."""
        h = self.tower(self.stem(x))
        logits = self.policy_fc(self.policy_conv(h).flatten(1))
        value = torch.tanh(self.value_fc(self.value_conv(h).flatten(1))).squeeze(1)
        return logits, value

    # -- input checks ----------------------------------------------------------------

    def _planes(self, planes: Any, name: str = "planes") -> np.ndarray:
        p = np.asarray(planes)
        c = self.config
        want = (c["in_channels"], c["rows"], c["cols"])
        if p.ndim != 4 or p.shape[1:] != want:
            raise ValueError(f"{name} must have shape (B, {want[0]}, {want[1]}, {want[2]}), got {p.shape}")
        if p.dtype.kind not in "fiub":
            raise ValueError(f"{name} must hold numbers, got dtype {p.dtype}")
        return p.astype(np.float32, copy=False)

    def _masks(self, masks: Any, b: int, name: str = "legal_masks") -> np.ndarray:
        m = np.asarray(masks)
        if m.shape != (b, self.num_actions):
            raise ValueError(f"{name} must have shape ({b}, {self.num_actions}), got {m.shape}")
        if m.dtype != np.bool_:
            if m.dtype.kind not in "iuf" or not np.isin(m, (0, 1)).all():
                raise ValueError(f"{name} must be booleans (or 0/1), got dtype {m.dtype}")
            m = m.astype(bool)
        return m

    # -- inference -------------------------------------------------------------------

    def predict(self, planes: np.ndarray, legal_masks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate a batch of states: the batched evaluator of a search.

        Args:
            planes: float32 ``(B, C, rows, cols)`` (``model.encode`` of each state).
            legal_masks: bool ``(B, num_actions)``, True where an action is legal; ``None``: all legal.

        Returns:
            ``(priors, values)``: float32 ``(B, num_actions)`` softmax of the logits over the
            legal actions (exactly 0 on illegal ones, rows summing to 1; a row with no legal
            action is all zeros) and float32 ``(B,)`` values in ``[-1, 1]`` for the player to move.

        Raises:
            ValueError: planes or masks of the wrong shape or type.
        """
        x = self._planes(planes)
        b = x.shape[0]
        mask = np.ones((b, self.num_actions), dtype=bool) if legal_masks is None else self._masks(legal_masks, b)
        if b == 0:
            return np.zeros((0, self.num_actions), np.float32), np.zeros((0,), np.float32)
        was_training = self.training
        self.eval()
        with torch.no_grad():
            logits, values = self(torch.as_tensor(x, device=self.device_))
            m = torch.as_tensor(mask, device=self.device_)
            logits = logits.masked_fill(~m, float("-inf"))
            any_legal = m.any(dim=1, keepdim=True)
            priors = torch.softmax(torch.where(any_legal, logits, torch.zeros_like(logits)), dim=1)
            priors = torch.where(m, priors, torch.zeros_like(priors))
        if was_training:
            self.train()
        return priors.float().cpu().numpy(), values.float().cpu().numpy()

    # -- training --------------------------------------------------------------------

    def _optim(self) -> torch.optim.Optimizer:
        if self._optimizer is None:
            self._optimizer = torch.optim.Adam(
                self.parameters(), lr=self.config["lr"], weight_decay=self.config["weight_decay"]
            )
        return self._optimizer

    def _check_targets(self, planes: Any, policies: Any, values: Any, legal_masks: Any):
        x = self._planes(planes)
        b = x.shape[0]
        if b == 0:
            raise ValueError("planes must hold at least one state")
        pi = np.asarray(policies, dtype=np.float32)
        if pi.shape != (b, self.num_actions):
            raise ValueError(f"target_policies must have shape ({b}, {self.num_actions}), got {pi.shape}")
        if not np.isfinite(pi).all() or (pi < 0).any() or not np.allclose(pi.sum(axis=1), 1.0, atol=1e-3):
            raise ValueError("target_policies must be probability distributions (>= 0, each row summing to 1)")
        z = np.asarray(values, dtype=np.float32)
        if z.shape != (b,):
            raise ValueError(f"target_values must have shape ({b},), got {z.shape}")
        if not np.isfinite(z).all() or (np.abs(z) > 1).any():
            raise ValueError("target_values must lie in [-1, 1]")
        mask = None if legal_masks is None else self._masks(legal_masks, b)
        return x, pi, z, mask

    def _step(self, x: torch.Tensor, pi: torch.Tensor, z: torch.Tensor, mask: torch.Tensor | None) -> dict[str, float]:
        self.train()
        logits, v = self(x)
        if mask is not None:
            logits = logits.masked_fill(~mask, -1e9)  # finite: pi is 0 there, and 0 * -1e9 stays finite
        policy_loss = -(pi * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
        value_loss = F.mse_loss(v, z)
        loss = policy_loss + self.config["value_weight"] * value_loss
        opt = self._optim()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        self.steps_ += 1
        self.eval()
        with torch.no_grad():
            l2 = sum(float(p.pow(2).sum()) for p in self.parameters()) * self.config["weight_decay"] / 2
        return {
            "loss": float(loss.detach()),
            "policy_loss": float(policy_loss.detach()),
            "value_loss": float(value_loss.detach()),
            "l2": l2,
        }

    def train_step(
        self,
        planes: np.ndarray,
        target_policies: np.ndarray,
        target_values: np.ndarray,
        legal_masks: np.ndarray | None = None,
    ) -> dict[str, float]:
        """One Adam step on AlphaZero's loss over one minibatch.

        Args:
            planes: float32 ``(B, C, rows, cols)``.
            target_policies: ``(B, num_actions)`` distributions (the search's visit counts, normalised).
            target_values: ``(B,)`` outcomes ``z`` in ``[-1, 1]`` for the player to move.
            legal_masks: optional bool ``(B, num_actions)``: illegal logits are masked out of
                the softmax (the targets must then put no mass there).

        Returns:
            ``{"loss", "policy_loss", "value_loss", "l2"}``: the minibatch's total loss
            (cross-entropy + ``value_weight`` x MSE), its parts, and the L2 term
            ``weight_decay / 2 * ||theta||^2`` after the step (applied through Adam's gradients).

        Raises:
            ValueError: inputs of the wrong shape, targets that are not distributions or values outside [-1, 1].
        """
        x, pi, z, mask = self._check_targets(planes, target_policies, target_values, legal_masks)
        d = self.device_
        m = None if mask is None else torch.as_tensor(mask, device=d)
        return self._step(torch.as_tensor(x, device=d), torch.as_tensor(pi, device=d), torch.as_tensor(z, device=d), m)

    def fit(
        self,
        planes: np.ndarray,
        target_policies: np.ndarray,
        target_values: np.ndarray,
        legal_masks: np.ndarray | None = None,
        epochs: int = 1,
        batch_size: int = 256,
        progress: bool = False,
    ) -> PolicyValueNet:
        """Train on a replay buffer of ``(planes, pi, z)`` for ``epochs`` passes in seeded random minibatches.

        The optimiser (and its state) persists across calls, as in AlphaZero's loop of
        self-play and training.

        Args:
            planes, target_policies, target_values, legal_masks: as in :meth:`train_step`, for the whole buffer.
            epochs: passes over the buffer.
            batch_size: states per step.
            progress: show a tqdm bar over epochs.

        Returns:
            ``self``; ``history_`` gains one dict of mean losses per epoch.

        Raises:
            ValueError: as :meth:`train_step`, or a bad ``epochs`` / ``batch_size``.
        """
        for name, v in (("epochs", epochs), ("batch_size", batch_size)):
            if not is_int(v) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        x, pi, z, mask = self._check_targets(planes, target_policies, target_values, legal_masks)
        d = self.device_
        xt, pt, zt = torch.as_tensor(x, device=d), torch.as_tensor(pi, device=d), torch.as_tensor(z, device=d)
        mt = None if mask is None else torch.as_tensor(mask, device=d)
        n = len(x)
        bar: Any = range(epochs)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(bar, desc="PolicyValueNet.fit", unit="epoch")
        start = time.perf_counter()
        for _ in bar:
            order = torch.randperm(n, generator=self._generator).to(d)
            sums: dict[str, float] = {}
            for s in range(0, n, batch_size):
                idx = order[s : s + batch_size]
                out = self._step(xt[idx], pt[idx], zt[idx], None if mt is None else mt[idx])
                for k, v in out.items():
                    sums[k] = sums.get(k, 0.0) + v * len(idx)
            self.history_.append({k: v / n for k, v in sums.items()})
            if progress:
                bar.set_postfix(loss=f"{self.history_[-1]['loss']:.4f}")
        self.fit_seconds_ = time.perf_counter() - start
        return self

    # -- persistence -----------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the hyper-parameters (a JSON string) and the weights to ``path`` with ``torch.save``."""
        blob = {
            "kind": "PolicyValueNet",
            "config": json.dumps(self.config),
            "state": {k: v.detach().cpu() for k, v in self.state_dict().items()},
        }
        torch.save(blob, Path(path))

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> PolicyValueNet:
        """Read a net written by :meth:`save` (``torch.load(..., weights_only=True)``); a fresh optimiser.

        Raises:
            ValueError: an unknown device, or a file that is not a saved PolicyValueNet.
        """
        blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("kind") != "PolicyValueNet" or "state" not in blob:
            raise ValueError(f"path {str(path)!r} does not hold a saved PolicyValueNet")
        net = cls(**json.loads(blob["config"]), device="cpu")
        net.load_state_dict(blob["state"])
        net.device_ = torch_device(device)
        net.to(net.device_)
        net.eval()
        return net


def make_evaluator(net: PolicyValueNet, model: Any) -> Callable[[Sequence[Any]], tuple[np.ndarray, np.ndarray]]:
    """Wrap ``net`` as a function of states for a search over ``model``.

    Args:
        net: the policy/value net.
        model: a :class:`~hybrid.tasks.envs.model.TransitionModel` (``encode``, ``legal_actions``).

    Returns:
        ``evaluate(states) -> (priors (B, A), values (B,))``: encodes each state, masks the
        priors to its legal actions, values for the player to move in each state.

    Raises:
        ValueError: ``model.num_actions`` differs from the net's.
    """
    if getattr(model, "num_actions", None) != net.num_actions:
        raise ValueError(
            f"model has {getattr(model, 'num_actions', None)} actions but the net predicts {net.num_actions}"
        )

    def evaluate(states: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        states = list(states)
        if not states:
            return np.zeros((0, net.num_actions), np.float32), np.zeros((0,), np.float32)
        planes = np.stack([np.asarray(model.encode(s), dtype=np.float32) for s in states])
        masks = np.stack([np.asarray(model.legal_actions(s), dtype=bool) for s in states])
        return net.predict(planes, masks)

    return evaluate
