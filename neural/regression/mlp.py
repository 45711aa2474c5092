"""The MLP regressor: the deep baseline of the regression pillar.

Trained the way a careful practitioner would: inputs and outputs standardised, a
held-out validation split, early stopping on it (the best weights are kept), and a
small grid over width and learning rate chosen on validation loss. Full-batch Adam
for small data, minibatches beyond ``batch_size``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from hybrid.neural.device import torch_device
from hybrid.tasks.arrays import check_X, check_xy
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError


class StackedMLP:
    """``k`` tanh MLPs of depth ``depth`` trained side by side as one batched network.

    Model ``j`` has hidden width ``widths[j]``; narrower models live inside the widest
    with their extra units masked to zero, which gives exactly the narrow network
    (masked units output 0 and receive no gradient). All parameters sit in one flat
    buffer, so Adam with a per-model learning rate is a handful of tensor ops. The
    point: a hyper-parameter grid trains at about the cost of one network on a CPU,
    where small nets are bound by per-op overhead, not arithmetic.

    Weights and biases of model ``j`` are drawn ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``
    with its own fan-in (PyTorch's default scale) from ``generator``.

    Args:
        n_in: input features.
        widths: hidden width of each model.
        depth: hidden layers.
        generator: the initialisation's random generator.
        device: where the parameters live.
    """

    def __init__(self, n_in: int, widths: list[int], depth: int, generator: torch.Generator, device):
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be positive, got {widths}")
        self.k, self.w, self.depth = len(widths), max(widths), depth
        k, w = self.k, self.w
        shapes = [(k, n_in, w), (k, 1, w)]
        for _ in range(depth - 1):
            shapes += [(k, w, w), (k, 1, w)]
        shapes += [(k, w, 1), (k, 1, 1)]
        widths_t = torch.tensor(widths, dtype=torch.float32)
        chunks, self._views, offset = [], [], 0
        for i, shape in enumerate(shapes):
            fan_in = torch.full((k,), float(n_in)) if i < 2 else widths_t
            bound = (1.0 / fan_in.sqrt()).view(k, 1, 1)
            chunks.append(((torch.rand(shape, generator=generator) * 2 - 1) * bound).reshape(-1))
            size = chunks[-1].numel()
            self._views.append((offset, size, shape))
            offset += size
        self.flat = torch.cat(chunks).to(device).requires_grad_(True)
        self.mask = (torch.arange(w)[None, :] < widths_t[:, None]).float()[:, None, :].to(device)
        # owner[i]: which model flat entry i belongs to (parameters are stacked model-major).
        self.owner = torch.cat(
            [torch.arange(k).repeat_interleave(size // k) for _, size, _ in self._views]
        ).to(device)

    def params(self, flat: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Views of ``flat`` (default: the live parameters) in layer order: W1, b1, W2, b2, ..."""
        flat = self.flat if flat is None else flat
        return [flat[o : o + s].view(shape) for o, s, shape in self._views]

    def forward(self, x: torch.Tensor, flat: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs of all ``k`` models for inputs ``x`` ``(n, d)``: shape ``(k, n)``."""
        p = self.params(flat)
        h = x.unsqueeze(0).expand(self.k, -1, -1)
        for layer in range(self.depth):
            h = torch.tanh(torch.baddbmm(p[2 * layer + 1], h, p[2 * layer])) * self.mask
        return torch.baddbmm(p[-1], h, p[-2]).squeeze(-1)

    def module(self, j: int, flat: torch.Tensor | None = None) -> torch.nn.Sequential:
        """Model ``j`` (weights from ``flat``, default the live ones) as a plain ``nn.Sequential``.

        Linear and Tanh layers with model ``j``'s own width (masked units dropped), on
        the stack's device, in eval mode, detached from the stack: the network a
        standard tool (a FLOP counter, a pruning library) can read.
        """
        if not 0 <= j < self.k:
            raise ValueError(f"j must be in [0, {self.k}), got {j}")
        p = [t.detach()[j] for t in self.params(flat)]
        width = int(self.mask[j].sum())
        layers: list[torch.nn.Module] = []
        for layer in range(self.depth + 1):
            w, b = p[2 * layer], p[2 * layer + 1][0]
            w = w[:, :width] if layer < self.depth else w
            w = w[:width] if layer > 0 else w
            b = b[:width] if layer < self.depth else b
            linear = torch.nn.Linear(w.shape[0], w.shape[1], device=w.device)
            with torch.no_grad():
                linear.weight.copy_(w.T)
                linear.bias.copy_(b)
            layers += [linear, torch.nn.Tanh()] if layer < self.depth else [linear]
        return torch.nn.Sequential(*layers).eval()


class MLPRegressor(RegressorMixin, BaseEstimator):
    """A multilayer perceptron for ``y = f(X)``, with honest training.

    Args:
        widths: hidden widths tried.
        learning_rates: Adam learning rates tried.
        depth: hidden layers.
        max_epochs: epoch cap per configuration.
        patience: epochs without validation improvement before stopping.
        val_fraction: share of the data held out for validation (at least one sample).
        batch_size: full batch up to this size, minibatches beyond.
        weight_decay: Adam's L2 penalty.
        seed: seeds the split, the initialisation and the minibatch order.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        max_seconds: stop training after this many seconds (``None``: no limit); the
            best weights so far are kept.

    Each width's learning rates train at once as a :class:`StackedMLP`, each model with
    its own early stopping; the one with the lowest validation loss is kept.

    A scikit-learn estimator: the constructor stores its arguments unchanged (``clone``,
    ``get_params`` and pickling work), and :meth:`predict` before :meth:`fit` raises
    :class:`sklearn.exceptions.NotFittedError`.

    Attributes:
        net_: the trained stack; ``flat_`` its best weights; ``choice_`` the selected model.
        network_: the selected model alone, as an ``nn.Sequential`` (what ``predict`` runs).
        n_iter_: epochs the selected model trained for; stopped_by_: what ended its
            training (``"early-stopping"``, ``"epoch-cap"`` or ``"time-cap"``).
        best_config_: ``{"width", "lr", "epochs", "val_loss"}`` of the selected network.
        search_: the same for every configuration tried.
    """

    family = "deep"

    def __init__(
        self,
        widths: tuple[int, ...] = (32, 128),
        learning_rates: tuple[float, ...] = (1e-2, 3e-3),
        depth: int = 2,
        max_epochs: int = 10000,
        patience: int = 100,
        val_fraction: float = 0.2,
        batch_size: int = 1024,
        weight_decay: float = 0.0,
        seed: int = 0,
        device: str = "cpu",
        max_seconds: float | None = None,
    ):
        self.widths = widths
        self.learning_rates = learning_rates
        self.depth = depth
        self.max_epochs = max_epochs
        self.patience = patience
        self.val_fraction = val_fraction
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.seed = seed
        self.device = device
        self.max_seconds = max_seconds

    def fit(self, X, y) -> MLPRegressor:
        """Standardise, split, train every (width, lr) with early stopping, keep the best.

        Args:
            X: inputs ``(n, d)``, finite, ``n >= 2``.
            y: targets ``(n,)``, finite.

        Returns:
            self.
        """
        X, y = check_xy(X, y, min_samples=2)
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        widths, learning_rates = tuple(self.widths), tuple(self.learning_rates)
        if not widths or not learning_rates:
            raise ValueError("widths and learning_rates must each name at least one value")
        dev = torch_device(self.device)
        rng = np.random.default_rng(self.seed)
        n = X.shape[0]
        n_val = min(max(1, round(self.val_fraction * n)), n - 1)
        perm = rng.permutation(n)
        val_idx, tr_idx = perm[:n_val], perm[n_val:]
        self.x_mean_, self.x_std_ = X[tr_idx].mean(0), X[tr_idx].std(0) + 1e-12
        self.y_mean_, self.y_std_ = float(y[tr_idx].mean()), float(y[tr_idx].std()) + 1e-12
        xs = torch.as_tensor((X - self.x_mean_) / self.x_std_, dtype=torch.float32, device=dev)
        ys = torch.as_tensor((y - self.y_mean_) / self.y_std_, dtype=torch.float32, device=dev)
        gen = torch.Generator().manual_seed(self.seed)
        # One stack per width (its learning rates train together); narrow nets then
        # cost what they should instead of the widest net's arithmetic.
        self.search_, stacks = [], []
        for width in widths:
            grid = [(width, lr) for lr in learning_rates]
            net = StackedMLP(X.shape[1], [width] * len(grid), self.depth, gen, dev)
            best_flat, best_val, best_epoch, ran, stopped_by = self._train(
                net, (xs[tr_idx], ys[tr_idx]), (xs[val_idx], ys[val_idx]), grid, gen
            )
            for i, (w, lr) in enumerate(grid):
                self.search_.append(
                    {"width": w, "lr": lr, "epochs": int(best_epoch[i]), "val_loss": float(best_val[i]),
                     "epochs_run": int(ran[i]), "stopped_by": stopped_by[i]}
                )
                stacks.append((net, best_flat.detach(), i))
        j = min(range(len(self.search_)), key=lambda i: self.search_[i]["val_loss"])
        self.net_, self.flat_, self.choice_ = stacks[j]
        self.network_ = self.net_.module(self.choice_, self.flat_)
        self.device_ = dev
        self.best_config_ = self.search_[j]
        self.n_iter_ = self.best_config_["epochs_run"]
        self.stopped_by_ = self.best_config_["stopped_by"]
        return self

    def _train(self, net: StackedMLP, train, val, grid, gen):
        (x_tr, y_tr), (x_va, y_va) = train, val
        k, flat, dev = net.k, net.flat, x_tr.device
        lr = torch.tensor([g[1] for g in grid], device=dev)[net.owner]
        m, v = torch.zeros_like(flat), torch.zeros_like(flat)
        b1, b2, eps = 0.9, 0.999, 1e-8
        best_flat = flat.detach().clone()
        best_val = torch.full((k,), math.inf, device=dev)
        best_epoch = torch.zeros(k, dtype=torch.long)
        since = torch.zeros(k, dtype=torch.long)
        active = torch.ones(k, dtype=torch.bool)
        n, step = x_tr.shape[0], 0
        stop_at = None if self.max_seconds is None else time.perf_counter() + self.max_seconds / len(self.widths)
        # Per model: epochs it trained, and what stopped it (early stopping ends one model;
        # the caps end every model still training).
        ran = torch.zeros(k, dtype=torch.long)
        stopped_by = ["epoch-cap"] * k
        for epoch in range(1, self.max_epochs + 1):
            if stop_at is not None and time.perf_counter() > stop_at:
                stopped_by = [s if s == "early-stopping" else "time-cap" for s in stopped_by]
                break
            ran[active] = epoch
            if n <= self.batch_size:
                batches = [slice(None)]
            else:
                order = torch.randperm(n, generator=gen).to(dev)
                batches = [order[i : i + self.batch_size] for i in range(0, n, self.batch_size)]
            for idx in batches:
                step += 1
                # Summed over models: each model's parameters get its own loss's gradient.
                loss = ((net.forward(x_tr[idx]) - y_tr[idx]) ** 2).mean(dim=1).sum()
                (g,) = torch.autograd.grad(loss, flat)
                with torch.no_grad():  # Adam, with each model's own learning rate
                    if self.weight_decay:
                        g = g + self.weight_decay * flat
                    m.mul_(b1).add_(g, alpha=1 - b1)
                    v.mul_(b2).addcmul_(g, g, value=1 - b2)
                    denom = (v / (1 - b2**step)).sqrt_().add_(eps)
                    flat.sub_(lr * (m / (1 - b1**step)) / denom)
            with torch.no_grad():
                val_loss = ((net.forward(x_va) - y_va) ** 2).mean(dim=1)
                improved = (val_loss < best_val - 1e-12) & active.to(dev)
                best_val = torch.where(improved, val_loss, best_val)
                best_flat = torch.where(improved[net.owner], flat, best_flat)
            improved_cpu = improved.cpu()
            best_epoch[improved_cpu] = epoch
            since = torch.where(improved_cpu, 0, since + 1)
            ending = active & (since >= self.patience)
            for i in torch.nonzero(ending).flatten().tolist():
                stopped_by[i] = "early-stopping"
            active &= ~ending
            if not active.any():
                break
        return best_flat, best_val.cpu(), best_epoch, ran, stopped_by

    def predict(self, X) -> np.ndarray:
        """Predict ``y`` for inputs ``X`` of shape ``(n, d)``; returns ``(n,)``."""
        if not hasattr(self, "net_"):
            raise NotFittedError("MLPRegressor is not fitted: call fit(X, y) first")
        X = check_X(X, n_features=len(self.x_mean_))
        xs = torch.as_tensor((X - self.x_mean_) / self.x_std_, dtype=torch.float32, device=self.device_)
        with torch.no_grad():
            out = self.network_(xs)[:, 0].cpu().numpy().astype(float)
        return out * self.y_std_ + self.y_mean_
