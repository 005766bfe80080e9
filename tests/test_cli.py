import datetime as dt
import json
import os
import re
import subprocess
import sys
import sysconfig
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

import lakehouse
from cli_helpers import run_lh
from lakehouse.cli import app
from lakehouse.cli.app import lh, parse_duration
from lakehouse.cli.output import format_duration


def _table(uri):
    t = lakehouse.create_table(uri, schema=pa.schema([("id", pa.int64())]))
    t.append(pa.table({"id": [1, 2]}))
    t.append(pa.table({"id": [3]}))
    return t


_run = run_lh


def _one_line_error(err, code, rc):
    assert code == rc
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "_lakehouse" not in err
    return err[len("error: "):].strip()


def test_info_text(local_uri):
    _table(local_uri)
    code, out, _ = _run("info", local_uri)
    assert code == 0
    assert _line(out, r"version\s+2") and _line(out, r"rows\s+3") and "1:id int64" in out
    assert _line(out, r"bytes\s+[\d.]+ (bytes|KiB)") and _line(out, r"partitioning\s+unpartitioned")


def _line(out, pattern):
    return re.search(rf"^{pattern}\s*$", out, re.M)


def test_history_json(local_uri):
    _table(local_uri)
    code, out, _ = _run("--json", "history", local_uri, "--limit", "2")
    rows = json.loads(out)
    assert code == 0 and [r["version"] for r in rows] == [2, 1]
    assert rows[0]["metrics"]["num_added_rows"] == 1


@pytest.mark.parametrize("command", ["info", "history", "files", "schema", "tags"])
def test_shared_options_before_or_after_the_command(local_uri, command):
    _table(local_uri)
    placements = [("--json", command, local_uri), (command, "--json", local_uri), (command, local_uri, "--json"),
                  ("-o", "fsync=false", command, local_uri, "--json"), (command, local_uri, "--json", "-o", "fsync=false")]
    results = [_run(*argv) for argv in placements]
    assert all(code == 0 and err == "" for code, _, err in results)
    assert len({out for _, out, _ in results}) == 1
    json.loads(results[0][1])


@pytest.mark.parametrize("name", sorted(lh.commands))
def test_every_command_has_help_with_an_example(name):
    code, out, err = _run(name, "--help")
    assert code == 0 and err == "" and out.startswith(f"Usage: lh {name} [OPTIONS]")
    examples = out.split("Examples:\n", 1)[1]
    assert examples.lstrip().startswith(f"lh {name} ") or f"&& lh {name} " in examples
    assert "--json" in out and "--debug" in out


def test_every_command_accepts_the_shared_options():
    # A command added later gets them by registering on the group: nothing to repeat per command.
    for name, command in lh.commands.items():
        flags = {opt for p in command.params for opt in p.opts}
        assert {"--json", "--option", "-o"} <= flags, name


@pytest.mark.parametrize("placement", ["before", "after"])
def test_storage_options_reach_the_store_from_either_place(local_uri, monkeypatch, placement):
    seen = {}
    monkeypatch.setattr(app, "open_table",
                        lambda uri, storage_options: seen.update(storage_options) or lakehouse.open_table(uri))
    _table(local_uri)
    argv = (["-o", "a=1", "-o", "b=x=y", "info", local_uri] if placement == "before"
            else ["info", local_uri, "-o", "a=1", "--option", "b=x=y"])
    assert _run(*argv)[0] == 0
    assert seen == {"a": "1", "b": "x=y"}


def test_command_options_override_group_options(local_uri, monkeypatch):
    seen = {}
    monkeypatch.setattr(app, "open_table",
                        lambda uri, storage_options: seen.update(storage_options) or lakehouse.open_table(uri))
    _table(local_uri)
    assert _run("-o", "a=1", "info", local_uri, "-o", "a=2")[0] == 0
    assert seen == {"a": "2"}


@pytest.mark.parametrize("argv", [["-o", "novalue", "info", "x"], ["info", "x", "-o", "=v"]])
def test_malformed_storage_option_is_a_usage_error(argv):
    code, _, err = _run(*argv)
    assert "is not KEY=VALUE" in _one_line_error(err, code, 2)


def test_version():
    code, out, err = _run("--version")
    assert code == 0 and err == ""
    assert out == f"lh (pylakehouse) {lakehouse.__version__}\n"


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "", "²", "1e3"])
def test_bad_limit_is_a_one_line_usage_error(limit):
    uri = _memory_table()
    code, out, err = _run("history", uri, "--limit", limit)
    message = _one_line_error(err, code, 2)
    assert out == "" and "--limit" in message and "positive whole number" in message


