"""End-to-end deep baselines for visual QA: CNN+LSTM and FiLM.

Both learn from ``(image, question, answer)`` triples only, with no scene table and no
program, and are what the neuro-symbolic pipeline (``hybrid.vqa``) is compared against:

- :class:`CNNLSTM` (the "CNN+LSTM" baseline of Antol et al. 2015 and Johnson et al.
  2017): a small CNN turns the image into a vector, an LSTM reads the question, the two
  vectors are fused (concatenated with their element-wise product) and an MLP scores the
  answers.
- :class:`FiLM` (Perez et al. 2018): a GRU reads the question and predicts, for each
  residual block, a per-channel scale ``gamma`` and shift ``beta`` that modulate the
  block's feature maps (``FiLM(x) = gamma * x + beta``); the blocks see the CNN's feature
  maps with two coordinate channels, and a classifier (1x1 conv, global max pool, MLP)
  scores the answers.

Both are scaled down to train on a CPU: images (uint8 RGB, any size; 128x128 from
:func:`hybrid.tasks.clevr.render_scene`) are area-resized to ``input_size`` (64 by default) and
a stride-2 stem takes them to 16x16 feature maps. Answers are classes, the distinct
answer strings of the training set (an answer never seen in training is simply never
predicted). Questions go through :func:`hybrid.neural.vqa.text.tokenize` and a
:class:`hybrid.neural.vqa.text.Vocab` built on the training questions; an unknown word becomes
``<UNK>``.

Training (shared by both, :class:`VQABaseline`): Adam on cross-entropy, minibatches in a
seeded random order, gradient-norm clipping, an optional validation split (by image, so it
measures new images) with early stopping that keeps the best weights, an optional time
budget (``max_seconds``) and a tqdm bar over epochs. Each minibatch runs the image stem
once per distinct image in it, so many questions per image cost less.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from hybrid.neural.device import torch_device
from hybrid.neural.vqa.text import Vocab, pad_batch, tokenize
from torch import nn

__all__ = ["CNNLSTM", "FiLM", "VQABaseline"]



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


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


# ============================================================================ modules


def _init_(module: nn.Module, gen: torch.Generator) -> None:
    """Initialise every parameter from ``gen`` (no global seeding), at PyTorch's default scales.

    Conv/linear: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for weights and biases; RNNs:
    ``U(-1/sqrt(hidden), 1/sqrt(hidden))``; embeddings ``N(0, 1)``; batch-norm scale 1 and
    shift 0.
    """
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                bound = 1.0 / math.sqrt(m.weight[0].numel())
                for p in (m.weight, m.bias):
                    if p is not None:
                        p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
            elif isinstance(m, (nn.LSTM, nn.GRU)):
                bound = 1.0 / math.sqrt(m.hidden_size)
                for p in m.parameters():
                    p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
            elif isinstance(m, nn.Embedding):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen))
            elif isinstance(m, nn.BatchNorm2d) and m.affine:
                m.weight.fill_(1.0)
                m.bias.fill_(0.0)


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


def _last_state(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The RNN output at each sequence's last real token (the batch is right-padded)."""
    idx = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, outputs.shape[2])
    return outputs.gather(1, idx).squeeze(1)


class _Images(nn.Module):
    """uint8 ``(n, H, W, 3)`` -> normalised float ``(n, 3, size, size)``."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The images as a float batch, resized and centred."""
        x = images.permute(0, 3, 1, 2).float().div_(255.0)
        if x.shape[2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="area")
        return (x - 0.5) / 0.25


class CNNLSTMNet(nn.Module):
    """The CNN+LSTM network: image vector, question vector, fused, MLP -> answer logits.

    Args:
        n_words: vocabulary size; n_answers: answer classes.
        input_size: side the images are resized to; channels: CNN width; embed_dim,
        hidden: word embedding and LSTM sizes; mlp_hidden: the classifier's hidden width.
    """

    def __init__(self, n_words, n_answers, input_size=64, channels=32, embed_dim=64, hidden=128, mlp_hidden=256):
        super().__init__()
        self.images = _Images(input_size)
        # input_size -> /16, then pooled to a 4x4 grid so the vector keeps coarse positions.
        self.cnn = nn.Sequential(
            _conv_bn(3, channels, 2),
            _conv_bn(channels, channels, 2),
            _conv_bn(channels, channels, 2),
            _conv_bn(channels, channels, 2),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(channels * 16, hidden),
            nn.ReLU(),
        )
        self.embed = nn.Embedding(n_words, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(3 * hidden, mlp_hidden), nn.ReLU(), nn.Linear(mlp_hidden, n_answers))

    def forward(self, images, image_of, tokens, lengths) -> torch.Tensor:
        """Answer logits ``(batch, n_answers)``.

        Args:
            images: uint8 ``(m, H, W, 3)``, the distinct images of the batch.
            image_of: ``(batch,)`` which of ``images`` each question is about.
            tokens, lengths: the padded question ids and their lengths.
        """
        v = self.cnn(self.images(images))[image_of]
        q = _last_state(self.lstm(self.embed(tokens))[0], lengths)
        return self.mlp(torch.cat([v, q, v * q], dim=1))


