"""The training loop and query API shared by the end-to-end VQA baselines (:class:`VQABaseline`).

Adam on cross-entropy, minibatches in a seeded random order, gradient-norm clipping, an
optional validation split (by image) with early stopping that keeps the best weights, an
optional time budget and a tqdm bar; then ``predict``/``score`` and ``save``/``load``.
The networks are in :mod:`hybrid.neural.vqa.baseline_nets`, the named baselines
(:class:`~hybrid.neural.vqa.baselines.CNNLSTM`, :class:`~hybrid.neural.vqa.baselines.FiLM`)
in :mod:`hybrid.neural.vqa.baselines`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from hybrid.neural.device import torch_device
from hybrid.neural.vqa.baseline_nets import init_params
from hybrid.neural.vqa.text import Vocab, pad_batch, tokenize
from hybrid.tasks._checks import check_int
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from torch import nn

__all__ = ["VQABaseline"]


# ============================================================================ input checks


def _check_images(images: Any) -> np.ndarray:
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        kind = images.dtype if isinstance(images, np.ndarray) else type(images).__name__
        raise ValueError(f"images must be a uint8 numpy array (N, H, W, 3), got {kind}")
    if images.ndim != 4 or images.shape[3] != 3 or min(images.shape[1:3]) < 8:
        raise ValueError(f"images must have shape (N, H, W, 3) with H, W >= 8, got {images.shape}")
    if images.shape[0] == 0:
        raise ValueError("images must hold at least one image")
    return images


def _check_strings(name: str, values: Any) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | np.ndarray):
        raise ValueError(f"{name} must be a sequence of strings, got {type(values).__name__}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} must hold at least one string")
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise ValueError(f"{name}[{i}] must be a str, got {type(v).__name__} {v!r}")
    return values


def _check_index(image_index: Any, n_questions: int, n_images: int) -> np.ndarray:
    if image_index is None:
        if n_images != n_questions:
            raise ValueError(
                f"image_index is needed when images ({n_images}) and questions ({n_questions}) differ in number"
            )
        return np.arange(n_questions)
    idx = np.asarray(image_index)
    if idx.ndim != 1 or idx.shape[0] != n_questions:
        raise ValueError(f"image_index must hold one int per question ({n_questions}), got shape {idx.shape}")
    if idx.dtype.kind not in "iu":
        raise ValueError(f"image_index must hold ints, got dtype {idx.dtype}")
    if idx.min() < 0 or idx.max() >= n_images:
        raise ValueError(f"image_index must lie in [0, {n_images}), got values in [{idx.min()}, {idx.max()}]")
    return idx.astype(np.int64)


class VQABaseline(BaseEstimator):
    """The training loop and API shared by the end-to-end VQA baselines.

    A scikit-learn estimator. A subclass names its network in :attr:`_net_class` and its
    network's size arguments in :attr:`_net_args`, and lists every argument (these and its
    sizes) explicitly in its own constructor, which only stores them (so ``clone``,
    ``get_params`` and pickling work); everything else is here.

    Args:
        epochs: epoch cap.
        batch_size: questions per minibatch.
        lr: Adam's learning rate.
        weight_decay: Adam's L2 penalty.
        val_fraction: share of the questions held out for validation, whole images at a
            time (0: no validation; the last weights are kept).
        patience: epochs without a better validation accuracy before stopping.
        clip_norm: gradient-norm clipping (``None``: none).
        max_seconds: stop training after this many seconds (checked after every
            minibatch; ``None``: no limit); with validation the best weights so far are kept.
        seed: seeds the split, the initialisation and the minibatch order.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        progress: show a tqdm bar over epochs.

    Attributes (after :meth:`fit`):
        net_: the trained network (in eval mode); vocab_: the question vocabulary;
        answers_: answer strings, by class id; history_: one dict per epoch
        (``epoch``, ``loss``, ``train_acc``, ``val_acc`` or ``None``, ``seconds``);
        best_epoch_: the epoch whose weights were kept; device_: the torch device;
        n_iter_: epochs trained; stopped_by_: what ended training — ``"early-stopping"``
        (validation accuracy stopped improving: converged), ``"epoch-cap"`` (``epochs``
        ran out first) or ``"time-cap"`` (``max_seconds`` ran out first).
    """

    family = "deep"
    _net_class: type[nn.Module] = nn.Module
    _net_args: tuple[str, ...] = ()

    def __init__(
        self,
        epochs: int = 50,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        val_fraction: float = 0.1,
        patience: int = 5,
        clip_norm: float | None = 5.0,
        max_seconds: float | None = None,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = False,
    ):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.patience = patience
        self.clip_norm = clip_norm
        self.max_seconds = max_seconds
        self.seed = seed
        self.device = device
        self.progress = progress

    # ------------------------------------------------------------------ configuration

    def _check_params(self) -> None:
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_int("patience", self.patience, 1)
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a number > 0, got {self.lr!r}")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a number >= 0, got {self.weight_decay!r}")
        if not (isinstance(self.val_fraction, (int, float)) and 0 <= self.val_fraction < 1):
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if self.clip_norm is not None and not (isinstance(self.clip_norm, (int, float)) and self.clip_norm > 0):
            raise ValueError(f"clip_norm must be a number > 0 or None, got {self.clip_norm!r}")
        if self.max_seconds is not None and not (isinstance(self.max_seconds, (int, float)) and self.max_seconds >= 0):
            raise ValueError(f"max_seconds must be a number >= 0 or None, got {self.max_seconds!r}")
        for name in self._net_args:
            check_int(name, getattr(self, name), 1)

    def _build(self, n_words: int, n_answers: int) -> nn.Module:
        net = self._net_class(n_words, n_answers, **{name: getattr(self, name) for name in self._net_args})
        init_params(net, torch.Generator().manual_seed(int(self.seed)))
        return net

    # ------------------------------------------------------------------ data

    def _encode(self, questions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        # An empty question (no token) reads as a lone <UNK>.
        return pad_batch([self.vocab_.encode(tokenize(q)) or [self.vocab_.stoi["<UNK>"]] for q in questions])

    def _split(self, image_index: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        n = len(image_index)
        if self.val_fraction == 0 or n < 2:
            return np.arange(n), np.arange(0)
        n_val = min(max(1, round(self.val_fraction * n)), n - 1)
        images = np.unique(image_index)
        if len(images) >= 5:  # whole images to validation, until it holds about n_val questions
            order = rng.permutation(images)
            counts = np.bincount(image_index, minlength=int(image_index.max()) + 1)[order]
            k = int(np.searchsorted(np.cumsum(counts), n_val)) + 1
            k = min(k, len(images) - 1)
            val = np.isin(image_index, order[:k])
            return np.flatnonzero(~val), np.flatnonzero(val)
        perm = rng.permutation(n)
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])

    def _logits(self, images: torch.Tensor, idx: torch.Tensor, tokens, lengths, rows: torch.Tensor) -> torch.Tensor:
        """Logits for questions ``rows``; each distinct image of the batch goes through the stem once."""
        uniq, image_of = torch.unique(idx[rows], return_inverse=True)
        length = lengths[rows]
        tok = tokens[rows, : int(length.max())]
        dev = self.device_
        return self.net_(images[uniq].to(dev), image_of.to(dev), tok.to(dev), length.to(dev))

    # ------------------------------------------------------------------ fit / predict

    def fit(
        self,
        images: np.ndarray,
        questions: Sequence[str],
        answers: Sequence[str],
        image_index: Sequence[int] | None = None,
    ) -> VQABaseline:
        """Train on ``(image, question, answer)`` triples.

        Args:
            images: uint8 ``(N_img, H, W, 3)`` RGB images.
            questions: the questions' texts.
            answers: their answers, as strings (CLEVR's ``"yes"``, ``"3"``, ``"red"``, ...).
            image_index: for each question, the index of its image in ``images``
                (``None``: question ``i`` is about image ``i``).

        Returns:
            self.

        Raises:
            ValueError: a bad argument (shape, dtype, length, index range, empty set) or
                hyper-parameter.
        """
        self._check_params()
        images = _check_images(images)
        questions = _check_strings("questions", questions)
        answers = _check_strings("answers", answers)
        if len(answers) != len(questions):
            raise ValueError(f"answers must have one entry per question ({len(questions)}), got {len(answers)}")
        idx_np = _check_index(image_index, len(questions), images.shape[0])
        self.device_ = torch_device(self.device)
        rng = np.random.default_rng(self.seed)
        gen = torch.Generator().manual_seed(int(self.seed))

        tr, va = self._split(idx_np, rng)
        self.vocab_ = Vocab.build(tokenize(questions[i]) for i in tr)
        self.answers_ = sorted({answers[i] for i in tr})
        answer_id = {a: k for k, a in enumerate(self.answers_)}
        tokens, lengths = self._encode(questions)
        # -1: a validation answer unseen in training, which counts as wrong.
        targets = torch.tensor([answer_id.get(a, -1) for a in answers], dtype=torch.long)
        idx = torch.as_tensor(idx_np)
        imgs = torch.as_tensor(images)  # stays uint8 on the CPU; batches move to the device
        self.net_ = self._build(len(self.vocab_), len(self.answers_)).to(self.device_)
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        tr_t, va_t = torch.as_tensor(tr), torch.as_tensor(va)

        self.history_, self.best_epoch_ = [], 0
        best_acc, best_state, since = -1.0, None, 0
        start = time.perf_counter()
        stop_at = None if self.max_seconds is None else start + self.max_seconds
        epochs: Any = range(1, self.epochs + 1)
        if self.progress:
            from tqdm.auto import tqdm

            epochs = tqdm(epochs, desc=type(self).__name__, unit="epoch")
        for epoch in epochs:
            self.net_.train()
            order = tr_t[torch.randperm(len(tr_t), generator=gen)]
            loss_sum, correct, seen, out_of_time = 0.0, 0, 0, False
            for b in range(0, len(order), self.batch_size):
                rows = order[b : b + self.batch_size]
                y = targets[rows].to(self.device_)
                logits = self._logits(imgs, idx, tokens, lengths, rows)
                loss = F.cross_entropy(logits, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if self.clip_norm is not None:
                    nn.utils.clip_grad_norm_(self.net_.parameters(), self.clip_norm)
                opt.step()
                loss_sum += float(loss.detach()) * len(rows)
                correct += int((logits.argmax(1) == y).sum())
                seen += len(rows)
                if stop_at is not None and time.perf_counter() > stop_at:
                    out_of_time = True
                    break
            val_acc = None
            if len(va):
                pred = self._predict_ids(imgs, idx, tokens, lengths, va_t, 256)
                val_acc = float((pred == targets[va_t]).float().mean())
            self.history_.append(
                {
                    "epoch": epoch,
                    "loss": loss_sum / max(seen, 1),
                    "train_acc": correct / max(seen, 1),
                    "val_acc": val_acc,
                    "seconds": time.perf_counter() - start,
                }
            )
            if self.progress:
                epochs.set_postfix(loss=f"{loss_sum / max(seen, 1):.3f}", val=val_acc)
            if val_acc is None:
                self.best_epoch_ = epoch
            elif val_acc > best_acc:
                best_acc, since, self.best_epoch_ = val_acc, 0, epoch
                best_state = {k: v.detach().clone() for k, v in self.net_.state_dict().items()}
            else:
                since += 1
            if out_of_time or since >= self.patience:
                break
        self.n_iter_ = len(self.history_)
        if out_of_time:
            self.stopped_by_ = "time-cap"
        elif since >= self.patience:
            self.stopped_by_ = "early-stopping"
        else:
            self.stopped_by_ = "epoch-cap"
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        self.net_.eval()
        return self

    def _predict_ids(self, imgs, idx, tokens, lengths, rows: torch.Tensor, batch_size: int) -> torch.Tensor:
        was_training = self.net_.training
        self.net_.eval()
        out = []
        with torch.no_grad():
            for b in range(0, len(rows), batch_size):
                out.append(self._logits(imgs, idx, tokens, lengths, rows[b : b + batch_size]).argmax(1).cpu())
        self.net_.train(was_training)
        return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)

    def predict(
        self,
        images: np.ndarray,
        questions: Sequence[str],
        image_index: Sequence[int] | None = None,
        batch_size: int = 256,
    ) -> list[str]:
        """Answer each question about its image.

        Args:
            images: uint8 ``(N_img, H, W, 3)`` RGB images.
            questions: the questions' texts (unknown words read as ``<UNK>``).
            image_index: for each question, its image's index (``None``: question ``i``
                is about image ``i``).
            batch_size: questions per forward pass.

        Returns:
            One answer string per question, each one of :attr:`answers_`.

        Raises:
            NotFittedError: the model is not fitted.
            ValueError: a bad argument.
        """
        if not hasattr(self, "net_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(...) first")
        images = _check_images(images)
        questions = _check_strings("questions", questions)
        idx = torch.as_tensor(_check_index(image_index, len(questions), images.shape[0]))
        batch_size = check_int("batch_size", batch_size, 1)
        tokens, lengths = self._encode(questions)
        ids = self._predict_ids(torch.as_tensor(images), idx, tokens, lengths, torch.arange(len(questions)), batch_size)
        return [self.answers_[int(i)] for i in ids]

    def score(self, images, questions, answers, image_index=None) -> float:
        """Answer accuracy on ``(images, questions, answers)`` (see :meth:`predict`)."""
        answers = _check_strings("answers", answers)
        pred = self.predict(images, questions, image_index)
        if len(answers) != len(pred):
            raise ValueError(f"answers must have one entry per question ({len(pred)}), got {len(answers)}")
        return float(np.mean([p == a for p, a in zip(pred, answers, strict=True)]))

    # ------------------------------------------------------------------ persistence

    def save(self, path) -> None:
        """Write the fitted model to ``path`` (a dict of plain data and tensors, see :meth:`load`)."""
        if not hasattr(self, "net_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(...) first")
        torch.save(
            {
                "model": type(self).__name__,
                "config": self.get_params(),
                "vocab": self.vocab_.to_dict(),
                "answers": list(self.answers_),
                "best_epoch": int(self.best_epoch_),
                "state": {k: v.detach().cpu() for k, v in self.net_.state_dict().items()},
            },
            path,
        )

    @classmethod
    def load(cls, path, device: str = "cpu") -> VQABaseline:
        """Read a model written by :meth:`save` (``torch.load(weights_only=True)``), onto ``device``.

        Raises:
            ValueError: the file holds another model class or is not such a file.
        """
        data = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(data, dict) or not {"model", "config", "vocab", "answers", "state"} <= set(data):
            raise ValueError(f"path {str(path)!r} holds no saved VQA baseline")
        if data["model"] != cls.__name__:
            raise ValueError(f"path {str(path)!r} holds a {data['model']}, not a {cls.__name__}")
        config = dict(data["config"], device=device)
        model = cls(**config)
        model.device_ = torch_device(device)
        model.vocab_ = Vocab.from_dict(data["vocab"])
        model.answers_ = list(data["answers"])
        model.best_epoch_ = int(data.get("best_epoch", 0))
        model.history_ = []
        model.net_ = model._build(len(model.vocab_), len(model.answers_))
        model.net_.load_state_dict(data["state"])
        model.net_.to(model.device_).eval()
        return model
