"""Puzzle benchmarks of the hybrid planners: 8-puzzle (Latplan's protocol), Lights Out, Sokoban, all from pixels.

Each benchmark trains (or loads from the cache) a perception net on a few labelled
frames of *generated* instances, reads each test instance from its rendered frame,
searches from the state read, and checks the plan by replaying it on the **true**
state: a misread that yields a plan for the wrong puzzle counts as a failure. Each
returns a plain dict (JSON-ready) with the figures, the per-instance seconds, and
``interactions``: the labelled frames the hybrid learned from, the environment
interactions a deep-RL baseline can be given 10x or 100x of; and the two labels of
:mod:`hybrid.planning.labels`, ``rules`` ("rules given": the env's model) and ``data``
(what the perception was trained from: "labelled frames"; "none" for Sokoban from symbols).

- :func:`eight_puzzle_benchmark`: Latplan (Asai & Fukunaga 2018): perception from at
  most 500 labelled frames; state accuracy on 1,000 test frames; 20 instances at 7 and
  20 at 14 random-walk moves from the goal, each solved within 1 s by A* with Manhattan
  distance + linear conflicts (targets: >= 99.5% of test states read entirely right,
  >= 95% of instances solved).
- :func:`lights_out_benchmark`: uniform solvable 5 x 5 patterns solved exactly over GF(2)
  with the fewest presses (target >= 95% solved from pixels).
- :func:`sokoban_benchmark`: Boxoban levels (the 1,000 shipped test levels by default),
  perception trained on generated 10 x 10 4-box levels only, the push-level solver within
  ``time_limit_s`` per level (target >= 99% within 10 s).
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import numpy as np

from hybrid.neural.planning.perception import collect_labelled_frames
from hybrid.planning.agents import make_agent
from hybrid.planning.labels import RULES_GIVEN, PlanningLabels, perception_data, planning_labels
from hybrid.planning.perceive import SOKOBAN_TRAINING_KWARGS, frames_of_states, train_perception
from hybrid.planning.plan import machine_info, solve_levels, summarise_records
from hybrid.symbolic.planning.puzzles import solve_lights_out, solve_sliding_puzzle
from hybrid.tasks._checks import check_int, check_positive
from hybrid.tasks.envs.lights_out import LightsOutModel
from hybrid.tasks.envs.sliding_puzzle import SlidingPuzzleModel
from hybrid.tasks.envs.sokoban import Level, load_boxoban, load_levels

__all__ = ["eight_puzzle_benchmark", "lights_out_benchmark", "sokoban_benchmark"]

#: Offset between the seed of the training frames and that of the test frames (disjoint random streams).
TEST_SEED_OFFSET = 1_000_003


def _perception_figures(perception: Any, env_id: str, env_kwargs: dict[str, Any], n: int, seed: int) -> dict:
    """State and cell accuracy of ``perception`` on ``n`` fresh labelled frames of the env (another seed)."""
    frames, grids = collect_labelled_frames(env_id, n, seed=seed + TEST_SEED_OFFSET, env_kwargs=env_kwargs)
    t0 = time.perf_counter()
    acc = perception.score(frames, grids)
    return {
        "test_frames": n,
        "state_accuracy": acc["state_accuracy"],
        "cell_accuracy": acc["cell_accuracy"],
        "read_seconds_per_frame": (time.perf_counter() - t0) / n,
        "fit_seconds": None if getattr(perception, "fit_seconds_", None) is None else float(perception.fit_seconds_),
        "from_cache": getattr(perception, "from_cache_", None),
        "cache_path": None if getattr(perception, "cache_path_", None) is None else str(perception.cache_path_),
    }


def _stats(seconds: list[float]) -> dict[str, float | None]:
    if not seconds:
        return {"median_seconds": None, "max_seconds": None, "mean_seconds": None}
    return {
        "median_seconds": statistics.median(seconds),
        "max_seconds": max(seconds),
        "mean_seconds": sum(seconds) / len(seconds),
    }


def _run_instances(
    agent: Any, model: Any, states: list[Any], frames: list[np.ndarray], time_limit_s: float, optimal: Any
) -> list[dict[str, Any]]:
    """Solve each frame with the agent, replay the plan on the true state; one record per instance."""
    records = []
    for i, (true_state, frame) in enumerate(zip(states, frames, strict=True)):
        agent.reset()
        res = agent.solve(frame, time_limit_s)
        read_right = res.state == true_state
        state, legal = true_state, True
        for a in res.actions:
            if a not in model.legal_action_ids(state):
                legal = False
                break
            state = model.step(state, a).state
        reached = legal and model.is_terminal(state)
        solved = bool(res.solved and reached and res.seconds <= time_limit_s)
        if solved:
            reason = "solved"
        elif res.solved and not reached:
            reason = "plan fails on the true state"
        elif res.solved:
            reason = "time limit"
        else:
            reason = res.reason
        best = optimal(true_state)
        records.append({
            "index": i,
            "solved": solved,
            "reason": reason,
            "seconds": res.seconds,
            "perceive_seconds": res.perceive_seconds,
            "search_seconds": res.search_seconds,
            "moves": len(res.actions) if solved else None,
            "optimal_moves": best,
            "optimal": bool(solved and len(res.actions) == best),
            "perception_correct": bool(read_right),
            "expanded": None if res.search is None else int(res.search.expanded),
        })
    return records


def _summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    solved = [r for r in records if r["solved"]]
    return {
        "solved": len(solved),
        "total": len(records),
        "solved_rate": len(solved) / len(records) if records else None,
        "optimal": sum(r["optimal"] for r in records),
        **_stats([r["seconds"] for r in records]),
        "seconds": [round(r["seconds"], 6) for r in records],
        "instances": records,
    }


def eight_puzzle_benchmark(
    n_frames: int = 500,
    distances: tuple[int, ...] = (7, 14),
    instances: int = 20,
    seed: int = 0,
    time_limit_s: float = 1.0,
    *,
    test_frames: int = 1000,
    cache_dir: str | os.PathLike | None = None,
    device: str = "cpu",
    progress: bool = False,
    perception_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The 8-puzzle from pixels under Latplan's protocol: perception accuracy, then instances solved within a limit.

    Args:
        n_frames: labelled frames the perception trains on (Latplan: <= 500).
        distances: random-walk lengths from the goal of the instances
            (:meth:`~hybrid.tasks.envs.sliding_puzzle.SlidingPuzzleModel.scramble`; the true distance may be shorter).
        instances: instances per distance.
        seed: seeds the perception (frames and training), the test frames and the instances.
        time_limit_s: seconds per instance, reading the frame included.
        test_frames: fresh labelled frames the perception is scored on.
        cache_dir, device, progress, perception_kwargs: as :func:`~hybrid.planning.perceive.train_perception`.

    Returns:
        ``{"benchmark": "8-puzzle", "rules", "data", "interactions", "perception": {"state_accuracy", "cell_accuracy",
        "test_frames", ...}, "distances": {"7": {"solved", "total", "solved_rate", "optimal",
        "median_seconds", "max_seconds", "seconds", "instances"}, ...}, "solved", "total", "solved_rate",
        "targets", "settings", "machine", "wall_seconds"}``.

    Raises:
        ValueError: naming ``n_frames``, ``distances``, ``instances``, ``seed``, ``time_limit_s`` or ``test_frames``.
    """
    t0 = time.perf_counter()
    n_frames = check_int("n_frames", n_frames, 1)
    instances = check_int("instances", instances, 1)
    test_frames = check_int("test_frames", test_frames, 1)
    seed = check_int("seed", seed, 0)
    time_limit_s = float(check_positive("time_limit_s", time_limit_s, integer=False))
    if not isinstance(distances, (tuple, list)) or not distances:
        raise ValueError(f"distances must be a non-empty tuple of ints >= 1, got {distances!r}")
    distances = tuple(check_int("distances", d, 1) for d in distances)
    env_id, env_kwargs = "hybrid/SlidingPuzzle-v0", {"size": 3}
    perception = train_perception(env_id, n_frames, seed, env_kwargs, cache_dir, device, progress,
                                  perception_kwargs=perception_kwargs)
    pfig = _perception_figures(perception, env_id, env_kwargs, test_frames, seed)
    model = SlidingPuzzleModel(3)
    agent = make_agent(env_id, perception, env_kwargs, time_limit_s=time_limit_s)

    def optimal(state: tuple[int, ...]) -> int:
        return int(solve_sliding_puzzle(state, 3).cost)

    per_distance = {}
    all_records = []
    for d in distances:
        rng = np.random.default_rng([seed, d])
        states = [model.scramble(rng, d) for _ in range(instances)]
        frames = frames_of_states(env_id, [model.to_grid(s) for s in states], env_kwargs)
        records = _run_instances(agent, model, states, frames, time_limit_s, optimal)
        per_distance[str(d)] = _summary(records)
        all_records += records
    solved = sum(r["solved"] for r in all_records)
    return {
        "benchmark": "8-puzzle",
        **planning_labels(agent).as_dict(),
        "protocol": "Latplan (Asai & Fukunaga 2018): <= 500 labelled frames, instances 7 and 14 moves from the goal",
        "interactions": n_frames,
        "perception": pfig,
        "distances": per_distance,
        "solved": solved,
        "total": len(all_records),
        "solved_rate": solved / len(all_records),
        "targets": {"state_accuracy": 0.995, "solved_rate": 0.95, "seconds_per_instance": time_limit_s},
        "settings": {"n_frames": n_frames, "distances": list(distances), "instances": instances, "seed": seed,
                     "time_limit_s": time_limit_s, "test_frames": test_frames,
                     "solver": "A*, Manhattan distance + linear conflicts"},
        "machine": machine_info(),
        "wall_seconds": time.perf_counter() - t0,
    }


