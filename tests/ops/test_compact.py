"""Compaction (spec section 14 `compact`, 4.4, 18): the same rows before and after, every earlier
version still readable, fewer files, no change in the feed, deletion vectors materialised, sorted
and Z-ordered layouts, and memory held to one bin at a time."""

import collections
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

import lakehouse
from lakehouse.errors import InvalidArgumentError
from lakehouse.format.schema import Schema
from lakehouse.format.stats import compute_stats, stats_to_json
from lakehouse.ops import compact as compact_module
from lakehouse.ops.compact_files import StreamedFile
from lakehouse.ops.delete import adds_from_index
from lakehouse.ops.zorder import zorder_values
from layout_helpers import files_rows


def _uri():
    return f"memory://test-compact/{uuid.uuid4().hex}"


def _table(uri=None, *, files=6, rows=5, partition_by=None, properties=None):
    t = lakehouse.create_table(uri or _uri(), schema={"id": "int64", "p": "string", "x": "double"},
                               partition_by=partition_by, properties=properties)
    for k in range(files):
        ids = list(range(k * rows, (k + 1) * rows))
        t.append({"id": ids, "p": ["ab"[i % 2] for i in ids], "x": [float(i % 7) for i in ids]})
    return t


def _rows(t):
    return collections.Counter(tuple(r.values()) for r in t.to_arrow().to_pylist())


def _snapshots(t):
    return {v: _rows(t.at(version=v)) for v in range(t.version + 1)}


def test_bin_packing_keeps_every_row_and_every_version(table_uri):
    t = _table(table_uri, partition_by=["p"])
    before, versions = _rows(t), _snapshots(t)
    m = t.compact()
    assert (m.version, m.files_removed, m.files_added, m.rows, m.partitions) == (t.version, 12, 2, 30, 2)
    assert m.bytes_removed > 0 and m.bytes_added > 0 and m.retries == 0 and m.dvs_materialized == 0
    assert _rows(t) == before and t.state.file_index().num_rows == 2
    assert all(_rows(t.at(version=v)) == rows for v, rows in versions.items())
    assert t.history()[0].operation == "compact"
    entry = t.history()[0]
    assert entry.metrics["num_removed_files"] == 12 and entry.parameters["where"] is None
    assert t.compact().version is None  # nothing left to do: no commit
    assert t.history()[0].version == m.version


def test_the_change_feed_reports_nothing_for_a_compaction():
    t = _table(properties={"write.delete.mode": "merge-on-read"})
    t.delete(where="id IN (1, 2, 13)")
    v = t.compact().version
    assert t.changes(v).num_rows == 0
    feed = t.changes(1)
    assert collections.Counter(feed["_change_type"].to_pylist()) == {"insert": 30, "delete": 3}


def test_deletion_vectors_are_materialised():
    t = _table(properties={"write.delete.mode": "merge-on-read"})
    t.delete(where="id IN (0, 7, 8, 29)")
    before = _rows(t)
    m = t.compact()
    assert m.dvs_materialized == 3 and m.rows == 26
    index = t.state.file_index()
    assert index["deletion_vector"].null_count == index.num_rows == 1
    assert _rows(t) == before


def test_large_files_are_rewritten_only_for_many_deleted_rows():
    t = lakehouse.create_table(_uri(), schema={"id": "int64"}, properties={"write.delete.mode": "merge-on-read"})
    t.append({"id": list(range(100))})
    t.append({"id": list(range(100, 200))})
    t.delete(where="id = 0")  # 1% of file 0
    t.delete(where="id >= 150")  # 50% of file 1
    target = 16  # bytes: both files are large
    m = t.compact(target)
    assert (m.files_removed, m.dvs_materialized) == (1, 1)
    dvs = t.state.file_index()["deletion_vector"].to_pylist()
    assert dvs[0] is not None and not any(dvs[1:])  # file 0 keeps its vector; file 1's rows are rewritten
    assert sorted(t.to_arrow()["id"].to_pylist()) == list(range(1, 150))


def test_where_compacts_only_files_that_may_match():
    t = _table(partition_by=["p"])
    m = t.compact(where="p = 'a'")
    assert (m.files_removed, m.partitions) == (6, 1)
    assert t.state.file_index().num_rows == 7
    assert t.compact(where="id > 1000").version is None
    with pytest.raises(InvalidArgumentError):
        t.compact(where=5)


