"""Tags (spec/format.md, "Tags"): named versions kept in the log, time-travel consistent,
conflicting only with concurrent changes of the same name."""

from __future__ import annotations

import threading
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse import CommitConflictError, CorruptTableError, InvalidArgumentError, VersionNotFoundError
from lakehouse.format.actions import action_from_json
from lakehouse.format.checkpoint import checkpoint_versions


def _table(**kw) -> lakehouse.Table:
    t = lakehouse.create_table(f"memory://tags/{uuid.uuid4().hex}", schema={"id": "int64"}, **kw)
    t.append({"id": [1]})
    t.append({"id": [2]})
    return t


def test_tag_scan_and_drop():
    t = _table()
    t.tag("one", version=1)
    t.tag("latest")  # this handle's version: 3, the entry that tagged "one"
    assert t.tags() == {"one": 1, "latest": 3}
    assert t.scan(ref="one").to_arrow()["id"].to_pylist() == [1]
    assert lakehouse.open_table(t.uri, ref="latest").version == 3
    assert "tags" in t.state.protocol.writer_features
    t.drop_tag("one")
    assert t.tags() == {"latest": 3} and t.at(version=3).tags() == {"one": 1}  # time travel shows them then
    with pytest.raises(VersionNotFoundError, match="no tag 'one'"):
        t.scan(ref="one")
    with pytest.raises(VersionNotFoundError):
        t.drop_tag("one")
    with pytest.raises(VersionNotFoundError):
        lakehouse.open_table(t.uri, ref="nope")
    assert [e.operation for e in t.history(limit=3)] == ["drop_tag", "tag", "tag"]
    assert t.scan(ref="latest").count() == 2  # tag entries change no data


def test_existing_name_needs_replace_and_versions_must_exist():
    t = _table()
    t.tag("x", 1)
    with pytest.raises(InvalidArgumentError, match="replace=True"):
        t.tag("x", 2)
    t.tag("x", 2, replace=True)
    assert t.tags() == {"x": 2}
    with pytest.raises(VersionNotFoundError):
        t.tag("y", 99)
    with pytest.raises(VersionNotFoundError):
        t.tag("y", -1)
    with pytest.raises(InvalidArgumentError):
        t.tag("y", "1")
    with pytest.raises(InvalidArgumentError):
        t.scan(ref="x", version=1)
    with pytest.raises(InvalidArgumentError):
        lakehouse.open_table(t.uri, ref="x", version=1)
    # A version another writer committed after this handle's exists too.
    lakehouse.open_table(t.uri).append({"id": [3]})
    t.tag("newer", t.version + 1)
    assert t.scan(ref="newer").count() == 3


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=255).filter(lambda s: not any(c < " " or "\x7f" <= c <= "\x9f" for c in s)))
def test_valid_names_round_trip(name):
    t = _table()
    t.tag(name, 1)
    assert lakehouse.open_table(t.uri).tags() == {name: 1}
    assert lakehouse.open_table(t.uri, ref=name).version == 1


@pytest.mark.parametrize("name", ["", "a\nb", "tab\t", "\x85", "x" * 256, None, 5])
def test_bad_names_are_refused(name):
    t = _table()
    with pytest.raises(InvalidArgumentError):
        t.tag(name)
    with pytest.raises(CorruptTableError):
        action_from_json({"tag": {"name": name, "version": 1}})


@pytest.mark.parametrize("body", [{"name": "a"}, {"name": "a", "version": "1"}, {"name": "a", "version": -1},
                                  {"name": "a", "version": True}, {"version": 1}])
def test_hostile_tag_actions_are_corrupt(body):
    with pytest.raises(CorruptTableError):
        action_from_json({"tag": body})


def test_tags_survive_checkpoints():
    t = _table(properties={"checkpoint.interval": 2})
    t.tag("a", 1)  # version 3
    t.tag("b", 2)  # version 4: checkpointed
    assert 4 in checkpoint_versions(t._store)
    fresh = lakehouse.open_table(t.uri)
    assert fresh.state.files.base is not None and fresh.tags() == {"a": 1, "b": 2}
    fresh.drop_tag("a")  # version 5
    t.tag("c", 0)
    assert lakehouse.open_table(t.uri).tags() == {"b": 2, "c": 0}


def test_concurrent_tags_conflict_only_on_the_same_name():
    t = _table()
    t.tag("base")  # the protocol now has the feature: later tag commits only add tags
    a, b = lakehouse.open_table(t.uri), lakehouse.open_table(t.uri)
    a.tag("x", 1)
    b.tag("y", 2)  # a different name: rebased
    b.append({"id": [9]})
    c = lakehouse.open_table(t.uri)
    a.append({"id": [7]})
    c.tag("z", 1)  # rebases over an append
    assert c.refresh().tags() == {"base": 2, "x": 1, "y": 2, "z": 1}  # "base": the handle was at 2
    d, e = lakehouse.open_table(t.uri), lakehouse.open_table(t.uri)
    d.tag("same", 1)
    with pytest.raises(CommitConflictError, match="tag 'same'"):
        e.tag("same", 2)
    f, g = lakehouse.open_table(t.uri), lakehouse.open_table(t.uri)
    f.drop_tag("x")
    with pytest.raises(CommitConflictError):
        g.tag("x", 2, replace=True)


def test_threads_tag_distinct_names():
    t = _table()
    t.tag("base")
    errors = []

    def work(i: int) -> None:
        try:
            lakehouse.open_table(t.uri).tag(f"t{i}", 1)
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and set(t.refresh().tags()) == {"base", *(f"t{i}" for i in range(6))}


def test_first_tag_does_not_fail_a_concurrent_append():
    t = _table()
    other = lakehouse.open_table(t.uri)
    t.tag("first")  # raises the protocol
    assert other.append({"id": [3]}).version == 4
