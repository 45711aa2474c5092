"""Latplan's protocol: per domain, plans from pixels with rules learned, rules given, and model-free PPO.

A *domain* (:data:`LATPLAN_DOMAINS`) is an env of :data:`hybrid.planning.envs.PLANNING_ENVS`
with the keyword arguments of its pictures, Latplan's budget of training transitions
(5,000 for the 8-puzzle and Lights Out, 20,000 for Blocksworld) and a walk that scrambles
its goal. An *instance* (:func:`latplan_instances`) is a start state whose optimal distance
to the goal, measured by the env's exact solver, is exactly 7 or 14 (Latplan: 20 of each).

Each agent gets the start frame and the goal frame and returns env actions; the plan is
then executed in the true rules from the true start (:func:`~hybrid.planning.learned.execute_plan`)
and scored (:func:`score_plans`):

- **found**: the agent returned a plan;
- **valid**: every action legal, and the plan ends at the goal;
- **optimal**: valid and of the optimal length.

The agents: rules learned (:class:`~hybrid.planning.learned.LearnedRulesPlanner`, fitted on
unlabelled transitions), rules given (:func:`rules_given_plans`: a perception net trained on
labelled frames reads the start frame, the env's exact solver plans) and PPO from pixels
(:func:`ppo_plans`: the policy acts from the start until the goal or a step limit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybrid.planning.envs import planning_env
from hybrid.planning.labels import PlanningLabels
from hybrid.planning.learned import execute_plan
from hybrid.symbolic.planning.best_first import best_first_search, model_successors

__all__ = [
    "LATPLAN_DOMAINS",
    "LATPLAN_STEPS",
    "Instance",
    "LatplanDomain",
    "domain_frames",
    "latplan_domain",
    "latplan_instances",
    "learned_plans",
    "ppo_plans",
    "reachable_states",
    "rules_given_plans",
    "score_plans",
    "symbol_purity",
    "training_transitions",
]

#: Latplan's optimal plan lengths, 20 instances each.
LATPLAN_STEPS: tuple[int, ...] = (7, 14)


@dataclass(frozen=True)
class LatplanDomain:
    """One domain of the protocol.

    Attributes:
        key: short name (``"8-puzzle"``), used in tables and stage names.
        env_id: the registered env (a row of the planning env table with a solver and ``draw``).
        env_kwargs: the env's keyword arguments (the pictures: digits, twist, cell size).
        transitions: Latplan's budget of unlabelled training transitions.
        about: the pictures, in a few words.
        episode_steps: random steps per episode when collecting transitions.
        planner_kwargs: :class:`~hybrid.planning.learned.LearnedRulesPlanner` arguments for this domain.
        level: a Sokoban level's text (standard format): the domain is that one level, whose
            reachable states are enumerated (instances by exact distance, transitions by sampling them).
        ppo: PPO can be run (its env starts from a given state).
        steps: the instances' optimal lengths (Latplan's 7 and 14, unless the domain has no state that far).
    """

    key: str
    env_id: str
    env_kwargs: tuple[tuple[str, Any], ...]
    transitions: int
    about: str
    episode_steps: int = 16
    planner_kwargs: tuple[tuple[str, Any], ...] = ()
    level: str | None = None
    ppo: bool = True
    steps: tuple[int, ...] = (7, 14)

    @property
    def kwargs(self) -> dict[str, Any]:
        """``env_kwargs`` as a dict (with ``level`` when the domain is one Sokoban level)."""
        return {**dict(self.env_kwargs), **({"level": self.level} if self.level else {})}

    def model(self) -> Any:
        """The true rules (a :class:`~hybrid.tasks.envs.model.TransitionModel`)."""
        if self.level is not None:
            from hybrid.tasks.envs.sokoban import SokobanModel

            return SokobanModel.from_text(self.level)
        return planning_env(self.env_id).model(self.kwargs)


#: A small Sokoban room (7 x 7, 2 boxes; 2,412 reachable states), made by this package's generator (seed 2).
SOKOBAN_ROOM = "\n".join(["#######", "#   ###", "#  $@##", "#  .###", "#  $ ##", "#.   ##", "#######"])

#: The domains, Latplan's budgets.
LATPLAN_DOMAINS: tuple[LatplanDomain, ...] = (
    LatplanDomain("8-puzzle", "hybrid/SlidingPuzzle-v0", (("digits", "handwritten"), ("cell_px", 16)), 5000,
                  "3x3 sliding puzzle, tiles drawn with handwritten digits (scikit-learn's load_digits)"),
    LatplanDomain("lights-out", "hybrid/LightsOut-v0", (("size", 5),), 5000, "5x5 Lights Out"),
    LatplanDomain("twisted-lights-out", "hybrid/TwistedLightsOut-v0", (("size", 5),), 5000,
                  "5x5 Lights Out under a swirl warp (strength 3): cells are no longer squares"),
    # with 4 blocks no state is 14 moves from the goal: of the 839 others, 123 are 7 away, 23 are 8, 1 is 9
    LatplanDomain("blocksworld", "hybrid/Blocksworld-v0", (("num_blocks", 4),), 20000,
                  "4 coloured blocks on 4 table places",
                  planner_kwargs=(("preconditions", "observed"),), steps=(7, 8)),
    LatplanDomain("sokoban", "hybrid/Sokoban-v0", (("tile_size", 8),), 20000,
                  "a 7x7 Sokoban room with 2 boxes (one level, as Latplan's; 2,412 states)",
                  planner_kwargs=(("preconditions", "observed"),), level=SOKOBAN_ROOM, ppo=False),
)


def latplan_domain(key: str) -> LatplanDomain:
    """Return the domain of a key.

    Raises:
        ValueError: naming ``key`` and the known keys.
    """
    for d in LATPLAN_DOMAINS:
        if d.key == key:
            return d
    raise ValueError(f"domain must be one of {[d.key for d in LATPLAN_DOMAINS]}, got {key!r}")


# ============================================================================ data


def domain_frames(domain: LatplanDomain, states: list[Any]) -> np.ndarray:
    """Return the uint8 frames ``(N, H, W, 3)`` the domain's env draws for true states."""
    row, model = planning_env(domain.env_id), domain.model()
    return np.stack(row.draw([model.to_grid(s) for s in states], domain.kwargs))


