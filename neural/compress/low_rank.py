"""Low-rank factorisation of Linear and Conv2d layers by truncated SVD.

A weight ``W`` (``out x in``; a Conv2d kernel reshaped to ``out x (in*kh*kw)``) is
replaced by its best rank-``k`` approximation (Eckart–Young), ``W ≈ U_k S_k V_k^T``,
written as two layers (Denton et al. 2014, "Exploiting Linear Structure Within
Convolutional Networks"): ``Linear(in, k)`` with weight ``S_k^{1/2} V_k^T`` then
``Linear(k, out)`` with weight ``U_k S_k^{1/2}`` and the original bias; for a Conv2d, a
conv with ``k`` output channels and the original kernel, stride, padding and dilation,
then a 1x1 conv to ``out`` channels. Parameters go from ``out*in`` to ``k*(out+in)``
(plus the bias), so a factorisation pays only below ``k = out*in / (out+in)``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from hybrid.neural.compress._checks import ATTENTION, check_fraction, check_model, require
from torch import nn

FACTORISABLE = (nn.Linear, nn.Conv2d)


def energy_rank(singular_values: torch.Tensor, energy: float) -> int:
    """The smallest ``k`` with ``sum_{i<k} s_i^2 >= energy * sum_i s_i^2``.

    ``energy=1.0`` keeps every singular value above the rounding noise of float32
    (energy fraction ``1 - 2**-23``), so a numerically low-rank weight keeps its rank.
    """
    s2 = singular_values.detach().double().pow(2)
    total = float(s2.sum())
    if total == 0.0:
        return 1
    fraction = torch.cumsum(s2, 0) / total
    target = min(energy, 1.0 - torch.finfo(torch.float32).eps)
    threshold = torch.tensor(target, dtype=fraction.dtype, device=fraction.device)
    return int(torch.searchsorted(fraction, threshold).item()) + 1


def _matrix(layer: nn.Module) -> torch.Tensor:
    return layer.weight.detach().reshape(layer.weight.shape[0], -1).double()


def max_rank(layer: nn.Linear | nn.Conv2d) -> int:
    """The largest rank the layer's weight can have: ``min(out, in*kh*kw)``."""
    m = _matrix(layer)
    return min(m.shape)


