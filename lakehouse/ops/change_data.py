"""Change data for operations whose adds and removes would misstate their changes
(spec/format.md, "Change data"): written as `cdc` files in the operation's own entry."""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyroaring import BitMap64

from ..expressions.arrow_filter import RowFilter
from ..expressions.tree import Expr
from ..format.actions import Action, AddCdcFile, AddFile, RemoveFile
from ..format.change_data import CHANGE_FEED_FEATURE, CHANGE_TYPE, write_change_data
from ..format.deletion_vectors import write_deletion_vectors
from ..format.file_index import build_file_index
from ..format.state import TableState, with_writer_feature
from ..io import Store
from ..read.data_files import read_batches


def change_data_actions(store: Store, state: TableState, batches: Iterable[pa.RecordBatch]) -> list[Action]:
    """Write `batches` (the current schema's columns, then `_change_type`) as change data files
    and return their `cdc` actions, preceded by the protocol action turning `change_feed` on if
    the table does not have it yet. Nothing when there are no rows."""
    cdc = write_change_data(store, state.metadata, batches)
    if not cdc:
        return []
    return [*with_writer_feature(state.protocol, CHANGE_FEED_FEATURE), *cdc]


def rewrite_change_data(store: Store, state: TableState, predicate: Expr | None, removes: Sequence[RemoveFile],
                          rewritten: Sequence[AddFile], adds: Sequence[AddFile]) -> list[Action]:
    """The change data of a copy-on-write rewrite by predicate P (`overwrite(where=P)`, a
    copy-on-write delete with no `adds`): the removed files' rows matching P are deletes and
    `adds`' rows inserts; the rows kept (`rewritten` into new files) did not change. Nothing
    when no file was rewritten: whole files removed and added derive correctly."""
    if not rewritten or predicate is None:
        return []
    return change_data_actions(store, state, _overwrite_rows(store, state, predicate, removes, adds))


def _overwrite_rows(store: Store, state: TableState, predicate: Expr, removes: Sequence[RemoveFile],
                    adds: Sequence[AddFile]) -> Iterator[pa.RecordBatch]:
    fields = state.schema.fields
    index = state.file_index()
    gone = index.filter(pc.is_in(index["path"], pa.array([r.path for r in removes], pa.string())))
    yield from _as(read_batches(store, state.metadata, gone, fields, RowFilter.of(predicate), fields), "delete")
    if adds:
        new = build_file_index(list(adds), state.metadata)
        yield from _as(read_batches(store, state.metadata, new, fields, None), "insert")


def _as(batches: Iterator[pa.RecordBatch], kind: str) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield batch.append_column(CHANGE_TYPE, pa.repeat(pa.scalar(kind), batch.num_rows))


class ChangeReferences:
    """Merge-on-read change data by reference (spec/format.md, "Change data"): the positions of
    the rows an operation deleted or updated in each old data file, and the new data files
    holding only updated or only inserted rows. Nothing is copied; `actions` writes the
    positions as Puffin blobs (one file per change type) and returns the `cdc` actions."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[AddFile, dict[str, BitMap64]]] = {}
        self.written: list[tuple[str, AddFile]] = []

    def mark(self, add: AddFile, kind: str, positions: np.ndarray) -> None:
        """Rows at `positions` (the file's own) of the old file `add` changed as `kind`."""
        if len(positions):
            self.files.setdefault(add.path, (add, {}))[1][kind] = BitMap64(np.asarray(positions, dtype=np.uint64))

    def whole(self, kind: str, adds: Sequence[AddFile]) -> None:
        """Every row of the new files `adds` changed as `kind`."""
        self.written += [(kind, a) for a in adds]

    def actions(self, store: Store) -> list[AddCdcFile]:
        kinds = ("delete", "update_preimage")
        blobs = {k: write_deletion_vectors(store, {p: b[k] for p, (_, b) in self.files.items() if k in b})
                 for k in kinds}
        out = [AddCdcFile(path=add.path, size=add.size, record_count=add.record_count, schema_id=add.schema_id,
                          change_type=k, positions=blobs[k][path])
               for path, (add, _) in self.files.items() for k in kinds if path in blobs[k]]
        return out + [AddCdcFile(path=a.path, size=a.size, record_count=a.record_count, schema_id=a.schema_id,
                                 change_type=k) for k, a in self.written if a.record_count]