def test_rows_keep_commit_order_and_move_to_the_end():
    t = lakehouse.create_table(_uri(), schema={"id": "int64"})
    t.append({"id": list(range(1000))})  # a large file: left alone at this target
    for k in range(3):
        t.append({"id": [1000 + 2 * k + 1, 1000 + 2 * k]})
    m = t.compact(1000 * 8 * 4 // 3)  # the first file is more than 3/4 of the target
    assert m.files_removed == 3
    assert t.to_arrow()["id"].to_pylist() == list(range(1000)) + [1001, 1000, 1003, 1002, 1005, 1004]


def test_sort_by_orders_each_bin_and_overrides_the_table_order():
    t = _table()
    t.set_sort_order(["id DESC"])
    m = t.compact(sort_by=["x", "id DESC"])
    assert m.files_removed == 6 and m.files_added == 1
    (values,) = files_rows(t, "x")
    ids = files_rows(t, "id")[0]
    assert list(zip(values, ids)) == sorted(zip(values, ids), key=lambda r: (r[0], -r[1]))
    assert t.history()[0].parameters["sort_by"] == ["x ASC NULLS LAST", "id DESC NULLS LAST"]


def test_bin_packing_keeps_the_table_sort_order():
    t = _table(files=4)
    t.set_sort_order(["x DESC", "id"])
    t.compact()
    (xs,) = files_rows(t, "x")
    assert xs == sorted(xs, reverse=True)


def test_zorder_by_writes_the_documented_order():
    t = lakehouse.create_table(_uri(), schema={"a": "int64", "b": "string"})
    for k in range(4):
        t.append({"a": [(k * 37 + i * 11) % 50 for i in range(25)], "b": [f"s{(k * 13 + i * 7) % 40:02}" for i in range(25)]})
    before = _rows(t)
    m = t.compact(zorder_by=["a", "b"])
    assert m.files_added == 1 and _rows(t) == before
    table = t.to_arrow()
    schema = Schema.from_arrow(table.schema)
    z = zorder_values(table, [1, 2], schema).tolist()
    assert z == sorted(z)
    assert t.history()[0].parameters["zorder_by"] == ["a", "b"]


@pytest.mark.parametrize("kwargs, match", [
    ({"sort_by": ["id"], "zorder_by": ["x"]}, "not both"),
    ({"zorder_by": ["id DESC"]}, "column names"),
    ({"sort_by": []}, "one or more"),
    ({"target_file_size": "lots"}, "not a size"),
    ({"progress": 3}, "callable"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        _table(files=2).compact(**kwargs)


def test_bin_packing_streams_one_row_group_at_a_time(monkeypatch):
    """A target far below the data's size: many bins and files, each written a row group at a
    time, no row group bigger than the target."""
    t = _table(files=40, rows=50)
    written = []
    write = StreamedFile.write
    monkeypatch.setattr(StreamedFile, "write", lambda self, table: written.append(table.nbytes) or write(self, table))
    target = 4096
    calls = []
    before = _rows(t)
    m = t.compact(target, progress=lambda done, total: calls.append((done, total)))
    total = calls[0][1]
    assert total >= 5 and calls[-1] == (total, total) and len(calls) == total + 1
    assert len(written) >= total and max(written) <= 1.25 * target  # row sizes vary a little
    assert m.files_added >= total and _rows(t) == before


def test_streamed_statistics_equal_those_of_the_whole_file(tmp_path):
    t = lakehouse.create_table(str(tmp_path / "t"), schema={"s": "string", "f": "double", "n": "int64"},
                               properties={"write.parquet.row-group-rows": "3"})
    rows = [("z" * 30 + str(i), [float("nan"), -0.0, 2.5, None][i % 4], None if i % 5 else i) for i in range(23)]
    for k in range(0, 23, 4):
        part = rows[k:k + 4]
        t.append({"s": [r[0] for r in part], "f": [r[1] for r in part], "n": [r[2] for r in part]})
    t.compact()
    (add,) = adds_from_index(t.state.file_index(), t.state)
    whole = compute_stats(t.to_arrow(), t.schema, truncate_length=16)
    assert dict(add.stats) == stats_to_json(whole, t.schema)
    assert pq.ParquetFile(t._store.full_path(add.path)).metadata.num_row_groups == 8  # 23 rows, 3 a group


def test_sorting_holds_at_most_the_budget(monkeypatch):
    t = _table(files=20, rows=50, properties={"compact.memory-budget-bytes": "8192"})
    held = []
    write_held = compact_module._write_held
    monkeypatch.setattr(compact_module, "_write_held",
                        lambda store, state, b, batches, layout, options: held.append(sum(x.nbytes for x in batches))
                        or write_held(store, state, b, batches, layout, options))
    before = _rows(t)
    t.compact(1024, sort_by=["x"])
    assert len(held) > 3 and max(held) <= 8192 // 2 + 50 * 3 * 8 * 2
    assert _rows(t) == before
    assert all(xs == sorted(xs) for xs in files_rows(t, "x"))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(st.tuples(st.just("append"), st.integers(1, 6)),
                          st.tuples(st.just("delete"), st.integers(0, 40), st.sampled_from(["copy-on-write", "merge-on-read"]))),
                min_size=1, max_size=8),
       st.sampled_from([None, ["p"]]), st.sampled_from([{}, {"sort_by": ["x"]}, {"zorder_by": ["id", "x"]}]))
def test_any_history_compacts_to_the_same_rows(steps, partition_by, layout):
    t = lakehouse.create_table(_uri(), schema={"id": "int64", "p": "string", "x": "double"}, partition_by=partition_by)
    next_id = 0
    for step in steps:
        if step[0] == "append":
            ids = list(range(next_id, next_id + step[1]))
            next_id += step[1]
            t.append({"id": ids, "p": ["ab"[i % 3 % 2] for i in ids], "x": [float(i % 5) for i in ids]})
        else:
            t.delete(where=f"id < {step[1]}", mode=step[2])
    before, versions = _rows(t), _snapshots(t)
    files = t.state.file_index().num_rows
    t.compact(**layout)
    assert _rows(t) == before
    assert t.state.file_index().num_rows <= max(files, 1)
    assert t.state.file_index()["deletion_vector"].null_count == t.state.file_index().num_rows
    assert all(_rows(t.at(version=v)) == rows for v, rows in versions.items())


def test_files_of_older_schemas_are_rewritten_under_the_current_one():
    t = lakehouse.create_table(_uri(), schema={"id": "int32", "s": "string"})
    t.append({"id": [1, 2], "s": ["a", "b"]})
    with t.update_schema() as u:
        u.rename_column("s", "name").add_column("extra", pa.float64()).widen_column("id", pa.int64())
    t.append({"id": [3], "name": ["c"], "extra": [0.5]})
    before = _rows(t)
    m = t.compact()
    assert m.files_removed == 2 and _rows(t) == before
    (add,) = adds_from_index(t.state.file_index(), t.state)
    assert add.schema_id == t.schema.schema_id
    assert t.to_arrow().to_pylist() == [{"id": 1, "name": "a", "extra": None}, {"id": 2, "name": "b", "extra": None},
                                        {"id": 3, "name": "c", "extra": 0.5}]


def test_tables_read_from_a_checkpoint_compact_the_same():
    t = _table(files=7, partition_by=["p"], properties={"checkpoint.interval": "3", "write.delete.mode": "merge-on-read"})
    t.delete(where="id IN (4, 9)")
    t = lakehouse.open_table(t.uri)  # its files come from the checkpoint's index, and the entries after it
    before, versions = _rows(t), _snapshots(t)
    m = t.compact()
    assert m.partitions == 2 and m.files_added == 2 and m.dvs_materialized >= 1
    assert _rows(lakehouse.open_table(t.uri)) == before
    assert all(_rows(t.at(version=v)) == rows for v, rows in versions.items())


def test_files_keep_their_partition_spec():
    t = _table(files=4, partition_by=["p"])
    t.update_partitioning([])
    for k in range(3):
        t.append({"id": [100 + k], "p": ["a"], "x": [1.0]})
    before = _rows(t)
    m = t.compact()
    assert m.partitions == 3 and m.files_added == 3 and _rows(t) == before
    index = t.state.file_index()
    assert sorted(index["spec_id"].to_pylist()) == [0, 0, 1]
    assert t.scan(where="p = 'a'").count() == sum(n for r, n in before.items() if r[1] == "a")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 100), max_size=60), st.integers(1, 300))
