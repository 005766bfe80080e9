"""Reprs a user sees in a notebook: Table, Schema (like Arrow's), PartitionSpec, Field."""

from __future__ import annotations

import uuid

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse.format.partitioning import parse_partition_by
from lakehouse.format.schema import Schema
from lakehouse.format.types import INT64, Field

NESTED = pa.schema([
    pa.field("id", pa.int64(), nullable=False),
    ("ts", pa.timestamp("us")),
    ("address", pa.struct([("zip", pa.string()), ("geo", pa.struct([("lat", pa.float64())]))])),
    ("tags", pa.list_(pa.string())),
    ("attrs", pa.map_(pa.string(), pa.int32())),
    ("my.col", pa.int64()),
    ("user_id", pa.int64()),
])


def _uri() -> str:
    return f"memory://reprs/{uuid.uuid4().hex}"


def test_schema_prints_like_arrow_with_field_ids_and_nesting():
    schema = Schema.from_arrow(NESTED)
    assert str(schema).splitlines() == [
        "1: id: int64 not null",
        "2: ts: timestamp[us]",
        "3: address: struct",
        "  4: zip: string",
        "  5: geo: struct",
        "    6: lat: float64",
        "7: tags: list",
        "  8: element: string",
        "9: attrs: map",
        "  10: key: string not null",
        "  11: value: int32",
        "12: my.col: int64",
        "13: user_id: int64",
    ]
    assert repr(schema).splitlines()[0] == "Schema(schema_id=0):"
    assert repr(schema).splitlines()[1:] == ["  " + line for line in str(schema).splitlines()]


def test_schema_shows_docs_and_an_empty_schema():
    schema = Schema(fields=(Field(id=1, name="id", type=INT64, required=True, doc="the key"),))
    assert str(schema) == "1: id: int64 not null  -- the key"
    assert str(Schema(fields=())) == "(no fields)"


def test_field_repr_shows_the_type_as_it_prints():
    field = Field(id=1, name="id", type=INT64, required=True)
    assert repr(field) == "Field(id=1, name='id', type=int64, required=True)"
    assert "doc='x'" in repr(Field(id=1, name="id", type=INT64, doc="x"))


def test_partition_spec_reads_as_partition_by():
    schema = Schema.from_arrow(NESTED)
    by = ["day(ts)", "bucket(16, user_id)", "truncate(4, address.zip)", '"my.col"']
    spec = parse_partition_by(by, schema, spec_id=3)
    assert spec.describe(schema) == 'day(ts), bucket(16, user_id), truncate(4, address.zip), "my.col"'
    assert repr(spec) == ("PartitionSpec(spec_id=3, fields=[1000: ts_day = day(#2), 1001: user_id_bucket_16 = "
                          "bucket(16, #13), 1002: address.zip_trunc_4 = truncate(4, #4), 1003: my.col = #12])")
    assert repr(spec.fields[0]) == "PartitionField(1000: ts_day = day(#2))"
    assert lakehouse.create_table(_uri(), schema=pa.schema([("a", pa.int8())])).partition_spec.describe() == \
        "unpartitioned"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["ts", "bucket(3, user_id)", "truncate(2, user_id)", "user_id", "address.zip",
                                 '"my.col"', "bucket(7, address.zip)", "address.geo.lat"]),
                min_size=1, max_size=4, unique=True), st.sampled_from(["day(ts)", "hour(ts)", "year(ts)", "id"]))
def test_describe_round_trips_through_partition_by(terms, time_term):
    """What describe() prints is what partition_by accepts, and means the same spec."""
    schema = Schema.from_arrow(NESTED)
    terms = [time_term, *terms]
    spec = parse_partition_by(terms, schema, spec_id=0)
    again = parse_partition_by([f.describe(schema) for f in spec.fields], schema, spec_id=0)
    assert again == spec


def test_table_repr_is_one_line_with_version_columns_and_partitioning():
    t = lakehouse.create_table(_uri(), schema=NESTED, partition_by=["day(ts)", "bucket(16, user_id)"])
    text = repr(t)
    assert "\n" not in text
    assert text.startswith(f"Table({t.uri!r}, version=0, columns=[id: int64 not null, ts: timestamp[us], ")
    assert text.endswith("partitioned by day(ts), bucket(16, user_id))")
    wide = lakehouse.create_table(_uri(), schema=pa.schema([(f"c{i}", pa.int8()) for i in range(20)]))
    assert "… 12 more]" in repr(wide) and "partitioned" not in repr(wide)


def test_table_repr_follows_renames_and_dropped_partition_sources():
    t = lakehouse.create_table(_uri(), schema=pa.schema([("ts", pa.timestamp("us")), ("k", pa.int64())]),
                               partition_by=["day(ts)"])
    with t.update_schema() as update:
        update.rename_column("ts", "event_time")
    assert repr(t).endswith("partitioned by day(event_time))")
    assert repr(t.at(version=0)).endswith("partitioned by day(ts))")
