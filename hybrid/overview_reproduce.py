"""``hybrid reproduce overview``: the argument across the three pillars, in five figures.

One grid of evaluator runs -- a regression task, a visual-QA task and a planning task,
each with its hybrid, its deep baselines and a compressed form of them -- run through
the evaluator's sweep into one store (``OUT/results.db``: interrupt it, rerun the same
command, it resumes), then drawn by :func:`hybrid.evaluate.overview.write_overview`:

1. performance vs training data, a panel per pillar, a line per family;
2. accuracy vs inference FLOPs, bubble area = parameters;
3. the training cost of reaching each task's target (seconds, FLOPs, joules, CO2e);
4. training FLOPs to reach an error target vs the target, log-log, a slope per family;
5. figure 4's seconds on CPU beside GPU, when the store holds runs on both (run the
   command again with ``--device cuda`` into the same folder on a machine with one).

``--quick`` runs the grid of ``hybrid compare --quick`` (the same configurations, so a
folder that ``compare --quick`` filled is reused as it is); the full grid is
:data:`FULL_GRID`. ``--reuse DB`` copies into the store the runs of another store
(``hybrid compare`` results) whose configuration this grid plans, instead of running them
again. Outputs in ``OUT``: ``overview.md``, ``overview_*.png``, ``summary.json`` (flat
keys) and ``details/`` (the evaluator's full report of the same runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybrid.evaluate.stages import dumps_strict


@dataclass(frozen=True)
class GridRow:
    """Methods of one task trained at the same sizes: a block of the overview's grid."""

    task: str
    methods: dict[str, dict[str, Any]]
    sizes: tuple[int, ...]
    task_params: dict[str, Any] = field(default_factory=dict)


#: The full overview (about 5 hours on 2 CPU cores, most of it NS-VQA at its full settings
#: and the MLPs' width x learning-rate search on 24 equations): the ``feynman`` task's 24
#: equations beyond power laws, CLEVR-style VQA on 1,000 test questions, and Lights Out from
#: pixels at matched interaction budgets, hybrid and deep at each pillar's sizes.
FULL_GRID: tuple[GridRow, ...] = (
    GridRow("feynman", {"ai-feynman": {}, "mlp": {}, "mlp-int8": {}}, (10, 100, 1000)),
    GridRow("clevr", {"ns-vqa": {}}, (100, 1000)),
    GridRow("clevr", {"cnn-lstm": {}, "film": {}, "cnn-lstm-int8": {}}, (100, 1000, 10000)),
    GridRow("lights-out", {"perceive-plan": {}}, (20, 200, 2000)),
    GridRow("lights-out", {"ppo": {}, "ppo-int8": {}}, (20, 200, 2000, 20000, 100000)),
)
FULL_SEEDS = 3


def overview_configs(quick: bool, device: str, seeds: int | None = None) -> list:
    """The grid's run configs: ``compare --quick``'s, or :data:`FULL_GRID` over ``seeds`` (default 3).

    Ordered seed by seed, and by size within a seed, so an interrupted run has already
    covered every pillar at its small sizes.
    """
    from hybrid.evaluate.sweep import plan_grid, quick_grid

    if quick:
        return quick_grid(device, seeds=seeds)
    configs = []
    for row in FULL_GRID:
        for method, params in row.methods.items():
            configs += plan_grid([row.task], [method], row.sizes, seeds or FULL_SEEDS, device,
                                 task_params={row.task: row.task_params}, method_params={method: params})
    return sorted(configs, key=lambda c: (c.seed, c.n_train))


def _swap_device(config, device: str):
    from dataclasses import replace

    return replace(config, device=device)


def reuse_runs(store, sources: Sequence[str | Path], configs) -> int:
    """Copy into ``store`` the finished runs of the stores ``sources`` whose configuration ``configs`` plans.

    Returns:
        How many runs were copied (runs ``store`` already holds are left as they are).

    Raises:
        ValueError: a source that is not a file.
    """
    from hybrid.evaluate.store import ResultStore

    wanted = {c.key() for c in configs}
    have = store.done_keys()
    copied = 0
    for source in sources:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"--reuse {str(path)!r}: no such results database")
        with ResultStore(path) as other:
            for record in other.records(status="ok"):
                key = record.config.key()
                if key in wanted and key not in have:
                    store.put(record)
                    have.add(key)
                    copied += 1
    return copied


