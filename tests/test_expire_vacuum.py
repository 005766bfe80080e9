"""Expiry and vacuum (spec/format.md, "Expiry and vacuum"): time travel keeps working for every
retained version and every tag, expired versions are VersionNotFoundError (never a gap), vacuum
lists exactly the unreferenced files, and a crash midway leaves a readable table."""

import datetime as dt
import os
import time
import uuid

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import lakehouse
from lakehouse.errors import CorruptTableError, InvalidArgumentError, StorageError, VersionNotFoundError
from lakehouse.format.checkpoint import checkpoint_path, checkpoint_versions
from lakehouse.format.log import list_versions, log_path
from lakehouse.io import Store

ZERO = dt.timedelta(0)
SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.string())])
MOR = {"write.delete.mode": "merge-on-read", "write.update.mode": "merge-on-read"}


def _rows(t, **travel) -> list:
    return sorted(t.scan(**travel).to_arrow().to_pylist(), key=lambda r: (r["id"], r["v"]))


def _table(uri, **props):
    return lakehouse.create_table(uri, schema=SCHEMA, properties={**MOR, **props})


def _history(t, n):
    for i in range(n):
        t.append(pa.table({"id": [i, i + 100], "v": [f"a{i}", f"b{i}"]}, schema=SCHEMA))


# ------------------------------------------------------------------ expiry

def test_expire_keeps_retained_versions_and_tags_and_expires_the_rest(table_uri):
    t = _table(table_uri)
    _history(t, 4)
    t.delete("id = 1")  # a deletion vector (version 5)
    t.tag("before-update", version=2)
    t.update(set={"v": "'x'"}, where="id >= 100")  # version 7
    before = {v: _rows(t, version=v) for v in range(t.version + 1)}
    assert t.checkpoint() == 7
    m = t.expire_snapshots(older_than=ZERO, retain_last=3)
    assert (m.oldest_version, m.log_entries_removed, m.version) == (5, 5, 7)
    assert m.versions_expired == 4  # 0..4 but the tagged 2
    store = Store.from_uri(table_uri)
    assert min(list_versions(store)) == 5 and set(checkpoint_versions(store)) >= {2, 5, 7}
    fresh = lakehouse.open_table(table_uri)
    for v in range(5, 8):
        assert _rows(fresh, version=v) == before[v]
    assert _rows(fresh, ref="before-update") == before[2]
    for v in (0, 1, 3, 4):
        with pytest.raises(VersionNotFoundError, match="expired"):
            fresh.at(version=v)
    assert [e.version for e in fresh.history()] == [7, 6, 5]
    assert fresh.changes(6).num_rows > 0
    with pytest.raises(VersionNotFoundError):
        fresh.changes(5)  # its deletes need version 4
    with pytest.raises(VersionNotFoundError):
        fresh.at(as_of=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))


def test_expiry_never_passes_the_checkpoint_readers_start_from(local_uri):
    t = _table(local_uri)
    _history(t, 5)
    m = t.expire_snapshots(older_than=ZERO)  # no checkpoint yet: writes one at 5, removes nothing
    assert (m.log_entries_removed, m.oldest_version) == (0, 0)
    assert t.at(version=1).version == 1
    t.append(pa.table({"id": [9], "v": ["z"]}, schema=SCHEMA))
    m = t.expire_snapshots(older_than=ZERO)  # now from the checkpoint at 5 (6 is newer)
    assert (m.log_entries_removed, m.oldest_version) == (5, 5)
    assert _rows(lakehouse.open_table(local_uri)) == _rows(t)


