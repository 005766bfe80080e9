"""Removing the rows that match a predicate (spec/format.md, "Operations"): the copy-on-write
half of `overwrite(where=...)`, and the base later row-level deletes and updates build on."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator

import pyarrow as pa

from ..expressions.arrow_filter import RowFilter
from ..expressions.tree import AlwaysTrue, Expr, referenced_fields
from ..format.actions import AddFile, RemoveFile
from ..format.file_index import live_counts
from ..format.state import TableState
from ..io import Store
from ..read.data_files import fields_reading, read_batches
from ..read.planning import plan_files

WriteFn = Callable[[Iterator[pa.RecordBatch], TableState], list[AddFile]]


@dataclass(frozen=True, slots=True)
class Removal:
    removes: list[RemoveFile]
    rewritten: list[AddFile]
    read_files: frozenset[str]
    deleted_rows: int


def remove_matching(store: Store, state: TableState, predicate: Expr | None, write: WriteFn) -> Removal:
    """Remove the live files holding rows that match `predicate` (every file if None). A file
    whose rows all match is dropped whole; one matching in part is rewritten without them.
    Rows a file's deletion vector marks are not its rows: they are neither counted nor kept.

    Each candidate is first read for the predicate's columns only, so files that match entirely
    (a whole partition, typically) or not at all are decided without reading their data.
    """
    now = int(time.time() * 1000)
    index = plan_files(state, predicate).files
    removes, rewritten, deleted = [], [], 0
    rows = index.select(["path", "size", "record_count"]).to_pylist()
    live = live_counts(index).to_pylist()  # rows less those deletion vectors mark
    for i, row in enumerate(rows):
        one = index.slice(i, 1)
        if predicate is None or isinstance(predicate, AlwaysTrue):  # every row matches: nothing to read
            matched = live[i]
        else:
            matched = _count_matching(store, state, one, predicate)
            if matched == 0:
                continue
            if matched < live[i]:
                rewritten.extend(write(_rows_not_matching(store, state, one, predicate), state))
        deleted += matched
        removes.append(RemoveFile(path=row["path"], deletion_timestamp=now, size=row["size"],
                                  record_count=row["record_count"]))
    return Removal(removes, rewritten, frozenset(index["path"].to_pylist()), deleted)


def _count_matching(store: Store, state: TableState, one_file: pa.Table, predicate: Expr) -> int:
    fields = fields_reading(state.schema, referenced_fields(predicate))
    return sum(b.num_rows for b in read_batches(store, state.metadata, one_file, fields,
                                                RowFilter.of(predicate), fields))


def _rows_not_matching(store: Store, state: TableState, one_file: pa.Table, predicate: Expr) -> Iterator[pa.RecordBatch]:
    """The file's rows where the predicate is false or NULL, as batches of the table's schema."""
    keep = RowFilter.of(predicate, negate=True)
    fields = state.schema.fields
    target = state.schema.to_arrow()
    for batch in read_batches(store, state.metadata, one_file, fields, keep, fields):
        yield pa.RecordBatch.from_arrays(batch.columns, schema=target)
