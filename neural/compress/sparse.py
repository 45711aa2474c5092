"""Sparse storage of a state_dict: zeros that cost no bytes.

A pruned weight matrix stored densely is as large as before pruning. Here each tensor
is stored as a sparse CSR tensor (``torch.sparse_csr_tensor``, 32-bit indices where they
fit) when that is smaller than its dense form, else densely; tensors of more than two
dimensions (convolution kernels) are stored as a ``(rows, rest)`` matrix with their
shape beside them. CSR costs ``nnz * (value bytes + index bytes) + (rows + 1) * index bytes``;
dense costs ``numel * value bytes``; so a float32 matrix saves bytes from about 50%
sparsity on (32-bit indices). The bytes are ``torch.save``'s, read back with
``torch.load(weights_only=True)`` and sparse-invariant checks on.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping

import torch
from torch import nn

FORMAT = "hybrid.neural.compress.sparse/1"


def effective_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """A model's state_dict with pruning reparametrisations folded in.

    ``torch.nn.utils.prune`` stores ``weight_orig`` and ``weight_mask``; this returns
    ``weight = weight_orig * weight_mask`` under the plain name instead (the model is not
    changed), so the result loads into the unpruned architecture.

    Args:
        model: any module, pruned or not.

    Returns:
        name -> tensor, detached.
    """
    state = model.state_dict()
    out: dict[str, torch.Tensor] = {}
    folded: dict[tuple, torch.Tensor] = {}  # a submodule shared under several names is folded once
    for key, value in state.items():
        if key.endswith("_mask") and key[: -len("_mask")] + "_orig" in state:
            continue
        if key.endswith("_orig") and key[: -len("_orig")] + "_mask" in state:
            base = key[: -len("_orig")]
            mask = state[base + "_mask"]
            ident = (_identity(value), _identity(mask))
            if ident not in folded:
                folded[ident] = (value * mask).detach()
            out[base] = folded[ident]
        else:
            out[key] = value.detach() if isinstance(value, torch.Tensor) else value
    return out


def _identity(t: torch.Tensor) -> tuple:
    """What makes two state_dict entries the same tensor (a submodule shared under several names)."""
    return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)


def _csr_bytes(rows: int, nnz: int, value_bytes: int, index_bytes: int) -> int:
    return nnz * (value_bytes + index_bytes) + (rows + 1) * index_bytes


def _as_matrix(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(1, -1) if t.dim() == 1 else t.reshape(t.shape[0], -1)


def save_sparse(source: nn.Module | Mapping[str, torch.Tensor]) -> bytes:
    """Serialise a state_dict, each tensor as sparse CSR where that is smaller than dense.

    Args:
        source: a module (its :func:`effective_state_dict` is saved, so a pruned model's
            masks are applied) or a state_dict of dense tensors.

    Returns:
        The bytes (``torch.save`` format); :func:`load_sparse` reads them back. A tensor
        that several names share (a submodule used in several places, such as a policy's
        features extractor) is stored once, the other names as aliases of the first.

    Raises:
        ValueError: an entry that is not a dense tensor (a quantised model's packed
            weights: save those with :func:`~hybrid.neural.compress.report.serialized_bytes`).
    """
    state = effective_state_dict(source) if isinstance(source, nn.Module) else dict(source)
    tensors: dict[str, torch.Tensor] = {}
    shapes: dict[str, list[int]] = {}
    aliases: dict[str, str] = {}
    first_of: dict[tuple, str] = {}
    for name, value in state.items():
        plain = isinstance(value, torch.Tensor) and type(value) in (torch.Tensor, nn.Parameter)
        if not plain or value.layout != torch.strided or value.is_quantized:
            raise ValueError(f"save_sparse: entry {name!r} is a {type(value).__name__} "
                             f"(layout/quantisation not supported); sparse storage takes dense float tensors")
        ident = _identity(value)
        if ident in first_of:
            aliases[name] = first_of[ident]
            continue
        first_of[ident] = name
        value = value.detach().cpu()
        if value.dim() == 0 or not (value.is_floating_point() or value.is_complex()):
            tensors[name] = value
            continue
        matrix = _as_matrix(value)
        nnz = int(torch.count_nonzero(matrix))
        index_dtype = torch.int32 if max(nnz, matrix.shape[1]) < 2**31 - 1 else torch.int64
        index_bytes = 4 if index_dtype == torch.int32 else 8
        dense = value.numel() * value.element_size()
        if _csr_bytes(matrix.shape[0], nnz, value.element_size(), index_bytes) + 64 >= dense:
            tensors[name] = value
            continue
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            csr = matrix.to_sparse_csr()
            tensors[name] = torch.sparse_csr_tensor(csr.crow_indices().to(index_dtype),
                                                    csr.col_indices().to(index_dtype),
                                                    csr.values(), size=matrix.shape,
                                                    check_invariants=True)
        shapes[name] = list(value.shape)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "tensors": tensors, "shapes": shapes, "aliases": aliases}, buffer)
    return buffer.getvalue()


def load_sparse(data: bytes) -> dict[str, torch.Tensor]:
    """Read what :func:`save_sparse` wrote: a state_dict of dense tensors (exactly the saved values).

    Args:
        data: the bytes.

    Returns:
        name -> dense tensor, for ``model.load_state_dict``.

    Raises:
        ValueError: bytes that are not in this format.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError(f"load_sparse: data must be bytes, got {type(data).__name__}")
    with torch.sparse.check_sparse_tensor_invariants(True), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        try:
            saved = torch.load(io.BytesIO(bytes(data)), weights_only=True)
        except Exception as err:  # noqa: BLE001 - any unreadable input is a bad argument
            raise ValueError(f"load_sparse: data is not a saved state_dict ({err})") from err
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise ValueError(f"load_sparse: data is not in the {FORMAT} format")
        out = {}
        for name, t in saved["tensors"].items():
            if t.layout == torch.sparse_csr:
                out[name] = t.to_dense().reshape(saved["shapes"][name])
            else:
                out[name] = t
        aliases = saved.get("aliases", {})
        if not isinstance(aliases, dict) or any(first not in out for first in aliases.values()):
            raise ValueError("load_sparse: an alias names no saved tensor")
        for name, first in aliases.items():
            out[name] = out[first]
    return out
