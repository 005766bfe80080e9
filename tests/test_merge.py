"""Table.merge: checked against DuckDB's MERGE INTO on the same data and clauses."""

from __future__ import annotations

import collections
import itertools

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import lakehouse
from lakehouse.errors import ColumnNotFoundError, InvalidArgumentError, InvalidExpressionError, MergeCardinalityError, SchemaMismatchError
from feed_helpers import replayed

_ids = itertools.count()
MODES = ["copy-on-write", "merge-on-read"]
TARGET = pa.schema([("id", pa.int64()), ("v", pa.int64()), ("s", pa.string())])
SOURCE = pa.schema([("id", pa.int64()), ("v", pa.int64()), ("s", pa.string()), ("op", pa.string())])


def _uri(name: str) -> str:
    return f"memory://test-merge/{name}-{next(_ids)}"


def _rows(table: pa.Table) -> list:
    return sorted((tuple(r.values()) for r in table.to_pylist()), key=repr)


# Each clause: (builder method, keyword arguments, DuckDB's WHEN ... text)
CLAUSES = [
    ("when_matched_update", {}, "WHEN MATCHED THEN UPDATE SET id = source.id, v = source.v, s = source.s"),
    ("when_matched_update", {"set": {"v": "source.v + target.v"}, "where": "source.op = 'U'"},
     "WHEN MATCHED AND source.op = 'U' THEN UPDATE SET v = source.v + target.v"),
    ("when_matched_update", {"set": {"s": "NULL"}, "where": "target.v > source.v"},
     "WHEN MATCHED AND target.v > source.v THEN UPDATE SET s = NULL"),
    ("when_matched_delete", {"where": "source.op = 'D'"}, "WHEN MATCHED AND source.op = 'D' THEN DELETE"),
    ("when_matched_delete", {}, "WHEN MATCHED THEN DELETE"),
    ("when_not_matched_insert", {}, "WHEN NOT MATCHED THEN INSERT (id, v, s) VALUES (source.id, source.v, source.s)"),
    ("when_not_matched_insert", {"values": {"id": "source.id", "v": "source.v * 10"}, "where": "source.op <> 'D'"},
     "WHEN NOT MATCHED AND source.op <> 'D' THEN INSERT (id, v) VALUES (source.id, source.v * 10)"),
    ("when_not_matched_by_source_update", {"set": {"v": "target.v - 1"}, "where": "target.v > 5"},
     "WHEN NOT MATCHED BY SOURCE AND target.v > 5 THEN UPDATE SET v = target.v - 1"),
    ("when_not_matched_by_source_delete", {"where": "target.s IS NULL"},
     "WHEN NOT MATCHED BY SOURCE AND target.s IS NULL THEN DELETE"),
]
ACTIONS = {"UPDATE": "num_updated_rows", "DELETE": "num_deleted_rows", "INSERT": "num_inserted_rows"}

ids = st.one_of(st.none(), st.integers(0, 8))
strings = st.one_of(st.none(), st.sampled_from(["a", "b"]))
target_rows = st.lists(st.fixed_dictionaries({"id": ids, "v": st.integers(0, 9), "s": strings}), max_size=10)
source_rows = st.lists(st.fixed_dictionaries({"id": ids, "v": st.integers(0, 9), "s": strings,
                                              "op": st.sampled_from(["U", "D", "I"])}), max_size=8)


def _matched_twice(target: list, source: list) -> bool:
    counts = collections.Counter(r["id"] for r in source if r["id"] is not None)
    return any(counts[r["id"]] > 1 for r in target if r["id"] is not None)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(target_rows, min_size=1, max_size=3), source=source_rows,
       clauses=st.lists(st.sampled_from(CLAUSES), min_size=1, max_size=4), partitioned=st.booleans(),
       mode=st.sampled_from(MODES))
