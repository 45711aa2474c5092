"""The end-to-end baselines as evaluator methods: ``fit(VQAData)`` and ``answer(...)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hybrid.vqa.data import VQAData


class DeepVQA:
    """Wraps a :mod:`hybrid.neural.vqa.baselines` model so that it reads a :class:`VQAData`.

    Args:
        model: an unfitted baseline (``CNNLSTM`` or ``FiLM``) with ``fit(images,
            questions, answers, image_index)`` and ``predict(images, questions, image_index)``.
    """

    family = "deep"

    def __init__(self, model: Any) -> None:
        self.model = model

    def fit(self, train: VQAData) -> DeepVQA:
        """Train on the images, question texts and answers (programs and scenes unused)."""
        if not isinstance(train, VQAData):
            raise ValueError(f"train must be a VQAData, got {type(train).__name__}")
        self.model.fit(train.images, train.texts(), train.answers(), train.image_index)
        return self

    def answer(
        self, images: np.ndarray, questions: Sequence[str], image_index: Sequence[int] | None = None
    ) -> list[str]:
        """The model's answers to ``questions`` about ``images``."""
        return self.model.predict(images, list(questions), image_index)
