"""parse(): SQL text to the unbound expression tree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.errors import InvalidExpressionError, LakehouseError
from lakehouse.expressions.parser import parse
from lakehouse.expressions.tree import (
    FALSE, NULL, TRUE, And, Compare, In, IsNull, Like, Not, Or, Ref, StartsWith,
)

A, B = Ref("a"), Ref("b")


@pytest.mark.parametrize("sql, op", [("a = 1", "="), ("a != 1", "!="), ("a <> 1", "!="), ("a < 1", "<"),
                                     ("a <= 1", "<="), ("a > 1", ">"), ("a >= 1", ">=")])
def test_comparisons(sql, op):
    assert parse(sql) == Compare(op, A, 1)


@pytest.mark.parametrize("sql, op", [("1 = a", "="), ("1 != a", "!="), ("1 < a", ">"), ("1 <= a", ">="),
                                     ("1 > a", "<"), ("1 >= a", "<=")])
def test_literal_on_the_left_is_flipped_to_the_right(sql, op):
    assert parse(sql) == Compare(op, A, 1)


def test_in_not_in_between():
    assert parse("a IN (1, 2, 3)") == In(A, (1, 2, 3))
    assert parse("a NOT IN ('x', 'y')") == In(A, ("x", "y"), negated=True)
    assert parse("a BETWEEN 1 AND 5") == And(Compare(">=", A, 1), Compare("<=", A, 5))
    assert parse("a NOT BETWEEN -1 AND 5") == Not(And(Compare(">=", A, -1), Compare("<=", A, 5)))


def test_null_checks_and_boolean_tests():
    assert parse("a IS NULL") == IsNull(A)
    assert parse("a IS NOT NULL") == IsNull(A, negated=True)
    assert parse("NOT a IS NULL") == IsNull(A, negated=True)
    # IS TRUE is never NULL: written so that NOT of it keeps NULL rows
    assert parse("a IS TRUE") == And(IsNull(A, negated=True), Compare("=", A, True))
    assert parse("a IS NOT FALSE") == Not(And(IsNull(A, negated=True), Compare("=", A, False)))
    assert parse("a") == Compare("=", A, True)
    assert parse("NOT a") == Not(Compare("=", A, True))


def test_boolean_connectives_precedence_and_parentheses():
    one, two, three = Compare("=", A, 1), Compare("=", B, 2), Compare("=", Ref("c"), 3)
    assert parse("a = 1 OR b = 2 AND c = 3") == Or(one, And(two, three))
    assert parse("(a = 1 OR b = 2) AND c = 3") == And(Or(one, two), three)
    assert parse("NOT (a = 1 OR b = 2)") == Not(Or(one, two))
    assert parse("NOT NOT a = 1") == one
    assert parse("TRUE") == TRUE and parse("a = 1 AND FALSE") == And(one, FALSE)


def test_long_chains_are_balanced():
    expr = parse(" OR ".join(f"a = {i}" for i in range(2000)))

    def depth(e):
        return 1 + max(depth(e.left), depth(e.right)) if isinstance(e, (And, Or)) else 0
    assert depth(expr) <= 12


def test_like_shapes():
    assert parse("a LIKE 'ab%'") == StartsWith(A, "ab")
    assert parse("a LIKE 'ab%%'") == StartsWith(A, "ab")
    assert parse("a NOT LIKE 'ab%'") == StartsWith(A, "ab", negated=True)
    assert parse("a LIKE '%'") == StartsWith(A, "")
    assert parse("a LIKE 'abc'") == Compare("=", A, "abc")
    assert parse("a NOT LIKE 'abc'") == Compare("!=", A, "abc")
    assert parse("a LIKE '%ab'") == Like(A, "%ab")
    assert parse("a LIKE 'a_b%'") == Like(A, "a_b%")
    assert parse("a NOT LIKE 'a%b'") == Like(A, "a%b", negated=True)


def test_like_escapes_follow_duckdb_and_are_stored_for_pyarrow():
    # No ESCAPE clause: a backslash is an ordinary character (DuckDB), stored escaped for match_like.
    assert parse(r"a LIKE 'x\y%'") == StartsWith(A, "x\\y")
    assert parse(r"a LIKE '%x\y'") == Like(A, r"%x\\y")
    assert parse("a LIKE 'a!%%' ESCAPE '!'") == StartsWith(A, "a%")
    assert parse("a LIKE 'a!_b' ESCAPE '!'") == Compare("=", A, "a_b")
    assert parse("a LIKE '%!%_' ESCAPE '!'") == Like(A, r"%\%_")
    with pytest.raises(InvalidExpressionError, match="escape"):
        parse("a LIKE 'ab!' ESCAPE '!'")


def test_number_literals():
    assert parse("a = 42").value == 42 and type(parse("a = 42").value) is int
    assert parse("a = -42").value == -42
    value = parse("a = 12.50").value
    assert isinstance(value, Decimal) and str(value) == "12.50"
    assert parse("a = -0.5").value == Decimal("-0.5")
    assert parse("a = 1.5e3").value == 1500.0 and isinstance(parse("a = 1.5e3").value, float)  # DuckDB: DOUBLE
    assert parse("a = -12345678901234567890123456789.5").value == Decimal("-12345678901234567890123456789.5")
    assert parse("a = 123456789012345678901234567890").value == 123456789012345678901234567890
    assert parse("a = -(-3)").value == 3


def test_string_and_boolean_literals():
    assert parse("a = 'it''s'").value == "it's"
    assert parse("a = 'héllo ✓'").value == "héllo ✓"
    assert parse("a = TRUE").value is True and parse("a = false").value is False
    assert parse("a = NULL").value is None  # rejected by the binder, with a hint


def test_typed_literals():
    assert parse("a = DATE '2024-03-01'").value == dt.date(2024, 3, 1)
    assert parse("a = CAST('2024-03-01' AS DATE)").value == dt.date(2024, 3, 1)
    assert parse("a = '2024-03-01'::DATE").value == dt.date(2024, 3, 1)
    assert parse("a = TIMESTAMP '2024-03-01 10:00:00'").value == dt.datetime(2024, 3, 1, 10)
    assert parse("a = TIMESTAMP '2024-03-01T10:00:00.25'").value == dt.datetime(2024, 3, 1, 10, 0, 0, 250000)
    aware = parse("a = TIMESTAMP '2024-03-01 10:00:00+02:00'").value
    assert aware == dt.datetime(2024, 3, 1, 8, tzinfo=dt.timezone.utc)
    assert parse("a = TIMESTAMPTZ '2024-03-01 10:00'").value == dt.datetime(2024, 3, 1, 10, tzinfo=dt.timezone.utc)
    assert parse("a = TIMESTAMP '2024-03-01 10:00Z'").value.tzinfo is not None
    nanos = parse("a = TIMESTAMP_NS '1970-01-01 00:00:01.000000001'").value
    assert isinstance(nanos, pa.TimestampScalar) and nanos.value == 1_000_000_001
    assert parse("a = TIME '10:30:00.5'").value == dt.time(10, 30, 0, 500000)
    assert parse("a = CAST('1.555' AS DECIMAL(10, 2))").value == Decimal("1.56")
    assert parse("a = CAST(5 AS DOUBLE)").value == 5.0
    assert parse("a = CAST('7' AS BIGINT)").value == 7


def test_identifiers():
    assert parse('"my col" = 1').term == Ref("my col")
    assert parse("address.zip = '02139'").term == Ref(("address", "zip"))
    assert parse('"address"."zip" = 1').term == Ref(("address", "zip"))
    assert parse("a.b.c.d.e = 1").term == Ref(("a", "b", "c", "d", "e"))
    # A quoted name is one name, whatever it holds
    assert parse('"a.b" = 1').term == Ref(("a.b",))
    assert parse('"a.b".c = 1').term == Ref(("a.b", "c"))
    assert parse('"say ""hi""" = 1').term == Ref(('say "hi"',))
    assert parse('"naïve ü 日本" IS NULL').term == Ref(("naïve ü 日本",))
    assert parse('"select" = 1').term == Ref("select")
    assert parse("date = DATE '2024-01-01'").term == Ref("date")


