"""The live file set (spec/format.md, "add"): a path is live at most once, so a log entry that
adds a path already live is CorruptTableError rather than rows read twice, while removing a file
and adding its path again (in the same entry or a later one) is legal."""

import json
import os

import pyarrow as pa
import pytest

import lakehouse
from lakehouse.format.actions import AddFile, RemoveFile
from lakehouse.format.checkpoint import checkpoint_path
from lakehouse.errors import CorruptTableError
from lakehouse.format.log import log_path
from lakehouse.format.state import FileSet


def _table(uri, n, interval=100):
    t = lakehouse.create_table(uri, schema=pa.schema([("i", pa.int64())]),
                               properties={"checkpoint.interval": str(interval)})
    for i in range(n):
        t.append(pa.table({"i": [i]}))
    return t


def _entry(uri, version):
    with open(os.path.join(uri, log_path(version))) as f:
        return json.load(f)


def _write_entry(uri, version, actions):
    prev = _entry(uri, version - 1)
    entry = {"version": version, "actions": actions,
             "commit_info": {"timestamp": prev["commit_info"]["timestamp"] + 1, "operation": "append"}}
    with open(os.path.join(uri, log_path(version)), "w") as f:
        json.dump(entry, f)


def _add_of(uri, version):
    return next(a for a in _entry(uri, version)["actions"] if "add" in a)


def _remove(add):
    return {"remove": {"path": add["add"]["path"], "deletion_timestamp": 1, "data_change": True}}


@pytest.mark.parametrize("interval", [2, 100])  # live through the checkpoint's base / through the log
def test_re_adding_a_live_path_is_corrupt(local_uri, interval):
    _table(local_uri, 2, interval)
    if interval == 2:
        assert os.path.exists(os.path.join(local_uri, checkpoint_path(2)))
    _write_entry(local_uri, 3, [_add_of(local_uri, 1)])
    with pytest.raises(CorruptTableError, match=r"log entry 3: .*already live"):
        lakehouse.open_table(local_uri).scan().to_arrow()


def test_adding_one_path_twice_in_an_entry_is_corrupt(local_uri):
    _table(local_uri, 1)
    add = _add_of(local_uri, 1)
    _write_entry(local_uri, 2, [_remove(add), add, add])
    with pytest.raises(CorruptTableError, match="log entry 2"):
        lakehouse.open_table(local_uri)


@pytest.mark.parametrize("interval", [2, 100])
def test_remove_then_re_add_is_legal_and_reads_each_row_once(local_uri, interval):
    _table(local_uri, 2, interval)
    add = _add_of(local_uri, 1)
    _write_entry(local_uri, 3, [_remove(add), add])  # same entry: the add replaces the file's entry
    _write_entry(local_uri, 4, [_remove(add)])
    _write_entry(local_uri, 5, [add])  # a later entry
    t = lakehouse.open_table(local_uri)
    assert sorted(t.scan().to_arrow()["i"].to_pylist()) == [0, 1]
    assert t.state.files.count() == 2 == t.scan().count()
    assert t.scan(version=4).count() == 1


def test_removing_a_path_that_is_not_live_keeps_the_count_right(local_uri):
    _table(local_uri, 2, interval=2)
    _write_entry(local_uri, 3, [_remove({"add": {"path": "data/never-added.parquet"}})])
    t = lakehouse.open_table(local_uri)
    assert t.state.files.count() == 2 == len(t.state.file_index())


def _add(path):
    return AddFile(path=path, size=1, record_count=1, spec_id=0, schema_id=0, partition={}, stats={},
                   modification_time=1)


def test_the_base_path_set_is_built_once_for_every_later_commit():
    calls = []

    class Base:  # stands in for the checkpoint's Arrow table, counting full reads of its paths
        num_rows = 3

        def __getitem__(self, name):
            calls.append(name)
            return pa.chunked_array([["a", "b", "c"]])

    files = FileSet(base=Base())
    for i in range(50):
        files = files.apply([_add(f"new{i}")], [RemoveFile(path=f"new{i - 1}", deletion_timestamp=1)] if i else [])
    files = files.apply([], [RemoveFile(path="a", deletion_timestamp=1)])
    with pytest.raises(CorruptTableError):
        files.apply([_add("b")], [])
    assert calls == ["path"]
    assert files.count() == 3  # b, c and new49
