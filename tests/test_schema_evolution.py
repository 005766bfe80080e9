import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

import lakehouse


def _table(uri):
    schema = pa.schema([("id", pa.int64()), ("amount", pa.float32()), ("qty", pa.int8()),
                        ("payload", pa.string()), ("day", pa.date32()), ("price", pa.decimal128(5, 2)),
                        ("address", pa.struct([("city", pa.string())]))])
    t = lakehouse.create_table(uri, schema=schema)
    t.append(pa.table({"id": [1, 2], "amount": pa.array([1.5, 2.5], pa.float32()), "qty": pa.array([1, 2], pa.int8()),
                       "payload": ["a", "b"], "day": [dt.date(2024, 1, 1), None],
                       "price": [Decimal("1.25"), Decimal("999.99")],
                       "address": [{"city": "Oslo"}, None]}, schema=schema))
    return t


def test_evolution_reads_old_files_by_id(table_uri):
    t = _table(table_uri)
    with t.update_schema() as s:
        s.add_column("discount", pa.float64())
        s.add_column("address.zip", pa.string())
        s.rename_column("amount", "value")
        s.drop_column("payload")
        s.widen_column("qty", pa.int64())
        s.widen_column("value", pa.float64())
        s.widen_column("day", pa.timestamp("us"))
        s.widen_column("price", pa.decimal128(10, 2))
        s.move_column("discount", after="value")
    assert t.version == 2
    out = t.scan().to_arrow()
    assert out.column_names == ["id", "value", "discount", "qty", "day", "price", "address"]
    assert out.schema.field("qty").type == pa.int64()
    assert out.schema.field("day").type == pa.timestamp("us")
    rows = sorted(out.to_pylist(), key=lambda r: r["id"])
    assert rows[0] == {"id": 1, "value": 1.5, "discount": None, "qty": 1, "day": dt.datetime(2024, 1, 1),
                       "price": Decimal("1.25"), "address": {"city": "Oslo", "zip": None}}
    assert rows[1]["address"] is None
    # new data under the new schema mixes with old files
    t.append(pa.table({"id": [3], "value": [9.0], "discount": [0.5], "qty": [2**40], "day": [None],
                       "price": [Decimal("12345678.90")], "address": [{"city": "Rome", "zip": "00100"}]}))
    assert t.scan(where="qty > 1000").to_arrow().column("id").to_pylist() == [3]
    assert sorted(t.scan(where="value >= 1.5").to_arrow().column("id").to_pylist()) == [1, 2, 3]
    assert t.scan(where="address.zip = '00100'").count() == 1


def test_time_travel_reads_with_the_schema_of_then(table_uri):
    t = _table(table_uri)
    with t.update_schema() as s:
        s.rename_column("amount", "value")
        s.drop_column("payload")
    old = t.scan(version=1).to_arrow()
    assert "amount" in old.column_names and "payload" in old.column_names
    assert "value" in t.scan().to_arrow().column_names


def test_drop_and_readd_is_a_new_column(table_uri):
    t = _table(table_uri)
    with t.update_schema() as s:
        s.drop_column("payload")
    with t.update_schema() as s:
        s.add_column("payload", pa.string())
    assert t.scan().to_arrow().column("payload").to_pylist() == [None, None]
    assert t.scan(where="payload = 'a'").count() == 0


@pytest.mark.parametrize("change, match", [
    (lambda s: s.widen_column("id", pa.int32()), "id"),
    (lambda s: s.widen_column("amount", pa.int64()), "amount"),
    (lambda s: s.widen_column("price", pa.decimal128(10, 3)), "price"),
    (lambda s: s.rename_column("amount", "id"), "exists"),
    (lambda s: s.set_nullable("amount", False), "required"),
    (lambda s: s.add_column("id", pa.int64()), "exists"),
    (lambda s: s.add_column("new", pa.int64(), required=True), "required"),
    (lambda s: s.drop_column("nope"), "nope"),
])
def test_invalid_changes_are_refused_and_nothing_committed(table_uri, change, match):
    t = _table(table_uri)
    with pytest.raises(lakehouse.SchemaMismatchError if match != "nope" else lakehouse.ColumnNotFoundError,
                       match=match):
        with t.update_schema() as s:
            change(s)
    assert t.refresh().version == 1


def test_cannot_drop_a_partition_source(table_uri):
    t = lakehouse.create_table(table_uri, schema=pa.schema([("ts", pa.timestamp("us")), ("v", pa.int64())]),
                               partition_by=["day(ts)"])
    with pytest.raises(lakehouse.SchemaMismatchError, match="partition"):
        with t.update_schema() as s:
            s.drop_column("ts")
    t.update_partitioning([])
    with t.update_schema() as s:
        s.drop_column("ts")
    assert [f.name for f in t.schema.fields] == ["v"]


def test_append_schema_merge_adds_columns(table_uri):
    t = lakehouse.create_table(table_uri, schema=pa.schema([("id", pa.int64())]))
    t.append(pa.table({"id": [1]}))
    with pytest.raises(lakehouse.SchemaMismatchError, match="extra"):
        t.append(pa.table({"id": [2], "extra": ["x"]}))
    t.append(pa.table({"id": [2], "extra": ["x"]}), schema_mode="merge")
    assert [f.name for f in t.schema.fields] == ["id", "extra"]
    assert sorted(t.scan().to_arrow().to_pylist(), key=lambda r: r["id"]) == [
        {"id": 1, "extra": None}, {"id": 2, "extra": "x"}]
    assert t.history(limit=1)[0].operation == "append"


def test_concurrent_schema_changes_conflict(table_uri):
    t = _table(table_uri)
    other = lakehouse.open_table(table_uri)
    with t.update_schema() as s:
        s.add_column("a", pa.int64())
    with pytest.raises(lakehouse.CommitConflictError, match="metadata"):
        with other.update_schema() as s:
            s.add_column("b", pa.int64())


def test_append_conflicts_with_concurrent_drop_of_its_column(table_uri):
    t = _table(table_uri)
    writer = lakehouse.open_table(table_uri)
    with t.update_schema() as s:
        s.drop_column("payload")
    with pytest.raises(lakehouse.CommitConflictError, match="payload"):
        writer.append(writer.scan(version=1).to_arrow())
    with t.update_schema() as s:
        s.add_column("note", pa.string())
    writer = lakehouse.open_table(table_uri).at(version=2)
    writer.append(writer.scan().to_arrow())   # written under v2's schema; an added column is harmless
    assert writer.scan().count() == 4
