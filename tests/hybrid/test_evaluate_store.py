import hashlib
import json
import sqlite3

import pytest

from hybrid.evaluate.store import ResultStore, RunConfig, RunRecord, StoreError


def _config(n=4, seed=0, method="toy-mean"):
    return RunConfig("toy", {"loc": 3.0}, method, {}, "hybrid", n, seed, "cpu")


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    before = _digest(path)
    with pytest.raises(StoreError):
        ResultStore(path)
    assert _digest(path) == before


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
