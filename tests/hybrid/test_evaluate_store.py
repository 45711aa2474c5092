import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import asdict

import numpy as np
import pytest

from hybrid.evaluate.store import ResultStore, RunConfig, RunRecord, StoreError


def _config(n=4, seed=0, method="toy-mean"):
    return RunConfig("toy", {"loc": 3.0}, method, {}, "hybrid", n, seed, "cpu")


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(folder):
    """Every file in the folder with its bytes: equal snapshots mean nothing changed and nothing was added."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _records(n=6):
    return [
        RunRecord(_config(n=2 + i, seed=i % 2), "ok" if i != 3 else "failed", {"acc": 0.1 * i, "nan": float("nan")},
                  {"wall_s": 0.5, "symbolic_ops": {"add": i}}, {"wall_s": 0.1}, {"items": [i] * 20},
                  "boom" if i == 3 else "", "host", 1000.0 + i)
        for i in range(n)
    ]


def _canonical(records):
    return json.dumps([asdict(r) for r in records], allow_nan=True)


def test_put_is_keyed_by_config_and_round_trips(tmp_path):
    with ResultStore(tmp_path / "r.db") as store:
        rec = RunRecord(_config(), "ok", {"acc": 0.5, "err": float("nan")}, {"wall_s": 1.0}, {}, {"x": [1, 2]})
        store.put(rec)
        store.put(rec)  # same key: still one row
        store.put(RunRecord(_config(seed=1), "failed", error="boom"))
        assert store.count() == 2
        assert store.done_keys() == {rec.key}
        back = store.records(status="ok")[0]
    assert back.config == rec.config and back.metrics["acc"] == 0.5
    assert back.details == {"x": [1, 2]}
    assert _config().key() != _config(n=5).key() != _config(method="other").key()


def test_exports(tmp_path):
    with ResultStore(tmp_path / "r.db") as store:
        store.put(RunRecord(_config(), "ok", {"acc": 0.5}, {"wall_s": 1.0, "symbolic_ops": {"a": 3}}))
        csv_path = store.export_csv(tmp_path / "r.csv")
        json_path = store.export_json(tmp_path / "r.json")
    header, row = csv_path.read_text().splitlines()[:2]
    assert "metric_acc" in header and "train_symbolic_ops" in header and ",3" in row
    assert json.loads(json_path.read_text())[0]["metrics"] == {"acc": 0.5}


@pytest.mark.parametrize("content", [b"", b"not a database at all\n" * 10, b"SQLite format 3\x00" + b"\xff" * 200])
def test_corrupt_file_is_refused_and_left_untouched(tmp_path, content):
    path = tmp_path / "bad.db"
    path.write_bytes(content)
    before = _snapshot(tmp_path)
    with pytest.raises(StoreError) as caught:
        ResultStore(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert _snapshot(tmp_path) == before


def test_foreign_sqlite_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (name TEXT)")
    conn.commit()
    conn.close()
    before = _digest(path)
    with pytest.raises(StoreError, match="another program"):
        ResultStore(path)
    assert _digest(path) == before


def test_writer_creates_the_folder_and_keeps_nothing_beside_the_file(tmp_path):
    path = tmp_path / "new" / "sub" / "r.db"
    with ResultStore(path) as store:
        for rec in _records():
            store.put(rec)
            assert sorted(p.name for p in path.parent.iterdir()) == ["r.db"]  # rollback journal, gone at commit
    assert path.read_bytes()[18:20] == b"\x01\x01"  # not WAL


def test_readonly_store_reads_and_never_writes(tmp_path):
    path = tmp_path / "r.db"
    with ResultStore(path) as store:
        for rec in _records():
            store.put(rec)
    before = _snapshot(tmp_path)
    with ResultStore(path, readonly=True) as store:
        assert _canonical(store.records()) == _canonical(_records())
        assert store.count() == 6 and len(store.done_keys()) == 5
        with pytest.raises(StoreError, match="read-only") as caught:
            store.put(RunRecord(_config(seed=9), "ok"))
        assert str(caught.value).startswith(f"{path}: ")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["r.db", "missing/r.db"])
def test_readonly_missing_store_is_an_error_and_creates_nothing(tmp_path, where):
    path = tmp_path / where
    with pytest.raises(StoreError, match="does not exist") as caught:
        ResultStore(path, readonly=True)
    assert str(caught.value).startswith(f"{path}: ")
    assert list(tmp_path.iterdir()) == []


def test_store_left_open_like_after_sigkill_reopens_with_every_committed_row(tmp_path):
    store = ResultStore(tmp_path / "live" / "r.db")
    for rec in _records():
        store.put(rec)
    # copy whatever is on disk now, as a SIGKILL would leave it: no close, no checkpoint
    shutil.copytree(tmp_path / "live", tmp_path / "killed")
    assert sorted(p.name for p in (tmp_path / "killed").iterdir()) == ["r.db"]
    for readonly in (True, False):
        with ResultStore(tmp_path / "killed" / "r.db", readonly=readonly) as reopened:
            assert _canonical(reopened.records()) == _canonical(_records())
    store.close()


_KILL_MID_COMMIT = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size=1")  # spill changed pages into the file before the commit
conn.execute("BEGIN")
conn.execute("UPDATE runs SET host = ?", ("x" * 300,))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_write_killed_mid_commit_is_refused_read_only_and_rolled_back_by_a_writer(tmp_path):
    path = tmp_path / "r.db"
    records = _records(60)  # more pages than the killed writer's cache holds
    with ResultStore(path) as store:
        for rec in records:
            store.put(rec)
    subprocess.run([sys.executable, "-c", _KILL_MID_COMMIT, str(path)], check=False)
    half_written = sqlite3.connect(f"file:{path}?immutable=1", uri=True)  # the file as it is, journal ignored
    assert half_written.execute("SELECT COUNT(*) FROM runs WHERE length(host) = 300").fetchone()[0] > 0
    half_written.close()
    before = _snapshot(tmp_path)
    with pytest.raises(StoreError, match="interrupted.*r.db-journal") as caught:
        ResultStore(path, readonly=True)
    assert str(caught.value).startswith(f"{path}: ")
    assert _snapshot(tmp_path) == before
    with ResultStore(path) as store:
        assert _canonical(store.records()) == _canonical(records)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.db"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "maybe"}, "status 'maybe'"),
        ({"error": None}, "NULL in column error"),
        ({"config": _config(seed=np.int64(1))}, "bytes in column seed"),  # SQLite would store a numpy int as a blob
        ({"config": RunConfig("toy", {"loc": np.float32(3.0)}, "m", {}, "hybrid", 4, 0, "cpu")}, "hash of its config"),
    ],
)
def test_put_refuses_a_record_that_would_not_read_back_as_it_is(tmp_path, change, message):
    with ResultStore(tmp_path / "r.db") as store:
        store.put(_records()[0])
        record = RunRecord(**{**asdict(_records()[1]), "config": _records()[1].config, **change})
        with pytest.raises(ValueError, match=message):
            store.put(record)
        assert store.count() == 1
        assert _canonical(store.records()) == _canonical(_records()[:1])


# --- schema-1 stores, as Hybrid wrote them before the digest column (WAL mode) ----------------------

_V1_RUNS = """CREATE TABLE runs (
    key TEXT PRIMARY KEY, task TEXT, method TEXT, family TEXT,
    n_train INTEGER, seed INTEGER, device TEXT, status TEXT,
    config TEXT, metrics TEXT, train TEXT, inference TEXT,
    details TEXT, error TEXT, host TEXT, finished_at REAL)"""


def _schema1_writer(path):
    """A connection set up the way the schema-1 ResultStore set up its file."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    with conn:
        conn.execute("CREATE TABLE IF NOT EXISTS hybrid_meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT OR IGNORE INTO hybrid_meta VALUES ('magic', 'hybrid-toolkit results store'), "
                     "('schema', '1')")
        conn.execute(_V1_RUNS)
    return conn


