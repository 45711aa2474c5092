"""Noise estimate and the residual-structure test that decides whether a formula is done."""

import numpy as np
import pytest

from symbolic.regression.noise import estimate_noise, residual_structure


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
