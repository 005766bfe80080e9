"""lakehouse.duckdb: queries over lakehouse tables equal DuckDB's over the same rows loaded natively.

Pruning is checked on the file list a view is handed (the DuckDB variable behind it), DVs by
rows deleted through the Python API, evolution by renamed / dropped / added / widened columns.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid

import pyarrow as pa
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse
import lakehouse.duckdb

SCHEMA = pa.schema([("id", pa.int64()), ("cat", pa.string()), ("amount", pa.int64()), ("day", pa.date32())])
CATS = ["a", "b", "c"]

QUERIES = [
    "SELECT cat, sum(amount), count(*) FROM {t} WHERE amount >= {k} GROUP BY cat",
    "SELECT a.id, b.id FROM {t} a JOIN {t} AS b ON a.cat = b.cat AND a.id < b.id WHERE a.cat = '{c}' AND b.amount < {k}",
    "SELECT id, cat, row_number() OVER (PARTITION BY cat ORDER BY id, amount) FROM {t} WHERE day < DATE '2024-01-0{d}'",
    "WITH x AS (SELECT cat, max(amount) AS m FROM {t} GROUP BY cat) SELECT * FROM x WHERE m > {k}",
    "SELECT * FROM {t} WHERE amount > (SELECT avg(amount) FROM {t} WHERE cat = '{c}') AND cat IN ('a', 'b')",
    "SELECT t.id, d.label FROM {t} t JOIN dims d ON d.cat = t.cat WHERE d.label = 'x' OR t.id = {k}",
    "SELECT d.cat FROM dims d LEFT JOIN {t} o ON o.cat = d.cat AND o.amount > {k} WHERE o.id IS NULL",
    "SELECT * FROM {t} o RIGHT JOIN dims d USING (cat) WHERE o.amount IS NULL OR o.cat = '{c}'",
    "SELECT * FROM dims d WHERE EXISTS (SELECT 1 FROM {t} o WHERE o.cat = d.cat AND amount < {k})",
    "SELECT * FROM {t} WHERE NOT (cat = '{c}') OR amount IS NULL OR id BETWEEN 2 AND {k}",
    "SELECT cat FROM {t} WHERE day >= '2024-01-0{d}' UNION ALL SELECT cat FROM dims WHERE cat = '{c}'",
    "SELECT count(*), count(DISTINCT cat) FROM {t} WHERE cat LIKE '{c}%' AND amount IN ({k}, 3, 7)",
]

rows = st.lists(st.tuples(st.integers(0, 20), st.sampled_from(CATS), st.one_of(st.none(), st.integers(-5, 15)),
                          st.integers(1, 6)), max_size=12)


def _table(uri: str, batches: list[list[tuple]], partition_by: list[str] | None = None) -> lakehouse.Table:
    t = lakehouse.create_table(uri, schema=SCHEMA, partition_by=partition_by)
    for batch in batches:
        if batch:
            t.append(_arrow(batch))
    return t


def _arrow(batch: list[tuple]) -> pa.Table:
    ids, cats, amounts, days = zip(*batch)
    return pa.table({"id": list(ids), "cat": list(cats), "amount": list(amounts),
                     "day": [dt.date(2024, 1, d) for d in days]}, schema=SCHEMA)


def _both(con, query: str, **values) -> tuple[list, list]:
    ours = con.sql(f"SELECT * FROM ({query.format(t='sales.orders', **values)}) ORDER BY ALL").fetchall()
    native = con.con.sql(f"SELECT * FROM ({query.format(t='native_orders', **values)}) ORDER BY ALL").fetchall()
    return ours, native


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(rows, min_size=1, max_size=4), delete_below=st.one_of(st.none(), st.integers(-5, 15)),
       partition=st.sampled_from([None, ["cat"], ["day"]]), k=st.integers(-5, 15), c=st.sampled_from(CATS),
       d=st.integers(1, 7))
def test_queries_equal_duckdb_over_the_same_rows_loaded_natively(batches, delete_below, partition, k, c, d):
    with tempfile.TemporaryDirectory() as root:
        t = _table(f"{root}/orders", batches, partition)
        if delete_below is not None:
            t.delete(f"amount < {delete_below}", mode="merge-on-read")
        con = lakehouse.duckdb.connect(tables={"sales.orders": t.refresh()})
        con.con.register("live_rows", t.refresh().to_arrow())  # the library's read is checked elsewhere
        con.con.execute("CREATE TABLE native_orders AS SELECT * FROM live_rows")
        con.con.execute("CREATE TABLE dims AS SELECT * FROM (VALUES ('a', 'x'), ('b', 'y'), ('z', 'x')) v(cat, label)")
        expected_rows = sum(len(b) for b in batches)
        if delete_below is None:
            assert con.sql("SELECT count(*) FROM sales.orders").fetchall() == [(expected_rows,)]
        for query in QUERIES:
            ours, native = _both(con, query, k=k, c=c, d=d)
            assert ours == native, query


def _kept_files(con, query: str) -> dict[str, int]:
    """The number of files each rewritten reference of `query` hands DuckDB."""
    prepared = con.prepare(sqlglot.parse_one(query, read="duckdb"))
    out = {}
    for node in prepared.find_all(sqlglot.exp.Table):
        if node.db == "lh_internal":
            value = con.con.sql(f"SELECT getvariable('lh_{node.name}')").fetchall()[0][0]
            out[node.alias_or_name] = 0 if value is None else len(value)
    return out


def test_partition_and_stats_pruning_shrink_the_file_list(tmp_path):
    t = _table(str(tmp_path / "t"), [[(i, cat, i, 1 + i % 5)] for cat in CATS for i in range(4)], ["cat"])
    con = lakehouse.duckdb.connect(tables={"sales.orders": t})
    assert t.scan().plan.files.num_rows == 12
    assert _kept_files(con, "SELECT * FROM sales.orders WHERE cat = 'b'") == {"orders": 4}
    assert _kept_files(con, "SELECT * FROM sales.orders o WHERE o.cat = 'b' AND id >= 3") == {"o": 1}
    assert _kept_files(con, "SELECT * FROM sales.orders WHERE cat = 'nope'") == {"orders": 0}
    assert con.sql("SELECT count(*) FROM sales.orders WHERE cat = 'nope'").fetchall() == [(0,)]
    # Each reference prunes by its own conjuncts; a join keeps inner-join conjuncts per side.
    kept = _kept_files(con, "SELECT * FROM sales.orders a JOIN sales.orders b USING (id) "
                            "WHERE a.cat = 'a' AND b.amount > 2")
    assert kept == {"a": 4, "b": 3}
    # Not prunable: OR across tables, functions, the null-filled side of an outer join.
    assert _kept_files(con, "SELECT * FROM sales.orders WHERE cat = 'a' OR random() < 2") == {}
    assert _kept_files(con, "SELECT * FROM sales.orders WHERE lower(cat) = 'a'") == {}
    assert _kept_files(con, "SELECT * FROM (SELECT 1 AS x) d LEFT JOIN sales.orders o ON true WHERE o.cat = 'a'") == {}
    assert con.sql("SELECT count(*) FROM sales.orders WHERE cat = 'a' OR random() < 2").fetchall() == [(12,)]


def test_unsound_shapes_are_not_pruned_and_give_duckdbs_answer(tmp_path):
    t = _table(str(tmp_path / "t"), [[(1, "a", 1, 1)], [(2, "b", None, 2)]], ["cat"])
    con = lakehouse.duckdb.connect(tables={"sales.orders": t})
    con.con.execute("CREATE TABLE native_orders AS SELECT * FROM (VALUES (1, 'a', 1, DATE '2024-01-01'), "
                    "(2, 'b', NULL, DATE '2024-01-02')) v(id, cat, amount, day)")
    con.con.execute("CREATE TABLE dims AS SELECT * FROM (VALUES ('a'), ('b'), ('c')) v(cat)")
    for query in [
        "SELECT d.cat FROM dims d LEFT JOIN {t} o USING (cat) WHERE o.amount IS NULL",
        "SELECT d.cat FROM dims d FULL JOIN {t} o ON d.cat = o.cat WHERE o.cat IS NULL",
        "SELECT * FROM {t} o POSITIONAL JOIN dims d WHERE o.cat = 'b'",
        "SELECT * FROM {t} WHERE amount > 0 IS NOT TRUE",
        "SELECT cat AS amount FROM {t} WHERE amount = 1",
        "SELECT * FROM {t} UNPIVOT (v FOR cat IN (id, amount)) WHERE cat = 'id'",
        "SELECT * FROM {t} TABLESAMPLE 100% WHERE cat = 'a'",
        "FROM {t} WHERE cat = 'b'",
    ]:
        ours, native = _both(con, query)
        assert ours == native, query


def test_evolved_columns_read_by_field_id(tmp_path):
    schema = pa.schema([("id", pa.int32()), ("name", pa.string()), ("gone", pa.int64()),
                        ("s", pa.struct([("a", pa.int32()), ("b", pa.string())]))])
    t = lakehouse.create_table(str(tmp_path / "t"), schema=schema)
    t.append(pa.table({"id": [1, 2], "name": ["x", "y"], "gone": [5, 6], "s": [{"a": 1, "b": "p"}, None]}, schema=schema))
    with t.update_schema() as s:
        s.rename_column("name", "label").drop_column("gone").rename_column("s.a", "z")
        s.add_column("extra", "float64")
        s.widen_column("id", "int64").widen_column("s.z", "int64")
    t = t.refresh()
    t.append(pa.table({"id": [3], "label": ["w"], "s": [{"z": 7, "b": "q"}], "extra": [1.5]}, schema=t.arrow_schema))
    con = lakehouse.duckdb.connect(tables={"t": t})
    assert con.sql("SELECT * FROM t ORDER BY id").fetchall() == [tuple(r.values()) for r in t.to_arrow().to_pylist()]
    assert con.sql("DESCRIBE t").fetchall()[0][:2] == ("id", "BIGINT")
    assert con.sql("SELECT label, s.z FROM t WHERE s.z > 1 AND label >= 'w'").fetchall() == [("w", 7)]


def test_deletion_vectors_drop_deleted_rows(tmp_path):
    t = _table(str(tmp_path / "t"), [[(i, CATS[i % 3], i, 1) for i in range(50)], [(100, "a", 1, 2)]])
    t.delete("amount IN (0, 7, 14, 21)", mode="merge-on-read")
    t = t.refresh()
    assert sorted(f.live_count for f in t.scan().files()) == [1, 46]  # a deletion vector, not a rewrite
    con = lakehouse.duckdb.connect(tables={"s.t": t})
    assert con.sql("SELECT count(*), sum(id) FROM s.t").fetchall() == [(47, sum(range(50)) - 42 + 100)]
    assert con.sql("SELECT id FROM s.t WHERE id <= 8 ORDER BY id").fetchall() == [(i,) for i in range(1, 9) if i != 7]


def test_new_versions_are_seen_and_earlier_relations_keep_their_plan(tmp_path):
    t = _table(str(tmp_path / "t"), [[(1, "a", 1, 1)], [(2, "b", 2, 1)]], ["cat"])
    con = lakehouse.duckdb.connect(tables={"s.t": t})
    only_a = con.sql("SELECT id FROM s.t WHERE cat = 'a'")
    everything = con.sql("SELECT count(*) FROM s.t")
    assert con.sql("SELECT id FROM s.t WHERE cat = 'b'").fetchall() == [(2,)]
    assert only_a.fetchall() == [(1,)]  # its own files, not those the later query set
    lakehouse.open_table(str(tmp_path / "t")).append(_arrow([(3, "a", 3, 1)]))  # another writer
    assert con.sql("SELECT count(*) FROM s.t").fetchall() == [(3,)]
    assert everything.fetchall() == [(3,)]  # the table's name reads its newest version, as a DuckDB table would


def test_names_that_are_not_lakehouse_tables_are_left_to_duckdb(tmp_path):
    t = _table(str(tmp_path / "t"), [[(1, "a", 1, 1)]])
    con = lakehouse.duckdb.connect(tables={"orders": t, "s.t": t})
    con.con.execute("CREATE TABLE plain AS SELECT 5 AS id")
    assert con.sql("WITH orders AS (SELECT 9 AS id) SELECT id FROM orders").fetchall() == [(9,)]
    assert con.sql("SELECT o.id + p.id FROM orders o, plain p").fetchall() == [(6,)]
    assert con.sql("SELECT * FROM range(2) r(x) WHERE x IN (SELECT id FROM s.t)").fetchall() == [(1,)]
    con.sql("CREATE TABLE copied AS SELECT * FROM s.t")
    assert con.con.sql("SELECT count(*) FROM copied").fetchall() == [(1,)]
    assert con.execute("SELECT id FROM s.t WHERE id = ?", [1]).fetchall() == [(1,)]
    assert con.sql("SELECT 1; SELECT count(*) FROM s.t").fetchall() == [(1,)]


def test_a_statement_sqlglot_cannot_parse_still_reads_the_tables_it_names(tmp_path, monkeypatch):
    t = _table(str(tmp_path / "t"), [[(1, "a", 1, 1)]])
    con = lakehouse.duckdb.connect(tables={"orders": t, "s.t": t})
    assert con.sql("SELECT count(*) FROM s.t").fetchall() == [(1,)]
    t.append(_arrow([(2, "b", 2, 1)]))
    monkeypatch.setattr(lakehouse.duckdb.connection, "_parse", lambda query: None)  # as if sqlglot failed
    query = 'SELECT count(*), sum("s"."t".id) FROM "s"."t", orders o WHERE o.id = 1'
    assert con.sql(query).fetchall() == [(2, 3)]  # newest version, both names


def test_session_time_zone_keeps_timestamp_pruning_sound(tmp_path):
    schema = pa.schema([("ts", pa.timestamp("us", tz="UTC"))])
    t = lakehouse.create_table(str(tmp_path / "t"), schema=schema, partition_by=["day(ts)"])
    for h in (1, 23):
        t.append(pa.table({"ts": [dt.datetime(2024, 3, 1, h, tzinfo=dt.timezone.utc)]}, schema=schema))
    con = lakehouse.duckdb.connect(tables={"s.t": t})
    con.con.execute("SET TimeZone = 'America/New_York'")
    # 2024-03-01 20:00 in New York is 2024-03-02 01:00 UTC: no row; 2024-03-01 18:00 NY is 23:00 UTC.
    assert con.sql("SELECT count(*) FROM s.t WHERE ts >= TIMESTAMP '2024-03-01 18:00'").fetchall() == [(1,)]
    assert con.sql("SELECT count(*) FROM s.t WHERE ts >= '2024-03-01 20:00'").fetchall() == [(0,)]


def test_register_table_refuses_what_is_not_a_table():
    con = lakehouse.duckdb.connect()
    with pytest.raises(lakehouse.InvalidArgumentError):
        con.register_table("a.b.c", object())


@pytest.mark.s3
def test_s3_tables_are_read_through_the_registered_filesystem(s3):
    t = _table(s3.uri(), [[(1, "a", 1, 1)], [(2, "b", 5, 2)]], ["cat"])
    t.delete("id = 1", mode="merge-on-read")
    t.append(_arrow([(3, "a", 3, 3)]))
    with lakehouse.duckdb.connect(tables={"s.t": t.refresh()}) as con:
        assert con.sql("SELECT id FROM s.t ORDER BY id").fetchall() == [(2,), (3,)]
        assert con.sql("SELECT id FROM s.t WHERE cat = 'a'").fetchall() == [(3,)]


def test_scan_to_duckdb_reads_the_files_natively_and_equals_to_arrow(tmp_path):
    t = _table(str(tmp_path / "t"), [[(i, CATS[i % 3], i, 1 + i % 6) for i in range(20)], [(50, "b", None, 2)]], ["cat"])
    with t.update_schema() as s:
        s.rename_column("amount", "price")
    t = t.refresh()
    con = lakehouse.duckdb.connect().con
    for scan in [t.scan(), t.scan(where="cat = 'b' AND price >= 4", columns=["id", "price"]), t.scan(limit=3),
                 t.scan(where="day < '2024-01-03'", ordered=False)]:
        expected = [tuple(r.values()) for r in scan.to_arrow().to_pylist()]
        got = scan.to_duckdb(con).fetchall()
        assert (got if scan.ordered else sorted(got)) == (expected if scan.ordered else sorted(expected))
    t.delete("id IN (3, 4)", mode="merge-on-read")
    t = t.refresh()
    assert t.to_duckdb(con).fetchall() == [tuple(r.values()) for r in t.to_arrow().to_pylist()]  # ordered
    assert sorted(t.scan(ordered=False).to_duckdb(con).fetchall()) == sorted(tuple(r.values()) for r in t.to_arrow().to_pylist())


def test_catalog_tables_by_name_follow_renames_and_drops(tmp_path):
    from lakehouse import catalog

    cat = catalog.connect(f"sqlite:///{tmp_path}/catalog.db", warehouse=str(tmp_path / "warehouse"))
    cat.create_namespace("sales")
    t = cat.create_table("sales.orders", schema=SCHEMA, partition_by=["cat"])
    t.append(_arrow([(1, "a", 5, 1), (2, "b", 6, 2)]))
    con = lakehouse.duckdb.connect(cat)
    assert lakehouse.duckdb.connect(f"sqlite:///{tmp_path}/catalog.db").sql(
        "SELECT count(*) FROM sales.orders").fetchall() == [(2,)]
    assert con.sql("SELECT category, sum(amount) FROM (SELECT cat AS category, amount FROM sales.orders "
                   "WHERE day >= DATE '2024-01-02') GROUP BY 1").fetchall() == [("b", 6)]
    assert con.sql("SELECT count(*) FROM Sales.Orders").fetchall() == [(2,)]
    cat.rename_table("sales.orders", "sales.orders_v2")
    assert con.sql("SELECT count(*) FROM sales.orders_v2").fetchall() == [(2,)]
    with pytest.raises(Exception, match="orders"):  # DuckDB's own error: no such table any more
        con.sql("SELECT count(*) FROM sales.orders").fetchall()
    cat.create_table("sales.orders", schema=SCHEMA)
    assert con.sql("SELECT count(*) FROM sales.orders").fetchall() == [(0,)]
    cat.drop_table("sales.orders")
    with pytest.raises(Exception, match="orders"):
        con.sql("SELECT count(*) FROM sales.orders").fetchall()


def test_fully_qualified_columns_and_one_snapshot_per_statement(tmp_path, monkeypatch):
    t = _table(str(tmp_path / "t"), [[(1, "a", 1, 1)], [(2, "b", 2, 1)]], ["cat"])
    con = lakehouse.duckdb.connect(tables={"sales.orders": t})
    assert con.sql("SELECT sales.orders.id FROM sales.orders WHERE sales.orders.cat = 'b'").fetchall() == [(2,)]
    assert con.sql("SELECT orders.id FROM sales.orders VERSION AS OF 1").fetchall() == [(1,)]
    seen = []
    real = lakehouse.duckdb.connection._newest
    monkeypatch.setattr(lakehouse.duckdb.connection, "_newest", lambda table: seen.append(1) or real(table))
    con.sql("SELECT * FROM sales.orders a JOIN sales.orders b USING (id) WHERE a.cat = 'a'")
    assert len(seen) == 1  # both references read one snapshot


def test_views_past_the_cache_bound_are_dropped_but_named_ones_stay(tmp_path, monkeypatch):
    monkeypatch.setattr(lakehouse.duckdb.views, "MAX_VIEWS", 3)
    t = _table(str(tmp_path / "t"), [[(i, "a", i, 1)] for i in range(6)])
    con = lakehouse.duckdb.connect(tables={"s.t": t})
    assert con.sql("SELECT count(*) FROM s.t").fetchall() == [(6,)]
    oldest = con.sql("SELECT id FROM s.t WHERE id = 0")
    for i in range(1, 6):
        assert con.sql(f"SELECT id FROM s.t WHERE id = {i}").fetchall() == [(i,)]
    assert con.sql("SELECT count(*) FROM s.t").fetchall() == [(6,)]  # the real name's view is pinned
    assert con.con.sql("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'lh_internal'").fetchall() == [(3,)]
    with pytest.raises(Exception, match="does not exist"):
        oldest.fetchall()  # its view was dropped: an error, never another plan's rows


def test_local_tables_opened_with_options_still_read_native_paths(tmp_path):
    _table(str(tmp_path / "t"), [[(1, "a", 1, 1)]])
    single = lakehouse.open_table(str(tmp_path / "t"), storage_options={"unsafe_single_writer": True})
    con = lakehouse.duckdb.connect(tables={"s.t": single, "s.m": _table(f"memory://{uuid.uuid4().hex}/t", [[(2, "b", 2, 1)]])})
    assert con.sql("SELECT id FROM s.t UNION ALL SELECT id FROM s.m ORDER BY 1").fetchall() == [(1,), (2,)]
    assert con.con.list_filesystems() == ["memory"]


def test_duckdb_views_over_lakehouse_tables_outlive_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(lakehouse.duckdb.views, "MAX_VIEWS", 2)
    t = _table(str(tmp_path / "t"), [[(i, "a", i, 1)] for i in range(4)])
    con = lakehouse.duckdb.connect(tables={"s.t": t})
    con.sql("CREATE VIEW first_two AS SELECT id FROM s.t VERSION AS OF 2")
    con.sql("CREATE VIEW small AS SELECT id FROM s.t WHERE id < 2")
    for i in range(4):
        con.sql(f"SELECT * FROM s.t WHERE id = {i}").fetchall()
    assert con.sql("SELECT * FROM first_two ORDER BY 1").fetchall() == [(0,), (1,)]
    assert con.sql("SELECT * FROM small ORDER BY 1").fetchall() == [(0,), (1,)]
