"""The change feed (spec/format.md, "Change data"): replayed from version 0 it rebuilds every
version; rewrites report no changes; ranges are checked; change data files are untrusted input."""

from __future__ import annotations

import uuid
from collections import Counter

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse import CorruptTableError, InvalidArgumentError, VersionNotFoundError
from lakehouse.format.actions import RemoveFile, action_from_json
from lakehouse.format.change_data import CHANGE_TYPE, write_change_data
from dv_helpers import delete_positions

SCHEMA = pa.schema([("id", pa.int64()), ("g", pa.string())])
SIGN = {"insert": 1, "update_postimage": 1, "delete": -1, "update_preimage": -1}


def _uri() -> str:
    return f"memory://changes/{uuid.uuid4().hex}"


def _rows(table: pa.Table, names=("id", "g")) -> Counter:
    return Counter(zip(*(table[n].to_pylist() for n in names)))


def replay(feed: pa.Table, start: Counter | None = None, names=("id", "g")) -> Counter:
    """Apply a feed to a multiset of rows; a delete of a row that is not there fails."""
    rows = Counter(start or {})
    for row, kind in zip(zip(*(feed[n].to_pylist() for n in names)), feed[CHANGE_TYPE].to_pylist()):
        rows[row] += SIGN[kind]
        assert rows[row] >= 0, f"{kind} of {row}, which is not in the table"
    return +rows


ops = st.lists(st.one_of(
    st.tuples(st.just("append"), st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["a", "b", None])),
                                          min_size=1, max_size=6)),
    st.tuples(st.just("overwrite"), st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["a", "b"])),
                                             max_size=4)),
    st.tuples(st.just("overwrite_where"), st.tuples(st.integers(0, 9), st.sampled_from(["a", "b"]))),
    st.tuples(st.just("restore"), st.integers(0, 50)),
    st.tuples(st.just("dv_delete"), st.tuples(st.integers(0, 50), st.lists(st.integers(0, 5), max_size=3))),
), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_feed_replays_to_every_version(steps):
    t = lakehouse.create_table(_uri(), schema=SCHEMA)
    for op, arg in steps:
        if op == "append":
            t.append(pa.Table.from_pylist([{"id": i, "g": g} for i, g in arg], schema=SCHEMA))
        elif op == "overwrite":
            t.overwrite(pa.Table.from_pylist([{"id": i, "g": g} for i, g in arg], schema=SCHEMA))
        elif op == "overwrite_where":  # replaces group g's rows; other rows of its files are kept
            i, g = arg
            t.overwrite(pa.table({"id": [i], "g": [g]}, schema=SCHEMA), where=f"g = '{g}'")
        elif op == "dv_delete":  # merge-on-read: positions of one file marked deleted
            index = t.state.file_index()
            if index.num_rows:
                which, positions = arg
                row = index.slice(which % index.num_rows, 1).to_pylist()[0]
                delete_positions(t, {row["path"]: [p % row["record_count"] for p in positions]})
        else:
            t.restore(arg % (t.version + 1))
    feed = t.changes(0)
    assert feed["_commit_version"].to_pylist() == sorted(feed["_commit_version"].to_pylist())
    for v in range(t.version + 1):
        assert replay(feed.filter(pa.compute.less_equal(feed["_commit_version"], v))) == \
            _rows(t.at(version=v).to_arrow()), f"version {v}"
    # A range starting later continues the state of the version before it.
    mid = t.version // 2
    if mid < t.version:
            assert replay(t.changes(mid + 1), _rows(t.at(version=mid).to_arrow())) == _rows(t.to_arrow())


def test_overwrite_where_reports_only_its_rows():
    t = lakehouse.create_table(_uri(), schema=SCHEMA)
    t.append(pa.table({"id": [1, 2, 3], "g": ["a", "b", "a"]}))
    t.overwrite(pa.table({"id": [9], "g": ["a"]}), where="g = 'a'")
    feed = t.changes(2)
    assert sorted(zip(feed["id"].to_pylist(), feed[CHANGE_TYPE].to_pylist())) == \
        [(1, "delete"), (3, "delete"), (9, "insert")]  # row 2 was rewritten, not changed
    assert "change_feed" in t.state.protocol.writer_features
    assert lakehouse.open_table(t.uri).changes(2).equals(feed)


def test_whole_file_overwrite_needs_no_change_data():
    t = lakehouse.create_table(_uri(), schema=SCHEMA)
    t.append(pa.table({"id": [1], "g": ["a"]}))
    t.overwrite(pa.table({"id": [2], "g": ["a"]}), where="g = 'a'")  # the file matches whole
    assert t.changes(2)[CHANGE_TYPE].to_pylist() == ["delete", "insert"]
    assert t.state.protocol.writer_features == ()


