"""The two labels every planning result carries: where its rules came from, and what it learned from.

Planning holds agents of different kinds, and a number means little without saying which:

- ``rules``: :data:`RULES_GIVEN` (it plans with the env's
  :class:`~hybrid.tasks.envs.model.TransitionModel`, ``env.unwrapped.model``),
  :data:`RULES_LEARNED` (symbols and an action model learned from data, then searched), or
  :data:`RULES_NONE` (a model-free policy: PPO, DQN);
- ``data``: what the learned part was trained from: :data:`DATA_LABELLED_FRAMES` (frames
  with the grid they show: :func:`hybrid.planning.perceive.train_perception`),
  :data:`DATA_UNLABELLED_TRANSITIONS` (``(frame, action, next frame)`` triples, no label:
  ``GridPerception.fit_transitions``), :data:`DATA_ENV_STEPS` (environment steps with
  reward, the deep baselines), :data:`DATA_SELF_PLAY` (AlphaZero's games against itself),
  or :data:`DATA_NONE` (nothing learned: an agent reading symbolic states, a search alone).

Rows of tables, reports and ``summary.json`` hold them under the keys ``"rules"`` and
``"data"`` (:data:`LABEL_KEYS`). :func:`planning_labels` finds the labels of an agent, a
method (fitted or not), a registered method name or an already labelled row;
:func:`label_row` adds them to a row. A module that adds a planning method declares its
labels once: a ``planning_labels`` attribute on its class (a :class:`PlanningLabels`, or a
property returning one) and :func:`register_labels` beside its ``register_method``.

>>> from hybrid.planning.labels import RULES_GIVEN_FRAMES, label_row
>>> label_row({"puzzle": "8-puzzle", "solved_rate": 1.0}, RULES_GIVEN_FRAMES)
{'puzzle': '8-puzzle', 'solved_rate': 1.0, 'rules': 'rules given', 'data': 'labelled frames'}
>>> str(RULES_GIVEN_FRAMES)
'rules given; labelled frames'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DATA_ENV_STEPS",
    "DATA_LABELLED_FRAMES",
    "DATA_LABELS",
    "DATA_NONE",
    "DATA_SELF_PLAY",
    "DATA_UNLABELLED_TRANSITIONS",
    "LABEL_KEYS",
    "MODEL_FREE",
    "RULES_GIVEN",
    "RULES_GIVEN_FRAMES",
    "RULES_GIVEN_TRANSITIONS",
    "RULES_LABELS",
    "RULES_LEARNED",
    "RULES_LEARNED_TRANSITIONS",
    "RULES_NONE",
    "PlanningLabels",
    "label_row",
    "method_labels",
    "perception_data",
    "planning_labels",
    "register_labels",
]

RULES_GIVEN = "rules given"
RULES_LEARNED = "rules learned"
RULES_NONE = "none (model-free)"
#: Every value of the ``"rules"`` label.
RULES_LABELS: tuple[str, ...] = (RULES_GIVEN, RULES_LEARNED, RULES_NONE)

DATA_LABELLED_FRAMES = "labelled frames"
DATA_UNLABELLED_TRANSITIONS = "unlabelled transitions"
DATA_ENV_STEPS = "environment steps"
DATA_SELF_PLAY = "self-play games"
DATA_NONE = "none"
#: Every value of the ``"data"`` label.
DATA_LABELS: tuple[str, ...] = (DATA_LABELLED_FRAMES, DATA_UNLABELLED_TRANSITIONS, DATA_ENV_STEPS, DATA_SELF_PLAY,
                                DATA_NONE)

#: The keys the two labels take in a row (a table's columns, a ``summary.json`` entry).
LABEL_KEYS: tuple[str, str] = ("rules", "data")


@dataclass(frozen=True)
class PlanningLabels:
    """The two labels of a planning agent or method.

    Attributes:
        rules: one of :data:`RULES_LABELS`.
        data: one of :data:`DATA_LABELS`.

    Raises:
        ValueError: naming ``rules`` or ``data`` and the values allowed.
    """

    rules: str
    data: str

    def __post_init__(self) -> None:
        if self.rules not in RULES_LABELS:
            raise ValueError(f"rules must be one of {RULES_LABELS}, got {self.rules!r}")
        if self.data not in DATA_LABELS:
            raise ValueError(f"data must be one of {DATA_LABELS}, got {self.data!r}")

    def as_dict(self) -> dict[str, str]:
        """``{"rules": ..., "data": ...}``."""
        return {"rules": self.rules, "data": self.data}

    def __str__(self) -> str:
        return f"{self.rules}; {self.data}"


#: The hybrid agents of today: the env's rules, perception trained on labelled frames.
RULES_GIVEN_FRAMES = PlanningLabels(RULES_GIVEN, DATA_LABELLED_FRAMES)
#: The env's rules, perception trained on unlabelled transitions named by those rules (``fit_transitions``).
RULES_GIVEN_TRANSITIONS = PlanningLabels(RULES_GIVEN, DATA_UNLABELLED_TRANSITIONS)
#: Symbols and an action model both learned from unlabelled transitions (Latplan-style).
RULES_LEARNED_TRANSITIONS = PlanningLabels(RULES_LEARNED, DATA_UNLABELLED_TRANSITIONS)
#: Model-free deep RL (PPO, DQN): no rules, environment steps with reward.
MODEL_FREE = PlanningLabels(RULES_NONE, DATA_ENV_STEPS)

#: Registered method name -> its labels (filled by :func:`register_labels`).
_METHOD_LABELS: dict[str, PlanningLabels] = {}


def perception_data(perception: Any) -> str:
    """The ``data`` label of a perception: what it was trained from.

    None (the agent reads grids or states) is :data:`DATA_NONE`; a perception trained by
    ``GridPerception.fit_transitions`` (it keeps the ``labelling_`` it found) is
    :data:`DATA_UNLABELLED_TRANSITIONS`; any other is :data:`DATA_LABELLED_FRAMES`.
    """
    if perception is None:
        return DATA_NONE
    if getattr(perception, "labelling_", None) is not None:
        return DATA_UNLABELLED_TRANSITIONS
    return DATA_LABELLED_FRAMES


def register_labels(method: str, labels: PlanningLabels | tuple[str, str]) -> None:
    """Declare the labels of a registered method name (call it beside ``register_method``).

    Raises:
        ValueError: an empty ``method``, or labels outside :data:`RULES_LABELS` / :data:`DATA_LABELS`.
    """
    if not method or not isinstance(method, str):
        raise ValueError(f"method must be a non-empty string, got {method!r}")
    _METHOD_LABELS[method] = labels if isinstance(labels, PlanningLabels) else PlanningLabels(*labels)


def method_labels(method: str) -> PlanningLabels | None:
    """The labels declared for a registered method name, or None (a method of another pillar, an unknown name).

    The evaluator's plug-ins are loaded first if the name has not been declared yet.
    """
    if method not in _METHOD_LABELS:
        from hybrid.evaluate.registry import load_plugins

        load_plugins()
    return _METHOD_LABELS.get(method)


def planning_labels(what: Any) -> PlanningLabels:
    """The labels of an agent, a method, a registered method name or a labelled row.

    Looked up in this order:

    - a :class:`PlanningLabels`: itself;
    - a string: the labels :func:`register_labels` declared for that method name;
    - a mapping with the keys ``"rules"`` and ``"data"`` (a row already labelled);
    - an object (or class) whose ``planning_labels`` attribute is a :class:`PlanningLabels`
      (:class:`~hybrid.planning.agents.PlanningAgent`: the rules given, its perception's
      :func:`perception_data`; :class:`~hybrid.planning.task.PerceiveAndSearch`;
      :class:`~hybrid.planning.task.DeepRLPolicy`: model-free);
    - a wrapper: the labels of what it wraps (``model_``, ``hybrid`` or ``teacher``: the
      compressed variants).

    Raises:
        ValueError: an unknown method name.
        TypeError: nothing above gives labels.
    """
    if isinstance(what, PlanningLabels):
        return what
    if isinstance(what, str):
        found = method_labels(what)
        if found is None:
            raise ValueError(f"method {what!r} has no planning labels; declared: {', '.join(sorted(_METHOD_LABELS))}")
        return found
    if isinstance(what, Mapping):
        if all(k in what for k in LABEL_KEYS):
            return PlanningLabels(str(what["rules"]), str(what["data"]))
        raise TypeError(f"a row must hold the keys {LABEL_KEYS} to give planning labels, got keys {sorted(what)}")
    declared = getattr(what, "planning_labels", None)
    if isinstance(declared, PlanningLabels):
        return declared
    if not isinstance(what, type):
        for name in ("model_", "hybrid", "teacher"):
            inner = getattr(what, name, None)
            if inner is None or inner is what:
                continue
            try:
                return planning_labels(inner)
            except TypeError:
                continue
    raise TypeError(f"no planning labels for {what!r}: give a PlanningLabels, a registered method name, a row with "
                    f"{LABEL_KEYS}, or an object whose planning_labels is a PlanningLabels")


def label_row(row: Mapping[str, Any], what: Any) -> dict[str, Any]:
    """A copy of ``row`` with the keys ``"rules"`` and ``"data"`` set to the labels of ``what``.

    Args:
        row: a table row or a ``summary.json`` entry.
        what: anything :func:`planning_labels` reads.

    Raises:
        ValueError, TypeError: as :func:`planning_labels`.
    """
    return {**row, **planning_labels(what).as_dict()}
