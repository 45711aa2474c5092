"""The results store: one SQLite file, one row per finished run, keyed by config hash.

Each run is committed the moment it finishes, so a sweep stopped by Ctrl-C or SIGKILL
keeps every run it completed, and rerunning the same sweep skips them. A run that
raised is stored with status ``failed`` and its error; rerunning retries it.

The store never lies. A file that is not SQLite, is damaged, is another program's
database, or holds a row that was edited by hand raises :class:`StoreError` with the
message ``<path>: <what is wrong>``; a file refused when opened is left byte for byte
as it was, with nothing created beside it. How:

* Rollback journal (``DELETE``), not WAL. WAL lets readers run beside the writer, but
  there is one writer (the sweep's parent), writing once per finished run, so its
  short commits barely block a reader. WAL's cost is files beside the store: ``-wal``
  and ``-shm`` exist while any connection is open, even a read-only one, and stay
  after a SIGKILL, holding committed rows the main file lacks. In ``DELETE`` mode
  nothing is beside the file between commits, a reader creates nothing, and every
  commit is in the main file when :meth:`ResultStore.put` returns
  (``synchronous=FULL``). A SIGKILL in the middle of a commit leaves a hot
  ``-journal``: the next writer rolls that unfinished write back (it was never
  committed, nothing committed is lost); a read-only open refuses until then.
* An existing file is checked (header, ``PRAGMA integrity_check``, tables, columns,
  magic, schema) over a connection that cannot write before anything trusts it:
  ``mode=ro``, which creates nothing for a rollback-journal file, or ``immutable=1``
  for a WAL file (stores written before schema 2) with nothing beside it, as a
  read-only open of a WAL file creates ``-wal`` and ``-shm``. Side files that are
  already there are the store's own (a killed or running writer) and must be read,
  so the check then goes through ``mode=ro``: it reads the committed rows of a
  leftover ``-wal`` (SQLite may add the ``-shm`` it needs); a writer then moves them
  into the main file and leaves WAL mode, removing both.
* Every row is checked when read: exact column types, JSON of the right shape, a
  config with exactly :class:`RunConfig`'s fields, the key equal to
  :meth:`RunConfig.key` of that config, and (schema 2) a SHA-256 digest of the row's
  columns. The digest finds hand edits and damage, not a forger who recomputes it.
  A schema-1 store (no digest) is read with the same checks; opening one for
  writing migrates it (adds the digest column and fills it for the rows that pass).
  Every SQLite failure after opening is a :class:`StoreError` naming the file too.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from hybrid.evaluate.stages import dumps_strict, jsonable

SCHEMA_VERSION = 2
_MAGIC = "hybrid-toolkit results store"
_SQLITE_HEADER = b"SQLite format 3\x00"
_SIDE_FILES = ("-journal", "-wal", "-shm")

# (name, declared type, part of the primary key) as PRAGMA table_info reports them
_META_COLUMNS = (("key", "TEXT", 1), ("value", "TEXT", 0))
_CONTENT_COLUMNS = (
    ("key", "TEXT", 1), ("task", "TEXT", 0), ("method", "TEXT", 0), ("family", "TEXT", 0),
    ("n_train", "INTEGER", 0), ("seed", "INTEGER", 0), ("device", "TEXT", 0), ("status", "TEXT", 0),
    ("config", "TEXT", 0), ("metrics", "TEXT", 0), ("train", "TEXT", 0), ("inference", "TEXT", 0),
    ("details", "TEXT", 0), ("error", "TEXT", 0), ("host", "TEXT", 0), ("finished_at", "REAL", 0),
)
_RUN_COLUMNS = {1: _CONTENT_COLUMNS, 2: _CONTENT_COLUMNS + (("digest", "TEXT", 0),)}
_CONTENT_NAMES = tuple(name for name, _, _ in _CONTENT_COLUMNS)
_CONTENT = ", ".join(_CONTENT_NAMES)
_PYTHON_TYPES = {"TEXT": str, "INTEGER": int, "REAL": float}
_CONFIG_TYPES = {
    "task": str, "task_params": dict, "method": str, "method_params": dict,
    "family": str, "n_train": int, "seed": int, "device": str,
}
_STATUSES = ("ok", "failed")


class StoreError(RuntimeError):
    """The file is not a usable Hybrid results store; the message is ``<path>: <what is wrong>``."""


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
    """:func:`~hybrid.evaluate.stages.jsonable`, with ``str(obj)`` for anything it refuses (a record is never lost)."""
    try:
        return jsonable(obj)
    except TypeError:
        return str(obj)


class _RowError(Exception):
    """A row that fails the checks (internal; the store turns it into a StoreError)."""


class ResultStore:
    """A SQLite file of run records.

    Args:
        path: the file. For writing it is created (with its folder) if missing.
        readonly: open for reading only: the file must exist, and nothing is ever
            written to it or created beside it (``hybrid report``).

    Raises:
        StoreError: if the file is not SQLite, is damaged, is another program's
            database or was written by a newer Hybrid (the file is left untouched),
            or, with ``readonly``, does not exist. Rows are checked when read:
            :meth:`records` and :meth:`done_keys` raise ``StoreError`` for a row
            edited outside Hybrid.
    """

    def __init__(self, path: str | PathLike[str], *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self._schema = SCHEMA_VERSION
        self._conn = self._open_reader() if readonly else self._open_writer()

    # --- opening -------------------------------------------------------------------------------

    def _open_reader(self) -> sqlite3.Connection:
        header = self._check_file()
        if header is None:
            raise self._error("no results store here (the file does not exist)")
        return self._connect_checked(header)

    def _open_writer(self) -> sqlite3.Connection:
        header = self._check_file()
        if header is not None:
            self._roll_back_hot_journal()
            self._connect_checked(header).close()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._sqlite_errors("cannot open it for writing"):
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            self._prepare_for_writing(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_file(self) -> bytes | None:
        """The file's first 100 bytes (``None`` if it does not exist); raises if it cannot be SQLite."""
        if not self.path.exists():
            leftovers = [self._side(suffix).name for suffix in _SIDE_FILES if self._side(suffix).exists()]
            if leftovers:
                raise self._error(f"the file is missing but {', '.join(leftovers)} is beside it; "
                                  "restore the store or remove those files")
            return None
        if not self.path.is_file():
            raise self._error("not a regular file (a folder?), so not a results store")
        try:
            with open(self.path, "rb") as fh:
                header = fh.read(100)
        except OSError as exc:
            raise self._error(f"cannot read it ({exc.strerror})") from None
        if not header:
            raise self._error("an empty file, not a results store; left untouched")
        if not header.startswith(_SQLITE_HEADER):
            raise self._error("not a SQLite file (corrupt or foreign); left untouched")
        return header

    def _connect_checked(self, header: bytes) -> sqlite3.Connection:
        """A connection that cannot write, after the whole file passed the checks."""
        with self._sqlite_errors("damaged or unreadable SQLite file"):
            conn = sqlite3.connect(self._read_only_uri(header), uri=True, timeout=30)
        try:
            with self._sqlite_errors("damaged or unreadable SQLite file"):
                self._check_integrity(conn)
                self._schema = self._check_structure(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _read_only_uri(self, header: bytes) -> str:
        wal_file = len(header) >= 20 and 2 in header[18:20]  # the header's read/write versions: 2 means WAL
        writing = self._side("-wal").exists() or self._side("-journal").exists()
        # A read-only open of a WAL file creates -wal and -shm; immutable=1 creates nothing, and with
        # no -wal beside the file no connection is using it and no committed row is outside it.
        flag = "immutable=1" if wal_file and not writing else "mode=ro"
        return f"{self.path.absolute().as_uri()}?{flag}"

    def _roll_back_hot_journal(self) -> None:
        """Let SQLite undo the unfinished write of a killed writer (a hot ``-journal``), as any writer would.

        Without this the file is half-written and a read-only connection cannot read it.
        """
        if not self._side("-journal").exists():
            return
        with self._sqlite_errors("cannot roll back the interrupted write in its -journal"):
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            finally:
                conn.close()

    def _check_integrity(self, conn: sqlite3.Connection) -> None:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check(3)")]
        if problems != ["ok"]:
            raise self._error(f"damaged SQLite file (integrity check: {'; '.join(map(str, problems))}); "
                              "left untouched")

    def _check_structure(self, conn: sqlite3.Connection) -> int:
        """The schema version, after checking the tables are exactly a Hybrid store's."""
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "hybrid_meta" not in tables:
            raise self._error(f"a SQLite database of another program (tables: {', '.join(sorted(tables)) or 'none'}); "
                              "left untouched")
        if _columns(conn, "hybrid_meta") != _META_COLUMNS:
            raise self._error("its hybrid_meta table is not a Hybrid store's; left untouched")
        meta = dict(conn.execute("SELECT key, value FROM hybrid_meta").fetchall())
        if meta.get("magic") != _MAGIC:
            raise self._error("not a Hybrid results store (wrong magic); left untouched")
        schema = _schema_number(meta.get("schema"))
        if schema > SCHEMA_VERSION:
            raise self._error(f"written by a newer Hybrid (schema {schema}); upgrade to read it; left untouched")
        if schema < 1:
            raise self._error(f"unknown schema version {_short(meta.get('schema'))}; left untouched")
        if "runs" not in tables:
            raise self._error("a Hybrid store without its runs table; left untouched")
        if _columns(conn, "runs") != _RUN_COLUMNS[schema]:
            raise self._error(f"its runs table does not have a schema-{schema} store's columns; left untouched")
        if conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchone():
            raise self._error("it has triggers, which a Hybrid store never has; left untouched")
        return schema

    def _prepare_for_writing(self, conn: sqlite3.Connection) -> None:
        """Rollback-journal mode, durable commits, the tables of a new store, schema 1 migrated."""
        with self._sqlite_errors("cannot open it for writing"):
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            if mode != "delete":
                raise self._error(f"cannot leave journal mode {mode} (is another program using it?)")
            conn.execute("PRAGMA synchronous=FULL")
            with _transaction(conn):
                if conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0:
                    _create_tables(conn)
                elif self._check_structure(conn) < SCHEMA_VERSION:
                    _migrate(conn)
            self._schema = self._check_structure(conn)

    # --- helpers -------------------------------------------------------------------------------

    def _side(self, suffix: str) -> Path:
        return self.path.with_name(self.path.name + suffix)

    def _error(self, what: str) -> StoreError:
        return StoreError(f"{self.path}: {' '.join(what.split())}")

    @contextmanager
    def _sqlite_errors(self, what: str) -> Iterator[None]:
        """Turn a SQLite failure inside the block into a StoreError naming the file."""
        try:
            yield
        except sqlite3.ProgrammingError:  # misuse (a closed store, a bad parameter), not the file
            raise
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # text of a damaged page may not decode
            journal = self._side("-journal")
            if journal.exists() and "readonly" in str(exc):
                raise self._error(f"a write to it was interrupted ({journal.name} is beside it); open it for writing "
                                  "once (rerun the sweep) to roll the unfinished write back") from exc
            raise self._error(f"{what} ({exc})") from exc

    def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._sqlite_errors("reading the store failed"):
            return self._conn.execute(sql, args).fetchall()

    def _all_records(self) -> list[RunRecord]:
        """Every row, checked, ordered by task, family, method, n, seed."""
        columns = _CONTENT + (", digest" if self._schema >= 2 else "")
        rows = self._fetch(f"SELECT {columns} FROM runs ORDER BY task, family, method, n_train, seed")
        records = [self._record(row) for row in rows]
        if len({r.key for r in records}) != len(records):
            raise self._error("two rows have the same key (a damaged index)")
        return records

    def _record(self, row: tuple) -> RunRecord:
        try:
            return _row_record(row[:len(_CONTENT_NAMES)], row[-1] if self._schema >= 2 else None,
                               check_digest=self._schema >= 2)
        except _RowError as exc:
            raise self._error(f"the run with key {_short(row[0])} {exc} (edited outside Hybrid, or damaged)") from None

    # --- public --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> ResultStore:
        """The store itself (closed when the block ends)."""
        return self

    def __exit__(self, *exc) -> None:
        """Close the store."""
        self.close()

    def put(self, record: RunRecord) -> None:
        """Write one record and commit at once (replacing an earlier failed try).

        Raises:
            ValueError: if the record would not read back as it is (a status other than
                ``ok``/``failed``, a non-JSON config value that changes its key, ...);
                nothing is written then.
            StoreError: if the store is read-only or SQLite fails to write it.
        """
        if self.readonly:
            raise self._error("opened read-only; cannot store a run")
        c = record.config
        values = (
            record.key, c.task, c.method, c.family, c.n_train, c.seed, c.device,
            record.status, _json_dumps(asdict(c)), _json_dumps(record.metrics),
            _json_dumps(record.train), _json_dumps(record.inference),
            _json_dumps(record.details), record.error, record.host, record.finished_at,
        )
        with self._sqlite_errors("writing the store failed"), _transaction(self._conn):
            self._conn.execute(f"INSERT OR REPLACE INTO runs ({_CONTENT}) VALUES ({', '.join('?' * len(values))})",
                               values)
            # the digest is of the row as SQLite gives it back, so that reading it checks out
            stored = self._conn.execute(f"SELECT {_CONTENT} FROM runs WHERE key = ?", (record.key,)).fetchone()
            try:
                _row_record(stored, None, check_digest=False)
            except _RowError as exc:
                raise ValueError(f"record {record.key[:12]}: cannot be stored faithfully: it {exc}") from None
            self._conn.execute("UPDATE runs SET digest = ? WHERE key = ?", (_row_digest(stored), record.key))

    def done_keys(self) -> set[str]:
        """Keys of runs that finished ``ok`` (failed ones are retried); every row is checked."""
        return {r.key for r in self._all_records() if r.status == "ok"}

    def records(self, *, task: str | None = None, status: str | None = None) -> list[RunRecord]:
        """All records, optionally filtered by task and status, ordered by task, method, n, seed.

        Every row is checked (those filtered out too), so a doctored row is never
        silently skipped.

        Raises:
            StoreError: if a row fails the checks or SQLite cannot read the file.
        """
        return [
            r for r in self._all_records()
            if (task is None or r.config.task == task) and (status is None or r.status == status)
        ]

    def count(self) -> int:
        """Number of stored records (ok and failed); the rows themselves are not checked."""
        return int(self._fetch("SELECT COUNT(*) FROM runs")[0][0])

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
        """Write every record (nested, with details) as a JSON list, NaN as ``null``; returns the path."""
        path = Path(path)
        data = [asdict(r) | {"key": r.key} for r in self.records()]
        path.write_text(dumps_strict(data, indent=1, default=_json_default))
        return path


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction on an autocommit connection: committed at the end, rolled back on error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _columns(conn: sqlite3.Connection, table: str) -> tuple[tuple[str, str, int], ...]:
    rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    return tuple((name, str(kind).upper(), pk) for _, name, kind, _, _, pk in rows)


def _create_tables(conn: sqlite3.Connection) -> None:
    for table, columns in (("hybrid_meta", _META_COLUMNS), ("runs", _RUN_COLUMNS[SCHEMA_VERSION])):
        spec = ", ".join(f"{name} {kind}" + (" PRIMARY KEY" if pk else "") for name, kind, pk in columns)
        conn.execute(f"CREATE TABLE {table} ({spec})")
    conn.execute("INSERT INTO hybrid_meta VALUES ('magic', ?), ('schema', ?)", (_MAGIC, str(SCHEMA_VERSION)))


def _migrate(conn: sqlite3.Connection) -> None:
    """Schema 1 to 2: add the digest column and fill it for the rows that pass the checks.

    A row that fails keeps no digest; reading it reports why.
    """
    conn.execute("ALTER TABLE runs ADD COLUMN digest TEXT")
    for values in conn.execute(f"SELECT {_CONTENT} FROM runs").fetchall():
        try:
            _row_record(values, None, check_digest=False)
        except _RowError:
            continue
        conn.execute("UPDATE runs SET digest = ? WHERE key = ?", (_row_digest(values), values[0]))
    conn.execute("UPDATE hybrid_meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))


def _schema_number(value: Any) -> int:
    """The schema version stored in hybrid_meta; -1 for anything that is not a plain decimal number."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return -1


def _row_digest(values: Sequence[Any]) -> str:
    """SHA-256 of a row's content columns (str, int and float values)."""
    blob = json.dumps(list(values), separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _row_record(values: Sequence[Any], digest: Any, *, check_digest: bool) -> RunRecord:
    """The record of a row's content columns; raises :class:`_RowError` saying what is wrong."""
    for (name, kind, _), value in zip(_CONTENT_COLUMNS, values, strict=True):
        if type(value) is not _PYTHON_TYPES[kind]:
            raise _RowError(f"has {'NULL' if value is None else type(value).__name__} in column {name}, not {kind}")
    if check_digest and digest is None:
        _parse_row(values)  # a schema-1 row that failed the checks when migrated: say why
        raise _RowError("has no digest")
    if check_digest and digest != _row_digest(values):
        raise _RowError("does not match its digest")
    return _parse_row(values)


def _parse_row(values: Sequence[Any]) -> RunRecord:
    row = dict(zip(_CONTENT_NAMES, values, strict=True))
    if row["status"] not in _STATUSES:
        raise _RowError(f"has status {_short(row['status'])}, not one of {_STATUSES}")
    config = _parse_config(_load_json(row, "config"))
    for name in ("task", "method", "family", "n_train", "seed", "device"):
        if getattr(config, name) != row[name]:
            raise _RowError(f"has {name} {_short(row[name])} but its config says {_short(getattr(config, name))}")
    if config.key() != row["key"]:
        raise _RowError("is not keyed by the hash of its config")
    return RunRecord(
        config=config,
        status=row["status"],
        metrics=_parse_metrics(_load_json(row, "metrics")),
        train=_parse_measures(_load_json(row, "train"), "train"),
        inference=_parse_measures(_load_json(row, "inference"), "inference"),
        details=_load_json(row, "details"),
        error=row["error"],
        host=row["host"],
        finished_at=row["finished_at"],
    )


def _load_json(row: dict[str, Any], column: str) -> Any:
    try:
        return json.loads(row[column])
    except (ValueError, RecursionError) as exc:
        raise _RowError(f"has no valid JSON in column {column} ({exc})") from None


def _parse_config(data: Any) -> RunConfig:
    if type(data) is not dict or set(data) != set(_CONFIG_TYPES):
        raise _RowError(f"has a config that is not an object with exactly the fields {', '.join(_CONFIG_TYPES)}")
    for name, kind in _CONFIG_TYPES.items():
        if type(data[name]) is not kind:
            raise _RowError(f"has a config whose {name} is {_short(data[name])}, not {kind.__name__}")
    return RunConfig(**data)


def _parse_metrics(data: Any) -> dict[str, float]:
    if type(data) is not dict or not all(v is None or type(v) in (int, float) for v in data.values()):
        raise _RowError("has metrics that are not an object of numbers")
    return {k: _nan(v) for k, v in data.items()}


def _parse_measures(data: Any, phase: str) -> dict[str, Any]:
    ops = data.get("symbolic_ops", {}) if type(data) is dict else None
    if type(ops) is not dict or not all(type(v) in (int, float) for v in ops.values()):
        raise _RowError(f"has {phase} measures that are not an object (with symbolic_ops an object of numbers)")
    return data


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _nan(v: Any) -> Any:
    return float("nan") if v is None else v


def records_to_rows(records: Iterable[RunRecord]) -> list[dict[str, Any]]:
    """Flatten records for a notebook (``pandas.DataFrame(records_to_rows(recs))``)."""
    return [r.flat() for r in records]
