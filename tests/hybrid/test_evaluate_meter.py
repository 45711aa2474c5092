import numpy as np
import pytest
import torch
from hybrid.neural.regression import MLPRegressor
from torch.utils.flop_counter import FlopCounterMode

from hybrid.evaluate.meter import Meter, record_flops, record_ops, resolve_device


def test_meter_counts_a_known_matmul_exactly():
    a, b = torch.randn(64, 32), torch.randn(32, 16)
    meter = Meter("cpu", track_energy=False)
    with meter.phase("train"):
        a @ b
    assert meter.phases["train"].flops_torch == 2 * 64 * 32 * 16


def test_meter_flops_equal_flopcountermode_on_mlp_training():
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 3)), rng.random(40)
    meter = Meter("cpu", track_energy=False)
    with meter.phase("train"):
        MLPRegressor(max_epochs=5, widths=(8,)).fit(X, y)
    with FlopCounterMode(display=False) as reference:
        MLPRegressor(max_epochs=5, widths=(8,)).fit(X, y)
    assert meter.phases["train"].flops_torch == reference.get_total_flops() > 0


def test_phases_are_separate_and_symbolic_work_goes_to_the_running_phase():
    meter = Meter("cpu", track_energy=False)
    with meter.phase("train"):
        record_ops("candidates", 5)
        record_ops("candidates", 2)
        record_flops(100)
        torch.ones(4, 4) @ torch.ones(4, 4)
    with meter.phase("inference"):
        record_ops("program_steps")
    train, inference = meter.phases["train"], meter.phases["inference"]
    assert train.symbolic_ops == {"candidates": 7}
    assert train.flops == train.flops_torch + 100 == 2 * 4 * 4 * 4 + 100
    assert inference.symbolic_ops == {"program_steps": 1} and inference.flops == 0
    record_ops("outside", 1)  # no meter running: silently ignored
    assert "outside" not in train.symbolic_ops


def test_meter_records_time_memory_and_energy():
    meter = Meter("cpu", track_energy=True)
    with meter.phase("train"):
        block = np.ones(20_000_000)  # 160 MB touched
        block.sum()
    m = meter.phases["train"]
    assert m.wall_s > 0 and m.cpu_s > 0
    assert m.peak_rss_bytes > 150e6
    assert m.energy_kwh > 0 and m.co2e_kg > 0
    assert "CPU" in m.energy_source


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            resolve_device("cuda")
