"""Data that does not fit the schema is refused before any file is written: duplicate column
names (which used to commit the column silently null) and nulls in required fields (which used
to fail inside the Parquet writer with StorageError and orphan its files)."""

import os

import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import lakehouse
from lakehouse.format.schema import Schema
from lakehouse.format.types import Field, INT64, StructType


def _data_files(root) -> list[str]:
    return [f for _, _, files in os.walk(root) for f in files if f.endswith(".parquet")]


def _refused(t, data, match, root, **kw):
    with pytest.raises(lakehouse.SchemaMismatchError, match=match):
        t.append(data, **kw)
    assert t.refresh().version == t.version
    assert _data_files(root) == []


@pytest.mark.parametrize("mode", ["strict", "merge"])
def test_duplicate_top_level_column_is_refused(tmp_path, mode):
    t = lakehouse.create_table(str(tmp_path), schema=pa.schema([("a", pa.int64()), ("b", pa.int64())]))
    data = pa.Table.from_arrays([pa.array([1]), pa.array([2]), pa.array([3])], names=["a", "b", "b"])
    _refused(t, data, "b: duplicate column name", tmp_path, schema_mode=mode)


@pytest.mark.parametrize("mode", ["strict", "merge"])
def test_duplicate_struct_child_is_refused(tmp_path, mode):
    struct = pa.struct([("x", pa.int64())])
    t = lakehouse.create_table(str(tmp_path), schema=pa.schema([("s", struct)]))
    dup = pa.struct([("x", pa.int64()), ("x", pa.int64())])
    data = pa.Table.from_arrays([pa.StructArray.from_arrays([pa.array([1]), pa.array([2])], fields=list(dup))],
                                names=["s"])
    _refused(t, data, r"s\.x: duplicate column name", tmp_path, schema_mode=mode)


def test_create_table_refuses_duplicate_struct_children(tmp_path):
    dup = pa.struct([("x", pa.int64()), ("x", pa.string())])
    with pytest.raises(lakehouse.SchemaMismatchError, match="'x'"):
        lakehouse.create_table(str(tmp_path / "a"), schema=pa.schema([("s", dup)]))
    with pytest.raises(lakehouse.SchemaMismatchError, match="'a'"):
        Schema(fields=(Field(id=1, name="a", type=INT64), Field(id=2, name="a", type=INT64)))
    with pytest.raises(lakehouse.SchemaMismatchError, match="'y'"):
        StructType((Field(id=1, name="y", type=INT64), Field(id=2, name="y", type=INT64)))
    assert not (tmp_path / "a" / "_lakehouse").exists()


def test_nulls_in_required_column_are_schema_mismatch(tmp_path):
    schema = pa.schema([pa.field("a", pa.int64(), nullable=False)])
    t = lakehouse.create_table(str(tmp_path), schema=schema)
    # The data's schema equals the table's (so no cast happens) yet it holds a null.
    data = pa.Table.from_arrays([pa.array([1, None])], schema=schema)
    _refused(t, data, "a: column is required", tmp_path)
    _refused(t, pa.table({"a": pa.array([None, 2], pa.int32())}), "a: column is required", tmp_path)


def _nested_schema() -> pa.Schema:
    inner = pa.struct([pa.field("x", pa.int64(), nullable=False), pa.field("y", pa.int64())])
    return pa.schema([pa.field("s", inner), pa.field("l", pa.list_(pa.field("item", pa.int64(), nullable=False))),
                      pa.field("m", pa.map_(pa.string(), pa.field("value", pa.int64(), nullable=False)))])


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(
    st.one_of(st.none(), st.fixed_dictionaries({"x": st.one_of(st.none(), st.integers(0, 9)),
                                                "y": st.one_of(st.none(), st.integers(0, 9))})),
    st.one_of(st.none(), st.lists(st.one_of(st.none(), st.integers(0, 9)), max_size=3)),
    st.one_of(st.none(), st.lists(st.tuples(st.sampled_from("abc"), st.one_of(st.none(), st.integers(0, 9))),
                                  max_size=2, unique_by=lambda kv: kv[0])),
), min_size=1, max_size=6), offset=st.integers(0, 2))
def test_required_nested_fields_are_checked_where_their_parent_is_present(tmp_path_factory, rows, offset):
    schema = _nested_schema()
    lax = pa.schema([pa.field(f.name, _loosen(f.type)) for f in schema])
    pad = [(None, None, None)] * offset  # a sliced batch: offsets must be honoured
    table = pa.Table.from_pylist([dict(zip(("s", "l", "m"), r)) for r in pad + rows], schema=lax).slice(offset)
    bad = any((s is not None and s["x"] is None) or (lst is not None and None in lst)
              or (m is not None and any(v is None for _, v in m)) for s, lst, m in rows)
    root = tmp_path_factory.mktemp("t")
    t = lakehouse.create_table(str(root), schema=schema)
    if bad:
        _refused(t, table, "column is required", root)
    else:
        t.append(table)
        assert t.to_arrow().num_rows == len(rows)


def _loosen(t: pa.DataType) -> pa.DataType:
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, f.type) for f in t])
    if pa.types.is_map(t):
        return pa.map_(t.key_type, t.item_type)
    return pa.list_(t.value_type)
