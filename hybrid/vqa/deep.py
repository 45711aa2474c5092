"""The end-to-end baselines as evaluator methods: ``fit(VQAData)`` and ``answer(...)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from hybrid.vqa.data import VQAData


class DeepVQA(BaseEstimator):
    """Wraps a :mod:`hybrid.neural.vqa.baselines` model so that it reads a :class:`VQAData`.

    A scikit-learn meta-estimator: :meth:`fit` trains a ``sklearn.base.clone`` of ``model``
    (the model passed in stays unfitted), and ``get_params()`` shows the model's
    hyper-parameters as ``model__<name>``.

    Args:
        model: an unfitted baseline (``CNNLSTM`` or ``FiLM``) with ``fit(images,
            questions, answers, image_index)`` and ``predict(images, questions, image_index)``.

    Attributes (after ``fit``):
        model_: the trained clone of ``model``.
    """

    family = "deep"

    def __init__(self, model: Any) -> None:
        self.model = model

    def fit(self, train: VQAData, y: None = None) -> DeepVQA:
        """Train a clone of ``model`` on the images, question texts and answers (programs and scenes unused).

        ``y`` is ignored (``train`` holds the answers); it lets a scikit-learn ``Pipeline``
        call ``fit(train, y)``.

        Returns:
            self.

        Raises:
            ValueError: ``train`` is not a :class:`VQAData`.
        """
        if not isinstance(train, VQAData):
            raise ValueError(f"train must be a VQAData, got {type(train).__name__}")
        self.model_ = clone(self.model).fit(train.images, train.texts(), train.answers(), train.image_index)
        return self

    def answer(
        self, images: np.ndarray, questions: Sequence[str], image_index: Sequence[int] | None = None
    ) -> list[str]:
        """The trained model's answers (one string per question) to ``questions`` about ``images``.

        Raises:
            NotFittedError: before :meth:`fit`.
        """
        if not hasattr(self, "model_"):
            raise NotFittedError("DeepVQA is not fitted: call fit(train) first")
        return self.model_.predict(images, list(questions), image_index)
