"""Damaged, doctored and foreign store files: always StoreError ``<path>: ...``, the folder left as it was."""

import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid.evaluate.store import ResultStore, RunConfig, RunRecord, StoreError

from .test_evaluate_store import _canonical, _records, _schema1_store, _snapshot

MODES = pytest.mark.parametrize("readonly", [True, False], ids=["readonly", "writer"])


def _store(path, records=None):
    with ResultStore(path) as store:
        for rec in _records() if records is None else records:
            store.put(rec)
    return path


def _sql(path, script):
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.close()


def _assert_refused(path, readonly, match=None):
    """Opening and reading raise StoreError naming the file, and nothing in its folder changes."""
    before = _snapshot(path.parent)
    with pytest.raises(StoreError, match=match) as caught:
        with ResultStore(path, readonly=readonly) as store:
            store.records()
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert _snapshot(path.parent) == before
    return message


def _damage_pages(path, pattern):
    """Overwrite the middle of every page after the first; the header (page 1) stays intact."""
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    for start in range(size, len(data), size):
        data[start + 8:start + size - 8] = (pattern * size)[:size - 16]
    path.write_bytes(bytes(data))


# --- 1. damaged pages ----------------------------------------------------------------------------


@MODES
@pytest.mark.parametrize("pattern", [b"\x00", b"\xff", b"\x0d\x05\x00"], ids=["zeros", "ones", "cells"])
def test_damaged_data_pages_are_refused_on_open(tmp_path, readonly, pattern):
    path = _store(tmp_path / "results.db")
    _damage_pages(path, pattern)
    assert "damaged" in _assert_refused(path, readonly)


@MODES
def test_damaged_wal_mode_store_is_refused_without_side_files(tmp_path, readonly):
    path = tmp_path / "results.db"
    _schema1_store(path)
    _damage_pages(path, b"\xff")
    _assert_refused(path, readonly, match="damaged")


def _other_run(store):
    store.put(RunRecord(RunConfig("toy", {}, "m", {}, "hybrid", 4, 99, "cpu"), "ok"))


@pytest.mark.parametrize(
    ("readonly", "call"),
    [
        (True, ResultStore.records),
        (True, ResultStore.count),
        (False, ResultStore.done_keys),
        (False, _other_run),
    ],
)
def test_damage_after_opening_is_a_store_error_naming_the_file(tmp_path, readonly, call):
    path = _store(tmp_path / "results.db")
    with ResultStore(path, readonly=readonly) as store:
        data = bytearray(path.read_bytes())
        size = int.from_bytes(data[16:18], "big")
        data[size:] = b"\xee" * (len(data) - size)  # every page after the first
        data[24:28] = (int.from_bytes(data[24:28], "big") + 1).to_bytes(4, "big")  # tell SQLite the file changed
        path.write_bytes(bytes(data))
        with pytest.raises(StoreError, match="malformed") as caught:
            call(store)
    assert str(caught.value).startswith(f"{path}: ")


# --- 2. doctored rows ----------------------------------------------------------------------------

_NOT_DIGEST = "does not match its digest"

DOCTORED = [
    # (SQL on one row, the schema-1 complaint, the schema-2 complaint)
    ("SET metrics = '[1]'", "metrics that are not an object of numbers", _NOT_DIGEST),
    ("SET metrics = '{\"acc\": 0.99}'", None, _NOT_DIGEST),  # plausible: only a digest shows it
    ("SET metrics = 'not json'", "no valid JSON in column metrics", _NOT_DIGEST),
    ("SET details = '{\"items\": ['", "no valid JSON in column details", _NOT_DIGEST),
    ("SET config = json_set(config, '$.extra', 1)", "exactly the fields", _NOT_DIGEST),
    ("SET config = json_remove(config, '$.device')", "exactly the fields", _NOT_DIGEST),
    ("SET config = json_set(config, '$.n_train', '3')", "config whose n_train", _NOT_DIGEST),
    ("SET config = '[]'", "exactly the fields", _NOT_DIGEST),
    ("SET n_train = 99", "n_train 99 but its config says 3", _NOT_DIGEST),
    ("SET key = substr(key, 2) || 'a'", "not keyed by the hash of its config", _NOT_DIGEST),
    ("SET status = 'maybe'", "status 'maybe'", _NOT_DIGEST),
    ("SET train = '{\"symbolic_ops\": [1]}'", "train measures", _NOT_DIGEST),
    ("SET inference = '3'", "inference measures", _NOT_DIGEST),
    ("SET error = NULL", "NULL in column error", "NULL in column error"),
    ("SET finished_at = 'yesterday'", "str in column finished_at", "str in column finished_at"),
    ("SET config = CAST(config AS BLOB)", "bytes in column config", "bytes in column config"),
    ("SET host = CAST(X'FF' AS TEXT)", "decode", "decode"),
]


@MODES
@pytest.mark.parametrize(("sql", "_", "complaint"), DOCTORED)
def test_doctored_row_is_refused_when_read(tmp_path, readonly, sql, _, complaint):
    path = _store(tmp_path / "results.db")
    _sql(path, f"UPDATE runs {sql} WHERE n_train = 3")
    before = _snapshot(tmp_path)
    with ResultStore(path, readonly=readonly) as store:
        for read in (store.records, lambda: store.records(task="other"), store.done_keys):
            with pytest.raises(StoreError, match=complaint) as caught:
                read()
            assert str(caught.value).startswith(f"{path}: ")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("digest", ["NULL", "'0'", "upper(digest)"])
