"""The one place where a ``device="auto"|"cpu"|"cuda"`` argument becomes a ``torch.device``."""

from __future__ import annotations

import torch

__all__ = ["check_device_name", "torch_device"]


def check_device_name(device: object) -> str:
    """Check a device name's form, without asking whether that device is there.

    For parameter checks that must pass on a machine without CUDA (an estimator's
    ``device="cuda"`` is resolved, by :func:`torch_device`, only when it runs).

    Example:
        >>> check_device_name("cuda:1")
        'cuda:1'

    Raises:
        ValueError: naming ``device``, for anything but ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    """
    if not isinstance(device, str) or not (
        device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())
    ):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return device


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
    if check_device_name(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device != "cpu" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but no CUDA device is available")
    return torch.device(device)
