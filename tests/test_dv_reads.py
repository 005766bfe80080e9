"""Every reader applies deletion vectors (spec/format.md, section 15.3): scans with and without a
predicate, limit, count, files(), time travel, checkpoints, schema evolution; and hostile DVs
in the log fail cleanly. DVs are committed by tests/dv_helpers.py, standing in for delete."""

from __future__ import annotations

import io
import uuid

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse.errors import CorruptTableError
from lakehouse.format.actions import DELETION_VECTORS
from lakehouse.format.checkpoint import checkpoint_path, read_checkpoint, write_checkpoint
from lakehouse.format.file_index import add_files
from lakehouse.format.log import log_path

from dv_helpers import delete_positions

SCHEMA = pa.schema([("id", pa.int64()), ("s", pa.string()), ("x", pa.float64())])


def _rows(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({"id": ids, "s": [f"s{i % 3}" for i in ids], "x": [i / 2 if i % 5 else None for i in ids]},
                    schema=SCHEMA)


def _table(sizes, uri=None, **kwargs):
    t = lakehouse.create_table(uri or f"memory://dv-reads/{uuid.uuid4().hex}", schema=SCHEMA, **kwargs)
    start = 0
    for n in sizes:
        t.append(_rows(start, n))
        start += n
    return t


def _paths(t) -> list[str]:
    return t.scan().files_table()["path"].to_pylist()


def _expected(t, deleted_ids: set[int], where: str | None = None) -> list[int]:
    """The oracle: DuckDB over every row the table's files store, less the deleted ids."""
    every = pa.concat_tables([pq.read_table(t._store.arrow_fs.open_input_file(t._store.full_path(p)))
                              for p in _paths(t)]) if _paths(t) else SCHEMA.empty_table()
    live = every.filter(pc.invert(pc.is_in(every["id"], pa.array(sorted(deleted_ids), pa.int64()))))
    sql = "SELECT id FROM live" + (f" WHERE {where}" if where else "")
    return sorted(r[0] for r in duckdb.sql(sql).fetchall())


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=4), st.data())
def test_scans_counts_limits_and_files_agree_with_the_oracle(sizes, data):
    t = _table(sizes)
    offsets = dict(zip(_paths(t), [sum(sizes[:i]) for i in range(len(sizes))]))
    deleted: set[int] = set()
    for _ in range(data.draw(st.integers(1, 2))):  # a second round unions with the first DVs
        chosen = {}
        for path, n in zip(offsets, sizes):
            rows = data.draw(st.sets(st.integers(0, n - 1)))
            if rows:
                chosen[path] = rows
                deleted |= {offsets[path] + r for r in rows}
        if chosen:
            delete_positions(t, chosen)
    live = _expected(t, deleted)
    assert sorted(t.scan().to_arrow()["id"].to_pylist()) == live
    assert t.scan().count() == len(t.scan()) == len(live)
    assert sum(f.live_count for f in t.scan().files()) == len(live)
    assert t.scan(columns=[]).to_arrow().num_rows == len(live)
    for where in ("id < 20", "x > 3", "s = 's1' OR x IS NULL"):
        assert sorted(t.scan(where=where).to_arrow()["id"].to_pylist()) == _expected(t, deleted, where)
        assert t.scan(where=where).count() == len(_expected(t, deleted, where))
    limit = data.draw(st.integers(0, len(live) + 2))
    got = t.scan(limit=limit).to_arrow()["id"].to_pylist()
    assert got == t.scan().to_arrow()["id"].to_pylist()[:limit]  # the first rows in commit order
    assert t.scan(limit=limit).count() == min(limit, len(live))
    assert sorted(t.scan(ordered=False).to_arrow()["id"].to_pylist()) == live


def test_rows_keep_file_order_and_a_replaced_file_moves_to_the_end():
    t = _table([5, 5])
    first, second = _paths(t)
    delete_positions(t, {first: [1, 3]})
    assert t.scan().to_arrow()["id"].to_pylist() == [5, 6, 7, 8, 9, 0, 2, 4]  # spec 4.4: its new add's place
    delete_positions(t, {second: [0]})
    assert t.scan().to_arrow()["id"].to_pylist() == [0, 2, 4, 6, 7, 8, 9]
    assert [(f.record_count, f.live_count) for f in t.scan().files()] == [(5, 3), (5, 4)]
    table = t.scan().files_table()
    assert table.column_names[:5] == ["path", "size", "record_count", "live_count", "spec_id"]


