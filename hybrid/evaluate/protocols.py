"""The contract every pillar plugs into: Task, Method, and how metrics are declared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

Family = Literal["hybrid", "deep", "compressed-deep", "peer"]
#: ``peer``: another system of the hybrid's own kind (e.g. genetic programming), run side by side.
FAMILIES: tuple[str, ...] = ("hybrid", "deep", "compressed-deep", "peer")


@dataclass(frozen=True)
class MetricSpec:
    """One metric a task reports.

    Attributes:
        name: key in the metrics dict (``"r2_extrap"``).
        label: axis/table label (``"R^2 outside the training range"``).
        higher_is_better: direction of improvement.
        target: the level that counts as reached, for samples-to-target tables
            (``None``: the metric gets curves but no target column).
        floor: plots draw values below this at it, marked as clipped (R^2 can be -1e6
            far outside the data; the tables keep the true value).
        ceiling: the largest possible value (R^2: 1); intervals are cut there.
        minimum: the smallest possible value (an accuracy's 0; ``None`` for R^2, which
            has none); intervals are cut there.
    """

    name: str
    label: str
    higher_is_better: bool = True
    target: float | None = None
    floor: float | None = None
    ceiling: float | None = None
    minimum: float | None = None

    def bounded(self, value: float) -> float:
        """``value`` cut to ``[minimum, ceiling]`` (a Student-t interval can pass a metric's bounds)."""
        if self.ceiling is not None and value > self.ceiling:
            return self.ceiling
        if self.minimum is not None and value < self.minimum:
            return self.minimum
        return value

    def reached(self, value: float) -> bool:
        """True if ``value`` meets the target (False when there is no target or NaN)."""
        if self.target is None or value != value:
            return False
        return value >= self.target if self.higher_is_better else value <= self.target


@runtime_checkable
class Method(Protocol):
    """A trainable method: a scikit-learn estimator.

    Its class derives from ``sklearn.base.BaseEstimator`` (and ``RegressorMixin`` for a
    regressor): the constructor stores its hyper-parameters unchanged and does nothing
    else, so ``clone``, ``get_params``/``set_params`` and pickling work. ``fit(train)``
    learns (state in attributes ending in ``_``) and returns ``self``. How it is queried
    (``predict``, ``answer``, ``act``) is the business of the task that scores it; a query
    before ``fit`` raises ``sklearn.exceptions.NotFittedError``. ``family`` (a class
    attribute, one of :data:`FAMILIES`) says what it is.
    """

    family: str

    def fit(self, train: Any) -> Method:  # pragma: no cover - protocol
        """Learn from the task's training set and return self."""
        ...


@runtime_checkable
class Task(Protocol):
    """A benchmark: draws data and scores fitted methods. It never trains anything.

    Attributes:
        name: registry name.
        metrics: the metrics ``score`` returns, first one primary.
    """

    name: str
    metrics: tuple[MetricSpec, ...]

    def params(self) -> dict[str, Any]:  # pragma: no cover - protocol
        """The task's configuration (JSON-able); part of every run's identity."""
        ...

    def train_set(self, n: int, seed: int) -> Any:  # pragma: no cover - protocol
        """The training set of size ``n`` for ``seed``."""
        ...

    def test_set(self, seed: int) -> Any:  # pragma: no cover - protocol
        """The test set for ``seed`` (may include several splits)."""
        ...

    def score(self, method: Method, test: Any) -> dict[str, Any]:  # pragma: no cover
        """Score a fitted method: ``{metric name: float}``, plus an optional ``"details"``.

        Runs inside the meter's ``inference`` phase: put here what the method must
        compute (predictions, answers, actions). A task may also define
        ``audit(method, test)`` with the same return shape, run after the phase, for
        checks that are the evaluator's work, not the method's (e.g. sympy equality).

        Optionally a task also defines ``latency_call(method, test, batch)``, returning a
        no-argument callable that runs the method's inference on ``batch`` examples,
        and ``inference_batch`` (its usual batch): the evaluator then times inference
        per example, warm, at batch 1 and at ``inference_batch``; and ``test_examples(test)``,
        the number of examples ``score`` runs the method on, which the evaluator stores as
        the inference phase's ``examples`` (the report divides the phase's FLOPs by it).
        """
        ...
