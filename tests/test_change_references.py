"""Change references (spec/format.md, "Change data"): merge-on-read update and merge name their
changed rows in place (a data file, a change type, a positions bitmap) instead of copying them;
the change feed materialises them, and the references are untrusted input."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyroaring import BitMap64

import lakehouse
from lakehouse import CorruptTableError
from lakehouse.format.actions import AddCdcFile, action_from_json
from lakehouse.format.deletion_vectors import write_deletion_vectors
from lakehouse.format.log import read_entries_from
from test_changes import SCHEMA, _rows, replay


def _table(name: str) -> lakehouse.Table:
    t = lakehouse.create_table(f"memory://change-refs/{name}-{uuid.uuid4().hex}", schema=SCHEMA)
    t.append(pa.table({"id": [1, 2, 3], "g": ["a", "b", "c"]}, schema=SCHEMA))
    t.append(pa.table({"id": [4, 5], "g": ["d", "e"]}, schema=SCHEMA))
    return t


def _cdc(t: lakehouse.Table) -> list[AddCdcFile]:
    """The cdc actions of the table's last entry."""
    return [a for a in read_entries_from(t._store, t.version, until=t.version)[0].actions if isinstance(a, AddCdcFile)]


def test_merge_on_read_merge_copies_no_row():
    t = _table("merge")
    source = pa.table({"id": [2, 4, 9], "g": ["B", None, "i"]}, schema=SCHEMA)
    (t.merge(source, on="id", mode="merge-on-read").when_matched_delete(where="source.g IS NULL")
     .when_matched_update().when_not_matched_insert().execute())
    cdc = _cdc(t)
    assert cdc and all(c.change_type is not None for c in cdc)  # no change data file was written
    assert [c.change_type for c in cdc] == ["update_preimage", "delete", "update_postimage", "insert"]
    feed = t.changes(t.version)
    assert sorted(zip(feed["id"].to_pylist(), feed["g"].to_pylist(), feed["_change_type"].to_pylist())) == [
        (2, "B", "update_postimage"), (2, "b", "update_preimage"), (4, "d", "delete"), (9, "i", "insert")]


def test_merge_on_read_update_of_a_whole_file():
    t = _table("update")  # every live row of the second file updated: the old file leaves the table
    t.update(set={"g": "upper(g)"}, where="id >= 4", mode="merge-on-read")
    assert all(c.change_type is not None for c in _cdc(t))
    assert replay(t.changes(0)) == _rows(t.to_arrow())


ops = st.lists(st.one_of(
    st.tuples(st.just("append"), st.lists(st.integers(0, 9), min_size=1, max_size=4)),
    st.tuples(st.just("update"), st.integers(0, 9)),
    st.tuples(st.just("merge"), st.lists(st.integers(0, 12), max_size=4, unique=True)),
    st.tuples(st.just("delete"), st.integers(0, 9)),
), min_size=1, max_size=7)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.sampled_from(["merge-on-read", "copy-on-write"]))
def test_feed_replays_to_every_version(steps, mode):
    t = lakehouse.create_table(f"memory://change-refs/replay-{uuid.uuid4().hex}", schema=SCHEMA)
    for op, arg in steps:
        if op == "append":
            t.append(pa.table({"id": arg, "g": [f"g{i}" for i in arg]}, schema=SCHEMA))
        elif op == "update":
            t.update(set={"g": "g || 'u'"}, where=f"id <= {arg}", mode=mode)
        elif op == "delete":
            t.delete(where=f"id = {arg}", mode=mode)
        else:  # ids above 9 are never in the table: inserts
            source = pa.table({"id": arg, "g": [f"m{i}" if i % 3 else None for i in arg]}, schema=SCHEMA)
            (t.merge(source, on="id", mode=mode).when_matched_delete(where="source.g IS NULL")
             .when_matched_update().when_not_matched_insert().execute())
    feed = t.changes(0)
    for v in range(t.version + 1):
        assert replay(feed.filter(pa.compute.less_equal(feed["_commit_version"], v))) == \
            _rows(t.at(version=v).to_arrow()), f"version {v}"


@pytest.mark.parametrize("extra", [
    {"change_type": "upsert"},
    {"change_type": 3},
    {"positions": {"path": "deletes/a.puffin", "offset": 4, "length": 40, "cardinality": 1}},  # no change_type
    {"change_type": "delete", "positions": "deletes/a.puffin"},
    {"change_type": "delete", "positions": {"path": "../a.puffin", "offset": 4, "length": 40, "cardinality": 1}},
    {"change_type": "delete", "positions": {"path": "deletes/a.puffin", "offset": 4, "length": 40,
                                            "cardinality": 9}},  # more rows than the file has
])
def test_hostile_references_are_corrupt(extra):
    with pytest.raises(CorruptTableError):
        action_from_json({"cdc": {"path": "data/a.parquet", "size": 1, "record_count": 2, "schema_id": 0, **extra}})


def _committed(t: lakehouse.Table, cdc: AddCdcFile) -> lakehouse.Table:
    t._commit(t.state, "update", [cdc], parameters={})
    return t.refresh()


def test_reference_to_no_data_file_is_corrupt():
    t = _committed(_table("missing"), AddCdcFile(path="data/nothing.parquet", size=1, record_count=3, schema_id=0,
                                 change_type="insert"))
    with pytest.raises(CorruptTableError, match="no data file"):
        t.changes(t.version)


def test_reference_positions_past_the_file_are_corrupt():
    t = _table("past")
    index = t.state.file_index().to_pylist()[0]
    dv = write_deletion_vectors(t._store, {index["path"]: BitMap64([1, 7])})[index["path"]]
    cdc = AddCdcFile(path=index["path"], size=index["size"], record_count=index["record_count"], schema_id=0,
                     change_type="delete", positions=dv)
    t = _committed(t, cdc)
    with pytest.raises(CorruptTableError):
        t.changes(t.version)
