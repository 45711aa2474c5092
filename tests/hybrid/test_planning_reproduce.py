"""``hybrid reproduce mcts`` end to end on tiny settings: every stage, the summary, the report, resuming."""

import json

import pytest
import torch

from hybrid.planning import reproduce
from hybrid.planning.reproduce import deep_budgets, interactions_to_match, reproduce_mcts

TINY = {
    "speed": {"games": ["tic_tac_toe", "connect_four"], "num_simulations": 20, "repeats": 1},
    "puzzles": {
        "8-puzzle": {"n_frames": 20, "instances": 2, "test_frames": 5},
        "lights-out": {"n_frames": 10, "instances": 3, "test_frames": 5},
        "sokoban": {"n_frames": 10, "n_levels": 2},
    },
    "perception_kwargs": {"epochs": 1},
    "deep": {"multipliers": [1, 2], "max_budget": 32, "eval_episodes": 1},
    "alphazero": {
        "max_seconds": 2,
        "match_games": 2,
        "match_simulations": 4,
        "config": {"num_simulations": 4, "games_per_iteration": 2, "parallel_games": 2, "batch_size": 16,
                   "train_steps": 1, "channels": 4, "blocks": 1, "eval_every": 0},
    },
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("mcts")
    lines: list[str] = []
    summary = reproduce_mcts(out, settings=TINY, progress=False, log=lines.append)
    return out, summary, lines


def test_summary_holds_every_stage(tiny_run):
    out, summary, _ = tiny_run
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["solved_rate"] == summary["solved_rate"]
    for game in ("tic_tac_toe", "connect_four"):
        assert summary["sims_per_s"][game] > 0
        assert (summary["openspiel_sims_per_s"][game] or 0) >= 0  # None only without pyspiel
    assert set(summary["solved_rate"]) == {"8-puzzle", "lights-out", "sokoban"}
    assert all(0.0 <= r <= 1.0 for r in summary["solved_rate"].values())
    assert summary["interactions"] == {"8-puzzle": 20, "lights-out": 10, "sokoban": 10}
    for puzzle in ("sokoban", "lights-out"):
        hybrid_n = summary["interactions"][puzzle]
        for algo in ("ppo", "dqn"):
            d = summary["deep"][puzzle][algo]
            assert set(d["success"]) == {str(hybrid_n), str(2 * hybrid_n)}  # 1x and 2x the hybrid's frames
            assert all(0.0 <= s <= 1.0 for s in d["success"].values())
            assert d["hybrid_interactions"] == hybrid_n
            assert "match_note" in d
    az = summary["alphazero"]
    assert az["games"] == 2 and az["wins"] + az["draws"] + az["losses"] == 2
    assert (az["rules"], az["data"]) == ("rules given", "self-play games")
    assert 0.0 <= az["win_rate"] <= 1.0
    assert {"8-puzzle", "lights-out", "sokoban", "alphazero"} <= set(summary["targets"])


def test_every_result_is_labelled(tiny_run):
    out, summary, _ = tiny_run
    on_disk = json.loads((out / "summary.json").read_text())
    for name in ("8-puzzle", "lights-out", "sokoban"):
        assert (on_disk["puzzles"][name]["rules"], on_disk["puzzles"][name]["data"]) == ("rules given",
                                                                                        "labelled frames")
        stage = json.loads((out / "stages" / f"puzzle_{name}.json").read_text())
        assert "labelled frames" in json.dumps(stage)  # the benchmark itself labels its result
    for puzzle in ("sokoban", "lights-out"):
        for algo in ("ppo", "dqn"):
            d = on_disk["deep"][puzzle][algo]
            assert (d["rules"], d["data"]) == ("none (model-free)", "environment steps")
    assert (on_disk["speed"]["rules"], on_disk["speed"]["data"]) == ("rules given", "none")
    assert (on_disk["alphazero"]["rules"], on_disk["alphazero"]["data"]) == ("rules given", "self-play games")
    table = (out / "mcts.md").read_text()
    assert ("| puzzle | rules | data | instances | solved | perception (states read right) | labelled frames "
            "| median s |") in table
    assert "| puzzle | algorithm | rules | data | env steps | x hybrid's interactions | success | train s |" in table
    assert "| sokoban | rules given | labelled frames | 2 |" in table
    assert "| sokoban | hybrid | rules given | labelled frames | 10 labelled frames | 1 |" in table
    assert "| sokoban | ppo | none (model-free) | environment steps | 10 |" in table
    assert "Rules: rules given (PUCT search over Connect Four's rules); data: self-play games." in table


def test_a_summary_stored_before_the_labels_is_labelled(tiny_run, tmp_path):
    from hybrid.planning.reproduce import puzzle_labels
    from hybrid.planning.reproduce_report import write_table

    _, summary, _ = tiny_run
    old = json.loads(json.dumps(summary))
    for r in [old["speed"], old["alphazero"], *old["puzzles"].values(),
              *(d for per in old["deep"].values() for d in per.values())]:
        r.pop("rules"), r.pop("data")
    assert str(puzzle_labels(old["puzzles"]["sokoban"])) == "rules given; labelled frames"
    assert str(puzzle_labels({"interactions": 0})) == "rules given; none"
    write_table(tmp_path / "mcts.md", old)
    table = (tmp_path / "mcts.md").read_text()
    assert "| sokoban | rules given | labelled frames | 2 |" in table
    assert "| sokoban | dqn | none (model-free) | environment steps |" in table


def test_report_files_are_written(tiny_run):
    out, summary, lines = tiny_run
    table = (out / "mcts.md").read_text()
    assert "## Search speed" in table and "| sokoban |" in table and "## AlphaZero" in table
    for name in ("success_vs_interactions.png", "sims_per_s.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stage_names = {p.stem for p in (out / "stages").glob("*.json")}
    assert {"speed", "puzzle_8-puzzle", "puzzle_lights-out", "puzzle_sokoban", "alphazero"} <= stage_names
    assert sum(n.startswith("deep_") for n in stage_names) == 8  # 2 puzzles x 2 algorithms x 2 budgets
    assert any(line.startswith("speed tic_tac_toe") for line in lines)


def test_rerun_reads_the_stages_back(tiny_run, monkeypatch):
    out, first, _ = tiny_run
    assert len(first["stages_computed"]) == 13
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "stages").glob("*.json")}

    def boom(*args, **kwargs):
        raise AssertionError("a finished stage was recomputed")

    for fn in ("speed_stage", "puzzle_stage", "deep_stage", "alphazero_stage"):
        monkeypatch.setattr(reproduce, fn, boom)
    again = reproduce_mcts(out, settings=TINY, progress=False, log=lambda _: None)
    assert again["stages_computed"] == []
    assert again["solved_rate"] == first["solved_rate"]
    assert again["sims_per_s"] == first["sims_per_s"]
    assert {p.name: p.stat().st_mtime_ns for p in (out / "stages").glob("*.json")} == mtimes


