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
from pyroaring import BitMap64

from ..expressions.arrow_filter import RowFilter
from ..expressions.tree import AlwaysTrue, Expr, referenced_fields
from ..format.actions import AddFile, RemoveFile, TableMetadata
from ..format.state import TableState
from ..format.stats import stats_to_json
from ..format.values import encode_value
from ..io import Store
from ..read.data_files import fields_reading, read_batches
from ..read.planning import plan_files
from .rewrite import WriteFn, remove_matching


@dataclass(frozen=True, slots=True, kw_only=True)
class RowChanges:
    """The actions that delete some rows, and what they did.

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

    @property
    def actions(self) -> list:
        return [*self.removes, *self.adds]


def delete_rows(store: Store, state: TableState, predicate: Expr | None, mode: str, write: WriteFn) -> RowChanges:
    """The actions removing the live rows matching `predicate` (bound; None: every row) from
    `state`, written in `mode` ("copy-on-write" or "merge-on-read"). Only files that may hold
    matching rows (partition and statistics pruning) are read."""
    if mode == "copy-on-write":
        r = remove_matching(store, state, predicate, write)
        return RowChanges(removes=tuple(r.removes), adds=tuple(r.rewritten), read_files=r.read_files,
                          deleted_rows=r.deleted_rows, removed_files=len(r.removes))
    return _delete_with_vectors(store, state, predicate)


def _delete_with_vectors(store: Store, state: TableState, predicate: Expr | None) -> RowChanges:
    from ..format.deletion_vectors import read_deletion_vector, write_deletion_vectors

    now = int(time.time() * 1000)
    index = plan_files(state, predicate).files
    removes, gone, bitmaps, fresh, deleted = [], 0, {}, {}, 0
    for i, add in enumerate(adds_from_index(index, state)):
        old = BitMap64() if add.deletion_vector is None else read_deletion_vector(store, add.deletion_vector,
                                                                                 add.record_count)
        new = _matching_positions(store, state, index.slice(i, 1), predicate, add.record_count) - old
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
    adds = tuple(replace(add, deletion_vector=written[path], modification_time=now)
                 for path, (add, _) in fresh.items())
    return RowChanges(removes=tuple(removes), adds=adds, read_files=frozenset(index["path"].to_pylist()),
                      deleted_rows=deleted, removed_files=gone, deletion_vectors=len(adds),
                      new_positions={path: new for path, (_, new) in fresh.items()})


def _matching_positions(store: Store, state: TableState, one_file: pa.Table, predicate: Expr | None,
                        record_count: int) -> BitMap64:
    """Positions (in the file's row order, deleted rows included) of the rows matching `predicate`."""
    if predicate is None or isinstance(predicate, AlwaysTrue):
        out = BitMap64()
        out.add_range(0, record_count)
        return out
    row_filter = RowFilter.of(predicate)
    fields = fields_reading(state.schema, referenced_fields(predicate))
    out, offset = BitMap64(), 0
    for batch in _raw_batches(store, state.metadata, one_file, fields):
        mask = row_filter.mask(pa.Table.from_batches([batch]))
        hits = np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool))
        out.update((hits + offset).astype(np.uint64))
        offset += batch.num_rows
    return out


def _raw_batches(store: Store, metadata: TableMetadata, one_file: pa.Table, fields) -> Iterator[pa.RecordBatch]:
    """Every row of the file, deleted ones included, so batch offsets are file positions."""
    plain = one_file.drop_columns([c for c in one_file.column_names if c.startswith("deletion_vector")])
    return read_batches(store, metadata, plain, fields, None, ())


def adds_from_index(index: pa.Table, state: TableState) -> list[AddFile]:
    """The add actions of file-index rows (for re-adding a file with a new deletion vector):
    the logged action where the state still holds it, else rebuilt from the row (a file
    listed by a checkpoint), with the partition values and statistics the row holds."""
    logged = state.files.added
    rows = index.to_pylist()
    return [logged.get(row["path"]) or _rebuilt(row, state.metadata) for row in rows]


def _rebuilt(row: dict, metadata: TableMetadata) -> AddFile:
    from ..format.deletion_vectors import DeletionVector

    spec = metadata.spec_by_id(row["spec_id"])
    schema = metadata.schema
    partition = {}
    for pf in spec.fields:
        source = schema.field_by_id(pf.source_id)
        key = str(pf.field_id)
        if source is not None and key in (row["partition"] or {}):
            partition[key] = encode_value(row["partition"][key], pf.transform.result_type(source.type))
    dv = row.get("deletion_vector")
    return AddFile(path=row["path"], size=row["size"], record_count=row["record_count"], spec_id=row["spec_id"],
                   schema_id=row["schema_id"], partition=partition, stats=_stats_json(row["stats"], metadata),
                   modification_time=row["modification_time"],
                   deletion_vector=None if dv is None else DeletionVector(**dv))


def _stats_json(stats: dict | None, metadata: TableMetadata) -> dict:
    from ..format.stats import ColumnStats

    decoded = {int(fid): ColumnStats(min=s["min"], max=s["max"], null_count=s["null_count"], nan_count=s["nan_count"])
               for fid, s in (stats or {}).items() if s is not None}
    return stats_to_json(decoded, metadata.schema)
