"""The argument across pillars in five figures, from run records alone.

Each figure has one panel per task (per pillar in the overview's grids) and uses the
task's primary metric (its first :class:`~hybrid.evaluate.protocols.MetricSpec`):

1. :func:`plot_data_curves` -- performance vs training data, a line per family. A
   family's line is, at each size, its best method there (mean over seeds, with that
   method's 95% interval), so a family is never judged by its weakest member.
2. :func:`plot_accuracy_vs_inference` -- the metric against inference FLOPs per example,
   one bubble per method at its largest size, bubble area proportional to parameters
   (Bianco et al. 2018's chart of representative architectures).
3. :func:`cost_rows` -- what reaching the target cost in training seconds, FLOPs, joules
   and CO2e (Strubell et al. 2019's table).
4. :func:`compute_to_target` / :func:`plot_compute_to_target` -- training FLOPs needed
   against the target, as error ``1 - metric`` on log-log axes, with the fitted slope per
   family (Thompson et al. 2020: cost grows as ``error ** -k``).
5. :func:`plot_devices` -- the training seconds of figure 4 per device (``cpu``,
   ``cuda``) side by side, when the records hold runs on both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.evaluate.plots import FAMILY_COLOURS, below_floor, cut_to_bounds, shown
from hybrid.evaluate.protocols import MetricSpec
from hybrid.evaluate.report import Cell, _fmt, aggregate, family_of, family_rows

#: Errors (``1 - metric``) that figure 4 asks each family to reach, loosest first.
ERROR_TARGETS = (0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.001)


def _value(cell: Cell, spec: MetricSpec) -> float:
    return cell.metrics.get(spec.name, (math.nan,))[0]


def _better(a: float, b: float, spec: MetricSpec) -> bool:
    """``a`` beats ``b`` in ``spec``'s direction (NaN never beats anything)."""
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a > b if spec.higher_is_better else a < b


def family_curves(methods: dict[str, dict[int, Cell]], families: dict[str, str],
                  spec: MetricSpec) -> dict[str, dict[int, dict[str, Any]]]:
    """Per family and size, its best method there: ``{family: {n: {method, mean, lo, hi, seeds}}}``.

    Args:
        methods: ``{method: {n_train: Cell}}`` of one task (from :func:`aggregate`).
        families: each method's family.
        spec: the metric that ranks them.
    """
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for family, names in family_of({m: families.get(m, "") for m in methods}).items():
        best: dict[int, dict[str, Any]] = {}
        for m in names:
            for n, cell in methods[m].items():
                mean, lo, hi = cell.metrics.get(spec.name, (math.nan,) * 3)
                if n not in best or _better(mean, best[n]["mean"], spec):
                    best[n] = {"method": m, "mean": mean, "lo": lo, "hi": hi, "seeds": cell.seeds}
        best = {n: row for n, row in sorted(best.items()) if not math.isnan(row["mean"])}
        if best:
            out[family] = best
    return out


def error_of(value: float, spec: MetricSpec) -> float:
    """The error a metric value leaves: ``ceiling - value`` (``1 - accuracy``, ``1 - R^2``); NaN without a ceiling."""
    if spec.ceiling is None or not spec.higher_is_better or math.isnan(value):
        return math.nan
    return max(spec.ceiling - value, 0.0)


def compute_to_target(methods: dict[str, dict[int, Cell]], families: dict[str, str], spec: MetricSpec,
                      errors: Sequence[float] = ERROR_TARGETS, cost: str = "train_flops") -> dict[str, Any]:
    """The least training cost at which each family reaches each error target, and the fitted slope.

    A family reaches error ``e`` at the cheapest cell (any of its methods, any size) whose
    mean metric leaves an error ``<= e``; its cost is that cell's mean ``cost`` (a
    :class:`Cell` attribute: ``train_flops``, ``train_seconds``, ``train_joules``). The
    slope ``k`` is the least-squares fit of ``log10 cost = c + k * log10(1 / e)`` over the
    targets reached: cost grows as ``error ** -k`` (``None`` when fewer than two distinct
    cells reach them: one size that already reaches every target measures no growth). A
    cost of 0 (FLOPs a method's own numpy work did not report) counts as not measured.

    Returns:
        ``{family: {"points": [(error, cost, method, n), ...], "slope": k | None}}``.
    """
    out: dict[str, Any] = {}
    for family, names in family_of({m: families.get(m, "") for m in methods}).items():
        cells = [(m, n, c) for m in names for n, c in methods[m].items()
                 if math.isfinite(getattr(c, cost)) and getattr(c, cost) > 0]
        points = []
        for e in errors:
            # a hair of slack: 1 - 0.99 is 0.010000000000000009 in floating point
            ok = [(getattr(c, cost), m, n) for m, n, c in cells if error_of(_value(c, spec), spec) <= e * (1 + 1e-9)]
            if ok:
                best = min(ok)
                points.append((float(e), float(best[0]), best[1], int(best[2])))
        slope = None
        if len({p[1] for p in points}) >= 2:  # one cell reaching every target measures no growth
            x = np.log10(1.0 / np.array([p[0] for p in points]))
            y = np.log10(np.array([p[1] for p in points]))
            slope = float(np.polyfit(x, y, 1)[0])
        if points:
            out[family] = {"points": points, "slope": slope}
    return out


