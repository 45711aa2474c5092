"""hybrid reproduce ai-feynman: failures said as failures, never as scores."""

import pytest

import hybrid.regression.reproduce as repro
from hybrid.cli import main
from hybrid.evaluate.store import RunConfig, RunRecord


def test_a_peer_that_is_not_installed_is_refused_before_anything_runs(tmp_path, monkeypatch, capsys):
    def missing(name, **kwargs):
        raise ImportError(f"the {name} peer needs the {name!r} package: pip install 'hybrid-toolkit[peers]'")

    monkeypatch.setattr(repro, "make_peer", missing)
    with pytest.raises(ValueError, match="needs the 'gplearn' package"):
        repro.reproduce_ai_feynman(["I.12.2"], peers=["gplearn"], out=tmp_path, progress=False)
    assert not (tmp_path / "results.db").exists()
    assert main(["reproduce", "ai-feynman", "--ids", "I.12.2", "--peers", "gplearn", "--out", str(tmp_path)]) == 2
    assert "hybrid: error: the gplearn peer needs" in capsys.readouterr().err


def _record(system, eq, status, error=""):
    params = {"equations": [eq], "noise": 0.0, "n_test": 500, "name": "feynman-all", "units": True}
    cfg = RunConfig("feynman-all", params, system, {}, "hybrid", 100, 0, "cpu")
    return RunRecord(cfg, status, error=error)


def test_failed_runs_are_counted_and_explained_in_the_table(tmp_path):
    ids = ["I.12.2", "I.14.3"]
    records = [_record("ai-feynman", "I.12.2", "failed", "OverflowError: cannot convert Infinity\nTraceback ..."),
               _record("ai-feynman", "I.14.3", "failed", "OverflowError: cannot convert Infinity")]
    summary, entries = repro.summarise(records, ids, [0.0], ["ai-feynman"], [0])
    row = summary["ai-feynman"]["0"]
    assert row["failed_runs"] == 2 and row["errors"] == {"OverflowError: cannot convert Infinity": 2}
    assert repro.all_failed(summary)
    repro.write_table(tmp_path / "t.md", entries, ids, [0.0], ["ai-feynman"], 100, 10.0, [0], summary)
    text = (tmp_path / "t.md").read_text()
    assert "## Failed runs" in text
    assert "| ai-feynman | 0 | I.12.2 | 0 | OverflowError: cannot convert Infinity |" in text


def test_one_finished_run_means_not_all_failed():
    ids = ["I.12.2", "I.14.3"]
    ok = _record("ai-feynman", "I.14.3", "ok")
    records = [_record("ai-feynman", "I.12.2", "failed", "ValueError: x"), ok]
    summary, _ = repro.summarise(records, ids, [0.0], ["ai-feynman"], [0])
    assert summary["ai-feynman"]["0"]["finished"] == 1 and not repro.all_failed(summary)


@pytest.mark.parametrize("budget", [float("nan"), float("inf"), 0.0])
def test_library_refuses_budgets_that_are_not_finite_and_positive(tmp_path, budget):
    with pytest.raises(ValueError, match="budget_s must be a finite number"):
        repro.reproduce_ai_feynman(["I.12.2"], budget_s=budget, out=tmp_path, progress=False)
    with pytest.raises(ValueError, match="ids is empty"):
        repro.reproduce_ai_feynman([], out=tmp_path, progress=False)


def _solved(system, eq, seed, exact, r2=1.0):
    params = {"equations": [eq], "noise": 0.0, "n_test": 500, "name": "feynman-all", "units": False}
    cfg = RunConfig("feynman-all", params, system, {}, "hybrid", 100, seed, "cpu")
    details = {"score": {eq: {"r2_test": r2, "r2_extrap": r2, "seconds": 1.0, "steps": ["polyfit"]}},
               "audit": {eq: {"exact": exact, "solution": exact, "size": 7, "formula": "x1"}}}
    return RunRecord(cfg, "ok", details=details)


def test_several_seeds_give_the_mean_and_the_worst_and_rates_by_depth(tmp_path):
    ids = ["gen.d1.s0.0", "gen.d2.s0.0"]
    records = [_solved("ai-feynman", "gen.d1.s0.0", 0, True), _solved("ai-feynman", "gen.d2.s0.0", 0, True),
               _solved("ai-feynman", "gen.d1.s0.0", 1, True), _solved("ai-feynman", "gen.d2.s0.0", 1, False, 0.5)]
    summary, entries = repro.summarise(records, ids, [0.0], ["ai-feynman"], [0, 1])
    row = summary["ai-feynman"]["0"]
    assert row["solved"] == 1.5 and row["solved_worst"] == 1 and row["per_seed"]["1"]["exact"] == 1
    assert row["accurate"] == 1.5 and row["accurate_worst"] == 1 and row["median_size"] == 7
    assert row["by_depth"] == {"1": {"solution": 1.0, "exact": 1.0, "accurate": 1.0},
                               "2": {"solution": 0.5, "exact": 0.5, "accurate": 0.5}}
    repro.write_table(tmp_path / "t.md", entries, ids, [0.0], ["ai-feynman"], 100, 10.0, [0, 1], summary, False)
    text = (tmp_path / "t.md").read_text()
    assert "2 data seeds, no units" in text and "| ai-feynman | 1.5 / 2, worst 1 |" in text
    assert "| gen.d2.s0.0 |" in text and "| 1/2 |" in text and "| ai-feynman | 2 | 50% | 50% | 50% |" in text
