"""`where` means what DuckDB's WHERE means (spec/format.md, "SQL semantics"), NULL and NaN included.

DuckDB is the oracle: random tables (NULL, NaN, ±inf, -0.0 and each type's extremes), written with
several appends so that several files are pruned by their statistics, and random predicates; the
rows `scan(where=w)` returns must be the rows `SELECT * WHERE w` returns, and the rows
`overwrite(where=w)` keeps the rows `WHERE NOT (w) OR (w) IS NULL` returns. A predicate DuckDB
rejects is skipped; one DuckDB accepts and we reject fails the test.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal

import duckdb
import fsspec
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse.errors import InvalidExpressionError

NAN, INF = math.nan, math.inf
F32_MAX, F64_MAX = 3.4028234663852886e38, 1.7976931348623157e308

# column -> (Arrow type, values the data draws from, SQL literals predicates draw from)
COLUMNS = {
    "i": (pa.int32(), [None, 0, 1, -1, 2, 2**31 - 1, -2**31],
          ["0", "1", "-1", "2", "1.5", "-1.5", "2.5", "'1.5'", "'-2.5'", "' 2 '", "2147483647", "2147483648",
           "-2147483648", "'NaN'", "'2147483648'", "-0.0", "1.5e0"]),
    "l": (pa.int64(), [None, 0, 3, -3, 2**63 - 1, -2**63],
          ["0", "3", "-3", "3.0", "'3.4'", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
           "-9223372036854775809", "'inf'", "3e0", "9.3e18"]),
    "f": (pa.float32(), [None, NAN, INF, -INF, 0.0, -0.0, 1.5, 0.1, F32_MAX, -F32_MAX, 1e-45],
          ["0", "-0.0", "'-0.0'", "1.5", "0.1", "'0.1'", "1", "'NaN'", "'nan'", "'inf'", "'-inf'", "'Infinity'",
           "CAST('NaN' AS DOUBLE)", "340282346638528859811704183484516925440", "16777217", "0.1e0", "-0.1e0", "1e39",
           "-1e39", "1e-50", "1.5e0", "CAST(0.1 AS DOUBLE)", "CAST('0.1' AS FLOAT)", "3.4028234663852886e38"]),
    "d": (pa.float64(), [None, NAN, INF, -INF, 0.0, -0.0, 1.5, 0.1, F64_MAX, -F64_MAX, 5e-324],
          ["0", "-0.0", "'-0.0'", "1.5", "0.1", "'0.1'", "2", "'NaN'", "'-NaN'", "'inf'", "'-inf'", "'+Infinity'",
           "1.7976931348623157e308", "1e-300", "CAST('inf' AS DOUBLE)", "1e400", "-1e400", "0.1e0"]),
    "m": (pa.decimal128(9, 2), [None] + [Decimal(v) for v in ("0.00", "1.25", "1.26", "-1.25", "9999999.99", "-9999999.99")],
          ["0", "1.25", "1.255", "'1.255'", "'-1.255'", "1.26", "9999999.99", "10000000", "-9999999.99", "'NaN'",
           "1.25e0"]),
    "s": (pa.string(), [None, "", "a", "ab", "NaN", "b%", "é"],
          ["''", "'a'", "'ab'", "'NaN'", "'b'", "'é'", "'b%'"]),
    "t": (pa.date32(), [None, dt.date(1970, 1, 1), dt.date(2024, 1, 1), dt.date(1, 1, 1), dt.date(9999, 12, 31)],
          ["DATE '2024-01-01'", "'2024-01-01'", "'2024-01-01 10:00:00'", "TIMESTAMP '2024-01-01 10:00:00'",
           "'0001-01-01'", "'9999-12-31'", "DATE '1970-01-01'"]),
    "ts": (pa.timestamp("us"), [None, dt.datetime(1970, 1, 1), dt.datetime(2024, 1, 1, 10, 0, 0, 1), dt.datetime(1, 1, 1),
                                dt.datetime(9999, 12, 31, 23, 59, 59, 999999)],
           ["TIMESTAMP '2024-01-01 10:00:00.000001'", "'2024-01-01'", "'2024-01-01 10:00:00'", "DATE '2024-01-01'",
            "'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "TIMESTAMP '1970-01-01 00:00:00'"]),
    "b": (pa.bool_(), [None, True, False], ["true", "false", "'true'", "'f'", "'yes'", "1", "0", "2"]),
}
PATTERNS = ["'a%'", "'%a'", "'_'", "'NaN'", "'%'", "'a_'", "'%b%%'", "''"]
COMPARISONS = ["=", "!=", "<>", "<", "<=", ">", ">="]


@st.composite
def leaf(draw, columns: list[str]) -> str:
    c = draw(st.sampled_from(columns))
    literal = st.sampled_from(COLUMNS[c][2])
    kind = draw(st.sampled_from(["cmp", "cmp", "cmp", "in", "between", "null"] + ["like"] * (c == "s")
                                + ["bare"] * (c == "b")))
    if kind == "cmp":
        op = draw(st.sampled_from(COMPARISONS))
        return f"{draw(literal)} {op} {c}" if draw(st.booleans()) else f"{c} {op} {draw(literal)}"
    not_ = "NOT " if draw(st.booleans()) else ""
    if kind == "in":
        return f"{c} {not_}IN ({', '.join(draw(st.lists(literal, min_size=1, max_size=3)))})"
    if kind == "between":
        return f"{c} {not_}BETWEEN {draw(literal)} AND {draw(literal)}"
    if kind == "null":
        return f"{c} IS {not_}NULL"
    if kind == "like":
        return f"{c} {not_}LIKE {draw(st.sampled_from(PATTERNS))}"
    return f"{not_}{c}"


@st.composite
def predicate(draw, columns: list[str], depth: int = 2) -> tuple[str, list[str]]:
    """(SQL text, its leaves): DuckDB's errors are judged leaf by leaf (see `duckdb_accepts`)."""
    shape = draw(st.sampled_from(["leaf", "leaf", "and", "or", "not", "const"] if depth else ["leaf"]))
    if shape == "leaf":
        sql = draw(leaf(columns))
        return sql, [sql]
    if shape == "const":
        return draw(st.sampled_from(["TRUE", "FALSE", "NULL"])), []
    if shape == "not":
        sql, leaves = draw(predicate(columns, depth - 1))
        return f"NOT ({sql})", leaves
    (a, la), (b, lb) = draw(predicate(columns, depth - 1)), draw(predicate(columns, depth - 1))
    return f"({a}) {shape.upper()} ({b})", la + lb