def cost_rows(methods: dict[str, dict[int, Cell]], families: dict[str, str], spec: MetricSpec) -> list[dict]:
    """Figure 3's rows: per method, the training cost of the smallest size that reaches the target.

    :func:`~hybrid.evaluate.report.family_rows` with the energy (joules) and CO2e of that
    size added; a row whose target was not reached holds the costs of the largest size
    tried (a lower bound).
    """
    rows = family_rows(methods, families, spec)
    for row in rows:
        cell = methods[row["method"]][row["n"]]
        row["train_joules"] = cell.train_joules
        row["train_co2e_kg"] = cell.train_co2e_kg
        row["metric"] = _value(cell, spec)
    return rows


def _metric_limits(ax, spec: MetricSpec) -> None:
    """The y range of a bounded metric: its floor (values below it are drawn there, hollow) to its ceiling."""
    if spec.floor is not None and spec.ceiling is not None:
        pad = 0.04 * (spec.ceiling - spec.floor)
        ax.set_ylim(spec.floor - pad, spec.ceiling + pad)


def _major_ticks_only(ax) -> None:
    """Label a log axis at its powers of ten only (minor labels collide over a short range)."""
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())


def _family_colour(family: str) -> str:
    return FAMILY_COLOURS.get(family, FAMILY_COLOURS["peer"])[0]


