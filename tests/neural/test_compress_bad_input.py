"""Bad input never leaves a model silently uncompressed: ValueError naming the method and the layer/argument."""

from __future__ import annotations

import pytest
import torch
from hybrid.neural.compress import (
    compose,
    convert_qat,
    distill,
    factorize_conv2d,
    factorize_linear,
    find_lottery_ticket,
    fine_tune,
    low_rank,
    magnitude_prune,
    narrower_mlp,
    prepare_qat,
    prune_lstm_hidden,
    quantize_dynamic_int8,
    structured_prune,
)
from torch import nn


class _Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm, self.head = nn.LSTM(4, 8, batch_first=True), nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.lstm(x)[0])


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))


def _conv_only():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3))


def _transformer():
    return nn.Sequential(nn.Linear(4, 16), nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), nn.Linear(16, 2))


NO_PARAMS = nn.Sequential(nn.ReLU(), nn.Flatten())

CASES = {
    # name: (call, words the message must hold)
    "prune a model with no parameters": (lambda: magnitude_prune(NO_PARAMS, 0.5), ["magnitude_prune", "no parameters"]),
    "prune amount 0": (lambda: magnitude_prune(_mlp(), 0.0), ["magnitude_prune", "amount", "(0, 1)"]),
    "prune amount 1": (lambda: magnitude_prune(_mlp(), 1.0), ["magnitude_prune", "amount"]),
    "prune amount 1.5": (lambda: magnitude_prune(_mlp(), 1.5), ["magnitude_prune", "amount"]),
    "prune amount nan": (lambda: magnitude_prune(_mlp(), float("nan")), ["magnitude_prune", "amount"]),
    "prune scope": (lambda: magnitude_prune(_mlp(), 0.5, scope="row"), ["magnitude_prune", "scope"]),
    "prune nothing prunable": (lambda: magnitude_prune(nn.Sequential(nn.BatchNorm1d(3)), 0.5),
                               ["magnitude_prune", "BatchNorm1d"]),
    "reparametrised attention": (lambda: magnitude_prune(_transformer(), 0.5, permanent=False),
                                 ["magnitude_prune", "'1'", "TransformerEncoderLayer", "permanent=True"]),
    "structured amount": (lambda: structured_prune(_mlp(), torch.randn(2, 4), -0.1), ["structured_prune", "amount"]),
    "structured transformer": (lambda: structured_prune(_transformer(), torch.randn(2, 3, 4), 0.5),
                               ["structured_prune", "'1'", "TransformerEncoderLayer"]),
    "structured lstm": (lambda: structured_prune(_Seq(), torch.randn(2, 3, 4), 0.5),
                        ["structured_prune", "'lstm'", "prune_lstm_hidden"]),
    "structured single head": (lambda: structured_prune(nn.Sequential(nn.Linear(4, 2)), torch.randn(2, 4), 0.5),
                               ["structured_prune", "output"]),
    "structured no example": (lambda: structured_prune(_mlp(), [1, 2], 0.5), ["structured_prune", "example_inputs"]),
    "lstm helper amount": (lambda: prune_lstm_hidden(nn.LSTM(4, 8), nn.Linear(8, 2), 1.0),
                           ["prune_lstm_hidden", "amount"]),
    "lstm helper wrong layer": (lambda: prune_lstm_hidden(nn.GRU(4, 8), nn.Linear(8, 2), 0.5),
                                ["prune_lstm_hidden", "GRU"]),
    "lstm helper wrong consumer": (lambda: prune_lstm_hidden(nn.LSTM(4, 8), nn.Linear(7, 2), 0.5),
                                   ["prune_lstm_hidden", "in_features=7"]),
    "energy 0": (lambda: low_rank(_mlp(), 0.0), ["low_rank", "energy", "(0, 1]"]),
    "energy above 1": (lambda: low_rank(_mlp(), 1.01), ["low_rank", "energy"]),
    "low rank nothing gets smaller": (lambda: low_rank(_mlp(), 1.0), ["low_rank", "'0'", "'2'", "not fewer"]),
    "low rank no layer": (lambda: low_rank(nn.Sequential(nn.LSTM(3, 4)), 0.9), ["low_rank", "LSTM"]),
    "rank too large": (lambda: factorize_linear(nn.Linear(6, 4), 5, name="fc"), ["factorize_linear", "'fc'", "[1, 4]"]),
    "rank zero conv": (lambda: factorize_conv2d(nn.Conv2d(2, 4, 3), 0, name="c1"), ["factorize_conv2d", "'c1'"]),
    "rank for a named layer": (lambda: low_rank(_mlp(), ranks={"2": 3}), ["low_rank", "'2'", "[1, 2]"]),
    "grouped conv": (lambda: factorize_conv2d(nn.Conv2d(4, 4, 3, groups=2), 2), ["factorize_conv2d", "grouped"]),
    "quantise conv only": (lambda: quantize_dynamic_int8(_conv_only()), ["quantize_dynamic_int8", "Conv2d"]),
    "quantise no parameters": (lambda: quantize_dynamic_int8(NO_PARAMS), ["quantize_dynamic_int8", "no parameters"]),
    "qat lstm": (lambda: prepare_qat(_Seq()), ["prepare_qat", "'lstm'", "LSTM"]),
    "qat transformer": (lambda: prepare_qat(_transformer()), ["prepare_qat", "'1'"]),
    "qat engine": (lambda: prepare_qat(_mlp(), engine="tpu"), ["prepare_qat", "engine"]),
    "convert unprepared": (lambda: convert_qat(_mlp()), ["convert_qat", "prepare_qat"]),
    "narrower factor": (lambda: narrower_mlp(_mlp(), 0.5), ["narrower_mlp", "factor"]),
    "narrower non-mlp": (lambda: narrower_mlp(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)), 2),
                         ["narrower_mlp", "'1'", "BatchNorm1d"]),
    "distill bad data": (lambda: distill(_mlp(), _mlp(), torch.randn(3, 4)), ["distill", "data"]),
    "distill patience without validation": (lambda: distill(_mlp(), _mlp(), (torch.randn(8, 4), torch.zeros(8).long()),
                                                            patience=3), ["distill", "patience"]),
    "lottery amount": (lambda: find_lottery_ticket(_mlp(), lambda m: None, amount=1.2),
                       ["find_lottery_ticket", "amount"]),
    "lottery rounds": (lambda: find_lottery_ticket(_mlp(), lambda m: None, rounds=0),
                       ["find_lottery_ticket", "rounds"]),
    "fine-tune quantised": (lambda: fine_tune(quantize_dynamic_int8(_mlp()), lambda m: None),
                            ["fine_tune", "trainable"]),
    "compose nothing": (lambda: compose(_mlp(), []), ["compose", "steps"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_raises_value_error_naming_method_and_layer(case):
    call, words = CASES[case]
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} not in: {info.value}"


def test_a_non_module_is_a_type_error():
    with pytest.raises(TypeError, match="magnitude_prune: model must be a torch.nn.Module"):
        magnitude_prune("model", 0.5)


def test_fine_tune_refuses_a_train_fn_that_moves_masks():
    import torch.nn.utils.prune as tprune

    pruned = magnitude_prune(_mlp(), 0.5, permanent=False)
    with pytest.raises(ValueError, match="fine_tune: train_fn changed the pruning masks"):
        fine_tune(pruned, lambda m: tprune.l1_unstructured(m[0], "weight", amount=0.5))
