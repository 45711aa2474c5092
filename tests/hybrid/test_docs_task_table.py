"""docs/evaluator.md's table of registered tasks says what the registry holds: every built-in
task once, each with exactly its methods under their families, and the quick set."""

from __future__ import annotations

import re
from pathlib import Path

from hybrid.evaluate import registry

PAGE = Path(__file__).resolve().parents[2] / "docs" / "evaluator.md"
FAMILIES = ("hybrid", "deep", "peer", "compressed-deep")


def _names(cell: str) -> list[str]:
    """The backticked names of a cell, its parenthesised notes left out."""
    return re.findall(r"`([\w-]+)`", re.sub(r"\([^)]*\)", "", cell))


def _rows() -> list[tuple[list[str], dict[str, str], str]]:
    """(tasks, {method: family}, quick column) for each row of the table."""
    text = PAGE.read_text(encoding="utf-8")
    table = text.split("The tasks registered today", 1)[1].split("\n\n", 2)[1]
    header, _, *lines = table.splitlines()
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    rows = []
    for line in lines:
        cells = dict(zip(columns, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        methods = {name: family for family in FAMILIES[:3] for name in _names(cells[family])}
        compressed = _names(cells["compressed-deep"])
        suffixes = [n for n in compressed if n.startswith("-")]
        bases = [n for n in compressed if not n.startswith("-")]
        methods.update({base + suffix: "compressed-deep" for base in bases for suffix in suffixes})
        rows.append((_names(cells["tasks"]), methods, cells["in `--quick`"]))
    return rows


def _is_builtin(factory) -> bool:
    return getattr(factory, "__module__", "").startswith("hybrid.")


def test_task_table_matches_the_registry():
    registry.load_plugins()
    # the built-in tasks (this folder's conftest also registers a toy plugin's)
    builtin = {name: entry for name, entry in registry.tasks().items() if _is_builtin(entry.factory)}
    rows = _rows()
    listed = [task for tasks, _, _ in rows for task in tasks]
    assert sorted(listed) == sorted(builtin), "tasks in the table differ from the registered ones"
    for tasks, methods, quick in rows:
        for task in tasks:
            registered = {
                name: entry.family
                for name, entry in registry.methods_for(task).items()
                if _is_builtin(getattr(entry.factory, "factory", entry.factory))
            }
            assert methods == registered, f"{task}: the table says {methods}, the registry {registered}"
            in_quick = f"`{task}`" in quick or (quick != "no" and len(tasks) == 1)
            assert in_quick == builtin[task].in_quick, f"{task}: the quick column is wrong"
