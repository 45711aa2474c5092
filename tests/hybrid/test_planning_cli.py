"""``hybrid plan`` and ``hybrid reproduce mcts`` on the command line; the planning tasks in ``hybrid list``."""

import json

import pytest
from hybrid.tasks.envs.sokoban import format_levels, load_boxoban

from hybrid import cli
from hybrid.cli import build_parser, main


@pytest.fixture
def two_levels(tmp_path):
    path = tmp_path / "two.txt"
    path.write_text(format_levels(load_boxoban()[:2]))
    return path


def test_parser_reads_plan_and_reproduce_mcts():
    args = build_parser().parse_args(["plan", "--levels", "x.txt", "--from-pixels", "--time-limit-s", "2",
                                      "--perception-frames", "50", "--cache-dir", "c", "--seed", "3"])
    assert (args.command, args.env, args.levels, args.from_pixels) == ("plan", "hybrid/Sokoban-v0", "x.txt", True)
    assert (args.time_limit_s, args.perception_frames, args.cache_dir, args.seed, args.out) == (2.0, 50, "c", 3, None)
    args = build_parser().parse_args(["reproduce", "mcts", "--quick", "--no-deep", "--out", "o", "--seed", "1"])
    assert (args.paper, args.quick, args.no_deep) == ("mcts", True, True)
    assert (args.out, args.seed, args.device) == ("o", 1, "cpu")
    assert (args.deep_multipliers, args.deep_algos, args.no_alphazero) == (None, None, False)
    args = build_parser().parse_args(["reproduce", "mcts", "--deep-multipliers", "10,100,1000", "--deep-algos", "ppo",
                                      "--no-alphazero"])
    assert (args.deep_multipliers, args.deep_algos, args.no_alphazero) == ([10, 100, 1000], "ppo", True)


@pytest.mark.parametrize("value", ["0", "ten", ""])
def test_bad_deep_multipliers_are_one_line_errors(value, capsys):
    assert main(["reproduce", "mcts", "--deep-multipliers", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hybrid: error:") and "--deep-multipliers" in err and "Traceback" not in err


def test_plan_solves_a_level_file_and_writes_the_summary(two_levels, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["plan", "--levels", str(two_levels), "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["solved"], summary["total"]) == (2, 2)
    assert summary["median_seconds"] >= 0
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["solved"] for line in lines)
    assert "solved 2/2 levels" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["plan", "--levels", "/no/such/levels.txt"], "no such file"),
        (["plan", "--env", "hybrid/LightsOut-v0", "--levels", "LEVELS"], "not supported"),
        (["plan", "--levels", "LEVELS", "--time-limit-s", "0"], "--time-limit-s"),
        (["plan"], "--levels"),
        (["reproduce", "mcts", "--bogus"], "unrecognized"),
    ],
)
def test_plan_errors_are_one_line_and_exit_2(argv, message, two_levels, capsys):
    argv = [str(two_levels) if a == "LEVELS" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("hybrid: error:") and message in err and err.count("\n") == 1


def test_reproduce_mcts_passes_its_options(monkeypatch, tmp_path, capsys):
    seen = {}

    def fake(out, **kwargs):
        seen.update(out=out, **kwargs)
        return {"targets": {"sokoban": {"target": ">= 99% solved", "value": 1.0, "met": True}}}

    import hybrid.planning.reproduce as reproduce

    monkeypatch.setattr(reproduce, "reproduce_mcts", fake)
    assert main(["reproduce", "mcts", "--quick", "--no-deep", "--out", str(tmp_path), "--no-progress"]) == 0
    assert seen["quick"] is True and seen["deep"] is False and seen["progress"] is False
    assert seen["device"] == "cpu" and str(seen["out"]) == str(tmp_path)
    assert "sokoban" in capsys.readouterr().out


def test_list_shows_the_planning_tasks(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for task in ("8-puzzle:", "lights-out:", "sokoban:"):
        assert task in out
    assert "perceive-plan" in out and "ppo" in out and "dqn" in out


def test_other_reproduce_commands_still_parse():
    assert build_parser().parse_args(["reproduce", "ns-vqa", "--quick"]).paper == "ns-vqa"
    assert build_parser().parse_args(["reproduce", "ai-feynman", "--ids", "I.6.2a"]).paper == "ai-feynman"
    assert cli.main(["reproduce"]) == 2
