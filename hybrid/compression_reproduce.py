"""``hybrid reproduce compression``: what compression buys the deep baselines, measured directly (issue 17).

Not a sweep: one teacher per (model, seed, equation), trained once at the largest
size, then compressed every way that applies, each compressed copy measured beside
the teacher on the same machine in the same process:

- **the regression MLP** (:class:`~hybrid.neural.regression.MLPRegressor`, one hidden
  width, on power laws of the Feynman table): magnitude pruning at 90% and 95% with
  fine-tuning, structured pruning of 50% and 75% of the hidden units with fine-tuning,
  dynamic int8, low rank (truncated SVD, fine-tuned), distillation into a student with
  5x fewer parameters, and a lottery ticket — the recipes of
  :class:`hybrid.compression.CompressedDeep`, run on one trained teacher;
- **a CNN**: the planning perception net (:class:`~hybrid.neural.planning.perception.CellNet`
  inside :class:`~hybrid.neural.planning.perception.GridPerception`), trained on labelled
  frames of the 8-puzzle, with the compressions that apply to convolutions (magnitude
  and structured pruning, low rank) and dynamic int8, which quantises only its Linear
  head (torch's dynamic int8 has no Conv2d kernel: said in the table).

Per compressed copy: parameters and non-zero parameters (a pruned zero is not counted;
biases and BatchNorm weights are counted, they are not pruned), the metric lost against
the teacher (R^2 in range on held-out points, or cell accuracy on held-out frames, in
points = 100 x the difference), warm latency per example of the network's forward pass
at batch 1 and at the task's batch (median of repeats,
:func:`~hybrid.evaluate.footprint.latency_per_example`), the bytes of the file written
(``torch.save`` of the state dict, CSR-sparse where that is smaller), and inference
FLOPs per example (torch's counter, :func:`~hybrid.evaluate.flops.TorchFlopCounter`:
a pruned network still runs dense kernels, so its counted FLOPs do not drop). Ratios are
teacher / compressed (higher is better), so a 2x latency ratio is twice as fast.

Outputs in ``out``: ``compression.md`` (tables, targets beside them, machine),
``summary.json`` (strict JSON), ``models/`` (every network as measured) and ``stages/``
(finished stages: an interrupted run resumes).
"""

from __future__ import annotations

import copy
import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.evaluate.stages import StageStore, dumps_strict

__all__ = ["CNN_COMPRESSIONS", "MLP_COMPRESSIONS", "TARGETS", "Compression", "reproduce_compression"]


@dataclass(frozen=True)
class Compression:
    """One compression to measure: a row name, a :data:`hybrid.compression.RECIPES` recipe and its settings."""

    name: str
    recipe: str
    settings: dict[str, Any] = field(default_factory=dict)


#: Gradual magnitude pruning (not one of :data:`hybrid.compression.RECIPES`): prune to each sparsity of
#: ``schedule`` in turn, fine-tuning with the zeros held after each step (Han et al. 2015's prune-retrain).
GRADUAL = "prune-gradual"
#: Quantisation-aware training to static int8 (eager mode; not one of :data:`hybrid.compression.RECIPES`):
#: fake-quantised fine-tuning, then weights *and* activations int8, convolutions included.
QAT = "qat-int8"

#: The regression MLP's compressions.
MLP_COMPRESSIONS: tuple[Compression, ...] = (
    Compression("prune 90% (one shot)", "prune", {"amount": 0.9}),
    Compression("prune 95% (one shot)", "prune", {"amount": 0.95}),
    Compression("prune 90% (gradual: 50, 75, 90)", GRADUAL, {"schedule": (0.5, 0.75, 0.9)}),
    Compression("prune 95% (gradual: 50, 75, 90, 95)", GRADUAL, {"schedule": (0.5, 0.75, 0.9, 0.95)}),
    Compression("structured 50%", "prune-structured", {"amount": 0.5}),
    Compression("structured 75%", "prune-structured", {"amount": 0.75}),
    Compression("int8 (dynamic)", "int8"),
    Compression("int8 (static, quantisation-aware training)", QAT),
    Compression("prune 90% + int8", "prune+int8", {"amount": 0.9}),
    Compression("low rank (90% energy)", "low-rank", {"energy": 0.9}),
    Compression("distilled (5x fewer params)", "distill", {"factor": 5.0}),
    Compression("lottery ticket (4 x 50%)", "lottery", {"amount": 0.5, "rounds": 4}),
)

