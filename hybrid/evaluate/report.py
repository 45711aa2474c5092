"""The report: sample-efficiency curves, compute versus metric, and samples-to-target.

Everything here reads run records only, so ``hybrid report RESULTS.db`` redraws the
report from the store alone. Outputs, in the chosen folder: ``report.md``, one PNG per
task and figure, and ``summary.json`` with flat keys for scripts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.evaluate.plots import plot_compute, plot_sample_efficiency
from hybrid.evaluate.protocols import MetricSpec
from hybrid.evaluate.stages import dumps_strict
from hybrid.evaluate.store import RunRecord

KWH_TO_J = 3.6e6


@dataclass
class Cell:
    """One (task, method, n_train) over seeds: metric means and 95% intervals, mean costs."""

    n: int
    seeds: int
    metrics: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # mean, lo, hi
    train_flops: float = math.nan
    train_seconds: float = math.nan
    train_joules: float = math.nan
    train_co2e_kg: float = math.nan
    inference_seconds: float = math.nan
    symbolic_ops: float = math.nan
    trained_for: str = ""
    stopped_by: str = ""
    capped_runs: int = 0
    params: float = math.nan
    nonzero_params: float = math.nan
    model_bytes: float = math.nan
    latency_s_b1: float = math.nan
    latency_s_batch: float = math.nan
    latency_batch: int = 0
    inference_flops: float = math.nan
    inference_examples: float = math.nan

    @property
    def inference_flops_per_example(self) -> float:
        """Inference FLOPs over the examples scored (``NaN`` when the records do not say how many)."""
        if self.inference_examples and not math.isnan(self.inference_examples):
            return self.inference_flops / self.inference_examples
        return math.nan


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t ``level`` interval of ``values`` (NaN ignored; no interval for one value)."""
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=float)
    if v.size == 0:
        return (math.nan, math.nan, math.nan)
    finite = v[np.isfinite(v)]
    if finite.size < v.size:  # an infinite value makes the mean infinite: report it plainly
        m = float(np.mean(v))
        return (m, m, m)
    m = float(v.mean())
    if v.size == 1:
        return (m, m, m)
    from scipy import stats

    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return (m, m - half, m + half)


def _nanmean(values: Iterable[float]) -> float:
    v = [x for x in values if x is not None and isinstance(x, (int, float)) and not math.isnan(x)]
    return float(np.mean(v)) if v else math.nan


def aggregate(records: Iterable[RunRecord]) -> dict[str, dict[str, dict[int, Cell]]]:
    """Group ``ok`` records as ``{task: {method: {n_train: Cell}}}``."""
    groups: dict[tuple[str, str, int], list[RunRecord]] = defaultdict(list)
    for r in records:
        if r.status == "ok":
            groups[(r.config.task, r.config.method, r.config.n_train)].append(r)
    out: dict[str, dict[str, dict[int, Cell]]] = defaultdict(lambda: defaultdict(dict))
    for (task, method, n), runs in sorted(groups.items()):
        cell = Cell(n=n, seeds=len(runs))
        names = sorted({k for r in runs for k in r.metrics})
        for name in names:
            cell.metrics[name] = mean_interval([r.metrics.get(name, math.nan) for r in runs])
        cell.train_flops = _nanmean(r.train.get("flops", math.nan) for r in runs)
        cell.train_seconds = _nanmean(r.train.get("wall_s", math.nan) for r in runs)
        cell.train_joules = _nanmean(r.train.get("energy_kwh", math.nan) * KWH_TO_J for r in runs)
        cell.train_co2e_kg = _nanmean(r.train.get("co2e_kg", math.nan) for r in runs)
        cell.inference_seconds = _nanmean(r.inference.get("wall_s", math.nan) for r in runs)
        cell.symbolic_ops = _nanmean(sum(r.train.get("symbolic_ops", {}).values()) for r in runs)
        _training(cell, runs)
        for name in ("params", "nonzero_params", "model_bytes", "latency_s_b1", "latency_s_batch"):
            setattr(cell, name, _nanmean(r.inference.get(name, math.nan) for r in runs))
        cell.latency_batch = max((int(r.inference.get("latency_batch") or 0) for r in runs), default=0)
        cell.inference_flops = _nanmean(r.inference.get("flops", math.nan) for r in runs)
        cell.inference_examples = _nanmean(r.inference.get("examples", math.nan) for r in runs)
        out[task][method][n] = cell
    return out


