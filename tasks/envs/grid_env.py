"""Shared gymnasium plumbing for the grid envs: observations, rendering, masks, puzzles and two-player games.

Every env here wraps a pure :class:`~hybrid.tasks.envs.model.TransitionModel` (``env.unwrapped.model``)
and keeps only the current model state. What they have in common:

- ``obs_type="rgb"`` (default, the name ALE uses): the observation is the RGB uint8 frame
  ``[rows * cell_px, cols * cell_px, 3]``, the same array ``render()`` returns in
  ``render_mode="rgb_array"``; ``obs_type="symbolic"``: the ``[rows, cols]`` uint8 grid
  of cell classes (``model.to_grid``), a Box from 0 to ``num_classes - 1``;
- frames are drawn cell by cell from one tile per class (:mod:`hybrid.tasks.envs.drawing`);
- ``info["state"]`` is the model state, ``info["action_mask"]`` the boolean mask of
  legal actions, ``info["illegal_action"]`` whether the last action was illegal and
  ``info["is_success"]`` whether the puzzle is solved / the agent has won (the key
  stable-baselines3's evaluation reads); ``action_masks()`` returns the mask too
  (sb3-contrib's MaskablePPO convention);
- an action outside the action space raises ``ValueError``; an in-range illegal action
  is a no-op for puzzles (:class:`PuzzleEnv`) and a lost game for two-player games
  (:class:`BoardGameEnv`); the state is never corrupted;
- randomness comes only from ``self.np_random``, seeded by ``reset(seed=...)``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from hybrid.tasks.envs.drawing import frame_from_grid
from hybrid.tasks.envs.model import TransitionModel
from hybrid.tasks.envs.opponents import Opponent, make_opponent

#: The observation types every env accepts.
OBS_TYPES: tuple[str, ...] = ("rgb", "symbolic")
#: ``info`` keys read, in this order, to tell whether a terminated episode succeeded.
SUCCESS_KEYS: tuple[str, ...] = ("is_success", "success", "solved")


def episode_succeeded(terminated: bool, info: dict[str, Any], reward: float = 0.0) -> bool:
    """Whether an episode whose last step returned ``terminated`` and ``info`` was solved (or won).

    The first of ``info["is_success"]``, ``info["success"]``, ``info["solved"]`` that the
    env reports decides (the envs here report ``is_success``; the others are read so that
    other envs' conventions work too); an env that reports none succeeds on a positive
    final ``reward``. An episode that did not terminate (truncated, or cut at a step limit)
    failed.
    """
    if not terminated:
        return False
    for key in SUCCESS_KEYS:
        if key in info:
            return bool(info[key])
    return float(reward) > 0


def check_int(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` as an int after checking ``minimum <= value <= maximum``.

    Raises:
        ValueError: naming ``name``, if ``value`` is not an integer (bools excluded) or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return int(value)


class GridEnv(gym.Env):
    """Base class: a gymnasium env over a :class:`TransitionModel` drawn as a grid of tiles.

    Args:
        model: the rules (with ``rows``, ``cols``, ``num_classes`` attributes besides the protocol).
        tiles: ``[num_classes, px, px, 3]`` uint8, the picture of each cell class.
        render_mode: None, ``"rgb_array"`` (the frame) or ``"ansi"`` (the grid as text).
        obs_type: ``"rgb"`` or ``"symbolic"`` (see the module docstring).

    Subclasses implement ``reset`` and ``step`` and keep the model state in ``self._state``.
    """

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}

    def __init__(self, model: TransitionModel, tiles: np.ndarray, render_mode: str | None, obs_type: str) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None, 'rgb_array' or 'ansi', got {render_mode!r}")
        if obs_type not in OBS_TYPES:
            raise ValueError(f"obs_type must be 'rgb' or 'symbolic', got {obs_type!r}")
        self.model = model
        self.render_mode = render_mode
        self.obs_type = obs_type
        self.tiles = tiles
        self.cell_px = int(tiles.shape[1])
        rows, cols = model.rows, model.cols
        self.action_space = spaces.Discrete(model.num_actions)
        if obs_type == "rgb":
            shape = (rows * self.cell_px, cols * self.cell_px, 3)
            self.observation_space = spaces.Box(0, 255, shape=shape, dtype=np.uint8)
        else:
            self.observation_space = spaces.Box(0, model.num_classes - 1, shape=(rows, cols), dtype=np.uint8)
        self._state: Any = None

    # ------------------------------------------------------------------ views of the state

    @property
    def state(self) -> Any:
        """The current model state (None before the first reset)."""
        return self._state

    def frame(self) -> np.ndarray:
        """Return the current ``[rows * px, cols * px, 3]`` uint8 frame."""
        self._require_reset()
        return frame_from_grid(self.model.to_grid(self._state), self.tiles)

    def action_masks(self) -> np.ndarray:
        """Return the boolean mask of the agent's legal actions now (sb3-contrib's MaskablePPO convention)."""
        self._require_reset()
        return self.model.legal_actions(self._state)

    def render(self) -> np.ndarray | str | None:
        """Return the frame (``"rgb_array"``), the grid as text (``"ansi"``), or None (no render mode)."""
        if self.render_mode == "rgb_array":
            return self.frame()
        if self.render_mode == "ansi":
            self._require_reset()
            return "\n".join(" ".join(f"{v:2d}" for v in row) for row in self.model.to_grid(self._state)) + "\n"
        return None

    def _observation(self) -> np.ndarray:
        """Return the observation of the current state (frame or class grid)."""
        if self.obs_type == "rgb":
            return self.frame()
        return self.model.to_grid(self._state).astype(np.uint8)

    def _info(self, illegal: bool = False, **extra: Any) -> dict[str, Any]:
        """Return the info dict: state, action mask, whether the last action was illegal, success, and ``extra``."""
        return {
            "state": self._state,
            "action_mask": self.model.legal_actions(self._state),
            "illegal_action": illegal,
            "is_success": self._success(),
            **extra,
        }

    def _success(self) -> bool:
        """Return True when the model state is terminal: a solved puzzle (:class:`BoardGameEnv` uses the winner)."""
        return bool(self.model.is_terminal(self._state))

    def _check_action(self, action: Any) -> int:
        """Return ``action`` as an int, or raise ``ValueError`` if it is not in the action space."""
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an int in 0..{self.action_space.n - 1}, got {action!r}")
        return int(action)

    def _require_reset(self) -> None:
        """Raise ``RuntimeError`` if the env has not been reset yet."""
        if self._state is None:
            raise RuntimeError("call reset() before using the env")


class PuzzleEnv(GridEnv):
    """Base class for single-agent puzzles: reward 1 and ``terminated`` on reaching a goal, 0 otherwise.

    An in-range illegal action leaves the state unchanged, gives reward 0, counts as a
    step (for the ``TimeLimit``) and sets ``info["illegal_action"]``. Subclasses implement
    ``_initial_state(options)``.
    """

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start an episode; ``seed`` seeds ``self.np_random``, ``options`` are the subclass's.

        Returns:
            ``(observation, info)``.
        """
        super().reset(seed=seed)
        self._state = self._initial_state(dict(options or {}))
        return self._observation(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Apply ``action`` (a no-op when illegal).

        Returns:
            ``(observation, reward, terminated, truncated, info)``; truncation is left to
            the ``TimeLimit`` wrapper that ``gymnasium.make`` adds.

        Raises:
            ValueError: if ``action`` is not in the action space.
        """
        a = self._check_action(action)
        self._require_reset()
        if a not in self.model.legal_action_ids(self._state):
            return self._observation(), 0.0, False, False, self._info(illegal=True)
        t = self.model.step(self._state, a)
        self._state = t.state
        return self._observation(), float(t.reward), bool(t.done), False, self._info()

    def _initial_state(self, options: dict[str, Any]) -> Any:
        """Return the state an episode starts from, drawn with ``self.np_random`` (subclasses)."""
        raise NotImplementedError


class BoardGameEnv(GridEnv):
    """Base class for two-player games against a built-in opponent; rewards are for the agent.

    Args:
        model: the game's rules (``num_players == 2``, with ``initial_state`` and ``winner``).
        tiles, render_mode, obs_type: as in :class:`GridEnv`.
        opponent: ``"random"``, ``"mcts"`` (a small UCT, :class:`~hybrid.tasks.envs.opponents.UCTOpponent`)
            or a callable ``(state, legal_ids, rng) -> action``.
        opponent_simulations: UCT simulations per opponent move (``"mcts"`` only).
        agent_player: 0 (the agent moves first) or 1 (the opponent moves first, at reset).

    Each ``step`` plays the agent's move and, unless the game ended, the opponent's reply.
    Reward: +1 when the agent wins, -1 when it loses, 0 otherwise. An in-range illegal
    action loses the game at once (terminated, reward -1, ``info["illegal_action"]``
    True, state unchanged). ``info`` also holds ``"opponent_action"`` (the reply, or None)
    and ``"winner"`` (0, 1 or None; the opponent after an illegal action), and
    ``"is_success"`` is True when the agent has won. Stepping after the game ended raises
    ``RuntimeError``.
    """

    def __init__(
        self,
        model: TransitionModel,
        tiles: np.ndarray,
        render_mode: str | None,
        obs_type: str,
        opponent: str | Opponent,
        opponent_simulations: int,
        agent_player: int,
    ) -> None:
        super().__init__(model, tiles, render_mode, obs_type)
        self.agent_player = check_int("agent_player", agent_player, 0, 1)
        self.opponent_simulations = check_int("opponent_simulations", opponent_simulations, 1)
        self.opponent = make_opponent(opponent, model, self.opponent_simulations)
        self._over = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start a game from the empty board; if ``agent_player == 1`` the opponent moves first.

        Args:
            seed: seeds ``self.np_random`` (used by the opponent).
            options: ``{"state": s}`` starts from a given non-terminal state with the
                agent to move (validated).

        Returns:
            ``(observation, info)``.
        """
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"state"}
        if unknown:
            raise ValueError(f"options may only hold 'state', got {sorted(unknown)}")
        opponent_action = None
        if "state" in options:
            state = options["state"]
            try:
                valid = self.model.from_grid(self.model.to_grid(state)) == state
            except (TypeError, ValueError, IndexError):
                valid = False
            if not valid:
                raise ValueError(f"options['state'] is not a valid state: {state!r}")
            if self.model.is_terminal(state) or self.model.current_player(state) != self.agent_player:
                raise ValueError(
                    f"options['state'] must be a position with the agent (player {self.agent_player}) "
                    f"to move, got {state!r}"
                )
            self._state = state
        else:
            self._state = self.model.initial_state()
            if self.agent_player == 1:
                opponent_action = self._opponent_move()
        self._over = False
        return self._observation(), self._info(opponent_action=opponent_action, winner=None)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Play the agent's ``action`` and the opponent's reply.

        Returns:
            ``(observation, reward, terminated, truncated, info)``.

        Raises:
            ValueError: if ``action`` is not in the action space.
            RuntimeError: if the game is already over, or the opponent returns an illegal action.
        """
        a = self._check_action(action)
        self._require_reset()
        if self._over:
            raise RuntimeError("the game is over; call reset()")
        model = self.model
        if a not in model.legal_action_ids(self._state):
            self._over = True
            return (
                self._observation(),
                -1.0,
                True,
                False,
                self._info(illegal=True, opponent_action=None, winner=1 - self.agent_player),
            )
        t = model.step(self._state, a)
        self._state = t.state
        if t.done:
            self._over = True
            winner = self.agent_player if t.reward > 0 else None
            return self._observation(), float(t.reward), True, False, self._info(opponent_action=None, winner=winner)
        reply = self._opponent_move()
        reward, winner = 0.0, None
        if model.is_terminal(self._state):
            self._over = True
            winner = model.winner(self._state)
            reward = 0.0 if winner is None else (1.0 if winner == self.agent_player else -1.0)
        return self._observation(), reward, self._over, False, self._info(opponent_action=reply, winner=winner)

    def _opponent_move(self) -> int:
        """Let the opponent move in the current state; return its action."""
        legal = self.model.legal_action_ids(self._state)
        reply = self.opponent(self._state, legal, self.np_random)
        if isinstance(reply, (bool, np.bool_)) or not isinstance(reply, (int, np.integer)) or reply not in legal:
            raise RuntimeError(f"the opponent returned {reply!r}, not one of the legal actions {legal}")
        self._state = self.model.step(self._state, int(reply)).state
        return int(reply)

    def _info(self, illegal: bool = False, **extra: Any) -> dict[str, Any]:
        """Return the info dict; the action mask is all False once the game is over."""
        info = super()._info(illegal, **extra)
        info["is_success"] = info.get("winner") == self.agent_player
        if self._over:
            info["action_mask"] = np.zeros(self.model.num_actions, dtype=bool)
        return info

    def action_masks(self) -> np.ndarray:
        """Return the boolean mask of the agent's legal actions (all False once the game is over)."""
        if self._over:
            return np.zeros(self.model.num_actions, dtype=bool)
        return super().action_masks()