def _error_axes(ax, panel: dict[str, Any], ylabel: str) -> None:
    """Figures 4 and 5: log target error (tighter to the right) against a log cost."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    _major_ticks_only(ax)
    ax.invert_xaxis()
    ax.set_xlabel(f"target error, 1 - {panel['spec'].name} (log; tighter to the right)")
    ax.set_ylabel(ylabel)
    ax.set_title(panel["title"], fontsize=10)
    ax.grid(alpha=0.3, which="both")


def _panels(n: int, width: float = 4.6, height: float = 3.9):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False, layout="constrained")
    return fig, list(axes[0])


def _finish(fig, axes, title: str, path: Path, legends: bool = True) -> Path:
    import matplotlib.pyplot as plt

    for ax in axes if legends else ():
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(handles, labels, fontsize=7, loc="best")
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_data_curves(panels: list[dict[str, Any]], out: Path) -> Path:
    """Figure 1: each panel's primary metric against training data (log x), a line per family.

    Args:
        panels: one dict per task with ``task``, ``title``, ``spec``, ``xlabel`` and
            ``curves`` (from :func:`family_curves`).
        out: the folder ``overview_data.png`` goes to.
    """
    fig, axes = _panels(len(panels))
    for ax, panel in zip(axes, panels, strict=True):
        spec = panel["spec"]
        for family, curve in panel["curves"].items():
            ns = np.array(sorted(curve), dtype=float)
            mean = np.array([curve[n]["mean"] for n in sorted(curve)], dtype=float)
            lo = cut_to_bounds(np.array([curve[n]["lo"] for n in sorted(curve)], dtype=float), spec)
            hi = cut_to_bounds(np.array([curve[n]["hi"] for n in sorted(curve)], dtype=float), spec)
            low = below_floor(mean, spec)
            y = shown(mean, spec)
            colour = _family_colour(family)
            names = sorted({row["method"] for row in curve.values()})
            ax.plot(ns, y, "-o", color=colour, label=f"{family}: best of {', '.join(names)}")
            if low.any():
                ax.plot(ns[low], y[low], "v", markerfacecolor="white", markeredgecolor=colour, markersize=9)
                for n, v, shown_at in zip(ns[low], mean[low], y[low], strict=True):  # the true value beside it
                    ax.annotate(f"{v:.3g}", (n, shown_at), xytext=(5, 6), textcoords="offset points", fontsize=7,
                                color=colour)
            ax.fill_between(ns, lo, hi, color=colour, alpha=0.18, linewidth=0)
        if spec.target is not None:
            ax.axhline(spec.target, color="grey", linestyle=":", linewidth=1, label=f"target {spec.target:g}")
        _metric_limits(ax, spec)
        ax.set_xscale("log")
        _major_ticks_only(ax)
        ax.set_xlabel(panel["xlabel"])
        ax.set_ylabel(spec.label, fontsize=9)
        ax.set_title(panel["title"], fontsize=10)
        ax.grid(alpha=0.3)
    return _finish(fig, axes, "Performance vs amount of training data (a line per family: its best method)",
                   out / "overview_data.png")


def plot_accuracy_vs_inference(panels: list[dict[str, Any]], out: Path) -> Path:
    """Figure 2: the metric against inference FLOPs per example, bubble area = parameters.

    ``panels``: per task, ``title``, ``spec`` and ``bubbles`` (dicts with ``method``,
    ``family``, ``value``, ``flops_per_example``, ``params``). A method without a network
    (no parameters) is a black-edged diamond; one whose inference FLOPs were not counted (a
    formula evaluated in numpy) is a left-pointing triangle at the panel's left edge.
    """
    fig, axes = _panels(len(panels))
    for ax, panel in zip(axes, panels, strict=True):
        spec = panel["spec"]
        counted = [b for b in panel["bubbles"] if math.isfinite(b["value"]) and math.isfinite(b["flops_per_example"])
                   and b["flops_per_example"] > 0]
        uncounted = [b for b in panel["bubbles"] if math.isfinite(b["value"]) and b not in counted]
        largest = max((b["params"] for b in counted if math.isfinite(b["params"])), default=1.0) or 1.0
        if uncounted:
            left = min((b["flops_per_example"] for b in counted), default=1e3) / 10
            for b in uncounted:  # drawn at the left edge, pointing left: cheaper than shown, not free
                y = float(shown(np.array([b["value"]]), spec)[0])
                ax.scatter(left, y, s=70, marker="<", color=_family_colour(b["family"]), edgecolors="black",
                           label=f"{b['family']} (inference FLOPs not counted)")
                ax.annotate(b["method"], (left, y), fontsize=6, xytext=(4, 4), textcoords="offset points")
        for b in counted:
            colour = _family_colour(b["family"])
            y = float(shown(np.array([b["value"]]), spec)[0])
            if math.isfinite(b["params"]) and b["params"] > 0:
                ax.scatter(b["flops_per_example"], y, s=40 + 1500 * b["params"] / largest, color=colour, alpha=0.45,
                           edgecolors=colour, label=b["family"])
            else:
                ax.scatter(b["flops_per_example"], y, s=60, marker="D", color=colour, edgecolors="black",
                           label=f"{b['family']} (no network)")
            ax.annotate(b["method"], (b["flops_per_example"], y), fontsize=6, xytext=(3, 3),
                        textcoords="offset points")
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        if unique:
            ax.legend(unique.values(), unique.keys(), fontsize=7, loc="best", markerscale=0.4)
        ax.set_xscale("log")
        _major_ticks_only(ax)
        ax.margins(x=0.25, y=0.08)  # room for the bubbles at the ends
        ax.set_xlabel("inference FLOPs per example (log)")
        ax.set_ylabel(spec.label, fontsize=9)
        _metric_limits(ax, spec)
        ax.set_title(panel["title"] + f" (largest params {largest:,.0f})", fontsize=10)
        ax.grid(alpha=0.3)
    return _finish(fig, axes, "Accuracy vs inference cost (bubble area = parameters; each method at its largest "
                   "training set)", out / "overview_inference.png", legends=False)


def plot_compute_to_target(panels: list[dict[str, Any]], out: Path) -> Path:
    """Figure 4: training cost to reach each error target, log-log, with each family's fitted slope.

    Two rows: training FLOPs (``targets``) and training seconds (``targets_seconds``), so a
    method whose FLOPs were not counted (numpy work) still has its seconds. ``panels``:
    per task, ``title``, ``spec`` and both keys (from :func:`compute_to_target`).
    """
    import matplotlib.pyplot as plt

    rows = (("targets", "training FLOPs to reach it (log)"), ("targets_seconds", "training seconds to reach it (log)"))
    fig, grid = plt.subplots(2, len(panels), figsize=(4.6 * len(panels), 7.2), squeeze=False, layout="constrained")
    for r, (key, ylabel) in enumerate(rows):
        for ax, panel in zip(grid[r], panels, strict=True):
            for family, fit in panel[key].items():
                errors = np.array([p[0] for p in fit["points"]])
                costs = np.array([p[1] for p in fit["points"]])
                k = "one size reaches all" if fit["slope"] is None else f"k = {fit['slope']:.2f}"
                ax.plot(errors, costs, "-o", color=_family_colour(family), label=f"{family}, {k}")
            _error_axes(ax, panel, ylabel)
            if not panel[key]:
                ax.text(0.5, 0.5, "no family reached any target\n(or its cost was not counted)", ha="center",
                        va="center", transform=ax.transAxes)
    return _finish(fig, list(grid.flat), "Compute to reach a target vs the target (log-log; k: cost ~ error^-k)",
                   out / "overview_scaling.png")


def panels_from(records, specs_of, xlabel_of=None, title_of=None) -> list[dict[str, Any]]:
    """One panel dict per task in ``records`` (ok runs), with everything figures 1-4 draw.

    Args:
        records: run records of one or several tasks.
        specs_of: ``task -> [MetricSpec]`` (the first is the primary metric).
        xlabel_of: ``task -> x-axis label`` of figure 1 (default ``training samples``).
        title_of: ``task -> panel title`` (default the task's name).
    """
    records = list(records)
    table = aggregate(records)
    families = {r.config.method: r.config.family for r in records}
    panels = []
    for task in sorted(table):
        methods = table[task]
        spec = specs_of(task)[0]
        fams = {m: families.get(m, "") for m in methods}
        bubbles = []
        for m in sorted(methods):
            n = max(methods[m])
            c = methods[m][n]
            bubbles.append({"method": m, "family": fams[m], "n": n, "value": _value(c, spec),
                            "flops_per_example": c.inference_flops_per_example, "params": c.params})
        panels.append({
            "task": task, "title": title_of(task) if title_of else task, "spec": spec,
            "xlabel": xlabel_of(task) if xlabel_of else "training samples (log)",
            "methods": methods, "families": fams,
            "curves": family_curves(methods, fams, spec),
            "bubbles": bubbles,
            "costs": cost_rows(methods, fams, spec),
            "targets": compute_to_target(methods, fams, spec),
            "targets_seconds": compute_to_target(methods, fams, spec, cost="train_seconds"),
        })
    return panels


def device_panels(records, specs_of, title_of=None) -> list[dict[str, Any]]:
    """Figure 5's panels: per task, training seconds to each target per family and device.

    Returns one dict per task with ``title``, ``spec`` and ``devices``:
    ``{device: compute_to_target(..., cost="train_seconds")}``; empty when the records hold
    a single device.
    """
    records = [r for r in records if r.status == "ok"]
    devices = sorted({r.config.device for r in records})
    if len(devices) < 2:
        return []
    panels = []
    for task in sorted({r.config.task for r in records}):
        spec = specs_of(task)[0]
        per_device = {}
        for device in devices:
            mine = [r for r in records if r.config.task == task and r.config.device == device]
            table = aggregate(mine).get(task, {})
            fams = {r.config.method: r.config.family for r in mine}
            per_device[device] = compute_to_target(table, fams, spec, cost="train_seconds")
        panels.append({"task": task, "title": title_of(task) if title_of else task, "spec": spec,
                       "devices": per_device})
    return panels


def plot_devices(panels: list[dict[str, Any]], out: Path) -> Path:
    """Figure 5: training seconds to each target, a line per family and device (CPU solid, others dashed)."""
    fig, axes = _panels(len(panels))
    for ax, panel in zip(axes, panels, strict=True):
        for d, (device, fits) in enumerate(panel["devices"].items()):
            for family, fit in fits.items():
                errors = [p[0] for p in fit["points"]]
                secs = [p[1] for p in fit["points"]]
                slope = "" if fit["slope"] is None else f", k = {fit['slope']:.2f}"
                ax.plot(errors, secs, "-o" if device == "cpu" else "--s", color=_family_colour(family),
                        alpha=1.0 if d == 0 else 0.8, label=f"{family} on {device}{slope}")
        _error_axes(ax, panel, "training seconds to reach it (log)")
    return _finish(fig, axes, "Seconds to reach a target, CPU beside GPU", out / "overview_devices.png")


def _slope(fit: dict[str, Any]) -> str:
    return "— (one size reaches all)" if fit["slope"] is None else f"{fit['slope']:.2f}"


def write_overview(records, out: Path, specs_of, *, title_of=None, xlabel_of=None,
                   summary: dict[str, Any] | None = None, device_records=None,
                   energy_line: str = "") -> tuple[list[str], list[Path]]:
    """Draw figures 1-4 (and 5 when ``device_records`` span two devices) and their tables.

    Args:
        records: the runs figures 1-4 read (one device).
        out: the folder the PNGs go to.
        specs_of: ``task -> [MetricSpec]``; the first is each panel's metric.
        title_of, xlabel_of: ``task ->`` panel title / figure 1's x label.
        summary: a dict the flat keys go into (``overview.TASK...``).
        device_records: runs on every device (figure 5); ``None`` or one device: no figure 5.
        energy_line: the sentence that says how energy was measured (for table 3).

    Returns:
        The markdown lines (figures and tables) and the PNG paths.
    """
    import matplotlib

    matplotlib.use("Agg")
    summary = {} if summary is None else summary
    panels = panels_from(records, specs_of, xlabel_of, title_of)
    if not panels:
        return ["No finished runs to draw."], []
    figures = [plot_data_curves(panels, out), plot_accuracy_vs_inference(panels, out),
               plot_compute_to_target(panels, out)]
    lines = ["### 1. Performance vs amount of training data", "", f"![performance vs data]({figures[0].name})", "",
             "*One panel per task; a line per family: at each size the family's best method there (mean over "
             "seeds, band = that method's 95% interval over seeds); dotted: the task's target.*", "",
             "| task | family | n_train | best method | mean | 95% interval | seeds |", "|---|---|---|---|---|---|---|"]
    for p in panels:
        for family, curve in p["curves"].items():
            for n, row in curve.items():
                lines.append(f"| {p['task']} | {family} | {n} | {row['method']} | {_fmt(row['mean'])} | "
                             f"{_fmt(row['lo'])} to {_fmt(row['hi'])} | {row['seeds']} |")
                summary[f"overview.{p['task']}.{family}.{p['spec'].name}.n{n}"] = row["mean"]
                summary[f"overview.{p['task']}.{family}.best_method.n{n}"] = row["method"]
    lines += ["", "### 2. Accuracy vs inference FLOPs", "", f"![accuracy vs inference]({figures[1].name})", "",
              "*Each method at its largest training set: its metric against inference FLOPs per example (log); "
              "bubble area proportional to parameters; a diamond is a method without a network; a left-pointing "
              "triangle at the left edge is one whose inference FLOPs were not counted (a formula evaluated in "
              "numpy): cheaper than drawn, not free.*", "",
              "| task | method | family | n_train | metric | inference FLOPs / example | params |",
              "|---|---|---|---|---|---|---|"]
    for p in panels:
        for b in p["bubbles"]:
            flops = "not counted" if b["flops_per_example"] == 0 else _fmt(b["flops_per_example"])
            lines.append(f"| {p['task']} | {b['method']} | {b['family']} | {b['n']} | {_fmt(b['value'])} | "
                         f"{flops} | {_fmt(b['params'])} |")
            key = f"overview.{p['task']}.{b['method']}"
            summary[f"{key}.inference_flops_per_example"] = b["flops_per_example"]
            summary[f"{key}.params"] = b["params"]
            summary[f"{key}.{p['spec'].name}.largest_n"] = b["value"]
    lines += ["", "### 3. Training cost to reach the target", "",
              "*Per method: the training cost of one run at the smallest size whose mean reaches the task's target "
              "(seconds, FLOPs, energy, CO2e: Strubell et al.'s table). **Not reached**: the costs of the largest "
              "size tried, a lower bound on what the target would take. A compressed method's training includes "
              "its teacher's.* " + energy_line, "",
              "| task | target | family | method | reached at n | metric there | train s | train FLOPs | "
              "energy (J) | CO2e (g) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for p in panels:
        spec = p["spec"]
        sign = ">=" if spec.higher_is_better else "<="
        if spec.target is None:
            lines.append(f"| {p['task']} | {spec.name} has no target | | | | | | | | |")
            continue
        for row in p["costs"]:
            n = str(row["n"]) if row["reached"] else f"not reached (by {row['n']})"
            pre = "" if row["reached"] else "> "
            lines.append(f"| {p['task']} | {spec.name} {sign} {spec.target:g} | {row['family']} | {row['method']} | "
                         f"{n} | {_fmt(row['metric'])} | {pre}{_fmt(row['train_seconds'])} | "
                         f"{pre}{_fmt(row['train_flops'])} | {pre}{_fmt(row['train_joules'])} | "
                         f"{pre}{_fmt(row['train_co2e_kg'] * 1e3)} |")
            key = f"overview.{p['task']}.{row['method']}.to_target"
            summary[f"{key}.reached"] = row["reached"]
            summary[f"{key}.n"] = row["n"]
            for name in ("train_seconds", "train_flops", "train_joules", "train_co2e_kg"):
                summary[f"{key}.{name}"] = row[name]
    lines += ["", "### 4. Compute to reach a target vs the target", "", f"![compute to target]({figures[2].name})", "",
              "*For each error target (1 - metric: 0.5, 0.3, ..., 0.001) the least training cost at which a "
              "family reached it (any of its methods, any size; mean over seeds); log-log; top row FLOPs, bottom "
              "row seconds. k is the slope of the least-squares line through a family's points: its cost grows as "
              "error^-k (Thompson et al. 2020). When one size reaches every target there is no growth to measure "
              "(no k); a family that reached no target has no line; a method whose FLOPs were not counted (0: its "
              "own numpy work, not reported) is only in the seconds row.*", "",
              "| task | family | cost | targets reached | tightest error reached | cost there | k |",
              "|---|---|---|---|---|---|---|"]
    for p in panels:
        for key, unit in (("targets", "FLOPs"), ("targets_seconds", "seconds")):
            for family, fit in p[key].items():
                last = fit["points"][-1]
                lines.append(f"| {p['task']} | {family} | {unit} | {len(fit['points'])} | {last[0]:g} ({last[2]}, "
                             f"n={last[3]}) | {_fmt(last[1])} | {_slope(fit)} |")
                name = "flops" if unit == "FLOPs" else "seconds"
                summary[f"overview.{p['task']}.{family}.{name}_slope_k"] = fit["slope"]
                summary[f"overview.{p['task']}.{family}.{name}_tightest_error"] = last[0]
    lines += ["", "### Which claims held", "",
              "Per task: did the hybrid reach the target from fewer training samples and less training compute "
              "than the deep baselines, and did compressing them change that?", ""]
    lines += claims(panels) or ["No task has both a hybrid and a deep method with a target."]
    lines.append("")
    dev_panels = device_panels(device_records, specs_of, title_of) if device_records is not None else []
    if dev_panels:
        figures.append(plot_devices(dev_panels, out))
        lines += ["### 5. CPU beside GPU", "", f"![devices]({figures[-1].name})", "",
                  "*Figure 4's compute axis in training seconds, per device: solid CPU, dashed GPU.*", "",
                  "| task | device | family | targets reached | seconds at the tightest | k |",
                  "|---|---|---|---|---|---|"]
        for p in dev_panels:
            for device, fits in p["devices"].items():
                for family, fit in fits.items():
                    last = fit["points"][-1]
                    lines.append(f"| {p['task']} | {device} | {family} | {len(fit['points'])} | {_fmt(last[1])} | "
                                 f"{_slope(fit)} |")
                    summary[f"overview.{p['task']}.{device}.{family}.seconds_tightest"] = last[1]
        summary["overview.gpu"] = True
    else:
        lines += ["### 5. CPU beside GPU", "",
                  "Not drawn: these runs hold one device only. On a machine with a GPU, run the same command "
                  "with `--device cuda` into the same folder and the figure appears beside the CPU's.", ""]
        summary["overview.gpu"] = False
    return lines, figures


def _first_to_target(rows: list[dict[str, Any]], family: str) -> dict[str, Any] | None:
    """The family's row that reached the target at the fewest samples (then least FLOPs); else its largest try."""
    mine = [r for r in rows if r["family"] == family]
    if not mine:
        return None
    reached = [r for r in mine if r["reached"]]
    if reached:
        return min(reached, key=lambda r: (r["n"], r["train_flops"] if math.isfinite(r["train_flops"]) else math.inf))
    return max(mine, key=lambda r: r["n"])


def _ratios(hybrid: dict[str, Any], other: dict[str, Any]) -> dict[str, float]:
    """``other``'s training cost over ``hybrid``'s, in FLOPs (where both were counted) and in seconds."""
    out = {}
    for key, unit in (("train_flops", "FLOPs"), ("train_seconds", "seconds")):
        h, o = hybrid[key], other[key]
        if all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in (h, o)):
            out[unit] = o / h
    return out


