"""The MLP oracle: accurate on smooth functions, honest about its error, float64 predictions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hybrid.neural.regression.oracle import MLPOracle
from sklearn.exceptions import NotFittedError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _product(n, seed):
    X = np.random.default_rng(seed).uniform(1, 5, (n, 2))
    return X, X[:, 0] * X[:, 1]


def _relative_rms(y, p):
    return float(np.sqrt(np.mean((p - y) ** 2)) / np.sqrt(np.mean(y**2)))


@pytest.fixture(scope="module")
def product_oracle():
    X, y = _product(500, 0)
    return MLPOracle(seed=0, max_seconds=5).fit(X, y)


def test_accurate_on_a_smooth_function(product_oracle):
    # Measured ~1e-5 (6e-5 on a loaded machine; 2e-4 with only 1.5 s); Adam alone ~2e-3.
    X_test, y_test = _product(2000, 1)
    assert _relative_rms(y_test, product_oracle(X_test)) < 1e-3


def test_relative_error_matches_held_out_error(product_oracle):
    X_test, y_test = _product(2000, 1)
    held_out = _relative_rms(y_test, product_oracle(X_test))
    assert 0 < product_oracle.relative_error_ < 1e-3
    assert 0.1 < product_oracle.relative_error_ / held_out < 10


def test_polish_improves_on_adam(product_oracle):
    adam = np.sqrt(product_oracle.best_config_["val_loss"]) * product_oracle.y_std_
    polished = np.sqrt(min(p["val_loss"] for p in product_oracle.polish_)) * product_oracle.y_std_
    assert polished < adam / 10


def test_predict_shapes_dtype_and_call(product_oracle):
    X, _ = _product(7, 2)
    out = product_oracle.predict(X)
    assert out.shape == (7,) and out.dtype == np.float64
    assert np.array_equal(product_oracle(X), out)
    assert product_oracle.predict(X[:1]).shape == (1,)
    assert all(p.dtype == torch.float64 for net in product_oracle.params_ for p in net)
    with pytest.raises(ValueError, match="columns"):
        product_oracle.predict(np.ones((3, 3)))


def test_predict_before_fit_raises():
    with pytest.raises(NotFittedError, match="not fitted"):
        MLPOracle().predict(np.ones((2, 2)))
    with pytest.raises(NotFittedError, match="not fitted"):
        MLPOracle()(np.ones((2, 2)))


def test_constructor_stores_hyper_parameters_only():
    oracle = MLPOracle(widths=(8,), learning_rates=(1e-2,), depth=2, max_seconds=3.0, seed=4)
    assert oracle.widths == (8,) and oracle.depth == 2 and oracle.max_seconds == 3.0 and oracle.seed == 4
    assert not [k for k in vars(oracle) if k.endswith("_")]


def test_iteration_caps_without_time_limit_and_no_polish():
    X, y = _product(60, 3)
    capped = MLPOracle(widths=(8,), max_epochs=30, polish_iterations=40, max_seconds=None).fit(X, y)
    assert capped.max_seconds is None
    assert all(0 < p["iterations"] <= 40 and p["val_loss"] <= p["val_loss_before"] for p in capped.polish_)
    plain = MLPOracle(widths=(8,), max_epochs=30, polish_iterations=0).fit(X, y)
    assert all(p["iterations"] == 0 for p in plain.polish_)
    adam = np.sqrt(plain.best_config_["val_loss"]) * plain.y_std_ / np.sqrt(np.mean(y**2))
    assert plain.relative_error_ == pytest.approx(adam, rel=1e-3)


def test_constant_target():
    X = np.random.default_rng(0).uniform(1, 5, (40, 3))
    oracle = MLPOracle(widths=(8,), max_epochs=20, polish_iterations=20).fit(X, np.full(40, 2.5))
    assert np.allclose(oracle(X[:5]), 2.5)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_device_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA device"):
        MLPOracle(device="cuda", max_epochs=2).fit(*_product(20, 0))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fits_and_predicts_on_cuda():
    X, y = _product(200, 0)
    oracle = MLPOracle(device="cuda", max_epochs=200, polish_iterations=300).fit(X, y)
    assert oracle.device_.type == "cuda" and oracle.params_[0][0].is_cuda
    X_test, y_test = _product(500, 1)
    assert _relative_rms(y_test, oracle(X_test)) < 1e-2
