"""Counting the floating-point work of torch code, recurrent layers included.

:func:`TorchFlopCounter` is a dispatch mode that adds up, op by op, the FLOPs of what
runs under it. It uses ``torch.utils.flop_counter``'s formula registry (matrix
products, convolutions, attention) and, for the ops that registry has no formula for
and that do not decompose into ops it has, the project's own formulas in
:data:`RNN_FORMULAS`: the fused recurrent kernels behind ``nn.LSTM`` on the CPU (oneDNN's
``mkldnn_rnn_layer``) and ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` on CUDA (cuDNN's
``_cudnn_rnn``) and ROCm (MIOpen), forward and backward, and the int8 kernels of
dynamically quantised Linear / LSTM / GRU layers (``quantized::linear_dynamic``,
``aten::quantized_lstm`` / ``quantized_gru``: integer multiply-adds, counted by the same
convention under their own op names). Without them an LSTM, or an int8 model, costs
nothing (``FlopCounterMode`` counts 0 for ``nn.LSTM`` on the CPU and for int8 kernels).

The convention is ``FlopCounterMode``'s: a multiply-add is 2 FLOPs, only matrix
products and convolutions are counted (bias additions, activations, gates' elementwise
arithmetic and optimiser updates are not). For a recurrent layer over ``T`` steps of
a batch of ``B`` with gate weights ``W_ih`` (``G*H x I``) and ``W_hh`` (``G*H x H``)
(``G`` = 4 for LSTM, 3 for GRU, 1 for a plain RNN):

    forward  = 2 * T * B * (|W_ih| + |W_hh|)      (+ 2 T B |W_hr| with a projection)
    backward = 2 * forward                         (gradients of inputs and of weights)

which is exactly what the registry counts for a GRU that the CPU runs as ``mm`` calls.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

#: aten op name -> formula ``(*args, **kwargs) -> FLOPs``; filled by :func:`rnn_formulas`.
FlopFormula = Callable[..., int]


def rnn_forward_flops(tokens: int, weights: Sequence[Any]) -> int:
    """FLOPs of a recurrent layer's forward pass: ``2 * tokens * sum(|W|)`` over its 2-D weights.

    Args:
        tokens: time steps times batch (the rows of a packed sequence).
        weights: the layer's parameters (tensors or shapes); 1-D ones (biases) are skipped.

    Returns:
        The FLOPs of the input, hidden (and projection) matrix products.
    """
    total = 0
    for w in weights:
        shape = tuple(getattr(w, "shape", w))
        if len(shape) == 2:
            total += shape[0] * shape[1]
    return 2 * int(tokens) * total


def _tokens(inp) -> int:
    """Rows the recurrence runs over: ``T * B`` for ``(T, B, I)`` / ``(B, T, I)``, or a packed ``(N, I)``."""
    return int(inp.numel() // max(inp.shape[-1], 1))


def _mkldnn_rnn_layer(inp, w_ih, w_hh, *args, **kwargs) -> int:
    return rnn_forward_flops(_tokens(inp), (w_ih, w_hh))


def _mkldnn_rnn_layer_backward(inp, w_ih, w_hh, *args, **kwargs) -> int:
    # oneDNN's backward computes input, hidden and weight gradients: twice the forward's products.
    return 2 * rnn_forward_flops(_tokens(inp), (w_ih, w_hh))


def _fused_rnn(inp, weights, *args, **kwargs) -> int:
    """cuDNN / MIOpen run every layer and direction in one op; ``weights`` lists them all."""
    return _layers_flops(inp, weights)


def _layers_flops(inp, weights) -> int:
    # The 2-D entries are W_ih, W_hh (and W_hr) of every layer and direction; each layer
    # runs over the same number of steps, so one token count serves all of them.
    return rnn_forward_flops(_tokens(inp), weights)


def _fused_rnn_backward(inp, weights, *args, output_mask=None, **kwargs) -> int:
    """Data gradients (always) plus weight gradients when ``output_mask[3]`` asks for them."""
    if output_mask is None:
        output_mask = args[-1] if args and isinstance(args[-1], (list, tuple)) else (True,) * 4
    forward = _layers_flops(inp, weights)
    return forward + (forward if output_mask[3] else 0)


def _linear_dynamic(inp, *args, out_val=None, **kwargs) -> int:
    """``quantized::linear_dynamic``, ``linear``, ``linear_relu`` (int8 ``nn.Linear``): ``2 * |out| * in_features``."""
    return 2 * out_val.numel() * inp.shape[-1] if out_val is not None else 0


def _quantized_conv(inp, packed, *args, out_val=None, **kwargs) -> int:
    """``quantized::conv2d`` / ``conv2d_relu`` (a static int8 ``nn.Conv2d``): ``2 * |out| * (in / groups) * kh * kw``.

    The kernel's shape is read from its packed weight (``(out, in / groups, kh, kw)``).
    """
    if out_val is None:
        return 0
    weight = packed.unpack()[0]
    return 2 * out_val.numel() * math.prod(weight.shape[1:])


def _quantized_rnn(gates: int):
    """``aten::quantized_lstm`` / ``quantized_gru`` (int8 recurrent layers) from the shapes of input and state.

    Both overloads: ``input`` (``input, hx, params, has_biases, num_layers, dropout, train,
    bidirectional, ...``) and ``data`` (a packed sequence: ``data, batch_sizes, hx, params, ...``).
    """

    def formula(*args, **kwargs) -> int:
        inp = args[0]
        p = 3 if isinstance(args[3], (list, tuple)) else 2  # where ``params`` is
        hx, num_layers, bidirectional = args[p - 1], int(args[p + 2]), bool(args[p + 5])
        state = hx[0] if isinstance(hx, (list, tuple)) else hx
        hidden, dirs = state.shape[-1], 2 if bidirectional else 1
        tokens = inp.numel() // inp.shape[-1]
        sizes = [inp.shape[-1]] + [hidden * dirs] * (num_layers - 1)
        return sum(2 * tokens * dirs * gates * hidden * (size + hidden) for size in sizes)

    return formula


def rnn_formulas() -> dict[Any, FlopFormula]:
    """The project's formulas, keyed by op overload packet (only those this torch build has).

    Besides the fused recurrent kernels, the int8 kernels of quantised models (dynamic:
    ``quantized::linear_dynamic``, ``aten::quantized_lstm`` / ``quantized_gru``; static,
    from quantisation-aware training: ``quantized::linear``, ``conv2d`` and their fused
    ``_relu`` forms): their
    multiply-adds are integer work, counted with the same convention (2 per multiply-add)
    under their own op names, so a quantised model's inference is not counted as free.
    """
    import torch

    wanted = {
        ("aten", "mkldnn_rnn_layer"): _mkldnn_rnn_layer,
        ("aten", "mkldnn_rnn_layer_backward"): _mkldnn_rnn_layer_backward,
        ("aten", "_cudnn_rnn"): _fused_rnn,
        ("aten", "_cudnn_rnn_backward"): _fused_rnn_backward,
        ("aten", "miopen_rnn"): _fused_rnn,
        ("aten", "miopen_rnn_backward"): _fused_rnn_backward,
        ("quantized", "linear_dynamic"): _linear_dynamic,
        ("quantized", "linear"): _linear_dynamic,
        ("quantized", "linear_relu"): _linear_dynamic,
        ("quantized", "conv2d"): _quantized_conv,
        ("quantized", "conv2d_relu"): _quantized_conv,
        ("aten", "quantized_lstm"): _quantized_rnn(4),
        ("aten", "quantized_gru"): _quantized_rnn(3),
    }
    out = {}
    for (namespace, name), formula in wanted.items():
        try:
            out[getattr(getattr(torch.ops, namespace), name)] = formula
        except (AttributeError, RuntimeError):  # an op this build lacks
            continue
    return out


def TorchFlopCounter():  # noqa: N802 - a factory standing in for a class defined lazily
    """A dispatch mode that counts torch FLOPs (``with counter: ...``, then ``counter.total``).

    Per op it does what ``torch.utils.flop_counter.FlopCounterMode`` does — decompose an
    op that has no formula, else run it and add its formula's count — with the
    project's recurrent-layer formulas added (:func:`rnn_formulas`), and without
    FlopCounterMode's per-module tracking (5-8x slower on small networks). Besides
    ``total`` it keeps ``by_op``: FLOPs per aten op name.
    """
    return _flop_counter_class()()


@functools.lru_cache(maxsize=1)
def _flop_counter_class():
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    extra = rnn_formulas()
    implicit = torch._C.DispatchKey.CompositeImplicitAutograd

    @functools.cache
    def _decomposes(func) -> bool:
        # What OpOverload.decompose checks, once per op: most ops (add, relu, ...) have no
        # decomposition, and entering the mode again only to learn that cost a third of the
        # counted run time of an LSTM-heavy fit (1.6M small ops in NS-VQA's question parser).
        return implicit in func.py_kernels or torch._C._dispatch_has_kernel_for_dispatch_key(func.name(), implicit)

    class _TorchFlopCounter(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.total = 0
            self.by_op: dict[str, int] = {}

        def _add(self, packet, flops: int) -> None:
            if flops:
                self.total += flops
                name = str(packet).removeprefix("aten.")
                self.by_op[name] = self.by_op.get(name, 0) + flops

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            packet = func._overloadpacket
            own = extra.get(packet)
            if own is not None:
                out = func(*args, **kwargs)
                self._add(packet, int(own(*args, **kwargs, out_val=out)))
                return out
            if packet not in flop_registry and func is not torch.ops.prim.device.default and _decomposes(func):
                with self:
                    out = func.decompose(*args, **kwargs)
                if out is not NotImplemented:
                    return out
            out = func(*args, **kwargs)
            formula = flop_registry.get(packet)
            if formula is not None:
                self._add(packet, int(formula(*args, **kwargs, out_val=out)))
            return out

    return _TorchFlopCounter
