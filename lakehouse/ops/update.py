"""UPDATE (spec/format.md, "Operations", update): rows matching a predicate get new values,
computed by DuckDB from SQL expressions over the row (`expressions/sql_eval.py`).

Only files that may hold matching rows are read (partition and stats pruning first), one at a
time: memory is bounded by one data file plus the writer's buffers. Copy-on-write rewrites
each touched file: its rows in their original positions, the matching ones with new values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyroaring import BitMap64

from ..errors import ColumnNotFoundError, InvalidArgumentError
from ..expressions.arrow_filter import RowFilter
from ..expressions.sql_eval import SqlSession, quote
from ..expressions.tree import Expr
from ..format.actions import AddFile, RemoveFile
from ..format.change_data import CHANGE_FEED_FEATURE, CHANGE_TYPE, ChangeDataWriter
from ..format.deletion_vectors import live_mask, positions_array, read_deletion_vector, write_deletion_vectors
from ..format.schema import Schema
from ..format.types import Field
from ..format.state import TableState, with_writer_feature
from ..io import Store
from .change_data import ChangeReferences
from ..read.data_files import output_schema, read_batches
from ..read.planning import plan_files
from .delete import adds_from_index
from .rewrite import FileWrites
from ..table.casting import cast_array
from ..table.conform import conform_batches

WriteFn = Callable[[Iterator[pa.RecordBatch], TableState], list[AddFile]]
MERGE_ON_READ = "merge-on-read"


@dataclass(frozen=True, slots=True)
class RowRewrite:
    """The actions of a row-level change, what it read (for the conflict check) and did.
    `new_positions`: for each file re-added with a new deletion vector, the positions this
    change newly deletes (a concurrent commit is rebased by them, table/conflicts.py)."""

    removes: list[RemoveFile]
    adds: list[AddFile]
    read_files: frozenset[str]
    rows: int
    removed_files: int = 0
    deletion_vectors: int = 0
    new_positions: Mapping[str, BitMap64] = field(default_factory=dict)
    cdc: list = field(default_factory=list)  # change data actions (spec §16), and maybe a protocol action

    @property
    def new_files(self) -> list[AddFile]:
        """The adds of new data files (not the same-path re-adds carrying a deletion vector)."""
        return [a for a in self.adds if a.path not in self.new_positions]


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


@dataclass(frozen=True, slots=True)
class FileRows:
    """The live rows of one data file (current schema, file order), each row's position in the
    file (what a deletion vector marks), and the file's current deletion vector."""

    add: AddFile
    rows: pa.Table
    positions: pa.Array
    deleted: BitMap64


def candidate_files(state: TableState, predicate: Expr | None) -> tuple[pa.Table, list[AddFile]]:
    """The live files that may hold rows matching `predicate`, and their add actions."""
    index = plan_files(state, predicate).files
    return index, adds_from_index(index, state)


def read_file(store: Store, state: TableState, index: pa.Table, i: int, add: AddFile,
              fields: tuple[Field, ...] | None = None) -> FileRows:
    """Every live row of file `i` of `index` (its `fields`, by default all) with its file
    position (deleted rows are read, then dropped by the deletion vector, so positions are the
    file's own)."""
    one = index.slice(i, 1)
    plain = one.drop_columns([c for c in one.column_names if c.startswith("deletion_vector")])
    fields = state.schema.fields if fields is None else fields
    raw = pa.Table.from_batches(list(read_batches(store, state.metadata, plain, fields, None)),
                                schema=output_schema(fields))
    positions = pa.array(np.arange(raw.num_rows, dtype=np.int64))
    deleted = BitMap64() if add.deletion_vector is None else \
        read_deletion_vector(store, add.deletion_vector, add.record_count)
    if deleted:
        live = live_mask(positions_array(deleted), 0, raw.num_rows)
        if live is not None:
            raw, positions = raw.filter(live), positions.filter(live)
    return FileRows(add, raw, positions, deleted)


