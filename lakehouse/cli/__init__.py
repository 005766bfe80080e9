"""`lh`: inspect and maintain lakehouse tables from the shell.

    lh info URI [--json]          the table's version, schema, partitioning, files and rows
    lh history URI [--limit N]    commits, newest first

Credentials and endpoints come from the standard environment (AWS_* variables for S3) or
repeated `--option key=value` storage options; they are never printed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import pyarrow.compute as pc

from ..errors import LakehouseError
from ..table.handle import open_table
from .output import JsonOutput, TextOutput


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lh", description="Inspect and maintain lakehouse tables.")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument("--option", "-o", action="append", default=[], metavar="KEY=VALUE",
                        help="a storage option (repeatable)")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="summary of a table")
    info.add_argument("uri")
    history = sub.add_parser("history", help="commits, newest first")
    history.add_argument("uri")
    history.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    out = JsonOutput() if args.json else TextOutput()
    try:
        options = _options(args.option)
        table = open_table(args.uri, storage_options=options or None)
        if args.command == "info":
            _info(table, out)
        else:
            _history(table, out, args.limit)
    except LakehouseError as e:
        out.error(str(e))
        return 1
    return 0


def _options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise LakehouseError(f"--option wants KEY=VALUE, got {key!r}")
        options[key] = value
    return options


def _info(table, out) -> None:
    state = table.state
    index = state.file_index()
    out.record(f"table {table.uri}", {
        "version": state.version,
        "table_id": state.metadata.table_id,
        "protocol": f"reader {state.protocol.reader_version}, writer {state.protocol.writer_version}",
        "schema": [f"{f.id}:{f.name} {f.type}{' NOT NULL' if f.required else ''}" for f in state.schema.fields],
        "partitioning": [f"{pf.name}={pf.transform}({'.'.join(state.schema.path_of(pf.source_id) or ('?',))})"
                         for pf in state.metadata.partition_spec.fields] or "unpartitioned",
        "files": index.num_rows,
        "rows": int(pc.sum(index["record_count"]).as_py() or 0),
        "bytes": int(pc.sum(index["size"]).as_py() or 0),
        "properties": dict(state.metadata.properties),
    })


def _history(table, out, limit: int | None) -> None:
    rows = [(h.version, h.timestamp, h.operation, h.parameters, h.metrics) for h in table.history(limit=limit)]
    out.rows(["version", "timestamp", "operation", "parameters", "metrics"], rows)


if __name__ == "__main__":
    sys.exit(main())
