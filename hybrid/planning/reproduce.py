"""``hybrid reproduce mcts``: the planning pillar's table and curves, peers and deep baselines side by side.

Stages, each stored in ``OUT/stages/<name>.json`` as soon as it finishes (rerun the same
command and finished stages are read back, not redone, unless the settings they depend on
changed; AlphaZero's training also keeps a checkpoint in ``OUT/stages/alphazero_checkpoint_<hash>/``
and resumes from it):

1. ``speed``: our MCTS (UCT, one random rollout per leaf) and OpenSpiel's Python
   ``MCTSBot`` (``RandomRolloutEvaluator``) side by side on tic-tac-toe and Connect Four,
   the same positions and simulation counts, in one process pinned to one core
   (:func:`hybrid.planning.openspiel_peer.side_by_side`): simulations per second of each
   and their ratio (target: ours >= 4x). Without ``pyspiel`` only ours is measured and the
   stage says why.
2. ``puzzle_8-puzzle``, ``puzzle_lights-out``, ``puzzle_sokoban``: the hybrid agents from
   pixels (:mod:`hybrid.planning.puzzles`): the 8-puzzle on Latplan's protocol (instances
   7 and 14 moves from the goal), Lights Out, and Sokoban on the shipped 1,000 Boxoban
   unfiltered test levels (``--quick``: a subset): share solved, perception accuracy,
   seconds per instance and the labelled frames the perception used (its *interactions*).
3. ``deep_<puzzle>_<algo>_<budget>``: PPO and DQN (stable-baselines3 from pixels,
   :mod:`hybrid.neural.planning.rl_baselines`) on Sokoban and Lights Out, trained for budgets that
   are multiples of the hybrid's interactions (10x and 100x; ``--quick``: 1x and 10x), then
   scored on test instances: success at each budget, and the interactions each needed to
   match the hybrid's solved rate (or that it never did within the largest budget tried).
4. ``alphazero``: AlphaZero-style self-play on Connect Four within a time budget
   (:func:`hybrid.planning.alphazero.train_alphazero`; 30 minutes, ``--quick`` 2), then a
   match against plain UCT with random rollouts at the same simulation count: win rate
   (target >= 80%).

Every result is labelled (:mod:`hybrid.planning.labels`, the keys ``rules`` and ``data`` in
``summary.json`` and two columns of the tables): the puzzle agents "rules given" with
perception from "labelled frames"; PPO and DQN "none (model-free)" from "environment steps";
AlphaZero "rules given" from "self-play games"; the speed stage's searches "rules given"
and "none" (nothing learned).

It writes ``summary.json``, ``mcts.md`` (the tables) and two figures:
``success_vs_interactions.png`` and ``sims_per_s.png`` (drawn by
:mod:`hybrid.planning.reproduce_report`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hybrid.evaluate.stages import StageStore, dumps_strict
from hybrid.planning.labels import (
    DATA_LABELLED_FRAMES,
    DATA_NONE,
    DATA_SELF_PLAY,
    LABEL_KEYS,
    MODEL_FREE,
    RULES_GIVEN,
    PlanningLabels,
    label_row,
    planning_labels,
)
from hybrid.planning.reproduce_report import pct, write_figures, write_table

#: The puzzles of stage 2, in order.
PUZZLES = ("8-puzzle", "lights-out", "sokoban")
#: The puzzles the deep baselines are trained on (stage 3).
DEEP_PUZZLES = ("sokoban", "lights-out")
DEEP_ALGOS = ("ppo", "dqn")
#: Targets of the issue, checked in the summary.
TARGETS = {"speed_ratio": 4.0, "8-puzzle": 0.95, "lights-out": 0.95, "sokoban": 0.99, "alphazero_win_rate": 0.8}
#: The speed stage's searches: the games' own rules, nothing learned.
SEARCH_LABELS = PlanningLabels(RULES_GIVEN, DATA_NONE)
#: AlphaZero: PUCT over the game's rules, its net learned from self-play games.
ALPHAZERO_LABELS = PlanningLabels(RULES_GIVEN, DATA_SELF_PLAY)
#: PPO and DQN: model-free, from environment steps.
DEEP_LABELS = MODEL_FREE


def _settings(quick: bool) -> dict[str, Any]:
    """The settings of a full (``quick=False``) or quick run; see the module docstring."""
    if quick:
        return {
            "speed": {"games": ["tic_tac_toe", "connect_four"], "num_simulations": 1000, "repeats": 5},
            "puzzles": {
                "8-puzzle": {"n_frames": 500, "instances": 20, "test_frames": 200},
                "lights-out": {"n_frames": 100, "instances": 100, "test_frames": 200},
                "sokoban": {"n_frames": 500, "n_levels": 100},
            },
            "perception_kwargs": None,
            "deep": {"multipliers": [1, 10], "max_budget": 5000, "eval_episodes": 20},
            # smaller iterations than the 30-minute defaults, so that 2 minutes hold several
            "alphazero": {"max_seconds": 120.0, "match_games": 20, "match_simulations": 50,
                          "config": {"games_per_iteration": 64, "parallel_games": 32, "train_steps": 60,
                                     "eval_every": 0}},
        }
    return {
        "speed": {"games": ["tic_tac_toe", "connect_four"], "num_simulations": 1000, "repeats": 5},
        "puzzles": {
            "8-puzzle": {"n_frames": 500, "instances": 20, "test_frames": 1000},
            "lights-out": {"n_frames": 100, "instances": 1000, "test_frames": 1000},
            "sokoban": {"n_frames": 500, "n_levels": 1000},
        },
        "perception_kwargs": None,
        "deep": {"multipliers": [10, 100], "max_budget": None, "eval_episodes": 100},
        "alphazero": {"max_seconds": 1800.0, "match_games": 100, "match_simulations": 100, "config": {}},
    }


# ============================================================================ stage 1: speed


def speed_stage(games: list[str], num_simulations: int, repeats: int, seed: int) -> dict[str, Any]:
    """Simulations per second of our MCTS and OpenSpiel's ``MCTSBot``, side by side, per game.

    Args:
        games: OpenSpiel game names (``"tic_tac_toe"``, ``"connect_four"``).
        num_simulations: simulations per search, both sides.
        repeats: searches per side and position.
        seed: base seed.

    Returns:
        ``{"games": {game: {"sims_per_s", "openspiel_sims_per_s", "ratio", "ratio_best",
        "rows"}}, "num_simulations", "repeats", "openspiel": bool, "note"}``: per game, the
        mean over the measured positions of the median rates (and the rows themselves);
        without OpenSpiel, ``openspiel_sims_per_s`` and the ratios are None and ``note`` says why.
    """
    from dataclasses import asdict

    from hybrid.planning.openspiel_peer import (
        DEFAULT_POSITIONS,
        _nothing,
        one_core,
        openspiel_available,
        ours_sims_per_second,
        side_by_side,
    )

    out: dict[str, Any] = {"num_simulations": num_simulations, "repeats": repeats, "games": {}}
    if openspiel_available():
        rows = side_by_side(games, num_simulations=num_simulations, repeats=repeats, seed=seed)
        out["openspiel"] = True
        out["note"] = ("ours: hybrid.symbolic.planning.mcts UCT, 1 random rollout per leaf; "
                       "peer: OpenSpiel MCTSBot with "
                       "RandomRolloutEvaluator(1), solver on; one process pinned to one core, interleaved")
        for g in games:
            mine = [r for r in rows if r.game == g]
            ours = sum(r.ours for r in mine) / len(mine)
            theirs = sum(r.openspiel for r in mine) / len(mine)
            best = sum(r.ratio_best for r in mine) / len(mine)
            out["games"][g] = {"sims_per_s": ours, "openspiel_sims_per_s": theirs, "ratio": ours / theirs,
                               "ratio_best": best, "rows": [asdict(r) for r in mine]}
        return out
    out["openspiel"] = False
    out["note"] = "OpenSpiel (pyspiel) is not installed (pip install 'hybrid-toolkit[peers]'): only ours was timed"
    with one_core() if hasattr(os, "sched_setaffinity") else _nothing():
        for g in games:
            rates = []
            for moves in DEFAULT_POSITIONS.get(g, ((),)):
                per = sorted(ours_sims_per_second(g, num_simulations, moves, seed=seed + 1000 * r)
                             for r in range(repeats))
                rates.append(per[len(per) // 2])
            out["games"][g] = {"sims_per_s": sum(rates) / len(rates), "openspiel_sims_per_s": None, "ratio": None,
                               "ratio_best": None, "rows": []}
    return out


# ============================================================================ stage 2: puzzles


def puzzle_stage(puzzle: str, params: dict[str, Any], seed: int, device: str, progress: bool,
                 perception_kwargs: dict[str, Any] | None, cache_dir: str | None) -> dict[str, Any]:
    """Run one puzzle benchmark of :mod:`hybrid.planning.puzzles` and normalise its figures.

    Args:
        puzzle: ``"8-puzzle"``, ``"lights-out"`` or ``"sokoban"``.
        params: the benchmark's settings: ``n_frames`` (labelled frames for perception) and
            ``instances`` / ``test_frames`` (8-puzzle: instances per distance 7 and 14; Lights
            Out: patterns), or ``n_levels`` (Sokoban: the first ``n_levels`` shipped Boxoban
            test levels), plus any other keyword argument of the benchmark.
        seed, device, progress: passed on.
        perception_kwargs: :class:`~hybrid.neural.planning.perception.GridPerception` overrides (tests use tiny ones).
        cache_dir: the perception cache folder.

    Returns:
        The benchmark's dict, with at least ``solved_rate``, ``perception_accuracy`` (share of
        frames read entirely right: held-out frames for the 8-puzzle and Lights Out, the
        levels' own frames for Sokoban), ``interactions`` (labelled frames used),
        ``median_seconds`` and ``total``.
    """
    from hybrid.planning import puzzles

    params = dict(params)
    common = {"seed": seed, "device": device, "progress": progress, "cache_dir": cache_dir,
              "perception_kwargs": perception_kwargs}
    if puzzle == "8-puzzle":
        result = puzzles.eight_puzzle_benchmark(**params, **common)
    elif puzzle == "lights-out":
        result = puzzles.lights_out_benchmark(**params, **common)
    elif puzzle == "sokoban":
        from hybrid.tasks.envs.sokoban import load_boxoban

        n_levels = params.pop("n_levels", None)
        levels = load_boxoban() if n_levels is None else load_boxoban()[: int(n_levels)]
        result = puzzles.sokoban_benchmark(levels, **params, **common)
        result["levels"] = f"Boxoban unfiltered test, first {len(levels)} of the 1,000 shipped levels"
        result.pop("records", None)  # per-level records: kept small in the stage file
    else:
        raise ValueError(f"puzzle must be one of {PUZZLES}, got {puzzle!r}")
    return _normalise_puzzle(dict(result))


def puzzle_labels(r: dict[str, Any]) -> PlanningLabels:
    """The labels of a puzzle stage's result: its own (the benchmarks write ``rules`` and ``data``), else,
    for a stage stored before they did, the rules given and perception from labelled frames (none when
    it used no frame)."""
    if all(k in r for k in LABEL_KEYS):
        return planning_labels(r)
    return PlanningLabels(RULES_GIVEN, DATA_LABELLED_FRAMES if r.get("interactions") else DATA_NONE)


def _normalise_puzzle(r: dict[str, Any]) -> dict[str, Any]:
    """Make sure the keys the summary reads exist (``solved_rate``, ``perception_accuracy``, ``interactions``,
    ``median_seconds``), whatever shape a benchmark returns."""
    if "solved_rate" not in r and "solved" in r and "total" in r:
        r["solved_rate"] = r["solved"] / max(r["total"], 1)
    p = r.get("perception")
    if "perception_accuracy" not in r:
        r["perception_accuracy"] = p.get("state_accuracy") if isinstance(p, dict) else r.get("state_accuracy")
    if r.get("interactions") is None and isinstance(p, dict):
        r["interactions"] = p.get("interactions")
    if r.get("median_seconds") is None and isinstance(r.get("distances"), dict):
        seconds = sorted(x for d in r["distances"].values() for x in d.get("seconds", []))
        r["median_seconds"] = seconds[len(seconds) // 2] if seconds else None
        r["max_seconds"] = seconds[-1] if seconds else None
    for d in (r.get("distances") or {}).values():  # per-instance records: kept small in the stage file
        if isinstance(d, dict):
            d.pop("instances", None)
    r.pop("instances", None)
    return r


# ============================================================================ stage 3: deep baselines


def deep_env(puzzle: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(env id, training kwargs, evaluation kwargs)`` of the deep baselines on a puzzle.

    Sokoban: trained on generated 10 x 10, 4-box levels and scored on the shipped Boxoban
    test levels (a level drawn per episode), Boxoban's 120-step limit; Lights Out: 5 x 5
    random solvable patterns for both.
    """
    if puzzle == "sokoban":
        from hybrid.tasks.envs.sokoban import boxoban_path

        return ("hybrid/Sokoban-v0", {"dim": (10, 10), "num_boxes": 4},
                {"level_file": str(boxoban_path())})  # the registered TimeLimit: Boxoban's 120 steps
    if puzzle == "lights-out":
        return "hybrid/LightsOut-v0", {"size": 5}, {"size": 5}
    raise ValueError(f"puzzle must be one of {DEEP_PUZZLES}, got {puzzle!r}")


