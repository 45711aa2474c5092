"""The report's figures: sample efficiency and compute versus a metric, drawn so they cannot mislead.

- A value below a metric's display ``floor`` (R^2 of -1e6 far outside the data) is drawn
  at the floor as a hollow down-pointing triangle, labelled with its true value, and the
  axis label says so; nothing is moved silently.
- Interval bands are cut at the metric's true bounds (``minimum``, ``ceiling``) only; the
  axes' limits, not a clip of the data, decide what is visible, so a band that runs off
  the bottom of the plot is seen to run off.
- Point labels (``n=``, true values) are placed where they overlap no other label; an
  ``n=`` label that fits nowhere is left out (the line's points are in order of ``n``),
  but a clipped point's true value never is: it goes where it overlaps the fewest labels.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.evaluate.protocols import MetricSpec

#: Figures share these colours: hybrids blue-green, deep baselines warm.
FAMILY_COLOURS = {"hybrid": ["#1b7837", "#2166ac", "#5aae61"], "deep": ["#d6604d", "#b2182b", "#f4a582"],
                  "compressed-deep": ["#8073ac", "#542788"], "peer": ["#737373", "#bf812d", "#35978f"]}
#: Offsets (points) tried in turn for a label: above right, below right, above left, below left, further out.
_OFFSETS = [(4, 4, "left", "bottom"), (4, -4, "left", "top"), (-4, 4, "right", "bottom"),
            (-4, -4, "right", "top"), (4, 14, "left", "bottom"), (4, -14, "left", "top"),
            (-4, 14, "right", "bottom"), (-4, -14, "right", "top"), (0, 24, "center", "bottom")]


def colours(order: list[str], families: dict[str, str]) -> dict[str, str]:
    """A colour per method: each family's palette in turn."""
    used: dict[str, int] = defaultdict(int)
    out = {}
    for m in order:
        fam = families.get(m, "deep")
        palette = FAMILY_COLOURS.get(fam, FAMILY_COLOURS["deep"])
        out[m] = palette[used[fam] % len(palette)]
        used[fam] += 1
    return out


def below_floor(values: np.ndarray, spec: MetricSpec) -> np.ndarray:
    """Mask of the finite values a plot must draw at the floor (below it)."""
    if spec.floor is None:
        return np.zeros(values.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return values < spec.floor


def shown(values: np.ndarray, spec: MetricSpec) -> np.ndarray:
    """Where each value is drawn: itself, or the floor when below it (``-inf`` included)."""
    clipped = below_floor(values, spec)
    return np.where(clipped, spec.floor if spec.floor is not None else values, values)


def cut_to_bounds(values: np.ndarray, spec: MetricSpec) -> np.ndarray:
    """Interval ends cut at the metric's true bounds (``minimum``, ``ceiling``), not at the display floor."""
    lo = -np.inf if spec.minimum is None else spec.minimum
    hi = np.inf if spec.ceiling is None else spec.ceiling
    return np.clip(values, lo, hi)


def _limits(ax, spec: MetricSpec) -> None:
    if spec.floor is not None and spec.ceiling is not None:
        margin = 0.05 * (spec.ceiling - spec.floor)
        ax.set_ylim(spec.floor - margin, spec.ceiling + margin)


def _ylabel(ax, spec: MetricSpec, clipped_any: bool) -> None:
    note = f"\n(▽ below {spec.floor:g}: drawn at {spec.floor:g}, true value labelled)" if clipped_any else ""
    ax.set_ylabel(spec.label + note, fontsize=9 if clipped_any else None)


def _fmt_value(v: float) -> str:
    if math.isinf(v):
        return "-inf" if v < 0 else "inf"
    return f"{v:.2g}" if abs(v) < 1e4 else f"{v:.1e}"


class LabelPlacer:
    """Adds text labels to an axes where they overlap no label already placed.

    Call :meth:`add` for each label (the most important first), after the axes' scales
    and limits are final; :attr:`dropped` counts the labels that fit nowhere.
    """

    def __init__(self, fig, ax):
        self.fig, self.ax = fig, ax
        self.renderer = fig.canvas.get_renderer()
        self.boxes: list[Any] = []
        self.dropped = 0

    def add(self, x: float, y: float, text: str, colour: str = "black", required: bool = False) -> bool:
        """Label the point ``(x, y)`` (data coordinates) with ``text``; returns whether it was placed.

        A ``required`` label (a clipped point's true value) that fits nowhere free is placed
        where it overlaps the fewest labels, inside the axes if any offset is, and counted
        as placed.
        """
        axes_box = self.ax.get_window_extent(self.renderer)
        fallback: tuple[tuple[int, int], tuple] | None = None
        for offset in _OFFSETS:
            dx, dy, ha, va = offset
            label = self.ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7,
                                     ha=ha, va=va, color=colour)
            box = label.get_window_extent(self.renderer)
            inside = (box.x0 >= axes_box.x0 and box.x1 <= axes_box.x1 and box.y0 >= axes_box.y0
                      and box.y1 <= axes_box.y1)
            overlaps = sum(box.overlaps(other) for other in self.boxes)
            if inside and not overlaps:
                self.boxes.append(box)
                return True
            label.remove()
            cost = (0 if inside else 1, overlaps)
            if fallback is None or cost < fallback[0]:
                fallback = (cost, offset)
        if required and fallback is not None:
            dx, dy, ha, va = fallback[1]
            label = self.ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7,
                                     ha=ha, va=va, color=colour)
            self.boxes.append(label.get_window_extent(self.renderer))
            return True
        self.dropped += 1
        return False


