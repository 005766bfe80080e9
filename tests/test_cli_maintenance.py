"""`lh compact | vacuum | expire | checkpoint | restore | tag | tags`: each as a real process in
human and JSON form, and in-process for exit codes, usage errors and what the commands did."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

import lakehouse
from cli_helpers import run_lh
from conftest import KEY_ID, SECRET


def _table(uri, appends=4):
    t = lakehouse.create_table(uri, schema=pa.schema([("id", pa.int64()), ("day", pa.string())]), partition_by=["day"])
    for i in range(appends):
        t.append(pa.table({"id": [2 * i, 2 * i + 1], "day": ["d1", "d2"]}))
    return t


_run = run_lh


def _lh(*argv, **env):
    done = subprocess.run([sys.executable, "-m", "lakehouse.cli", *argv], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), **env}, timeout=120)
    return done.returncode, done.stdout, done.stderr


def _one_line_error(err, code, rc):
    assert code == rc
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "_lakehouse" not in err
    return err[len("error: "):].strip()


def _orphan(uri, days_old=30):
    """A data file no version references (a failed write's), `days_old` days old."""
    path = Path(uri) / "data" / "day=d1" / "orphan.parquet"
    path.write_bytes(b"PAR1 not really")
    old = time.time() - days_old * 86400
    os.utime(path, (old, old))
    return "data/day=d1/orphan.parquet"


# ---------------------------------------------------------------- every command as a process
@pytest.mark.parametrize("command, title, key", [
    (["compact"], "compacted", "files_removed"),
    (["vacuum"], "would delete 1 files", "files"),
    (["expire", "--older-than", "0s", "--retain-last", "2"], "expired", "versions_expired"),
    (["checkpoint"], "checkpointed", "version"),
    (["restore", "--version", "1"], "restored", "version"),
    (["tag", "NAME", "--version", "2"], "tagged version 2", "commit"),
    (["tags"], "name", None),
])
def test_maintenance_commands_as_a_process(tmp_path, command, title, key):
    human, machine = str(tmp_path / "human"), str(tmp_path / "json")
    for uri in (human, machine):
        _table(uri)
        _orphan(uri)
    name, *rest = command
    code, out, err = _lh(name, human, *(a.replace("NAME", "h") for a in rest))
    assert code == 0 and out.startswith(title), (out, err)
    code, out, err = _lh(name, machine, *(a.replace("NAME", "j") for a in rest), "--json")
    assert code == 0 and "error" not in err
    result = json.loads(out)
    assert key in result if key else result == []


# ---------------------------------------------------------------- compact
def test_compact_rewrites_into_fewer_files_and_keeps_the_rows(local_uri):
    t = _table(local_uri, appends=5)
    before = t.to_arrow().sort_by("id")
    code, out, err = _run("compact", local_uri, "--json")
    metrics = json.loads(out)
    assert code == 0 and err == ""
    assert (metrics["files_removed"], metrics["files_added"], metrics["rows"], metrics["partitions"]) == (10, 2, 10, 2)
    t = t.refresh()
    assert t.to_arrow().sort_by("id") == before and len(t.scan().files()) == 2
    assert t.history(limit=1)[0].operation == "compact"
    code, out, _ = _run("compact", local_uri)
    assert code == 0 and out.startswith(f"{local_uri}: nothing to compact")


def test_compact_where_and_sort_by(local_uri):
    _table(local_uri, appends=3)
    code, out, _ = _run("compact", local_uri, "--where", "day = 'd2'", "--sort-by", "id DESC", "--json")
    assert code == 0 and json.loads(out)["files_removed"] == 3
    t = lakehouse.open_table(local_uri)
    d2 = [f for f in t.scan().files() if f.partition == {"day": "d2"}]
    assert len(d2) == 1 and t.scan(where="day = 'd2'").to_arrow()["id"].to_pylist() == [5, 3, 1]


def test_compact_shows_progress_on_a_terminal(local_uri, monkeypatch):
    _table(local_uri)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich draws as on a terminal
    code, out, err = _run("compact", local_uri, "--zorder-by", "id,day")
    assert code == 0 and "compacted" in out and "compacting" in err and "2/2" in err


@pytest.mark.parametrize("argv, message", [
    (["--target-size", "12XB"], "Invalid value for '--target-size'"),
    (["--target-size", "0"], "Invalid value for '--target-size'"),
    (["--sort-by", "id", "--zorder-by", "day"], "pass --sort-by or --zorder-by, not both"),
    (["--sort-by", ","], "is not a list of column names"),
])
def test_compact_usage_errors(local_uri, argv, message):
    code, out, err = _run("compact", local_uri, *argv)
    assert out == "" and message in _one_line_error(err, code, 2)


def test_compact_of_an_unknown_column_is_an_error(local_uri):
    _table(local_uri)
    code, out, err = _run("compact", local_uri, "--zorder-by", "nope")
    assert out == "" and "nope" in _one_line_error(err, code, 1)


# ---------------------------------------------------------------- vacuum
def test_vacuum_dry_run_lists_then_no_dry_run_deletes(local_uri):
    _table(local_uri)
    orphan = _orphan(local_uri)
    young = Path(local_uri) / "data" / "day=d2" / "young.parquet"
    young.write_bytes(b"x")  # inside the retention: kept
    code, out, err = _run("vacuum", local_uri, "--json")
    result = json.loads(out)
    assert code == 0 and result["files"] == [orphan] and result["dry_run"] is True
    assert result["retention"] == 7 * 86400 and isinstance(result["retention"], int) and result["bytes"] == len(b"PAR1 not really")
    code, out, err = _run("vacuum", local_uri)
    assert code == 0 and out.startswith("would delete 1 files (15 bytes)") and orphan in out
    assert "--no-dry-run deletes them" in err and (Path(local_uri) / orphan).exists()
    code, out, _ = _run("vacuum", local_uri, "--retain", "14d", "--no-dry-run")
    assert code == 0 and out.startswith("deleted 1 files") and not (Path(local_uri) / orphan).exists()
    assert young.exists() and lakehouse.open_table(local_uri).to_arrow().num_rows == 8


def test_vacuum_below_the_safe_retention_needs_force(local_uri):
    _table(local_uri)
    _orphan(local_uri, days_old=2)
    code, out, err = _run("vacuum", local_uri, "--retain", "1d")
    assert out == "" and "pass --force if no writer" in _one_line_error(err, code, 1)
    code, out, _ = _run("vacuum", local_uri, "--retain", "1d", "--force", "--json")
    assert code == 0 and len(json.loads(out)["files"]) == 1


@pytest.mark.parametrize("retain", ["7", "7 days", "-1d", "1w", ""])
def test_vacuum_bad_retention_is_a_usage_error(local_uri, retain):
    code, out, err = _run("vacuum", local_uri, "--retain", retain)
    assert out == "" and "is not a duration" in _one_line_error(err, code, 2)


# ---------------------------------------------------------------- expire, checkpoint
def test_expire_keeps_the_newest_and_tagged_versions(local_uri):
    t = _table(local_uri)
    t.tag("keep", 1)
    code, out, _ = _run("expire", local_uri, "--older-than", "0s", "--json")
    assert code == 0 and json.loads(out)["versions_expired"] == 0  # never past the newest checkpoint: none yet
    assert _run("checkpoint", local_uri)[0] == 0
    code, out, _ = _run("expire", local_uri, "--older-than", "0s", "--retain-last", "2", "--json")
    metrics = json.loads(out)
    assert code == 0 and metrics["versions_expired"] > 0 and metrics["oldest_version"] == 4
    t = lakehouse.open_table(local_uri)
    assert t.at(version=4).to_arrow().num_rows == 8 and t.scan(ref="keep").count() == 2
    with pytest.raises(lakehouse.VersionNotFoundError):
        t.at(version=2).to_arrow()


def test_expire_needs_older_than(local_uri):
    code, out, err = _run("expire", local_uri)
    assert out == "" and "Missing option '--older-than'" in _one_line_error(err, code, 2)


def test_checkpoint(local_uri):
    _table(local_uri)
    code, out, _ = _run("checkpoint", local_uri, "--json")
    assert code == 0 and json.loads(out) == {"version": 4}
    assert lakehouse.open_table(local_uri).to_arrow().num_rows == 8


# ---------------------------------------------------------------- restore, tag
def test_restore(local_uri):
    _table(local_uri)
    code, out, _ = _run("restore", local_uri, "--version", "1", "--json")
    assert code == 0 and json.loads(out)["version"] == 5
    assert lakehouse.open_table(local_uri).to_arrow().num_rows == 2
    code, out, err = _run("restore", local_uri, "--version", "99")
    assert out == "" and "99" in _one_line_error(err, code, 1)
    code, out, err = _run("restore", local_uri)
    assert out == "" and "Missing option '--version'" in _one_line_error(err, code, 2)


def test_tag_replace_and_drop(local_uri):
    _table(local_uri)
    assert _run("tag", local_uri, "release", "--version", "1")[0] == 0
    code, _, err = _run("tag", local_uri, "release")
    assert "release" in _one_line_error(err, code, 1)
    code, out, _ = _run("tag", local_uri, "release", "--replace", "--json")
    assert code == 0 and json.loads(out) == {"name": "release", "version": 5, "commit": 6}
    code, _, err = _run("tag", local_uri, "release", "--drop", "--version", "1")
    assert "--drop takes no --version" in _one_line_error(err, code, 2)
    code, out, _ = _run("tag", local_uri, "release", "--drop")
    assert code == 0 and out.startswith("dropped tag 'release'")
    assert lakehouse.open_table(local_uri).tags() == {}
    code, _, err = _run("tag", local_uri, "release", "--drop")
    assert "release" in _one_line_error(err, code, 1)


# ---------------------------------------------------------------- S3, and secrets
@pytest.mark.s3
def test_on_s3_as_a_process_without_printing_the_secret(s3):
    uri = s3.uri()
    _table(uri, appends=3)
    secret_options = ["-o", f"key={KEY_ID}", "-o", f"secret={SECRET}"]
    code, out, err = _lh("compact", uri, "--json", *secret_options)
    assert code == 0 and json.loads(out)["files_removed"] == 6
    code, out, err = _lh("vacuum", uri, "--retain", "0s", "--force", *secret_options)
    assert code == 0 and out.startswith("would delete 0 files")
    code, out, err = _lh("--debug", "info", uri + "-missing", *secret_options)
    assert code == 1 and "Traceback" in err and "no table" in err.splitlines()[-1]
    assert SECRET not in out + err
