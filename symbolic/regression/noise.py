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

from tasks.arrays import check_xy

#: The quantile of the local residual variances that estimates the noise variance.
NOISE_QUANTILE = 0.1


def estimate_noise(X: np.ndarray, y: np.ndarray, *, n_centres: int = 200, seed: int = 0) -> float:
    """Relative noise level of ``y`` (RMS noise over ``rms(y)``), estimated locally.

    Args:
        X: inputs ``(n, d)``.
        y: targets ``(n,)``.
        n_centres: points around which a local fit is made.
        seed: picks the centres.

    Returns:
        The estimate (>= 0); unbiased on pure noise, above the truth where the local fits
        cannot follow the function. With too few samples for a local fit it is ``inf``.
    """
    X, y = check_xy(X, y)
    n, d = X.shape
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
        r = y[nb] - A @ coef
        variances.append(float(r @ r) / max(nb.size - n_par, 1))
    dof = max(k + 1 - n_par, 1)
    q = NOISE_QUANTILE if len(variances) >= 20 else 0.5
    scale = _chi2_quantile(q, dof) / dof  # the q-quantile of a variance estimate with dof degrees of freedom
    rms = float(np.sqrt(np.mean(y**2))) or 1.0
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


def _chi2_quantile(q: float, dof: int) -> float:
    """The ``q``-quantile of the chi-square law with ``dof`` degrees of freedom.

    Wilson-Hilferty's cube-root normal approximation (within 1 % for ``dof >= 5`` at the
    quantiles used here), so the module needs numpy only.
    """
    z = NormalDist().inv_cdf(q)
    c = 2.0 / (9.0 * dof)
    return dof * max(1.0 - c + z * np.sqrt(c), 0.0) ** 3


def _standardised(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(0)) / (X.std(0) + 1e-12)
