"""AlphaZero-style self-play training over a two-player :class:`~hybrid.tasks.envs.model.TransitionModel`, and matches.

The loop (Silver et al. 2018), read top to bottom in :func:`train_alphazero`:

1. **Self-play.** ``games_per_iteration`` games with PUCT (root Dirichlet noise) or Gumbel
   search over the model, the leaves evaluated by the current :class:`PolicyValueNet`.
   ``parallel_games`` of them run in lockstep so that one net call answers all their
   leaves (:mod:`hybrid.planning.selfplay`): on a CPU the net's cost is per call, so this
   is what makes self-play affordable. Moves are sampled from the visit counts for the
   first ``temperature_moves`` moves, then the most visited move is played; the subtree of
   the move played is kept and topped up to ``num_simulations`` root visits.
2. **Targets.** Every position gives ``(planes, pi, z)``: the encoded state seen by the
   player to move, the search policy, and the game's outcome for that player; they go to a
   replay buffer of ``buffer_size`` positions.
3. **Training.** ``train_steps`` minibatches of ``batch_size`` drawn uniformly from the
   buffer, each position under a random board symmetry (the left-right mirror where the
   model has it, see :func:`~hybrid.planning.selfplay.board_symmetries`), on AlphaZero's
   loss (:meth:`PolicyValueNet.train_step`).
4. **Evaluation** every ``eval_every`` iterations: a short match against the reference bot,
   plain UCT with random rollouts at the same simulation count (:class:`RolloutMCTSAgent`).

Each iteration ends with a checkpoint (weights, replay buffer and a JSON of progress) when
``checkpoint_dir`` is given, from which a later call resumes.

Run ``python -m hybrid.planning.alphazero --help`` to train on Connect Four and play the
benchmark match (:mod:`hybrid.planning.alphazero_cli`). The agents and matches are in
:mod:`hybrid.planning.matches`, self-play in :mod:`hybrid.planning.selfplay` and the lockstep
batching in :mod:`hybrid.planning.lockstep`; their names are re-exported here.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hybrid.neural.device import check_device_name
from hybrid.neural.planning.policy_value import PolicyValueNet, make_evaluator
from hybrid.planning.lockstep import CachedEvaluator
from hybrid.planning.matches import (  # the agents and matches
    Agent,
    AlphaZeroAgent,
    RolloutMCTSAgent,
    play_match,
)
from hybrid.planning.selfplay import (
    ReplayBuffer,
    Symmetry,
    board_symmetries,
    check_two_player,
    game_targets,
    play_selfplay_games,
)
from hybrid.symbolic.planning.mcts import MCTSConfig
from hybrid.tasks._checks import is_int, is_real
from hybrid.tasks.envs.grid_env import check_int

__all__ = [
    "AlphaZeroAgent",
    "AlphaZeroConfig",
    "AlphaZeroResult",
    "Agent",
    "IterationStats",
    "RolloutMCTSAgent",
    "build_net",
    "load_checkpoint",
    "play_match",
    "train_alphazero",
]

_STATE_FILE = "state.json"
_NET_FILE = "net.pt"
_BUFFER_FILE = "buffer.npz"


# ---------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class AlphaZeroConfig:
    """Hyper-parameters of :func:`train_alphazero` (defaults sized for Connect Four on one CPU core).

    Attributes:
        num_simulations: search simulations per self-play move (>= 1).
        selection: ``"puct"`` (AlphaZero) or ``"gumbel"`` (Gumbel MuZero: sequential halving at
            the root, the improved policy as target; no Dirichlet noise or temperature then).
        c_init, c_base: PUCT's exploration constants (AlphaZero: 1.25, 19652).
        dirichlet_alpha: concentration of the root noise (PUCT; None: no noise). AlphaZero
            scaled it as ~10 / legal moves: 1.0 suits Connect Four's 7 columns.
        dirichlet_fraction: weight of the noise in the root prior (0.25).
        max_num_considered_actions: Gumbel: actions sampled at the root.
        leaf_batch: leaves each search evaluates together with virtual loss (1: plain
            sequential search; batching across games comes from ``parallel_games``).
        reuse_tree: keep the subtree of the move played and top it up to ``num_simulations``.
        temperature_moves: self-play moves sampled from the visit counts at the start of a game.
        temperature: the sampling temperature of those moves (> 0).
        max_moves: a game longer than this is cut and scored a draw (None: no limit).
        games_per_iteration: self-play games between training phases (>= 1).
        parallel_games: self-play games run in lockstep, their leaves evaluated in one net call.
        buffer_size: positions kept in the replay buffer.
        batch_size: positions per training step.
        train_steps: training steps per iteration (scaled down for an iteration cut short).
        lr, weight_decay: Adam's learning rate and the L2 coefficient (AlphaZero: 1e-4).
        channels, blocks: the residual tower's width and depth.
        augment: train on random board symmetries of the positions (where the model has them).
        q_weight: value target ``(1 - q_weight) * z + q_weight * root_value`` (0: the outcome only).
        eval_every: evaluate against the reference bot every this many iterations (0: never).
        eval_games: games per evaluation (alternating the first player).
        eval_simulations: simulations of both sides in evaluations (None: ``num_simulations``).
        cache_size: net evaluations remembered per iteration, keyed by state (0: no cache).
        seed: seeds the net, the games and the minibatches.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` for the net.
    """

    num_simulations: int = 50
    selection: str = "puct"
    c_init: float = 1.25
    c_base: float = 19652.0
    dirichlet_alpha: float | None = 1.0
    dirichlet_fraction: float = 0.25
    max_num_considered_actions: int = 16
    leaf_batch: int = 1
    reuse_tree: bool = True
    temperature_moves: int = 10
    temperature: float = 1.0
    max_moves: int | None = None
    games_per_iteration: int = 192
    parallel_games: int = 96
    buffer_size: int = 50_000
    batch_size: int = 256
    train_steps: int = 120
    lr: float = 1e-3
    weight_decay: float = 1e-4
    channels: int = 32
    blocks: int = 3
    augment: bool = True
    q_weight: float = 0.0
    eval_every: int = 6
    eval_games: int = 10
    eval_simulations: int | None = None
    cache_size: int = 200_000
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name, least in (
            ("num_simulations", 1),
            ("max_num_considered_actions", 1),
            ("leaf_batch", 1),
            ("temperature_moves", 0),
            ("games_per_iteration", 1),
            ("parallel_games", 1),
            ("buffer_size", 1),
            ("batch_size", 1),
            ("train_steps", 0),
            ("channels", 1),
            ("blocks", 0),
            ("eval_every", 0),
            ("eval_games", 0),
            ("cache_size", 0),
        ):
            check_int(name, getattr(self, name), least)
        for name in ("max_moves", "eval_simulations"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 1)
        if self.selection not in ("puct", "gumbel"):
            raise ValueError(f"selection must be 'puct' or 'gumbel', got {self.selection!r}")
        for name in ("c_init", "c_base", "temperature", "lr"):
            v = getattr(self, name)
            if not is_real(v) or not v > 0:
                raise ValueError(f"{name} must be a number > 0, got {v!r}")
        if not is_real(self.weight_decay) or self.weight_decay < 0:
            raise ValueError(f"weight_decay must be a number >= 0, got {self.weight_decay!r}")
        if self.dirichlet_alpha is not None and (not is_real(self.dirichlet_alpha) or not self.dirichlet_alpha > 0):
            raise ValueError(f"dirichlet_alpha must be a number > 0 or None, got {self.dirichlet_alpha!r}")
        for name in ("dirichlet_fraction", "q_weight"):
            v = getattr(self, name)
            if not is_real(v) or not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be a number in [0, 1], got {v!r}")
        for name in ("reuse_tree", "augment"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if not is_int(self.seed):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        check_device_name(self.device)

    def mcts_config(self) -> MCTSConfig:
        """Return the self-play search's :class:`~hybrid.symbolic.planning.mcts.MCTSConfig` (root noise on)."""
        return MCTSConfig(
            num_simulations=self.num_simulations,
            selection=self.selection,
            batch_size=self.leaf_batch,
            c_init=float(self.c_init),
            c_base=float(self.c_base),
            dirichlet_alpha=None if self.selection != "puct" else self.dirichlet_alpha,
            dirichlet_fraction=float(self.dirichlet_fraction),
            max_num_considered_actions=self.max_num_considered_actions,
        )


@dataclass
class IterationStats:
    """What one training iteration did.

    Attributes:
        iteration: its index (0-based, counting resumed runs).
        games, positions, simulations: self-play games finished, positions they gave, and
            search simulations run, in this iteration.
        total_games, total_positions: the same, since the start of training.
        buffer: positions in the replay buffer after the iteration.
        first_player: ``[wins, draws, losses]`` of the player who moved first, this iteration.
        mean_length: mean game length in moves.
        cache_hit_rate: fraction of leaf evaluations answered by the cache.
        loss, policy_loss, value_loss: mean training losses of the iteration (NaN if no step).
        train_steps: optimiser steps this iteration.
        selfplay_seconds, train_seconds, eval_seconds: wall seconds of each phase.
        seconds: wall seconds since the start of training (resumed runs included).
        eval: the match against the reference bot (:func:`play_match`'s dict plus ``simulations``), or None.
    """

    iteration: int
    games: int
    positions: int
    simulations: int
    total_games: int
    total_positions: int
    buffer: int
    first_player: list[int]
    mean_length: float
    cache_hit_rate: float
    loss: float
    policy_loss: float
    value_loss: float
    train_steps: int
    selfplay_seconds: float
    train_seconds: float
    eval_seconds: float
    seconds: float
    eval: dict[str, Any] | None = None


@dataclass
class AlphaZeroResult:
    """What :func:`train_alphazero` returns.

    Attributes:
        net: the trained :class:`PolicyValueNet`.
        config: the configuration used.
        history: one :class:`IterationStats` per iteration (resumed iterations included).
        games, positions: self-play games and positions generated in all.
        seconds: wall seconds of training in all (resumed runs included).
        resumed_from: the iteration this call started at (0 for a fresh run).
        symmetries: names of the symmetries used for augmentation.
    """

    net: PolicyValueNet
    config: AlphaZeroConfig
    history: list[IterationStats] = field(default_factory=list)
    games: int = 0
    positions: int = 0
    seconds: float = 0.0
    resumed_from: int = 0
    symmetries: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- training


def build_net(model: Any, config: AlphaZeroConfig, initial_state: Any = None) -> PolicyValueNet:
    """Return a fresh :class:`PolicyValueNet` shaped for ``model.encode`` and sized by ``config``.

    Raises:
        ValueError: a model whose ``encode`` does not give ``[C, rows, cols]`` planes.
    """
    start = model.initial_state() if initial_state is None else initial_state
    shape = np.shape(model.encode(start))
    if len(shape) != 3:
        raise ValueError(f"model.encode must return planes [C, rows, cols], got shape {shape}")
    return PolicyValueNet(
        shape[0],
        shape[1],
        shape[2],
        int(model.num_actions),
        channels=config.channels,
        blocks=config.blocks,
        lr=config.lr,
        weight_decay=config.weight_decay,
        seed=config.seed,
        device=config.device,
    )


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def _save_checkpoint(
    directory: Path, net: PolicyValueNet, buffer: ReplayBuffer, config: AlphaZeroConfig, result: AlphaZeroResult
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (_NET_FILE + ".tmp")
    net.save(tmp)
    os.replace(tmp, directory / _NET_FILE)
    tmp = directory / "buffer.tmp.npz"
    buffer.save(tmp)
    os.replace(tmp, directory / _BUFFER_FILE)
    _write_json(
        directory / _STATE_FILE,
        {
            "format": "hybrid.alphazero/1",
            "config": asdict(config),
            "iteration": len(result.history),
            "games": result.games,
            "positions": result.positions,
            "seconds": result.seconds,
            "net_steps": net.steps_,
            "history": [asdict(h) for h in result.history],
        },
    )


def load_checkpoint(directory: str | Path, device: str = "cpu") -> tuple[PolicyValueNet, dict[str, Any]]:
    """Read the net and the JSON state that :func:`train_alphazero` wrote to ``directory``.

    Returns:
        ``(net, state)``: the net (weights loaded with ``weights_only=True``) and the JSON
        dict (``config``, ``iteration``, ``games``, ``positions``, ``seconds``, ``history``).

    Raises:
        ValueError: a directory without a checkpoint.
    """
    directory = Path(directory)
    if not (directory / _STATE_FILE).is_file() or not (directory / _NET_FILE).is_file():
        raise ValueError(f"directory {str(directory)!r} holds no AlphaZero checkpoint ({_STATE_FILE}, {_NET_FILE})")
    state = json.loads((directory / _STATE_FILE).read_text())
    return PolicyValueNet.load(directory / _NET_FILE, device=device), state


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def train_alphazero(
    model: Any,
    config: AlphaZeroConfig | None = None,
    max_seconds: float | None = None,
    max_iterations: int | None = None,
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    symmetries: Sequence[Symmetry] | None = None,
    initial_state: Any = None,
) -> AlphaZeroResult:
    """Train a policy/value net for ``model`` by AlphaZero's self-play loop (see the module docstring).

    Stops when ``max_seconds`` of wall time (counting resumed runs; the last iteration's
    self-play stops starting games early enough to leave time for its training) or
    ``max_iterations`` iterations in all are reached, whichever comes first.

    Args:
        model: a two-player :class:`~hybrid.tasks.envs.model.TransitionModel` with ``encode`` (and
            ``initial_state()`` unless ``initial_state`` is given).
        config: hyper-parameters (default :class:`AlphaZeroConfig()`).
        max_seconds: wall-clock budget in seconds (> 0), or None.
        max_iterations: iteration budget (>= 1), or None; at least one budget must be given.
        progress: show a tqdm bar.
        checkpoint_dir: a folder; after every iteration it receives ``net.pt`` (the net's
            weights), ``buffer.npz`` (the replay buffer) and ``state.json`` (config, history);
            if it already holds a checkpoint, training resumes from it (a fresh Adam state).
        log: called with one line of text per iteration (None: silent).
        symmetries: the augmentation symmetries (None: :func:`board_symmetries` of the model
            when ``config.augment``; ``[]`` for none).
        initial_state: where games start (default ``model.initial_state()``).

    Returns:
        An :class:`AlphaZeroResult`.

    Raises:
        ValueError: a bad argument, naming it; a checkpoint whose net or game differs from this one.
    """
    config = AlphaZeroConfig() if config is None else config
    if not isinstance(config, AlphaZeroConfig):
        raise ValueError(f"config must be an AlphaZeroConfig, got {type(config).__name__}")
    check_two_player(model)
    if max_seconds is None and max_iterations is None:
        raise ValueError("max_seconds or max_iterations must be given (both are None)")
    if max_seconds is not None and (not is_real(max_seconds) or not max_seconds > 0):
        raise ValueError(f"max_seconds must be a number > 0 or None, got {max_seconds!r}")
    if max_iterations is not None:
        max_iterations = check_int("max_iterations", max_iterations, 1)
    if log is not None and not callable(log):
        raise ValueError(f"log must be callable or None, got {type(log).__name__}")
    start = model.initial_state() if initial_state is None else initial_state
    if symmetries is None:
        symmetries = board_symmetries(model, initial_state=initial_state) if config.augment else []
    symmetries = list(symmetries)
    for s in symmetries:
        if not isinstance(s, Symmetry):
            raise ValueError(f"symmetries must hold Symmetry objects, got {type(s).__name__}")

    net = build_net(model, config, start)
    plane_shape = tuple(np.shape(model.encode(start)))
    buffer = ReplayBuffer(config.buffer_size, plane_shape, int(model.num_actions))
    result = AlphaZeroResult(net=net, config=config, symmetries=[s.name for s in symmetries])

    directory = None if checkpoint_dir is None else Path(checkpoint_dir)
    if directory is not None and (directory / _STATE_FILE).is_file():
        saved_net, state = load_checkpoint(directory, device="cpu")
        if saved_net.config["num_actions"] != net.config["num_actions"] or any(
            saved_net.config[k] != net.config[k] for k in ("in_channels", "rows", "cols", "channels", "blocks")
        ):
            raise ValueError(
                f"checkpoint_dir {str(directory)!r} holds a net {saved_net.config} that does not fit this model "
                f"and config {net.config}"
            )
        net.load_state_dict(saved_net.state_dict())
        net.steps_ = int(state.get("net_steps", 0))
        if (directory / _BUFFER_FILE).is_file():
            buffer.load(directory / _BUFFER_FILE)
        result.history = [IterationStats(**h) for h in state["history"]]
        result.games = int(state["games"])
        result.positions = int(state["positions"])
        result.seconds = float(state["seconds"])
        result.resumed_from = len(result.history)

    mcts_config = config.mcts_config()
    eval_sims = config.eval_simulations or config.num_simulations
    t0 = time.perf_counter()
    base_seconds = result.seconds
    reserve = 0.0  # seconds kept free for the last iteration's training and evaluation
    bar = None
    if progress:
        if max_seconds is not None:
            bar = tqdm(total=int(max_seconds), initial=int(min(base_seconds, max_seconds)), unit="s", desc="alphazero")
        else:
            bar = tqdm(total=max_iterations, initial=result.resumed_from, unit="iter", desc="alphazero")

    def elapsed() -> float:
        return base_seconds + time.perf_counter() - t0

    try:
        while True:
            it = len(result.history)
            if max_iterations is not None and it >= max_iterations:
                break
            if max_seconds is not None and elapsed() >= max_seconds:
                break
            deadline = None if max_seconds is None else t0 + (max_seconds - base_seconds) - reserve

            # 1. self-play
            ts = time.perf_counter()
            evaluate = make_evaluator(net, model)
            cache = CachedEvaluator(evaluate, config.cache_size) if config.cache_size else None
            records = play_selfplay_games(
                model,
                cache or evaluate,
                config.games_per_iteration,
                mcts_config,
                seed=config.seed,
                first_game=result.games,
                temperature_moves=config.temperature_moves,
                temperature=float(config.temperature),
                reuse=config.reuse_tree,
                parallel=config.parallel_games,
                initial_state=start,
                max_moves=config.max_moves,
                deadline=deadline,
            )
            selfplay_seconds = time.perf_counter() - ts
            if not records:
                break
            positions = 0
            first = [0, 0, 0]
            for rec in records:
                buffer.add(*game_targets(model, rec, config.q_weight))
                positions += len(rec.states)
                r = rec.returns[int(model.current_player(start))]
                first[0 if r > 0 else 1 if r == 0 else 2] += 1
            result.games += len(records)
            result.positions += positions

            # 2. training
            tt = time.perf_counter()
            steps = int(round(config.train_steps * len(records) / config.games_per_iteration))
            rng = np.random.default_rng([config.seed, it, 1])
            losses: dict[str, list[float]] = {"loss": [], "policy_loss": [], "value_loss": []}
            for _ in range(steps):
                planes, pi, z, masks = buffer.sample(config.batch_size, rng, symmetries)
                out = net.train_step(planes, pi, z, masks)
                for k in losses:
                    losses[k].append(out[k])
            train_seconds = time.perf_counter() - tt

            # 3. evaluation against the reference bot
            te = time.perf_counter()
            match = None
            if config.eval_every and config.eval_games and (it + 1) % config.eval_every == 0:
                if max_seconds is None or elapsed() < max_seconds:
                    match = play_match(
                        AlphaZeroAgent(net, model, eval_sims, selection=config.selection),
                        RolloutMCTSAgent(model, eval_sims),
                        model,
                        config.eval_games,
                        seed=config.seed + 1_000_003 * (it + 1),
                        parallel_games=min(config.parallel_games, config.eval_games),
                        initial_state=start,
                        max_moves=config.max_moves,
                    )
                    match["simulations"] = eval_sims
            eval_seconds = time.perf_counter() - te
            # next time, stop starting games early enough for the games in flight, training and evaluation
            rounds = math.ceil(len(records) / min(config.parallel_games, len(records)))
            reserve = selfplay_seconds / rounds + train_seconds + eval_seconds

            result.seconds = elapsed()
            hits = (cache.hits / max(1, cache.hits + cache.misses)) if cache is not None else 0.0
            stats = IterationStats(
                iteration=it,
                games=len(records),
                positions=positions,
                simulations=sum(r.simulations for r in records),
                total_games=result.games,
                total_positions=result.positions,
                buffer=len(buffer),
                first_player=first,
                mean_length=positions / len(records),
                cache_hit_rate=hits,
                loss=_mean(losses["loss"]),
                policy_loss=_mean(losses["policy_loss"]),
                value_loss=_mean(losses["value_loss"]),
                train_steps=steps,
                selfplay_seconds=selfplay_seconds,
                train_seconds=train_seconds,
                eval_seconds=eval_seconds,
                seconds=result.seconds,
                eval=match,
            )
            result.history.append(stats)
            if directory is not None:
                _save_checkpoint(directory, net, buffer, config, result)
            line = (
                f"iter {it}: games {result.games} positions {result.positions} "
                f"loss {stats.loss:.3f} (pi {stats.policy_loss:.3f}, v {stats.value_loss:.3f}) "
                f"selfplay {selfplay_seconds:.1f}s train {train_seconds:.1f}s t={result.seconds:.0f}s"
            )
            if match is not None:
                line += f" | vs UCT-{eval_sims}: {match['wins']}-{match['draws']}-{match['losses']}"
            if log is not None:
                log(line)
            if bar is not None:
                bar.set_postfix(games=result.games, loss=f"{stats.loss:.3f}")
                if max_seconds is not None:
                    bar.update(max(0, min(int(result.seconds), int(max_seconds)) - bar.n))
                else:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    result.seconds = max(result.seconds, elapsed()) if result.history else result.seconds
    return result


# ---------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train (resumably) and play the benchmark match: :func:`hybrid.planning.alphazero_cli.main`."""
    from hybrid.planning.alphazero_cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    main()
