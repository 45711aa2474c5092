"""The overview (issue 18): the quick grid spans the pillars, the five figures' numbers, and the command."""

import json
import math

import pytest

from hybrid.evaluate.overview import (
    compute_to_target,
    error_of,
    family_curves,
    panels_from,
    write_overview,
)
from hybrid.evaluate.protocols import MetricSpec
from hybrid.evaluate.report import aggregate
from hybrid.evaluate.store import ResultStore, RunConfig, RunRecord

ACC = MetricSpec("acc", "accuracy", True, 0.9, floor=0.0, ceiling=1.0, minimum=0.0)


def _record(task, method, family, n, seed, acc, *, flops, device="cpu", params=1000.0):
    config = RunConfig(task=task, task_params={}, method=method, method_params={}, family=family, n_train=n,
                       seed=seed, device=device)
    return RunRecord(config=config, status="ok", metrics={"acc": acc},
                     train={"flops": flops, "wall_s": flops / 1e9, "energy_kwh": flops / 1e15, "co2e_kg": 1e-6},
                     inference={"flops": 100.0 * params, "examples": 100, "params": params,
                                "nonzero_params": params})


def _records(task="t", device="cpu"):
    """The hybrid reaches 0.9 at n=10; 'big' (deep) at n=1000, 'small' (deep) never; the compressed one never."""
    recs = []
    for seed in (0, 1):
        for n in (10, 100, 1000):
            recs.append(_record(task, "sym", "hybrid", n, seed, {10: 0.95, 100: 0.99, 1000: 0.999}[n], flops=1e6 * n,
                                device=device, params=10.0))
            recs.append(_record(task, "big", "deep", n, seed, {10: 0.3, 100: 0.6, 1000: 0.92}[n] + 0.01 * seed,
                                flops=1e9 * n, device=device, params=1e5))
            recs.append(_record(task, "small", "deep", n, seed, {10: 0.4, 100: 0.5, 1000: 0.6}[n], flops=1e8 * n,
                                device=device, params=1e4))
            recs.append(_record(task, "big-int8", "compressed-deep", n, seed, {10: 0.3, 100: 0.55, 1000: 0.85}[n],
                                flops=1.1e9 * n, device=device, params=1e5))
    return recs


def _families(records):
    return {r.config.method: r.config.family for r in records}


def test_family_curve_takes_the_best_method_at_each_size():
    recs = _records()
    curves = family_curves(aggregate(recs)["t"], _families(recs), ACC)
    assert list(curves) == ["hybrid", "deep", "compressed-deep"]
    # the deep family's line is 'small' at n=10 (0.4 > 0.305) and 'big' beyond
    assert [curves["deep"][n]["method"] for n in (10, 100, 1000)] == ["small", "big", "big"]
    assert curves["deep"][1000]["mean"] == pytest.approx(0.925)
    assert curves["deep"][1000]["lo"] < 0.925 < curves["deep"][1000]["hi"]  # two seeds: a real interval
    assert curves["hybrid"][10]["mean"] == pytest.approx(0.95)


def test_compute_to_target_finds_the_cheapest_cell_and_fits_the_slope():
    assert error_of(0.9, ACC) == pytest.approx(0.1) and math.isnan(error_of(0.9, MetricSpec("x", "x")))
    recs = []
    # cost = 1e3 * error^-2 exactly: the fitted slope k must be 2
    for n, err in ((1, 0.5), (2, 0.2), (3, 0.1), (4, 0.01)):
        recs.append(_record("t", "m", "deep", n, 0, 1 - err, flops=1e3 * err ** -2))
    fits = compute_to_target(aggregate(recs)["t"], _families(recs), ACC, errors=(0.5, 0.2, 0.1, 0.01))
    assert [p[0] for p in fits["deep"]["points"]] == [0.5, 0.2, 0.1, 0.01]
    assert [p[3] for p in fits["deep"]["points"]] == [1, 2, 3, 4]
    assert fits["deep"]["slope"] == pytest.approx(2.0)
    # a looser target is reached by the cheapest cell that meets it, not the first size
    both = compute_to_target(aggregate(_records())["t"], _families(_records()), ACC, errors=(0.5, 0.1))
    assert both["deep"]["points"][0][2:] == ("small", 100)  # 0.5 at 1e10 FLOPs, cheaper than big at 1e11
    assert both["deep"]["points"][1][2:] == ("big", 1000)
    assert "compressed-deep" in both and len(both["compressed-deep"]["points"]) == 1  # 0.85: only error 0.5


