"""Large predicates: a 100,000-value IN list and 5,000-term OR / AND chains parse, bind and scan
without RecursionError and quickly; long literal lists read apart from sqlglot (lists.py) give
exactly what sqlglot's own tree gives."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse.errors import InvalidExpressionError
from lakehouse.expressions import parser
from lakehouse.expressions.binder import bind
from lakehouse.expressions.lists import MIN_ITEMS
from lakehouse.expressions.parser import parse
from lakehouse.expressions.tree import Compare, Grouped, In
from lakehouse.format.schema import Schema



def _sqlglot_values(sql: str) -> tuple:
    """The IN list's values as the parser reads them from sqlglot's own tree."""
    node = sqlglot.parse_one(sql, read="duckdb").find(sqlglot.exp.In)
    return tuple(parser._literal(v) for v in node.expressions)


def _sql_literal(v) -> str:
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, Decimal):
        return ("-" if v.is_signed() else "") + format(v.copy_abs(), "f")
    return str(v)


ITEMS = st.one_of(
    st.integers(-10 ** 30, 10 ** 30),
    st.decimals(allow_nan=False, allow_infinity=False).filter(lambda d: abs(d.adjusted()) < 60),
    st.text(st.sampled_from(list("ab ,()'\"-–日\\%_")), max_size=6),
)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(ITEMS, min_size=MIN_ITEMS, max_size=MIN_ITEMS + 40), negated=st.booleans())
def test_long_lists_read_as_sqlglot_reads_them(values, negated):
    sql = f"x {'NOT ' if negated else ''}IN ({', '.join(_sql_literal(v) for v in values)})"
    expr = parse(sql)
    assert isinstance(expr, In) and expr.negated == negated
    expected = _sqlglot_values(sql)
    got = tuple(v.value if isinstance(v, Grouped) else v for v in expr.values)  # strings mixed with numbers
    assert got == expected
    assert [type(v) for v in got] == [type(v) for v in expected]


LIST = ", ".join(str(i) for i in range(MIN_ITEMS + 1))


@pytest.mark.parametrize("sql", [
    f"s = 'x IN ({LIST})'",                       # inside a string
    f"s = $$x IN ({LIST})$$",                     # inside a dollar-quoted string
    f"s = E'it\\'s x IN ({LIST})'",               # inside an escape string
    f"x > 1 -- x IN ({LIST})\n",                  # inside a comment
    f"x > 1 /* x IN ({LIST}) */",
    f"\"x IN ({LIST})\" = 1",                     # inside a quoted name
    f"x IN ({LIST}) AND y IN ({LIST}, 'a')",     # two lists
    f"x IN ({LIST}, y)",                          # not all literals
    "x IN ($__lakehouse_in_list_0)",              # our own placeholder name, written by a user
])
def test_lists_in_other_text_parse_as_sqlglot_parses_them(sql):
    try:
        expected = parser._predicate(sqlglot.parse_one(sql, read="duckdb"))
    except InvalidExpressionError as e:
        with pytest.raises(InvalidExpressionError, match=str(e)[:20]):
            parse(sql)
        return
    assert parse(sql) == expected


SCHEMA = Schema.from_arrow(pa.schema([("x", pa.int64()), ("s", pa.string())]))


def test_a_100000_value_in_list():
    sql = "x IN (" + ", ".join(str(i) for i in range(100_000)) + ")"
    expr = bind(parse(sql), SCHEMA)  # its speed: bench/bench_predicates.py
    assert isinstance(expr, In) and len(expr.values) == 100_000
    strings = "s NOT IN (" + ", ".join(f"'v{i}'" for i in range(100_000)) + ")"
    assert len(bind(parse(strings), SCHEMA).values) == 100_000


@pytest.mark.parametrize("joiner, term", [
    (" OR ", "x = {i}"), (" AND ", "x != {i}"), (" OR ", "(x = {i} AND s = 'v{i}')"), (" AND ", "NOT (x = {i})"),
])
def test_5000_term_chains_scan_without_recursion_error(joiner, term):
    sql = joiner.join(term.format(i=i) for i in range(5000))
    table = lakehouse.create_table(f"memory://tests/{uuid.uuid4().hex}/t",
                                   schema=pa.schema([("x", pa.int64()), ("s", pa.string())]))
    table.append(pa.table({"x": pa.array(range(0, 10_000, 3), pa.int64()),
                           "s": [f"v{i}" for i in range(0, 10_000, 3)]}))
    bind(parse(sql), SCHEMA)
    got = table.scan(where=sql).count()
    values = range(0, 10_000, 3)
    expected = sum(1 for v in values if v < 5000) if joiner == " OR " else sum(1 for v in values if v >= 5000)
    assert got == expected
    assert table.scan(where=f"NOT ({sql})").count() == len(values) - expected


def test_deep_nesting_is_a_clean_error():
    sql = "(" * 5000 + "x = 1" + ")" * 5000
    with pytest.raises(InvalidExpressionError):
        parse(sql)


def test_a_failed_cast_names_value_and_type():
    with pytest.raises(InvalidExpressionError, match=r"cannot cast 'abc' to INT.*not a number"):
        parse("x = CAST('abc' AS INT)")
    with pytest.raises(InvalidExpressionError, match=r"cannot cast 300 to TINYINT.*out of range"):
        parse("x = CAST(300 AS TINYINT)")
    with pytest.raises(InvalidExpressionError, match=r"cannot cast '12345.6' to DECIMAL\(4, 1\).*out of range"):
        parse("x = CAST('12345.6' AS DECIMAL(4, 1))")
    with pytest.raises(InvalidExpressionError, match=r"cannot cast 'x' to DATE"):
        parse("x = CAST('x' AS DATE)")
    with pytest.raises(InvalidExpressionError, match=r"column 'x' \(int64\) with 'abc': not a number"):
        bind(parse("x = 'abc'"), SCHEMA)
    assert isinstance(parse("x = CAST(1e999999999 AS DOUBLE)"), Compare)  # inf, at once
    with pytest.raises(InvalidExpressionError, match="out of range"):
        parse("x = CAST('1e999999999' AS BIGINT)")