def test_merge_agrees_with_duckdb(batches, source, clauses, partitioned, mode):
    t = lakehouse.create_table(_uri("oracle"), schema=TARGET, partition_by=["s"] if partitioned else None)
    con = duckdb.connect()
    con.execute("CREATE TABLE tgt (id BIGINT, v BIGINT, s VARCHAR)")
    for batch in batches:
        data = pa.Table.from_pylist(batch, schema=TARGET)
        t.append(data)
        con.execute("INSERT INTO tgt SELECT * FROM data")
    t.delete(where="v = 0", mode=mode)  # rows already deleted (by a vector) must not match
    con.execute("DELETE FROM tgt WHERE v = 0")
    batches = [[r for r in b if r["v"] != 0] for b in batches]
    src = pa.Table.from_pylist(source, schema=SOURCE)
    before = t.version
    builder = t.merge(src, on="id", mode=mode)
    try:
        for method, kwargs, _ in clauses:
            builder = getattr(builder, method)(**kwargs)
    except InvalidArgumentError:  # a clause after an unconditional one of its kind: DuckDB refuses it too
        with pytest.raises(duckdb.ParserException, match="unreachable"):
            con.execute(f"MERGE INTO tgt AS target USING src AS source ON target.id = source.id "
                        f"{' '.join(c[2] for c in clauses)}")
        return
    if any(m.startswith("when_matched") for m, _, _ in clauses) and _matched_twice(sum(batches, []), source):
        with pytest.raises(MergeCardinalityError):
            builder.execute()
        assert t.refresh().version == before
        return
    metrics = builder.execute()
    assert metrics.mode == mode
    sql = " ".join(c[2] for c in clauses)
    actions = collections.Counter(a for (a,) in con.execute(
        f"MERGE INTO tgt AS target USING src AS source ON target.id = source.id {sql} RETURNING merge_action").fetchall())
    assert {name: getattr(metrics, name) for name in ACTIONS.values()} == \
        {name: actions[a] for a, name in ACTIONS.items()}
    assert metrics.version == (before + 1 if sum(actions.values()) else before)
    assert _rows(t.to_arrow()) == _rows(con.sql("SELECT * FROM tgt").to_arrow_table())
    if metrics.version != before:  # the change feed holds exactly the merge's changes
        kinds = collections.Counter(t.changes(metrics.version)["_change_type"].to_pylist())
        assert kinds == {k: v for k, v in {"insert": actions["INSERT"], "delete": actions["DELETE"],
                                           "update_preimage": actions["UPDATE"],
                                           "update_postimage": actions["UPDATE"]}.items() if v}
    assert replayed(t) == _rows(t.to_arrow())


def _table(name: str, **kwargs) -> lakehouse.Table:
    t = lakehouse.create_table(_uri(name), schema=TARGET, **kwargs)
    t.append({"id": [1, 2, 3], "v": [10, 20, 30], "s": ["a", "a", "b"]})
    return t


def test_rows_keep_their_positions_and_deleted_ones_go():
    t = _table("positions")
    source = pa.table({"id": [3, 1], "v": [0, 0], "s": ["x", "y"], "op": ["U", "D"]})
    m = (t.merge(source, on="id").when_matched_delete(where="source.op = 'D'")
         .when_matched_update(set={"v": "source.v"}).execute())
    assert (m.num_updated_rows, m.num_deleted_rows, m.num_removed_files, m.num_added_files) == (1, 1, 1, 1)
    assert t.to_arrow().to_pylist() == [{"id": 2, "v": 20, "s": "a"}, {"id": 3, "v": 0, "s": "b"}]


def test_merge_on_read():
    t = _table("mor")
    source = pa.table({"id": [3, 1, 7], "v": [0, 0, 70], "s": ["x", "y", "z"], "op": ["U", "D", "I"]})
    m = (t.merge(source, on="id", mode="merge-on-read").when_matched_delete(where="source.op = 'D'")
         .when_matched_update(set={"v": "source.v"}).when_not_matched_insert().execute())
    assert (m.num_updated_rows, m.num_deleted_rows, m.num_inserted_rows) == (1, 1, 1)
    # updated and inserted rows go to files of their own (change references, spec section 16)
    assert (m.num_deletion_vectors, m.num_removed_files, m.num_added_files) == (1, 0, 2)
    assert "deletion_vectors" in t.state.protocol.reader_features
    assert _rows(t.to_arrow()) == _rows(pa.table({"id": [2, 3, 7], "v": [20, 0, 70], "s": ["a", "b", "z"]}))


def test_only_files_in_the_source_key_range_are_read():
    t = lakehouse.create_table(_uri("pruning"), schema=TARGET)
    for i in range(4):
        t.append({"id": [i * 10 + j for j in range(10)], "v": [0] * 10, "s": ["a"] * 10})
    source = pa.table({"id": [21, 25, 99], "v": [1, 1, 1], "s": ["z", "z", "z"]})
    m = t.merge(source, on="id").when_matched_update().when_not_matched_insert().execute()
    assert (m.num_updated_rows, m.num_inserted_rows, m.num_removed_files, m.num_files_read) == (2, 1, 1, 1)
    entry = t.history()[0]
    assert entry.operation == "merge"