def test_rewrite_only_entry_has_no_changes():
    t = lakehouse.create_table(_uri(), schema=SCHEMA)
    t.append(pa.table({"id": [1], "g": ["a"]}))
    t.append(pa.table({"id": [2], "g": ["b"]}))
    state = t.state
    # A compaction: both files' rows rewritten into one, data_change false everywhere.
    merged = t._write(iter(t.to_arrow().to_batches()), state)
    removes = [RemoveFile(path=p, deletion_timestamp=0, data_change=False) for p in state.file_index()["path"].to_pylist()]
    import dataclasses
    adds = [dataclasses.replace(a, data_change=False) for a in merged]
    t._commit(state, "compact", [*removes, *adds], parameters={})
    assert t.changes(3).num_rows == 0
    assert replay(t.changes(0)) == _rows(t.to_arrow())


def test_columns_and_evolved_schema_by_field_id():
    t = lakehouse.create_table(_uri(), schema=SCHEMA)
    t.append(pa.table({"id": [1], "g": ["a"]}))
    with t.update_schema() as u:
        u.rename_column("g", "group").add_column("n", pa.int32())
    t.append(pa.table({"id": [2], "group": ["b"], "n": [5]}, schema=t.arrow_schema))
    feed = t.changes(0)
    assert feed.column_names == ["id", "group", "n", "_change_type", "_commit_version", "_commit_timestamp"]
    assert feed["group"].to_pylist() == ["a", "b"] and feed["n"].to_pylist() == [None, 5]
    assert feed.schema.field("_commit_timestamp").type == pa.timestamp("ms", "UTC")
    assert feed.schema.field("_commit_version").type == pa.int64()
    assert t.changes(0, columns=["group"]).column_names[:2] == ["group", "_change_type"]
    old = t.changes(0, 1)  # under version 1's schema
    assert old.column_names[:2] == ["id", "g"] and old["g"].to_pylist() == ["a"]


def test_range_checks():
    t = lakehouse.create_table(_uri(), schema=SCHEMA)
    t.append(pa.table({"id": [1], "g": ["a"]}))
    with pytest.raises(InvalidArgumentError, match="after"):
        t.changes(1, 0)
    with pytest.raises(VersionNotFoundError, match="newest version is 1"):
        t.changes(0, 5)
    with pytest.raises(VersionNotFoundError):
        t.changes(4)
    with pytest.raises(VersionNotFoundError):
        t.changes(-1)
    for bad in (True, 1.0, "1"):
        with pytest.raises(InvalidArgumentError):
            t.changes(bad)
    assert t.changes(1, 1).num_rows == 1
    # A handle sees versions committed after it, up to the newest.
    other = lakehouse.open_table(t.uri)
    other.append(pa.table({"id": [2], "g": ["b"]}))
    assert t.changes(2, 2)["id"].to_pylist() == [2]


def test_bad_change_type_is_corrupt():
    t = lakehouse.create_table(_uri(), schema=SCHEMA)
    batch = pa.record_batch({"id": [1], "g": ["a"], CHANGE_TYPE: ["upsert"]})
    cdc = write_change_data(t._store, t.metadata, [batch])
    t._commit(t.state, "append", cdc, parameters={})
    with pytest.raises(CorruptTableError, match="_change_type"):
        t.changes(1)


@pytest.mark.parametrize("body", [
    {"path": "../x.parquet", "size": 1, "record_count": 1, "schema_id": 0},
    {"path": "_lakehouse/log/x", "size": 1, "record_count": 1, "schema_id": 0},
    {"path": "_change_data/x.parquet", "size": -1, "record_count": 1, "schema_id": 0},
    {"path": "_change_data/x.parquet", "size": 1, "record_count": "1", "schema_id": 0},
    {"path": "_change_data/x.parquet", "size": 1, "record_count": 1},
])
def test_hostile_cdc_actions_are_corrupt(body):
    with pytest.raises(CorruptTableError):
        action_from_json({"cdc": body})


def test_change_data_rolls_at_target_size():
    t = lakehouse.create_table(_uri(), schema=SCHEMA, properties={"write.target-file-size-bytes": 1000})
    batches = [pa.record_batch({"id": list(range(100)), "g": ["x"] * 100, CHANGE_TYPE: ["insert"] * 100})] * 5
    cdc = write_change_data(t._store, t.metadata, batches)
    assert len(cdc) == 5 and sum(c.record_count for c in cdc) == 500
    assert all(c.path.startswith("_change_data/") for c in cdc)


def test_deletion_vectors_report_exactly_the_deleted_rows():
    t = lakehouse.create_table(_uri(), schema=SCHEMA)
    t.append(pa.table({"id": list(range(6)), "g": ["a"] * 6}))
    path = t.state.file_index()["path"][0].as_py()
    delete_positions(t, {path: [1, 4]})
    delete_positions(t, {path: [0, 4]})  # 4 again: only 0 is new
    assert t.changes(2)["id"].to_pylist() == [1, 4, 0]
    assert set(t.changes(2)[CHANGE_TYPE].to_pylist()) == {"delete"}
    t.restore(1)  # the file again without its vector: its deleted rows come back
    back = t.changes(4)
    assert back["id"].to_pylist() == [0, 1, 4] and set(back[CHANGE_TYPE].to_pylist()) == {"insert"}
    t.overwrite(pa.table({"id": [7], "g": ["a"]}))
    assert replay(t.changes(0)) == _rows(t.to_arrow())
