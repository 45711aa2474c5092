"""Labelled frames of grid worlds, with numpy only: drawing them from an env, checking them, cutting them into cells.

Every environment of :mod:`hybrid.tasks.envs` draws its state on a regular grid: cell
``(i, j)`` of a ``rows x cols`` board fills the pixels ``[i*h:(i+1)*h, j*w:(j+1)*w]``
of an ``H x W`` frame. This module holds the data side of perception, which needs no
network: :func:`collect_labelled_frames` draws labelled frames from an env (random legal
actions; the label of each frame is ``model.to_grid(info["state"])``), :func:`check_frames`
and :func:`check_grids` validate what a perception is given, :func:`cell_crops` cuts frames
into their cells, :func:`unique_rows` finds the distinct ones, and :func:`grid_accuracy`
scores predicted grids (cells right, states entirely right).

The nets that learn from these frames are in :mod:`hybrid.neural.planning.perception`
(which re-exports :func:`collect_labelled_frames` and :func:`grid_accuracy`) and
:mod:`hybrid.neural.planning.transitions`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from hybrid.tasks._checks import is_int

__all__ = [
    "cell_crops",
    "check_frames",
    "check_grids",
    "collect_labelled_frames",
    "grid_accuracy",
    "unique_rows",
]


def check_frames(frames: Any, rows: int, cols: int, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Return ``frames`` as a ``(N, H, W, 3)`` uint8 array whose sides split into the grid's cells.

    Raises:
        ValueError: naming ``frames`` (not uint8 RGB, empty, sides not whole cells, or not ``shape``).
    """
    if not isinstance(frames, np.ndarray):
        raise ValueError(f"frames must be a numpy array (N, H, W, 3) of uint8, got {type(frames).__name__}")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must have dtype uint8 (RGB 0..255), got {frames.dtype}")
    if frames.ndim != 4 or frames.shape[3] != 3:
        raise ValueError(f"frames must have shape (N, H, W, 3), got {frames.shape}")
    if frames.shape[0] == 0:
        raise ValueError("frames must hold at least one frame")
    h, w = frames.shape[1:3]
    if h % rows or w % cols:
        raise ValueError(
            f"frames of {h}x{w} pixels do not split into a {rows}x{cols} grid of equal cells "
            f"(H must be a multiple of rows={rows} and W of cols={cols})"
        )
    if shape is not None and (h, w) != tuple(shape):
        raise ValueError(f"frames must be {shape[0]}x{shape[1]} pixels as in training, got {h}x{w}")
    return frames


def check_grids(grids: Any, n: int, rows: int, cols: int, num_classes: int) -> np.ndarray:
    """Return ``grids`` as a ``(n, rows, cols)`` int64 array of classes in ``[0, num_classes)``.

    Raises:
        ValueError: naming ``grids`` (not integers, wrong shape, a class out of range).
    """
    if not isinstance(grids, np.ndarray):
        grids = np.asarray(grids)
    if grids.dtype.kind not in "iu":
        raise ValueError(f"grids must hold integer cell classes, got dtype {grids.dtype}")
    if grids.shape != (n, rows, cols):
        raise ValueError(f"grids must have shape ({n}, {rows}, {cols}) (one grid per frame), got {grids.shape}")
    lo, hi = int(grids.min()), int(grids.max())
    if lo < 0 or hi >= num_classes:
        raise ValueError(f"grids must hold classes in [0, {num_classes}), got values in [{lo}, {hi}]")
    return grids.astype(np.int64)