def test_bad_limit_with_json_is_a_json_usage_error():
    code, out, err = _run("history", _memory_table(), "--limit", "0", "--json")
    assert code == 2 and out == ""
    assert json.loads(err)["error"].startswith("Invalid value for '--limit'")


_MEMORY = []


def _memory_table():
    if not _MEMORY:
        _MEMORY.append(f"memory://cli-{uuid.uuid4().hex}/t")
        _table(_MEMORY[0])
    return _MEMORY[0]


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.integers(-5, 10).map(str), st.text(max_size=6)))
def test_limit_is_a_positive_integer_or_a_usage_error(limit):
    code, out, err = _run("history", _memory_table(), "--limit", limit)
    if code == 0:
        assert 1 <= int(limit) and len(out.splitlines()) == 2 + min(int(limit), 3)  # header and rule
    else:
        _one_line_error(err, code, 2)


def test_folder_that_is_not_a_table(tmp_path):
    (tmp_path / "photos").mkdir()
    for command in ("info", "history"):
        code, out, err = _run(command, str(tmp_path / "photos"))
        assert out == "" and _one_line_error(err, code, 1) == f"no table at {tmp_path / 'photos'}: the folder is empty"


def test_file_instead_of_a_folder_is_one_line_without_internal_paths(tmp_path):
    (tmp_path / "events.csv").write_text("id\n1\n")
    code, _, err = _run("info", str(tmp_path / "events.csv"))
    assert str(tmp_path / "events.csv") in _one_line_error(err, code, 1)


def test_missing_table_is_an_error_exit(tmp_path):
    code, _, err = _run("info", str(tmp_path / "nope"))
    assert "no table" in _one_line_error(err, code, 1)


def test_empty_uri_is_a_one_line_error():
    for command in ("info", "history"):
        code, out, err = _run(command, "")
        assert out == "" and _one_line_error(err, code, 1) == "the table URI is empty"


def test_bad_boolean_option_is_a_one_line_error(local_uri):
    _table(local_uri)
    for argv in (["-o", "fsync=ture", "info", local_uri], ["info", local_uri, "-o", "fsync=ture"]):
        code, _, err = _run(*argv)
        assert "fsync='ture'" in _one_line_error(err, code, 1)


def _failing_open(exc):
    def open_table(uri, storage_options):
        raise exc
    return open_table


@pytest.mark.parametrize("exc, expected", [
    (PermissionError(13, "Permission denied", "/data/t/_lakehouse/log/00000000000000000000.json"),
     "cannot access the table at /data/t: Permission denied"),
    (ModuleNotFoundError("No module named 's3fs'", name="s3fs"),
     "a required Python package is not installed (s3fs): pip install 'pylakehouse[s3]'"),
    (lakehouse.StorageError("reading /data/t/_lakehouse/last_checkpoint.json failed:\n  Not a directory"),
     "reading /data/t failed: Not a directory"),
    (RuntimeError("boom\n  at /data/t/_lakehouse/x"),
     "unexpected RuntimeError while working on the table at /data/t (--debug shows the traceback)"),
])
def test_any_failure_is_one_line_without_internal_paths(monkeypatch, exc, expected):
    monkeypatch.setattr(app, "open_table", _failing_open(exc))
    for argv in (["info", "/data/t"], ["history", "/data/t", "--limit", "1"]):
        code, out, err = _run(*argv)
        assert out == "" and _one_line_error(err, code, 1) == expected
        code, _, err = _run(*argv, "--json")
        assert code == 1 and json.loads(err) == {"error": expected, "type": type(exc).__name__}


@pytest.mark.parametrize("how", ["--debug before", "--debug after", "LH_DEBUG"])
def test_debug_shows_the_traceback_then_the_one_line(monkeypatch, how):
    monkeypatch.setattr(app, "open_table", _failing_open(RuntimeError("boom")))
    argv = {"--debug before": ["--debug", "info", "/data/t"], "--debug after": ["info", "/data/t", "--debug"],
            "LH_DEBUG": ["info", "/data/t"]}[how]
    if how == "LH_DEBUG":
        monkeypatch.setenv("LH_DEBUG", "1")
    code, out, err = _run(*argv)
    assert code == 1 and out == ""
    assert err.startswith("Traceback (most recent call last):") and "RuntimeError: boom" in err
    assert err.splitlines()[-1].startswith("error: unexpected RuntimeError")


def test_without_debug_there_is_no_traceback(monkeypatch):
    monkeypatch.setattr(app, "open_table", _failing_open(RuntimeError("boom")))
    code, _, err = _run("info", "/data/t")
    assert "Traceback" not in err and err.count("\n") == 1


