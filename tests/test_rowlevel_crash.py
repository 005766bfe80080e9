"""Crash safety of merge and update, in both write modes: a writer killed after writing its
data, deletion vector and change data files but before its log entry leaves the table at its
last good version, and one SIGKILLed at random moments leaves every version readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import lakehouse

MODES = ["copy-on-write", "merge-on-read"]



def merge(t: lakehouse.Table, mode: str) -> None:
    source = {"id": list(range(900, 1100)), "v": ["new"] * 200}
    t.merge(source, on="id", mode=mode).when_matched_update().when_not_matched_insert().execute()


def update(t: lakehouse.Table, mode: str) -> None:
    t.update(set={"v": "'upd'"}, where="id < 334", mode=mode)


KILLED_BEFORE_COMMIT = """
    import os, sys, lakehouse, lakehouse.table.commit as c
    sys.path.insert(0, sys.argv[3])
    import test_rowlevel_crash as statements
    def killed(*a, **k):
        os._exit(9)   # every new file exists; the log entry does not
    c._put = killed
    getattr(statements, sys.argv[4])(lakehouse.open_table(sys.argv[1]), sys.argv[2])
"""


def _table(uri: str) -> lakehouse.Table:
    t = lakehouse.create_table(uri, schema={"id": "int64", "v": "string"})
    t.append({"id": list(range(1000)), "v": ["old"] * 1000})
    return t


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("statement", [merge, update], ids=["merge", "update"])
def test_writer_killed_before_its_entry_leaves_the_last_good_version(local_uri, mode, statement):
    _table(local_uri)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED_BEFORE_COMMIT), local_uri, mode,
                           os.path.dirname(__file__), statement.__name__])
    assert proc.returncode == 9
    t = lakehouse.open_table(local_uri)
    assert t.version == 1
    assert t.to_arrow()["v"].to_pylist() == ["old"] * 1000
    assert t.changes(start_version=1).num_rows == 1000  # the append only: no trace of the lost write
    # The table still takes the same write, and it lands whole.
    statement(t, mode)
    assert t.version == 2
    assert t.to_arrow()["v"].to_pylist().count("old") == (900 if statement is merge else 666)


MERGE_LOOP = textwrap.dedent("""
    import sys, lakehouse
    t = lakehouse.open_table(sys.argv[1])
    base = int(sys.argv[3])
    for i in range(1000):  # each merge updates one existing row and inserts one new one
        (t.merge({"id": [i, base + i], "v": ["m", "m"]}, on="id", mode=sys.argv[2])
          .when_matched_update().when_not_matched_insert().execute())
""")


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_sigkill_during_merges_at_random_moments(local_uri, mode):
    t = _table(local_uri)
    for round_, delay in enumerate((0.0, 0.13, 0.41)):
        start, rows_at_start = t.version, t.scan().count()
        proc = subprocess.Popen([sys.executable, "-c", MERGE_LOOP, local_uri, mode, str(10_000 * (round_ + 1))])
        _wait_for_a_commit_after(local_uri, start)  # however slow the interpreter is to start
        time.sleep(delay)  # then kill it at some point of a later merge
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t = lakehouse.open_table(local_uri)
        for v in range(start, t.version + 1):  # every version reads, one inserted row more each
            assert t.scan(version=v).count() == rows_at_start + (v - start)
        (t.merge({"id": [-1 - round_], "v": ["x"]}, on="id", mode=mode)
          .when_not_matched_insert().execute())  # the table still takes commits


def _wait_for_a_commit_after(uri: str, version: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while lakehouse.open_table(uri).version <= version:
        assert time.monotonic() < deadline, "the merging process never committed"
        time.sleep(0.05)