def deep_stage(puzzle: str, algo: str, budget: int, eval_episodes: int, seed: int, device: str) -> dict[str, Any]:
    """Train one deep baseline for ``budget`` environment steps and score its success.

    Returns:
        ``{"puzzle", "algo", "budget", "interactions" (steps actually taken), "success_rate",
        "eval_episodes", "train_seconds", "eval_seconds"}``.
    """
    from hybrid.neural.planning.rl_baselines import evaluate_success, interactions_used, train_sb3
    from hybrid.planning.task import sb3_budget_kwargs

    env_id, train_kwargs, eval_kwargs = deep_env(puzzle)
    n_envs, algo_kwargs = sb3_budget_kwargs(algo, budget)
    t0 = time.perf_counter()
    model = train_sb3(algo, env_id, int(budget), seed=seed, env_kwargs=train_kwargs, device=device, n_envs=n_envs,
                      algo_kwargs=algo_kwargs)
    t1 = time.perf_counter()
    rate = evaluate_success(model, env_id, n_episodes=int(eval_episodes), seed=seed + 99991, env_kwargs=eval_kwargs)
    return {"puzzle": puzzle, "algo": algo, "budget": int(budget), "interactions": interactions_used(model),
            "success_rate": float(rate), "eval_episodes": int(eval_episodes), "train_seconds": t1 - t0,
            "eval_seconds": time.perf_counter() - t1}


