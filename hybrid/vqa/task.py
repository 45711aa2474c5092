"""The ``clevr`` task: answer CLEVR's questions about rendered scenes, scored by question type.

The x-axis of its curves is the number of training question-answer pairs (ten per
scene). The hybrid also reads the scene tables of the training images and at most 270
of the training questions' programs; the deep baselines read images, questions and
answers only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from hybrid.evaluate.protocols import MetricSpec
from hybrid.tasks.clevr import QUESTION_TYPES, question_type
from hybrid.vqa.data import VQAData, make_vqa_data

QUESTIONS_PER_SCENE = 10


def accuracy_by_type(data: VQAData, predicted: Sequence[str]) -> tuple[float, dict[str, float]]:
    """Overall answer accuracy and accuracy per CLEVR question type.

    Args:
        data: the questions with their true answers.
        predicted: one answer per question.

    Returns:
        ``(accuracy, {question type: accuracy})``; types absent from ``data`` are left out.

    Raises:
        ValueError: ``predicted`` has the wrong length.
    """
    truth = data.answers()
    if len(predicted) != len(truth):
        raise ValueError(f"predicted has {len(predicted)} answers for {len(truth)} questions")
    right = np.array([p == t for p, t in zip(predicted, truth, strict=True)], dtype=float)
    types = [question_type(q) for q in data.questions]
    by_type = {t: float(right[[k for k, u in enumerate(types) if u == t]].mean()) for t in QUESTION_TYPES if t in types}
    return (float(right.mean()) if len(right) else float("nan")), by_type


def template_of(question) -> str:
    """A question's template, ``"<file stem>:<family index>"`` (``"single_or:3"``), or
    ``"unknown"`` when the question does not say."""
    name = question.template_filename
    family = question.question_family_index
    if name is None and family is None:
        return "unknown"
    stem = (name or "").removesuffix(".json")
    return f"{stem}:{family}" if stem else f"family:{family}"


def accuracy_by_template(data: VQAData, predicted: Sequence[str]) -> dict[str, float]:
    """Answer accuracy per template (:func:`template_of`), for every template in ``data``.

    Raises:
        ValueError: ``predicted`` has the wrong length.
    """
    truth = data.answers()
    if len(predicted) != len(truth):
        raise ValueError(f"predicted has {len(predicted)} answers for {len(truth)} questions")
    right: dict[str, list[bool]] = {}
    for q, p, t in zip(data.questions, predicted, truth, strict=True):
        right.setdefault(template_of(q), []).append(p == t)
    return {k: float(np.mean(v)) for k, v in sorted(right.items())}


class CLEVRTask:
    """CLEVR-style visual question answering from pixels.

    Args:
        n_test: held-out questions (about ``n_test / 10`` fresh scenes).
        condition: ``None`` for CLEVR; ``"A"`` trains and tests on CoGenT condition A;
            ``"AB"`` trains on A and tests on B (the compositional split).
        image_size: render size.
        name: registry name.
    """

    name = "clevr"
    #: What one training sample is (the overview's x axis).
    x_label = "training QA pairs"
    metrics = (
        MetricSpec("accuracy", "answer accuracy", True, 0.9, floor=0.0, ceiling=1.0, minimum=0.0),
        *(MetricSpec(f"accuracy_{t}", f"accuracy on {t} questions", True, None, 0.0, 1.0, 0.0) for t in QUESTION_TYPES),
    )

    def __init__(self, n_test: int = 1000, condition: str | None = None, image_size: int = 128, name: str = "clevr"):
        if not isinstance(n_test, int) or n_test < 10:
            raise ValueError(f"n_test must be an int >= 10, got {n_test!r}")
        if condition not in (None, "A", "B", "AB"):
            raise ValueError(f"condition must be None, 'A', 'B' or 'AB', got {condition!r}")
        self.n_test = n_test
        self.condition = condition
        self.image_size = image_size
        self.name = name

    def params(self) -> dict[str, Any]:
        """The task's configuration."""
        return {"n_test": self.n_test, "condition": self.condition, "image_size": self.image_size, "name": self.name}

    def _train_condition(self) -> str | None:
        return "A" if self.condition == "AB" else self.condition

    def _test_condition(self) -> str | None:
        return "B" if self.condition == "AB" else self.condition

    def train_set(self, n: int, seed: int) -> VQAData:
        """``n`` question-answer pairs (with programs) about ``ceil(n / 10)`` rendered scenes."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        rng = np.random.default_rng([seed, 0])
        data = make_vqa_data(
            math.ceil(n / QUESTIONS_PER_SCENE) + 1,
            QUESTIONS_PER_SCENE,
            rng,
            condition=self._train_condition(),
            image_size=self.image_size,
            split="train",
        )
        return data.subset(n)

    def test_set(self, seed: int) -> VQAData:
        """``n_test`` held-out questions about fresh scenes."""
        rng = np.random.default_rng([seed, 1])
        data = make_vqa_data(
            math.ceil(self.n_test / QUESTIONS_PER_SCENE) + 1,
            QUESTIONS_PER_SCENE,
            rng,
            condition=self._test_condition(),
            image_size=self.image_size,
            split="val",
        )
        return data.subset(self.n_test)

    def test_examples(self, test: VQAData) -> int:
        """Questions ``score`` answers."""
        return len(test)

    #: questions per inference call when latency is timed at the task's batch (the baselines' predict batch).
    inference_batch = 256

    def latency_call(self, method, test: VQAData, batch: int):
        """A call answering the first ``batch`` test questions (questions repeat past ``n_test``)."""
        rows = np.resize(np.arange(len(test)), batch)
        texts = test.texts()
        questions = [texts[i] for i in rows]
        index = np.asarray(test.image_index)[rows]
        return lambda: method.answer(test.images, questions, index)

    def score(self, method, test: VQAData) -> dict[str, Any]:
        """Answer accuracy overall and per question type."""
        predicted = method.answer(test.images, test.texts(), test.image_index)
        acc, by_type = accuracy_by_type(test, predicted)
        metrics: dict[str, Any] = {"accuracy": acc}
        for t in QUESTION_TYPES:
            metrics[f"accuracy_{t}"] = by_type.get(t, float("nan"))
        return metrics
