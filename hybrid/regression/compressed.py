"""The regression MLP, compressed: :class:`CompressedRegressor`, a ``compressed-deep`` method."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.base import RegressorMixin, clone
from sklearn.exceptions import NotFittedError
from torch import nn

from hybrid.compression import CompressedDeep
from hybrid.neural.compress import distill, narrower_mlp


class CompressedRegressor(RegressorMixin, CompressedDeep):
    """An :class:`~hybrid.neural.regression.MLPRegressor` trained, then compressed (``fit(X, y)``, ``predict(X)``).

    ``fit`` trains a clone of ``teacher`` (its full width x learning-rate search, charged
    to this method), compresses the network it selected by ``recipe`` (see
    :class:`~hybrid.compression.CompressedDeep` for the settings), and fine-tunes on the
    teacher's own training split, early-stopped on its own validation split (the same
    seeded split the teacher drew, the same learning rate it selected, its patience).
    ``predict`` is the teacher clone's ``predict`` running the compressed network. An int8
    network runs on the CPU.

    Works per equation inside :class:`~hybrid.regression.per_problem.PerProblemRegressor`,
    which clones it for each problem.
    """

    def fit(self, X, y) -> CompressedRegressor:
        """Train the teacher on ``(X, y)``, compress its network, fine-tune; returns self.

        Raises:
            ValueError: a bad setting (see :meth:`~hybrid.compression.CompressedDeep._check_params`)
                or bad data (the teacher's checks).
        """
        self._check_params()
        model = clone(self.teacher).fit(X, y)
        if not hasattr(model, "network_"):
            raise ValueError(f"teacher must be an MLPRegressor (with network_ after fit), got {type(model).__name__}")
        self._data_ = self._split(model, X, y)
        try:
            self._compress(model)
        finally:
            del self._data_
        self.model_ = model
        return self

    def predict(self, X) -> np.ndarray:
        """The compressed network's predictions ``(n,)`` for ``X`` ``(n, d)``."""
        if not hasattr(self, "model_"):
            raise NotFittedError("CompressedRegressor is not fitted: call fit(X, y) first")
        return self.model_.predict(X)

    # ------------------------------------------------------------------ the pillar's part

    @staticmethod
    def _split(model: Any, X, y) -> dict[str, torch.Tensor]:
        """The teacher's standardised training and validation split, redrawn from its seed."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).reshape(-1)
        n = X.shape[0]
        n_val = min(max(1, round(model.val_fraction * n)), n - 1)
        perm = np.random.default_rng(model.seed).permutation(n)
        xs = torch.as_tensor((X - model.x_mean_) / model.x_std_, dtype=torch.float32, device=model.device_)
        ys = torch.as_tensor((y - model.y_mean_) / model.y_std_, dtype=torch.float32, device=model.device_)[:, None]
        va, tr = torch.as_tensor(perm[:n_val]), torch.as_tensor(perm[n_val:])
        return {"x_tr": xs[tr], "y_tr": ys[tr], "x_va": xs[va], "y_va": ys[va]}

    def _network(self, model: Any) -> nn.Module:
        return model.network_

    def _set_network(self, model: Any, network: nn.Module) -> None:
        model.network_ = network
        if "int8" in self.recipe:  # int8 kernels run on the CPU
            model.device_ = torch.device("cpu")

    def _example_inputs(self, model: Any) -> torch.Tensor:
        return self._data_["x_tr"][:2]

    def _train_fn(self, model: Any, epochs: int) -> Callable[[nn.Module], None]:
        data, lr, patience = self._data_, float(model.best_config_["lr"]), int(model.patience)

        def train(network: nn.Module) -> None:
            """Full-batch Adam on the MSE, early-stopped on the validation split; keeps the best weights."""
            opt = torch.optim.Adam([p for p in network.parameters() if p.requires_grad], lr=lr)
            network.train()

            def val_loss() -> float:
                with torch.no_grad():
                    return float(((network(data["x_va"]) - data["y_va"]) ** 2).mean())

            best, best_state, since = val_loss(), copy.deepcopy(network.state_dict()), 0
            for _ in range(epochs):
                opt.zero_grad(set_to_none=True)
                ((network(data["x_tr"]) - data["y_tr"]) ** 2).mean().backward()
                opt.step()
                loss = val_loss()
                if loss < best - 1e-12:
                    best, best_state, since = loss, copy.deepcopy(network.state_dict()), 0
                else:
                    since += 1
                    if since >= patience:
                        break
            network.load_state_dict(best_state)
            network.eval()

        return train

    def _distill(self, model: Any, network: nn.Module) -> nn.Module:
        gen = torch.Generator().manual_seed(int(self.seed))
        student = narrower_mlp(network, self.factor, generator=gen).to(model.device_)
        data = self._data_
        distill(student, network, (data["x_tr"], data["y_tr"]), task="regression",
                epochs=max(1, self.fine_tune_epochs), lr=float(model.best_config_["lr"]), alpha=0.5,
                batch_size=len(data["x_tr"]), val_data=(data["x_va"], data["y_va"]),
                patience=int(model.patience), generator=gen, device=model.device_.type)
        return student