def deep_budgets(hybrid_interactions: int, multipliers: list[int], max_budget: int | None) -> list[int]:
    """The deep baselines' budgets: ``multiplier x`` the hybrid's interactions, capped at ``max_budget``, distinct."""
    budgets = []
    for m in multipliers:
        b = int(m) * max(int(hybrid_interactions), 1)
        if max_budget is not None:
            b = min(b, int(max_budget))
        if b not in budgets:
            budgets.append(b)
    return budgets


def interactions_to_match(success: dict[int, float], target: float) -> int | None:
    """The smallest budget whose success is at least ``target`` (None: never within the budgets tried)."""
    for b in sorted(success):
        if success[b] >= target:
            return int(b)
    return None


# ============================================================================ stage 4: AlphaZero


def alphazero_stage(params: dict[str, Any], seed: int, device: str, progress: bool, checkpoint_dir: Path,
                    log: Callable[[str], None]) -> dict[str, Any]:
    """Train AlphaZero on Connect Four within ``params["max_seconds"]``, then play it against rollout MCTS.

    Args:
        params: ``max_seconds``, ``match_games``, ``match_simulations`` and ``config``
            (overrides of :class:`~hybrid.planning.alphazero.AlphaZeroConfig`).
        seed, device, progress: passed on.
        checkpoint_dir: training resumes from here after an interruption.
        log: one line per training iteration.

    Returns:
        ``{"win_rate" (wins / games), "score" ((wins + draws / 2) / games), "wins", "draws",
        "losses", "games", "simulations", "train_seconds", "iterations", "selfplay_games",
        "positions", "match_seconds", "config"}``.
    """
    from dataclasses import asdict

    from hybrid.planning.alphazero import (
        AlphaZeroAgent,
        AlphaZeroConfig,
        RolloutMCTSAgent,
        play_match,
        train_alphazero,
    )
    from hybrid.tasks.envs.connect_four import ConnectFourModel

    model = ConnectFourModel()
    config = AlphaZeroConfig(**{"seed": seed, "device": device, **params.get("config", {})})
    result = train_alphazero(model, config, max_seconds=float(params["max_seconds"]), progress=progress,
                             checkpoint_dir=checkpoint_dir, log=log)
    sims = int(params["match_simulations"])
    t0 = time.perf_counter()
    match = play_match(AlphaZeroAgent(result.net, model, sims, selection=config.selection),
                       RolloutMCTSAgent(model, sims), model, int(params["match_games"]), seed=seed + 12345,
                       parallel_games=min(25, int(params["match_games"])))
    return {
        "win_rate": match["wins"] / match["games"],
        "score": match["score"],
        "wins": match["wins"],
        "draws": match["draws"],
        "losses": match["losses"],
        "games": match["games"],
        "as_first": match["as_first"],
        "as_second": match["as_second"],
        "simulations": sims,
        "train_seconds": result.seconds,
        "max_seconds": float(params["max_seconds"]),
        "iterations": len(result.history),
        "selfplay_games": result.games,
        "positions": result.positions,
        "match_seconds": time.perf_counter() - t0,
        "config": asdict(config),
    }


