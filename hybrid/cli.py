"""The ``hybrid`` command: list, compare, report, reproduce, plan.

Bad input prints one line, ``hybrid: error: ...``, and exits with status 2. A command in
which every run failed exits with 1. Ctrl-C (SIGINT) and ``kill`` (SIGTERM) stop a long
command cleanly (its workers too), print how to resume, and exit with 130 and 143.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

from hybrid.evaluate.signals import exit_status, terminate_as_interrupt


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage dump
        raise _UsageError(message)


def _positive_ints(name: str):
    def parse(text: str) -> list[int]:
        try:
            values = [int(s) for s in text.split(",") if s.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be comma-separated integers, got {text!r}") from None
        if not values or any(n <= 0 for n in values):
            raise argparse.ArgumentTypeError(f"{name} must be positive integers, got {text!r}")
        return values

    return parse


def _non_negative(name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"{name} must be >= 0, got {value}")
        return value

    return parse


def _seconds(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number of seconds, got {text!r}") from None
        if not math.isfinite(value) or value <= 0:  # NaN would compare False everywhere and disable the limit
            raise argparse.ArgumentTypeError(f"{name} must be a finite number of seconds > 0, got {text!r}")
        return value

    return parse


def _floats(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def _positive(name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{name} must be positive, got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``hybrid`` command."""
    parser = _Parser(prog="hybrid", description="Neuro-symbolic models measured against deep baselines.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="tasks and the methods that apply to each")

    cmp = sub.add_parser("compare", help="run the grid task x method x n_train x seed and write a report")
    cmp.add_argument("--task", action="append", dest="tasks", metavar="T", help="task name (repeatable)")
    cmp.add_argument("--methods", help="comma-separated method names (default: all for the task)")
    cmp.add_argument("--sizes", type=_positive_ints("--sizes"), default=None,
                     help="training-set sizes, e.g. 10,100,1000")
    cmp.add_argument("--seeds", type=_positive("--seeds"), default=None,
                     help="number of seeds (default 3; with --quick, the task's quick count)")
    cmp.add_argument("--device", default="cpu", help="auto | cpu | cuda (default cpu)")
    cmp.add_argument("--backend", default="local", choices=("local", "ray"))
    cmp.add_argument("--ray-address", default=None, help="Ray cluster address (default: start a local Ray)")
    cmp.add_argument("--jobs", type=_positive("--jobs"), default=None, help="parallel runs (default: CPU count)")
    cmp.add_argument("--out", default="results", help="output folder (default: results)")
    cmp.add_argument("--quick", action="store_true", help="every task at its small quick sizes")
    cmp.add_argument("--no-energy", action="store_true", help="skip CodeCarbon energy measurement")
    cmp.add_argument("--no-progress", action="store_true", help="no progress bar")

    repro = sub.add_parser("reproduce", help="regenerate a paper's table")
    papers = repro.add_subparsers(dest="paper", required=True, parser_class=_Parser)
    aif = papers.add_parser("ai-feynman", help="the Feynman benchmark (FSReD, 100 equations), peers side by side")
    aif.add_argument("--set", dest="equation_set", default="fsred", choices=("fsred", "hard", "generated"),
                     help="equations: FSReD's 100 (default), the hard set of 52 published formulas beyond them, "
                          "or generated physics-like formula trees")
    aif.add_argument("--ids", default=None, help="comma-separated equation ids (default: the whole set)")
    aif.add_argument("--budget-s", type=_seconds("--budget-s"), default=300.0,
                     help="seconds per equation and system (default 300)")
    aif.add_argument("--noise", type=_floats, default=[0.0, 1e-2], help="noise levels, e.g. 0,1e-3,1e-2")
    aif.add_argument("--peers", default="", help="peer systems side by side: gplearn,operon")
    aif.add_argument("--samples", type=_positive("--samples"), default=1000, help="samples per equation (1000)")
    aif.add_argument("--no-mlp", action="store_true", help="skip the MLP baseline")
    aif.add_argument("--seed", type=_non_negative("--seed"), default=0, help="first data seed (default 0)")
    aif.add_argument("--seeds", type=_positive("--seeds"), default=1,
                     help="data seeds, from --seed on (default 1; SRBench uses at least 5)")
    aif.add_argument("--no-units", action="store_true", help="give the systems no SI units")
    aif.add_argument("--depths", type=_positive_ints("--depths"), default=[1, 2, 3, 4],
                     help="--set generated: tree depths (default 1,2,3,4)")
    aif.add_argument("--count", type=_positive("--count"), default=10,
                     help="--set generated: formulas per depth (default 10)")
    aif.add_argument("--jobs", type=_positive("--jobs"), default=None, help="parallel runs (default: CPU count)")
    aif.add_argument("--device", default="cpu", help="auto | cpu | cuda: where the oracle and MLP train")
    aif.add_argument("--out", default="results/ai-feynman", help="output folder (default results/ai-feynman)")
    aif.add_argument("--no-progress", action="store_true", help="no progress bar")

    nsvqa = papers.add_parser("ns-vqa", help="NS-VQA on CLEVR-style scenes, end-to-end baselines side by side")
    nsvqa.add_argument("--quick", action="store_true", help="small settings: minutes on 2 CPU cores")
    nsvqa.add_argument("--no-deep", action="store_true", help="skip the end-to-end baselines")
    nsvqa.add_argument("--no-hybrid", action="store_true",
                       help="only the baselines' stages (to split the work over two processes)")
    nsvqa.add_argument("--seed", type=_non_negative("--seed"), default=0, help="data and model seed (default 0)")
    nsvqa.add_argument("--device", default="cpu", help="auto | cpu | cuda: where the networks train")
    nsvqa.add_argument("--renderer", default="numpy", choices=("numpy", "blender"),
                       help="pictures: this package's numpy renderer (default) or Blender with CLEVR's assets "
                            "(needs the 'render' extra; renders cached in OUT/renders)")
    nsvqa.add_argument("--render-samples", type=_positive("--render-samples"), default=16,
                       help="Cycles samples per pixel with --renderer blender (default 16, denoised)")
    nsvqa.add_argument("--render-device", default="cpu", choices=("cpu", "cuda", "optix"),
                       help="where Cycles renders (default cpu)")
    nsvqa.add_argument("--no-cogent", action="store_true", help="skip the CoGenT stage (train A, test A and B)")
    nsvqa.add_argument("--training-seeds", type=_positive("--training-seeds"), default=1,
                       help="also train the 270-program pipeline with training seeds 0..N-1 on the same data: "
                            "the seed table (mean, worst seed, worst template)")
    nsvqa.add_argument("--out", default="results/ns-vqa", help="output folder (default results/ns-vqa)")
    nsvqa.add_argument("--no-progress", action="store_true", help="no progress bars")

    mcts = papers.add_parser("mcts", help="MCTS vs OpenSpiel, puzzles from pixels, PPO/DQN, AlphaZero (planning)")
    mcts.add_argument("--quick", action="store_true", help="small settings: under 10 minutes on 2 CPU cores")
    mcts.add_argument("--no-deep", action="store_true", help="skip the PPO/DQN baselines")
    mcts.add_argument("--no-alphazero", action="store_true", help="skip AlphaZero's self-play training")
    mcts.add_argument("--deep-multipliers", type=_positive_ints("--deep-multipliers"), default=None,
                      help="the deep baselines' budgets as multiples of the hybrid's interactions, comma-separated "
                           "(default 10,100; --quick 1,10); stored budgets are read back")
    mcts.add_argument("--deep-algos", default=None, help="comma-separated subset of ppo,dqn (default both)")
    mcts.add_argument("--seed", type=_non_negative("--seed"), default=0, help="seed of every stage (default 0)")
    mcts.add_argument("--device", default="cpu", help="auto | cpu | cuda: where the networks train")
    mcts.add_argument("--out", default="results/mcts", help="output folder (default results/mcts)")
    mcts.add_argument("--no-progress", action="store_true", help="no progress bars")

    lat = papers.add_parser("latplan", help="plans from pixels with rules learned from unlabelled transitions "
                                            "(Latplan's protocol), rules given and PPO side by side")
    lat.add_argument("--quick", action="store_true", help="small settings: two domains, minutes on 2 CPU cores")
    lat.add_argument("--domains", default=None,
                     help="comma-separated subset of 8-puzzle,lights-out,twisted-lights-out,blocksworld")
    lat.add_argument("--no-ppo", action="store_true", help="skip the PPO baselines")
    lat.add_argument("--ppo-multipliers", type=_positive_ints("--ppo-multipliers"), default=None,
                     help="PPO's env steps as multiples of the learned model's transitions (default 1,10; --quick 1)")
    lat.add_argument("--seed", type=_non_negative("--seed"), default=0, help="seed of every stage (default 0)")
    lat.add_argument("--device", default="cpu", help="auto | cpu | cuda: where the networks train")
    lat.add_argument("--out", default="results/latplan", help="output folder (default results/latplan)")
    lat.add_argument("--no-progress", action="store_true", help="no progress bars")

    comp = papers.add_parser("compression", help="the deep baselines pruned, quantised, factorised, distilled: "
                                                 "measured against issue 17's targets (CPU)")
    comp.add_argument("--quick", action="store_true", help="small settings: seconds on 2 CPU cores")
    comp.add_argument("--seed", type=_non_negative("--seed"), default=0, help="first seed (default 0)")
    comp.add_argument("--seeds", type=_positive("--seeds"), default=1,
                      help="seeds from --seed on (default 1); tables give the mean and the worst")
    comp.add_argument("--out", default="results/compression", help="output folder (default results/compression)")
    comp.add_argument("--no-progress", action="store_true", help="no progress bar")

    ovw = papers.add_parser("overview", help="the argument across the three pillars: five figures, hybrid vs deep "
                                             "vs compressed (full: about 5 hours on 2 CPU cores)")
    ovw.add_argument("--quick", action="store_true",
                     help="the grid of 'hybrid compare --quick' (about 5 minutes on 2 CPU cores)")
    ovw.add_argument("--device", default="cpu", help="auto | cpu | cuda (default cpu); a second run with another "
                                                     "device into the same folder adds the CPU-beside-GPU figure")
    ovw.add_argument("--seeds", type=_positive("--seeds"), default=None,
                     help="seeds per configuration (default: 3; with --quick, the quick count)")
    ovw.add_argument("--jobs", type=_positive("--jobs"), default=None, help="parallel runs (default: CPU count)")
    ovw.add_argument("--reuse", action="append", default=[], metavar="DB",
                     help="a results.db of 'hybrid compare' whose runs this grid plans are copied, not rerun "
                          "(repeatable)")
    ovw.add_argument("--out", default="results/overview", help="output folder (default results/overview)")
    ovw.add_argument("--draw-only", action="store_true",
                     help="run nothing: draw from the runs the store already holds (the missing ones are counted)")
    ovw.add_argument("--no-energy", action="store_true", help="skip CodeCarbon energy measurement")
    ovw.add_argument("--no-progress", action="store_true", help="no progress bar")

    plan = sub.add_parser("plan", help="solve every level of a Sokoban level file, from symbols or from pixels")
    plan.add_argument("--env", default="hybrid/Sokoban-v0", help="the env whose levels these are (hybrid/Sokoban-v0)")
    plan.add_argument("--levels", required=True, help="level file in the standard text format (XSB or Boxoban)")
    plan.add_argument("--from-pixels", action="store_true",
                      help="read each level from its rendered frame with a perception net trained on generated levels")
    plan.add_argument("--time-limit-s", type=_seconds("--time-limit-s"), default=10.0,
                      help="seconds per level, perception included (10)")
    plan.add_argument("--out", default=None, help="folder for results.jsonl and summary.json (default: none)")
    plan.add_argument("--seed", type=_non_negative("--seed"), default=0,
                      help="seed of the perception's frames and training (default 0)")
    plan.add_argument("--device", default="cpu", help="auto | cpu | cuda: where the perception net runs")
    plan.add_argument("--perception-frames", type=_positive("--perception-frames"), default=500,
                      help="labelled frames of generated levels the perception trains on (default 500)")
    plan.add_argument("--cache-dir", default=None, help="perception cache (default ~/.cache/hybrid/perception)")
    plan.add_argument("--no-progress", action="store_true", help="no progress bars")

    rep = sub.add_parser("report", help="redraw the report from a results store alone")
    rep.add_argument("store", help="the results .db file")
    rep.add_argument("--out", default=None, help="output folder (default: the store's folder)")
    return parser


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ValueError(f"output folder {str(folder)!r} is not writable ({exc.strerror or exc})") from None


def _cmd_list() -> int:
    from hybrid.evaluate.registry import methods_for, tasks

    for name, entry in sorted(tasks().items()):
        print(f"{name}: {entry.description}")
        found = methods_for(name)
        width = max((len(m) for m in found), default=0)
        for mname, m in sorted(found.items(), key=lambda kv: (kv[1].family != "hybrid", kv[0])):
            print(f"    {mname:<{max(18, width)}} {m.family:<15} {m.description}")
    return 0


def _cmd_compare(args) -> int:
    from hybrid.evaluate.api import sweep_and_report
    from hybrid.evaluate.meter import resolve_device
    from hybrid.evaluate.registry import get_task
    from hybrid.evaluate.store import ResultStore
    from hybrid.evaluate.sweep import describe_quick, plan_grid, quick_grid

    if not args.quick and not args.tasks:
        raise ValueError("give --task T (see 'hybrid list') or --quick")
    for name in args.tasks or []:
        get_task(name)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    device = resolve_device(args.device)
    out = Path(args.out)
    if args.quick:
        configs = quick_grid(device, args.tasks, methods, args.sizes, args.seeds)
    else:
        configs = plan_grid(args.tasks, methods, args.sizes or [10, 100, 1000], args.seeds or 3, device)
    _check_writable(out)
    db_path = out / "results.db"
    with ResultStore(db_path) as store:
        try:
            records, outcome, files = sweep_and_report(
                configs, store, out, backend=args.backend, jobs=args.jobs or min(os.cpu_count() or 1, len(configs)),
                ray_address=args.ray_address, track_energy=not args.no_energy, progress=not args.no_progress,
                preface=describe_quick(configs) if args.quick else (),
            )
        except KeyboardInterrupt as exc:
            print(f"hybrid: interrupted; {store.count()} runs are stored in {db_path}; "
                  "rerun the same command to resume", file=sys.stderr)
            return exit_status(exc)
    print(f"{outcome.ran} runs now, {outcome.skipped} already stored, {outcome.failed} failed")
    _print_failures(records)
    print(f"report: {files.report}\nsummary: {files.summary}\nstore: {db_path}")
    if records and all(r.status != "ok" for r in records):
        print("hybrid: every run failed (reasons above and in the report)", file=sys.stderr)
        return 1
    return 0


def _print_failures(records, limit: int = 10) -> None:
    """One line per failed run, with the first line of its error, on stderr."""
    failed = [r for r in records if r.status != "ok"]
    for r in failed[:limit]:
        reason = r.error.splitlines()[0] if r.error else "(no message)"
        print(f"failed: {r.config.task} {r.config.method} n={r.config.n_train} seed={r.config.seed}: {reason}",
              file=sys.stderr)
    if len(failed) > limit:
        print(f"failed: ... and {len(failed) - limit} more (see the report)", file=sys.stderr)


def _cmd_reproduce_ns_vqa(args) -> int:
    from hybrid.evaluate.meter import resolve_device
    from hybrid.vqa.reproduce import reproduce_ns_vqa

    out = Path(args.out)
    _check_writable(out)
    if args.renderer == "blender":
        from hybrid.tasks.clevr.blender import MISSING_BPY, blender_available

        if not blender_available():
            print(f"hybrid: {MISSING_BPY}", file=sys.stderr)
            return 2
    try:
        summary = reproduce_ns_vqa(out, quick=args.quick, seed=args.seed, device=resolve_device(args.device),
                                   progress=not args.no_progress, deep=not args.no_deep, hybrid=not args.no_hybrid,
                                   renderer=args.renderer, render_samples=args.render_samples,
                                   render_device=args.render_device, training_seeds=args.training_seeds,
                                   cogent=not args.no_cogent)
    except KeyboardInterrupt as exc:
        print(f"hybrid: interrupted; finished stages are stored in {out / 'stages'}; "
              "rerun the same command to resume", file=sys.stderr)
        return exit_status(exc)
    if "accuracy" not in summary:
        return 0
    print(f"NS-VQA accuracy {summary['accuracy']:.4f} with {summary['hybrid']['programs']} programs")
    print(f"table: {out / 'ns_vqa.md'}\nsummary: {out / 'summary.json'}\nmodel: {out / 'model'}")
    return 0


def _cmd_reproduce_mcts(args) -> int:
    from hybrid.evaluate.meter import resolve_device
    from hybrid.planning.reproduce import reproduce_mcts

    out = Path(args.out)
    _check_writable(out)
    try:
        summary = reproduce_mcts(out, quick=args.quick, seed=args.seed, device=resolve_device(args.device),
                                 progress=not args.no_progress, deep=not args.no_deep,
                                 alphazero=not args.no_alphazero,
                                 deep_multipliers=args.deep_multipliers,
                                 deep_algos=None if args.deep_algos is None else args.deep_algos.split(","))
    except KeyboardInterrupt as exc:
        print(f"hybrid: interrupted; finished stages are stored in {out / 'stages'}; "
              "rerun the same command to resume", file=sys.stderr)
        return exit_status(exc)
    for name, t in summary["targets"].items():
        print(f"{name:14s} {t['target']:24s} {'met' if t['met'] else 'NOT met'} ({t['value']:.4g})")
    print(f"table: {out / 'mcts.md'}\nsummary: {out / 'summary.json'}")
    return 0


def _cmd_reproduce_latplan(args) -> int:
    from hybrid.evaluate.meter import resolve_device
    from hybrid.planning.latplan_reproduce import reproduce_latplan

    out = Path(args.out)
    _check_writable(out)
    try:
        summary = reproduce_latplan(out, quick=args.quick, seed=args.seed, device=resolve_device(args.device),
                                    progress=not args.no_progress, ppo=not args.no_ppo,
                                    ppo_multipliers=args.ppo_multipliers,
                                    domains=None if args.domains is None else args.domains.split(","))
    except KeyboardInterrupt as exc:
        print(f"hybrid: interrupted; finished stages are stored in {out / 'stages'}; "
              "rerun the same command to resume", file=sys.stderr)
        return exit_status(exc)
    for name, t in summary["targets"].items():
        print(f"{name:28s} {t['target']:8s} {'met' if t['met'] else 'NOT met'} ({t['value']:.0%})")
    print(f"table: {out / 'latplan.md'}\nsummary: {out / 'summary.json'}")
    return 0


def _cmd_reproduce_overview(args) -> int:
    from hybrid.evaluate.meter import resolve_device
    from hybrid.overview_reproduce import reproduce_overview

    out = Path(args.out)
    _check_writable(out)
    device = resolve_device(args.device)
    command = "hybrid reproduce overview" + (" --quick" if args.quick else "") + (
        f" --device {device}" if device != "cpu" else "") + (f" --seeds {args.seeds}" if args.seeds else "")
    try:
        summary = reproduce_overview(out, quick=args.quick, device=device, seeds=args.seeds, jobs=args.jobs,
                                     reuse=args.reuse, progress=not args.no_progress,
                                     track_energy=not args.no_energy, command=command, run=not args.draw_only)
    except KeyboardInterrupt as exc:
        print(f"hybrid: interrupted; finished runs are stored in {out / 'results.db'}; "
              "rerun the same command to resume", file=sys.stderr)
        return exit_status(exc)
    print(f"{summary['runs_ok']} of {summary['runs_planned']} runs finished ({summary['runs_now']} now, "
          f"{summary['runs_reused']} reused), {summary['runs_failed']} failed")
    print(f"overview: {out / 'overview.md'}\nsummary: {out / 'summary.json'}\ndetails: {out / 'details' / 'report.md'}")
    return 0 if summary["runs_ok"] else 1


def _cmd_reproduce_compression(args) -> int:
    from hybrid.compression_reproduce import reproduce_compression

    out = Path(args.out)
    _check_writable(out)
    command = "hybrid reproduce compression" + (" --quick" if args.quick else "") + (
        f" --seeds {args.seeds}" if args.seeds != 1 else "") + (f" --seed {args.seed}" if args.seed else "")
    try:
        summary = reproduce_compression(out, quick=args.quick, seeds=args.seeds, seed=args.seed,
                                        progress=not args.no_progress, command=command)
    except KeyboardInterrupt as exc:
        print(f"hybrid: interrupted; finished stages are stored in {out / 'stages'}; "
              "rerun the same command to resume", file=sys.stderr)
        return exit_status(exc)
    for t in summary["targets"]:
        print(f"{t['model']:15s} {t['compression']:28.28s} {'met' if t['met'] else 'NOT met'}: {t['measured']}")
    print(f"table: {out / 'compression.md'}\nsummary: {out / 'summary.json'}")
    return 0


def _cmd_plan(args) -> int:
    from hybrid.evaluate.meter import resolve_device
    from hybrid.planning.plan import PLAN_ENVS, plan_levels

    if args.env not in PLAN_ENVS:
        raise ValueError(f"--env {args.env!r} is not supported; hybrid plan solves level files of: "
                         f"{', '.join(PLAN_ENVS)}")
    levels = Path(args.levels)
    if not levels.exists():
        raise ValueError(f"--levels: no such file or folder: {str(levels)!r}")
    if args.out is not None:
        _check_writable(Path(args.out))
    try:
        summary = plan_levels(levels, from_pixels=args.from_pixels, time_limit_s=args.time_limit_s, out=args.out,
                              perception_frames=args.perception_frames, seed=args.seed, cache_dir=args.cache_dir,
                              progress=not args.no_progress, env_id=args.env, device=resolve_device(args.device))
    except KeyboardInterrupt as exc:
        where = f"; solved levels are stored in {Path(args.out) / 'results.jsonl'}" if args.out else ""
        print(f"hybrid: interrupted{where}; rerun the same command to resume", file=sys.stderr)
        return exit_status(exc)
    median = summary["median_seconds"]
    print(f"solved {summary['solved']}/{summary['total']} levels ({summary['solved_rate']:.2%}) "
          f"{'from pixels' if args.from_pixels else 'from symbols'}, median {median:.3f} s per level"
          + (f"; summary: {Path(args.out) / 'summary.json'}" if args.out else ""))
    return 0


def _cmd_reproduce(args) -> int:
    from hybrid.regression.reproduce import reproduce_ai_feynman

    if args.paper == "ns-vqa":
        return _cmd_reproduce_ns_vqa(args)
    if args.paper == "mcts":
        return _cmd_reproduce_mcts(args)
    if args.paper == "compression":
        return _cmd_reproduce_compression(args)
    if args.paper == "latplan":
        return _cmd_reproduce_latplan(args)
    if args.paper == "overview":
        return _cmd_reproduce_overview(args)

    out = Path(args.out)
    _check_writable(out)
    ids = None
    if args.ids is not None:
        ids = [i.strip() for i in args.ids.split(",") if i.strip()]
        if not ids:
            raise ValueError(f"--ids names no equation id ({args.ids!r}); give ids like I.6.2a,rel.doppler or leave "
                             "it out")
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    try:
        summary = reproduce_ai_feynman(
            ids, budget_s=args.budget_s, noise_levels=args.noise, peers=peers, mlp=not args.no_mlp,
            n_samples=args.samples, seed=args.seed, seeds=args.seeds, equation_set=args.equation_set,
            units=not args.no_units, depths=args.depths, count=args.count, out=out, jobs=args.jobs,
            device=args.device, progress=not args.no_progress,
        )
    except KeyboardInterrupt as exc:
        print(f"hybrid: interrupted; finished runs are stored in {out / 'results.db'}; "
              "rerun the same command to resume", file=sys.stderr)
        return exit_status(exc)
    from hybrid.regression.reproduce import all_failed

    for system, per_noise in summary.items():
        if system == "settings":
            continue
        for noise, row in per_noise.items():
            failed = f", {row['failed_runs']} runs failed" if row.get("failed_runs") else ""
            if "solved" in row:
                worst = f" (worst seed {row['solved_worst']})" if row.get("seeds", 1) > 1 else ""
                print(f"{system:12s} noise {noise:>6s}: {row['solved']:g}/{row['total']} exact{worst}, "
                      f"{row['solutions']:g} symbolic solutions, median {row['median_seconds_solved']} s on the "
                      f"solved{failed}")
            else:
                print(f"{system:12s} noise {noise:>6s}: median extrapolation R^2 {row['median_r2_extrap']}{failed}")
            for error, count in row.get("errors", {}).items():
                print(f"failed: {system} noise {noise}: {count} x {error}", file=sys.stderr)
    print(f"table: {out / 'ai_feynman.md'}\nsummary: {out / 'summary.json'}")
    if all_failed(summary):
        print("hybrid: every run failed (reasons above and in the table)", file=sys.stderr)
        return 1
    return 0


def _cmd_report(args) -> int:
    from hybrid.evaluate.report import write_report
    from hybrid.evaluate.store import ResultStore

    path = Path(args.store)
    if not path.is_file():
        raise ValueError(f"no results store at {str(path)!r}")
    out = Path(args.out) if args.out else path.parent
    _check_writable(out)
    with ResultStore(path, readonly=True) as store:
        records = store.records()
    if not records:
        raise ValueError(f"{path} holds no runs")
    files = write_report(records, out)
    print(f"report: {files.report}\nsummary: {files.summary}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hybrid`` command; returns the exit status."""
    from hybrid.evaluate.store import StoreError

    try:
        args = build_parser().parse_args(argv)
        with terminate_as_interrupt():
            if args.command == "list":
                return _cmd_list()
            if args.command == "compare":
                return _cmd_compare(args)
            if args.command == "reproduce":
                return _cmd_reproduce(args)
            if args.command == "plan":
                return _cmd_plan(args)
            return _cmd_report(args)
    except (_UsageError, ValueError, StoreError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"hybrid: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