PREDICATES = st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=2, unique=True).flatmap(predicate)


@st.composite
def tables(draw) -> tuple[pa.Table, list[int]]:
    n = draw(st.integers(1, 12))
    data = pa.table({c: pa.array([draw(st.sampled_from(values)) for _ in range(n)], t)
                     for c, (t, values, _) in COLUMNS.items()})
    cuts = sorted(set(draw(st.lists(st.integers(1, n), max_size=3))))
    return data, cuts


def _key(row: tuple) -> tuple:
    """A row as comparable text: NaN equals NaN, -0.0 differs from 0.0, None sorts anywhere."""
    return tuple(repr(v) for v in row)


def rows(table: pa.Table) -> list[tuple]:
    return sorted(_key(tuple(r.values())) for r in table.to_pylist())


def duckdb_accepts(data: pa.Table, leaves: list[str]) -> bool:
    """Whether DuckDB evaluates every leaf on `data`. It casts a string literal when it first
    needs it, so `i = 0 AND i = 'NaN'` fails only if some row passes `i = 0`; we refuse such a
    literal whatever the rows, which is the same rule for every table."""
    return all(duckdb_rows(data, f"({sql}) IS NOT NULL") is not None for sql in leaves)


def duckdb_rows(data: pa.Table, sql: str) -> list[tuple] | None:
    """DuckDB's rows of `data` for `SELECT * WHERE sql`, or None if DuckDB rejects the predicate."""
    con = duckdb.connect()
    try:
        con.register("t", data)
        result = con.execute(f"SELECT * FROM t WHERE {sql}").fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return sorted(_key(r) for r in result)


