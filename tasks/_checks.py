"""Argument checks shared by every package: one home for "is this an int / a finite number".

``bool`` is an ``int`` subclass in Python, and numpy scalars are not Python numbers;
these helpers settle both the same way everywhere: a bool is never a number, a numpy
integer is an int, a numpy float is a real. They live in ``tasks`` (the lowest layer)
so ``neural``, ``symbolic`` and ``hybrid`` may all import them.

Example:
    >>> from hybrid.tasks._checks import check_int, is_int, is_real
    >>> is_int(3), is_int(True), is_int(3.0)
    (True, False, False)
    >>> is_real(1e999), is_real(10**400), is_real(0.5)
    (False, False, True)
    >>> check_int("epochs", 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: epochs must be an int >= 1, got 0
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

__all__ = ["check_int", "check_positive", "check_real", "finite_float", "is_int", "is_real"]


def is_int(value: Any) -> bool:
    """True for a Python or numpy integer, False for a bool and everything else."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def finite_float(value: Any) -> float | None:
    """``value`` as a finite Python float, or ``None`` when it is not a finite real number.

    Bools are not numbers here; an int too large for a float (``10**400``) and
    ``inf``/``nan`` give ``None`` instead of raising ``OverflowError``.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    try:
        out = float(value)
    except (OverflowError, ValueError, TypeError):
        return None
    return out if math.isfinite(out) else None


def is_real(value: Any) -> bool:
    """True for a finite real number (Python or numpy int or float, not a bool)."""
    return finite_float(value) is not None


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` as a Python int, checked to lie in ``[low, high]`` (either bound optional).

    Raises:
        ValueError: naming ``name``, when ``value`` is not an int (bools are not) or is out of range.
    """
    if not is_int(value) or (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            expected = f"an int in [{low}, {high}]"
        elif low is not None:
            expected = f"an int >= {low}"
        elif high is not None:
            expected = f"an int <= {high}"
        else:
            expected = "an int"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def check_real(name: str, value: Any, low: float = -math.inf, high: float = math.inf) -> float:
    """``value`` as a finite Python float, checked to lie in ``[low, high]``.

    Raises:
        ValueError: naming ``name``, when ``value`` is not a finite real number (bools are
            not) or lies outside ``[low, high]``.
    """
    number = finite_float(value)
    if number is None or not low <= number <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return number


def check_positive(name: str, value: Any, *, integer: bool = True, allow_zero: bool = False) -> int | float:
    """``value`` checked to be an int (or, with ``integer=False``, a finite number) ``> 0``
    (``>= 0`` with ``allow_zero``).

    Raises:
        ValueError: naming ``name``, e.g. ``"lr must be a number > 0, got -1"``.
    """
    number: int | float | None = (int(value) if is_int(value) else None) if integer else finite_float(value)
    if number is None or not (number >= 0 if allow_zero else number > 0):
        kind = "an int" if integer else "a number"
        raise ValueError(f"{name} must be {kind} {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return number
