"""Sort orders (spec section 22): parsing, storage by field id, DuckDB's order, and every write
path sorting each file it writes."""

import json
import math
import uuid

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import lakehouse
from lakehouse.errors import ColumnNotFoundError, CorruptTableError, InvalidArgumentError
from lakehouse.format.actions import TableMetadata
from lakehouse.format.schema import Schema
from lakehouse.format.sort_order import SortField, parse_sort_order, sort_table
from layout_helpers import files_rows


def _uri():
    return f"memory://test-sort-order/{uuid.uuid4().hex}"


def _files_rows(t, column):
    """Each live file's values of `column` (current name), in file order, deleted rows left out."""
    return files_rows(t, column)


def test_parse_defaults_and_keywords():
    schema = Schema.from_arrow(pa.schema([("ts", pa.int64()), ("User Id", pa.int64()), ("x", pa.float64())]))
    order = parse_sort_order(["ts", '"User Id" desc', "x ASC NULLS FIRST"], schema)
    assert order == (SortField(source_id=1), SortField(source_id=2, descending=True),
                     SortField(source_id=3, nulls_first=True))
    assert parse_sort_order("ts desc nulls first", schema) == (SortField(source_id=1, descending=True, nulls_first=True),)
    assert parse_sort_order(None, schema) == parse_sort_order([], schema) == ()


@pytest.mark.parametrize("terms, error, match", [
    (["nope"], ColumnNotFoundError, "not a column"),
    (["ts", "ts DESC"], InvalidArgumentError, "named twice"),
    (["tags"], InvalidArgumentError, "has no order"),
    ([1], InvalidArgumentError, "list of strings"),
])
def test_parse_errors(terms, error, match):
    schema = Schema.from_arrow(pa.schema([("ts", pa.int64()), ("tags", pa.list_(pa.string()))]))
    with pytest.raises(error, match=match):
        parse_sort_order(terms, schema)


def _canon(v):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return 0.0 if v == 0 and isinstance(v, float) else v


VALUES = {"i": (pa.int32(), st.integers(-5, 5)), "f": (pa.float64(), st.sampled_from([-1.0, 0.0, -0.0, 2.5, math.nan, math.inf])),
          "s": (pa.string(), st.sampled_from(["", "a", "ab", "B", "é", "z"]))}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(VALUES)), st.booleans(), st.sampled_from([None, True, False])),
                min_size=1, max_size=3, unique_by=lambda t: t[0]),
       st.data())
def test_sort_matches_duckdb_order_by(terms, data):
    n = data.draw(st.integers(0, 30))
    table = pa.table({name: pa.array(data.draw(st.lists(st.none() | VALUES[name][1], min_size=n, max_size=n)),
                                     VALUES[name][0]) for name in VALUES})
    schema = Schema.from_arrow(table.schema)
    text = [f"{name} {'DESC' if desc else 'ASC'}" + ("" if nulls is None else f" NULLS {'FIRST' if nulls else 'LAST'}")
            for name, desc, nulls in terms]
    ours = sort_table(table, parse_sort_order(text, schema), schema)
    con = duckdb.connect()
    con.register("t", table)
    theirs = con.sql(f"SELECT * FROM t ORDER BY {', '.join(text)}").arrow()
    theirs = theirs.read_all() if hasattr(theirs, "read_all") else theirs
    keys = [name for name, _, _ in terms]
    assert [tuple(_canon(r[k]) for k in keys) for r in ours.to_pylist()] == \
        [tuple(_canon(r[k]) for k in keys) for r in theirs.to_pylist()]


def test_metadata_json_keeps_the_order_by_id_and_refuses_bad_fields():
    t = lakehouse.create_table(_uri(), schema={"a": "int64", "b": "string"})
    t.set_sort_order(["b DESC NULLS FIRST", "a"])
    obj = t.metadata.to_json()
    assert obj["sort_order"] == [{"source_id": 2, "direction": "desc", "null_order": "nulls-first"},
                                 {"source_id": 1, "direction": "asc", "null_order": "nulls-last"}]
    assert TableMetadata.from_json(json.loads(json.dumps(obj))).sort_order == t.metadata.sort_order
    assert "sort_order" not in lakehouse.create_table(_uri(), schema={"a": "int64"}).metadata.to_json()
    for bad in ([{"source_id": "1"}], [{"source_id": 1, "direction": "up"}], {"source_id": 1}):
        with pytest.raises(CorruptTableError):
            TableMetadata.from_json({**obj, "sort_order": bad})


