"""Int8 quantisation on the CPU: post-training dynamic, and quantisation-aware training.

- :func:`quantize_dynamic_int8` — post-training dynamic quantisation (weights stored as
  int8 with one scale per tensor, activations quantised on the fly per batch) of
  ``nn.Linear``, ``nn.LSTM`` and ``nn.GRU``: ``torch.ao.quantization.quantize_dynamic``.
  No data, no training; weights take 1 byte instead of 4.
- :func:`prepare_qat` / :func:`convert_qat` — quantisation-aware training (Jacob et al.
  2018, "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
  Inference"), eager mode: the model is wrapped between a ``QuantStub`` and a
  ``DeQuantStub``, fake-quantisation modules simulate int8 rounding while the caller
  trains it, and ``convert`` then swaps in real int8 kernels (weights and activations).

**Engine.** Int8 kernels come from a backend: ``"x86"`` (FBGEMM plus oneDNN, PyTorch's
default on x86 CPUs since 2.0), ``"fbgemm"`` (x86 server CPUs, AVX2/AVX-512) or
``"qnnpack"`` (ARM / mobile). The QAT observers must be made for the engine that will run
the converted model (``qnnpack`` restricts weights to a 7-bit-safe range, ``x86``/
``fbgemm`` use per-channel weights and reduce_range activations). ``engine=None`` takes
``torch.backends.quantized.engine`` (``"x86"`` on this project's x86 machines); any other
engine is set globally with ``torch.backends.quantized.engine``, which is where torch reads
it at inference too.

``torch.ao.quantization`` warns that it is deprecated in favour of torchao's
``quantize_`` API; it is still what torch 2.13 ships with and these functions use it,
silencing only its deprecation notices. ``quantize_dynamic_int8(..., backend="torchao")``
uses torchao instead (Linear layers; tested with torchao 0.18.0), and ``backend="auto"``
falls back to it once torch no longer ships ``torch.ao.quantization``. torchao is not a
dependency.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Callable, Sequence

import torch
from hybrid.neural.compress._checks import ATTENTION, RECURRENT, check_model, reject, require
from torch import nn

#: Layer types :func:`quantize_dynamic_int8` quantises.
DYNAMIC = (nn.Linear, nn.LSTM, nn.GRU)
#: Layer types eager-mode QAT quantises (others run between them must have int8 kernels).
QAT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r".*quantized tensor creation functions", category=UserWarning)
        warnings.filterwarnings("ignore", message=r".*reduce_range will be deprecated", category=UserWarning)
        yield


def _engine(engine: str | None, method: str) -> str:
    supported = torch.backends.quantized.supported_engines
    if engine is None:
        engine = torch.backends.quantized.engine
    if engine not in supported or engine == "none":
        raise ValueError(f"{method}: engine must be one of {[e for e in supported if e != 'none']}, got {engine!r}")
    if torch.backends.quantized.engine != engine:
        torch.backends.quantized.engine = engine
    return engine


def _has_torch_ao() -> bool:
    try:
        from torch.ao.quantization import quantize_dynamic  # noqa: F401
    except ImportError:
        return False
    return True


def _has_torchao() -> bool:
    import importlib.util

    return importlib.util.find_spec("torchao") is not None


def is_quantised(model: nn.Module) -> bool:
    """Whether ``model`` holds a layer of torch's quantised modules (int8 kernels, which run on the CPU only)."""
    return any(type(m).__module__.startswith(("torch.ao.nn.quantized", "torch.nn.quantized")) for m in model.modules())


def quantize_dynamic_int8(model: nn.Module, *, layer_types: Sequence[type] = DYNAMIC,
                          engine: str | None = None, backend: str = "auto") -> nn.Module:
    """Post-training dynamic int8 quantisation of a copy of ``model``.

    ``w_int8 = round(w / s)``, ``s = max|w| / 127`` per tensor (symmetric, so a pruned zero
    stays exactly zero); activations are quantised per batch at run time.

    Args:
        model: a module holding at least one of ``layer_types`` (Linear, LSTM, GRU); not changed.
        layer_types: which layer types to quantise.
        engine: quantised backend (see the module note); None for the current one.
        backend: ``"torch.ao"`` (``torch.ao.quantization.quantize_dynamic``), ``"torchao"``
            (torchao's ``quantize_`` with ``Int8DynamicActivationInt8WeightConfig``: Linear
            layers only, the optional torchao package) or ``"auto"``: torch.ao while this
            torch ships it, else torchao when installed.

    Returns:
        The quantised copy, in eval mode (torch.ao: CPU only; neither can be trained).

    Raises:
        ValueError: no layer of ``layer_types`` in the model, an unsupported type / engine,
            or a backend that is not available.
    """
    method = "quantize_dynamic_int8"
    check_model(model, method)
    types = tuple(layer_types)
    bad = [t.__name__ for t in types if t not in DYNAMIC]
    if bad:
        raise ValueError(f"{method}: layer types {bad} have no dynamic int8 kernel; choose from Linear, LSTM, GRU")
    require(model, types, method)
    if backend not in ("auto", "torch.ao", "torchao"):
        raise ValueError(f"{method}: backend must be 'auto', 'torch.ao' or 'torchao', got {backend!r}")
    if backend == "auto":
        backend = "torch.ao" if _has_torch_ao() else "torchao"
    if backend == "torch.ao" and not _has_torch_ao():
        raise ValueError(f"{method}: this torch ({torch.__version__}) has no torch.ao.quantization; "
                         f"use backend='torchao'")
    if backend == "torchao":
        return _quantize_torchao(model, types, method)
    _engine(engine, method)
    with _quiet():
        from torch.ao.quantization import quantize_dynamic

        # quantize_dynamic swaps children only: hold the model in a container so that a bare
        # nn.Linear / nn.LSTM is quantised too
        holder = quantize_dynamic(nn.Sequential(copy.deepcopy(model).cpu().eval()), set(types), dtype=torch.qint8)
    out = holder[0]
    _check_none_left(out, lambda m: type(m) in types, method)
    return out