# ============================================================================ the whole run


def reproduce_mcts(
    out: str | os.PathLike,
    quick: bool = False,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    log: Callable[[str], None] = print,
    *,
    deep: bool = True,
    alphazero: bool = True,
    deep_multipliers: list[int] | None = None,
    deep_algos: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Run every stage (see the module docstring) and write the report.

    Args:
        out: output folder (``stages/``, ``summary.json``, ``mcts.md``, the PNG figures).
        quick: the small settings (under 10 minutes on 2 cores) instead of the full ones.
        seed: seed of every stage.
        device: where the networks train (``"cpu"``, ``"cuda"``; resolved by the caller).
        progress: tqdm bars.
        log: where one-line progress messages go.
        deep: run the PPO/DQN stage (``--no-deep`` skips it).
        alphazero: run the AlphaZero stage (``--no-alphazero`` skips it).
        deep_multipliers: the deep baselines' budgets as multiples of the hybrid's
            interactions, instead of the settings' (10 and 100; quick: 1 and 10). Budgets
            already stored are read back, so a later call with more multipliers only trains
            the new ones.
        deep_algos: a subset of ``("ppo", "dqn")`` (default both).
        settings: replaces the settings of :func:`_settings` (tests use tiny ones); keys as there.
        cache_dir: the perception cache (default ``OUT/perception_cache``).

    Returns:
        The summary written to ``summary.json``: ``sims_per_s`` and ``openspiel_sims_per_s``
        per game, ``speed_ratio``, ``solved_rate`` / ``perception_accuracy`` / ``interactions``
        per puzzle, ``puzzles`` (per puzzle, the benchmark's figures), ``deep`` (per puzzle and
        algorithm: ``success`` per budget, ``interactions_to_match``), ``speed``, ``alphazero``,
        ``targets`` (each target and whether it was met), ``settings``, ``machine``,
        ``stage_seconds`` and ``stages_computed`` (the stages run now rather than read back from
        ``OUT/stages``). Each entry of ``puzzles`` and ``deep``, and ``speed`` and ``alphazero``,
        holds its labels under ``rules`` and ``data`` (see the module docstring).
    """
    from hybrid.planning.plan import machine_info

    cfg = settings if settings is not None else _settings(quick)
    if deep_multipliers is not None:
        if not deep_multipliers or any(isinstance(m, bool) or not isinstance(m, int) or m < 1
                                       for m in deep_multipliers):
            raise ValueError(f"deep_multipliers must be ints >= 1, got {deep_multipliers!r}")
        cfg = {**cfg, "deep": {**cfg["deep"], "multipliers": list(deep_multipliers)}}
    algos = tuple(DEEP_ALGOS if deep_algos is None else deep_algos)
    if not algos or any(a not in DEEP_ALGOS for a in algos):
        raise ValueError(f"deep_algos must be a non-empty subset of {DEEP_ALGOS}, got {deep_algos!r}")
    if not alphazero:
        cfg = {**cfg, "alphazero": None}
    out = Path(out)
    stages = StageStore(out / "stages")
    cache = str(cache_dir) if cache_dir is not None else str(out / "perception_cache")
    timings: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], dict[str, Any]], key: Any) -> dict[str, Any]:
        t0 = time.perf_counter()
        result = stages.run(name, fn, {"seed": seed, **key})
        timings[name] = round(time.perf_counter() - t0, 3)
        return result

    sp = cfg["speed"]
    speed = timed("speed", lambda: speed_stage(list(sp["games"]), int(sp["num_simulations"]), int(sp["repeats"]),
                                                seed), sp)
    for g, row in speed["games"].items():
        peer = row["openspiel_sims_per_s"]
        log(f"speed {g}: ours {row['sims_per_s']:.0f} sims/s" + (
            f", OpenSpiel {peer:.0f} sims/s, ratio {row['ratio']:.2f}" if peer else f" ({speed['note']})"))

    puzzles: dict[str, dict[str, Any]] = {}
    for name in PUZZLES:
        if name not in cfg["puzzles"]:
            continue
        params = dict(cfg["puzzles"][name])
        puzzles[name] = timed(f"puzzle_{name}", lambda name=name, params=params: puzzle_stage(
            name, params, seed, device, progress, cfg.get("perception_kwargs"), cache),
            {**params, "perception_kwargs": cfg.get("perception_kwargs")})
        r = puzzles[name]
        log(f"{name}: solved {r['solved_rate']:.2%}, perception {pct(r.get('perception_accuracy'))}, "
            f"{r.get('interactions')} labelled frames ({puzzle_labels(r)})")

    deep_rows: dict[str, dict[str, Any]] = {}
    if deep:
        dcfg = cfg["deep"]
        for name in DEEP_PUZZLES:
            if name not in puzzles:
                continue
            hybrid_n = int(puzzles[name].get("interactions") or 1)
            target = float(puzzles[name]["solved_rate"])
            for algo in algos:
                rows = {}
                for budget in deep_budgets(hybrid_n, list(dcfg["multipliers"]), dcfg.get("max_budget")):
                    rows[budget] = timed(f"deep_{name}_{algo}_{budget}", lambda name=name, algo=algo, budget=budget:
                                         deep_stage(name, algo, budget, int(dcfg["eval_episodes"]), seed, device),
                                         {"eval_episodes": int(dcfg["eval_episodes"])})
                    log(f"{algo} on {name}, {budget} steps: success {rows[budget]['success_rate']:.2%} "
                        f"({rows[budget]['train_seconds']:.0f} s)")
                success = {b: r["success_rate"] for b, r in rows.items()}
                reach = interactions_to_match(success, target)
                largest = max(success)
                deep_rows.setdefault(name, {})[algo] = label_row({
                    "success": {str(b): s for b, s in success.items()},
                    "interactions": {str(b): r["interactions"] for b, r in rows.items()},
                    "multiple_of_hybrid": {str(b): b / hybrid_n for b in success},
                    "train_seconds": {str(b): r["train_seconds"] for b, r in rows.items()},
                    "eval_episodes": int(dcfg["eval_episodes"]),
                    "hybrid_interactions": hybrid_n,
                    "hybrid_solved_rate": target,
                    "interactions_to_match": reach,
                    "match_note": (f"matches the hybrid ({target:.2%}) at {reach} steps ({reach / hybrid_n:g}x its "
                                   "interactions)" if reach is not None else
                                   f"never within the largest budget tried ({largest} steps, "
                                   f"{largest / hybrid_n:g}x the hybrid's interactions)"),
                }, DEEP_LABELS)

    az: dict[str, Any] | None = None
    if cfg.get("alphazero"):
        az_key = hashlib.sha256(json.dumps({"seed": seed, **cfg["alphazero"]}, sort_keys=True).encode()).hexdigest()
        az = timed("alphazero", lambda: alphazero_stage(cfg["alphazero"], seed, device, progress,
                                                         out / "stages" / f"alphazero_checkpoint_{az_key[:12]}", log),
                   cfg["alphazero"])
        log(f"AlphaZero (Connect Four, {az['train_seconds']:.0f} s of training): wins {az['wins']}/{az['games']} "
            f"vs rollout MCTS at {az['simulations']} simulations")

    summary = _summary(cfg, quick, speed, puzzles, deep_rows, az, timings, machine_info())
    summary["stages_computed"] = list(stages.computed)
    (out / "summary.json").write_text(dumps_strict(summary, indent=2))
    write_table(out / "mcts.md", summary)
    try:
        write_figures(out, summary, DEEP_PUZZLES)
    except ImportError as err:  # pragma: no cover - matplotlib is a dependency
        log(f"figures skipped: {err}")
    return summary


def _summary(cfg, quick, speed, puzzles, deep_rows, az, timings, machine) -> dict[str, Any]:
    # labelled here, not in the stages, so that stages stored before the labels are labelled too
    speed = label_row(speed, SEARCH_LABELS)
    puzzles = {n: label_row(r, puzzle_labels(r)) for n, r in puzzles.items()}
    az = None if az is None else label_row(az, ALPHAZERO_LABELS)
    games = speed["games"]
    targets: dict[str, Any] = {}
    for g, row in games.items():
        if row["ratio"] is not None:
            targets[f"speed_{g}"] = {"target": f">= {TARGETS['speed_ratio']:g}x OpenSpiel", "value": row["ratio"],
                                     "met": row["ratio"] >= TARGETS["speed_ratio"]}
    for name, r in puzzles.items():
        targets[name] = {"target": f">= {TARGETS[name]:.0%} solved", "value": r["solved_rate"],
                         "met": r["solved_rate"] >= TARGETS[name]}
    if az is not None:
        targets["alphazero"] = {"target": f">= {TARGETS['alphazero_win_rate']:.0%} wins", "value": az["win_rate"],
                                "met": az["win_rate"] >= TARGETS["alphazero_win_rate"]}
    return {
        "settings": {"quick": quick, **cfg},
        "sims_per_s": {g: r["sims_per_s"] for g, r in games.items()},
        "openspiel_sims_per_s": {g: r["openspiel_sims_per_s"] for g, r in games.items()},
        "speed_ratio": {g: r["ratio"] for g, r in games.items()},
        "speed": speed,
        "solved_rate": {n: r["solved_rate"] for n, r in puzzles.items()},
        "perception_accuracy": {n: r.get("perception_accuracy") for n, r in puzzles.items()},
        "interactions": {n: r.get("interactions") for n, r in puzzles.items()},
        "median_seconds": {n: r.get("median_seconds") for n, r in puzzles.items()},
        "puzzles": puzzles,
        "deep": deep_rows,
        "alphazero": az,
        "targets": targets,
        "stage_seconds": timings,
        "machine": machine,
    }
