"""Energy of a phase of work, measured where the machine allows it and estimated, said so, where not.

CPU energy comes from RAPL, read from Linux powercap (``/sys/class/powercap``) when its
counters are readable: the package and DRAM domains' ``energy_uj``. That is a
measurement of the whole CPU package, every process on it included. Where RAPL is not
readable (a VM, a container, a non-root user since the 2020 side-channel fix), CPU
energy is CodeCarbon's estimate: the process's share of CPU load times a TDP, the TDP
taken from CodeCarbon's table of CPU models, or, for a model it does not know, its
default of 4 W per thread — or from ``HYBRID_CPU_TDP_W`` when the user knows better.
GPU energy (NVML) and RAM energy (an estimate from memory size) are CodeCarbon's;
CO2e is the energy times CodeCarbon's grid intensity for ``HYBRID_CO2_COUNTRY``
(default USA).

:class:`EnergyMode` says which of these a phase got, in words the report prints.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POWERCAP = Path("/sys/class/powercap")
#: Environment variable: the CPU's TDP in watts, for the estimate when RAPL is not readable.
TDP_VARIABLE = "HYBRID_CPU_TDP_W"
J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class EnergyMode:
    """How a phase's energy was obtained.

    Attributes:
        mode: ``"measured"`` (RAPL for the CPU), ``"estimated"`` (CodeCarbon's model)
            or ``"unavailable"``.
        source: one line for the report (what was read or assumed, and from where).
        cpu_tdp_w: the TDP an estimate assumed (``None`` when measured or unknown).
        cpu_tdp_source: where that TDP came from.
    """

    mode: str
    source: str
    cpu_tdp_w: float | None = None
    cpu_tdp_source: str | None = None


class RaplReader:
    """The RAPL energy counters of Linux powercap: package domains and their DRAM subdomains.

    Args:
        root: the powercap folder (a test passes a folder of fake counters).

    Attributes:
        domains: the counter folders found readable, e.g. ``intel-rapl:0`` (package-0).
    """

    def __init__(self, root: str | os.PathLike = POWERCAP):
        self.root = Path(root)
        self.domains: list[Path] = [d for d in self._candidates() if self._readable(d)]

    def _candidates(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        out = []
        for d in sorted(self.root.glob("intel-rapl:*")):
            parts = d.name.split(":")
            name = _read_text(d / "name") or ""
            # Packages (intel-rapl:N) hold core and uncore; DRAM (intel-rapl:N:M named dram) is outside them.
            if len(parts) == 2 or (len(parts) == 3 and name == "dram"):
                out.append(d)
        return out

    @staticmethod
    def _readable(domain: Path) -> bool:
        return _read_int(domain / "energy_uj") is not None

    @property
    def available(self) -> bool:
        """True when at least one package counter can be read."""
        return any(len(d.name.split(":")) == 2 for d in self.domains)

    def names(self) -> list[str]:
        """The domains' names (``package-0``, ``dram``, ...)."""
        return [_read_text(d / "name") or d.name for d in self.domains]

    def read(self) -> dict[Path, int]:
        """Each domain's counter, in microjoules."""
        return {d: _read_int(d / "energy_uj") or 0 for d in self.domains}

    def joules(self, before: dict[Path, int], after: dict[Path, int]) -> float:
        """Energy between two :meth:`read` results, with counters that wrapped around counted once."""
        total = 0
        for d, start in before.items():
            end = after.get(d, start)
            span = _read_int(d / "max_energy_range_uj")
            delta = end - start
            if delta < 0 and span:
                delta += span + 1
            total += max(delta, 0)
        return total / 1e6


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    text = _read_text(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _tdp_override() -> float | None:
    """``HYBRID_CPU_TDP_W`` as a positive finite number; ``ValueError`` naming it otherwise."""
    text = os.environ.get(TDP_VARIABLE)
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{TDP_VARIABLE} must be a number of watts, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{TDP_VARIABLE} must be a positive number of watts, got {text!r}")
    return value


def codecarbon_tdp_source(model: str, tdp: float | None) -> str:
    """Where CodeCarbon's TDP for CPU ``model`` came from: its table (which entry) or its per-thread default."""
    try:
        from codecarbon.core.cpu import DEFAULT_POWER_PER_CORE, TDP
        from codecarbon.input import DataSource

        table = DataSource().get_cpu_power_data()
        match = TDP._get_matching_cpu(TDP.__new__(TDP), model, table)
    except Exception as exc:  # CodeCarbon's internals moved: say what we know
        return f"CodeCarbon (its source could not be read: {type(exc).__name__})"
    if match:
        return f"CodeCarbon's CPU table, entry {match!r}"
    threads = os.cpu_count() or 1
    return (f"CodeCarbon's default for a CPU model it does not know ({model!r}): "
            f"{DEFAULT_POWER_PER_CORE} W per thread x {threads} threads")


class EnergyTracker:
    """One per process: RAPL where readable, a CodeCarbon tracker started once, and a task per phase.

    Starting a CodeCarbon tracker costs over a second (hardware detection), so phases use
    its ``start_task`` / ``stop_task``. Get the shared instance with :meth:`get`.

    Attributes:
        mode: the :class:`EnergyMode` every phase of this process gets.
    """

    _instance: EnergyTracker | None = None

    def __init__(self, powercap: str | os.PathLike = POWERCAP) -> None:
        self.rapl = RaplReader(powercap)
        self.tracker = None
        self.country = os.environ.get("HYBRID_CO2_COUNTRY", "USA")
        override = _tdp_override()
        problem = None
        try:
            from codecarbon import OfflineEmissionsTracker

            for name in ("codecarbon", "codecarbon.core", "codecarbon.emissions_tracker"):
                logging.getLogger(name).setLevel(logging.ERROR)
            kwargs: dict[str, Any] = {"force_cpu_power": override} if override is not None else {}
            # Write no file: newer CodeCarbon takes output_methods=[] and warns about save_to_file.
            if "output_methods" in inspect.signature(OfflineEmissionsTracker.__init__).parameters:
                kwargs["output_methods"] = []
            else:
                kwargs["save_to_file"] = False
            self.tracker = OfflineEmissionsTracker(
                country_iso_code=self.country, log_level="error", tracking_mode="process",
                measure_power_secs=1, allow_multiple_runs=True, **kwargs)
            self.tracker.start()
            # The first task after start pays a ~1 s first measurement; pay it here, outside any phase.
            self.tracker.start_task("warm-up")
            self.tracker.stop_task()
        except Exception as exc:  # energy is optional: never fail a run for it
            self.tracker = None
            problem = f"{type(exc).__name__}: {exc}"
        self.mode = self._describe(override, problem)

    def _describe(self, override: float | None, problem: str | None) -> EnergyMode:
        rest = self._codecarbon_parts()
        intensity = f"CO2e at {self.country} grid intensity (CodeCarbon)"
        if self.rapl.available:
            parts = [f"CPU: measured by RAPL ({', '.join(self.rapl.names())}; the whole package, every process)"]
            parts += [p for p in rest if not p.startswith("CPU")]
            return EnergyMode("measured", "; ".join(parts + [intensity]))
        if self.tracker is None:
            return EnergyMode("unavailable", f"not measured: RAPL not readable and CodeCarbon failed ({problem})")
        cpu = self._cpu_hardware()
        tdp = getattr(cpu, "_tdp", None)
        model = str(getattr(cpu, "_model", "unknown CPU"))
        if override is not None:
            source = f"{TDP_VARIABLE} (set by the user)"
        else:
            source = codecarbon_tdp_source(model, tdp)
        mode = getattr(cpu, "_mode", "unknown")
        cpu_text = (f"CPU: estimated, not measured (RAPL not readable at {self.rapl.root}): CodeCarbon's {mode} "
                    f"model, the process's CPU load x a TDP of {tdp} W, from {source}")
        parts = [cpu_text] + [p for p in rest if not p.startswith("CPU")]
        return EnergyMode("estimated", "; ".join(parts + [intensity]), float(tdp) if tdp else None, source)

    def _cpu_hardware(self):
        return next((hw for hw in getattr(self.tracker, "_hardware", []) if type(hw).__name__ == "CPU"), None)

    def _codecarbon_parts(self) -> list[str]:
        parts = []
        for hw in getattr(self.tracker, "_hardware", []) if self.tracker is not None else []:
            kind = type(hw).__name__
            if kind == "GPU":
                parts.append("GPU: measured by NVML")
            elif kind == "RAM":
                parts.append("RAM: estimated from memory size (CodeCarbon)")
        return parts

    @classmethod
    def get(cls) -> EnergyTracker:
        """The process's shared tracker (created on first use)."""
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    @contextlib.contextmanager
    def measure(self, phase: Any) -> Iterator[None]:
        """Measure the enclosed block into ``phase`` (a PhaseMeasure): energy, CO2e and the mode's fields."""
        phase.energy_mode = self.mode.mode
        phase.energy_source = self.mode.source
        phase.cpu_tdp_w = math.nan if self.mode.cpu_tdp_w is None else self.mode.cpu_tdp_w
        phase.cpu_tdp_source = self.mode.cpu_tdp_source or ""
        rapl_before = self.rapl.read() if self.rapl.available else None
        started = False
        if self.tracker is not None:
            try:
                self.tracker.start_task(f"phase-{id(phase)}")
                started = True
            except Exception as exc:
                phase.energy_source = f"{self.mode.source}; CodeCarbon task failed ({type(exc).__name__}: {exc})"
        try:
            yield
        finally:
            data = None
            if started:
                try:
                    data = self.tracker.stop_task()
                except Exception as exc:
                    phase.energy_source = f"{self.mode.source}; CodeCarbon task failed ({type(exc).__name__}: {exc})"
            self._fill(phase, data, rapl_before)

    def _fill(self, phase: Any, data: Any, rapl_before: dict | None) -> None:
        if rapl_before is not None:
            cpu_kwh = self.rapl.joules(rapl_before, self.rapl.read()) / J_PER_KWH
            dram_measured = any(n == "dram" for n in self.rapl.names())
            other = 0.0 if data is None else float(data.gpu_energy) + (0.0 if dram_measured else float(
                data.ram_energy))
            phase.energy_kwh = cpu_kwh + other
            intensity = _intensity(data)
            phase.co2e_kg = phase.energy_kwh * intensity if intensity is not None else math.nan
        elif data is not None:
            phase.energy_kwh = float(data.energy_consumed)
            phase.co2e_kg = float(data.emissions)


def _intensity(data: Any) -> float | None:
    """kg CO2e per kWh from a CodeCarbon task's figures (``None`` when it measured no energy)."""
    if data is None or not float(data.energy_consumed) > 0:
        return None
    return float(data.emissions) / float(data.energy_consumed)
