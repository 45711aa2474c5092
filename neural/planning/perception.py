"""Perception for the planning pillar: an RGB frame of a grid world -> its grid of cell classes.

Every environment of :mod:`hybrid.tasks.envs` draws its state on a regular grid: cell ``(i, j)``
of a ``rows x cols`` board fills the pixels ``[i*h:(i+1)*h, j*w:(j+1)*w]`` of an
``H x W`` frame (``h = H / rows``, ``w = W / cols``), and what it shows depends only on
the class of that cell (``TransitionModel.to_grid``). :class:`GridPerception` learns that
map with one small CNN **shared by all cells**: each frame is cut into its ``rows * cols``
cell crops, each crop larger than ``cell_pixels`` is area-resized down to it, and each
is classified on its own. Sharing the classifier is what makes it learn from few labels:
500 frames of the 8-puzzle are 4,500 labelled cells, 500 Sokoban frames 50,000; a net
that looked at the whole frame would have to learn the same thing once per position.

The per-cell net: two 3 x 3 convolutions, 2 x 2 max-pool, one convolution at twice the
width, 2 x 2 max-pool, one more convolution, an adaptive average pool to 4 x 4 (so that
the layout of a glyph, not only its texture, reaches the classifier) and one linear
layer to the class logits. Training: AdamW on cross-entropy over minibatches of cells
drawn at random (seeded) from the training cells, a one-cycle learning rate, and by
default each class drawn in proportion to the square root of its count (a weight
``1 / sqrt(freq)``), so that rare cells (the one Sokoban player, boxes on goals) are not
drowned by walls and floor.

Identical crops are classified once: the training set is stored as its distinct
``(crop, class)`` pairs with their counts (cells are drawn in proportion to the counts,
which is drawing them from all the cells), and :meth:`GridPerception.predict_proba` runs
the net on the distinct crops of its frames only. The envs draw each class with one
fixed tile, so a batch of 1,000 Sokoban frames (100,000 cells) holds a handful of
distinct crops; noisy or varied frames simply have more.

The state then comes from the model: ``model.from_grid(perception.predict(frame))``;
this module stays free of any reasoner.

:func:`collect_labelled_frames` draws labelled frames from an env of :mod:`hybrid.tasks.envs`
(random legal actions; the label of each frame is ``model.to_grid(info["state"])``).
:func:`grid_accuracy` scores predicted grids (cells right, states entirely right). Both
live, with the frame checks and the cutting of frames into cells, in
:mod:`hybrid.neural.planning.frames` (numpy only), and are re-exported here.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from hybrid.neural.device import torch_device
from hybrid.neural.planning.frames import (
    cell_crops,
    check_frames,
    check_grids,
    collect_labelled_frames,
    grid_accuracy,
    unique_rows,
)
from hybrid.tasks._checks import is_int, is_real
from torch import nn

__all__ = ["CellNet", "GridPerception", "collect_labelled_frames", "grid_accuracy"]

#: Cell presentations of a fit when ``epochs`` is ``None`` (~400 steps of 128 cells, whatever the number of cells).
DEFAULT_PRESENTATIONS = 50_000


# ============================================================================ the network


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class CellNet(nn.Module):
    """The shared per-cell classifier: crops ``(B, 3, s, s)`` in ``[-1, 1]`` -> logits ``(B, num_classes)``.

    Args:
        num_classes: number of cell classes.
        channels: width of the first convolutions (the later ones have twice as many).
    """

    def __init__(self, num_classes: int, channels: int = 16):
        super().__init__()
        c = channels
        self.features = nn.Sequential(
            _conv(3, c),
            _conv(c, c),
            nn.MaxPool2d(2),
            _conv(c, 2 * c),
            nn.MaxPool2d(2),
            _conv(2 * c, 2 * c),
            nn.AdaptiveAvgPool2d(4),
        )
        self.head = nn.Linear(2 * c * 16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of each crop."""
        return self.head(self.features(x).flatten(1))


