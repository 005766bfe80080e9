"""A chain of equalities ORed together is filtered as one IN: the same rows, NULL and NaN included."""

from __future__ import annotations

import math
import uuid

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

import lakehouse

_ROWS = st.lists(st.tuples(st.one_of(st.none(), st.integers(-3, 3)), st.one_of(st.none(), st.sampled_from("ab")),
                           st.one_of(st.none(), st.sampled_from([0.0, -0.0, 1.5, math.nan]))), min_size=1, max_size=30)
_TERMS = st.lists(st.one_of(st.integers(-3, 3).map(lambda v: (f"i = {v}", lambda r, v=v: r[0] == v)),
                            st.sampled_from("abc").map(lambda v: (f"s = '{v}'", lambda r, v=v: r[1] == v)),
                            st.sampled_from([0.0, 1.5]).map(lambda v: (f"f = {v}", lambda r, v=v: r[2] == v)),
                            # NaN equals NaN (DuckDB): the merged IN must find it, and -0.0 for 0.0
                            st.just(("f = 'NaN'", lambda r: math.isnan(r[2]))),
                            st.just(("i IS NULL", lambda r: r[0] is None))), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(rows=_ROWS, terms=_TERMS)
def test_or_of_equalities_keeps_exactly_the_rows_sql_keeps(rows, terms):
    t = lakehouse.create_table(f"memory://or-as-in-{uuid.uuid4().hex}",  # a name of its own per example
                               schema=pa.schema([("i", pa.int64()), ("s", pa.string()), ("f", pa.float64())]))
    t.append(pa.table({"i": [r[0] for r in rows], "s": [r[1] for r in rows], "f": [r[2] for r in rows]},
                      schema=t.arrow_schema))
    where = " OR ".join(sql for sql, _ in terms)
    # A row is kept when some term is TRUE; a NULL operand makes `=` unknown, never TRUE.
    expected = sum(any(r[k] is not None and test(r) for sql, test in terms
                       for k in [0 if sql.startswith("i =") else 1 if sql.startswith("s") else 2]
                       ) or any(sql == "i IS NULL" and r[0] is None for sql, _ in terms) for r in rows)
    assert t.scan(where=where).count() == expected
    assert t.scan(where=where).to_arrow().num_rows == expected
