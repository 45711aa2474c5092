"""``hybrid reproduce ai-feynman``: the Feynman benchmark, with peer systems side by side.

One evaluator run per (system, noise level, equation): the same seeded 1,000 samples
(by default) for every system, the same time budget, and the same exact-recovery
check (the evaluator's audit, in sympy). Runs go to the evaluator's store, so an
interrupted benchmark resumes where it stopped. The output folder gets:

- ``ai_feynman.md``: per equation and noise level, solved or not by each system, the
  steps that solved it, seconds, samples used, and the MLP's extrapolation R^2;
- ``summary.json``: ``solved``, ``total``, ``median_seconds_solved`` per noise level,
  for the solver and for each peer;
- ``results.db`` (the store) and ``results.csv``.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.evaluate.meter import resolve_device
from hybrid.evaluate.stages import dumps_strict
from hybrid.evaluate.store import ResultStore, RunConfig, RunRecord
from hybrid.evaluate.sweep import run_sweep
from hybrid.regression.peers import make_peer
from tasks.feynman import feynman_equations, get_equation

SOLVER = "ai-feynman"
PEERS = ("gplearn", "operon")


def benchmark_configs(
    ids: Sequence[str],
    noise_levels: Sequence[float],
    systems: Sequence[str],
    *,
    budget_s: float,
    n_samples: int,
    seed: int,
    device: str,
) -> list[RunConfig]:
    """One run config per (system, noise level, equation), all on task ``feynman-all``."""
    configs = []
    for noise in noise_levels:
        for eq_id in ids:
            task_params = {"equations": [eq_id], "noise": float(noise), "n_test": 500, "name": "feynman-all",
                           "units": True}
            for system in systems:
                params: dict[str, Any] = {} if system == "mlp" else {"time_budget_s": float(budget_s)}
                family = {"mlp": "deep", SOLVER: "hybrid"}.get(system, "peer")
                configs.append(RunConfig("feynman-all", task_params, system, params, family, n_samples, seed, device))
    return configs


def _entry(record: RunRecord | None) -> dict[str, Any]:
    if record is None:
        return {"status": "missing"}
    if record.status != "ok":
        return {"status": "failed", "error": record.error.splitlines()[0] if record.error else ""}
    eq_id = record.config.task_params["equations"][0]
    score = (record.details or {}).get("score") or {}
    audit = (record.details or {}).get("audit") or {}
    info = score.get(eq_id, {})
    check = audit.get(eq_id, {}) if audit else {}
    return {
        "status": "ok",
        "exact": bool(check.get("exact", False)),
        "formula": check.get("formula"),
        "steps": info.get("steps", []),
        "seconds": float(info.get("seconds", record.train.get("wall_s", float("nan")))),
        "r2_extrap": float(info.get("r2_extrap", float("nan"))),
        "r2_test": float(info.get("r2_test", float("nan"))),
    }


def summarise(records: Sequence[RunRecord], ids: Sequence[str], noise_levels: Sequence[float],
              systems: Sequence[str]) -> tuple[dict[str, Any], dict[tuple[str, float, str], dict[str, Any]]]:
    """Solved counts and median seconds per system and noise level, and the per-run entries."""
    by_key = {}
    for r in records:
        eq_id = r.config.task_params["equations"][0]
        by_key[(r.config.method, float(r.config.task_params["noise"]), eq_id)] = r
    entries = {}
    summary: dict[str, Any] = {}
    for system in systems:
        per_noise = {}
        for noise in noise_levels:
            rows = [_entry(by_key.get((system, float(noise), i))) for i in ids]
            for i, row in zip(ids, rows, strict=True):
                entries[(system, float(noise), i)] = row
            done = [row for row in rows if row["status"] == "ok"]
            if system == "mlp":
                r2 = [row["r2_extrap"] for row in done]
                per_noise[f"{noise:g}"] = {
                    "total": len(ids), "finished": len(done),
                    "failed_runs": sum(row["status"] == "failed" for row in rows), "errors": _error_counts(rows),
                    "median_r2_extrap": float(np.median(r2)) if r2 else None,
                    "median_r2_test": float(np.median([row["r2_test"] for row in done])) if done else None,
                }
                continue
            solved = [row for row in done if row["exact"]]
            per_noise[f"{noise:g}"] = {
                "solved": len(solved),
                "total": len(ids),
                "finished": len(done),
                "failed_runs": sum(row["status"] == "failed" for row in rows),
                "errors": _error_counts(rows),
                "median_seconds_solved": float(np.median([row["seconds"] for row in solved])) if solved else None,
                "median_seconds_all": float(np.median([row["seconds"] for row in done])) if done else None,
            }
        summary[system] = per_noise
    return summary, entries


def _error_counts(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many runs failed with each error (its first line)."""
    counts: dict[str, int] = {}
    for row in rows:
        if row["status"] == "failed":
            counts[row["error"]] = counts.get(row["error"], 0) + 1
    return counts


def all_failed(summary: dict[str, Any]) -> bool:
    """True when not one run of the benchmark finished (every one failed or is missing)."""
    rows = [row for system, per_noise in summary.items() if system != "settings" for row in per_noise.values()]
    return bool(rows) and all(row["finished"] == 0 for row in rows)