def _training(cell: Cell, runs: list[RunRecord]) -> None:
    """How long the seeds' runs trained and what ended them (from the records' ``train`` measures)."""
    iters = [r.train["iterations"] for r in runs if isinstance(r.train.get("iterations"), (int, float))]
    units = sorted({r.train.get("iteration_unit", "") for r in runs} - {""})
    if iters:
        lo, hi = int(min(iters)), int(max(iters))
        cell.trained_for = (f"{lo}" if lo == hi else f"{lo}-{hi}") + f" {'/'.join(units)}"
    counts: dict[str, int] = defaultdict(int)
    for r in runs:
        for reason, k in (r.train.get("stop_counts") or {}).items():
            counts[reason] += int(k)
    cell.stopped_by = ", ".join(f"{reason} x{k}" for reason, k in sorted(counts.items()))
    cell.capped_runs = sum(bool(r.train.get("capped")) for r in runs)


def samples_to_target(cells: dict[int, Cell], metric: MetricSpec) -> int | None:
    """Smallest ``n_train`` whose mean ``metric`` reaches its target (``None`` if none does)."""
    for n in sorted(cells):
        value = cells[n].metrics.get(metric.name, (math.nan,))[0]
        if metric.reached(value):
            return n
    return None


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "-inf" if x < 0 else "inf"
    if x != 0 and (abs(x) >= 1e4 or abs(x) < 1e-3):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def _task_object(task: str, records: list[RunRecord]) -> Any:
    """The task built from its records' parameters, or ``None`` when it is not registered here."""
    try:
        from hybrid.evaluate.registry import get_task

        params = next((r.config.task_params for r in records if r.config.task == task), {})
        return get_task(task).factory(**params)
    except Exception:
        return None


def _metric_specs(task: str, records: list[RunRecord]) -> list[MetricSpec]:
    """The task's declared metrics if it is registered here, else plain specs from the records."""
    built = _task_object(task, records)
    if built is not None:
        return list(built.metrics)
    names = sorted({k for r in records if r.config.task == task for k in r.metrics})
    return [MetricSpec(n, n) for n in names]


def _pillar(task: str) -> str:
    """The registered task's pillar (its own name for a task not registered here)."""
    try:
        from hybrid.evaluate.registry import get_task

        return get_task(task).pillar or task
    except ValueError:
        return task


def across_tasks(records: list[RunRecord], out: Path, summary: dict[str, Any],
                 energy_line: str = "") -> tuple[list[str], list[Path]]:
    """The overview's figures and tables (:func:`hybrid.evaluate.overview.write_overview`) over every task.

    Panels are titled ``pillar: task``; figure 1's x label is the task's ``x_label`` (what
    a training sample is) where it declares one.
    """
    from hybrid.evaluate.overview import write_overview

    names = sorted({r.config.task for r in records})
    specs = {t: _metric_specs(t, records) for t in names}  # each task built once, not per figure
    xlabels = {t: f"{getattr(_task_object(t, records), 'x_label', 'training samples')} (log)" for t in names}
    titles = {t: f"{_pillar(t)}: {t}" if _pillar(t) != t else t for t in names}
    return write_overview(
        [r for r in records if r.status == "ok"], out, specs.__getitem__, title_of=titles.__getitem__,
        xlabel_of=xlabels.__getitem__, summary=summary, device_records=records, energy_line=energy_line)


@dataclass(frozen=True)
class ReportFiles:
    """Paths the report wrote."""

    report: Path
    summary: Path
    figures: tuple[Path, ...]