def _check_none_left(model: nn.Module, is_float: Callable[[nn.Module], bool], method: str) -> None:
    """ValueError naming the first layer that quantisation left in float (never a silent no-op)."""
    for name, module in model.named_modules():
        if is_float(module):
            raise ValueError(f"{method}: layer {name or '<model>'!r} ({type(module).__name__}) was left in float "
                             f"by the quantiser")


def _quantize_torchao(model: nn.Module, types: tuple[type, ...], method: str) -> nn.Module:
    """torchao's int8 dynamic-activation, int8-weight quantisation of the Linear layers of a copy."""
    if not _has_torchao():
        raise ValueError(f"{method}: backend 'torchao' needs the torchao package (pip install torchao)")
    found = [(n, type(m).__name__) for n, m in model.named_modules() if isinstance(m, tuple(types)) and
             not isinstance(m, nn.Linear)]
    if found:
        name, kind = found[0]
        raise ValueError(f"{method}: layer {name!r} ({kind}) is not quantised by the torchao backend "
                         f"(Linear only); use backend='torch.ao' or layer_types=(nn.Linear,)")
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    out = copy.deepcopy(model).eval()
    quantize_(out, Int8DynamicActivationInt8WeightConfig(), filter_fn=lambda m, _fqn: isinstance(m, nn.Linear))
    _check_none_left(out, lambda m: isinstance(m, nn.Linear) and type(m.weight.detach()) is torch.Tensor, method)
    return out


class QuantWrapper(nn.Module):
    """``DeQuantStub(model(QuantStub(x)))``: the float boundary of an eager-mode quantised model."""

    def __init__(self, model: nn.Module):
        super().__init__()
        from torch.ao.quantization import DeQuantStub, QuantStub

        self.quant = QuantStub()
        self.model = model
        self.dequant = DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Quantise ``x``, run the model, dequantise its output."""
        return self.dequant(self.model(self.quant(x)))


def prepare_qat(model: nn.Module, *, engine: str | None = None,
                fuse: Sequence[Sequence[str]] = ()) -> nn.Module:
    """Make a copy of ``model`` ready for quantisation-aware training (eager mode).

    The copy is wrapped in :class:`QuantWrapper`, optionally fused (``fuse`` lists names of
    consecutive ``[conv, bn, relu]`` / ``[linear, relu]`` modules, relative to ``model``),
    given the engine's default QAT qconfig and passed to ``torch.ao.quantization.prepare_qat``:
    fake-quantisers now round weights and activations to int8 in the forward pass, and
    gradients pass them straight through.

    Args:
        model: a feed-forward module of Linear / Conv layers with activations, pooling,
            BatchNorm and flatten between them (residual ``+`` needs ``FloatFunctional``); not changed.
        engine: quantised backend (see the module note).
        fuse: module-name groups to fuse before training.

    Returns:
        The prepared copy in train mode; train it (the caller's loop), then :func:`convert_qat`.

    Raises:
        ValueError: no Linear/Conv layer, or a recurrent or attention layer (use
            :func:`quantize_dynamic_int8` for those).
    """
    method = "prepare_qat"
    check_model(model, method)
    reject(model, RECURRENT + ATTENTION, method, "eager-mode QAT has no static int8 kernel for it; "
                                                 "use quantize_dynamic_int8")
    require(model, QAT_LAYERS, method)
    engine = _engine(engine, method)
    with _quiet():
        from torch.ao import quantization as tq

        inner = copy.deepcopy(model).cpu().train()
        if fuse:
            inner = tq.fuse_modules_qat(inner, [list(group) for group in fuse])
        wrapped = QuantWrapper(inner)
        wrapped.qconfig = tq.get_default_qat_qconfig(engine)
        return tq.prepare_qat(wrapped.train())


def convert_qat(model: nn.Module) -> nn.Module:
    """Turn a model prepared by :func:`prepare_qat` (and trained) into a real int8 model.

    Returns:
        A converted copy in eval mode (int8 weights and activations, CPU only).

    Raises:
        ValueError: a model that :func:`prepare_qat` did not prepare.
    """
    from torch.ao.quantization import FakeQuantizeBase

    if not isinstance(model, QuantWrapper) or not any(isinstance(m, FakeQuantizeBase) for m in model.modules()):
        raise ValueError(f"convert_qat: layer {type(model).__name__} was not prepared by prepare_qat")
    with _quiet():
        from torch.ao.quantization import convert

        return convert(copy.deepcopy(model).cpu().eval())


def quantization_aware_training(model: nn.Module, train_fn: Callable[[nn.Module], None], *,
                                engine: str | None = None, fuse: Sequence[Sequence[str]] = ()) -> nn.Module:
    """:func:`prepare_qat`, then ``train_fn(prepared)`` (the caller's loop), then :func:`convert_qat`.

    Returns:
        The int8 model.
    """
    prepared = prepare_qat(model, engine=engine, fuse=fuse)
    train_fn(prepared)
    return convert_qat(prepared)