def test_row_with_a_missing_or_wrong_digest_is_refused(tmp_path, digest):
    path = _store(tmp_path / "results.db")
    _sql(path, f"UPDATE runs SET digest = {digest} WHERE n_train = 3")
    _assert_refused(path, readonly=True, match="digest")


@pytest.mark.parametrize(("sql", "complaint", "_"), [d for d in DOCTORED if d[1] is not None])
def test_doctored_row_of_a_schema1_store_is_refused_read_only_untouched(tmp_path, sql, complaint, _):
    path = tmp_path / "results.db"
    _schema1_store(path)
    _sql(path, f"PRAGMA journal_mode=WAL; UPDATE runs {sql} WHERE n_train = 3")
    _assert_refused(path, readonly=True, match=complaint)


# --- 3. foreign SQLite files and stores that are not exactly a Hybrid store ---------------------------

FOREIGN = {
    "another program": "CREATE TABLE people (name TEXT)",
    "no tables": "PRAGMA user_version = 7",
    "runs without hybrid_meta": "CREATE TABLE runs (key TEXT PRIMARY KEY, task TEXT)",
    "another program in WAL mode": "PRAGMA journal_mode=WAL; CREATE TABLE people (name TEXT)",
}
DOCTORED_STORES = {
    "without its runs table": "DROP TABLE runs",
    "wrong magic": "UPDATE hybrid_meta SET value = 'my results' WHERE key = 'magic'",
    "newer Hybrid": "UPDATE hybrid_meta SET value = '3' WHERE key = 'schema'",
    "unknown schema version 'two'": "UPDATE hybrid_meta SET value = 'two' WHERE key = 'schema'",
    "unknown schema version None": "DELETE FROM hybrid_meta WHERE key = 'schema'",
    "schema-1 store's columns": "UPDATE hybrid_meta SET value = '1' WHERE key = 'schema'",
    "schema-2 store's columns": "ALTER TABLE runs DROP COLUMN host",
    "hybrid_meta table": "ALTER TABLE hybrid_meta ADD COLUMN note TEXT",
    "triggers": "CREATE TRIGGER hide AFTER INSERT ON runs BEGIN DELETE FROM runs WHERE status = 'failed'; END",
}


@MODES
@pytest.mark.parametrize("what", sorted(FOREIGN))
def test_foreign_sqlite_file_is_refused_untouched(tmp_path, readonly, what):
    path = tmp_path / "results.db"
    _sql(path, FOREIGN[what])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.db"]
    _assert_refused(path, readonly, match="another program")


@MODES
@pytest.mark.parametrize("what", sorted(DOCTORED_STORES))
def test_store_that_is_not_exactly_a_hybrid_store_is_refused_untouched(tmp_path, readonly, what):
    path = _store(tmp_path / "results.db")
    _sql(path, DOCTORED_STORES[what])
    _assert_refused(path, readonly, match=what.replace("(", r"\("))


@MODES
def test_runs_table_with_other_column_types_or_key_is_refused(tmp_path, readonly):
    path = _store(tmp_path / "results.db")
    _sql(path, """
        CREATE TABLE copy AS SELECT * FROM runs;  -- same column names, no primary key, no declared types
        DROP TABLE runs;
        ALTER TABLE copy RENAME TO runs;
    """)
    _assert_refused(path, readonly, match="columns")


# --- random damage: a StoreError or exactly the stored records, nothing else ------------------------------


def _corrupt(data: bytes, how: tuple) -> bytes:
    kind, position, payload = how
    position %= len(data)
    if kind == "truncate":
        return data[:position]
    if kind == "byte":
        return data[:position] + bytes([data[position] ^ payload]) + data[position + 1:]
    return data[:position] + payload + data[position + len(payload):]


CORRUPTIONS = st.one_of(
    st.tuples(st.just("byte"), st.integers(min_value=0), st.integers(1, 255)),
    st.tuples(st.just("run"), st.integers(min_value=0), st.binary(min_size=2, max_size=64)),
    st.tuples(st.just("truncate"), st.integers(min_value=0), st.none()),
)


@pytest.fixture(scope="module")
def valid_store(tmp_path_factory):
    records = _records(12)
    records[7].details = {"items": ["x" * 40] * 150}  # one row on overflow pages
    path = _store(tmp_path_factory.mktemp("valid") / "results.db", records)
    return path.read_bytes(), _canonical(records)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(how=CORRUPTIONS, readonly=st.booleans())
def test_randomly_damaged_store_raises_store_error_or_reads_exactly_the_original(valid_store, how, readonly):
    data, original = valid_store
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "results.db"
        path.write_bytes(_corrupt(data, how))
        before = _snapshot(path.parent)
        try:
            with ResultStore(path, readonly=readonly) as store:
                got = _canonical(store.records())
        except StoreError as exc:
            assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
            assert _snapshot(path.parent) == before
        else:
            assert got == original
            if readonly:
                assert _snapshot(path.parent) == before