def training_transitions(domain: LatplanDomain, n: int | None = None, seed: int = 0) -> Any:
    """Random walks in the domain's env: ``n`` (default: Latplan's budget) unlabelled transitions.

    Returns:
        A :class:`~hybrid.neural.planning.transitions.FrameTransitions` (frames, actions, next frames).
    """
    from hybrid.neural.planning.transitions import FrameTransitions, collect_transitions

    n = int(n or domain.transitions)
    if domain.level is None:
        return collect_transitions(domain.env_id, n, seed=seed, steps_per_episode=domain.episode_steps,
                                   env_kwargs=domain.kwargs)
    # one level: a uniformly drawn reachable state and a random legal move (Latplan's sampling)
    model, rng = domain.model(), np.random.default_rng(seed)
    states = [s for s in reachable_states(model) if not model.is_terminal(s)]
    before, actions, after, ends = [], [], [], []
    for k in rng.integers(len(states), size=n):
        legal = model.legal_action_ids(states[k])
        a = int(legal[int(rng.integers(len(legal)))])
        t = model.step(states[k], a)
        before.append(states[k])
        actions.append(a)
        after.append(t.state)
        ends.append(t.done)
    return FrameTransitions(domain_frames(domain, before), np.asarray(actions, dtype=np.int64),
                            domain_frames(domain, after), np.asarray(ends, dtype=bool), [model] * n)


def reachable_states(model: Any) -> list[Any]:
    """Every state reachable from ``model.initial_state`` (breadth-first; terminal states are not expanded)."""
    seen, frontier = {model.initial_state: None}, [model.initial_state]
    while frontier:
        nxt = []
        for s in frontier:
            if model.is_terminal(s):
                continue
            for a in model.legal_action_ids(s):
                t = model.step(s, a).state
                if t not in seen:
                    seen[t] = None
                    nxt.append(t)
        frontier = nxt
    return list(seen)


