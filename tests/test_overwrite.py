import datetime as dt

import pyarrow as pa
import pytest

import lakehouse


def _events(uri):
    t = lakehouse.create_table(uri, schema=pa.schema([("ts", pa.date32()), ("n", pa.int64())]))
    t.append(pa.table({"ts": [dt.date(2024, 2, 1), dt.date(2024, 2, 2)], "n": [1, 2]}))
    t.append(pa.table({"ts": [dt.date(2024, 2, 28), dt.date(2024, 3, 1)], "n": [3, 4]}))
    t.append(pa.table({"ts": [dt.date(2024, 3, 5)], "n": [5]}))
    return t


def test_overwrite_whole_table(table_uri):
    t = _events(table_uri)
    t.overwrite(pa.table({"ts": [dt.date(2025, 1, 1)], "n": [100]}))
    assert t.scan().to_arrow().column("n").to_pylist() == [100]
    assert t.scan(version=3).count() == 5


def test_overwrite_where_replaces_only_matching_rows(table_uri):
    t = _events(table_uri)
    summary = t.overwrite(pa.table({"ts": [dt.date(2024, 3, 9)], "n": [9]}), where="ts >= '2024-03-01'")
    assert sorted(t.scan().to_arrow().column("n").to_pylist()) == [1, 2, 3, 9]
    # the first file does not match at all: untouched; the second is rewritten; the third removed
    assert summary.metrics["num_removed_files"] == 2
    assert summary.metrics["num_deleted_rows"] == 2
    assert t.history(limit=1)[0].parameters == {"where": "ts >= '2024-03-01'"}


def test_overwrite_where_refuses_rows_outside_predicate(table_uri):
    t = _events(table_uri)
    with pytest.raises(lakehouse.PredicateViolationError):
        t.overwrite(pa.table({"ts": [dt.date(2020, 1, 1)], "n": [0]}), where="ts >= '2024-03-01'")
    assert t.version == 3 and t.refresh().version == 3
    assert t.scan().count() == 5


def test_overwrite_where_keeps_rows_where_predicate_is_null(table_uri):
    t = lakehouse.create_table(table_uri, schema=pa.schema([("k", pa.int64()), ("v", pa.string())]))
    t.append(pa.table({"k": [1, None, 3], "v": ["a", "b", "c"]}))
    t.overwrite(pa.table({"k": [5], "v": ["e"]}), where="k > 2")
    assert sorted(t.scan().to_arrow().column("v").to_pylist()) == ["a", "b", "e"]


def test_overwrite_of_whole_partitions_rewrites_nothing(table_uri):
    t = lakehouse.create_table(table_uri, schema=pa.schema([("ts", pa.date32()), ("n", pa.int64())]),
                               partition_by=["day(ts)"])
    days = [dt.date(2024, 3, d) for d in (1, 1, 2, 2, 3)]
    t.append(pa.table({"ts": days, "n": [1, 2, 3, 4, 5]}))
    summary = t.overwrite(pa.table({"ts": [dt.date(2024, 3, 2)], "n": [40]}), where="ts = '2024-03-02'")
    assert summary.metrics["num_removed_files"] == 1 and summary.metrics["num_deleted_rows"] == 2
    assert summary.metrics["num_added_files"] == 1  # the new data only: no surviving rows to rewrite
    assert sorted(t.scan().to_arrow().column("n").to_pylist()) == [1, 2, 5, 40]
