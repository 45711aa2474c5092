import json
import subprocess

import pytest

from hybrid.cli import main
from hybrid.evaluate import compare
from hybrid.evaluate.protocols import MetricSpec
from hybrid.evaluate.report import aggregate, mean_interval, samples_to_target
from hybrid.evaluate.store import ResultStore

from .conftest import ROOT, hybrid_cmd


def test_mean_interval_is_student_t():
    mean, lo, hi = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert hi - mean == pytest.approx(4.302653 * 1.0 / 3**0.5, rel=1e-5)  # t(0.975, 2) * s / sqrt(3)
    assert mean_interval([5.0]) == (5.0, 5.0, 5.0)


def test_report_is_written_from_the_store_alone(tmp_path):
    out = tmp_path / "run"
    compare("toy", ["toy-mean", "toy-first"], sizes=[2, 32, 512], seeds=2, jobs=1, out=out,
            track_energy=False, progress=False)
    redraw = tmp_path / "redraw"
    assert main(["report", str(out / "results.db"), "--out", str(redraw)]) == 0
    text = (redraw / "report.md").read_text()
    assert "toy_sample_efficiency.png" in text and (redraw / "toy_sample_efficiency.png").stat().st_size > 1000
    assert (redraw / "toy_compute.png").exists()
    summary = json.loads((redraw / "summary.json").read_text())
    assert summary == json.loads((out / "summary.json").read_text())
    assert summary["runs_ok"] == 12
    # samples-to-target is the smallest size whose mean error is within the target 0.1
    reached = summary["toy.toy-mean.samples_to_target.err"]
    errs = {n: summary[f"toy.toy-mean.err.n{n}"] for n in (2, 32, 512)}
    assert errs[reached] <= 0.1 and all(errs[n] > 0.1 for n in errs if n < reached)
    first = {n: summary[f"toy.toy-first.err.n{n}"] for n in (2, 32, 512)}
    expected_first = next((n for n in (2, 32, 512) if first[n] <= 0.1), None)
    assert summary["toy.toy-first.samples_to_target.err"] == expected_first
    assert summary["toy.ratio.toy-first_over_toy-mean.err.lower_bound"] is (expected_first is None)


def test_samples_to_target_picks_the_smallest_size(tmp_path):
    records = compare("toy", ["toy-mean"], sizes=[1, 64, 4096], seeds=1, jobs=1, store=tmp_path / "r.db",
                      track_energy=False, progress=False)
    cells = aggregate(records)["toy"]["toy-mean"]
    assert samples_to_target(cells, MetricSpec("acc", "acc", True, 0.0)) == 1
    assert samples_to_target(cells, MetricSpec("acc", "acc", True, 2.0)) is None