def written(data: pa.Table, cuts: list[int]) -> lakehouse.Table:
    """A table holding `data`, one append (one file) per slice between `cuts`."""
    t = lakehouse.create_table(f"memory://sql-semantics/{uuid.uuid4().hex}", schema=data.schema)
    for a, b in zip([0, *cuts], [*cuts, data.num_rows]):
        if b > a:
            t.append(data.slice(a, b - a))
    return t.refresh()


def _drop(t: lakehouse.Table) -> None:
    fsspec.filesystem("memory").rm(t.uri.removeprefix("memory://"), recursive=True)


def check_scan(t: lakehouse.Table, data: pa.Table, where: str, leaves: list[str] | None = None) -> None:
    expected = duckdb_rows(data, where)
    if leaves is None:  # an example, not a generated case: DuckDB must accept it
        assert expected is not None, where
    else:
        assume(expected is not None and duckdb_accepts(data, leaves))
    try:
        got = rows(t.scan(where=where).to_arrow())
    except InvalidExpressionError as e:
        assume(leaves is None or not documented_refusal(e))
        pytest.fail(f"DuckDB accepts {where!r}, we refuse it: {e}")
    assert got == expected, where


# What we refuse although DuckDB answers (spec/format.md, "SQL semantics"): literals whose meaning
# DuckDB decides by a common type of the whole IN list or BETWEEN, or gets inconsistently.
REFUSALS = ("mixes", "UTC offset", "finer than the column's unit")


def documented_refusal(e: InvalidExpressionError) -> bool:
    return any(r in str(e) for r in REFUSALS)


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(table=tables(), where=PREDICATES)
def test_scan_returns_the_rows_duckdb_returns(table, where):
    data, cuts = table
    t = written(data, cuts)
    try:
        check_scan(t, data, *where)
    finally:
        _drop(t)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), where=PREDICATES)
def test_overwrite_keeps_the_rows_where_the_predicate_is_not_true(table, where):
    data, cuts = table
    where, leaves = where
    expected = duckdb_rows(data, f"NOT ({where}) OR ({where}) IS NULL")
    assume(expected is not None and duckdb_accepts(data, leaves))
    t = written(data, cuts)
    try:
        try:
            t.overwrite(data.slice(0, 0), where=where)
        except InvalidExpressionError as e:
            assume(not documented_refusal(e))
            raise
        assert rows(t.refresh().to_arrow()) == expected, where
    finally:
        _drop(t)


# ---------------------------------------------------------------- evolved columns

EVOLVED = {  # before: float32 / int32 named f / i; after: float64 / int64 named g / j
    "before": [None, NAN, INF, -INF, -0.0, 0.1, 1.5, F32_MAX],
    "after": [None, NAN, 0.1, 0.0, F64_MAX, 1e-300, 1.5],
    "ints_before": [None, 0, 2**31 - 1, -2**31, 7],
    "ints_after": [None, 2**63 - 1, 2**31, -2**63, 7],
}
EVOLVED_LITERALS = {
    "g": ["0", "-0.0", "0.1", "'0.1'", "1.5", "'NaN'", "'inf'", "3.4028234663852886e38", "1e-300", "'-inf'"],
    "j": ["0", "7", "2147483647", "2147483648", "'7.5'", "-2147483648", "9223372036854775807", "6.5"],
}


@st.composite
def evolved_cases(draw):
    before = pa.table({"f": pa.array(draw(st.lists(st.sampled_from(EVOLVED["before"]), min_size=1, max_size=6)),
                                     pa.float32())})
    before = before.append_column("i", pa.array(
        [draw(st.sampled_from(EVOLVED["ints_before"])) for _ in range(before.num_rows)], pa.int32()))
    after = pa.table({"g": pa.array(draw(st.lists(st.sampled_from(EVOLVED["after"]), min_size=1, max_size=6)))})
    after = after.append_column("j", pa.array(
        [draw(st.sampled_from(EVOLVED["ints_after"])) for _ in range(after.num_rows)], pa.int64()))
    leaves = st.sampled_from(["g", "j"]).flatmap(lambda c: st.tuples(
        st.just(c), st.sampled_from(COMPARISONS), st.sampled_from(EVOLVED_LITERALS[c])))
    parts = [f"{c} {op} {v}" for c, op, v in draw(st.lists(leaves, min_size=1, max_size=3))]
    joiner = draw(st.sampled_from([" AND ", " OR "]))
    return before, after, ("NOT " if draw(st.booleans()) else "") + "(" + joiner.join(parts) + ")"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=evolved_cases())
