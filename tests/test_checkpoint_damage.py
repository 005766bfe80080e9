"""Checkpoints are an optimisation: writing one can never fail a committed write, and reading
a damaged one falls back to an older checkpoint or to the log (spec/format.md, "Checkpoints")."""

from __future__ import annotations

import pyarrow as pa
import pytest

import lakehouse
import lakehouse.checkpoint as checkpoint_mod
from lakehouse.io import Store
from lakehouse.state import TableState


def _table(uri, commits=0, interval=5, **kw):
    t = lakehouse.create_table(uri, schema=pa.schema([("i", pa.int64())]),
                               properties={"checkpoint.interval": str(interval)}, **kw)
    for i in range(commits):
        t.append(pa.table({"i": [i]}))
    return t


# ---------------------------------------------------------------- a failing checkpoint write

FAILURES = [OSError("disk full"), pa.ArrowInvalid("bad"), MemoryError(), lakehouse.StorageError("503"),
            RuntimeError("bug"), ValueError("odd"), KeyError("x")]


@pytest.mark.parametrize("error", FAILURES, ids=lambda e: type(e).__name__)
def test_a_failing_checkpoint_never_fails_the_committed_write(table_uri, monkeypatch, error):
    t = _table(table_uri, 4)

    def fail(*args, **kwargs):
        raise error
    with monkeypatch.context() as m:
        m.setattr(checkpoint_mod, "write_checkpoint", fail)
        summary = t.append(pa.table({"i": [4]}))  # version 5: a checkpoint is due and fails
    assert summary.version == 5 and t.version == 5
    fresh = lakehouse.open_table(table_uri)
    assert fresh.version == 5 and sorted(fresh.to_arrow()["i"].to_pylist()) == list(range(5))
    t.append(pa.table({"i": [5]}))  # the handle still writes
    assert sorted(lakehouse.open_table(table_uri).to_arrow()["i"].to_pylist()) == list(range(6))


@pytest.mark.parametrize("error", FAILURES, ids=lambda e: type(e).__name__)
def test_a_store_failing_checkpoint_writes_never_fails_the_committed_write(local_uri, monkeypatch, error):
    t = _table(local_uri, 4)

    def fail(self, rel, data):
        raise error
    with monkeypatch.context() as m:
        m.setattr(Store, "write_bytes", fail)
        assert t.append(pa.table({"i": [4]})).version == 5
    assert lakehouse.open_table(local_uri).to_arrow()["i"].to_pylist().count(4) == 1


def test_a_failing_index_fold_never_fails_the_committed_write(table_uri, monkeypatch):
    t = _table(table_uri, 4)

    def fail(self):
        raise MemoryError()
    monkeypatch.setattr(TableState, "compacted", fail)
    assert t.append(pa.table({"i": [4]})).version == 5
    assert sorted(t.to_arrow()["i"].to_pylist()) == list(range(5))


def test_an_unreadable_interval_property_never_fails_the_write(table_uri):
    t = lakehouse.create_table(table_uri, schema=pa.schema([("i", pa.int64())]),
                               properties={"checkpoint.interval": "often"})
    assert t.append(pa.table({"i": [1]})).version == 1
    assert lakehouse.open_table(table_uri).to_arrow()["i"].to_pylist() == [1]