def test_changed_settings_rerun_only_that_stage(tiny_run, monkeypatch):
    out, _, _ = tiny_run
    calls = []
    real = reproduce.speed_stage

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(reproduce, "speed_stage", counting)
    settings = {**TINY, "speed": {**TINY["speed"], "games": ["tic_tac_toe"]}}
    summary = reproduce_mcts(out, settings=settings, progress=False, log=lambda _: None, deep=False)
    assert summary["stages_computed"] == ["speed"] and len(calls) == 1
    assert list(summary["sims_per_s"]) == ["tic_tac_toe"]
    assert summary["deep"] == {}


def test_deep_budgets_are_multiples_of_the_hybrid_capped_and_distinct():
    assert deep_budgets(500, [10, 100], None) == [5000, 50000]
    assert deep_budgets(500, [1, 10], 3000) == [500, 3000]
    assert deep_budgets(500, [10, 100], 1000) == [1000]


def test_interactions_to_match_is_the_first_budget_reaching_the_hybrid():
    assert interactions_to_match({100: 0.1, 1000: 0.96, 10000: 0.99}, 0.95) == 1000
    assert interactions_to_match({100: 0.1, 1000: 0.5}, 0.95) is None


def test_more_deep_budgets_train_only_the_new_ones(tiny_run, monkeypatch):
    out, _, _ = tiny_run
    trained = []
    real = reproduce.deep_stage

    def counting(puzzle, algo, budget, *args, **kwargs):
        trained.append((puzzle, algo, budget))
        return real(puzzle, algo, budget, *args, **kwargs)

    monkeypatch.setattr(reproduce, "deep_stage", counting)
    monkeypatch.setattr(reproduce, "alphazero_stage", lambda *a, **k: pytest.fail("AlphaZero was asked for"))
    summary = reproduce_mcts(out, settings=TINY, progress=False, log=lambda _: None, deep_multipliers=[1, 2, 3],
                             deep_algos=["ppo"], alphazero=False)
    assert sorted(trained) == [("lights-out", "ppo", 30), ("sokoban", "ppo", 30)]  # 3 x 10 frames, the rest read back
    assert set(summary["deep"]["sokoban"]) == {"ppo"}
    assert set(summary["deep"]["sokoban"]["ppo"]["success"]) == {"10", "20", "30"}
    assert summary["alphazero"] is None and "alphazero" not in summary["targets"]


@pytest.mark.parametrize("kwargs", [{"deep_multipliers": []}, {"deep_multipliers": [0]}, {"deep_algos": ["a2c"]},
                                    {"deep_algos": []}])
def test_bad_deep_options_are_refused(tmp_path, kwargs):
    with pytest.raises(ValueError, match="deep_"):
        reproduce_mcts(tmp_path, settings=TINY, progress=False, log=lambda _: None, **kwargs)
