"""Per-file column statistics: computing, JSON encoding, the typed file-index column."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.errors import CorruptTableError
from lakehouse.format.schema import Schema
from lakehouse.format.stats import ColumnStats, compute_stats, stats_from_json, stats_struct_array, stats_to_json
from lakehouse.format.types import DATE, FLOAT32, FLOAT64, INT32, INT64, STRING, DecimalType, Field, TimestampType

UTC = dt.timezone.utc
NAN = math.nan
TABLE = pa.table({
    "i": pa.array([3, None, -7], pa.int32()),
    "f": pa.array([1.5, NAN, None]),
    "s": pa.array(["b" * 20, "a", None]),
    "bin": pa.array([b"\x01\xff", b"\x00", None]),
    "d": pa.array([dt.date(2024, 3, 1), None, dt.date(2020, 1, 31)]),
    "t": pa.array([dt.datetime(2024, 3, 1, 10), None, dt.datetime(1969, 12, 31, 23, 59, 59)], pa.timestamp("us")),
    "tz": pa.array([dt.datetime(2024, 3, 1, 10, tzinfo=UTC), None, None], pa.timestamp("ms", "Europe/Paris")),
    "tns": pa.array([1, 2_000_001, None], pa.timestamp("ns")),
    "tm": pa.array([dt.time(10, 30), dt.time(0, 0, 0, 1), None]),
    "dec": pa.array([Decimal("1.50"), None, Decimal("-2.25")], pa.decimal128(5, 2)),
    "flag": pa.array([True, None, True]),
    "nested": pa.array([{"x": 1, "y": {"z": "q"}}, None, {"x": 5, "y": None}],
                       pa.struct([("x", pa.int64()), ("y", pa.struct([("z", pa.string())]))])),
    "l": pa.array([[1], None, []], pa.list_(pa.int32())),
    "nans": pa.array([NAN, NAN, None], pa.float32()),
    "empty": pa.array([None, None, None], pa.int64()),
})
SCHEMA = Schema.from_arrow(TABLE.schema)


def fid(name: str) -> int:
    return SCHEMA.find(name).id


def test_compute_stats_for_every_leaf_type():
    stats = compute_stats(TABLE, SCHEMA, truncate_length=16)
    assert stats[fid("i")] == ColumnStats(-7, 3, 1, None)
    assert stats[fid("f")] == ColumnStats(1.5, 1.5, 1, 1)  # NaN excluded from min/max, counted apart
    assert stats[fid("s")] == ColumnStats("a", "b" * 15 + "c", 1, None)  # max truncated and incremented
    assert stats[fid("bin")] == ColumnStats(b"\x00", b"\x01\xff", 1, None)
    assert stats[fid("d")] == ColumnStats(dt.date(2020, 1, 31), dt.date(2024, 3, 1), 1, None)
    assert stats[fid("t")] == ColumnStats(dt.datetime(1969, 12, 31, 23, 59, 59), dt.datetime(2024, 3, 1, 10), 1, None)
    assert stats[fid("tz")] == ColumnStats(dt.datetime(2024, 3, 1, 10, tzinfo=UTC), dt.datetime(2024, 3, 1, 10, tzinfo=UTC), 2, None)
    # nanoseconds: min rounds down, max up, to the microsecond
    assert stats[fid("tns")] == ColumnStats(dt.datetime(1970, 1, 1), dt.datetime(1970, 1, 1, 0, 0, 0, 2001), 1, None)
    assert stats[fid("tm")] == ColumnStats(dt.time(0, 0, 0, 1), dt.time(10, 30), 1, None)
    assert stats[fid("dec")] == ColumnStats(Decimal("-2.25"), Decimal("1.50"), 1, None)
    assert stats[fid("flag")] == ColumnStats(True, True, 1, None)
    assert stats[fid("nested.x")] == ColumnStats(1, 5, 1, None)  # the null parent makes x null
    assert stats[fid("nested.y.z")] == ColumnStats("q", "q", 2, None)
    assert stats[fid("nans")] == ColumnStats(None, None, 1, 2)
    assert stats[fid("empty")] == ColumnStats(None, None, 3, None)
    leaf_ids = {f.id for _, f in SCHEMA.leaf_fields()}
    assert set(stats) == leaf_ids  # no list contents, no structs themselves
    assert fid("l") not in stats


def test_compute_stats_casts_and_skips_missing_columns():
    schema = Schema(fields=(Field(id=1, name="a", type=INT64), Field(id=2, name="s", type=STRING),
                            Field(id=3, name="gone", type=INT32)))
    table = pa.table({"a": pa.array([5, 1], pa.int16()),
                      "s": pa.array(["y", "x"]).dictionary_encode()})  # as Parquet reads may give
    assert compute_stats(table, schema) == {1: ColumnStats(1, 5, 0, None), 2: ColumnStats("x", "y", 0, None)}


@pytest.mark.parametrize("value, length, lo, hi", [
    ("abcdef", 3, "abc", "abd"),
    ("abc", 3, "abc", "abc"),
    ("ab\U0010ffff\U0010ffffz", 4, "ab\U0010ffff\U0010ffff", "ac"),  # carry past the max code point
    ("\U0010ffff\U0010ffffz", 2, "\U0010ffff\U0010ffff", None),  # no upper bound exists
    ("a\ud7ffz", 2, "a\ud7ff", "a\ue000"),  # the increment skips surrogates
    ("héllo wörld", 5, "héllo", "héllp"),
])
def test_string_truncation(value, length, lo, hi):
    stats = compute_stats(pa.table({"s": [value]}), Schema.from_arrow(pa.schema([("s", pa.string())])),
                          truncate_length=length)[1]
    assert (stats.min, stats.max) == (lo, hi)


@pytest.mark.parametrize("value, lo, hi", [
    (b"\x00\x01\x02\x03", b"\x00\x01", b"\x00\x02"),
    (b"\x00\xff\xff", b"\x00\xff", b"\x01"),
    (b"\xff\xff\xff", b"\xff\xff", None),
])
def test_binary_truncation(value, lo, hi):
    stats = compute_stats(pa.table({"b": [value]}), Schema.from_arrow(pa.schema([("b", pa.binary())])), truncate_length=2)[1]
    assert (stats.min, stats.max) == (lo, hi)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(["a", "z", "é", "\ud7ff", "\U0010ffff", "\x00"]), max_size=8),
                min_size=1, max_size=6),
       st.integers(1, 5))
def test_truncated_bounds_bound_every_value(values, length):
    stats = compute_stats(pa.table({"s": values}), Schema.from_arrow(pa.schema([("s", pa.string())])),
                          truncate_length=length)[1]
    utf8 = [v.encode() for v in values]  # Arrow orders strings by UTF-8 bytes
    assert stats.min.encode() <= min(utf8) and len(stats.min) <= length
    if stats.max is None:
        top = max(values, key=str.encode)
        assert len(top) > length and set(top[:length]) == {"\U0010ffff"}
    else:
        assert stats.max.encode() >= max(utf8) and len(stats.max) <= length


def test_json_encoding_is_exact():
    stats = compute_stats(TABLE, SCHEMA, truncate_length=4)
    encoded = stats_to_json(stats, SCHEMA)
    assert json.loads(json.dumps(encoded, allow_nan=False)) == encoded  # strictly JSON-safe
    assert encoded[str(fid("i"))] == {"null_count": 1, "min": -7, "max": 3}
    assert encoded[str(fid("f"))] == {"null_count": 1, "min": 1.5, "max": 1.5, "nan_count": 1}
    assert encoded[str(fid("s"))] == {"null_count": 1, "min": "a", "max": "bbbc"}
    assert encoded[str(fid("bin"))] == {"null_count": 1, "min": "AA==", "max": "Af8="}
    assert encoded[str(fid("d"))] == {"null_count": 1, "min": "2020-01-31", "max": "2024-03-01"}
    assert encoded[str(fid("t"))] == {"null_count": 1, "min": -1_000_000, "max": 1_709_287_200_000_000}
    assert encoded[str(fid("tz"))] == {"null_count": 2, "min": 1_709_287_200_000, "max": 1_709_287_200_000}
    assert encoded[str(fid("tns"))] == {"null_count": 1, "min": 0, "max": 2_001_000}
    assert encoded[str(fid("tm"))] == {"null_count": 1, "min": 1, "max": 37_800_000_000}
    assert encoded[str(fid("dec"))] == {"null_count": 1, "min": "-2.25", "max": "1.50"}
    assert encoded[str(fid("flag"))] == {"null_count": 1, "min": True, "max": True}
    assert encoded[str(fid("nans"))] == {"null_count": 1, "nan_count": 2}
    assert encoded[str(fid("empty"))] == {"null_count": 3}
    assert stats_from_json(json.loads(json.dumps(encoded)), SCHEMA) == stats


def test_json_special_floats():
    schema = Schema.from_arrow(pa.schema([("f", pa.float64())]))
    stats = {1: ColumnStats(-math.inf, math.inf, 0, 0)}
    assert stats_to_json(stats, schema) == {"1": {"null_count": 0, "min": "-Infinity", "max": "Infinity", "nan_count": 0}}
    assert stats_from_json(stats_to_json(stats, schema), schema) == stats
    # NaN orders against nothing, so it is never a bound: read as unknown (spec section 10).
    assert stats_from_json({"1": {"null_count": 0, "min": "NaN"}}, schema)[1].min is None
    assert stats_to_json(compute_stats(pa.table({"f": [math.inf, 1.0]}), schema), schema)["1"]["max"] == "Infinity"


def test_decode_into_widened_types():
    old = Schema(fields=(Field(id=1, name="i", type=INT32), Field(id=2, name="f", type=FLOAT32),
                         Field(id=3, name="d", type=DATE), Field(id=4, name="dec", type=DecimalType(5, 2)),
                         Field(id=5, name="dropped", type=INT32)))
    new = Schema(fields=(Field(id=1, name="i", type=INT64), Field(id=2, name="f", type=FLOAT64),
                         Field(id=3, name="d", type=TimestampType("us", "UTC")), Field(id=4, name="dec", type=DecimalType(10, 2))))
    stored = stats_to_json({1: ColumnStats(-5, 2**31 - 1, 0), 2: ColumnStats(0.1, 2.5, 0, 0),
                            3: ColumnStats(dt.date(2024, 3, 1), dt.date(2024, 3, 2), 1),
                            4: ColumnStats(Decimal("-1.00"), Decimal("999.99"), 0), 5: ColumnStats(1, 1, 0)}, old)
    decoded = stats_from_json(stored, new)
    assert set(decoded) == {1, 2, 3, 4}
    assert decoded[1] == ColumnStats(-5, 2**31 - 1, 0)
    assert decoded[3] == ColumnStats(dt.datetime(2024, 3, 1, tzinfo=UTC), dt.datetime(2024, 3, 2, tzinfo=UTC), 1)
    assert decoded[4].max == Decimal("999.99")
    column = stats_struct_array([decoded], new)
    assert column.field("3").field("min").type == pa.timestamp("us", "UTC")
    assert column.field("2").field("min")[0].as_py() == pytest.approx(0.1, rel=1e-7)
    assert column.field("4").field("max")[0].as_py() == Decimal("999.99")


@pytest.mark.parametrize("obj", [
    {"x": {"null_count": 0}},
    {"1": [1, 2]},
    {"1": {"null_count": -1}},
    {"1": {"null_count": "3"}},
    {"1": {"null_count": 0, "min": "seven"}},
    {"1": {"null_count": 0, "min": 1.5}},
    {"2": {"null_count": 0, "min": "not base64!"}},
    {"3": {"null_count": 0, "min": "2024-13-01"}},
    {"4": {"null_count": 0, "min": "1e999999"}},
    {"5": {"null_count": 0, "min": "Inf"}},
])
def test_corrupt_stats_raise(obj):
    schema = Schema.from_arrow(pa.schema([("i", pa.int64()), ("b", pa.binary()), ("d", pa.date32()),
                                          ("dec", pa.decimal128(5, 2)), ("f", pa.float64())]))
    with pytest.raises(CorruptTableError):
        stats_from_json(obj, schema)


def test_missing_stats_decode_empty():
    assert stats_from_json(None, SCHEMA) == {} and stats_from_json({}, SCHEMA) == {}
    assert stats_from_json({"999": {"null_count": 1}}, SCHEMA) == {}  # the field was dropped


def test_stats_struct_array_layout():
    full = compute_stats(TABLE, SCHEMA)
    column = stats_struct_array([full, {}, {fid("i"): ColumnStats(None, None, 4)}], SCHEMA)
    assert len(column) == 3
    assert column.type.names == [str(f.id) for _, f in SCHEMA.leaf_fields()]
    i = column.field(str(fid("i")))
    assert i.type == pa.struct([("min", pa.int32()), ("max", pa.int32()), ("null_count", pa.int64()), ("nan_count", pa.int64())])
    assert i.to_pylist() == [{"min": -7, "max": 3, "null_count": 1, "nan_count": None}, None,
                             {"min": None, "max": None, "null_count": 4, "nan_count": None}]
    assert column.field(str(fid("tns"))).field("max")[0].value == 2_001_000
    assert column.field(str(fid("tz"))).type.field("min").type == pa.timestamp("ms", "Europe/Paris")
    assert stats_struct_array([], SCHEMA).type == column.type
    no_leaves = Schema.from_arrow(pa.schema([("l", pa.list_(pa.int32()))]))
    assert len(stats_struct_array([{}, {}], no_leaves)) == 2


def test_stats_struct_array_for_many_files():
    stats = compute_stats(TABLE, SCHEMA)
    per_file = [stats] * 10_000
    column = stats_struct_array(per_file, SCHEMA)  # timed in bench/, never in a test
    assert len(column) == 10_000 and column[9_999] == column[0]


def test_compute_stats_of_a_million_rows():
    n = 1_000_000
    table = pa.table({"i": pa.array(range(n), pa.int64()), "f": pa.array([float(i) for i in range(n)]),
                      "s": pa.array([str(i) for i in range(n)])})
    schema = Schema.from_arrow(table.schema)
    stats = compute_stats(table, schema)
    assert stats[1] == ColumnStats(0, n - 1, 0, None) and stats[3].min == "0" and stats[3].max == "999999"


def test_wide_decimals_keep_every_digit():
    big = Decimal("1" * 40 + ".25")
    table = pa.table({"d": pa.array([big, Decimal("-5.00")], pa.decimal256(60, 2))})
    schema = Schema.from_arrow(table.schema)
    stats = compute_stats(table, schema)
    assert stats[1] == ColumnStats(Decimal("-5.00"), big, 0, None)
    assert stats_to_json(stats, schema) == {"1": {"null_count": 0, "min": "-5.00", "max": "1" * 40 + ".25"}}
    assert stats_from_json(stats_to_json(stats, schema), schema) == stats
    assert stats_struct_array([stats], schema).field("1").field("max")[0].as_py() == big
