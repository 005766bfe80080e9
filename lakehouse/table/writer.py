"""Writing data files: split incoming batches by partition and target size, write Parquet
files in parallel, and describe each one as an AddFile with its statistics.

Memory is bounded whatever the input's size (T = `write.target-file-size-bytes`, k =
`WriteOptions.max_workers`, raised to 8 on object stores): rows waiting for their partition's file
are buffered up to T per partition and 2T in all (past that the largest buffers are written early,
as smaller files); at most k file-writing tasks are in flight, each holding at most one file's
rows (about T) while it encodes and uploads, and the input is not read further until one finishes.
Peak memory is therefore about (k + 3) x T plus one input batch (and its copy split by partition),
however long the input stream.
"""

from __future__ import annotations

import os
import posixpath
import threading
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import SchemaMismatchError, StorageError
from ..format.actions import AddFile, TableMetadata
from ..format.partitioning import PartitionSpec, partition_path, partition_values
from ..format.schema import Schema
from ..format.sort_order import SortField, live_sort_order, sort_table
from ..format.stats import compute_stats, stats_to_json
from ..format.types import BINARY, STRING
from ..format.values import encode_value
from ..io import Store

DATA_DIR = "data"
_PARALLEL_STATS_BYTES = 8 * 1024 * 1024  # below this, statistics then Parquet in one task costs less
_BUFFER_FILES = 2  # rows buffered across all open partitions, in target file sizes

# Table properties (spec/format.md, "Table properties") and their defaults.
TARGET_FILE_SIZE = ("write.target-file-size-bytes", 128 * 1024 * 1024)
COMPRESSION = ("write.parquet.compression", "zstd")
COMPRESSION_LEVEL = ("write.parquet.compression-level", None)
# Row groups are the unit a selective read decodes (pyarrow skips row groups by their statistics
# but cannot use a page index): 64Ki rows keep a 1% range read on a sorted column near the rows
# it returns, at no measurable cost to full scans or writes (bench/bench_maintenance.py, "scan").
# The byte cap keeps row groups of wide rows small enough to decode one at a time.
ROW_GROUP_ROWS = ("write.parquet.row-group-rows", 64 * 1024)
ROW_GROUP_BYTES = ("write.parquet.row-group-bytes", 64 * 1024 * 1024)
PAGE_INDEX = ("write.parquet.page-index", True)  # for readers that skip pages (DataFusion, Spark, Trino)
STATS_TRUNCATE = ("write.stats.truncate-length", 16)


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteOptions:
    """How data files are written. `target_file_size` counts uncompressed Arrow bytes;
    `max_workers` also bounds the file-writing tasks in flight (see the module docstring)."""

    target_file_size: int = TARGET_FILE_SIZE[1]
    compression: str = COMPRESSION[1]
    compression_level: int | None = COMPRESSION_LEVEL[1]
    row_group_rows: int = ROW_GROUP_ROWS[1]
    row_group_bytes: int = ROW_GROUP_BYTES[1]
    page_index: bool = PAGE_INDEX[1]
    stats_truncate: int = STATS_TRUNCATE[1]
    max_workers: int = max(2, os.cpu_count() or 2)

    @classmethod
    def from_metadata(cls, metadata: TableMetadata) -> "WriteOptions":
        get = metadata.setting
        return cls(target_file_size=get(TARGET_FILE_SIZE), compression=get(COMPRESSION, str),
                   compression_level=get(COMPRESSION_LEVEL), row_group_rows=get(ROW_GROUP_ROWS),
                   row_group_bytes=get(ROW_GROUP_BYTES), page_index=get(PAGE_INDEX, _flag),
                   stats_truncate=get(STATS_TRUNCATE))

    def rows_per_group(self, table: pa.Table) -> int:
        """Rows per Parquet row group for `table`: `row_group_rows`, fewer when its rows are
        so wide that a group would pass `row_group_bytes` (uncompressed Arrow bytes)."""
        by_bytes = self.row_group_bytes * table.num_rows // max(1, table.nbytes)
        return max(1, min(self.row_group_rows, by_bytes))


def _flag(text: str) -> bool:
    """A boolean table property: anything but "false" (any case) is true."""
    return text.strip().lower() != "false"