#: The CNN's compressions (no distillation or lottery: they need an MLP student / a retraining budget).
CNN_COMPRESSIONS: tuple[Compression, ...] = (
    Compression("prune 90% (one shot)", "prune", {"amount": 0.9}),
    Compression("prune 95% (one shot)", "prune", {"amount": 0.95}),
    Compression("prune 95% (gradual: 50, 75, 90, 95)", GRADUAL, {"schedule": (0.5, 0.75, 0.9, 0.95)}),
    Compression("structured 50%", "prune-structured", {"amount": 0.5}),
    Compression("structured 75%", "prune-structured", {"amount": 0.75}),
    Compression("int8 (dynamic; Linear head only, convs stay float32)", "int8"),
    Compression("int8 (static, quantisation-aware training; conv+BN+ReLU fused)", QAT),
    Compression("low rank (90% energy)", "low-rank", {"energy": 0.9}),
)

#: The issue's targets: (key, text, recipe the target is about, test on a row).
TARGETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("prune", ">= 10x fewer non-zero parameters with <= 1 point lost", ("prune", GRADUAL, "lottery")),
    ("structured", ">= 2x lower measured latency at the task's batch", ("prune-structured",)),
    ("int8", ">= 3.5x smaller on disk", ("int8", QAT)),
    ("distill", "within 1 point at >= 5x fewer parameters", ("distill",)),
)


@dataclass(frozen=True)
class _Settings:
    """Sizes of one run (full or quick)."""

    equations: tuple[str, ...]
    n_train: int
    width: int
    max_epochs: int
    fine_tune_epochs: int
    lottery_epochs: int
    frames: int
    cnn_seconds: float
    cnn_fine_tune_steps: int
    latency_budget_s: float


FULL = _Settings(("I.12.2", "I.39.22"), 2048, 128, 10000, 1000, 1000, 300, 20.0, 300, 0.5)
QUICK = _Settings(("I.12.2",), 512, 64, 600, 150, 100, 60, 2.0, 30, 0.05)

#: The MLP's batch at the regression task's inference (``FeynmanTask.inference_batch``).
MLP_TASK_BATCH = 500


# ============================================================================ measuring one network


def _latency(net: Any, x: Any, budget_s: float) -> float:
    """Warm seconds per example of ``net(x)``, median of repeats of an inner loop of ~2 ms of work."""
    import torch

    from hybrid.evaluate.footprint import latency_per_example

    batch = int(x.shape[0])
    with torch.inference_mode():
        t0 = time.perf_counter()
        net(x)
        one = max(time.perf_counter() - t0, 1e-6)
        inner = max(1, min(200, int(2e-3 / one)))

        def call() -> None:
            for _ in range(inner):
                net(x)

        return latency_per_example(call, batch * inner, repeats=7, budget_s=budget_s)


def _flops_per_example(net: Any, x: Any) -> float:
    """Counted inference FLOPs of ``net(x)`` divided by the batch."""
    import torch

    from hybrid.evaluate.flops import TorchFlopCounter

    counter = TorchFlopCounter()
    with torch.inference_mode(), counter:
        net(x)
    return counter.total / int(x.shape[0])


def _save(net: Any, path: Path) -> int:
    """Write ``net``'s state dict as stored (CSR-sparse where smaller, int8 as int8); returns its bytes."""
    import io

    import torch

    from hybrid.neural.compress import save_sparse

    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    data = buffer.getvalue()
    try:
        sparse = save_sparse(net)
        if len(sparse) < len(data):
            data = sparse
    except ValueError:  # quantised: dense int8
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path.stat().st_size