def _schema1_put(conn, rec):
    c = rec.config
    with conn:
        conn.execute(
            "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (rec.key, c.task, c.method, c.family, c.n_train, c.seed, c.device, rec.status, json.dumps(asdict(c)),
             json.dumps(rec.metrics), json.dumps(rec.train), json.dumps(rec.inference), json.dumps(rec.details),
             rec.error, rec.host, rec.finished_at),
        )


def _schema1_store(path):
    conn = _schema1_writer(path)
    for rec in _records():
        _schema1_put(conn, rec)
    conn.close()


def test_schema1_store_is_read_untouched_and_migrated_by_a_writer(tmp_path):
    path = tmp_path / "r.db"
    _schema1_store(path)
    assert path.read_bytes()[18:20] == b"\x02\x02"  # WAL: a plain read-only open would create -wal and -shm
    before = _snapshot(tmp_path)
    with ResultStore(path, readonly=True) as store:
        assert _canonical(store.records()) == _canonical(_records())
    assert _snapshot(tmp_path) == before
    with ResultStore(path) as store:
        assert _canonical(store.records()) == _canonical(_records())
        store.put(RunRecord(_config(seed=7), "ok"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.db"]
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert conn.execute("SELECT value FROM hybrid_meta WHERE key = 'schema'").fetchone() == ("2",)
    assert conn.execute("SELECT COUNT(*) FROM runs WHERE length(digest) = 64").fetchone() == (7,)
    conn.close()
    with ResultStore(path, readonly=True) as store:
        assert store.count() == 7


def test_schema1_row_that_fails_the_checks_is_refused_before_and_after_migration(tmp_path):
    path = tmp_path / "r.db"
    _schema1_store(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE runs SET metrics = '{\"acc\": \"high\"}' WHERE n_train = 3")
    conn.close()
    before = _snapshot(tmp_path)
    with ResultStore(path, readonly=True) as store, pytest.raises(StoreError, match="metrics"):
        store.records()
    assert _snapshot(tmp_path) == before
    with ResultStore(path) as store:  # migrates; the bad row keeps no digest
        with pytest.raises(StoreError, match="metrics"):
            store.done_keys()
    with ResultStore(path, readonly=True) as store, pytest.raises(StoreError, match="metrics") as caught:
        store.records()
    assert str(caught.value).startswith(f"{path}: ")


def test_schema1_store_killed_mid_sweep_reopens_with_every_committed_row(tmp_path):
    (tmp_path / "live").mkdir()
    conn = _schema1_writer(tmp_path / "live" / "r.db")
    for rec in _records():
        _schema1_put(conn, rec)
    # a SIGKILL leaves the committed rows in r.db-wal, not yet in r.db
    (tmp_path / "killed").mkdir()
    for name in ("r.db", "r.db-wal"):
        shutil.copy(tmp_path / "live" / name, tmp_path / "killed" / name)
    conn.close()
    path = tmp_path / "killed" / "r.db"
    main_file = path.read_bytes()
    with ResultStore(path, readonly=True) as store:
        assert _canonical(store.records()) == _canonical(_records())
    assert path.read_bytes() == main_file
    with ResultStore(path) as store:  # moves the rows into the file, leaves WAL mode
        assert _canonical(store.records()) == _canonical(_records())
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.db"]
    with ResultStore(path, readonly=True) as store:
        assert _canonical(store.records()) == _canonical(_records())
