"""OpenSpiel's Python MCTS as a peer: simulations per second and playing strength, side by side with ours.

The peer is ``open_spiel.python.algorithms.mcts.MCTSBot`` with
``RandomRolloutEvaluator(n_rollouts=1)`` (UCT with one random rollout per leaf, its solver on,
as in OpenSpiel's defaults); ours is :func:`hybrid.symbolic.planning.mcts.search` with UCT and a
:class:`~hybrid.symbolic.planning.mcts.RolloutEvaluator` over the bitboard models of
:mod:`hybrid.tasks.envs`. Both use the same exploration constant (``Q + c sqrt(ln N / n)`` over
returns in [-1, 1]; ``c = 2`` is OpenSpiel's example default) and the same simulation count,
from the same positions (given as action sequences: OpenSpiel's tic-tac-toe actions are cells
``3 r + c`` and its Connect Four actions are columns, as in our models).

Timing is done in one process pinned to one core, alternating peer and ours repeat by repeat,
so that both see the same machine load; medians over repeats are reported.

Run ``python -m hybrid.planning.openspiel_peer --help`` for the command-line table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from hybrid.planning.envs import PLANNING_ENVS
from hybrid.symbolic.planning.mcts import MCTSConfig, RolloutEvaluator, reuse_tree, search
from hybrid.tasks._checks import check_int

GAMES: dict[str, Callable[[], Any]] = {row.game: row.model for row in PLANNING_ENVS if row.game is not None}
"""OpenSpiel game name -> a zero-argument factory of our :class:`~hybrid.tasks.envs.model.TransitionModel`
(the two-player rows of :data:`hybrid.planning.envs.PLANNING_ENVS`)."""

DEFAULT_POSITIONS: dict[str, tuple[tuple[int, ...], ...]] = {
    "tic_tac_toe": ((), (4, 0)),
    "connect_four": ((), (3, 3, 2, 4)),
}
"""Positions (action sequences from the start) that :func:`side_by_side` measures by default."""


def openspiel_available() -> bool:
    """Return True when ``pyspiel`` and OpenSpiel's Python MCTS can be imported."""
    try:
        import pyspiel  # noqa: F401
        from open_spiel.python.algorithms import mcts  # noqa: F401
    except ImportError:
        return False
    return True


def _check_game(game_name: str) -> None:
    if game_name not in GAMES:
        raise ValueError(f"game_name must be one of {sorted(GAMES)}, got {game_name!r}")


def _pyspiel():
    try:
        import pyspiel
        from open_spiel.python.algorithms import mcts
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError("OpenSpiel is not installed: pip install 'hybrid-toolkit[peers]' (open_spiel)") from err
    return pyspiel, mcts


def positions_for(game_name: str, moves: Sequence[int]) -> tuple[Any, Any]:
    """Return ``(our_state, openspiel_state)`` after playing ``moves`` from the start of ``game_name``.

    Raises:
        ValueError: unknown game, or a move that is illegal or follows the end of the game.
    """
    _check_game(game_name)
    pyspiel, _ = _pyspiel()
    model = GAMES[game_name]()
    ours = model.initial_state()
    theirs = pyspiel.load_game(game_name).new_initial_state()
    for a in moves:
        a = int(a)
        if model.is_terminal(ours) or a not in model.legal_action_ids(ours):
            raise ValueError(f"moves: {a} is illegal after {list(moves)[: len(theirs.history())]}")
        ours = model.step(ours, a).state
        theirs.apply_action(a)
    return ours, theirs


