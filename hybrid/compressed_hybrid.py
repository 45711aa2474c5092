"""A hybrid's own networks, compressed after it is trained: :class:`CompressedHybrid`.

The answers to deep learning's cost combine: a hybrid's perception is a network too, and
pruning or quantising it cuts the hybrid's inference cost as it cuts a deep baseline's.
:class:`CompressedHybrid` trains a clone of a hybrid, then compresses the networks it
holds, post-training:

- ``"int8"``: dynamic int8 of every network with Linear or recurrent layers (CPU
  kernels; convolutions stay float, so a network of convolutions only is left as it is);
- ``"prune"``: magnitude pruning of ``amount`` of each layer's weights in each network the
  pillar can fine-tune (per layer: global pruning can cut a small network's first
  convolution off entirely, after which no training brings it back), then fine-tuning
  by *output matching*: the pruned network is
  trained to reproduce its dense original's raw outputs (mean squared error on logits and
  regressions alike, as in Ba & Caruana's logit matching) on the inputs the hybrid was
  trained on — no labels and no new data are used;
- ``"prune+int8"``: both, in that order.

The hybrid's training runs inside :meth:`CompressedHybrid.fit` and is charged to it, as a
``compressed-deep`` method's teacher is. The result is still a hybrid (family
``hybrid``): its symbolic part is untouched. A pillar subclasses it with what only it
knows — which learned parts its hybrid holds (each runs its network ``net_`` on
``device_``), and on which inputs each was trained — in ``hybrid/<pillar>/compressed.py``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from torch import nn

from hybrid.neural.compress import (
    CompressionReport,
    compression_report,
    fine_tune,
    is_quantised,
    magnitude_prune,
    make_permanent,
    quantize_dynamic_int8,
)
from hybrid.neural.compress.quantize import DYNAMIC

#: The recipes :class:`CompressedHybrid` knows.
HYBRID_RECIPES: dict[str, str] = {
    "int8": "dynamic int8 of the networks' Linear and recurrent layers (CPU)",
    "prune": "`amount` of each layer's weights magnitude-pruned in each fine-tunable network, then fine-tuned to match "
             "its dense outputs",
    "prune+int8": "pruned and fine-tuned as `prune`, then dynamic int8",
}


def match_outputs(pruned: nn.Module, dense: nn.Module, inputs: torch.Tensor, *, epochs: int, lr: float,
                  batch_size: int, seed: int) -> None:
    """Train ``pruned`` in place to reproduce ``dense``'s outputs on ``inputs`` (its zeros kept).

    Minimises the mean squared error between the two networks' raw outputs (logits,
    offsets, whatever the network returns as one tensor) with Adam, over ``epochs``
    shuffled passes of ``batch_size``; the pruning masks stay fixed
    (:func:`~hybrid.neural.compress.fine_tune`). The network stays in eval mode: its
    BatchNorm statistics are the dense network's, measured on the real distribution of
    inputs, which a batch of distinct training inputs would misstate.

    Args:
        pruned: the network to train (a pruned copy of ``dense``, on the device of ``inputs``).
        dense: the trained original (frozen).
        inputs: ``(N, ...)`` inputs of both networks, as their ``forward`` takes them.
        epochs: passes over ``inputs``.
        lr: Adam's learning rate.
        batch_size: inputs per step.
        seed: seeds the order of the minibatches.
    """
    with torch.no_grad():
        dense.eval()
        targets = torch.cat([dense(inputs[s : s + batch_size]) for s in range(0, len(inputs), batch_size)])

    def train(network: nn.Module) -> None:
        network.eval()
        optimiser = torch.optim.Adam([p for p in network.parameters() if p.requires_grad], lr=lr)
        generator = torch.Generator().manual_seed(int(seed))
        for _ in range(epochs):
            order = torch.randperm(len(inputs), generator=generator).to(inputs.device)
            for start in range(0, len(inputs), batch_size):
                rows = order[start : start + batch_size]
                loss = F.mse_loss(network(inputs[rows]), targets[rows])
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()

    fine_tune(pruned, train)


def _has_dynamic_layers(network: nn.Module) -> bool:
    return any(isinstance(m, DYNAMIC) for m in network.modules())


class CompressedHybrid(BaseEstimator):
    """A hybrid, trained, then its own networks compressed (see the module docstring).

    A scikit-learn meta-estimator: ``fit`` trains a ``sklearn.base.clone`` of ``hybrid``
    (which stays unfitted), so ``get_params()`` shows its hyper-parameters as
    ``hybrid__<name>``.

    Args:
        hybrid: an unfitted hybrid of the subclass's pillar.
        recipe: one of :data:`HYBRID_RECIPES`.
        amount: the fraction of each pruned layer's weights removed, in (0, 1).
        fine_tune_epochs: passes of output matching after pruning (0: none).
        lr: the learning rate of output matching.
        batch_size: inputs per step of output matching.
        seed: seeds the order of output matching's minibatches.

    Attributes (after ``fit``):
        model_: the fitted hybrid clone, its networks replaced by the compressed ones.
        compression_: a :class:`~hybrid.neural.compress.CompressionReport` over all its
            networks together (before and after).
        compressed_networks_: the names of the networks the recipe changed.

    Raises (``fit``):
        ValueError: a bad setting, or a recipe that changes none of the hybrid's networks.
    """

    family = "hybrid"

    def __init__(self, hybrid: Any, recipe: str = "int8", amount: float = 0.5, fine_tune_epochs: int = 10,
                 lr: float = 1e-3, batch_size: int = 32, seed: int = 0):
        self.hybrid = hybrid
        self.recipe = recipe
        self.amount = amount
        self.fine_tune_epochs = fine_tune_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.seed = seed

    # ------------------------------------------------------------------ what a pillar supplies

    def _parts(self, model: Any) -> dict[str, Any]:
        """The fitted hybrid's learned parts, by a name for each: each runs its network ``net_`` on ``device_``."""
        raise NotImplementedError

    def _training_inputs(self, model: Any, train: Any) -> dict[str, torch.Tensor]:
        """The inputs each fine-tunable network was trained on, as its ``forward`` takes them."""
        return {}

    # ------------------------------------------------------------------ the shared part

    def _check_params(self) -> None:
        if isinstance(self.hybrid, type) or not hasattr(self.hybrid, "get_params"):
            raise ValueError(f"hybrid must be an unfitted scikit-learn estimator instance, got {self.hybrid!r}")
        if self.recipe not in HYBRID_RECIPES:
            raise ValueError(f"recipe must be one of {', '.join(HYBRID_RECIPES)}; got {self.recipe!r}")
        number = isinstance(self.amount, (int, float)) and not isinstance(self.amount, bool)
        if not (number and math.isfinite(self.amount) and 0 < self.amount < 1):
            raise ValueError(f"amount must be a fraction in (0, 1), got {self.amount!r}")
        for name, low in (("fine_tune_epochs", 0), ("batch_size", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a number > 0, got {self.lr!r}")

    def _fit_hybrid(self, train: Any) -> Any:
        """A fitted clone of ``hybrid``."""
        return clone(self.hybrid).fit(train)

    def fit(self, train: Any) -> CompressedHybrid:
        """Train the hybrid on ``train``, then compress its networks by ``recipe``; returns self."""
        self._check_params()
        model = self._fit_hybrid(train)
        parts = self._parts(model)
        before = {name: part.net_ for name, part in parts.items()}
        prune, int8 = "prune" in self.recipe, "int8" in self.recipe
        inputs = self._training_inputs(model, train) if prune else {}
        after: dict[str, nn.Module] = {}
        for name, network in before.items():
            new = network
            if prune and name in inputs:
                new = magnitude_prune(network, self.amount, scope="layer", permanent=False)
                if self.fine_tune_epochs > 0:
                    match_outputs(new, network, inputs[name], epochs=self.fine_tune_epochs, lr=self.lr,
                                  batch_size=self.batch_size, seed=self.seed)
                new = make_permanent(new)
            if int8 and _has_dynamic_layers(new):
                new = quantize_dynamic_int8(new)  # a CPU copy
            after[name] = new.eval()
        changed = sorted(name for name in before if after[name] is not before[name])
        if not changed:
            kind = "fine-tunable (pruning)" if prune and not int8 else "Linear or recurrent (int8)"
            raise ValueError(f"recipe {self.recipe!r} changes none of {type(model).__name__}'s networks "
                             f"({', '.join(before) or 'none'}): none is {kind}")
        self.compression_: CompressionReport = compression_report(
            self.recipe, nn.ModuleDict(before), nn.ModuleDict(after))
        self.compressed_networks_ = changed
        for name in changed:
            parts[name].net_ = after[name]
            if is_quantised(after[name]):
                parts[name].device_ = torch.device("cpu")  # int8 kernels run on the CPU
        self.model_ = model
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(train) first")
