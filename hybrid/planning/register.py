"""Registers the planning pillar's tasks and methods with the evaluator.

Tasks (x = what a method learns from: labelled frames for the hybrid, environment steps
for the deep baselines; y = share of test instances solved from pixels):
``8-puzzle``, ``lights-out``, ``sokoban`` (see :mod:`hybrid.planning.task`).
Methods: ``perceive-plan`` (hybrid: perception net -> exact search), ``ppo`` and ``dqn``
(deep: stable-baselines3 from pixels), and their post-training compressions ``ppo-pruned``,
``ppo-int8``, ``ppo-pruned-int8``, ``dqn-pruned``, ... (compressed-deep).

Every method is registered with its two labels (:mod:`hybrid.planning.labels`), shown at
the end of its description and declared with :func:`~hybrid.planning.labels.register_labels`:
``perceive-plan`` and its compressions are "rules given; labelled frames", the deep
baselines and theirs "none (model-free); environment steps".
"""

from __future__ import annotations

from collections.abc import Callable

from hybrid.evaluate.registry import register_method, register_task
from hybrid.planning.compressed import CompressedPerceiveAndSearch, CompressedPolicy
from hybrid.planning.envs import PLANNING_ENVS
from hybrid.planning.labels import MODEL_FREE, RULES_GIVEN_FRAMES, PlanningLabels, register_labels
from hybrid.planning.task import DeepRLPolicy, PerceiveAndSearch, PlanningTask


def _register(name: str, factory: Callable[..., object], labels: PlanningLabels, *, description: str, **kwargs) -> None:
    """``register_method`` with the method's labels at the end of its description, and declared."""
    register_method(name, factory, description=f"{description} [{labels}]", **kwargs)
    register_labels(name, labels)


def _task(name: str):
    def factory(**params) -> PlanningTask:
        return PlanningTask(**{**params, "name": name})

    factory.__name__ = f"_{name.replace('-', '_')}_task"
    return factory


def _hybrid(task, *, seed: int, device: str, **params) -> PerceiveAndSearch:
    return PerceiveAndSearch(seed=seed, device=device, **params)


def _deep(algo: str):
    def factory(task, *, seed: int, device: str, **params) -> DeepRLPolicy:
        return DeepRLPolicy(algo, seed=seed, device=device, **params)

    return factory


#: name -> (what the task is, quick sizes), from the rows of hybrid.planning.envs.PLANNING_ENVS that name a task;
#: every task's x axis is the same.
_TASKS = {row.task: (row.task_about, row.task_quick_sizes) for row in PLANNING_ENVS if row.task is not None}
PLANNING_TASKS = tuple(_TASKS)

#: The planning task of ``compare --quick``: perceive-plan against PPO and its int8 form at matched
#: interaction budgets (labelled frames = environment steps), on 20 test boards (50 in the full task).
QUICK_TASK = "lights-out"
QUICK_METHODS = {"perceive-plan": {}, "ppo": {}, "ppo-int8": {}}

for _name, (_what, _sizes) in _TASKS.items():
    _quick = _name == QUICK_TASK
    register_task(
        _name,
        _task(_name),
        f"{_what}: success rate; x = labelled frames (hybrid) or environment steps (deep)"
        + (" (--quick: 20 test boards)" if _quick else " (not in --quick)"),
        quick_sizes=_sizes,
        quick_seeds=1,
        pillar="planning",
        in_quick=_quick,
        quick_params={"n_test": 20} if _quick else None,
        quick_methods=QUICK_METHODS if _quick else None,
    )
_register(
    "perceive-plan",
    _hybrid,
    RULES_GIVEN_FRAMES,
    estimator=PerceiveAndSearch,
    tasks=PLANNING_TASKS,
    description="perception CNN on n labelled frames -> symbolic state -> exact search over the rules "
    "(A*, GF(2), push-level Sokoban solver)",
    defaults={"time_limit_s": 10.0},
)
_register(
    "ppo",
    _deep("ppo"),
    MODEL_FREE,
    estimator=DeepRLPolicy,
    tasks=PLANNING_TASKS,
    description="stable-baselines3 PPO, CnnPolicy from pixels, n environment steps",
)
_register(
    "dqn",
    _deep("dqn"),
    MODEL_FREE,
    estimator=DeepRLPolicy,
    tasks=PLANNING_TASKS,
    description="stable-baselines3 DQN, CnnPolicy from pixels, n environment steps",
)

#: suffix -> (recipe, settings, description): post-training compressions of the trained policy
#: (``compressed-deep``; the policy's training runs inside their fit and is charged to them).
COMPRESSIONS: dict[str, tuple[str, dict, str]] = {
    "pruned": ("prune", {"amount": 0.5}, "half of the policy's weights magnitude-pruned (global, no fine-tuning)"),
    "int8": ("int8", {}, "the policy's Linear layers in dynamic int8 (CPU; convolutions stay float)"),
    "pruned-int8": ("prune+int8", {"amount": 0.5}, "half of the policy's weights pruned, then dynamic int8"),
}
_COMPRESSION_PARAMS = ("amount", "energy", "factor", "rounds", "fine_tune_epochs")


def _compressed(algo: str, recipe: str):
    def factory(task, *, seed: int, device: str, **params) -> CompressedPolicy:
        settings = {k: params.pop(k) for k in _COMPRESSION_PARAMS if k in params}
        return CompressedPolicy(DeepRLPolicy(algo, seed=seed, device=device, **params), recipe=recipe, seed=seed,
                                **settings)

    return factory


for _algo in ("ppo", "dqn"):
    for _suffix, (_recipe, _settings, _description) in COMPRESSIONS.items():
        _register(
            f"{_algo}-{_suffix}",
            _compressed(_algo, _recipe),
            MODEL_FREE,
            estimator=CompressedPolicy,
            tasks=PLANNING_TASKS,
            description=f"{_algo.upper()}, {_description} (its training is charged to it)",
            defaults={"fine_tune_epochs": 0, **_settings},
        )

#: suffix -> (recipe, settings, description): the perceive-plan hybrid's perception net compressed (family
#: ``hybrid``: the approaches combine; its training runs inside their fit and is charged to them).
HYBRID_COMPRESSIONS: dict[str, tuple[str, dict, str]] = {
    "pruned": ("prune", {"amount": 0.8}, "80% of each layer of its perception CNN magnitude-pruned, fine-tuned to "
               "match the dense net's logits on its training crops; stored sparse"),
    "int8": ("int8", {}, "its perception CNN's Linear head in dynamic int8 (CPU; convolutions stay float)"),
}
_HYBRID_COMPRESSION_PARAMS = ("amount", "fine_tune_epochs", "lr", "batch_size")


def _compressed_hybrid(recipe: str):
    def factory(task, *, seed: int, device: str, **params) -> CompressedPerceiveAndSearch:
        settings = {k: params.pop(k) for k in _HYBRID_COMPRESSION_PARAMS if k in params}
        return CompressedPerceiveAndSearch(PerceiveAndSearch(seed=seed, device=device, **params), recipe=recipe,
                                           seed=seed, **settings)

    return factory


for _suffix, (_recipe, _settings, _description) in HYBRID_COMPRESSIONS.items():
    _register(
        f"perceive-plan-{_suffix}",
        _compressed_hybrid(_recipe),
        RULES_GIVEN_FRAMES,
        estimator=CompressedPerceiveAndSearch,
        tasks=PLANNING_TASKS,
        description=f"perceive-plan, {_description} (its training is charged to it)",
        defaults={"time_limit_s": 10.0, "fine_tune_epochs": 100, **_settings},
    )