def _measure(net: Any, x1: Any, xb: Any, path: Path, budget_s: float) -> dict[str, Any]:
    """Parameters, non-zeros, latency at batch 1 and at ``xb``'s batch, bytes written to ``path``, FLOPs."""
    from hybrid.neural.compress import count_nonzero, count_parameters

    net.eval()
    return {
        "params": count_parameters(net),
        "nonzero": count_nonzero(net),
        "latency_s_b1": _latency(net, x1, budget_s),
        "latency_s_batch": _latency(net, xb, budget_s),
        "batch": int(xb.shape[0]),
        "bytes": _save(net, path),
        "flops_per_example": _flops_per_example(net, xb),
        "file": f"models/{path.parent.name}/{path.name}",
    }


def _with_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add teacher / compressed ratios (and the points lost) to each row; the first row is the teacher."""
    t = rows[0]
    for r in rows:
        r["nonzero_ratio"] = t["nonzero"] / r["nonzero"] if r["nonzero"] else math.inf
        r["params_ratio"] = t["params"] / r["params"]
        r["latency_ratio_b1"] = t["latency_s_b1"] / r["latency_s_b1"]
        r["latency_ratio_batch"] = t["latency_s_batch"] / r["latency_s_batch"]
        r["bytes_ratio"] = t["bytes"] / r["bytes"]
        r["flops_ratio"] = t["flops_per_example"] / r["flops_per_example"] if r["flops_per_example"] else math.inf
        r["points_lost"] = 100.0 * (t["metric"] - r["metric"])
    return rows


def _conv_bn_relu(net: Any) -> list[list[str]]:
    """The names of every ``Sequential(Conv2d, BatchNorm2d, ReLU)`` block's three layers: what QAT fuses."""
    from torch import nn

    kinds = (nn.Conv2d, nn.BatchNorm2d, nn.ReLU)
    return [[f"{name}.{child}" for child, _ in block.named_children()] for name, block in net.named_modules()
            if isinstance(block, nn.Sequential) and len(block) == 3
            and all(isinstance(m, k) for m, k in zip(block, kinds, strict=True))]


def _apply(method: Any, model: Any, c: Compression) -> None:
    """Compress ``model``'s network by ``c`` with ``method`` (a :class:`~hybrid.compression.CompressedDeep`)."""
    if c.recipe == QAT:
        from hybrid.neural.compress import compression_report, quantization_aware_training

        before = method._network(model)
        after = quantization_aware_training(before, method._train_fn(model, method.fine_tune_epochs),
                                            fuse=_conv_bn_relu(before))
        method.compression_ = compression_report(QAT, before, after)
        method._set_network(model, after)
        return
    if c.recipe != GRADUAL:
        method._compress(model)
        return
    import torch

    from hybrid.neural.compress import compression_report, fine_tune, magnitude_prune, make_permanent

    before = method._network(model)
    net, done = before, 0.0
    for target in c.settings["schedule"]:
        net = magnitude_prune(net, 1.0 - (1.0 - target) / (1.0 - done), permanent=False)
        fine_tune(net, method._train_fn(model, method.fine_tune_epochs))
        with torch.no_grad():  # recompute weight = weight_orig * mask outside autograd, so the next copy works
            net.eval()(method._example_inputs(model))
        done = target
    after = make_permanent(net).eval()
    method.compression_ = compression_report(GRADUAL, before, after)
    method._set_network(model, after)


def _slug(text: str) -> str:
    """``"prune 90% + int8"`` -> ``"prune-90-int8"``: a file name."""
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# ============================================================================ the regression MLP


