"""``plan_levels`` (the ``hybrid plan`` job): per-level results, summary.json, time limits, pixels, resuming."""

from __future__ import annotations

import json
import time

import pytest
from hybrid.tasks.envs.sokoban import SokobanModel, boxoban_path, load_levels, parse_level

from hybrid.planning.plan import lurd, plan_levels, summarise_records

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SOLVABLE_1 = "#####\n#@$.#\n#####"
SOLVABLE_2 = "#######\n#     #\n# $@$.#\n#  .  #\n#######"
# The box stands in a corner with no goal: no push can ever move it, the level is unsolvable.
DEADLOCKED = "######\n#$   #\n#  . #\n#  @ #\n######"
# A generated 20-column level with 12 boxes: solvable, but not within a fraction of a second.
HARD = """\
####################
#  #################
# .#################
# $#################
# .#################
#  $@#### ### ######
#  $$$.   $ . ######
#    $      . ######
#  $ $##############
#. . .##############
##$.$$  ############
#     .#############
#     .#############
# .#################
####################"""


# The limit is checked between expansions, so a level may overrun it a little.
OVERRUN_S = 0.05


@pytest.fixture()
def level_file(tmp_path):
    path = tmp_path / "levels.txt"
    text = ""
    for title, level in (("one", SOLVABLE_1), ("two", SOLVABLE_2), ("stuck", DEADLOCKED), ("hard", HARD)):
        text += f"Title: {title}\n{level}\n\n"
    path.write_text(text)
    return path


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_plan_levels_writes_results_and_summary(level_file, tmp_path, monkeypatch):
    # a clock that moves 0.1 ms per reading, so the limits and the seconds recorded do not
    # depend on the machine's speed or load
    now = [0.0]

    def clock() -> float:
        now[0] += 1e-4
        return now[0]

    monkeypatch.setattr(time, "perf_counter", clock)
    out = tmp_path / "out"
    summary = plan_levels(level_file, time_limit_s=0.3, out=out, progress=False)
    written = json.loads((out / "summary.json").read_text())
    assert written == json.loads(json.dumps(summary))
    assert (summary["solved"], summary["total"]) == (2, 4)
    assert summary["reasons"] == {"solved": 2, "exhausted": 1, "time limit": 1}
    assert summary["time_limit_s"] == 0.3 and summary["from_pixels"] is False and summary["perception"] is None
    assert summary["median_seconds"] >= 0 and summary["max_seconds"] <= 0.3 + OVERRUN_S
    assert summary["machine"]["cpu_count"] >= 1 and summary["machine"]["python"]

    records = _lines(out / "results.jsonl")
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    assert [r["name"] for r in records] == ["one", "two", "stuck", "hard"]
    assert [r["solved"] for r in records] == [True, True, False, False]
    assert [r["reason"] for r in records] == ["solved", "solved", "exhausted", "time limit"]
    for r in records:
        assert set(r) >= {"index", "solved", "seconds", "moves", "pushes", "reason", "perception_correct"}
        assert r["perception_correct"] is None and r["seconds"] <= 0.3 + OVERRUN_S
    # the solutions are in LURD notation and solve their levels
    assert records[0]["solution"] == "R" and records[0]["moves"] == 1 and records[0]["pushes"] == 1
    model = SokobanModel(parse_level(SOLVABLE_2))
    state = model.initial_state
    for ch in records[1]["solution"]:
        state = model.step(state, "udlr".index(ch.lower())).state
    assert model.is_solved(state) and records[1]["moves"] == len(records[1]["solution"])
    assert lurd(model, ["udlr".index(c.lower()) for c in records[1]["solution"]]) == records[1]["solution"]


def test_plan_levels_from_pixels_reads_the_whole_level(level_file, tmp_path):
    out = tmp_path / "pixels"
    kwargs = dict(from_pixels=True, time_limit_s=0.3, out=out, perception_frames=40, seed=0,
                  cache_dir=tmp_path / "cache", progress=False, perception_kwargs={"epochs": 3, "channels": 8})
    summary = plan_levels(level_file, **kwargs)
    assert (summary["solved"], summary["total"]) == (2, 4)
    assert summary["reasons"] == {"solved": 2, "exhausted": 1, "time limit": 1}
    p = summary["perception"]
    assert p["state_accuracy"] == 1.0 and p["cell_accuracy"] == 1.0  # walls, goals, boxes, player: all read right
    assert p["interactions"] == summary["interactions"] == 40 and "generated" in p["trained_on"]
    assert p["from_cache"] is False
    assert all(r["perception_correct"] and r["cells_wrong"] == 0 for r in _lines(out / "results.jsonl"))

    # the same command again resumes: nothing left to solve, and the perception is not needed
    again = plan_levels(level_file, **kwargs)
    assert again["resumed"] == 4 and (again["solved"], again["total"]) == (2, 4)
    assert len(_lines(out / "results.jsonl")) == 4
    # other settings start the results over
    other = plan_levels(level_file, **{**kwargs, "time_limit_s": 0.25})
    assert other["resumed"] == 0 and other["perception"]["from_cache"] is True
    assert len(_lines(out / "results.jsonl")) == 4


def test_plan_levels_resumes_after_an_interruption(level_file, tmp_path):
    out = tmp_path / "resume"
    plan_levels(level_file, time_limit_s=0.3, out=out, progress=False)
    lines = (out / "results.jsonl").read_text().splitlines()
    (out / "results.jsonl").write_text("\n".join(lines[:2]) + "\n" + lines[2][:15])  # cut mid-line
    summary = plan_levels(level_file, time_limit_s=0.3, out=out, progress=False)
    assert summary["resumed"] == 2 and (summary["solved"], summary["total"]) == (2, 4)
    assert [r["index"] for r in _lines(out / "results.jsonl")] == [0, 1, 2, 3]


def test_plan_levels_reads_boxoban_files(tmp_path):
    text = boxoban_path().read_text().split("\n\n")[:3]
    path = tmp_path / "boxoban.txt"
    path.write_text("\n\n".join(text) + "\n")
    summary = plan_levels(path, time_limit_s=5.0, progress=False)
    assert (summary["solved"], summary["total"]) == (3, 3)
    assert [lv.name for lv in load_levels(path)] == ["0", "1", "2"]
    assert summary["results"] is None  # no out: nothing written


def test_plan_levels_bad_arguments(level_file, tmp_path):
    with pytest.raises(ValueError, match="env_id"):
        plan_levels(level_file, env_id="hybrid/LightsOut-v0", progress=False)
    with pytest.raises(ValueError, match="level_file"):
        plan_levels(tmp_path / "missing.txt", progress=False)
    bad = tmp_path / "bad.txt"
    bad.write_text("#####\n#@$X#\n#####\n")
    with pytest.raises(ValueError, match="level_file"):
        plan_levels(bad, progress=False)
    with pytest.raises(ValueError, match="time_limit_s"):
        plan_levels(level_file, time_limit_s=0, progress=False)
    with pytest.raises(ValueError, match="perception_frames"):
        plan_levels(level_file, from_pixels=True, perception_frames=0, progress=False)
    with pytest.raises(ValueError, match="records"):
        summarise_records([], [])