def reproduce_overview(out: str | Path, *, quick: bool = False, device: str = "cpu", seeds: int | None = None,
                       jobs: int | None = None, reuse: Sequence[str | Path] = (), progress: bool = True,
                       track_energy: bool = True, command: str = "hybrid reproduce overview",
                       run: bool = True) -> dict[str, Any]:
    """Run what the overview's grid still lacks, then write its figures and tables into ``out``.

    Args:
        out: the output folder (its ``results.db`` is the store).
        quick: ``compare --quick``'s grid instead of :data:`FULL_GRID`.
        device: the resolved device the runs train on.
        seeds: seeds per configuration (default: the grid's).
        jobs: parallel runs (default: the CPU count).
        reuse: other stores whose matching runs are copied in first.
        progress: one bar over the whole grid, the run's task and method beside it.
        track_energy: measure energy with CodeCarbon.
        command: the command line written into ``overview.md``.
        run: ``False`` runs nothing: draws from what the store already holds (the missing
            runs are counted in ``overview.md``), e.g. while a long run goes on elsewhere.

    Returns:
        ``summary.json``'s content.
    """
    import os

    from hybrid.evaluate.machine import machine_info
    from hybrid.evaluate.report import _energy_line, across_tasks, write_report
    from hybrid.evaluate.store import ResultStore
    from hybrid.evaluate.sweep import describe_quick, run_sweep

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    configs = overview_configs(quick, device, seeds)
    with ResultStore(out / "results.db") as store:
        copied = reuse_runs(store, reuse, configs) if reuse else 0
        ran = 0
        if run:
            ran = run_sweep(configs, store, jobs=jobs or min(os.cpu_count() or 1, len(configs)),
                            track_energy=track_energy, progress=progress).ran
        by_key = {r.config.key(): r for r in store.records()}
    records = [by_key[c.key()] for c in configs if c.key() in by_key]
    others = [by_key[k] for k in (_swap_device(c, d).key() for c in configs for d in ("cpu", "cuda")
                                  if d != device) if k in by_key]
    ok = [r for r in records if r.status == "ok"]
    modes = sorted({r.train.get("energy_mode", "") for r in ok} - {""})
    sources = sorted({r.train.get("energy_source", "") for r in ok} - {""})
    summary: dict[str, Any] = {"quick": quick, "device": device, "runs_planned": len(configs),
                               "runs_ok": len(ok), "runs_failed": len(records) - len(ok),
                               "runs_missing": len(configs) - len(records), "runs_reused": copied,
                               "runs_now": ran}
    lines, figures = across_tasks(records + others, out, summary, _energy_line(modes, sources))
    machine = machine_info()
    head = [
        "# Overview: hybrid vs deep vs compressed, across the three pillars", "",
        f"Command: `{command}`; {len(ok)} of {len(configs)} planned runs finished"
        + (f", {len(records) - len(ok)} failed" if len(records) > len(ok) else "")
        + (f", {len(configs) - len(records)} not run yet (rerun the command to resume)"
           if len(records) < len(configs) else "") + f"; device {device}.", "",
        f"Machine: {machine['cpu']}, {machine.get('cpus_usable', machine['cpu_count'])} usable cores, "
        f"{machine['system']}, Python {machine['python']}.", "",
        *(describe_quick(configs) if quick else [_full_settings(), ""]),
    ]
    (out / "overview.md").write_text("\n".join(head + lines))
    summary["figures"] = [f.name for f in figures]
    write_report(records, out / "details", title="Overview: every run")
    (out / "summary.json").write_text(dumps_strict(summary, indent=1, sort_keys=True))
    return summary


def _full_settings() -> str:
    return ("**Full settings**: " + "; ".join(
        f"`{row.task}`: {', '.join(row.methods)} at {', '.join(map(str, row.sizes))}" for row in FULL_GRID)
        + f"; {FULL_SEEDS} seeds; each method at its registered settings.")