def _coords(x: torch.Tensor) -> torch.Tensor:
    """``x`` with two coordinate channels (in [-1, 1]) appended."""
    n, _, h, w = x.shape
    ys = torch.linspace(-1, 1, h, device=x.device).view(1, 1, h, 1).expand(n, 1, h, w)
    xs = torch.linspace(-1, 1, w, device=x.device).view(1, 1, 1, w).expand(n, 1, h, w)
    return torch.cat([x, ys, xs], dim=1)


class _FiLMBlock(nn.Module):
    """FiLM's residual block: 1x1 conv (with coords), ReLU, 3x3 conv, BN (no affine), FiLM, ReLU, + input."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels + 2, channels, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels, affine=False)

    def forward(self, x, gamma, beta):
        """The block applied to maps ``x`` with per-example, per-channel ``gamma`` and ``beta``."""
        h = F.relu(self.conv1(_coords(x)))
        y = self.bn(self.conv2(h))
        y = F.relu(gamma[:, :, None, None] * y + beta[:, :, None, None])
        return h + y


class FiLMNet(nn.Module):
    """The FiLM network: GRU -> (gamma, beta) per block, modulating residual blocks over CNN maps.

    Args:
        n_words: vocabulary size; n_answers: answer classes.
        input_size: side the images are resized to; channels: feature maps per block;
        n_blocks: FiLM-ed residual blocks; embed_dim, hidden: word embedding and GRU
        sizes; classifier_channels, mlp_hidden: the classifier's 1x1 conv and MLP widths.

    ``gamma`` is predicted as ``1 + delta`` so that an untrained network starts near the
    identity modulation.
    """

    def __init__(
        self,
        n_words,
        n_answers,
        input_size=64,
        channels=32,
        n_blocks=4,
        embed_dim=64,
        hidden=128,
        classifier_channels=64,
        mlp_hidden=256,
    ):
        super().__init__()
        self.images = _Images(input_size)
        self.stem = nn.Sequential(_conv_bn(3, channels, 2), _conv_bn(channels, channels, 2))
        self.embed = nn.Embedding(n_words, embed_dim, padding_idx=0)
        self.gru = nn.GRU(embed_dim, hidden, batch_first=True)
        self.film = nn.Linear(hidden, 2 * channels * n_blocks)
        self.blocks = nn.ModuleList(_FiLMBlock(channels) for _ in range(n_blocks))
        self.classifier = nn.Sequential(
            nn.Conv2d(channels + 2, classifier_channels, 1),
            nn.BatchNorm2d(classifier_channels),
            nn.ReLU(),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
            nn.Linear(classifier_channels, mlp_hidden),
            nn.ReLU(),
            nn.Linear(mlp_hidden, n_answers),
        )
        self.channels = channels

    def forward(self, images, image_of, tokens, lengths) -> torch.Tensor:
        """Answer logits ``(batch, n_answers)`` (arguments as in :meth:`CNNLSTMNet.forward`)."""
        x = self.stem(self.images(images))[image_of]
        q = _last_state(self.gru(self.embed(tokens))[0], lengths)
        params = self.film(q).view(q.shape[0], len(self.blocks), 2, self.channels)
        for k, block in enumerate(self.blocks):
            x = block(x, 1.0 + params[:, k, 0], params[:, k, 1])
        return self.classifier(_coords(x))


# ============================================================================ estimators


class VQABaseline:
    """The training loop and API shared by the end-to-end VQA baselines.

    A subclass names its network in :attr:`_net_class` and its network's size arguments
    in :attr:`_net_args` (defaults in its constructor); everything else is here.

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
        **net_args: the network's sizes (see the subclass).

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
        **net_args: Any,
    ):
        unknown = sorted(set(net_args) - set(self._net_args))
        if unknown:
            raise ValueError(f"{type(self).__name__} got unknown model sizes {unknown}; known: {list(self._net_args)}")
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
        for name, value in net_args.items():
            setattr(self, name, value)

    # ------------------------------------------------------------------ configuration

    def get_params(self) -> dict[str, Any]:
        """The constructor's arguments (hyper-parameters and network sizes)."""
        names = (
            "epochs batch_size lr weight_decay val_fraction patience clip_norm max_seconds seed device progress"
        ).split()
        return {name: getattr(self, name) for name in (*names, *self._net_args)}

    def _check_params(self) -> None:
        _positive_int("epochs", self.epochs)
        _positive_int("batch_size", self.batch_size)
        _positive_int("patience", self.patience)
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
            _positive_int(name, getattr(self, name))

    def _build(self, n_words: int, n_answers: int) -> nn.Module:
        net = self._net_class(n_words, n_answers, **{name: getattr(self, name) for name in self._net_args})
        _init_(net, torch.Generator().manual_seed(int(self.seed)))
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
            RuntimeError: the model is not fitted.
            ValueError: a bad argument.
        """
        if not hasattr(self, "net_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(...) first")
        images = _check_images(images)
        questions = _check_strings("questions", questions)
        idx = torch.as_tensor(_check_index(image_index, len(questions), images.shape[0]))
        batch_size = _positive_int("batch_size", batch_size)
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
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(...) first")
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


class CNNLSTM(VQABaseline):
    """The CNN+LSTM baseline (Antol et al. 2015; Johnson et al. 2017), CPU-sized.

    A four-layer stride-2 CNN (conv-BN-ReLU, ``channels`` wide) over the image resized to
    ``input_size``, average-pooled to a 4x4 grid and projected to ``hidden``; an LSTM over
    word embeddings (``embed_dim``) whose last state is the question vector; the MLP
    (``mlp_hidden``) scores answers from ``[image, question, image * question]``.

    Args:
        input_size, channels, embed_dim, hidden, mlp_hidden: network sizes (defaults
            64, 32, 64, 128, 256).
        epochs, batch_size, lr, ...: see :class:`VQABaseline`.
    """

    _net_class = CNNLSTMNet
    _net_args = ("input_size", "channels", "embed_dim", "hidden", "mlp_hidden")

    def __init__(
        self,
        epochs: int = 50,
        batch_size: int = 64,
        lr: float = 1e-3,
        max_seconds: float | None = None,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = False,
        *,
        input_size: int = 64,
        channels: int = 32,
        embed_dim: int = 64,
        hidden: int = 128,
        mlp_hidden: int = 256,
        **kwargs: Any,
    ):
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            max_seconds=max_seconds,
            seed=seed,
            device=device,
            progress=progress,
            input_size=input_size,
            channels=channels,
            embed_dim=embed_dim,
            hidden=hidden,
            mlp_hidden=mlp_hidden,
            **kwargs,
        )


class FiLM(VQABaseline):
    """The FiLM baseline (Perez et al. 2018), CPU-sized.

    A two-layer stride-2 stem (conv-BN-ReLU, ``channels`` wide: ``input_size`` 64 ->
    16x16 maps); ``n_blocks`` residual blocks, each modulated by a per-channel ``gamma``,
    ``beta`` that a linear layer predicts from the last state of a GRU (``hidden``) over
    word embeddings (``embed_dim``); coordinate channels enter every block and the
    classifier (1x1 conv to ``classifier_channels``, global max pool, MLP of
    ``mlp_hidden``).

    Args:
        input_size, channels, n_blocks, embed_dim, hidden, classifier_channels, mlp_hidden:
            network sizes (defaults 64, 32, 4, 64, 128, 64, 256).
        epochs, batch_size, lr, ...: see :class:`VQABaseline`.
    """

    _net_class = FiLMNet
    _net_args = ("input_size", "channels", "n_blocks", "embed_dim", "hidden", "classifier_channels", "mlp_hidden")

    def __init__(
        self,
        epochs: int = 50,
        batch_size: int = 64,
        lr: float = 1e-3,
        max_seconds: float | None = None,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = False,
        *,
        input_size: int = 64,
        channels: int = 32,
        n_blocks: int = 4,
        embed_dim: int = 64,
        hidden: int = 128,
        classifier_channels: int = 64,
        mlp_hidden: int = 256,
        **kwargs: Any,
    ):
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            max_seconds=max_seconds,
            seed=seed,
            device=device,
            progress=progress,
            input_size=input_size,
            channels=channels,
            n_blocks=n_blocks,
            embed_dim=embed_dim,
            hidden=hidden,
            classifier_channels=classifier_channels,
            mlp_hidden=mlp_hidden,
            **kwargs,
        )
