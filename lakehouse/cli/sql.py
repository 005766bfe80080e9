"""`lh sql`: DuckDB SQL over the catalog's tables (lakehouse.duckdb), printed through the output
layer: a table for people, `--json` for scripts, `--csv` for files.

    lh sql "SELECT category, sum(amount) FROM sales.orders GROUP BY 1"
    lh sql "DELETE FROM sales.orders WHERE amount < 0" --catalog sqlite:///wh/catalog.db
    lh sql                     an interactive shell (statements end with `;`; history in
                               ~/.lakehouse_history, or $LAKEHOUSE_HISTORY); from a pipe, the
                               statements read from stdin are run in order
"""

from __future__ import annotations

import os
import sys
from typing import Any, Iterable, Iterator

import click
import pyarrow as pa

from .app import Run, examples, lh

SHOWN_ROWS = 1000  # rows drawn as a table for people (--json / --csv write them all)
PROMPT, MORE = "lh> ", "... "


@lh.command(short_help="Run DuckDB SQL over the catalog's tables (no statement: a shell).",
            epilog=examples("lh sql \"SELECT category, sum(amount) FROM sales.orders GROUP BY 1\"",
                            "lh sql \"DELETE FROM sales.orders WHERE amount < 0\" --json",
                            "lh sql                                  # an interactive shell"))
@click.argument("statement", required=False)
@click.option("--catalog", "catalog_uri", default=None, metavar="URI",
              help="The catalog (default: the configured default catalog).")
@click.option("--csv", "csv_", is_flag=True, default=False, help="Print the result as CSV.")
@click.pass_obj
def sql(run: Run, statement: str | None, catalog_uri: str | None, csv_: bool) -> int:
    """Run STATEMENT (DuckDB SQL; `ns.table` names a catalog table) and print its result.
    Without STATEMENT: an interactive shell, or the statements piped on stdin."""
    con = _connect(run, catalog_uri)
    if statement is not None:
        _statement(run, con, statement, csv_)
        return 0
    if sys.stdin.isatty():
        return _shell(run, con, csv_, _typed_lines())
    return _shell(run, con, csv_, sys.stdin)


def _statement(run: Run, con: Any, text: str, csv_: bool) -> None:
    """Run one statement and print its result. DuckDB's own errors (a typo, an unknown column,
    a failing cast while rows are read) are the user's: reported in DuckDB's words."""
    import duckdb

    try:
        _show(run, con.sql(text), csv_)
    except duckdb.Error as e:
        raise click.ClickException(str(e).strip().splitlines()[0]) from None


def _connect(run: Run, uri: str | None) -> Any:
    from .. import catalog
    from .. import duckdb as lh_duckdb

    options = run.options or None
    cat = catalog.connect(uri, storage_options=options) if uri else catalog.load_catalog()
    return lh_duckdb.connect(cat)


def statements(lines: Iterable[str]) -> Iterator[str]:
    """Complete statements (ending with `;`, outside quotes) from `lines`; the rest at the end.

    >>> list(statements(["SELECT 1;", "SELECT ';'", "  , 2; SELECT 3"]))
    ['SELECT 1', "SELECT ';'\\n  , 2", 'SELECT 3']
    """
    pending = ""
    for line in lines:
        pending = f"{pending}\n{line}" if pending else line
        parts = _split(pending)
        pending = parts.pop()
        yield from (p.strip() for p in parts if p.strip())
    if pending.strip():
        yield pending.strip()


def _split(text: str) -> list[str]:
    """`text` cut at each `;` outside quotes (the last part is unfinished)."""
    parts, start, quote = [], 0, None
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in ("'", '"'):
            quote = ch
        elif ch == ";":
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def _shell(run: Run, con: Any, csv_: bool, lines: Iterable[str]) -> int:
    """Run each statement; a failing one prints its error and the shell goes on (exit code 1
    at the end if any failed)."""
    from .boundary import describe

    failed = False
    for text in statements(lines):
        if text.lower() in (".quit", ".exit", "quit", "exit"):
            break
        try:
            _statement(run, con, text, csv_)
        except Exception as e:  # noqa: BLE001 - one statement's failure, reported as `lh` reports
            message, _ = describe(e, run)
            run.output.error(message, kind=type(e).__name__)
            failed = True
    return 1 if failed else 0


def _typed_lines() -> Iterator[str]:
    """Lines typed at the prompt, with readline editing and a history file."""
    history = os.environ.get("LAKEHOUSE_HISTORY") or os.path.expanduser("~/.lakehouse_history")
    try:
        import readline
    except ImportError:  # Windows without pyreadline: no history, still a shell
        readline = None
    if readline is not None:
        try:
            readline.read_history_file(history)
        except OSError:
            pass
    typed = ""  # what was typed since the last complete statement
    try:
        while True:
            try:
                line = input(MORE if typed.strip() else PROMPT)
            except EOFError:
                print(file=sys.stderr)
                return
            typed = _split(f"{typed}\n{line}")[-1]
            yield line
    finally:
        if readline is not None:
            try:
                readline.write_history_file(history)
            except OSError:
                pass


def _show(run: Run, result: Any, csv_: bool) -> None:
    """Print a statement's result (nothing for a statement without one, such as CREATE VIEW)."""
    if result is None:
        return
    reader = result.to_arrow_reader() if hasattr(result, "to_arrow_reader") else result
    if csv_:
        import pyarrow.csv as pacsv

        sys.stdout.flush()
        with pacsv.CSVWriter(sys.stdout.buffer, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
        sys.stdout.buffer.flush()
        return
    limit = None if run.json else SHOWN_ROWS
    rows, more = _rows(reader, limit)
    run.output.rows(reader.schema.names, rows)
    if more:
        print(f"(the first {SHOWN_ROWS} rows; --csv or --json print them all)", file=sys.stderr)


def _rows(reader: pa.RecordBatchReader, limit: int | None) -> tuple[list[tuple], bool]:
    """The result's rows as tuples (up to `limit`), and whether more were left out (columns
    are taken by position: a result may repeat a name)."""
    rows: list[tuple] = []
    for batch in reader:
        if limit is not None and len(rows) + batch.num_rows > limit:
            batch = batch.slice(0, limit - len(rows))
            rows.extend(zip(*(c.to_pylist() for c in batch.columns)))
            return rows, True
        rows.extend(zip(*(c.to_pylist() for c in batch.columns)))
    return rows, False
