"""Reading a table file by file, for tests of the order rows are written in."""

from __future__ import annotations

import lakehouse
from lakehouse.read.data_files import read_batches


def files_rows(t: lakehouse.Table, column: str) -> list[list]:
    """Each live file's values of `column` (current name), in commit order; deleted rows left out."""
    state = t.state
    index = state.file_index()
    field = state.schema.find(column)
    return [[v for b in read_batches(t._store, state.metadata, index.slice(i, 1), (field,), None)
             for v in b.column(0).to_pylist()] for i in range(index.num_rows)]