def test_bins_are_even_and_keep_commit_order(sizes, cap):
    runs = compact_module._pack(list(range(len(sizes))), sizes, cap)
    assert [i for run in runs for i in run] == list(range(len(sizes)))
    total = sum(sizes)
    assert len(runs) == (-(-total // cap) if total else 0) or len(runs) <= -(-total // cap) + 1
    share = total / max(1, -(-total // cap))
    assert all(sum(sizes[i] for i in run) <= share + max(sizes) for run in runs)


def test_a_failed_rewrite_commits_nothing_and_leaves_no_file(tmp_path, monkeypatch):
    import threading

    t = _table(str(tmp_path / "t"), files=30, rows=20)
    files_before = sorted(p.name for p in (tmp_path / "t" / "data").iterdir())
    write, calls = StreamedFile.write, []

    def failing(self, table):
        calls.append(1)
        if len(calls) == 3:
            raise lakehouse.StorageError("disk full")
        write(self, table)

    monkeypatch.setattr(StreamedFile, "write", failing)
    threads = threading.active_count()
    with pytest.raises(lakehouse.StorageError, match="disk full"):
        t.compact(2048)
    assert t.version == lakehouse.open_table(t.uri).version and t.history()[0].operation == "append"
    assert sorted(p.name for p in (tmp_path / "t" / "data").iterdir()) == files_before
    assert threading.active_count() == threads


def test_plan_without_where_decodes_no_statistics(monkeypatch):
    """Compacting everything prunes nothing: the files' JSON statistics are not decoded (the
    largest serial step with many small files); files with deletion vectors still materialise."""
    t = _table(files=5, properties={"write.delete.mode": "merge-on-read"})
    t.delete(where="id = 3")
    before = _rows(t)
    t = lakehouse.open_table(t.uri)

    def refuse(*args, **kwargs):
        raise AssertionError("statistics decoded")

    monkeypatch.setattr("lakehouse.format.file_index.stats_from_json", refuse)
    m = t.compact()
    monkeypatch.undo()
    assert (m.files_removed, m.files_added, m.dvs_materialized) == (5, 1, 1)
    assert _rows(t.refresh()) == before
