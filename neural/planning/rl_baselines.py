"""Deep-RL baselines from pixels: stable-baselines3's PPO and DQN on the envs of :mod:`hybrid.tasks.envs`.

These are the "pure deep" side of the planning pillar: a CNN policy that sees only the
RGB frames and the reward, with no model of the rules, trained by stable-baselines3 (a
maintained reference implementation, not a rewrite of our own). What this module adds is
only the plumbing:

- **Frames.** SB3's ``CnnPolicy`` uses NatureCNN (Mnih et al., 2015): 8 x 8 stride 4,
  4 x 4 stride 2 and 3 x 3 convolutions, which need frames of at least 36 x 36 pixels.
  Every frame is therefore area-resized (PIL's box filter; nearest-neighbour duplication
  when upscaling) to ``frame_size x frame_size`` (64 by default: small enough for a CPU,
  large enough for NatureCNN and for 10 x 10 Sokoban cells of ~6 pixels) by
  :class:`ResizeFrame`, then transposed to channel-first by SB3's ``VecTransposeImage``,
  as SB3 does for any image observation.
- **Illegal actions.** Neither SB3 PPO nor DQN can mask actions. With
  ``illegal_action="env"`` (the default) the env's own rule applies: in :mod:`hybrid.tasks.envs`
  an illegal action is a no-op that costs a step for the puzzles and a lost game for
  tic-tac-toe and Connect Four, so the policy learns the rules from the reward; with
  ``"noop"`` (:class:`IllegalActionAsNoop`) an action the env's
  ``info["action_mask"]`` forbids leaves the state as it is, costs one interaction, and
  earns ``illegal_reward`` (the frame and the episode's step count still advance, so time
  limits still end the episode).
- **Budget.** :func:`interactions_used` is the number of env steps the learner took
  (``model.num_timesteps``), which can exceed ``total_timesteps`` by up to one PPO
  rollout (``n_steps * n_envs``).
- **Success.** :func:`evaluate_success` plays whole episodes and counts one as a success
  when it ends with ``terminated`` (not a time-limit truncation) and the goal reached /
  game won: the first of ``info["is_success"]`` (gymnasium's convention; the grid envs of
  :mod:`hybrid.tasks.envs` set it), ``info["success"]``, ``info["solved"]`` (Sokoban) that the
  env reports, else a final reward ``> 0`` (the puzzles pay their goal reward on the
  solving move; the two-player envs pay +1 for a win against their opponent).

Default hyper-parameters are SB3's Atari settings (rl-zoo) scaled to a small budget: PPO
with 4 environments, ``n_steps=128``, ``batch_size=256``, 4 epochs, ``lr=2.5e-4``,
``clip_range=0.1``, ``ent_coef=0.01``; DQN with a replay buffer of at most 50,000
frames, learning from 1,000 steps, ``train_freq=4``, target updates every 1,000 steps and
an exploration schedule over the first 10% of the budget. ``algo_kwargs`` override any of
them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from hybrid.neural.device import torch_device
from hybrid.tasks._checks import is_int
from hybrid.tasks.envs.grid_env import episode_succeeded

__all__ = [
    "IllegalActionAsNoop",
    "ResizeFrame",
    "evaluate_success",
    "interactions_used",
    "make_env",
    "resize_frame",
    "sb3_from_bytes",
    "sb3_to_bytes",
    "train_sb3",
]

ALGORITHMS = ("ppo", "dqn")
#: Least frame side SB3's NatureCNN accepts (8x8 stride 4, 4x4 stride 2, 3x3 stride 1).
NATURE_CNN_MIN_FRAME = 36


class ResizeFrame(gym.ObservationWrapper):
    """Area-resize ``(H, W, 3)`` uint8 frames to ``(size, size, 3)``.

    Args:
        env: an env with ``Box(0, 255, (H, W, 3), uint8)`` observations.
        size: side of the output frames (>= 36 for SB3's NatureCNN).

    Raises:
        ValueError: observations that are not RGB uint8 frames, or a bad ``size``.
    """

    def __init__(self, env: gym.Env, size: int = 64):
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or space.dtype != np.uint8 or len(space.shape) != 3:
            raise ValueError(f"the env must observe (H, W, 3) uint8 frames, got {space}")
        if space.shape[2] != 3:
            raise ValueError(f"the env must observe RGB frames (H, W, 3), got shape {space.shape}")
        if not is_int(size) or size < 8:
            raise ValueError(f"size must be an int >= 8, got {size!r}")
        self.size = int(size)
        self.observation_space = gym.spaces.Box(0, 255, (self.size, self.size, 3), np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        """The frame, resized."""
        return resize_frame(observation, self.size)


def resize_frame(frame: np.ndarray, size: int) -> np.ndarray:
    """An ``(H, W, 3)`` frame as a ``(size, size, 3)`` uint8 frame: area average when shrinking,
    nearest pixel when growing; a frame already that size is returned as it is."""
    from PIL import Image

    frame = np.asarray(frame, dtype=np.uint8)
    if frame.shape[:2] == (size, size):
        return frame
    h, w = frame.shape[:2]
    method = Image.Resampling.BOX if h >= size and w >= size else Image.Resampling.NEAREST
    return np.array(Image.fromarray(frame).resize((size, size), method), dtype=np.uint8)


def _time_limit(env: gym.Env) -> int | None:
    """The episode limit of the first ``TimeLimit`` in ``env``'s wrapper chain, else its spec's, else None."""
    e: Any = env
    while isinstance(e, gym.Wrapper):
        if isinstance(e, gym.wrappers.TimeLimit):
            return int(e._max_episode_steps)
        e = e.env
    spec = env.spec
    return None if spec is None else spec.max_episode_steps


class IllegalActionAsNoop(gym.Wrapper):
    """Turn actions that ``info["action_mask"]`` forbids into a step that changes nothing.

    The state, and so the frame, stay as they were; the step returns ``illegal_reward``,
    ``terminated=False`` and ``info["illegal_action"] = True``. An internal step counter
    truncates the episode after ``max_episode_steps`` steps of either kind (taken from the
    env's spec when ``None``), so that a policy stuck on an illegal action still ends.

    Args:
        env: an env whose ``info`` holds ``"action_mask"`` (legal moves of the state shown).
        illegal_reward: reward of an illegal action.
        max_episode_steps: steps per episode, legal or not (``None``: the limit of a ``TimeLimit``
            in ``env``'s wrapper chain, else its spec's, else no limit).
    """

    def __init__(self, env: gym.Env, illegal_reward: float = 0.0, max_episode_steps: int | None = None):
        super().__init__(env)
        self.illegal_reward = float(illegal_reward)
        if max_episode_steps is None:
            max_episode_steps = _time_limit(env)
        self.max_episode_steps = max_episode_steps
        self._obs: Any = None
        self._info: dict = {}
        self._steps = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        """Reset the env and remember its frame and legal actions."""
        self._obs, self._info = self.env.reset(**kwargs)
        self._steps = 0
        return self._obs, self._info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        """Step the env, or stand still on an illegal action (see the class docstring)."""
        self._steps += 1
        mask = self._info.get("action_mask")
        a = int(np.asarray(action).reshape(-1)[0]) if np.ndim(action) else int(action)
        if mask is not None and not (0 <= a < len(mask) and bool(mask[a])):
            truncated = self.max_episode_steps is not None and self._steps >= self.max_episode_steps
            return self._obs, self.illegal_reward, False, truncated, {**self._info, "illegal_action": True}
        self._obs, reward, terminated, truncated, self._info = self.env.step(a)
        if self.max_episode_steps is not None and self._steps >= self.max_episode_steps:
            truncated = truncated or not terminated
        return self._obs, reward, terminated, truncated, self._info


def make_env(
    env_id: str | Callable[[], gym.Env],
    env_kwargs: dict[str, Any] | None = None,
    frame_size: int | None = 64,
    illegal_action: str = "env",
    illegal_reward: float = 0.0,
) -> gym.Env:
    """Build one env as the baselines see it: ``gymnasium.make`` -> illegal-action rule -> :class:`ResizeFrame`.

    Args:
        env_id: a registered id (``"hybrid/SlidingPuzzle-v0"``; :mod:`hybrid.tasks.envs` is imported
            so its ids are registered) or a function returning an env.
        env_kwargs: keyword arguments of ``gymnasium.make`` (ignored for a function).
        frame_size: side frames are resized to (``None``: as the env draws them).
        illegal_action: ``"env"`` (the env's own rule) or ``"noop"`` (:class:`IllegalActionAsNoop`).
        illegal_reward: reward of an illegal action under ``"noop"``.

    Returns:
        The wrapped env.

    Raises:
        ValueError: an unknown ``illegal_action``, or observations that are not RGB frames.
    """
    if illegal_action not in ("env", "noop"):
        raise ValueError(f"illegal_action must be 'env' or 'noop', got {illegal_action!r}")
    if isinstance(env_id, str):
        if env_id.startswith("hybrid/"):
            import hybrid.tasks.envs  # noqa: F401  (registers the hybrid/* ids)
        env = gym.make(env_id, **(env_kwargs or {}))
    elif callable(env_id):
        env = env_id()
    else:
        raise ValueError(f"env_id must be an env id or a function returning an env, got {type(env_id).__name__}")
    if illegal_action == "noop":
        env = IllegalActionAsNoop(env, illegal_reward=illegal_reward)
    if frame_size is not None:
        env = ResizeFrame(env, frame_size)
    return env


def _defaults(algo: str, total_timesteps: int, n_envs: int) -> dict[str, Any]:
    if algo == "ppo":
        return {
            "n_steps": 128,
            "batch_size": min(256, 128 * n_envs),
            "n_epochs": 4,
            "learning_rate": 2.5e-4,
            "clip_range": 0.1,
            "ent_coef": 0.01,
            "vf_coef": 0.5,
        }
    return {
        "buffer_size": max(1, min(50_000, total_timesteps)),
        "learning_starts": min(1_000, total_timesteps // 10),
        "batch_size": 32,
        "learning_rate": 1e-4,
        "train_freq": 4,
        "gradient_steps": 1,
        "target_update_interval": min(1_000, max(1, total_timesteps // 10)),
        "exploration_fraction": 0.1,
        "exploration_final_eps": 0.01,
        "optimize_memory_usage": False,
    }


def train_sb3(
    algo: str,
    env_id: str | Callable[[], gym.Env],
    total_timesteps: int,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    device: str = "cpu",
    n_envs: int | None = None,
    frame_size: int | None = 64,
    illegal_action: str = "env",
    illegal_reward: float = 0.0,
    algo_kwargs: dict[str, Any] | None = None,
    policy_kwargs: dict[str, Any] | None = None,
    progress_bar: bool = False,
) -> Any:
    """Train stable-baselines3's PPO or DQN with ``CnnPolicy`` on the env's frames.

    Args:
        algo: ``"ppo"`` or ``"dqn"``.
        env_id: a registered env id or a function returning an env (observations: RGB uint8 frames).
        total_timesteps: interactions to train for (PPO rounds up to whole rollouts).
        seed: seeds the envs (``reset(seed=seed + i)`` for env ``i``) and SB3 (``seed=``).
        env_kwargs: keyword arguments of ``gymnasium.make``.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        n_envs: parallel envs in one process (``DummyVecEnv``); ``None``: 4 for PPO, 1 for DQN.
        frame_size, illegal_action, illegal_reward: as in :func:`make_env`.
        algo_kwargs: override the module's default hyper-parameters of the algorithm.
        policy_kwargs: SB3's ``policy_kwargs`` (e.g. ``features_extractor_kwargs``).
        progress_bar: SB3's own progress bar (tqdm + rich).

    Returns:
        The trained SB3 model (``PPO`` or ``DQN``); :func:`interactions_used` reads its budget.

    Raises:
        ValueError: an unknown algorithm or device, a bad budget or ``n_envs``.
    """
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecTransposeImage

    if algo not in ALGORITHMS:
        raise ValueError(f"algo must be one of {ALGORITHMS}, got {algo!r}")
    if not is_int(total_timesteps) or total_timesteps < 1:
        raise ValueError(f"total_timesteps must be an int >= 1, got {total_timesteps!r}")
    if not is_int(seed):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if n_envs is None:
        n_envs = 4 if algo == "ppo" else 1
    if not is_int(n_envs) or n_envs < 1:
        raise ValueError(f"n_envs must be an int >= 1, got {n_envs!r}")
    dev = torch_device(device)

    def factory(i: int) -> Callable[[], gym.Env]:
        def build() -> gym.Env:
            env = make_env(env_id, env_kwargs, frame_size, illegal_action, illegal_reward)
            env.action_space.seed(int(seed) + i)
            return Monitor(env)

        return build

    venv = DummyVecEnv([factory(i) for i in range(n_envs)])
    h, w = venv.observation_space.shape[:2]
    if min(h, w) < NATURE_CNN_MIN_FRAME and policy_kwargs is None:
        venv.close()
        raise ValueError(
            f"frames of {h}x{w} are below NatureCNN's {NATURE_CNN_MIN_FRAME}x{NATURE_CNN_MIN_FRAME}: "
            "set frame_size (e.g. 64) or pass a features_extractor_class in policy_kwargs"
        )
    venv.seed(int(seed))
    venv = VecTransposeImage(venv)
    kwargs = {**_defaults(algo, int(total_timesteps), n_envs), **(algo_kwargs or {})}
    cls = PPO if algo == "ppo" else DQN
    model = cls(
        "CnnPolicy",
        venv,
        seed=int(seed),
        device=dev,
        verbose=0,
        policy_kwargs=policy_kwargs,
        **kwargs,
    )
    model.learn(total_timesteps=int(total_timesteps), progress_bar=progress_bar)
    return model


def sb3_to_bytes(model: Any) -> bytes:
    """A trained SB3 ``model`` as bytes: SB3's own zip format (weights and settings, not its envs).

    An SB3 model does not pickle (its vectorised envs hold class members); a method that
    holds one pickles these bytes instead and reads them back with :func:`sb3_from_bytes`.
    """
    import io

    buffer = io.BytesIO()
    model.save(buffer)
    return buffer.getvalue()


def sb3_from_bytes(algo: str, data: bytes, device: str = "cpu") -> Any:
    """The SB3 model (``"ppo"`` or ``"dqn"``) that :func:`sb3_to_bytes` wrote, on ``device``, with no env.

    Raises:
        ValueError: an unknown algorithm.
    """
    import io

    from stable_baselines3 import DQN, PPO

    if algo not in ALGORITHMS:
        raise ValueError(f"algo must be one of {ALGORITHMS}, got {algo!r}")
    cls = PPO if algo == "ppo" else DQN
    return cls.load(io.BytesIO(data), device=torch_device(device))


def interactions_used(model: Any) -> int:
    """Env steps the SB3 ``model`` took while learning (``model.num_timesteps``)."""
    return int(model.num_timesteps)


def evaluate_success(
    model: Any,
    env_id: str | Callable[[], gym.Env],
    n_episodes: int = 100,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    deterministic: bool = True,
    frame_size: int | None = 64,
    illegal_action: str = "env",
    illegal_reward: float = 0.0,
    max_steps: int = 10_000,
) -> float:
    """Play ``n_episodes`` episodes with ``model`` and return the fraction that succeed.

    Success: the episode ends with ``terminated=True`` and the first of
    ``info["is_success"]``, ``info["success"]``, ``info["solved"]`` that the env reports is
    true, or (when it reports none) the final reward is ``> 0``.
    A time-limit truncation, or ``max_steps`` steps without an end, is a failure.

    Args:
        model: anything with SB3's ``predict(obs, deterministic=...)`` (a trained PPO/DQN).
        env_id: the env id or function the model was trained on.
        n_episodes: episodes to play (>= 1).
        seed: the first reset's seed (later resets continue its random stream).
        env_kwargs: keyword arguments of ``gymnasium.make``.
        deterministic: greedy actions (True) or sampled ones.
        frame_size, illegal_action, illegal_reward: must match training (see :func:`make_env`).
        max_steps: a safety cap on the steps of one episode.

    Returns:
        The success rate in ``[0, 1]``.

    Raises:
        ValueError: a bad ``n_episodes`` or ``max_steps``.
    """
    if not is_int(n_episodes) or n_episodes < 1:
        raise ValueError(f"n_episodes must be an int >= 1, got {n_episodes!r}")
    if not is_int(max_steps) or max_steps < 1:
        raise ValueError(f"max_steps must be an int >= 1, got {max_steps!r}")
    env = make_env(env_id, env_kwargs, frame_size, illegal_action, illegal_reward)
    wins = 0
    try:
        obs, _ = env.reset(seed=int(seed))
        for _ in range(n_episodes):
            for _ in range(max_steps):
                action, _ = model.predict(obs, deterministic=deterministic)
                obs, reward, terminated, truncated, info = env.step(int(np.asarray(action).reshape(-1)[0]))
                if terminated or truncated:
                    wins += episode_succeeded(terminated, info, reward)
                    break
            obs, _ = env.reset()
    finally:
        env.close()
    return wins / n_episodes
