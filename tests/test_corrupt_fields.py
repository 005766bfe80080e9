"""A log entry's fields are untrusted input: any field of any action changed into any JSON value
(out-of-range, negative, float, null, string, list, object) or removed must give a table that
reads, or a CorruptTableError naming the entry and field, never a raw Python or Arrow error."""

import functools
import itertools
import posixpath
import json
import os

import fsspec
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import lakehouse
from lakehouse.format.actions import AddFile, CommitInfo, Protocol, RemoveFile, action_from_json
from lakehouse.cli import main as lh
from lakehouse.errors import CorruptTableError, InvalidExpressionError, StorageError, UnsupportedFeatureError
from lakehouse.format.log import LOG_DIR

_counter = itertools.count()


@functools.cache
def template() -> dict[str, bytes]:
    """Every file of a small partitioned table with adds, removes and statistics, by relative path."""
    uri = "memory://corrupt-fields-template"
    t = lakehouse.create_table(uri, schema=pa.schema([("id", pa.int64()), ("s", pa.string()), ("x", pa.float64()),
                                                      ("ts", pa.timestamp("us"))]), partition_by=["s"])
    rows = {"id": [1, 2, 3], "s": ["a", "b", None], "x": [0.5, float("nan"), None], "ts": [0, 10**12, None]}
    t.append(pa.table(rows, schema=t.arrow_schema))
    t.overwrite(pa.table({k: v[:1] for k, v in rows.items()}, schema=t.arrow_schema), where="s = 'a'")
    fs = fsspec.filesystem("memory")
    root = fs._strip_protocol(uri)
    out = {posixpath.relpath(p, root): fs.cat_file(p) for p in fs.find(root)}
    fs.rm(root, recursive=True)
    return out


