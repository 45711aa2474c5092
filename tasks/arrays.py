"""Validation of the plain arrays that cross package boundaries (samples ``X``, targets ``y``).

Both ``neural`` and ``symbolic`` take data in this form and may import ``tasks``, so the
checks live here once and give the same messages everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def check_X(X, *, n_features: int | None = None, positive: bool = False) -> np.ndarray:
    """Return ``X`` as a finite 2-D float array.

    Args:
        X: inputs, shape ``(n_samples, n_features)``.
        n_features: required number of columns, if any.
        positive: require every value > 0.

    Raises:
        ValueError: naming the problem (not 2-D, wrong width, NaN/inf, a value <= 0).
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X must have {n_features} columns, got {X.shape[1]}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or inf")
    if positive and np.any(X <= 0):
        raise ValueError("X must be > 0 everywhere")
    return X


def check_xy(X, y, *, min_samples: int = 1, positive_x: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, y)`` as float arrays after checking a regression data set.

    Args:
        X: inputs ``(n, d)``.
        y: targets ``(n,)``.
        min_samples: the least ``n`` accepted.
        positive_x: require ``X > 0`` (fits in log space).

    Raises:
        ValueError: if ``X`` is not 2-D, ``y`` is not 1-D with one value per row of
            ``X``, there are fewer than ``min_samples`` rows, either holds NaN or inf,
            or (``positive_x``) ``X`` has a value <= 0.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must be 1-D with {X.shape[0]} values to match X, got shape {y.shape}")
    if X.shape[0] < max(min_samples, 1):
        raise ValueError(f"need at least {max(min_samples, 1)} samples, got {X.shape[0]}")
    check_X(X, positive=positive_x)
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or inf")
    return X, y


def check_variable_names(variable_names: Sequence[str] | None, n_features: int) -> tuple[str, ...]:
    """Names of ``X``'s columns: the given ones as strings, or ``x0, x1, ...`` when ``None``.

    Raises:
        ValueError: if the count differs from ``n_features`` or two names are equal.
    """
    if variable_names is None:
        return tuple(f"x{i}" for i in range(n_features))
    names = tuple(str(v) for v in variable_names)
    if len(names) != n_features:
        raise ValueError(f"variable_names has {len(names)} names for {n_features} columns of X")
    if len(set(names)) != n_features:
        raise ValueError(f"variable_names must be distinct, got {names}")
    return names
