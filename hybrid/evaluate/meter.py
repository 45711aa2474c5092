"""The Meter: what a phase of work (training, inference) cost.

Per phase it records wall and CPU seconds, peak resident memory, torch FLOPs counted
with the formulas of ``torch.utils.flop_counter`` plus the project's own for the fused
recurrent kernels (see :mod:`hybrid.evaluate.flops`), floating-point work a symbolic method
reports analytically, counted symbolic operations, and energy / CO2e: measured by RAPL
where readable, else CodeCarbon's estimate, and which of the two in ``energy_mode``
(see :mod:`hybrid.evaluate.energy`).
On ``cuda`` it synchronises before reading clocks and records
``torch.cuda.max_memory_allocated``.

A method reports symbolic work with :func:`record_ops` (and numpy FLOPs it can count
with :func:`record_flops`); both go to the phase being metered, and do nothing when no
meter is running, so library code can call them unconditionally.
"""

from __future__ import annotations

import contextlib
import contextvars
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from hybrid.evaluate.energy import EnergyTracker
from hybrid.evaluate.flops import TorchFlopCounter

_ACTIVE: contextvars.ContextVar[PhaseMeasure | None] = contextvars.ContextVar(
    "hybrid_meter_phase", default=None
)


def record_ops(kind: str, count: int = 1) -> None:
    """Add ``count`` symbolic operations of ``kind`` to the running phase (no-op outside one).

    Kinds name the unit of work: ``"candidates"`` (expressions evaluated),
    ``"program_steps"``, ``"simulations"`` (tree-search rollouts), ...
    """
    phase = _ACTIVE.get()
    if phase is not None:
        phase.symbolic_ops[kind] = phase.symbolic_ops.get(kind, 0) + int(count)


def record_flops(count: float) -> None:
    """Add analytically counted floating-point operations (numpy work) to the running phase."""
    phase = _ACTIVE.get()
    if phase is not None:
        phase.flops_reported += float(count)


@dataclass
class PhaseMeasure:
    """The cost of one phase.

    Attributes:
        wall_s: elapsed seconds.
        cpu_s: CPU seconds of this process (user + system).
        peak_rss_bytes: peak resident memory of the process during the phase.
        flops_torch: FLOPs of torch ops (:func:`~hybrid.evaluate.flops.TorchFlopCounter`).
        flops_by_op: ``flops_torch`` split by aten op (``mm``, ``convolution``,
            ``mkldnn_rnn_layer``, ...).
        flops_reported: FLOPs a method counted analytically (numpy linear algebra).
        symbolic_ops: counted symbolic operations by kind.
        energy_kwh: energy of the phase (CPU + RAM (+ GPU)).
        co2e_kg: emissions of that energy at the configured grid's carbon intensity.
        energy_mode: ``"measured"`` (RAPL), ``"estimated"`` (CodeCarbon's model),
            ``"unavailable"`` or ``"not measured"`` (energy tracking off).
        energy_source: how energy was obtained, in words (what was read or assumed).
        cpu_tdp_w: the TDP an estimate assumed (NaN when measured).
        cpu_tdp_source: where that TDP came from.
        device: the device the work ran on.
        gpu_peak_bytes: ``torch.cuda.max_memory_allocated`` on cuda, else 0.
    """

    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_bytes: int = 0
    flops_torch: float = 0.0
    flops_by_op: dict[str, float] = field(default_factory=dict)
    flops_reported: float = 0.0
    symbolic_ops: dict[str, int] = field(default_factory=dict)
    energy_kwh: float = float("nan")
    co2e_kg: float = float("nan")
    energy_mode: str = "not measured"
    energy_source: str = "not measured"
    cpu_tdp_w: float = float("nan")
    cpu_tdp_source: str = ""
    device: str = "cpu"
    gpu_peak_bytes: int = 0

    @property
    def flops(self) -> float:
        """Total floating-point work: torch counted plus analytically reported."""
        return self.flops_torch + self.flops_reported

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, with the total ``flops`` included."""
        d = asdict(self)
        d["flops"] = self.flops
        return d


def resolve_device(device: str) -> str:
    """Map ``"auto" | "cpu" | "cuda" | "cuda:N"`` to a concrete device string.

    The device name as a string, for configs and records; the resolution itself is
    :func:`hybrid.neural.device.torch_device`'s, the project's one resolver.

    Raises:
        ValueError: for anything else, or ``cuda`` when no CUDA device is available.
    """
    from hybrid.neural.device import torch_device

    return str(torch_device(device))


def _read_hwm_bytes() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class Meter:
    """Measures phases of work; use one per run.

    Args:
        device: ``"cpu"`` or ``"cuda[:N]"`` (already resolved).
        count_flops: count torch FLOPs with ``FlopCounterMode`` (slows tiny ops down).
        track_energy: measure energy (RAPL, else CodeCarbon's estimate).

    Example:
        >>> meter = Meter("cpu", track_energy=False)
        >>> with meter.phase("train"):
        ...     pass
        >>> meter.phases["train"].wall_s >= 0
        True
    """

    def __init__(self, device: str = "cpu", *, count_flops: bool = True, track_energy: bool = True):
        self.device = device
        self.count_flops = count_flops
        self.track_energy = track_energy
        self.phases: dict[str, PhaseMeasure] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[PhaseMeasure]:
        """Measure the enclosed block as phase ``name``; yields its :class:`PhaseMeasure`."""
        measure = PhaseMeasure(device=self.device)
        self.phases[name] = measure
        token = _ACTIVE.set(measure)
        cuda = self.device.startswith("cuda")
        torch = _torch_if_loaded() if (self.count_flops or cuda) else None
        if cuda and torch is not None:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        hwm_reset = _reset_hwm()
        energy = EnergyTracker.get().measure(measure) if self.track_energy else _null()
        flop_mode = None
        if self.count_flops and torch is not None:
            flop_mode = TorchFlopCounter()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        try:
            with energy, (flop_mode if flop_mode is not None else _null()):
                yield measure
                if cuda and torch is not None:
                    torch.cuda.synchronize()
        finally:
            measure.wall_s = time.perf_counter() - t0
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            measure.cpu_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
            hwm = _read_hwm_bytes() if hwm_reset else None
            # ru_maxrss is KiB on Linux, bytes on macOS; it is the process's lifetime peak.
            maxrss = ru1.ru_maxrss if sys.platform == "darwin" else ru1.ru_maxrss * 1024
            measure.peak_rss_bytes = hwm if hwm is not None else maxrss
            if flop_mode is not None:
                measure.flops_torch = float(flop_mode.total)
                measure.flops_by_op = {k: float(v) for k, v in sorted(flop_mode.by_op.items())}
            if cuda and torch is not None:
                measure.gpu_peak_bytes = int(torch.cuda.max_memory_allocated())
            _ACTIVE.reset(token)


def _torch_if_loaded():
    try:
        import torch
    except ImportError:  # pragma: no cover
        return None
    return torch


@contextlib.contextmanager
def _null() -> Iterator[None]:
    yield
