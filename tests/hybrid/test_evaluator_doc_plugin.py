"""The plugin example of docs/evaluator.md works as the page says: saved as the file the page
names, loaded through ``HYBRID_PLUGINS``, listed by ``hybrid list`` and run by ``hybrid compare``.

The test reads the page itself (the code block that registers a task, the file name, the
task name of the ``hybrid compare`` line), so it checks whatever the page says today.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "evaluator.md"


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def _plugin() -> tuple[str, str, str]:
    """(module name, plugin source, task name) as the page gives them."""
    text = PAGE.read_text(encoding="utf-8")
    candidates = []
    for block in _blocks(text, "python"):
        if "register_task(" not in block or "register_method(" not in block:
            continue
        try:
            tree = ast.parse(block)
        except SyntaxError:  # an excerpt with "..." in it, not a whole file
            continue
        if any(isinstance(node, ast.ClassDef) for node in tree.body):
            candidates.append(block)
    assert len(candidates) == 1, f"expected one complete plugin example in {PAGE.name}, found {len(candidates)}"
    saved = re.search(r"Save it as `([A-Za-z_]\w*)\.py`", text)
    assert saved, f"{PAGE.name} no longer says which file to save the plugin as"
    run = next((b for b in _blocks(text, "bash") if "HYBRID_PLUGINS=" in b and "hybrid compare" in b), None)
    assert run, f"{PAGE.name} no longer shows how to run the plugin"
    task = re.search(r"hybrid compare --task (\S+)", run)
    plugins = re.search(r"HYBRID_PLUGINS=(\S+)", run)
    assert task and plugins and plugins.group(1) == saved.group(1)
    return saved.group(1), candidates[0], task.group(1)


def _hybrid(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    code = "import sys; from hybrid.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


@pytest.mark.timeout(300)
def test_evaluator_page_plugin_lists_and_runs(tmp_path):
    module, source, task = _plugin()
    (tmp_path / f"{module}.py").write_text(source, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH", "")])),
        "HYBRID_PLUGINS": module,
        "OMP_NUM_THREADS": "1",
    }
    listed = _hybrid(["list"], tmp_path, env)
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"^{re.escape(task)}:", listed.stdout, flags=re.M), listed.stdout
    out = tmp_path / "toy-results"
    args = ["compare", "--task", task, "--sizes", "4,16", "--seeds", "1", "--jobs", "1"]
    ran = _hybrid([*args, "--no-energy", "--no-progress", "--out", str(out)], tmp_path, env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs_ok"] >= 2 and summary["runs_failed"] == 0
    assert (out / "report.md").is_file() and (out / "results.csv").is_file()
