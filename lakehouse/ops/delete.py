"""Deleting the rows that match a predicate (spec/format.md, "Operations": delete), in either
write mode. `delete_rows` is the "remove the old rows" half that update and merge reuse.

- copy-on-write: files whose rows all match are removed, files matching in part are rewritten
  without those rows (ops/rewrite.py).
- merge-on-read: the matching rows' positions in each file are added to its deletion vector
  (spec/format.md, "Deletion vectors"); the file is re-added under the same path with the new
  vector, or removed if no live row is left. Data files are never rewritten.

Memory: one candidate file's predicate columns at a time, plus one bitmap per touched file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyroaring import BitMap64

from ..errors import CorruptTableError
from ..expressions.arrow_filter import RowFilter
from ..expressions.tree import AlwaysTrue, Expr, referenced_fields
from ..format.actions import Action, AddFile, RemoveFile, TableMetadata
from ..format.state import TableState
from ..format.deletion_vectors import read_deletion_vectors, write_deletion_vectors
from ..format.file_index import DV_COLUMN, add_files
from ..io import Store
from ..read.data_files import fields_reading, read_batches
from ..read.planning import plan_files
from .change_data import rewrite_change_data
from .rewrite import WriteFn, remove_matching


@dataclass(frozen=True, slots=True, kw_only=True)
class RowChanges:
    """The actions that delete some rows, and what they did.

    `change_data` (spec "Change data": the deleted rows, when a copy-on-write rewrite would
    make derived changes wrong; with the protocol action raising `change_feed` if needed),
    `removes` then `adds` go into one log entry: `adds` are the rewritten survivors
    (copy-on-write) and the same-path re-adds carrying new deletion vectors (merge-on-read).
    `new_positions` maps each re-added path to the positions this change newly deletes (its
    vector less the one it replaced): a concurrent commit is rebased by that (table/conflicts.py).
    """

    removes: tuple[RemoveFile, ...] = ()
    adds: tuple[AddFile, ...] = ()
    read_files: frozenset[str] = frozenset()
    deleted_rows: int = 0
    removed_files: int = 0
    deletion_vectors: int = 0
    new_positions: Mapping[str, BitMap64] = field(default_factory=dict)
    change_data: tuple[Action, ...] = ()

    @property
    def actions(self) -> list:
        return [*self.change_data, *self.removes, *self.adds]


def delete_rows(store: Store, state: TableState, predicate: Expr | None, mode: str, write: WriteFn, *,
                change_data: bool = True) -> RowChanges:
    """The actions removing the live rows matching `predicate` (bound; None: every row) from
    `state`, written in `mode` ("copy-on-write" or "merge-on-read"). Only files that may hold
    matching rows (partition and statistics pruning) are read. `change_data=False` leaves the
    change data to the caller (an update writes pre- and post-images instead of deletes)."""
    if mode == "copy-on-write":
        r = remove_matching(store, state, predicate, write)
        cdc = rewrite_change_data(store, state, predicate, r.removes, r.rewritten, ()) if change_data else []
        return RowChanges(removes=tuple(r.removes), adds=tuple(r.rewritten), read_files=r.read_files,
                          deleted_rows=r.deleted_rows, removed_files=len(r.removes), change_data=tuple(cdc))
    return _delete_with_vectors(store, state, predicate)


def _delete_with_vectors(store: Store, state: TableState, predicate: Expr | None) -> RowChanges:
    now = int(time.time() * 1000)
    index = plan_files(state, predicate).files
    adds = adds_from_index(index, state)
    matched = _matching_positions(store, state, index, predicate, [a.record_count for a in adds])
    olds = _old_vectors(store, [a for a, m in zip(adds, matched) if m])
    removes, gone, bitmaps, fresh, deleted = [], 0, {}, {}, 0
    for add, positions in zip(adds, matched):
        if not positions:
            continue
        old = olds.get(add.path, BitMap64())
        new = positions - old
        if not new:
            continue
        deleted += len(new)
        removes.append(RemoveFile(path=add.path, deletion_timestamp=now, size=add.size,
                                  record_count=add.record_count))
        if len(old) + len(new) == add.record_count:  # no live row left: the file just goes
            gone += 1
        else:
            bitmaps[add.path], fresh[add.path] = old | new, (add, new)
    written = write_deletion_vectors(store, bitmaps) if bitmaps else {}
    re_adds = tuple(replace(add, deletion_vector=written[path], modification_time=now)
                    for path, (add, _) in fresh.items())
    return RowChanges(removes=tuple(removes), adds=re_adds, read_files=frozenset(index["path"].to_pylist()),
                      deleted_rows=deleted, removed_files=gone, deletion_vectors=len(re_adds),
                      new_positions={path: new for path, (_, new) in fresh.items()})


def _old_vectors(store: Store, adds: list[AddFile]) -> dict[str, BitMap64]:
    """The current deletion vectors of `adds` (those that have one), read together."""
    with_dv = [a for a in adds if a.deletion_vector is not None]
    bitmaps = read_deletion_vectors(store, [(a.deletion_vector, a.record_count) for a in with_dv])
    return {a.path: b for a, b in zip(with_dv, bitmaps)}


def _matching_positions(store: Store, state: TableState, files: pa.Table, predicate: Expr | None,
                        record_counts: list[int]) -> list[BitMap64]:
    """For each file, the positions (in its row order, deleted rows included) of the rows
    matching `predicate`. The files are read as one stream (in order, their reads overlapping):
    global row offsets are cut into files at the cumulative record counts."""
    out = [BitMap64() for _ in record_counts]
    if predicate is None or isinstance(predicate, AlwaysTrue):
        for bitmap, count in zip(out, record_counts):
            bitmap.add_range(0, count)
        return out
    row_filter = RowFilter.of(predicate)
    fields = fields_reading(state.schema, referenced_fields(predicate))
    starts = np.concatenate([[0], np.cumsum(record_counts, dtype=np.int64)])
    offset = 0
    for batch in _raw_batches(store, state.metadata, files, fields):
        mask = row_filter.mask(pa.Table.from_batches([batch]))
        hits = np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)) + offset
        offset += batch.num_rows
        if not len(hits):
            continue
        first, last = np.searchsorted(starts, [hits[0], hits[-1]], side="right") - 1
        for f in range(first, last + 1):  # the files this batch's hits fall in (usually one)
            lo, hi = np.searchsorted(hits, [starts[f], starts[f + 1]])
            out[f].update((hits[lo:hi] - starts[f]).astype(np.uint64))
    if offset != starts[-1]:  # positions would land in the wrong file
        raise CorruptTableError(f"the data files hold {offset} rows where the log's record counts say {starts[-1]}")
    return out


def _raw_batches(store: Store, metadata: TableMetadata, files: pa.Table, fields) -> Iterator[pa.RecordBatch]:
    """Every row of the files in order, deleted ones included, so row offsets are positions."""
    plain = files.drop_columns([DV_COLUMN]) if DV_COLUMN in files.column_names else files
    return read_batches(store, metadata, plain, fields, None, ())


def adds_from_index(index: pa.Table, state: TableState) -> list[AddFile]:
    """The add actions of file-index rows, to re-add a file with a new deletion vector: the
    logged action where the state still holds it, else rebuilt from the row (a checkpoint's)."""
    logged = state.files.added
    rebuilt = iter(add_files(index.filter(pc.invert(pc.is_in(index["path"], pa.array(list(logged), pa.string())))),
                             state.metadata))
    return [logged.get(path) or next(rebuilt) for path in index["path"].to_pylist()]
