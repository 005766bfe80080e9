"""A writer killed mid-write leaves the table readable at its last good version."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pytest

import lakehouse

DIES_BEFORE_COMMIT = textwrap.dedent("""
    import os, sys, pyarrow as pa, lakehouse, lakehouse.table.commit as c
    def killed(*a, **k):
        os._exit(9)          # the data files are written; the process dies before the log entry
    c._put = killed
    t = lakehouse.open_table(sys.argv[1])
    t.append(pa.table({"x": list(range(1000))}))
""")

LOOP = textwrap.dedent("""
    import sys, pyarrow as pa, lakehouse
    t = lakehouse.open_table(sys.argv[1])
    i = 0
    while True:
        t.append(pa.table({"x": list(range(i * 50_000, (i + 1) * 50_000))}))
        i += 1
""")


def _make(uri):
    t = lakehouse.create_table(uri, schema=pa.schema([("x", pa.int64())]))
    t.append(pa.table({"x": [1, 2, 3]}))
    return t


def test_writer_dying_before_commit_leaves_orphans_only(local_uri):
    _make(local_uri)
    proc = subprocess.run([sys.executable, "-c", DIES_BEFORE_COMMIT, local_uri])
    assert proc.returncode == 9
    t = lakehouse.open_table(local_uri)
    assert t.version == 1
    assert sorted(t.scan().to_arrow().column("x").to_pylist()) == [1, 2, 3]
    on_disk = [f for _, _, fs in os.walk(os.path.join(local_uri, "data")) for f in fs]
    assert len(on_disk) == 2  # the orphan is there, but the log does not reference it
    t.append(pa.table({"x": [4]}))
    assert t.version == 2


@pytest.mark.slow
def test_sigkill_at_random_moments(local_uri):
    _make(local_uri)
    for delay in (0.4, 0.75, 1.1, 1.6):
        proc = subprocess.Popen([sys.executable, "-c", LOOP, local_uri])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t = lakehouse.open_table(local_uri)
        for v in range(t.version + 1):  # every version reads, and holds what its log says
            rows = t.scan(version=v).count()
            assert rows == (0 if v == 0 else 3 + (v - 1) * 50_000)
    assert lakehouse.open_table(local_uri).version >= 1
