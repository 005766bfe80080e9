"""Row counts never depend on which columns a scan reads, and constant predicates (TRUE, FALSE,
NULL, `1 = 1`) follow SQL's three-valued logic in scans and in overwrite(where=...)."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse.errors import PredicateViolationError

SCHEMA = pa.schema([("id", pa.int64()), ("x", pa.int32()), ("s", pa.string())])
ROWS = [(i, None if i % 5 == 0 else i % 7 - 3, None if i % 4 == 0 else "abc"[i % 3]) for i in range(30)]


def _table(uri: str, *, partitioned: bool = False) -> lakehouse.Table:
    table = lakehouse.create_table(uri, schema=SCHEMA, partition_by=["x"] if partitioned else None)
    for start in range(0, len(ROWS), 10):  # several files, so pruning has something to skip
        chunk = ROWS[start:start + 10]
        table.append(pa.table([pa.array(c, t.type) for c, t in zip(zip(*chunk), SCHEMA)], schema=SCHEMA))
    return table


def _memory_uri() -> str:
    return f"memory://tests/{uuid.uuid4().hex}/table"


def _and(a, b):
    return False if a is False or b is False else None if a is None or b is None else True


def _or(a, b):
    return True if a is True or b is True else None if a is None or b is None else False


_OPS = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b}
_CONSTANTS = [("TRUE", True), ("FALSE", False), ("NULL", None), ("1 = 1", True), ("1 = 2", False),
              ("NULL IS NULL", True), ("2 IN (1, 2)", True), ("'a' > 'b'", False), ("NOT NULL", None)]


@st.composite
def _leaf(draw):
    """(sql, row -> True/False/None)."""
    kind = draw(st.sampled_from(["constant", "compare", "null", "string"]))
    if kind == "constant":
        sql, value = draw(st.sampled_from(_CONSTANTS))
        return sql, lambda row: value
    if kind == "compare":
        op, k = draw(st.sampled_from(sorted(_OPS))), draw(st.integers(-4, 4))
        return f"x {op} {k}", lambda row: None if row[1] is None else _OPS[op](row[1], k)
    if kind == "null":
        negated = draw(st.booleans())
        return f"x IS {'NOT ' if negated else ''}NULL", lambda row: (row[1] is None) != negated
    letter = draw(st.sampled_from("abz"))
    return f"s = '{letter}'", lambda row: None if row[2] is None else row[2] == letter


def _combine(children):
    def build(draw_result):
        kind, a, b = draw_result
        if kind == "not":
            return f"NOT ({a[0]})", lambda row: None if a[1](row) is None else not a[1](row)
        op, fn = ("AND", _and) if kind == "and" else ("OR", _or)
        return f"({a[0]}) {op} ({b[0]})", lambda row: fn(a[1](row), b[1](row))
    return st.tuples(st.sampled_from(["not", "and", "or"]), children, children).map(build)


PREDICATES = st.recursive(_leaf(), _combine, max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(predicate=PREDICATES, partitioned=st.booleans())
def test_counts_agree_whatever_columns_are_read(predicate, partitioned):
    sql, truth = predicate
    table = _table(_memory_uri(), partitioned=partitioned)
    want = sorted(row[0] for row in ROWS if truth(row) is True)
    assert sorted(table.scan(where=sql).to_arrow()["id"].to_pylist()) == want, sql
    assert table.scan(where=sql).count() == len(want), sql
    assert table.scan(where=sql, columns=[]).to_arrow().num_rows == len(want), sql
    assert table.scan(where=sql, columns=["s"]).count() == len(want), sql
    assert sum(b.num_rows for b in table.scan(where=sql, columns=[]).to_batches()) == len(want), sql


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(predicate=PREDICATES)
def test_overwrite_where_removes_exactly_the_matching_rows(predicate):
    sql, truth = predicate
    table = _table(_memory_uri())
    table.overwrite(pa.table([pa.array([], t.type) for t in SCHEMA], schema=SCHEMA), where=sql)
    assert sorted(table.to_arrow()["id"].to_pylist()) == sorted(row[0] for row in ROWS if truth(row) is not True), sql


def test_a_scan_of_no_columns_has_every_row(table_uri):
    table = _table(table_uri)
    assert table.scan(columns=[]).to_arrow().num_rows == len(ROWS)
    assert table.scan(columns=[]).to_arrow().num_columns == 0
    assert table.scan(columns=[]).count() == len(ROWS)
    assert table.scan(columns=[], where="x > 0").to_arrow().num_rows == sum(1 for r in ROWS if (r[1] or 0) > 0)


@pytest.mark.parametrize("where", ["TRUE", "NOT FALSE", "id > 0 OR TRUE", "1 = 1", "NULL IS NULL"])
def test_constant_true_keeps_every_row(table_uri, where):
    table = _table(table_uri)
    assert table.scan(where=where).count() == len(ROWS)
    assert table.scan(where=where).to_arrow().num_rows == len(ROWS)


@pytest.mark.parametrize("where", ["FALSE", "NULL", "NOT NULL", "x > 0 AND FALSE", "x > 0 AND NULL", "NOT (TRUE)"])
def test_constant_false_or_null_keeps_no_row(table_uri, where):
    table = _table(table_uri)
    assert table.scan(where=where).count() == 0
    assert table.scan(where=where).to_arrow().num_rows == 0


def test_null_or_a_comparison_keeps_the_comparisons_rows(table_uri):
    table = _table(table_uri)
    expected = sum(1 for r in ROWS if r[1] is not None and r[1] > 0)
    assert table.scan(where="x > 0 OR NULL").count() == expected
    assert table.scan(where="NOT (x <= 0 AND NULL)").count() == expected  # NOT NULL stays NULL


def test_overwrite_where_true_replaces_the_whole_table(table_uri):
    table = _table(table_uri)
    new = pa.table({"id": [100], "x": pa.array([1], pa.int32()), "s": ["n"]}, schema=SCHEMA)
    table.overwrite(new, where="TRUE")
    assert table.to_arrow()["id"].to_pylist() == [100]


@pytest.mark.parametrize("where", ["FALSE", "NULL"])
def test_overwrite_where_false_keeps_every_row(table_uri, where):
    table = _table(table_uri)
    empty = pa.table([pa.array([], t.type) for t in SCHEMA], schema=SCHEMA)
    table.overwrite(empty, where=where)
    assert table.scan().count() == len(ROWS)
    new = pa.table({"id": [100], "x": pa.array([1], pa.int32()), "s": ["n"]}, schema=SCHEMA)
    with pytest.raises(PredicateViolationError):  # no new row can match a predicate that never holds
        table.overwrite(new, where=where)
