"""Data file paths in metadata are untrusted input (spec/format.md, "Paths"): a path that could
leave the table's root is refused when its log entry or checkpoint is decoded and again where
it is turned into a location, and never opened."""

import io
import json
import os
import posixpath
import re
import shutil
import unicodedata

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import lakehouse
from lakehouse.read import data_files as read_module
from lakehouse.format.actions import action_from_json
from lakehouse.format.checkpoint import checkpoint_path
from lakehouse.errors import CorruptTableError
from lakehouse.io import Store
from lakehouse.format.log import log_path
from lakehouse.format.partitioning import PartitionField, PartitionSpec, partition_path
from lakehouse.format.transforms import IDENTITY
from lakehouse.format.paths import check_path_column, check_relative_path, path_problem
from lakehouse.format.schema import Schema

HOSTILE = [
    "../outside.parquet", "data/../../outside.parquet", "data/x/../../../y.parquet", "/etc/passwd",
    "s3://other-bucket/key.parquet", "file:///etc/passwd", "C:/Windows/win.ini", "c:x.parquet",
    "data//x.parquet", "./x.parquet", "data/./x.parquet", "data/", "", "data\\..\\..\\x",
    "..\\x", "%2e%2e/x.parquet", "data/%2E%2E/%2e%2e/x", ".%2e/x", "data/%2e/x", "a%2", "a%zz",
    "%41", "x%7e", "a\x00b", "a\nb", "a\x7fb", "a\x85b", "...", "data/.. /x", "．．/x", "ｃ：/x",
    "data/x?.parquet", "data/x#frag", "data/*", "data/[ab].parquet",
    "_lakehouse/log/00000000000000000000.json", "_LAKEHOUSE/x.parquet",
]
VALID = [
    "data/x.parquet", "data/a=b/c.parquet", "data/s=a%2Fb/x.parquet", "data/s=%5C/x.parquet",
    "data/s=%25/x.parquet", "data/s=%C3%A9/x.parquet", "data/s=__HIVE_DEFAULT_PARTITION__/x.parquet",
    "data/s=../x.parquet", "data/s=./x.parquet", "a..b", ".hidden", "é/ü.parquet", "_lakehouse2/x",
]


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_paths_are_refused(path):
    with pytest.raises(CorruptTableError):
        check_relative_path(path, "add")
    with pytest.raises(CorruptTableError):
        check_path_column(pa.array(["data/ok.parquet", path]), "checkpoint 3")
    if not path.lower().startswith("_lakehouse/"):  # the store's own files live there
        with pytest.raises(CorruptTableError):
            Store.from_uri("memory://t").full_path(path or "/")


@pytest.mark.parametrize("path", VALID)
def test_plain_paths_are_accepted(path):
    assert check_relative_path(path) == path
    check_path_column(pa.array([path]), "checkpoint 3")
    assert Store.from_uri("memory://t").full_path(path).endswith(path)


def test_non_string_and_null_paths_are_refused():
    for bad in (None, 7, ["a"], {"a": 1}):
        with pytest.raises(CorruptTableError, match="string"):
            check_relative_path(bad, "add")
    with pytest.raises(CorruptTableError, match="null"):
        check_path_column(pa.array(["a", None]), "checkpoint 3")


# ------------------------------------------------------------------ properties

_SEGMENTS = st.sampled_from(["data", "a=b", "x.parquet", "é", "%2F", "..", ".", "", " ", "%2e", "a:b", "\\"])
_ESCAPES = ["..", ".", "", "%2e%2e", "%2E", ".%2e", "\\..", "C:", "s3:", "..\x00", "．．"]


def _normalise_url(path: str) -> str:
    """What RFC 3986 section 6.2.2.2 lets a URL normaliser do: decode escaped unreserved characters."""
    def decode(m: re.Match) -> str:
        c = chr(int(m.group(1), 16))
        return c if c.isascii() and (c.isalnum() or c in "-._~") else m.group(0)
    return re.sub(r"%([0-9A-Fa-f]{2})", decode, path)