def write_table(path: Path, entries, ids, noise_levels, systems, n_samples: int, budget_s: float) -> None:
    """The per-equation markdown table, one section per noise level."""
    lines = [f"# AI Feynman benchmark: {len(ids)} equations, {n_samples} samples, budget {budget_s:g} s", ""]
    solvers = [s for s in systems if s != "mlp"]
    for noise in noise_levels:
        lines += [f"## noise {noise:g}", ""]
        head = ["id", "formula"]
        for s in solvers:
            head += [f"{s} exact", f"{s} s"]
        head.insert(4, "steps")
        if "mlp" in systems:
            head.append("MLP R^2 extrap")
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for i in ids:
            row = [i, f"`{get_equation(i).formula}`"]
            for k, s in enumerate(solvers):
                e = entries[(s, float(noise), i)]
                mark = {"ok": "yes" if e.get("exact") else "no", "failed": "error", "missing": "-"}[e["status"]]
                row += [mark, f"{e['seconds']:.1f}" if e["status"] == "ok" else ""]
                if k == 0:
                    row.append(" > ".join(e.get("steps") or []) if e.get("exact") else "")
            if "mlp" in systems:
                e = entries[("mlp", float(noise), i)]
                row.append(f"{e['r2_extrap']:.3g}" if e["status"] == "ok" else "")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    failed = [(key, e) for key, e in entries.items() if e["status"] == "failed"]
    if failed:
        lines += ["## Failed runs", "", "'error' in the tables above: the run raised, and this is why.", "",
                  "| system | noise | id | error |", "|---|---|---|---|"]
        for (system, noise, i), e in failed:
            lines.append(f"| {system} | {noise:g} | {i} | {e['error'] or '(no message)'} |")
        lines.append("")
    path.write_text("\n".join(lines))


def reproduce_ai_feynman(
    ids: Sequence[str] | None = None,
    *,
    budget_s: float = 300.0,
    noise_levels: Sequence[float] = (0.0, 1e-2),
    peers: Sequence[str] = (),
    mlp: bool = True,
    n_samples: int = 1000,
    seed: int = 0,
    out: str | Path = "results/ai-feynman",
    jobs: int | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """Run the Feynman benchmark and write its table and summary.

    Args:
        ids: FSReD ids (default: all 100).
        budget_s: time budget per equation, for the solver and for each peer.
        noise_levels: relative noise levels.
        peers: peer systems to run side by side (``"gplearn"``, ``"operon"``).
        mlp: also train the MLP baseline on the same data (its extrapolation R^2).
        n_samples: training samples per equation.
        seed: data seed (the same samples for every system).
        out: output folder.
        jobs: parallel runs (default: CPU count).
        device: where the oracle and the MLP train.
        progress: show a progress bar.

    Returns:
        The summary (also written to ``out/summary.json``).

    Raises:
        ValueError: on an empty or unknown id list, an unknown or uninstalled peer, a negative noise
            level, a budget that is not a finite positive number, a negative seed.
    """
    table = feynman_equations()
    ids = list(table) if ids is None else list(ids)
    if not ids:
        raise ValueError("ids is empty: give at least one FSReD id, or None for all 100")
    unknown = [i for i in ids if i not in table]
    if unknown:
        raise ValueError(f"unknown FSReD ids {unknown}; ids look like 'I.6.2a' or 'II.11.27'")
    bad = [p for p in peers if p not in PEERS]
    if bad:
        raise ValueError(f"unknown peers {bad}; valid peers are {list(PEERS)}")
    if not math.isfinite(budget_s) or budget_s <= 0:
        raise ValueError(f"budget_s must be a finite number of seconds > 0, got {budget_s}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    for peer in peers:  # a peer that is not installed is refused now, not reported as 0 solved later
        try:
            make_peer(peer)
        except ImportError as exc:
            raise ValueError(str(exc)) from None
    if any(not np.isfinite(x) or x < 0 for x in noise_levels):
        raise ValueError(f"noise levels must be finite and >= 0, got {list(noise_levels)}")
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2, got {n_samples}")
    systems = [SOLVER, *peers] + (["mlp"] if mlp else [])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(device)
    configs = benchmark_configs(ids, noise_levels, systems, budget_s=budget_s, n_samples=n_samples, seed=seed,
                                device=device)
    with ResultStore(out / "results.db") as store:
        run_sweep(configs, store, jobs=jobs, track_energy=False, progress=progress)
        wanted = {c.key() for c in configs}
        records = [r for r in store.records() if r.key in wanted]
        store.export_csv(out / "results.csv")
    summary, entries = summarise(records, ids, noise_levels, systems)
    summary["settings"] = {
        "n_samples": n_samples, "budget_s": budget_s, "noise_levels": list(noise_levels), "seed": seed,
        "equations": len(ids), "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "python": platform.python_version(),
    }
    write_table(out / "ai_feynman.md", entries, ids, noise_levels, systems, n_samples, budget_s)
    (out / "summary.json").write_text(dumps_strict(summary, indent=2))
    return summary
