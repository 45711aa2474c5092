import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def toy_plugin(monkeypatch):
    """Make the toy plugin visible to this process and to every worker it starts."""
    monkeypatch.setenv("HYBRID_PLUGINS", "tests.hybrid.toy_plugin")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    import tests.hybrid.toy_plugin  # noqa: F401  (registers in this process)

    yield


def hybrid_cmd() -> list[str]:
    return [sys.executable, "-m", "hybrid.cli"]
