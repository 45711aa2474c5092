"""The report: sample-efficiency curves, compute versus metric, and samples-to-target.

Everything here reads run records only, so ``hybrid report RESULTS.db`` redraws the
report from the store alone. Outputs, in the chosen folder: ``report.md``, one PNG per
task and figure, and ``summary.json`` with flat keys for scripts.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.evaluate.protocols import MetricSpec
from hybrid.evaluate.store import RunRecord

KWH_TO_J = 3.6e6
#: Figures share these colours: hybrids blue-green, deep baselines warm.
_FAMILY_COLOURS = {"hybrid": ["#1b7837", "#2166ac", "#5aae61"], "deep": ["#d6604d", "#b2182b", "#f4a582"],
                   "compressed-deep": ["#8073ac", "#542788"], "peer": ["#737373", "#bf812d", "#35978f"]}


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
        out[task][method][n] = cell
    return out


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


def _metric_specs(task: str, records: list[RunRecord]) -> list[MetricSpec]:
    """The task's declared metrics if it is registered here, else plain specs from the records."""
    try:
        from hybrid.evaluate.registry import get_task

        params = next((r.config.task_params for r in records if r.config.task == task), {})
        return list(get_task(task).factory(**params).metrics)
    except Exception:
        names = sorted({k for r in records if r.config.task == task for k in r.metrics})
        return [MetricSpec(n, n) for n in names]


@dataclass(frozen=True)
class ReportFiles:
    """Paths the report wrote."""

    report: Path
    summary: Path
    figures: tuple[Path, ...]


def write_report(records: Sequence[RunRecord], out_dir: str | Path, *, title: str = "Hybrid vs deep") -> ReportFiles:
    """Write ``report.md``, the figures and ``summary.json`` for ``records`` into ``out_dir``."""
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
    energy_sources = sorted({r.train.get("energy_source", "") for r in records if r.status == "ok"} - {""})
    devices = sorted({r.config.device for r in records})
    hosts = sorted({r.host for r in records if r.host})
    lines = [
        f"# {title}",
        "",
        f"{summary['runs_ok']} runs finished, {summary['runs_failed']} failed; device(s): {', '.join(devices)}; "
        f"host(s): {', '.join(hosts)}.",
        "",
        "How to read this: every number is a mean over seeds; intervals are 95% Student-t intervals. "
        "Training FLOPs are torch operations counted with FlopCounterMode's formulas plus the "
        "floating-point work symbolic methods count analytically (numpy linear algebra). "
        f"Energy: {'; '.join(energy_sources) or 'not measured'}.",
        "",
    ]
    figures: list[Path] = []
    for task in sorted(table):
        specs = _metric_specs(task, records)
        methods = table[task]
        order = sorted(methods, key=lambda m: (families.get(m) != "hybrid", m))
        lines += [f"## Task `{task}`", ""]
        fig_a = _plot_sample_efficiency(task, methods, order, families, specs, out)
        fig_b = _plot_compute(task, methods, order, families, specs[0], out)
        figures += [fig_a, fig_b]
        lines += [
            f"![sample efficiency]({fig_a.name})",
            "",
            "*Sample efficiency: each metric against training-set size (log scale); line = mean over seeds, "
            "band = 95% interval.*",
            "",
            f"![compute vs {specs[0].name}]({fig_b.name})",
            "",
            f"*Compute versus {specs[0].label}: training FLOPs, seconds and joules (log scale); one point per "
            "training-set size.*",
            "",
        ]
        lines += _targets_table(task, methods, order, families, specs, summary)
        lines += _sizes_table(task, methods, order, families, specs, summary)
    failed = [r for r in records if r.status != "ok"]
    if failed:
        lines += ["## Failed runs", "", "| task | method | n_train | seed | error |", "|---|---|---|---|---|"]
        for r in failed[:20]:
            err = r.error.splitlines()[0] if r.error else ""
            lines.append(f"| {r.config.task} | {r.config.method} | {r.config.n_train} | {r.config.seed} | {err} |")
        lines.append("")
    summary["energy_source"] = "; ".join(energy_sources)
    report_path = out / "report.md"
    report_path.write_text("\n".join(lines))
    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps(_json_safe(summary), indent=1, sort_keys=True))
    return ReportFiles(report_path, summary_path, tuple(figures))


