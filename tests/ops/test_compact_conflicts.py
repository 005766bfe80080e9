"""Compaction under concurrency (spec section 9): appends never conflict with it, in either
order; a delete of the files it rewrites and the compaction: one wins, no row lost or duplicated,
in both orders and both write modes, and a compaction that loses retries on the files left."""

import collections
import uuid

import pytest

import lakehouse

MODES = ["copy-on-write", "merge-on-read"]


def _table(files=6, rows=5):
    t = lakehouse.create_table(f"memory://test-compact-conflicts/{uuid.uuid4().hex}",
                               schema={"id": "int64", "p": "string"}, partition_by=["p"])
    for k in range(files):
        ids = list(range(k * rows, (k + 1) * rows))
        t.append({"id": ids, "p": ["a" if i < files * rows // 2 else "b" for i in ids]})
    return t


def _ids(t):
    return sorted(lakehouse.open_table(t.uri).to_arrow()["id"].to_pylist())


def test_compaction_then_stale_append_both_commit():
    t = _table()
    a, b = lakehouse.open_table(t.uri), lakehouse.open_table(t.uri)
    a.compact()
    b.append({"id": [100], "p": ["a"]})
    assert _ids(t) == [*range(30), 100]


def test_append_then_stale_compaction_both_commit():
    t = _table()
    a, b = lakehouse.open_table(t.uri), lakehouse.open_table(t.uri)
    a.append({"id": [100], "p": ["a"]})
    m = b.compact()
    assert m.retries == 0 and m.files_removed == 6 and m.version == t.version + 2
    assert _ids(t) == [*range(30), 100]


def test_append_during_compaction_commits_and_is_kept():
    t = _table()
    other = lakehouse.open_table(t.uri)
    m = t.compact(progress=lambda done, total: done == 0 and other.append({"id": [100], "p": ["b"]}))
    assert m.retries == 0
    assert _ids(t) == [*range(30), 100]


@pytest.mark.parametrize("mode", MODES)
def test_compaction_wins_then_stale_delete_of_its_files_conflicts(mode):
    t = _table()
    a, b = lakehouse.open_table(t.uri), lakehouse.open_table(t.uri)
    a.compact()
    with pytest.raises(lakehouse.CommitConflictError):
        b.delete(where="id = 3", mode=mode)
    assert _ids(t) == list(range(30))  # the delete lost: nothing of it committed


@pytest.mark.parametrize("mode", MODES)
def test_delete_wins_then_stale_compaction_retries_on_the_rest(mode):
    t = _table()
    a, b = lakehouse.open_table(t.uri), lakehouse.open_table(t.uri)
    a.delete(where="id = 3", mode=mode)  # a file of partition a
    m = b.compact()
    assert m.retries == 1 and m.partitions == 1 and m.files_removed == 3  # partition b only
    assert _ids(t) == [i for i in range(30) if i != 3]
    assert lakehouse.open_table(t.uri).compact().partitions == 1  # partition a is compacted next time
    assert _ids(t) == [i for i in range(30) if i != 3]


@pytest.mark.parametrize("mode", MODES)
def test_delete_during_compaction(mode):
    t = _table()
    other = lakehouse.open_table(t.uri)
    m = t.compact(progress=lambda done, total: done == 0 and other.delete(where="id IN (3, 4)", mode=mode))
    assert (m.retries, m.partitions, m.files_removed) == (1, 1, 3)
    assert _ids(t) == [i for i in range(30) if i not in (3, 4)]
    assert collections.Counter(_ids(t)).most_common(1)[0][1] == 1
    assert len(t._store.list_names("data/p=a")) == 3 + (
        1 if mode == "copy-on-write" else 0)  # the dropped bin's output was deleted


def test_delete_of_other_files_after_compaction_is_not_a_conflict():
    """A compaction's adds move rows of the files it removed: a delete that pruned those
    files (it read partition b only) does not conflict with them."""
    t = _table()
    a, b = lakehouse.open_table(t.uri), lakehouse.open_table(t.uri)
    a.compact(where="p = 'a'")
    m = b.delete(where="p = 'b' AND id = 20")
    assert m.num_deleted_rows == 1
    assert _ids(t) == [i for i in range(30) if i != 20]


def test_compaction_gives_up_when_every_file_changed():
    t = _table(files=4)
    other = lakehouse.open_table(t.uri)
    with pytest.raises(lakehouse.CommitConflictError):
        t.compact(progress=lambda done, total: done == 0 and other.delete(where="id IN (0, 10)", mode="merge-on-read"))
    assert _ids(t) == [i for i in range(20) if i not in (0, 10)]
    assert len(t._store.list_names("data/p=a")) == 2  # the files written for it were deleted
