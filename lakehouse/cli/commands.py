"""The `lh` commands: each parses its arguments, calls the library and hands records to the output."""

from __future__ import annotations

import click
import pyarrow.compute as pc

from .. import catalog
from ..format.file_index import live_counts
from ..table import Table, open_table
from .app import PositiveInt, Run, lh, table_uri


def _open(run: Run, uri: str) -> Table:
    # `ns.table` names a table in the default catalog; a URI or a path is opened as it is.
    return open_table(catalog.resolve(uri, run.options or None), storage_options=run.options or None)


@lh.command(short_help="Summary of the table at URI.")
@table_uri
@click.pass_obj
def info(run: Run, uri: str) -> None:
    """Summary of the table at URI: version, schema, partitioning, files, rows and bytes."""
    table = _open(run, uri)
    state = table.state
    index = state.file_index()
    run.output.record(f"table {table.uri}", {
        "version": state.version,
        "table_id": state.metadata.table_id,
        "protocol": f"reader {state.protocol.reader_version}, writer {state.protocol.writer_version}",
        "schema": [f"{f.id}:{f.name} {f.type}{' NOT NULL' if f.required else ''}" for f in state.schema.fields],
        "partitioning": [f"{pf.name}={pf.transform}({'.'.join(state.schema.path_of(pf.source_id) or ('?',))})"
                         for pf in state.metadata.partition_spec.fields] or "unpartitioned",
        "files": index.num_rows,
        "rows": int(pc.sum(live_counts(index)).as_py() or 0),  # less rows deleted by DVs
        "bytes": int(pc.sum(index["size"]).as_py() or 0),
        "properties": dict(state.metadata.properties),
    })


@lh.command()
@table_uri
@click.option("--limit", type=PositiveInt(), default=None,
              help="Show at most N commits (a positive whole number).")
@click.pass_obj
def history(run: Run, uri: str, limit: int | None) -> None:
    """Commits of the table at URI, newest first."""
    rows = [(h.version, h.timestamp, h.operation, h.parameters, h.metrics)
            for h in _open(run, uri).history(limit=limit)]
    run.output.rows(["version", "timestamp", "operation", "parameters", "metrics"], rows)
