"""An integer or decimal column compared with a DOUBLE means what it means in DuckDB: the column's
value is rounded to the nearest double first (spec/format.md, "SQL semantics").

`9223372036854775807::BIGINT = 9223372036854775808e0` holds there, `... = 9223372036854775808` (a
HUGEINT) does not. DuckDB is the oracle: values on and next to the edges of the ranges that round
to one double (near ±2^53, ±2^63 and at decimal(38, s)'s full precision), literals that are those
doubles, their neighbours and exact numbers, alone, in IN lists that mix them (the list's common
type is then DOUBLE) and in BETWEEN. The tables are written a few rows per file, some partitioned
by truncate or bucket, so every scan is also pruned by file statistics and partition values: a
pruned file holding a matching row would lose that row.
"""

from __future__ import annotations

import math
import uuid
from decimal import Decimal
from fractions import Fraction

import duckdb
import fsspec
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse.expressions.doubles import double_bounds

OPS = ["=", "!=", "<", "<=", ">", ">="]
INT64 = (-(1 << 63), (1 << 63) - 1)
# (arrow type, scale, anchors: doubles the values cluster around)
COLUMNS = {
    "l": (pa.int64(), 0, [2.0 ** 53, -2.0 ** 53, 2.0 ** 63, -2.0 ** 63, 2.0 ** 62 + 2.0 ** 61, 3.0, 0.0]),
    "m": (pa.decimal128(38, 2), 2, [2.0 ** 53, -2.0 ** 46, 9.9e35, -1e35, 0.1, 1.5]),
    "z": (pa.decimal128(38, 30), 30, [0.1, -0.3, 12345678.9, 2.0 ** -40]),
}


def _domain(c: str) -> tuple[int, int]:
    t, scale, _ = COLUMNS[c]
    return INT64 if scale == 0 else (-(10 ** 38 - 1), 10 ** 38 - 1)


@st.composite
def near_double(draw, c: str) -> float:
    """A double at most a few steps from one of the column's anchors."""
    d = draw(st.sampled_from(COLUMNS[c][2]))
    for _ in range(draw(st.integers(0, 3))):
        d = math.nextafter(d, draw(st.sampled_from([math.inf, -math.inf])))
    return d


@st.composite
def value(draw, c: str) -> int:
    """An unscaled value on or next to an edge of the range rounding to a double, or inside it."""
    scale = COLUMNS[c][1]
    d = draw(near_double(c))
    low, high = double_bounds(d, scale)
    n = draw(st.sampled_from([low, high, round(Fraction(d) * 10 ** scale)])) + draw(st.integers(-2, 2))
    lo, hi = _domain(c)
    return min(max(n, lo), hi)


def _exact_text(c: str, n: int) -> str:
    scale = COLUMNS[c][1]
    return str(n) if scale == 0 else str(Decimal(n).scaleb(-scale))


def _double_text(d: float) -> str:
    text = repr(d)
    return text if "e" in text or not math.isfinite(d) else text + "e0"


@st.composite
def literal(draw, c: str, values: list[int]) -> str:
    scale = COLUMNS[c][1]
    kind = draw(st.sampled_from(["double", "double", "exact", "special"]))
    if kind == "special":
        return draw(st.sampled_from(["CAST('NaN' AS DOUBLE)", "1e400", "-1e400", "1e300", "2.5e0", "-0.0e0",
                                     "9223372036854775808", "-9223372036854775809"]))
    if draw(st.booleans()) and values:
        n = draw(st.sampled_from(values))
        d = float(Fraction(n, 10 ** scale))
    else:
        d = draw(near_double(c))
        n = round(Fraction(d) * 10 ** scale)
    if kind == "exact":
        return _exact_text(c, n + draw(st.integers(-1, 1)))
    for _ in range(draw(st.integers(0, 1))):
        d = math.nextafter(d, draw(st.sampled_from([math.inf, -math.inf])))
    return _double_text(d)