def test_time_travel_sees_each_versions_deletion_vectors():
    t = _table([6])
    (path,) = _paths(t)
    v1 = t.version
    delete_positions(t, {path: [0]})
    delete_positions(t, {path: [5]})
    assert t.scan(version=v1).to_arrow()["id"].to_pylist() == list(range(6))
    assert t.scan(version=v1 + 1).to_arrow()["id"].to_pylist() == [1, 2, 3, 4, 5]
    assert t.scan(version=v1 + 2).to_arrow()["id"].to_pylist() == [1, 2, 3, 4]
    assert t.scan(version=v1 + 1).count() == 5
    assert lakehouse.open_table(t._store.uri).scan().count() == 4


def test_the_feature_is_listed_and_the_protocol_refuses_an_add_with_a_dv_without_it():
    t = _table([4])
    (path,) = _paths(t)
    delete_positions(t, {path: [1]})
    assert DELETION_VECTORS in t.state.protocol.reader_features
    assert DELETION_VECTORS in t.state.protocol.writer_features
    # The same entry without its protocol action: an add with a DV in a table without the feature.
    store = t._store
    entry = orjson.loads(store.read_bytes(log_path(t.version)))
    entry["actions"] = [a for a in entry["actions"] if "protocol" not in a]
    store.delete(log_path(t.version))
    store.write_bytes(log_path(t.version), orjson.dumps(entry))
    with pytest.raises(CorruptTableError, match="deletion_vectors"):
        lakehouse.open_table(store.uri)


def test_checkpoints_carry_descriptors_and_old_checkpoints_without_the_column_still_read(local_uri):
    t = _table([5, 5], uri=local_uri)
    first, second = _paths(t)
    delete_positions(t, {first: [0, 4]})
    write_checkpoint(t._store, t.state)
    reopened = lakehouse.open_table(local_uri)
    assert reopened.state.files.base is not None  # read from the checkpoint
    assert reopened.scan().to_arrow()["id"].to_pylist() == [5, 6, 7, 8, 9, 1, 2, 3]
    assert reopened.scan().count() == 8
    delete_positions(reopened, {first: [1]})  # a file known only from the checkpoint gets a new DV
    assert lakehouse.open_table(local_uri).scan().to_arrow()["id"].to_pylist() == [5, 6, 7, 8, 9, 2, 3]
    # A checkpoint of an earlier writer: no deletion_vector column (and no DVs in its table).
    old = _table([3, 2], uri=local_uri + "-old")
    write_checkpoint(old._store, old.state)
    data = old._store.read_bytes(checkpoint_path(old.version))
    table = pq.read_table(pa.BufferReader(data))
    sink = io.BytesIO()
    pq.write_table(table.drop_columns(["deletion_vector"]).replace_schema_metadata(table.schema.metadata), sink)
    old._store.write_bytes(checkpoint_path(old.version), sink.getvalue())
    state = read_checkpoint(old._store, old.version)
    assert state is not None and lakehouse.open_table(local_uri + "-old").scan().count() == 5


@pytest.mark.parametrize("field, value", [("cardinality", 99), ("length", 3), ("offset", -5), ("path", "../x")])
def test_a_checkpoint_with_a_bad_descriptor_is_ignored(local_uri, field, value, caplog):
    t = _table([5], uri=local_uri)
    (path,) = _paths(t)
    delete_positions(t, {path: [0]})
    write_checkpoint(t._store, t.state)
    data = t._store.read_bytes(checkpoint_path(t.version))
    table = pq.read_table(pa.BufferReader(data))
    dvs = table["deletion_vector"].to_pylist()
    dvs[0][field] = value
    table = table.set_column(table.column_names.index("deletion_vector"), "deletion_vector",
                             pa.array(dvs, table.schema.field("deletion_vector").type))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    t._store.write_bytes(checkpoint_path(t.version), sink.getvalue())
    assert read_checkpoint(t._store, t.version) is None  # damaged: readers fall back to the log
    assert lakehouse.open_table(local_uri).scan().to_arrow()["id"].to_pylist() == [1, 2, 3, 4]