def test_expiry_by_age_and_count(local_uri):
    t = _table(local_uri)
    _history(t, 6)
    t.checkpoint()
    assert t.expire_snapshots(older_than=dt.timedelta(days=1)).log_entries_removed == 0  # all young
    cut = t.history()[2].timestamp  # version 4's commit time: 0..3 are older
    assert t.expire_snapshots(older_than=cut, retain_last=5).oldest_version == 2  # the count wins
    assert t.expire_snapshots(older_than=cut, retain_last=1).oldest_version == 4  # the age wins
    assert t.expire_snapshots(older_than=cut.replace(tzinfo=None) - dt.timedelta(days=1)).log_entries_removed == 0


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_retain_last_is_checked(bad):
    t = _table(f"memory://tests/{uuid.uuid4().hex}/t")
    with pytest.raises(InvalidArgumentError, match="retain_last"):
        t.expire_snapshots(retain_last=bad)


@pytest.mark.parametrize("bad", [dt.timedelta(seconds=-1), 7, "7d"])
def test_older_than_is_checked(bad):
    t = _table(f"memory://tests/{uuid.uuid4().hex}/t")
    with pytest.raises(InvalidArgumentError):
        t.expire_snapshots(older_than=bad)


def test_default_age_is_the_table_property():
    t = _table(f"memory://tests/{uuid.uuid4().hex}/t", **{"history.expire.max-age": "0s"})
    _history(t, 3)
    t.checkpoint()
    assert t.expire_snapshots().oldest_version == 3
    with pytest.raises(InvalidArgumentError, match="duration"):
        t.set_properties({"history.expire.max-age": "a week"})


@pytest.mark.parametrize("fail_after", [0, 1, 3, 5, 6])
def test_a_crash_midway_through_expiry_leaves_a_readable_table(local_uri, monkeypatch, fail_after):
    t = _table(local_uri, **{"checkpoint.interval": "3"})
    _history(t, 7)  # checkpoints at 3 and 6
    t.tag("two", version=2)
    before = {v: _rows(t, version=v) for v in range(t.version + 1)}
    t.checkpoint()
    real_delete, calls = Store.delete, []

    def failing_delete(self, rel):
        if len(calls) == fail_after:
            raise StorageError("the store went away")
        calls.append(rel)
        real_delete(self, rel)
    monkeypatch.setattr(Store, "delete", failing_delete)
    with pytest.raises(StorageError):
        t.expire_snapshots(older_than=ZERO, retain_last=2)
    monkeypatch.setattr(Store, "delete", real_delete)
    fresh = lakehouse.open_table(local_uri)
    assert _rows(fresh) == before[8]
    assert _rows(fresh, ref="two") == before[2]
    for v in range(9):  # each version reads as before, or is expired: never a gap
        try:
            assert _rows(fresh, version=v) == before[v]
        except VersionNotFoundError as e:
            assert "expired" in str(e) or "removed" in str(e)
    assert fresh.expire_snapshots(older_than=ZERO, retain_last=2).oldest_version == 7  # and it finishes
    assert min(list_versions(Store.from_uri(local_uri))) == 7
    assert _rows(lakehouse.open_table(local_uri), ref="two") == before[2]


def test_a_reader_that_started_before_expiry_reads_on(local_uri, monkeypatch):
    """A reader that found the old checkpoint, then lost the entries after it to expiry, starts
    again from the newer checkpoint instead of reporting a gap."""
    t = _table(local_uri, **{"checkpoint.interval": "2"})
    _history(t, 5)  # checkpoints at 2 and 4
    from lakehouse.format import replay
    real = replay.find_checkpoint
    calls = []

    def stale_then_real(store, at_most=None, *, use_hint=True):
        calls.append(use_hint)
        if len(calls) == 1:  # what the reader saw before expiry ran
            found = real(store, at_most=2)
            t.expire_snapshots(older_than=ZERO)  # removes 0..3 meanwhile
            return found
        return real(store, at_most, use_hint=use_hint)
    monkeypatch.setattr(replay, "find_checkpoint", stale_then_real)
    assert replay.load_state(Store.from_uri(local_uri)).version == 5


