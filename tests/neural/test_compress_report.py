"""CompressionReport: the counts and bytes each compression claims."""

from __future__ import annotations

import pytest
import torch
from hybrid.neural.compress import (
    compression_report,
    convert_qat,
    count_parameters,
    low_rank,
    magnitude_prune,
    prepare_qat,
    serialized_bytes,
    stored_bytes,
)
from torch import nn

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def test_a_pruning_report_counts_the_zeros_and_the_sparse_bytes():
    model = _mlp()
    pruned = magnitude_prune(model, 0.9)
    report = compression_report("magnitude", model, pruned)
    weights, biases = 64 * 128 + 128 * 10, 128 + 10
    assert report.parameters_before == report.parameters_after == weights + biases
    assert report.nonzero_before == weights + biases
    assert report.nonzero_after == weights - round(0.9 * weights) + biases
    assert report.bytes_before == pytest.approx(serialized_bytes(model), rel=0.05)
    assert report.bytes_after < 0.35 * report.bytes_before
    assert report.as_dict()["compression_ratio"] == report.compression_ratio > 2.8


def test_a_masked_model_is_measured_by_its_effective_weights():
    model = _mlp()
    masked = magnitude_prune(model, 0.9, permanent=False)
    plain = magnitude_prune(model, 0.9)
    assert count_parameters(masked) == count_parameters(plain)
    assert stored_bytes(masked) == stored_bytes(plain)
    assert serialized_bytes(masked) > 1.5 * serialized_bytes(plain)  # weight_orig + weight_mask when dense


def test_a_low_rank_report_counts_the_smaller_factors():
    model = _mlp()
    result = low_rank(model, ranks={"0": 8})
    report = compression_report("low_rank", model, result.model)
    assert result.factorized["0"] == (8, 64 * 128 + 128, 8 * (64 + 128) + 128)
    saved = sum(before - after for _, before, after in result.factorized.values())
    assert report.parameters_after == report.parameters_before - saved


def test_a_static_int8_model_counts_each_weight_once():
    model = _mlp()
    prepared = prepare_qat(model)
    prepared(torch.randn(16, 64))
    q = convert_qat(prepared)
    assert count_parameters(q) == count_parameters(model)
    assert serialized_bytes(q) < 0.5 * serialized_bytes(model)  # per-channel scales cost a little
