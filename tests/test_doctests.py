"""Every ``>>>`` example in the four packages' docstrings runs and prints what it says.

The modules are found by scanning the source folders for ``>>>`` (so a new example is
picked up without registering it) and imported by their installed names
(``tasks/x.py`` -> ``hybrid.tasks.x``). A module that needs an optional extra that is not
installed (ray, stable-baselines3, OpenSpiel, bpy) is skipped, not failed.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"hybrid": "hybrid", "tasks": "hybrid.tasks", "neural": "hybrid.neural", "symbolic": "hybrid.symbolic"}
OPTIONAL = ("ray", "stable_baselines3", "open_spiel", "pyspiel", "bpy", "gplearn", "pyoperon")


def _modules_with_examples() -> list[str]:
    names = []
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            if ">>>" not in path.read_text(encoding="utf-8"):
                continue
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join([package, *parts]))
    return names


MODULES = _modules_with_examples()


def test_the_scan_finds_the_examples():
    assert "hybrid.tasks.feynman.table" in MODULES
    assert "hybrid.tasks.envs.sokoban.level" in MODULES
    assert len(MODULES) >= 5


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, one_torch_thread):
    try:
        module = importlib.import_module(name)
    except ImportError as err:
        if err.name and err.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{name} needs the optional {err.name}")
        raise
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} has '>>>' in its source but no doctest was found"
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name} (see the output above)"
