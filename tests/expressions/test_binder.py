"""bind(): names to field ids, literals to typed scalars; rewrite_not()."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.errors import InvalidExpressionError
from lakehouse.expressions.arrow_filter import evaluate
from lakehouse.expressions.binder import bind, rewrite_not
from lakehouse.expressions.parser import parse
from lakehouse.expressions.tree import (
    FALSE, TRUE, And, BoundRef, Compare, In, IsNull, Like, Not, Or, StartsWith,
)
from lakehouse.format.schema import Schema

UTC = dt.timezone.utc
ARROW = pa.schema([
    ("i8", pa.int8()), ("i", pa.int64()), ("f", pa.float64()), ("f32", pa.float32()), ("s", pa.string()),
    ("b", pa.binary()), ("d", pa.date32()), ("t", pa.timestamp("us")), ("tz", pa.timestamp("us", "Europe/Paris")),
    ("ts", pa.timestamp("s")), ("tns", pa.timestamp("ns")), ("tm", pa.time64("us")), ("dec", pa.decimal128(5, 2)),
    ("flag", pa.bool_()), ("addr", pa.struct([("zip", pa.string())])), ("l", pa.list_(pa.int32())),
    ("m", pa.map_(pa.string(), pa.int32())), ("a.b", pa.int32()),
])
SCHEMA = Schema.from_arrow(ARROW)


def b(sql: str):
    return bind(parse(sql), SCHEMA)


def literal(sql: str) -> pa.Scalar:
    expr = b(sql)
    assert isinstance(expr, Compare), expr
    return expr.value


def test_refs_resolve_to_ids_paths_and_types():
    expr = b("addr.zip = '02139'")
    assert expr.term == BoundRef(SCHEMA.find("addr.zip").id, ("addr", "zip"), SCHEMA.find("addr.zip").type)
    assert b("ADDR.Zip = 'x'").term.path == ("addr", "zip")  # case-insensitive fallback
    assert b('"a.b" = 1').term.path == ("a.b",)  # a top-level name holding a dot
    assert b("addr IS NULL") == IsNull(BoundRef(SCHEMA.find("addr").id, ("addr",), SCHEMA.find("addr").type))


def test_unknown_column_is_named():
    with pytest.raises(InvalidExpressionError, match="unknown column 'nope'"):
        b("i = 1 AND nope = 2")
    with pytest.raises(InvalidExpressionError, match="'addr.city'"):
        b("addr.city = 'x'")


@pytest.mark.parametrize("sql, expected", [
    ("i = 5", pa.scalar(5, pa.int64())),
    ("i = '42'", pa.scalar(42, pa.int64())),
    ("i = 5.0", pa.scalar(5, pa.int64())),
    ("f = 1", pa.scalar(1.0, pa.float64())),
    ("f = 12.50", pa.scalar(12.5, pa.float64())),
    ("f = '2.5'", pa.scalar(2.5, pa.float64())),
    ("f32 = 0.1", pa.scalar(0.1, pa.float32())),
    ("s = 'héllo'", pa.scalar("héllo", pa.string())),
    ("b = 'ab'", pa.scalar(b"ab", pa.binary())),
    ("flag = TRUE", pa.scalar(True)),
    ("flag = 'false'", pa.scalar(False)),
    ("d = '2024-03-01'", pa.scalar(dt.date(2024, 3, 1))),
    ("d = DATE '2024-03-01'", pa.scalar(dt.date(2024, 3, 1))),
    ("d = TIMESTAMP '2024-03-01 00:00:00'", pa.scalar(dt.date(2024, 3, 1))),
    ("t = '2024-03-01 10:00:00'", pa.scalar(dt.datetime(2024, 3, 1, 10), pa.timestamp("us"))),
    ("t = TIMESTAMP '2024-03-01T10:00:00.123456'", pa.scalar(dt.datetime(2024, 3, 1, 10, 0, 0, 123456), pa.timestamp("us"))),
    # an aware literal for a naive column: UTC wall time (a plain string with an offset is an error)
    ("t = TIMESTAMPTZ '2024-03-01 10:00:00+02:00'", pa.scalar(dt.datetime(2024, 3, 1, 8), pa.timestamp("us"))),
    ("i = '41.5'", pa.scalar(42, pa.int64())),  # a string is cast to the column type, half away from zero
    ("dec = '-3.255'", pa.scalar(Decimal("-3.26"), pa.decimal128(5, 2))),
    ("d = '2024-03-01 23:59'", pa.scalar(dt.date(2024, 3, 1))),  # a string's date part
    ("flag = 'yes'", pa.scalar(True)),
    ("t = DATE '2024-03-01'", pa.scalar(dt.datetime(2024, 3, 1), pa.timestamp("us"))),
    # a naive literal for a tz-aware column: UTC
    ("tz = '2024-03-01 10:00:00'", pa.scalar(dt.datetime(2024, 3, 1, 10, tzinfo=UTC), pa.timestamp("us", "Europe/Paris"))),
    ("tz = TIMESTAMPTZ '2024-03-01 10:00:00+01'", pa.scalar(dt.datetime(2024, 3, 1, 9, tzinfo=UTC), pa.timestamp("us", "Europe/Paris"))),
    ("ts = '2024-03-01 10:00:00'", pa.scalar(dt.datetime(2024, 3, 1, 10), pa.timestamp("s"))),
    ("tm = '10:30'", pa.scalar(dt.time(10, 30))),
    ("tm = TIME '10:30:00.000001'", pa.scalar(dt.time(10, 30, 0, 1))),
    ("dec = 12.5", pa.scalar(Decimal("12.50"), pa.decimal128(5, 2))),
    ("dec = '-3.25'", pa.scalar(Decimal("-3.25"), pa.decimal128(5, 2))),
    ("dec = 7", pa.scalar(Decimal("7.00"), pa.decimal128(5, 2))),
])
def test_literals_take_the_column_type(sql, expected):
    value = literal(sql)
    assert value.type == expected.type
    assert value.equals(expected)


def test_nanosecond_literals_are_exact():
    assert literal("tns = TIMESTAMP_NS '1970-01-01 00:00:01.000000001'").value == 1_000_000_001
    assert literal("tns = '1970-01-01 00:00:00.000000007'").value == 7


@pytest.mark.parametrize("sql, op, value", [
    ("i8 > 1000", ">", 127), ("i8 >= 1000", ">", 127), ("i8 < 1000", "<=", 127), ("i8 <= 1000", "<=", 127),
    ("i8 = 1000", ">", 127), ("i8 != 1000", "<=", 127), ("i8 < -1000", "<", -128), ("i8 > -1000", ">=", -128),
    ("i8 < 2.5", "<", 3), ("i8 <= 2.5", "<=", 2), ("i8 > 2.5", ">", 2), ("i8 >= 2.5", ">=", 3),
    ("i8 > 127", ">", 127), ("i8 >= 127", ">=", 127), ("i8 = 2.5", ">", 127), ("i8 != 2.5", "<=", 127),
    ("i8 < 1e300", "<=", 127), ("i = 9223372036854775808", ">", 2**63 - 1),
    ("dec < 1.234", "<", Decimal("1.24")), ("dec >= 1.234", ">=", Decimal("1.24")),
    ("dec > 1e10", ">", Decimal("999.99")), ("dec = 0.001", ">", Decimal("999.99")),
    ("ts < TIMESTAMP '2024-03-01 10:00:00.5'", "<", dt.datetime(2024, 3, 1, 10, 0, 1)),
    ("ts = TIMESTAMP '2024-03-01 10:00:00.5'", ">", dt.datetime(9999, 12, 31, 23, 59, 59)),
    ("d <= '2024-03-01 10:00'", "<=", dt.date(2024, 3, 1)),
    ("d > '2024-03-01 10:00'", ">", dt.date(2024, 3, 1)),
])
def test_out_of_range_and_inexact_literals_fold_onto_the_column_range(sql, op, value):
    expr = b(sql)
    assert isinstance(expr, Compare) and expr.op == op
    assert expr.value.as_py() == value


def test_in_lists_drop_values_the_column_cannot_hold():
    assert b("i8 IN (1, 2.5, 1000, 1)") == Compare("=", b("i8 = 1").term, pa.scalar(1, pa.int8()))
    assert b("i8 IN (1000, 2000)").op == ">"  # never true, NULL on NULL rows
    assert b("i8 NOT IN (1000, 2000)").op == "<="  # always true for non-null rows
    values = b("i8 IN (3, 1, 2, 3)").values
    assert [v.as_py() for v in values] == [3, 1, 2]
    # floats: NaN equals NaN; -0.0 and 0.0 are the same value
    assert b("f IN (CAST('NaN' AS DOUBLE))").op == "="
    zero = b("f IN (0.0, 1)").values
    assert sorted((v.as_py(), math.copysign(1, v.as_py())) for v in zero) == [(-0.0, -1), (0.0, 1), (1.0, 1)]


def test_like_and_null_checks_bind():
    assert isinstance(b("s LIKE 'ab%'"), StartsWith)
    assert isinstance(b("s LIKE '%ab'"), Like)
    assert b("i IS NOT NULL") == IsNull(b("i = 1").term, negated=True)


def test_constants_simplify():
    assert b("i = 1 OR TRUE") == TRUE
    assert b("i = 1 AND FALSE") == FALSE
    assert b("NOT TRUE") == FALSE


@pytest.mark.parametrize("sql, message", [
    ("i = NULL", "IS NULL"),
    ("i != NULL", "IS NULL"),
    ("i IN (1, NULL)", "IS NULL"),
    ("l = 1", "'l' is a list"),
    ("m IS NULL", "'m' is a map"),
    ("addr = 'x'", "'addr' is a struct"),
    ("i LIKE 'a%'", "LIKE needs a string column"),
    ("i = 'abc'", r"column 'i' \(int64\) with 'abc'"),
    ("s = 5", r"column 's' \(string\) with 5"),
    ("d = 5", r"column 'd' \(date\) with 5"),
    ("d = 'March'", "'March'"),
    ("t = 'yesterday'", "'yesterday'"),
    ("tm = '25:00'", "25:00"),
    ("flag = 'maybe'", "'maybe'"),
    ("flag = 'on'", r"column 'flag' \(boolean\) with 'on'"),
    ("f32 = 1000000000000000000000000000000000000000000.0", "f32"),  # an exact number beyond float32
    ("i = TRUE", "'i'"),
])
def test_bind_errors_name_column_and_value(sql, message):
    with pytest.raises(InvalidExpressionError, match=message):
        b(sql)


# ---------------------------------------------------------------- folding is exact

def _kleene_compare(x, op, v):
    if x is None:
        return None
    return {"=": x == v, "!=": x != v, "<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v}[op]


_INT8_VALUES = [None, -128, -127, -1, 0, 1, 2, 3, 126, 127]
_INT8_TABLE = pa.table({"i8": pa.array(_INT8_VALUES, pa.int8())})


@settings(max_examples=200, deadline=None)
@given(op=st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
       literal_=st.one_of(st.integers(-400, 400), st.sampled_from([Decimal("2.5"), Decimal("-0.5"), Decimal("126.9"),
                                                                     Decimal("127.0"), Decimal("-128.5"), 10**30])),
       negate=st.booleans())
def test_int8_folding_matches_sql(op, literal_, negate):
    expr = bind(Compare(op, parse("i8 = 1").term, literal_), SCHEMA)
    expected = [_kleene_compare(x, op, literal_) for x in _INT8_VALUES]
    if negate:
        expr = rewrite_not(Not(expr))
        expected = [None if e is None else not e for e in expected]
    assert evaluate(expr, _INT8_TABLE).to_pylist() == expected


_DEC_VALUES = [None, Decimal("-999.99"), Decimal("-1.00"), Decimal("0.00"), Decimal("1.23"), Decimal("1.24"), Decimal("999.99")]
_DEC_TABLE = pa.table({"dec": pa.array(_DEC_VALUES, pa.decimal128(5, 2))})


@settings(max_examples=150, deadline=None)
@given(op=st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
       literal_=st.sampled_from([Decimal("1.234"), Decimal("1.23"), Decimal("1.2399"), Decimal("-999.995"), Decimal("1000"),
                                 Decimal("999.99"), 0, -1, 5000]))
def test_decimal_folding_matches_sql(op, literal_):
    expr = bind(Compare(op, parse("dec = 1").term, literal_), SCHEMA)
    assert evaluate(expr, _DEC_TABLE).to_pylist() == [_kleene_compare(x, op, literal_) for x in _DEC_VALUES]


_TS_VALUES = [None, dt.datetime(2024, 3, 1, 10), dt.datetime(2024, 3, 1, 10, 0, 1), dt.datetime(1970, 1, 1)]
_TS_TABLE = pa.table({"ts": pa.array(_TS_VALUES, pa.timestamp("s"))})


@settings(max_examples=100, deadline=None)
@given(op=st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
       literal_=st.sampled_from([dt.datetime(2024, 3, 1, 10, 0, 0, 500000), dt.datetime(2024, 3, 1, 10),
                                 dt.datetime(2024, 3, 1, 10, 0, 0, 1), dt.datetime(1, 1, 1), dt.datetime(9999, 1, 1)]))
def test_timestamp_unit_folding_matches_sql(op, literal_):
    expr = bind(Compare(op, parse("ts = 1").term, literal_), SCHEMA)
    assert evaluate(expr, _TS_TABLE).to_pylist() == [_kleene_compare(x, op, literal_) for x in _TS_VALUES]


# ---------------------------------------------------------------- rewrite_not

def test_rewrite_not_pushes_to_leaves():
    i, s = b("i = 1").term, b("s = 'x'").term
    assert rewrite_not(b("NOT (i = 1 AND s = 'x')")) == Or(Compare("!=", i, pa.scalar(1)), Compare("!=", s, pa.scalar("x")))
    assert rewrite_not(b("NOT (i < 1 OR i IS NULL)")) == And(Compare(">=", i, pa.scalar(1)), IsNull(i, negated=True))
    assert rewrite_not(b("NOT i IN (1, 2)")) == In(i, (pa.scalar(1), pa.scalar(2)), negated=True)
    assert rewrite_not(b("NOT s LIKE 'a%'")) == StartsWith(s, "a", negated=True)
    assert rewrite_not(b("NOT s LIKE '%a'")) == Like(s, "%a", negated=True)
    assert rewrite_not(Not(Not(b("i = 1")))) == b("i = 1")
    assert rewrite_not(Not(TRUE)) == FALSE and rewrite_not(Not(FALSE)) == TRUE


def test_rewrite_not_negates_float_orderings():
    # NaN is above every number (DuckDB's order): NOT (f < 1) and f >= 1 both hold for it.
    f = b("f = 1").term
    assert rewrite_not(b("NOT f < 1")) == Compare(">=", f, pa.scalar(1.0))
    assert rewrite_not(b("NOT f = 1")) == Compare("!=", f, pa.scalar(1.0))
    table = pa.table({"f": [0.5, 1.0, math.nan, None]})
    for sql in ("NOT f < 1", "NOT (f >= 1 AND f <= 2)", "NOT f BETWEEN 0 AND 0.7"):
        expr = b(sql)
        assert evaluate(rewrite_not(expr), table).to_pylist() == evaluate(expr, table).to_pylist()
    assert evaluate(rewrite_not(b("NOT f < 1")), table).to_pylist() == [False, True, True, None]


def test_wide_decimal_literals_are_exact():
    schema = Schema.from_arrow(pa.schema([("d", pa.decimal256(50, 2))]))
    expr = bind(parse("d >= " + "1" * 45 + ".001"), schema)
    assert expr.op == ">=" and expr.value.as_py() == Decimal("1" * 45 + ".01")
    assert bind(parse("d < 1e60"), schema).value.as_py() == Decimal("9" * 48 + ".99")
