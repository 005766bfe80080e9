"""S3 for real, on moto's server on 127.0.0.1: concurrent processes, lost and throttled
requests (injected by a proxy in front of moto), stores without conditional writes, secrets."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest
from conftest import SECRET
from s3_faults import DROP_AFTER, DROP_BEFORE, REJECT_CONDITIONAL, THROTTLE, FaultProxy

import lakehouse
from lakehouse.cli import main
from lakehouse.io import Store
from lakehouse.format.log import list_versions, read_entry

pytestmark = pytest.mark.s3

SCHEMA = pa.schema([("writer", pa.int64()), ("seq", pa.int64())])
LOG_1 = r"/_lakehouse/log/0{19}1\.json$"
LOG_2 = r"/_lakehouse/log/0{19}2\.json$"


@pytest.fixture
def proxy(s3, monkeypatch):
    """Every S3 request of the test goes through a fault-injecting proxy in front of moto."""
    p = FaultProxy(upstream=s3.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", p.endpoint)
    yield p
    p.stop()


def _rows(t) -> list[tuple[int, int]]:
    out = t.scan().to_arrow()
    return sorted(zip(out.column("writer").to_pylist(), out.column("seq").to_pylist(), strict=True))


def _outcomes(proxy, path) -> list[str]:
    return [s.outcome for s in proxy.requests("PUT", path)]


# ------------------------------------------------------------------ many writers
WRITER = textwrap.dedent("""
    import sys, pyarrow as pa, lakehouse
    uri, me, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t = lakehouse.open_table(uri)
    for i in range(n):
        t.append(pa.table({"writer": [me], "seq": [i]}))
