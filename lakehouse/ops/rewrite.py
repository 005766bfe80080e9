"""Removing the rows that match a predicate (spec/format.md, "Operations"): the copy-on-write
half of `overwrite(where=...)`, and the base later row-level deletes and updates build on."""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
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
# Rewritten files encoded at once beside the caller's work (decoding and joining the next file).
REWRITES_IN_FLIGHT = 2


class FileWrites:
    """Copy-on-write rewrites, each file's surviving rows written as file(s) of their own on a
    small pool while the caller prepares the next: the encoding of one overlaps the decoding of
    the next (both release the GIL), and no rewrite waits to fill a target-size file. Memory:
    at most REWRITES_IN_FLIGHT rewritten files held by the pool, plus the one being prepared.
    `results` gives the adds in submission order (so rows keep the table's order)."""

    def __init__(self, write: WriteFn, state: TableState) -> None:
        self.write, self.state = write, state
        self.pool: ThreadPoolExecutor | None = None
        self.pending: deque[Future] = deque()
        self.done: list[AddFile] = []

    def submit(self, batches: list[pa.RecordBatch]) -> None:
        """Write `batches` (conformed to the table's schema) as new files."""
        if self.pool is None:
            self.pool = ThreadPoolExecutor(REWRITES_IN_FLIGHT, thread_name_prefix="lakehouse-rewrite")
        while len(self.pending) >= REWRITES_IN_FLIGHT:
            self.done.extend(self.pending.popleft().result())
        self.pending.append(self.pool.submit(self.write, iter(batches), self.state))

    def results(self) -> list[AddFile]:
        while self.pending:
            self.done.extend(self.pending.popleft().result())
        return self.done

    def close(self) -> None:
        """Wait for every write (after a failure, their files are orphans no commit names)."""
        for f in self.pending:
            f.cancel()
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    def __enter__(self) -> "FileWrites":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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
    removes, deleted = [], 0
    rows = index.select(["path", "size", "record_count"]).to_pylist()
    live = live_counts(index).to_pylist()  # rows less those deletion vectors mark
    with FileWrites(write, state) as rewrites:
        for i, row in enumerate(rows):
            one = index.slice(i, 1)
            if predicate is None or isinstance(predicate, AlwaysTrue):  # every row matches: nothing to read
                matched = live[i]
            else:
                matched = _count_matching(store, state, one, predicate)
                if matched == 0:
                    continue
                if matched < live[i]:
                    rewrites.submit(list(_rows_not_matching(store, state, one, predicate)))
            deleted += matched
            removes.append(RemoveFile(path=row["path"], deletion_timestamp=now, size=row["size"],
                                      record_count=row["record_count"]))
        rewritten = rewrites.results()
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
