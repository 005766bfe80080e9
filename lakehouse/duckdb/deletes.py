"""Deletion vectors in DuckDB: the deleted positions of a view's files as one Arrow table.

A view reads its files with `read_parquet(list)`, whose virtual columns `file_index` (the
file's place in the list) and `file_row_number` (the row's position in its file) name each
row; an anti join on both against the deleted positions drops exactly the rows the files'
deletion vectors delete (spec/format.md, "Deletion vectors"). DuckDB keeps its filter
pushdown into the Parquet scan under the join, which a literal `NOT IN` list would not.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..format.deletion_vectors import positions_array, read_deletion_vectors
from ..format.file_index import DV_COLUMN, deletion_vectors
from ..io import Store

POSITIONS_SCHEMA = pa.schema([("file_index", pa.uint64()), ("file_row_number", pa.int64())])


def deleted_positions(store: Store, files: pa.Table) -> pa.Table | None:
    """(file_index, file_row_number) of every row the deletion vectors of `files` delete,
    `file_index` being the file's row in `files`; None when no file has a deletion vector.
    Memory: one int64 pair per deleted row of the files kept (the vectors themselves are
    compressed bitmaps; this is what DuckDB joins against).

    >>> import pyarrow as pa
    >>> deleted_positions(None, pa.table({"path": ["a.parquet"]})) is None
    True
    """
    if DV_COLUMN not in files.column_names or files[DV_COLUMN].null_count == files.num_rows:
        return None
    dvs = deletion_vectors(files)
    which = [i for i, dv in enumerate(dvs) if dv is not None]
    counts = pc.take(files["record_count"], pa.array(which)).to_pylist()
    bitmaps = read_deletion_vectors(store, [(dvs[i], n) for i, n in zip(which, counts)])
    positions = [positions_array(b) for b in bitmaps]
    index = np.repeat(np.array(which, dtype=np.uint64), [len(p) for p in positions])
    rows = np.concatenate(positions).astype(np.int64) if positions else np.empty(0, np.int64)
    return pa.Table.from_arrays([pa.array(index, pa.uint64()), pa.array(rows, pa.int64())],
                                schema=POSITIONS_SCHEMA)
