"""What a compression bought: parameters, non-zero parameters and stored bytes, before and after.

FLOPs are not measured here (the measuring lives in ``hybrid.evaluate``, above this
layer): a caller that wants them runs its meter on the two models.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import torch
from hybrid.neural.compress.sparse import save_sparse
from torch import nn


def _weights(model: nn.Module) -> Iterator[torch.Tensor]:
    """Every weight and bias the model holds, as dense float tensors (masks applied, int8 dequantised)."""
    handled: list[str] = []  # quantised modules whose packed children must not count twice
    for name, module in model.named_modules():
        if any(prefix == "" or name.startswith(prefix + ".") for prefix in handled):
            continue
        packed = getattr(module, "_weight_bias", None)
        if callable(packed):
            handled.append(name)
            found = packed()
            if isinstance(found, dict):  # quantised LSTM/GRU: {"weight": {...}, "bias": {...}}
                tensors = [t for group in found.values() for t in group.values()]
            else:  # quantised Linear / Conv: (weight, bias)
                tensors = list(found)
            for t in tensors:
                if t is not None:
                    yield t.dequantize() if t.is_quantized else t.detach()
            continue
        for name, param in module.named_parameters(recurse=False):
            if name.endswith("_orig") and hasattr(module, name[: -len("_orig")] + "_mask"):
                yield getattr(module, name[: -len("_orig")]).detach()
            else:
                t = param.detach()
                # a torchao weight (a tensor subclass holding int8 data) counts as its dequantised values
                yield t.dequantize() if type(t) is not torch.Tensor and hasattr(t, "dequantize") else t


def count_parameters(model: nn.Module) -> int:
    """Number of weights and biases, quantised ones included (a pruned weight counts once)."""
    return sum(t.numel() for t in _weights(model))


def count_nonzero(model: nn.Module) -> int:
    """Number of weights and biases that are not zero (after pruning masks; int8 values dequantised)."""
    return sum(int(torch.count_nonzero(t)) for t in _weights(model))


def serialized_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())`` (dense; int8 for a quantised model)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return len(buffer.getvalue())


def stored_bytes(model: nn.Module) -> int:
    """The smaller of the dense and the sparse (:func:`~hybrid.neural.compress.sparse.save_sparse`) bytes.

    Pruning masks are applied first (a reparametrised model's dense ``state_dict`` holds
    both ``weight_orig`` and ``weight_mask``); a quantised model, which sparse storage does
    not take, is measured densely.
    """
    try:
        return len(save_sparse(model))
    except ValueError:
        return serialized_bytes(model)


@dataclass(frozen=True)
class CompressionReport:
    """Sizes of a model before and after one compression.

    ``bytes_*`` are as saved: :func:`stored_bytes` (sparse CSR where that is smaller,
    int8 for quantised models). ``compression_ratio = bytes_before / bytes_after``.
    """

    method: str
    parameters_before: int
    parameters_after: int
    nonzero_before: int
    nonzero_after: int
    bytes_before: int
    bytes_after: int

    @property
    def compression_ratio(self) -> float:
        """``bytes_before / bytes_after`` (> 1 means smaller)."""
        return self.bytes_before / self.bytes_after

    def as_dict(self) -> dict:
        """The fields and the ratio as plain data."""
        return {**asdict(self), "compression_ratio": self.compression_ratio}


def compression_report(method: str, before: nn.Module, after: nn.Module) -> CompressionReport:
    """Measure two models (the original and its compressed form) into a :class:`CompressionReport`.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from hybrid.neural.compress import compression_report, magnitude_prune
        >>> _ = torch.manual_seed(0)
        >>> model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
        >>> pruned = magnitude_prune(model, amount=0.9)
        >>> report = compression_report("magnitude", model, pruned)
        >>> report.nonzero_after < report.nonzero_before, report.compression_ratio > 2
        (True, True)
    """
    return CompressionReport(
        method=method,
        parameters_before=count_parameters(before),
        parameters_after=count_parameters(after),
        nonzero_before=count_nonzero(before),
        nonzero_after=count_nonzero(after),
        bytes_before=stored_bytes(before),
        bytes_after=stored_bytes(after),
    )