def write_data_files(store: Store, batches: Iterable[pa.RecordBatch], metadata: TableMetadata,
                     options: WriteOptions) -> list[AddFile]:
    """Write `batches` (already conformed to the current schema) as data files under the
    default partition spec. Files are not part of the table until a commit adds them."""
    writer = _FileWriter(store, metadata.schema, metadata.partition_spec, options, metadata.sort_order)
    try:
        for batch in batches:
            if batch.num_rows:
                writer.add(batch)
        return writer.finish()
    except BaseException:
        writer.abandon()
        raise


class _FileWriter:
    """Buffers rows per partition and flushes a file whenever a buffer reaches the target size,
    or the largest buffers when all of them together pass their budget."""

    def __init__(self, store: Store, schema: Schema, spec: PartitionSpec, options: WriteOptions,
                 sort_order: tuple[SortField, ...] = ()) -> None:
        self.store, self.schema, self.spec, self.options = store, schema, spec, options
        self.sort_order = live_sort_order(sort_order, schema)
        self.arrow_schema = schema.to_arrow()
        self.dictionary_columns = dictionary_columns(schema)
        self.buffers: dict[tuple, _Buffer] = {}
        self.buffered = 0  # bytes in all buffers
        self.budget = _BUFFER_FILES * options.target_file_size
        # Object stores are latency-bound: keep more uploads in flight than there are cores.
        self.workers = options.max_workers if store.is_local else max(options.max_workers, 8)
        self.pool: ThreadPoolExecutor | None = None  # started by the second task: a lone one runs inline
        self.gather: ThreadPoolExecutor | None = None  # splits a batch into its partitions
        self.deferred: list[tuple] = []
        self.futures: list[Future] = []  # every task, for cancelling
        self.running: deque[Future] = deque()  # tasks not yet seen finished: at most `workers`
        self.outputs: list[Future] = []  # the tasks that write files (an AddFile each)
        self.dirs_made: set[str] = set()
        self.dirs_lock = threading.Lock()

    def add(self, batch: pa.RecordBatch) -> None:
        if not self.spec.fields:
            self._buffer((), {}, batch)
            return
        values = partition_values(self.spec, self.schema, pa.Table.from_batches([batch]))
        keys = _grouping_keys(values)
        order = pc.sort_indices(keys, sort_keys=[(k, "ascending") for k in keys.column_names])
        starts = _run_starts(keys.take(order))
        ends = starts[1:] + [batch.num_rows]
        at_starts = order.take(pa.array(starts, pa.int64()))
        firsts = values.take(at_starts)
        ids = [int(name) for name in firsts.column_names]
        names = [pf.name for pf in self.spec.fields]
        tuples = zip(*(_py_values(c, n) for c, n in zip(firsts.columns, names)))
        # Buffers are keyed by the grouping keys: as Python floats -0.0 == 0.0 and NaN != NaN.
        buffer_keys = zip(*(c.to_pylist() for c in keys.take(at_starts).columns))
        # Each partition's rows are gathered now, into memory of their own (a buffer holding a
        # view would pin the whole batch until its partition's file is written), in parallel:
        # `take` runs outside the GIL and the gathers of one batch are independent.
        if len(starts) == 1:
            parts: Iterable[pa.RecordBatch] = [batch]
        else:
            parts = self._gather_pool().map(lambda start, end: batch.take(order.slice(start, end - start)),
                                            starts, ends)
        for key, value, rows in zip(buffer_keys, tuples, parts):
            self._buffer(key, dict(zip(ids, value)), rows)

    def _gather_pool(self) -> ThreadPoolExecutor:
        if self.gather is None:
            self.gather = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="lakehouse-gather")
        return self.gather

    def _buffer(self, key: tuple, part: dict, rows: pa.RecordBatch) -> None:
        buf = self.buffers.get(key)
        if buf is None:
            buf = self.buffers[key] = _Buffer(part)
        buf.batches.append(rows)
        buf.nbytes += rows.nbytes
        self.buffered += rows.nbytes
        if buf.nbytes >= self.options.target_file_size:
            self._flush(key)
        if self.buffered > self.budget:  # many open partitions: write the largest early
            for k in sorted(self.buffers, key=lambda k: self.buffers[k].nbytes, reverse=True):
                self._flush(k)
                if self.buffered <= self.budget // 2:
                    break

    def _flush(self, key: tuple) -> None:
        buf = self.buffers.pop(key)
        self.buffered -= buf.nbytes
        table = pa.Table.from_batches(buf.batches, schema=self.arrow_schema)
        # The table's sort order orders each file's rows (spec "Sort orders and Z-order"): a
        # buffer is at most about one target file, so sorting it costs no more memory than writing.
        table = sort_table(table, self.sort_order, self.schema)
        for chunk in _chunks(table, self.options.target_file_size):
            if chunk.nbytes < _PARALLEL_STATS_BYTES:
                self.outputs.append(self._submit(self._write_with_stats, chunk, buf.part))
                continue
            # Statistics are computed beside the Parquet encoding, not after it: both release the GIL.
            # The stats task is queued before its write task, so a write never waits on an unstarted task.
            stats = self._submit(compute_stats, chunk, self.schema, truncate_length=self.options.stats_truncate)
            self.outputs.append(self._submit(self._write, chunk, buf.part, stats))

    def _submit(self, fn, *args, **kwargs) -> Future:
        """Queue a task. The first waits (`deferred`): if no other follows, finish() runs it in
        the caller's thread, so a small append starts no threads at all. Past `workers` tasks in
        flight, wait for one to finish: the input is read no faster than files are written."""
        if self.pool is None and not self.deferred:
            future: Future = Future()
            self.deferred.append((future, fn, args, kwargs))
            return future
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=self.workers)
            for future, f, a, kw in self.deferred:
                self._track(self.pool.submit(_resolve, future, f, *a, **kw))
            self.deferred.clear()
        self._wait_for_room()
        future = self.pool.submit(fn, *args, **kwargs)
        self._track(future)
        return future

    def _track(self, future: Future) -> None:
        self.futures.append(future)
        self.running.append(future)

    def _wait_for_room(self) -> None:
        while len(self.running) >= self.workers:
            done, _ = wait(self.running, return_when=FIRST_COMPLETED)
            for f in done:
                if f.exception() is not None:  # stop reading the input: the write has failed
                    raise f.exception()
            self.running = deque(f for f in self.running if f not in done)

    def _write_with_stats(self, table: pa.Table, part: dict) -> AddFile:
        return self._write(table, part, compute_stats(table, self.schema, truncate_length=self.options.stats_truncate))

    def finish(self) -> list[AddFile]:
        for key in list(self.buffers):
            self._flush(key)
        for future, fn, args, kwargs in self.deferred:  # a lone task: run it here
            _resolve(future, fn, *args, **kwargs)
        self.deferred.clear()
        try:
            return [f.result() for f in self.outputs]
        finally:
            self._shutdown()

    def abandon(self) -> None:
        for f in self.futures:
            f.cancel()
        self._shutdown()

    def _shutdown(self) -> None:
        for pool in (self.pool, self.gather):
            if pool is not None:
                pool.shutdown(wait=True)

    def _write(self, table: pa.Table, part: dict, stats: Future | dict) -> AddFile:
        directory = DATA_DIR
        if self.spec.fields:
            directory = posixpath.join(DATA_DIR, partition_path(self.spec, self.schema, part))
        rel = posixpath.join(directory, f"{uuid.uuid4().hex}.parquet")
        if self.store.is_local:
            self._make_dir(posixpath.dirname(self.store.full_path(rel)))
        size = write_parquet(self.store, rel, table, self.options, self.dictionary_columns)
        return AddFile(
            path=rel, size=size, record_count=table.num_rows, spec_id=self.spec.spec_id,
            schema_id=self.schema.schema_id, partition=_encode_partition(self.spec, self.schema, part),
            stats=stats_to_json(stats.result() if isinstance(stats, Future) else stats, self.schema),
            modification_time=int(time.time() * 1000))

    def _make_dir(self, path: str) -> None:
        with self.dirs_lock:
            if path not in self.dirs_made:
                os.makedirs(path, exist_ok=True)
                self.dirs_made.add(path)