def test_a_damaged_checkpoint_the_log_starts_from_is_refused_by_expiry(local_uri):
    t = _table(local_uri)
    _history(t, 3)
    t.checkpoint()
    t.expire_snapshots(older_than=ZERO)
    with open(os.path.join(local_uri, checkpoint_path(3)), "r+b") as f:
        f.write(b"garbage")
    with pytest.raises(CorruptTableError):
        t.expire_snapshots(older_than=ZERO)
    with pytest.raises(CorruptTableError):
        t.vacuum(ZERO, force=True)


# ------------------------------------------------------------------ vacuum

def _age(uri, seconds):
    """Make every file under `uri` look `seconds` old."""
    when = time.time() - seconds
    for folder, _, names in os.walk(uri):
        for name in names:
            os.utime(os.path.join(folder, name), (when, when))


def _plant(uri, rel, data=b"x"):
    path = os.path.join(uri, *rel.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return rel


def test_dry_run_lists_exactly_the_unreferenced_files(local_uri, tmp_path):
    t = _table(local_uri)
    t.append(pa.table({"id": [1], "v": ["a"]}, schema=SCHEMA))
    first = t.scan().files_table()["path"].to_pylist()
    t.overwrite(pa.table({"id": [2], "v": ["b"]}, schema=SCHEMA))  # removes the first file at version 2
    t.append(pa.table({"id": [3], "v": ["c"]}, schema=SCHEMA))
    t.delete("id = 3")  # a Puffin file, referenced
    t.checkpoint()
    t.expire_snapshots(older_than=ZERO, retain_last=3)  # keeps 2..4
    planted = {_plant(local_uri, p) for p in (
        "data/orphan.parquet", "data/k=1/orphan2.parquet", "deletes/0123.puffin", "_change_data/c.parquet",
        "_lakehouse/log/.00000000000000000009.json.0123456789abcdef0123456789abcdef.tmp", "stray.txt")}
    kept = {_plant(local_uri, p) for p in ("_lakehouse/other/notes.json", "_lakehouse/log/readme.txt")}
    _age(local_uri, 3600)
    young = _plant(local_uri, "data/being-written.parquet")  # a concurrent writer's, not committed yet
    outside = _plant(str(tmp_path), "sentinel.parquet")
    result = t.vacuum(dt.timedelta(minutes=30), force=True)
    assert set(result.files) == planted | set(first)
    assert young not in result.files and not kept & set(result.files)
    assert result.dry_run and not result.deleted and result.retention == dt.timedelta(minutes=30)
    assert result.bytes == sum(os.path.getsize(os.path.join(local_uri, p)) for p in result.files)
    before = {v: _rows(t, version=v) for v in range(2, 5)}
    events = []
    done = t.vacuum(dt.timedelta(minutes=30), force=True, dry_run=False, progress=lambda p, n: events.append((p, n)))
    assert done.files == result.files and done.deleted
    assert ("deleting", len(result.files)) in events and events[0][0] == "listing"
    assert not any(os.path.exists(os.path.join(local_uri, p)) for p in result.files)
    assert all(os.path.exists(os.path.join(local_uri, p)) for p in {young, *kept})
    assert os.path.exists(os.path.join(str(tmp_path), outside))
    fresh = lakehouse.open_table(local_uri)
    assert {v: _rows(fresh, version=v) for v in range(2, 5)} == before
    assert t.vacuum(ZERO, force=True).files == (young,)


def test_retention_below_the_minimum_needs_force():
    t = _table(f"memory://tests/{uuid.uuid4().hex}/t")
    with pytest.raises(InvalidArgumentError, match="vacuum.retention.minimum"):
        t.vacuum(dt.timedelta(days=6))
    assert t.vacuum().retention == dt.timedelta(days=7)
    assert t.vacuum(dt.timedelta(days=6), force=True).files == ()
    t.set_properties({"vacuum.retention.minimum": "1h"})
    assert t.refresh().vacuum(dt.timedelta(hours=2)).files == ()
    for bad in ({"retention": dt.timedelta(seconds=-1)}, {"retention": 3600}, {"dry_run": "no"}, {"force": 1}):
        with pytest.raises(InvalidArgumentError):
            t.vacuum(**{"retention": ZERO, "force": True, **bad})
    with pytest.raises(InvalidArgumentError, match="duration"):
        t.set_properties({"vacuum.retention.minimum": "7 days"})


def test_vacuum_never_follows_a_link_out_of_the_root(local_uri, tmp_path):
    t = _table(local_uri)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "precious.parquet").write_bytes(b"keep me")
    os.symlink(outside, os.path.join(local_uri, "data-link"))
    os.symlink(outside / "precious.parquet", os.path.join(local_uri, "file-link.parquet"))
    _age(str(outside), 3600)
    result = t.vacuum(ZERO, force=True, dry_run=False)
    assert not [p for p in result.files if "link" in p]
    assert (outside / "precious.parquet").read_bytes() == b"keep me"