""")


def test_processes_appending_at_once(s3):
    writers, appends = 3, 6
    uri = s3.uri()
    lakehouse.create_table(uri, schema=SCHEMA)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, uri, str(w), str(appends)], stderr=subprocess.PIPE)
             for w in range(writers)]
    errors = [p.communicate(timeout=240)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * writers, "\n".join(errors)
    t = lakehouse.open_table(uri)
    store = Store.from_uri(uri)
    assert t.version == writers * appends
    assert list_versions(store) == list(range(writers * appends + 1))  # dense: every commit present
    assert _rows(t) == sorted((w, i) for w in range(writers) for i in range(appends))  # no row lost


# ------------------------------------------------------------------ failures on the way
def test_throttled_commit_is_retried_and_lands_once(proxy, s3):
    t = lakehouse.create_table(s3.uri(), schema=SCHEMA)
    proxy.fail("PUT", LOG_1, THROTTLE, times=3)
    t.append(pa.table({"writer": [0], "seq": [0]}))
    assert _outcomes(proxy, LOG_1) == [THROTTLE] * 3 + ["forwarded 200"]
    assert t.version == 1 and lakehouse.open_table(t.uri).version == 1
    assert _rows(t.refresh()) == [(0, 0)]


def test_throttled_data_files_are_retried(proxy, s3):
    t = lakehouse.create_table(s3.uri(), schema=SCHEMA)
    proxy.fail("PUT", r"/data/.*\.parquet$", THROTTLE, times=2)
    t.append(pa.table({"writer": [1], "seq": [2]}))
    proxy.fail("GET", r"/data/.*\.parquet$", THROTTLE, times=2)
    assert _rows(lakehouse.open_table(t.uri)) == [(1, 2)]
    assert [s.outcome for s in proxy.seen if s.outcome == THROTTLE] == [THROTTLE] * 4


@pytest.mark.parametrize("resolved_by", ["conditional retry", "reading back"])
def test_commit_whose_reply_is_lost_succeeds_once(proxy, s3, resolved_by):
    """The PUT lands but the connection drops before the answer. A retry of the conditional
    PUT (by the HTTP client or by us) gets 412; when every answer is lost, the commit loop reads
    the entry back and finds its own txn_id. Either way: one commit, at the version it meant."""
    uri = s3.uri()
    lakehouse.create_table(uri, schema=SCHEMA)
    if resolved_by == "conditional retry":
        t = lakehouse.open_table(uri)
        proxy.fail("PUT", LOG_1, DROP_AFTER)
    else:
        t = lakehouse.open_table(uri, storage_options={"max_io_retries": 1})
        proxy.fail("PUT", LOG_1, DROP_AFTER, times=None)
    summary = t.append(pa.table({"writer": [7], "seq": [7]}))
    assert summary.version == 1 and t.version == 1
    outcomes = _outcomes(proxy, LOG_1)
    assert outcomes[0] == f"{DROP_AFTER} 200"  # it landed
    if resolved_by == "conditional retry":
        assert outcomes[1:] == ["forwarded 412"]
    else:  # (aiohttp may resend once on a reused connection; that answer is lost too)
        assert set(outcomes[1:]) <= {f"{DROP_AFTER} 412"}
    assert proxy.requests("PUT", LOG_2) == []  # never re-committed at another version
    store = Store.from_uri(uri)
    assert list_versions(store) == [0, 1]
    assert read_entry(store, 1).commit_info.operation == "append"
    assert _rows(lakehouse.open_table(uri)) == [(7, 7)]


def test_commit_that_never_lands_leaves_the_last_good_version(proxy, s3):
    uri = s3.uri()
    lakehouse.create_table(uri, schema=SCHEMA).append(pa.table({"writer": [1], "seq": [1]}))
    t = lakehouse.open_table(uri, storage_options={"max_io_retries": 2})
    proxy.fail("PUT", LOG_2, DROP_BEFORE, times=None)
    with pytest.raises(lakehouse.StorageError, match="committing"):
        t.append(pa.table({"writer": [2], "seq": [2]}))
    outcomes = _outcomes(proxy, LOG_2)  # 2 attempts (aiohttp may resend each once on a reused connection)
    assert 2 <= len(outcomes) <= 4 and set(outcomes) == {DROP_BEFORE}
    again = lakehouse.open_table(uri)
    assert again.version == 1 and _rows(again) == [(1, 1)]
    proxy.clear()
    again.append(pa.table({"writer": [3], "seq": [3]}))
    assert again.version == 2 and _rows(again.refresh()) == [(1, 1), (3, 3)]


def test_data_files_move_in_parallel(proxy, s3):
    """With a slow store, data files are uploaded and read several at a time."""
    t = lakehouse.create_table(s3.uri(), schema=SCHEMA, properties={"write.target-file-size-bytes": "12000"})
    proxy.slow("PUT", r"/data/.*\.parquet$", 0.1)
    proxy.slow("GET", r"/data/.*\.parquet$", 0.1)
    t.append(pa.table({"writer": list(range(4000)), "seq": list(range(4000))}))
    assert len(t.scan().files()) >= 4
    assert len(lakehouse.open_table(t.uri).to_arrow()) == 4000
    assert proxy.peak_concurrency("PUT", r"/data/") >= 2
    assert proxy.peak_concurrency("GET", r"/data/") >= 2


def test_commits_and_scans_do_not_list(proxy, s3):
    t = lakehouse.create_table(s3.uri(), schema=SCHEMA)
    proxy.seen.clear()
    t.append(pa.table({"writer": [1], "seq": [1]}))
    t.scan().to_arrow()
    assert not [s for s in proxy.seen if s.method == "GET" and "list-type" in s.query]


# ------------------------------------------------------------------ stores without conditional writes
def test_store_declared_without_conditional_writes_is_refused(s3):
    uri = s3.uri()
    with pytest.raises(lakehouse.AtomicCommitUnsupportedError, match="conditional_put=False"):
        lakehouse.create_table(uri, schema=SCHEMA, storage_options={"conditional_put": False})
    assert list_versions(Store.from_uri(uri)) == []
    lakehouse.create_table(uri, schema=SCHEMA).append(pa.table({"writer": [1], "seq": [1]}))
    reader = lakehouse.open_table(uri, storage_options={"AWS_CONDITIONAL_PUT": "disabled"})
    assert _rows(reader) == [(1, 1)]  # reading needs no conditional writes
    with pytest.raises(lakehouse.AtomicCommitUnsupportedError, match="unsafe_single_writer"):
        reader.append(pa.table({"writer": [2], "seq": [2]}))
    single = lakehouse.open_table(uri, storage_options={"conditional_put": False, "unsafe_single_writer": True})
    single.append(pa.table({"writer": [3], "seq": [3]}))
    assert single.version == 2


def test_store_rejecting_if_none_match_is_refused(proxy, s3):
    proxy.fail("PUT", r"/_lakehouse/log/", REJECT_CONDITIONAL, times=None)
    with pytest.raises(lakehouse.AtomicCommitUnsupportedError, match="If-None-Match"):
        lakehouse.create_table(s3.uri(), schema=SCHEMA)


# ------------------------------------------------------------------ secrets
def test_lh_reads_s3_tables_with_the_aws_environment(s3, capsys):
    uri = s3.uri()
    lakehouse.create_table(uri, schema=SCHEMA).append(pa.table({"writer": [1, 2], "seq": [1, 2]}))
    assert main(["info", uri]) == 0
    assert main(["--json", "history", uri]) == 0
    assert main(["info", s3.uri("missing")]) == 1
    out = capsys.readouterr()
    assert "rows          2" in out.out and '"operation": "append"' in out.out and "no table" in out.err
    assert SECRET not in out.out + out.err


def test_secrets_never_appear(proxy, s3, capsys, caplog):
    options = {"AWS_ACCESS_KEY_ID": "AKIDOPTION", "AWS_SECRET_ACCESS_KEY": "opt-SECRET-81d2", "max_io_retries": 2}
    uri = s3.uri()
    t = lakehouse.create_table(uri, schema=SCHEMA, storage_options=options)
    t.append(pa.table({"writer": [1], "seq": [1]}))
    secrets = (SECRET, "opt-SECRET-81d2")
    texts = [repr(t), t.uri, repr(Store.from_uri(uri, options))]
    proxy.fail("GET", r".*", THROTTLE, times=None)   # the store fails every read
    proxy.fail("PUT", r".*", THROTTLE, times=None)
    for action in (lambda: lakehouse.open_table(uri, storage_options=options),
                   lambda: t.append(pa.table({"writer": [2], "seq": [2]}))):
        with pytest.raises(lakehouse.LakehouseError) as e:
            action()
        texts.append(str(e.value))
    assert main(["-o", "AWS_SECRET_ACCESS_KEY=opt-SECRET-81d2", "-o", "max_io_retries=2", "info", uri]) == 1
    out = capsys.readouterr()
    texts += [out.out, out.err, *(r.getMessage() for r in caplog.records)]
    proxy.clear()
    fs = Store.from_uri(uri).fs
    texts += [fs.cat_file(p).decode() for p in fs.find(Store.from_uri(uri).root)
              if "/_lakehouse/" in p]  # every log entry and checkpoint pointer
    assert any("SlowDown" in x or "reduce your request rate" in x for x in texts)
    for text in texts:
        assert not any(s in text for s in secrets), text


def test_unreachable_endpoint_fails_fast_and_clean(s3):
    with socket.socket() as sock:  # a port on 127.0.0.1 nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = {"endpoint_url": f"http://127.0.0.1:{port}", "secret": "unreach-SECRET-77", "key": "AKID",
               "max_io_retries": 2}
    with pytest.raises(lakehouse.StorageError) as e:
        lakehouse.open_table(s3.uri(), storage_options=options)
    assert "unreach-SECRET-77" not in str(e.value)
    assert re.search(r"127\.0\.0\.1", str(e.value)) or "connect" in str(e.value).lower()
