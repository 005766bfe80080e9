"""to_arrow_filter() and evaluate(): bound expressions over Arrow tables."""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakehouse.errors import InvalidExpressionError
from lakehouse.expressions.arrow_filter import evaluate, to_arrow_filter
from lakehouse.expressions.binder import bind
from lakehouse.expressions.parser import parse
from lakehouse.expressions.tree import BoundRef, Compare, In, Not, Ref
from lakehouse.format.schema import Schema
from lakehouse.format.types import INT64

NAN = math.nan
TABLE = pa.table({
    "id": pa.array([0, 1, 2, 3, 4], pa.int64()),
    "i": pa.array([1, None, 3, 4, 5], pa.int32()),
    "f": pa.array([1.5, NAN, None, -0.0, 2.5]),
    "s": pa.array(["apple", "banana", None, "a%b", "a\\b"]),
    "d": pa.array([dt.date(2024, 1, 1), None, dt.date(2024, 3, 1), dt.date(2023, 1, 1), dt.date(2025, 1, 1)]),
    "addr": pa.array([{"zip": "02139"}, None, {"zip": None}, {"zip": "10001"}, {"zip": "02139"}],
                     pa.struct([("zip", pa.string())])),
})
SCHEMA = Schema.from_arrow(TABLE.schema)


def values(sql: str) -> list:
    return evaluate(bind(parse(sql), SCHEMA), TABLE).to_pylist()


def ids(sql: str) -> list[int]:
    return TABLE.filter(to_arrow_filter(bind(parse(sql), SCHEMA)))["id"].to_pylist()


@pytest.mark.parametrize("sql, expected", [
    ("i = 3", [False, None, True, False, False]),
    ("i != 3", [True, None, False, True, True]),
    ("i > 3 OR i IS NULL", [False, True, False, True, True]),
    ("i > 3 AND i IS NULL", [False, None, False, False, False]),
    ("i > 3 OR f > 2", [False, True, None, True, True]),  # NULL OR (NaN > 2 = TRUE): NaN is the largest
    ("i > 3 AND f > 0", [False, None, False, False, True]),  # NULL AND (NaN > 0 = TRUE) is NULL
    ("NOT (i > 3 AND f > 0)", [True, None, True, True, False]),
    ("i > 3 AND s LIKE '%'", [False, None, False, True, True]),
    ("i IN (1, 5)", [True, None, False, False, True]),
    ("i NOT IN (1, 5)", [False, None, True, True, False]),
    ("s LIKE 'a%'", [True, False, None, True, True]),
    ("s NOT LIKE 'a%'", [False, True, None, False, False]),
    ("s LIKE '%an%'", [False, True, None, False, False]),
    ("addr.zip = '02139'", [True, None, None, False, True]),
    ("addr.zip IS NULL", [False, True, True, False, False]),
    ("addr IS NULL", [False, True, False, False, False]),
    ("d >= DATE '2024-01-01'", [True, None, True, False, True]),
])
def test_evaluate_is_three_valued(sql, expected):
    assert values(sql) == expected


@pytest.mark.parametrize("sql", [
    "i = 3", "i != 3", "i > 3 OR i IS NULL", "NOT (i > 3 AND f > 0)", "i NOT IN (1, 5)", "NOT i IN (1, 5)",
    "s NOT LIKE 'a%'", "NOT s LIKE '%an%'", "addr.zip = '02139'", "NOT addr.zip = '02139'", "NOT f < 2",
    "f != 1.5", "NOT (f = 1.5 OR i = 1)", "d BETWEEN '2024-01-01' AND '2024-12-31'", "NOT d BETWEEN '2024-01-01' AND '2024-12-31'",
])
def test_filter_keeps_exactly_the_true_rows(sql):
    expected = [i for i, v in enumerate(values(sql)) if v is True]
    assert ids(sql) == expected


def test_nan_follows_duckdb():
    # NaN equals NaN and sorts above every number (spec/format.md, "SQL semantics").
    assert values("f = CAST('NaN' AS DOUBLE)") == [False, True, None, False, False]
    assert values("f = 'NaN'") == [False, True, None, False, False]
    assert values("f != CAST('NaN' AS DOUBLE)") == [True, False, None, True, True]
    assert values("f > 0") == [True, True, None, False, True]
    assert values("NOT f > 0") == [False, False, None, True, False]
    assert ids("NOT f > 0") == [3]
    assert values("f != 1.5") == [False, True, None, True, True]


def test_signed_zero_is_one_value():
    assert values("f = 0") == [False, False, None, True, False]
    assert values("f IN (0.0, 7)") == [False, False, None, True, False]
    assert ids("f NOT IN (0.0, 7)") == [0, 1, 4]


def test_like_wildcards_and_escapes():
    assert values("s LIKE 'a!%b' ESCAPE '!'") == [False, False, None, True, False]
    assert values("s LIKE 'a_b'") == [False, False, None, True, True]
    assert values(r"s LIKE 'a\b'") == [False, False, None, False, True]  # no escape char: a literal backslash
    assert values(r"s LIKE '%\%'") == [False, False, None, False, True]  # contains a backslash


def test_struct_child_paths_and_missing_columns():
    # A path addresses struct children, e.g. a file index's partition column "partition"."1000".
    parts = pa.table({"partition": pa.array([{"1000": 5}, {"1000": None}, None], pa.struct([("1000", pa.int64())]))})
    ref = BoundRef(1000, ("partition", "1000"), INT64)
    expr = Compare(">=", ref, pa.scalar(5))
    assert evaluate(expr, parts).to_pylist() == [True, None, None]
    assert parts.filter(to_arrow_filter(expr)).num_rows == 1
    # a column the file does not have reads as nulls (added after the file was written)
    missing = Compare("=", BoundRef(9, ("new_col",), INT64), pa.scalar(1))
    assert evaluate(missing, parts).to_pylist() == [None, None, None]
    assert evaluate(In(BoundRef(9, ("partition", "nope"), INT64), (pa.scalar(1), pa.scalar(2))), parts).null_count == 3


def test_constants():
    assert values("TRUE") == [True] * 5
    assert ids("FALSE") == []
    assert ids("TRUE") == [0, 1, 2, 3, 4]


def test_unbound_expression_is_rejected():
    with pytest.raises(InvalidExpressionError, match="not bound"):
        to_arrow_filter(Compare("=", Ref("i"), 1))


def test_filter_expression_works_with_datasets_and_coalesce():
    # table.py builds `keep` rows of an overwrite as NOT coalesce(filter, false)
    expr = to_arrow_filter(bind(parse("i > 3 OR s LIKE 'b%'"), SCHEMA))
    keep = TABLE.filter(pc.invert(pc.coalesce(expr, pa.scalar(False))))
    assert keep["id"].to_pylist() == [0, 2]


def test_float_ordering_not_survives_to_the_filter():
    expr = bind(parse("NOT f < 2"), SCHEMA)
    assert isinstance(expr, Not)
    assert ids("NOT f < 2") == [1, 4]
