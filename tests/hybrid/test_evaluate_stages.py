"""StageStore: a stage runs once, is read back, and reruns when its key changes or its file is cut."""

import json

import numpy as np

from hybrid.evaluate.stages import StageStore


def test_a_stage_runs_once_and_is_read_back(tmp_path):
    calls = []

    def stage():
        calls.append(1)
        return {"value": np.float64(0.5), "rows": np.arange(3)}

    first = StageStore(tmp_path).run("a", stage)
    again = StageStore(tmp_path)
    second = again.run("a", stage)
    assert first == second == {"value": 0.5, "rows": [0, 1, 2]}
    assert len(calls) == 1 and again.computed == []
    assert json.loads((tmp_path / "a.json").read_text()) == first  # without a key: the result itself


def test_a_changed_key_or_a_cut_file_runs_the_stage_again(tmp_path):
    calls = []

    def stage():
        calls.append(1)
        return {"n": len(calls)}

    store = StageStore(tmp_path)
    assert store.run("b", stage, key={"size": 1}) == {"n": 1}
    assert store.run("b", stage, key={"size": 1}) == {"n": 1}
    assert store.run("b", stage, key={"size": 2}) == {"n": 2}
    (tmp_path / "b.json").write_text('{"_key": {"si')  # an interrupted write
    assert store.run("b", stage, key={"size": 2}) == {"n": 3}
    assert store.computed == ["b", "b", "b"]
