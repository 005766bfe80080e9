"""Numeric literals are exact at every digit count: decimal(38) and decimal256 (76 digits),
negative or positive, with more or fewer fractional digits than the column, in every literal
shape (comparison, IN, BETWEEN, CAST), against decimal, integer and float columns."""

from __future__ import annotations

import operator
import uuid
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse.errors import InvalidExpressionError
from lakehouse.expressions.arrow_filter import to_arrow_filter
from lakehouse.expressions.binder import bind, rewrite_not
from lakehouse.expressions.parser import parse
from lakehouse.format.schema import Schema

OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
INT_TYPES = {8: pa.int8(), 16: pa.int16(), 32: pa.int32(), 64: pa.int64()}


def _decimal(digits: int, exponent: int, negative: bool) -> Decimal:
    return Decimal((int(negative), tuple(int(c) for c in str(digits)), exponent))


@st.composite
def decimal_types(draw) -> pa.DataType:
    wide = draw(st.booleans())
    precision = draw(st.integers(39, 76) if wide else st.integers(1, 38))
    scale = draw(st.integers(0, precision))
    return (pa.decimal256 if wide else pa.decimal128)(precision, scale)


@st.composite
def column_values(draw, t: pa.DataType) -> list[Decimal | None]:
    """Values of decimal type t, many at the extremes of its precision."""
    top = 10 ** t.precision - 1
    unscaled = st.one_of(st.integers(-top, top), st.sampled_from([top, -top, 0, 1, -1]),
                         st.integers(top // 10, top), st.integers(-top, -(top // 10)))
    out = draw(st.lists(st.one_of(st.none(), unscaled), min_size=1, max_size=12))
    with localcontext(prec=200):
        return [None if u is None else Decimal(u).scaleb(-t.scale) for u in out]


@st.composite
def literals(draw, near: list) -> Decimal:
    """Exact literals: near a column value (± a tiny step, finer than the scale), or random."""
    known = [v for v in near if v is not None]
    if known and draw(st.booleans()):
        base = Decimal(draw(st.sampled_from(known)))
        step = Decimal((0, (draw(st.integers(1, 9)),), -draw(st.integers(0, 90))))
        with localcontext(prec=400):
            return base + draw(st.sampled_from([step, -step, Decimal(0)]))
    digits = draw(st.integers(0, 10 ** draw(st.integers(1, 90))))
    return _decimal(digits, draw(st.integers(-90, 5)), draw(st.booleans()))


def text(d: Decimal, scientific: bool) -> str:
    """SQL text of d, written as `-<digits>` so the parser negates a positive literal. Never with
    an exponent (`scientific` is kept for the callers): DuckDB types `1.5E+3` DOUBLE, rounded to
    the nearest double (spec/format.md, "SQL semantics"), and these tests are about exact numbers."""
    body = format(d.copy_abs(), "f")  # abs() would round to 28 digits
    return f"-{body}" if d.is_signed() else body


def matches(column: pa.Array, sql: str) -> list[int]:
    """Positions of the rows `sql` keeps."""
    schema = Schema.from_arrow(pa.schema([("x", column.type)]))
    table = pa.table({"x": column, "i": pa.array(range(len(column)), pa.int64())})
    return table.filter(to_arrow_filter(rewrite_not(bind(parse(sql), schema))))["i"].to_pylist()


def expected(values: list, keep) -> list[int]:
    return [i for i, v in enumerate(values) if v is not None and keep(v)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_decimal_columns_compare_exactly(data):
    t = data.draw(decimal_types())
    values = data.draw(column_values(t))
    lit = data.draw(literals(values))
    op = data.draw(st.sampled_from(sorted(OPS)))
    sql = f"x {op} {text(lit, data.draw(st.booleans()))}"
    assert matches(pa.array(values, t), sql) == expected(values, lambda v: OPS[op](v, lit)), sql


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_in_between_and_cast_are_exact(data):
    t = data.draw(decimal_types())
    values = data.draw(column_values(t))
    a, b = data.draw(literals(values)), data.draw(literals(values))
    column = pa.array(values, t)
    listed = ", ".join(text(v, False) for v in (a, b))
    assert matches(column, f"x IN ({listed})") == expected(values, lambda v: v in (a, b))
    assert matches(column, f"x NOT IN ({listed})") == expected(values, lambda v: v not in (a, b))
    lo, hi = min(a, b), max(a, b)
    assert matches(column, f"x BETWEEN {text(lo, False)} AND {text(hi, True)}") == \
        expected(values, lambda v: lo <= v <= hi)
    with localcontext(prec=400):
        cast = lo.quantize(Decimal(1).scaleb(-t.scale), ROUND_HALF_UP)
    sql = f"x = CAST('{lo}' AS DECIMAL({t.precision}, {t.scale}))"
    if cast.copy_abs() >= Decimal(10) ** (t.precision - t.scale):
        with pytest.raises(InvalidExpressionError, match="cannot cast .* out of range"):
            matches(column, sql)
    else:
        assert matches(column, sql) == expected(values, lambda v: v == cast)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_integer_columns_compare_exactly(data):
    bits = data.draw(st.sampled_from(sorted(INT_TYPES)))
    top = (1 << (bits - 1)) - 1
    values = data.draw(st.lists(st.one_of(st.none(), st.integers(-top - 1, top)), min_size=1, max_size=10))
    lit = data.draw(literals(values))
    op = data.draw(st.sampled_from(sorted(OPS)))
    sql = f"x {op} {text(lit, data.draw(st.booleans()))}"
    assert matches(pa.array(values, INT_TYPES[bits]), sql) == expected(values, lambda v: OPS[op](v, lit)), sql


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_float_columns_take_the_literal_rounded_once(data):
    values = data.draw(st.lists(st.one_of(st.none(), st.floats(allow_nan=False, width=64)), min_size=1, max_size=10))
    lit = data.draw(literals([Decimal(v) for v in values if v is not None and abs(v) != float("inf")]))
    op = data.draw(st.sampled_from(sorted(OPS)))
    rounded = float(lit)  # Python rounds the exact value once, to nearest
    if rounded in (float("inf"), float("-inf")):
        with pytest.raises(InvalidExpressionError, match="cannot compare"):
            matches(pa.array(values, pa.float64()), f"x {op} {text(lit, False)}")
        return
    sql = f"x {op} {text(lit, False)}"
    assert matches(pa.array(values, pa.float64()), sql) == expected(values, lambda v: OPS[op](v, rounded)), sql


def test_float32_literal_is_rounded_once_not_through_float64():
    # 1 + 2**-24 + 2**-60: float64 rounds it to 1 + 2**-24, a float32 midpoint that then rounds to
    # 1.0 (ties to even); the exact value is nearer to 1 + 2**-23.
    with localcontext(prec=100):
        lit = 1 + Decimal(2) ** -24 + Decimal(2) ** -60
    column = pa.array([1.0, 1 + 2 ** -23], pa.float32())
    assert matches(column, f"x = {lit}") == [1]


def test_negative_literal_beyond_28_digits_regression():
    values = [Decimal("-12345678901234567890123456789.4"), Decimal("-12345678901234567890123456789.6")]
    column = pa.array(values, pa.decimal128(38, 1))
    assert matches(column, "x > -12345678901234567890123456789.5") == [0]
    assert matches(column, "x < -(12345678901234567890123456789.5)") == [1]
    assert matches(column, "x = CAST('-12345678901234567890123456789.55' AS DECIMAL(38, 1))") == [1]


@pytest.mark.parametrize("sql", ["x > 1e999999999", "x < -1e999999999", "x > 1e-999999999", "x != -1e-999999999"])
def test_extreme_exponents_bind_at_once(sql):
    column = pa.array([Decimal(0), Decimal(1), Decimal(-1)], pa.decimal256(76, 38))
    expr = parse(sql)
    keep = OPS[expr.op]
    assert matches(column, sql) == expected([Decimal(0), Decimal(1), Decimal(-1)], lambda v: keep(v, expr.value))


# ---------------------------------------------------------------- through a table

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_scan_and_overwrite_where_agree_with_exact_comparison(data):
    """Pruned scans return exactly the matching rows; overwrite(where=) keeps every other row."""
    t = data.draw(decimal_types())
    chunks = [data.draw(column_values(t)) for _ in range(3)]  # one file each: stats pruning is exercised
    values = [v for chunk in chunks for v in chunk]
    lit = data.draw(literals(values))
    op = data.draw(st.sampled_from(sorted(OPS)))
    where = f"x {op} {text(lit, False)}"
    table = lakehouse.create_table(f"memory://tests/{uuid.uuid4().hex}/t",
                                   schema=pa.schema([("i", pa.int64()), ("x", t)]))
    start = 0
    for chunk in chunks:
        table.append(pa.table({"i": range(start, start + len(chunk)), "x": pa.array(chunk, t)}))
        start += len(chunk)
    want = expected(values, lambda v: OPS[op](v, lit))
    assert sorted(table.scan(where=where).to_arrow()["i"].to_pylist()) == want, where
    assert table.scan(where=where).count() == len(want)
    table.overwrite(pa.table({"i": pa.array([], pa.int64()), "x": pa.array([], t)}), where=where)
    assert sorted(table.to_arrow()["i"].to_pylist()) == [i for i in range(len(values)) if i not in want]
