"""stats_may_match(): file pruning by column statistics, and an end-to-end soundness property."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse.expressions.arrow_filter import evaluate, to_arrow_filter
from lakehouse.expressions.binder import bind, rewrite_not
from lakehouse.expressions.parser import parse
from lakehouse.expressions.pruning import stats_may_match
from lakehouse.expressions.tree import FALSE, TRUE, Not
from lakehouse.format.schema import Schema
from lakehouse.format.stats import ColumnStats, compute_stats, stats_from_json, stats_struct_array, stats_to_json

INF, NAN = math.inf, math.nan
UNIT = Schema.from_arrow(pa.schema([("x", pa.int64()), ("f", pa.float64()), ("s", pa.string())]))
X, F, S = 1, 2, 3


def may(sql: str, per_file: list[dict], counts: list[int], schema: Schema = UNIT) -> list[bool]:
    files = pa.table({"record_count": pa.array(counts, pa.int64()), "stats": stats_struct_array(per_file, schema)})
    result = stats_may_match(bind(parse(sql), schema), files)
    assert isinstance(result, pa.BooleanArray) and result.null_count == 0
    return result.to_pylist()


# Files: 1..10 | 20..30 | all null | no stats | unknown bounds | only 5s | 5..8
INTS = [{X: ColumnStats(1, 10, 0)}, {X: ColumnStats(20, 30, 2)}, {X: ColumnStats(None, None, 4)}, {},
        {X: ColumnStats(None, None, 0)}, {X: ColumnStats(5, 5, 1)}, {X: ColumnStats(5, 8, 0)}]
INT_COUNTS = [10, 10, 4, 10, 10, 3, 4]
T, F_ = True, False


@pytest.mark.parametrize("sql, expected", [
    ("x = 5", [T, F_, F_, T, T, T, T]),
    ("x = 25", [F_, T, F_, T, T, F_, F_]),
    ("x != 5", [T, T, F_, T, T, F_, T]),
    ("x != 8", [T, T, F_, T, T, T, T]),
    ("x < 1", [F_, F_, F_, T, T, F_, F_]),
    ("x <= 1", [T, F_, F_, T, T, F_, F_]),
    ("x > 10", [F_, T, F_, T, T, F_, F_]),
    ("x >= 30", [F_, T, F_, T, T, F_, F_]),
    ("x > 30", [F_, F_, F_, T, T, F_, F_]),
    ("x IN (5, 25)", [T, T, F_, T, T, T, T]),
    ("x IN (15, 16)", [F_, F_, F_, T, T, F_, F_]),
    ("x NOT IN (5, 6)", [T, T, F_, T, T, F_, T]),
    ("x NOT IN (5, 8)", [T, T, F_, T, T, F_, T]),
    ("x IS NULL", [F_, T, T, T, F_, T, F_]),
    ("x IS NOT NULL", [T, T, F_, T, T, T, T]),
    ("x = 5 OR x = 25", [T, T, F_, T, T, T, T]),
    ("x > 3 AND x < 8", [T, F_, F_, T, T, T, T]),
    ("NOT (x >= 5)", [T, F_, F_, T, T, F_, F_]),
    ("NOT (x < 5 OR x > 5)", [T, F_, F_, T, T, T, T]),
    ("x BETWEEN 11 AND 19", [F_, F_, F_, T, T, F_, F_]),
])
def test_integer_pruning(sql, expected):
    assert may(sql, INTS, INT_COUNTS) == expected


def test_long_in_lists_use_their_range():
    in_range = ", ".join(str(v) for v in range(100, 200, 2))
    assert may(f"x IN ({in_range})", INTS, INT_COUNTS) == [False, False, False, True, True, False, False]
    around = ", ".join(str(v) for v in [*range(-100, 0), 50])  # brackets 1..10 and 20..30: may match
    assert may(f"x IN ({around})", INTS, INT_COUNTS)[:2] == [True, True]


# Files: values in [1, 2] and NaNs | only NaN | values, no NaN | nan_count unknown
FLOATS = [{F: ColumnStats(1.0, 2.0, 0, 3)}, {F: ColumnStats(None, None, 1, 4)}, {F: ColumnStats(-INF, 0.0, 0, 0)},
          {F: ColumnStats(1.0, 2.0, 0, None)}]
FLOAT_COUNTS = [10, 5, 10, 10]


@pytest.mark.parametrize("sql, expected", [
    ("f = 1.5", [True, False, False, True]),
    ("f < 0", [False, False, True, False]),
    ("f <= 0", [False, False, True, False]),
    ("f != 1.5", [True, True, True, True]),
    ("f != 0", [True, True, True, True]),
    ("NOT f < 1", [True, True, False, True]),  # NaN rows satisfy NOT (f < 1)
    ("NOT f >= -1", [False, False, True, False]),  # f < -1: NaN is above every number
    ("f > 5", [True, True, False, True]),  # ... so f > 5 may hold wherever NaN may be
    ("f >= CAST('Infinity' AS DOUBLE)", [True, True, False, True]),
    ("NOT f < 0", [True, True, True, True]),  # the third file's max is 0: 0 >= 0
    ("f = CAST('NaN' AS DOUBLE)", [True, True, False, True]),  # only nan_count == 0 proves no NaN
    ("f != CAST('NaN' AS DOUBLE)", [True, False, True, True]),
    ("NOT f < CAST('NaN' AS DOUBLE)", [True, True, False, True]),
    ("f <= 'NaN'", [True, True, True, True]),
    ("f > 'NaN'", [False, False, False, False]),
    ("f IN ('NaN', 7)", [True, True, False, True]),
    ("f NOT IN ('NaN', 1.5)", [True, False, True, True]),
    ("f = CAST('-Infinity' AS DOUBLE)", [False, False, True, False]),
    ("f IN (1.5, 7)", [True, False, False, True]),
    ("f NOT IN (1.5, 7)", [True, True, True, True]),
    ("f IS NULL", [False, True, False, False]),
])
def test_float_pruning_with_nan(sql, expected):
    assert may(sql, FLOATS, FLOAT_COUNTS) == expected


def test_single_value_files_prune_not_equal_and_not_in():
    files = [{F: ColumnStats(2.0, 2.0, 0, 0)}, {F: ColumnStats(2.0, 2.0, 0, 1)}, {F: ColumnStats(-0.0, 0.0, 0, 0)}]
    assert may("f != 2", files, [3, 3, 3]) == [False, True, True]
    assert may("f NOT IN (2, 3)", files, [3, 3, 3]) == [False, True, True]
    assert may("f NOT IN (0.0, 3)", files, [3, 3, 3]) == [True, True, False]


# Strings: bounds from truncation ("abc" .. "abd" holds e.g. "abcxyz") | exact | no upper bound | all null
STRINGS = [{S: ColumnStats("abc", "abd", 0)}, {S: ColumnStats("b", "banana", 0)}, {S: ColumnStats("zz", None, 0)},
           {S: ColumnStats(None, None, 5)}]
STRING_COUNTS = [5, 5, 5, 5]


@pytest.mark.parametrize("sql, expected", [
    ("s = 'abcxyz'", [True, False, False, False]),
    ("s = 'abd'", [True, False, False, False]),
    ("s = 'abda'", [False, False, False, False]),
    ("s = 'zzz'", [False, False, True, False]),
    ("s > 'abd'", [False, True, True, False]),
    ("s >= 'abd'", [True, True, True, False]),
    ("s < 'abc'", [False, False, False, False]),
    ("s LIKE 'abc%'", [True, False, False, False]),
    ("s LIKE 'abcdef%'", [True, False, False, False]),
    ("s LIKE 'ab%'", [True, False, False, False]),
    ("s LIKE 'abe%'", [False, False, False, False]),
    ("s LIKE 'ba%'", [False, True, False, False]),
    ("s LIKE 'zzz%'", [False, False, True, False]),
    ("s LIKE '%'", [True, True, True, False]),
    ("s NOT LIKE 'ab%'", [False, True, True, False]),
    ("s NOT LIKE 'b%'", [True, False, True, False]),
    ("s LIKE '%x%'", [True, True, True, False]),
    ("s != 'abc'", [True, True, True, False]),
])
def test_string_pruning_with_truncated_bounds(sql, expected):
    assert may(sql, STRINGS, STRING_COUNTS) == expected


def test_unknown_statistics_may_match():
    assert may("x = 5 AND s = 'q'", [{}, {}], [1, 1]) == [True, True]
    no_stats = pa.table({"record_count": pa.array([3, 4], pa.int64())})
    assert stats_may_match(bind(parse("x = 5"), UNIT), no_stats).to_pylist() == [True, True]
    unknown_counts = pa.table({"record_count": pa.array([None, 4], pa.int64()),
                               "stats": stats_struct_array([{X: ColumnStats(None, None, 3)}, {}], UNIT)})
    assert stats_may_match(bind(parse("x IS NOT NULL"), UNIT), unknown_counts).to_pylist() == [True, True]


def test_constants_and_empty_index():
    files = pa.table({"record_count": pa.array([1, 2], pa.int64()), "stats": stats_struct_array([{}, {}], UNIT)})
    assert stats_may_match(TRUE, files).to_pylist() == [True, True]
    assert stats_may_match(FALSE, files).to_pylist() == [False, False]
    assert stats_may_match(bind(parse("x = 1 AND FALSE"), UNIT), files).to_pylist() == [False, False]
    empty = files.slice(0, 0)
    assert len(stats_may_match(bind(parse("x = 1"), UNIT), empty)) == 0


def test_folded_literals_prune():
    schema = Schema.from_arrow(pa.schema([("b", pa.int8())]))
    files = [{1: ColumnStats(-5, 5, 0)}, {1: ColumnStats(100, 127, 0)}]
    assert may("b > 1000", files, [3, 3], schema) == [False, False]
    assert may("b < 1000", files, [3, 3], schema) == [True, True]
    assert may("b > 126.5", files, [3, 3], schema) == [False, True]


def test_pruning_100k_files():
    n = 100_000
    schema = Schema.from_arrow(pa.schema([("x", pa.int64()), ("s", pa.string()), ("f", pa.float64())]))
    lo = pa.array(range(0, 10 * n, 10), pa.int64())
    hi = pa.array(range(9, 10 * n, 10), pa.int64())
    counts = pa.array([10] * n, pa.int64())
    zeros = pa.array([0] * n, pa.int64())
    names = pa.array([f"k{i:06d}" for i in range(n)])

    def child(mn, mx, nan):
        return pa.StructArray.from_arrays([mn, mx, zeros, nan], names=["min", "max", "null_count", "nan_count"])
    stats = pa.StructArray.from_arrays(
        [child(lo, hi, pa.nulls(n, pa.int64())), child(names, names, pa.nulls(n, pa.int64())),
         child(pa.array([0.0] * n), pa.array([1.0] * n), zeros)], names=["1", "2", "3"])
    files = pa.table({"record_count": counts, "stats": stats})
    expr = bind(parse("(x BETWEEN 5000 AND 5100 OR x IN (17, 99999, 123456)) AND s LIKE 'k00%' "
                      "AND NOT f < 0.5 AND s != 'k000500'"), schema)
    result = stats_may_match(expr, files)  # its speed is measured in bench/, never timed in a test
    # file 500 holds only 'k000500'; 12345 is in a file whose names fail the prefix
    assert [i for i, v in enumerate(result.to_pylist()) if v] == [1, *range(501, 511), 9999]


# ---------------------------------------------------------------- end-to-end soundness property

ARROW = pa.schema([
    ("id", pa.int64()), ("i8", pa.int8()), ("f", pa.float64()), ("s", pa.string()), ("d", pa.date32()),
    ("ts", pa.timestamp("s")), ("dec", pa.decimal128(4, 1)), ("n", pa.struct([("x", pa.int16())])),
])
SCHEMA = Schema.from_arrow(ARROW)
ALPHABET = ["a", "b", "é", "\U0010ffff"]
FLOAT_VALUES = [-2.0, -0.0, 0.0, 0.1, 1.5, INF, -INF, NAN]
DAY = dt.date(2024, 1, 1)
NOON = dt.datetime(2024, 1, 1, 12)


def _float_sql(v: float) -> str:
    if math.isnan(v):
        return "CAST('NaN' AS DOUBLE)"
    if math.isinf(v):
        return "CAST('Infinity' AS DOUBLE)" if v > 0 else "CAST('-Infinity' AS DOUBLE)"
    return "-0.0" if v == 0 and math.copysign(1, v) < 0 else repr(v)


def _str_sql(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


# column -> (strategy of data values, strategy of (sql literal, value the reference compares with))
_DATA = {
    "i8": st.one_of(st.none(), st.integers(-5, 5), st.sampled_from([-128, 127])),
    "f": st.one_of(st.none(), st.sampled_from(FLOAT_VALUES)),
    "s": st.one_of(st.none(), st.text(alphabet=st.sampled_from(ALPHABET), max_size=6)),
    "d": st.one_of(st.none(), st.integers(-3, 3).map(lambda k: DAY + dt.timedelta(days=k))),
    "ts": st.one_of(st.none(), st.integers(-3, 3).map(lambda k: NOON + dt.timedelta(seconds=k))),
    "dec": st.one_of(st.none(), st.sampled_from([Decimal(v) for v in ("-999.9", "-3.0", "0.0", "1.2", "1.3", "12.0", "999.9")])),
    "n": st.one_of(st.none(), st.builds(lambda x: {"x": x}, st.one_of(st.none(), st.integers(-3, 3)))),
}
_LITERALS = {
    "i8": st.one_of(st.integers(-6, 6), st.sampled_from([-300, -129, -128, 127, 128, 1000]),
                    st.sampled_from([Decimal("2.5"), Decimal("-0.5"), Decimal("126.5")])).map(lambda v: (str(v), v)),
    "f": st.one_of(st.sampled_from(FLOAT_VALUES), st.integers(-3, 3)).map(lambda v: (_float_sql(float(v)), float(v))),
    "s": st.text(alphabet=st.sampled_from(ALPHABET), max_size=5).map(lambda v: (_str_sql(v), v)),
    "d": st.integers(-4, 4).map(lambda k: DAY + dt.timedelta(days=k)).map(lambda v: (f"DATE '{v}'", v)),
    "ts": st.tuples(st.integers(-4, 4), st.sampled_from([0, 0, 500000])).map(
        lambda t: NOON + dt.timedelta(seconds=t[0], microseconds=t[1])).map(lambda v: (f"TIMESTAMP '{v}'", v)),
    "dec": st.sampled_from(["1.25", "1.2", "-3", "999.9", "1000", "0.05", "12", "-999.95"]).map(
        lambda v: (v, Decimal(v))),
    "n.x": st.integers(-4, 4).map(lambda v: (str(v), v)),
}
_OPS = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _get(row: dict, column: str):
    if column == "n.x":
        return None if row["n"] is None else row["n"]["x"]
    return row[column]


def _and(a, b):
    return False if a is False or b is False else None if a is None or b is None else True


def _or(a, b):
    return True if a is True or b is True else None if a is None or b is None else False


def _not(a):
    return None if a is None else not a


def _order(v):
    """DuckDB's order: NaN equals NaN and is above every number."""
    return (1, 0.0) if isinstance(v, float) and math.isnan(v) else (0, v)


