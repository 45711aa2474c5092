"""Compressed deep baselines as evaluator methods: the ``compressed-deep`` family.

:class:`CompressedDeep` is the part every pillar shares: it trains a clone of a deep
baseline (the *teacher*), compresses the teacher's network with
:mod:`hybrid.neural.compress` following a named recipe, fine-tunes where the recipe
says, and puts the compressed network where the teacher's own prediction path runs it.
Each pillar subclasses it with what only it knows — how to fit and query its baseline,
where its network lives, how to train that network a little more — in
``hybrid/<pillar>/compressed.py``, and registers the results in its ``register.py``.

**The teacher's training is charged to the compressed model.** ``fit`` trains the
teacher itself, inside the evaluator's metered training phase, so a compressed method's
training seconds, FLOPs and energy are the teacher's plus the compression's (plus its
fine-tuning, and for lottery tickets several more trainings). That is the honest
account: a compressed network cannot exist without the large one it was cut from.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import torch
from sklearn.base import BaseEstimator
from torch import nn

from hybrid.neural.compress import (
    CompressionReport,
    compression_report,
    find_lottery_ticket,
    fine_tune,
    low_rank,
    magnitude_prune,
    make_permanent,
    quantize_dynamic_int8,
    structured_prune,
)

#: The recipes :class:`CompressedDeep` knows, and which of its settings each reads.
RECIPES: dict[str, str] = {
    "prune": "unstructured global magnitude pruning of `amount` of the weights, then fine-tuning",
    "prune-structured": "removes `amount` of every hidden layer's units (Torch-Pruning), then fine-tuning",
    "int8": "post-training dynamic int8 quantisation (CPU)",
    "prune+int8": "magnitude pruning and fine-tuning, then dynamic int8",
    "low-rank": "truncated SVD keeping `energy` of each weight's spectrum, then fine-tuning",
    "distill": "a student with `factor` times fewer parameters, distilled from the teacher",
    "lottery": "lottery ticket: `rounds` rounds of pruning `amount` with rewinding to a fresh initialisation",
}


def _fraction(name: str, value: Any, *, upper_inclusive: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and 0 < value and (value <= 1 if upper_inclusive else value < 1)
    if not ok:
        interval = "(0, 1]" if upper_inclusive else "(0, 1)"
        raise ValueError(f"{name} must be a fraction in {interval}, got {value!r}")
    return float(value)


def _count(name: str, value: Any, *, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def reinitialise(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """A copy of ``model`` with fresh weights, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` drawn from ``generator``.

    Every parameter of a module with a ``weight`` is redrawn (its fan-in is the weight's
    second and later dimensions); a lottery ticket rewinds to this initialisation.
    """
    fresh = copy.deepcopy(model)
    with torch.no_grad():
        for module in fresh.modules():
            weight = getattr(module, "weight", None)
            if not isinstance(weight, torch.Tensor) or weight.dim() < 2:
                continue
            bound = 1.0 / math.sqrt(max(1, weight[0].numel()))
            for p in module.parameters(recurse=False):
                p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1).mul_(bound).to(p))
    return fresh


class CompressedDeep(BaseEstimator):
    """A deep baseline, trained, then compressed: the base of the ``compressed-deep`` methods.

    A scikit-learn meta-estimator: ``fit`` trains a ``sklearn.base.clone`` of ``teacher``
    (the estimator passed in stays unfitted), so ``get_params()`` shows the teacher's
    hyper-parameters as ``teacher__<name>``. The teacher's training runs inside ``fit``
    and is charged to this method (see the module's docstring).

    Args:
        teacher: an unfitted deep baseline of the subclass's pillar.
        recipe: one of :data:`RECIPES`.
        amount: the fraction of weights (or units) removed, in (0, 1) — ``prune``,
            ``prune-structured``, ``prune+int8``; per round for ``lottery``.
        energy: the fraction of each weight's squared singular values kept, in (0, 1] — ``low-rank``.
        factor: the student's parameter reduction, > 1 — ``distill``.
        rounds: pruning rounds of ``lottery``, >= 1 (sparsity about ``1 - (1 - amount)^rounds``).
        fine_tune_epochs: the epoch cap of fine-tuning after ``prune``, ``prune-structured``,
            ``prune+int8`` and ``low-rank`` (0: none), of the student's distillation, and of
            each of the lottery's trainings; the pillar's training stops early before it.
        seed: seeds the fresh initialisations (student, lottery) and the minibatch order.

    Attributes (after ``fit``):
        model_: the fitted teacher clone, its network replaced by the compressed one: its
            own ``predict`` (or the pillar's equivalent) runs the compressed network.
        compression_: a :class:`~hybrid.neural.compress.CompressionReport` (parameters,
            non-zero parameters, stored bytes before and after, ``compression_ratio``).
    """

    family = "compressed-deep"

    def __init__(
        self,
        teacher: Any,
        recipe: str = "prune",
        amount: float = 0.8,
        energy: float = 0.9,
        factor: float = 4.0,
        rounds: int = 2,
        fine_tune_epochs: int = 300,
        seed: int = 0,
    ):
        self.teacher = teacher
        self.recipe = recipe
        self.amount = amount
        self.energy = energy
        self.factor = factor
        self.rounds = rounds
        self.fine_tune_epochs = fine_tune_epochs
        self.seed = seed

    # ------------------------------------------------------------------ what a pillar supplies

    def _network(self, model: Any) -> nn.Module:
        """The fitted teacher's network to compress."""
        raise NotImplementedError

    def _set_network(self, model: Any, network: nn.Module) -> None:
        """Put ``network`` where ``model``'s prediction path runs it."""
        raise NotImplementedError

    def _train_fn(self, model: Any, epochs: int) -> Callable[[nn.Module], None]:
        """``train_fn(network)``: trains a network in place on the teacher's training data (<= ``epochs``)."""
        raise NotImplementedError

    def _example_inputs(self, model: Any) -> Any:
        """An example input of the network (for structured pruning's tracing)."""
        raise ValueError(f"recipe 'prune-structured' is not available for {type(self).__name__}")

    def _distill(self, model: Any, network: nn.Module) -> nn.Module:
        """A student with ``factor`` times fewer parameters, distilled from ``network``."""
        raise ValueError(f"recipe 'distill' is not available for {type(self).__name__}")

    # ------------------------------------------------------------------ the shared part

    def _check_params(self) -> None:
        """Raise ``ValueError`` naming a bad setting (an unknown recipe, a fraction out of range)."""
        if isinstance(self.teacher, type) or not hasattr(self.teacher, "get_params"):
            raise ValueError(f"teacher must be an unfitted scikit-learn estimator instance, got {self.teacher!r}")
        if self.recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {', '.join(RECIPES)}; got {self.recipe!r}")
        _fraction("amount", self.amount)
        _fraction("energy", self.energy, upper_inclusive=True)
        if not (isinstance(self.factor, (int, float)) and math.isfinite(self.factor) and self.factor > 1):
            raise ValueError(f"factor must be a number > 1, got {self.factor!r}")
        _count("rounds", self.rounds, minimum=1)
        _count("fine_tune_epochs", self.fine_tune_epochs, minimum=0)

    def _compress(self, model: Any) -> None:
        """Compress ``model``'s network by the recipe, install it in ``model``, and set ``compression_``."""
        before = self._network(model)
        recipe, epochs = self.recipe, self.fine_tune_epochs

        def tuned(network: nn.Module) -> nn.Module:
            if epochs > 0:
                fine_tune(network, self._train_fn(model, epochs))
            return network

        if recipe in ("prune", "prune+int8"):
            after = make_permanent(tuned(magnitude_prune(before, self.amount)))
            if recipe == "prune+int8":
                after = quantize_dynamic_int8(after)
        elif recipe == "prune-structured":
            after = tuned(structured_prune(before, self._example_inputs(model), self.amount))
        elif recipe == "int8":
            after = quantize_dynamic_int8(before)
        elif recipe == "low-rank":
            after = tuned(low_rank(before, self.energy).model)
        elif recipe == "distill":
            after = self._distill(model, before)
        else:  # lottery
            fresh = reinitialise(before, torch.Generator().manual_seed(int(self.seed)))
            train = self._train_fn(model, max(1, epochs))
            after = make_permanent(find_lottery_ticket(fresh, train, rounds=self.rounds, amount=self.amount).model)
        after.eval()
        self.compression_: CompressionReport = compression_report(recipe, before, after)
        self._set_network(model, after)
