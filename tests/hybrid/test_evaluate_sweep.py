import math
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from hybrid.evaluate import compare
from hybrid.evaluate.store import ResultStore
from hybrid.evaluate.sweep import plan_grid, run_sweep

from .conftest import ROOT, hybrid_cmd


def test_grid_and_resume_skip_finished_runs(tmp_path):
    configs = plan_grid(["toy"], ["toy-mean", "toy-first"], [2, 8], 2, "cpu")
    assert len(configs) == 8
    with ResultStore(tmp_path / "r.db") as store:
        first = run_sweep(configs[:3], store, jobs=1, track_energy=False, progress=False)
        second = run_sweep(configs, store, jobs=1, track_energy=False, progress=False)
        assert (first.ran, second.ran, second.skipped) == (3, 5, 3)
        assert store.count() == 8


def test_failed_run_is_stored_with_its_error_and_the_sweep_goes_on(tmp_path):
    records = compare("toy", ["toy-broken", "toy-mean"], sizes=[1, 4], seeds=1, jobs=1,
                      store=tmp_path / "r.db", track_energy=False, progress=False)
    status = {(r.config.method, r.config.n_train): r.status for r in records}
    assert status == {("toy-broken", 1): "ok", ("toy-broken", 4): "failed",
                      ("toy-mean", 1): "ok", ("toy-mean", 4): "ok"}
    failed = next(r for r in records if r.status == "failed")
    assert "RuntimeError: toy failure on purpose" in failed.error


def test_results_are_deterministic_and_measured(tmp_path):
    a = compare("toy", ["toy-mean"], sizes=[16], seeds=[5], jobs=1, store=tmp_path / "a.db",
                track_energy=False, progress=False)
    b = compare("toy", ["toy-mean"], sizes=[16], seeds=[5], jobs=2, store=tmp_path / "b.db",
                track_energy=False, progress=False)  # process pool
    assert a[0].metrics == b[0].metrics
    assert a[0].train["symbolic_ops"] == {"additions": 16}
    assert a[0].train["wall_s"] >= 0 and a[0].inference["wall_s"] >= 0


def _stored(db):
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def test_sweep_killed_with_sigkill_resumes_and_stores_each_run_once(tmp_path):
    out = tmp_path / "out"
    cmd = hybrid_cmd() + ["compare", "--task", "toy", "--methods", "toy-slow", "--sizes", "1,2,3,4,5,6",
                          "--seeds", "2", "--jobs", "1", "--no-energy", "--no-progress", "--out", str(out)]
    env = dict(os.environ)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = out / "results.db"
    deadline = time.time() + 60
    while time.time() < deadline and _stored(db) < 3:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _stored(db)
    assert 3 <= killed_at < 12, "the sweep should have been killed mid-way"
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{12 - killed_at} runs now, {killed_at} already stored" in done.stdout
    with ResultStore(db) as store:
        records = store.records()
    pairs = sorted((r.config.n_train, r.config.seed) for r in records)
    assert pairs == sorted((n, s) for n in range(1, 7) for s in range(2))
    assert all(r.status == "ok" for r in records)


def test_ray_backend_gives_the_same_results_as_local(tmp_path):
    pytest.importorskip("ray")
    kwargs = dict(sizes=[3, 12], seeds=2, track_energy=False, progress=False)
    local = compare("toy", ["toy-mean", "toy-first"], jobs=1, store=tmp_path / "local.db", **kwargs)
    on_ray = compare("toy", ["toy-mean", "toy-first"], backend="ray", jobs=2, store=tmp_path / "ray.db", **kwargs)

    def by_key(records):
        return {r.key: r.metrics for r in records}

    assert len(local) == len(on_ray) == 8
    assert by_key(local) == by_key(on_ray)
    assert all(not math.isnan(m["acc"]) for m in by_key(on_ray).values())


def test_a_run_records_how_many_examples_its_inference_scored():
    from hybrid.evaluate.registry import get_task
    from hybrid.evaluate.sweep import execute_run, plan_grid

    config = plan_grid(["powerlaw"], ["powerlaw-lstsq"], [8], 1, "cpu")[0]
    record = execute_run(config, track_energy=False)
    assert record.status == "ok", record.details
    task = get_task("powerlaw").factory(**config.task_params)
    assert record.inference["examples"] == 2 * task.n_test * len(task.equations)
