"""The AlphaZero-style policy/value net: learning a supervised target, masking, persistence, input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hybrid.neural.planning import PolicyValueNet, make_evaluator

pytestmark = pytest.mark.usefixtures("one_torch_thread")

C, R, W, A = 2, 3, 3, 9


def _data(n: int, seed: int):
    """Planes of random 0/1 boards: the target action is the first set cell of plane 0, the value a function of
    plane 1's count."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(n, C, R, W)).astype(np.float32)
    x[:, 0].reshape(n, -1)[np.arange(n), rng.integers(0, A, size=n)] = 1.0  # at least one cell set
    target = x[:, 0].reshape(n, -1).argmax(1)
    pi = np.eye(A, dtype=np.float32)[target]
    z = np.tanh(x[:, 1].sum((1, 2)) - 4.5).astype(np.float32)
    return x, pi, z, target


@pytest.fixture(scope="module")
def trained():
    x, pi, z, target = _data(128, 0)
    net = PolicyValueNet(C, R, W, A, channels=16, blocks=1, lr=3e-3, seed=0)
    net.fit(x, pi, z, epochs=40, batch_size=32)
    return net


def test_learns_a_supervised_policy_and_value(trained):
    first, last = trained.history_[0], trained.history_[-1]
    assert last["loss"] < first["loss"] / 10
    assert last["policy_loss"] < first["policy_loss"] / 10 and last["value_loss"] < first["value_loss"] / 5
    assert last["l2"] > 0
    x, _, z, target = _data(128, 0)
    priors, values = trained.predict(x)
    assert (priors.argmax(1) == target).mean() > 0.95
    assert np.abs(values - z).mean() < 0.1
    assert trained.steps_ == 40 * 4


def test_predict_masks_illegal_actions_and_normalises():
    net = PolicyValueNet(C, R, W, A, channels=8, blocks=1, seed=1)
    x, *_ = _data(16, 1)
    masks = np.random.default_rng(2).random((16, A)) < 0.5
    masks[0] = False  # no legal action (a terminal state)
    masks[1] = np.eye(A, dtype=bool)[4]  # one legal action
    priors, values = net.predict(x, masks)
    assert priors.shape == (16, A) and priors.dtype == np.float32
    assert values.shape == (16,) and values.dtype == np.float32 and (np.abs(values) <= 1).all()
    assert (priors[~masks] == 0).all()
    assert (priors[0] == 0).all()
    np.testing.assert_allclose(priors[2:].sum(1)[masks[2:].any(1)], 1.0, atol=1e-5)
    assert priors[1, 4] == pytest.approx(1.0)
    # unmasked priors are the plain softmax of the logits; masking renormalises them over the legal actions
    free, _ = net.predict(x)
    with torch.no_grad():
        logits, v = net(torch.as_tensor(x))
    np.testing.assert_allclose(free, torch.softmax(logits, 1).numpy(), atol=1e-6)
    np.testing.assert_allclose(values, v.numpy(), atol=1e-6)
    row = free[5] * masks[5]
    np.testing.assert_allclose(priors[5], row / row.sum(), atol=1e-5)
    e, _ = net.predict(x[:0], masks[:0])
    assert e.shape == (0, A)


def test_train_step_with_masks_and_targets_off_the_mask():
    net = PolicyValueNet(C, R, W, A, channels=8, blocks=1, seed=2)
    x, pi, z, _ = _data(8, 3)
    out = net.train_step(x, pi, z, legal_masks=pi > 0)
    assert set(out) == {"loss", "policy_loss", "value_loss", "l2"} and np.isfinite(list(out.values())).all()
    assert net.steps_ == 1


def test_same_seed_same_net_and_save_load_round_trip(trained, tmp_path):
    a = PolicyValueNet(C, R, W, A, channels=8, blocks=2, seed=5)
    b = PolicyValueNet(C, R, W, A, channels=8, blocks=2, seed=5)
    x, pi, z, _ = _data(32, 4)
    a.fit(x, pi, z, epochs=2, batch_size=8)
    b.fit(x, pi, z, epochs=2, batch_size=8)
    np.testing.assert_array_equal(a.predict(x)[0], b.predict(x)[0])
    path = tmp_path / "pv.pt"
    trained.save(path)
    loaded = PolicyValueNet.load(path)
    assert loaded.config == trained.config
    for got, want in zip(loaded.predict(x), trained.predict(x), strict=True):
        np.testing.assert_array_equal(got, want)
    torch.save({"state": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not hold a saved PolicyValueNet"):
        PolicyValueNet.load(tmp_path / "other.pt")


def test_bad_inputs_raise_clear_errors():
    net = PolicyValueNet(C, R, W, A, channels=8, blocks=1)
    x, pi, z, _ = _data(4, 5)
    with pytest.raises(ValueError, match=r"planes must have shape \(B, 2, 3, 3\)"):
        net.predict(x[:, :1])
    with pytest.raises(ValueError, match=r"legal_masks must have shape \(4, 9\)"):
        net.predict(x, np.ones((4, 8), bool))
    with pytest.raises(ValueError, match="booleans"):
        net.predict(x, np.full((4, A), 0.5))
    with pytest.raises(ValueError, match="target_policies must have shape"):
        net.train_step(x, pi[:, :3], z)
    with pytest.raises(ValueError, match="probability distributions"):
        net.train_step(x, pi * 2, z)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        net.train_step(x, pi, z * 0 + 2)
    with pytest.raises(ValueError, match="epochs"):
        net.fit(x, pi, z, epochs=0)
    with pytest.raises(ValueError, match="num_actions"):
        PolicyValueNet(C, R, W, 0)
    with pytest.raises(ValueError, match="device"):
        PolicyValueNet(C, R, W, A, device="gpu")


class _Line:
    """A toy transition model: states are ints 0..2 drawn as one-hot planes; action k is legal when k != state."""

    num_actions, num_players = 3, 1

    def encode(self, s):
        planes = np.zeros((1, 1, 3), np.float32)
        planes[0, 0, s] = 1
        return planes

    def legal_actions(self, s):
        return np.arange(3) != s


def test_make_evaluator_maps_states_to_masked_priors_and_values():
    net = PolicyValueNet(1, 1, 3, 3, channels=4, blocks=1, seed=0)
    evaluate = make_evaluator(net, _Line())
    priors, values = evaluate([0, 2, 1])
    assert priors.shape == (3, 3) and values.shape == (3,)
    assert priors[0, 0] == 0 and priors[1, 2] == 0 and priors[2, 1] == 0
    np.testing.assert_allclose(priors.sum(1), 1.0, atol=1e-6)
    assert evaluate([])[0].shape == (0, 3)
    with pytest.raises(ValueError, match="actions"):
        make_evaluator(PolicyValueNet(1, 1, 3, 4, channels=4, blocks=1), _Line())


def test_evaluator_on_tic_tac_toe_feeds_legal_priors():
    from hybrid.tasks.envs import TicTacToeModel

    model = TicTacToeModel()
    s0 = model.initial_state()
    s1 = model.step(s0, 4).state
    net = PolicyValueNet(3, 3, 3, 9, channels=8, blocks=1, seed=0)
    priors, values = make_evaluator(net, model)([s0, s1])
    assert priors[1, 4] == 0 and (priors[1] > 0).sum() == 8 and (priors[0] > 0).all()
    assert values.shape == (2,)