def _save(fig, axes, title: str, path: Path) -> Path:
    """Legend (if anything was drawn), title, write the PNG, free the figure."""
    import matplotlib.pyplot as plt

    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        axes[0][0].legend(handles, labels, fontsize=8, loc="best")
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_sample_efficiency(task: str, methods: dict[str, dict[int, Any]], order: list[str],
                           families: dict[str, str], specs: list[MetricSpec], out: Path) -> Path:
    """Each metric against training-set size (log x): mean line, 95% band, clipped points marked.

    Args:
        task: the task's name (title and file name).
        methods: ``{method: {n_train: Cell}}`` (cells with ``metrics[name] = (mean, lo, hi)``).
        order: the methods in drawing order; families: each method's family.
        specs: the task's metrics, one panel each.
        out: the folder the PNG goes to.

    Returns:
        The PNG's path.
    """
    import matplotlib.pyplot as plt

    palette = colours(order, families)
    fig, axes = plt.subplots(1, len(specs), figsize=(4.8 * len(specs), 4.0), squeeze=False, layout="constrained")
    for ax, spec in zip(axes[0], specs, strict=True):
        clipped_points = []
        for m in order:
            cells = methods[m]
            ns = np.array(sorted(cells))
            stats = np.array([cells[n].metrics.get(spec.name, (math.nan,) * 3) for n in ns], dtype=float)
            if np.all(np.isnan(stats[:, 0])):
                continue
            mean = stats[:, 0]
            lo, hi = cut_to_bounds(stats[:, 1], spec), cut_to_bounds(stats[:, 2], spec)
            low = below_floor(mean, spec)
            y = shown(mean, spec)
            ax.plot(ns, y, "-", color=palette[m], label=f"{m} ({families.get(m, '')})")
            ax.plot(ns[~low], y[~low], "o", color=palette[m])
            if low.any():
                ax.plot(ns[low], y[low], "v", markerfacecolor="none", markeredgecolor=palette[m], markersize=8)
                clipped_points += [(n, spec.floor, v, palette[m]) for n, v in zip(ns[low], mean[low], strict=True)]
            band = np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(ns, np.where(band, lo, np.nan), np.where(band, hi, np.nan), color=palette[m],
                            alpha=0.2, linewidth=0)
        if spec.target is not None:
            ax.axhline(spec.target, color="grey", linestyle=":", linewidth=1, label=f"target {spec.target:g}")
        _limits(ax, spec)
        ax.set_xscale("log")
        ax.set_xlabel("training samples (n_train)")
        _ylabel(ax, spec, bool(clipped_points))
        ax.grid(alpha=0.3)
        if clipped_points:
            fig.canvas.draw()
            placer = LabelPlacer(fig, ax)
            for n, y, v, colour in clipped_points:
                placer.add(n, y, _fmt_value(v), colour, required=True)
    return _save(fig, axes, f"{task}: performance vs amount of data", out / f"{task}_sample_efficiency.png")


def plot_compute(task: str, methods: dict[str, dict[int, Any]], order: list[str], families: dict[str, str],
                 spec: MetricSpec, out: Path) -> Path:
    """The primary metric against training FLOPs, seconds and joules (log x), one point per size.

    Points are labelled ``n=...`` where a label fits; a point below the floor is a hollow
    triangle at the floor labelled with its true value (those labels are placed first).

    Returns:
        The PNG's path.
    """
    import matplotlib.pyplot as plt

    palette = colours(order, families)
    axes_spec = [("train_flops", "training FLOPs"), ("train_seconds", "training seconds"),
                 ("train_joules", "training energy (J)")]
    fig, axes = plt.subplots(1, 3, figsize=(14.5, 4.2), squeeze=False, layout="constrained")
    for ax, (attr, xlabel) in zip(axes[0], axes_spec, strict=True):
        labels: list[tuple[bool, float, float, str, str]] = []
        for m in order:
            cells = [methods[m][n] for n in sorted(methods[m])]
            x = np.array([getattr(c, attr) for c in cells], dtype=float)
            value = np.array([c.metrics.get(spec.name, (math.nan,))[0] for c in cells], dtype=float)
            ok = np.isfinite(x) & (x > 0) & ~np.isnan(value)
            if not ok.any():
                continue
            low = below_floor(value, spec) & ok
            y = shown(value, spec)
            ax.plot(x[ok], y[ok], "-", color=palette[m], label=f"{m} ({families.get(m, '')})")
            ax.plot(x[ok & ~low], y[ok & ~low], "o", color=palette[m])
            if low.any():
                ax.plot(x[low], y[low], "v", markerfacecolor="none", markeredgecolor=palette[m], markersize=8)
            for c, xi, yi, vi, clipped in zip(cells, x, y, value, low, strict=True):
                if np.isfinite(xi) and xi > 0 and not math.isnan(vi):
                    text = f"n={c.n}: {_fmt_value(vi)}" if clipped else f"n={c.n}"
                    labels.append((bool(clipped), xi, yi, text, palette[m]))
        if spec.target is not None:
            ax.axhline(spec.target, color="grey", linestyle=":", linewidth=1)
        _limits(ax, spec)
        ax.set_xscale("log")
        ax.set_xlabel(xlabel + " (log)")
        _ylabel(ax, spec, any(lab[0] for lab in labels))
        ax.grid(alpha=0.3)
        if labels:
            fig.canvas.draw()
            placer = LabelPlacer(fig, ax)
            for clipped, xi, yi, text, colour in sorted(labels, key=lambda lab: not lab[0]):  # clipped first
                placer.add(xi, yi, text, colour, required=clipped)
    return _save(fig, axes, f"{task}: compute vs {spec.name}", out / f"{task}_compute.png")
