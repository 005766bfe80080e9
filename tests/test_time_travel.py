import datetime as dt
import time

import pyarrow as pa
import pytest

import lakehouse


def _table(uri, n_versions=3):
    t = lakehouse.create_table(uri, schema=pa.schema([("v", pa.int64())]))
    stamps = []
    for v in range(1, n_versions + 1):
        t.append(pa.table({"v": [v]}))
        stamps.append(t.history(limit=1)[0].timestamp)
        time.sleep(0.01)
    return t, stamps


def test_scan_by_version(table_uri):
    t, _ = _table(table_uri)
    assert t.scan(version=0).count() == 0
    assert sorted(t.scan(version=2).to_arrow().column("v").to_pylist()) == [1, 2]
    assert t.scan(version=3).count() == 3
    assert t.at(version=1).version == 1
    assert t.version == 3  # time travel never moves the handle


def test_scan_as_of_timestamp(table_uri):
    t, stamps = _table(table_uri)
    assert sorted(t.scan(as_of=stamps[1]).to_arrow().column("v").to_pylist()) == [1, 2]
    between = stamps[1] + (stamps[2] - stamps[1]) / 2
    assert t.scan(as_of=between).count() == 2
    assert t.scan(as_of=stamps[2] + dt.timedelta(days=1)).count() == 3
    with pytest.raises(lakehouse.VersionNotFoundError):
        t.scan(as_of=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))


def test_missing_version_is_an_error(table_uri):
    t, _ = _table(table_uri, 1)
    with pytest.raises(lakehouse.VersionNotFoundError):
        t.scan(version=7)
    with pytest.raises(lakehouse.VersionNotFoundError):
        t.scan(version=-1)


def test_history_newest_first(table_uri):
    t, _ = _table(table_uri)
    t.overwrite(pa.table({"v": [9]}))
    h = t.history()
    assert [e.version for e in h] == [4, 3, 2, 1, 0]
    assert [e.operation for e in h] == ["overwrite", "append", "append", "append", "create"]
    assert h[0].metrics["num_added_rows"] == 1 and h[0].metrics["num_removed_files"] == 3
    assert h[1].is_blind_append and h[1].read_version == 2
    assert h[0].engine.startswith("lakehouse/")
    assert all(a.timestamp > b.timestamp for a, b in zip(h, h[1:]))
    assert [e.version for e in t.history(limit=2)] == [4, 3]


def test_refresh_sees_other_writers(table_uri):
    t, _ = _table(table_uri, 1)
    other = lakehouse.open_table(table_uri)
    other.append(pa.table({"v": [2]}))
    assert t.version == 1
    assert t.refresh().version == 2