def _svd_factors(layer: nn.Module, rank: int, method: str, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    limit = max_rank(layer)
    if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= limit:
        raise ValueError(f"{method}: rank for layer {name!r} ({type(layer).__name__}) must be an integer "
                         f"in [1, {limit}], got {rank!r}")
    u, s, vh = torch.linalg.svd(_matrix(layer), full_matrices=False)
    root = s[:rank].sqrt()
    first = root[:, None] * vh[:rank]  # (k, in)
    second = u[:, :rank] * root[None, :]  # (out, k)
    dtype = layer.weight.dtype
    return first.to(dtype), second.to(dtype)


def factorize_linear(layer: nn.Linear, rank: int, *, name: str = "layer") -> nn.Sequential:
    """``Linear(in, out)`` -> ``Sequential(Linear(in, rank, bias=False), Linear(rank, out))`` by truncated SVD.

    Returns:
        The two-layer replacement (at ``rank = min(in, out)`` it computes the same function
        up to rounding).

    Raises:
        ValueError: not a Linear, or ``rank`` outside ``[1, min(in, out)]``.
    """
    method = "factorize_linear"
    if not isinstance(layer, nn.Linear):
        raise ValueError(f"{method}: layer {name!r} is a {type(layer).__name__}, not a Linear")
    first_w, second_w = _svd_factors(layer, rank, method, name)
    first = nn.Linear(layer.in_features, rank, bias=False, device=layer.weight.device, dtype=layer.weight.dtype)
    second = nn.Linear(rank, layer.out_features, bias=layer.bias is not None,
                       device=layer.weight.device, dtype=layer.weight.dtype)
    with torch.no_grad():
        first.weight.copy_(first_w)
        second.weight.copy_(second_w)
        if layer.bias is not None:
            second.bias.copy_(layer.bias)
    return nn.Sequential(first, second)


def factorize_conv2d(layer: nn.Conv2d, rank: int, *, name: str = "layer") -> nn.Sequential:
    """``Conv2d(in, out, k)`` -> ``Conv2d(in, rank, k)`` then a 1x1 ``Conv2d(rank, out)``, by truncated SVD.

    The first conv keeps the kernel size, stride, padding, dilation and padding mode.

    Returns:
        The two-conv replacement.

    Raises:
        ValueError: not a Conv2d, grouped convolution, or ``rank`` outside ``[1, min(out, in*kh*kw)]``.
    """
    method = "factorize_conv2d"
    if not isinstance(layer, nn.Conv2d):
        raise ValueError(f"{method}: layer {name!r} is a {type(layer).__name__}, not a Conv2d")
    if layer.groups != 1:
        raise ValueError(f"{method}: layer {name!r} is a grouped Conv2d (groups={layer.groups}); "
                         f"only groups=1 is factorised")
    first_w, second_w = _svd_factors(layer, rank, method, name)
    kh, kw = layer.kernel_size
    first = nn.Conv2d(layer.in_channels, rank, (kh, kw), stride=layer.stride, padding=layer.padding,
                      dilation=layer.dilation, bias=False, padding_mode=layer.padding_mode,
                      device=layer.weight.device, dtype=layer.weight.dtype)
    second = nn.Conv2d(rank, layer.out_channels, 1, bias=layer.bias is not None,
                       device=layer.weight.device, dtype=layer.weight.dtype)
    with torch.no_grad():
        first.weight.copy_(first_w.reshape(rank, layer.in_channels, kh, kw))
        second.weight.copy_(second_w.reshape(layer.out_channels, rank, 1, 1))
        if layer.bias is not None:
            second.bias.copy_(layer.bias)
    return nn.Sequential(first, second)


@dataclass
class LowRankResult:
    """What :func:`low_rank` did.

    Attributes:
        model: the factorised copy.
        factorized: layer name -> ``(rank, parameters before, parameters after)``.
        skipped: layer name -> why it was left as it was.
    """

    model: nn.Module
    factorized: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def low_rank(model: nn.Module, energy: float = 0.9, *, layer_types: tuple[type, ...] = FACTORISABLE,
             ranks: dict[str, int] | None = None) -> LowRankResult:
    """Factorise every Linear / Conv2d of a copy of ``model`` at the rank that keeps ``energy``.

    Per layer the rank is :func:`energy_rank` of its singular values (or ``ranks[name]``).
    A layer whose factorised form would not have fewer parameters is left as it is and
    listed in ``skipped`` with the reason, as are grouped convolutions and the projections
    inside ``nn.MultiheadAttention`` (read directly, not through ``forward``).

    Args:
        model: any module; not changed.
        energy: fraction in (0, 1] of the squared singular values (Frobenius energy) to keep.
        layer_types: which of Linear, Conv2d to factorise.
        ranks: explicit ranks by dotted layer name (override ``energy`` for those layers, and
            are applied even where they do not save parameters).

    Returns:
        A :class:`LowRankResult`; at least one layer is factorised.

    Raises:
        ValueError: ``energy`` outside (0, 1], no Linear/Conv2d, a rank out of range, or
            no layer that factorisation makes smaller (the message lists why each was skipped).
    """
    method = "low_rank"
    check_model(model, method)
    energy = check_fraction(energy, "energy", method, upper_inclusive=True)
    types = tuple(layer_types)
    bad = [t.__name__ for t in types if t not in FACTORISABLE]
    if bad:
        raise ValueError(f"{method}: layer types {bad} are not factorised; choose from Linear, Conv2d")
    require(model, types, method)
    ranks = dict(ranks or {})
    out = copy.deepcopy(model)
    modules = dict(out.named_modules())
    unknown = [n for n in ranks if n not in modules]
    if unknown:
        raise ValueError(f"{method}: ranks names no layer of the model: {unknown}")
    inside_attention = {f"{n}.{c}" if n else c for n, m in out.named_modules() if isinstance(m, ATTENTION)
                        for c, _ in m.named_modules() if c}
    result = LowRankResult(model=out)
    for name, layer in list(out.named_modules()):
        if not isinstance(layer, types) or not name:
            if isinstance(layer, types) and not name:
                raise ValueError(f"{method}: the model itself is a {type(layer).__name__}; "
                                 f"call factorize_linear / factorize_conv2d on it")
            continue
        if name in inside_attention:
            result.skipped[name] = "projection inside an attention block"
            continue
        if isinstance(layer, nn.Conv2d) and layer.groups != 1:
            result.skipped[name] = f"grouped convolution (groups={layer.groups})"
            continue
        if name in ranks:
            rank, limit = ranks[name], max_rank(layer)
            if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= limit:
                raise ValueError(f"{method}: rank for layer {name!r} ({type(layer).__name__}) must be an integer "
                                 f"in [1, {limit}], got {rank!r}")
        else:
            rank = energy_rank(torch.linalg.svdvals(_matrix(layer)), energy)
        factor = factorize_linear if isinstance(layer, nn.Linear) else factorize_conv2d
        before = _params(layer)
        rows, cols = _matrix(layer).shape
        after = rank * (rows + cols) + (layer.bias.numel() if layer.bias is not None else 0)
        if after >= before and name not in ranks:
            result.skipped[name] = (f"rank {rank} of {min(rows, cols)} gives {after} parameters, "
                                    f"not fewer than {before}")
            continue
        replacement = factor(layer, rank, name=name)
        parent_name, _, child = name.rpartition(".")
        setattr(modules[parent_name] if parent_name else out, child, replacement)
        result.factorized[name] = (rank, before, _params(replacement))
    if not result.factorized:
        reasons = "; ".join(f"{n!r}: {why}" for n, why in result.skipped.items())
        raise ValueError(f"{method}: no layer gets smaller at energy={energy} ({reasons})")
    return result
