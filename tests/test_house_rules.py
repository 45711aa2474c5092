"""The house rules of DESIGN.md as tests: import arrows, import names, torch-free layers.

- Arrows point one way: ``hybrid -> neural, symbolic, tasks``; ``neural -> tasks``;
  ``symbolic -> tasks``. ``neural`` and ``symbolic`` never import each other and
  ``tasks`` imports nothing above it.
- The four folders install as ``hybrid``, ``hybrid.tasks``, ``hybrid.neural`` and
  ``hybrid.symbolic``; nothing imports them under a bare top-level name, so a user's own
  ``tasks.py`` cannot shadow them.
- ``hybrid.symbolic`` and ``hybrid.tasks`` import, module by module, with torch blocked.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("tasks", "neural", "symbolic")
# What each folder may import from the project (by installed name).
ALLOWED = {
    "tasks": {"hybrid.tasks"},
    "neural": {"hybrid.tasks", "hybrid.neural"},
    "symbolic": {"hybrid.tasks", "hybrid.symbolic"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Absolute module names imported by ``path`` (every ``import`` and ``from``), with lines."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.lineno, node.module))
    return names


def _layer_of(name: str) -> str | None:
    """The project layer an imported module name belongs to, or None for third-party."""
    parts = name.split(".")
    if parts[0] != "hybrid":
        return None
    if len(parts) > 1 and parts[1] in LAYERS:
        return f"hybrid.{parts[1]}"
    return "hybrid"


def _sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", LAYERS)
def test_imports_point_one_way(folder):
    wrong = []
    for path in _sources(folder):
        for line, name in _imports(path):
            layer = _layer_of(name)
            if layer is not None and layer not in ALLOWED[folder]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_a_bare_top_level_name():
    bare = re.compile(rf"^({'|'.join(LAYERS)})(\.|$)")
    wrong = []
    for folder in (*LAYERS, "hybrid", "tests"):
        for path in _sources(folder):
            wrong += [f"{path.relative_to(ROOT)}:{line} imports {name}"
                      for line, name in _imports(path) if bare.match(name)]
    assert not wrong, "\n".join(wrong)


def test_the_scan_sees_a_wrong_arrow(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy\nfrom hybrid.symbolic.regression import fit_power_law\nimport hybrid.evaluate\n")
    layers = [_layer_of(name) for _, name in _imports(bad)]
    assert layers == [None, "hybrid.symbolic", "hybrid"]


def _readme_python_example() -> tuple[str, str]:
    """The README's first Python block and the output its last comment promises."""
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    promised = [line.lstrip("# ").strip() for line in code.splitlines() if line.startswith("# ")][-1]
    return code, promised


def test_readme_example_runs_beside_a_users_tasks_py(tmp_path):
    for name in LAYERS:
        (tmp_path / f"{name}.py").write_text("raise RuntimeError('the user module was imported')\n")
    code, promised = _readme_python_example()
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == promised


@pytest.mark.parametrize("layer", ["hybrid.symbolic", "hybrid.tasks"])
def test_layer_imports_module_by_module_without_torch(layer):
    code = textwrap.dedent(
        f"""
        import importlib, pkgutil, sys
        sys.modules["torch"] = None
        package = importlib.import_module("{layer}")
        names = [m.name for m in pkgutil.walk_packages(package.__path__, "{layer}.")]
        for name in names:
            importlib.import_module(name)
        assert sys.modules["torch"] is None
        print(len(names))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) > 10
