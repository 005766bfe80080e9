"""UPDATE (spec/format.md, "Operations", update): rows matching a predicate get new values,
computed by DuckDB from SQL expressions over the row (`expressions/sql_eval.py`).

Only files that may hold matching rows are read (partition and stats pruning first), one at a
time: memory is bounded by one data file plus the writer's buffers. Copy-on-write rewrites
each touched file: its rows in their original positions, the matching ones with new values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ColumnNotFoundError, InvalidArgumentError
from ..expressions.arrow_filter import RowFilter
from ..expressions.sql_eval import SqlSession, quote
from ..expressions.tree import Expr
from ..format.actions import AddFile, RemoveFile
from ..format.schema import Schema
from ..format.state import TableState
from ..io import Store
from ..read.data_files import output_schema, read_batches
from ..read.planning import plan_files
from ..table.casting import cast_array
from ..table.conform import conform_batches

WriteFn = Callable[[Iterator[pa.RecordBatch], TableState], list[AddFile]]
MODES = ("copy-on-write", "merge-on-read")


@dataclass(frozen=True, slots=True)
class RowRewrite:
    """The actions of a row-level change and what it read (for the conflict check)."""

    removes: list[RemoveFile]
    adds: list[AddFile]
    read_files: frozenset[str]
    rows: int


def write_mode(state: TableState, key: str, mode: str | None) -> str:
    """The call's `mode`, else the table property `key`, else copy-on-write (spec §13)."""
    chosen = mode if mode is not None else state.metadata.properties.get(key, "copy-on-write")
    if chosen not in MODES:
        raise InvalidArgumentError(f"{key if mode is None else 'mode'} must be one of {', '.join(MODES)}, "
                                   f"not {chosen!r}")
    return chosen


def resolve_columns(schema: Schema, names: Mapping[str, object], what: str) -> dict[str, str]:
    """Each key of `names` as the table's top-level column it means (exact, else the unique
    case-insensitive match, as predicates resolve names); ColumnNotFoundError otherwise."""
    if not isinstance(names, Mapping) or not names:
        raise InvalidArgumentError(f"{what} must be a non-empty dict of column name -> SQL expression")
    out: dict[str, str] = {}
    for key, value in names.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidArgumentError(f"{what}: column names and SQL expressions must be strings, "
                                       f"got {key!r}: {value!r}")
        found = [n for n in schema.names if n == key] or [n for n in schema.names if n.lower() == key.lower()]
        if len(found) != 1:
            raise ColumnNotFoundError(f"{what}: no column {key!r} (columns: {', '.join(schema.names)})")
        if found[0] in out:
            raise InvalidArgumentError(f"{what}: column {found[0]!r} is given twice")
        out[found[0]] = value
    return out


def read_file(store: Store, state: TableState, one_file: pa.Table) -> pa.Table:
    """Every row of one data file under the current schema, in the file's order."""
    fields = state.schema.fields
    return pa.Table.from_batches(list(read_batches(store, state.metadata, one_file, fields, None)),
                                 schema=output_schema(fields))


def in_place(table: pa.Table, mask: pa.Array, new: pa.Table) -> pa.Table:
    """`table` with the rows where `mask` is true replaced by `new`'s rows (in order): every
    row keeps its position. Only the columns whose values may differ are gathered."""
    n = table.num_rows
    rank = pc.subtract(pc.cumulative_sum(mask.cast(pa.int64())), 1)
    index = pc.if_else(mask, pc.add(rank, n), pa.array(range(n), pa.int64()))
    columns = []
    for name in table.column_names:
        old, value = table.column(name), new.column(name)
        columns.append(old if old is value else pa.concat_arrays(
            [old.combine_chunks(), value.combine_chunks()]).take(index))
    return pa.Table.from_arrays(columns, schema=table.schema)


def removal(row: dict) -> RemoveFile:
    return RemoveFile(path=row["path"], deletion_timestamp=int(time.time() * 1000), size=row["size"],
                      record_count=row["record_count"])


class SetEvaluator:
    """SET expressions checked once, then evaluated over the matching rows of each file: the
    result has the table's columns, SET ones cast (DuckDB's cast) to the column's type."""

    def __init__(self, session: SqlSession, state: TableState, set_sql: Mapping[str, str]) -> None:
        self.session, self.set_sql = session, dict(set_sql)
        self.schema = output_schema(state.schema.fields)
        types = session.duck_types(self.schema)
        for name, sql in self.set_sql.items():
            session.check(sql, f"SET {name}", {"target": self.schema}, ["target"])
        self.select = ", ".join(
            session.cast(self.set_sql[f.name], t) if f.name in self.set_sql else f"target.{quote(f.name)}"
            for f, t in zip(self.schema, types))

    def __call__(self, rows: pa.Table) -> pa.Table:
        self.session.register("target", rows)
        try:
            result = self.session.query(f"SELECT {self.select} FROM target", "SET")
        finally:
            self.session.unregister("target")
        columns = [cast_array(result.column(i).combine_chunks(), f) if f.name in self.set_sql else rows.column(f.name)
                   for i, f in enumerate(self.schema)]
        return pa.Table.from_arrays(columns, schema=self.schema)


def update_rows(store: Store, state: TableState, predicate: Expr | None, set_sql: Mapping[str, str],
                write: WriteFn) -> RowRewrite:
    """Copy-on-write UPDATE: each file holding matching rows is rewritten with them updated."""
    index = plan_files(state, predicate).files
    keep = RowFilter.of(predicate) if predicate is not None else None
    removes: list[RemoveFile] = []
    updated = 0
    with SqlSession() as session:
        evaluate = SetEvaluator(session, state, set_sql)

        def rows() -> Iterator[pa.RecordBatch]:
            nonlocal updated
            for i, row in enumerate(index.select(["path", "size", "record_count"]).to_pylist()):
                table = read_file(store, state, index.slice(i, 1))
                mask = _mask(keep, table)
                matched = pc.sum(mask).as_py() or 0
                if not matched:
                    continue
                updated += matched
                removes.append(removal(row))
                yield from in_place(table, mask, evaluate(table.filter(mask))).to_batches()

        reader = pa.RecordBatchReader.from_batches(evaluate.schema, rows())
        adds = write(conform_batches(reader, state.schema), state)
    return RowRewrite(removes, adds, frozenset(index["path"].to_pylist()), updated)


def _mask(keep: RowFilter | None, table: pa.Table) -> pa.Array:
    if keep is None:
        return pa.array([True] * table.num_rows, pa.bool_()) if table.num_rows else pa.array([], pa.bool_())
    mask = keep.mask(table)
    return mask.combine_chunks() if isinstance(mask, pa.ChunkedArray) else mask
