"""``python -m hybrid.planning.alphazero``: train AlphaZero on a two-player game, then play the benchmark match.

The command line of :mod:`hybrid.planning.alphazero` (which runs :func:`main` when run as a
module, and re-exports it): every field of
:class:`~hybrid.planning.alphazero.AlphaZeroConfig` is a flag; the game is picked by its
short name from the two-player rows of :data:`hybrid.planning.envs.PLANNING_ENVS`.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from hybrid.evaluate.stages import dumps_strict
from hybrid.planning import alphazero
from hybrid.planning.alphazero import AlphaZeroConfig, load_checkpoint, train_alphazero
from hybrid.planning.envs import PLANNING_ENVS, game_env
from hybrid.planning.matches import AlphaZeroAgent, RolloutMCTSAgent, play_match

__all__ = ["main"]


def _game(name: str) -> Any:
    """The rules of a two-player game by its short name (its row of :data:`hybrid.planning.envs.PLANNING_ENVS`)."""
    return game_env(name).model()


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train (resumably) and play the benchmark match; print and return a JSON summary.

    Example (the issue's benchmark: 30 minutes on one CPU core, then 100 games at 100 simulations)::

        OMP_NUM_THREADS=1 python -m hybrid.planning.alphazero --seconds 1800 --checkpoint-dir /tmp/az_c4 \\
            --match-games 100 --match-simulations 100
    """
    defaults = AlphaZeroConfig()
    p = argparse.ArgumentParser(description=alphazero.__doc__.splitlines()[0])
    p.add_argument("--game", default="connect_four", choices=[r.game for r in PLANNING_ENVS if r.game is not None])
    p.add_argument("--seconds", type=float, default=1800.0, help="training budget (0: only play the match)")
    p.add_argument("--checkpoint-dir", default=None, help="save / resume here (net.pt, buffer.npz, state.json)")
    p.add_argument("--match-games", type=int, default=100)
    p.add_argument("--match-simulations", type=int, default=100)
    p.add_argument("--match-parallel", type=int, default=50)
    p.add_argument("--match-seed", type=int, default=12345)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--json", default=None, help="also write the summary here")
    p.add_argument("--no-progress", action="store_true")
    for f in dataclasses.fields(AlphaZeroConfig):
        if f.name in ("device",) or isinstance(getattr(defaults, f.name), bool):
            continue
        kind = type(getattr(defaults, f.name))
        if getattr(defaults, f.name) is None:
            kind = int if f.name in ("max_moves", "eval_simulations") else float
        p.add_argument("--" + f.name.replace("_", "-"), type=kind, default=getattr(defaults, f.name))
    p.add_argument("--no-reuse-tree", action="store_true")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(AlphaZeroConfig) if hasattr(args, f.name)}
    values["reuse_tree"] = not args.no_reuse_tree
    values["augment"] = not args.no_augment
    config = AlphaZeroConfig(**values)
    model = _game(args.game)
    summary: dict[str, Any] = {"game": args.game, "config": asdict(config), "torch_threads": args.threads}
    if args.seconds > 0:
        result = train_alphazero(
            model,
            config,
            max_seconds=args.seconds,
            progress=not args.no_progress,
            checkpoint_dir=args.checkpoint_dir,
            log=tqdm.write,
        )
        net = result.net
        summary.update(
            iterations=len(result.history),
            games=result.games,
            positions=result.positions,
            train_seconds=result.seconds,
            symmetries=result.symmetries,
            evals=[{"iteration": h.iteration, "seconds": h.seconds, **h.eval} for h in result.history if h.eval],
        )
    elif args.checkpoint_dir:
        net, state = load_checkpoint(args.checkpoint_dir)
        summary.update(games=state["games"], positions=state["positions"], train_seconds=state["seconds"])
    else:
        raise SystemExit("--seconds 0 needs --checkpoint-dir to load a trained net from")
    if args.match_games > 0:
        t = time.perf_counter()
        match = play_match(
            AlphaZeroAgent(net, model, args.match_simulations, selection=config.selection),
            RolloutMCTSAgent(model, args.match_simulations),
            model,
            args.match_games,
            seed=args.match_seed,
            parallel_games=args.match_parallel,
        )
        summary["match"] = {**match, "simulations": args.match_simulations, "seconds": time.perf_counter() - t}
    text = dumps_strict(summary, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return summary


if __name__ == "__main__":
    main()
