"""How noisy is a data set, and is what a formula leaves over noise or structure?

:func:`estimate_noise` fits a quadratic (a plane above 4 inputs) to the nearest
neighbours of a few hundred points (in standardised inputs). Each local residual
variance is noise plus the curvature the local fit misses; the curvature term varies
over the domain while the noise (SRBench's convention: additive, one level for all
points) does not, so a low quantile of the local variances, rescaled by the same
quantile of the chi-square law they follow under pure noise, is the estimate. It is
still an upper bound on strongly curved, many-variable data.

:func:`residual_structure` answers the question the estimate cannot: given a
candidate formula's residual, does it still depend on the inputs? It correlates each
residual with the mean residual of its nearest neighbours; noise gives about 0,
a missed term gives a clearly positive correlation, whatever the dimension.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from hybrid.tasks.arrays import check_xy

#: The quantile of the local residual variances that estimates the noise variance.
NOISE_QUANTILE = 0.1


def estimate_noise(
    X: np.ndarray, y: np.ndarray, *, weights: np.ndarray | None = None, n_centres: int = 200, seed: int = 0
) -> float:
    """Relative noise level of ``y`` (RMS noise over ``rms(y)``), estimated locally.

    Args:
        X: inputs ``(n, d)``.
        y: targets ``(n,)``.
        weights: optional positive ``(n,)``: the noise of ``weights * y`` is estimated
            (relative to ``rms(weights * y)``) while the local fits follow ``y``. For a
            dimensionless target ``t = y / p(X)`` with ``weights = |p(X)|`` this is the
            noise of the measured ``y``, which is the same at every point, where ``t``'s
            is not.
        n_centres: points around which a local fit is made.
        seed: picks the centres.

    Returns:
        The estimate (>= 0); unbiased on pure noise, above the truth where the local fits
        cannot follow the function. With too few samples for a local fit it is ``inf``.
    """
    X, y = check_xy(X, y)
    n, d = X.shape
    w = np.ones(n) if weights is None else np.abs(np.asarray(weights, dtype=float))
    if w.shape != (n,) or not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be finite with shape ({n},), got {np.shape(weights)}")
    # A local quadratic (d <= 4) leaves far less curvature in the residual than a plane.
    quadratic = d <= 4
    n_par = 1 + d + (d * (d + 1) // 2 if quadratic else 0)
    k = 2 * n_par + 4
    if n < k + 1:
        return float("inf")
    Z = _standardised(X)
    rng = np.random.default_rng(seed)
    centres = rng.choice(n, size=min(n, n_centres), replace=False)
    sq = np.einsum("ij,ij->i", Z, Z)
    variances = []
    for c in centres:
        dist = sq - 2 * Z @ Z[c] + sq[c]
        nb = np.argpartition(dist, k)[: k + 1]
        D = Z[nb] - Z[c]
        cols = [np.ones(nb.size), *D.T]
        if quadratic:
            cols += [D[:, i] * D[:, j] for i in range(d) for j in range(i, d)]
        A = np.column_stack(cols)
        coef, *_ = np.linalg.lstsq(A, y[nb], rcond=None)
        r = (y[nb] - A @ coef) * w[nb]
        variances.append(float(r @ r) / max(nb.size - n_par, 1))
    dof = max(k + 1 - n_par, 1)
    q = NOISE_QUANTILE if len(variances) >= 20 else 0.5
    scale = chi2_quantile(q, dof) / dof  # the q-quantile of a variance estimate with dof degrees of freedom
    rms = float(np.sqrt(np.mean((w * y) ** 2))) or 1.0
    return float(np.sqrt(np.quantile(variances, q) / scale)) / rms


def residual_structure(X: np.ndarray, residual: np.ndarray, *, k: int = 8, max_points: int = 1000,
                       seed: int = 0) -> float:
    """Correlation of each residual with the mean residual of its ``k`` nearest neighbours.

    Args:
        X: inputs ``(n, d)``.
        residual: ``y - f(X)`` for a candidate ``f``, ``(n,)``.
        k: neighbours averaged (in standardised inputs).
        max_points: at most this many points are used (a seeded subset).
        seed: picks the subset.

    Returns:
        About 0 (within a few ``1/sqrt(n)``) when the residual is independent noise;
        close to 1 when it is a smooth function of the inputs (a wrong formula); ``0``
        for a residual that is exactly zero.
    """
    X, residual = check_xy(X, residual)
    n = X.shape[0]
    if n > max_points:
        idx = np.random.default_rng(seed).choice(n, size=max_points, replace=False)
        X, residual = X[idx], residual[idx]
        n = max_points
    k = min(k, n - 1)
    r = residual - residual.mean()
    if k < 1 or not np.any(r):
        return 0.0
    Z = _standardised(X)
    sq = np.einsum("ij,ij->i", Z, Z)
    dist = sq[:, None] - 2 * Z @ Z.T + sq[None, :]
    np.fill_diagonal(dist, np.inf)
    nb = np.argpartition(dist, k - 1, axis=1)[:, :k]
    smooth = r[nb].mean(axis=1)
    denom = float(np.sqrt((r @ r) * (smooth @ smooth)))
    return float(r @ smooth) / denom if denom > 0 else 0.0


def structured_share(correlation: float, k: int = 8) -> float:
    """The share of a residual's variance that is a function of the inputs, from its structure.

    If the residual is ``s(x) + noise`` with ``var(s) = S`` and ``var(noise) = 1 - S``, the
    mean of ``k`` neighbours keeps ``s`` and a ``1/k`` share of the noise, so
    :func:`residual_structure` reads about ``S / sqrt(S + (1 - S) / k)``. This inverts it:
    a correlation of 0.25 (with ``k = 8``) is a structured share of about 0.12, not 0.25.

    Args:
        correlation: what :func:`residual_structure` returned (clipped to ``[0, 1]``).
        k: the neighbours it averaged.

    Returns:
        ``S`` in ``[0, 1]``.
    """
    c2 = float(np.clip(correlation, 0.0, 1.0)) ** 2
    a = c2 * (1.0 - 1.0 / k)
    return float(min((a + np.sqrt(a * a + 4.0 * c2 / k)) / 2.0, 1.0))


def chi2_quantile(q: float, dof: int) -> float:
    """The ``q``-quantile of the chi-square law with ``dof`` degrees of freedom.

    Wilson-Hilferty's cube-root normal approximation (within 1 % for ``dof >= 5`` at the
    quantiles used here), so the module needs numpy only.
    """
    z = NormalDist().inv_cdf(q)
    c = 2.0 / (9.0 * dof)
    return dof * max(1.0 - c + z * np.sqrt(c), 0.0) ** 3


def _standardised(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(0)) / (X.std(0) + 1e-12)
