"""Gymnasium environments and level sets (planning pillar).

Importing this package registers seven environments in gymnasium's ``hybrid`` namespace
(idempotently: a second import, or :func:`register_envs` called again, changes nothing):

- ``hybrid/SlidingPuzzle-v0``: :class:`~hybrid.tasks.envs.sliding_puzzle.SlidingPuzzleEnv`, 200 steps;
- ``hybrid/LightsOut-v0``: :class:`~hybrid.tasks.envs.lights_out.LightsOutEnv`, 100 steps;
- ``hybrid/TwistedLightsOut-v0``: :class:`~hybrid.tasks.envs.lights_out.TwistedLightsOutEnv` (Lights Out
  with every frame swirled, Latplan's *Twisted Lights Out*), 100 steps;
- ``hybrid/Blocksworld-v0``: :class:`~hybrid.tasks.envs.blocksworld.BlocksworldEnv`, 100 steps;
- ``hybrid/Sokoban-v0``: ``hybrid.tasks.envs.sokoban.SokobanEnv``, 120 steps (Boxoban's limit);
- ``hybrid/TicTacToe-v0``: :class:`~hybrid.tasks.envs.tic_tac_toe.TicTacToeEnv`, 9 steps;
- ``hybrid/ConnectFour-v0``: :class:`~hybrid.tasks.envs.connect_four.ConnectFourEnv`, 42 steps

(``max_episode_steps``, counted in agent steps: the ``TimeLimit`` wrapper truncates, no
env truncates itself; ``gymnasium.make(id, max_episode_steps=n)`` sets another limit).
Every env reports ``info["is_success"]`` (puzzle solved, game won), so
:func:`~hybrid.tasks.envs.grid_env.episode_succeeded` reads them all alike. Importing
registers the ids, so
``import hybrid.tasks.envs; gymnasium.make("hybrid/LightsOut-v0")`` and
``gymnasium.make("hybrid.tasks.envs:hybrid/LightsOut-v0")`` both work; keyword arguments of
``make`` go to the env's constructor. Each env's rules are a pure
:class:`~hybrid.tasks.envs.model.TransitionModel` at ``env.unwrapped.model`` (the model classes
are importable from here too), so that a planner searches without stepping the env.

The two-player games never reach their limits (9 and 42 are more agent moves than a
game has); the puzzles' limits are several times their hardest instances (31 moves for
the 8-puzzle, 15 presses for 5 x 5 Lights Out, 9 moves for 4 blocks in Blocksworld); Sokoban keeps Boxoban's 120.
"""

from __future__ import annotations

import gymnasium
from hybrid.tasks.envs.blocksworld import BlocksworldEnv, BlocksworldModel
from hybrid.tasks.envs.connect_four import ConnectFourEnv, ConnectFourModel
from hybrid.tasks.envs.lights_out import LightsOutEnv, LightsOutModel, TwistedLightsOutEnv
from hybrid.tasks.envs.model import Transition, TransitionModel
from hybrid.tasks.envs.opponents import UCTOpponent, make_opponent, random_opponent
from hybrid.tasks.envs.sliding_puzzle import SlidingPuzzleEnv, SlidingPuzzleModel
from hybrid.tasks.envs.tic_tac_toe import TicTacToeEnv, TicTacToeModel

#: The registered envs: id -> (entry point, max_episode_steps).
ENV_SPECS: dict[str, tuple[str, int | None]] = {
    "hybrid/SlidingPuzzle-v0": ("hybrid.tasks.envs.sliding_puzzle:SlidingPuzzleEnv", 200),
    "hybrid/LightsOut-v0": ("hybrid.tasks.envs.lights_out:LightsOutEnv", 100),
    "hybrid/TwistedLightsOut-v0": ("hybrid.tasks.envs.lights_out:TwistedLightsOutEnv", 100),
    "hybrid/Blocksworld-v0": ("hybrid.tasks.envs.blocksworld:BlocksworldEnv", 100),
    "hybrid/Sokoban-v0": ("hybrid.tasks.envs.sokoban:SokobanEnv", 120),
    "hybrid/TicTacToe-v0": ("hybrid.tasks.envs.tic_tac_toe:TicTacToeEnv", 9),
    "hybrid/ConnectFour-v0": ("hybrid.tasks.envs.connect_four:ConnectFourEnv", 42),
}


def register_envs() -> list[str]:
    """Register every env of :data:`ENV_SPECS` that gymnasium's registry lacks; return the ids registered now."""
    added = []
    for env_id, (entry_point, max_steps) in ENV_SPECS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point, max_episode_steps=max_steps)
            added.append(env_id)
    return added


register_envs()

__all__ = [
    "ENV_SPECS",
    "BlocksworldEnv",
    "BlocksworldModel",
    "ConnectFourEnv",
    "ConnectFourModel",
    "LightsOutEnv",
    "LightsOutModel",
    "SlidingPuzzleEnv",
    "SlidingPuzzleModel",
    "TicTacToeEnv",
    "TicTacToeModel",
    "Transition",
    "TransitionModel",
    "TwistedLightsOutEnv",
    "UCTOpponent",
    "make_opponent",
    "random_opponent",
    "register_envs",
]
