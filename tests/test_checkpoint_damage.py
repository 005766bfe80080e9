"""Checkpoints are an optimisation: writing one can never fail a committed write, and reading
a damaged one falls back to an older checkpoint or to the log (spec/format.md, "Checkpoints")."""

from __future__ import annotations

import pyarrow as pa
import pytest

import lakehouse
import lakehouse.format.checkpoint as checkpoint_mod
from lakehouse.io import Store
from lakehouse.format.state import TableState


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


# ---------------------------------------------------------------- reading a damaged checkpoint

import functools  # noqa: E402
import uuid  # noqa: E402

import orjson  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from lakehouse.format.checkpoint import STATE_DIGEST_KEY, STATE_KEY, checkpoint_path  # noqa: E402
from lakehouse.format.log import LAST_CHECKPOINT, log_path  # noqa: E402

COMMITS = 12  # checkpoints at 5 and 10, the hint names 10
NEWEST = checkpoint_path(10)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@functools.lru_cache(maxsize=1)
def _template() -> dict[str, bytes]:
    uri = f"memory://damage/{uuid.uuid4().hex}"
    t = lakehouse.create_table(uri, schema=pa.schema([("i", pa.int64()), ("s", pa.string())]),
                               partition_by=["bucket(2, i)"], properties={"checkpoint.interval": "5"})
    for i in range(COMMITS):
        t.append(pa.table({"i": [i], "s": [f"row {i}"]}))
    store = Store.from_uri(uri)
    return {p[len(store.root) + 1:]: store.fs.cat_file(p) for p in store.fs.find(store.root)}


def _copy(files: dict[str, bytes] | None = None) -> tuple[str, Store]:
    uri = f"memory://damage/{uuid.uuid4().hex}"
    store = Store.from_uri(uri)
    for rel, data in (files or _template()).items():
        store.write_bytes(rel, data)
    return uri, store


def _assert_reads_right(uri: str) -> None:
    t = lakehouse.open_table(uri)
    assert t.version == COMMITS
    assert sorted(t.to_arrow()["i"].to_pylist()) == list(range(COMMITS))
    assert t.scan(where="i >= 9").count() == 3 and t.scan(where="s = 'row 4'").count() == 1
    assert t.scan(version=7).count() == 7 and [h.version for h in t.history(limit=3)] == [12, 11, 10]


def _rewrite(data: bytes, change) -> bytes:
    """The checkpoint file with its Arrow table changed by `change` (the state blob kept)."""
    table = pq.read_table(pa.BufferReader(data))
    sink = pa.BufferOutputStream()
    pq.write_table(change(table), sink)
    return sink.getvalue().to_pybytes()


@given(st.lists(st.tuples(st.integers(0, 2**31), st.integers(1, 255)), min_size=1, max_size=3))
@SETTINGS
def test_flipped_bytes_in_a_checkpoint_are_detected_or_harmless(flips):
    uri, store = _copy()
    data = bytearray(store.read_bytes(NEWEST))
    for position, mask in flips:
        data[position % len(data)] ^= mask
    store.write_bytes(NEWEST, bytes(data))
    _assert_reads_right(uri)


@given(st.integers(0, 10_000))
@SETTINGS
def test_a_truncated_checkpoint_is_ignored(keep):
    uri, store = _copy()
    data = store.read_bytes(NEWEST)
    store.write_bytes(NEWEST, data[: keep % len(data)])
    _assert_reads_right(uri)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _mutate(obj, path, value):
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        out = dict(obj)
        if value is _DELETE and not rest:
            out.pop(head)
        else:
            out[head] = _mutate(obj[head], rest, value)
        return out
    out = list(obj)
    if value is _DELETE and not rest:
        out.pop(head)
    else:
        out[head] = _mutate(obj[head], rest, value)
    return out


_DELETE = object()
JUNK = st.sampled_from([_DELETE, None, "x", [], {}, 1.5, True, -1, 10**18, [1], {"a": 1}])


