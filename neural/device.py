"""The one place where a ``device="auto"|"cpu"|"cuda"`` argument becomes a ``torch.device``."""

from __future__ import annotations

import torch


def torch_device(device: str) -> torch.device:
    """Resolve a device name.

    Args:
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Example:
        >>> torch_device("cpu")
        device(type='cpu')

    Returns:
        The ``torch.device``.

    Raises:
        ValueError: any other value, or a CUDA device asked for where there is none.
    """
    if not isinstance(device, str):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device != "cpu" and device != "cuda" and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device != "cpu" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but no CUDA device is available")
    return torch.device(device)