def _distances_to(model: Any, states: list[Any], goal: Any) -> dict[Any, int]:
    """Exact move counts from each of ``states`` to ``goal`` (breadth-first over the reversed moves)."""
    back: dict[Any, list[Any]] = {s: [] for s in states}
    for s in states:
        if not model.is_terminal(s):
            for a in model.legal_action_ids(s):
                back[model.step(s, a).state].append(s)
    dist, frontier = {goal: 0}, [goal]
    while frontier:
        nxt = []
        for s in frontier:
            for p in back[s]:
                if p not in dist:
                    dist[p] = dist[s] + 1
                    nxt.append(p)
        frontier = nxt
    return dist


@dataclass(frozen=True)
class Instance:
    """A problem: reach ``goal`` from ``start`` in exactly ``optimal`` moves at best.

    Attributes:
        start, goal: true states.
        optimal: the optimal plan length (the exact solver's).
    """

    start: Any
    goal: Any
    optimal: int


def _walk(model: Any, rng: np.random.Generator, moves: int) -> Any:
    """The end of a random walk of ``moves`` moves from the goal, by the model's own scrambler."""
    if hasattr(model, "scramble"):
        return model.scramble(rng, moves)
    return model.sample_state(rng, presses=moves)  # Lights Out: distinct presses