def _init(net: nn.Module, gen: torch.Generator) -> None:
    """He-normal convolutions, small linear weights, all drawn from ``gen`` (no global seeding)."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                m.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=gen)
            elif isinstance(m, nn.Linear):
                m.weight.normal_(0.0, 0.01, generator=gen)
                m.bias.zero_()


def _learning_rate(peak: float, done: float) -> float:
    """One-cycle schedule at ``done`` in [0, 1]: warm-up over the first 10% from ``peak / 25``, then cosine
    decay to ``peak / 1000``."""
    if done < 0.1:
        return peak * (0.04 + 0.96 * done / 0.1)
    return peak * (0.001 + 0.999 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, (done - 0.1) / 0.9))))


def _to_input(crops: np.ndarray, size: tuple[int, int] | None, device: torch.device) -> torch.Tensor:
    """uint8 crops ``(M, h, w, 3)`` -> float ``(M, 3, s, s)`` in ``[-1, 1]``, area-resized to ``size`` if given."""
    x = torch.as_tensor(np.ascontiguousarray(crops), device=device).permute(0, 3, 1, 2).float()
    if size is not None and tuple(x.shape[-2:]) != size:
        x = F.adaptive_avg_pool2d(x, size)
    return x / 127.5 - 1.0


# ============================================================================ the estimator


class GridPerception:
    """Image -> grid of cell classes, with one CNN shared by all cells (see the module docstring).

    Args:
        rows, cols: the grid's shape (cells along the height and the width of a frame).
        num_classes: number of cell classes (``to_grid`` values lie in ``[0, num_classes)``).
        cell_pixels: cap on the side of the crops the net sees: larger cells are area-resized
            down to it, smaller ones kept as drawn (``None``: always the native cell size).
            Cells must be at least 4 x 4 pixels.
        channels: width of the per-cell net.
        epochs: passes' worth of training cells (``ceil(cells / batch_size)`` steps each);
            ``None``: about :data:`DEFAULT_PRESENTATIONS` cell presentations (~400 steps) and
            at least one pass, so that a small training set gets as many optimiser steps as
            a large one.
        batch_size: cells per AdamW step.
        lr: peak learning rate of the one-cycle schedule.
        weight_decay: AdamW's decoupled weight decay.
        balance: draw training cells with weight ``1 / sqrt(frequency of their class)``.
        max_seconds: stop training after this many seconds (``None``: no limit); the schedule
            follows whichever of steps and time runs out first.
        seed: seeds the initialisation and the order of the cells (a ``torch.Generator``).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        progress: show a tqdm bar over epochs.

    Attributes (after :meth:`fit` or :meth:`load`):
        net_: the trained :class:`CellNet` (eval mode); ``device_``: where it lives.
        frame_shape_: ``(H, W)`` of the training frames (predict asks for the same).
        history_: mean training loss of each epoch; ``epochs_``: epochs run;
        fit_seconds_: training wall time.
    """

    def __init__(
        self,
        rows: int,
        cols: int,
        num_classes: int,
        cell_pixels: int | None = 16,
        channels: int = 16,
        epochs: int | None = None,
        batch_size: int = 128,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        balance: bool = True,
        max_seconds: float | None = None,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = False,
    ):
        self.rows = rows
        self.cols = cols
        self.num_classes = num_classes
        self.cell_pixels = cell_pixels
        self.channels = channels
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.balance = balance
        self.max_seconds = max_seconds
        self.seed = seed
        self.device = device
        self.progress = progress

    # -- configuration ---------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "cols": self.cols,
            "num_classes": self.num_classes,
            "cell_pixels": self.cell_pixels,
            "channels": self.channels,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "balance": self.balance,
            "max_seconds": self.max_seconds,
            "seed": self.seed,
        }

    def _check_params(self) -> None:
        for name in ("rows", "cols"):
            if not is_int(getattr(self, name)) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be an int >= 1, got {getattr(self, name)!r}")
        if not is_int(self.num_classes) or self.num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2, got {self.num_classes!r}")
        if self.cell_pixels is not None and (not is_int(self.cell_pixels) or self.cell_pixels < 4):
            raise ValueError(f"cell_pixels must be None or an int >= 4, got {self.cell_pixels!r}")
        if not is_int(self.channels) or self.channels < 1:
            raise ValueError(f"channels must be an int >= 1, got {self.channels!r}")
        if self.epochs is not None and (not is_int(self.epochs) or self.epochs < 1):
            raise ValueError(f"epochs must be None or an int >= 1, got {self.epochs!r}")
        if not is_int(self.batch_size) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {self.batch_size!r}")
        if not is_real(self.lr) or self.lr <= 0:
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if not is_real(self.weight_decay) or self.weight_decay < 0:
            raise ValueError(f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}")
        if not isinstance(self.balance, (bool, np.bool_)):
            raise ValueError(f"balance must be a bool, got {self.balance!r}")
        m = self.max_seconds
        if m is not None and (not is_real(m) or m <= 0):
            raise ValueError(f"max_seconds must be None or a number > 0, got {m!r}")
        if not is_int(self.seed):
            raise ValueError(f"seed must be an int, got {self.seed!r}")

    def _build(self) -> CellNet:
        return CellNet(int(self.num_classes), int(self.channels))

    def _size(self, ch: int, cw: int) -> tuple[int, int] | None:
        """The crop size the net sees for ``ch x cw`` cells: each side capped at ``cell_pixels``."""
        if self.cell_pixels is None:
            return None
        return (min(ch, int(self.cell_pixels)), min(cw, int(self.cell_pixels)))

    # -- training --------------------------------------------------------------------

    def fit(self, frames: np.ndarray, grids: np.ndarray) -> GridPerception:
        """Train on frames and the grids of cell classes they show.

        Args:
            frames: ``(N, H, W, 3)`` uint8 RGB frames; ``H`` a multiple of ``rows``, ``W`` of ``cols``.
            grids: ``(N, rows, cols)`` int cell classes in ``[0, num_classes)``.

        Returns:
            ``self``.

        Raises:
            ValueError: bad hyper-parameters, frames of the wrong shape or dtype, grids of
                the wrong shape or with classes out of range, an unknown device.
        """
        self._check_params()
        dev = torch_device(self.device)
        rows, cols, k = int(self.rows), int(self.cols), int(self.num_classes)
        frames = check_frames(frames, rows, cols)
        grids = check_grids(grids, len(frames), rows, cols, k)
        ch, cw = frames.shape[1] // rows, frames.shape[2] // cols
        if min(ch, cw) < 4:
            raise ValueError(f"cells of {ch}x{cw} pixels are below 4x4: use larger frames")

        gen = torch.Generator().manual_seed(int(self.seed))
        net = self._build()
        _init(net, gen)
        net = net.to(dev)
        # the distinct (crop, class) pairs and how often each occurs: a deterministic renderer draws a
        # few distinct crops many times, and sampling pairs by their counts is sampling cells
        crops = cell_crops(frames, rows, cols)
        labels = grids.reshape(-1)
        keyed = np.concatenate([crops.reshape(len(crops), -1), labels.astype("<i8").view(np.uint8).reshape(-1, 8)], 1)
        first, _, counts = unique_rows(keyed)
        size = self._size(ch, cw)
        x_all = torch.cat([_to_input(crops[first[s : s + 4096]], size, dev) for s in range(0, len(first), 4096)])
        y_all = torch.as_tensor(labels[first], device=dev)
        class_counts = np.bincount(labels, minlength=k).astype(np.float64)
        p = counts.astype(np.float64)
        if self.balance:
            p = p / np.sqrt(class_counts[labels[first]])  # class c drawn in proportion to sqrt(its count)
        sample_p = torch.as_tensor(p / p.sum(), dtype=torch.float64)

        n = len(labels)  # an epoch is one pass's worth of cells
        bs = int(self.batch_size)
        epochs = int(self.epochs) if self.epochs is not None else max(1, round(DEFAULT_PRESENTATIONS / n))
        per_epoch = math.ceil(n / bs)
        total = per_epoch * epochs
        opt = torch.optim.AdamW(net.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
        self.history_ = []
        start = time.perf_counter()
        bar: Any = range(epochs)
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(bar, desc="GridPerception.fit", unit="epoch")
        step, done, epochs_run = 0, 0.0, 0
        net.train()
        for _ in bar:
            draws = torch.multinomial(sample_p, per_epoch * bs, replacement=True, generator=gen).to(dev)
            running, count = 0.0, 0
            for s in range(0, per_epoch * bs, bs):
                done = step / total
                if self.max_seconds is not None:
                    done = max(done, (time.perf_counter() - start) / float(self.max_seconds))
                if done >= 1.0 and step > 0:
                    break
                for group in opt.param_groups:
                    group["lr"] = _learning_rate(float(self.lr), done)
                idx = draws[s : s + bs]
                loss = F.cross_entropy(net(x_all[idx]), y_all[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step += 1
                running += float(loss.detach()) * len(idx)
                count += len(idx)
            if count:
                epochs_run += 1
                self.history_.append(running / count)
                if self.progress:
                    bar.set_postfix(loss=f"{self.history_[-1]:.4f}")
            if done >= 1.0 and step > 0:
                break
        if self.progress:
            bar.close()
        net.eval()
        self.net_ = net
        self.device_ = dev
        self.frame_shape_ = (int(frames.shape[1]), int(frames.shape[2]))
        self.epochs_ = epochs_run
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def fit_transitions(
        self, transitions: Any, tolerance: float = 0.02, max_transitions: int = 300, n_init: int = 4
    ) -> GridPerception:
        """Train from unlabelled transitions and the rules alone (no labelled frame).

        The cells of all frames are clustered by appearance, the clusters named by the
        bijection to classes that agrees best with the transition model, and the net
        trained on the frames so labelled (:mod:`hybrid.neural.planning.transitions`).

        Args:
            transitions: a :class:`~hybrid.neural.planning.transitions.FrameTransitions` (frames,
                actions, next frames, terminated flags, models) of a single-agent env, e.g.
                from :func:`~hybrid.neural.planning.transitions.collect_transitions`; it must show
                every class, and for puzzles whose rules are symmetric under renaming (sliding
                puzzle, Lights Out) some episodes that end at the goal.
            tolerance: fraction of transitions the chosen naming may contradict.
            max_transitions: transitions checked against the rules.
            n_init: clusterings tried (see :func:`~hybrid.neural.planning.transitions.label_from_transitions`).

        Returns:
            ``self``, with ``labelling_`` (a :class:`~hybrid.neural.planning.transitions.TransitionLabelling`:
            the naming, its consistency and how many namings tie with it).

        Raises:
            ValueError: bad hyper-parameters or frames, more than 9 classes, or no naming
                that the rules accept.
        """
        from hybrid.neural.planning.transitions import label_from_transitions

        self._check_params()
        frames, grids, labelling = label_from_transitions(
            transitions,
            int(self.rows),
            int(self.cols),
            int(self.num_classes),
            seed=int(self.seed),
            tolerance=tolerance,
            max_transitions=max_transitions,
            n_init=n_init,
        )
        if labelling.tied > 1:
            warnings.warn(
                f"{labelling.tied} namings of the clusters agree equally well with the rules: the one kept is "
                "arbitrary (for puzzles symmetric under renaming, include episodes that end at the goal)",
                RuntimeWarning,
                stacklevel=2,
            )
        self.fit(frames, grids)
        self.labelling_ = labelling
        return self

    # -- inference -------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise RuntimeError("this GridPerception is not fitted yet: call fit() or load() first")

    def cell_inputs(self, frames: np.ndarray) -> torch.Tensor:
        """The distinct cell crops of ``frames`` as the net takes them: ``(M, 3, s, s)`` floats on its device.

        Raises:
            RuntimeError: not fitted. ValueError: frames of the wrong shape or dtype.
        """
        self._check_fitted()
        frames = check_frames(frames, int(self.rows), int(self.cols), self.frame_shape_)
        crops = cell_crops(frames, int(self.rows), int(self.cols))
        first, _, _ = unique_rows(crops.reshape(len(crops), -1))
        return _to_input(crops[first], self._size(*crops.shape[1:3]), self.device_)

    def predict_proba(self, frames: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities of every cell.

        Args:
            frames: ``(N, H, W, 3)`` uint8 frames of the training size, or one frame ``(H, W, 3)``.
            batch_size: cell crops per forward pass (identical crops are classified once).

        Returns:
            float32 ``(N, rows, cols, num_classes)`` (``(rows, cols, num_classes)`` for one frame).

        Raises:
            RuntimeError: not fitted. ValueError: frames of the wrong shape or dtype, a bad ``batch_size``.
        """
        self._check_fitted()
        single = isinstance(frames, np.ndarray) and frames.ndim == 3
        if single:
            frames = frames[None]
        rows, cols, k = int(self.rows), int(self.cols), int(self.num_classes)
        frames = check_frames(frames, rows, cols, self.frame_shape_)
        if not is_int(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        crops = cell_crops(frames, rows, cols)
        first, inverse, _ = unique_rows(crops.reshape(len(crops), -1))  # identical crops: one forward pass
        size = self._size(*crops.shape[1:3])
        out = []
        self.net_.eval()
        with torch.no_grad():
            for s in range(0, len(first), batch_size):
                logits = self.net_(_to_input(crops[first[s : s + batch_size]], size, self.device_))
                out.append(torch.softmax(logits, dim=1).cpu().numpy())
        proba = np.concatenate(out)[inverse].reshape(len(frames), rows, cols, k).astype(np.float32)
        return proba[0] if single else proba

    def predict(self, frames: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The most likely class of every cell.

        Args:
            frames: ``(N, H, W, 3)`` uint8 frames of the training size, or one frame ``(H, W, 3)``.
            batch_size: cell crops per forward pass (identical crops are classified once).

        Returns:
            int64 grids ``(N, rows, cols)`` (``(rows, cols)`` for one frame), ready for
            ``TransitionModel.from_grid``.

        Raises:
            RuntimeError: not fitted. ValueError: frames of the wrong shape or dtype.
        """
        return self.predict_proba(frames, batch_size).argmax(axis=-1).astype(np.int64)

    def score(self, frames: np.ndarray, grids: np.ndarray) -> dict[str, float]:
        """Read ``frames`` and score them against the true ``grids``.

        Args:
            frames: ``(N, H, W, 3)`` uint8 frames (or one ``(H, W, 3)`` frame).
            grids: their true ``(N, rows, cols)`` classes (or one ``(rows, cols)`` grid).

        Returns:
            :func:`grid_accuracy`'s ``{"cell_accuracy", "state_accuracy"}``.

        Raises:
            RuntimeError: not fitted. ValueError: bad frames or grids.
        """
        pred = self.predict(frames)
        if pred.ndim == 2:
            pred, grids = pred[None], np.asarray(grids)[None]
        grids = check_grids(grids, len(pred), int(self.rows), int(self.cols), int(self.num_classes))
        return grid_accuracy(pred, grids)

    # -- persistence -----------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the hyper-parameters (a JSON string) and the weights to ``path`` with ``torch.save``."""
        self._check_fitted()
        blob = {
            "kind": "GridPerception",
            "config": json.dumps(self._config()),
            "frame_shape": list(self.frame_shape_),
            "state": {k: v.detach().cpu() for k, v in self.net_.state_dict().items()},
        }
        torch.save(blob, Path(path))

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> GridPerception:
        """Read a perception written by :meth:`save` (``torch.load(..., weights_only=True)``).

        Returns:
            A fitted :class:`GridPerception` on ``device``.

        Raises:
            ValueError: an unknown device, or a file that is not a saved GridPerception.
        """
        dev = torch_device(device)
        blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("kind") != "GridPerception" or "state" not in blob:
            raise ValueError(f"path {str(path)!r} does not hold a saved GridPerception")
        perception = cls(**json.loads(blob["config"]), device=device)
        perception._check_params()
        net = perception._build()
        net.load_state_dict(blob["state"])
        perception.net_ = net.to(dev).eval()
        perception.device_ = dev
        perception.frame_shape_ = tuple(int(v) for v in blob["frame_shape"])
        return perception