def test_write_overview_draws_the_figures_and_says_which_claims_held(tmp_path):
    recs = _records("a") + _records("b")
    summary = {}
    lines, figures = write_overview(recs, tmp_path, lambda task: [ACC], summary=summary, device_records=recs)
    assert [f.name for f in figures] == ["overview_data.png", "overview_inference.png", "overview_scaling.png"]
    assert all(f.stat().st_size > 10_000 for f in figures)
    text = "\n".join(lines)
    assert "| a | deep | 1000 | big | 0.925 |" in text
    assert summary["overview.a.hybrid.acc.n10"] == pytest.approx(0.95)
    assert summary["overview.b.sym.to_target.n"] == 10 and summary["overview.b.big.to_target.n"] == 1000
    assert summary["overview.b.small.to_target.reached"] is False
    assert summary["overview.a.big.inference_flops_per_example"] == pytest.approx(1e5)
    assert summary["overview.gpu"] is False and "### 5. CPU beside GPU" in text and "Not drawn" in text
    claims = text[text.index("### Which claims held"):]
    # deep reached it at 100x the samples, 1e5x the FLOPs (1e12 vs 1e7): holds; the compressed form never did
    assert ("hybrid vs deep: big reached it at n=1000, sym at n=10: samples 100x - **holds**; compute: 1.00e+05x "
            "the training FLOPs, 1.00e+05x the training seconds - **holds**") in claims
    assert ("hybrid vs compressed-deep: big-int8 did not reach it by n=1000 (0.85), sym did at n=10: samples > "
            "100x - **holds** within the sizes tried; compute: > 1.10e+05x the training FLOPs") in claims
    assert "does not hold" not in claims and "not decided" not in claims


def test_claim_that_fails_is_said_to_fail(tmp_path):
    recs = [r for r in _records() if r.config.method != "sym"]
    recs += [_record("t", "sym", "hybrid", n, 0, 0.5, flops=1e6) for n in (10, 1000)]
    lines, _ = write_overview(recs, tmp_path, lambda task: [ACC])
    text = "\n".join(lines)
    assert "hybrid vs deep: big reached it at n=1000, sym did not by n=1000 (0.5) - **does not hold**" in text
    assert "hybrid vs compressed-deep: neither reached it" in text and "**not decided**" in text


def test_compute_claim_is_undecided_when_deep_stopped_short_and_uses_seconds_without_flops(tmp_path):
    recs = [_record("t", "sym", "hybrid", 10, 0, 0.95, flops=0.0),  # FLOPs not counted: seconds decide
            _record("t", "net", "deep", 100, 0, 0.5, flops=1e9)]
    recs[0].train["wall_s"] = 10.0  # the deep run: 1 s at its largest size, short of the target
    lines, _ = write_overview(recs, tmp_path, lambda task: [ACC])
    text = "\n".join(lines)
    assert "samples > 10x - **holds** within the sizes tried" in text
    assert ("compute: **not decided** - at its largest size it had spent 0.1x the training seconds of the "
            "hybrid's") in text


def test_compute_claim_needs_flops_and_seconds_to_agree():
    from hybrid.evaluate.overview import _compute_claim

    hybrid = {"train_flops": 1e6, "train_seconds": 100.0}
    cheap_in_flops_only = {"train_flops": 1e9, "train_seconds": 50.0, "reached": True}
    assert _compute_claim(hybrid, cheap_in_flops_only).endswith("- **mixed**")
    short = {"train_flops": 1e9, "train_seconds": 50.0, "reached": False}
    assert "**not decided**" in _compute_claim(hybrid, short)
    assert _compute_claim(hybrid, {**short, "train_seconds": 200.0}).endswith("**holds** within the sizes tried")


def test_figure_five_needs_two_devices(tmp_path):
    recs = _records() + _records(device="cuda")
    summary = {}
    lines, figures = write_overview(_records(), tmp_path, lambda task: [ACC], summary=summary, device_records=recs)
    assert figures[-1].name == "overview_devices.png" and summary["overview.gpu"] is True
    assert summary["overview.t.cuda.hybrid.seconds_tightest"] > 0


def test_panels_leave_out_methods_without_inference_flops_from_the_bubbles_only():
    recs = _records()
    for r in recs:
        if r.config.method == "sym":
            r.inference.pop("flops")
    (panel,) = panels_from(recs, lambda task: [ACC])
    sym = next(b for b in panel["bubbles"] if b["method"] == "sym")
    assert math.isnan(sym["flops_per_example"]) and panel["curves"]["hybrid"][10]["method"] == "sym"