def _escapes_or_is_unclean(path: str) -> bool:
    """What the rule must exclude: any reading of `path` (as written, percent-decoded as a URL
    normaliser would, with `\\` as a separator, NFKC-folded) that is absolute, names another
    store, or has an empty, `.` or `..` segment."""
    for form in {path, _normalise_url(path), path.replace("\\", "/"), unicodedata.normalize("NFKC", path)}:
        segments = form.split("/")
        if form.startswith("/") or ":" in form or any(s.strip(". ") == "" for s in segments):
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(st.lists(_SEGMENTS, min_size=1, max_size=6), st.text(max_size=12))
def test_accepted_paths_never_escape(segments, noise):
    for path in ("/".join(segments), "/".join(segments) + noise, noise):
        ok = path_problem(path) is None
        if ok:
            assert not _escapes_or_is_unclean(path), path
            assert posixpath.normpath(path) == path  # nothing for a join to fold away
        # the vectorised check (RE2, for checkpoints) agrees with the scalar one
        try:
            check_path_column(pa.array([path]), "checkpoint")
            vector_ok = True
        except CorruptTableError:
            vector_ok = False
        assert vector_ok == ok, path


_ADD = {"size": 1, "record_count": 1, "modification_time": 1}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(r"[a-z0-9=._-]{1,8}", fullmatch=True), max_size=3),
       st.sampled_from(_ESCAPES), st.lists(st.from_regex(r"[a-z0-9=._-]{1,8}", fullmatch=True), max_size=3))
def test_a_dot_empty_or_foreign_segment_anywhere_is_refused(before, bad, after):
    path = "/".join([*before, bad, *after])
    assert path_problem(path) is not None, path
    for action in ({"add": {**_ADD, "path": path}}, {"remove": {"path": path, "deletion_timestamp": 1}}):
        with pytest.raises(CorruptTableError, match="path"):  # on decode
            action_from_json(action)
    with pytest.raises(CorruptTableError):  # and at location time
        Store.from_uri("memory://t").full_path(path or "..")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40), st.text(max_size=10))
def test_every_partition_folder_the_writer_makes_is_accepted(value, name):
    schema = Schema.from_arrow(pa.schema([("s", pa.string())]))
    spec = PartitionSpec(spec_id=0, fields=(PartitionField(source_id=schema.fields[0].id, field_id=1000,
                                                           name=name, transform=IDENTITY),))
    folder = partition_path(spec, schema, {1000: value})
    check_relative_path(f"data/{folder}/0123456789abcdef0123456789abcdef.parquet")


def test_a_table_partitioned_by_awkward_values_reads_back(local_uri):
    values = ["../x", "/", "a/../b", "%2e%2e", "C:\\x", "s3://b/k", "..", ".", "", "é", "a\x00b", "_lakehouse"]
    t = lakehouse.create_table(local_uri, schema=pa.schema([("s", pa.string()), ("i", pa.int64())]),
                               partition_by=["s"])
    t.append(pa.table({"s": values, "i": list(range(len(values)))}))
    got = lakehouse.open_table(local_uri).scan().to_arrow().sort_by("i")
    assert got["s"].to_pylist() == values
    for root, _, files in os.walk(local_uri):  # and nothing was written outside the table
        assert os.path.realpath(root).startswith(os.path.realpath(local_uri))


# ------------------------------------------------------------------ end to end on local disk

