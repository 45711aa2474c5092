"""Estimate the noise level of a data set from local linear fits.

Around each of a few hundred points, a quadratic (a plane above 4 inputs) is fitted to its nearest neighbours (in
standardised inputs); the residual scatter, corrected for the fitted parameters, is
noise plus curvature. Its median, relative to ``rms(y)``, is an upper estimate of the
relative noise: what a formula's error may be and still be exact.
"""

from __future__ import annotations

import numpy as np

from tasks.arrays import check_xy


def estimate_noise(X: np.ndarray, y: np.ndarray, *, n_centres: int = 200, seed: int = 0) -> float:
    """Relative noise level of ``y`` (RMS noise over ``rms(y)``), estimated locally.

    Args:
        X: inputs ``(n, d)``.
        y: targets ``(n,)``.
        n_centres: points around which a local plane is fitted.
        seed: picks the centres.

    Returns:
        The estimate (>= 0). With too few samples for a local fit it is ``inf`` (no local
        fit is possible).
    """
    X, y = check_xy(X, y)
    n, d = X.shape
    # A local quadratic (d <= 4) leaves far less curvature in the residual than a plane.
    quadratic = d <= 4
    n_par = 1 + d + (d * (d + 1) // 2 if quadratic else 0)
    k = 2 * n_par + 4
    if n < k + 1:
        return float("inf")
    Z = (X - X.mean(0)) / (X.std(0) + 1e-12)
    rng = np.random.default_rng(seed)
    centres = rng.choice(n, size=min(n, n_centres), replace=False)
    sq = np.einsum("ij,ij->i", Z, Z)
    residuals = []
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
        residuals.append(float(r @ r) / max(nb.size - n_par, 1))
    rms = float(np.sqrt(np.mean(y**2))) or 1.0
    return float(np.sqrt(np.median(residuals))) / rms
