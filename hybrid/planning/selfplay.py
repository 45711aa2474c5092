"""Self-play for AlphaZero-style training: games, targets, board symmetries, a replay buffer.

Games
    :func:`play_selfplay_games` plays games with a search over the model, several at once
    in lockstep (:mod:`hybrid.planning.lockstep`, whose :func:`run_lockstep`,
    :func:`shared_batch` and :class:`CachedEvaluator` are re-exported here) so that one net
    call answers all their leaves. :func:`play_move` is the one zero-sum move both self-play
    and matches (:mod:`hybrid.planning.matches`) make: the reward counts for its mover and
    against the other player.

Targets
    A finished game gives, for every position, the encoded planes, the search policy (visit
    frequencies for PUCT, the improved policy for Gumbel), the legal mask and the outcome
    ``z`` for the player to move there: each move's reward counts for its mover and against
    the other player (two-player zero-sum), summed and clipped to [-1, 1].

Symmetries
    A :class:`Symmetry` maps planes and actions together. :func:`board_symmetries` offers the
    left-right mirror of a board whose actions are columns (Connect Four) or cells
    (tic-tac-toe), and keeps it only when :func:`check_symmetry` confirms on random games
    that the model's rules and encoding really are mirror-invariant.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.planning.lockstep import CachedEvaluator, Evaluator, run_lockstep, shared_batch
from hybrid.symbolic.planning.mcts import MCTSConfig, reuse_tree, search
from hybrid.tasks.envs.grid_env import check_int

__all__ = [
    "CachedEvaluator",
    "GameRecord",
    "ReplayBuffer",
    "Symmetry",
    "board_symmetries",
    "check_symmetry",
    "check_two_player",
    "game_targets",
    "play_move",
    "play_selfplay_games",
    "run_lockstep",
    "shared_batch",
]

# ---------------------------------------------------------------------------- symmetries


@dataclass(frozen=True)
class Symmetry:
    """A symmetry of a game, applied to a network's inputs and targets together.

    Attributes:
        name: a label (e.g. ``"mirror"``).
        planes: maps a batch of planes ``[B, C, rows, cols]`` to the planes of the transformed states.
        actions: int array ``[num_actions]``: ``actions[a]`` is the image of action ``a``
            (a permutation).
    """

    name: str
    planes: Callable[[np.ndarray], np.ndarray]
    actions: np.ndarray

    def apply(
        self, planes: np.ndarray, policies: np.ndarray, masks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(planes, policies, masks)`` of the transformed positions (batches; values are unchanged)."""
        out_p = np.empty_like(policies)
        out_m = np.empty_like(masks)
        out_p[:, self.actions] = policies
        out_m[:, self.actions] = masks
        return np.ascontiguousarray(self.planes(planes)), out_p, out_m


def _mirror_planes(planes: np.ndarray) -> np.ndarray:
    return planes[..., ::-1]


def _mirror_candidate(model: Any) -> Symmetry | None:
    rows, cols = getattr(model, "rows", None), getattr(model, "cols", None)
    if not isinstance(rows, int) or not isinstance(cols, int):
        return None
    n = int(model.num_actions)
    if n == cols:
        perm = np.arange(cols)[::-1].copy()
    elif n == rows * cols:
        perm = np.array([r * cols + (cols - 1 - c) for r in range(rows) for c in range(cols)])
    else:
        return None
    return Symmetry("mirror", _mirror_planes, perm)


