"""Strict writes (spec/format.md, "Schema modes of writes"): in the default schema_mode="strict"
a column of the table that the data lacks, at any depth, is a SchemaMismatchError naming it
(it used to be written as NULL without a word, so `t.append(df.set_index("id"))` lost every id);
schema_mode="merge" writes missing nullable columns as null; a missing required column is an
error in both modes. Nothing is written when a write is refused."""

import os

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import lakehouse

NESTED = pa.struct([("x", pa.int64()), ("y", pa.string())])
SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False), ("name", pa.string()), ("s", NESTED)])
ROW = {"id": 1, "name": "a", "s": {"x": 1, "y": "b"}}


def _files(root) -> list[str]:
    return [f for _, _, files in os.walk(root) for f in files if f.endswith(".parquet")]


def _refused(tmp_path, data, match, **kw):
    t = lakehouse.create_table(str(tmp_path), schema=SCHEMA)
    with pytest.raises(lakehouse.SchemaMismatchError, match=match):
        t.append(data, **kw)
    with pytest.raises(lakehouse.SchemaMismatchError, match=match):
        t.overwrite(data, **kw)
    assert t.refresh().version == 0 and _files(tmp_path) == []


def test_missing_nullable_column_is_refused_in_strict_mode(tmp_path):
    data = pa.table({"id": [1], "s": pa.array([ROW["s"]], NESTED)})
    _refused(tmp_path, data, r"name: column missing from the data \(schema_mode='merge'")


def test_missing_nested_field_is_refused_in_strict_mode(tmp_path):
    data = pa.table({"id": [1], "name": ["a"], "s": pa.array([{"x": 1}], pa.struct([("x", pa.int64())]))})
    _refused(tmp_path, data, r"s\.y: column missing from the data")


@pytest.mark.parametrize("mode", ["strict", "merge"])
def test_missing_required_column_is_refused_in_both_modes(tmp_path, mode):
    _refused(tmp_path, pa.table({"name": ["a"], "s": pa.array([ROW["s"]], NESTED)}),
             "id: required column missing", schema_mode=mode)


def test_merge_writes_missing_nullable_columns_as_null(tmp_path):
    t = lakehouse.create_table(str(tmp_path), schema=SCHEMA)
    t.append(pa.table({"id": [1], "s": pa.array([{"x": 5}], pa.struct([("x", pa.int64())]))}), schema_mode="merge")
    t.overwrite(pa.table({"id": [2]}), where="id >= 2", schema_mode="merge")
    assert sorted(t.to_arrow().to_pylist(), key=lambda r: r["id"]) == [
        {"id": 1, "name": None, "s": {"x": 5, "y": None}}, {"id": 2, "name": None, "s": None}]


def test_pandas_index_no_longer_loses_the_column(tmp_path):
    """The issue's example: pandas moves `id` into the index; it used to commit NULL ids."""
    t = lakehouse.create_table(str(tmp_path), schema={"id": "int64", "name": "string"})
    df = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    t.append(df.set_index("id"))
    assert t.to_arrow().to_pylist() == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]


NAMES = ["a", "b", "c", "d"]


@settings(max_examples=60, deadline=None)
@given(present=st.sets(st.sampled_from(NAMES), min_size=1), mode=st.sampled_from(["strict", "merge"]),
       n=st.integers(0, 3))
def test_a_subset_of_columns_is_an_error_in_strict_and_nulls_in_merge(present, mode, n):
    t = lakehouse.create_table(f"memory://strict-subset-{os.urandom(6).hex()}",
                               schema={name: "int64" for name in NAMES})
    data = pa.table({name: pa.array(range(n), pa.int64()) for name in NAMES if name in present})
    missing = [name for name in NAMES if name not in present]
    if mode == "strict" and missing:
        with pytest.raises(lakehouse.SchemaMismatchError) as e:
            t.append(data, schema_mode=mode)
        assert all(f"{name}: column missing" in str(e.value) for name in missing)
        assert t.refresh().version == 0
        return
    t.append(data, schema_mode=mode)
    out = t.to_arrow()
    for name in NAMES:
        assert out.column(name).to_pylist() == (list(range(n)) if name in present else [None] * n)