@st.composite
def case(draw):
    c = draw(st.sampled_from(sorted(COLUMNS)))
    values = draw(st.lists(value(c) | st.none(), min_size=1, max_size=8))
    known = [v for v in values if v is not None]
    lit = literal(c, known)
    kind = draw(st.sampled_from(["cmp", "cmp", "in", "between"]))
    not_ = "NOT " if draw(st.booleans()) else ""
    if kind == "cmp":
        op = draw(st.sampled_from(OPS))
        where = f"{c} {op} {draw(lit)}" if draw(st.booleans()) else f"{draw(lit)} {op} {c}"
    elif kind == "in":
        where = f"{c} {not_}IN ({', '.join(draw(st.lists(lit, min_size=1, max_size=4)))})"
    else:
        where = f"{c} {not_}BETWEEN {draw(lit)} AND {draw(lit)}"
    cuts = sorted(set(draw(st.lists(st.integers(1, len(values)), max_size=4))))
    partition_by = draw(st.sampled_from([[], [f"truncate(1000, {c})"], [f"bucket(3, {c})"]]))
    return c, values, where, cuts, partition_by


def _table(c: str, values: list[int | None]) -> pa.Table:
    t, scale, _ = COLUMNS[c]
    if scale:
        values = [None if v is None else Decimal(v).scaleb(-scale) for v in values]
    return pa.table({c: pa.array(values, t)})


def _duckdb_rows(data: pa.Table, where: str) -> list[str] | None:
    con = duckdb.connect()
    try:
        con.register("t", data)
        return sorted(repr(r[0]) for r in con.execute(f"SELECT * FROM t WHERE {where}").fetchall())
    except duckdb.Error:
        return None
    finally:
        con.close()


def check(data: pa.Table, where: str, cuts: list[int], expected: list[str], partition_by: list[str]) -> None:
    t = lakehouse.create_table(f"memory://int-double/{uuid.uuid4().hex}", schema=data.schema,
                               partition_by=partition_by)
    try:
        for a, b in zip([0, *cuts], [*cuts, data.num_rows]):
            if b > a:
                t.append(data.slice(a, b - a))
        t = t.refresh()
        got = sorted(repr(v) for v in t.scan(where=where).to_arrow().column(0).to_pylist())
        assert got == expected, where
        assert t.scan(where=where).count() == len(expected), where
    finally:
        fsspec.filesystem("memory").rm(t.uri.removeprefix("memory://"), recursive=True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=case())
def test_scan_compares_integers_and_decimals_with_doubles_as_duckdb_does(case):
    c, values, where, cuts, partition_by = case
    data = _table(c, values)
    expected = _duckdb_rows(data, where)
    assume(expected is not None)  # DuckDB refuses a HUGEINT its decimal(38, 30) cannot hold
    check(data, where, cuts, expected, partition_by)


@pytest.mark.parametrize("where, rows", [
    ("l IN (9223372036854775808, 3e0)", 2),  # the list's common type is DOUBLE: 2^63 - 1 rounds to 2^63
    ("l = 9223372036854775808e0", 1),
    ("l = 9223372036854775808", 0),  # a HUGEINT: exact
    ("9007199254740992e0 = l", 2),  # 2^53 and 2^53 + 1 (the midpoint, ties to the even 2^53)
    ("l != 9007199254740992e0", 3),
    ("l < 9007199254740992e0", 2),
    ("l > 9007199254740992e0", 1),  # 2^63 - 1
    ("l BETWEEN 9007199254740992e0 AND 9007199254740992", 2),  # common type DOUBLE
    ("l BETWEEN 1 AND 9007199254740992", 2),  # exact: 3 and 2^53
    ("l NOT IN (9007199254740992e0, 3)", 2),
    ("l = 2.5e0", 0),
])
def test_the_examples(where, rows):
    data = pa.table({"l": pa.array([2 ** 63 - 1, 2 ** 53 + 1, 2 ** 53, 3, -2 ** 63, None], pa.int64())})
    expected = _duckdb_rows(data, where)
    assert expected is not None and len(expected) == rows
    check(data, where, [1, 3, 5], expected, [])
    check(data, where, [], expected, ["truncate(1024, l)"])  # partitions pruned by their values


@pytest.mark.parametrize("d", [2.0 ** 53, 2.0 ** 63, -2.0 ** 63, 2.0 ** 54 + 4, 0.1, 2.5, 0.0, -0.0, 5e-324, 1e35])
@pytest.mark.parametrize("scale", [0, 2, 30])
def test_double_bounds_are_the_units_that_round_to_the_double(d, scale):
    low, high = double_bounds(d, scale)
    unit = 10 ** scale
    for n in (low - 1, low, high, high + 1):  # float() of a Fraction rounds once, to nearest even
        assert (float(Fraction(n, unit)) == d) == (low <= n <= high)
    assert float(Fraction(low - 1, unit)) < d and float(Fraction(high + 1, unit)) > d
