"""The planning tasks of the evaluator: solve puzzles from pixels, scored by success rate.

Each task is one gymnasium env of :mod:`hybrid.tasks.envs` played from its rendered frames:

- ``8-puzzle``: ``hybrid/SlidingPuzzle-v0``, test instances 7 and 14 random moves from the
  goal (half each, Latplan's protocol);
- ``lights-out``: ``hybrid/LightsOut-v0`` (5 x 5), uniformly random solvable patterns;
- ``sokoban``: ``hybrid/Sokoban-v0``, test levels drawn (per seed) from the shipped 1,000
  Boxoban unfiltered test levels; learning happens on generated 10 x 10, 4-box levels only.

The x-axis of the curves (``n_train``) is what a method learns from: for the hybrid, ``n``
labelled frames (a frame and the grid of cell classes it shows) of generated instances,
which train its perception net, the rules being given; for the deep baselines (PPO, DQN),
``n`` environment steps with reward. The y-axis is the share of test instances solved
(``success_rate``) within the task's step limit.

:meth:`PlanningTask.train_set` returns a :class:`PlanningTrainSpec` (the env to learn on
and the budget), :meth:`PlanningTask.test_set` a :class:`PlanningTestSet` (the episodes to
play: reset seeds and options); :meth:`PlanningTask.score` plays them with a fitted method
that follows :class:`PlanningMethod` (``reset()`` at each episode, then ``act(frame)``
until the episode ends). The methods are here too: :class:`PerceiveAndSearch` (the hybrid:
a perception net trained on the labelled frames, then the exact solver of
:func:`hybrid.planning.agents.make_agent`) and :class:`DeepRLPolicy` (stable-baselines3 PPO
or DQN from pixels, :mod:`hybrid.neural.planning.rl_baselines`).

Every method is labelled (:mod:`hybrid.planning.labels`): :class:`PerceiveAndSearch` is
"rules given" and "labelled frames", the deep baselines "none (model-free)" and
"environment steps"; :meth:`PlanningTask.method_labels` gives a registered method's labels
to the evaluator's report, which shows them beside each task's methods.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from hybrid.evaluate.protocols import MetricSpec
from hybrid.planning.envs import PLANNING_ENVS, task_env
from hybrid.planning.labels import (
    DATA_NONE,
    MODEL_FREE,
    RULES_GIVEN_FRAMES,
    RULES_NONE,
    PlanningLabels,
    method_labels,
)
from hybrid.tasks.envs.grid_env import episode_succeeded


@dataclass(frozen=True)
class PlanningTrainSpec:
    """What a method may learn from: an env and a budget.

    Attributes:
        env_id: the gymnasium id to learn on (``"hybrid/Sokoban-v0"``).
        env_kwargs: keyword arguments of ``gymnasium.make`` for learning (generated
            instances, never the test ones).
        n: the budget: labelled frames for the hybrid, environment steps for the deep baselines.
        seed: the seed of the run (to draw frames, seed envs and initialise networks).
    """

    env_id: str
    env_kwargs: dict[str, Any]
    n: int
    seed: int


@dataclass(frozen=True)
class PlanningTestSet:
    """The test episodes of a task.

    Attributes:
        env_id: the gymnasium id to play.
        env_kwargs: keyword arguments of ``gymnasium.make`` for the test env.
        episodes: one ``{"seed": int, "options": dict | None}`` per episode (the arguments of ``reset``).
        max_steps: steps before an episode counts as failed.
    """

    env_id: str
    env_kwargs: dict[str, Any]
    episodes: tuple[dict[str, Any], ...]
    max_steps: int
    labels: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.episodes)


@runtime_checkable
class PlanningMethod(Protocol):
    """What :meth:`PlanningTask.score` needs of a fitted method.

    ``reset()`` is called at the start of each test episode, then ``act(frame)`` with each
    frame (``(H, W, 3)`` uint8) until the episode ends; it returns an action id, or ``None``
    to give up (the episode then counts as failed, without playing out its steps). A method
    may also define ``perceive(frame) -> grid`` (the grid of cell classes it reads), which
    the task scores against the true grid of each episode's first frame.
    """

    family: str

    def fit(self, train: PlanningTrainSpec) -> PlanningMethod:  # pragma: no cover - protocol
        """Learn within the budget and return self."""
        ...

    def reset(self) -> None:  # pragma: no cover - protocol
        """Forget the previous episode."""
        ...

    def act(self, frame: np.ndarray) -> int | None:  # pragma: no cover - protocol
        """The action to take on seeing ``frame``."""
        ...


def play_episodes(method: Any, test: PlanningTestSet, *, progress: bool = False) -> dict[str, Any]:
    """Play every test episode with a fitted method and count the successes.

    Args:
        method: a fitted :class:`PlanningMethod`.
        test: the episodes.
        progress: a tqdm bar over the episodes.

    Returns:
        ``{"success_rate", "perception_state_accuracy", "mean_steps_solved", "details"}``:
        the share solved; the share of first frames the method's ``perceive`` read entirely
        right (NaN when it has none); the mean steps of the solved episodes; and per
        episode ``{"label", "solved", "steps", "seconds"}``.
    """
    import gymnasium as gym
    from tqdm.auto import tqdm

    import hybrid.tasks.envs  # noqa: F401  (registers the hybrid/* ids)

    env = gym.make(test.env_id, **test.env_kwargs)
    perceive = getattr(method, "perceive", None)
    rows: list[dict[str, Any]] = []
    read_right: list[bool] = []
    try:
        for k, ep in enumerate(tqdm(test.episodes, desc=test.env_id, disable=not progress)):
            obs, info = env.reset(seed=int(ep["seed"]), options=ep.get("options"))
            if perceive is not None:
                truth = np.asarray(env.unwrapped.model.to_grid(info["state"]))
                grid = np.asarray(perceive(obs))
                read_right.append(grid.shape == truth.shape and bool(np.array_equal(grid, truth)))
            method.reset()
            start = time.perf_counter()
            solved, steps = False, 0
            for steps in range(1, test.max_steps + 1):  # noqa: B007  (steps is read after the loop)
                action = method.act(obs)
                if action is None:  # the method gave up
                    break
                obs, reward, terminated, truncated, info = env.step(int(action))
                if terminated or truncated:
                    solved = episode_succeeded(terminated, info, reward)
                    break
            label = test.labels[k] if k < len(test.labels) else ""
            rows.append({"label": label, "solved": solved, "steps": steps,
                         "seconds": time.perf_counter() - start})
    finally:
        env.close()
    solved_steps = [r["steps"] for r in rows if r["solved"]]
    return {
        "success_rate": float(np.mean([r["solved"] for r in rows])) if rows else math.nan,
        "perception_state_accuracy": float(np.mean(read_right)) if read_right else math.nan,
        "mean_steps_solved": float(np.mean(solved_steps)) if solved_steps else math.nan,
        "details": rows,
    }


class PlanningTask:
    """A puzzle played from pixels; metric: the share of test instances solved.

    Args:
        name: registry name (``"8-puzzle"``, ``"lights-out"`` or ``"sokoban"``; it picks the env).
        n_test: test episodes (>= 1).
        max_steps: steps per test episode before it counts as failed (``None``: the task's
            default: 200 for the 8-puzzle, 100 for Lights Out, 300 for Sokoban: more than
            Boxoban's 120, because a plan that solves a level is not always the shortest).
        size: side of the board (8-puzzle: 3, Lights Out: 5; ignored for Sokoban).

    Raises:
        ValueError: an unknown name or a bad ``n_test`` / ``max_steps`` / ``size``.
    """

    #: What one training sample is (the overview's x axis): the budgets are matched.
    x_label = "labelled frames (hybrid) = environment steps (deep)"
    metrics = (
        MetricSpec("success_rate", "test instances solved", True, 0.95, floor=0.0, ceiling=1.0, minimum=0.0),
        MetricSpec("perception_state_accuracy", "first frames read entirely right (hybrid)", True, None, 0.0, 1.0,
                   0.0),
    )

    #: name -> (env id, default max steps, default size): the rows of
    #: :data:`hybrid.planning.envs.PLANNING_ENVS` that name a task.
    ENVS: dict[str, tuple[str, int, int | None]] = {
        row.task: (row.id, int(row.task_max_steps), row.task_size) for row in PLANNING_ENVS if row.task is not None
    }

    def __init__(self, name: str = "sokoban", n_test: int = 50, max_steps: int | None = None,
                 size: int | None = None) -> None:
        if name not in self.ENVS:
            raise ValueError(f"name must be one of {sorted(self.ENVS)}, got {name!r}")
        if isinstance(n_test, bool) or not isinstance(n_test, int) or n_test < 1:
            raise ValueError(f"n_test must be an int >= 1, got {n_test!r}")
        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
            raise ValueError(f"max_steps must be None or an int >= 1, got {max_steps!r}")
        env_id, default_steps, default_size = self.ENVS[name]
        sized = default_size is not None  # False: the levels set the board (Sokoban)
        if size is not None and (not sized or isinstance(size, bool) or not isinstance(size, int) or size < 2):
            raise ValueError(f"size must be None{'' if sized else ' (Sokoban levels are 10 x 10)'} "
                             f"or an int >= 2, got {size!r}")
        self.name = name
        self.env_id = env_id
        self.n_test = n_test
        self.max_steps = default_steps if max_steps is None else max_steps
        self.size = default_size if size is None else size

    def params(self) -> dict[str, Any]:
        """The task's configuration."""
        return {"name": self.name, "n_test": self.n_test, "max_steps": self.max_steps, "size": self.size}

    @staticmethod
    def method_labels(method: str) -> dict[str, str]:
        """``{"rules", "data"}`` of a registered method (:func:`hybrid.planning.labels.method_labels`;
        ``{}`` for a method without declared labels): the evaluator's report shows them per method."""
        labels = method_labels(method)
        return {} if labels is None else labels.as_dict()

    def train_env_kwargs(self) -> dict[str, Any]:
        """``gymnasium.make`` keyword arguments of the env methods learn on (generated instances)."""
        row = task_env(self.name)
        if row.training_kwargs:
            return dict(row.training_kwargs)
        return {"size": self.size}

    def test_env_kwargs(self) -> dict[str, Any]:
        """``gymnasium.make`` keyword arguments of the test env (its row's ``test_kwargs``)."""
        return task_env(self.name).test_kwargs(self.size, self.max_steps)

    def train_set(self, n: int, seed: int) -> PlanningTrainSpec:
        """The learning budget: ``n`` labelled frames (hybrid) or env steps (deep) on generated instances."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        return PlanningTrainSpec(self.env_id, self.train_env_kwargs(), int(n), int(seed))

    def test_set(self, seed: int) -> PlanningTestSet:
        """``n_test`` test episodes for ``seed`` (reset seeds and options; see the module docstring)."""
        rng = np.random.default_rng([int(seed), 7001])
        seeds = [int(s) for s in rng.integers(2**31 - 1, size=self.n_test)]
        episodes, labels = task_env(self.name).test_episodes(rng, seeds)
        return PlanningTestSet(self.env_id, self.test_env_kwargs(), episodes, self.max_steps, labels)

    #: decisions per inference call when latency is timed: an agent acts on one frame at a time.
    inference_batch = 1

    def test_examples(self, test: PlanningTestSet) -> int:
        """Episodes ``score`` plays (an example is a whole episode, every step's inference in it)."""
        return len(test.episodes)

    def latency_call(self, method: Any, test: PlanningTestSet, batch: int):
        """A call deciding ``batch`` actions on the first test episode's first frame (the method reset before each).

        For the hybrid one decision is perception plus a search from the state read.
        """
        import gymnasium as gym

        import hybrid.tasks.envs  # noqa: F401  (registers the hybrid/* ids)

        env = gym.make(test.env_id, **test.env_kwargs)
        try:
            ep = test.episodes[0]
            frame, _ = env.reset(seed=int(ep["seed"]), options=ep.get("options"))
        finally:
            env.close()

        def decide() -> None:
            for _ in range(batch):
                method.reset()
                method.act(frame)

        return decide

    def score(self, method: Any, test: PlanningTestSet) -> dict[str, Any]:
        """Play the test episodes with ``method``: ``success_rate``, ``perception_state_accuracy``, details."""
        result = play_episodes(method, test)
        return {
            "success_rate": result["success_rate"],
            "perception_state_accuracy": result["perception_state_accuracy"],
            "details": {"episodes": result["details"], "mean_steps_solved": result["mean_steps_solved"]},
        }


# ============================================================================ methods


class PerceiveAndSearch(BaseEstimator):
    """The hybrid: a perception net trained on ``n`` labelled frames, then exact search over the rules.

    ``fit`` draws ``n`` labelled frames of generated instances and trains a
    :class:`~hybrid.neural.planning.perception.GridPerception` on them
    (:func:`hybrid.planning.perceive.train_perception`, no cache: the cost is measured); the
    agent is :func:`hybrid.planning.agents.make_agent` for the env (the rules are given, not
    learned). ``act`` reads each frame, follows its plan while the world is
    where the plan expects, replans otherwise, and gives up (``None``) when no plan is found.

    Args:
        seed: seeds the frames drawn and the net.
        device: where the perception net trains and runs.
        time_limit_s: seconds per plan, perception included.
        perception: extra keyword arguments of :class:`~hybrid.neural.planning.perception.GridPerception`.
        progress: tqdm bar while training.

    Attributes (after ``fit``):
        perception_: the fitted net; agent_: the :class:`~hybrid.planning.agents.PlanningAgent`;
        interactions_: labelled frames used (``n``).
        planning_labels: "rules given" and "labelled frames" (the fitted agent's own, once fitted).
    """

    family = "hybrid"

    @property
    def planning_labels(self) -> PlanningLabels:
        """The fitted agent's labels (:attr:`~hybrid.planning.agents.PlanningAgent.planning_labels`); before
        ``fit``, "rules given" and "labelled frames" (what ``fit`` trains its perception on)."""
        agent = getattr(self, "agent_", None)
        return RULES_GIVEN_FRAMES if agent is None else agent.planning_labels

    def __init__(self, seed: int = 0, device: str = "cpu", time_limit_s: float = 10.0,
                 perception: dict[str, Any] | None = None, progress: bool = False) -> None:
        self.seed = seed
        self.device = device
        self.time_limit_s = time_limit_s
        self.perception = perception
        self.progress = progress

    def fit(self, train: PlanningTrainSpec) -> PerceiveAndSearch:
        """Draw ``train.n`` labelled frames, train the perception net, build the agent; returns self."""
        from hybrid.planning.agents import make_agent
        from hybrid.planning.envs import planning_env
        from hybrid.planning.perceive import read_grid, train_perception

        self.perception_ = train_perception(
            train.env_id, int(train.n), seed=int(train.seed), env_kwargs=train.env_kwargs,
            device=self.device, progress=self.progress, perception_kwargs=self.perception, use_cache=False,
        )
        reader = read_grid if planning_env(train.env_id).any_size_frames else None
        self.agent_ = make_agent(train.env_id, self.perception_, train.env_kwargs, time_limit_s=self.time_limit_s,
                                 grid_reader=reader)
        self.interactions_ = int(train.n)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "agent_"):
            raise NotFittedError("PerceiveAndSearch is not fitted: call fit(train) first")

    def perceive(self, frame: np.ndarray) -> np.ndarray:
        """The grid of cell classes the perception net reads in ``frame``."""
        self._check_fitted()
        return np.asarray(self.agent_.read_grid(np.asarray(frame)))

    def reset(self) -> None:
        """Forget the previous episode's plan."""
        self._check_fitted()
        self.agent_.reset()

    def act(self, frame: np.ndarray) -> int | None:
        """The next action of the plan (replanning if needed), or ``None`` when there is no plan."""
        from hybrid.evaluate.meter import record_ops
        from hybrid.planning.agents import NoPlanError, PerceptionError

        self._check_fitted()
        before = self.agent_.last_result
        try:
            action = int(self.agent_.act(frame))
        except (NoPlanError, PerceptionError):
            action = None
        after = self.agent_.last_result
        if after is not None and after is not before and after.search is not None:
            record_ops("search_expansions", int(after.search.expanded))
        return action


def sb3_budget_kwargs(algo: str, n: int) -> tuple[int, dict[str, Any]]:
    """``(n_envs, algo_kwargs)`` that keep an SB3 run close to ``n`` environment steps.

    PPO collects whole rollouts of ``n_steps * n_envs``; for budgets under 512 steps it uses
    one env and one rollout of ``n`` rounded up to a multiple of 8 (at least 8), in
    minibatches of up to 64 that divide it; above, the module defaults (4 envs x 128 steps).
    DQN keeps :mod:`hybrid.neural.planning.rl_baselines`' defaults, which already scale with the budget.
    """
    if algo == "ppo" and n < 512:
        steps = max(8, -(-int(n) // 8) * 8)
        batch = next(b for b in (64, 32, 16, 8) if steps % b == 0)
        return 1, {"n_steps": steps, "batch_size": batch}
    return (4 if algo == "ppo" else 1), {}


class DeepRLPolicy(BaseEstimator):
    """A deep baseline: stable-baselines3 PPO or DQN (``CnnPolicy``) trained from pixels for ``n`` env steps.

    Trained by :func:`hybrid.neural.planning.rl_baselines.train_sb3` on the task's generated
    instances (frames area-resized to ``frame_size``), played greedily.

    Args:
        algo: ``"ppo"`` or ``"dqn"``.
        seed: seeds the envs and SB3.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        frame_size: side frames are resized to (>= 36 for SB3's NatureCNN).
        algo_kwargs: override SB3 hyper-parameters.

    Attributes (after ``fit``):
        model_: the SB3 model; interactions_: environment steps it took; n_iter_ (the
        same), iter_unit_ (``"steps"``) and stopped_by_ (``"budget"``) for the report.

    Raises:
        ValueError: an unknown ``algo``.
    """

    family = "deep"
    #: Model-free: no rules, environment steps with reward (:data:`hybrid.planning.labels.MODEL_FREE`).
    planning_labels = MODEL_FREE

    def __init__(self, algo: str = "ppo", seed: int = 0, device: str = "cpu", frame_size: int = 64,
                 algo_kwargs: dict[str, Any] | None = None) -> None:
        if algo not in ("ppo", "dqn"):
            raise ValueError(f"algo must be 'ppo' or 'dqn', got {algo!r}")
        self.algo = algo
        self.seed = seed
        self.device = device
        self.frame_size = frame_size
        self.algo_kwargs = algo_kwargs

    def fit(self, train: PlanningTrainSpec) -> DeepRLPolicy:
        """Train for ``train.n`` environment steps on ``train.env_id``; returns self."""
        from hybrid.neural.planning.rl_baselines import interactions_used, train_sb3

        n_envs, kwargs = sb3_budget_kwargs(self.algo, train.n)
        self.model_ = train_sb3(self.algo, train.env_id, int(train.n), seed=int(self.seed),
                                env_kwargs=train.env_kwargs, device=self.device, n_envs=n_envs,
                                frame_size=self.frame_size, algo_kwargs={**kwargs, **(self.algo_kwargs or {})})
        self.interactions_ = interactions_used(self.model_)
        # Trained for its whole budget, which is the run's x-axis: no early stopping, no wall cap.
        self.n_iter_, self.iter_unit_, self.stopped_by_ = self.interactions_, "steps", "budget"
        return self

    def reset(self) -> None:
        """Nothing to forget: the policy is reactive."""

    def act(self, frame: np.ndarray) -> int:
        """The greedy action for ``frame``.

        Raises:
            NotFittedError: before :meth:`fit`.
        """
        from hybrid.neural.planning.rl_baselines import resize_frame

        if not hasattr(self, "model_"):
            raise NotFittedError("DeepRLPolicy is not fitted: call fit(train) first")
        frame = np.asarray(frame) if self.frame_size is None else resize_frame(frame, self.frame_size)
        action, _ = self.model_.predict(frame, deterministic=True)
        return int(np.asarray(action).reshape(-1)[0])

    def __getstate__(self) -> dict[str, Any]:
        """The state to pickle: the SB3 model as its own zip bytes (an SB3 model with its envs does not pickle)."""
        state = dict(super().__getstate__())  # a copy: BaseEstimator may hand back __dict__ itself
        if "model_" in state:
            from hybrid.neural.planning.rl_baselines import sb3_to_bytes

            state["model_"] = sb3_to_bytes(state["model_"])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled policy, reading its SB3 model back onto its ``device``."""
        if isinstance(state.get("model_"), bytes):
            from hybrid.neural.planning.rl_baselines import sb3_from_bytes

            state = dict(state, model_=sb3_from_bytes(state["algo"], state["model_"], state["device"]))
        super().__setstate__(state)


class RandomPolicy(BaseEstimator):
    """A uniformly random policy over the env's actions (a floor for the curves; learns nothing).

    Args:
        num_actions: size of the action space.
        seed: seeds the choices.
    """

    family = "deep"
    #: No rules, and nothing learned.
    planning_labels = PlanningLabels(RULES_NONE, DATA_NONE)

    def __init__(self, num_actions: int, seed: int = 0) -> None:
        self.num_actions = num_actions
        self.seed = seed

    def fit(self, train: PlanningTrainSpec) -> RandomPolicy:
        """Nothing to learn; returns self."""
        self.rng_ = np.random.default_rng(self.seed)
        return self

    def reset(self) -> None:
        """Nothing to forget."""

    def act(self, frame: np.ndarray) -> int:
        """A random action."""
        return int(self.rng_.integers(self.num_actions))
