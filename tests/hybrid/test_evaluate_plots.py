"""Honest figures: clipped values marked and labelled, bands cut at true bounds, labels that never overlap."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hybrid.evaluate.plots import LabelPlacer, below_floor, cut_to_bounds, plot_compute, shown  # noqa: E402
from hybrid.evaluate.protocols import MetricSpec  # noqa: E402
from hybrid.evaluate.report import Cell  # noqa: E402

R2 = MetricSpec("r2", "R^2", True, 0.99, floor=-1.0, ceiling=1.0)
ACC = MetricSpec("acc", "accuracy", True, 0.9, floor=0.0, ceiling=1.0, minimum=0.0)


def test_values_below_the_floor_are_flagged_and_drawn_at_it():
    values = np.array([0.5, -3.0, -np.inf, np.nan, -1.0])
    assert below_floor(values, R2).tolist() == [False, True, True, False, False]
    drawn = shown(values, R2)
    assert drawn[:3].tolist() == [0.5, -1.0, -1.0] and math.isnan(drawn[3]) and drawn[4] == -1.0


def test_bands_are_cut_at_true_bounds_not_at_the_display_floor():
    # R^2 has no minimum: a band reaching -5 stays at -5 (the axes cut it, visibly)
    assert cut_to_bounds(np.array([-5.0, 1.3]), R2).tolist() == [-5.0, 1.0]
    # an accuracy cannot be below 0 or above 1
    assert cut_to_bounds(np.array([-0.2, 1.1]), ACC).tolist() == [0.0, 1.0]
    assert ACC.bounded(1.07) == 1.0 and ACC.bounded(-0.01) == 0.0 and R2.bounded(-7.0) == -7.0


def test_label_placer_never_overlaps_and_counts_what_it_drops():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    fig.canvas.draw()
    placer = LabelPlacer(fig, ax)
    placed = [placer.add(5.0, 5.0 + 0.01 * k, f"n={2**k}") for k in range(12)]  # a crowded spot
    assert sum(placed) + placer.dropped == 12 and 1 <= sum(placed) < 12
    boxes = placer.boxes
    assert all(not a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    plt.close(fig)


def test_a_clipped_value_is_never_dropped_even_in_a_crowd():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    fig.canvas.draw()
    placer = LabelPlacer(fig, ax)
    for k in range(12):
        placer.add(9.9, 0.1 + 0.01 * k, f"n={2**k}")  # fill the corner of the axes
    assert placer.add(9.9, 0.1, "n=128: -2.1", required=True)
    assert "n=128: -2.1" in [text.get_text() for text in ax.texts]
    plt.close(fig)


def test_compute_figure_marks_a_clipped_point(tmp_path, monkeypatch):
    drawn = {}

    def keep(fig, axes, title, path):  # look at the figure instead of only saving it
        drawn["ylabel"] = axes[0][0].get_ylabel()
        drawn["texts"] = [t.get_text() for t in axes[0][0].texts]
        drawn["markers"] = [line.get_marker() for line in axes[0][0].lines]
        plt.close(fig)
        return path

    monkeypatch.setattr("hybrid.evaluate.plots._save", keep)
    cells = {n: Cell(n=n, seeds=1, metrics={"r2": (v, v, v)}, train_flops=1e6 * n, train_seconds=0.1 * n,
                     train_joules=float("nan")) for n, v in ((8, -2.5e5), (32, 0.3), (128, 0.999))}
    plot_compute("t", {"mlp": cells}, ["mlp"], {"mlp": "deep"}, R2, tmp_path)
    assert "drawn at -1" in drawn["ylabel"]
    assert "v" in drawn["markers"]  # the hollow triangle of the clipped point
    assert any("-2.5e+05" in t for t in drawn["texts"])  # its true value, labelled
