"""SQL DML through lakehouse.duckdb: each statement commits one version and gives the Python
API's result (NULL and NaN included), in both write modes; a failing statement commits nothing."""

from __future__ import annotations

import math
import uuid

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import lakehouse
import lakehouse.duckdb
from lakehouse.errors import InvalidArgumentError, LakehouseError, MergeCardinalityError, SchemaMismatchError

MODES = ["copy-on-write", "merge-on-read"]
SCHEMA = {"id": "int64", "v": "double", "s": "string"}
ROWS = {"id": [1, 2, 3, 4, 5, 6], "v": [1.0, float("nan"), None, -2.0, 0.5, 7.0], "s": ["a", "b", None, "d", "e", "f"]}


def _table(mode: str, rows: dict | None = None, files: int = 2):
    t = lakehouse.create_table(f"memory://dml/{uuid.uuid4().hex}", schema=SCHEMA, properties={
        f"write.{op}.mode": mode for op in ("delete", "update", "merge")})
    data = pa.table(rows or ROWS, schema=t.arrow_schema)
    step = max(1, -(-data.num_rows // files))
    for start in range(0, data.num_rows, step):  # several files, so rewrites touch some of them
        t.append(data.slice(start, step))
    return t.refresh()


def _pair(mode: str, rows: dict | None = None):
    """Two equal tables: one changed by SQL (as s.t), one by the Python API."""
    sql_table, api_table = _table(mode, rows), _table(mode, rows)
    con = lakehouse.duckdb.connect(tables={"s.t": sql_table})
    con.con.execute("CREATE TABLE src (id BIGINT, v DOUBLE, op VARCHAR)")
    con.con.execute("INSERT INTO src VALUES (2, 20.0, 'U'), (4, 40.0, 'D'), (9, 90.0, 'I'), (10, 'NaN', 'I')")
    return con, sql_table, api_table


def _rows(t) -> list:
    """The table's rows, sorted, NaN made comparable."""
    rows = [tuple("NaN" if isinstance(x, float) and math.isnan(x) else x for x in r.values())
            for r in t.refresh().to_arrow().to_pylist()]
    return sorted(rows, key=repr)


def _same(con, sql: str, sql_table, api_table, api_version: int, expected_count: int | None = None) -> None:
    before = sql_table.refresh().version
    count = con.sql(sql).fetchall()
    assert sql_table.refresh().version == before + 1  # one version per statement
    assert api_table.refresh().version == api_version
    assert _rows(sql_table) == _rows(api_table)
    if expected_count is not None:
        assert count == [(expected_count,)]


@pytest.mark.parametrize("mode", MODES)
def test_insert_equals_append(mode):
    con, t, api = _pair(mode)
    v = api.append(pa.table({"id": [7, 8], "v": [None, float("nan")], "s": ["x", None]}, schema=api.arrow_schema))
    _same(con, "INSERT INTO s.t VALUES (7, NULL, 'x'), (8, 'NaN', NULL)", t, api, v.version, 2)
    v = api.append(pa.table({"id": [9, 10], "v": [None, None], "s": ["I", "I"]}, schema=api.arrow_schema))
    _same(con, "INSERT INTO s.t (s, id) SELECT op, id FROM src WHERE op = 'I'", t, api, v.version, 2)
    v = api.append(pa.table({"id": [1, 2, 3, 4, 5, 6], "v": ROWS["v"], "s": ROWS["s"]}, schema=api.arrow_schema))
    _same(con, "INSERT INTO s.t BY NAME SELECT s, v, id FROM s.t VERSION AS OF 2", t, api, v.version, 6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("where", ["v < 0 OR v IS NULL", "s IN ('a', 'f')", "v > 5", "id BETWEEN 2 AND 5 AND NOT s = 'd'"])
def test_delete_equals_python_delete(mode, where):
    con, t, api = _pair(mode)
    m = api.delete(where=where)
    _same(con, f"DELETE FROM s.t WHERE {where}", t, api, m.version, m.num_deleted_rows)


@pytest.mark.parametrize("mode", MODES)
def test_update_equals_python_update(mode):
    con, t, api = _pair(mode)
    m = api.update(set={"v": "v * 2 + 1", "s": "upper(s)"}, where="id >= 2")
    _same(con, "UPDATE s.t AS x SET v = x.v * 2 + 1, s = upper(s) WHERE x.id >= 2", t, api, m.version,
          m.num_updated_rows)


@pytest.mark.parametrize("mode", MODES)
def test_delete_using_and_subquery_equal_python_delete(mode):
    con, t, api = _pair(mode)
    m = api.delete(where="id IN (2, 4)")
    _same(con, "DELETE FROM s.t USING src WHERE t.id = src.id AND src.op IN ('U', 'D')", t, api, m.version, 2)
    m = api.delete(where="v > 0.9")  # NaN is greater than every number in DuckDB
    _same(con, "DELETE FROM s.t WHERE v > (SELECT min(v) FROM s.t WHERE v > 0.6) - 0.1", t, api, m.version,
          m.num_deleted_rows)


@pytest.mark.parametrize("mode", MODES)
def test_update_from_equals_python_merge(mode):
    con, t, api = _pair(mode)
    source = pa.table({"id": [2, 4], "v": [20.0, 40.0]})
    m = api.merge(source, on="id").when_matched_update(set={"v": "source.v", "s": "target.s || '!'"}).execute()
    _same(con, "UPDATE s.t SET v = src.v, s = s || '!' FROM src WHERE s.t.id = src.id AND src.op <> 'I'",
          t, api, m.version, 2)


@pytest.mark.parametrize("mode", MODES)
def test_merge_equals_python_merge(mode):
    con, t, api = _pair(mode)
    source = pa.table({"id": [2, 4, 9, 10], "v": [20.0, 40.0, 90.0, float("nan")], "op": ["U", "D", "I", "I"]})
    m = (api.merge(source, on="id")
         .when_matched_delete(where="source.op = 'D'")
         .when_matched_update(set={"v": "source.v + target.v"})
         .when_not_matched_insert(values={"id": "source.id", "v": "source.v", "s": "source.op"})
         .when_not_matched_by_source_update(set={"s": "'gone'"}, where="target.v IS NULL")
         .execute())
    sql = ("MERGE INTO s.t AS tt USING (SELECT * FROM src) AS x ON tt.id = x.id "
           "WHEN MATCHED AND x.op = 'D' THEN DELETE WHEN MATCHED THEN UPDATE SET v = x.v + tt.v "
           "WHEN NOT MATCHED THEN INSERT (id, v, s) VALUES (x.id, x.v, x.op) "
           "WHEN NOT MATCHED BY SOURCE AND tt.v IS NULL THEN UPDATE SET s = 'gone'")
    _same(con, sql, t, api, m.version, m.num_inserted_rows + m.num_updated_rows + m.num_deleted_rows)


@pytest.mark.parametrize("mode", MODES)
def test_merge_do_nothing_and_star(mode):
    con, t, api = _pair(mode)
    source = pa.table({"id": [2, 4, 9], "v": [20.0, 40.0, 90.0], "s": ["U", "D", "I"]})
    con.con.register("src2", source)
    m = (api.merge(source, on="id").when_matched_update(where="NOT (source.s = 'D')")
         .when_not_matched_insert().execute())
    sql = ("MERGE INTO s.t USING src2 USING (id) WHEN MATCHED AND src2.s = 'D' THEN DO NOTHING "
           "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *")
    _same(con, sql, t, api, m.version, 2)


# A class of predicates over NULL and NaN: the general path (DuckDB picks the rows by
# position, forced here by a subquery) deletes and updates exactly the rows the Python API does.
_values = st.sampled_from(["-1", "0", "0.5", "7", "'NaN'::DOUBLE"])
_atoms = st.one_of(
    st.builds(lambda op, x: f"v {op} {x}", st.sampled_from(["<", "<=", ">", ">=", "=", "!="]), _values),
    st.sampled_from(["v IS NULL", "v IS NOT NULL", "s IS NULL", "s IN ('a', 'e')", "id BETWEEN 2 AND 4"]))
_predicates = st.recursive(_atoms, lambda inner: st.one_of(
    st.builds(lambda a, b: f"({a}) AND ({b})", inner, inner), st.builds(lambda a, b: f"({a}) OR ({b})", inner, inner),
    st.builds(lambda a: f"NOT ({a})", inner)), max_leaves=3)
_data = st.lists(st.tuples(st.sampled_from([None, float("nan"), -1.0, 0.0, 0.5, 7.0, 8.0]),
                           st.sampled_from([None, "a", "b", "e"])), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=_predicates, data=_data, mode=st.sampled_from(MODES), op=st.sampled_from(["delete", "update"]))
def test_general_path_equals_python_api(where, data, mode, op):
    rows = {"id": list(range(len(data))), "v": [v for v, _ in data], "s": [s for _, s in data]}
    con, t, api = _pair(mode, rows)
    try:
        m = api.delete(where=where) if op == "delete" else api.update(set={"s": "coalesce(s, '') || '*'"}, where=where)
    except LakehouseError:
        return  # a predicate the Python API refuses (e.g. a NaN literal it cannot bind): nothing to compare
    changed = m.num_deleted_rows if op == "delete" else m.num_updated_rows
    statement = (f"DELETE FROM s.t WHERE ({where}) AND EXISTS (SELECT 1)" if op == "delete" else
                 f"UPDATE s.t SET s = coalesce(s, '') || '*' WHERE ({where}) AND EXISTS (SELECT 1)")
    before = t.refresh().version
    assert con.sql(statement).fetchall() == [(changed,)]
    assert t.refresh().version == before + (1 if changed else 0)
    assert _rows(t) == _rows(api)


@pytest.mark.parametrize("mode", MODES)
def test_general_paths_write_deletion_vectors_in_merge_on_read(mode):
    con, t, _ = _pair(mode)
    con.sql("DELETE FROM s.t WHERE id IN (SELECT id FROM src)")
    has_dv = any(a.deletion_vector is not None for a in t.refresh().state.files.added.values())
    assert has_dv == (mode == "merge-on-read")
    assert con.sql("SELECT count(*) FROM s.t").fetchall() == [(4,)]


def test_failing_statements_commit_nothing():
    con, t, _ = _pair("copy-on-write")
    version = t.refresh().version
    with pytest.raises((LakehouseError, duckdb.Error)):
        con.sql("UPDATE s.t SET id = 'not a number' WHERE EXISTS (SELECT 1)")
    with pytest.raises((LakehouseError, duckdb.Error)):
        con.sql("INSERT INTO s.t SELECT 'x', 1.0, 'y'")
    with pytest.raises(InvalidArgumentError):
        con.sql("INSERT INTO s.t VALUES (1, 2.0)")
    con.con.execute("INSERT INTO src VALUES (2, 21.0, 'U')")  # two source rows for target row 2
    with pytest.raises(MergeCardinalityError):
        con.sql("MERGE INTO s.t USING src ON t.id = src.id WHEN MATCHED THEN UPDATE SET v = src.v")
    with pytest.raises(InvalidArgumentError):
        con.sql("DELETE FROM s.t WHERE id = 1 RETURNING *")
    with pytest.raises(InvalidArgumentError):
        con.execute("INSERT INTO s.t VALUES (?, ?, ?)", [1, 2.0, "x"])
    assert t.refresh().version == version


def test_required_column_null_refused():
    t = lakehouse.create_table(f"memory://dml/{uuid.uuid4().hex}",
                               schema=pa.schema([pa.field("id", pa.int64(), nullable=False), ("v", pa.string())]))
    con = lakehouse.duckdb.connect(tables={"s.r": t})
    with pytest.raises((SchemaMismatchError, LakehouseError)):
        con.sql("INSERT INTO s.r (v) VALUES ('x')")
    assert t.refresh().version == 0


def test_statements_on_other_tables_are_duckdbs():
    con, t, _ = _pair("copy-on-write")
    assert con.sql("INSERT INTO src SELECT id, v, 'X' FROM s.t WHERE id < 3").fetchall() == [(2,)]
    assert con.sql("DELETE FROM src WHERE op = 'X'").fetchall() == [(2,)]
    assert con.execute("UPDATE src SET v = 0 WHERE id = 2").fetchall() == [(1,)]
    assert t.refresh().version == 2


def test_no_match_commits_nothing_as_the_python_api():
    con, t, _ = _pair("merge-on-read")
    version = t.refresh().version
    assert con.sql("DELETE FROM s.t WHERE id > 100").fetchall() == [(0,)]
    assert con.sql("DELETE FROM s.t WHERE id IN (SELECT id FROM src WHERE id > 100)").fetchall() == [(0,)]
    assert con.sql("UPDATE s.t SET v = 1 FROM src WHERE t.id = src.id AND src.id > 100").fetchall() == [(0,)]
    assert t.refresh().version == version


def test_create_table_as_registers_a_new_table():
    from lakehouse import catalog

    cat = catalog.connect(f"memory://dml-cat-{uuid.uuid4().hex}")
    cat.create_namespace("sales")
    orders = cat.create_table("sales.orders", schema={"id": "int64", "amount": "double"})
    orders.append({"id": [1, 2, 3], "amount": [1.5, float("nan"), None]})
    con = lakehouse.duckdb.connect(cat)
    query = "SELECT id % 2 AS k, sum(amount) AS total, count(*) AS n FROM sales.orders GROUP BY 1"
    assert con.sql(f"CREATE TABLE sales.by_k AS {query}").fetchall() == [(2,)]
    made = cat.load_table("sales.by_k")
    assert made.version == 1 and [h.operation for h in made.history()] == ["append", "create"]
    expected = con.sql(query).arrow()
    assert _rows(made) == sorted([tuple("NaN" if isinstance(x, float) and math.isnan(x) else x for x in r.values())
                                  for r in pa.table(expected).to_pylist()], key=repr)
    assert con.sql("CREATE TABLE IF NOT EXISTS sales.by_k AS SELECT 1 AS x").fetchall() == [(0,)]
    with pytest.raises(lakehouse.errors.TableExistsError):
        con.sql("CREATE TABLE sales.by_k AS SELECT 1 AS x")
    with pytest.raises(duckdb.Error):  # fails while the rows are read: no table is left behind
        con.sql("CREATE TABLE sales.bad AS SELECT CASE WHEN id = 3 THEN error('boom') END AS x FROM sales.orders")
    assert not cat.table_exists("sales.bad")
    assert con.sql("CREATE TABLE scratch AS SELECT 1 AS x").fetchall() == [(1,)]  # not a namespace: DuckDB's
    assert not cat.table_exists("sales.scratch")


def _evolved(uri: str):
    """A table whose columns were renamed, dropped, widened and added after data was written."""
    t = lakehouse.create_table(uri, schema=pa.schema([("id", pa.int64()), ("old", pa.int32()), ("gone", pa.string())]))
    t.append({"id": [1, 2, 3], "old": [10, None, 30], "gone": ["x", "y", "z"]})
    with t.update_schema() as u:
        u.rename_column("old", "amount").widen_column("amount", pa.int64()).drop_column("gone")
        u.add_column("note", pa.string())
    t = t.refresh()
    t.append({"id": [4], "amount": [2 ** 40], "note": ["big"]})
    return t.refresh()


@pytest.mark.parametrize("mode", MODES)
def test_dml_on_evolved_columns_equals_python_api(mode, tmp_path):
    t, api = _evolved(str(tmp_path / "sql")), _evolved(str(tmp_path / "api"))
    for table in (t, api):
        table.set_properties({f"write.{op}.mode": mode for op in ("delete", "update")})
    con = lakehouse.duckdb.connect(tables={"s.t": t})
    api.update(set={"amount": "amount + 1", "note": "'u'"}, where="amount >= 30")
    con.sql("UPDATE s.t SET amount = amount + 1, note = 'u' WHERE amount >= (SELECT 30)")
    api.delete(where="amount IS NULL")
    con.sql("DELETE FROM s.t WHERE amount IS NULL AND id IN (SELECT id FROM s.t)")
    api.append(pa.table({"id": [5], "amount": [7], "note": [None]}, schema=api.arrow_schema))
    con.sql("INSERT INTO s.t (id, amount) VALUES (5, 7)")
    assert _rows(t) == _rows(api)
    assert con.sql("SELECT id, amount, note FROM s.t ORDER BY id").fetchall() == [
        tuple(r.values()) for r in sorted(api.refresh().to_arrow().to_pylist(), key=lambda r: r["id"])]


@pytest.mark.s3
def test_dml_on_s3(s3):
    t = lakehouse.create_table(s3.uri(), schema=SCHEMA, properties={"write.delete.mode": "merge-on-read"})
    t.append(pa.table(ROWS, schema=t.arrow_schema))
    con = lakehouse.duckdb.connect(tables={"s.t": t})
    con.con.execute("CREATE TABLE src AS SELECT 2::BIGINT AS id, 20.0::DOUBLE AS v")
    assert con.sql("INSERT INTO s.t SELECT id + 100, v, s FROM s.t WHERE id <= 2").fetchall() == [(2,)]
    assert con.sql("DELETE FROM s.t USING src WHERE t.id = src.id").fetchall() == [(1,)]
    assert con.sql("UPDATE s.t SET v = 0 WHERE id > 100").fetchall() == [(2,)]
    assert con.sql("MERGE INTO s.t USING src ON t.id = src.id WHEN NOT MATCHED THEN INSERT (id, v) "
                   "VALUES (src.id, src.v)").fetchall() == [(1,)]
    assert con.sql("SELECT count(*), sum(v) FILTER (WHERE id > 100) FROM s.t").fetchall() == [(8, 0.0)]
    assert t.refresh().version == 5


@pytest.mark.parametrize("mode", MODES)
def test_general_delete_naming_no_column_of_the_table(mode):
    con, t, _ = _pair(mode)
    assert con.sql("DELETE FROM s.t USING src WHERE src.op = 'D'").fetchall() == [(6,)]
    assert t.refresh().to_arrow().num_rows == 0
    con.sql("INSERT INTO s.t SELECT * FROM s.t VERSION AS OF 2")
    assert con.sql("DELETE FROM s.t WHERE EXISTS (SELECT 1)").fetchall() == [(6,)]


@pytest.mark.parametrize("mode", MODES)
def test_statements_with_ctes(mode):
    con, t, api = _pair(mode)
    api.append(pa.table({"id": [20], "v": [2.0], "s": ["w"]}, schema=api.arrow_schema))
    con.sql("WITH w AS (SELECT 20 AS id, 2.0 AS v) INSERT INTO s.t SELECT id, v, 'w' FROM w")
    api.delete(where="id IN (2, 4)")
    con.sql("WITH d AS (SELECT id FROM src WHERE op <> 'I') DELETE FROM s.t WHERE id IN (SELECT id FROM d)")
    api.update(set={"v": "0"}, where="id = 1")
    con.sql("WITH u AS (SELECT 1 AS id) UPDATE s.t SET v = 0 FROM u WHERE t.id = u.id")
    api.merge(pa.table({"id": [3]}), on="id").when_matched_delete().execute()
    con.sql("WITH m AS (SELECT 3::BIGINT AS id) MERGE INTO s.t USING m ON t.id = m.id WHEN MATCHED THEN DELETE")
    assert _rows(t) == _rows(api)
    assert t.refresh().version == api.refresh().version


# DuckDB as the oracle for the MERGE translation: the same statement on a native DuckDB table
# and on a lakehouse table gives the same rows (unique keys on both sides: DuckDB allows two
# source rows per target row, the Python API refuses them).
_CONDITIONS = {True: [None, "x.v > t.v", "t.s IS NULL", "x.v IS NULL"], False: [None, "x.v > 1", "x.s IS NOT NULL"],
               "by_source": [None, "t.v > 0", "t.s = 'a'"]}
_ACTIONS = {True: ["UPDATE SET v = x.v + t.v", "UPDATE SET s = x.s", "DELETE", "DO NOTHING"],
            False: ["INSERT (id, v, s) VALUES (x.id, x.v, x.s)", "INSERT (id) VALUES (x.id * 10)", "DO NOTHING"],
            "by_source": ["UPDATE SET s = 'gone'", "DELETE", "DO NOTHING"]}
_HEADS = {True: "WHEN MATCHED", False: "WHEN NOT MATCHED", "by_source": "WHEN NOT MATCHED BY SOURCE"}
_clause = st.sampled_from([True, False, "by_source"]).flatmap(lambda kind: st.tuples(
    st.just(kind), st.sampled_from(_CONDITIONS[kind]), st.sampled_from(_ACTIONS[kind])))
_side = st.lists(st.tuples(st.sampled_from([None, float("nan"), -1.0, 0.5, 3.0]), st.sampled_from([None, "a", "b"])),
                 min_size=0, max_size=6)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clauses=st.lists(_clause, min_size=1, max_size=4), target=_side, source=_side,
       offset=st.integers(0, 4), mode=st.sampled_from(MODES))
# A DO NOTHING whose condition is NULL lets the row go on to the next clause.
@example(clauses=[(False, "x.v > 1", "DO NOTHING"), (False, None, "INSERT (id, v, s) VALUES (x.id, x.v, x.s)")],
         target=[], source=[(None, None)], offset=0, mode="copy-on-write")
def test_merge_translation_equals_duckdb_merge(clauses, target, source, offset, mode):
    rows = {"id": list(range(len(target))), "v": [v for v, _ in target], "s": [s for _, s in target]}
    t = _table(mode, rows if target else None, files=2)
    if not target:
        t.delete()
        t = t.refresh()
    con = lakehouse.duckdb.connect(tables={"s.t": t})
    src = pa.table({"id": pa.array(range(offset, offset + len(source)), pa.int64()),
                    "v": pa.array([v for v, _ in source], pa.float64()), "s": pa.array([s for _, s in source], pa.string())})
    con.con.register("x_src", src)
    con.con.execute("CREATE TABLE native AS SELECT * FROM s.t")
    whens = " ".join(f"{_HEADS[k]}{'' if c is None else ' AND ' + c} THEN {a}" for k, c, a in clauses)
    body = f"USING x_src AS x ON t.id = x.id {whens}"
    try:
        con.con.execute(f"MERGE INTO native AS t {body}")
    except duckdb.Error:
        event("DuckDB refuses")
        return  # a statement DuckDB refuses (a clause that can never run): nothing to compare
    try:
        con.sql(f"MERGE INTO s.t AS t {body}")
    except InvalidArgumentError:
        event("the Python API refuses")
        return  # the Python API's rule: no clause after an unconditional one of its kind
    expected = con.con.sql("SELECT * FROM native").fetchall()
    assert _rows(t) == sorted([tuple("NaN" if isinstance(x, float) and math.isnan(x) else x for x in r)
                               for r in expected], key=repr)


def _feed(t, version: int) -> list:
    feed = t.refresh().changes(version, version)
    rows = feed.select([*SCHEMA, "_change_type"]).to_pylist()
    return sorted((tuple("NaN" if isinstance(x, float) and math.isnan(x) else x for x in r.values()) for r in rows),
                  key=repr)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("whole", [False, True])
def test_general_path_change_feed_equals_python_api(mode, whole):
    con, t, api = _pair(mode)
    ids = "(1, 2, 3)" if whole else "(2, 5)"  # the first file whole, or parts of both
    m = api.delete(where=f"id IN {ids}")
    con.sql(f"DELETE FROM s.t WHERE id IN (SELECT unnest([{ids[1:-1]}]))")
    assert _feed(t, m.version) == _feed(api, m.version) and _feed(t, m.version)
    m = api.update(set={"s": "s || '+'"}, where="id >= 4")
    con.sql("UPDATE s.t SET s = s || '+' WHERE id >= (SELECT 4)")
    assert _feed(t, m.version) == _feed(api, m.version) and _feed(t, m.version)
    assert t.refresh().version == m.version


@pytest.mark.parametrize("mode", MODES)
def test_without_where_every_row(mode):
    con, t, api = _pair(mode)
    m = api.update(set={"v": "coalesce(v, 0) + 1"})
    _same(con, "UPDATE s.t SET v = coalesce(v, 0) + 1", t, api, m.version, 6)
    m = api.delete()
    _same(con, "DELETE FROM s.t", t, api, m.version, 6)
