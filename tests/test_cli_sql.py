"""`lh sql`: a statement printed as a table, JSON or CSV; without one, a shell fed on stdin."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from lakehouse import catalog
from lakehouse.cli import main


@pytest.fixture
def warehouse(tmp_path):
    """A file catalog on local disk with one table, sales.orders."""
    uri = str(tmp_path / "wh")
    cat = catalog.connect(uri)
    cat.create_namespace("sales")
    t = cat.create_table("sales.orders", schema={"id": "int64", "amount": "double", "note": "string"})
    t.append({"id": [1, 2, 3], "amount": [1.5, -2.0, None], "note": ["a", None, "c,d"]})
    return uri


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def test_statement_as_json_and_table(warehouse):
    code, out = _run("sql", "SELECT id, amount FROM sales.orders WHERE amount IS NOT NULL ORDER BY id",
                     "--catalog", warehouse, "--json")
    assert code == 0 and json.loads(out) == [{"id": 1, "amount": 1.5}, {"id": 2, "amount": -2.0}]
    code, out = _run("sql", "SELECT count(*) AS n FROM sales.orders", "--catalog", warehouse)
    assert code == 0 and "n" in out and "3" in out


def test_dml_prints_the_count_and_commits(warehouse):
    code, out = _run("sql", "DELETE FROM sales.orders WHERE amount < 0", "--catalog", warehouse, "--json")
    assert code == 0 and json.loads(out) == [{"Count": 1}]
    assert catalog.connect(warehouse).load_table("sales.orders").version == 2


def test_csv(warehouse, capfdbinary):
    assert main(["sql", "SELECT id, note FROM sales.orders ORDER BY id", "--catalog", warehouse, "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capfdbinary.readouterr().out.decode())))
    assert rows == [["id", "note"], ["1", "a"], ["2", ""], ["3", "c,d"]]


def test_errors_are_one_line(warehouse, capsys):
    assert main(["sql", "SELECT nope FROM sales.orders", "--catalog", warehouse]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "nope" in err  # DuckDB's own words: the column it cannot find
    assert main(["sql", "SELECT error('boom') FROM sales.orders", "--catalog", warehouse]) == 1
    err = capsys.readouterr().err  # an error raised while the rows are read
    assert err.startswith("error: ") and "boom" in err and err.count("\n") == 1


def test_shell_reads_statements_from_stdin(warehouse, tmp_path):
    script = ("SELECT count(*) AS n FROM sales.orders;\n"
              "INSERT INTO sales.orders VALUES (4, 4.0, 'x;y'),\n  (5, NULL, NULL);\n"
              "SELECT nope;\n"
              "SELECT max(id) AS top FROM sales.orders;\n")
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-m", "lakehouse.cli", "sql", "--catalog", warehouse, "--json"],
                          input=script, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1  # one statement failed; the others ran
    outputs = [json.loads(chunk) for chunk in done.stdout.replace("]\n[", "]\x00[").split("\x00")]
    assert outputs == [[{"n": 3}], [{"Count": 2}], [{"top": 5}]]
    assert "error" in done.stderr


def test_interactive_lines_keep_history(tmp_path, monkeypatch):
    from lakehouse.cli import sql as sql_command

    typed = iter(["SELECT 1", "  + 1;", "SELECT 'a;b';"])
    prompts = []

    def fake_input(prompt: str) -> str:
        prompts.append(prompt)
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    history = tmp_path / "history"
    monkeypatch.setenv("LAKEHOUSE_HISTORY", str(history))
    monkeypatch.setattr("builtins.input", fake_input)
    assert list(sql_command.statements(sql_command._typed_lines())) == ["SELECT 1\n  + 1", "SELECT 'a;b'"]
    assert prompts == [sql_command.PROMPT, sql_command.MORE, sql_command.PROMPT, sql_command.PROMPT]
    pytest.importorskip("readline")
    assert history.exists()