def write_report(records: Sequence[RunRecord], out_dir: str | Path, *, title: str = "Hybrid vs deep",
                 preface: Sequence[str] = ()) -> ReportFiles:
    """Write ``report.md``, the figures and ``summary.json`` for ``records`` into ``out_dir``.

    ``preface``: markdown lines placed after the report's opening paragraphs (``compare
    --quick`` says there which settings it reduced).
    """
    import matplotlib

    matplotlib.use("Agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = list(records)
    table = aggregate(records)
    families = {r.config.method: r.config.family for r in records}
    summary: dict[str, Any] = {
        "runs_ok": sum(r.status == "ok" for r in records),
        "runs_failed": sum(r.status != "ok" for r in records),
    }
    ok = [r for r in records if r.status == "ok"]
    energy_sources = sorted({r.train.get("energy_source", "") for r in ok} - {""})
    energy_modes = sorted({r.train.get("energy_mode", "") for r in ok} - {""})
    tdps = sorted({(r.train.get("cpu_tdp_w"), r.train.get("cpu_tdp_source", "")) for r in ok
                   if isinstance(r.train.get("cpu_tdp_w"), (int, float)) and math.isfinite(r.train["cpu_tdp_w"])})
    devices = sorted({r.config.device for r in records})
    hosts = sorted({r.host for r in records if r.host})
    lines = [
        f"# {title}",
        "",
        f"{summary['runs_ok']} runs finished, {summary['runs_failed']} failed; device(s): {', '.join(devices)}; "
        f"host(s): {', '.join(hosts)}.",
        "",
        "How to read this: every number is a mean over seeds; intervals are 95% Student-t intervals, cut at "
        "the metric's bounds. Training FLOPs are torch operations counted with FlopCounterMode's formulas (the "
        "fused LSTM/GRU kernels with the project's own) plus the floating-point work symbolic methods count "
        "analytically (numpy linear algebra).",
        "",
        _energy_line(energy_modes, energy_sources),
        "",
        *preface,
    ]
    figures: list[Path] = []
    if len(table) > 1:
        lines += ["## Across tasks", "",
                  "The argument in one place: each figure has a panel per task (the tasks' pillars in the "
                  "titles); the per-task sections below hold every method and metric.", ""]
        extra, drawn = across_tasks(records, out, summary, _energy_line(energy_modes, energy_sources))
        lines += [line.replace("### ", "### Across tasks: ") if line.startswith("### ") else line
                  for line in extra]
        figures += drawn
    for task in sorted(table):
        specs = _metric_specs(task, records)
        methods = table[task]
        order = sorted(methods, key=lambda m: (families.get(m) != "hybrid", m))
        lines += [f"## Task `{task}`", ""]
        fig_a = plot_sample_efficiency(task, methods, order, families, specs, out)
        fig_b = plot_compute(task, methods, order, families, specs[0], out)
        figures += [fig_a, fig_b]
        lines += [
            f"![sample efficiency]({fig_a.name})",
            "",
            "*Sample efficiency: each metric against training-set size (log scale); line = mean over seeds, "
            "band = 95% interval; a hollow triangle is a mean below the axis, drawn at its bottom and labelled "
            "with its true value.*",
            "",
            f"![compute vs {specs[0].name}]({fig_b.name})",
            "",
            f"*Compute versus {specs[0].label}: training FLOPs, seconds and joules (log scale); one point per "
            "training-set size.*",
            "",
        ]
        lines += _labels_table(task, order, families, _task_object(task, records), summary)
        lines += _targets_table(task, methods, order, families, specs, summary)
        lines += _family_table(task, methods, families, specs, summary)
        lines += _sizes_table(task, methods, order, families, specs, summary)
        lines += _model_table(task, methods, order, families, summary)
    lines += _capped_runs(ok)
    failed = [r for r in records if r.status != "ok"]
    if failed:
        lines += ["## Failed runs", "", f"{len(failed)} runs raised instead of finishing; the first line of each "
                  "error:", "", "| task | method | n_train | seed | error |", "|---|---|---|---|---|"]
        for r in failed[:50]:
            err = (r.error.splitlines()[0] if r.error else "(no message)").replace("|", "\\|")
            lines.append(f"| {r.config.task} | {r.config.method} | {r.config.n_train} | {r.config.seed} | {err} |")
        if len(failed) > 50:
            lines.append(f"| ... | {len(failed) - 50} more in results.csv | | | |")
        lines.append("")
    summary["energy_mode"] = "; ".join(energy_modes) or "not measured"
    summary["energy_source"] = "; ".join(energy_sources)
    summary["cpu_tdp_w"] = tdps[0][0] if len(tdps) == 1 else None
    summary["cpu_tdp_source"] = tdps[0][1] if len(tdps) == 1 else None
    report_path = out / "report.md"
    report_path.write_text("\n".join(lines))
    summary_path = out / "summary.json"
    summary_path.write_text(dumps_strict(summary, indent=1, sort_keys=True))
    return ReportFiles(report_path, summary_path, tuple(figures))


def _energy_line(modes: list[str], sources: list[str]) -> str:
    """The report's sentence on energy: measured or estimated, and from what."""
    if not modes or modes == ["not measured"]:
        return "**Energy: not measured** (energy tracking was off)."
    if "measured" in modes and len(modes) == 1:
        head = "**Energy: measured** (RAPL)."
    elif "estimated" in modes:
        head = ("**Energy: estimated, not measured.** The joules and CO2e below are a model's output (CPU load "
                "times an assumed TDP), not a reading of this machine's power: compare them between methods run "
                "here, not with other machines.")
    else:
        head = f"**Energy: {', '.join(modes)}.**"
    return head + " " + " / ".join(sources)


def _capped_runs(records: list[RunRecord]) -> list[str]:
    """The section listing runs that a cap (epochs, wall clock) ended before convergence: their curve measures it."""
    capped = [r for r in records if r.train.get("capped")]
    if not capped:
        return []
    lines = ["## Runs a cap ended", "",
             f"{len(capped)} runs stopped because an epoch or time cap ran out before early stopping ended them: "
             "at these sizes the curve measures the cap, not what the data allow.", "",
             "| task | method | n_train | seed | trained | stopped by |", "|---|---|---|---|---|---|"]
    for r in capped:
        lines.append(f"| {r.config.task} | {r.config.method} | {r.config.n_train} | {r.config.seed} | "
                     f"{r.train.get('iterations')} {r.train.get('iteration_unit', '')} | {r.train.get('stopped_by')} |")
    return lines + [""]


def _labels_table(task, order, families, task_obj, summary) -> list[str]:
    """The labels a task gives its methods, one row per method; nothing when it gives none.

    A task may define ``method_labels(method) -> {column: value}`` (planning: ``rules``, whether
    the rules were given, learned or absent, and ``data``, what was learned from); each value
    also goes to ``summary`` as ``task.method.column``.
    """
    label = getattr(task_obj, "method_labels", None)
    if not callable(label):
        return []
    rows = {m: {str(k): str(v) for k, v in (label(m) or {}).items()} for m in order}
    columns = list(dict.fromkeys(k for row in rows.values() for k in row))
    if not columns:
        return []
    lines = ["### Method labels", "", "What each method is, as the task labels it.", "",
             "| method | family | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for m in order:
        lines.append(f"| {m} | {families.get(m, '')} | " + " | ".join(rows[m].get(c, "—") for c in columns) + " |")
        for c, v in rows[m].items():
            summary[f"{task}.{m}.{c}"] = v
    return lines + [""]


def _model_table(task, methods, order, families, summary) -> list[str]:
    """Per method and size: how training ended, the model's size and its inference latency."""
    lines = ["### Training and model", "",
             "How long each network trained and what ended it (early stopping, an epoch or time cap, or the "
             "interaction budget that is the x-axis); parameters (non-zero), bytes as saved (a formula's text "
             "for methods without networks) and warm inference latency per example, at batch 1 and at the "
             "task's batch.", "",
             "| method | family | n_train | trained | stopped by | capped runs | params (non-zero) | bytes "
             "| latency/example, batch 1 | latency/example, batch |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for m in order:
        for n, c in sorted(methods[m].items()):
            params = "—" if math.isnan(c.params) else f"{c.params:,.0f} ({c.nonzero_params:,.0f})"
            batch = f"{_fmt_seconds(c.latency_s_batch)} (b={c.latency_batch})" if c.latency_batch else "—"
            lines.append(f"| {m} | {families.get(m, '')} | {n} | {c.trained_for or '—'} | {c.stopped_by or '—'} | "
                         f"{c.capped_runs}/{c.seeds} | {params} | {_fmt_bytes(c.model_bytes)} | "
                         f"{_fmt_seconds(c.latency_s_b1)} | {batch} |")
            key = f"{task}.{m}"
            summary[f"{key}.params.n{n}"] = c.params
            summary[f"{key}.nonzero_params.n{n}"] = c.nonzero_params
            summary[f"{key}.model_bytes.n{n}"] = c.model_bytes
            summary[f"{key}.latency_s_b1.n{n}"] = c.latency_s_b1
            summary[f"{key}.latency_s_batch.n{n}"] = c.latency_s_batch
            summary[f"{key}.capped_runs.n{n}"] = c.capped_runs
    return lines + [""]


#: The order families are listed in, in the per-family table; others follow alphabetically.
FAMILY_ORDER = ("hybrid", "deep", "compressed-deep", "peer")


def family_of(families: dict[str, str]) -> dict[str, list[str]]:
    """``{family: [methods]}`` from ``{method: family}``: families in :data:`FAMILY_ORDER` then
    alphabetically, each family's methods by name."""
    out: dict[str, list[str]] = {}
    rank = {f: i for i, f in enumerate(FAMILY_ORDER)}
    for m, f in sorted(families.items(), key=lambda kv: (rank.get(kv[1], len(rank)), kv[1], kv[0])):
        out.setdefault(f, []).append(m)
    return out


def family_rows(methods: dict[str, dict[int, Cell]], families: dict[str, str],
                spec: MetricSpec) -> list[dict[str, Any]]:
    """One row per method, grouped by family, for ``spec``'s target: what reaching it cost.

    Each row has ``family``, ``method``, ``reached`` (bool), ``n`` (the samples to target,
    or the largest size tried when the target was never reached), the training FLOPs and
    seconds of one run at ``n``, and the model at ``n``: inference FLOPs per example
    (``NaN`` when the records do not say how many examples the inference phase scored),
    inference FLOPs of the whole scoring phase, latency per example at batch 1 and at
    the task's batch, parameters, non-zero parameters and bytes as saved. Methods the
    metric does not apply to (every mean NaN) are left out.
    """
    rows = []
    names = [m for group in family_of({m: families.get(m, "") for m in methods}).values() for m in group]
    for m in names:
        cells = methods[m]
        if not cells or all(math.isnan(c.metrics.get(spec.name, (math.nan,))[0]) for c in cells.values()):
            continue
        n = samples_to_target(cells, spec)
        reached = n is not None
        n = n if reached else max(cells)
        c = cells[n]
        rows.append({
            "family": families.get(m, ""), "method": m, "reached": reached, "n": n,
            "train_flops": c.train_flops, "train_seconds": c.train_seconds,
            "inference_flops_per_example": c.inference_flops_per_example, "inference_flops": c.inference_flops,
            "latency_s_b1": c.latency_s_b1, "latency_s_batch": c.latency_s_batch, "latency_batch": c.latency_batch,
            "params": c.params, "nonzero_params": c.nonzero_params, "model_bytes": c.model_bytes,
        })
    return rows


def _family_table(task, methods, families, specs, summary) -> list[str]:
    """The per-family table (issue 17): samples, training compute, inference cost and size at the target."""
    lines: list[str] = []
    for spec in specs:
        if spec.target is None:
            continue
        rows = family_rows(methods, families, spec)
        if not rows:
            continue
        sign = ">=" if spec.higher_is_better else "<="
        if not lines:
            lines = ["### Per family: what reaching the target costs", "",
                     "One row per method, grouped by family. Training samples, FLOPs and seconds are those of one "
                     "run at the smallest size that reaches the target (mean over seeds); the model columns "
                     "(inference FLOPs, latency, bytes) describe the model trained at that size. **Not reached** "
                     "means no size tried reached the target: the costs shown are then those at the largest size "
                     "tried, a lower bound on what the target would take. A `compressed-deep` row's training "
                     "includes its teacher's (the uncompressed network it was cut from) plus the compression "
                     "and its fine-tuning. Inference FLOPs per example need the records to say how many "
                     "examples the scoring phase ran ('—' otherwise; the whole phase's FLOPs are given beside).",
                     ""]
        lines += [f"**{spec.name} {sign} {spec.target:g}**", "",
                  "| family | method | training samples to target | train FLOPs | train s | inference FLOPs "
                  "/ example | inference FLOPs (test set) | latency / example, b=1 | latency / example, batch "
                  "| params (non-zero) | bytes |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for row in rows:
            fam = row["family"] + (" (teacher's training included)" if row["family"] == "compressed-deep" else "")
            n = str(row["n"]) if row["reached"] else f"not reached (by n={row['n']})"
            pre = "" if row["reached"] else "> "
            flops = pre + _fmt(row["train_flops"]) if not math.isnan(row["train_flops"]) else "—"
            secs = pre + _fmt(row["train_seconds"]) if not math.isnan(row["train_seconds"]) else "—"
            params = ("—" if math.isnan(row["params"])
                      else f"{row['params']:,.0f} ({row['nonzero_params']:,.0f})")
            batch = (f"{_fmt_seconds(row['latency_s_batch'])} (b={row['latency_batch']})"
                     if row["latency_batch"] else "—")
            lines.append(f"| {fam} | {row['method']} | {n} | {flops} | {secs} | "
                         f"{_fmt(row['inference_flops_per_example'])} | {_fmt(row['inference_flops'])} | "
                         f"{_fmt_seconds(row['latency_s_b1'])} | {batch} | {params} | "
                         f"{_fmt_bytes(row['model_bytes'])} |")
            key = f"{task}.family.{spec.name}.{row['method']}"
            summary[f"{key}.reached"] = row["reached"]
            summary[f"{key}.n"] = row["n"]
            summary[f"{key}.inference_flops_per_example"] = row["inference_flops_per_example"]
        lines.append("")
    return lines


def _fmt_bytes(x: float) -> str:
    if x is None or math.isnan(x):
        return "—"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x:.0f} B"


def _fmt_seconds(x: float) -> str:
    if x is None or math.isnan(x):
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x / 1e-9:.3g} ns"


def _targets_table(task, methods, order, families, specs, summary) -> list[str]:
    lines = [
        "### Samples and compute to target",
        "",
        "Smallest training-set size whose mean reaches the target, and the training cost of one run at "
        "that size (mean over seeds). '—' means not reached at any size tried.",
        "",
        "| metric (target) | method | family | samples to target | train FLOPs | train s | train J "
        "| train CO2e (kg) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec in specs:
        if spec.target is None:
            continue
        reached: dict[str, int | None] = {}
        for m in order:
            cells = methods[m]
            if all(math.isnan(c.metrics.get(spec.name, (math.nan,))[0]) for c in cells.values()):
                continue  # the metric does not apply to this method (e.g. no formula)
            n = samples_to_target(cells, spec)
            reached[m] = n
            cell = cells[n] if n is not None else None
            key = f"{task}.{m}"
            summary[f"{key}.samples_to_target.{spec.name}"] = n
            summary[f"{key}.train_flops_to_target.{spec.name}"] = cell.train_flops if cell else None
            summary[f"{key}.train_seconds_to_target.{spec.name}"] = cell.train_seconds if cell else None
            summary[f"{key}.train_joules_to_target.{spec.name}"] = cell.train_joules if cell else None
            summary[f"{key}.train_co2e_kg_to_target.{spec.name}"] = cell.train_co2e_kg if cell else None
            sign = ">=" if spec.higher_is_better else "<="
            lines.append(
                f"| {spec.name} ({sign} {spec.target:g}) | {m} | {families.get(m, '')} | "
                f"{n if n is not None else '—'} | "
                f"{_fmt(cell.train_flops) if cell else '—'} | {_fmt(cell.train_seconds) if cell else '—'} | "
                f"{_fmt(cell.train_joules) if cell else '—'} | {_fmt(cell.train_co2e_kg) if cell else '—'} |"
            )
        lines += _ratios(task, methods, families, spec, reached, summary)
    lines.append("")
    return lines


def _ratios(task, methods, families, spec, reached, summary) -> list[str]:
    """Deep/hybrid ratios of samples and compute to target; a lower bound when deep never got there."""
    hybrids = [m for m in reached if families.get(m) == "hybrid" and reached[m] is not None]
    deeps = [m for m in reached if families.get(m) in ("deep", "compressed-deep")]
    out = []
    for h in hybrids:
        hn = reached[h]
        hc = methods[h][hn]
        for d in deeps:
            dn = reached[d]
            key = f"{task}.ratio.{d}_over_{h}.{spec.name}"
            if dn is not None:
                dc = methods[d][dn]
                ratio_n = dn / hn
                ratio_f = _ratio(dc.train_flops, hc.train_flops)
                ratio_s = _ratio(dc.train_seconds, hc.train_seconds)
                summary[f"{key}.samples"] = ratio_n
                summary[f"{key}.flops"] = ratio_f
                summary[f"{key}.seconds"] = ratio_s
                summary[f"{key}.lower_bound"] = False
                out.append(
                    f"| {spec.name}: ratio {d} / {h} | | | {_fmt(ratio_n)}x | {_fmt(ratio_f)}x | {_fmt(ratio_s)}x | | |"
                )
            else:
                largest = max(methods[d])
                dc = methods[d][largest]
                ratio_n = largest / hn
                summary[f"{key}.samples"] = ratio_n
                summary[f"{key}.flops"] = _ratio(dc.train_flops, hc.train_flops)
                summary[f"{key}.seconds"] = _ratio(dc.train_seconds, hc.train_seconds)
                summary[f"{key}.lower_bound"] = True
                out.append(
                    f"| {spec.name}: ratio {d} / {h} | | | > {_fmt(ratio_n)}x ({d} not at target by n={largest}) "
                    f"| > {_fmt(_ratio(dc.train_flops, hc.train_flops))}x "
                    f"| > {_fmt(_ratio(dc.train_seconds, hc.train_seconds))}x "
                    "| | |"
                )
    return out


def _ratio(a: float, b: float) -> float:
    """``a / b``, NaN when either is missing or ``b`` is 0 (a method that did no such work)."""
    if not (isinstance(a, (int, float)) and isinstance(b, (int, float))) or math.isnan(a) or math.isnan(b) or b == 0:
        return math.nan
    return a / b


def _sizes_table(task, methods, order, families, specs, summary) -> list[str]:
    header = " | ".join(f"{s.name} (95% CI)" for s in specs)
    lines = [
        "### Every size",
        "",
        f"| method | family | n_train | seeds | {header} | train s | train FLOPs | train J | symbolic ops |",
        "|---|---|---|---|" + "---|" * len(specs) + "---|---|---|---|",
    ]
    for m in order:
        for n, cell in sorted(methods[m].items()):
            cols = []
            for s in specs:
                mean, lo, hi = cell.metrics.get(s.name, (math.nan, math.nan, math.nan))
                lo, hi = s.bounded(lo), s.bounded(hi)
                summary[f"{task}.{m}.{s.name}.n{n}"] = mean
                plain = math.isnan(lo) or lo == hi
                cols.append(_fmt(mean, 4) if plain else f"{_fmt(mean, 4)} [{_fmt(lo)}, {_fmt(hi)}]")
            summary[f"{task}.{m}.train_seconds.n{n}"] = cell.train_seconds
            summary[f"{task}.{m}.train_flops.n{n}"] = cell.train_flops
            summary[f"{task}.{m}.train_joules.n{n}"] = cell.train_joules
            summary[f"{task}.{m}.family"] = families.get(m, "")
            lines.append(
                f"| {m} | {families.get(m, '')} | {n} | {cell.seeds} | {' | '.join(cols)} | "
                f"{_fmt(cell.train_seconds)} | {_fmt(cell.train_flops)} | {_fmt(cell.train_joules)} | "
                f"{_fmt(cell.symbolic_ops)} |"
            )
    lines.append("")
    return lines