def _table_with_hostile_add(uri: str, path: str, key: str = "add") -> None:
    t = lakehouse.create_table(uri, schema=pa.schema([("i", pa.int64())]))
    t.append(pa.table({"i": [1]}))
    with open(os.path.join(uri, log_path(1))) as f:
        entry = json.load(f)
    add = next(a["add"] for a in entry["actions"] if "add" in a)
    if key == "add":
        action = {"add": {**add, "path": path}}
    else:
        action = {"remove": {"path": path, "deletion_timestamp": 1, "data_change": True}}
    entry = {"version": 2, "commit_info": {**entry["commit_info"], "timestamp": entry["commit_info"]["timestamp"] + 1},
             "actions": [action]}
    with open(os.path.join(uri, log_path(2)), "w") as f:
        json.dump(entry, f)


def _outside_file(tmp_path) -> str:
    outside = tmp_path / "outside.parquet"
    pq.write_table(pa.table({"i": [666]}), outside)
    return str(outside)


@pytest.mark.parametrize("key", ["add", "remove"])
def test_scan_of_a_log_naming_a_file_outside_the_root_never_opens_it(tmp_path, monkeypatch, key):
    outside = _outside_file(tmp_path)
    touched = []
    real_read = Store.read_bytes
    monkeypatch.setattr(Store, "read_bytes", lambda self, rel: touched.append(rel) or real_read(self, rel))
    monkeypatch.setattr(read_module, "_dataset", lambda *a, **k: touched.append(a) or pytest.fail("opened"))
    for name, path in [("rel", "../outside.parquet"), ("abs", outside), ("uri", "file://" + outside)]:
        uri = str(tmp_path / name)
        _table_with_hostile_add(uri, path, key)
        with pytest.raises(CorruptTableError, match=r"log entry 2: .*path"):
            lakehouse.open_table(uri).scan().to_arrow()
        assert not [r for r in touched if "outside" in str(r)]


def test_error_does_not_reveal_whether_the_file_exists(tmp_path):
    outside = _outside_file(tmp_path)
    messages = []
    for name, path in [("exists", outside), ("absent", outside.replace("outside", "nowhere"))]:
        uri = str(tmp_path / name)
        _table_with_hostile_add(uri, path)
        with pytest.raises(CorruptTableError) as e:
            lakehouse.open_table(uri)
        messages.append(str(e.value).replace(path, "<p>").replace(uri, "<t>"))
    assert messages[0] == messages[1]


def test_location_check_holds_even_when_decoding_is_bypassed(tmp_path):
    outside = _outside_file(tmp_path)
    t = lakehouse.create_table(str(tmp_path / "t"), schema=pa.schema([("i", pa.int64())]))
    store = Store.from_uri(str(tmp_path / "t"))
    files = pa.table({"schema_id": pa.array([0], pa.int32()), "path": ["../outside.parquet"],
                      "size": pa.array([os.path.getsize(outside)], pa.int64())})
    with pytest.raises(CorruptTableError, match="outside"):
        list(read_module.read_batches(store, t.metadata, files, tuple(t.schema.fields), None))
    for rel in ("../outside.parquet", outside, "a/../../outside.parquet"):
        with pytest.raises(CorruptTableError):
            store.read_bytes(rel)


def test_checkpoint_naming_a_file_outside_is_ignored(local_uri, tmp_path):
    _outside_file(tmp_path)
    t = lakehouse.create_table(local_uri, schema=pa.schema([("i", pa.int64())]),
                               properties={"checkpoint.interval": "2"})
    for i in range(3):
        t.append(pa.table({"i": [i]}))
    path = os.path.join(local_uri, checkpoint_path(2))
    cp = pq.read_table(path)
    for hostile in ("../outside.parquet", "data/../../outside.parquet"):
        paths = cp["path"].to_pylist()
        paths[0] = hostile
        sink = io.BytesIO()
        pq.write_table(cp.set_column(cp.column_names.index("path"), "path", pa.array(paths)), sink)
        with open(path, "wb") as f:
            f.write(sink.getvalue())
        # the damaged checkpoint is ignored and the log replayed: every row, once
        got = lakehouse.open_table(local_uri).scan().to_arrow()
        assert sorted(got["i"].to_pylist()) == [0, 1, 2]


