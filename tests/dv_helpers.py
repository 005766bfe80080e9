"""Test helper: delete rows by deletion vector through the table's own commit path, standing in
for the delete operation (another module's) so readers can be tested on their own."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Iterable, Mapping

from pyroaring import BitMap64

from lakehouse.expressions.tree import AlwaysTrue
from lakehouse.format.actions import DELETION_VECTORS, Protocol, RemoveFile
from lakehouse.format.deletion_vectors import read_deletion_vector, write_deletion_vectors
from lakehouse.format.file_index import add_files


def delete_positions(table, positions: Mapping[str, Iterable[int]]):
    """Commit, on `table`'s current state, DVs deleting `positions` (by data file path) on top of
    each file's existing DV: remove + add of the same path with the new descriptor (spec 4.2)."""
    state = table.state
    index = state.file_index()
    by_path = {a.path: a for a in add_files(index, state.metadata)}
    bitmaps = {}
    for path, rows in positions.items():
        add = by_path[path]
        bitmap = BitMap64(rows)
        if add.deletion_vector is not None:
            bitmap |= read_deletion_vector(table._store, add.deletion_vector, add.record_count)
        bitmaps[path] = bitmap
    dvs = write_deletion_vectors(table._store, bitmaps)
    now = int(time.time() * 1000)
    actions = []
    if DELETION_VECTORS not in state.protocol.reader_features:
        p = state.protocol
        actions.append(Protocol(reader_version=p.reader_version, writer_version=p.writer_version,
                                reader_features=(*p.reader_features, DELETION_VECTORS),
                                writer_features=(*p.writer_features, DELETION_VECTORS)))
    for path, dv in dvs.items():
        add = by_path[path]
        actions.append(RemoveFile(path=path, deletion_timestamp=now, size=add.size, record_count=add.record_count))
        actions.append(replace(add, deletion_vector=dv, data_change=True))
    return table._commit(state, "delete", actions, parameters={}, read_predicate=AlwaysTrue(),
                         read_files=frozenset(dvs))
