import json

import pyarrow as pa

import lakehouse
from lakehouse.cli import main


def _table(uri):
    t = lakehouse.create_table(uri, schema=pa.schema([("id", pa.int64())]))
    t.append(pa.table({"id": [1, 2]}))
    t.append(pa.table({"id": [3]}))
    return t


def test_info_text(local_uri, capsys):
    _table(local_uri)
    assert main(["info", local_uri]) == 0
    out = capsys.readouterr().out
    assert "version       2" in out and "rows          3" in out and "1:id int64" in out


def test_history_json(local_uri, capsys):
    _table(local_uri)
    assert main(["--json", "history", local_uri, "--limit", "2"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["version"] for r in rows] == [2, 1]
    assert rows[0]["metrics"]["num_added_rows"] == 1


def test_missing_table_is_an_error_exit(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope")]) == 1
    assert "no table" in capsys.readouterr().err


def test_empty_uri_is_a_one_line_error(capsys):
    for command in ("info", "history"):
        assert main([command, ""]) == 1
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.strip() == "error: the table URI is empty"


def test_bad_boolean_option_is_a_one_line_error(local_uri, capsys):
    _table(local_uri)
    assert main(["-o", "fsync=ture", "info", local_uri]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fsync='ture'" in err