def latplan_instances(domain: LatplanDomain, per_length: int = 20, steps: tuple[int, ...] | None = None,
                      seed: int = 0, max_tries: int = 20000) -> list[Instance]:
    """Draw ``per_length`` instances at each optimal length of ``steps`` (Latplan: 20 at 7 and 20 at 14).

    ``steps`` defaults to the domain's (:attr:`LatplanDomain.steps`).

    Starts are random walks from the goal, a little longer than the length wanted, kept
    when the exact solver's optimum is exactly that length (and not drawn twice).

    Raises:
        ValueError: naming ``per_length`` or ``steps``; RuntimeError when ``max_tries`` walks do not suffice.
    """
    steps = domain.steps if steps is None else steps
    if isinstance(per_length, bool) or not isinstance(per_length, int) or per_length < 1:
        raise ValueError(f"per_length must be an int >= 1, got {per_length!r}")
    if not steps or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in steps):
        raise ValueError(f"steps must be ints >= 1, got {steps!r}")
    row, model = planning_env(domain.env_id, need="solver"), domain.model()
    rng = np.random.default_rng(seed)
    out: list[Instance] = []
    if domain.level is not None:  # one level: exact distances by enumeration, to the solved state with most starts
        states = reachable_states(model)

        def starts(goal: Any) -> tuple[int, str]:
            dist = _distances_to(model, states, goal)
            return min(sum(d == k for d in dist.values()) for k in steps), repr(goal)

        goal = max((s for s in states if model.is_terminal(s)), key=starts)
        dist = _distances_to(model, states, goal)
        for k in steps:
            at = sorted((s for s, d in dist.items() if d == k), key=repr)
            if len(at) < per_length:
                raise RuntimeError(f"{domain.key}: only {len(at)} states are {k} moves from the goal")
            out += [Instance(at[int(i)], goal, k) for i in rng.choice(len(at), size=per_length, replace=False)]
        return out
    for k in steps:
        chosen: set[Any] = set()
        for _ in range(max_tries):
            if len(chosen) == per_length:
                break
            start = _walk(model, rng, int(rng.integers(k, k + k // 2 + 2)))
            if start in chosen or start == model.goal_state:
                continue
            found = row.solver(model, start, 60.0)
            if found.solved and len(found.actions) == k:
                chosen.add(start)
                out.append(Instance(start, model.goal_state, k))
        else:
            raise RuntimeError(f"{domain.key}: {max_tries} walks gave {len(chosen)} starts {k} moves from the goal")
    return out


# ============================================================================ scoring


def score_plans(domain: LatplanDomain, instances: list[Instance], plans: list[tuple[int, ...] | None],
                seconds: list[float], labels: PlanningLabels, **extra: Any) -> dict[str, Any]:
    """Execute each plan in the true rules and count found, valid and optimal plans, overall and per length.

    Args:
        domain: the domain (its true model judges the plans).
        instances: the problems.
        plans: one per instance: env actions, or None when the agent found none.
        seconds: one per instance: the agent's planning time.
        labels: the agent's :class:`~hybrid.planning.labels.PlanningLabels`.
        **extra: more keys for the result (training transitions, frames, ...).

    Returns:
        ``{"found", "valid", "optimal"}`` rates, ``"by_length"`` (the same per optimal length),
        ``"instances"``, ``"mean_seconds"``, ``"max_seconds"``, the labels and ``extra``.
    """
    if len(plans) != len(instances) or len(seconds) != len(instances):
        raise ValueError(f"plans and seconds must have one entry per instance ({len(instances)})")
    model = domain.model()
    marks = []
    for inst, p in zip(instances, plans, strict=True):
        if p is None:
            marks.append((False, False, False))
            continue
        ok = execute_plan(model, inst.start, inst.goal, p).valid
        marks.append((True, ok, ok and len(p) == inst.optimal))

    def rates(idx: list[int]) -> dict[str, float]:
        m = np.array([marks[i] for i in idx], dtype=float).reshape(-1, 3)
        return {"found": float(m[:, 0].mean()), "valid": float(m[:, 1].mean()), "optimal": float(m[:, 2].mean()),
                "instances": len(idx)}

    lengths = sorted({i.optimal for i in instances})
    return {
        **rates(list(range(len(instances)))),
        "by_length": {str(k): rates([i for i, x in enumerate(instances) if x.optimal == k]) for k in lengths},
        "mean_seconds": float(np.mean(seconds)),
        "max_seconds": float(np.max(seconds)),
        **labels.as_dict(),
        **extra,
    }


# ============================================================================ the three agents


def learned_plans(planner: Any, domain: LatplanDomain, instances: list[Instance]) -> tuple[list, list, list]:
    """Plan every instance with a fitted :class:`~hybrid.planning.learned.LearnedRulesPlanner`.

    Returns:
        ``(plans, seconds, learned_plans)``: env actions or None, wall seconds (encoding and
        search), and the :class:`~hybrid.planning.learned.LearnedPlan` of each instance.
    """
    starts = domain_frames(domain, [i.start for i in instances])
    goals = domain_frames(domain, [i.goal for i in instances])
    plans, seconds, raw = [], [], []
    for s, g in zip(starts, goals, strict=True):
        t0 = time.perf_counter()
        p = planner.plan(s, g)
        seconds.append(time.perf_counter() - t0)
        plans.append(p.actions if p.found else None)
        raw.append(p)
    return plans, seconds, raw


def rules_given_plans(domain: LatplanDomain, instances: list[Instance], n_frames: int = 500, seed: int = 0,
                      device: str = "cpu", cache_dir: Any = None,
                      held_out: int = 0) -> tuple[list, list, dict[str, Any]]:
    """Today's hybrid: perception trained on ``n_frames`` labelled frames reads the start frame, the exact solver plans.

    A start frame misread into an impossible state gives no plan; one misread into another
    state gives a plan that the true rules then judge.

    Args:
        held_out: also read this many frames of random states (``sample_state``) and report the
            fraction read exactly (``held_out_frames_read``), the perception target's measure.

    Returns:
        ``(plans, seconds, info)``; ``info`` holds the perception's accuracy on the start
        frames (``frames_read``: the fraction read exactly), ``labelled_frames`` and, with
        ``held_out``, ``held_out_frames_read``.
    """
    from hybrid.planning.perceive import read_grids, train_perception

    row, model = planning_env(domain.env_id, need="solver"), domain.model()
    # perception never trains on the level it will read (Sokoban: generated levels, read cell by cell)
    kwargs = {k: v for k, v in domain.kwargs.items() if k not in row.training_refuses}
    perception = train_perception(domain.env_id, n_frames, seed=seed, env_kwargs=kwargs, device=device,
                                  cache_dir=cache_dir)
    frames = domain_frames(domain, [i.start for i in instances] + [i.goal for i in instances])
    grids = read_grids(perception, frames)
    plans, seconds, exact = [], [], 0
    for k, inst in enumerate(instances):
        grid, goal_grid = grids[k], grids[len(instances) + k]
        t0 = time.perf_counter()
        exact += int(np.array_equal(grid, model.to_grid(inst.start)))
        try:
            state = model.from_grid(grid)
            goal = model.from_grid(goal_grid)
        except ValueError:
            plans.append(None)
            seconds.append(time.perf_counter() - t0)
            continue
        if domain.level is None:
            found = row.solver(model, state, 10.0)
        else:  # plan to the goal state the goal frame shows, not to any solved state
            is_goal = goal.__eq__
            found = best_first_search(state, model_successors(model, is_goal), is_goal, time_limit_s=10.0)
        seconds.append(time.perf_counter() - t0)
        plans.append(tuple(int(a) for a in found.actions) if found.solved else None)
    info = {"frames_read": exact / len(instances), "labelled_frames": n_frames}
    if held_out and hasattr(model, "sample_state"):
        rng = np.random.default_rng(seed + 7)
        states = [model.sample_state(rng) for _ in range(held_out)]
        read = read_grids(perception, domain_frames(domain, states))
        info["held_out_frames_read"] = float(np.mean([np.array_equal(g, model.to_grid(s))
                                                      for g, s in zip(read, states, strict=True)]))
        info["held_out"] = held_out
    return plans, seconds, info


def ppo_plans(domain: LatplanDomain, instances: list[Instance], budget: int, seed: int = 0, device: str = "cpu",
              max_steps: int = 100, progress: bool = False) -> tuple[list, list, dict[str, Any]]:
    """PPO from pixels, trained for ``budget`` env steps, then run from each instance's start.

    The policy acts greedily until the env reports the goal or ``max_steps`` steps pass; the
    actions it took are its plan (judged like the others: an illegal move makes it invalid).

    Returns:
        ``(plans, seconds, info)``; ``info`` holds ``env_steps`` (the budget) and ``train_seconds``.
    """
    from hybrid.neural.planning.rl_baselines import make_env, train_sb3

    t0 = time.perf_counter()
    agent = train_sb3("ppo", domain.env_id, int(budget), seed=seed, env_kwargs=domain.kwargs, device=device,
                      progress_bar=progress)
    train_seconds = time.perf_counter() - t0
    env = make_env(domain.env_id, {**domain.kwargs, "max_episode_steps": max_steps})
    plans, seconds = [], []
    try:
        for k, inst in enumerate(instances):
            t0 = time.perf_counter()
            obs, _ = env.reset(seed=seed + k, options={"state": inst.start})
            actions: list[int] = []
            for _ in range(max_steps):
                a, _ = agent.predict(obs, deterministic=True)
                a = int(np.asarray(a).reshape(-1)[0])
                obs, _, terminated, truncated, info = env.step(a)
                if not info.get("illegal_action", False):  # an illegal move is the env's no-op: not part of the plan
                    actions.append(a)
                if terminated or truncated:
                    break
            seconds.append(time.perf_counter() - t0)
            plans.append(tuple(actions) if terminated else None)
    finally:
        env.close()
    return plans, seconds, {"env_steps": int(budget), "train_seconds": train_seconds}


def symbol_purity(planner: Any, domain: LatplanDomain, states: list[Any]) -> dict[str, int]:
    """How the learned symbols line up with the true cell classes (a diagnostic: the truth is never trained on).

    Per slot of the latent map, a symbol shown for more than one true class of that cell is
    *merged* (the encoder cannot tell those classes apart there: plans through them can be
    wrong), and a true class shown by more than one symbol is *split* (harmless to validity,
    but it multiplies the grounded actions the data must cover).

    Returns:
        ``{"merged": ..., "split": ..., "slots": ..., "states": ...}`` counted over ``states``.
    """
    model = domain.model()
    z = planner.encode(domain_frames(domain, states))
    g = np.stack([model.to_grid(s).reshape(-1) for s in states])
    if g.shape[1] != z.shape[1]:
        return {"merged": -1, "split": -1, "slots": int(z.shape[1]), "states": len(states)}
    merged = sum(len(np.unique(g[z[:, s] == v, s])) > 1 for s in range(z.shape[1]) for v in np.unique(z[:, s]))
    split = sum(len(np.unique(z[g[:, s] == c, s])) > 1 for s in range(z.shape[1]) for c in np.unique(g[:, s]))
    return {"merged": int(merged), "split": int(split), "slots": int(z.shape[1]), "states": len(states)}

