"""Conflict rules (spec/format.md section 9): a column counts as written only when the caller
supplied it. Columns padded with nulls used to count, so a blind append failed whenever a
concurrent commit dropped a column the append never had."""

import pyarrow as pa
import pytest

import lakehouse

SCHEMA = pa.schema([("id", pa.int64()), ("note", pa.string()),
                    ("s", pa.struct([("x", pa.int64()), ("y", pa.string())]))])


def _handles(uri):
    t = lakehouse.create_table(uri, schema=SCHEMA)
    return t, lakehouse.open_table(uri)


def test_append_without_a_concurrently_dropped_column_commits(table_uri):
    dropper, writer = _handles(table_uri)
    with dropper.update_schema() as s:
        s.drop_column("note")
    writer.append(pa.table({"id": [1, 2]}), schema_mode="merge")  # stale handle; "note" padded with nulls, not written
    out = lakehouse.open_table(table_uri).to_arrow()
    assert out.column_names == ["id", "s"] and out.column("id").to_pylist() == [1, 2]


def test_append_without_a_concurrently_dropped_struct_child_commits(table_uri):
    dropper, writer = _handles(table_uri)
    with dropper.update_schema() as s:
        s.drop_column("s.y")
    writer.append(pa.table({"id": [1], "s": pa.array([{"x": 5}], pa.struct([("x", pa.int64())]))}),
                  schema_mode="merge")
    out = lakehouse.open_table(table_uri).to_arrow()
    assert out.column("s").to_pylist() == [{"x": 5}]


@pytest.mark.parametrize("data", [
    pa.table({"id": [1], "note": ["kept?"]}),
    pa.table({"id": [1], "s": pa.array([{"y": "kept?"}], pa.struct([("y", pa.string())]))}),
], ids=["top-level", "struct-child"])
def test_append_supplying_a_concurrently_dropped_column_conflicts(table_uri, data):
    dropper, writer = _handles(table_uri)
    with dropper.update_schema() as s:
        s.drop_column("note")
        s.drop_column("s.y")
    with pytest.raises(lakehouse.CommitConflictError, match="dropped column"):
        writer.append(data, schema_mode="merge")
    assert lakehouse.open_table(table_uri).version == 1
