"""The conflict matrix for row-level changes (spec section 9): every cell, with deterministic
interleavings: two handles at the same version, the first commits, the second then commits from
its stale state and must rebase or raise CommitConflictError."""

import uuid

import pyarrow as pa
import pytest

import lakehouse
from lakehouse.format.actions import DELETION_VECTORS

MODES = ["copy-on-write", "merge-on-read"]


def _table(properties=None, *, files=2, rows=10):
    """`files` files (one append each) of `rows` rows: ids [k * rows, (k + 1) * rows) in file k."""
    t = lakehouse.create_table(f"memory://test-conflicts-rowlevel/{uuid.uuid4().hex}",
                               schema={"id": "int64", "s": "string"}, properties=properties)
    for k in range(files):
        ids = list(range(k * rows, (k + 1) * rows))
        t.append({"id": ids, "s": [f"v{i}" for i in ids]})
    return t


def _pair(t):
    return lakehouse.open_table(t.uri), lakehouse.open_table(t.uri)


def _ids(t):
    return sorted(lakehouse.open_table(t.uri).to_arrow()["id"].to_pylist())


@pytest.mark.parametrize("first", MODES)
@pytest.mark.parametrize("second", MODES)
def test_deletes_of_different_files_both_commit(first, second):
    t = _table()
    a, b = _pair(t)
    a.delete(where="id = 1", mode=first)
    m = b.delete(where="id = 15", mode=second)  # statistics prune file 0: b never read it
    assert m.version == t.version + 2 and m.num_deleted_rows == 1
    assert _ids(t) == [i for i in range(20) if i not in (1, 15)]


def test_deletion_vectors_on_different_rows_of_one_file_are_unioned():
    t = _table(files=1)
    a, b = _pair(t)
    a.delete(where="id IN (1, 2)", mode="merge-on-read")
    m = b.delete(where="id IN (5, 7)", mode="merge-on-read")
    assert (m.version, m.num_deleted_rows, m.num_deletion_vectors) == (t.version + 2, 2, 1)
    latest = lakehouse.open_table(t.uri)
    assert _ids(t) == [0, 3, 4, 6, 8, 9]
    assert latest.scan().count() == 6
    dv = latest.state.file_index()["deletion_vector"][0].as_py()
    assert dv["cardinality"] == 4  # the union, in one new vector
    assert sorted(latest.at(version=t.version + 1).to_arrow()["id"].to_pylist()) == [0, 3, 4, 5, 6, 7, 8, 9]


def test_a_union_that_deletes_every_row_removes_the_file():
    t = _table(files=1, rows=4)
    a, b = _pair(t)
    a.delete(where="id < 2", mode="merge-on-read")
    b.delete(where="id >= 2", mode="merge-on-read")
    latest = lakehouse.open_table(t.uri)
    assert latest.to_arrow().num_rows == 0 and latest.state.file_index().num_rows == 0


def test_the_same_row_deleted_twice_conflicts():
    t = _table(files=1)
    a, b = _pair(t)
    a.delete(where="id IN (1, 2)", mode="merge-on-read")
    with pytest.raises(lakehouse.CommitConflictError, match="both deleted row 2 of"):
        b.delete(where="id IN (2, 3)", mode="merge-on-read")
    assert _ids(t) == [0, *range(3, 10)]


@pytest.mark.parametrize("first", MODES)
@pytest.mark.parametrize("second", MODES)
def test_a_delete_of_rows_another_writer_rewrote_or_removed_conflicts(first, second):
    t = _table(files=1)
    a, b = _pair(t)
    a.delete(where="id = 1", mode=first)
    if first == "merge-on-read" and second == "merge-on-read":
        return  # different rows of one file by vectors: the union case above
    with pytest.raises(lakehouse.CommitConflictError, match="removed or rewrote|removed"):
        b.delete(where="id = 2", mode=second)
    assert _ids(t) == [0, *range(2, 10)]


