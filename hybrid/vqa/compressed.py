"""VQA's networks, compressed.

:class:`CompressedVQA` compresses the end-to-end baselines (a ``compressed-deep`` method);
:class:`CompressedNSVQA` compresses NS-VQA's own parsers (a ``hybrid`` method: the
executor is untouched).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from torch import nn

from hybrid.compressed_hybrid import CompressedHybrid
from hybrid.compression import CompressedDeep
from hybrid.neural.vqa.scene_parser import images_to_tensor
from hybrid.vqa.data import VQAData


class CompressedVQA(CompressedDeep):
    """A CNN+LSTM or FiLM baseline (``hybrid.neural.vqa.baselines``) trained, then compressed.

    ``fit(train)`` trains a clone of ``teacher`` on the :class:`VQAData`'s images,
    questions and answers (as :class:`~hybrid.vqa.deep.DeepVQA` does; the teacher's
    training is charged to this method), compresses its network by ``recipe`` (see
    :class:`~hybrid.compression.CompressedDeep`) and fine-tunes it with the teacher's own
    loop settings — its training split, learning rate, batch size, gradient clipping,
    and early stopping on its validation split's accuracy (best weights kept).
    ``answer`` is the teacher clone's ``predict`` running the compressed network. Int8
    networks run on the CPU (their convolutions stay float: dynamic int8 covers Linear,
    LSTM and GRU layers).

    The recipes that apply: ``prune``, ``int8``, ``prune+int8``, ``low-rank``
    (``prune-structured`` is refused by Torch-Pruning for recurrent layers; ``distill``
    needs an MLP student; ``lottery`` would retrain the whole network several times).
    """

    def fit(self, train: VQAData, y: None = None) -> CompressedVQA:
        """Train the teacher on ``train``, compress its network, fine-tune; returns self.

        ``y`` is ignored (``train`` holds the answers).

        Raises:
            ValueError: ``train`` is not a :class:`VQAData`, a bad setting, or a recipe
                that does not apply.
        """
        if not isinstance(train, VQAData):
            raise ValueError(f"train must be a VQAData, got {type(train).__name__}")
        self._check_params()
        if self.recipe in ("prune-structured", "distill", "lottery"):
            raise ValueError(f"recipe {self.recipe!r} is not available for the VQA baselines; "
                             "use 'prune', 'int8', 'prune+int8' or 'low-rank'")
        questions, answers = train.texts(), train.answers()
        model = clone(self.teacher).fit(train.images, questions, answers, train.image_index)
        self._data_ = self._prepare(model, train.images, questions, answers, train.image_index)
        try:
            self._compress(model)
        finally:
            del self._data_
        self.model_ = model
        return self

    def answer(
        self, images: np.ndarray, questions: Sequence[str], image_index: Sequence[int] | None = None
    ) -> list[str]:
        """The compressed model's answers (one string per question) to ``questions`` about ``images``.

        Raises:
            NotFittedError: before :meth:`fit`.
        """
        if not hasattr(self, "model_"):
            raise NotFittedError("CompressedVQA is not fitted: call fit(train) first")
        return self.model_.predict(images, list(questions), image_index)

    # ------------------------------------------------------------------ the pillar's part

    @staticmethod
    def _prepare(model: Any, images, questions: list[str], answers: list[str], image_index) -> dict[str, Any]:
        """The teacher's encoded training data and its split (redrawn from its seed, as its fit drew it)."""
        idx = np.arange(len(questions)) if image_index is None else np.asarray(image_index, dtype=np.int64)
        tr, va = model._split(idx, np.random.default_rng(model.seed))
        tokens, lengths = model._encode(questions)
        answer_id = {a: k for k, a in enumerate(model.answers_)}
        return {
            "imgs": torch.as_tensor(np.asarray(images)), "idx": torch.as_tensor(idx), "tokens": tokens,
            "lengths": lengths, "tr": torch.as_tensor(tr), "va": torch.as_tensor(va),
            "targets": torch.tensor([answer_id.get(a, -1) for a in answers], dtype=torch.long),
        }

    def _network(self, model: Any) -> nn.Module:
        return model.net_

    def _set_network(self, model: Any, network: nn.Module) -> None:
        model.net_ = network
        if "int8" in self.recipe:  # int8 kernels run on the CPU
            model.device_ = torch.device("cpu")

    def _train_fn(self, model: Any, epochs: int) -> Callable[[nn.Module], None]:
        d = self._data_

        def train(network: nn.Module) -> None:
            """The teacher's loop on ``network``: Adam, clipping, early stopping on validation accuracy."""
            saved, model.net_ = model.net_, network  # the teacher's forward path runs ``network``
            try:
                opt = torch.optim.Adam([p for p in network.parameters() if p.requires_grad], lr=model.lr,
                                       weight_decay=model.weight_decay)
                gen = torch.Generator().manual_seed(int(self.seed))

                def val_acc() -> float | None:
                    if not len(d["va"]):
                        return None
                    pred = model._predict_ids(d["imgs"], d["idx"], d["tokens"], d["lengths"], d["va"], 256)
                    return float((pred == d["targets"][d["va"]]).float().mean())

                best = val_acc()
                best_state = copy.deepcopy(network.state_dict()) if best is not None else None
                since = 0
                for _ in range(epochs):
                    network.train()
                    order = d["tr"][torch.randperm(len(d["tr"]), generator=gen)]
                    for b in range(0, len(order), model.batch_size):
                        rows = order[b : b + model.batch_size]
                        logits = model._logits(d["imgs"], d["idx"], d["tokens"], d["lengths"], rows)
                        loss = F.cross_entropy(logits, d["targets"][rows].to(model.device_))
                        opt.zero_grad(set_to_none=True)
                        loss.backward()
                        if model.clip_norm is not None:
                            nn.utils.clip_grad_norm_(network.parameters(), model.clip_norm)
                        opt.step()
                    acc = val_acc()
                    if acc is None:
                        continue
                    if acc > best:
                        best, best_state, since = acc, copy.deepcopy(network.state_dict()), 0
                    else:
                        since += 1
                        if since >= model.patience:
                            break
                if best_state is not None:
                    network.load_state_dict(best_state)
                network.eval()
            finally:
                model.net_ = saved

        return train