def check_symmetry(
    model: Any,
    symmetry: Symmetry,
    rng: np.random.Generator,
    games: int = 20,
    initial_state: Any = None,
    max_moves: int = 200,
) -> bool:
    """Check on random games that ``symmetry`` is a symmetry of ``model``'s rules and encoding.

    Plays ``games`` random games; alongside each, plays the transformed actions from the same
    initial state (which must itself be symmetric), and checks at every position that the
    transformed game's planes are the transformed planes, its legal mask the transformed
    mask, and that rewards and termination agree.

    Args:
        model: a two-player :class:`~hybrid.tasks.envs.model.TransitionModel` with ``encode``.
        symmetry: the candidate.
        rng: a ``numpy.random.Generator``.
        games: random games to play (>= 1).
        initial_state: where the games start (default ``model.initial_state()``).
        max_moves: the longest game checked (>= 1).

    Returns:
        True when every check passed.

    Raises:
        ValueError: bad ``games`` / ``max_moves``, or a symmetry of the wrong size.
    """
    games = check_int("games", games, 1)
    max_moves = check_int("max_moves", max_moves, 1)
    n = int(model.num_actions)
    perm = np.asarray(symmetry.actions)
    if perm.shape != (n,) or sorted(perm.tolist()) != list(range(n)):
        raise ValueError(f"symmetry.actions must be a permutation of 0..{n - 1}, got {perm.tolist()}")
    start = model.initial_state() if initial_state is None else initial_state
    for _ in range(games):
        s, t = start, start
        for _ in range(max_moves):
            ps = np.asarray(model.encode(s))[None]
            pt = np.asarray(model.encode(t))[None]
            ms = np.asarray(model.legal_actions(s), dtype=bool)[None]
            mt = np.asarray(model.legal_actions(t), dtype=bool)[None]
            dummy = np.zeros((1, n), dtype=np.float32)
            tp, _, tm = symmetry.apply(ps, dummy, ms)
            if tp.shape != pt.shape or not np.array_equal(tp, pt) or not np.array_equal(tm, mt):
                return False
            if model.is_terminal(s) or model.is_terminal(t):
                if model.is_terminal(s) != model.is_terminal(t):
                    return False
                break
            legal = model.legal_action_ids(s)
            a = int(legal[int(rng.integers(len(legal)))])
            ns, rs, ds = model.step(s, a)
            try:
                nt, rt, dt = model.step(t, int(perm[a]))
            except ValueError:
                return False
            if rs != rt or ds != dt:
                return False
            s, t = ns, nt
    return True


def board_symmetries(model: Any, rng: np.random.Generator | None = None, initial_state: Any = None) -> list[Symmetry]:
    """Return the symmetries used to augment training data for ``model``: the left-right mirror, when it holds.

    The mirror is proposed for models with integer ``rows`` and ``cols`` whose actions are
    the columns (``num_actions == cols``, Connect Four) or the cells in row-major order
    (``num_actions == rows * cols``, tic-tac-toe), and kept only if :func:`check_symmetry`
    confirms it on random games.

    Args:
        model: a :class:`~hybrid.tasks.envs.model.TransitionModel` with ``encode``.
        rng: the generator of the check's random games (default: seeded with 0).
        initial_state: the start of the check's games (default ``model.initial_state()``).

    Returns:
        ``[Symmetry("mirror", ...)]`` or ``[]``.
    """
    candidate = _mirror_candidate(model)
    if candidate is None:
        return []
    if initial_state is None and not hasattr(model, "initial_state"):
        return []
    rng = np.random.default_rng(0) if rng is None else rng
    return [candidate] if check_symmetry(model, candidate, rng, initial_state=initial_state) else []


# ---------------------------------------------------------------------------- self-play games


@dataclass
class GameRecord:
    """One self-play game.

    Attributes:
        states: the positions where a move was searched, in order.
        actions: the action played at each of them.
        policies: float32 ``[T, num_actions]``: the search policy at each position (0 on illegal actions).
        root_values: float32 ``[T]``: the search's value of each position for its player to move.
        players: int ``[T]``: the player to move at each position.
        returns: float ``[2]``: the game's outcome for player 0 and player 1, in [-1, 1].
        simulations: simulations run in the game (tree reuse makes it fewer than moves x budget).
    """

    states: list[Any]
    actions: list[int]
    policies: np.ndarray
    root_values: np.ndarray
    players: np.ndarray
    returns: np.ndarray
    simulations: int

    @property
    def z(self) -> np.ndarray:
        """float32 ``[T]``: the outcome for the player to move at each position."""
        return self.returns[self.players].astype(np.float32)