def test_checkpoint_listing_a_file_twice_is_ignored(local_uri):
    t = lakehouse.create_table(local_uri, schema=pa.schema([("i", pa.int64())]),
                               properties={"checkpoint.interval": "2"})
    for i in range(2):
        t.append(pa.table({"i": [i]}))
    path = os.path.join(local_uri, checkpoint_path(2))
    cp = pq.read_table(path)
    doubled = pa.concat_tables([cp, cp.slice(0, 1)])
    meta = json.loads(cp.schema.metadata[b"lakehouse.state"])
    meta["num_files"] = doubled.num_rows
    pq.write_table(doubled.replace_schema_metadata({b"lakehouse.state": json.dumps(meta)}), path)
    assert sorted(lakehouse.open_table(local_uri).scan().to_arrow()["i"].to_pylist()) == [0, 1]


# ------------------------------------------------------------------ hostile golden logs

INVALID = os.path.join(os.path.dirname(__file__), "golden", "invalid")
_HOSTILE_CASES = sorted(n for n in os.listdir(INVALID) if re.match(r"^(path|field|readd)_", n))


@pytest.mark.parametrize("case", _HOSTILE_CASES)
def test_hostile_golden_logs_fail_cleanly(case, tmp_path):
    uri = str(tmp_path / case)
    shutil.copytree(os.path.join(INVALID, case), uri)
    with pytest.raises(CorruptTableError, match=r"log entry \d+"):
        lakehouse.open_table(uri).scan().to_arrow()


# ------------------------------------------------------------------ every reader, expiry and vacuum; local disk and S3

_ESCAPING = ["../outside.parquet", "{abs}", "s3://other-bucket/outside.parquet", "data/../../outside.parquet",
             "%2e%2e/outside.parquet", "．．/outside.parquet"]
_WHERE = {  # which field of which entry carries the path: an add, its DV, a cdc file, a cdc's positions
    "add": (1, lambda a: "add" in a, lambda a, p: a["add"].__setitem__("path", p)),
    "dv": (2, lambda a: "add" in a, lambda a, p: a["add"]["deletion_vector"].__setitem__("path", p)),
    "cdc": (3, lambda a: "cdc" in a, lambda a, p: a["cdc"].__setitem__("path", p)),
    "positions": (3, lambda a: "positions" in a.get("cdc", {}), lambda a, p: a["cdc"]["positions"].__setitem__("path", p)),
}
_MOR = {"write.delete.mode": "merge-on-read", "write.update.mode": "merge-on-read"}


def _maintained_table(uri):
    """Version 1 appends, 2 deletes by deletion vector, 3 updates with change references."""
    t = lakehouse.create_table(uri, schema=pa.schema([("i", pa.int64())]), properties=_MOR)
    t.append(pa.table({"i": [1, 2, 3]}))
    t.delete("i = 1")
    t.update(set={"i": "20"}, where="i = 2")
    return t


def _make_hostile(store, version, pick, put, path):
    entry = json.loads(store.read_bytes(log_path(version)))
    put(next(a for a in entry["actions"] if pick(a)), path)
    store.write_bytes(log_path(version), json.dumps(entry).encode())


def _every_reader_refuses(t, uri, version):
    """`t`: a handle at the newest version from before the damage (so it holds no state built from it)."""
    import datetime as dt
    from lakehouse.ops.vacuum import retained_files
    zero = dt.timedelta(0)
    old = t.at(version=0)  # reads entry 0 only: time travel from it loads the damaged version
    calls = [lambda: lakehouse.open_table(uri).scan().to_arrow(), lambda: lakehouse.open_table(uri).count(),
             lambda: old.scan(version=version).files(), lambda: old.scan(version=version).count(),
             lambda: old.at(version=version).to_arrow(), lambda: t.changes(1),
             lambda: t.vacuum(zero, force=True, dry_run=False), lambda: t.expire_snapshots(older_than=zero),
             lambda: retained_files(Store.from_uri(uri))]
    for call in calls:
        with pytest.raises(CorruptTableError):
            call()