def test_widened_and_renamed_columns_read_as_duckdb_reads_them(case):
    before, after, where = case
    t = lakehouse.create_table(f"memory://sql-semantics/{uuid.uuid4().hex}", schema=before.schema)
    try:
        t.append(before)
        with t.refresh().update_schema() as s:
            s.widen_column("f", pa.float64()).widen_column("i", pa.int64())
            s.rename_column("f", "g").rename_column("i", "j")
        t = t.refresh()
        t.append(after)
        t = t.refresh()
        check_scan(t, t.to_arrow(), where, [])  # DuckDB reads the data as the current schema shows it
    finally:
        _drop(t)


# ---------------------------------------------------------------- the examples of the issue

NAN_TABLE = pa.table({"x": pa.array([NAN, INF, -INF, 0.0, -0.0, 1.0, 1.5, 2.0, None])})


@pytest.mark.parametrize("where", [
    "x > 1", "x = 'NaN'", "x IN ('NaN', 1.0)", "NOT (x < 'NaN')", "x BETWEEN 1.5 AND 'NaN'", "x > 'inf'",
    "x >= 'NaN'", "x <= 'NaN'", "x > 'NaN'", "x != 'NaN'", "x NOT IN ('NaN', 1.0)", "x = -0.0", "x > -0.0",
    "x NOT BETWEEN 1.5 AND 'NaN'", "x = 'NaN' OR x IS NULL", "NOT (x = 'NaN')", "x < 5",
    "CAST('NaN' AS DOUBLE) = CAST('nan' AS DOUBLE)", "x = 1 AND CAST('NaN' AS DOUBLE) > CAST('inf' AS DOUBLE)",
    "x = 1e400", "x < 1e400", "x IN ('NaN', 1.5e0, '-0.0')",
])
def test_the_issues_examples(where):
    t = written(NAN_TABLE, [2, 5])
    try:
        check_scan(t, NAN_TABLE, where)
    finally:
        _drop(t)


def test_pruning_keeps_files_that_may_hold_nan():
    # One file per value: a file of only NaN has no min/max at all, yet matches `x > 1`.
    t = written(NAN_TABLE, list(range(1, NAN_TABLE.num_rows)))
    try:
        assert len(t.scan(where="x > 1").files()) == 4  # NaN, inf, 1.5, 2.0
        assert len(t.scan(where="x = 'NaN'").files()) == 1  # the others' nan_count is 0
        assert len(t.scan(where="x < 5").files()) == 6  # NaN rows cannot match: that file is skipped
        assert t.scan(where="x > 1").count() == 4
    finally:
        _drop(t)


@pytest.mark.parametrize("where, message", [
    ("ts = '2024-01-01 10:00:00+01'", "UTC offset"),
    ("ts = '2024-01-01 10:00:00.0000001'", "finer than the column's unit"),
    ("i = 'NaN'", "not a finite number"),
    ("i = '2147483648'", "out of the column's range"),
    ("b = 'on'", "'on'"),
    ("f IN (0.1, 1e0)", "mixes float and exact number literals"),
    ("i IN ('1.5', 2.5e0)", "mixes string and float literals"),
    ("t BETWEEN '2024-01-01 10:00' AND TIMESTAMP '2024-01-02 00:00'", "mixes string and datetime literals"),
])
def test_literals_duckdb_rejects_or_reads_inconsistently_are_refused(where, message):
    t = written(pa.table({c: pa.array([], ty) for c, (ty, _, _) in COLUMNS.items()}), [])
    try:
        with pytest.raises(InvalidExpressionError, match=message):
            t.scan(where=where).to_arrow()
    finally:
        _drop(t)
