"""Durable by default on local disk (spec/format.md, "Durability"): before a commit returns,
its data files, their folders, the log entry and the log folder have been fsynced, data
before the entry; storage option fsync=False opts out."""

from __future__ import annotations

import os
import sys

import pyarrow as pa
import pytest

import lakehouse
from lakehouse.io import Store

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="names fds through /proc/self/fd")


@pytest.fixture
def io_events(monkeypatch):
    """('fsync', path) and ('link', target) in the order they happen."""
    events: list[tuple[str, str]] = []
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def link(src, dst, *args, **kwargs):
        result = real_link(src, dst, *args, **kwargs)
        events.append(("link", os.fspath(dst)))
        return result
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    return events


def test_stores_are_durable_by_default_on_local_disk_only(local_uri):
    assert Store.from_uri(local_uri).durable
    assert not Store.from_uri(local_uri, {"fsync": False}).durable
    assert not Store.from_uri(local_uri, {"fsync": "off"}).durable
    assert not Store.from_uri("memory://durable/x").durable


def test_a_commit_syncs_data_then_entry_then_folders(local_uri, io_events):
    t = lakehouse.create_table(local_uri, schema=pa.schema([("k", pa.string()), ("v", pa.int64())]),
                               partition_by=["k"])
    root = os.path.realpath(local_uri)
    assert ("fsync", os.path.dirname(root)) in io_events  # the new table folder itself survives
    assert {("fsync", f"{root}/_lakehouse"), ("fsync", f"{root}/_lakehouse/log")} <= set(io_events)
    io_events.clear()
    t.append(pa.table({"k": ["a", "b", "a"], "v": [1, 2, 3]}))
    entry = f"{root}/_lakehouse/log/00000000000000000001.json"
    link = io_events.index(("link", entry))
    before, after = [p for kind, p in io_events[:link]], [p for kind, p in io_events[link + 1:]]
    files = [f"{root}/{a['path']}" for a in _adds(t)]
    assert len(files) == 2 and set(files) <= set(before)  # every data file, before the entry exists
    folders = {os.path.dirname(f) for f in files} | {f"{root}/data", root}
    assert folders <= set(before)  # and the (new) partition folders holding them
    assert any(p.startswith(f"{root}/_lakehouse/log/.00000000000000000001.json.") for p in before)  # the entry
    assert after == [f"{root}/_lakehouse/log"]  # its name, before the commit returns
    assert len(before) == len(set(before))  # each once


def test_checkpoints_and_their_pointer_are_written_durably(local_uri, io_events):
    t = lakehouse.create_table(local_uri, schema=pa.schema([("v", pa.int64())]),
                               properties={"checkpoint.interval": "1"})
    io_events.clear()
    t.append(pa.table({"v": [1]}))
    root = os.path.realpath(local_uri)
    synced = [p for kind, p in io_events if kind == "fsync"]
    assert any(p.startswith(f"{root}/_lakehouse/checkpoints/.00000000000000000001") for p in synced)
    assert f"{root}/_lakehouse/checkpoints" in synced and f"{root}/_lakehouse" in synced


@pytest.mark.parametrize("option", [False, "false", "0", "no"])
def test_opting_out_syncs_nothing(local_uri, io_events, option):
    t = lakehouse.create_table(local_uri, schema=pa.schema([("v", pa.int64())]),
                               properties={"checkpoint.interval": "1"}, storage_options={"fsync": option})
    t.append(pa.table({"v": [1]}))
    assert [e for e in io_events if e[0] == "fsync"] == []
    assert lakehouse.open_table(local_uri).to_arrow()["v"].to_pylist() == [1]


def _adds(t):
    from lakehouse.format.log import read_entry
    entry = read_entry(Store.from_uri(t.uri), t.version)
    return [a.to_json() for a in entry.actions if type(a).__name__ == "AddFile"]


def test_folders_above_the_data_files_are_synced_once_per_store(local_uri, io_events):
    t = lakehouse.create_table(local_uri, schema=pa.schema([("v", pa.int64())]))
    root = os.path.realpath(local_uri)
    t.append(pa.table({"v": [1]}))
    io_events.clear()
    t.append(pa.table({"v": [2]}))
    synced = [p for kind, p in io_events if kind == "fsync"]
    assert f"{root}/data" in synced and root not in synced  # data/ gained a name; the root did not
