"""A missing or damaged log entry is never silent (spec/format.md, "Gaps in the log"): a gap is
CorruptTableError for readers, history and writers alike, and time travel to an intact version
before it still works."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import lakehouse
from lakehouse.io import Store
from lakehouse.format.log import list_versions, log_path

SCHEMA = pa.schema([("i", pa.int64())])


def _table(uri, commits, **properties):
    t = lakehouse.create_table(uri, schema=SCHEMA, properties={k.replace("_", "."): v for k, v in properties.items()})
    for i in range(commits):
        t.append(pa.table({"i": [i]}))
    return t


@pytest.mark.parametrize("gap", [[5], [1], [9], [3, 4], [2, 3, 4, 5, 6, 7, 8]])
def test_a_gap_between_entries_is_corrupt_not_an_older_version(table_uri, gap):
    _table(table_uri, 10)
    store = Store.from_uri(table_uri)
    for v in gap:
        store.delete(log_path(v))
    with pytest.raises(lakehouse.CorruptTableError, match=f"log entry {gap[0]} is missing"):
        lakehouse.open_table(table_uri)
    with pytest.raises(lakehouse.CorruptTableError, match="gap"):
        lakehouse.open_table(table_uri, version=9)
    before = gap[0] - 1
    t = lakehouse.open_table(table_uri, version=before)  # an intact version before the gap still reads
    assert t.version == before and t.scan().count() == before


def test_history_raises_on_a_gap_instead_of_truncating(table_uri):
    t = _table(table_uri, 10)
    Store.from_uri(table_uri).delete(log_path(4))
    with pytest.raises(lakehouse.CorruptTableError, match="log entry 4 is missing"):
        t.history()
    with pytest.raises(lakehouse.CorruptTableError):
        t.history(limit=8)
    assert [h.version for h in t.history(limit=5)] == [10, 9, 8, 7, 6]  # the part after the gap is whole


@given(st.integers(1, 40), st.integers(1, 60), st.data())
@settings(max_examples=40, deadline=None)
def test_any_gap_with_as_much_log_after_it_is_found(first, length, data):
    """The probes after a missing entry find any gap of g entries that has at least g after it
    (and a checkpoint beyond the gap finds it whatever its length)."""
    import uuid
    uri = f"memory://gaps/{uuid.uuid4().hex}"
    newest = first + 2 * length + data.draw(st.integers(0, 5))
    store = Store.from_uri(uri)
    _table(uri, 0)
    from lakehouse.format.log import encode_entry
    from lakehouse.format.actions import CommitInfo
    for v in range(1, newest + 1):
        store.put_if_absent(log_path(v), encode_entry(v, CommitInfo(timestamp=v, operation="append"), ()))
    for v in range(first, first + length):
        store.delete(log_path(v))
    with pytest.raises(lakehouse.CorruptTableError, match=f"log entry {first} is missing"):
        lakehouse.open_table(uri)


def test_a_checkpoint_beyond_a_long_gap_reveals_it(local_uri):
    _table(local_uri, 30, checkpoint_interval="10")
    store = Store.from_uri(local_uri)
    store.write_bytes("_lakehouse/checkpoints/00000000000000000030.checkpoint.parquet", b"torn")
    for v in range(21, 30):
        store.delete(log_path(v))  # the gap runs to the log's end: no probe can see past it
    with pytest.raises(lakehouse.CorruptTableError, match="checkpoint 30 exists"):
        lakehouse.open_table(local_uri)


def test_a_damaged_newest_entry_does_not_block_older_versions(table_uri):
    _table(table_uri, 6)
    store = Store.from_uri(table_uri)
    store.delete(log_path(6))
    store.put_if_absent(log_path(6), b'{"version": 6, "commit_info": {"timest')  # torn
    with pytest.raises(lakehouse.CorruptTableError, match="log entry 6"):
        lakehouse.open_table(table_uri)
    old = lakehouse.open_table(table_uri, version=5)
    assert old.version == 5 and old.scan().count() == 5
    assert lakehouse.open_table(table_uri, version=3).scan().count() == 3
    # a writer never commits on top of it: it reads the damaged winner and stops, no retry loop
    with pytest.raises(lakehouse.CorruptTableError, match="log entry 6"):
        old.append(pa.table({"i": [99]}))
    assert list_versions(store) == list(range(7))


def test_a_writer_never_fills_a_gap(table_uri):
    """Put-if-absent at n succeeds in a gap, so a writer whose base predates the gap (here a
    time-travel handle) would silently replace the lost entry: it must see entry n+1 first."""
    _table(table_uri, 8)
    store = Store.from_uri(table_uri)
    stale = lakehouse.open_table(table_uri, version=4)
    store.delete(log_path(5))
    with pytest.raises(lakehouse.CorruptTableError, match="log entry 5 is missing"):
        stale.append(pa.table({"i": [99]}))
    assert not store.exists(log_path(5)) and not store.exists(log_path(9))


def test_a_writer_losing_a_race_into_a_gapped_log_stops(table_uri):
    t = _table(table_uri, 3)
    other = lakehouse.open_table(table_uri)
    for i in range(6):
        other.append(pa.table({"i": [i]}))  # versions 4..9
    store = Store.from_uri(table_uri)
    store.delete(log_path(6))
    with pytest.raises(lakehouse.CorruptTableError, match="log entry 6 is missing"):
        t.append(pa.table({"i": [99]}))
    assert list_versions(store) == [v for v in range(10) if v != 6]


def test_create_table_does_not_refill_a_removed_log_start(local_uri):
    _table(local_uri, 12, checkpoint_interval="5")
    store = Store.from_uri(local_uri)
    for v in range(10):
        store.delete(log_path(v))
    with pytest.raises(lakehouse.TableExistsError):
        lakehouse.create_table(local_uri, schema=SCHEMA)
    assert lakehouse.open_table(local_uri).version == 12


@pytest.mark.parametrize("kind", ["memory", "local"])  # S3 adds nothing here but minutes
def test_concurrent_commits_are_not_mistaken_for_a_gap(kind, tmp_path):
    """A reader that saw entry n missing and then n+1 present reads n again before calling it a gap."""
    import threading
    import uuid
    table_uri = str(tmp_path / "t") if kind == "local" else f"memory://race/{uuid.uuid4().hex}"
    _table(table_uri, 0)
    errors: list[Exception] = []

    def write():
        try:
            t = lakehouse.open_table(table_uri)
            for i in range(10):
                t.append(pa.table({"i": [i]}))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    def read():
        try:
            for _ in range(30):
                lakehouse.open_table(table_uri).history()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=f) for f in (write, write, read)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == [] and lakehouse.open_table(table_uri).version == 20
