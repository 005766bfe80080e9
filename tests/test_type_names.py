"""Types given as names (lakehouse.format.type_names): `create_table(schema={"id": "int64"})` and
`add_column("x", "string")` used to fail with raw AttributeErrors; now they accept the names the
library prints, Arrow's aliases and DuckDB's SQL names, and refuse anything else with an
InvalidArgumentError saying what is accepted."""

import os

import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import lakehouse
from lakehouse.format.type_names import parse_type_name
from lakehouse.format.types import IdAssigner, from_arrow_type


@pytest.mark.parametrize("name, arrow", [
    ("int64", pa.int64()), ("INT64", pa.int64()), ("int8", pa.int8()), ("int32", pa.int32()),
    ("float32", pa.float32()), ("float64", pa.float64()), ("boolean", pa.bool_()), ("string", pa.string()),
    ("binary", pa.binary()), ("date", pa.date32()), ("time", pa.time64("us")),
    ("timestamp[ns]", pa.timestamp("ns")), ("timestamp[us, UTC]", pa.timestamp("us", "UTC")),
    ("timestamp[ms, Europe/Paris]", pa.timestamp("ms", "Europe/Paris")),
    ("decimal(10, 2)", pa.decimal128(10, 2)), ("decimal(50,3)", pa.decimal256(50, 3)),
    ("list<int64>", pa.list_(pa.int64())), ("map<string, list<int32>>", pa.map_(pa.string(), pa.list_(pa.int32()))),
    ("struct<a: int64, Bc: struct<d: string>>",
     pa.struct([("a", pa.int64()), ("Bc", pa.struct([("d", pa.string())]))])),
    # Arrow's aliases
    ("utf8", pa.string()), ("large_string", pa.string()), ("bool", pa.bool_()), ("double", pa.float64()),
    ("float", pa.float32()), ("date32", pa.date32()), ("time64[us]", pa.time64("us")),
    # DuckDB's SQL names
    ("bigint", pa.int64()), ("INTEGER", pa.int32()), ("smallint", pa.int16()), ("tinyint", pa.int8()),
    ("varchar", pa.string()), ("text", pa.string()), ("real", pa.float32()), ("blob", pa.binary()),
    ("timestamp", pa.timestamp("us")), ("timestamptz", pa.timestamp("us", "UTC")),
    ("timestamp_ms", pa.timestamp("ms")), ("DECIMAL(12, 4)", pa.decimal128(12, 4)),
    ("integer[]", pa.list_(pa.int32())), ("STRUCT(a INTEGER, b VARCHAR[])",
                                          pa.struct([("a", pa.int32()), ("b", pa.list_(pa.string()))])),
    ("MAP(VARCHAR, DOUBLE)", pa.map_(pa.string(), pa.float64())),
])
def test_type_names(name, arrow):
    assert parse_type_name(name) == from_arrow_type(arrow, IdAssigner(0))


@pytest.mark.parametrize("name, match", [
    ("nope", "unknown type name 'nope'"),
    ("hugeint", "'hugeint' .* has no equivalent in the table format"),
    ("uuid", "has no equivalent"),
    ("", "unknown type name ''"),
])
def test_unknown_names_say_what_is_accepted(name, match):
    with pytest.raises(lakehouse.InvalidArgumentError, match=match) as e:
        parse_type_name(name)
    assert "int64" in str(e.value) and "bigint" in str(e.value) and "pa.int64()" in str(e.value)


_leaf = st.sampled_from([pa.bool_(), pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.float32(), pa.float64(),
                         pa.string(), pa.binary(), pa.date32(), pa.time64("us")]) \
    | st.builds(pa.timestamp, st.sampled_from(["s", "ms", "us", "ns"]),
                tz=st.sampled_from([None, "UTC", "Asia/Tokyo"])) \
    | st.integers(1, 76).flatmap(lambda p: st.integers(0, p).map(
        lambda s: pa.decimal128(p, s) if p <= 38 else pa.decimal256(p, s)))
_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True)
_arrow_types = st.recursive(_leaf, lambda inner: st.one_of(
    inner.map(pa.list_),
    st.tuples(_leaf, inner).map(lambda kv: pa.map_(*kv)),
    st.dictionaries(_names, inner, min_size=1, max_size=3).map(lambda d: pa.struct(list(d.items()))),
), max_leaves=6)


@settings(max_examples=150, deadline=None)
@given(arrow=_arrow_types)
def test_printed_types_parse_back(arrow):
    """Whatever type the library prints can be typed back: parse(str(t)) == t."""
    t = from_arrow_type(arrow, IdAssigner(0))
    assert parse_type_name(str(t)) == t


def test_create_table_accepts_a_dict_of_type_names(tmp_path):
    t = lakehouse.create_table(str(tmp_path), schema={"id": "bigint", "at": "timestamp[us, UTC]",
                                                      "tags": pa.list_(pa.string()), "price": "decimal(10, 2)"})
    assert [(f.name, str(f.type), f.required) for f in t.schema.fields] == [
        ("id", "int64", False), ("at", "timestamp[us, UTC]", False), ("tags", "list<string>", False),
        ("price", "decimal(10, 2)", False)]
    assert [f.id for f in t.schema.fields] == [1, 2, 3, 5]  # depth-first: the list element is 4
    assert lakehouse.open_table(str(tmp_path)).schema == t.schema


@pytest.mark.parametrize("schema, error, match", [
    ({"id": "int"  "64x"}, lakehouse.InvalidArgumentError, "column 'id': unknown type name 'int64x'"),
    ({"id": 5}, lakehouse.InvalidArgumentError, "column 'id': a column type cannot be a int"),
    ({1: "int64"}, lakehouse.InvalidArgumentError, "column names must be strings"),
    ([("id", "int64")], lakehouse.InvalidArgumentError, "schema cannot be a list: pass a pyarrow Schema"),
    ({}, lakehouse.SchemaMismatchError, "at least one column"),
])
def test_create_table_refuses_other_schemas_clearly(tmp_path, schema, error, match):
    with pytest.raises(error, match=match):
        lakehouse.create_table(str(tmp_path), schema=schema)
    assert not (tmp_path / "_lakehouse").exists()


def test_update_schema_accepts_type_names():
    t = lakehouse.create_table(f"memory://type-names-{os.urandom(6).hex()}",
                               schema={"n": "int32", "s": "struct<a: int8>"})
    with t.update_schema() as s:
        s.add_column("x", "string").add_column("s.b", "list<varchar>").widen_column("n", "bigint")
        s.widen_column("s.a", "smallint")
    assert str(t.schema.struct) == "struct<n: int64, s: struct<a: int16, b: list<string>>, x: string>"
    with pytest.raises(lakehouse.InvalidArgumentError, match="unknown type name 'strng'"):
        t.update_schema().add_column("y", "strng")
    with pytest.raises(lakehouse.InvalidArgumentError, match="a column type cannot be a type"):
        t.update_schema().add_column("y", str)
    with pytest.raises(lakehouse.SchemaMismatchError, match="cannot change 'n' from int64 to int32"):
        t.update_schema().widen_column("n", "integer")