def test_secret_storage_options_are_masked_in_messages_and_tracebacks(monkeypatch):
    secret = "wJalrXUtnFEMI-K7MDENG-secret"
    monkeypatch.setattr(app, "open_table", _failing_open(lakehouse.StorageError(
        f"reading s3://b/t failed: signature {secret} does not match (https://user:pw0rd@host/b)")))
    for extra in ([], ["--debug"], ["--json"]):
        code, out, err = _run("info", "s3://b/t", "-o", f"aws_secret_access_key={secret}", "-o", "region=eu", *extra)
        assert code == 1 and secret not in out + err and "pw0rd" not in err
        assert "***" in err


def test_interrupt_exits_130(monkeypatch):
    monkeypatch.setattr(app, "open_table", _failing_open(KeyboardInterrupt()))
    code, _, err = _run("info", "/data/t")
    assert code == 130 and err.endswith("error: interrupted\n")


def test_closed_pipe_is_silent(monkeypatch):
    monkeypatch.setattr(app, "open_table", _failing_open(BrokenPipeError(32, "Broken pipe")))
    assert _run("history", "/data/t") == (1, "", "")


def test_s3_without_s3fs_names_the_distribution(monkeypatch):
    monkeypatch.setitem(sys.modules, "s3fs", None)  # `import s3fs` now raises ImportError
    code, _, err = _run("info", "s3://bucket/events")
    assert _one_line_error(err, code, 1) == "s3:// tables need s3fs: pip install 'pylakehouse[s3]'"


def test_no_command_prints_help_and_is_a_usage_error():
    code, out, err = _run()
    assert code == 2 and out == "" and "Commands:" in err and "info" in err


def test_unknown_command_is_a_one_line_usage_error():
    code, _, err = _run("infoo", "x")
    assert "No such command 'infoo'" in _one_line_error(err, code, 2)


def test_the_lh_entry_point(local_uri):
    # The installed script passes main()'s return value on as the exit code.
    _table(local_uri)
    lh_script = Path(sysconfig.get_path("scripts")) / "lh"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}  # this checkout's lakehouse
    done = subprocess.run([str(lh_script), "history", local_uri, "--json", "--limit", "0"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert "--limit" in json.loads(done.stderr)["error"]


# ---------------------------------------------------------------- files, schema, scan, tags
def _events(uri):
    schema = pa.schema([("id", pa.int64()), ("day", pa.string()), ("at", pa.timestamp("us", tz="UTC")),
                        ("tags", pa.struct([("k", pa.string())]))])
    t = lakehouse.create_table(uri, schema=schema, partition_by=["day"])
    for day in ("d1", "d2"):
        at = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
        t.append(pa.table({"id": list(range(30)), "day": [day] * 30, "at": [at] * 30, "tags": [{"k": "v"}] * 30},
                          schema=schema))
    t.tag("first", 1)
    return t


def test_files_human_and_json(local_uri):
    _events(local_uri)
    code, out, err = _run("files", local_uri, "--where", "day = 'd2'")
    assert code == 0 and err == ""
    assert "data/day=d2/" in out and "day=d1" not in out
    assert re.search(r"^1 files, 30 rows, [\d.]+ (bytes|KiB)$", out, re.M)
    code, out, _ = _run("files", local_uri, "--json", "--version", "1")
    (entry,) = json.loads(out)
    assert entry["partition"] == {"day": "d1"} and entry["live_count"] == 30 and entry["stats"]["id"]["max"] == 29


def test_schema_human_and_json(local_uri):
    _events(local_uri)
    code, out, _ = _run("schema", local_uri)
    assert code == 0 and "1: id: int64" in out and "4: tags: struct" in out and "  5: k: string" in out
    assert _line(out, r"partitioning\s+day=day")
    code, out, _ = _run("--json", "schema", local_uri)
    obj = json.loads(out)
    assert [f["name"] for f in obj["fields"]] == ["id", "day", "at", "tags"] and obj["sort_order"] == []
    assert obj["partition_spec"]["fields"][0]["name"] == "day"


def test_scan_shows_a_few_rows_and_says_there_are_more(local_uri):
    _events(local_uri)
    code, out, err = _run("scan", local_uri, "--columns", "id, day")
    assert code == 0 and len(out.splitlines()) == 2 + 20 and "--limit N shows more" in err
    code, out, err = _run("scan", local_uri, "--where", "id = 7", "--version", "1")
    assert code == 0 and err == "" and len(out.splitlines()) == 3 and "2024-03-01 00:00:00 UTC" in out


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_scan_exports_every_row(local_uri, tmp_path, fmt):
    t = _events(local_uri)
    target = tmp_path / f"out.{fmt}"
    columns = "id,day,at" if fmt == "csv" else "id,day,at,tags"
    code, out, _ = _run("scan", local_uri, "--where", "id < 10", "--columns", columns, "--format", fmt,
                        "--output", str(target), "--json")
    assert code == 0 and json.loads(out) == {"rows": 20, "path": str(target), "format": fmt}
    expected = t.scan(where="id < 10", columns=columns.split(",")).to_arrow()
    if fmt == "parquet":
        got = pq.read_table(target)
    elif fmt == "csv":
        got = pacsv.read_csv(target, convert_options=pacsv.ConvertOptions(column_types=expected.schema))
    else:
        got = pa.Table.from_pylist(json.loads(target.read_text()))
        expected = expected.set_column(2, "at", pa.array([v.isoformat() for v in expected["at"].to_pylist()]))
    assert got.to_pylist() == expected.to_pylist()
    assert not list(tmp_path.glob("*.partial"))


def test_scan_json_to_stdout_is_one_array(local_uri):
    _events(local_uri)
    code, out, _ = _run("--json", "scan", local_uri, "--limit", "3", "--columns", "id")
    assert code == 0 and json.loads(out) == [{"id": 0}, {"id": 1}, {"id": 2}]
    code, out, _ = _run("scan", local_uri, "--where", "id < 0", "--format", "json")
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize("argv, message", [
    (["--format", "parquet"], "--format parquet needs --output FILE"),
    (["--output", "x.csv"], "--output needs --format csv, json or parquet"),
    (["--format", "xml"], "'xml' is not one of"),
    (["--columns", "a,,b"], "is not a list of column names"),
])
def test_scan_usage_errors(argv, message):
    code, out, err = _run("scan", _memory_table(), *argv)
    assert out == "" and message in _one_line_error(err, code, 2)


def test_scan_csv_of_a_nested_column_is_a_one_line_error(local_uri, tmp_path):
    _events(local_uri)
    code, out, err = _run("scan", local_uri, "--format", "csv", "--output", str(tmp_path / "x.csv"))
    assert out == "" and "CSV cannot hold the nested column tags" in _one_line_error(err, code, 1)
    assert not list(tmp_path.glob("x.csv*"))


def test_tags_human_and_json(local_uri):
    _events(local_uri)
    code, out, _ = _run("tags", local_uri)
    assert code == 0 and _line(out, r"first\s+1")
    assert json.loads(_run("tags", local_uri, "--json")[1]) == [{"name": "first", "version": 1}]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from("dhms")), min_size=1, max_size=4))
