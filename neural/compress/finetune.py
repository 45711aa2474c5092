"""Fine-tuning a compressed model without undoing the compression.

Training is the caller's (``train_fn(model) -> None``); what this adds is that an
unstructured-pruned model keeps its zeros. ``torch.nn.utils.prune``'s reparametrisation
(``weight = weight_orig * weight_mask``, the mask a fixed buffer) already does that; a
model whose masks were folded in (plain zeros) gets masks from its zero pattern for the
duration of the training, which are folded back in afterwards. Structured-pruned,
factorised and distilled models have no zeros to keep: for them this is ``train_fn(model)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.utils.prune as tprune
from hybrid.neural.compress._checks import check_model
from hybrid.neural.compress.prune import PRUNABLE, _targets, make_permanent, masks
from torch import nn


def fine_tune(model: nn.Module, train_fn: Callable[[nn.Module], None], *, keep_zeros: bool = True,
              permanent: bool = False) -> nn.Module:
    """Train ``model`` in place with ``train_fn``, pruned weights held at zero.

    Args:
        model: a (compressed) float model with trainable parameters.
        train_fn: ``train_fn(model) -> None``; it should build its optimiser from
            ``model.parameters()`` when called (masked weights train as ``weight_orig``).
        keep_zeros: weights of pruned layers (Linear, Conv, recurrent, Embedding) that are
            exactly zero and have no mask get one for the training, folded in afterwards.
        permanent: fold every mask in after training (:func:`make_permanent`); False keeps
            masks that the model had on entry.

    Returns:
        ``model``.

    Raises:
        ValueError: a model with no trainable parameters (a quantised model), or a
            ``train_fn`` that changed a pruning mask.
    """
    method = "fine_tune"
    check_model(model, method)
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"{method}: the model ({type(model).__name__}) has no trainable parameters "
                         f"(quantised models cannot be fine-tuned; fine-tune before quantising)")
    added = []
    if keep_zeros:
        for module, name in _targets(model, PRUNABLE, include_bias=False):
            if hasattr(module, name + "_mask"):
                continue
            weight = getattr(module, name)
            if bool((weight == 0).any()):
                tprune.custom_from_mask(module, name, mask=(weight != 0).to(weight.dtype))
                added.append((module, name))
    before = masks(model)
    train_fn(model)
    after = masks(model)
    if before.keys() != after.keys() or any(not torch.equal(before[k], after[k]) for k in before):
        raise ValueError(f"{method}: train_fn changed the pruning masks; it must train the weights only")
    for module, name in added:
        tprune.remove(module, name)
    if permanent:
        make_permanent(model)
    return model
