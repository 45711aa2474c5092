"""The results store: one SQLite file, one row per finished run, keyed by config hash.

Each run is committed the moment it finishes, so a sweep stopped by Ctrl-C or SIGKILL
keeps every run it completed, and rerunning the same sweep skips them. A run that
raised is stored with status ``failed`` and its error; rerunning retries it.

A file that is not SQLite, or is SQLite but not a Hybrid store, is refused with
:class:`StoreError` and left untouched.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
_MAGIC = "hybrid-toolkit results store"


class StoreError(RuntimeError):
    """The file is not a usable Hybrid results store."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that identifies a run; its hash is the store key.

    Attributes:
        task: registered task name.
        task_params: the task's configuration.
        method: registered method name.
        method_params: the method's hyper-parameters.
        family: the method's family.
        n_train: training-set size.
        seed: the seed of data and method.
        device: the resolved device (``cpu``, ``cuda``).
    """

    task: str
    task_params: dict[str, Any]
    method: str
    method_params: dict[str, Any]
    family: str
    n_train: int
    seed: int
    device: str

    def key(self) -> str:
        """SHA-256 of the canonical JSON of the config."""
        blob = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class RunRecord:
    """A finished run: its config, status, metrics and measured cost.

    Attributes:
        config: the run's :class:`RunConfig`.
        status: ``"ok"`` or ``"failed"``.
        metrics: the task's metrics (floats; NaN where undefined).
        train: the training phase's measures (:class:`~hybrid.evaluate.meter.PhaseMeasure` as a dict).
        inference: the inference phase's measures.
        details: task-specific detail (per-problem results, ...).
        error: the error text of a failed run.
        host: where it ran.
        finished_at: UNIX time it finished.
    """

    config: RunConfig
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    inference: dict[str, Any] = field(default_factory=dict)
    details: Any = None
    error: str = ""
    host: str = ""
    finished_at: float = 0.0

    @property
    def key(self) -> str:
        """The store key (hash of the config)."""
        return self.config.key()

    def flat(self) -> dict[str, Any]:
        """One flat dict (config, metrics, ``train_*`` and ``inference_*`` measures) for tables."""
        row: dict[str, Any] = {
            "key": self.key,
            "task": self.config.task,
            "method": self.config.method,
            "family": self.config.family,
            "n_train": self.config.n_train,
            "seed": self.config.seed,
            "device": self.config.device,
            "status": self.status,
            "error": self.error,
        }
        row.update({f"metric_{k}": v for k, v in self.metrics.items()})
        for phase, measures in (("train", self.train), ("inference", self.inference)):
            for k, v in measures.items():
                if k == "symbolic_ops":
                    row[f"{phase}_symbolic_ops"] = sum(v.values()) if v else 0
                else:
                    row[f"{phase}_{k}"] = v
        return row


def _json_dumps(obj: Any) -> str:
    return json.dumps(obj, default=_json_default, allow_nan=True)


def _json_default(obj: Any):
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


class ResultStore:
    """A SQLite file of run records.

    Args:
        path: the file; created (with its folder) if missing.

    Raises:
        StoreError: if the file exists but is not SQLite, or is another program's database.
    """

    def __init__(self, path: str | PathLike[str]):
        self.path = Path(path)
        self._check_existing()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        with self._conn:
            self._conn.execute("CREATE TABLE IF NOT EXISTS hybrid_meta (key TEXT PRIMARY KEY, value TEXT)")
            self._conn.execute(
                "INSERT OR IGNORE INTO hybrid_meta VALUES ('magic', ?), ('schema', ?)",
                (_MAGIC, str(SCHEMA_VERSION)),
            )
            self._conn.execute(
                """CREATE TABLE IF NOT EXISTS runs (
                    key TEXT PRIMARY KEY, task TEXT, method TEXT, family TEXT,
                    n_train INTEGER, seed INTEGER, device TEXT, status TEXT,
                    config TEXT, metrics TEXT, train TEXT, inference TEXT,
                    details TEXT, error TEXT, host TEXT, finished_at REAL)"""
            )

    def _check_existing(self) -> None:
        if not self.path.exists():
            return
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a results store")
        if self.path.stat().st_size == 0:
            raise StoreError(f"{self.path} is an empty file, not a results store")
        with open(self.path, "rb") as fh:
            header = fh.read(16)
        if header != b"SQLite format 3\x00":
            raise StoreError(f"{self.path} is not a SQLite file (corrupt or foreign); left untouched")
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if "hybrid_meta" not in tables:
                    raise StoreError(
                        f"{self.path} is a SQLite database of another program "
                        f"(tables: {', '.join(sorted(tables)) or 'none'}); left untouched"
                    )
                meta = dict(conn.execute("SELECT key, value FROM hybrid_meta"))
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is a corrupt SQLite file ({exc}); left untouched") from None
        if meta.get("magic") != _MAGIC:
            raise StoreError(f"{self.path} is not a Hybrid results store; left untouched")
        if int(meta.get("schema", "0")) > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer Hybrid (schema {meta['schema']}); upgrade to read it"
            )

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def put(self, record: RunRecord) -> None:
        """Write one record and commit at once (replacing an earlier failed try)."""
        c = record.config
        with self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.key, c.task, c.method, c.family, c.n_train, c.seed, c.device,
                    record.status, _json_dumps(asdict(c)), _json_dumps(record.metrics),
                    _json_dumps(record.train), _json_dumps(record.inference),
                    _json_dumps(record.details), record.error, record.host, record.finished_at,
                ),
            )

    def done_keys(self) -> set[str]:
        """Keys of runs that finished ``ok`` (failed ones are retried)."""
        return {r[0] for r in self._conn.execute("SELECT key FROM runs WHERE status='ok'")}

    def records(self, *, task: str | None = None, status: str | None = None) -> list[RunRecord]:
        """All records, optionally filtered by task and status, ordered by task, method, n, seed."""
        query = "SELECT config, status, metrics, train, inference, details, error, host, finished_at FROM runs"
        where, args = [], []
        if task is not None:
            where.append("task = ?")
            args.append(task)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY task, family, method, n_train, seed"
        out = []
        for row in self._conn.execute(query, args):
            cfg = RunConfig(**json.loads(row[0]))
            out.append(
                RunRecord(
                    config=cfg,
                    status=row[1],
                    metrics={k: _nan(v) for k, v in json.loads(row[2]).items()},
                    train=json.loads(row[3]),
                    inference=json.loads(row[4]),
                    details=json.loads(row[5]),
                    error=row[6] or "",
                    host=row[7] or "",
                    finished_at=row[8] or 0.0,
                )
            )
        return out

    def count(self) -> int:
        """Number of stored records (ok and failed)."""
        return int(self._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def export_csv(self, path: str | PathLike[str]) -> Path:
        """Write every record as one flat CSV row; returns the path."""
        rows = [r.flat() for r in self.records()]
        path = Path(path)
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        return path

    def export_json(self, path: str | PathLike[str]) -> Path:
        """Write every record (nested, with details) as a JSON list; returns the path."""
        path = Path(path)
        data = [asdict(r) | {"key": r.key} for r in self.records()]
        path.write_text(json.dumps(data, indent=1, default=_json_default, allow_nan=True))
        return path


def _nan(v: Any) -> Any:
    return float("nan") if v is None else v


def records_to_rows(records: Iterable[RunRecord]) -> list[dict[str, Any]]:
    """Flatten records for a notebook (``pandas.DataFrame(records_to_rows(recs))``)."""
    return [r.flat() for r in records]

