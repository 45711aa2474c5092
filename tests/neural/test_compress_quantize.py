"""Int8: dynamic quantisation close to the float model and ~4x smaller; QAT that trains and converts."""

from __future__ import annotations

import pytest
import torch
from hybrid.neural.compress import (
    QuantWrapper,
    compose,
    convert_qat,
    count_nonzero,
    count_parameters,
    magnitude_prune,
    prepare_qat,
    quantization_aware_training,
    quantize_dynamic_int8,
    serialized_bytes,
)
from torch import nn
from torch.ao.nn import quantized as nnq
from torch.ao.nn.quantized import dynamic as nnqd

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _wide_mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 4))


def test_dynamic_int8_predictions_stay_within_2_percent_and_bytes_shrink_3_5x():
    model = _wide_mlp()
    q = quantize_dynamic_int8(model)
    assert all(isinstance(q[i], nnqd.Linear) for i in (0, 2, 4))
    assert isinstance(model[0], nn.Linear)  # the float model is untouched
    x = torch.randn(512, 32, generator=torch.Generator().manual_seed(1))
    ref, out = model(x).detach(), q(x)
    # stated tolerance: relative RMS error under 2% of the outputs' RMS, worst case under 5% of max |output|
    assert ((out - ref).pow(2).mean() / ref.pow(2).mean()).sqrt() < 0.02
    assert (out - ref).abs().max() < 0.05 * ref.abs().max()
    assert serialized_bytes(model) / serialized_bytes(q) >= 3.5
    assert count_parameters(q) == count_parameters(model)


def test_dynamic_int8_quantises_an_lstm():
    class Reader(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.head = nn.LSTM(8, 32, batch_first=True), nn.Linear(32, 2)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    torch.manual_seed(0)
    model = Reader().eval()
    q = quantize_dynamic_int8(model)
    assert isinstance(q.lstm, nnqd.LSTM)
    x = torch.randn(4, 6, 8)
    assert torch.allclose(q(x), model(x), atol=0.05)
    assert count_parameters(q) == count_parameters(model)


def test_a_pruned_zero_stays_zero_through_int8_and_compose_reports_each_step():
    from functools import partial

    model = _wide_mlp()
    small, reports = compose(model, [partial(magnitude_prune, amount=0.8), quantize_dynamic_int8])
    assert [r.method for r in reports] == ["magnitude_prune", "quantize_dynamic_int8",
                                           "magnitude_prune+quantize_dynamic_int8"]
    pruned_nonzero = reports[0].nonzero_after
    assert reports[1].nonzero_after <= pruned_nonzero  # symmetric int8: 0 -> 0 (small weights may round to 0)
    assert count_nonzero(small) == reports[1].nonzero_after
    assert reports[-1].compression_ratio >= 3.5


def _train(model, x, y, steps=30):
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_quantisation_aware_training_trains_and_converts_to_int8(kind):
    torch.manual_seed(0)
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
        x = torch.randn(128, 8)
        fuse = [["0", "1"]]
    else:
        model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                              nn.Flatten(), nn.Linear(32, 3))
        x = torch.randn(64, 1, 6, 6)
        fuse = [["0", "1", "2"]]
    y = (x.flatten(1).sum(1) > 0).long() + (x.flatten(1)[:, 0] > 1).long()
    prepared = prepare_qat(model, fuse=fuse)
    assert isinstance(prepared, QuantWrapper) and prepared.training
    losses = _train(prepared, x, y)
    assert losses[-1] < losses[0]
    prepared.eval()
    fake = prepared(x).detach()
    q = convert_qat(prepared)
    layers = {type(m) for m in q.modules()}
    assert nnq.Linear in layers or nnq.LinearReLU in layers or any("Quantized" in t.__name__ for t in layers)
    assert not any(isinstance(m, nn.Linear) and type(m) is nn.Linear for m in q.modules())
    out = q(x)
    assert out.shape == fake.shape
    assert (out.argmax(1) == fake.argmax(1)).float().mean() > 0.9


def test_quantization_aware_training_runs_the_callers_loop():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    seen = []
    q = quantization_aware_training(model, lambda m: seen.append((m.training, m(torch.randn(8, 4)).shape)))
    assert seen == [(True, (8, 2))]
    assert q(torch.randn(3, 4)).shape == (3, 2)


def test_the_torchao_backend_when_installed():
    pytest.importorskip("torchao")
    model = _wide_mlp()
    q = quantize_dynamic_int8(model, layer_types=(nn.Linear,), backend="torchao")
    x = torch.randn(256, 32, generator=torch.Generator().manual_seed(1))
    ref, out = model(x).detach(), q(x).detach()
    assert ((out - ref).pow(2).mean() / ref.pow(2).mean()).sqrt() < 0.03
    assert serialized_bytes(model) / serialized_bytes(q) >= 3.4
    assert count_parameters(q) == count_parameters(model)


def test_the_torchao_backend_refuses_an_lstm():
    pytest.importorskip("torchao")
    with pytest.raises(ValueError, match="quantize_dynamic_int8: layer '0' \\(LSTM\\)"):
        quantize_dynamic_int8(nn.Sequential(nn.LSTM(3, 4)), backend="torchao")


def test_a_bare_layer_is_quantised_too():
    torch.manual_seed(0)
    assert isinstance(quantize_dynamic_int8(nn.Linear(8, 4)), nnqd.Linear)
    assert isinstance(quantize_dynamic_int8(nn.LSTM(8, 4)), nnqd.LSTM)
