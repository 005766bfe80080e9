"""Partition specs: parsing `partition_by`, JSON, values of rows, directories, the files-table type."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pyarrow as pa
import pytest

from lakehouse.errors import InvalidPartitionSpecError, SchemaMismatchError
from lakehouse.format.partitioning import (
    NULL_PARTITION, UNPARTITIONED, PartitionField, PartitionSpec, evolve_spec, human_string,
    parse_partition_by, partition_path, partition_struct_type, partition_values,
)
from lakehouse.format.schema import Schema
from lakehouse.format.transforms import (
    DAY, HOUR, IDENTITY, MONTH, VOID, YEAR, BucketTransform, TruncateTransform,
)
from lakehouse.format.types import DATE, INT32, STRING, TIME, TimestampType

UTC = dt.timezone.utc
ARROW = pa.schema([
    ("id", pa.int64()), ("ts", pa.timestamp("us", "UTC")), ("category", pa.string()),
    ("addr", pa.struct([("zip", pa.string()), ("geo", pa.struct([("lat", pa.float64())]))])),
    ("tags", pa.list_(pa.string())), ("props", pa.map_(pa.string(), pa.string())),
    ("price", pa.decimal128(9, 2)), ("d", pa.date32()), ("b", pa.binary()), ("ns", pa.timestamp("ns")),
    ("flag", pa.bool_()), ("t", pa.time64("us")), ("score", pa.float64()), ("sku", pa.string()),
])
SCHEMA = Schema.from_arrow(ARROW)


def fid(name: str) -> int:
    return SCHEMA.find(name).id


def table() -> pa.Table:
    return pa.table({
        "id": [1, 2, None, 34],
        "ts": pa.array([dt.datetime(2024, 3, 1, 10, tzinfo=UTC), dt.datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
                        None, dt.datetime(2017, 11, 16, 22, 31, 8, tzinfo=UTC)], pa.timestamp("us", "UTC")),
        "category": ["books/a=b%c", "x y", None, "iceberg"],
        "addr": [{"zip": "12345", "geo": None}, None, {"zip": None, "geo": {"lat": 1.0}}, {"zip": "9", "geo": None}],
        "tags": [[], None, ["a"], []], "props": [[], None, [("k", "v")], []],
        "price": [Decimal("1.50"), None, Decimal("-3.25"), Decimal("14.20")],
        "d": [dt.date(2024, 1, 1), dt.date(1969, 1, 1), None, dt.date(2017, 11, 16)],
        "b": [b"\x00\xff", None, b"ab", b"\x00\x01\x02\x03"],
        "ns": pa.array([1510871468000001001, -1, None, 0], pa.int64()).view(pa.timestamp("ns")),
        "flag": [True, False, None, True], "t": [dt.time(1, 2, 3, 4), None, dt.time(0), dt.time(22, 31, 8)],
        "score": [1.5, None, float("nan"), 0.0], "sku": ["abcdef", "ab", None, "abcd"],
    }, schema=ARROW)


# ---------------------------------------------------------------- parse_partition_by

def test_parse_every_form_with_default_names_and_ids():
    spec = parse_partition_by(
        ["day(ts)", "bucket(16, id)", "truncate(4, sku)", "category", "YEAR ( d )", "hour(ns)",
         "identity(price)", "addr.zip", " Bucket ( 8 , `b` ) ", "truncate(sku, 2)", "void(flag)", "addr.geo.lat"],
        SCHEMA, spec_id=3, last_partition_id=1004)
    assert spec.spec_id == 3
    assert [(f.field_id, f.name, str(f.transform), f.source_id) for f in spec.fields] == [
        (1005, "ts_day", "day", fid("ts")),
        (1006, "id_bucket_16", "bucket[16]", fid("id")),
        (1007, "sku_trunc_4", "truncate[4]", fid("sku")),
        (1008, "category", "identity", fid("category")),
        (1009, "d_year", "year", fid("d")),
        (1010, "ns_hour", "hour", fid("ns")),
        (1011, "price", "identity", fid("price")),
        (1012, "addr.zip", "identity", fid("addr.zip")),
        (1013, "b_bucket_8", "bucket[8]", fid("b")),
        (1014, "sku_trunc_2", "truncate[2]", fid("sku")),
        (1015, "flag_null", "void", fid("flag")),
        (1016, "addr.geo.lat", "identity", fid("addr.geo.lat")),
    ]


def test_parse_defaults_and_spark_plurals():
    spec = parse_partition_by(["days(ts)", "months(d)"], SCHEMA, spec_id=0)
    assert [f.field_id for f in spec.fields] == [1000, 1001]
    assert [f.transform for f in spec.fields] == [DAY, MONTH]
    assert parse_partition_by("Category", SCHEMA, spec_id=0).fields[0].name == "category"  # case-insensitive find
    assert parse_partition_by([], SCHEMA, spec_id=0) == PartitionSpec(spec_id=0, fields=())


@pytest.mark.parametrize("columns,message", [
    (["day(nope)"], "nope"),
    (["nope"], "nope"),
    (["addr.nope"], "addr.nope"),
    (["day(category)"], "day"),
    (["hour(d)"], "hour"),
    (["bucket(16, score)"], "bucket"),
    (["truncate(4, ts)"], "truncate"),
    (["year(flag)"], "year"),
    (["bucket(0, id)"], "bucket"),
    (["bucket(-3, id)"], "bucket"),
    (["truncate(0, sku)"], "truncate"),
    (["bucket(id)"], "bucket"),
    (["bucket(16, 4)"], "bucket"),
    (["bucket(x, id)"], "bucket"),
    (["truncate(4, sku, id)"], "truncate"),
    (["frobnicate(id)"], "frobnicate"),
    (["day()"], "day"),
    (["day(ts, id)"], "day"),
    (["tags"], "tags"),
    (["props"], "props"),
    (["addr"], "addr"),
    ([""], "empty"),
    (["category", "category"], "duplicate"),
    (["bucket(16, id)", "bucket(16, id)"], "duplicate"),
    (["day(ts)", "hour(ts)"], "redundant"),
    (["year(d)", "month(d)"], "redundant"),
])
def test_parse_errors(columns, message):
    with pytest.raises(InvalidPartitionSpecError, match=message):
        parse_partition_by(columns, SCHEMA, spec_id=0)


def test_parse_allows_several_transforms_of_one_column():
    spec = parse_partition_by(["day(ts)", "bucket(4, ts)", "bucket(8, ts)", "ts"], SCHEMA, spec_id=0)
    assert [f.name for f in spec.fields] == ["ts_day", "ts_bucket_4", "ts_bucket_8", "ts"]


# ---------------------------------------------------------------- JSON and values

def test_json_round_trip_in_icebergs_shape():
    spec = parse_partition_by(["day(ts)", "bucket(16, id)", "truncate(4, sku)"], SCHEMA, spec_id=2)
    obj = spec.to_json()
    assert obj["fields"][0] == {"source_id": fid("ts"), "field_id": 1000, "name": "ts_day", "transform": "day"}
    assert PartitionSpec.from_json(obj) == spec
    assert UNPARTITIONED.to_json() == {"spec_id": 0, "fields": []}
    assert PartitionSpec.from_json(UNPARTITIONED.to_json()) == UNPARTITIONED and UNPARTITIONED.is_unpartitioned
    kebab = {"spec-id": 1, "fields": [{"source-id": 2, "field-id": 1000, "name": "ts_hour", "transform": "hour"}]}
    assert PartitionSpec.from_json(kebab).fields == (PartitionField(source_id=2, field_id=1000, name="ts_hour", transform=HOUR),)
    with pytest.raises(InvalidPartitionSpecError):
        PartitionSpec.from_json({"spec_id": 1, "fields": [{"source_id": 2, "field_id": 1, "name": "x", "transform": "nope"}]})


def test_partition_values_one_column_per_field_named_by_id():
    spec = parse_partition_by(["day(ts)", "bucket(16, id)", "truncate(4, category)", "addr.zip", "addr.geo.lat",
                               "year(d)", "hour(ns)", "void(flag)"], SCHEMA, spec_id=0)
    values = partition_values(spec, SCHEMA, table())
    assert values.column_names == [str(i) for i in range(1000, 1008)]
    assert [f.type for f in values.schema] == [pa.date32(), pa.int32(), pa.string(), pa.string(), pa.float64(),
                                              pa.int32(), pa.int32(), pa.bool_()]
    rows = values.to_pydict()
    assert rows["1000"] == [dt.date(2024, 3, 1), dt.date(1969, 12, 31), None, dt.date(2017, 11, 16)]
    assert rows["1001"][2] is None and rows["1001"][3] == 2017239379 % 16  # hash(34) from the spec
    assert rows["1002"] == ["book", "x y", None, "iceb"]
    assert rows["1003"] == ["12345", None, None, "9"]  # a null struct nulls its children
    assert rows["1004"] == [None, None, 1.0, None]
    assert rows["1005"] == [54, -1, None, 47]
    assert rows["1006"] == [419686, -1, None, 0]
    assert rows["1007"] == [None] * 4


def test_partition_values_edge_cases():
    t = table()
    assert partition_values(UNPARTITIONED, SCHEMA, t).num_rows == t.num_rows
    assert partition_values(UNPARTITIONED, SCHEMA, t).num_columns == 0
    chunked = pa.concat_tables([t, t])
    spec = parse_partition_by(["bucket(16, category)"], SCHEMA, spec_id=0)
    assert partition_values(spec, SCHEMA, chunked).column("1000").to_pylist() == \
        partition_values(spec, SCHEMA, t).column("1000").to_pylist() * 2
    with pytest.raises(SchemaMismatchError, match="category"):
        partition_values(spec, SCHEMA, t.drop_columns(["category"]))
    ghost = PartitionSpec(spec_id=1, fields=(PartitionField(source_id=999, field_id=1000, name="g", transform=IDENTITY),))
    with pytest.raises(SchemaMismatchError):
        partition_values(ghost, SCHEMA, t)


# ---------------------------------------------------------------- directories

def test_partition_path_human_forms_and_escaping():
    spec = parse_partition_by(["day(ts)", "ts", "bucket(16, id)", "category", "year(d)", "truncate(2, sku)", "addr.zip",
                               "price", "b", "flag", "t", "score"], SCHEMA, spec_id=0)
    values = partition_values(spec, SCHEMA, table())
    paths = [partition_path(spec, SCHEMA, {int(k): values.column(k)[i] for k in values.column_names})
             for i in range(values.num_rows)]
    assert paths[0] == ("ts_day=2024-03-01/ts=2024-03-01T10%3A00%3A00%2B00%3A00/id_bucket_16=4/"
                        "category=books%2Fa%3Db%25c/d_year=2024/sku_trunc_2=ab/addr.zip=12345/price=1.50/"
                        "b=AP8%3D/flag=true/t=01%3A02%3A03.000004/score=1.5")
    assert paths[1].startswith("ts_day=1969-12-31/ts=1969-12-31T23%3A59%3A00%2B00%3A00/")
    assert "/category=x%20y/d_year=1969/sku_trunc_2=ab/addr.zip=__HIVE_DEFAULT_PARTITION__/" in paths[1]
    assert paths[2].startswith(f"ts_day={NULL_PARTITION}/ts={NULL_PARTITION}/id_bucket_16={NULL_PARTITION}/")
    for p in paths:  # one level per field: no value can add a level or an '='
        assert p.count("/") == len(spec.fields) - 1 and p.count("=") == len(spec.fields)
    # Python values (as to_pylist gives them) render the same as scalars.
    as_python = [partition_path(spec, SCHEMA, {int(k): v for k, v in row.items()}) for row in values.to_pylist()]
    assert as_python == paths


def test_human_strings_of_time_transforms():
    assert human_string(YEAR, DATE, 54) == "2024" and human_string(YEAR, DATE, -1) == "1969"
    assert human_string(MONTH, DATE, 650) == "2024-03" and human_string(MONTH, DATE, -1) == "1969-12"
    assert human_string(DAY, DATE, dt.date(2024, 3, 1)) == "2024-03-01" and human_string(DAY, DATE, -1) == "1969-12-31"
    assert human_string(HOUR, TimestampType(), 474034) == "2024-01-29-10"
    assert human_string(HOUR, TimestampType(), -1) == "1969-12-31-23"
    assert human_string(IDENTITY, TimestampType("ns"), pa.scalar(1510871468000001001, pa.timestamp("ns"))) == \
        "2017-11-16T22:31:08.000001001"
    assert human_string(IDENTITY, TimestampType("ms", "UTC"), 1) == "1970-01-01T00:00:00.001+00:00"
    assert human_string(IDENTITY, TIME, 81068000000) == "22:31:08"
    assert human_string(IDENTITY, STRING, "") == ""
    assert human_string(TruncateTransform(3), INT32, -10) == "-10"
    assert human_string(BucketTransform(4), STRING, 3) == "3"
    assert human_string(VOID, INT32, None) == NULL_PARTITION


# ---------------------------------------------------------------- files-table type and evolution

def test_partition_struct_type_spans_specs():
    s1 = parse_partition_by(["day(ts)", "category"], SCHEMA, spec_id=1)
    s2 = PartitionSpec(spec_id=2, fields=(
        PartitionField(source_id=fid("ts"), field_id=1000, name="ts_day", transform=DAY),
        PartitionField(source_id=fid("id"), field_id=1002, name="id_bucket_16", transform=BucketTransform(16)),
        PartitionField(source_id=fid("sku"), field_id=999, name="sku_trunc_2", transform=TruncateTransform(2)),
        PartitionField(source_id=4242, field_id=1003, name="dropped", transform=IDENTITY),
    ))
    t = partition_struct_type([UNPARTITIONED, s2, s1], SCHEMA)
    assert t == pa.struct([("999", pa.string()), ("1000", pa.date32()), ("1001", pa.string()), ("1002", pa.int32())])
    assert partition_struct_type([UNPARTITIONED], SCHEMA) == pa.struct([])


def _metadata(*specs: PartitionSpec) -> SimpleNamespace:
    return SimpleNamespace(schema=SCHEMA, partition_specs=specs,
                           last_partition_id=max([f.field_id for s in specs for f in s.fields], default=999))


def test_evolve_spec_reuses_equivalent_specs_and_field_ids():
    first = parse_partition_by(["day(ts)", "category"], SCHEMA, spec_id=0)
    meta = _metadata(first)
    assert evolve_spec(meta, ["day(ts)", "category"]) is first
    second = evolve_spec(meta, ["category", "bucket(8, id)"])
    assert second.spec_id == 1
    assert [(f.name, f.field_id) for f in second.fields] == [("category", 1001), ("id_bucket_8", 1002)]
    meta = _metadata(first, second)
    assert evolve_spec(meta, ["category", "bucket(8, id)"]) is second
    third = evolve_spec(meta, [])
    assert third == PartitionSpec(spec_id=2, fields=())
    assert evolve_spec(_metadata(UNPARTITIONED, first), []) is UNPARTITIONED
    with pytest.raises(InvalidPartitionSpecError):
        evolve_spec(meta, ["day(category)"])


def test_times_render_alike_from_python_and_ticks():
    assert human_string(IDENTITY, TIME, dt.time(1, 2, 3, 500000)) == human_string(IDENTITY, TIME, 3723500000) == \
        "01:02:03.5"


def test_quoted_names_may_hold_odd_characters():
    schema = Schema.from_arrow(pa.schema([("a(b)", pa.int32()), ("x y", pa.string())]))
    spec = parse_partition_by(["`a(b)`", 'bucket(2, "x y")'], schema, spec_id=0)
    assert [f.name for f in spec.fields] == ["a(b)", "x y_bucket_2"]
    with pytest.raises(InvalidPartitionSpecError, match="not a column name"):
        parse_partition_by(["a(b"], schema, spec_id=0)