@pytest.mark.parametrize("sql, message", [
    ("a = b", "two columns"),
    ("1 = NULL", "use IS"),
    ("1 = 'a'", "different kinds"),
    ("a = f(1)", "function"),
    ("lower(a) = 'x'", "function"),
    ("a IN (SELECT b FROM t)", "literals only"),
    ("SELECT 1", "subqueries"),
    ("a = 1 + 2", "arithmetic"),
    ("a ILIKE 'x'", "ILIKE"),
    ("a = 1; b = 2", "several statements"),
    ("a IN ()", "at least one value"),
    ("a IS 5", "IS supports"),
    ("a = DATE '2024-02-30'", "2024-02-30"),
    ("a = TIMESTAMP 'noon'", "timestamp"),
    ("a = CAST('x' AS INTERVAL)", "not supported"),
    ("", "empty"),
    ("   ", "empty"),
    (")))", "cannot parse"),
    ("a = 1 AND", "cannot parse"),
    ("a = 'unterminated", "cannot parse"),
])
def test_errors_are_invalid_expression_errors(sql, message):
    with pytest.raises(InvalidExpressionError, match=message):
        parse(sql)


def test_not_a_string():
    with pytest.raises(InvalidExpressionError):
        parse(None)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1 ()'\"=<>!.,;%_-+*/\\NOTANDORISLIKEBETWEEN\n")), max_size=40))
def test_garbage_never_leaks_a_foreign_exception(text):
    try:
        parse(text)
    except LakehouseError as e:
        assert isinstance(e, InvalidExpressionError)


@pytest.mark.parametrize("sql, expected", [
    ("TRUE", TRUE), ("FALSE", FALSE), ("NULL", NULL), ("NOT NULL", NULL), ("NOT FALSE", TRUE),
    ("1 = 1", TRUE), ("1 = 2", FALSE), ("1 < 1.5", TRUE), ("'a' < 'b'", TRUE), ("2 > 10", FALSE),
    ("-12345678901234567890123456789.5 < -12345678901234567890123456789.4", TRUE),
    ("DATE '2024-01-01' < DATE '2024-01-02'", TRUE), ("NULL IS NULL", TRUE), ("1 IS NOT NULL", TRUE),
    ("TRUE IS FALSE", FALSE), ("2 IN (1, 2)", TRUE), ("3 NOT IN (1, 2)", TRUE), ("5 BETWEEN 1 AND 10", TRUE),
])
def test_constant_predicates_fold(sql, expected):
    assert parse(sql) == expected


def test_between_takes_the_column_on_either_side():
    assert parse("3 BETWEEN a AND 10") == Compare("<=", A, 3)  # 3 <= 10 folds away
    assert parse("a BETWEEN 1 AND 2") == And(Compare(">=", A, 1), Compare("<=", A, 2))
