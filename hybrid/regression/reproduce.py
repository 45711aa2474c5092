"""``hybrid reproduce ai-feynman``: the Feynman benchmark, with peer systems side by side, as SRBench measures.

One evaluator run per (system, noise level, equation, data seed): the same seeded
1,000 samples (by default) for every system, the same time budget, and the same checks
(the evaluator's audit, in sympy). Runs go to the evaluator's store, so an interrupted
benchmark resumes where it stopped.

Equation sets (``equation_set``): ``fsred`` (FSReD's 100), ``hard`` (52 published
formulas beyond them, :mod:`hybrid.tasks.feynman.hard`) and ``generated`` (random physics-like
formula trees by depth, :mod:`hybrid.tasks.feynman.generated`). With ``units=False`` the
systems get no SI units (the common case on a researcher's own data).

Per run, as SRBench counts: ``exact`` (the law, constants exact), ``solution`` (SRBench's
symbolic solution: the difference or ratio with the law is a constant), ``accurate``
(R^2 > 0.999 on held-out points in range) and the model's size. Over several data seeds
each count is given as the mean and the worst seed. The output folder gets:

- ``ai_feynman.md``: per noise level, the counts per seed, mean and worst; per equation,
  solved in how many seeds by each system, the steps that solved it, seconds; the MLP's
  extrapolation R^2; for generated formulas, the rates by tree depth; failed runs with
  their errors;
- ``summary.json``: those figures with flat keys per system and noise level;
- ``results.db`` (the store) and ``results.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.evaluate.machine import machine_info
from hybrid.evaluate.meter import resolve_device
from hybrid.evaluate.stages import dumps_strict
from hybrid.evaluate.store import ResultStore, RunConfig, RunRecord
from hybrid.evaluate.sweep import run_sweep
from hybrid.regression.peers import make_peer
from hybrid.tasks.feynman import feynman_equations, generated_equations, get_equation, hard_equations

SOLVER = "ai-feynman"
PEERS = ("gplearn", "operon")
EQUATION_SETS = ("fsred", "hard", "generated")
#: SRBench's accuracy criterion: R^2 on held-out points above this.
ACCURATE_R2 = 0.999


def equation_ids(equation_set: str, *, depths: Sequence[int] = (1, 2, 3, 4), count: int = 10,
                 seed: int = 0) -> list[str]:
    """The ids of an equation set (for ``generated``: ``count`` formulas of each depth, drawn with ``seed``).

    Raises:
        ValueError: on an unknown set.
    """
    if equation_set == "fsred":
        return list(feynman_equations())
    if equation_set == "hard":
        return list(hard_equations())
    if equation_set == "generated":
        return [i for d in depths for i in generated_equations(count, int(d), seed)]
    raise ValueError(f"equation_set must be one of {EQUATION_SETS}, got {equation_set!r}")


def benchmark_configs(
    ids: Sequence[str],
    noise_levels: Sequence[float],
    systems: Sequence[str],
    *,
    budget_s: float,
    n_samples: int,
    seeds: Sequence[int],
    device: str,
    units: bool = True,
) -> list[RunConfig]:
    """One run config per (system, noise level, equation, seed), all on task ``feynman-all``."""
    configs = []
    for seed in seeds:
        for noise in noise_levels:
            for eq_id in ids:
                task_params = {"equations": [eq_id], "noise": float(noise), "n_test": 500, "name": "feynman-all",
                               "units": bool(units)}
                for system in systems:
                    params: dict[str, Any] = {} if system == "mlp" else {"time_budget_s": float(budget_s)}
                    family = {"mlp": "deep", SOLVER: "hybrid"}.get(system, "peer")
                    configs.append(RunConfig("feynman-all", task_params, system, params, family, n_samples,
                                             int(seed), device))
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
    r2_test = float(info.get("r2_test", float("nan")))
    return {
        "status": "ok",
        "exact": bool(check.get("exact", False)),
        "solution": bool(check.get("solution", check.get("exact", False))),
        "accurate": bool(r2_test > ACCURATE_R2),
        "size": check.get("size"),
        "formula": check.get("formula"),
        "steps": info.get("steps", []),
        "seconds": float(info.get("seconds", record.train.get("wall_s", float("nan")))),
        "r2_extrap": float(info.get("r2_extrap", float("nan"))),
        "r2_test": r2_test,
    }


def _median(values: Sequence[float]) -> float | None:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.median(values)) if values else None


def summarise(records: Sequence[RunRecord], ids: Sequence[str], noise_levels: Sequence[float],
              systems: Sequence[str], seeds: Sequence[int] = (0,)
              ) -> tuple[dict[str, Any], dict[tuple[str, float, str, int], dict[str, Any]]]:
    """Counts per system, noise level and seed (with mean and worst over seeds), and the per-run entries.

    For a formula system, per noise level: ``solved`` / ``solutions`` / ``accurate`` (the
    mean over seeds), ``*_worst`` (the worst seed), ``per_seed``, ``total``,
    ``finished``, ``failed_runs``, ``errors``, ``median_seconds_solved``, ``median_size``
    and, for generated formulas, ``by_depth`` (solution and exact rates). For the MLP:
    median R^2 in range and outside it.
    """
    by_key = {}
    for r in records:
        eq_id = r.config.task_params["equations"][0]
        by_key[(r.config.method, float(r.config.task_params["noise"]), eq_id, r.config.seed)] = r
    entries = {}
    summary: dict[str, Any] = {}
    for system in systems:
        per_noise = {}
        for noise in noise_levels:
            rows = {}
            for seed in seeds:
                for i in ids:
                    rows[(i, seed)] = entries[(system, float(noise), i, seed)] = _entry(
                        by_key.get((system, float(noise), i, seed)))
            done = [row for row in rows.values() if row["status"] == "ok"]
            failed = {"failed_runs": sum(row["status"] == "failed" for row in rows.values()),
                      "errors": _error_counts(list(rows.values()))}
            if system == "mlp":
                per_noise[f"{noise:g}"] = {
                    "total": len(ids), "finished": len(done), **failed,
                    "median_r2_extrap": _median([row["r2_extrap"] for row in done]),
                    "median_r2_test": _median([row["r2_test"] for row in done]),
                }
                continue
            per_seed = {str(seed): {k: sum(rows[(i, seed)].get(k, False) for i in ids)
                                    for k in ("exact", "solution", "accurate")} for seed in seeds}
            solved_rows = [row for row in done if row["exact"]]
            row_summary: dict[str, Any] = {
                "total": len(ids), "seeds": len(seeds), "finished": len(done), **failed,
                "per_seed": per_seed,
                "median_seconds_solved": _median([row["seconds"] for row in solved_rows]),
                "median_seconds_all": _median([row["seconds"] for row in done]),
                "median_size": _median([row["size"] for row in done if row["size"] is not None]),
            }
            for key, name in (("exact", "solved"), ("solution", "solutions"), ("accurate", "accurate")):
                counts = [per_seed[str(s)][key] for s in seeds]
                row_summary[name] = float(np.mean(counts)) if len(seeds) > 1 else counts[0]
                row_summary[f"{name}_worst"] = min(counts)
            depths = _depths(ids)
            if depths:
                row_summary["by_depth"] = {
                    str(d): {k: float(np.mean([rows[(i, s)].get(k, False) for i in members for s in seeds]))
                             for k in ("solution", "exact", "accurate")}
                    for d, members in depths.items()}
            per_noise[f"{noise:g}"] = row_summary
        summary[system] = per_noise
    return summary, entries


def _depths(ids: Sequence[str]) -> dict[int, list[str]]:
    """Generated ids grouped by tree depth (empty when none is generated)."""
    out: dict[int, list[str]] = {}
    for i in ids:
        if i.startswith("gen.d"):
            out.setdefault(int(i.split(".")[1][1:]), []).append(i)
    return dict(sorted(out.items()))


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


def write_table(path: Path, entries, ids, noise_levels, systems, n_samples: int, budget_s: float,
                seeds: Sequence[int] = (0,), summary: dict[str, Any] | None = None, units: bool = True) -> None:
    """The markdown report: counts per seed, per-equation results, depth rates, failures."""
    seeds = list(seeds)
    lines = [f"# AI Feynman benchmark: {len(ids)} equations, {n_samples} samples, budget {budget_s:g} s, "
             f"{len(seeds)} data seed{'s' if len(seeds) > 1 else ''}, {'with' if units else 'no'} units", ""]
    solvers = [s for s in systems if s != "mlp"]
    for noise in noise_levels:
        lines += [f"## noise {noise:g}", ""]
        if summary is not None and solvers:
            lines += _counts_table(summary, solvers, noise, seeds)
        head = ["id", "formula"]
        for s in solvers:
            head += [f"{s} exact", f"{s} s"]
        if solvers:
            head.insert(4, "steps")
        if "mlp" in systems:
            head.append("MLP R^2 extrap")
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for i in ids:
            row = [i, f"`{get_equation(i).formula}`"]
            for k, s in enumerate(solvers):
                runs = [entries[(s, float(noise), i, seed)] for seed in seeds]
                row += [_exact_cell(runs), _seconds_cell(runs)]
                if k == 0:
                    first = next((e for e in runs if e.get("exact")), None)
                    row.append(" > ".join(first.get("steps") or []) if first else "")
            if "mlp" in systems:
                runs = [entries[("mlp", float(noise), i, seed)] for seed in seeds]
                r2 = _median([e["r2_extrap"] for e in runs if e["status"] == "ok"])
                row.append(f"{r2:.3g}" if r2 is not None else "")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        if summary is not None:
            lines += _depth_table(summary, solvers, noise)
    failed = [(key, e) for key, e in entries.items() if e["status"] == "failed"]
    if failed:
        lines += ["## Failed runs", "", "'error' in the tables above: the run raised, and this is why.", "",
                  "| system | noise | id | seed | error |", "|---|---|---|---|---|"]
        for (system, noise, i, seed), e in failed:
            lines.append(f"| {system} | {noise:g} | {i} | {seed} | {e['error'] or '(no message)'} |")
        lines.append("")
    path.write_text("\n".join(lines))


def _exact_cell(runs: list[dict[str, Any]]) -> str:
    if len(runs) == 1:
        return {"ok": "yes" if runs[0].get("exact") else "no", "failed": "error", "missing": "-"}[runs[0]["status"]]
    hits = sum(bool(e.get("exact")) for e in runs)
    errors = sum(e["status"] == "failed" for e in runs)
    return f"{hits}/{len(runs)}" + (f" ({errors} error)" if errors else "")


def _seconds_cell(runs: list[dict[str, Any]]) -> str:
    seconds = _median([e["seconds"] for e in runs if e["status"] == "ok"])
    return f"{seconds:.1f}" if seconds is not None else ""


def _counts_table(summary, solvers, noise, seeds) -> list[str]:
    lines = ["| system | exact (mean, worst) | symbolic solutions (mean, worst) | R^2 > 0.999 (mean, worst) "
             "| per seed: exact | median size | median s (solved) |", "|---|---|---|---|---|---|---|"]
    for s in solvers:
        row = summary[s][f"{noise:g}"]
        per_seed = ", ".join(f"{row['per_seed'][str(seed)]['exact']}" for seed in seeds)
        lines.append(
            f"| {s} | {row['solved']:.4g} / {row['total']}, worst {row['solved_worst']} | "
            f"{row['solutions']:.4g}, worst {row['solutions_worst']} | {row['accurate']:.4g}, worst "
            f"{row['accurate_worst']} | {per_seed} | {_num(row['median_size'])} | "
            f"{_num(row['median_seconds_solved'])} |")
    return lines + [""]


def _depth_table(summary, solvers, noise) -> list[str]:
    rows = [(s, summary[s][f"{noise:g}"].get("by_depth")) for s in solvers]
    rows = [(s, d) for s, d in rows if d]
    if not rows:
        return []
    lines = ["Generated formulas, by tree depth (share of formulas x seeds):", "",
             "| system | depth | symbolic solution | exact | R^2 > 0.999 |", "|---|---|---|---|---|"]
    for s, by_depth in rows:
        for depth, r in by_depth.items():
            lines.append(f"| {s} | {depth} | {r['solution']:.0%} | {r['exact']:.0%} | {r['accurate']:.0%} |")
    return lines + [""]


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}"


def reproduce_ai_feynman(
    ids: Sequence[str] | None = None,
    *,
    budget_s: float = 300.0,
    noise_levels: Sequence[float] = (0.0, 1e-2),
    peers: Sequence[str] = (),
    mlp: bool = True,
    n_samples: int = 1000,
    seed: int = 0,
    seeds: int = 1,
    equation_set: str = "fsred",
    units: bool = True,
    depths: Sequence[int] = (1, 2, 3, 4),
    count: int = 10,
    out: str | Path = "results/ai-feynman",
    jobs: int | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """Run the benchmark and write its table and summary.

    Args:
        ids: equation ids (default: the whole ``equation_set``).
        budget_s: time budget per equation, for the solver and for each peer.
        noise_levels: relative noise levels (SRBench: 0, 1e-3, 1e-2, 1e-1).
        peers: peer systems to run side by side (``"gplearn"``, ``"operon"``).
        mlp: also train the MLP baseline on the same data (its extrapolation R^2).
        n_samples: training samples per equation.
        seed: the first data seed.
        seeds: how many data seeds (``seed .. seed + seeds - 1``; SRBench uses at least 5).
        equation_set: ``"fsred"``, ``"hard"`` or ``"generated"`` (see the module docstring).
        units: give the systems the equations' SI units (where they have them).
        depths, count: for ``generated``: the tree depths, and formulas per depth.
        out: output folder.
        jobs: parallel runs (default: CPU count).
        device: where the oracle and the MLP train.
        progress: show a progress bar.

    Returns:
        The summary (also written to ``out/summary.json``).

    Raises:
        ValueError: on an empty or unknown id list, an unknown set, an unknown or uninstalled
            peer, a negative noise level, a budget that is not a finite positive number, a
            negative seed or a seed count below 1.
    """
    if ids is None:
        ids = equation_ids(equation_set, depths=depths, count=count, seed=seed)
    ids = list(ids)
    if not ids:
        raise ValueError("ids is empty: give at least one equation id, or None for the whole set")
    unknown = []
    for i in ids:
        try:
            get_equation(i)
        except (KeyError, ValueError):
            unknown.append(i)
    if unknown:
        raise ValueError(f"unknown equation ids {unknown}; ids look like 'I.6.2a', 'rel.doppler' or 'gen.d3.s0.7'")
    bad = [p for p in peers if p not in PEERS]
    if bad:
        raise ValueError(f"unknown peers {bad}; valid peers are {list(PEERS)}")
    if not math.isfinite(budget_s) or budget_s <= 0:
        raise ValueError(f"budget_s must be a finite number of seconds > 0, got {budget_s}")
    for name, value, low in (("seed", seed, 0), ("seeds", seeds, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
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
    seed_list = list(range(seed, seed + seeds))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(device)
    configs = benchmark_configs(ids, noise_levels, systems, budget_s=budget_s, n_samples=n_samples, seeds=seed_list,
                                device=device, units=units)
    with ResultStore(out / "results.db") as store:
        run_sweep(configs, store, jobs=jobs, track_energy=False, progress=progress)
        wanted = {c.key() for c in configs}
        records = [r for r in store.records() if r.key in wanted]
        store.export_csv(out / "results.csv")
    summary, entries = summarise(records, ids, noise_levels, systems, seed_list)
    machine = machine_info()
    summary["settings"] = {
        "n_samples": n_samples, "budget_s": budget_s, "noise_levels": list(noise_levels), "seeds": seed_list,
        "equation_set": equation_set, "units": units, "equations": len(ids),
        "machine": machine, "python": machine["python"],
    }
    write_table(out / "ai_feynman.md", entries, ids, noise_levels, systems, n_samples, budget_s, seed_list,
                summary, units)
    (out / "summary.json").write_text(dumps_strict(summary, indent=2))
    return summary
