"""Writing data files: split incoming batches by partition and target size, write Parquet
files in parallel, and describe each one as an AddFile with its statistics."""

from __future__ import annotations

import os
import posixpath
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .actions import AddFile, TableMetadata
from .errors import StorageError
from .io import Store
from .partitioning import PartitionSpec, partition_path, partition_values
from .schema import Schema
from .types import BINARY, STRING
from .stats import compute_stats, stats_to_json
from .values import encode_value

DATA_DIR = "data"
_PARALLEL_STATS_BYTES = 8 * 1024 * 1024  # below this, statistics then Parquet in one task costs less

# Table properties (spec/format.md, "Table properties") and their defaults.
TARGET_FILE_SIZE = ("write.target-file-size-bytes", 128 * 1024 * 1024)
COMPRESSION = ("write.parquet.compression", "zstd")
COMPRESSION_LEVEL = ("write.parquet.compression-level", None)
ROW_GROUP_ROWS = ("write.parquet.row-group-rows", 1024 * 1024)
STATS_TRUNCATE = ("write.stats.truncate-length", 16)


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteOptions:
    """How data files are written. `target_file_size` counts uncompressed Arrow bytes."""

    target_file_size: int = TARGET_FILE_SIZE[1]
    compression: str = COMPRESSION[1]
    compression_level: int | None = COMPRESSION_LEVEL[1]
    row_group_rows: int = ROW_GROUP_ROWS[1]
    stats_truncate: int = STATS_TRUNCATE[1]
    max_workers: int = max(2, os.cpu_count() or 2)

    @classmethod
    def from_metadata(cls, metadata: TableMetadata) -> "WriteOptions":
        get = metadata.setting
        return cls(target_file_size=get(TARGET_FILE_SIZE), compression=get(COMPRESSION, str),
                   compression_level=get(COMPRESSION_LEVEL), row_group_rows=get(ROW_GROUP_ROWS),
                   stats_truncate=get(STATS_TRUNCATE))


def write_data_files(store: Store, batches: Iterable[pa.RecordBatch], metadata: TableMetadata,
                     options: WriteOptions) -> list[AddFile]:
    """Write `batches` (already conformed to the current schema) as data files under the
    default partition spec. Files are not part of the table until a commit adds them."""
    writer = _FileWriter(store, metadata.schema, metadata.partition_spec, options)
    try:
        for batch in batches:
            if batch.num_rows:
                writer.add(batch)
        return writer.finish()
    except BaseException:
        writer.abandon()
        raise