def _mlp_stage(eq: str, seed: int, s: _Settings, models: Path, progress: Any) -> dict[str, Any]:
    """Train the MLP teacher on ``eq`` and measure it and every compression of :data:`MLP_COMPRESSIONS`."""
    import torch

    from hybrid.neural.regression import MLPRegressor
    from hybrid.regression.compressed import CompressedRegressor
    from hybrid.regression.powerlaw_task import PowerLawTask, r2_score

    task = PowerLawTask(equations=[eq])
    train = task.train_set(s.n_train, seed)[0]
    test = task.test_set(seed).in_range[eq]
    start = time.perf_counter()
    teacher = MLPRegressor(widths=(s.width,), learning_rates=(3e-3,), max_epochs=s.max_epochs, seed=seed)
    teacher.fit(train.X, train.y)
    teacher_s = time.perf_counter() - start
    d = train.X.shape[1]
    gen = torch.Generator().manual_seed(seed)
    x1, xb = torch.randn(1, d, generator=gen), torch.randn(MLP_TASK_BATCH, d, generator=gen)
    stem = models / f"mlp-{_slug(eq)}-s{seed}"

    def row(name: str, recipe: str, model: Any, seconds: float) -> dict[str, Any]:
        measured = _measure(model.network_, x1, xb, stem / f"{_slug(name)}.pt", s.latency_budget_s)
        return {"compression": name, "recipe": recipe, "metric": r2_score(test.y, model.predict(test.X)),
                "compress_s": seconds} | measured

    rows = [row("teacher (uncompressed)", "none", teacher, teacher_s)]
    progress.update(1)
    for c in MLP_COMPRESSIONS:
        epochs = s.lottery_epochs if c.recipe == "lottery" else s.fine_tune_epochs
        recipe, settings = ("prune", {}) if c.recipe in (GRADUAL, QAT) else (c.recipe, c.settings)
        method = CompressedRegressor(MLPRegressor(), recipe=recipe, fine_tune_epochs=epochs, seed=seed, **settings)
        method._check_params()
        model = copy.deepcopy(teacher)
        method._data_ = CompressedRegressor._split(model, train.X, train.y)
        start = time.perf_counter()
        _apply(method, model, c)
        rows.append(row(c.name, c.recipe, model, time.perf_counter() - start))
        progress.update(1)
    return {"equation": eq, "seed": seed, "metric": "R^2 in range", "teacher_config": teacher.best_config_,
            "rows": _with_ratios(rows)}


# ============================================================================ the CNN


