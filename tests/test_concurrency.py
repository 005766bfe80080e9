"""Many writers at once: every commit lands, versions stay dense, no row is lost."""

import subprocess
import sys
import textwrap
import threading

import pyarrow as pa
import pytest

import lakehouse
from lakehouse.format.log import list_versions, read_entry

WRITERS, APPENDS = 4, 12

WRITER = textwrap.dedent("""
    import sys, pyarrow as pa, lakehouse
    uri, me, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t = lakehouse.open_table(uri)
    for i in range(n):
        t.append(pa.table({"writer": [me] * 3, "seq": [i] * 3, "k": [0, 1, 2]}))
""")


def _check_dense_and_complete(uri: str, expected_commits: int, writers: int, appends: int) -> None:
    t = lakehouse.open_table(uri)
    assert t.version == expected_commits
    from lakehouse.io import Store
    store = Store.from_uri(uri)
    assert list_versions(store) == list(range(expected_commits + 1))
    ops = [read_entry(store, v).commit_info.operation for v in range(1, expected_commits + 1)]
    assert ops == ["append"] * expected_commits
    rows = t.scan().to_arrow()
    got = sorted(zip(rows.column("writer").to_pylist(), rows.column("seq").to_pylist(), rows.column("k").to_pylist()))
    assert got == sorted((w, s, k) for w in range(writers) for s in range(appends) for k in range(3))


@pytest.mark.slow
def test_processes_appending_at_once(local_uri):
    lakehouse.create_table(local_uri, schema=pa.schema([("writer", pa.int64()), ("seq", pa.int64()), ("k", pa.int64())]))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, local_uri, str(w), str(APPENDS)]) for w in range(WRITERS)]
    assert [p.wait(timeout=300) for p in procs] == [0] * WRITERS
    _check_dense_and_complete(local_uri, WRITERS * APPENDS, WRITERS, APPENDS)


def test_threads_appending_at_once(table_uri):
    lakehouse.create_table(table_uri, schema=pa.schema([("writer", pa.int64()), ("seq", pa.int64()), ("k", pa.int64())]))
    errors = []

    def work(me):
        try:
            t = lakehouse.open_table(table_uri)
            for i in range(8):
                t.append(pa.table({"writer": [me] * 3, "seq": [i] * 3, "k": [0, 1, 2]}))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    _check_dense_and_complete(table_uri, 32, 4, 8)


def test_put_if_absent_race_has_one_winner(table_uri):
    from lakehouse.io import Store
    store = Store.from_uri(table_uri)
    barrier = threading.Barrier(8)
    wins = []

    def race(i):
        barrier.wait()
        if store.put_if_absent("_lakehouse/log/race.json", f"writer {i}".encode()):
            wins.append(i)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(wins) == 1
    assert store.read_bytes("_lakehouse/log/race.json") == f"writer {wins[0]}".encode()


def test_conflicting_overwrites_raise_naming_the_winner(table_uri):
    t = lakehouse.create_table(table_uri, schema=pa.schema([("k", pa.int64()), ("v", pa.string())]))
    t.append(pa.table({"k": [1, 2], "v": ["a", "b"]}))
    a, b = lakehouse.open_table(table_uri), lakehouse.open_table(table_uri)
    a.overwrite(pa.table({"k": [1], "v": ["A"]}), where="k = 1")
    with pytest.raises(lakehouse.CommitConflictError) as e:
        b.overwrite(pa.table({"k": [1], "v": ["B"]}), where="k = 1")
    assert e.value.winning_version == 2
    assert "version 2" in str(e.value)
    assert sorted(t.refresh().scan().to_arrow().column("v").to_pylist()) == ["A", "b"]


def test_append_rebases_over_overwrite(table_uri):
    t = lakehouse.create_table(table_uri, schema=pa.schema([("k", pa.int64())]))
    t.append(pa.table({"k": [1]}))
    stale = lakehouse.open_table(table_uri)
    t.overwrite(pa.table({"k": [2]}))
    stale.append(pa.table({"k": [3]}))
    assert stale.version == 3
    assert sorted(stale.scan().to_arrow().column("k").to_pylist()) == [2, 3]


def test_disjoint_overwrite_rebases_over_append(table_uri):
    t = lakehouse.create_table(table_uri, schema=pa.schema([("k", pa.int64())]))
    t.append(pa.table({"k": [1, 5]}))
    stale = lakehouse.open_table(table_uri)
    t.append(pa.table({"k": [7]}))
    stale.overwrite(pa.table({"k": [2]}), where="k < 3")   # the appended file holds only k=7
    assert sorted(stale.scan().to_arrow().column("k").to_pylist()) == [2, 5, 7]
    stale2 = lakehouse.open_table(table_uri)
    t.refresh().append(pa.table({"k": [1]}))
    with pytest.raises(lakehouse.CommitConflictError, match="may hold rows"):
        stale2.overwrite(pa.table({"k": [0]}), where="k < 3")  # the appended file matches