def lights_out_benchmark(
    n_frames: int = 500,
    instances: int = 100,
    seed: int = 0,
    *,
    size: int = 5,
    time_limit_s: float = 1.0,
    test_frames: int = 1000,
    cache_dir: str | os.PathLike | None = None,
    device: str = "cpu",
    progress: bool = False,
    perception_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Lights Out from pixels: uniform solvable patterns read by the perception net, solved exactly over GF(2).

    Args:
        n_frames: labelled frames the perception trains on.
        instances: test patterns (uniform over the solvable non-empty patterns).
        seed: seeds the perception, the test frames and the instances.
        size: side of the board (default 5).
        time_limit_s: seconds per instance, reading included.
        test_frames: fresh labelled frames the perception is scored on.
        cache_dir, device, progress, perception_kwargs: as :func:`~hybrid.planning.perceive.train_perception`.

    Returns:
        ``{"benchmark": "lights-out", "rules", "data", "interactions", "perception", "solved", "total", "solved_rate",
        "optimal" (plans with the fewest presses), "median_seconds", "max_seconds", "seconds",
        "instances", "targets", "settings", "machine", "wall_seconds"}``.

    Raises:
        ValueError: naming ``n_frames``, ``instances``, ``seed``, ``size``, ``time_limit_s`` or ``test_frames``.
    """
    t0 = time.perf_counter()
    n_frames = check_int("n_frames", n_frames, 1)
    instances = check_int("instances", instances, 1)
    test_frames = check_int("test_frames", test_frames, 1)
    seed = check_int("seed", seed, 0)
    size = check_int("size", size, 2)
    time_limit_s = float(check_positive("time_limit_s", time_limit_s, integer=False))
    env_id, env_kwargs = "hybrid/LightsOut-v0", {"size": size}
    perception = train_perception(env_id, n_frames, seed, env_kwargs, cache_dir, device, progress,
                                  perception_kwargs=perception_kwargs)
    pfig = _perception_figures(perception, env_id, env_kwargs, test_frames, seed)
    model = LightsOutModel(size)
    agent = make_agent(env_id, perception, env_kwargs, time_limit_s=time_limit_s)
    rng = np.random.default_rng([seed, size, 7])
    states = [model.sample_state(rng) for _ in range(instances)]
    frames = frames_of_states(env_id, [model.to_grid(s) for s in states], env_kwargs)

    def optimal(state: int) -> int:
        return int(solve_lights_out(state, size).cost)

    records = _run_instances(agent, model, states, frames, time_limit_s, optimal)
    return {
        "benchmark": "lights-out",
        **planning_labels(agent).as_dict(),
        "interactions": n_frames,
        "perception": pfig,
        **_summary(records),
        "targets": {"solved_rate": 0.95},
        "settings": {"n_frames": n_frames, "instances": instances, "seed": seed, "size": size,
                     "time_limit_s": time_limit_s, "test_frames": test_frames,
                     "solver": "Gauss-Jordan over GF(2), fewest presses over the null space"},
        "machine": machine_info(),
        "wall_seconds": time.perf_counter() - t0,
    }


def sokoban_benchmark(
    levels: list[Level] | str | os.PathLike | None = None,
    n_frames: int = 500,
    time_limit_s: float = 10.0,
    from_pixels: bool = True,
    seed: int = 0,
    *,
    cache_dir: str | os.PathLike | None = None,
    device: str = "cpu",
    progress: bool = False,
    perception_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Sokoban levels solved by the hybrid agent, from pixels by default (perception trained on generated levels).

    Args:
        levels: a list of levels, a level file or folder, or None for the 1,000 shipped
            Boxoban test levels (``unfiltered/test/000.txt``).
        n_frames: labelled frames of generated 10 x 10 4-box levels the perception trains on.
        time_limit_s: seconds per level, reading the frame included.
        from_pixels: read each level from its frame (else from its grid of cell classes).
        seed: seeds the perception's frames and training.
        cache_dir, device, progress, perception_kwargs: as :func:`~hybrid.planning.perceive.train_perception`.

    Returns:
        ``{"benchmark": "sokoban", "rules", "data", "interactions", "solved", "total", "solved_rate", "median_seconds",
        "median_seconds_solved", "mean_seconds", "max_seconds", "reasons", "perception" (accuracy on the
        levels' frames, or None), "records", "settings", "machine", "wall_seconds"}``.

    Raises:
        ValueError: naming ``levels``, ``n_frames``, ``time_limit_s`` or ``seed``.
    """
    t0 = time.perf_counter()
    n_frames = check_int("n_frames", n_frames, 1)
    seed = check_int("seed", seed, 0)
    time_limit_s = float(check_positive("time_limit_s", time_limit_s, integer=False))
    if levels is None:
        level_list = load_boxoban()
        source = "Boxoban unfiltered/test/000.txt (shipped)"
    elif isinstance(levels, (str, os.PathLike)):
        try:
            level_list = load_levels(levels)
        except ValueError as err:
            raise ValueError(f"levels: {err}") from None
        source = str(levels)
    else:
        level_list = list(levels)
        if not level_list or not all(isinstance(lv, Level) for lv in level_list):
            raise ValueError("levels must be a non-empty list of Level objects, a level file, or None")
        source = f"{len(level_list)} levels given"
    perception = None
    pinfo = None
    if from_pixels:
        perception = train_perception("hybrid/Sokoban-v0", n_frames, seed, SOKOBAN_TRAINING_KWARGS, cache_dir,
                                      device, progress, perception_kwargs=perception_kwargs)
        pinfo = {
            "interactions": n_frames,
            "trained_on": "generated levels 10x10, 4 boxes",
            "fit_seconds": None if getattr(perception, "fit_seconds_", None) is None
            else float(perception.fit_seconds_),
            "from_cache": getattr(perception, "from_cache_", None),
        }
    records = solve_levels(level_list, from_pixels=from_pixels, perception=perception, time_limit_s=time_limit_s,
                           progress=progress)
    return {
        "benchmark": "sokoban",
        **PlanningLabels(RULES_GIVEN, perception_data(perception)).as_dict(),
        "levels": source,
        "interactions": n_frames if from_pixels else 0,
        **summarise_records(records, level_list, pinfo),
        "perception": pinfo,
        "records": records,
        "settings": {"n_frames": n_frames, "time_limit_s": time_limit_s, "from_pixels": from_pixels, "seed": seed,
                     "solver": "hybrid.symbolic.planning.sokoban.solve, mode 'fast'"},
        "machine": machine_info(),
        "wall_seconds": time.perf_counter() - t0,
    }
