"""What a measurement ran on: the one place that describes the machine (CPU model, cores, versions).

Reports and reproduce summaries put :func:`machine_info` beside their numbers, so a
timing read later says which CPU, how many usable cores and which library versions gave it.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

__all__ = ["cpu_model", "machine_info"]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``'s ``model name`` on Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_info() -> dict[str, Any]:
    """Describe this machine: CPU model and counts, thread settings, OS, Python, numpy and torch versions.

    ``torch`` (version and thread count) is reported only when it is already imported, so
    calling this never loads it.

    Example:
        >>> info = machine_info()
        >>> sorted(k for k in info if k in ("cpu", "cpu_count", "python"))
        ['cpu', 'cpu_count', 'python']
    """
    import numpy as np

    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "cpu_count": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    return info