@pytest.mark.s3
def test_vacuum_on_s3(s3):
    import s3fs
    uri = s3.uri()
    t = _table(uri)
    _history(t, 2)
    t.overwrite(pa.table({"id": [7], "v": ["q"]}, schema=SCHEMA))
    t.checkpoint()
    t.expire_snapshots(older_than=ZERO)
    fs = s3fs.S3FileSystem()
    root = uri[len("s3://"):]
    fs.pipe(f"{root}/data/orphan.parquet", b"x")
    fs.pipe(f"{root}-sibling/data/x.parquet", b"a sibling table's file")  # shares the prefix
    result = t.vacuum(ZERO, force=True, dry_run=False)
    assert "data/orphan.parquet" in result.files and len(result.files) == 3
    assert fs.exists(f"{root}-sibling/data/x.parquet")
    assert _rows(lakehouse.open_table(uri)) == [{"id": 7, "v": "q"}]


# ------------------------------------------------------------------ property: random histories

_OPS = st.lists(st.sampled_from(["append", "delete", "update", "rewrite", "tag"]), min_size=2, max_size=9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OPS, st.integers(1, 4), st.data())
def test_expire_and_vacuum_keep_every_retained_version_and_tag(ops, retain_last, data):
    uri = f"memory://tests/{uuid.uuid4().hex}/t"
    t = _table(uri, **{"checkpoint.interval": str(data.draw(st.sampled_from([2, 3, 100])))})
    t.append(pa.table({"id": list(range(6)), "v": ["a"] * 6}, schema=SCHEMA))
    for i, op in enumerate(ops):
        if op == "append":
            t.append(pa.table({"id": [10 + i, 20 + i], "v": ["n", "m"]}, schema=SCHEMA))
        elif op == "delete":
            t.delete(f"id IN ({i % 6}, {9 + i})")
        elif op == "update":
            t.update(set={"v": f"'u{i}'"}, where=f"id >= {i}")
        elif op == "rewrite":  # a compaction-like rewrite: the same rows in new files
            t.overwrite(t.to_arrow())
        else:
            t.tag(f"tag{i}", version=data.draw(st.integers(0, t.version)))
    before = {v: _rows(t, version=v) for v in range(t.version + 1)}
    tags = dict(t.tags())
    t.checkpoint()
    start = t.expire_snapshots(older_than=ZERO, retain_last=retain_last).oldest_version
    assert start == t.version - retain_last + 1
    t.vacuum(ZERO, force=True, dry_run=False)
    fresh = lakehouse.open_table(uri)
    for v in range(t.version + 1):
        if v >= start:
            assert _rows(fresh, version=v) == before[v]
        elif v not in tags.values():
            with pytest.raises(VersionNotFoundError):
                fresh.at(version=v)
    for name, v in tags.items():
        assert _rows(fresh, ref=name) == before[v]
    if t.version > start:
        fresh.changes(start + 1)  # the change feed after the log's start reads (its files are kept)