def _cmp(column, op, value):
    def fn(row):
        x = _get(row, column)
        return None if x is None else _OPS[op](_order(x), _order(value))
    return fn


def _value_sql(column: str, v) -> str:
    if column == "f":
        return _float_sql(v)
    if column == "s":
        return _str_sql(v)
    if column == "d":
        return f"DATE '{v}'"
    if column == "ts":
        return f"TIMESTAMP '{v}'"
    return str(v)


def _literal(draw, column: str, palettes: dict):
    """Mostly a value the data holds: equality is where pruning goes wrong."""
    held = [_get({"n": v} if column == "n.x" else {column: v}, column) for v in palettes[column.split(".")[0]]]
    held = [v for v in held if v is not None]
    if held and draw(st.integers(0, 2)):
        v = draw(st.sampled_from(held))
        return _value_sql(column, v), v
    return draw(_LITERALS[column])


def _leaf(draw, palettes: dict, focus: list[str]):
    column = draw(st.sampled_from(focus))
    kind = draw(st.sampled_from(["cmp", "cmp", "cmp", "in", "between", "null"] + ["like"] * 2 * (column == "s")))
    if kind == "cmp":
        op = draw(st.sampled_from(sorted(_OPS)))
        sql, value = _literal(draw, column, palettes)
        if draw(st.booleans()):
            return f"{sql} {_FLIP[op]} {column}", _cmp(column, op, value)
        return f"{column} {op} {sql}", _cmp(column, op, value)
    if kind == "in":
        items = [_literal(draw, column, palettes) for _ in range(draw(st.integers(1, 4)))]
        negated = draw(st.booleans())

        def fn_in(row):
            x = _get(row, column)
            return None if x is None else any(_order(x) == _order(v) for _, v in items) != negated
        return f"{column} {'NOT ' if negated else ''}IN ({', '.join(s for s, _ in items)})", fn_in
    if kind == "between":
        (lo_sql, lo), (hi_sql, hi) = _literal(draw, column, palettes), _literal(draw, column, palettes)
        negated = draw(st.booleans())
        inner = lambda row: _and(_cmp(column, ">=", lo)(row), _cmp(column, "<=", hi)(row))  # noqa: E731
        return (f"{column} {'NOT ' if negated else ''}BETWEEN {lo_sql} AND {hi_sql}",
                (lambda row: _not(inner(row))) if negated else inner)
    if kind == "null":
        negated = draw(st.booleans())
        return f"{column} IS {'NOT ' if negated else ''}NULL", lambda row: (_get(row, column) is None) != negated
    held = [v[:k] for v in palettes["s"] if v for k in range(len(v) + 1)]
    pattern = draw(st.one_of(
        (st.sampled_from(held) if held else st.just("")).map(lambda p: p + "%"),
        st.text(alphabet=st.sampled_from(ALPHABET), max_size=4).map(lambda p: p + "%"),
        st.text(alphabet=st.sampled_from(ALPHABET + ["%", "_"]), max_size=5)))
    negated = draw(st.booleans())
    regex = re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern), re.DOTALL)

    def fn_like(row):
        x = row["s"]
        return None if x is None else (regex.fullmatch(x) is not None) != negated
    return f"s {'NOT ' if negated else ''}LIKE {_str_sql(pattern)}", fn_like