def _each_hostile_entry(uri, where, absolute):
    """The table of `_maintained_table` at `uri` with, in turn, each escaping path in the field
    `where` names: yields a handle from before the damage and the damaged version."""
    t = _maintained_table(uri)
    version, pick, put = _WHERE[where]
    store = Store.from_uri(uri)
    original = store.read_bytes(log_path(version))
    for path in _ESCAPING:
        store.write_bytes(log_path(version), original)
        _make_hostile(store, version, pick, put, path.format(abs=absolute))
        yield t, version


@pytest.mark.parametrize("where", sorted(_WHERE))
def test_hostile_paths_are_refused_by_readers_expiry_and_vacuum_on_local_disk(tmp_path, where):
    outside = tmp_path / "outside.parquet"
    outside.write_bytes(b"sentinel")
    uri = str(tmp_path / "t")
    for t, version in _each_hostile_entry(uri, where, outside):
        _every_reader_refuses(t, uri, version)
    assert outside.read_bytes() == b"sentinel"


@pytest.mark.s3
@pytest.mark.parametrize("where", sorted(_WHERE))
def test_hostile_paths_are_refused_by_readers_expiry_and_vacuum_on_s3(s3, where):
    import s3fs
    fs = s3fs.S3FileSystem()
    fs.mkdir("other-bucket")
    base = s3.uri("x").rsplit("/", 1)[0]  # s3://bucket/<uuid>
    sentinels = [f"{base}/outside.parquet", "s3://other-bucket/outside.parquet", f"{base}/t/outside.parquet"]
    for s in sentinels:
        fs.pipe(s, b"sentinel")
    uri = f"{base}/t/t"
    for t, version in _each_hostile_entry(uri, where, f"/{base[5:]}/outside.parquet"):
        _every_reader_refuses(t, uri, version)
    assert all(fs.cat(s) == b"sentinel" for s in sentinels)


@pytest.mark.parametrize("column", ["path", "dv"])
def test_a_hostile_checkpoint_the_log_starts_from_is_refused(tmp_path, column):
    """Once expiry removed the log before it, a checkpoint is the only record: a hostile path in
    it makes every reader, expiry and vacuum fail (never fall back to reading or deleting it)."""
    import datetime as dt
    outside = tmp_path / "outside.parquet"
    outside.write_bytes(b"sentinel")
    uri = str(tmp_path / "t")
    t = _maintained_table(uri)
    t.checkpoint()
    t.expire_snapshots(older_than=dt.timedelta(0))  # the log starts at the checkpoint at 3
    t.append(pa.table({"i": [4]}))
    path = os.path.join(uri, checkpoint_path(3))
    cp = pq.read_table(path)
    if column == "path":
        paths = cp["path"].to_pylist()
        paths[0] = "../outside.parquet"
        cp = cp.set_column(cp.column_names.index("path"), "path", pa.array(paths))
    else:
        dv = cp["deletion_vector"].to_pylist()
        next(d for d in dv if d is not None)["path"] = "../outside.parquet"
        cp = cp.set_column(cp.column_names.index("deletion_vector"), "deletion_vector",
                           pa.array(dv, cp.schema.field("deletion_vector").type))
    meta = dict(cp.schema.metadata)
    meta.pop(b"lakehouse.state.sha256")  # its checksum covers the state object, not the rows
    pq.write_table(cp.replace_schema_metadata(meta), path)
    for call in (lambda: lakehouse.open_table(uri), lambda: t.at(version=3), lambda: t.scan(version=3).count(),
                 lambda: t.vacuum(dt.timedelta(0), force=True, dry_run=False),
                 lambda: t.expire_snapshots(older_than=dt.timedelta(0))):
        with pytest.raises(CorruptTableError):
            call()
    assert outside.read_bytes() == b"sentinel"
