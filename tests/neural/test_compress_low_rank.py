"""Truncated SVD: parameter counts and FLOPs as claimed, exact at full rank, skipped where it would grow."""

from __future__ import annotations

import pytest
import torch
from hybrid.neural.compress import count_parameters, energy_rank, factorize_conv2d, factorize_linear, low_rank
from torch import nn

from hybrid.evaluate.flops import TorchFlopCounter

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _flops(model, x) -> int:
    counter = TorchFlopCounter()
    with torch.no_grad(), counter:
        model(x)
    return counter.total


def test_energy_rank_is_the_smallest_rank_reaching_the_energy():
    s = torch.tensor([3.0, 2.0, 1.0])  # energy fractions 9/14, 13/14, 1
    assert [energy_rank(s, e) for e in (0.5, 9 / 14, 0.9, 0.95, 1.0)] == [1, 1, 2, 3, 3]


def test_a_full_rank_linear_factorisation_reproduces_the_layer():
    torch.manual_seed(0)
    layer = nn.Linear(20, 12)
    pair = factorize_linear(layer, 12)
    x = torch.randn(16, 20)
    assert torch.allclose(pair(x), layer(x), atol=1e-5)
    assert count_parameters(pair) == 12 * (20 + 12) + 12
    assert _flops(pair, x) == 2 * 16 * 12 * (20 + 12)


def test_a_truncated_linear_is_the_best_rank_k_approximation():
    torch.manual_seed(0)
    layer = nn.Linear(30, 40)
    pair = factorize_linear(layer, 5)
    w = pair[1].weight @ pair[0].weight
    s = torch.linalg.svdvals(layer.weight.detach().double())
    tail = s[5:].pow(2).sum().sqrt().item()  # Eckart-Young: the error is the dropped singular values' norm
    assert torch.linalg.matrix_norm(w - layer.weight).item() == pytest.approx(tail, rel=1e-4)


def test_a_full_rank_conv_factorisation_reproduces_the_conv():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    pair = factorize_conv2d(conv, 8)
    x = torch.randn(2, 3, 9, 9)
    assert torch.allclose(pair(x), conv(x), atol=1e-5)
    assert count_parameters(pair) == 8 * 3 * 9 + 8 * 8 + 8
    out_pixels = 5 * 5
    assert _flops(pair, x) == 2 * 2 * out_pixels * (8 * 3 * 9 + 8 * 8)


def _low_rank_model() -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 8))
    with torch.no_grad():
        model[0].weight.copy_(torch.randn(64, 4) @ torch.randn(4, 64) / 8)  # rank 4
    return model


def test_low_rank_at_energy_one_keeps_the_rank_and_the_outputs():
    model = _low_rank_model()
    result = low_rank(model, energy=1.0)
    assert result.factorized == {"0": (4, 64 * 64 + 64, 4 * 128 + 64)}
    assert "1" not in result.skipped and "2" in result.skipped  # the full-rank head would grow
    assert "not fewer" in result.skipped["2"]
    x = torch.randn(10, 64)
    assert torch.allclose(result.model(x), model(x), atol=1e-4)
    assert count_parameters(result.model) == count_parameters(model) - (64 * 64) + 4 * 128
    assert _flops(result.model, x) == 2 * 10 * (4 * 128 + 64 * 8)
    assert isinstance(model[0], nn.Linear)  # the original is untouched


def test_lower_energy_gives_lower_rank_inside_a_cnn():
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1))
    ranks = [low_rank(cnn, e).factorized["2"][0] for e in (0.3, 0.6, 0.9)]
    assert ranks == sorted(ranks) and ranks[0] < ranks[-1]
    out = low_rank(cnn, 0.6).model
    assert out(torch.randn(1, 16, 6, 6)).shape == (1, 32, 6, 6)


def test_explicit_ranks_override_the_energy():
    model = _low_rank_model()
    result = low_rank(model, ranks={"0": 2, "2": 3})
    assert result.factorized["0"][0] == 2 and result.factorized["2"] == (3, 64 * 8 + 8, 3 * 72 + 8)
