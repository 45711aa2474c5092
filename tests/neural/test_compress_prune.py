"""Pruning: exact zero counts, units that really go, LSTM slicing, sparse bytes, fine-tuning that keeps zeros."""

from __future__ import annotations

import copy

import pytest
import torch
from hybrid.neural.compress import (
    count_nonzero,
    count_parameters,
    fine_tune,
    load_sparse,
    magnitude_prune,
    make_permanent,
    masks,
    prune_lstm_hidden,
    save_sparse,
    serialized_bytes,
    structured_prune,
)
from torch import nn

from hybrid.evaluate.flops import TorchFlopCounter

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _mlp(seed: int = 0, widths=(10, 64, 64, 3)) -> nn.Sequential:
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _cnn(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(128, 10))


def _weights(model):
    return [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def _flops(model, x) -> int:
    counter = TorchFlopCounter()
    with torch.no_grad(), counter:
        model(x)
    return counter.total


@pytest.mark.parametrize("amount", [0.3, 0.75, 0.9])
def test_global_magnitude_pruning_zeroes_exactly_the_claimed_count(amount):
    model = _mlp()
    pruned = magnitude_prune(model, amount)
    n = sum(w.numel() for w in _weights(model))
    zeros = sum(int((w == 0).sum()) for w in _weights(pruned))
    assert zeros == round(amount * n)
    biases = sum(m.bias.numel() for m in pruned if isinstance(m, nn.Linear))
    assert count_nonzero(pruned) == n - round(amount * n) + biases
    assert count_parameters(pruned) == count_parameters(model)
    assert set(pruned.state_dict()) == set(model.state_dict())  # permanent: plain keys
    assert count_nonzero(model) == count_parameters(model)  # the original is untouched


def test_global_pruning_removes_the_smallest_magnitudes():
    model = _mlp()
    pruned = magnitude_prune(model, 0.5)
    kept = torch.cat([w.detach().abs().flatten()[w.flatten() != 0] for w in _weights(pruned)])
    dropped = torch.cat([o.detach().abs().flatten()[p.flatten() == 0]
                         for o, p in zip(_weights(model), _weights(pruned), strict=True)])
    assert kept.min() >= dropped.max()


def test_layerwise_pruning_zeroes_the_fraction_of_each_layer():
    model = _cnn()
    pruned = magnitude_prune(model, 0.6, scope="layer")
    for w in _weights(pruned):
        assert int((w == 0).sum()) == round(0.6 * w.numel())


def test_lstm_weights_are_pruned_too():
    lstm = nn.Sequential(nn.LSTM(4, 8))
    pruned = magnitude_prune(lstm, 0.5)
    ih, hh = pruned[0].weight_ih_l0, pruned[0].weight_hh_l0
    assert int((ih == 0).sum()) + int((hh == 0).sum()) == round(0.5 * (ih.numel() + hh.numel()))


def test_reparametrised_pruning_keeps_masks_through_fine_tuning():
    model = _mlp()
    pruned = magnitude_prune(model, 0.8, permanent=False)
    before = masks(pruned)
    assert set(before) == {"0.weight", "2.weight", "4.weight"}
    x, y = torch.randn(64, 10), torch.randn(64, 3)

    def train(m):
        opt = torch.optim.Adam(m.parameters(), lr=1e-2)
        for _ in range(20):
            opt.zero_grad()
            nn.functional.mse_loss(m(x), y).backward()
            opt.step()

    fine_tune(pruned, train)
    after = masks(pruned)
    assert all(torch.equal(before[k], after[k]) for k in before)
    make_permanent(pruned)
    assert set(pruned.state_dict()) == set(model.state_dict())
    for w, name in zip(_weights(pruned), ["0.weight", "2.weight", "4.weight"], strict=True):
        assert torch.all(w[~before[name]] == 0)
        assert int((w != 0).sum()) == int(before[name].sum())  # trained weights moved, none became 0


def test_fine_tuning_a_permanently_pruned_model_keeps_its_zeros():
    pruned = magnitude_prune(_mlp(), 0.7)
    zero = [w == 0 for w in _weights(pruned)]
    x, y = torch.randn(64, 10), torch.randn(64, 3)

    def train(m):
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        for _ in range(5):
            opt.zero_grad()
            nn.functional.mse_loss(m(x), y).backward()
            opt.step()

    fine_tune(pruned, train)
    assert masks(pruned) == {}  # the temporary masks are folded back in
    assert all(torch.equal(w == 0, z) for w, z in zip(_weights(pruned), zero, strict=True))


def test_structured_pruning_of_an_mlp_removes_units_and_keeps_the_output():
    model = _mlp()
    x = torch.randn(5, 10)
    pruned = structured_prune(model, x[:2], 0.5)
    assert [tuple(m.weight.shape) for m in pruned if isinstance(m, nn.Linear)] == [(32, 10), (32, 32), (3, 32)]
    assert count_parameters(pruned) == (10 * 32 + 32) + (32 * 32 + 32) + (32 * 3 + 3)
    out = pruned(x)
    assert out.shape == model(x).shape and torch.isfinite(out).all()
    assert _flops(pruned, x) < 0.3 * _flops(model, x)


def test_structured_pruning_removes_the_dead_units_first_and_exactly():
    model = _mlp()
    with torch.no_grad():  # units 0..31 of both hidden layers output relu(0) = 0
        for i in (0, 2):
            model[i].weight[:32] = 0
            model[i].bias[:32] = 0
        model[2].weight[:, :32] = 0
        model[4].weight[:, :32] = 0
    x = torch.randn(20, 10)
    pruned = structured_prune(model, x[:2], 0.5)
    assert torch.allclose(pruned(x), model(x), atol=1e-6)


def test_structured_pruning_of_a_cnn_shrinks_channels_and_the_flatten_linear():
    model = _cnn().eval()
    x = torch.randn(3, 1, 8, 8)
    pruned = structured_prune(model, x[:2], 0.5).eval()
    assert pruned[0].weight.shape == (8, 1, 3, 3) and pruned[1].num_features == 8
    assert pruned[3].weight.shape == (16, 8, 3, 3)
    assert pruned[7].weight.shape == (10, 64)  # flatten(16 * 2 * 2) into the head
    expected = (8 * 9 + 8) + 2 * 8 + (16 * 8 * 9 + 16) + (10 * 64 + 10)
    assert count_parameters(pruned) == expected
    assert pruned(x).shape == (3, 10)
    assert _flops(pruned, x) < 0.5 * _flops(model, x)


def test_structured_pruning_keeps_a_head_whose_output_is_reshaped():
    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.head = nn.Linear(4, 16), nn.Linear(16, 1)

        def forward(self, x):
            return self.head(torch.relu(self.body(x))).squeeze(-1)

    torch.manual_seed(0)
    pruned = structured_prune(Head(), torch.randn(2, 4), 0.25)
    assert pruned.body.out_features == 12 and pruned.head.out_features == 1
    assert pruned(torch.randn(7, 4)).shape == (7,)


class _Tagger(nn.Module):
    def __init__(self, bidirectional: bool, layers: int):
        super().__init__()
        self.lstm = nn.LSTM(5, 16, num_layers=layers, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(16 * (2 if bidirectional else 1), 3)

    def forward(self, x):
        return self.head(self.lstm(x)[0])


@pytest.mark.parametrize(("bidirectional", "layers"), [(False, 1), (True, 2)])
def test_lstm_hidden_units_with_no_weight_are_removed_without_changing_outputs(bidirectional, layers):
    torch.manual_seed(0)
    model = _Tagger(bidirectional, layers)
    dirs, hidden = (2 if bidirectional else 1), 16
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for layer in range(layers):
            for d, s in enumerate(["", "_reverse"][:dirs]):
                dead = torch.randperm(hidden, generator=gen)[:4]  # 4 dead units, different per layer/direction
                rows = torch.cat([dead + g * hidden for g in range(4)])
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(model.lstm, f"{kind}_l{layer}{s}")[rows] = 0
                getattr(model.lstm, f"weight_hh_l{layer}{s}")[:, dead] = 0
                reader = (model.head.weight if layer == layers - 1 else None)
                cols = dead + d * hidden
                if reader is not None:
                    reader[:, cols] = 0
                else:
                    for s2 in ["", "_reverse"][:dirs]:
                        getattr(model.lstm, f"weight_ih_l{layer + 1}{s2}")[:, cols] = 0
    x = torch.randn(3, 7, 5)
    expected = model(x)
    before = copy.deepcopy(model.state_dict())
    model.lstm, model.head = prune_lstm_hidden(model.lstm, model.head, 0.25)
    assert model.lstm.hidden_size == 12 and model.head.in_features == 12 * dirs
    assert model.lstm.weight_ih_l0.shape == (48, 5) and model.lstm.weight_hh_l0.shape == (48, 12)
    per_layer = [4 * 12 * (i + 12 + 2) for i in [5] + [12 * dirs] * (layers - 1)]
    assert count_parameters(model) == dirs * sum(per_layer) + 3 * 12 * dirs + 3
    assert torch.allclose(model(x), expected, atol=1e-6)
    assert before.keys() == _Tagger(bidirectional, layers).state_dict().keys()


def test_sparse_storage_round_trips_exactly_and_is_smaller_at_90_percent():
    model = magnitude_prune(_cnn(), 0.9, scope="layer")
    data = save_sparse(model)
    restored = _cnn(seed=1)
    restored.load_state_dict(load_sparse(data))
    for key, value in model.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value), key
    assert len(data) < 0.5 * serialized_bytes(model)


def test_sparse_storage_of_a_dense_model_costs_no_more_than_dense():
    model = _mlp()
    data = save_sparse(model)
    assert len(data) <= serialized_bytes(model) + 600  # the format's few keys
    loaded = load_sparse(data)
    assert all(torch.equal(loaded[k], v) for k, v in model.state_dict().items())


class _SharedTrunk(nn.Module):
    """One trunk read by two heads, as a policy's features extractor is shared."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(64, 64)
        self.policy = nn.Sequential(self.trunk, nn.Linear(64, 4))
        self.value = nn.Sequential(self.trunk, nn.Linear(64, 1))


def test_sparse_storage_keeps_a_shared_submodule_once():
    model = magnitude_prune(_SharedTrunk(), 0.9, scope="layer")
    state = model.state_dict()
    assert {"trunk.weight", "policy.0.weight", "value.0.weight"} <= state.keys()
    data = save_sparse(model)
    one_trunk = save_sparse({"trunk.weight": state["trunk.weight"]})
    heads = save_sparse({k: v for k, v in state.items() if k.startswith(("policy.1", "value.1"))})
    assert len(data) < len(one_trunk) + len(heads) + 2000  # the trunk is not stored three times
    loaded = load_sparse(data)
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_load_sparse_refuses_other_bytes():
    with pytest.raises(ValueError, match="load_sparse"):
        load_sparse(b"not a checkpoint")


class _Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.a, self.b = nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1), \
            nn.Conv2d(16, 16, 3, padding=1)
        self.bn, self.head = nn.BatchNorm2d(16), nn.Linear(16, 5)

    def forward(self, x):
        h = torch.relu(self.stem(x))
        h = h + self.b(torch.relu(self.bn(self.a(h))))
        return self.head(h.mean((2, 3)))


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_structured_pruning_follows_a_residual_addition(scope):
    torch.manual_seed(0)
    model = _Residual().eval()
    x = torch.randn(2, 3, 8, 8)
    pruned = structured_prune(model, x, 0.5, scope=scope).eval()
    assert pruned.stem.out_channels == pruned.b.out_channels == pruned.head.in_features < 16  # coupled by the +
    assert pruned.a.out_channels == pruned.bn.num_features == pruned.b.in_channels < 16
    assert pruned(x).shape == (2, 5)
    assert count_parameters(pruned) < 0.5 * count_parameters(model)
