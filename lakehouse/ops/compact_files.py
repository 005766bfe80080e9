"""The files a compaction writes: whole (a sorted run, written at once) or streamed (row group by
row group as rows arrive, holding one row group), each described by an AddFile with
`data_change: false` beside the first file it replaces (its partition's directory)."""

from __future__ import annotations

import posixpath
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import StorageError
from ..format.actions import AddFile
from ..format.state import TableState
from ..format.stats import ColumnStats, compute_stats, stats_to_json
from ..io import Store
from ..table.writer import WriteOptions, dictionary_columns, parquet_options, write_parquet


def new_path(store: Store, beside: AddFile) -> str:
    """A new data file's path, in the directory of `beside` (spec 1.1 allows any path under the root)."""
    rel = posixpath.join(posixpath.dirname(beside.path), f"{uuid.uuid4().hex}.parquet")
    if store.is_local:
        store.makedirs(posixpath.dirname(rel))
    return rel


def write_whole(store: Store, state: TableState, beside: AddFile, table: pa.Table, options: WriteOptions) -> AddFile:
    """`table` as one data file; statistics computed beside the Parquet encoding (both release the GIL)."""
    schema = state.schema
    rel = new_path(store, beside)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lakehouse-compact-stats") as pool:
        stats = pool.submit(compute_stats, table, schema, truncate_length=options.stats_truncate)
        size = write_parquet(store, rel, table, options, dictionary_columns(schema))
        return _add(state, beside, rel, size, table.num_rows, stats.result())


class StreamedFile:
    """One data file written row group by row group; its statistics are those of its row groups
    merged (`merge_stats`)."""

    def __init__(self, store: Store, state: TableState, beside: AddFile, options: WriteOptions) -> None:
        self.store, self.state, self.beside, self.options = store, state, beside, options
        self.rel = new_path(store, beside)
        self.rows = 0
        self.nbytes = 0  # Arrow bytes written
        self.parts: list[tuple[dict[int, ColumnStats], int]] = []
        schema = state.schema
        try:
            self.sink = store.arrow_fs.open_output_stream(store.full_path(self.rel))
            self.writer = pq.ParquetWriter(self.sink, schema.to_arrow(),
                                           **parquet_options(options, dictionary_columns(schema)))
        except (OSError, pa.ArrowException) as e:
            raise StorageError(f"writing data file {self.rel} failed: {e}") from None

    def write(self, table: pa.Table) -> None:
        """Write `table` as one row group."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lakehouse-compact-stats") as pool:
            stats = pool.submit(compute_stats, table, self.state.schema, truncate_length=self.options.stats_truncate)
            try:
                self.writer.write_table(table, row_group_size=max(1, table.num_rows))
            except (OSError, pa.ArrowException) as e:
                raise StorageError(f"writing data file {self.rel} failed: {e}") from None
            self.parts.append((stats.result(), table.num_rows))
        self.rows += table.num_rows
        self.nbytes += table.nbytes

    def close(self) -> AddFile:
        try:
            self.writer.close()
            size = self.sink.tell()
            self.sink.close()
        except (OSError, pa.ArrowException) as e:
            raise StorageError(f"writing data file {self.rel} failed: {e}") from None
        return _add(self.state, self.beside, self.rel, size, self.rows, merge_stats(self.parts))


def _add(state: TableState, beside: AddFile, rel: str, size: int, rows: int, stats: Mapping[int, ColumnStats]) -> AddFile:
    schema = state.schema
    return AddFile(path=rel, size=size, record_count=rows, spec_id=beside.spec_id, schema_id=schema.schema_id,
                   partition=beside.partition, stats=stats_to_json(stats, schema),
                   modification_time=int(time.time() * 1000), data_change=False)


def merge_stats(parts: Sequence[tuple[Mapping[int, ColumnStats], int]]) -> dict[int, ColumnStats]:
    """The statistics of row groups (each with its row count) put together: counts add up; the
    bounds are the least min and greatest max of the groups that have values. A group with
    values but no bound (one that could not be represented) leaves the whole bound unknown.
    Bounds are monotone in the value (truncation, rounding), so this equals computing them on
    all the rows at once (but for an unrepresentable bound, which stays unknown: still a bound)."""
    out: dict[int, ColumnStats] = {}
    for fid in parts[0][0] if parts else ():
        column = [(stats[fid], rows) for stats, rows in parts]
        nulls = sum(s.null_count for s, _ in column)
        nans = None if any(s.nan_count is None for s, _ in column) else sum(s.nan_count for s, _ in column)
        valued = [s for s, rows in column if s.null_count + (s.nan_count or 0) < rows]
        lows, highs = [s.min for s in valued], [s.max for s in valued]
        lo = None if not lows or None in lows else min(lows)
        hi = None if not highs or None in highs else max(highs)
        out[fid] = ColumnStats(lo, hi, nulls, nans)
    return out


def slices(table: pa.Table, target: int) -> Iterator[pa.Table]:
    """`table` cut into slices of about `target` Arrow bytes."""
    per_row = max(1, table.nbytes // max(1, table.num_rows))
    rows = max(1, target // per_row)
    for start in range(0, table.num_rows, rows):
        yield table.slice(start, rows)
