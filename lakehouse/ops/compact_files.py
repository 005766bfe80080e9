"""The files a compaction reads and writes.

Reading: a bin's live rows in commit order. Small files are latency-bound (and a dataset scanner
opens only a few at once), so runs of consecutive files (at most READ_GROUP_FILES files and
READ_GROUP_BYTES on storage) are read beside the one being consumed, READ_AHEAD at a time; a
small file without a deletion vector written under the current schema is read whole by
`pq.ParquetFile` (half the CPU of a dataset scan per file); others go through the table's
reader (`read_batches`: columns by field id, deletion vectors applied), streamed.

Writing: whole (a sorted run, written at once) or streamed (row group by row group as rows
arrive, holding one row group), each described by an AddFile with `data_change: false` beside
the first file it replaces (its partition's directory)."""

from __future__ import annotations

import posixpath
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import StorageError
from ..format.actions import AddFile
from ..format.paths import check_relative_path
from ..format.state import TableState
from ..format.stats import ColumnStats, compute_stats, stats_to_json
from ..io import Store
from ..read.data_files import output_schema, read_batches
from ..table.writer import WriteOptions, dictionary_columns, parquet_options, write_parquet

READ_GROUP_FILES = 64
READ_GROUP_BYTES = 8 * 1024 * 1024
READ_AHEAD = 2


def bin_batches(store: Store, state: TableState, adds: Sequence[AddFile], index: pa.Table) -> Iterator[pa.RecordBatch]:
    """The live rows of the files `adds` (with their file-index rows `index`), in commit order."""
    runs = _runs(adds)
    if len(runs) == 1:
        yield from _read_run(store, state, adds, index, *runs[0])
        return

    def read(run: tuple[int, int]) -> list[pa.RecordBatch]:
        return list(_read_run(store, state, adds, index, *run))

    with ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="lakehouse-compact-read") as pool:
        rest = iter(runs)
        pending = deque(pool.submit(read, r) for r in islice(rest, READ_AHEAD))
        try:
            while pending:
                batches = pending.popleft().result()
                following = next(rest, None)
                if following is not None:
                    pending.append(pool.submit(read, following))
                yield from batches
        finally:
            for f in pending:
                f.cancel()


def _runs(adds: Sequence[AddFile]) -> list[tuple[int, int]]:
    """`adds` cut into runs of consecutive files, (start, end) each."""
    starts, stored = [0], 0
    for i, a in enumerate(adds):
        if i > starts[-1] and (i - starts[-1] >= READ_GROUP_FILES or stored + a.size > READ_GROUP_BYTES):
            starts.append(i)
            stored = 0
        stored += a.size
    return list(zip(starts, starts[1:] + [len(adds)]))


def _read_run(store: Store, state: TableState, adds: Sequence[AddFile], index: pa.Table, start: int,
              end: int) -> Iterator[pa.RecordBatch]:
    target = output_schema(state.schema.fields)
    for i in range(start, end):
        a = adds[i]
        whole = _read_whole(store, a, target) if _plain(a, state) else None
        if whole is None:
            yield from read_batches(store, state.metadata, index.slice(i, 1), state.schema.fields, None)
        else:
            yield from whole.to_batches()


def _plain(a: AddFile, state: TableState) -> bool:
    return a.deletion_vector is None and a.schema_id == state.schema.schema_id and a.size <= READ_GROUP_BYTES


def _read_whole(store: Store, a: AddFile, target: pa.Schema) -> pa.Table | None:
    """The file's rows, if its columns are exactly `target`'s (else None: the caller adapts them)."""
    rel = check_relative_path(a.path, "data file")
    try:
        with store.arrow_fs.open_input_file(store.full_path(rel)) as f:
            table = pq.ParquetFile(f).read()
    except (OSError, pa.ArrowException) as e:
        raise StorageError(f"reading data file {rel} failed: {e}") from None
    if not table.schema.equals(target, check_metadata=False):
        return None
    return table


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