@pytest.mark.parametrize("second", MODES)
def test_a_delete_of_a_file_another_delete_emptied_conflicts(second):
    t = _table(files=1)
    a, b = _pair(t)
    a.delete(where="id >= 0", mode="merge-on-read")  # every row: the file is removed
    with pytest.raises(lakehouse.CommitConflictError):
        b.delete(where="id = 2", mode=second)


@pytest.mark.parametrize("mode", MODES)
def test_a_file_read_but_not_changed_may_lose_rows_to_a_vector_concurrently(mode):
    t = _table(files=1)
    a, b = _pair(t)
    a.delete(where="id = 1", mode="merge-on-read")   # only deletes rows of the file
    m = b.delete(where="s = 'none'", mode=mode)      # reads the file, matches nothing: no commit
    assert m.num_deleted_rows == 0
    a2, b2 = _pair(t)
    a2.delete(where="id = 2", mode="merge-on-read")
    m = b2.delete(where="id = 100 OR s = 'v3'", mode="merge-on-read")  # reads the file, deletes another row
    assert m.num_deleted_rows == 1 and _ids(t) == [0, 4, 5, 6, 7, 8, 9]


@pytest.mark.parametrize("mode", MODES)
def test_an_append_concurrent_with_a_delete_commits_under_write_serializable(mode):
    t = _table()
    a, b = _pair(t)
    a.append({"id": [3, 100], "s": ["new", "new"]})  # holds a row the delete's predicate matches
    m = b.delete(where="id < 5", mode=mode)
    assert m.num_deleted_rows == 5
    assert _ids(t) == [3, *range(5, 20), 100]  # as if the append came after the delete


@pytest.mark.parametrize("mode", MODES)
def test_an_append_concurrent_with_a_delete_conflicts_under_serializable(mode):
    t = _table({"isolation-level": "serializable"})
    a, b = _pair(t)
    a.append({"id": [3], "s": ["new"]})
    with pytest.raises(lakehouse.CommitConflictError, match="may hold rows"):
        b.delete(where="id < 5", mode=mode)
    a, b = _pair(t)
    a.append({"id": [500], "s": ["new"]})  # cannot hold a row matching id < 5
    assert b.delete(where="id < 5", mode=mode).num_deleted_rows == 6  # 0..4 and the 3 appended above


@pytest.mark.parametrize("mode", MODES)
def test_an_update_or_overwrite_adding_rows_still_conflicts_under_write_serializable(mode):
    t = _table()
    a, b = _pair(t)
    a.overwrite(pa.table({"id": [1], "s": ["x"]}), where="id = 1")  # not a blind append
    with pytest.raises(lakehouse.CommitConflictError):
        b.delete(where="id < 5", mode=mode)


@pytest.mark.parametrize("mode", MODES)
def test_a_delete_rebases_over_a_property_change_and_over_enabling_deletion_vectors(mode):
    t = _table()
    a, b = _pair(t)
    a.set_properties({"checkpoint.interval": "5"})
    assert b.delete(where="id = 1", mode=mode).num_deleted_rows == 1
    a, b = _pair(t)
    a.set_properties({"write.update.mode": "merge-on-read"})  # raises the protocol by deletion_vectors only
    assert b.delete(where="id = 2", mode=mode).num_deleted_rows == 1
    latest = lakehouse.open_table(t.uri)
    assert DELETION_VECTORS in latest.state.protocol.reader_features
    assert latest.properties["write.update.mode"] == "merge-on-read" and _ids(t) == [0, *range(3, 20)]


def test_any_other_protocol_change_conflicts():
    from lakehouse.format.actions import Protocol
    from lakehouse.table.conflicts import Transaction, check

    t = _table()
    from lakehouse.expressions.tree import TRUE
    txn = Transaction(operation="delete", actions=(), read_version=t.version, read_predicate=TRUE)
    for protocol in (Protocol(writer_version=2), Protocol(writer_features=("tags",))):
        entry = _entry(t.version + 1, "upgrade", (protocol,))
        with pytest.raises(lakehouse.CommitConflictError, match="protocol"):
            check(txn, entry, t.state)


