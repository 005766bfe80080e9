"""Pruning never loses a row: for generated data and predicates, a pruned scan of a partitioned
table returns exactly the rows a full read filtered by pyarrow returns."""

import datetime as dt
import uuid

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse.expressions.arrow_filter import to_arrow_filter
from lakehouse.expressions.binder import bind
from lakehouse.expressions.parser import parse

SCHEMA = pa.schema([("id", pa.int64()), ("ts", pa.timestamp("us")), ("name", pa.string()),
                    ("score", pa.float64()), ("d", pa.date32())])
BASE = dt.datetime(2024, 3, 1)

rows = st.lists(st.tuples(
    st.integers(-50, 50) | st.none(),
    st.integers(0, 24 * 40) | st.none(),
    st.sampled_from(["apple", "apricot", "banana", "b", "", "cherry-pie-with-a-very-long-name-indeed"]) | st.none(),
    st.floats(-5, 5) | st.just(float("nan")) | st.none(),
    st.integers(-3, 40) | st.none(),
), min_size=1, max_size=40)

ints = st.integers(-60, 60)
leaves = st.one_of(
    st.builds(lambda op, v: f"id {op} {v}", st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), ints),
    st.builds(lambda op, h: f"ts {op} '{BASE + dt.timedelta(hours=h)}'", st.sampled_from(["<", ">=", "="]),
              st.integers(-10, 24 * 41)),
    st.builds(lambda op, v: f"d {op} DATE '{dt.date(2024, 3, 1) + dt.timedelta(days=v)}'",
              st.sampled_from(["<", "<=", ">", "="]), st.integers(-5, 42)),
    st.builds(lambda v: f"name = '{v}'", st.sampled_from(["apple", "b", "", "zzz"])),
    st.builds(lambda p: f"name LIKE '{p}%'", st.sampled_from(["ap", "b", "cherry-pie-with-a-very", "x"])),
    st.builds(lambda op, v: f"score {op} {v}", st.sampled_from(["<", ">"]), st.floats(-6, 6).map(lambda f: round(f, 2))),
    st.builds(lambda c, n: f"{c} IS {n}NULL", st.sampled_from(["id", "ts", "name", "score", "d"]),
              st.sampled_from(["", "NOT "])),
    st.builds(lambda vs: f"id IN ({', '.join(map(str, vs))})", st.lists(ints, min_size=1, max_size=4)),
    st.builds(lambda a, b: f"id BETWEEN {min(a, b)} AND {max(a, b)}", ints, ints),
)
predicates = st.recursive(leaves, lambda inner: st.one_of(
    st.builds(lambda a, b: f"({a}) AND ({b})", inner, inner),
    st.builds(lambda a, b: f"({a}) OR ({b})", inner, inner),
    st.builds(lambda a: f"NOT ({a})", inner)), max_leaves=4)


def _table(data_rows):
    return pa.table({
        "id": [r[0] for r in data_rows],
        "ts": [None if r[1] is None else BASE + dt.timedelta(hours=r[1]) for r in data_rows],
        "name": [r[2] for r in data_rows],
        "score": [r[3] for r in data_rows],
        "d": [None if r[4] is None else dt.date(2024, 3, 1) + dt.timedelta(days=r[4]) for r in data_rows],
    }, schema=SCHEMA)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(rows, min_size=1, max_size=4), where=predicates,
       partition_by=st.sampled_from([[], ["day(ts)"], ["bucket(3, id)", "truncate(2, name)"], ["month(d)", "name"]]))
def test_pruned_scan_equals_filtered_full_read(batches, where, partition_by):
    t = lakehouse.create_table(f"memory://soundness/{uuid.uuid4().hex}", schema=SCHEMA, partition_by=partition_by)
    for b in batches:
        t.append(_table(b))
    everything = pa.concat_tables(_table(b) for b in batches)
    expected = everything.filter(to_arrow_filter(bind(parse(where), t.schema)))
    got = t.scan(where=where).to_arrow()
    as_text = lambda t: sorted(repr(tuple(r.values())) for r in t.to_pylist())  # noqa: E731  (NaN == NaN as text)
    assert as_text(got) == as_text(expected)
    assert t.scan(where=where).count() == expected.num_rows
