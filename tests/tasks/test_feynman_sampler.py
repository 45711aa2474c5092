"""Sampling FSReD equations: shapes, seeds, nesting, noise and extrapolation ranges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hybrid.tasks.feynman import (
    Samples,
    evaluate_equation,
    extrapolation_ranges,
    feynman_equations,
    get_equation,
    sample_equation,
)

COULOMB = get_equation("I.12.2")


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_shapes_and_columns():
    s = sample_equation(COULOMB, 17, rng())
    assert isinstance(s, Samples)
    assert s.X.shape == (17, 4)
    assert s.y.shape == (17,)
    assert s.variables == ("q1", "q2", "epsilon", "r")
    assert s.X.dtype == np.float64 and s.y.dtype == np.float64


def test_samples_lie_in_the_table_ranges():
    for eq in feynman_equations().values():
        s = sample_equation(eq, 64, rng(1))
        low = np.array([r[0] for r in eq.ranges])
        high = np.array([r[1] for r in eq.ranges])
        assert np.all(s.X >= low) and np.all(s.X <= high), eq.id


def test_noise_free_y_is_the_formula():
    s = sample_equation(COULOMB, 50, rng())
    q1, q2, eps, r = s.X.T
    np.testing.assert_allclose(s.y, q1 * q2 / (4 * math.pi * eps * r**2), rtol=1e-12, atol=0)
    assert np.array_equal(s.y, evaluate_equation(COULOMB, s.X))


def test_same_seed_same_samples_different_seed_different():
    a = sample_equation(COULOMB, 20, rng(3), noise=0.1)
    b = sample_equation(COULOMB, 20, rng(3), noise=0.1)
    c = sample_equation(COULOMB, 20, rng(4), noise=0.1)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert not np.array_equal(a.y, c.y)


@pytest.mark.parametrize("eq_id", ["I.12.2", "I.14.3", "II.11.27"])
def test_training_sets_are_nested(eq_id):
    eq = get_equation(eq_id)
    small = sample_equation(eq, 8, rng(7))
    large = sample_equation(eq, 64, rng(7))
    assert np.array_equal(small.X, large.X[:8])
    assert np.array_equal(small.y, large.y[:8])


def test_relative_noise_matches_the_level():
    level = 0.05
    s = sample_equation(COULOMB, 4000, rng(11), noise=level)
    truth = evaluate_equation(COULOMB, s.X)
    rel_rms = np.sqrt(np.mean((s.y - truth) ** 2)) / np.sqrt(np.mean(truth**2))
    assert 0.9 * level < rel_rms < 1.1 * level
    # noise is zero-mean: no bias beyond a few standard errors
    resid = s.y - truth
    assert abs(resid.mean()) < 4 * resid.std() / np.sqrt(len(resid))


def test_explicit_ranges_are_used():
    ranges = ((2.0, 2.5),) * 4
    s = sample_equation(COULOMB, 30, rng(), ranges=ranges)
    assert np.all((s.X >= 2.0) & (s.X <= 2.5))


# outside its ranges a formula may leave its domain (arcsin in I.26.2): NaN outputs are fine here
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("eq", list(feynman_equations().values()), ids=lambda eq: eq.id)
def test_extrapolation_points_are_outside_every_training_range(eq):
    ext = extrapolation_ranges(eq)
    assert len(ext) == len(eq.ranges)
    s = sample_equation(eq, 32, rng(5), ranges=ext)
    for j, (low, high) in enumerate(eq.ranges):
        assert ext[j][0] >= high and ext[j][1] > ext[j][0]
        assert np.all((s.X[:, j] > high) | (s.X[:, j] < low)), (eq.id, eq.variables[j])


def test_extrapolation_ranges_widen():
    eq = get_equation("I.14.3")  # every range is [1, 5]
    assert extrapolation_ranges(eq) == ((5.0, 9.0),) * 3
    assert extrapolation_ranges(eq, widen=0.5) == ((5.0, 7.0),) * 3
    with pytest.raises(ValueError, match="widen"):
        extrapolation_ranges(eq, widen=0)


@pytest.mark.parametrize("n", [0, -3, 2.5, "4", None])
def test_bad_n_raises(n):
    with pytest.raises(ValueError, match="n must be"):
        sample_equation(COULOMB, n, rng())


@pytest.mark.parametrize("noise", [-0.1, float("nan"), float("inf")])
def test_bad_noise_raises(noise):
    with pytest.raises(ValueError, match="noise"):
        sample_equation(COULOMB, 5, rng(), noise=noise)


def test_wrong_number_of_ranges_raises():
    with pytest.raises(ValueError, match="ranges"):
        sample_equation(COULOMB, 5, rng(), ranges=((1.0, 2.0),) * 3)


@pytest.mark.parametrize("shape", [(5, 3), (5, 5), (4,), (2, 2, 4)])
def test_evaluate_equation_wrong_shape_raises(shape):
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        evaluate_equation(COULOMB, np.ones(shape))


def test_evaluate_equation_broadcasts_constant_outputs():
    eq = get_equation("I.12.1")  # F = mu * Nn
    X = np.array([[2.0, 3.0], [1.5, 4.0]])
    assert np.array_equal(evaluate_equation(eq, X), np.array([6.0, 6.0]))


def test_points_where_the_law_is_undefined_are_redrawn():
    eq = get_equation("I.26.2")  # arcsin(n*sin(theta2)): undefined where n*sin(theta2) > 1
    ranges = extrapolation_ranges(eq)
    s = sample_equation(eq, 500, np.random.default_rng(0), ranges=ranges)
    assert np.all(np.isfinite(s.y))
    assert np.all(s.X >= np.array([r[0] for r in ranges])) and np.all(s.X <= np.array([r[1] for r in ranges]))
    assert np.all(np.abs(s.X[:, 0] * np.sin(s.X[:, 1])) <= 1)


def test_a_law_undefined_over_the_whole_range_raises():
    eq = get_equation("I.26.2")
    with pytest.raises(ValueError, match="not finite"):
        sample_equation(eq, 10, np.random.default_rng(0), ranges=((3.0, 4.0), (1.2, 1.9)))