def test_new_writes_sort_each_file_and_renames_keep_the_order():
    t = lakehouse.create_table(_uri(), schema={"id": "int64", "p": "string"}, partition_by=["p"])
    t.set_sort_order(["id DESC"])
    t.append({"id": [1, 5, 3, 2, 4, 6], "p": ["a", "a", "a", "b", "b", "b"]})
    assert sorted(_files_rows(t, "id")) == [[5, 3, 1], [6, 4, 2]]
    with t.update_schema() as u:
        u.rename_column("id", "key")
    assert [f.describe(t.schema) for f in t.sort_order] == ["key DESC NULLS LAST"]
    t.append({"key": [7, 9, 8], "p": ["c", "c", "c"]})
    assert [9, 8, 7] in _files_rows(t, "key")


def test_row_level_rewrites_and_overwrites_write_sorted_files():
    t = lakehouse.create_table(_uri(), schema={"id": "int64", "v": "int64"})
    t.append({"id": [3, 1, 2, 5, 4], "v": [0, 0, 0, 0, 0]})  # before the order: kept as given
    t.set_sort_order(["id"])
    t.update(set={"v": "1"}, where="id = 5", mode="copy-on-write")
    assert _files_rows(t, "id") == [[1, 2, 3, 4, 5]]
    t.overwrite({"id": [9, 7, 8], "v": [1, 1, 1]})
    assert _files_rows(t, "id") == [[7, 8, 9]]


def test_dropping_a_sort_column_drops_it_from_the_order():
    t = lakehouse.create_table(_uri(), schema={"a": "int64", "b": "int64"})
    t.set_sort_order(["a", "b DESC"])
    with t.update_schema() as u:
        u.drop_column("a")
    assert t.sort_order == (SortField(source_id=2, descending=True),)
    t.append({"b": [1, 3, 2]})
    assert _files_rows(t, "b") == [[3, 2, 1]]
    assert lakehouse.open_table(t.uri).sort_order == t.sort_order


def test_setting_clearing_and_no_op():
    t = lakehouse.create_table(_uri(), schema={"a": "int64"})
    assert t.sort_order == ()
    v = t.set_sort_order(["a"]).version
    assert t.set_sort_order(["a ASC NULLS LAST"]).version == v  # the same order: no commit
    assert t.history()[0].operation == "set_sort_order"
    t.set_sort_order(None)
    assert t.sort_order == () and t.version == v + 1
    t.append({"a": [2, 1]})
    assert t.to_arrow()["a"].to_pylist() == [2, 1]


def test_checkpoints_keep_the_sort_order():
    t = lakehouse.create_table(_uri(), schema={"a": "int64"}, properties={"checkpoint.interval": 2})
    t.set_sort_order(["a DESC"])
    for i in range(3):
        t.append({"a": [i, i + 10]})
    assert lakehouse.open_table(t.uri).sort_order == (SortField(source_id=1, descending=True),)


def test_a_sort_order_lists_its_writer_feature_so_older_writers_refuse(monkeypatch):
    t = lakehouse.create_table(f"memory://sort/{uuid.uuid4().hex}", schema={"id": "int64"})
    assert "sort_order" not in t.state.protocol.writer_features
    t.set_sort_order(["id"])
    assert "sort_order" in t.state.protocol.writer_features
    assert "sort_order" in lakehouse.open_table(t.uri).state.protocol.writer_features
    # A writer that does not know the feature refuses the table instead of dropping the order.
    from lakehouse.format import state as state_module
    monkeypatch.setattr(state_module, "KNOWN_WRITER_FEATURES", state_module.KNOWN_WRITER_FEATURES - {"sort_order"})
    with pytest.raises(lakehouse.UnsupportedFeatureError):
        lakehouse.open_table(t.uri).append({"id": [1]})
