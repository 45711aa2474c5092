"""Noise estimate and the residual-structure test that decides whether a formula is done."""

import numpy as np
import pytest
from hybrid.symbolic.regression.noise import estimate_noise, residual_structure, structured_share


@pytest.mark.parametrize("d", [1, 3, 6])
def test_pure_noise_has_no_structure_and_a_smooth_residual_has(d):
    rng = np.random.default_rng(d)
    X = rng.uniform(1, 5, (1000, d))
    noise = rng.standard_normal(1000)
    smooth = np.cos(X).sum(axis=1)
    assert abs(residual_structure(X, noise)) < 0.15
    assert residual_structure(X, smooth) > 0.5
    # a missed term as large as the noise is still seen
    assert residual_structure(X, noise + smooth / np.std(smooth)) > 0.25


def test_zero_residual_is_not_structure():
    X = np.random.default_rng(0).uniform(1, 5, (200, 2))
    assert residual_structure(X, np.zeros(200)) == 0.0


def test_noise_estimate_is_close_on_a_curved_function():
    rng = np.random.default_rng(1)
    X = rng.uniform(1, 5, (1000, 3))
    y = X[:, 0] * (1 + X[:, 1] * np.cos(X[:, 2]))
    assert estimate_noise(X, y) < 1e-2  # curvature read as noise: an upper bound, hence residual_structure
    noisy = y + 1e-2 * np.sqrt(np.mean(y**2)) * rng.standard_normal(1000)
    assert 0.007 < estimate_noise(X, noisy) < 0.02


def test_residual_structure_rejects_bad_input():
    with pytest.raises(ValueError):
        residual_structure(np.ones((10, 2)), np.ones(9))


def test_weighted_noise_estimate_reads_the_noise_of_the_measured_output():
    # y = p(x) * t(z) with additive noise on y: t's noise varies 25-fold over the data,
    # the noise of y (what the weights recover) does not.
    rng = np.random.default_rng(3)
    X = rng.uniform(1, 5, size=(1000, 2))
    p = X[:, 0] ** 2
    y = p * np.sin(X[:, 1])
    sigma = 0.01 * np.sqrt(np.mean(y**2))
    noisy = y + sigma * rng.standard_normal(1000)
    t = noisy / p
    weighted = estimate_noise(X, t, weights=p)
    assert 0.007 < weighted < 0.015
    # Unweighted, the low quantile reads the quiet region of t: far below t's RMS noise.
    t_noise = sigma * np.sqrt(np.mean(p**-2.0)) / np.sqrt(np.mean(t**2))
    assert estimate_noise(X, t) < 0.5 * t_noise
    with pytest.raises(ValueError):
        estimate_noise(X, t, weights=p[:10])


def test_structured_share_inverts_the_neighbour_correlation():
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, size=(1000, 2))
    smooth = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    smooth = (smooth - smooth.mean()) / smooth.std()
    for share in (0.1, 0.3, 0.6):
        residual = np.sqrt(share) * smooth + np.sqrt(1 - share) * rng.standard_normal(1000)
        corr = residual_structure(X, residual)
        assert corr > share  # the raw correlation overstates the share ...
        assert abs(structured_share(corr) - share) < 0.08  # ... its inverse reads it back
    assert structured_share(0.0) == 0.0
    assert structured_share(1.0) == 1.0