def _tamper(t, **change) -> None:
    """Rewrite the newest entry's DV descriptor (as a hostile writer could)."""
    store = t._store
    entry = orjson.loads(store.read_bytes(log_path(t.version)))
    for action in entry["actions"]:
        if "add" in action:
            action["add"]["deletion_vector"].update(change)
    store.delete(log_path(t.version))
    store.write_bytes(log_path(t.version), orjson.dumps(entry))


@pytest.mark.parametrize("change", [
    {"offset": 10**9}, {"offset": 0}, {"length": 2**31 - 1}, {"cardinality": 2}, {"path": "data/../../x.puffin"},
    {"path": "%2e%2e/x.puffin"}, {"cardinality": 5},
])
def test_hostile_deletion_vectors_are_corrupt_table_errors(change):
    t = _table([5])
    (path,) = _paths(t)
    delete_positions(t, {path: [0]})
    _tamper(t, **change)
    with pytest.raises(CorruptTableError):
        lakehouse.open_table(t._store.uri).scan().to_arrow()


def test_a_deletion_vector_past_the_files_rows_is_corrupt():
    t = _table([5, 5])
    first, second = _paths(t)
    delete_positions(t, {first: [4]})
    dv = t.state.files.added[first].deletion_vector
    delete_positions(t, {second: [1]})
    entry = orjson.loads(t._store.read_bytes(log_path(t.version)))
    for action in entry["actions"]:
        if "add" in action:  # the second file now points at the first's DV, whose position 4 fits...
            action["add"]["deletion_vector"] = dv.to_json()
            action["add"]["record_count"] = 4  # ...until the file claims 4 rows
    t._store.delete(log_path(t.version))
    t._store.write_bytes(log_path(t.version), orjson.dumps(entry))
    with pytest.raises(CorruptTableError, match="position 4 of a file of 4 rows"):
        lakehouse.open_table(t._store.uri).scan().to_arrow()


def test_deletion_vectors_apply_under_schema_evolution_and_partitioning():
    t = _table([6, 6], partition_by=["s"])
    paths = _paths(t)
    delete_positions(t, {paths[0]: [0], paths[-1]: [0]})
    with t.update_schema() as u:
        u.rename_column("x", "y")
        u.add_column("z", pa.int32())
    t.append(pa.table({"id": [100], "s": ["s0"], "y": [1.0], "z": pa.array([7], pa.int32())}))
    deleted = {int(pq.read_table(t._store.arrow_fs.open_input_file(t._store.full_path(p)))["id"][0].as_py())
               for p in (paths[0], paths[-1])}
    ids = sorted(t.scan().to_arrow()["id"].to_pylist())
    assert ids == sorted(set(range(12)) - deleted | {100})
    assert sorted(t.scan(where="s = 's0'").to_arrow()["id"].to_pylist()) == \
        sorted(i for i in set(range(12)) - deleted | {100} if i == 100 or i % 3 == 0)
    assert t.scan().count() == len(ids)


def test_add_files_rebuilds_the_logs_adds_from_the_index():
    schema = pa.schema([("id", pa.int64()), ("ts", pa.timestamp("ns")), ("d", pa.decimal128(9, 2)),
                        ("b", pa.binary()), ("day", pa.date32()), ("f", pa.float32()), ("flag", pa.bool_())])
    t = lakehouse.create_table(f"memory://dv-reads/{uuid.uuid4().hex}", schema=schema,
                               partition_by=["day(ts)", "flag"])
    import datetime as dt
    import decimal
    t.append(pa.table({"id": [1, 2, None], "ts": [dt.datetime(2024, 1, 1, 1), dt.datetime(2024, 1, 2), None],
                       "d": [decimal.Decimal("1.25"), None, decimal.Decimal("-3.10")],
                       "b": [b"\x00\xff", b"abc", None], "day": [dt.date(2024, 1, 1), None, dt.date(1970, 1, 1)],
                       "f": [float("nan"), 1.5, None], "flag": [True, False, None]}, schema=schema))
    originals = dict(t.state.files.added)
    rebuilt = add_files(t.state.file_index(), t.state.metadata)
    assert [a.to_json() for a in rebuilt] == [originals[a.path].to_json() for a in rebuilt]