def _entry(version, operation, actions):
    from lakehouse.format.actions import CommitInfo
    from lakehouse.format.log import LogEntry

    return LogEntry(version=version, commit_info=CommitInfo(timestamp=1, operation=operation), actions=actions)


def test_set_properties_conflicts_with_a_concurrent_metadata_change_and_rebases_over_a_delete():
    t = _table()
    a, b = _pair(t)
    a.delete(where="id = 1")
    assert b.set_properties({"isolation-level": "serializable"}).version == t.version + 2
    a, b = _pair(t)
    a.set_properties({"checkpoint.interval": "7"})
    with pytest.raises(lakehouse.CommitConflictError, match="metadata"):
        b.set_properties({"isolation-level": "write-serializable"})


def test_properties_are_checked_and_merge_on_read_enables_deletion_vectors():
    t = _table()
    for bad in ({"write.delete.mode": "mor"}, {"isolation-level": "snapshot"}, {"write.merge.mode": None}):
        with pytest.raises(lakehouse.InvalidArgumentError):
            t.set_properties(bad)
    with pytest.raises(lakehouse.InvalidArgumentError):
        lakehouse.create_table(f"memory://test-conflicts-rowlevel/{uuid.uuid4().hex}", schema={"id": "int64"},
                               properties={"write.update.mode": "merge_on_read"})
    assert DELETION_VECTORS not in t.state.protocol.reader_features
    t.set_properties({"write.merge.mode": "merge-on-read"})
    assert DELETION_VECTORS in t.state.protocol.reader_features and DELETION_VECTORS in t.state.protocol.writer_features
    assert t.set_properties({"write.merge.mode": "merge-on-read"}).version == t.version  # no change: no commit
    created = _table({"write.delete.mode": "merge-on-read"}, files=1)
    assert DELETION_VECTORS in created.state.protocol.writer_features
    assert created.delete(where="id = 1").num_deletion_vectors == 1  # the table's mode


def test_a_per_call_merge_on_read_raises_the_protocol_in_the_same_commit():
    t = _table(files=1)
    m = t.delete(where="id = 1", mode="merge-on-read")
    latest = lakehouse.open_table(t.uri)
    assert DELETION_VECTORS in latest.state.protocol.reader_features
    assert m.version == t.version == latest.version  # one commit: protocol and vectors together
    assert DELETION_VECTORS not in latest.at(version=m.version - 1).state.protocol.reader_features


def test_unknown_mode_values_in_the_log_read_as_the_safe_choice():
    from dataclasses import replace

    from lakehouse.table.properties import isolation_level, write_mode
    metadata = replace(_table(files=0).metadata, properties={"write.delete.mode": "position-deletes",
                                                              "isolation-level": "snapshot"})
    assert write_mode(metadata, "delete") == "copy-on-write"
    assert isolation_level(metadata) == "serializable"


@pytest.mark.parametrize("mode", MODES)
def test_racing_deletes_of_distinct_rows_all_commit_or_conflict_cleanly(local_uri, mode):
    """Threads deleting distinct rows of one file at once: with vectors every one commits (the
    losers rebase by union); copy-on-write rewrites collide, and a loser raises without damage."""
    import threading

    t = lakehouse.create_table(local_uri, schema={"id": "int64", "s": "string"},
                               properties={"write.delete.mode": mode})
    t.append({"id": list(range(40)), "s": ["x"] * 40})
    handles = [lakehouse.open_table(local_uri) for _ in range(6)]
    outcomes = [None] * 6

    def run(k):
        try:
            outcomes[k] = handles[k].delete(where=f"id IN ({k}, {k + 10})").num_deleted_rows
        except lakehouse.CommitConflictError:
            outcomes[k] = "conflict"
    threads = [threading.Thread(target=run, args=(k,)) for k in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if mode == "merge-on-read":
        assert outcomes == [2] * 6
    deleted = {i for k, o in enumerate(outcomes) if o == 2 for i in (k, k + 10)}
    assert _ids(t) == [i for i in range(40) if i not in deleted]
    latest = lakehouse.open_table(local_uri)
    for v in range(latest.version + 1):
        latest.scan(version=v).to_arrow()