def _json_safe(obj):
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


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


def _colours(order, families):
    used: dict[str, int] = defaultdict(int)
    colours = {}
    for m in order:
        fam = families.get(m, "deep")
        palette = _FAMILY_COLOURS.get(fam, _FAMILY_COLOURS["deep"])
        colours[m] = palette[used[fam] % len(palette)]
        used[fam] += 1
    return colours


def _clip(values: np.ndarray, spec: MetricSpec) -> np.ndarray:
    lo = -np.inf if spec.floor is None else spec.floor
    hi = np.inf if spec.ceiling is None else spec.ceiling
    return np.clip(values, lo, hi)


def _limits(ax, spec: MetricSpec) -> None:
    if spec.floor is not None and spec.ceiling is not None:
        margin = 0.05 * (spec.ceiling - spec.floor)
        ax.set_ylim(spec.floor - margin, spec.ceiling + margin)


def _save(fig, axes, title: str, path: Path) -> Path:
    """Legend (if anything was drawn), title, write the PNG, free the figure."""
    import matplotlib.pyplot as plt

    if axes[0][0].get_legend_handles_labels()[0]:
        axes[0][0].legend(fontsize=8, loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _plot_sample_efficiency(task, methods, order, families, specs, out: Path) -> Path:
    import matplotlib.pyplot as plt

    colours = _colours(order, families)
    fig, axes = plt.subplots(1, len(specs), figsize=(4.6 * len(specs), 3.8), squeeze=False)
    for ax, spec in zip(axes[0], specs, strict=True):
        for m in order:
            cells = methods[m]
            ns = np.array(sorted(cells))
            stats = np.array([cells[n].metrics.get(spec.name, (math.nan,) * 3) for n in ns], dtype=float)
            if np.all(np.isnan(stats[:, 0])):
                continue
            mean, lo, hi = (_clip(stats[:, i], spec) for i in range(3))
            ax.plot(ns, mean, "o-", color=colours[m], label=f"{m} ({families.get(m, '')})")
            ax.fill_between(ns, lo, hi, color=colours[m], alpha=0.2, linewidth=0)
        if spec.target is not None:
            ax.axhline(spec.target, color="grey", linestyle=":", linewidth=1, label=f"target {spec.target:g}")
        _limits(ax, spec)
        ax.set_xscale("log")
        ax.set_xlabel("training samples (n_train)")
        note = f"\n(values below {spec.floor:g} drawn at {spec.floor:g})" if spec.floor is not None else ""
        label = spec.label + note
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    return _save(fig, axes, f"{task}: performance vs amount of data", out / f"{task}_sample_efficiency.png")


def _plot_compute(task, methods, order, families, spec: MetricSpec, out: Path) -> Path:
    import matplotlib.pyplot as plt

    colours = _colours(order, families)
    axes_spec = [("train_flops", "training FLOPs"), ("train_seconds", "training seconds"),
                 ("train_joules", "training energy (J)")]
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 3.8), squeeze=False)
    for ax, (attr, xlabel) in zip(axes[0], axes_spec, strict=True):
        for m in order:
            cells = [methods[m][n] for n in sorted(methods[m])]
            x = np.array([getattr(c, attr) for c in cells], dtype=float)
            y = _clip(np.array([c.metrics.get(spec.name, (math.nan,))[0] for c in cells], dtype=float), spec)
            ok = np.isfinite(x) & (x > 0) & np.isfinite(y)
            if not ok.any():
                continue
            ax.plot(x[ok], y[ok], "o-", color=colours[m], label=f"{m} ({families.get(m, '')})")
            for xi, yi, c in zip(x[ok], y[ok], [c for c, k in zip(cells, ok, strict=True) if k], strict=True):
                ax.annotate(f"n={c.n}", (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
        if spec.target is not None:
            ax.axhline(spec.target, color="grey", linestyle=":", linewidth=1)
        _limits(ax, spec)
        ax.set_xscale("log")
        ax.set_xlabel(xlabel + " (log)")
        ax.set_ylabel(spec.label)
        ax.grid(alpha=0.3)
    return _save(fig, axes, f"{task}: compute vs {spec.name}", out / f"{task}_compute.png")
