"""The commands that read a table: info, history, files, schema, scan. Each parses its
arguments, calls the library and hands values to the output; none prints by itself."""

from __future__ import annotations

import click
import pyarrow.compute as pc

from ..format.file_index import live_counts
from ..table import Table
from .app import Columns, NonNegativeInt, PositiveInt, Run, examples, lh, open_table_at, table_uri
from .output import DATA_FORMATS, Size, format_size, write_data

# Rows `lh scan` shows as a table when no --limit is given (a table is for looking, not for export).
SHOWN_ROWS = 20


def _at(table: Table, version: int | None) -> Table:
    return table if version is None else table.at(version=version)


def _version_option(fn):
    return click.option("--version", "version", type=NonNegativeInt(), default=None,
                        help="Read that past version (default: the newest).")(fn)


@lh.command(short_help="Summary of the table at URI.",
            epilog=examples("lh info ./warehouse/events", "lh info s3://bucket/events --json"))
@table_uri
@_version_option
@click.pass_obj
def info(run: Run, uri: str, version: int | None) -> None:
    """Summary of the table at URI: version, schema, partitioning, sort order, files, rows and bytes."""
    table = _at(open_table_at(run, uri), version)
    state = table.state
    index = state.file_index()
    run.output.record(f"table {table.uri}", {
        "version": state.version,
        "table_id": state.metadata.table_id,
        "protocol": f"reader {state.protocol.reader_version}, writer {state.protocol.writer_version}",
        "schema": [f"{f.id}:{f.name} {f.type}{' NOT NULL' if f.required else ''}" for f in state.schema.fields],
        "partitioning": _partitioning(table) or "unpartitioned",
        "sort_order": _sort_order(table) or "none",
        "files": index.num_rows,
        "rows": int(pc.sum(live_counts(index)).as_py() or 0),  # less rows deleted by DVs
        "bytes": Size(pc.sum(index["size"]).as_py() or 0),
        "tags": table.tags(),
        "properties": dict(state.metadata.properties),
    })


def _partitioning(table: Table) -> list[str]:
    return [f"{pf.name}={pf.describe(table.schema)}" for pf in table.partition_spec.fields]


def _sort_order(table: Table) -> list[str]:
    return [f.describe(table.schema) for f in table.sort_order]


@lh.command(short_help="Commits, newest first.",
            epilog=examples("lh history ./warehouse/events --limit 10", "lh history ./warehouse/events --json"))
@table_uri
@click.option("--limit", type=PositiveInt(), default=None,
              help="Show at most N commits (a positive whole number).")
@click.pass_obj
def history(run: Run, uri: str, limit: int | None) -> None:
    """Commits of the table at URI, newest first: version, time (UTC), operation, its
    parameters and metrics."""
    rows = [(h.version, h.timestamp, h.operation, h.parameters, h.metrics)
            for h in open_table_at(run, uri).history(limit=limit)]
    run.output.rows(["version", "timestamp", "operation", "parameters", "metrics"], rows)


@lh.command(short_help="The data files a read would open.",
            epilog=examples("lh files ./warehouse/events",
                            "lh files ./warehouse/events --where \"day = '2024-03-01'\""))
@table_uri
@click.option("--where", default=None, metavar="SQL",
              help="Only the files a read with this filter opens (after partition and statistics pruning).")
@_version_option
@click.pass_obj
def files(run: Run, uri: str, where: str | None, version: int | None) -> None:
    """The data files of the table at URI (paths relative to it), in commit order: partition,
    rows, rows deleted by deletion vectors and size. --json adds column statistics."""
    plan = open_table_at(run, uri).scan(where=where, version=version).files_table()
    if run.json:
        run.output.rows(plan.column_names, [list(r.values()) for r in plan.to_pylist()])
        return
    records = plan.select(["path", "partition", "live_count", "record_count", "size"]).to_pylist()
    rows = [(r["path"], r["partition"] or "", r["live_count"], r["record_count"] - r["live_count"], Size(r["size"]))
            for r in records]
    total = Size(sum(r[4] for r in rows))
    run.output.rows(["path", "partition", "rows", "deleted", "size"], rows,
                    footer=f"{len(rows)} files, {sum(r[2] for r in rows)} rows, {format_size(total)}")


@lh.command(short_help="Columns, partitioning and sort order.",
            epilog=examples("lh schema ./warehouse/events", "lh schema ./warehouse/events --json"))
@table_uri
@_version_option
@click.pass_obj
def schema(run: Run, uri: str, version: int | None) -> None:
    """The schema of the table at URI: each column with its field id and type (nested fields
    indented), then partitioning and sort order."""
    table = _at(open_table_at(run, uri), version)
    if run.json:
        run.output.record("schema", {**table.schema.to_json(), "partition_spec": table.partition_spec.to_json(),
                                     "sort_order": [f.to_json() for f in table.sort_order]})
        return
    run.output.record(f"schema of {table.uri} at version {table.version}", {
        "columns": str(table.schema).splitlines(),
        "partitioning": _partitioning(table) or "unpartitioned",
        "sort_order": _sort_order(table) or "none",
    })


@lh.command(short_help="Read rows: a table to look at, or csv, json, parquet.",
            epilog=examples("lh scan ./warehouse/events --where \"amount > 10\" --columns id,amount --limit 5",
                            "lh scan ./warehouse/events --version 3 --format csv > events.csv",
                            "lh scan ./warehouse/events --format parquet --output events.parquet"))
@table_uri
@click.option("--where", default=None, metavar="SQL", help="A filter in SQL (DuckDB syntax), e.g. \"id > 5\".")
@click.option("--columns", type=Columns(), default=None, help="Only these columns, separated by commas.")
@click.option("--limit", type=PositiveInt(), default=None,
              help=f"At most N rows (--format table shows {SHOWN_ROWS} unless told).")
@_version_option
@click.option("--format", "fmt", type=click.Choice(DATA_FORMATS), default=None,
              help="table (for people; the default), csv, json (an array of objects; the default with --json) "
                   "or parquet (needs --output).")
@click.option("--output", "path", type=click.Path(dir_okay=False, writable=True), default=None, metavar="FILE",
              help="Write to FILE instead of stdout (-o is --option, the storage option, on every command).")
@click.pass_obj
def scan(run: Run, uri: str, where: str | None, columns: tuple[str, ...] | None, limit: int | None,
         version: int | None, fmt: str | None, path: str | None) -> None:
    """Rows of the table at URI, in commit order: as a table to look at, or streamed as csv,
    json or parquet to stdout or --output FILE."""
    fmt = fmt or ("json" if run.json else "table")
    if fmt == "parquet" and path is None:
        raise click.UsageError("--format parquet needs --output FILE (Parquet is not for a terminal)")
    if fmt == "table" and path is not None:
        raise click.UsageError("--output needs --format csv, json or parquet")
    table = open_table_at(run, uri)
    shown = limit or SHOWN_ROWS + 1  # one more than shown says whether there are more
    reader = table.scan(where=where, columns=columns, version=version,
                        limit=shown if fmt == "table" else limit).to_batches()
    if fmt == "table":
        rows = reader.read_all()
        run.output.rows(rows.column_names, [list(r.values()) for r in rows.slice(0, limit or SHOWN_ROWS).to_pylist()])
        if limit is None and rows.num_rows > SHOWN_ROWS:
            run.output.note(f"(the first {SHOWN_ROWS} rows; --limit N shows more, --format csv|json|parquet exports)")
        return
    written = write_data(reader, fmt, path)
    if path is not None:
        run.output.record(f"wrote {written} rows to {path}", {"rows": written, "path": path, "format": fmt})
