"""Planning a checkpointed table works on Arrow columns: opening and pruning 5,000 files builds
no per-file Python objects for the checkpointed part (only the log tail is decoded)."""

import time

import pyarrow as pa

import lakehouse
from lakehouse.format import actions, file_index

FILES_PER_COMMIT = 1000


def _synthetic(uri, commits):
    t = lakehouse.create_table(uri, schema=pa.schema([("id", pa.int64())]),
                               properties={"checkpoint.interval": "5"})
    now = int(time.time() * 1000)
    for c in range(commits):
        adds = [actions.AddFile(path=f"data/f{c}-{k}.parquet", size=100, record_count=10, spec_id=0, schema_id=0,
                                partition={}, modification_time=now,
                                stats={"1": {"null_count": 0, "min": (c * FILES_PER_COMMIT + k) * 10,
                                             "max": (c * FILES_PER_COMMIT + k) * 10 + 9}})
                for k in range(FILES_PER_COMMIT)]
        t._commit(t.state, "append", adds, parameters={})
    return t


def test_open_and_plan_decode_only_the_log_tail(local_uri, monkeypatch):
    _synthetic(local_uri, 6)  # checkpoint at 5 (5,000 files) + one commit of 1,000 in the tail
    decoded = []
    real_from_json, real_build = actions.AddFile.from_json, file_index.build_file_index
    monkeypatch.setattr(actions.AddFile, "from_json", classmethod(
        lambda cls, obj: decoded.append(1) or real_from_json.__func__(cls, obj)))
    built = []
    monkeypatch.setattr("lakehouse.format.state.build_file_index", lambda adds, md: built.append(len(adds)) or real_build(adds, md))
    t = lakehouse.open_table(local_uri)
    files = t.scan(where="id BETWEEN 20005 AND 20007").files()
    assert [f.path for f in files] == ["data/f2-0.parquet"]
    assert t.state.files.count() == 6 * FILES_PER_COMMIT
    assert len(decoded) == FILES_PER_COMMIT and built == [FILES_PER_COMMIT]
