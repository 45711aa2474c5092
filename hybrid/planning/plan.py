"""``hybrid plan``: solve every level of a Sokoban level file, from symbols or from pixels, and write the results.

:func:`plan_levels` reads a level file in the standard text format (an XSB collection,
or Boxoban's ``; N`` layout; :func:`~hybrid.tasks.envs.sokoban.load_levels`), and for each level:

- symbolic (``from_pixels=False``): the agent gets the level's grid of cell classes;
- from pixels (``from_pixels=True``): the level is drawn as the env draws it
  (:func:`~hybrid.tasks.envs.sokoban.render_grid`), and a perception net trained on *generated*
  10 x 10 4-box levels only (:func:`~hybrid.planning.perceive.train_perception`, cached)
  reads the whole level back from the frame: walls, goals, boxes and player;

then :func:`~hybrid.symbolic.planning.sokoban.solve` searches from the state read, within
``time_limit_s`` per level (reading the frame counts in it), and the plan is replayed on
the **true** level: a level counts as solved only when the replay solves it within the
limit. A level that cannot be solved (a deadlock, or too hard for the limit) is reported
unsolved with the search's reason (``"exhausted"``, ``"time limit"``); a frame read into
no valid level is reported with reason ``"perception"``.

Files written to ``out`` (when given):

- ``results.jsonl``: one JSON object per level, written as soon as it is solved:
  ``index``, ``name``, ``solved``, ``seconds``, ``moves``, ``pushes``, ``reason``,
  ``perception_correct`` (None without pixels), ``cells_wrong``, ``expanded`` and
  ``solution`` (LURD notation: ``u d l r`` for moves, upper case for pushes), plus the
  ``key`` of the run's settings. A rerun with the same settings resumes after the
  levels already written; a run with other settings starts the file over.
- ``summary.json``: ``solved``, ``total``, ``median_seconds`` and the rest (see
  :func:`plan_levels`), with the machine the run was measured on.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.evaluate.machine import machine_info  # re-exported: puzzles and callers read it here
from hybrid.evaluate.stages import dumps_strict
from hybrid.planning.agents import make_agent
from hybrid.planning.envs import planning_env, planning_env_ids
from hybrid.planning.perceive import SOKOBAN_TRAINING_KWARGS, perception_key, read_grid, train_perception
from hybrid.tasks.envs.sokoban import TILE_SIZE, Level, SokobanModel, load_levels, render_grid

__all__ = ["PLAN_ENVS", "lurd", "machine_info", "plan_levels", "solve_levels", "summarise_records"]

#: The env ids ``hybrid plan`` supports: the rows of :data:`hybrid.planning.envs.PLANNING_ENVS` with ``level_files``.
PLAN_ENVS: tuple[str, ...] = planning_env_ids("level_files")
#: Bumped when a result line's meaning changes (old files are then started over).
RESULTS_VERSION = 1


def lurd(model: SokobanModel, actions: Any) -> str:
    """Write a Sokoban move sequence in LURD notation (``u d l r``; upper case when the move pushes a box).

    Args:
        model: the level's :class:`~hybrid.tasks.envs.sokoban.SokobanModel` (the moves start at its initial state).
        actions: the moves, 0 up, 1 down, 2 left, 3 right.

    Raises:
        ValueError: naming ``actions`` when a move is illegal.
    """
    state = model.initial_state
    out = []
    for i, a in enumerate(actions):
        try:
            nxt = model.step(state, int(a)).state
        except ValueError as err:
            raise ValueError(f"actions[{i}]: {err}") from None
        ch = "udlr"[int(a)]
        out.append(ch.upper() if nxt.boxes != state.boxes else ch)
        state = nxt
    return "".join(out)


def _replay(model: SokobanModel, actions: tuple[int, ...]) -> tuple[bool, int]:
    """Replay moves on the true level: (solves it, pushes); an illegal move does not solve it."""
    state, pushes = model.initial_state, 0
    for a in actions:
        if not model.legal_actions(state)[a]:
            return False, pushes
        nxt = model.step(state, a).state
        pushes += nxt.boxes != state.boxes
        state = nxt
    return model.is_solved(state), pushes


def solve_levels(
    levels: list[Level],
    *,
    from_pixels: bool = False,
    perception: Any = None,
    time_limit_s: float = 10.0,
    tile_size: int = TILE_SIZE,
    skip: set[int] | None = None,
    progress: bool = False,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Solve levels one by one with the hybrid Sokoban agent; return one record per level (see the module docstring).

    Args:
        levels: the levels.
        from_pixels: read each level from its frame with ``perception`` (else from its grid).
        perception: a fitted :class:`~hybrid.neural.planning.perception.GridPerception` (required with ``from_pixels``).
        time_limit_s: seconds per level, perception included (> 0).
        tile_size: pixels per cell of the frames drawn (must match what the perception was trained on).
        skip: indexes of levels not to solve (already done).
        progress: show a tqdm bar.
        on_result: called with each record as soon as it is made.

    Returns:
        The records of the levels solved now, in order.

    Raises:
        ValueError: naming ``time_limit_s``, ``perception`` or ``levels``.
    """
    if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float)) or not time_limit_s > 0:
        raise ValueError(f"time_limit_s must be a number > 0, got {time_limit_s!r}")
    if not all(isinstance(lv, Level) for lv in levels):
        raise ValueError("levels must be a list of Level objects")
    skip = skip or set()
    todo = [i for i in range(len(levels)) if i not in skip]
    if from_pixels and perception is None and todo:
        raise ValueError("perception is required when from_pixels is True")
    from tqdm.auto import tqdm

    agent = make_agent(
        "hybrid/Sokoban-v0", perception if from_pixels else None, time_limit_s=float(time_limit_s),
        grid_reader=read_grid,
    )
    records = []
    bar = tqdm(total=len(levels), initial=len(levels) - len(todo), desc="hybrid plan", unit="level",
               disable=not progress, dynamic_ncols=True)
    solved_now = 0
    try:
        for i in todo:
            level = levels[i]
            true_model = SokobanModel(level)
            true_grid = true_model.to_grid(true_model.initial_state)
            observation = render_grid(true_grid, tile_size) if from_pixels else true_grid
            agent.reset()
            res = agent.solve(observation)
            seconds = res.seconds
            rec: dict[str, Any] = {
                "index": i,
                "name": level.name,
                "solved": False,
                "seconds": round(seconds, 6),
                "moves": None,
                "pushes": None,
                "reason": res.reason,
                "perception_correct": None,
                "cells_wrong": None,
                "expanded": None if res.search is None else int(res.search.expanded),
                "solution": None,
            }
            if from_pixels and res.grid is not None:
                wrong = int((np.asarray(res.grid) != true_grid).sum()) if res.grid.shape == true_grid.shape else -1
                rec["perception_correct"] = wrong == 0
                rec["cells_wrong"] = wrong
            if res.solved:
                ok, pushes = _replay(true_model, res.actions)
                if not ok:
                    rec["reason"] = "plan fails on the true level"
                elif seconds > time_limit_s:
                    rec["reason"] = "time limit"
                else:
                    rec.update(solved=True, moves=len(res.actions), pushes=pushes, reason="solved",
                               solution=lurd(true_model, res.actions))
            solved_now += rec["solved"]
            records.append(rec)
            if on_result is not None:
                on_result(rec)
            bar.update(1)
            bar.set_postfix(solved=f"{solved_now}/{len(records)}")
    finally:
        bar.close()
    return records


