"""Table.update: SET values are SQL evaluated by DuckDB; checked against DuckDB's own UPDATE."""

from __future__ import annotations

import collections
import itertools
import math

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import lakehouse
from lakehouse.errors import ColumnNotFoundError, InvalidExpressionError, SchemaMismatchError
from feed_helpers import replayed

_ids = itertools.count()
MODES = ["copy-on-write", "merge-on-read"]
SCHEMA = pa.schema([("id", pa.int64()), ("a", pa.int32()), ("f", pa.float64()), ("s", pa.string())])


def _uri(name: str) -> str:
    return f"memory://test-update/{name}-{next(_ids)}"


def _key(row: dict) -> tuple:
    """Rows compared as multisets: None and NaN ordered and equal to themselves."""
    return tuple((v is None, repr(v) if isinstance(v, float) and math.isnan(v) else v if v is not None else 0)
                 for v in row.values())


def _rows(table: pa.Table) -> list:
    return sorted((_key(r) for r in table.to_pylist()), key=repr)


rows = st.lists(st.fixed_dictionaries({
    "id": st.one_of(st.none(), st.integers(0, 9)),
    "a": st.one_of(st.none(), st.integers(-50, 50)),
    "f": st.one_of(st.none(), st.just(float("nan")), st.floats(-10, 10, allow_nan=False)),
    "s": st.one_of(st.none(), st.sampled_from(["x", "y", "zz"])),
}), max_size=12)
WHERES = [None, "id IN (1, 2, 3)", "a > 0", "s = 'x'", "f IS NULL", "id IS NULL OR a < -10", "s LIKE 'z%'"]
SETS = [{"a": "a + 1"}, {"f": "f * 2"}, {"s": "s || 'z'"}, {"a": "NULL"}, {"f": "a / 2"},
        {"s": "'q'", "a": "id * 3"}, {"a": "CASE WHEN f > 0 THEN 1 ELSE 2 END"}, {"f": "f / 0"},
        {"id": "coalesce(id, -1)", "f": "greatest(f, 1.5)"}, {"S": "upper(s)"}]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(rows, min_size=1, max_size=3),
       updates=st.lists(st.tuples(st.sampled_from(WHERES), st.sampled_from(SETS)), min_size=1, max_size=2),
       partitioned=st.booleans(), mode=st.sampled_from(MODES))
def test_update_agrees_with_duckdb(batches, updates, partitioned, mode):
    t = lakehouse.create_table(_uri("oracle"), schema=SCHEMA, partition_by=["s"] if partitioned else None)
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id BIGINT, a INTEGER, f DOUBLE, s VARCHAR)")
    for batch in batches:
        data = pa.Table.from_pylist(batch, schema=SCHEMA)
        t.append(data)
        con.execute("INSERT INTO t SELECT * FROM data")
    for where, set_ in updates:  # a second update meets the first one's deletion vectors
        before = t.version
        assignments = ", ".join(f"{k} = {v}" for k, v in set_.items())
        expected = con.execute(f"UPDATE t SET {assignments}" + (f" WHERE {where}" if where else "")).fetchall()[0][0]
        metrics = t.update(set=set_, where=where, mode=mode)
        assert (metrics.num_updated_rows, metrics.mode) == (expected, mode)
        assert metrics.version == (before + 1 if expected else before)
        assert metrics.num_deletion_vectors == 0 or mode == "merge-on-read"
        assert _rows(t.to_arrow()) == _rows(con.sql("SELECT * FROM t").to_arrow_table())
        assert t.scan().count() == con.sql("SELECT count(*) FROM t").fetchall()[0][0]
        if expected:  # the change feed holds exactly the pre- and post-images
            kinds = collections.Counter(t.changes(metrics.version)["_change_type"].to_pylist())
            assert kinds == {"update_preimage": expected, "update_postimage": expected}
    assert replayed(t, _key) == _rows(t.to_arrow())


def test_merge_on_read_writes_vectors_and_only_the_updated_rows():
    t = lakehouse.create_table(_uri("mor"), schema=SCHEMA, properties={"write.update.mode": "merge-on-read"})
    t.append({"id": [1, 2, 3, 4], "a": [1, 2, 3, 4], "f": [0.0] * 4, "s": ["p", "q", "r", "s"]})
    m = t.update(set={"a": "a * 100"}, where="id IN (2, 4)")
    assert (m.mode, m.num_updated_rows, m.num_deletion_vectors, m.num_removed_files, m.num_added_files) == \
        ("merge-on-read", 2, 1, 0, 1)
    files = {f.path: f for f in t.scan().files()}
    assert sorted(f.live_count for f in files.values()) == [2, 2]
    assert sorted(t.to_arrow()["a"].to_pylist()) == [1, 3, 200, 400]
    m = t.update(set={"a": "0"}, where="id IN (1, 3)")  # every live row of the first file: it goes
    assert (m.num_removed_files, m.num_deletion_vectors) == (1, 0)
    assert sorted(t.to_arrow()["a"].to_pylist()) == [0, 0, 200, 400]
    with pytest.raises(SchemaMismatchError):
        t.update(set={"a": "3000000000"}, mode="merge-on-read")
    assert t.refresh().version == 3


def test_rows_keep_their_positions_in_a_rewritten_file():
    t = lakehouse.create_table(_uri("positions"), schema=SCHEMA)
    t.append({"id": [1, 2, 3, 4], "a": [1, 2, 3, 4], "f": [0.0] * 4, "s": ["p", "q", "r", "s"]})
    m = t.update(set={"a": "a * 100"}, where="id IN (2, 4)")
    assert (m.num_updated_rows, m.num_removed_files, m.num_added_files) == (2, 1, 1)
    assert t.to_arrow()["a"].to_pylist() == [1, 200, 3, 400]
    assert t.to_arrow()["s"].to_pylist() == ["p", "q", "r", "s"]


