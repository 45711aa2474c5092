"""Lottery tickets: iterative magnitude pruning with rewinding.

Frankle & Carbin 2019 ("The Lottery Ticket Hypothesis"): train, prune the ``p`` fraction of
the remaining weights of smallest magnitude (globally), reset the survivors to their
values at initialisation, and repeat; the sparse subnetwork trains to the dense network's
accuracy. Frankle, Dziugaite, Roy & Carbin 2020 ("Linear Mode Connectivity and the
Lottery Ticket Hypothesis") rewind to iteration ``k`` of training instead of 0, which is
what makes it work for larger networks. Training is the caller's: ``train_fn(model)``
trains in place, so this file knows nothing about the model, the data or the loss.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.utils.prune as tprune
from hybrid.neural.compress._checks import check_fraction, check_model, require
from hybrid.neural.compress.prune import PRUNABLE, _targets, masks
from torch import nn


@dataclass
class LotteryTicket:
    """The result of :func:`find_lottery_ticket`.

    Attributes:
        model: the ticket, still reparametrised (``weight_orig`` times a fixed
            ``weight_mask``): trained if ``retrain``, else at the rewind point.
            :func:`~hybrid.neural.compress.prune.make_permanent` folds the masks in.
        masks: ``"layer.weight"`` -> bool tensor (True = kept): the winning ticket.
        sparsity: fraction of the pruned tensors' weights that are masked out.
        sparsity_per_round: the sparsity after each round.
    """

    model: nn.Module
    masks: dict[str, torch.Tensor]
    sparsity: float
    sparsity_per_round: list[float] = field(default_factory=list)


def _sparsity(found: dict[str, torch.Tensor]) -> float:
    total = sum(m.numel() for m in found.values())
    return 1.0 - sum(int(m.sum()) for m in found.values()) / total


def _refresh(model: nn.Module) -> None:
    """Recompute each masked weight from ``weight_orig * weight_mask`` (prune does it only in forward)."""
    for module in model.modules():
        for name, _ in list(module.named_buffers(recurse=False)):
            base = name.removesuffix("_mask")
            if name.endswith("_mask") and hasattr(module, base + "_orig"):
                setattr(module, base, getattr(module, base + "_orig") * getattr(module, name))


def find_lottery_ticket(model: nn.Module, train_fn: Callable[[nn.Module], None], *, rounds: int = 3,
                        amount: float = 0.2, rewind_fn: Callable[[nn.Module], None] | None = None,
                        retrain: bool = True, layer_types: tuple[type, ...] = PRUNABLE) -> LotteryTicket:
    """Iterative magnitude pruning with rewinding, on a copy of ``model``.

    1. ``rewind_fn(copy)`` if given (the first ``k`` iterations of training), then the
       parameters are saved as the rewind point (the initialisation when no ``rewind_fn``).
    2. ``rounds`` times: ``train_fn`` -> prune ``round(amount * remaining)`` of the
       remaining weights of smallest ``|w|`` over all weight tensors of ``layer_types``
       together -> every parameter back to the rewind point (pruned weights stay masked).
    3. ``train_fn`` once more on the ticket when ``retrain``.

    After ``r`` rounds the sparsity is about ``1 - (1 - amount)^r``. The masks are fixed
    buffers: training moves ``weight_orig`` only, the masked weights stay exactly zero.
    ``train_fn`` should build its optimiser each call (the parameters change names when a
    model is first pruned: ``weight`` becomes ``weight_orig``).

    Args:
        model: the untrained model; not changed.
        train_fn: ``train_fn(model) -> None`` trains in place.
        rounds: pruning rounds, >= 1.
        amount: fraction in (0, 1) of the remaining weights pruned per round.
        rewind_fn: trains the fresh copy for the first ``k`` iterations (Frankle et al. 2020).
        retrain: train the final ticket.
        layer_types: which layers' weights are pruned.

    Returns:
        A :class:`LotteryTicket`.
    """
    method = "find_lottery_ticket"
    check_model(model, method)
    amount = check_fraction(amount, "amount", method)
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        raise ValueError(f"{method}: rounds must be a positive integer, got {rounds!r}")
    if not callable(train_fn) or (rewind_fn is not None and not callable(rewind_fn)):
        raise ValueError(f"{method}: train_fn and rewind_fn must be callables taking the model")
    require(model, tuple(layer_types), method)
    ticket = copy.deepcopy(model)
    if rewind_fn is not None:
        rewind_fn(ticket)
    rewind_point = {name.removesuffix("_orig"): p.detach().clone() for name, p in ticket.named_parameters()}
    history = []
    for _ in range(rounds):
        train_fn(ticket)
        _refresh(ticket)
        targets = _targets(ticket, tuple(layer_types), include_bias=False)
        scores = {(m, n): getattr(m, n).detach().abs() for m, n in targets}
        tprune.global_unstructured(targets, pruning_method=tprune.L1Unstructured, amount=amount,
                                   importance_scores=scores)
        with torch.no_grad():
            for name, p in ticket.named_parameters():
                p.copy_(rewind_point[name.removesuffix("_orig")])
        _refresh(ticket)
        history.append(_sparsity(masks(ticket)))
    if retrain:
        train_fn(ticket)
        _refresh(ticket)
    found = masks(ticket)
    return LotteryTicket(model=ticket, masks=found, sparsity=_sparsity(found), sparsity_per_round=history)
