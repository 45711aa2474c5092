"""``compare``: the evaluator from Python, returning records a notebook can plot."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hybrid.evaluate.meter import resolve_device
from hybrid.evaluate.report import ReportFiles, write_report
from hybrid.evaluate.store import ResultStore, RunConfig, RunRecord
from hybrid.evaluate.sweep import SweepOutcome, plan_grid, run_sweep


def sweep_and_report(
    configs: Sequence[RunConfig], store: ResultStore, out: Path | None, *, preface: Sequence[str] = (),
    **sweep_options: Any
) -> tuple[list[RunRecord], SweepOutcome, ReportFiles | None]:
    """Run ``configs`` into ``store``, then (if ``out``) write the report and the CSV/JSON exports.

    Args:
        configs: the runs (from :func:`~hybrid.evaluate.sweep.plan_grid`).
        store: the open results store.
        out: the report folder, or ``None`` for no files.
        preface: markdown lines for the report's head (:func:`~hybrid.evaluate.report.write_report`).
        **sweep_options: passed to :func:`~hybrid.evaluate.sweep.run_sweep`.

    Returns:
        The records of ``configs`` (finished now or earlier), what the sweep did, and
        the report's files (``None`` without ``out``).
    """
    outcome = run_sweep(configs, store, **sweep_options)
    wanted = {c.key() for c in configs}
    records = [r for r in store.records() if r.key in wanted]
    files = None
    if out is not None:
        files = write_report(records, out, preface=preface)
        store.export_csv(out / "results.csv")
        store.export_json(out / "results.json")
    return records, outcome, files


def compare(
    tasks: str | Sequence[str],
    methods: Sequence[str] | None = None,
    sizes: Sequence[int] = (10, 100, 1000),
    seeds: int | Sequence[int] = 3,
    *,
    device: str = "cpu",
    backend: str = "local",
    jobs: int | None = None,
    ray_address: str | None = None,
    out: str | Path | None = None,
    store: str | Path | None = None,
    task_params: dict[str, dict[str, Any]] | None = None,
    method_params: dict[str, dict[str, Any]] | None = None,
    track_energy: bool = True,
    progress: bool = True,
) -> list[RunRecord]:
    """Run the grid tasks x methods x sizes x seeds and return its records.

    Args:
        tasks: a task name or names (see ``hybrid list``).
        methods: method names; ``None`` runs every method registered for each task.
        sizes: training-set sizes.
        seeds: a count or explicit seeds.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        backend: ``"local"`` or ``"ray"``.
        jobs: parallel runs (default: CPU count).
        ray_address: Ray cluster address (``None``: a local Ray).
        out: folder for ``results.db``, ``report.md``, figures and ``summary.json``;
            ``None`` keeps the store in a temporary folder and writes no report.
        store: the SQLite file (default ``out/results.db``); reruns skip finished runs.
        task_params: per-task constructor parameters.
        method_params: per-method hyper-parameters.
        track_energy: measure energy with CodeCarbon.
        progress: show a progress bar.

    Returns:
        The records of this grid (finished now or earlier), in task/method/n/seed order;
        ``records_to_rows`` flattens them for a DataFrame.
    """
    names = [tasks] if isinstance(tasks, str) else list(tasks)
    dev = resolve_device(device)
    configs = plan_grid(names, methods, sizes, seeds, dev, task_params=task_params, method_params=method_params)
    tmp = None
    if store is None:
        if out is None:
            tmp = tempfile.TemporaryDirectory(prefix="hybrid-")
            store = Path(tmp.name) / "results.db"
        else:
            store = Path(out) / "results.db"
    try:
        with ResultStore(store) as db:
            records, _, _ = sweep_and_report(
                configs, db, None if out is None else Path(out), backend=backend, jobs=jobs,
                ray_address=ray_address, track_energy=track_energy, progress=progress,
            )
        return records
    finally:
        if tmp is not None:
            tmp.cleanup()