def _locations(obj, prefix=()):
    """Every (path of keys/indexes) inside a JSON value, the value itself first."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _locations(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _locations(v, (*prefix, i))


_SCALARS = (st.none() | st.booleans() | st.integers(-(2**63) - 10, 2**64 - 1)
            | st.sampled_from([2**63, 2**63 - 1, -(2**63), -(2**63) - 1, -1, 0, 2**31, 2**32, 10**18 * 9])
            | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0.5, -1.0, 1e300, 3.0])
            | st.text(max_size=8))
JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)
_DELETE = object()


def _mutate(entry: dict, location: tuple, value) -> dict:
    entry = json.loads(json.dumps(entry))
    if not location:
        return value if value is not _DELETE else {}
    parent = entry
    for key in location[:-1]:
        parent = parent[key]
    if value is _DELETE:
        del parent[location[-1]]
    else:
        parent[location[-1]] = value
    return entry


def _check_reads_or_corrupt(uri: str, expected: tuple) -> None:
    try:
        t = lakehouse.open_table(uri)
        t.scan().to_arrow().to_pylist()
        for where in ("id > 1 AND s = 'a'", "ts < '2001-01-01' OR x IS NULL"):
            try:
                t.scan(where=where).count()
            except InvalidExpressionError:
                pass  # the mutation renamed or dropped a column
        t.history()
        t.scan().files()
        for v in range(t.version + 1):
            t.scan(version=v).count()
    except expected:
        pass


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_field_changed_to_any_json_value_reads_or_is_corrupt(data):
    template = globals()["template"]()
    logs = sorted(p for p in template if p.startswith(LOG_DIR + "/"))
    victim = data.draw(st.sampled_from(logs))
    entry = json.loads(template[victim])
    location = data.draw(st.sampled_from(list(_locations(entry))))
    value = data.draw(st.just(_DELETE) | JSON)
    uri = f"memory://corrupt-fields-{next(_counter)}"
    fs = fsspec.filesystem("memory")
    for rel, blob in template.items():
        fs.pipe_file(f"{uri}/{rel}", blob)
    fs.pipe_file(f"{uri}/{victim}", json.dumps(_mutate(entry, location, value)).encode())
    expected = (CorruptTableError, UnsupportedFeatureError)
    if location[-1:] in (("path",), ("size",)):  # a valid path or size, but not the file's
        expected += (StorageError,)
    try:
        _check_reads_or_corrupt(uri, expected)
        assert lh(["info", uri]) in (0, 1)  # 1: a one-line error, never a traceback
    finally:
        fs.rm(uri, recursive=True)


# ------------------------------------------------------------------ the named cases

_ADD = {"path": "data/x.parquet", "size": 10, "record_count": 1, "spec_id": 0, "schema_id": 0,
        "partition": {}, "stats": {}, "modification_time": 1, "data_change": True}


@pytest.mark.parametrize("field, value", [
    ("size", 2**63), ("size", -1), ("size", 1.5), ("size", "10"), ("size", None), ("size", True),
    ("record_count", -1), ("record_count", 2**64 - 1), ("modification_time", 2**63),
    ("modification_time", "yesterday"), ("spec_id", 2**31), ("schema_id", -1), ("path", None),
    ("path", 7), ("partition", [1]), ("partition", {"1000": [1]}), ("stats", "x"), ("stats", {"1": 5}),
    ("stats", {"1": {"null_count": -1}}), ("stats", {"1": {"min": {"a": 1}}}), ("data_change", "false"),
    ("path", _DELETE), ("size", _DELETE),
])
def test_bad_add_fields_name_the_field(field, value):
    body = {k: v for k, v in _ADD.items() if not (k == field and value is _DELETE)}
    if value is not _DELETE:
        body[field] = value
    with pytest.raises(CorruptTableError, match=f"add action.*'{field}'"):
        action_from_json({"add": body})


@pytest.mark.parametrize("cls, body, field", [
    (RemoveFile, {"path": "a", "deletion_timestamp": 2**63}, "deletion_timestamp"),
    (RemoveFile, {"path": "a", "deletion_timestamp": 1, "record_count": -5}, "record_count"),
    (RemoveFile, {"path": "a", "deletion_timestamp": 1, "size": "big"}, "size"),
    (Protocol, {"reader_version": 2**70, "writer_version": 1}, "reader_version"),
    (Protocol, {"reader_version": 1, "writer_version": 1, "reader_features": "abc"}, "reader_features"),
    (CommitInfo, {"timestamp": 1.5, "operation": "append"}, "timestamp"),
    (CommitInfo, {"timestamp": 1, "operation": None}, "operation"),
    (CommitInfo, {"timestamp": 1, "operation": "x", "read_version": -1}, "read_version"),
    (CommitInfo, {"timestamp": 1, "operation": "x", "parameters": []}, "parameters"),
])
def test_bad_fields_of_other_actions_name_the_field(cls, body, field):
    with pytest.raises(CorruptTableError, match=f"'{field}'"):
        cls.from_json(body)


@pytest.mark.parametrize("path, value", [
    (("fields", 0, "type", "tz"), "Mars/Olympus"), (("fields", 0, "type", "tz"), 5),
    (("fields", 0, "type", "unit"), "fortnight"), (("fields", 0, "name"), None), (("fields", 0, "id"), -1),
    (("fields", 1, "id"), 1), (("fields", 0, "type"), "int128"),
])
def test_bad_schemas_are_corrupt(path, value):
    schema = {"schema_id": 0, "fields": [{"id": 1, "name": "ts", "type": {"type": "timestamp", "unit": "us",
                                                                           "tz": "UTC"}, "required": False},
                                         {"id": 2, "name": "s", "type": "string", "required": False}]}
    meta = {"table_id": "t", "created_at": 1, "schemas": [_mutate(schema, path, value)], "current_schema_id": 0,
            "last_column_id": 2, "partition_specs": [{"spec_id": 0, "fields": []}], "default_spec_id": 0,
            "last_partition_id": 999, "properties": {}}
    with pytest.raises(CorruptTableError):
        action_from_json({"metadata": meta})


def test_valid_values_still_decode():
    add = AddFile.from_json({**_ADD, "size": 2**63 - 1, "record_count": 0, "modification_time": 0,
                             "partition": None, "stats": None})
    assert (add.size, add.partition, add.stats) == (2**63 - 1, {}, {})
    assert AddFile.from_json({**_ADD, "size": 10.0}).size == 10  # a float without fraction is an int
    assert RemoveFile.from_json({"path": "a", "deletion_timestamp": 1}).size is None


def test_lh_info_prints_a_clean_error_for_a_corrupt_field(local_uri, capsys):
    t = lakehouse.create_table(local_uri, schema=pa.schema([("id", pa.int64())]))
    t.append(pa.table({"id": [1]}))
    path = os.path.join(local_uri, LOG_DIR, "00000000000000000001.json")
    with open(path) as f:
        entry = json.load(f)
    next(a for a in entry["actions"] if "add" in a)["add"]["record_count"] = 2**64 - 1
    with open(path, "w") as f:
        json.dump(entry, f)
    code = lh(["info", local_uri])
    err = capsys.readouterr().err
    assert code != 0
    assert "log entry 1" in err and "record_count" in err and "Traceback" not in err
