"""restore (spec/format.md, "Operations"): a new commit whose live files, current schema and
default partition spec are those of an earlier version."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse import CommitConflictError, InvalidArgumentError, VersionNotFoundError
from lakehouse.format.actions import AddFile
from lakehouse.format.log import read_entry
from lakehouse.format.replay import load_state
from lakehouse.ops.restore import plan_restore


def _uri() -> str:
    return f"memory://restore/{uuid.uuid4().hex}"


def _sorted(table: pa.Table) -> list:
    return sorted(table.to_pylist(), key=repr)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["append", "overwrite", "restore"]), st.integers(0, 40)),
                min_size=1, max_size=8), st.integers(1, 4))
def test_restore_equals_the_version(steps, interval):
    t = lakehouse.create_table(_uri(), schema={"id": "int64"}, properties={"checkpoint.interval": interval})
    for op, n in steps:
        if op == "append":
            t.append({"id": [n, n + 1]})
        elif op == "overwrite":
            t.overwrite({"id": [n]})
        else:
            target = n % (t.version + 1)
            before = t.version
            summary = t.restore(target)
            assert _sorted(t.to_arrow()) == _sorted(t.at(version=target).to_arrow())
            live = set(t.state.file_index()["path"].to_pylist())
            assert live == set(t.at(version=target).state.file_index()["path"].to_pylist())
            if summary.version == before:  # nothing to change: nothing committed
                assert _sorted(t.at(version=before).to_arrow()) == _sorted(t.to_arrow())
    # What was committed reads back the same from the log (and from checkpoints).
    assert _sorted(lakehouse.open_table(t.uri).to_arrow()) == _sorted(t.to_arrow())


def test_restoring_the_current_version_commits_nothing():
    t = lakehouse.create_table(_uri(), schema={"id": "int64"})
    t.append({"id": [1]})
    assert t.restore(1).version == 1 and t.version == 1
    assert t.restore(as_of=t.history()[0].timestamp).version == 1


def test_restore_brings_back_schema_and_partitioning_keeping_ids():
    t = lakehouse.create_table(_uri(), schema={"id": "int64", "s": "string"})
    t.append({"id": [1], "s": ["a"]})
    with t.update_schema() as u:
        u.drop_column("s").add_column("n", pa.int32())
    t.update_partitioning(["bucket(2, id)"])
    t.append({"id": [2], "n": [3]})
    t.restore(1)
    assert t.schema.names == ["id", "s"] and t.partition_spec.is_unpartitioned
    assert t.to_arrow().to_pylist() == [{"id": 1, "s": "a"}]
    assert t.metadata.last_column_id == 3 and len(t.metadata.schemas) == 2
    with t.update_schema() as u:
        u.add_column("m", pa.int32())
    assert [f.id for f in t.schema.fields] == [1, 2, 4]  # never a reused id
    assert t.history()[1].operation == "restore" and t.history()[1].parameters == {"version": 1}


def test_restore_arguments():
    t = lakehouse.create_table(_uri(), schema={"id": "int64"})
    with pytest.raises(InvalidArgumentError):
        t.restore()
    with pytest.raises(VersionNotFoundError):
        t.restore(7)
    with pytest.raises(VersionNotFoundError):
        t.restore(-1)
    with pytest.raises(InvalidArgumentError):
        t.restore("1")


def test_restore_conflicts_with_a_concurrent_append():
    t = lakehouse.create_table(_uri(), schema={"id": "int64"})
    t.append({"id": [1]})
    t.append({"id": [2]})
    stale = lakehouse.open_table(t.uri)
    t.append({"id": [3]})
    with pytest.raises(CommitConflictError):
        stale.restore(1)
    assert sorted(t.refresh().to_arrow()["id"].to_pylist()) == [1, 2, 3]


def test_rebuilt_adds_match_the_log():
    """A file live at a checkpointed version is added again with the add the log had: partition
    values and statistics of every kind survive the round trip through the checkpoint's columns."""
    schema = pa.schema([("ts", pa.timestamp("ns", "UTC")), ("d", pa.date32()), ("dec", pa.decimal128(9, 2)),
                        ("b", pa.binary()), ("f", pa.float64()), ("s", pa.string()), ("t", pa.time64("us"))])
    t = lakehouse.create_table(_uri(), schema=schema, partition_by=["day(ts)", "d", "truncate(2, s)"],
                               properties={"checkpoint.interval": 1})
    data = pa.table({
        "ts": pa.array([1_700_000_000_123_456_789, None], pa.timestamp("ns", "UTC")),
        "d": [dt.date(2024, 2, 29), None], "dec": [decimal.Decimal("1.25"), None], "b": [b"\x00\xff", None],
        "f": [float("nan"), 1.5], "s": ["hello", None], "t": [dt.time(1, 2, 3, 4), None]}, schema=schema)
    t.append(data)
    original = {a.path: a for a in read_entry(t._store, 1).actions if isinstance(a, AddFile)}
    t.overwrite(data.slice(0, 0))
    target = load_state(t._store, 1)
    assert target.files.base is not None and not target.files.added  # from the checkpoint
    plan = plan_restore(t.state, target)
    rebuilt = {a.path: a for a in plan.actions if isinstance(a, AddFile)}
    assert set(rebuilt) == set(original)
    for path, add in rebuilt.items():
        assert add.to_json() == original[path].to_json()
    t.restore(1)
    assert sorted(map(repr, t.to_arrow().to_pylist())) == sorted(map(repr, t.at(version=1).to_arrow().to_pylist()))
