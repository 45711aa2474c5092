"""MkDocs hook: a tree of links in which the four folders sit where their import names say.

The repository keeps ``hybrid/ tasks/ neural/ symbolic/`` side by side, and setup.py
installs the last three as ``hybrid.tasks``, ``hybrid.neural`` and ``hybrid.symbolic``.
mkdocstrings reads sources statically and would look for ``hybrid/tasks/``; this hook builds
``build/api-tree/hybrid/`` (links to every entry of ``hybrid/`` plus the three folders)
before any page is rendered, and mkdocs.yml points mkdocstrings there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

MAPPED = ("tasks", "neural", "symbolic")


def build_tree(root: Path) -> None:
    """(Re)build ``root/build/api-tree/hybrid/``: links to ``hybrid/``'s entries and the three folders."""
    package = root / "build" / "api-tree" / "hybrid"
    if package.parent.exists():
        shutil.rmtree(package.parent)
    package.mkdir(parents=True)
    for entry in (root / "hybrid").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for folder in MAPPED:
        (package / folder).symlink_to(root / folder)


# Built when MkDocs loads this hook, before any plugin's on_config: mkdocstrings resolves its
# handler's paths in its own on_config, and on a fresh clone the tree did not exist yet then.
build_tree(Path(__file__).resolve().parents[2])


def on_config(config):
    """Rebuild the tree next to mkdocs.yml (a moved checkout); return the config unchanged."""
    build_tree(Path(config.config_file_path).resolve().parent)
    return config