@given(st.data(), st.booleans())
@SETTINGS
def test_a_mutated_state_is_ignored_or_harmless(data, recompute_digest):
    """With the old digest every change is caught; with a recomputed one (a buggy or foreign
    writer) every change of a value's kind is: the state is validated, never trusted to be
    well-formed. (A well-formed but different value under a matching digest cannot be told apart.)"""
    uri, store = _copy()
    raw = store.read_bytes(NEWEST)
    kv = pq.read_schema(pa.BufferReader(raw)).metadata
    state = orjson.loads(kv[STATE_KEY])
    paths = [p for p in _paths(state) if p and p[0] != "protocol"]  # a newer protocol is refused, not ignored
    path = data.draw(st.sampled_from(paths))
    original = functools.reduce(lambda o, k: o[k], path, state)
    junk = data.draw(JUNK.filter(lambda j: not recompute_digest or type(j) is not type(original)))
    blob = orjson.dumps(_mutate(state, path, junk))
    digest = __import__("hashlib").sha256(blob).hexdigest() if recompute_digest else kv[STATE_DIGEST_KEY]
    store.write_bytes(NEWEST, _rewrite(raw, lambda t: t.replace_schema_metadata(
        {STATE_KEY: blob, STATE_DIGEST_KEY: digest})))
    _assert_reads_right(uri)


@given(st.data())
@SETTINGS
def test_dropped_or_retyped_columns_are_ignored(data):
    uri, store = _copy()
    raw = store.read_bytes(NEWEST)
    names = pq.read_schema(pa.BufferReader(raw)).names
    name = data.draw(st.sampled_from(names))
    kind = data.draw(st.sampled_from(["drop", "int32", "string", "nulls", "duplicate"]))

    def change(t: pa.Table) -> pa.Table:
        i = t.column_names.index(name)
        if kind == "drop":
            return t.remove_column(i)
        if kind == "nulls":
            return t.set_column(i, name, pa.nulls(t.num_rows, t.schema.field(i).type))
        if kind == "duplicate":
            return pa.concat_tables([t, t.slice(0, 1)])
        target = pa.int32() if kind == "int32" else pa.string()
        try:
            column = t[name].cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            column = pa.array([None] * t.num_rows, target)
        return t.set_column(i, name, column)
    store.write_bytes(NEWEST, _rewrite(raw, change))
    _assert_reads_right(uri)


@pytest.mark.parametrize("hint", [b"garbage", b'{"version": 99}', b'{"version": -1}', b'{"version": "10"}',
                                  b'{"version": 10.0}', b"[]", b'{"version": 3}', b"", b'{"version": 1e300}'])
def test_a_damaged_or_wrong_hint_is_ignored(hint):
    uri, store = _copy()
    store.write_bytes(LAST_CHECKPOINT, hint)
    _assert_reads_right(uri)
    store.write_bytes(NEWEST, b"torn")
    _assert_reads_right(uri)


def test_a_damaged_checkpoint_falls_back_to_an_older_one_when_the_log_start_is_gone():
    uri, store = _copy()
    store.write_bytes(NEWEST, b"torn")
    for v in range(5):
        store.delete(log_path(v))
    _assert_reads_right(uri)
    assert lakehouse.open_table(uri, version=5).scan().count() == 5
    with pytest.raises(lakehouse.VersionNotFoundError, match="version 3"):
        lakehouse.open_table(uri, version=3)


def test_no_usable_checkpoint_and_no_log_start_is_a_clear_error():
    uri, store = _copy()
    store.write_bytes(NEWEST, b"torn")
    store.write_bytes(checkpoint_path(5), b"torn")
    for v in range(7):
        store.delete(log_path(v))
    with pytest.raises(lakehouse.CorruptTableError, match="log entry 0 was removed and no checkpoint is usable"):
        lakehouse.open_table(uri)
