"""Row-level changes at given positions (spec/format.md, "Operations"): the rows a SQL DELETE or
UPDATE chose by a query the Python API's predicates cannot state (a subquery, a join through
USING / FROM), found by DuckDB as (file, position) pairs (lakehouse/duckdb/dml_general.py), then
deleted or replaced in either write mode exactly as ops/delete.py and ops/update.py do for a
predicate: copy-on-write rewrites each touched file, merge-on-read adds the positions to the
file's deletion vector (and writes updated rows to new files).

Memory: one touched file at a time, plus one bitmap per touched file; an update's new rows
arrive grouped by file (ordered by the query) and are consumed one file at a time.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyroaring import BitMap64

from ..format.actions import AddFile
from ..format.deletion_vectors import read_deletion_vector
from ..format.file_index import live_counts
from ..format.state import TableState
from ..io import Store
from ..read.data_files import output_schema
from ..read.planning import plan_files
from ..table.casting import cast_array
from ..table.conform import conform_batches
from .change_data import ChangeReferences
from .delete import RowChanges, adds_from_index
from .update import (MERGE_ON_READ, ChangeBuffer, FileRows, RowRewrite, VectorChanges, WriteFn, finish_update, in_place,
                     read_file, removal)

POSITION = "__lh_pos"  # the column of an update's rows holding each row's position in its file


def touched_files(state: TableState, paths: Iterable[str]) -> tuple[pa.Table, list[AddFile]]:
    """The file index rows and add actions of the live files `paths` (in index order)."""
    index = plan_files(state, None).files
    index = index.filter(pc.is_in(index["path"], pa.array(list(paths), pa.string())))
    return index, adds_from_index(index, state)


def delete_at(store: Store, state: TableState, positions: Mapping[str, np.ndarray], mode: str, write: WriteFn,
              read_files: frozenset[str]) -> RowChanges:
    """The actions deleting the live rows at `positions` (file path -> positions in that file);
    `read_files` are the files the choosing query read (for the conflict check)."""
    index, adds = touched_files(state, [p for p, v in positions.items() if len(v)])
    if mode == MERGE_ON_READ:
        vectors = VectorChanges()
        for add in adds:
            vectors.mark(_vector_only(store, add), pa.array(positions[add.path]))
        removes, re_adds, gone, fresh = vectors.finish(store)
        return RowChanges(removes=tuple(removes), adds=tuple(re_adds), read_files=read_files,
                          deleted_rows=sum(len(b) for b in fresh.values()) + _gone_rows(positions, removes, fresh),
                          removed_files=gone, deletion_vectors=len(re_adds), new_positions=fresh)
    changes = ChangeBuffer(store, state, output_schema(state.schema.fields))
    removes, deleted = [], 0
    # As ops/delete.py: change data only when a file keeps some rows (whole files removed
    # derive their deletes correctly, spec section 16).
    rewrites = any(len(positions[a.path]) < live for a, live in zip(adds, live_counts(index).to_pylist()))

    def survivors() -> Iterator[pa.RecordBatch]:
        nonlocal deleted
        for i, add in enumerate(adds):
            file = read_file(store, state, index, i, add)
            gone = pc.is_in(file.positions, pa.array(positions[add.path], pa.int64()))
            deleted += pc.sum(gone).as_py() or 0
            removes.append(removal(add))
            if rewrites:
                changes.add(file.rows.filter(gone), "delete")
            yield from file.rows.filter(pc.invert(gone)).to_batches()

    try:
        written = write(conform_batches(pa.RecordBatchReader.from_batches(
            output_schema(state.schema.fields), survivors()), state.schema), state)
        cdc = changes.actions()
    finally:
        changes.abandon()
    return RowChanges(removes=tuple(removes), adds=tuple(written), read_files=read_files, deleted_rows=deleted,
                      removed_files=len(removes), change_data=tuple(cdc))


def update_at(store: Store, state: TableState, updates: Iterator[tuple[str, pa.Table]], mode: str, write: WriteFn,
              read_files: frozenset[str]) -> RowRewrite:
    """The actions replacing live rows by new ones: `updates` yields (file path, its updated
    rows), each path once, the rows ordered by `POSITION` and carrying every column of the table
    (values of the column's type by DuckDB's cast)."""
    schema = output_schema(state.schema.fields)
    vectors, references, removes = VectorChanges(), ChangeReferences(), []
    changes = ChangeBuffer(store, state, schema)
    updated = 0

    index = plan_files(state, None).files
    row_of = {p: i for i, p in enumerate(index["path"].to_pylist())}

    def rows() -> Iterator[pa.RecordBatch]:
        nonlocal updated
        for path, new in updates:
            one = index.slice(row_of[path], 1)
            adds = adds_from_index(one, state)
            positions = new[POSITION].combine_chunks().cast(pa.int64())
            new = pa.Table.from_arrays([cast_array(new[f.name].combine_chunks(), f) for f in schema], schema=schema)
            updated += new.num_rows
            if mode == MERGE_ON_READ:  # change data by reference (spec §16): nothing copied
                references.mark(adds[0], "update_preimage", positions.to_numpy())
                vectors.mark(_vector_only(store, adds[0]), positions)
                yield from new.to_batches()
                continue
            file = read_file(store, state, one, 0, adds[0])
            mask = pc.is_in(file.positions, positions)
            changes.add(file.rows.filter(mask), "update_preimage")
            removes.append(removal(adds[0]))
            yield from in_place(file.rows, mask, new).to_batches()
            changes.add(new, "update_postimage")  # once the writer has checked them

    try:
        written = write(conform_batches(pa.RecordBatchReader.from_batches(schema, rows()), state.schema), state)
        cdc = changes.actions()
    finally:
        changes.abandon()
    return finish_update(store, mode, removes, written, read_files, updated, cdc, vectors, references)


def _vector_only(store: Store, add: AddFile) -> FileRows:
    """What deletion-vector bookkeeping needs of a file: its add action and current vector."""
    deleted = BitMap64() if add.deletion_vector is None else \
        read_deletion_vector(store, add.deletion_vector, add.record_count)
    return FileRows(add, pa.table({}), pa.array([], pa.int64()), deleted)


def _gone_rows(positions: Mapping[str, np.ndarray], removes: list, fresh: Mapping[str, BitMap64]) -> int:
    """Rows deleted from files removed whole (their last live rows went): not in `fresh`."""
    return sum(len(positions[r.path]) for r in removes if r.path not in fresh)
