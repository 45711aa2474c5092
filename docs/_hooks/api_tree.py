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


def on_config(config):
    """Build the link tree next to mkdocs.yml; return the config unchanged."""
    root = Path(config.config_file_path).resolve().parent
    package = root / "build" / "api-tree" / "hybrid"
    if package.parent.exists():
        shutil.rmtree(package.parent)
    package.mkdir(parents=True)
    for entry in (root / "hybrid").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for folder in MAPPED:
        (package / folder).symlink_to(root / folder)
    return config