class VectorChanges:
    """Merge-on-read bookkeeping: positions newly deleted per file; `finish` writes one Puffin
    file of the new vectors and returns remove + same-path re-add (or just the remove when no
    live row is left) per file, as delete does (ops/delete.py)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[AddFile, BitMap64, BitMap64]] = {}

    def mark(self, file: FileRows, positions: pa.Array) -> None:
        if len(positions):
            self.files[file.add.path] = (file.add, file.deleted, BitMap64(np.asarray(positions, dtype=np.uint64)))

    def finish(self, store: Store) -> tuple[list[RemoveFile], list[AddFile], int, dict[str, BitMap64]]:
        removes, keep, gone = [], {}, 0
        for path, (add, old, new) in self.files.items():
            removes.append(removal(add))
            if len(old) + len(new) == add.record_count:
                gone += 1
            else:
                keep[path] = (add, old | new, new)
        written = write_deletion_vectors(store, {p: bits for p, (_, bits, _) in keep.items()}) if keep else {}
        now = int(time.time() * 1000)
        adds = [replace(add, deletion_vector=written[p], modification_time=now) for p, (add, _, _) in keep.items()]
        return removes, adds, gone, {p: new for p, (_, _, new) in keep.items()}


class ChangeBuffer:
    """The change data rows of an operation (spec §16), written to change data files as they
    are found (rolled at the target file size): memory stays bounded however many rows change.
    `abandon` after a failure closes an unfinished file (an orphan, never committed)."""

    def __init__(self, store: Store, state: TableState, schema: pa.Schema) -> None:
        self.state, self.schema, self.rows = state, schema, 0
        self.writer = ChangeDataWriter(store, state.metadata)

    def add(self, rows: pa.Table, kind: str) -> None:
        if not rows.num_rows:
            return
        for batch in rows.to_batches():
            columns = [cast_array(batch.column(i), f) for i, f in enumerate(self.schema)]
            self.writer.write(pa.RecordBatch.from_arrays(
                [*columns, pa.repeat(pa.scalar(kind), batch.num_rows)], names=[*self.schema.names, CHANGE_TYPE]))
        self.rows += rows.num_rows

    def actions(self) -> list:
        """The change data files' actions (none if nothing changed), preceded by the protocol
        action turning `change_feed` on if the table lacks it."""
        cdc = self.writer.close()
        return [*with_writer_feature(self.state.protocol, CHANGE_FEED_FEATURE), *cdc] if cdc else []

    def abandon(self) -> None:
        self.writer.abandon()


def in_place(table: pa.Table, mask: pa.Array, new: pa.Table) -> pa.Table:
    """`table` with the rows where `mask` is true replaced by `new`'s rows (in order): every
    row keeps its position. Only the columns whose values may differ are rebuilt, each by one
    copy with replacement (`replace_with_mask`; a gather of every row costs about twice as
    much), nested types, which that kernel lacks, by a gather."""
    if mask.null_count:  # a NULL predicate value does not match
        mask = pc.fill_null(mask, False)
    columns = []
    for name in table.column_names:
        old, value = table.column(name), new.column(name)
        columns.append(old if old is value else _replaced(old, mask, value.combine_chunks()))
    return pa.Table.from_arrays(columns, schema=table.schema)


def _replaced(old: pa.ChunkedArray, mask: pa.Array, values: pa.Array) -> pa.ChunkedArray:
    """`old` with its rows at `mask` replaced by `values`, chunk by chunk (no concatenation)."""
    chunks, start, used = [], 0, 0
    for chunk in old.chunks:
        hits = mask.slice(start, len(chunk))
        count = hits.true_count
        mine = values.slice(used, count)
        start, used = start + len(chunk), used + count
        try:
            chunks.append(pc.replace_with_mask(chunk, hits, mine) if count else chunk)
        except pa.ArrowNotImplementedError:  # lists, structs, maps
            index = np.arange(len(chunk), dtype=np.int64)
            index[np.asarray(hits.to_numpy(zero_copy_only=False), dtype=bool)] = len(chunk) + np.arange(count)
            chunks.append(pa.concat_arrays([chunk, mine]).take(pa.array(index)))
    return pa.chunked_array(chunks, old.type)


def removal(add: AddFile) -> RemoveFile:
    return RemoveFile(path=add.path, deletion_timestamp=int(time.time() * 1000), size=add.size,
                      record_count=add.record_count)


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
                mode: str, write: WriteFn) -> RowRewrite:
    """UPDATE in `mode`. Copy-on-write: each file holding matching rows is rewritten, every row
    in its position, the matching ones updated. Merge-on-read: the matching rows' positions
    join the file's deletion vector and the updated rows go to new files. The pre- and
    post-images are the change data."""
    index, adds = candidate_files(state, predicate)
    keep = RowFilter.of(predicate) if predicate is not None else None
    removes: list[RemoveFile] = []
    vectors = VectorChanges()
    references = ChangeReferences()
    updated = 0
    with SqlSession() as session:
        evaluate = SetEvaluator(session, state, set_sql)
        changes = ChangeBuffer(store, state, evaluate.schema)

        def rows() -> Iterator[tuple[pa.Table, pa.Table]]:
            """Per touched file: its updated rows, and (copy-on-write) its rewrite."""
            nonlocal updated
            for i, add in enumerate(adds):
                file = read_file(store, state, index, i, add)
                mask = _mask(keep, file.rows)
                matched = pc.sum(mask).as_py() or 0
                if not matched:
                    continue
                updated += matched
                new = evaluate(file.rows.filter(mask))
                if mode == MERGE_ON_READ:  # change data by reference (spec §16): nothing copied
                    positions = file.positions.filter(mask)
                    references.mark(add, "update_preimage", np.asarray(positions))
                    vectors.mark(file, positions)
                    yield new, new
                else:
                    changes.add(file.rows.filter(mask), "update_preimage")
                    removes.append(removal(add))
                    yield new, in_place(file.rows, mask, new)

        try:
            written = _write_rows(rows(), mode, write, state, evaluate.schema, changes)
            cdc = changes.actions()
        finally:
            changes.abandon()
    return finish_update(store, mode, removes, written, frozenset(index["path"].to_pylist()), updated, cdc,
                         vectors, references)


def finish_update(store: Store, mode: str, removes: list[RemoveFile], written: list[AddFile], read: frozenset[str],
                  updated: int, cdc: list, vectors: VectorChanges, references: ChangeReferences) -> RowRewrite:
    """An update's actions once its rows are written. Copy-on-write: the removed files and
    their rewrites, with the change data written. Merge-on-read: the new deletion vectors (a
    same-path re-add per file), the updated rows' new files, and change data by reference."""
    if mode != MERGE_ON_READ:
        return RowRewrite(removes, written, read, updated, removed_files=len(removes), cdc=cdc)
    references.whole("update_postimage", written)
    cdc = references.actions(store)
    removes, re_adds, gone, positions = vectors.finish(store)
    return RowRewrite(removes, [*re_adds, *written], read, updated, removed_files=gone,
                      deletion_vectors=len(re_adds), new_positions=positions, cdc=cdc)


def _write_rows(files: Iterator[tuple[pa.Table, pa.Table]], mode: str, write: WriteFn, state: TableState,
                schema: pa.Schema, changes: ChangeBuffer) -> list[AddFile]:
    """Merge-on-read: every file's updated rows to new files. Copy-on-write: each file's rewrite
    to new file(s) of its own, encoded beside the next file's work (ops/rewrite.py)."""
    def conformed(table: pa.Table) -> Iterator[pa.RecordBatch]:
        return conform_batches(pa.RecordBatchReader.from_batches(schema, table.to_batches()), state.schema)

    if mode == MERGE_ON_READ:
        return write((b for new, _ in files for b in conformed(new)), state)
    with FileWrites(write, state) as rewrites:
        for new, rewrite in files:
            rewrites.submit(list(conformed(rewrite)))
            changes.add(new, "update_postimage")  # once the rows passed the checks
        return rewrites.results()


def _mask(keep: RowFilter | None, table: pa.Table) -> pa.Array:
    if keep is None:
        return pa.array([True] * table.num_rows, pa.bool_()) if table.num_rows else pa.array([], pa.bool_())
    mask = keep.mask(table)
    return mask.combine_chunks() if isinstance(mask, pa.ChunkedArray) else mask