def check_two_player(model: Any) -> None:
    """Check that ``model`` is a two-player :class:`~hybrid.tasks.envs.model.TransitionModel`.

    Raises:
        ValueError: naming ``model`` and the attribute it lacks, or its ``num_players``.
    """
    for attr in ("num_actions", "step", "legal_action_ids", "is_terminal", "current_player"):
        if not hasattr(model, attr):
            raise ValueError(f"model must be a TransitionModel; it lacks {attr!r}")
    if int(getattr(model, "num_players", 0)) != 2:
        raise ValueError(f"model must be a two-player TransitionModel, got num_players={model.num_players!r}")


def play_move(model: Any, state: Any, action: int, returns: Any) -> Any:
    """Play ``action`` and credit its reward zero-sum: for the mover in ``returns``, against the other player.

    Args:
        model: a two-player model.
        state: the state the move is played in.
        action: the move.
        returns: the running returns of players 0 and 1 (an indexable, updated in place).

    Returns:
        The next state.
    """
    mover = int(model.current_player(state))
    state, reward, _ = model.step(state, action)
    if reward:
        returns[mover] += reward
        returns[1 - mover] -= reward
    return state


def _play_one_game(
    model: Any,
    evaluate: Evaluator,
    rng: np.random.Generator,
    mcts_config: MCTSConfig,
    temperature_moves: int,
    temperature: float,
    reuse: bool,
    initial_state: Any,
    max_moves: int | None,
) -> GameRecord:
    """Play one self-play game (the body of a lockstep job)."""
    state = initial_state
    tree = None
    budget = mcts_config.num_simulations
    gumbel = mcts_config.selection == "gumbel"
    states: list[Any] = []
    actions: list[int] = []
    policies: list[np.ndarray] = []
    values: list[float] = []
    players: list[int] = []
    returns = np.zeros(2)
    sims = 0
    while not model.is_terminal(state) and (max_moves is None or len(actions) < max_moves):
        config = mcts_config
        if tree is not None:
            have = sum(tree.child_visits[0])
            n = max(1, budget - have)
            if n != budget:
                config = replace(mcts_config, num_simulations=n)
        result = search(model, state, evaluate, rng, config, tree)
        sims += result.num_simulations
        player = int(model.current_player(state))
        if gumbel or len(actions) >= temperature_moves:
            action = result.action
        else:
            weights = result.visit_counts.astype(np.float64) ** (1.0 / temperature)
            action = int(rng.choice(len(weights), p=weights / weights.sum()))
        states.append(state)
        actions.append(action)
        policies.append(result.policy.astype(np.float32))
        values.append(result.root_value)
        players.append(player)
        state = play_move(model, state, action, returns)
        tree = reuse_tree(result.tree, action) if reuse else None
    return GameRecord(
        states=states,
        actions=actions,
        policies=np.array(policies, dtype=np.float32).reshape(len(states), int(model.num_actions)),
        root_values=np.array(values, dtype=np.float32),
        players=np.array(players, dtype=np.int64),
        returns=np.clip(returns, -1.0, 1.0),
        simulations=sims,
    )


