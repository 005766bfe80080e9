import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

import lakehouse

UTC = dt.timezone.utc


def every_type_table() -> pa.Table:
    return pa.table({
        "b": pa.array([True, None, False], pa.bool_()),
        "i8": pa.array([-128, None, 127], pa.int8()),
        "i16": pa.array([-32768, 0, None], pa.int16()),
        "i32": pa.array([None, 1, -2**31], pa.int32()),
        "i64": pa.array([2**63 - 1, None, -5], pa.int64()),
        "f32": pa.array([1.5, float("nan"), None], pa.float32()),
        "f64": pa.array([float("inf"), -0.0, None], pa.float64()),
        "s": pa.array(["héllo", None, "x" * 40], pa.string()),
        "bin": pa.array([b"\x00\x01", None, b"\xff" * 30], pa.binary()),
        "d": pa.array([dt.date(1969, 12, 31), None, dt.date(2024, 2, 29)], pa.date32()),
        "t": pa.array([dt.time(0, 0), dt.time(23, 59, 59, 999999), None], pa.time64("us")),
        "ts": pa.array([dt.datetime(2024, 3, 1, 10, 30), None, dt.datetime(1950, 1, 1)], pa.timestamp("us")),
        "ts_ns": pa.array([1, None, 1_700_000_000_123_456_789], pa.timestamp("ns")),
        "tstz": pa.array([dt.datetime(2024, 3, 1, tzinfo=UTC), None, dt.datetime(2000, 1, 1, tzinfo=UTC)],
                         pa.timestamp("us", tz="UTC")),
        "tz_ms": pa.array([0, 1, None], pa.timestamp("ms", tz="Europe/Paris")),
        "dec": pa.array([Decimal("123.45"), None, Decimal("-0.01")], pa.decimal128(10, 2)),
        "dec_big": pa.array([Decimal("1" * 40), None, Decimal(0)], pa.decimal256(50, 0)),
        "lst": pa.array([[1, 2], None, []], pa.list_(pa.int64())),
        "st": pa.array([{"x": 1, "y": "a"}, None, {"x": None, "y": "b"}],
                       pa.struct([("x", pa.int32()), ("y", pa.string())])),
        "lst_st": pa.array([[{"k": "a"}], [], None], pa.list_(pa.struct([("k", pa.string())]))),
        "m": pa.array([[("a", 1)], None, []], pa.map_(pa.string(), pa.int64())),
    })


def test_every_type_round_trips(table_uri):
    data = every_type_table()
    t = lakehouse.create_table(table_uri, schema=data.schema)
    t.append(data)
    out = lakehouse.open_table(table_uri).scan().to_arrow()
    assert out.schema.equals(data.schema)
    assert out.column("f64").to_pylist()[0] == float("inf")
    assert out.drop_columns(["f32"]).equals(data.drop_columns(["f32"]))
    assert out.column("f32").to_string() == data.column("f32").to_string()  # as text, so NaN equals NaN


def test_field_ids_are_stable_and_written_to_parquet(local_uri):
    import pyarrow.parquet as pq
    data = every_type_table()
    t = lakehouse.create_table(local_uri, schema=data.schema)
    t.append(data)
    ids = [f.id for f in t.schema.fields]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    f = t.scan().files()[0]
    pschema = pq.read_schema(f"{local_uri}/{f.path}")
    assert int(pschema.field("i64").metadata[b"PARQUET:field_id"]) == t.schema.find("i64").id
    st = pschema.field("st").type
    assert int(st.field("y").metadata[b"PARQUET:field_id"]) == t.schema.find("st.y").id


def test_accepts_batches_readers_and_arrow_streams(table_uri):
    data = pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    t = lakehouse.create_table(table_uri, schema=data.schema)
    t.append(data.to_batches()[0])
    t.append(pa.RecordBatchReader.from_batches(data.schema, data.to_batches()))

    class Stream:  # anything with __arrow_c_stream__ (polars, duckdb, ...)
        def __arrow_c_stream__(self, requested_schema=None):
            return data.__arrow_c_stream__(requested_schema)

    t.append(Stream())
    assert t.version == 3
    assert t.scan().count() == 9


def test_scan_is_an_arrow_stream(table_uri):
    data = pa.table({"a": list(range(10))})
    t = lakehouse.create_table(table_uri, schema=data.schema)
    t.append(data)
    assert pa.table(t.scan(where="a > 6")).column("a").to_pylist() == [7, 8, 9]
    reader = t.scan(columns=["a"]).to_batches()
    assert isinstance(reader, pa.RecordBatchReader)
    assert reader.read_all().num_rows == 10


def test_widening_cast_on_append_and_missing_nullable_columns(table_uri):
    schema = pa.schema([("a", pa.int64()), ("b", pa.string()), ("c", pa.float64())])
    t = lakehouse.create_table(table_uri, schema=schema)
    data = pa.table({"a": pa.array([1], pa.int32()), "b": pa.array(["x"], pa.large_string())})
    with pytest.raises(lakehouse.SchemaMismatchError, match="c: column missing"):
        t.append(data)  # strict: a missing column is never written as null silently
    t.append(data, schema_mode="merge")
    assert t.scan().to_arrow().to_pylist() == [{"a": 1, "b": "x", "c": None}]


def test_scan_columns_and_where(table_uri):
    data = pa.table({"id": [1, 2, 3, 4], "category": ["books", "toys", "books", "books"],
                     "amount": [5.0, 50.0, 20.0, 11.0]})
    t = lakehouse.create_table(table_uri, schema=data.schema)
    t.append(data)
    out = t.scan(where="category = 'books' AND amount > 10", columns=["id", "amount"]).to_arrow()
    assert out.column_names == ["id", "amount"]
    assert sorted(out.column("id").to_pylist()) == [3, 4]
    assert t.scan(where="category = 'books' AND amount > 10").count() == 2
    assert t.scan().count() == 4


def test_files_report_stats_and_partition(table_uri):
    data = pa.table({"id": [1, 2, 3], "name": ["a", None, "c"]})
    t = lakehouse.create_table(table_uri, schema=data.schema)
    t.append(data)
    (f,) = t.scan().files()
    assert f.record_count == 3 and f.size > 0 and f.path.endswith(".parquet")
    assert f.partition == {}
    assert f.column_stats["id"].min == 1 and f.column_stats["id"].max == 3
    assert f.column_stats["name"].null_count == 1


def test_empty_append_commits_nothing(table_uri):
    schema = pa.schema([("a", pa.int64())])
    t = lakehouse.create_table(table_uri, schema=schema)
    assert t.append(schema.empty_table()).version == 0
    assert t.version == 0
