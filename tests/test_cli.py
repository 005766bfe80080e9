import contextlib
import io
import json
import os
import subprocess
import sys
import sysconfig
import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import lakehouse
from lakehouse.cli import commands, main
from lakehouse.cli.app import lh


def _table(uri):
    t = lakehouse.create_table(uri, schema=pa.schema([("id", pa.int64())]))
    t.append(pa.table({"id": [1, 2]}))
    t.append(pa.table({"id": [3]}))
    return t


def _run(*argv):
    """(exit code, stdout, stderr) of `lh argv`, without pytest fixtures (usable under hypothesis)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _one_line_error(err, code, rc):
    assert code == rc
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "_lakehouse" not in err
    return err[len("error: "):].strip()


def test_info_text(local_uri):
    _table(local_uri)
    code, out, _ = _run("info", local_uri)
    assert code == 0
    assert "version       2" in out and "rows          3" in out and "1:id int64" in out


def test_history_json(local_uri):
    _table(local_uri)
    code, out, _ = _run("--json", "history", local_uri, "--limit", "2")
    rows = json.loads(out)
    assert code == 0 and [r["version"] for r in rows] == [2, 1]
    assert rows[0]["metrics"]["num_added_rows"] == 1


@pytest.mark.parametrize("command", ["info", "history"])
def test_shared_options_before_or_after_the_command(local_uri, command):
    _table(local_uri)
    placements = [("--json", command, local_uri), (command, "--json", local_uri), (command, local_uri, "--json"),
                  ("-o", "fsync=false", command, local_uri, "--json"), (command, local_uri, "--json", "-o", "fsync=false")]
    results = [_run(*argv) for argv in placements]
    assert all(code == 0 and err == "" for code, _, err in results)
    assert len({out for _, out, _ in results}) == 1
    json.loads(results[0][1])


def test_every_command_accepts_the_shared_options():
    # A command added later gets them by registering on the group: nothing to repeat per command.
    for name, command in lh.commands.items():
        flags = {opt for p in command.params for opt in p.opts}
        assert {"--json", "--option", "-o"} <= flags, name


@pytest.mark.parametrize("placement", ["before", "after"])
def test_storage_options_reach_the_store_from_either_place(local_uri, monkeypatch, placement):
    seen = {}
    monkeypatch.setattr(commands, "open_table",
                        lambda uri, storage_options: seen.update(storage_options) or lakehouse.open_table(uri))
    _table(local_uri)
    argv = (["-o", "a=1", "-o", "b=x=y", "info", local_uri] if placement == "before"
            else ["info", local_uri, "-o", "a=1", "--option", "b=x=y"])
    assert _run(*argv)[0] == 0
    assert seen == {"a": "1", "b": "x=y"}


def test_command_options_override_group_options(local_uri, monkeypatch):
    seen = {}
    monkeypatch.setattr(commands, "open_table",
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
        assert 1 <= int(limit) and len(out.splitlines()) == 1 + min(int(limit), 3)
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
     "unexpected RuntimeError while working on the table at /data/t (LH_DEBUG=1 shows the traceback)"),
])
def test_any_failure_is_one_line_without_internal_paths(monkeypatch, exc, expected):
    monkeypatch.setattr(commands, "open_table", _failing_open(exc))
    for argv in (["info", "/data/t"], ["history", "/data/t", "--limit", "1"]):
        code, out, err = _run(*argv)
        assert out == "" and _one_line_error(err, code, 1) == expected
        code, _, err = _run(*argv, "--json")
        assert code == 1 and json.loads(err) == {"error": expected, "type": type(exc).__name__}


def test_lh_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setattr(commands, "open_table", _failing_open(RuntimeError("boom")))
    monkeypatch.setenv("LH_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["info", "/data/t"])


def test_interrupt_exits_130(monkeypatch):
    monkeypatch.setattr(commands, "open_table", _failing_open(KeyboardInterrupt()))
    code, _, err = _run("info", "/data/t")
    assert code == 130 and err.endswith("error: interrupted\n")


def test_closed_pipe_is_silent(monkeypatch):
    monkeypatch.setattr(commands, "open_table", _failing_open(BrokenPipeError(32, "Broken pipe")))
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
