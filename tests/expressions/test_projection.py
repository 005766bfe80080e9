"""Partition pruning: predicates projected through every spec of the table onto file partition tuples."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse.expressions.arrow_filter import evaluate
from lakehouse.expressions.binder import bind
from lakehouse.expressions.parser import parse
from lakehouse.expressions.projection import inclusive_projection, partition_may_match
from lakehouse.expressions.tree import (
    FALSE, TRUE, And, BoundRef, Compare, In, IsNull, Not, Or, StartsWith,
)
from lakehouse.format.partitioning import (
    UNPARTITIONED, PartitionSpec, parse_partition_by, partition_struct_type, partition_values,
)
from lakehouse.format.schema import Schema

UTC = dt.timezone.utc
ARROW = pa.schema([
    ("id", pa.int64()), ("ts", pa.timestamp("us", "UTC")), ("category", pa.string()),
    ("price", pa.decimal128(9, 2)), ("d", pa.date32()), ("score", pa.float64()),
    ("addr", pa.struct([("zip", pa.string())])),
])
SCHEMA = Schema.from_arrow(ARROW)


def spec(spec_id: int, *columns: str, last: int) -> PartitionSpec:
    return parse_partition_by(list(columns), SCHEMA, spec_id=spec_id, last_partition_id=last)


SPECS = {
    0: UNPARTITIONED,
    1: spec(1, "category", last=999),
    2: spec(2, "day(ts)", "bucket(4, id)", last=1000),
    3: spec(3, "truncate(2, category)", "month(d)", "truncate(100, price)", "addr.zip", last=1002),
    4: spec(4, "hour(ts)", "year(d)", "score", "truncate(10, id)", last=1006),
}
STRUCT = partition_struct_type(SPECS.values(), SCHEMA)


def files_of(data: pa.Table, spec_ids: list[int | None]) -> pa.Table:
    """A files table with one file per row of `data`, written under the given spec (None: no spec id)."""
    children = {f.name: [None] * data.num_rows for f in STRUCT}
    for sid in {s for s in spec_ids if s is not None}:
        rows = [i for i, s in enumerate(spec_ids) if s == sid]
        values = partition_values(SPECS[sid], SCHEMA, data.take(rows))
        for name in values.column_names:
            column = values.column(name)
            for j, i in enumerate(rows):
                children[name][i] = column[j]
    arrays = [pa.array([v.as_py() if isinstance(v, pa.Scalar) else v for v in children[f.name]], f.type)
              for f in STRUCT]
    partition = pa.StructArray.from_arrays(arrays, fields=list(STRUCT))
    return pa.table({"spec_id": pa.array(spec_ids, pa.int32()), "partition": partition})


def data(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ARROW)


ROWS = data([
    {"id": 1, "ts": dt.datetime(2024, 3, 1, 10, tzinfo=UTC), "category": "books", "price": Decimal("9.99"),
     "d": dt.date(2024, 3, 1), "score": 0.5, "addr": {"zip": "02139"}},
    {"id": 2, "ts": dt.datetime(2024, 3, 2, 0, tzinfo=UTC), "category": "games", "price": Decimal("150.00"),
     "d": dt.date(2024, 4, 1), "score": float("nan"), "addr": None},
    {"id": 3, "ts": dt.datetime(1969, 12, 31, 23, 59, tzinfo=UTC), "category": None, "price": None,
     "d": dt.date(1969, 12, 31), "score": None, "addr": {"zip": None}},
    {"id": None, "ts": None, "category": "boots", "price": Decimal("-0.01"), "d": None, "score": 2.0,
     "addr": {"zip": "10001"}},
])


def may(where: str | object, files: pa.Table) -> list[bool]:
    expr = bind(parse(where), SCHEMA) if isinstance(where, str) else where
    out = partition_may_match(expr, SPECS, SCHEMA, files)
    assert isinstance(out, pa.BooleanArray) and out.null_count == 0 and len(out) == files.num_rows
    return out.to_pylist()


def rows_match(where: str, table: pa.Table) -> list[bool]:
    return pc.fill_null(evaluate(bind(parse(where), SCHEMA), table), False).to_pylist()


# ---------------------------------------------------------------- examples, spec by spec

@pytest.mark.parametrize("sid,where,expected", [
    (1, "category = 'books'", [True, False, False, False]),
    (1, "category IN ('books', 'boots')", [True, False, False, True]),
    (1, "category != 'books'", [False, True, False, True]),
    (1, "NOT (category = 'books')", [False, True, False, True]),
    (1, "category NOT IN ('books', 'games')", [False, False, False, True]),
    (1, "category IS NULL", [False, False, True, False]),
    (1, "category LIKE 'bo%'", [True, False, False, True]),
    (1, "category LIKE '%s'", [True, True, False, True]),
    (1, "category = 'books' OR id = 2", [True, True, True, True]),   # id is not partitioned: anything
    (1, "category = 'books' AND id = 2", [True, False, False, False]),
    (2, "ts >= '2024-03-02'", [False, True, False, False]),
    (2, "ts < '2024-03-02'", [True, False, True, False]),
    (2, "ts < '1970-01-01'", [False, False, True, False]),
    (2, "id = 3", [False, False, True, False]),
    (2, "id = 2", [True, True, False, False]),                   # bucket[4]: 1 and 2 share bucket 0
    (2, "id IS NULL", [False, False, False, True]),
    (2, "id IN (1, 3)", [True, True, True, False]),
    (2, "ts IS NOT NULL AND id > 1", [True, True, True, False]),
    (3, "category LIKE 'bo%'", [True, False, False, True]),
    (3, "category LIKE 'book%'", [True, False, False, True]),   # truncate[2]: only "bo" is known
    (3, "category = 'games'", [False, True, False, False]),
    (3, "d >= '2024-04-01'", [False, True, False, False]),
    (3, "price < 0", [False, False, False, True]),
    (3, "price >= 100", [False, True, False, False]),
    (3, "addr.zip = '02139'", [True, False, False, False]),
    (3, "addr.zip IS NULL", [False, True, True, False]),
    (4, "ts > '2024-03-01 10:30'", [True, True, False, False]),  # hour 10 may hold 10:45
    (4, "ts >= '2024-03-01 11:00'", [False, True, False, False]),
    (4, "d < '1970-01-01'", [False, False, True, False]),
    (4, "score < 1", [True, False, False, False]),
    (4, "NOT (score < 1)", [False, True, False, True]),          # NaN is not < 1: kept
    (4, "id >= 10", [False, False, False, False]),
    (0, "category = 'nope' AND id = -1", [True, True, True, True]),
])
def test_pruning_examples(sid, where, expected):
    files = files_of(ROWS, [sid] * ROWS.num_rows)
    assert may(where, files) == expected
    # Soundness on the same rows: every file holding a matching row is kept.
    assert all(m <= p for m, p in zip(rows_match(where, ROWS), expected))


def test_mixed_specs_unknown_specs_and_constants():
    ids = [1, 2, 3, 0]
    files = files_of(ROWS, ids)
    # spec 1: identity; spec 2: category unpartitioned; spec 3: truncate[2] of a null; spec 0: unpartitioned
    assert may("category = 'books'", files) == [True, True, False, True]
    assert may("ts >= '2024-03-02' AND category = 'books'", files) == [True, True, False, True]
    assert may("ts < '2024-03-02' AND category = 'books'", files) == [True, False, False, True]
    assert may(TRUE, files) == [True] * 4
    assert may(FALSE, files) == [False] * 4
    unknown = files.set_column(0, "spec_id", pa.array([1, 99, None, 2], pa.int32()))
    assert may("category = 'nope'", unknown) == [False, True, True, True]
    empty = files.slice(0, 0)
    assert may("category = 'books'", empty) == []


def test_missing_partition_children_are_unknown():
    files = files_of(ROWS, [1] * 4)
    bare = files.set_column(1, "partition", pa.array([{}] * 4, pa.struct([])))
    assert may("category = 'books'", bare) == [True] * 4
    no_column = files.drop_columns(["partition"])
    assert may("category = 'books'", no_column) == [True] * 4


def test_inclusive_projection_shapes():
    expr = bind(parse("ts >= '2024-03-02' AND (id = 2 OR category = 'x')"), SCHEMA)
    day = BoundRef(1001, ("partition", "1001"), SCHEMA.find("d").type)  # ts_day is a date
    # category has no field in spec 2, so the OR says nothing and drops out of the AND.
    assert inclusive_projection(expr, SPECS[2], SCHEMA) == Compare(">=", day, pa.scalar(dt.date(2024, 3, 2)))
    assert inclusive_projection(expr, SPECS[2], SCHEMA, available={"1002"}) == TRUE
    both = inclusive_projection(bind(parse("ts = '2024-03-01 10:00'"), SCHEMA), spec(9, "day(ts)", "bucket(8, ts)",
                                                                                         last=2000), SCHEMA)
    assert isinstance(both, And)  # one leaf, two partition fields: both constrain
    assert inclusive_projection(bind(parse("score > 1"), SCHEMA), SPECS[1], SCHEMA) == TRUE


def test_hundred_thousand_files_prune():
    n = 100_000
    files = files_of(ROWS, [1, 2, 3, 4]).take(pa.array([i % 4 for i in range(n)]))
    expr = bind(parse("category = 'books' AND ts >= '2024-03-01' OR d < '1970-01-01'"), SCHEMA)
    out = partition_may_match(expr, SPECS, SCHEMA, files)  # timed in bench/, never in a test
    assert len(out) == n and out.to_pylist()[:4] == may(expr, files.slice(0, 4))


# ---------------------------------------------------------------- soundness (property)

ID = st.one_of(st.none(), st.integers(-30, 30), st.integers(-2 ** 63, 2 ** 63 - 1))
TS_US = st.one_of(st.none(), st.integers(-10 ** 15, 10 ** 15), st.integers(-50, 50).map(lambda k: k * 3_600_000_000 - 1))
CATEGORY = st.one_of(st.none(), st.text(alphabet="abé", max_size=4))
PRICE = st.one_of(st.none(), st.integers(-100_000, 100_000).map(lambda u: Decimal(u).scaleb(-2)))
DAYS = st.one_of(st.none(), st.integers(-800, 800))
SCORE = st.one_of(st.none(), st.floats(-3, 3), st.just(float("nan")))
ZIP = st.one_of(st.none(), st.sampled_from(["02139", "10001", ""]))

ROW = st.fixed_dictionaries({"id": ID, "ts": TS_US, "category": CATEGORY, "price": PRICE, "d": DAYS,
                             "score": SCORE, "zip": ZIP})


def table_of(rows: list[dict]) -> pa.Table:
    return pa.table({
        "id": pa.array([r["id"] for r in rows], pa.int64()),
        "ts": pa.array([r["ts"] for r in rows], pa.int64()).view(pa.timestamp("us", "UTC")),
        "category": pa.array([r["category"] for r in rows], pa.string()),
        "price": pa.array([r["price"] for r in rows], pa.decimal128(9, 2)),
        "d": pa.array([r["d"] for r in rows], pa.int32()).view(pa.date32()),
        "score": pa.array([r["score"] for r in rows], pa.float64()),
        "addr": pa.StructArray.from_arrays([pa.array([r["zip"] for r in rows], pa.string())], names=["zip"]),
    })


def ref(name: str) -> BoundRef:
    f = SCHEMA.find(name)
    return BoundRef(f.id, SCHEMA.path_of(f.id), f.type)


@st.composite
def leaves(draw, table: pa.Table):
    name = draw(st.sampled_from(["id", "ts", "category", "price", "d", "score", "addr.zip"]))
    r = ref(name)
    column = table.column(name.split(".")[0])
    if name == "addr.zip":
        column = pc.struct_field(column, ["zip"])
    pick = column.drop_null()

    def literal():
        if len(pick) and draw(st.booleans()):
            return pick[draw(st.integers(0, len(pick) - 1))]
        if name == "addr.zip":
            return pa.scalar(draw(ZIP) or "x")
        return table_of([draw(ROW)]).column(name)[0]

    kind = draw(st.sampled_from(["cmp", "cmp", "in", "null", "prefix"]))
    if kind == "null":
        return IsNull(r, negated=draw(st.booleans()))
    value = literal()
    if not value.is_valid:
        return IsNull(r)
    if kind == "prefix" and name == "category":
        return StartsWith(r, value.as_py()[:draw(st.integers(0, 3))], negated=draw(st.booleans()))
    if kind == "in":
        other = literal()
        return In(r, (value, other) if other.is_valid else (value,), negated=draw(st.booleans()))
    return Compare(draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="])), r, value)


@st.composite
def predicates(draw, table: pa.Table, depth: int = 0):
    if depth >= 2 or draw(st.integers(0, 2)) == 0:
        return draw(leaves(table))
    kind = draw(st.sampled_from([And, Or, Not]))
    if kind is Not:
        return Not(draw(predicates(table, depth + 1)))
    return kind(draw(predicates(table, depth + 1)), draw(predicates(table, depth + 1)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_pruning_never_drops_a_file_with_a_matching_row(data):
    rows = data.draw(st.lists(ROW, min_size=1, max_size=12))
    table = table_of(rows)
    spec_ids = data.draw(st.lists(st.sampled_from(list(SPECS)), min_size=len(rows), max_size=len(rows)))
    expr = data.draw(predicates(table))
    matches = pc.fill_null(evaluate(expr, table), False)
    kept = partition_may_match(expr, SPECS, SCHEMA, files_of(table, spec_ids))
    dropped = pc.and_(matches, pc.invert(kept))
    assert not pc.any(dropped).as_py(), (expr, table.filter(dropped).to_pylist())
