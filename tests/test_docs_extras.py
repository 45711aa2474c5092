"""docs/getting-started.md's table of extras names exactly pyproject.toml's optional dependencies,
and each row lists the distributions that extra installs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def _extras() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {
        name: [re.split(r"[<>=!;\[ ]", req, maxsplit=1)[0].lower() for req in reqs]
        for name, reqs in project["optional-dependencies"].items()
    }


def _table() -> dict[str, str]:
    text = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    section = text.split("## The extras", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(2).lower() for m in re.finditer(r"^\| `([\w-]+)` \| ([^|]*) \|", section, flags=re.M)}


def test_every_extra_is_in_the_table_and_nothing_else():
    assert set(_table()) == set(_extras())


@pytest.mark.parametrize("extra", sorted(_extras()))
def test_each_row_names_what_its_extra_installs(extra):
    row = _table()[extra].replace("-", "").replace("_", "")
    for dist in _extras()[extra]:
        name = dist.replace("-", "").replace("_", "")
        if name.startswith("mkdocs"):  # mkdocs-material, mkdocstrings: one "MkDocs (...)" entry
            name = "mkdocs"
        assert name in row, f"the {extra!r} row does not mention {dist}"
