"""The MLP oracle: a neural fit of the samples that the symmetry tests query.

AI Feynman trains a network on the data and then asks it for ``f`` at points the data
do not contain (a shifted, scaled or recombined copy of each sample) to test whether
the unknown function has a symmetry or separates. The oracle is the regression
pillar's :class:`~neural.regression.mlp.MLPRegressor`, configured for accuracy rather
than speed, and callable as ``oracle(X) -> y``.
"""

from __future__ import annotations

import numpy as np

from neural.regression.mlp import MLPRegressor


class MLPOracle(MLPRegressor):
    """A deeper, longer-trained :class:`MLPRegressor` that can be called like a function.

    Args:
        widths: hidden widths tried (one stack each).
        learning_rates: Adam learning rates tried side by side.
        depth: hidden layers.
        max_epochs: the most full-batch epochs.
        patience: epochs without validation improvement before a model stops.
        seed: seeds the split and initialisation.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        max_seconds: training time limit (``None``: none).

    After :meth:`fit`, ``relative_error_`` is the validation RMS error relative to
    ``rms(y)`` of the chosen network: how far to trust the oracle, and hence the
    tolerance the symmetry tests should use.
    """

    family = "deep"

    def __init__(
        self,
        widths: tuple[int, ...] = (128,),
        learning_rates: tuple[float, ...] = (3e-3, 1e-3),
        depth: int = 3,
        max_epochs: int = 4000,
        patience: int = 300,
        seed: int = 0,
        device: str = "cpu",
        max_seconds: float | None = None,
    ):
        super().__init__(
            max_seconds=max_seconds,
            widths=widths,
            learning_rates=learning_rates,
            depth=depth,
            max_epochs=max_epochs,
            patience=patience,
            seed=seed,
            device=device,
        )

    def fit(self, X, y) -> MLPOracle:
        """Train on ``X`` ``(n, d)``, ``y`` ``(n,)``; returns self with ``relative_error_`` set."""
        super().fit(X, y)
        y = np.asarray(y, dtype=float)
        rms = float(np.sqrt(np.mean(y**2))) or 1.0
        self.relative_error_ = float(np.sqrt(self.best_config_["val_loss"])) * self.y_std_ / rms
        return self

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Predict ``y`` at ``X`` ``(n, d)``: the oracle's answer."""
        return self.predict(X)