def test_only_files_holding_matches_are_rewritten():
    t = lakehouse.create_table(_uri("pruning"), schema=SCHEMA, partition_by=["s"])
    t.append({"id": [1, 2, 3], "a": [1, 2, 3], "f": [0.0] * 3, "s": ["x", "y", "zz"]})
    m = t.update(set={"a": "0"}, where="s = 'y'")
    assert (m.num_updated_rows, m.num_removed_files, m.num_added_files) == (1, 1, 1)
    assert t.update(set={"a": "0"}, where="id = 99").version == m.version  # nothing matched: no commit


def test_updating_a_partition_column_moves_the_rows():
    t = lakehouse.create_table(_uri("move"), schema=SCHEMA, partition_by=["s"])
    t.append({"id": [1, 2], "a": [1, 2], "f": [0.0, 0.0], "s": ["x", "x"]})
    t.update(set={"s": "'y'"}, where="id = 1")
    assert t.scan(where="s = 'y'").to_arrow()["id"].to_pylist() == [1]
    assert t.scan(where="s = 'x'").to_arrow()["id"].to_pylist() == [2]
    paths = [f.path for f in t.scan().files()]
    assert any("s=y" in p for p in paths) and any("s=x" in p for p in paths)


def test_not_null_violation_commits_nothing():
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), ("v", pa.int32())])
    t = lakehouse.create_table(_uri("notnull"), schema=schema)
    t.append(pa.table({"id": [1, 2], "v": [1, 2]}, schema=schema))
    with pytest.raises(SchemaMismatchError, match="id"):
        t.update(set={"id": "CASE WHEN v = 2 THEN NULL ELSE id END"})
    assert t.version == 1 and t.refresh().version == 1
    assert t.to_arrow()["id"].to_pylist() == [1, 2]


def test_a_value_that_does_not_fit_commits_nothing():
    t = lakehouse.create_table(_uri("range"), schema=SCHEMA)
    t.append({"id": [1], "a": [1], "f": [0.0], "s": ["x"]})
    with pytest.raises(SchemaMismatchError, match="does not fit"):
        t.update(set={"a": "3000000000"})
    with pytest.raises(SchemaMismatchError):
        t.update(set={"a": "'not a number'"})
    assert t.refresh().version == 1


@pytest.mark.parametrize("set_, error", [
    ({"nope": "1"}, ColumnNotFoundError),
    ({"a": "nope + 1"}, ColumnNotFoundError),
    ({"a": "a +"}, InvalidExpressionError),
    ({"a": "'x' + 1"}, InvalidExpressionError),
    ({"a": "(SELECT 1)"}, InvalidExpressionError),
    ({"a": "1); DROP TABLE t; SELECT (1"}, InvalidExpressionError),
])
def test_bad_set_expressions_are_refused_before_any_write(set_, error):
    t = lakehouse.create_table(_uri("bad"), schema=SCHEMA)
    t.append({"id": [1], "a": [1], "f": [0.0], "s": ["x"]})
    with pytest.raises(error) as info:
        t.update(set=set_)
    message = str(info.value)
    assert "LINE 1" not in message and "Binder Error" not in message and "__lh" not in message
    assert t.refresh().version == 1


def test_quoted_column_names():
    schema = pa.schema([("my col", pa.int64()), ("a.b", pa.int64()), ('we"ird', pa.string())])
    t = lakehouse.create_table(_uri("quoted"), schema=schema)
    t.append(pa.table({"my col": [1, 2], "a.b": [10, 20], 'we"ird': ["p", "q"]}))
    t.update(set={"a.b": '"my col" + "a.b"', 'we"ird': '"we""ird" || \'!\''}, where='"my col" = 2')
    assert t.to_arrow().to_pylist() == [{"my col": 1, "a.b": 10, 'we"ird': "p"},
                                        {"my col": 2, "a.b": 22, 'we"ird': "q!"}]


@pytest.mark.parametrize("mode", MODES)
def test_concurrent_updates(mode):
    """Two updates from the same version: of different rows of one file they both commit under
    merge-on-read (the second unions its vector with the first's); under copy-on-write, and of
    the same row in both modes, the second conflicts and commits nothing."""
    t = lakehouse.create_table(_uri(f"concurrent-{mode}"), schema=SCHEMA)
    t.append({"id": [1, 2, 3], "a": [1, 2, 3], "f": [0.0] * 3, "s": ["p", "q", "r"]})
    t.update(set={"a": "3"}, where="id = 3", mode=mode)  # the first one turns the protocol features on
    other = lakehouse.open_table(t.uri)
    t.update(set={"a": "10"}, where="id = 1", mode=mode)
    if mode == "merge-on-read":
        other.update(set={"a": "20"}, where="id = 2", mode=mode)
        assert sorted(t.refresh().to_arrow()["a"].to_pylist()) == [3, 10, 20]
        again = lakehouse.open_table(t.uri, version=3)
        with pytest.raises(lakehouse.CommitConflictError):
            again.update(set={"a": "30"}, where="id = 1", mode=mode)
    else:
        with pytest.raises(lakehouse.CommitConflictError):
            other.update(set={"a": "20"}, where="id = 2", mode=mode)
    assert replayed(t.refresh(), _key) == _rows(t.refresh().to_arrow())