def test_a_reader_without_the_feature_refuses_the_table(monkeypatch):
    from lakehouse.errors import UnsupportedFeatureError
    from lakehouse.format import state as state_module
    t = _table([3])
    delete_positions(t, {_paths(t)[0]: [0]})
    monkeypatch.setattr(state_module, "KNOWN_READER_FEATURES", frozenset())
    with pytest.raises(UnsupportedFeatureError, match="deletion_vectors"):
        lakehouse.open_table(t._store.uri)


def test_overwrite_where_keeps_deleted_rows_deleted():
    t = _table([6, 4])
    first, second = _paths(t)
    delete_positions(t, {first: [0, 1], second: [3]})
    t.overwrite(pa.table({"id": [50], "s": ["s9"], "x": [1.0]}, schema=SCHEMA), where="id >= 5")
    assert sorted(t.scan().to_arrow()["id"].to_pylist()) == [2, 3, 4, 50]
    assert t.scan().count() == 4


def test_deletion_vectors_on_every_store(table_uri):
    t = _table([4, 3], uri=table_uri)
    first, second = _paths(t)
    delete_positions(t, {first: [0, 3], second: [2]})
    reopened = lakehouse.open_table(table_uri)
    assert reopened.scan().to_arrow()["id"].to_pylist() == [1, 2, 4, 5]
    assert reopened.scan(where="id > 1").count() == 3 and reopened.scan().count() == 4


@pytest.mark.parametrize("rows, row_group_rows", [(300_000, None), (5_000, 700)])
def test_positions_count_across_batches_and_row_groups(rows, row_group_rows):
    properties = {"write.parquet.row-group-rows": str(row_group_rows)} if row_group_rows else {}
    t = lakehouse.create_table(f"memory://dv-reads/{uuid.uuid4().hex}", schema=pa.schema([("id", pa.int64())]),
                               properties=properties)
    t.append(pa.table({"id": pa.array(range(rows), pa.int64())}))
    t.append(pa.table({"id": pa.array([-1, -2], pa.int64())}))
    first = _paths(t)[0]
    edges = {0, 699, 700, 1399, 1400, 131071, 131072, 262143, 262144, rows - 1}
    deleted = sorted(p for p in edges if p < rows)
    delete_positions(t, {first: deleted})
    expected = [-1, -2] + [i for i in range(rows) if i not in set(deleted)]
    assert t.scan().to_arrow()["id"].to_pylist() == expected
    assert t.scan(where="id >= 0").to_arrow()["id"].to_pylist() == expected[2:]
    assert t.scan(limit=5).to_arrow()["id"].to_pylist() == expected[:5]


def test_files_with_dvs_are_read_a_few_at_a_time_in_order(monkeypatch):
    from lakehouse.read import data_files
    monkeypatch.setattr(data_files, "DV_GROUP_FILES", 2)
    t = _table([3, 3, 3, 3, 3])
    delete_positions(t, {p: [1] for p in _paths(t)})
    assert t.scan().to_arrow()["id"].to_pylist() == [i for i in range(15) if i % 3 != 1]
    assert sorted(t.scan(ordered=False).to_arrow()["id"].to_pylist()) == [i for i in range(15) if i % 3 != 1]


def test_row_groups_are_still_pruned_under_a_predicate(monkeypatch):
    t = lakehouse.create_table(f"memory://dv-reads/{uuid.uuid4().hex}", schema=pa.schema([("id", pa.int64())]),
                               properties={"write.parquet.row-group-rows": "100"})
    t.append(pa.table({"id": pa.array(range(1000), pa.int64())}))
    delete_positions(t, {_paths(t)[0]: [0, 99, 100, 350, 351, 999]})
    from lakehouse.read import data_files
    read = []
    original = data_files.live_mask
    monkeypatch.setattr(data_files, "live_mask", lambda positions, start, stop: read.append((start, stop)) or
                        original(positions, start, stop))
    assert t.scan(where="id >= 340 AND id < 360").to_arrow()["id"].to_pylist() == \
        [i for i in range(340, 360) if i not in (350, 351)]
    assert t.scan(where="id >= 95 AND id <= 101").to_arrow()["id"].to_pylist() == [95, 96, 97, 98, 101]
    assert t.scan(where="id > 990").to_arrow()["id"].to_pylist() == list(range(991, 999))
    assert t.scan(where="id > 990").count() == 8
    assert read == [(300, 400), (0, 100), (100, 200), (900, 1000), (900, 1000)]  # only row groups that may match
