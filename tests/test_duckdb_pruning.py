"""lakehouse.duckdb file pruning is sound: any WHERE clause gives DuckDB's rows over the same data.

Random WHERE clauses (comparisons with typed, string, NaN and infinite literals, IN, BETWEEN, LIKE,
IS NULL, NOT, OR) over tables partitioned by identity, day and bucket, the table read alone,
inner-joined, and on the null-filled side of a LEFT JOIN (where no conjunct may prune it).
"""

from __future__ import annotations

import datetime as dt
import tempfile

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse
import lakehouse.duckdb

FLOATS = pa.schema([("id", pa.int64()), ("cat", pa.string()), ("f", pa.float64()), ("ts", pa.timestamp("us"))])
_LITERALS = {
    "id": st.integers(-3, 25).map(str),
    "cat": st.sampled_from(["'a'", "'b'", "'c'", "'ab'", "''"]),
    "f": st.sampled_from(["0.5", "-1", "'NaN'", "CAST('NaN' AS DOUBLE)", "'inf'", "1e300", "0", "-0.0", "2.25"]),
    "ts": st.sampled_from(["TIMESTAMP '2024-01-02'", "'2024-01-01 12:00'", "DATE '2024-01-03'",
                           "TIMESTAMPTZ '2024-01-02 00:00:00+00'"]),
}


@st.composite
def _conjunct(draw, depth=0):
    col = draw(st.sampled_from(sorted(_LITERALS)))
    lit = _LITERALS[col]
    kind = draw(st.sampled_from(["cmp", "cmp", "null", "in", "between", "like", "not", "or"] if depth < 2 else ["cmp"]))
    if kind == "cmp":
        return f"{col} {draw(st.sampled_from(['=', '!=', '<', '<=', '>', '>=']))} {draw(lit)}"
    if kind == "null":
        return f"{col} IS {draw(st.sampled_from(['', 'NOT ']))}NULL"
    if kind == "in":
        return f"{col} {draw(st.sampled_from(['', 'NOT ']))}IN ({', '.join(draw(st.lists(lit, min_size=1, max_size=3)))})"
    if kind == "between":
        return f"{col} BETWEEN {draw(lit)} AND {draw(lit)}"
    if kind == "like":
        pattern = draw(st.sampled_from(["'a%'", "'%b'", "'a_'", "'ab'"]))
        return f"cat {draw(st.sampled_from(['', 'NOT ']))}LIKE {pattern}"
    if kind == "not":
        return f"NOT ({draw(_conjunct(depth + 1))})"
    return f"({draw(_conjunct(depth + 1))} OR {draw(_conjunct(depth + 1))})"


_FROWS = st.lists(st.tuples(st.one_of(st.none(), st.integers(-2, 24)), st.sampled_from(["a", "b", "ab", None]),
                            st.sampled_from([None, 0.5, -1.0, float("nan"), float("inf"), 0.0, -0.0, 2.25, 1e300]),
                            st.one_of(st.none(), st.integers(0, 4 * 24))), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(_FROWS, min_size=1, max_size=4), conjuncts=st.lists(_conjunct(), min_size=1, max_size=3),
       partition=st.sampled_from([None, ["cat"], ["day(ts)"], ["bucket(3, id)"]]))
def test_pruning_by_any_where_gives_duckdbs_rows(batches, conjuncts, partition):
    with tempfile.TemporaryDirectory() as root:
        t = lakehouse.create_table(f"{root}/t", schema=FLOATS, partition_by=partition)
        for batch in batches:
            ids, cats, fs, hours = zip(*batch)
            t.append(pa.table({"id": list(ids), "cat": list(cats), "f": list(fs),
                               "ts": [None if h is None else dt.datetime(2024, 1, 1) + dt.timedelta(hours=h)
                                      for h in hours]}, schema=FLOATS))
        con = lakehouse.duckdb.connect(tables={"s.t": t.refresh()})
        con.con.execute("SET TimeZone = 'UTC'")
        con.con.register("rows_", t.refresh().to_arrow())
        con.con.execute("CREATE TABLE native_t AS SELECT * FROM rows_")
        where = " AND ".join(conjuncts)
        for query in ["SELECT * FROM {t} WHERE " + where,
                      "SELECT * FROM {t} JOIN (SELECT 1 AS k) d ON true WHERE " + where,
                      "SELECT * FROM range(-2, 25) d(k) LEFT JOIN {t} ON d.k = {t}.id WHERE " + where]:
            try:
                native = con.con.sql(f"SELECT * FROM ({query.format(t='native_t')}) ORDER BY ALL").fetchall()
            except duckdb.Error:
                continue  # DuckDB refuses the expression itself (say, a literal that does not cast)
            ours = con.sql(f"SELECT * FROM ({query.format(t='s.t')}) ORDER BY ALL").fetchall()
            assert repr(ours) == repr(native), query