def summarise_records(
    records: list[dict[str, Any]], levels: list[Level], perception: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Sum up per-level records (see :func:`solve_levels`): solved counts, seconds, reasons, perception accuracy.

    Args:
        records: one record per level.
        levels: the levels (their cell counts give the cell accuracy).
        perception: a dict to complete with ``state_accuracy`` and ``cell_accuracy`` on the levels'
            frames (records made from pixels), or None.

    Returns:
        ``solved``, ``total``, ``solved_rate``, ``median_seconds`` (all levels), ``median_seconds_solved``,
        ``mean_seconds``, ``max_seconds``, ``reasons`` (counts per reason), and ``perception`` when given.

    Raises:
        ValueError: naming ``records`` when there is none.
    """
    if not records:
        raise ValueError("records must hold at least one level's record")
    seconds = [r["seconds"] for r in records]
    solved = [r for r in records if r["solved"]]
    reasons: dict[str, int] = {}
    for r in records:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    out: dict[str, Any] = {
        "solved": len(solved),
        "total": len(records),
        "solved_rate": len(solved) / len(records),
        "median_seconds": statistics.median(seconds),
        "median_seconds_solved": statistics.median(r["seconds"] for r in solved) if solved else None,
        "mean_seconds": sum(seconds) / len(seconds),
        "max_seconds": max(seconds),
        "reasons": reasons,
    }
    if perception is not None:
        read = [r for r in records if r.get("cells_wrong") is not None and r["cells_wrong"] >= 0]
        cells = sum(levels[r["index"]].rows * levels[r["index"]].cols for r in records)
        perception["state_accuracy"] = sum(bool(r.get("perception_correct")) for r in records) / len(records)
        perception["cell_accuracy"] = (
            1.0 - sum(r["cells_wrong"] for r in read) / cells if len(read) == len(records) else None
        )
        out["perception"] = perception
    return out


def _settings_key(text_hash: str, from_pixels: bool, time_limit_s: float, pkey: str | None, tile_size: int) -> str:
    blob = json.dumps(
        {"v": RESULTS_VERSION, "levels": text_hash, "from_pixels": from_pixels, "time_limit_s": float(time_limit_s),
         "perception": pkey, "tile_size": tile_size},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _read_previous(path: Path, key: str, total: int) -> list[dict[str, Any]]:
    """Records of an earlier run with the same settings (empty if none, or if its settings differ)."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by an interruption
        if rec.get("key") != key:
            return []
        if isinstance(rec.get("index"), int) and 0 <= rec["index"] < total:
            out.append(rec)
    seen: dict[int, dict[str, Any]] = {}
    for rec in out:
        seen[rec["index"]] = rec
    return [seen[i] for i in sorted(seen)]


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.glob("*.txt")) if path.is_dir() else [path]:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def plan_levels(
    level_file: str | os.PathLike,
    from_pixels: bool = False,
    time_limit_s: float = 10.0,
    out: str | os.PathLike | None = None,
    perception_frames: int = 500,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    *,
    env_id: str = "hybrid/Sokoban-v0",
    device: str = "cpu",
    perception: Any = None,
    perception_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Solve every level of a Sokoban level file (the ``hybrid plan`` command); write and return the summary.

    Args:
        level_file: a level file in the standard text format (XSB, or Boxoban's ``; N``
            layout), or a folder of ``*.txt`` level files.
        from_pixels: read each level from its rendered frame with a perception net
            trained on generated levels only (else from its grid of cell classes).
        time_limit_s: seconds per level, perception included (> 0).
        out: folder for ``results.jsonl`` and ``summary.json`` (None: write nothing).
        perception_frames: labelled frames of generated 10 x 10 4-box levels the
            perception trains on (the hybrid's environment interactions).
        seed: seeds the perception's frames and training.
        cache_dir: the perception cache (default :func:`~hybrid.planning.perceive.default_cache_dir`).
        progress: show tqdm bars (levels; perception training).
        env_id: must be ``"hybrid/Sokoban-v0"`` (the only env ``hybrid plan`` reads level files for).
        device: where the perception net runs (``"cpu"``, ``"cuda"``, ``"auto"``).
        perception: an already fitted perception to use instead of training/loading one.
        perception_kwargs: :class:`~hybrid.neural.planning.perception.GridPerception` hyper-parameters.

    Returns:
        The summary: ``solved``, ``total``, ``solved_rate``, ``median_seconds`` (over all
        levels), ``median_seconds_solved``, ``max_seconds``, ``mean_seconds``, ``reasons``
        (counts), ``time_limit_s``, ``from_pixels``, ``perception`` (``interactions``,
        ``cell_accuracy`` and ``state_accuracy`` on the levels' frames, how it was obtained)
        or None, ``level_file``, ``env``, ``machine``, ``wall_seconds``, ``resumed`` (levels
        taken from an earlier run) and ``results`` (the path of ``results.jsonl``, or None).

    Raises:
        ValueError: naming ``env_id``, ``level_file``, ``time_limit_s``, ``perception_frames``,
            ``out`` or ``seed``.
    """
    t_start = time.perf_counter()
    try:
        planning_env(env_id, need="level_files")
    except ValueError as err:
        raise ValueError(f"{err} (hybrid plan reads Sokoban level files)") from None
    if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float)) or not time_limit_s > 0:
        raise ValueError(f"time_limit_s must be a number > 0, got {time_limit_s!r}")
    if isinstance(perception_frames, bool) or not isinstance(perception_frames, int) or perception_frames < 1:
        raise ValueError(f"perception_frames must be an int >= 1, got {perception_frames!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")
    path = Path(level_file)
    try:
        levels = load_levels(path)
    except ValueError as err:
        raise ValueError(f"level_file: {err}") from None

    tile_size = TILE_SIZE
    pkey = None
    pinfo: dict[str, Any] | None = None
    if from_pixels:
        if perception is None:
            pkey = perception_key(env_id, SOKOBAN_TRAINING_KWARGS, perception_frames, seed, perception_kwargs)
        else:
            cached = getattr(perception, "cache_path_", None)
            pkey = f"given-{Path(cached).stem}" if cached is not None else f"given-{id(perception)}"
    key = _settings_key(_file_hash(path), bool(from_pixels), float(time_limit_s), pkey, tile_size)

    results_path = None
    previous: list[dict[str, Any]] = []
    if out is not None:
        folder = Path(out)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"out: cannot create folder {str(folder)!r} ({err.strerror or err})") from None
        results_path = folder / "results.jsonl"
        previous = _read_previous(results_path, key, len(levels))
        with open(results_path, "w", encoding="utf-8") as fh:  # rewrite what is kept, drop a cut last line
            for rec in previous:
                fh.write(dumps_strict(rec) + "\n")

    done = {rec["index"] for rec in previous}
    if from_pixels and len(done) < len(levels):
        if perception is None:
            perception = train_perception(
                env_id, perception_frames, seed, SOKOBAN_TRAINING_KWARGS, cache_dir=cache_dir, device=device,
                progress=progress, perception_kwargs=perception_kwargs,
            )
    if from_pixels:
        pinfo = {
            "interactions": int(getattr(perception, "interactions_", perception_frames)),
            "trained_on": f"generated levels {SOKOBAN_TRAINING_KWARGS['dim'][0]}x{SOKOBAN_TRAINING_KWARGS['dim'][1]}, "
            f"{SOKOBAN_TRAINING_KWARGS['num_boxes']} boxes",
            "seed": seed,
            "from_cache": getattr(perception, "from_cache_", None),
            "cache_path": None if getattr(perception, "cache_path_", None) is None else str(perception.cache_path_),
            "fit_seconds": None if getattr(perception, "fit_seconds_", None) is None
            else round(float(perception.fit_seconds_), 3),
        }

    fh = open(results_path, "a", encoding="utf-8") if results_path is not None else None  # noqa: SIM115

    def write(rec: dict[str, Any]) -> None:
        if fh is not None:
            fh.write(dumps_strict({**rec, "key": key}) + "\n")
            fh.flush()

    try:
        new = solve_levels(
            levels, from_pixels=from_pixels, perception=perception, time_limit_s=float(time_limit_s),
            tile_size=tile_size, skip=done, progress=progress, on_result=write,
        )
    finally:
        if fh is not None:
            fh.close()
    records = sorted(previous + [{**r, "key": key} for r in new], key=lambda r: r["index"])

    summary = {
        "env": env_id,
        "level_file": str(path),
        **summarise_records(records, levels, pinfo),
        "time_limit_s": float(time_limit_s),
        "from_pixels": bool(from_pixels),
        "solver": "hybrid.symbolic.planning.sokoban.solve (mode 'fast': weighted A* over pushes, w=2)",
        "perception": pinfo,
        "interactions": 0 if pinfo is None else pinfo["interactions"],
        "resumed": len(previous),
        "wall_seconds": round(time.perf_counter() - t_start, 3),
        "machine": machine_info(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "results": None if results_path is None else str(results_path),
    }
    if out is not None:
        (Path(out) / "summary.json").write_text(dumps_strict(summary, indent=2) + "\n", encoding="utf-8")
    return summary
