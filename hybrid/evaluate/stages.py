"""Resumable stages of a long reproduce run: each stage's result is a JSON file in one folder.

Also the JSON helpers of every file the project writes for users (:func:`dumps_strict`).

``hybrid reproduce ...`` scripts run for hours; a run cut short (Ctrl-C, a lost machine)
resumes by calling the same stages again: a stage whose file is there is read back, not
recomputed.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def jsonable(obj: Any) -> Any:
    """``json.dumps`` fallback: numpy scalars and arrays (``tolist``), paths; anything else raises TypeError."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON-able: {type(obj).__name__}")


def strict_json(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, inf, numpy's too) replaced by ``None``, recursively.

    What ``json`` calls ``NaN`` is not JSON: strict parsers (JavaScript's, ``jq``, Go's)
    refuse it. Dict keys, strings and finite numbers pass unchanged; numpy scalars and
    arrays become Python values first.
    """
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return strict_json(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps_strict(obj: Any, **kwargs: Any) -> str:
    """Valid JSON text for ``obj``: non-finite numbers as ``null`` (see :func:`strict_json`), paths as strings."""
    kwargs.setdefault("default", jsonable)
    return json.dumps(strict_json(obj), allow_nan=False, **kwargs)


class StageStore:
    """A folder of finished stages: ``run(name, fn, key)`` calls ``fn`` once, then reads its JSON back.

    Args:
        folder: where ``<name>.json`` files go (created).

    Without a ``key`` the file holds the result itself. With a ``key`` (JSON-able: the
    settings the stage depends on) the file holds ``{"_key": key, "result": result}`` and a
    stored stage whose key differs (the same folder reused with other settings) is run
    again. Files are written whole (a temporary file, then a rename), and a file cut by an
    interruption is recomputed.

    Attributes:
        computed: names of the stages computed (not read back) by this object.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.computed: list[str] = []
        self.folder.mkdir(parents=True, exist_ok=True)

    def run(self, name: str, fn: Callable[[], Any], key: Any = None) -> Any:
        """The stored result of stage ``name``, or ``fn()`` stored now; either way as read from JSON."""
        path = self.folder / f"{name}.json"
        stamp = None if key is None else json.loads(json.dumps(key, default=jsonable))
        stored = self._read(path)
        if stored is not None:
            if stamp is None:
                return stored
            if isinstance(stored, dict) and stored.get("_key") == stamp and "result" in stored:
                return stored["result"]
        result = fn()
        content = result if stamp is None else {"_key": stamp, "result": result}
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(content, indent=2, default=jsonable))
        os.replace(tmp, path)
        self.computed.append(name)
        content = json.loads(path.read_text())
        return content if stamp is None else content["result"]

    @staticmethod
    def _read(path: Path) -> Any:
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            return None
