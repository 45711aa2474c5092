"""``hybrid reproduce latplan``: plans from pixels with rules learned, rules given and PPO, on Latplan's protocol.

Per domain of :data:`hybrid.planning.latplan.LATPLAN_DOMAINS` (``--quick``: the 8-puzzle and
Lights Out, fewer instances and transitions), stages stored in ``OUT/stages/<name>.json`` as
soon as each finishes (rerun the same command to resume):

1. ``learned_<domain>``: a :class:`~hybrid.planning.learned.LearnedRulesPlanner` fitted on the
   domain's budget of unlabelled transitions (Latplan: 5,000 or 20,000), then asked to plan
   every instance (20 at 7 and 20 at 14 optimal moves); the plan is executed in the true
   rules. Also written: the learned model as JSON (``OUT/models/<domain>.json``), as PDDL
   for the first instance (``OUT/pddl/<domain>-domain.pddl`` and ``-problem.pddl``), and a
   figure of one learned plan decoded to frames beside the true frames
   (``OUT/plan_<domain>.png``);
2. ``given_<domain>``: today's hybrid on the same instances: perception trained on 500
   labelled frames reads the start frame, the env's exact solver plans;
3. ``ppo_<domain>_<steps>``: PPO from pixels (stable-baselines3, the ``rl`` extra) trained for
   the same number of env steps as the learned model's transitions, and 10x (``--ppo-multipliers``),
   then run from each start (not on Sokoban: its env cannot start from a given state).

It writes ``summary.json`` and ``latplan.md``: one table, a row per domain and agent, with
the labels (rules learned / given / none; unlabelled transitions / labelled frames /
environment steps), the data used, found / valid / optimal, and seconds.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.evaluate.stages import StageStore, dumps_strict
from hybrid.planning.labels import MODEL_FREE, RULES_GIVEN_FRAMES, RULES_LEARNED_TRANSITIONS
from hybrid.planning.latplan import (
    LATPLAN_DOMAINS,
    LatplanDomain,
    domain_frames,
    latplan_domain,
    latplan_instances,
    learned_plans,
    ppo_plans,
    reachable_states,
    rules_given_plans,
    score_plans,
    symbol_purity,
    training_transitions,
)
from hybrid.planning.learned import execute_plan

__all__ = ["reproduce_latplan", "write_latplan_table"]

#: The agents' names in the table (their labels are in their own columns).
LEARNED, GIVEN = "learned action model + search", "perception + exact solver"
#: The issue's targets: (domain, measure, at least).
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("8-puzzle", "valid", 0.95),
    ("8-puzzle", "optimal", 0.90),
    ("lights-out", "valid", 0.95),
    ("lights-out", "optimal", 0.90),
    ("twisted-lights-out", "valid", 0.90),
)


def _settings(quick: bool) -> dict[str, Any]:
    """The run's settings: full (Latplan's protocol) or quick (minutes on 2 cores)."""
    if quick:
        return {"domains": ["8-puzzle", "lights-out"], "per_length": 5, "transitions": 2000, "epochs": 25,
                "given_frames": 200, "held_out": 200, "ppo_multipliers": [1], "time_limit_s": 10.0}
    return {"domains": [d.key for d in LATPLAN_DOMAINS], "per_length": 20, "transitions": None, "epochs": None,
            "given_frames": 500, "held_out": 1000, "ppo_multipliers": [1, 10], "time_limit_s": 10.0}


def learned_stage(domain: LatplanDomain, cfg: dict[str, Any], seed: int, device: str, progress: bool,
                  out: Path) -> dict[str, Any]:
    """Fit the rules-learned planner on unlabelled transitions and plan every instance (see the module docstring)."""
    from hybrid.planning.learned import LearnedRulesPlanner

    n = int(cfg["transitions"] or domain.transitions)
    instances = latplan_instances(domain, int(cfg["per_length"]), seed=seed + 1)  # first: fail before training
    t0 = time.perf_counter()
    data = training_transitions(domain, n, seed=seed)
    collect_seconds = time.perf_counter() - t0
    model = domain.model()
    # epochs: about 75,000 transitions' worth of steps (15 passes over 5,000; 5 over 20,000), at least 5
    epochs = int(cfg["epochs"] or max(5, math.ceil(75_000 / n)))
    board = model.to_grid(model.goal_state if domain.level is None else model.initial_state).shape
    planner = LearnedRulesPlanner(board, epochs=epochs, seed=seed, device=device,
                                  progress=progress, time_limit_s=float(cfg["time_limit_s"]),
                                  **dict(domain.planner_kwargs))
    planner.fit(data.frames, data.actions, data.next_frames, model.num_actions)
    plans, seconds, raw = learned_plans(planner, domain, instances)
    am = planner.model_
    symbols = [len(np.unique(planner.encode(data.frames[:2000])[:, s])) for s in range(am.num_slots)]
    rng = np.random.default_rng(seed + 2)
    if domain.level is None:
        probe = [model.sample_state(rng) for _ in range(500)]
    else:
        states = reachable_states(model)
        probe = [states[int(i)] for i in rng.choice(len(states), size=min(500, len(states)), replace=False)]
    purity = symbol_purity(planner, domain, probe)
    result = score_plans(domain, instances, plans, seconds, RULES_LEARNED_TRANSITIONS, transitions=n, epochs=epochs,
                         train_seconds=planner.fit_seconds_, collect_seconds=collect_seconds,
                         grounded_actions=len(am.actions), noop_transitions=am.noops,
                         symbols_per_slot=float(np.mean(symbols)), merged_symbols=purity["merged"],
                         split_classes=purity["split"],
                         reasons=[p.result.reason for p in raw])
    (out / "models").mkdir(parents=True, exist_ok=True)
    (out / "models" / f"{domain.key}.json").write_text(json.dumps(am.to_dict()))
    (out / "pddl").mkdir(parents=True, exist_ok=True)
    pddl_domain, pddl_problem = planner.to_pddl(raw[0], domain=f"learned-{domain.key}")
    (out / "pddl" / f"{domain.key}-domain.pddl").write_text(pddl_domain)
    (out / "pddl" / f"{domain.key}-problem.pddl").write_text(pddl_problem)
    # the figure: a valid plan of the longest instances if there is one, else any plan found
    valid = [k for k, p in enumerate(plans) if p is not None and execute_plan(model, instances[k].start,
                                                                              instances[k].goal, p).valid]
    longest = [k for k in valid if instances[k].optimal == max(i.optimal for i in instances)]
    shown = (longest or valid or [k for k, p in enumerate(plans) if p is not None] or [None])[0]
    if shown is not None:
        _plan_figure(out / f"plan_{domain.key}.png", planner, domain, instances[shown], raw[shown])
    return result


def _plan_figure(path: Path, planner: Any, domain: LatplanDomain, instance: Any, plan: Any) -> None:
    """Draw a learned plan: its latent states decoded to frames (top) above the true frames it leads to (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    decoded = planner.decode(np.asarray(plan.result.states))
    model, state, truth = domain.model(), instance.start, [instance.start]
    for a in plan.actions:
        if a not in model.legal_action_ids(state):
            break
        state = model.step(state, a).state
        truth.append(state)
    true_frames = domain_frames(domain, truth)
    k = len(decoded)
    fig, axes = plt.subplots(2, k, figsize=(1.3 * k, 2.9), squeeze=False)
    for j in range(k):
        axes[0, j].imshow(decoded[j])
        axes[0, j].set_title("start" if j == 0 else f"step {j}", fontsize=7)
        if j < len(true_frames):
            axes[1, j].imshow(true_frames[j])
        for i in range(2):
            axes[i, j].axis("off")
    axes[0, 0].text(-0.15, 0.5, "decoded\n(learned)", transform=axes[0, 0].transAxes, ha="right", va="center",
                    fontsize=7)
    axes[1, 0].text(-0.15, 0.5, "true env", transform=axes[1, 0].transAxes, ha="right", va="center", fontsize=7)
    fig.suptitle(f"{domain.key}: a plan found in the learned model ({len(plan.actions)} moves, optimal "
                 f"{instance.optimal})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def given_stage(domain: LatplanDomain, cfg: dict[str, Any], seed: int, device: str, cache: str) -> dict[str, Any]:
    """Rules given, perception from labelled frames, on the same instances."""
    instances = latplan_instances(domain, int(cfg["per_length"]), seed=seed + 1)
    plans, seconds, info = rules_given_plans(domain, instances, int(cfg["given_frames"]), seed=seed, device=device,
                                             cache_dir=cache, held_out=int(cfg.get("held_out", 0)))
    return score_plans(domain, instances, plans, seconds, RULES_GIVEN_FRAMES, **info)


def ppo_stage(domain: LatplanDomain, cfg: dict[str, Any], budget: int, seed: int, device: str) -> dict[str, Any]:
    """PPO from pixels for ``budget`` env steps, on the same instances."""
    instances = latplan_instances(domain, int(cfg["per_length"]), seed=seed + 1)
    plans, seconds, info = ppo_plans(domain, instances, budget, seed=seed, device=device)
    return score_plans(domain, instances, plans, seconds, MODEL_FREE, **info)


def reproduce_latplan(
    out: str | os.PathLike,
    quick: bool = False,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    log: Callable[[str], None] = print,
    *,
    ppo: bool = True,
    ppo_multipliers: list[int] | None = None,
    domains: list[str] | None = None,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run every stage (see the module docstring) and write ``summary.json`` and ``latplan.md``.

    Args:
        out: output folder.
        quick: the small settings.
        seed: seed of every stage (instances use ``seed + 1``).
        device: where the networks train.
        progress: tqdm bars.
        log: where one-line progress messages go.
        ppo: run the PPO stages.
        ppo_multipliers: PPO's budgets as multiples of the learned model's transitions (default 1 and 10).
        domains: a subset of the domains' keys (default: the settings').
        settings: replaces the settings (tests use tiny ones).

    Returns:
        The summary: ``results`` (per domain, per agent: the scores), ``targets``, ``settings``, ``machine``,
        ``stage_seconds``, ``stages_computed``.

    Raises:
        ValueError: an unknown domain or bad multipliers.
    """
    from hybrid.planning.plan import machine_info

    cfg = dict(settings if settings is not None else _settings(quick))
    if domains is not None:
        cfg["domains"] = list(domains)
    if ppo_multipliers is not None:
        if not ppo_multipliers or any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in ppo_multipliers):
            raise ValueError(f"ppo_multipliers must be ints >= 1, got {ppo_multipliers!r}")
        cfg["ppo_multipliers"] = list(ppo_multipliers)
    chosen = [latplan_domain(k) for k in cfg["domains"]]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stages = StageStore(out / "stages")
    timings: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], dict[str, Any]], key: Any) -> dict[str, Any]:
        t0 = time.perf_counter()
        result = stages.run(name, fn, {"seed": seed, **key})
        timings[name] = round(time.perf_counter() - t0, 3)
        return result

    results: dict[str, dict[str, Any]] = {}
    # "symbols": the encoder's symbol rules (same-drawing symbols merged), so older learned stages are not read back
    common = {**{k: cfg[k] for k in ("per_length", "transitions", "epochs", "time_limit_s")}, "symbols": "merged"}
    for d in chosen:
        row: dict[str, Any] = {}
        # a stage is read back only for the same domain definition (pictures, budget, planner settings, lengths)
        common = {**common, "domain": [d.env_id, sorted(d.kwargs.items()), d.transitions, list(d.planner_kwargs),
                                       list(d.steps)]}
        row[LEARNED] = timed(f"learned_{d.key}", lambda d=d: learned_stage(d, cfg, seed, device, progress, out),
                                     common)
        r = row[LEARNED]
        log(f"{d.key} rules learned from {r['transitions']} transitions: found {r['found']:.0%}, valid "
            f"{r['valid']:.0%}, optimal {r['optimal']:.0%} ({r['train_seconds']:.0f} s training)")
        row[GIVEN] = timed(f"given_{d.key}", lambda d=d: given_stage(d, cfg, seed, device,
                                                                             str(out / "perception_cache")),
                                   {"per_length": cfg["per_length"], "given_frames": cfg["given_frames"],
                                    "held_out": cfg.get("held_out", 0), "domain": common["domain"]})
        g = row[GIVEN]
        log(f"{d.key} rules given ({g['labelled_frames']} labelled frames): valid {g['valid']:.0%}, optimal "
            f"{g['optimal']:.0%}, held-out frames read {g.get('held_out_frames_read', float('nan')):.2%}")
        if ppo and d.ppo:
            for m in cfg["ppo_multipliers"]:
                budget = int(r["transitions"]) * int(m)
                row[f"PPO {m}x"] = timed(f"ppo_{d.key}_{budget}", lambda d=d, b=budget: ppo_stage(d, cfg, b, seed,
                                                                                                   device),
                                         {"per_length": cfg["per_length"], "domain": common["domain"]})
                log(f"{d.key} PPO {budget} steps: valid {row[f'PPO {m}x']['valid']:.0%}")
        results[d.key] = row

    targets = {}
    for key, measure, at_least in TARGETS:
        if key in results:
            value = float(results[key][LEARNED][measure])
            targets[f"{key} {measure}"] = {"target": f">= {at_least:.0%}", "value": value, "met": value >= at_least}
    given = results.get("8-puzzle", {}).get(GIVEN, {})
    if "held_out_frames_read" in given:
        value = float(given["held_out_frames_read"])
        targets["8-puzzle rules given: held-out frames read"] = {"target": ">= 99.5%", "value": value,
                                                               "met": value >= 0.995}
    summary = {
        "results": results,
        "targets": targets,
        "settings": cfg,
        "quick": quick,
        "machine": machine_info(),
        "stage_seconds": timings,
        "stages_computed": list(stages.computed),
    }
    (out / "summary.json").write_text(dumps_strict(summary, indent=2))
    write_latplan_table(out / "latplan.md", summary)
    return summary


def write_latplan_table(path: Path, summary: dict[str, Any]) -> None:
    """Write ``latplan.md``: one row per domain and agent, labelled, with the data each used."""
    lines = [
        "# Planning from pixels on Latplan's protocol",
        "",
        "Per domain, instances at 7 and 14 optimal moves from the goal (Blocksworld with 4 blocks: 7 and 8, as",
        "only 1 state is farther); a plan is *valid* when it reaches the goal in the true rules from the true",
        "start, *optimal* when it is also of optimal length.",
        "",
        "| domain | agent | rules | data | used | found | valid | optimal | valid, shorter | valid, longer | s per "
        "instance (mean / max) |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, row in summary["results"].items():
        for agent, r in row.items():
            used = r.get("transitions") or r.get("labelled_frames") or r.get("env_steps")
            by = r.get("by_length", {})
            at = [by[k]["valid"] for k in sorted(by, key=int)][:2] + [float("nan")] * (2 - len(by))
            lines.append(
                f"| {key} | {agent} | {r['rules']} | {r['data']} | {used:,} | {r['found']:.0%} | {r['valid']:.0%} | "
                f"{r['optimal']:.0%} | {at[0]:.0%} | {at[1]:.0%} | {r['mean_seconds']:.2f} / {r['max_seconds']:.2f} |"
            )
    lines += ["", "## Targets (rules learned)", ""]
    for name, t in summary["targets"].items():
        lines.append(f"- {name}: {t['target']}: {'met' if t['met'] else 'NOT met'} ({t['value']:.0%})")
    lines += ["", "## Rules given: perception", "",
              "Frames of random states read exactly by the perception net of the rules-given agent (trained on",
              "labelled frames):", "", "| domain | labelled frames | held-out frames | read exactly |",
              "|---|---:|---:|---:|"]
    for key, row in summary["results"].items():
        g = row.get(GIVEN, {})
        if "held_out_frames_read" in g:
            lines.append(f"| {key} | {g['labelled_frames']} | {g['held_out']} | {g['held_out_frames_read']:.2%} |")
    learned = {k: v[LEARNED] for k, v in summary["results"].items()}
    lines += ["", "## The learned models", "",
              "Merged symbols: a symbol of a slot shown for two true classes of that cell; split classes: a class",
              "shown by two symbols (measured on 500 random states: a diagnostic, the truth is never trained on).", "",
              "| domain | transitions | training s | grounded actions | no-op transitions | symbols per slot | merged "
              "symbols | split classes |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key, r in learned.items():
        lines.append(f"| {key} | {r['transitions']:,} | {r['train_seconds']:.0f} | {r['grounded_actions']} | "
                     f"{r['noop_transitions']} | {r['symbols_per_slot']:.1f} | {r['merged_symbols']} | "
                     f"{r['split_classes']} |")
    path.write_text("\n".join(lines) + "\n")