def make_openspiel_bot(game_name: str, num_simulations: int, uct_c: float = 2.0, seed: int = 0, solve: bool = True):
    """Return OpenSpiel's ``MCTSBot`` with ``RandomRolloutEvaluator(n_rollouts=1)`` for ``game_name``.

    Args:
        game_name: ``"tic_tac_toe"`` or ``"connect_four"``.
        num_simulations: ``max_simulations`` of the bot.
        uct_c: UCT exploration constant.
        seed: seeds the bot's and the evaluator's ``numpy.random.RandomState``.
        solve: OpenSpiel's MCTS-Solver switch (its default, True).

    Returns:
        An ``open_spiel.python.algorithms.mcts.MCTSBot``.
    """
    _check_game(game_name)
    num_simulations = check_int("num_simulations", num_simulations, 1)
    pyspiel, mcts = _pyspiel()
    game = pyspiel.load_game(game_name)
    evaluator = mcts.RandomRolloutEvaluator(n_rollouts=1, random_state=np.random.RandomState(seed))
    return mcts.MCTSBot(
        game, float(uct_c), num_simulations, evaluator, solve=solve, random_state=np.random.RandomState(seed + 1)
    )


def openspiel_sims_per_second(
    game_name: str,
    num_simulations: int,
    moves: Sequence[int] = (),
    uct_c: float = 2.0,
    seed: int = 0,
    solve: bool = True,
) -> float:
    """Return the simulations per second of one OpenSpiel ``MCTSBot`` search from a position.

    Args:
        game_name: ``"tic_tac_toe"`` or ``"connect_four"``.
        num_simulations: simulations of the search (it stops earlier if its solver proves the root).
        moves: the position, as actions from the start.
        uct_c: UCT exploration constant.
        seed: random seed of the bot.
        solve: OpenSpiel's MCTS-Solver switch.

    Returns:
        Simulations run (the root's visit count) divided by wall seconds.
    """
    bot = make_openspiel_bot(game_name, num_simulations, uct_c, seed, solve)
    _, state = positions_for(game_name, moves)
    t0 = time.perf_counter()
    root = bot.mcts_search(state)
    return root.explore_count / (time.perf_counter() - t0)


def ours_sims_per_second(
    game_name: str,
    num_simulations: int,
    moves: Sequence[int] = (),
    uct_c: float = 2.0,
    seed: int = 0,
    batch_size: int = 1,
) -> float:
    """Return the simulations per second of one of our UCT searches with random rollouts.

    Args: as :func:`openspiel_sims_per_second`, plus ``batch_size`` (leaves per batch).

    Returns:
        ``num_simulations`` divided by wall seconds.
    """
    _check_game(game_name)
    num_simulations = check_int("num_simulations", num_simulations, 1)
    model = GAMES[game_name]()
    state, _ = positions_for(game_name, moves)
    rng = np.random.default_rng(seed)
    evaluator = RolloutEvaluator(model, np.random.default_rng(seed + 1))
    config = MCTSConfig(num_simulations=num_simulations, selection="uct", uct_c=float(uct_c), batch_size=batch_size)
    t0 = time.perf_counter()
    search(model, state, evaluator, rng, config)
    return num_simulations / (time.perf_counter() - t0)


@contextmanager
def one_core() -> Iterator[int | None]:
    """Pin this process to one CPU for the duration (Linux), then restore the affinity.

    Yields:
        The CPU used, or None where affinity cannot be set.
    """
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    before = os.sched_getaffinity(0)
    cpu = min(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, before)


@dataclass(frozen=True)
class SpeedRow:
    """One side-by-side measurement.

    Attributes:
        game: OpenSpiel game name.
        moves: the position, as actions from the start.
        num_simulations: simulations per search.
        ours: median simulations per second of ours over the repeats.
        openspiel: median simulations per second of OpenSpiel's MCTSBot.
        ratio: ``ours / openspiel`` (medians).
        ours_best: the best (least disturbed) rate of ours over the repeats.
        openspiel_best: the best rate of OpenSpiel's MCTSBot.
        ratio_best: ``ours_best / openspiel_best``.
        repeats: searches timed per side.
    """

    game: str
    moves: tuple[int, ...]
    num_simulations: int
    ours: float
    openspiel: float
    ratio: float
    ours_best: float
    openspiel_best: float
    ratio_best: float
    repeats: int