class _FileWriter:
    """Buffers rows per partition and flushes a file whenever a buffer reaches the target size."""

    def __init__(self, store: Store, schema: Schema, spec: PartitionSpec, options: WriteOptions) -> None:
        self.store, self.schema, self.spec, self.options = store, schema, spec, options
        self.arrow_schema = schema.to_arrow()
        self.dictionary_columns = dictionary_columns(schema)
        self.buffers: dict[tuple, tuple[list[_Piece], int, dict]] = {}
        # Object stores are latency-bound: keep more uploads in flight than there are cores.
        self.workers = options.max_workers if store.is_local else max(options.max_workers, 8)
        self.pool: ThreadPoolExecutor | None = None  # started by the second task: a lone one runs inline
        self.deferred: list[tuple] = []
        self.futures: list[Future] = []  # every task, for cancelling
        self.outputs: list[Future] = []  # the tasks that write files (an AddFile or a list of them)
        self.dirs_made: set[str] = set()
        self.dirs_lock = threading.Lock()

    def add(self, batch: pa.RecordBatch) -> None:
        if not self.spec.fields:
            self._buffer((), {}, _Piece(batch, None))
            return
        values = partition_values(self.spec, self.schema, pa.Table.from_batches([batch]))
        # Sort the (small) key columns only; each partition's rows are then gathered from the
        # batch by a worker thread, so the expensive take runs in parallel, once per file.
        order = pc.sort_indices(values, sort_keys=[(k, "ascending") for k in values.column_names])
        values = values.take(order)
        starts = _run_starts(values)
        ends = starts[1:] + [batch.num_rows]
        firsts = values.take(pa.array(starts, pa.int64()))
        ids = [int(name) for name in firsts.column_names]
        for start, end, key in zip(starts, ends, zip(*(_py_values(c) for c in firsts.columns))):
            self._buffer(key, dict(zip(ids, key)), _Piece(batch, order.slice(start, end - start)))

    def _buffer(self, key: tuple, part: dict, piece: "_Piece") -> None:
        held, size, _ = self.buffers.get(key, ([], 0, part))
        held.append(piece)
        size += piece.nbytes
        if size >= self.options.target_file_size:
            self._flush(held, part)
            self.buffers.pop(key, None)
        else:
            self.buffers[key] = (held, size, part)

    def _flush(self, pieces: list["_Piece"], part: dict) -> None:
        if any(p.rows is not None for p in pieces):
            self.outputs.append(self._submit(self._gather_and_write, pieces, part))
            return
        table = pa.Table.from_batches([p.batch for p in pieces], schema=self.arrow_schema)
        for chunk in _chunks(table, self.options.target_file_size):
            if chunk.nbytes < _PARALLEL_STATS_BYTES:
                self.outputs.append(self._submit(self._write_with_stats, chunk, part))
                continue
            # Statistics are computed beside the Parquet encoding, not after it: both release the GIL.
            # The stats task is queued before its write task, so a write never waits on an unstarted task.
            stats = self._submit(compute_stats, chunk, self.schema, truncate_length=self.options.stats_truncate)
            self.outputs.append(self._submit(self._write, chunk, part, stats))

    def _submit(self, fn, *args, **kwargs) -> Future:
        """Queue a task. The first waits (`deferred`): if no other follows, finish() runs it in
        the caller's thread, so a small append starts no threads at all."""
        if self.pool is None and not self.deferred:
            future: Future = Future()
            self.deferred.append((future, fn, args, kwargs))
            return future
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=self.workers)
            for future, f, a, kw in self.deferred:
                self.futures.append(self.pool.submit(_resolve, future, f, *a, **kw))
            self.deferred.clear()
        future = self.pool.submit(fn, *args, **kwargs)
        self.futures.append(future)
        return future

    def _gather_and_write(self, pieces: list["_Piece"], part: dict) -> list[AddFile]:
        table = pa.Table.from_batches([p.materialise() for p in pieces], schema=self.arrow_schema)
        return [self._write_with_stats(chunk, part) for chunk in _chunks(table, self.options.target_file_size)]

    def _write_with_stats(self, table: pa.Table, part: dict) -> AddFile:
        return self._write(table, part, compute_stats(table, self.schema, truncate_length=self.options.stats_truncate))

    def finish(self) -> list[AddFile]:
        for held, _, part in list(self.buffers.values()):
            self._flush(held, part)
        self.buffers.clear()
        for future, fn, args, kwargs in self.deferred:  # a lone task: run it here
            _resolve(future, fn, *args, **kwargs)
        self.deferred.clear()
        try:
            out: list[AddFile] = []
            for f in self.outputs:
                result = f.result()
                out.extend(result if isinstance(result, list) else [result])
            return out
        finally:
            if self.pool is not None:
                self.pool.shutdown()

    def abandon(self) -> None:
        for f in self.futures:
            f.cancel()
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    def _write(self, table: pa.Table, part: dict, stats: Future | dict) -> AddFile:
        directory = DATA_DIR
        if self.spec.fields:
            directory = posixpath.join(DATA_DIR, partition_path(self.spec, self.schema, part))
        rel = posixpath.join(directory, f"{uuid.uuid4().hex}.parquet")
        path = self.store.full_path(rel)
        fs = self.store.arrow_fs
        if self.store.is_local:
            self._make_dir(posixpath.dirname(path))
        o = self.options
        try:
            with fs.open_output_stream(path) as sink:
                pq.write_table(table, sink, compression=o.compression, compression_level=o.compression_level,
                               row_group_size=o.row_group_rows, write_statistics=True,
                               use_dictionary=self.dictionary_columns)
                size = sink.tell()
        except (OSError, pa.ArrowException) as e:
            raise StorageError(f"writing data file {rel} failed: {e}") from None
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


def _py_values(column: pa.ChunkedArray) -> list:
    """Python values of a key column; timestamps as integer ticks (nanoseconds have no datetime)."""
    if pa.types.is_timestamp(column.type):
        return column.cast(pa.int64()).to_pylist()
    return column.to_pylist()


def _run_starts(values: pa.Table) -> list[int]:
    """Row numbers where the (sorted) key columns change value, nulls included."""
    n = values.num_rows
    if n == 0:
        return []
    changed = None
    for column in values.columns:
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


@dataclass(frozen=True, slots=True)
class _Piece:
    """Rows of one partition: a whole batch (rows=None) or the batch's rows at `rows`."""

    batch: pa.RecordBatch
    rows: pa.Array | None

    @property
    def nbytes(self) -> int:
        if self.rows is None:
            return self.batch.nbytes
        return self.batch.nbytes * len(self.rows) // max(1, self.batch.num_rows)

    def materialise(self) -> pa.RecordBatch:
        return self.batch if self.rows is None else self.batch.take(self.rows)


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
