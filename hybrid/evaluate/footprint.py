"""What a fitted method is and how it stopped: its networks, their size, its latency, its training's end.

Read after a run, outside the metered phases:

- :func:`networks_of` finds the torch networks a fitted method holds (its learned
  attributes, and those of the estimators it wraps), and :func:`model_footprint` counts
  their parameters, non-zero parameters and bytes as saved (``torch.save`` of their
  state dicts). A method without networks (a formula) is measured by its formulas'
  text instead, and has no parameters to count.
- :func:`stopping_of` collects what ended each network's training, from the
  scikit-learn-style attributes ``n_iter_`` and ``stopped_by_`` (and ``iter_unit_``,
  default ``"epochs"``): ``"early-stopping"`` and ``"converged"`` mean the training
  ended itself; ``"epoch-cap"`` and ``"time-cap"`` mean a cap ended it first;
  ``"budget"`` means it used the interaction budget that is the run's x-axis.
- :func:`latency_per_example` times a task's inference call: warm, the median of
  repeats, divided by the batch.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

#: ``stopped_by_`` values that mean a cap, not the training itself, ended it.
CAPS = ("epoch-cap", "time-cap")
#: Objects the walk descends into: the estimators a method wraps (ours, scikit-learn's, SB3's).
_ESTIMATOR_METHODS = ("fit", "learn", "predict")


def _is_module(obj: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is required
        return False
    return isinstance(obj, torch.nn.Module)


def _walk(obj: Any, depth: int = 4, path: str = "", seen: set[int] | None = None) -> Iterator[tuple[str, Any]]:
    """``(path, object)`` for ``obj`` and the estimators, modules and containers it holds.

    Follows an estimator's public attributes, and dicts, lists and tuples; stops at
    torch modules (yielded whole), at ``depth`` and at objects already seen.
    """
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield path, obj
    if depth == 0 or _is_module(obj):
        return
    if isinstance(obj, dict):
        children = [(f"{path}[{k!r}]", v) for k, v in obj.items()]
    elif isinstance(obj, (list, tuple)):
        children = [(f"{path}[{i}]", v) for i, v in enumerate(obj)]
    elif hasattr(obj, "__dict__") and (not path or any(callable(getattr(obj, m, None)) for m in _ESTIMATOR_METHODS)):
        children = [(f"{path}.{k}" if path else k, v) for k, v in vars(obj).items() if not k.startswith("_")]
    else:
        return
    for child_path, child in children:
        if _is_module(child) or isinstance(child, (dict, list, tuple)) or (
            hasattr(child, "__dict__") and not isinstance(child, type)
        ):
            yield from _walk(child, depth - 1, child_path, seen)


def networks_of(method: Any) -> dict[str, Any]:
    """The torch networks a fitted method holds, by attribute path (each network once).

    A network inside another one found first is not listed again.
    """
    out: dict[str, Any] = {}
    params_seen: set[int] = set()
    for path, obj in _walk(method):
        if path and _is_module(obj):
            ids = {id(p) for p in obj.parameters()} | {id(b) for b in obj.buffers()}
            if ids and ids <= params_seen:
                continue
            params_seen |= ids
            out[path] = obj
    return out


def model_footprint(method: Any) -> dict[str, Any]:
    """Size of a fitted method's model.

    Returns:
        ``params`` and ``nonzero_params`` (``None`` without networks; a pruning mask is
        applied and an int8 weight counts as its values, see
        :func:`hybrid.neural.compress.count_parameters`), ``model_bytes`` and ``networks``
        (their paths). ``model_bytes`` is as saved: ``torch.save`` of the networks' state
        dicts, or, when that is smaller, of the same tensors stored sparse (CSR where
        that is smaller, :func:`hybrid.neural.compress.save_sparse`: a pruned network is
        measured as it would be shipped; a dense one, or an int8 one, is measured
        densely). Without networks, the UTF-8 size of the formulas it returns (``None`` if none).
    """
    import torch

    from hybrid.neural.compress import count_nonzero, count_parameters, effective_state_dict, save_sparse

    nets = networks_of(method)
    if not nets:
        formulas = _formulas_text(method)
        return {"params": None, "nonzero_params": None, "networks": [],
                "model_bytes": len(formulas.encode()) if formulas else None}
    params = sum(count_parameters(net) for net in nets.values())
    nonzero = sum(count_nonzero(net) for net in nets.values())
    buffer = io.BytesIO()
    torch.save({path: net.state_dict() for path, net in nets.items()}, buffer)
    model_bytes = buffer.getbuffer().nbytes
    if nonzero < params:
        try:
            flat = {f"{path}/{k}": v for path, net in nets.items() for k, v in effective_state_dict(net).items()}
            model_bytes = min(model_bytes, len(save_sparse(flat)))
        except ValueError:  # a quantised network: int8 storage is dense
            pass
    return {"params": params, "nonzero_params": nonzero, "model_bytes": model_bytes, "networks": sorted(nets)}


def _formulas_text(method: Any) -> str:
    """The formulas a method (or the per-problem estimators it wraps) returns, one per line."""
    texts = []
    for _, obj in _walk(method):
        sympy_of = getattr(obj, "sympy", None)
        if callable(sympy_of) and hasattr(obj, "fit"):
            try:
                texts.append(str(sympy_of()))
            except Exception:  # an unfitted or failed sub-model has no formula
                continue
    return "\n".join(texts)


def stopping_of(method: Any) -> list[dict[str, Any]]:
    """What ended the training of each network the method trained: ``{"n_iter", "unit", "stopped_by"}``."""
    out = []
    for _, obj in _walk(method):
        stopped_by = getattr(obj, "stopped_by_", None) if not isinstance(obj, (dict, list, tuple)) else None
        if isinstance(stopped_by, str):
            out.append({"n_iter": int(getattr(obj, "n_iter_", 0) or 0),
                        "unit": str(getattr(obj, "iter_unit_", "epochs")), "stopped_by": stopped_by})
    return out


def summarise_stopping(stops: list[dict[str, Any]]) -> dict[str, Any]:
    """One run's stopping record: the most ``iterations``, their unit, the reasons and whether a cap ended any.

    ``stopped_by`` counts each reason in words (``"early-stopping x8, epoch-cap x2"``),
    ``stop_counts`` as a dict; ``capped`` is true when any network was ended by a cap.
    Empty input gives an empty dict.
    """
    if not stops:
        return {}
    counts: dict[str, int] = {}
    for s in stops:
        counts[s["stopped_by"]] = counts.get(s["stopped_by"], 0) + 1
    text = ", ".join(k if v == 1 and len(stops) == 1 else f"{k} x{v}" for k, v in sorted(counts.items()))
    units = sorted({s["unit"] for s in stops})
    return {"iterations": max(s["n_iter"] for s in stops), "iteration_unit": "/".join(units), "stopped_by": text,
            "stop_counts": counts, "capped": any(s["stopped_by"] in CAPS for s in stops)}


def latency_per_example(call: Callable[[], Any], batch: int, *, repeats: int = 7, budget_s: float = 1.0) -> float:
    """Seconds per example of ``call`` (which handles ``batch`` examples): warm, median of repeats.

    One untimed warm-up call, then up to ``repeats`` timed calls, stopping early once
    three are done and ``budget_s`` has passed.
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    call()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
        if len(times) >= 3 and time.perf_counter() - start > budget_s:
            break
    return statistics.median(times) / batch
