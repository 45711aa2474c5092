"""Energy: RAPL counters read right (wrap-around included), and the mode said plainly."""

import math

import pytest

from hybrid.evaluate.energy import TDP_VARIABLE, EnergyTracker, RaplReader
from hybrid.evaluate.meter import PhaseMeasure


def _domain(root, name, label, energy, span=None):
    d = root / name
    d.mkdir(parents=True)
    (d / "name").write_text(label + "\n")
    (d / "energy_uj").write_text(f"{energy}\n")
    if span is not None:
        (d / "max_energy_range_uj").write_text(f"{span}\n")
    return d


def test_rapl_reads_packages_and_dram_not_their_inner_domains(tmp_path):
    _domain(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    _domain(tmp_path, "intel-rapl:0:0", "core", 500_000)  # inside package-0: not added again
    _domain(tmp_path, "intel-rapl:0:1", "dram", 200_000)
    rapl = RaplReader(tmp_path)
    assert rapl.available and rapl.names() == ["package-0", "dram"]
    before = rapl.read()
    (tmp_path / "intel-rapl:0" / "energy_uj").write_text("3500000")
    (tmp_path / "intel-rapl:0:1" / "energy_uj").write_text("700000")
    assert rapl.joules(before, rapl.read()) == pytest.approx(2.5 + 0.5)


def test_rapl_counts_a_counter_that_wrapped_around_once(tmp_path):
    d = _domain(tmp_path, "intel-rapl:0", "package-0", 999_000, span=999_999)
    rapl = RaplReader(tmp_path)
    before = rapl.read()
    (d / "energy_uj").write_text("1000")  # 999,000 -> 999,999 -> 0 -> 1,000
    assert rapl.joules(before, rapl.read()) == pytest.approx((999_999 - 999_000 + 1 + 1000) / 1e6)


def test_rapl_unreadable_or_absent_is_not_available(tmp_path):
    assert not RaplReader(tmp_path / "missing").available
    d = _domain(tmp_path, "intel-rapl:0", "package-0", 0)
    (d / "energy_uj").write_text("permission denied is what a non-root read gives; here: not a number")
    assert not RaplReader(tmp_path).available


def test_measured_mode_uses_rapl_for_the_cpu(tmp_path):
    pkg = _domain(tmp_path, "intel-rapl:0", "package-0", 0)
    _domain(tmp_path, "intel-rapl:0:1", "dram", 0)
    tracker = EnergyTracker(powercap=tmp_path)
    assert tracker.mode.mode == "measured" and "RAPL" in tracker.mode.source
    phase = PhaseMeasure()
    with tracker.measure(phase):
        (pkg / "energy_uj").write_text(str(36_000_000))  # 36 J
    assert phase.energy_mode == "measured" and math.isnan(phase.cpu_tdp_w)
    # 36 J of package, DRAM measured (so no RAM estimate added), no GPU
    assert phase.energy_kwh == pytest.approx(36 / 3.6e6)


def test_estimated_mode_names_its_tdp_and_where_it_came_from(tmp_path, monkeypatch):
    monkeypatch.setenv(TDP_VARIABLE, "95")
    tracker = EnergyTracker(powercap=tmp_path / "none")
    if tracker.tracker is None:
        pytest.skip("CodeCarbon could not start here")
    assert tracker.mode.mode == "estimated" and tracker.mode.cpu_tdp_w == 95
    assert TDP_VARIABLE in tracker.mode.cpu_tdp_source
    assert "estimated, not measured" in tracker.mode.source and "95" in tracker.mode.source
    phase = PhaseMeasure()
    with tracker.measure(phase):
        sum(i * i for i in range(200_000))
    assert phase.energy_mode == "estimated" and phase.cpu_tdp_w == 95 and phase.energy_kwh > 0


@pytest.mark.parametrize("value", ["nan", "-5", "0", "ninety"])
def test_a_bad_tdp_setting_is_refused_by_name(tmp_path, monkeypatch, value):
    monkeypatch.setenv(TDP_VARIABLE, value)
    with pytest.raises(ValueError, match=TDP_VARIABLE):
        EnergyTracker(powercap=tmp_path)
