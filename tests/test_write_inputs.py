"""Inputs users naturally pass to append/overwrite are written correctly or refused with a
LakehouseError saying what is accepted. Before: a polars Categorical or Enum failed with a raw
ArrowNotImplementedError (Arrow cannot decode a dictionary of string_view), run-end encoded
arrays were "unsupported", a LazyFrame, a dict of columns or a list of dicts were refused, a
named pandas index vanished (and its column was written as null), a pandas Series was a raw
ArrowInvalid."""

import datetime as dt
import os
from decimal import Decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings, strategies as st

import lakehouse


def _table(schema) -> lakehouse.Table:
    return lakehouse.create_table(f"memory://inputs-{os.urandom(6).hex()}", schema=schema)


def _rows(t) -> list[dict]:
    return t.to_arrow().to_pylist()


# ---------------------------------------------------------------- polars

def test_polars_categorical_enum_and_lists_of_them():
    t = _table({"c": "string", "e": "string", "lc": "list<string>"})
    df = pl.DataFrame({"c": ["x", None, "x"], "e": ["a", "b", None], "lc": [["p", "q"], None, []]})
    df = df.with_columns(pl.col("c").cast(pl.Categorical), pl.col("e").cast(pl.Enum(["a", "b"])),
                         pl.col("lc").cast(pl.List(pl.Categorical)))
    t.append(df)
    t.append(df.lazy())  # a LazyFrame is collected
    expected = [{"c": "x", "e": "a", "lc": ["p", "q"]}, {"c": None, "e": "b", "lc": None},
                {"c": "x", "e": None, "lc": []}]
    assert _rows(t) == expected * 2


def test_polars_categorical_adds_a_string_column_in_merge_mode():
    t = _table({"id": "int64"})
    t.append(pl.DataFrame({"id": [1], "c": ["x"]}).with_columns(pl.col("c").cast(pl.Categorical)), schema_mode="merge")
    assert str(t.schema.find("c").type) == "string" and _rows(t) == [{"id": 1, "c": "x"}]


# ---------------------------------------------------------------- Arrow layouts of one type

def _dictionary(a: pa.Array) -> pa.Array:
    return a.dictionary_encode()


def _dictionary_of_view(a: pa.Array) -> pa.Array:  # what polars gives for a Categorical
    d = a.dictionary_encode()
    return pa.DictionaryArray.from_arrays(d.indices, d.dictionary.cast(pa.string_view()))


def _run_end(a: pa.Array) -> pa.Array:
    return pc.run_end_encode(a)


LAYOUTS = {
    "string": (pa.string(), st.text(max_size=3), [pa.large_string(), pa.string_view(), _dictionary,
                                                 _dictionary_of_view, _run_end]),
    "binary": (pa.binary(), st.binary(max_size=3), [pa.large_binary(), pa.binary_view(), _dictionary, _run_end]),
    "int64": (pa.int64(), st.integers(-2**63, 2**63 - 1), [_dictionary, _run_end, pa.int32()]),
    "list<int64>": (pa.list_(pa.int64()), st.lists(st.integers(-5, 5) | st.none(), max_size=3),
                    [pa.large_list(pa.int64()), pa.list_view(pa.int64()), pa.large_list_view(pa.int64())]),
    "list<string>": (pa.list_(pa.string()), st.lists(st.text(max_size=2) | st.none(), max_size=3),
                     [pa.list_(pa.string_view()), pa.large_list(pa.large_string())]),
}


def _variant(arr: pa.Array, layout) -> pa.Array:
    if callable(layout):
        return layout(arr)
    return pa.array(arr.to_pylist(), layout)  # Arrow casts to few of the layouts


@settings(max_examples=120, deadline=None)
@given(name=st.sampled_from(sorted(LAYOUTS)), data=st.data())
def test_every_arrow_layout_of_a_type_round_trips(name, data):
    """Generated values, in each physical layout of the column's type (and sliced, so offsets
    matter), append and read back equal to the plain layout."""
    arrow_type, values, layouts = LAYOUTS[name]
    rows = data.draw(st.lists(values | st.none(), max_size=8))
    layout = data.draw(st.sampled_from(layouts))
    start = data.draw(st.integers(0, len(rows)))
    if layout == pa.int32():  # a narrower type widens: only values that fit it
        rows = [v if v is not None and -2**31 <= v < 2**31 else None for v in rows]
    plain = pa.array(rows, arrow_type)
    arr = _variant(plain, layout).slice(start)
    t = _table({"c": arrow_type})
    t.append(pa.table({"c": arr}))
    assert t.to_arrow().column("c").to_pylist() == plain.slice(start).to_pylist()


def test_layouts_inside_structs_and_maps():
    struct = pa.struct([("s", pa.string()), ("m", pa.map_(pa.string(), pa.int64()))])
    t = _table(pa.schema([("st", struct)]))
    keys = pa.array(["a", "b", "c"], pa.string_view())
    m = pa.MapArray.from_arrays(pa.array([0, 2, 3], pa.int32()), keys, pa.array([1, 2, 3]))
    s = pa.array(["x", "y"]).dictionary_encode()
    t.append(pa.table({"st": pa.StructArray.from_arrays([s, m], names=["s", "m"])}))
    assert _rows(t) == [{"st": {"s": "x", "m": [("a", 1), ("b", 2)]}}, {"st": {"s": "y", "m": [("c", 3)]}}]