def test_parse_duration_reads_each_part(parts):
    text = "".join(f"{n}{unit}" for n, unit in parts)
    seconds = sum(n * {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit] for n, unit in parts)
    assert parse_duration(text) == dt.timedelta(seconds=seconds)
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


@pytest.mark.parametrize("text", ["", "7", "7 d", "-7d", "7w", "d", "1.5h", "7d ", "٧d", "7dd"])
def test_parse_duration_refuses_anything_else(text):
    if text == "7d ":  # surrounding spaces are trimmed, as a shell user may quote them
        assert parse_duration(text) == dt.timedelta(days=7)
        return
    with pytest.raises(lakehouse.InvalidArgumentError, match="is not a duration"):
        parse_duration(text)


# ---------------------------------------------------------------- as a real process
def _lh(*argv, **env):
    """(exit code, stdout, stderr) of `python -m lakehouse.cli argv` in a child process."""
    done = subprocess.run([sys.executable, "-m", "lakehouse.cli", *argv], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), **env}, timeout=120)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("command", [["info"], ["history", "--limit", "2"], ["files"], ["schema"],
                                     ["scan", "--limit", "2", "--columns", "id"]])
def test_inspect_commands_as_a_process(local_uri, command):
    _table(local_uri)
    code, out, err = _lh(command[0], local_uri, *command[1:])
    assert code == 0 and err == "" and out.strip()
    code, out, err = _lh("--json", command[0], local_uri, *command[1:])
    assert code == 0 and err == "" and json.loads(out)


def test_failures_as_a_process(tmp_path):
    code, out, err = _lh("info", str(tmp_path / "nope"))
    assert code == 1 and out == "" and err.startswith("error: no table") and err.count("\n") == 1
    code, out, err = _lh("scan", str(tmp_path), "--limit", "0", "--json")
    assert code == 2 and out == "" and "--limit" in json.loads(err)["error"]
    code, out, err = _lh("--debug", "info", str(tmp_path / "nope"))
    assert code == 1 and "Traceback" in err and "TableNotFoundError" in err
