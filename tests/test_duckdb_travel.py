"""Time travel in lakehouse.duckdb SQL: every clause form reads the version it names."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

import lakehouse
import lakehouse.duckdb

SCHEMA = pa.schema([("id", pa.int64())])


@pytest.fixture
def table(tmp_path):
    """A table with versions 0 (empty), 1 ([1]), 2 ([1, 2]) and tag 'month-end' on version 1."""
    t = lakehouse.create_table(str(tmp_path / "t"), schema=SCHEMA)
    t.append(pa.table({"id": [1]}, schema=SCHEMA))
    t.tag("month-end", version=1)  # version 2
    time.sleep(0.01)
    t.refresh().append(pa.table({"id": [2]}, schema=SCHEMA))  # version 3
    return t.refresh()


def _ids(con, query: str) -> list[int]:
    return sorted(r[0] for r in con.sql(query).fetchall())


@pytest.mark.parametrize("clause", ["VERSION AS OF {v}", "FOR VERSION AS OF {v}", "AT (VERSION => {v})",
                                    "AT (VERSION => {v} - 0)"])
def test_version_forms(table, clause):
    con = lakehouse.duckdb.connect(tables={"s.t": table})
    for version, ids in [(0, []), (1, [1]), (3, [1, 2])]:
        assert _ids(con, f"SELECT id FROM s.t {clause.format(v=version)}") == ids
        assert _ids(con, f"SELECT o.id FROM s.t {clause.format(v=version)} AS o WHERE o.id > 0") == ids


@pytest.mark.parametrize("clause", ["TIMESTAMP AS OF {ts}", "FOR SYSTEM_TIME AS OF {ts}", "FOR TIMESTAMP AS OF {ts}",
                                    "AT (TIMESTAMP => {ts})"])
def test_timestamp_forms(table, clause):
    con = lakehouse.duckdb.connect(tables={"s.t": table})
    con.con.execute("SET TimeZone = 'UTC'")  # a time without a zone is in the session's zone
    at_1 = {e.version: e.timestamp for e in table.history()}[2]  # the tag's commit, before version 3
    for ts, ids in [(f"TIMESTAMPTZ '{at_1.isoformat()}'", [1]),
                    (f"'{at_1.replace(tzinfo=None).isoformat()}'", [1]),  # UTC: the session's zone
                    ("now()", [1, 2]), ("now() + INTERVAL 1 DAY", [1, 2])]:
        assert _ids(con, f"SELECT id FROM s.t {clause.format(ts=ts)}") == ids, ts


def test_tags_and_several_versions_in_one_query(table):
    con = lakehouse.duckdb.connect(tables={"s.t": table})
    assert _ids(con, "SELECT id FROM s.t VERSION AS OF 'month-end'") == [1]
    query = ("SELECT n.id FROM s.t n LEFT JOIN s.t VERSION AS OF 'month-end' AS o USING (id) WHERE o.id IS NULL "
             "UNION ALL SELECT id FROM s.t AT (VERSION => 0)")
    assert _ids(con, query) == [2]  # the rows added since the tag
    assert _ids(con, "WITH old AS (SELECT * FROM s.t FOR VERSION AS OF 1) SELECT id FROM old") == [1]


def test_travel_errors(table):
    con = lakehouse.duckdb.connect(tables={"s.t": table})
    with pytest.raises(lakehouse.VersionNotFoundError):
        con.sql("SELECT * FROM s.t VERSION AS OF 99")
    with pytest.raises(lakehouse.VersionNotFoundError):
        con.sql("SELECT * FROM s.t VERSION AS OF 'no-such-tag'")
    with pytest.raises(lakehouse.VersionNotFoundError):
        con.sql("SELECT * FROM s.t TIMESTAMP AS OF '1999-01-01'")
    with pytest.raises(lakehouse.InvalidArgumentError):
        con.sql("SELECT * FROM s.t VERSION AS OF 1.5")
    with pytest.raises(lakehouse.InvalidArgumentError):
        con.sql("SELECT * FROM s.t FOR VERSION BETWEEN 1 AND 2")


def test_travel_sees_the_schema_and_deletes_of_its_version(tmp_path):
    t = lakehouse.create_table(str(tmp_path / "t"), schema=pa.schema([("id", pa.int64()), ("v", pa.string())]))
    t.append(pa.table({"id": [1, 2, 3], "v": ["a", "b", "c"]}))
    t.delete("id = 2", mode="merge-on-read")
    with t.refresh().update_schema() as s:
        s.rename_column("v", "w")
    con = lakehouse.duckdb.connect(tables={"t": t.refresh()})
    assert con.sql("SELECT * FROM t VERSION AS OF 1 ORDER BY id").fetchall() == [(1, "a"), (2, "b"), (3, "c")]
    assert con.sql("SELECT id, v FROM t VERSION AS OF 2 ORDER BY id").fetchall() == [(1, "a"), (3, "c")]
    assert con.sql("SELECT id, w FROM t ORDER BY id").fetchall() == [(1, "a"), (3, "c")]
    assert [c for c in con.sql("SELECT * FROM t AT (VERSION => 2)").columns] == ["id", "v"]