class CompressedNSVQA(CompressedHybrid):
    """NS-VQA (:class:`~hybrid.vqa.nsvqa.NSVQA`) trained, then its parsers compressed.

    ``fit(train)`` trains a clone of ``hybrid`` on the :class:`VQAData` (charged to this
    method), then compresses by ``recipe`` (see :mod:`hybrid.compressed_hybrid`):

    - the scene parser's CNN is the network ``prune`` cuts: ``amount`` of its weights
      magnitude-pruned, then fine-tuned to reproduce the dense CNN's output maps on the
      images it was trained on (no scene labels are read again); it has no Linear layer,
      so ``int8`` leaves it float;
    - the question parser's seq2seq LSTM is the network ``int8`` quantises (its Linear
      and LSTM layers); ``prune`` leaves it dense (its decoder runs step by step, not as
      one forward over a batch of inputs, so output matching does not apply).

    ``answer`` is the clone's own ``answer``: same programs, same executor. An int8
    question parser runs on the CPU.
    """

    def fit(self, train: VQAData, y: None = None) -> CompressedNSVQA:
        """Train NS-VQA on ``train``, compress its parsers; returns self (``y`` is ignored).

        Raises:
            ValueError: ``train`` is not a :class:`VQAData`, or a bad setting.
        """
        if not isinstance(train, VQAData):
            raise ValueError(f"train must be a VQAData, got {type(train).__name__}")
        return super().fit(train)

    def answer(
        self, images: np.ndarray, questions: Sequence[str], image_index: Sequence[int] | None = None
    ) -> list[str]:
        """The answers (CLEVR strings) of NS-VQA with compressed parsers.

        Raises:
            NotFittedError: before :meth:`fit`.
        """
        self._check_fitted()
        return self.model_.answer(images, list(questions), image_index)

    def _parts(self, model: Any) -> dict[str, Any]:
        return {"scene_parser": model.scene_parser_, "question_parser": model.question_parser_}

    def _training_inputs(self, model: Any, train: VQAData) -> dict[str, torch.Tensor]:
        parser = model.scene_parser_
        return {"scene_parser": images_to_tensor(train.images[: model.n_scenes_used_], parser.device_)}

