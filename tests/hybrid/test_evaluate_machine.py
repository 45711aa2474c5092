"""machine_info: one description of the machine, the device resolver shared with the meter."""

from __future__ import annotations

import os

import pytest
import torch
from hybrid.neural.device import torch_device

from hybrid.evaluate.machine import cpu_model, machine_info
from hybrid.evaluate.meter import resolve_device


def test_machine_info_describes_cpu_and_versions():
    info = machine_info()
    assert info["cpu"] == cpu_model() and isinstance(info["cpu"], str) and info["cpu"]
    assert info["cpu_count"] == os.cpu_count()
    assert info["python"].count(".") == 2
    assert info["torch"] == torch.__version__  # torch is imported here, so it is reported


@pytest.mark.parametrize("bad", ["tpu", "cudax", "cuda:", "cuda:one", "", None, 0])
def test_one_resolver_refuses_bad_device_names(bad):
    with pytest.raises(ValueError, match="device"):
        torch_device(bad)
    with pytest.raises(ValueError, match="device"):
        resolve_device(bad)


def test_meter_resolution_is_the_neural_resolver():
    assert resolve_device("cpu") == "cpu" == str(torch_device("cpu"))
    assert resolve_device("auto") == str(torch_device("auto"))