def test_quick_grid_spans_the_three_pillars_with_each_family():
    from hybrid.evaluate.registry import get_task
    from hybrid.evaluate.sweep import quick_grid

    configs = [c for c in quick_grid("cpu") if c.task != "toy"]  # another test may have loaded the toy plug-in
    pillars = {get_task(c.task).pillar for c in configs}
    assert pillars == {"regression", "visual QA", "planning"}
    for task in {c.task for c in configs}:
        families = {c.family for c in configs if c.task == task}
        assert {"hybrid", "deep", "compressed-deep"} <= families, task
    ns = next(c for c in configs if c.method == "ns-vqa")
    assert ns.method_params["reinforce_steps"] == 100 and ns.method_params["n_programs"] == 270
    assert ns.task_params["n_test"] == 200
    feyn = next(c for c in configs if c.task == "feynman" and c.method == "ai-feynman")
    assert feyn.method_params["time_budget_s"] == 10.0 and len(feyn.task_params["equations"]) == 6
    from hybrid.evaluate.sweep import describe_quick

    said = "\n".join(describe_quick(configs))
    assert "`ai-feynman`: time_budget_s=10.0 (full: 60.0)" in said
    assert "`lights-out` (planning): sizes 20, 200; 1 seed(s); task parameters n_test=20 (full: 50)." in said
    # the full task's own defaults stay as registered
    from hybrid.evaluate.sweep import plan_grid

    (full,) = plan_grid(["clevr"], ["ns-vqa"], [10], 1, "cpu")
    assert "reinforce_steps" not in full.method_params and full.task_params["n_test"] == 1000


def test_reproduce_overview_runs_resumes_and_reuses(tmp_path, toy_plugin, monkeypatch):
    from hybrid.evaluate.sweep import plan_grid
    from hybrid.overview_reproduce import reproduce_overview

    grid = plan_grid(["toy"], ["toy-mean", "toy-first"], [2, 8], 2, "cpu")
    monkeypatch.setattr("hybrid.overview_reproduce.overview_configs", lambda quick, device, seeds: grid)
    # another store already holds one of the planned runs (and one the grid does not plan)
    other = tmp_path / "other.db"
    extra = plan_grid(["toy"], ["toy-mean"], [2, 32], 1, "cpu")
    from hybrid.evaluate.sweep import run_sweep

    with ResultStore(other) as store:
        run_sweep(extra, store, jobs=1, track_energy=False, progress=False)
    out = tmp_path / "ovw"
    summary = reproduce_overview(out, quick=True, jobs=1, reuse=[other], progress=False, track_energy=False)
    assert summary["runs_planned"] == 8 and summary["runs_ok"] == 8
    assert summary["runs_reused"] == 1 and summary["runs_now"] == 7
    text = (out / "overview.md").read_text()
    assert "8 of 8 planned runs finished" in text and "![performance vs data](overview_data.png)" in text
    assert (out / "details" / "report.md").exists() and (out / "overview_data.png").stat().st_size > 10_000
    saved = json.loads((out / "summary.json").read_text())
    assert saved["overview.gpu"] is False and "overview_data.png" in saved["figures"]
    again = reproduce_overview(out, quick=True, jobs=1, progress=False, track_energy=False)
    assert again["runs_now"] == 0 and again["runs_ok"] == 8
    # drawing only, from a store that lacks some planned runs: nothing runs, the gap is said
    grid.extend(plan_grid(["toy"], ["toy-mean"], [16], 1, "cpu"))
    drawn = reproduce_overview(out, quick=True, progress=False, run=False)
    assert drawn["runs_now"] == 0 and drawn["runs_missing"] == 1
    assert "1 not run yet (rerun the command to resume)" in (out / "overview.md").read_text()
    with pytest.raises(ValueError, match="no such results database"):
        reproduce_overview(out, quick=True, jobs=1, reuse=[tmp_path / "missing.db"], progress=False)


def test_cli_reproduce_overview_arguments():
    from hybrid.cli import build_parser

    args = build_parser().parse_args(["reproduce", "overview", "--quick", "--reuse", "a.db", "--reuse", "b.db",
                                      "--seeds", "2", "--device", "cpu"])
    assert (args.paper, args.quick, args.reuse, args.seeds) == ("overview", True, ["a.db", "b.db"], 2)


def test_compare_report_opens_with_the_figures_across_tasks(tmp_path):
    from hybrid.evaluate.report import write_report

    files = write_report(_records("a") + _records("b"), tmp_path)
    text = files.report.read_text()
    assert text.index("## Across tasks") < text.index("## Task `a`")
    assert "### Across tasks: 1. Performance vs amount of training data" in text
    assert {"overview_data.png", "overview_inference.png", "overview_scaling.png"} <= {f.name for f in files.figures}
    single = write_report(_records("a"), tmp_path / "one")
    assert "## Across tasks" not in single.report.read_text()  # one task: its own section says it all
