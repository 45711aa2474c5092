"""Chaining compressions: prune, then quantise (or factorise, then quantise, ...).

Every compression function here takes a model and returns a compressed copy, so a chain
is function composition; :func:`compose` runs one and measures each step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hybrid.neural.compress._checks import check_model
from hybrid.neural.compress.report import CompressionReport, compression_report
from torch import nn

Step = Callable[[nn.Module], object]


def _name(step: Step) -> str:
    func = getattr(step, "func", step)  # functools.partial
    return getattr(func, "__name__", type(func).__name__)


def compose(model: nn.Module, steps: Sequence[Step | tuple[str, Step]]) -> tuple[nn.Module, list[CompressionReport]]:
    """Apply compression ``steps`` in order to ``model`` and report each.

    Example (prune 80% of the weights, then int8)::

        from functools import partial
        small, reports = compose(model, [partial(magnitude_prune, amount=0.8), quantize_dynamic_int8])

    Args:
        model: the float model; not changed (each step works on a copy).
        steps: callables ``model -> model`` (or -> a result with a ``.model``, like
            :func:`~hybrid.neural.compress.low_rank.low_rank`), optionally as ``(name, callable)``.

    Returns:
        ``(compressed model, reports)``: one :class:`CompressionReport` per step, then one
        for the whole chain (method ``"a+b+..."``).

    Raises:
        ValueError: no steps, or a step that returns no module.
    """
    method = "compose"
    check_model(model, method)
    if not steps:
        raise ValueError(f"{method}: steps must name at least one compression")
    current, reports, names = model, [], []
    for step in steps:
        name, fn = step if isinstance(step, tuple) else (_name(step), step)
        if not callable(fn):
            raise ValueError(f"{method}: step {name!r} is not callable")
        out = fn(current)
        out = getattr(out, "model", out)
        if not isinstance(out, nn.Module):
            raise ValueError(f"{method}: step {name!r} returned {type(out).__name__}, not a module")
        reports.append(compression_report(name, current, out))
        names.append(name)
        current = out
    reports.append(compression_report("+".join(names), model, current))
    return current, reports
