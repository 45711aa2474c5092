"""The MLP baseline: it learns, it is reproducible, its grid search and its stacked nets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hybrid.neural.regression import MLPRegressor, StackedMLP
from sklearn.base import RegressorMixin, clone
from sklearn.exceptions import NotFittedError

SMALL = {"widths": (16,), "learning_rates": (1e-2,), "max_epochs": 200, "patience": 50}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _linear(n, seed):
    X = np.random.default_rng(seed).uniform(-1, 1, (n, 2))
    return X, X[:, 0] + 2 * X[:, 1]


def _r2(y, p):
    return 1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)


@pytest.fixture(scope="module")
def linear_fit():
    X, y = _linear(200, 0)
    return MLPRegressor(**SMALL, seed=0).fit(X, y)


def test_learns_a_linear_function(linear_fit):
    X_test, y_test = _linear(500, 1)
    pred = linear_fit.predict(X_test)
    assert pred.shape == (500,)
    assert _r2(y_test, pred) > 0.98


def test_constructor_stores_hyper_parameters_only():
    widths = [4, 8]
    reg = MLPRegressor(widths=widths, learning_rates=[0.1], seed=3)
    assert reg.widths is widths and reg.learning_rates == [0.1] and reg.seed == 3  # stored as given
    assert not [k for k in vars(reg) if k.endswith("_")]
    assert reg.family == "deep"
    copy = clone(reg)
    assert copy.get_params() == reg.get_params() and copy.widths is not widths
    assert isinstance(reg, RegressorMixin) and reg.set_params(depth=3).depth == 3


def test_fit_returns_self():
    X, y = _linear(20, 0)
    reg = MLPRegressor(widths=(4,), learning_rates=(1e-2,), max_epochs=3, seed=0)
    assert reg.fit(X, y) is reg


def test_same_seed_identical_predictions_different_seed_different(linear_fit):
    X, y = _linear(200, 0)
    X_test, _ = _linear(50, 2)
    again = MLPRegressor(**SMALL, seed=0).fit(X, y)
    other = MLPRegressor(**SMALL, seed=1).fit(X, y)
    assert np.array_equal(linear_fit.predict(X_test), again.predict(X_test))
    assert linear_fit.best_config_ == again.best_config_
    assert not np.allclose(linear_fit.predict(X_test), other.predict(X_test), rtol=0, atol=1e-6)


def test_search_has_one_entry_per_width_and_learning_rate():
    X, y = _linear(40, 0)
    reg = MLPRegressor(widths=(4, 8), learning_rates=(1e-2, 3e-3, 1e-3), max_epochs=5, patience=5, seed=0)
    reg.fit(X, y)
    assert [(c["width"], c["lr"]) for c in reg.search_] == [(w, lr) for w in (4, 8) for lr in (1e-2, 3e-3, 1e-3)]
    assert all(set(c) == {"width", "lr", "epochs", "val_loss", "epochs_run", "stopped_by"} for c in reg.search_)
    assert all(1 <= c["epochs"] <= 5 and np.isfinite(c["val_loss"]) for c in reg.search_)
    # five epochs with a patience of five: nothing can have stopped early, the cap ended every model
    assert all(c["epochs_run"] == 5 and c["stopped_by"] == "epoch-cap" for c in reg.search_)
    assert reg.n_iter_ == 5 and reg.stopped_by_ == "epoch-cap"
    best = min(reg.search_, key=lambda c: c["val_loss"])
    assert reg.best_config_ == best
    assert reg.best_config_ in reg.search_


def test_early_stopping_keeps_the_best_epoch():
    X, y = _linear(60, 0)
    reg = MLPRegressor(widths=(8,), learning_rates=(1e-2,), max_epochs=400, patience=5, seed=0).fit(X, y)
    cfg = reg.best_config_
    assert cfg["epochs"] < 400  # patience stopped it early
    assert reg.stopped_by_ == "early-stopping" and reg.n_iter_ == cfg["epochs"] + 5
    # the kept weights reproduce the recorded best validation loss ...
    n_val = round(0.2 * len(X))
    val_idx = np.random.default_rng(0).permutation(len(X))[:n_val]  # the split fit() draws for seed 0
    ys = (y - reg.y_mean_) / reg.y_std_
    pred = (reg.predict(X[val_idx]) - reg.y_mean_) / reg.y_std_
    assert np.mean((pred - ys[val_idx]) ** 2) == pytest.approx(cfg["val_loss"], rel=1e-4)
    # ... and are not the last weights trained (those ran on past the best epoch)
    assert not torch.equal(reg.flat_, reg.net_.flat.detach())


def test_network_is_the_selected_model_as_a_plain_module():
    X, y = _linear(60, 0)
    reg = MLPRegressor(widths=(4, 8), learning_rates=(1e-2,), max_epochs=50, patience=5, seed=0).fit(X, y)
    linear = [m for m in reg.network_ if isinstance(m, torch.nn.Linear)]
    width = reg.best_config_["width"]
    assert [tuple(m.weight.shape) for m in linear] == [(width, X.shape[1]), (width, width), (1, width)]
    xs = torch.as_tensor((X - reg.x_mean_) / reg.x_std_, dtype=torch.float32)
    stacked = reg.net_.forward(xs, reg.flat_)[reg.choice_]
    assert torch.allclose(reg.network_(xs)[:, 0], stacked, atol=1e-5)


def test_predict_before_fit_raises():
    with pytest.raises(NotFittedError, match="not fitted"):
        MLPRegressor().predict(np.ones((3, 2)))


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.array([[1.0, np.nan], [2.0, 3.0], [1.0, 1.0]]), np.ones(3), "NaN"),
        (np.ones((3, 2)), np.array([1.0, np.inf, 2.0]), "NaN or inf"),
        (np.ones(5), np.ones(5), "2-D"),
        (np.ones((5, 2)), np.ones(4), "y must be"),
        (np.ones((1, 2)), np.ones(1), "at least 2"),
    ],
)
def test_bad_training_data_raises(X, y, match):
    with pytest.raises(ValueError, match=match):
        MLPRegressor(widths=(4,), max_epochs=2).fit(X, y)


@pytest.mark.parametrize(
    "params",
    [{"val_fraction": 0.0}, {"val_fraction": 1.0}, {"widths": ()}, {"learning_rates": ()}, {"device": "tpu"}],
)
def test_bad_hyper_parameters_raise_on_fit(params):
    X, y = _linear(10, 0)
    with pytest.raises(ValueError):
        MLPRegressor(**{"max_epochs": 2, **params}).fit(X, y)


def test_predict_rejects_wrong_width_and_nan(linear_fit):
    with pytest.raises(ValueError, match="X must have 2 columns, got 3"):
        linear_fit.predict(np.ones((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        linear_fit.predict(np.array([[np.nan, 1.0]]))


# ---------------------------------------------------------------- StackedMLP


def _stack(widths, depth=2, n_in=3, seed=0):
    return StackedMLP(n_in, widths, depth, torch.Generator().manual_seed(seed), "cpu")


def _by_hand(p, j, width, depth, x):
    """Model j of the stack as a plain narrow MLP, from the stack's parameters."""
    h = x
    for layer in range(depth):
        W, b = p[2 * layer][j], p[2 * layer + 1][j, 0]
        rows = W.shape[0] if layer == 0 else width
        h = torch.tanh(h @ W[:rows, :width] + b[:width])
    return h @ p[-2][j][:width, 0] + p[-1][j, 0, 0]


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_stacked_models_equal_their_narrow_networks(depth):
    widths = [3, 8, 5]
    net = _stack(widths, depth=depth)
    x = torch.randn(11, 3, generator=torch.Generator().manual_seed(1))
    out = net.forward(x)
    assert out.shape == (3, 11)
    p = net.params()
    for j, w in enumerate(widths):
        torch.testing.assert_close(out[j], _by_hand(p, j, w, depth, x), rtol=1e-5, atol=1e-6)