def write_parquet(store: Store, rel: str, table: pa.Table, options: WriteOptions, dictionary: list[str]) -> int:
    """Write `table` as the Parquet file `rel` (its directory made already) with the table's
    Parquet options; returns its size. Compaction writes its files through this too."""
    try:
        with store.arrow_fs.open_output_stream(store.full_path(rel)) as sink:
            pq.write_table(table, sink, row_group_size=options.rows_per_group(table),
                           **parquet_options(options, dictionary))
            return sink.tell()
    except (OSError, pa.ArrowException) as e:
        raise StorageError(f"writing data file {rel} failed: {e}") from None


def parquet_options(options: WriteOptions, dictionary: list[str]) -> dict:
    """The Parquet writer's options for data files (`pq.write_table` and `pq.ParquetWriter` both take them)."""
    return {"compression": options.compression, "compression_level": options.compression_level,
            "write_statistics": True, "write_page_index": options.page_index, "use_dictionary": dictionary}


@dataclass(slots=True)
class _Buffer:
    """Rows of one partition waiting for their file (batches owning their memory)."""

    part: dict
    batches: list[pa.RecordBatch] = field(default_factory=list)
    nbytes: int = 0


def _grouping_keys(values: pa.Table) -> pa.Table:
    """Partition values as keys whose equality is the partition's: a float column becomes its
    bit pattern with every NaN made one, so all NaNs share a partition (NaN != NaN would split
    them into a file per row) and -0.0 and 0.0 stay distinct values, as in Iceberg; temporal
    columns become their integer ticks."""
    columns = []
    for column in values.columns:
        if pa.types.is_floating(column.type):
            bits = pa.int64() if column.type == pa.float64() else pa.int32()
            nan = pa.scalar(float("nan"), column.type)
            column = pa.chunked_array(
                [pc.if_else(pc.is_nan(c), nan, c).view(bits) for c in column.chunks], bits)
        elif pa.types.is_temporal(column.type):  # plain ticks: Python has no nanosecond datetime
            column = column.cast(pa.int64() if column.type.bit_width == 64 else pa.int32())
        columns.append(column)
    return pa.Table.from_arrays(columns, names=values.column_names)


