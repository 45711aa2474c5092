"""Two-player agents and matches: an agent guided by a policy/value net, the rollout-MCTS reference bot.

:func:`play_match` plays games between two agents (anything with ``act(state, rng) ->
action``), alternating who moves first; with ``parallel_games > 1`` the games run in
lockstep (:mod:`hybrid.planning.lockstep`), so that an :class:`AlphaZeroAgent`'s net
calls are batched across games. Re-exported by :mod:`hybrid.planning.alphazero`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from hybrid.neural.planning.policy_value import PolicyValueNet, make_evaluator
from hybrid.planning.lockstep import run_lockstep, shared_batch
from hybrid.planning.selfplay import check_two_player, play_move
from hybrid.symbolic.planning.mcts import MCTSConfig, RolloutEvaluator, search
from hybrid.tasks._checks import is_int, is_real
from hybrid.tasks.envs.grid_env import check_int

__all__ = ["Agent", "AlphaZeroAgent", "RolloutMCTSAgent", "play_match"]


class Agent(Protocol):
    """Something that plays: ``act(state, rng) -> action`` (a legal action of ``state``)."""

    def act(self, state: Any, rng: np.random.Generator) -> int:
        """Return the action to play in ``state``."""
        ...


class AlphaZeroAgent:
    """Play with a search guided by a policy/value net (no noise, most visited move).

    Args:
        net: the :class:`PolicyValueNet`.
        model: the two-player :class:`~hybrid.tasks.envs.model.TransitionModel` (with ``encode``).
        num_simulations: simulations per move (>= 0; 0 plays the net's most probable legal move).
        selection: ``"puct"`` or ``"gumbel"`` (Gumbel noise off: deterministic sequential halving).
        c_init, c_base: PUCT's constants.
        leaf_batch: leaves evaluated together with virtual loss in one search (>= 1).

    Inside :func:`~hybrid.planning.selfplay.run_lockstep` (``play_match(parallel_games>1)``)
    its net calls are batched with the other games'. The net must not be trained while the
    agent plays.
    """

    def __init__(
        self,
        net: PolicyValueNet,
        model: Any,
        num_simulations: int = 100,
        selection: str = "puct",
        c_init: float = 1.25,
        c_base: float = 19652.0,
        leaf_batch: int = 1,
    ) -> None:
        if not isinstance(net, PolicyValueNet):
            raise ValueError(f"net must be a PolicyValueNet, got {type(net).__name__}")
        check_two_player(model)
        self.num_simulations = check_int("num_simulations", num_simulations, 0)
        if selection not in ("puct", "gumbel"):
            raise ValueError(f"selection must be 'puct' or 'gumbel', got {selection!r}")
        self.net = net
        self.model = model
        self._evaluate = make_evaluator(net, model)
        self._batched = shared_batch(self._evaluate)
        self.config = MCTSConfig(
            num_simulations=max(1, self.num_simulations),
            selection=selection,
            batch_size=check_int("leaf_batch", leaf_batch, 1),
            c_init=float(c_init),
            c_base=float(c_base),
            gumbel_scale=0.0,
        )

    def __repr__(self) -> str:
        return f"AlphaZeroAgent(num_simulations={self.num_simulations}, selection={self.config.selection!r})"

    def act(self, state: Any, rng: np.random.Generator) -> int:
        """Return the action to play in ``state`` (not terminal), searching with ``rng`` for tie order."""
        if self.num_simulations == 0:
            priors, _ = self._batched([state])
            legal = list(self.model.legal_action_ids(state))
            if not legal:
                raise ValueError("state: no legal action (is the game over?)")
            return int(max(legal, key=lambda a: priors[0][a]))
        return search(self.model, state, self._batched, rng, self.config).action


class RolloutMCTSAgent:
    """The reference bot: plain UCT MCTS with one uniformly random rollout per leaf.

    Args:
        model: the two-player :class:`~hybrid.tasks.envs.model.TransitionModel`.
        num_simulations: simulations per move (>= 1).
        uct_c: UCT's exploration constant (2.0, as OpenSpiel's example).
    """

    def __init__(self, model: Any, num_simulations: int = 100, uct_c: float = 2.0) -> None:
        check_two_player(model)
        self.model = model
        self.num_simulations = check_int("num_simulations", num_simulations, 1)
        if not is_real(uct_c) or not uct_c > 0:
            raise ValueError(f"uct_c must be a number > 0, got {uct_c!r}")
        self.config = MCTSConfig(num_simulations=self.num_simulations, selection="uct", uct_c=float(uct_c))

    def __repr__(self) -> str:
        return f"RolloutMCTSAgent(num_simulations={self.num_simulations})"

    def act(self, state: Any, rng: np.random.Generator) -> int:
        """Return the most visited root action of a UCT search from ``state`` (rollouts drawn from ``rng``)."""
        return search(self.model, state, RolloutEvaluator(self.model, rng), rng, self.config).action


def _play_game(model: Any, first: Agent, second: Agent, start: Any, rng: np.random.Generator, max_moves: int | None):
    """Play one game; return ``(return of first, return of second, moves)``."""
    state = start
    first_player = int(model.current_player(start))
    returns = [0.0, 0.0]
    moves = 0
    while not model.is_terminal(state) and (max_moves is None or moves < max_moves):
        agent = first if int(model.current_player(state)) == first_player else second
        state = play_move(model, state, int(agent.act(state, rng)), returns)
        moves += 1
    return returns[first_player], returns[1 - first_player], moves


def play_match(
    agent_a: Agent,
    agent_b: Agent,
    model: Any,
    games: int,
    seed: int = 0,
    parallel_games: int = 1,
    initial_state: Any = None,
    max_moves: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Play ``games`` games between two agents, alternating who moves first, and count them for ``agent_a``.

    Game ``g`` starts from ``initial_state`` with ``agent_a`` moving first when ``g`` is even
    and second when it is odd; both agents draw from ``numpy.random.default_rng([seed, g])``.

    Args:
        agent_a, agent_b: objects with ``act(state, rng) -> action``.
        model: the two-player :class:`~hybrid.tasks.envs.model.TransitionModel`.
        games: games to play (>= 1).
        seed: an int.
        parallel_games: games run in lockstep (>= 1): an :class:`AlphaZeroAgent`'s net calls
            are then batched across games (same results for a given value).
        initial_state: where games start (default ``model.initial_state()``).
        max_moves: cut a game after this many moves as a draw (None: no limit).
        progress: show a tqdm bar (sequential play only).

    Returns:
        ``{"wins", "draws", "losses"}`` for ``agent_a``; ``"score"`` = (wins + draws / 2) / games;
        ``"games"``; ``"as_first"`` and ``"as_second"``: ``[wins, draws, losses]`` of ``agent_a``
        when it moved first / second; ``"mean_length"``: mean moves per game.

    Raises:
        ValueError: a bad argument, naming it.
    """
    for name, agent in (("agent_a", agent_a), ("agent_b", agent_b)):
        if not callable(getattr(agent, "act", None)):
            raise ValueError(f"{name} must have a method act(state, rng) -> action, got {type(agent).__name__}")
    check_two_player(model)
    games = check_int("games", games, 1)
    parallel_games = check_int("parallel_games", parallel_games, 1)
    if not is_int(seed):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if max_moves is not None:
        max_moves = check_int("max_moves", max_moves, 1)
    start = model.initial_state() if initial_state is None else initial_state
    if model.is_terminal(start):
        raise ValueError("initial_state is terminal")

    def job(g: int) -> Callable[[], tuple[float, bool, int]]:
        def run() -> tuple[float, bool, int]:
            rng = np.random.default_rng([int(seed), g])
            a_first = g % 2 == 0
            r_first, r_second, moves = _play_game(
                model, agent_a if a_first else agent_b, agent_b if a_first else agent_a, start, rng, max_moves
            )
            return (r_first if a_first else r_second), a_first, moves

        return run

    jobs = [job(g) for g in range(games)]
    if parallel_games == 1 and progress:
        outcomes = [j() for j in tqdm(jobs, desc="match", unit="game")]
    else:
        outcomes = run_lockstep(jobs, parallel=parallel_games)
    as_first = [0, 0, 0]
    as_second = [0, 0, 0]
    total_moves = 0
    for ret, a_first, moves in outcomes:
        k = 0 if ret > 0 else 1 if ret == 0 else 2
        (as_first if a_first else as_second)[k] += 1
        total_moves += moves
    wins, draws, losses = (as_first[i] + as_second[i] for i in range(3))
    return {
        "wins": wins,
        "draws": draws,
        "losses": losses,
        "score": (wins + 0.5 * draws) / games,
        "games": games,
        "as_first": as_first,
        "as_second": as_second,
        "mean_length": total_moves / games,
    }
