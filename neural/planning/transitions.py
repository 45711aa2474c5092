"""Perception from transitions alone: learn to read frames with no labelled frame, only the rules.

The data are transitions ``(frame, action, next_frame, terminated)`` of a single-agent env
and its :class:`~hybrid.tasks.envs.model.TransitionModel` (the rules: ``from_grid``, ``step``,
``to_grid``); no ``info["state"]`` and no grid is read. Three steps:

1. **Cluster the cells** (:func:`cluster_cells`). Every cell crop of every frame is
   area-reduced to at most 8 x 8 pixels and clustered by k-means into ``num_classes``
   clusters, one per cell class, on the distinct crops weighted by their counts (a
   renderer that draws each class with one tile gives exactly ``num_classes`` distinct
   crops). Seeding first by farthest-first traversal, which gives a rare class (the one
   Sokoban player standing on a goal) its own cluster where k-means++ and least inertia
   would rather split the floor's noise in two; then, if the rules reject that
   clustering, by k-means++. Each frame becomes a grid of cluster ids.
2. **Name the clusters** (:func:`assign_classes`). The clusters are anonymous; the rules
   name them. For every bijection ``sigma`` from clusters to classes, a transition is
   *consistent* when ``state = model.from_grid(sigma[grid])`` is a valid state and
   either the action is legal and ``model.step(state, action)`` draws
   ``sigma[next_grid]`` with ``done == terminated``, or it is illegal and the frame did
   not change (the envs' no-op). The bijection that leaves the fewest transitions
   inconsistent wins. Search: every bijection in turn (``num_classes! <= 9! = 362,880``),
   the transitions that ended an episode checked first (they are the most telling), and a
   bijection dropped as soon as it fails more transitions than allowed: first none, then
   1, 3 and finally ``tolerance`` of them (iterative deepening: a clean search rejects
   most bijections at their first check). ~25 s for the 8-puzzle's 9 classes on a CPU
   core, well under a second for Sokoban's 7 or Lights Out's 2.
3. **Train the CNN** (:meth:`~hybrid.neural.planning.perception.GridPerception.fit`) on the frames
   labelled by the winning bijection, so that new frames are read by the same net as in
   the supervised mode.

What the rules can and cannot tell apart: a bijection that the rules cannot see is a
symmetry of the dynamics. The sliding puzzle's moves commute with any renaming of the
tiles and Lights Out's presses with swapping on and off; only the goal breaks these
symmetries, so the transitions must include episodes that end at the goal (reset such
envs close to it: ``scramble=`` / ``presses=`` options). :attr:`TransitionLabelling.tied`
counts the bijections as consistent as the winner: 1 means the rules fixed the names.
Two-player envs (whose ``step`` also plays the opponent's reply) are not supported.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from hybrid.neural.planning.frames import check_walk, opened_env, random_action, rgb_frame

__all__ = [
    "FrameTransitions",
    "TransitionLabelling",
    "assign_classes",
    "cluster_cells",
    "collect_transitions",
    "label_from_transitions",
]

#: The largest number of classes whose bijections :func:`assign_classes` enumerates (9! = 362,880).
MAX_CLASSES = 9


@dataclass
class FrameTransitions:
    """Unlabelled transitions of a grid-world env.

    Attributes:
        frames: uint8 ``(N, H, W, 3)`` frames before each action.
        actions: int64 ``(N,)`` actions taken.
        next_frames: uint8 ``(N, H, W, 3)`` frames after them.
        terminated: bool ``(N,)``: the step ended the episode (goal reached, or no move left).
        models: the transition model in force for each transition (one object shared
            while the env keeps its rules; Sokoban builds one per level).
    """

    frames: np.ndarray
    actions: np.ndarray
    next_frames: np.ndarray
    terminated: np.ndarray
    models: list[Any] = field(repr=False)

    def __len__(self) -> int:
        return len(self.actions)


@dataclass
class TransitionLabelling:
    """How the rules named the clusters.

    Attributes:
        assignment: int64 ``(num_classes,)``: class of each cluster.
        consistency: fraction of the checked transitions consistent under ``assignment``.
        tied: bijections exactly as consistent as ``assignment`` (1: the rules fixed the names).
        checked: transitions checked.
        cluster_grids: int64 ``(2N, rows, cols)`` cluster id of each cell of ``frames`` then ``next_frames``.
    """

    assignment: np.ndarray
    consistency: float
    tied: int
    checked: int
    cluster_grids: np.ndarray = field(repr=False)


def collect_transitions(
    env: Any,
    n: int,
    seed: int = 0,
    *,
    steps_per_episode: int | None = 16,
    env_kwargs: dict[str, Any] | None = None,
    **reset_options: Any,
) -> FrameTransitions:
    """Play random legal actions and record ``n`` transitions, without reading any state or label.

    Args:
        env: a gymnasium env id (:mod:`hybrid.tasks.envs` is imported to register ``hybrid/*``) or an
            env instance; observations must be RGB uint8 frames and ``env.unwrapped.model``
            the rules (read after each reset).
        n: transitions to record (>= 1).
        seed: seeds the first reset and the action choices.
        steps_per_episode: steps before a reset (``None``: only when the episode ends).
        env_kwargs: keyword arguments of ``gymnasium.make`` when ``env`` is an id.
        **reset_options: passed to ``env.reset(options=...)`` (e.g. ``scramble=3``).

    Returns:
        A :class:`FrameTransitions`.

    Raises:
        ValueError: a bad ``n`` or ``steps_per_episode``, an env without a model, or
            observations that are not RGB frames.
    """
    check_walk(n, steps_per_episode)
    before, after, actions, ends, models = [], [], [], [], []
    with opened_env(env, env_kwargs) as env:
        rng = np.random.default_rng(seed)
        env.action_space.seed(int(rng.integers(2**31)))

        def rules() -> Any:
            model = getattr(env.unwrapped, "model", None)
            if model is None or not hasattr(model, "from_grid"):
                raise ValueError("env.unwrapped.model must be a TransitionModel")
            if getattr(model, "num_players", 1) != 1:
                raise ValueError("transitions alone are supported for single-agent envs only (num_players == 1)")
            return model

        obs, info = env.reset(seed=int(seed), options=reset_options or None)
        model, steps = rules(), 0
        while len(actions) < n:
            action = random_action(env, info, rng)
            nxt, _, terminated, truncated, info = env.step(action)
            before.append(rgb_frame(obs))
            after.append(rgb_frame(nxt))
            actions.append(action)
            ends.append(bool(terminated))
            models.append(model)
            obs, steps = nxt, steps + 1
            if terminated or truncated or (steps_per_episode and steps >= steps_per_episode):
                obs, info = env.reset(options=reset_options or None)
                model, steps = rules(), 0
    return FrameTransitions(
        np.stack(before), np.asarray(actions, dtype=np.int64), np.stack(after), np.asarray(ends, dtype=bool), models
    )


def _features(crops: np.ndarray) -> np.ndarray:
    """uint8 crops ``(M, h, w, 3)`` -> float32 ``(M, d)``: area-reduced to at most 8 x 8, scaled to [0, 1]."""
    x = torch.as_tensor(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float() / 255.0
    h, w = x.shape[-2:]
    if h > 8 or w > 8:
        x = F.adaptive_avg_pool2d(x, (min(h, 8), min(w, 8)))
    return x.flatten(1).numpy()


def _kmeans(x: np.ndarray, weight: np.ndarray, k: int, rng: np.random.Generator | None, iters: int = 100):
    """Weighted k-means: (centroids (k, d), labels (M,), inertia).

    Seeds: farthest-first traversal from the most frequent point when ``rng`` is None
    (each new seed the point farthest from all seeds so far: one seed per well-separated
    group, however rare), else k-means++ drawn from ``rng``.
    """
    m = len(x)
    start = int(np.argmax(weight)) if rng is None else int(rng.choice(m, p=weight / weight.sum()))
    centres = [x[start]]
    d2 = ((x - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        p = weight * d2
        if rng is None or p.sum() <= 0:
            centres.append(x[int(np.argmax(d2))])
        else:
            centres.append(x[rng.choice(m, p=p / p.sum())])
        d2 = np.minimum(d2, ((x - centres[-1]) ** 2).sum(1))
    c = np.stack(centres)
    labels = np.full(m, -1)
    for _ in range(iters):
        dist = (x**2).sum(1)[:, None] - 2 * x @ c.T + (c**2).sum(1)[None]
        new = dist.argmin(1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            w = weight[labels == j]
            if w.sum() > 0:
                c[j] = (x[labels == j] * w[:, None]).sum(0) / w.sum()
    dist = (x**2).sum(1)[:, None] - 2 * x @ c.T + (c**2).sum(1)[None]
    return c, labels, float((weight * np.maximum(dist[np.arange(m), labels], 0)).sum())


def cluster_cells(frames: np.ndarray, rows: int, cols: int, num_classes: int, seed: int | None = None) -> np.ndarray:
    """Cluster the cells of ``frames`` by appearance into ``num_classes`` groups (step 1 of the module docstring).

    Args:
        frames: uint8 ``(N, H, W, 3)``, ``H`` a multiple of ``rows`` and ``W`` of ``cols``.
        rows, cols: the grid.
        num_classes: clusters to form (one per cell class).
        seed: ``None``: k-means seeded by farthest-first traversal (deterministic; finds rare
            but distinct classes); an int: k-means++ seeding from that seed.

    Returns:
        int64 ``(N, rows, cols)`` cluster ids in ``[0, num_classes)``.

    Raises:
        ValueError: bad frames, or fewer distinct cell crops than ``num_classes``.
    """
    from hybrid.neural.planning.frames import cell_crops, check_frames, unique_rows

    frames = check_frames(frames, rows, cols)
    crops = cell_crops(frames, rows, cols)
    first, inverse, counts = unique_rows(crops.reshape(len(crops), -1))
    if len(first) < num_classes:
        raise ValueError(
            f"the frames show {len(first)} distinct cell crops, fewer than num_classes={num_classes}: "
            "every class must appear in the transitions"
        )
    rng = None if seed is None else np.random.default_rng(seed)
    _, labels, _ = _kmeans(_features(crops[first]), counts.astype(np.float64), num_classes, rng)
    return labels[inverse].reshape(len(frames), rows, cols).astype(np.int64)


def _consistent(model: Any, sigma: np.ndarray, g: np.ndarray, a: int, g2: np.ndarray, end: bool) -> bool:
    """Whether one transition agrees with the rules when cluster ``i`` is class ``sigma[i]``."""
    try:
        state = model.from_grid(sigma[g])
    except (ValueError, KeyError, TypeError):
        return False
    if not bool(model.legal_actions(state)[a]):
        return (not end) and np.array_equal(g, g2)  # an illegal action: the env stands still
    t = model.step(state, a)
    return bool(t.done) == bool(end) and np.array_equal(model.to_grid(t.state), sigma[g2])


def assign_classes(
    cluster_grids: np.ndarray,
    next_cluster_grids: np.ndarray,
    actions: np.ndarray,
    terminated: np.ndarray,
    models: list[Any],
    num_classes: int,
    tolerance: float = 0.02,
    max_transitions: int = 300,
    seed: int = 0,
) -> tuple[np.ndarray, float, int, int]:
    """Name the clusters with the rules (step 2 of the module docstring).

    Args:
        cluster_grids, next_cluster_grids: int ``(N, rows, cols)`` cluster ids before and after each action.
        actions: int ``(N,)``; terminated: bool ``(N,)``; models: ``N`` transition models.
        num_classes: classes (= clusters), at most :data:`MAX_CLASSES`.
        tolerance: fraction of inconsistent transitions a bijection may show (clustering slips).
        max_transitions: transitions checked: every terminal one, then others drawn at random.
        seed: seeds that draw.

    Returns:
        ``(assignment, consistency, tied, checked)`` as in :class:`TransitionLabelling`.

    Raises:
        ValueError: more than :data:`MAX_CLASSES` classes, mismatched inputs, or no bijection
            within ``tolerance`` (the clusters do not match the classes, or a class never appears).
    """
    if not 2 <= num_classes <= MAX_CLASSES:
        raise ValueError(f"num_classes must be in 2..{MAX_CLASSES} to enumerate its bijections, got {num_classes}")
    n = len(actions)
    if not (len(cluster_grids) == len(next_cluster_grids) == len(terminated) == len(models) == n) or n == 0:
        raise ValueError("cluster_grids, next_cluster_grids, actions, terminated and models must have one entry each")
    rng = np.random.default_rng(seed)
    ends = np.flatnonzero(terminated)
    rest = rng.permutation(np.flatnonzero(~np.asarray(terminated, dtype=bool)))
    order = np.concatenate([ends, rest])[:max_transitions]
    checks = [(models[i], cluster_grids[i], int(actions[i]), next_cluster_grids[i], bool(terminated[i])) for i in order]
    allowed = math.floor(tolerance * len(checks))
    # iterative deepening on the failures a bijection may show: a clean search rejects most
    # bijections at their first inconsistent transition
    budgets = sorted({b for b in (0, 1, 3, allowed) if b <= allowed})
    best = None
    for budget in budgets:
        best_fails, best, tied = budget, None, 0
        for perm in itertools.permutations(range(num_classes)):
            sigma = np.asarray(perm, dtype=np.int64)
            fails = 0
            for model, g, a, g2, end in checks:
                if not _consistent(model, sigma, g, a, g2, end):
                    fails += 1
                    if fails > best_fails:
                        break
            if fails > best_fails:
                continue
            if best is None or fails < best_fails:
                best_fails, best, tied = fails, sigma, 1
            else:
                tied += 1
        if best is not None:
            break
    if best is None:
        raise ValueError(
            f"no naming of the {num_classes} clusters agrees with the rules on {1 - tolerance:.0%} of "
            f"{len(checks)} transitions: the clusters do not match the classes (a class that never appears?)"
        )
    return best, 1.0 - best_fails / len(checks), tied, len(checks)


def label_from_transitions(
    transitions: FrameTransitions,
    rows: int,
    cols: int,
    num_classes: int,
    seed: int = 0,
    tolerance: float = 0.02,
    max_transitions: int = 300,
    n_init: int = 4,
) -> tuple[np.ndarray, np.ndarray, TransitionLabelling]:
    """Label every frame of ``transitions`` by clustering its cells and naming the clusters with the rules.

    Args:
        transitions: from :func:`collect_transitions` (or built by hand).
        rows, cols, num_classes: the grid and its classes (``num_classes <= 9``).
        seed: seeds the k-means++ clusterings and the draw of checked transitions.
        tolerance, max_transitions: as in :func:`assign_classes`.
        n_init: clusterings tried: farthest-first seeding, then ``n_init - 1`` k-means++ seeds,
            until one is named with every checked transition consistent and no tie; the best
            (consistency, then fewest ties) is kept.

    Returns:
        ``(frames, grids, labelling)``: the frames then the next frames ``(2N, H, W, 3)``, their
        inferred grids ``(2N, rows, cols)``, and the :class:`TransitionLabelling`.

    Raises:
        ValueError: as :func:`cluster_cells` and :func:`assign_classes`.
    """
    n = len(transitions)
    frames = np.concatenate([transitions.frames, transitions.next_frames])
    best: TransitionLabelling | None = None
    error: ValueError | None = None
    # candidate clusterings, farthest-first first: the rules pick the one they agree with best
    for init in [None, *range(seed, seed + max(0, n_init - 1))]:
        clusters = cluster_cells(frames, rows, cols, num_classes, seed=init)
        try:
            sigma, consistency, tied, checked = assign_classes(
                clusters[:n],
                clusters[n:],
                transitions.actions,
                transitions.terminated,
                transitions.models,
                num_classes,
                tolerance=tolerance,
                max_transitions=max_transitions,
                seed=seed,
            )
        except ValueError as err:
            error = err
            continue
        if best is None or (consistency, -tied) > (best.consistency, -best.tied):
            best = TransitionLabelling(sigma, consistency, tied, checked, clusters)
        if consistency == 1.0 and tied == 1:
            break
    if best is None:
        raise error if error is not None else ValueError("no clustering of the cells could be named")
    return frames, best.assignment[best.cluster_grids], best