def test_keys_and_conditions():
    t = lakehouse.create_table(_uri("keys"), schema=TARGET)
    t.append({"id": [1, 1, 2], "v": [1, 2, 1], "s": ["a", "b", "c"]})
    source = pa.table({"id": [1, 2], "v": [2, 2], "s": ["B", "C"]})
    m = t.merge(source, on=["id", "v"]).when_matched_update(set={"s": "source.s"}).when_not_matched_insert().execute()
    assert (m.num_updated_rows, m.num_inserted_rows) == (1, 1)
    assert _rows(t.to_arrow()) == _rows(pa.table({"id": [1, 1, 2, 2], "v": [1, 2, 1, 2], "s": ["a", "B", "c", "C"]}))
    m = (t.merge(source, on="target.id = source.id AND target.v < source.v")
         .when_matched_delete().execute())
    assert m.num_deleted_rows == 2  # (1, 1, 'a') and (2, 1, 'c')


def test_cardinality_only_matters_with_matched_clauses():
    t = _table("cardinality")
    source = pa.table({"id": [1, 1, 4, 4], "v": [0, 0, 0, 0], "s": ["x"] * 4})
    with pytest.raises(MergeCardinalityError):
        t.merge(source, on="id").when_matched_update().when_not_matched_insert().execute()
    assert t.refresh().version == 1
    m = t.merge(source, on="id").when_not_matched_insert().execute()
    assert m.num_inserted_rows == 2  # both id-4 rows; the id-1 rows match and are left alone


@pytest.mark.parametrize("kind", ["reader", "pandas", "polars", "duckdb", "dict"])
def test_source_kinds(kind):
    t = _table(f"kinds-{kind}")
    data = pa.table({"id": [3, 4], "v": [33, 44], "s": ["c", "d"]})
    if kind == "reader":
        source = pa.RecordBatchReader.from_batches(data.schema, data.to_batches(max_chunksize=1))
    elif kind == "pandas":
        source = pytest.importorskip("pandas").DataFrame(data.to_pydict())
    elif kind == "polars":
        source = pytest.importorskip("polars").from_arrow(data)
    elif kind == "duckdb":
        con = duckdb.connect()
        source = con.sql("SELECT * FROM data")
    else:
        source = data.to_pydict()
    m = t.merge(source, on="id").when_matched_update().when_not_matched_insert().execute()
    assert (m.num_updated_rows, m.num_inserted_rows) == (1, 1)
    assert _rows(t.to_arrow()) == _rows(pa.table({"id": [1, 2, 3, 4], "v": [10, 20, 33, 44],
                                                  "s": ["a", "a", "c", "d"]}))


def test_refusals_commit_nothing():
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), ("v", pa.int64())])
    t = lakehouse.create_table(_uri("refusals"), schema=schema)
    t.append(pa.table({"id": [1], "v": [1]}, schema=schema))
    source = pa.table({"id": [1, 2], "w": [5, 6]})
    with pytest.raises(ColumnNotFoundError, match="'v'"):
        t.merge(source, on="id").when_matched_update().execute()
    with pytest.raises(SchemaMismatchError, match="id"):
        t.merge(source, on="id").when_not_matched_insert(values={"v": "source.w"}).execute()
    with pytest.raises(ColumnNotFoundError):
        t.merge(source, on="id").when_matched_update(set={"v": "source.nope"}).execute()
    with pytest.raises(InvalidExpressionError):
        t.merge(source, on="id").when_not_matched_insert(values={"v": "target.v"}).execute()
    with pytest.raises(ColumnNotFoundError):
        t.merge(source, on="nope").when_matched_delete().execute()
    assert t.refresh().version == 1


def test_builder_is_immutable():
    t = _table("immutable")
    base = t.merge(pa.table({"id": [1], "v": [0], "s": ["z"]}), on="id")
    with_delete = base.when_matched_delete()
    assert base.clauses == () and len(with_delete.clauses) == 1
    assert base.when_matched_update().execute().num_updated_rows == 1


def test_a_source_larger_than_the_memory_limit_spills(monkeypatch):
    """The source streams into DuckDB, which spills it past its memory limit: ~120 MB of
    source rows under a 48 MB limit still merge."""
    import lakehouse.ops.merge as merge_op

    monkeypatch.setattr(merge_op, "SOURCE_MEMORY_LIMIT", "48MB")
    t = lakehouse.create_table(_uri("spill"), schema=pa.schema([("id", pa.int64()), ("pad", pa.string())]))
    t.append({"id": [0, 1], "pad": ["a", "b"]})
    n, per = 400_000, 80_000

    def batches():
        for start in range(0, n, per):
            ids = pa.array(range(start, start + per), pa.int64())
            yield pa.record_batch([ids, pa.array(["x" * 300] * per)], names=["id", "pad"])

    source = pa.RecordBatchReader.from_batches(pa.schema([("id", pa.int64()), ("pad", pa.string())]), batches())
    m = t.merge(source, on="id").when_matched_update().when_not_matched_insert().execute()
    assert (m.num_updated_rows, m.num_inserted_rows) == (2, n - 2)
    assert t.scan().count() == n
