"""Argument checks shared by the compression methods: one message style for every bad input.

Every message names the method (``magnitude_prune: ...``), the argument or the layer
(by its dotted name in the module tree) and what was expected, so that a model is never
silently left uncompressed.
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: Layers that hold recurrent gates; structured channel pruning and eager QAT do not handle them.
RECURRENT = (nn.LSTM, nn.GRU, nn.RNN)
#: Attention blocks: their projections are used through ``F.multi_head_attention_forward``,
#: not through their ``forward``, so replacing or slicing them breaks the block.
ATTENTION = (nn.MultiheadAttention, nn.Transformer, nn.TransformerEncoder, nn.TransformerDecoder,
             nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)


def check_model(model: object, method: str) -> nn.Module:
    """``model`` if it is an ``nn.Module`` holding at least one weight, else TypeError/ValueError."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"{method}: model must be a torch.nn.Module, got {type(model).__name__}")
    has_float = any(True for _ in model.parameters())
    has_packed = any(callable(getattr(m, "_weight_bias", None)) for m in model.modules())
    if not (has_float or has_packed):
        raise ValueError(f"{method}: the model ({type(model).__name__}) has no parameters to compress")
    return model


def check_fraction(value: object, name: str, method: str, *, upper_inclusive: bool = False) -> float:
    """``value`` as a float in (0, 1) (or (0, 1] with ``upper_inclusive``), else ValueError."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{method}: {name} must be a number, got {value!r}") from None
    ok = math.isfinite(x) and 0.0 < x and (x <= 1.0 if upper_inclusive else x < 1.0)
    if not ok:
        interval = "(0, 1]" if upper_inclusive else "(0, 1)"
        raise ValueError(f"{method}: {name} must lie in {interval}, got {value!r}")
    return x


def layer_types(model: nn.Module) -> str:
    """The distinct layer class names in ``model``, for error messages."""
    names = sorted({type(m).__name__ for m in model.modules()})
    return ", ".join(names)


def first_of(model: nn.Module, types: tuple[type, ...]) -> tuple[str, nn.Module] | None:
    """``(dotted name, module)`` of the first submodule of one of ``types`` (the root is named ``<model>``)."""
    for name, module in model.named_modules():
        if isinstance(module, types):
            return (name or "<model>"), module
    return None


def reject(model: nn.Module, types: tuple[type, ...], method: str, why: str) -> None:
    """ValueError naming the first layer of ``types`` in ``model``, if there is one."""
    found = first_of(model, types)
    if found is not None:
        name, module = found
        raise ValueError(f"{method}: layer {name!r} ({type(module).__name__}) cannot be handled: {why}")


def require(model: nn.Module, types: tuple[type, ...], method: str) -> None:
    """ValueError unless ``model`` holds at least one layer of ``types``."""
    if first_of(model, types) is None:
        wanted = ", ".join(t.__name__ for t in types)
        raise ValueError(f"{method}: the model has no layer this method handles ({wanted}); "
                         f"its layers are: {layer_types(model)}")


def example_tensor(example_inputs: object, method: str) -> object:
    """Check that ``example_inputs`` is a tensor or a tuple/list of tensors."""
    if isinstance(example_inputs, torch.Tensor):
        return example_inputs
    if isinstance(example_inputs, (tuple, list)) and example_inputs and all(
            isinstance(t, torch.Tensor) for t in example_inputs):
        return example_inputs
    raise ValueError(f"{method}: example_inputs must be a tensor or a tuple of tensors, "
                     f"got {type(example_inputs).__name__}")