def _compute_claim(hybrid: dict[str, Any], other: dict[str, Any]) -> str:
    """Whether ``other`` needed more training compute than ``hybrid`` to reach the target (rows of ``cost_rows``).

    Both training FLOPs and seconds are compared where measured: FLOPs count only what
    the counters see (torch ops, and numpy work a method reports), so a solver whose numpy
    work goes unreported looks cheaper in FLOPs than it is; seconds see everything. The
    claim holds when every measure says so, and is said to be mixed otherwise.
    """
    ratios = _ratios(hybrid, other)
    if not ratios:
        return "compute: not measured"
    said = ", ".join(f"{_fmt(r)}x the training {unit}" for unit, r in ratios.items())
    if other["reached"]:
        if all(r > 1 for r in ratios.values()):
            return f"compute: {said} - **holds**"
        if all(r <= 1 for r in ratios.values()):
            return f"compute: {said} - **does not hold**"
        return f"compute: {said} - **mixed**"
    if all(r >= 1 for r in ratios.values()):
        return f"compute: > {said} - **holds** within the sizes tried"
    return (f"compute: **not decided** - at its largest size it had spent {said} of the hybrid's without reaching "
            "the target")


def claims(panels: list[dict[str, Any]]) -> list[str]:
    """Markdown bullets: per task and family (deep, compressed-deep), whether the hybrid reached the
    target from fewer training samples and less training compute.

    Each bullet gives the numbers it rests on. A family that never reached the target is
    compared through its largest size tried: a lower bound on what it would need, which
    decides the compute claim only when that bound already exceeds the hybrid's cost.
    Compute is compared in training FLOPs and in seconds (:func:`_compute_claim`).
    """
    lines = []
    for p in panels:
        rows, spec = p["costs"], p["spec"]
        hybrid = _first_to_target(rows, "hybrid")
        if hybrid is None or spec.target is None:
            continue
        target = f"{spec.name} {'>=' if spec.higher_is_better else '<='} {spec.target:g}"
        for family in ("deep", "compressed-deep"):
            other = _first_to_target(rows, family)
            if other is None:
                continue
            head = f"- `{p['task']}` ({target}), hybrid vs {family}: "
            if not hybrid["reached"]:
                if other["reached"]:
                    lines.append(head + f"{other['method']} reached it at n={other['n']}, {hybrid['method']} did not "
                                 f"by n={hybrid['n']} ({_fmt(hybrid['metric'])}) - **does not hold**.")
                else:
                    lines.append(head + f"neither reached it (best {hybrid['method']} {_fmt(hybrid['metric'])} at "
                                 f"n={hybrid['n']}, {other['method']} {_fmt(other['metric'])} at n={other['n']}) - "
                                 "**not decided** within the sizes tried.")
                continue
            ratio = other["n"] / hybrid["n"]
            if other["reached"]:
                samples = (f"{other['method']} reached it at n={other['n']}, {hybrid['method']} at n={hybrid['n']}: "
                           f"samples {_fmt(ratio)}x - {'**holds**' if ratio > 1 else '**does not hold**'}")
            elif ratio > 1:
                samples = (f"{other['method']} did not reach it by n={other['n']} ({_fmt(other['metric'])}), "
                           f"{hybrid['method']} did at n={hybrid['n']}: samples > {_fmt(ratio)}x - **holds** within "
                           "the sizes tried")
            else:
                samples = (f"{other['method']} did not reach it by n={other['n']} ({_fmt(other['metric'])}), "
                           f"{hybrid['method']} did at n={hybrid['n']}: samples **not decided** ({family} was not "
                           "tried beyond the hybrid's size)")
            lines.append(head + samples + "; " + _compute_claim(hybrid, other) + ".")
    return lines