def play_selfplay_games(
    model: Any,
    evaluate: Evaluator,
    num_games: int,
    mcts_config: MCTSConfig,
    seed: int = 0,
    first_game: int = 0,
    temperature_moves: int = 10,
    temperature: float = 1.0,
    reuse: bool = True,
    parallel: int = 1,
    initial_state: Any = None,
    max_moves: int | None = None,
    deadline: float | None = None,
) -> list[GameRecord]:
    """Play self-play games with a search over ``model`` driven by ``evaluate``.

    Game ``i`` draws its random numbers (noise, sampled moves) from
    ``numpy.random.default_rng([seed, first_game + i])``. Each move runs
    ``mcts_config.num_simulations`` simulations (with ``reuse``, the subtree of the move
    played is kept and only topped up to that many root visits). For the first
    ``temperature_moves`` moves of a game the move is sampled from the root visit counts
    raised to ``1 / temperature``; after that the search's action is played. With Gumbel
    selection the search's action (a sample through its Gumbel noise) is always played.

    Args:
        model: a two-player :class:`~hybrid.tasks.envs.model.TransitionModel`.
        evaluate: ``evaluate(states) -> (priors [B, A], values [B])`` for the player to move;
            with ``parallel > 1`` it is called once per round for all games together.
        num_games: games to play (>= 0).
        mcts_config: the search's hyper-parameters (Dirichlet noise etc.).
        seed, first_game: see above (ints; ``first_game >= 0``).
        temperature_moves: moves sampled from the visit counts at the start of a game (>= 0).
        temperature: > 0.
        reuse: keep the subtree of the move played between moves.
        parallel: games run in lockstep (>= 1), their leaves evaluated together.
        initial_state: where games start (default ``model.initial_state()``).
        max_moves: cut a game (scored as a draw) after this many moves; None for no limit.
        deadline: a ``time.perf_counter()`` value after which no new game starts.

    Returns:
        The finished games, in game order (games skipped by ``deadline`` are left out).

    Raises:
        ValueError: a bad argument, naming it; a model that is not two-player.
    """
    num_games = check_int("num_games", num_games, 0)
    first_game = check_int("first_game", first_game, 0)
    temperature_moves = check_int("temperature_moves", temperature_moves, 0)
    parallel = check_int("parallel", parallel, 1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if not isinstance(temperature, (int, float)) or not temperature > 0 or not math.isfinite(temperature):
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
    if max_moves is not None:
        max_moves = check_int("max_moves", max_moves, 1)
    if not isinstance(mcts_config, MCTSConfig):
        raise ValueError(f"mcts_config must be an MCTSConfig, got {type(mcts_config).__name__}")
    if int(getattr(model, "num_players", 0)) != 2:
        raise ValueError(f"model must be a two-player TransitionModel, got num_players={model.num_players!r}")
    if not callable(evaluate):
        raise ValueError(f"evaluate must be callable, got {type(evaluate).__name__}")
    start = model.initial_state() if initial_state is None else initial_state
    batched = shared_batch(evaluate) if parallel > 1 else evaluate

    def job(i: int) -> Callable[[], GameRecord]:
        def run() -> GameRecord:
            rng = np.random.default_rng([int(seed), first_game + i])
            return _play_one_game(
                model, batched, rng, mcts_config, temperature_moves, float(temperature), reuse, start, max_moves
            )

        return run

    out = run_lockstep([job(i) for i in range(num_games)], parallel=parallel, deadline=deadline)
    return [g for g in out if g is not None]


def game_targets(
    model: Any, record: GameRecord, q_weight: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the training targets of one game: ``(planes, policies, values, masks)``.

    Args:
        model: the game's model (``encode``, ``legal_actions``).
        record: a finished :class:`GameRecord`.
        q_weight: in [0, 1]: the value target is ``(1 - q_weight) * z + q_weight * root_value``
            (0: AlphaZero's outcome ``z``).

    Returns:
        float32 planes ``[T, C, rows, cols]``, float32 policies ``[T, A]`` (distributions over
        the legal actions), float32 values ``[T]`` in [-1, 1] for the player to move, bool masks ``[T, A]``.

    Raises:
        ValueError: ``q_weight`` outside [0, 1], or an empty game.
    """
    if not isinstance(q_weight, (int, float)) or not 0.0 <= q_weight <= 1.0:
        raise ValueError(f"q_weight must be a number in [0, 1], got {q_weight!r}")
    if not record.states:
        raise ValueError("record holds no position")
    planes = np.stack([np.asarray(model.encode(s), dtype=np.float32) for s in record.states])
    masks = np.stack([np.asarray(model.legal_actions(s), dtype=bool) for s in record.states])
    values = record.z
    if q_weight:
        values = (1.0 - q_weight) * values + q_weight * np.clip(record.root_values, -1.0, 1.0)
    return planes, record.policies.copy(), values.astype(np.float32), masks


# ---------------------------------------------------------------------------- replay buffer


class ReplayBuffer:
    """A ring buffer of ``(planes, policy, value, legal mask)`` positions, sampled uniformly.

    Args:
        capacity: positions kept (>= 1); the oldest go first.
        plane_shape: ``(C, rows, cols)`` of one position's planes.
        num_actions: the action space's size.
    """

    def __init__(self, capacity: int, plane_shape: Sequence[int], num_actions: int) -> None:
        self.capacity = check_int("capacity", capacity, 1)
        shape = tuple(int(d) for d in plane_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"plane_shape must be (C, rows, cols) of positive ints, got {plane_shape!r}")
        self.num_actions = check_int("num_actions", num_actions, 1)
        self.planes = np.zeros((self.capacity, *shape), dtype=np.float32)
        self.policies = np.zeros((self.capacity, self.num_actions), dtype=np.float32)
        self.values = np.zeros(self.capacity, dtype=np.float32)
        self.masks = np.zeros((self.capacity, self.num_actions), dtype=bool)
        self.size = 0
        self.next = 0
        self.added = 0

    def __len__(self) -> int:
        return self.size

    def add(self, planes: np.ndarray, policies: np.ndarray, values: np.ndarray, masks: np.ndarray) -> None:
        """Append a batch of positions (arrays as :func:`game_targets` returns).

        Raises:
            ValueError: arrays of mismatched or wrong shapes.
        """
        planes = np.asarray(planes, dtype=np.float32)
        b = len(planes)
        if planes.shape[1:] != self.planes.shape[1:]:
            raise ValueError(f"planes must have shape (B, {self.planes.shape[1:]}), got {planes.shape}")
        for name, arr, shape in (
            ("policies", policies, (b, self.num_actions)),
            ("values", values, (b,)),
            ("masks", masks, (b, self.num_actions)),
        ):
            if np.shape(arr) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {np.shape(arr)}")
        if b > self.capacity:
            planes, policies, values, masks = (
                planes[-self.capacity :],
                policies[-self.capacity :],
                values[-self.capacity :],
                masks[-self.capacity :],
            )
            self.added += b - self.capacity
            b = self.capacity
        idx = (self.next + np.arange(b)) % self.capacity
        self.planes[idx] = planes
        self.policies[idx] = policies
        self.values[idx] = values
        self.masks[idx] = masks
        self.next = int((self.next + b) % self.capacity)
        self.size = min(self.capacity, self.size + b)
        self.added += b

    def sample(
        self, batch_size: int, rng: np.random.Generator, symmetries: Sequence[Symmetry] = ()
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Draw ``batch_size`` positions uniformly (with replacement), each under a random symmetry.

        Args:
            batch_size: positions (>= 1).
            rng: a ``numpy.random.Generator``.
            symmetries: each position is transformed by one of ``[identity, *symmetries]``,
                drawn uniformly.

        Returns:
            ``(planes, policies, values, masks)``.

        Raises:
            ValueError: an empty buffer or a bad ``batch_size``.
        """
        batch_size = check_int("batch_size", batch_size, 1)
        if self.size == 0:
            raise ValueError("the replay buffer is empty")
        idx = rng.integers(0, self.size, size=batch_size)
        planes = self.planes[idx]
        policies = self.policies[idx]
        values = self.values[idx]
        masks = self.masks[idx]
        if symmetries:
            which = rng.integers(0, len(symmetries) + 1, size=batch_size)
            for k, sym in enumerate(symmetries, start=1):
                sel = np.flatnonzero(which == k)
                if len(sel):
                    planes[sel], policies[sel], masks[sel] = sym.apply(planes[sel], policies[sel], masks[sel])
        return planes, policies, values, masks

    def save(self, path: str | Path) -> None:
        """Write the buffer's contents to ``path`` (a numpy ``.npz``, no pickles)."""
        order = (self.next - self.size + np.arange(self.size)) % self.capacity
        np.savez_compressed(
            Path(path),
            planes=self.planes[order],
            policies=self.policies[order],
            values=self.values[order],
            masks=self.masks[order],
            added=np.array([self.added]),
        )

    def load(self, path: str | Path) -> None:
        """Replace the contents with those :meth:`save` wrote to ``path`` (oldest first; capacity kept).

        Raises:
            ValueError: a file whose arrays do not fit this buffer.
        """
        with np.load(Path(path), allow_pickle=False) as data:
            planes, policies, values, masks = data["planes"], data["policies"], data["values"], data["masks"]
            added = int(data["added"][0])
        self.size = 0
        self.next = 0
        self.add(planes, policies, values, masks)
        self.added = added