def side_by_side(
    games: Sequence[str] = ("tic_tac_toe", "connect_four"),
    num_simulations: int = 1000,
    positions: dict[str, Sequence[Sequence[int]]] | None = None,
    repeats: int = 5,
    uct_c: float = 2.0,
    seed: int = 0,
    batch_size: int = 1,
    solve: bool = True,
    pin_one_core: bool = True,
) -> list[SpeedRow]:
    """Time ours and OpenSpiel's MCTSBot on the same positions and simulation counts, interleaved.

    For each game and position, runs ``repeats`` searches per side, alternating which side
    goes first, each with its own seed, and reports the medians and the best rates (on a
    shared machine the best is the least disturbed run).

    Args:
        games: OpenSpiel game names (keys of :data:`GAMES`).
        num_simulations: simulations per search.
        positions: per game, the positions as action sequences (default :data:`DEFAULT_POSITIONS`).
        repeats: searches per side and position (>= 1).
        uct_c: UCT exploration constant of both.
        seed: base random seed.
        batch_size: our leaves per evaluation batch (1: plain sequential UCT).
        solve: OpenSpiel's MCTS-Solver switch (its default, True).
        pin_one_core: run pinned to one CPU (see :func:`one_core`).

    Returns:
        One :class:`SpeedRow` per game and position.
    """
    num_simulations = check_int("num_simulations", num_simulations, 1)
    repeats = check_int("repeats", repeats, 1)
    for g in games:
        _check_game(g)
    positions = DEFAULT_POSITIONS if positions is None else positions
    rows: list[SpeedRow] = []
    with one_core() if pin_one_core else _nothing():
        for g in games:
            for moves in positions.get(g, ((),)):
                ours: list[float] = []
                theirs: list[float] = []
                for r in range(repeats):
                    s = seed + 1000 * r
                    if r % 2 == 0:
                        theirs.append(openspiel_sims_per_second(g, num_simulations, moves, uct_c, s, solve))
                        ours.append(ours_sims_per_second(g, num_simulations, moves, uct_c, s, batch_size))
                    else:
                        ours.append(ours_sims_per_second(g, num_simulations, moves, uct_c, s, batch_size))
                        theirs.append(openspiel_sims_per_second(g, num_simulations, moves, uct_c, s, solve))
                mo, mt = statistics.median(ours), statistics.median(theirs)
                bo, bt = max(ours), max(theirs)
                key = tuple(int(a) for a in moves)
                rows.append(SpeedRow(g, key, num_simulations, mo, mt, mo / mt, bo, bt, bo / bt, repeats))
    return rows


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


@dataclass(frozen=True)
class MatchResult:
    """Ours against OpenSpiel's MCTSBot over a series of games.

    Attributes:
        game: OpenSpiel game name.
        num_simulations: simulations per move, both sides.
        wins, draws, losses: from our side.
        games: games played (half with ours moving first).
        score: ``(wins + draws / 2) / games``.
        ours_seconds_per_move, openspiel_seconds_per_move: mean thinking time per move.
    """

    game: str
    num_simulations: int
    wins: int
    draws: int
    losses: int
    games: int
    score: float
    ours_seconds_per_move: float
    openspiel_seconds_per_move: float