def test_a_type_that_does_not_fit_is_still_refused():
    t = _table({"c": "int32"})
    with pytest.raises(lakehouse.SchemaMismatchError, match="c: data has string"):
        t.append(pa.table({"c": pa.array(["1"]).dictionary_encode()}))


# ---------------------------------------------------------------- pandas

def test_pandas_named_index_levels_become_columns_and_unnamed_ones_are_dropped():
    t = _table({"id": "int64", "k": "string", "v": "float64"})
    df = pd.DataFrame({"id": [1, 2, 3], "k": ["a", "b", "c"], "v": [0.5, 1.5, 2.5]})
    t.append(df.set_index(["id", "k"]))          # a MultiIndex: both levels are columns
    t.append(df[df.v > 1])                        # a filtered frame's unnamed index is row labels
    t.append(df.set_index("id").sort_values("v"))
    got = sorted((r["id"], r["k"], r["v"]) for r in _rows(t))
    assert got == sorted([(1, "a", 0.5), (2, "b", 1.5), (3, "c", 2.5), (2, "b", 1.5), (3, "c", 2.5),
                          (1, "a", 0.5), (2, "b", 1.5), (3, "c", 2.5)])


def test_pandas_index_named_like_a_column_is_refused():
    t = _table({"id": "int64"})
    df = pd.DataFrame({"id": [1]}, index=pd.Index([7], name="id"))
    with pytest.raises(lakehouse.SchemaMismatchError, match=r"index level\(s\) \['id'\] have the name of a column"):
        t.append(df)


def test_pandas_series():
    t = _table({"id": "int64"})
    t.append(pd.Series([1, 2], name="id"))
    assert _rows(t) == [{"id": 1}, {"id": 2}]
    with pytest.raises(lakehouse.InvalidArgumentError, match="unnamed pandas Series"):
        t.append(pd.Series([3]))


# ---------------------------------------------------------------- Python values

SCHEMA = pa.schema([("id", pa.int64()), ("price", pa.decimal128(10, 2)), ("day", pa.date32()),
                    ("tags", pa.list_(pa.string())), ("score", pa.float32())])


def test_dict_of_columns_and_list_of_rows_are_typed_by_the_table():
    t = _table(SCHEMA)
    t.append({"id": [1], "price": [Decimal("1.50")], "day": [dt.date(2024, 1, 2)], "tags": [["a"]], "score": [1]})
    t.append([{"id": 2, "price": Decimal("2"), "day": dt.date(2024, 1, 3), "tags": None, "score": 0.5},
              {"id": 3, "tags": [], "price": None, "day": None, "score": None}])
    t.append([])  # no rows: nothing to commit
    assert t.version == 2
    assert sorted(_rows(t), key=lambda r: r["id"]) == [
        {"id": 1, "price": Decimal("1.50"), "day": dt.date(2024, 1, 2), "tags": ["a"], "score": 1.0},
        {"id": 2, "price": Decimal("2.00"), "day": dt.date(2024, 1, 3), "tags": None, "score": 0.5},
        {"id": 3, "price": None, "day": None, "tags": [], "score": None}]


def test_python_values_that_do_not_fit_name_the_column():
    t = _table(SCHEMA)
    with pytest.raises(lakehouse.SchemaMismatchError, match="day: cannot convert the values to the column's type"):
        t.append({"id": [1], "price": [None], "day": ["not a date"], "tags": [None], "score": [None]})
    with pytest.raises(lakehouse.SchemaMismatchError, match="id: cannot convert"):
        t.append([{"id": 1.5, "price": None, "day": None, "tags": None, "score": None}])


@pytest.mark.parametrize("data, match", [
    ([1, 2], r"must hold row dicts, not int; for columns pass a dict of lists or pa.table"),
    ({"id": [1], "price": [None, None]}, "must have one length"),
    ({1: [1]}, "column names must be strings"),
    ("id", "cannot write a str: pass a pyarrow Table"),
    (pa.chunked_array([[1]]), "cannot write a ChunkedArray"),
])
def test_unaccepted_inputs_say_what_is_accepted(data, match):
    with pytest.raises(lakehouse.InvalidArgumentError, match=match):
        _table(SCHEMA).append(data)


def test_duckdb_relation_and_pandas_categorical():
    import duckdb
    t = _table({"id": "int64", "s": "string", "l": "list<int32>", "d": "decimal(10, 2)"})
    t.append(duckdb.sql("SELECT 1::BIGINT AS id, 'x' AS s, [1, 2]::INTEGER[] AS l, 1.5::DECIMAL(10, 2) AS d"))
    t.append(pd.DataFrame({"id": [2], "s": pd.Categorical(["y"]), "l": [[3]], "d": [Decimal("2.25")]}))
    assert sorted(_rows(t), key=lambda r: r["id"]) == [
        {"id": 1, "s": "x", "l": [1, 2], "d": Decimal("1.50")}, {"id": 2, "s": "y", "l": [3], "d": Decimal("2.25")}]


def test_lossy_python_values_are_refused_not_truncated():
    t = _table({"id": "int64"})
    for values in ([1.5], [float("nan")], [2**63]):
        with pytest.raises(lakehouse.SchemaMismatchError, match="id: cannot convert"):
            t.append({"id": values})
    assert t.version == 0