def test_masked_units_receive_no_gradient():
    net = _stack([2, 6], depth=2)
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(2))
    (g,) = torch.autograd.grad(net.forward(x).sum(), net.flat)
    grads = net.params(g)
    # narrow model 0 (width 2): hidden units 2..5 are masked
    assert torch.all(grads[0][0][:, 2:] == 0)  # W1 columns into masked units
    assert torch.all(grads[1][0][0, 2:] == 0)  # their biases
    assert torch.all(grads[2][0][2:, :] == 0) and torch.all(grads[2][0][:, 2:] == 0)  # W2
    assert torch.all(grads[4][0][2:, 0] == 0)  # output weights from masked units
    assert torch.any(grads[0][0][:, :2] != 0)  # live units do learn
    assert torch.all(grads[0][1] != 0)  # the full-width model uses every unit


def test_stacked_init_scale_uses_each_models_fan_in():
    net = _stack([1, 64], depth=2, n_in=3)
    W2 = net.params()[2]
    assert W2[0].abs().max() <= 1.0 and W2[0].abs().max() > 1 / 8  # fan-in 1: bound 1
    assert W2[1].abs().max() <= 1 / 8  # fan-in 64: bound 1/8


def test_stack_owner_maps_each_entry_to_its_model():
    net = _stack([2, 4], depth=1)
    marker = torch.zeros_like(net.flat)
    marker[net.owner == 1] = 1.0
    for view in net.params(marker):
        assert torch.all(view[0] == 0) and torch.all(view[1] == 1)


@pytest.mark.parametrize(("widths", "depth"), [([], 2), ([0, 4], 2), ([4], 0)])
def test_stack_rejects_bad_shapes(widths, depth):
    with pytest.raises(ValueError):
        _stack(widths, depth=depth)
