"""Perception for the hybrid planners: trained on labelled frames of generated instances, cached on disk.

:func:`train_perception` draws labelled frames from a registered env
(:func:`~hybrid.neural.planning.perception.collect_labelled_frames`: random legal play from
random starts, each frame labelled with ``model.to_grid`` of its state), fits a
:class:`~hybrid.neural.planning.perception.GridPerception`, and keeps the weights in a cache
folder keyed by a hash of everything that decides them (env id, env keyword arguments,
number of frames, seed, the perception's hyper-parameters, a format version). A second
call with the same settings loads the file (``torch.load(weights_only=True)``) instead
of training.

Sokoban perception sees **generated** levels only (the env's reverse-play generator,
10 x 10 with 4 boxes by default): never the levels it will be asked to solve. A level
file cannot be passed to it (``env_kwargs`` with ``level`` or ``level_file`` is refused).

:func:`read_grid` reads a frame of *any* number of cells with a perception trained on
one grid shape: the per-cell classifier looks at one cell at a time, so the frame's
cells are repacked into frames of the training shape, read, and put back (exact, since
each cell's class depends on its pixels only). That lets a net trained on 10 x 10
generated levels read a 7 x 19 level of an XSB collection drawn with the same tiles.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.evaluate.stages import jsonable
from hybrid.neural.planning.perception import GridPerception, collect_labelled_frames, grid_accuracy
from hybrid.planning.envs import planning_env
from hybrid.tasks._checks import check_int, is_int

__all__ = [
    "CACHE_VERSION",
    "SOKOBAN_TRAINING_KWARGS",
    "default_cache_dir",
    "frames_of_states",
    "perception_key",
    "read_grid",
    "read_grids",
    "train_perception",
]

#: Bumped when the way frames are drawn or the cache file is laid out changes (old files are then ignored).
CACHE_VERSION = 1

#: The generated levels Sokoban perception trains on (Boxoban's shape: 10 x 10, 4 boxes; its row's
#: ``training_kwargs`` in :data:`hybrid.planning.envs.PLANNING_ENVS`).
SOKOBAN_TRAINING_KWARGS: dict[str, Any] = dict(planning_env("hybrid/Sokoban-v0").training_kwargs)


def default_cache_dir() -> Path:
    """The perception cache folder: ``$HYBRID_CACHE_DIR/perception`` if set, else ``~/.cache/hybrid/perception``."""
    root = os.environ.get("HYBRID_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "hybrid"
    return base / "perception"


def _grid_spec(env_id: str, env_kwargs: dict[str, Any]) -> tuple[int, int, int]:
    """``(rows, cols, num_classes)`` of an env's grids (its row's ``grid_spec``)."""
    return planning_env(env_id, need="grid_spec").grid_spec(env_kwargs)


def _canonical(value: Any) -> Any:
    """A canonical JSON form for cache keys: dict keys sorted, tuples as lists, and numpy values
    made Python ones by :func:`hybrid.evaluate.stages.jsonable` (the project's one converter).

    A thin wrapper, not a copy: it adds the key sorting the hash needs and turns the
    converter's ``TypeError`` into the ``ValueError`` this module's callers document.
    """
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        return _canonical(jsonable(value))
    except TypeError:
        raise ValueError(f"env_kwargs and perception_kwargs must be plain JSON-like values, got {value!r}") from None


def _perception_config(rows: int, cols: int, num_classes: int, seed: int, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The hyper-parameters of the GridPerception that will be built (defaults filled in)."""
    try:
        p = GridPerception(rows, cols, num_classes, seed=seed, **kwargs)
    except TypeError as err:
        raise ValueError(f"perception_kwargs: {err}") from None
    return _hyper_parameters(p)


def _hyper_parameters(p: GridPerception) -> dict[str, Any]:
    """The constructor's hyper-parameters (scikit-learn style, held as given), without device and progress."""
    return {k: v for k, v in sorted(vars(p).items()) if not k.endswith("_") and k not in ("device", "progress")}


def perception_key(
    env_id: str,
    env_kwargs: dict[str, Any] | None,
    n_frames: int,
    seed: int,
    perception_kwargs: dict[str, Any] | None = None,
) -> str:
    """Return the cache key (16 hex digits) of a perception trained with these settings.

    The key hashes the env id, its keyword arguments, the number of frames, the seed,
    the perception's full hyper-parameters (defaults filled in) and :data:`CACHE_VERSION`;
    ``device`` and ``progress`` are left out (they do not change what is learned).

    Raises:
        ValueError: naming ``env_id``, ``n_frames``, ``seed``, ``env_kwargs`` or ``perception_kwargs``.
    """
    kwargs = _training_env_kwargs(env_id, env_kwargs)
    check_int("n_frames", n_frames, 1)
    if not is_int(seed):
        raise ValueError(f"seed must be an int, got {seed!r}")
    rows, cols, k = _grid_spec(env_id, kwargs)
    config = _perception_config(rows, cols, k, int(seed), _perception_kwargs(perception_kwargs))
    blob = {
        "version": CACHE_VERSION,
        "env_id": env_id,
        "env_kwargs": _canonical(kwargs),
        "n_frames": int(n_frames),
        "seed": int(seed),
        "perception": _canonical(config),
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]


def _perception_kwargs(perception_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    kwargs = dict(perception_kwargs or {})
    for banned in ("rows", "cols", "num_classes", "seed", "device", "progress"):
        if banned in kwargs:
            raise ValueError(f"perception_kwargs may not set {banned!r} (it is decided by the env or an argument)")
    return kwargs


def _training_env_kwargs(env_id: str, env_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """The env's keyword arguments for drawing training frames (its row's defaults; Sokoban: generated levels only)."""
    row = planning_env(env_id, need="grid_spec")
    if env_kwargs is not None and not isinstance(env_kwargs, dict):
        raise ValueError(f"env_kwargs must be a dict or None, got {type(env_kwargs).__name__}")
    kwargs = dict(env_kwargs or {})
    if "obs_type" in kwargs and kwargs["obs_type"] != "rgb":
        raise ValueError(f"env_kwargs: obs_type must be 'rgb', got {kwargs['obs_type']!r}")
    for banned in row.training_refuses:
        if banned in kwargs:
            raise ValueError(f"env_kwargs may not set {banned!r}: perception trains on generated levels only")
    if row.training_kwargs:
        kwargs = {**dict(row.training_kwargs), **kwargs}
    if "dim" in kwargs:
        kwargs["dim"] = tuple(int(v) for v in kwargs["dim"])
    return kwargs


def perception_frames(env_id: str, n_frames: int, seed: int = 0,
                      env_kwargs: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The labelled frames :func:`train_perception` trains on, drawn again: ``(frames, grids)``.

    The same arguments draw the same frames (the random walks are seeded), so a trained
    perception's training inputs can be had back without keeping them.

    Raises:
        ValueError: naming ``env_id``, ``n_frames`` or ``env_kwargs``.
    """
    kwargs = _training_env_kwargs(env_id, env_kwargs)
    n_frames = check_int("n_frames", n_frames, 1)
    return collect_labelled_frames(env_id, n_frames, seed=int(seed), env_kwargs=kwargs)


def train_perception(
    env_id: str,
    n_frames: int = 500,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    cache_dir: str | os.PathLike | None = None,
    device: str = "cpu",
    progress: bool = False,
    *,
    perception_kwargs: dict[str, Any] | None = None,
    use_cache: bool = True,
) -> GridPerception:
    """Return a perception for an env's frames, trained on ``n_frames`` labelled frames (or loaded from the cache).

    Args:
        env_id: ``"hybrid/SlidingPuzzle-v0"``, ``"hybrid/LightsOut-v0"`` or ``"hybrid/Sokoban-v0"`` (a row
            of :data:`hybrid.planning.envs.PLANNING_ENVS` with a ``grid_spec``).
        n_frames: labelled frames to draw and train on (the environment interactions the
            hybrid spends on learning).
        seed: seeds the frames drawn and the net's initialisation and minibatches.
        env_kwargs: the env's keyword arguments (``size``, ``cell_px``, ...; Sokoban: ``dim``,
            ``num_boxes``, ``tile_size``, generator settings, defaults :data:`SOKOBAN_TRAINING_KWARGS`;
            ``level``/``level_file`` are refused: perception never sees the levels to solve).
        cache_dir: the cache folder (default :func:`default_cache_dir`).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (where the net trains and runs).
        progress: show a progress bar while training.
        perception_kwargs: :class:`~hybrid.neural.planning.perception.GridPerception` hyper-parameters
            (``channels``, ``epochs``, ``cell_pixels``, ...); part of the cache key.
        use_cache: read and write the cache (False: always train, write nothing).

    Returns:
        The fitted :class:`~hybrid.neural.planning.perception.GridPerception`, with three extra
        attributes: ``interactions_`` (= ``n_frames``), ``from_cache_`` (True when loaded)
        and ``cache_path_`` (the weights file, or None without the cache).

    Raises:
        ValueError: naming ``env_id``, ``n_frames``, ``seed``, ``env_kwargs``, ``perception_kwargs``
            or ``cache_dir`` (not a writable folder).
    """
    kwargs = _training_env_kwargs(env_id, env_kwargs)
    n_frames = check_int("n_frames", n_frames, 1)
    p_kwargs = _perception_kwargs(perception_kwargs)
    key = perception_key(env_id, kwargs, n_frames, seed, p_kwargs)
    path = None
    if use_cache:
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"cache_dir {str(folder)!r} is not a usable folder ({err.strerror or err})") from None
        slug = env_id.replace("/", "-").replace(":", "-")
        path = folder / f"{slug}-{key}.pt"
        if path.is_file():
            try:
                perception = GridPerception.load(path, device=device)
            except (ValueError, RuntimeError, OSError, EOFError):
                perception = None  # a broken file: train again and overwrite it
            if perception is not None:
                perception.interactions_ = n_frames
                perception.from_cache_ = True
                perception.cache_path_ = path
                return perception

    rows, cols, k = _grid_spec(env_id, kwargs)
    frames, grids = perception_frames(env_id, n_frames, seed, kwargs)
    perception = GridPerception(rows, cols, k, seed=int(seed), device=device, progress=progress, **p_kwargs)
    perception.fit(frames, grids)
    if path is not None:
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        perception.save(tmp)
        os.replace(tmp, path)
        meta = {
            "env_id": env_id,
            "env_kwargs": _canonical(kwargs),
            "n_frames": n_frames,
            "seed": int(seed),
            "perception": _canonical(_hyper_parameters(perception)),
            "fit_seconds": round(float(perception.fit_seconds_), 3),
            "training_accuracy": grid_accuracy(perception.predict(frames), grids),
            "written": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2))
    perception.interactions_ = n_frames
    perception.from_cache_ = False
    perception.cache_path_ = path
    return perception


# ============================================================================ reading frames


def read_grids(perception: GridPerception, frames: list[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    """Read frames of any grid size with a perception trained on one grid shape (cells repacked, see the module).

    Args:
        perception: a fitted :class:`~hybrid.neural.planning.perception.GridPerception`.
        frames: ``(H, W, 3)`` uint8 frames (a list, or an ``(N, H, W, 3)`` array) whose cells have the
            training cell size (``frame_shape_ / (rows, cols)``); frames may differ in size.

    Returns:
        One int64 ``(H / cell_h, W / cell_w)`` grid per frame.

    Raises:
        ValueError: naming ``frames`` when a frame is not RGB uint8 or its sides are not whole cells.
    """
    if not hasattr(perception, "frame_shape_"):
        raise ValueError("perception must be fitted (call fit() or load() first)")
    rows, cols = int(perception.rows), int(perception.cols)
    ch, cw = perception.frame_shape_[0] // rows, perception.frame_shape_[1] // cols
    shapes, cells = [], []
    for i, frame in enumerate(frames):
        f = np.asarray(frame)
        if f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3:
            raise ValueError(f"frames[{i}] must be an (H, W, 3) uint8 image, got {f.dtype} {f.shape}")
        if f.shape[0] % ch or f.shape[1] % cw:
            raise ValueError(f"frames[{i}] of {f.shape[0]}x{f.shape[1]} pixels is not made of {ch}x{cw}-pixel cells")
        r, c = f.shape[0] // ch, f.shape[1] // cw
        shapes.append((r, c))
        cells.append(f.reshape(r, ch, c, cw, 3).transpose(0, 2, 1, 3, 4).reshape(r * c, ch, cw, 3))
    if not cells:
        return []
    flat = np.concatenate(cells)
    per = rows * cols
    pad = (-len(flat)) % per
    if pad:
        flat = np.concatenate([flat, np.repeat(flat[:1], pad, axis=0)])
    packed = flat.reshape(-1, rows, cols, ch, cw, 3).transpose(0, 1, 3, 2, 4, 5).reshape(-1, rows * ch, cols * cw, 3)
    labels = perception.predict(np.ascontiguousarray(packed)).reshape(-1)
    out, at = [], 0
    for r, c in shapes:
        out.append(labels[at : at + r * c].reshape(r, c).astype(np.int64))
        at += r * c
    return out


def read_grid(perception: GridPerception, frame: np.ndarray) -> np.ndarray:
    """Read one frame of any grid size (see :func:`read_grids`); frames of the training size go straight to the net.

    Raises:
        ValueError: naming ``frame`` when it is not an RGB uint8 image made of whole cells.
    """
    f = np.asarray(frame)
    if f.ndim == 3 and tuple(f.shape[:2]) == tuple(perception.frame_shape_) and f.dtype == np.uint8:
        return perception.predict(f)
    try:
        return read_grids(perception, [f])[0]
    except ValueError as err:
        raise ValueError(str(err).replace("frames[0]", "frame")) from None


def frames_of_states(
    env_id: str, grids: list[np.ndarray], env_kwargs: dict[str, Any] | None = None
) -> list[np.ndarray]:
    """Draw grids of cell classes as the env draws them (the frames the agent sees).

    Args:
        env_id: a puzzle env id (a row of :data:`hybrid.planning.envs.PLANNING_ENVS` that draws grids).
        grids: ``[rows, cols]`` int grids (``model.to_grid(state)``).
        env_kwargs: the env's drawing arguments (``cell_px``; Sokoban ``tile_size``).

    Returns:
        One ``(H, W, 3)`` uint8 frame per grid.

    Raises:
        ValueError: naming ``env_id``.
    """
    return planning_env(env_id, need="draw").draw(list(grids), dict(env_kwargs or {}))