def play_match(
    game_name: str = "connect_four",
    num_games: int = 20,
    num_simulations: int = 1000,
    uct_c: float = 2.0,
    seed: int = 0,
    batch_size: int = 1,
    reuse: bool = True,
    solve: bool = True,
    progress: bool = False,
) -> MatchResult:
    """Play ours against OpenSpiel's MCTSBot, alternating who moves first, and count the results.

    Args:
        game_name: ``"tic_tac_toe"`` or ``"connect_four"``.
        num_games: games to play (>= 1); ours moves first in games 0, 2, 4, ...
        num_simulations: simulations per move for both sides.
        uct_c: UCT exploration constant of both.
        seed: base random seed (game ``i`` uses ``seed + i``).
        batch_size: our leaves per evaluation batch.
        reuse: keep our subtree between moves (OpenSpiel's bot searches afresh every move).
        solve: OpenSpiel's MCTS-Solver switch (its default, True; ours has no solver).
        progress: show a tqdm bar over the games.

    Returns:
        A :class:`MatchResult`.
    """
    _check_game(game_name)
    num_games = check_int("num_games", num_games, 1)
    num_simulations = check_int("num_simulations", num_simulations, 1)
    pyspiel, _ = _pyspiel()
    model = GAMES[game_name]()
    config = MCTSConfig(num_simulations=num_simulations, selection="uct", uct_c=float(uct_c), batch_size=batch_size)
    wins = draws = losses = 0
    ours_time = theirs_time = 0.0
    ours_moves = theirs_moves = 0
    for i in tqdm(range(num_games), desc=f"{game_name} vs OpenSpiel", disable=not progress):
        our_player = i % 2
        bot = make_openspiel_bot(game_name, num_simulations, uct_c, seed + 7919 * i, solve)
        rng = np.random.default_rng(seed + i)
        evaluator = RolloutEvaluator(model, np.random.default_rng([seed, i]))
        state = model.initial_state()
        spiel_state = pyspiel.load_game(game_name).new_initial_state()
        tree = None
        while not spiel_state.is_terminal():
            if model.current_player(state) == our_player:
                t0 = time.perf_counter()
                result = search(model, state, evaluator, rng, config, tree=tree)
                ours_time += time.perf_counter() - t0
                ours_moves += 1
                action = result.action
                tree = result.tree
            else:
                t0 = time.perf_counter()
                action = int(bot.step(spiel_state))
                theirs_time += time.perf_counter() - t0
                theirs_moves += 1
            if tree is not None:
                tree = reuse_tree(tree, action) if reuse else None
            state = model.step(state, action).state
            spiel_state.apply_action(action)
        if not model.is_terminal(state):  # pragma: no cover - the two rule sets disagree
            raise RuntimeError("OpenSpiel ended the game but our model did not")
        ret = spiel_state.returns()[our_player]
        wins += ret > 0
        losses += ret < 0
        draws += ret == 0
    return MatchResult(
        game=game_name,
        num_simulations=num_simulations,
        wins=wins,
        draws=draws,
        losses=losses,
        games=num_games,
        score=(wins + draws / 2) / num_games,
        ours_seconds_per_move=ours_time / max(ours_moves, 1),
        openspiel_seconds_per_move=theirs_time / max(theirs_moves, 1),
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: print the side-by-side speed table (and, with ``--games N``, a match)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--simulations", type=int, nargs="+", default=[1000])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--uct-c", type=float, default=2.0)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--no-solve", action="store_true", help="turn OpenSpiel's MCTS-Solver off")
    p.add_argument("--games", type=int, default=0, help="also play this many Connect Four games")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    for n in args.simulations:
        for row in side_by_side(
            num_simulations=n,
            repeats=args.repeats,
            uct_c=args.uct_c,
            seed=args.seed,
            batch_size=args.batch_size,
            solve=not args.no_solve,
        ):
            print(
                f"{row.game:13s} moves={list(row.moves)!s:14s} sims={row.num_simulations:6d}  median: ours "
                f"{row.ours:7.0f}/s openspiel {row.openspiel:6.0f}/s ratio {row.ratio:5.2f}  best: ours "
                f"{row.ours_best:7.0f}/s openspiel {row.openspiel_best:6.0f}/s ratio {row.ratio_best:5.2f}"
            )
    if args.games:
        m = play_match(
            "connect_four",
            args.games,
            args.simulations[0],
            args.uct_c,
            args.seed,
            args.batch_size,
            solve=not args.no_solve,
            progress=True,
        )
        print(
            f"connect_four match, {m.games} games at {m.num_simulations} sims: ours {m.wins} wins, {m.draws} draws, "
            f"{m.losses} losses (score {m.score:.3f}); s/move ours {m.ours_seconds_per_move:.3f} "
            f"openspiel {m.openspiel_seconds_per_move:.3f}"
        )


if __name__ == "__main__":
    main()