def grid_accuracy(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Score predicted cell grids against the true ones.

    Args:
        predicted, truth: int arrays of the same shape ``(N, rows, cols)`` (or one grid ``(rows, cols)``).

    Returns:
        ``{"cell_accuracy": cells right / cells, "state_accuracy": grids entirely right / grids}``.

    Raises:
        ValueError: shapes that differ or are not grids.
    """
    p, t = np.asarray(predicted), np.asarray(truth)
    if p.shape != t.shape or p.ndim not in (2, 3) or p.size == 0:
        raise ValueError(f"predicted and truth must be grids of the same shape, got {p.shape} and {t.shape}")
    if p.ndim == 2:
        p, t = p[None], t[None]
    same = p == t
    return {"cell_accuracy": float(same.mean()), "state_accuracy": float(same.all(axis=(1, 2)).mean())}


# ============================================================================ cells


def cell_crops(frames: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Cut uint8 frames ``(N, H, W, 3)`` into their cells: uint8 ``(N * rows * cols, h, w, 3)``, row-major per frame."""
    n, h, w, _ = frames.shape
    ch, cw = h // rows, w // cols
    return frames.reshape(n, rows, ch, cols, cw, 3).transpose(0, 1, 3, 2, 4, 5).reshape(n * rows * cols, ch, cw, 3)


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique`` of the rows of a 2-D uint8 array, by their bytes: (first index of each, inverse, counts)."""
    rows = np.ascontiguousarray(rows)
    keys = rows.view(np.dtype((np.void, rows.shape[1]))).reshape(-1)
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    return first, inverse.reshape(-1), counts


# ============================================================================ data from an env


def collect_labelled_frames(
    env: Any,
    n: int,
    seed: int = 0,
    *,
    steps_per_episode: int | None = 16,
    env_kwargs: dict[str, Any] | None = None,
    **reset_options: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` labelled frames from a grid-world env by playing random legal actions.

    The env is reset (``seed`` on the first reset, ``options=reset_options``), then stepped
    with actions drawn uniformly among the legal ones (``info["action_mask"]`` when there
    is one, else ``env.action_space``), with a ``numpy`` generator seeded by ``seed``.
    Every observation, the reset one included, is a frame; its label is
    ``env.unwrapped.model.to_grid(info["state"])`` (the model read after each reset, as an env
    may build one per level). The env is reset when the episode ends
    or after ``steps_per_episode`` steps (a fresh level, a fresh scramble: more varied frames).

    Args:
        env: a gymnasium env id (e.g. ``"hybrid/SlidingPuzzle-v0"``; :mod:`hybrid.tasks.envs` is
            imported so that its ids are registered) or an env instance, whose observations
            are ``(H, W, 3)`` uint8 frames and whose ``info`` holds ``"state"``.
        n: frames to draw (>= 1).
        seed: seeds the first reset and the action choices.
        steps_per_episode: steps before a reset (``None``: only when the episode ends).
        env_kwargs: keyword arguments of ``gymnasium.make`` when ``env`` is an id.
        **reset_options: passed to ``env.reset(options=...)``.

    Returns:
        ``(frames, grids)``: uint8 ``(n, H, W, 3)`` and int64 ``(n, rows, cols)``.

    Raises:
        ValueError: a bad ``n`` or ``steps_per_episode``, an env without ``info["state"]``, a
            model without ``to_grid``, or observations that are not RGB frames.
    """
    check_walk(n, steps_per_episode)
    with opened_env(env, env_kwargs) as env:
        rng = np.random.default_rng(seed)
        env.action_space.seed(int(rng.integers(2**31)))
        frames: list[np.ndarray] = []
        grids: list[np.ndarray] = []

        def record(obs: Any, info: dict) -> None:
            frame = rgb_frame(obs)
            if "state" not in info:
                raise ValueError('the env must report its symbolic state in info["state"]')
            model = getattr(env.unwrapped, "model", None)  # read after each reset: a Sokoban level has its own
            if model is None or not hasattr(model, "to_grid"):
                raise ValueError("env.unwrapped.model must be a TransitionModel with to_grid()")
            frames.append(frame)
            grids.append(np.asarray(model.to_grid(info["state"]), dtype=np.int64))

        obs, info = env.reset(seed=int(seed), options=reset_options or None)
        record(obs, info)
        steps = 0
        while len(frames) < n:
            obs, _, terminated, truncated, info = env.step(random_action(env, info, rng))
            steps += 1
            record(obs, info)
            if len(frames) < n and (terminated or truncated or (steps_per_episode and steps >= steps_per_episode)):
                obs, info = env.reset(options=reset_options or None)
                record(obs, info)
                steps = 0
    return np.stack(frames[:n]), np.stack(grids[:n])


# ------------------------------------------------------------------ random walks in an env


def check_walk(n: Any, steps_per_episode: Any) -> None:
    """Refuse a walk's bad lengths: ``n`` an int >= 1, ``steps_per_episode`` None or an int >= 1 (ValueError)."""
    if not is_int(n) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if steps_per_episode is not None and (not is_int(steps_per_episode) or steps_per_episode < 1):
        raise ValueError(f"steps_per_episode must be None or an int >= 1, got {steps_per_episode!r}")


@contextmanager
def opened_env(env: Any, env_kwargs: dict[str, Any] | None) -> Iterator[Any]:
    """The env to walk: ``gymnasium.make(env, **env_kwargs)`` for an id (closed on exit), else ``env`` itself.

    Raises:
        ValueError: ``env_kwargs`` given with an env instance.
    """
    if not isinstance(env, str):
        if env_kwargs:
            raise ValueError("env_kwargs only apply when env is an id, not an env instance")
        yield env
        return
    import gymnasium as gym
    import hybrid.tasks.envs  # noqa: F401  (registers the hybrid/* ids)

    made = gym.make(env, **(env_kwargs or {}))
    try:
        yield made
    finally:
        made.close()


def random_action(env: Any, info: dict, rng: np.random.Generator) -> int:
    """A uniformly random legal action: from ``info["action_mask"]`` when it allows any, else the action space's."""
    mask = info.get("action_mask")
    if mask is not None and np.any(mask):
        return int(rng.choice(np.flatnonzero(np.asarray(mask))))
    return int(env.action_space.sample())


def rgb_frame(obs: Any) -> np.ndarray:
    """A copy of ``obs`` as an ``(H, W, 3)`` uint8 frame (ValueError for anything else)."""
    frame = np.asarray(obs)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"observations must be (H, W, 3) uint8 frames, got {frame.dtype} {frame.shape}")
    return frame.copy()