def _predicate(draw, palettes: dict, focus: list[str], leaves: int):
    """(sql, reference) for a random predicate of about `leaves` leaves; reference is SQL's value."""
    shape = draw(st.sampled_from(["and", "or", "not"])) if leaves > 1 else "leaf"
    if shape == "leaf":
        return _leaf(draw, palettes, focus)
    if shape == "not":
        sql, fn = _predicate(draw, palettes, focus, leaves - 1)
        return f"NOT ({sql})", lambda r: _not(fn(r))
    (a, fa) = _predicate(draw, palettes, focus, leaves // 2)
    (b, fb) = _predicate(draw, palettes, focus, leaves - leaves // 2)
    if shape == "and":
        return f"({a}) AND ({b})", lambda r: _and(fa(r), fb(r))
    return f"({a}) OR ({b})", lambda r: _or(fa(r), fb(r))


@st.composite
def _cases(draw):
    # Each column draws its values from a small palette, so files with one value, only
    # nulls or only NaN (the edge cases of pruning) are common.
    palettes = {c: draw(st.lists(values, min_size=1, max_size=3)) for c, values in _DATA.items()}
    rows = [{c: draw(st.sampled_from(p)) for c, p in palettes.items()} for _ in range(draw(st.integers(1, 30)))]
    # One or two columns per predicate: a denser search of each column's edge cases.
    focus = draw(st.lists(st.sampled_from(sorted(_LITERALS)), min_size=1, max_size=2, unique=True))
    predicate = _predicate(draw, palettes, focus, draw(st.integers(1, 4)))
    return rows, predicate


def _file_index(chunks: list[pa.Table]) -> pa.Table:
    per_file = []
    for chunk in chunks:  # through the log's JSON encoding, as a reader would see them
        encoded = json.loads(json.dumps(stats_to_json(compute_stats(chunk, SCHEMA, truncate_length=3), SCHEMA)))
        per_file.append(stats_from_json(encoded, SCHEMA))
    return pa.table({"record_count": pa.array([c.num_rows for c in chunks], pa.int64()),
                     "stats": stats_struct_array(per_file, SCHEMA)})


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=_cases(), cuts=st.lists(st.integers(0, 30), max_size=4))
def test_pruning_and_filtering_agree_with_sql(case, cuts):
    rows, (sql, reference) = case
    for i, row in enumerate(rows):
        row["id"] = i
    table = pa.Table.from_pylist(rows, schema=ARROW)
    expected = [reference(r) for r in rows]
    expected_ids = [i for i, v in enumerate(expected) if v is True]

    bound = bind(parse(sql), SCHEMA)
    assert evaluate(bound, table).to_pylist() == expected, sql
    assert evaluate(rewrite_not(Not(bound)), table).to_pylist() == [_not(v) for v in expected], sql
    row_filter = to_arrow_filter(bound)
    assert table.filter(row_filter)["id"].to_pylist() == expected_ids, sql

    bounds = [0, *sorted(min(c, len(rows)) for c in cuts), len(rows)]
    chunks = [table.slice(a, b - a) for a, b in zip(bounds, bounds[1:])]
    keep = stats_may_match(bound, _file_index(chunks))
    assert keep.null_count == 0 and len(keep) == len(chunks)
    kept = [c for c, k in zip(chunks, keep.to_pylist()) if k]
    survivors = pa.concat_tables([table.slice(0, 0), *kept]).filter(row_filter)
    assert survivors["id"].to_pylist() == expected_ids, (sql, keep.to_pylist())