def _py_values(column: pa.ChunkedArray, name: str) -> list:
    """Python values of a key column; timestamps as integer ticks (nanoseconds have no datetime)."""
    if pa.types.is_timestamp(column.type):
        return column.cast(pa.int64()).to_pylist()
    try:
        return column.to_pylist()
    except (ValueError, OverflowError):  # a date beyond year 9999 has no encoding (spec section 7)
        raise SchemaMismatchError(
            f"partition field {name!r}: a value is outside the dates a partition value can hold "
            "(years 1 to 9999)") from None


def _run_starts(keys: pa.Table) -> list[int]:
    """Row numbers where the (sorted) key columns change value, nulls included."""
    n = keys.num_rows
    if n == 0:
        return []
    changed = None
    for column in keys.columns:
        col = column.combine_chunks()
        head, tail = col.slice(0, n - 1), col.slice(1)
        differs = pc.fill_null(pc.not_equal(head, tail), True)
        differs = pc.and_not(differs, pc.and_(head.is_null(), tail.is_null()))  # null == null here
        changed = differs if changed is None else pc.or_(changed, differs)
    return [0] + [i + 1 for i in pc.indices_nonzero(changed).to_pylist()]


def _resolve(future: Future, fn, *args, **kwargs):
    """Run `fn` and settle `future` with its outcome (for tasks queued before the pool existed)."""
    try:
        result = fn(*args, **kwargs)
    except BaseException as e:
        future.set_exception(e)
        raise
    future.set_result(result)
    return result


def dictionary_columns(schema: Schema) -> list[str]:
    """Parquet column paths to dictionary-encode: strings and binary (reached through structs).

    Trying a dictionary on numbers and timestamps, which rarely repeat, costs more time than it
    saves space: the writer builds one, overflows it and falls back to plain pages anyway.
    """
    return [".".join(path) for path, f in schema.leaf_fields() if f.type in (STRING, BINARY)]


def _chunks(table: pa.Table, target: int) -> list[pa.Table]:
    """`table` cut into slices of about `target` Arrow bytes."""
    per_row = max(1, table.nbytes // max(1, table.num_rows))
    rows = max(1, target // per_row)
    return [table.slice(start, rows) for start in range(0, table.num_rows, rows)]


def _encode_partition(spec: PartitionSpec, schema: Schema, part: dict) -> dict:
    out = {}
    for pf in spec.fields:
        source = schema.field_by_id(pf.source_id)
        out[str(pf.field_id)] = encode_value(part.get(pf.field_id), pf.transform.result_type(source.type))
    return out