def test_powerlaw_compare_end_to_end_recovers_exact_formulas(tmp_path):
    assert main(["compare", "--task", "powerlaw", "--methods", "powerlaw-lstsq", "--sizes", "8", "--seeds", "1",
                 "--no-energy", "--no-progress", "--jobs", "1", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["powerlaw.powerlaw-lstsq.exact.n8"] == 1.0
    assert summary["powerlaw.powerlaw-lstsq.r2_extrap.n8"] > 0.999
    assert (tmp_path / "results.csv").exists() and (tmp_path / "results.json").exists()


def test_list_shows_tasks_methods_and_families(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "powerlaw:" in out and "powerlaw-lstsq" in out and "hybrid" in out and "mlp" in out and "deep" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "--task", "nope"], "unknown task 'nope'"),
        (["compare", "--task", "toy", "--methods", "nope"], "unknown method 'nope'"),
        (["compare", "--task", "toy", "--methods", "mlp"], "does not apply to task 'toy'"),
        (["compare", "--task", "toy", "--sizes", "0,4"], "--sizes must be positive"),
        (["compare", "--task", "toy", "--sizes", "-3"], "--sizes must be positive"),
        (["compare", "--task", "toy", "--sizes", "a,b"], "--sizes must be comma-separated integers"),
        (["compare", "--task", "toy", "--seeds", "0"], "--seeds must be positive"),
        (["compare", "--task", "toy", "--device", "tpu"], "device must be"),
        (["compare"], "give --task"),
        (["report", "/nonexistent/results.db"], "no results store"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("hybrid: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cuda_without_a_gpu_is_a_clear_error(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["compare", "--task", "toy", "--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_unwritable_out_dir(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["compare", "--task", "toy", "--out", str(blocker / "sub")]) == 2
    assert "not writable" in capsys.readouterr().err


def test_corrupt_store_for_report_is_refused_untouched(tmp_path, capsys):
    bad = tmp_path / "results.db"
    bad.write_bytes(b"garbage" * 100)
    assert main(["report", str(bad)]) == 2
    assert "not a SQLite file" in capsys.readouterr().err
    assert bad.read_bytes() == b"garbage" * 100


def test_console_script_bad_input_has_no_traceback():
    done = subprocess.run(hybrid_cmd() + ["compare", "--task", "nope"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("hybrid: error: unknown task") and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reproduce", "ai-feynman", "--seed", "-1"], "--seed must be >= 0"),
        (["reproduce", "ns-vqa", "--seed", "-1"], "--seed must be >= 0"),
        (["reproduce", "mcts", "--seed", "-3"], "--seed must be >= 0"),
        (["reproduce", "ai-feynman", "--ids", ","], "--ids names no equation id"),
        (["reproduce", "ai-feynman", "--budget-s", "nan"], "--budget-s must be a finite number"),
        (["reproduce", "ai-feynman", "--budget-s", "inf"], "--budget-s must be a finite number"),
        (["reproduce", "ai-feynman", "--budget-s", "-2"], "--budget-s must be a finite number"),
        (["plan", "--levels", "x.txt", "--time-limit-s", "nan"], "--time-limit-s must be a finite number"),
    ],
)
def test_reproduce_bad_numbers_are_refused(args, message, capsys, tmp_path):
    assert main([*args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hybrid: error: ") and message in err and err.count("\n") == 1


def test_a_sweep_where_every_run_fails_says_why_and_exits_1(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TOY_BREAK_AT", "1")
    assert main(["compare", "--task", "toy", "--methods", "toy-broken", "--sizes", "2,4", "--seeds", "1",
                 "--no-energy", "--no-progress", "--jobs", "1", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("failed: toy toy-broken") == 2 and "toy failure on purpose" in err
    assert "every run failed" in err
    report = (tmp_path / "report.md").read_text()
    assert "## Failed runs" in report and "RuntimeError: toy failure on purpose" in report


def test_some_failures_are_reported_and_the_rest_still_counts(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TOY_BREAK_AT", "4")
    assert main(["compare", "--task", "toy", "--methods", "toy-broken", "--sizes", "2,4", "--seeds", "1",
                 "--no-energy", "--no-progress", "--jobs", "1", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "failed: toy toy-broken n=4 seed=0: RuntimeError: toy failure on purpose" in err


def test_a_worker_that_dies_fails_its_run_and_the_sweep_goes_on(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TOY_DIE_AT", "4")  # its worker SIGKILLs itself at n=4, as the out-of-memory killer would
    assert main(["compare", "--task", "toy", "--methods", "toy-die,toy-mean", "--sizes", "2,4", "--seeds", "1",
                 "--no-energy", "--no-progress", "--jobs", "2", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "failed: toy toy-die n=4 seed=0: WorkerDied" in err and "exit code -9" in err
    with ResultStore(tmp_path / "results.db") as store:
        records = {(r.config.method, r.config.n_train): r.status for r in store.records()}
    assert records == {("toy-die", 2): "ok", ("toy-die", 4): "failed", ("toy-mean", 2): "ok", ("toy-mean", 4): "ok"}


def test_outputs_are_strict_json(tmp_path):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    compare("toy", ["toy-mean", "toy-first"], sizes=[1, 8], seeds=1, jobs=1, out=tmp_path, track_energy=False,
            progress=False)  # one sample: intervals and ratios are undefined somewhere
    for name in ("summary.json", "results.json"):
        json.loads((tmp_path / name).read_text(), parse_constant=refuse)


def test_a_run_a_cap_ended_is_flagged_in_the_report(tmp_path):
    from hybrid.evaluate.report import write_report
    from hybrid.evaluate.store import RunConfig, RunRecord

    records = []
    for seed, (reason, capped) in enumerate([("early-stopping", False), ("epoch-cap", True)]):
        cfg = RunConfig("toy", {"loc": 3.0}, "toy-first", {}, "deep", 8, seed, "cpu")
        records.append(RunRecord(cfg, "ok", {"acc": 0.5, "err": 1.0},
                                 train={"wall_s": 1.0, "iterations": 40 + seed, "iteration_unit": "epochs",
                                        "stopped_by": reason, "stop_counts": {reason: 1}, "capped": capped},
                                 inference={"params": 10, "nonzero_params": 9, "model_bytes": 2048}))
    write_report(records, tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert "## Runs a cap ended" in text and "| toy | toy-first | 8 | 1 | 41 epochs | epoch-cap |" in text
    assert "| toy-first | deep | 8 | 40-41 epochs | early-stopping x1, epoch-cap x1 | 1/2 | 10 (9) | 2.05 kB |" in text
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["toy.toy-first.capped_runs.n8"] == 1 and summary["energy_mode"] == "not measured"