def _cnn_stage(seed: int, s: _Settings, models: Path, progress: Any) -> dict[str, Any]:
    """Train the 8-puzzle perception CNN and measure it and every compression of :data:`CNN_COMPRESSIONS`."""
    import torch
    import torch.nn.functional as F

    from hybrid.compression import CompressedDeep
    from hybrid.neural.compress import count_parameters
    from hybrid.neural.planning.frames import cell_crops
    from hybrid.neural.planning.perception import GridPerception, collect_labelled_frames
    from hybrid.planning.perceive import _grid_spec

    env = "hybrid/SlidingPuzzle-v0"
    rows_, cols, k = _grid_spec(env, {})
    frames, grids = collect_labelled_frames(env, s.frames, seed)
    test_frames, test_grids = collect_labelled_frames(env, max(50, s.frames // 2), seed + 10_000)
    start = time.perf_counter()
    teacher = GridPerception(rows_, cols, k, seed=seed, max_seconds=s.cnn_seconds).fit(frames, grids)
    teacher_s = time.perf_counter() - start
    side = min(16, frames.shape[1] // rows_)  # GridPerception's default cell_pixels cap

    def inputs(fr: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(np.ascontiguousarray(cell_crops(fr, rows_, cols))).permute(0, 3, 1, 2).float()
        return F.adaptive_avg_pool2d(x, (side, side)) / 127.5 - 1.0

    x_train, y_train = inputs(frames), torch.as_tensor(grids.reshape(-1))
    batch = rows_ * cols  # the task's batch: the cells of one frame
    x1, xb = inputs(test_frames[:1])[:1], inputs(test_frames[:1])

    class _CNN(CompressedDeep):
        """The shared recipes on a :class:`GridPerception`'s net, fine-tuned on the teacher's training cells."""

        def _network(self, model: Any) -> Any:
            return model.net_

        def _set_network(self, model: Any, network: Any) -> None:
            model.net_ = network

        def _example_inputs(self, model: Any) -> Any:
            return x_train[:2]

        def _train_fn(self, model: Any, epochs: int) -> Callable[[Any], None]:
            def train(network: Any) -> None:
                """``epochs`` AdamW steps of 128 cells, cross-entropy, drawn from a seeded generator."""
                g = torch.Generator().manual_seed(seed)
                opt = torch.optim.AdamW([p for p in network.parameters() if p.requires_grad], lr=1e-3)
                network.train()
                for _ in range(epochs):
                    idx = torch.randint(len(x_train), (128,), generator=g)
                    opt.zero_grad(set_to_none=True)
                    F.cross_entropy(network(x_train[idx]), y_train[idx]).backward()
                    opt.step()
                network.eval()

            return train

    stem = models / f"cnn-8puzzle-s{seed}"

    def row(name: str, recipe: str, model: GridPerception, seconds: float) -> dict[str, Any]:
        measured = _measure(model.net_, x1, xb, stem / f"{_slug(name)}.pt", s.latency_budget_s)
        metric = model.score(test_frames, test_grids)["cell_accuracy"]
        return {"compression": name, "recipe": recipe, "metric": metric, "compress_s": seconds} | measured

    rows = [row("teacher (uncompressed)", "none", teacher, teacher_s)]
    progress.update(1)
    for c in CNN_COMPRESSIONS:
        epochs = 0 if c.recipe == "int8" else s.cnn_fine_tune_steps
        # the recipes only: the teacher is trained above, once (GridPerception is no scikit-learn estimator)
        recipe, settings = ("prune", {}) if c.recipe in (GRADUAL, QAT) else (c.recipe, c.settings)
        method = _CNN(None, recipe=recipe, fine_tune_epochs=epochs, seed=seed, **settings)
        model = copy.deepcopy(teacher)
        start = time.perf_counter()
        _apply(method, model, c)
        r = row(c.name, c.recipe, model, time.perf_counter() - start)
        if c.recipe == "int8":
            r["note"] = (f"only the Linear head is int8 ({count_parameters(teacher.net_.head)} of "
                         f"{count_parameters(teacher.net_)} parameters): torch's dynamic int8 has no Conv2d kernel")
        rows.append(r)
        progress.update(1)
    return {"env": env, "seed": seed, "metric": "cell accuracy", "batch": batch, "rows": _with_ratios(rows)}


# ============================================================================ aggregation and the report

_HIGHER = ("nonzero_ratio", "params_ratio", "latency_ratio_b1", "latency_ratio_batch", "bytes_ratio", "flops_ratio",
           "metric")
_NUMBERS = _HIGHER + ("points_lost", "params", "nonzero", "latency_s_b1", "latency_s_batch", "bytes",
                      "flops_per_example")


def _aggregate(stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per compression over every (seed, equation): mean and worst of each number (worst: min of a ratio)."""
    names = [r["compression"] for r in stages[0]["rows"]]
    out = []
    for i, name in enumerate(names):
        rows = [st["rows"][i] for st in stages]
        agg: dict[str, Any] = {"compression": name, "recipe": rows[0]["recipe"], "runs": len(rows)}
        for key in _NUMBERS:
            values = [float(r[key]) for r in rows]
            agg[key] = {"mean": float(np.mean(values)),
                        "worst": min(values) if key in _HIGHER else max(values)}
        if "note" in rows[0]:
            agg["note"] = rows[0]["note"]
        out.append(agg)
    return out


def _target_checks(model: str, agg: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each issue target against each row it is about: measured (mean and worst), met or not (on the worst)."""
    checks = []
    for a in agg:
        for key, text, recipes in TARGETS:
            if a["recipe"] not in recipes:
                continue
            if key == "prune":
                value, need = a["nonzero_ratio"], 10.0
                ok = value["worst"] >= need and a["points_lost"]["worst"] <= 1.0
                measured = (f"{value['mean']:.3g}x non-zeros (worst {value['worst']:.3g}x), "
                            f"{a['points_lost']['mean']:.3g} points lost (worst {a['points_lost']['worst']:.3g})")
            elif key == "structured":
                value = a["latency_ratio_batch"]
                ok = value["worst"] >= 2.0
                measured = f"{value['mean']:.3g}x lower latency at the task's batch (worst {value['worst']:.3g}x)"
            elif key == "int8":
                value = a["bytes_ratio"]
                ok = value["worst"] >= 3.5
                measured = f"{value['mean']:.3g}x smaller on disk (worst {value['worst']:.3g}x)"
            else:
                value = a["params_ratio"]
                ok = value["worst"] >= 5.0 and a["points_lost"]["worst"] <= 1.0
                measured = (f"{value['mean']:.3g}x fewer parameters, {a['points_lost']['mean']:.3g} points lost "
                            f"(worst {a['points_lost']['worst']:.3g})")
            checks.append({"model": model, "compression": a["compression"], "target": text, "measured": measured,
                           "met": bool(ok)})
    return checks


def _fmt(x: float, digits: int = 3) -> str:
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def _cell(a: dict[str, Any], key: str, suffix: str = "", worst: bool = True) -> str:
    v = a[key]
    text = f"{_fmt(v['mean'])}{suffix}"
    if worst and a["runs"] > 1 and v["worst"] != v["mean"]:
        text += f" ({_fmt(v['worst'])}{suffix})"
    return text


def _us(a: dict[str, Any], key: str) -> str:
    v = a[key]
    text = f"{v['mean'] * 1e6:.3g}"
    if a["runs"] > 1:
        text += f" ({v['worst'] * 1e6:.3g})"
    return text


def _table(title: str, metric: str, batch: int, agg: list[dict[str, Any]]) -> list[str]:
    lines = [f"### {title}", "",
             f"Ratios are teacher / compressed (higher is better); points = 100 x {metric} lost against the teacher. "
             "Mean over runs, worst in parentheses (the lowest ratio, the most points lost). Latency is of the "
             f"network's forward pass, per example, at batch 1 and at the task's batch ({batch}); FLOPs are "
             "counted at that batch (dense kernels: a pruned zero is still multiplied). Non-zeros count every weight "
             "and bias, and biases (and BatchNorm) are not pruned: 90% of the weights pruned is a bit under 10x "
             "fewer non-zeros.", "",
             f"| compression | params | non-zero | non-zero ratio | {metric} | points lost | latency b=1 (us) | "
             f"ratio b=1 | latency b={batch} (us/example) | ratio b={batch} | bytes | bytes ratio | FLOPs/example "
             "| FLOPs ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for a in agg:
        name = a["compression"]
        lines.append(
            f"| {name} | {_fmt(a['params']['mean'])} | {_fmt(a['nonzero']['mean'])} | "
            f"{_cell(a, 'nonzero_ratio', 'x')} | {_cell(a, 'metric')} | {_cell(a, 'points_lost')} | "
            f"{_us(a, 'latency_s_b1')} | {_cell(a, 'latency_ratio_b1', 'x')} | {_us(a, 'latency_s_batch')} | "
            f"{_cell(a, 'latency_ratio_batch', 'x')} | {_fmt(a['bytes']['mean'])} | {_cell(a, 'bytes_ratio', 'x')} | "
            f"{_fmt(a['flops_per_example']['mean'])} | {_cell(a, 'flops_ratio', 'x')} |")
    notes = [f"- {a['compression']}: {a['note']}." for a in agg if "note" in a]
    return lines + ([""] + notes if notes else []) + [""]


def _markdown(summary: dict[str, Any]) -> str:
    m = summary["machine"]
    s = summary["settings"]
    lines = ["# Compression of the deep baselines, measured (issue 17)", "",
             f"Command: `{summary['command']}`. Machine: {m.get('cpu')} ({m.get('cpus_usable', m.get('cpu_count'))} "
             f"usable CPUs, torch threads {m.get('torch_threads')}), torch {m.get('torch')}, Python {m.get('python')}. "
             f"Seeds {summary['seeds']}; total {summary['seconds']:.0f} s.", "",
             "Every compressed network is cut from one trained teacher and measured beside it in the same process; "
             "the teacher's training is not repeated per compression, but a compressed model cannot exist without "
             "it (see docs/compression.md). Fine-tuning uses the teacher's own training split only.", ""]
    lines += ["## Targets", "", "| model | compression | target | measured | met (on the worst run) |",
              "|---|---|---|---|---|"]
    for t in summary["targets"]:
        lines.append(f"| {t['model']} | {t['compression']} | {t['target']} | {t['measured']} | "
                     f"{'yes' if t['met'] else '**no**'} |")
    lines += ["", "## Tables", ""]
    lines += _table(f"Regression MLP (1 hidden width {s['width']}, depth 2, Tanh), {s['n_train']} samples, equations "
                    f"{', '.join(s['equations'])}", "R^2", MLP_TASK_BATCH, summary["mlp"]["aggregate"])
    cnn = summary["cnn"]
    lines += _table(f"Perception CNN (CellNet, 8-puzzle cells, {s['frames']} training frames)", "cell accuracy",
                    cnn["batch"], cnn["aggregate"])
    lines += ["## Machine", "", "```", dumps_strict(m, indent=1, sort_keys=True), "```", ""]
    return "\n".join(lines)


def reproduce_compression(out: str | Path, *, quick: bool = False, seeds: int = 1, seed: int = 0,
                          progress: bool = True, command: str = "hybrid reproduce compression") -> dict[str, Any]:
    """Train the teachers, compress them every way that applies, measure, and write the report.

    Args:
        out: output folder (``compression.md``, ``summary.json``, ``models/``, ``stages/``).
        quick: small settings (one equation, 512 samples, a narrower MLP, a few seconds of CNN training).
        seeds: seeds ``seed .. seed + seeds - 1`` (data and initialisation); >= 1.
        seed: the first seed (>= 0).
        progress: a tqdm bar over the steps (one per network measured).
        command: the command line written in the report.

    Returns:
        The summary (also written to ``summary.json``).

    Raises:
        ValueError: ``seeds`` < 1 or ``seed`` < 0.
    """
    import torch
    from tqdm.auto import tqdm

    from hybrid.evaluate.machine import machine_info

    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be an int >= 1, got {seeds!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    s = QUICK if quick else FULL
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    store = StageStore(out / "stages")
    models = out / "models"
    seed_list = list(range(seed, seed + seeds))
    steps = len(seed_list) * (len(s.equations) * (1 + len(MLP_COMPRESSIONS)) + 1 + len(CNN_COMPRESSIONS))
    start = time.perf_counter()
    key = asdict(s) | {"mlp": [asdict(c) for c in MLP_COMPRESSIONS], "cnn": [asdict(c) for c in CNN_COMPRESSIONS]}
    mlp_stages, cnn_stages = [], []
    with tqdm(total=steps, desc="compression", unit="net", disable=not progress) as bar:
        for sd in seed_list:
            for eq in s.equations:
                name = f"mlp-{_slug(eq)}-s{sd}"
                before = len(store.computed)
                mlp_stages.append(store.run(name, lambda eq=eq, sd=sd: _mlp_stage(eq, sd, s, models, bar), key))
                if len(store.computed) == before:
                    bar.update(1 + len(MLP_COMPRESSIONS))
            before = len(store.computed)
            cnn_stages.append(store.run(f"cnn-s{sd}", lambda sd=sd: _cnn_stage(sd, s, models, bar), key))
            if len(store.computed) == before:
                bar.update(1 + len(CNN_COMPRESSIONS))
    mlp_agg, cnn_agg = _aggregate(mlp_stages), _aggregate(cnn_stages)
    info = machine_info() | {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                             "node": platform.node()}
    summary = {
        "command": command, "quick": quick, "seeds": seed_list, "seconds": time.perf_counter() - start,
        "settings": asdict(s), "machine": info,
        "mlp": {"runs": mlp_stages, "aggregate": mlp_agg},
        "cnn": {"runs": cnn_stages, "aggregate": cnn_agg, "batch": cnn_stages[0]["batch"]},
        "targets": _target_checks("regression MLP", mlp_agg) + _target_checks("perception CNN", cnn_agg),
    }
    (out / "summary.json").write_text(dumps_strict(summary, indent=1, sort_keys=True))
    (out / "compression.md").write_text(_markdown(summary))
    return summary
