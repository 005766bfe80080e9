"""Compaction (spec/format.md, "Operations": compact): rewrite the small files of each partition
into files near the target size, materialise deletion vectors, and optionally sort or Z-order.

Planning. The candidates are the live files that may hold rows matching `where` (partition and
statistics pruning). Files are grouped by partition (same spec id and partition values), kept in
commit order. A file's size in memory is estimated as its live rows times the bytes per row of
the first rows of a few files (read to measure). Rewritten are:

- *small* files: estimated below SMALL_FRACTION (3/4) of the target, Iceberg's default;
- files whose deletion vector deletes at least DV_REWRITE_RATIO (10%) of their rows, whatever
  their size (a file with fewer deleted rows keeps its vector until it is small or one is sorted);
- with `sort_by` or `zorder_by`, every candidate (the point is a new layout).

Consecutive rewritten files of a partition are packed into *bins* of at most one target size
(bin-packing) or of the memory budget `compact.memory-budget-bytes` (sort and Z-order), each
becoming one or more output files. A bin of one file with nothing to materialise or reorder is
left alone.

Memory is bounded; per worker (`workers` bins are rewritten at once, as many as the writer's
file-writing tasks, or 2 when ordering):

- bin-packing without an order streams: rows go into the output file one row group at a time
  (at most `write.parquet.row-group-rows` rows and one target's bytes), so a worker holds one
  row group, one input batch and two read-ahead runs of small files (4 MiB on storage each),
  whatever the sizes of the target and the table;
- sorting and Z-ordering (explicit, or the table's sort order) hold a bin's rows up to `cap`
  bytes (the target; the memory budget `compact.memory-budget-bytes` shared by the workers for
  `sort_by`/`zorder_by`), sort that run and write it: a partition larger than that is ordered
  in runs of the cap, each run's files in order.

Row order (spec 4.4): the outputs are added at the end, in the commit order of each bin's first
file; a bin's rows keep their commit order unless sorted or Z-ordered.

Concurrency: the entry removes and adds with `data_change: false` and reads nothing, so a
concurrent append never conflicts; a concurrent commit that removed one of the rewritten files
or gave it a new deletion vector does. Then the bins whose files are all unchanged are committed
on the new version (the others' outputs deleted), up to MAX_ATTEMPTS times, else the
CommitConflictError is raised.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import CommitConflictError, InvalidArgumentError, StorageError
from ..expressions.tree import Expr
from ..format.actions import AddFile, RemoveFile
from ..format.paths import check_relative_path
from ..format.file_index import DV_COLUMN, DV_TYPE, deletion_vectors
from ..format.replay import load_state
from ..format.schema import Schema
from ..format.sort_order import SortField, live_sort_order, parse_sort_order, sort_indices
from ..format.state import TableState
from ..io import Store
from ..read.planning import plan_files
from ..read.scan import bind_where
from ..table.metrics import CompactMetrics
from ..table.sizes import parse_size
from ..table.writer import WriteOptions
from .compact_files import StreamedFile, bin_batches, slices, write_whole
from .delete import adds_from_index
from .zorder import zorder_indices

if TYPE_CHECKING:
    from ..table.handle import Table

SMALL_FRACTION = 0.75
DV_REWRITE_RATIO = 0.1
MEMORY_BUDGET = ("compact.memory-budget-bytes", 512 * 1024 * 1024)
MAX_ATTEMPTS = 5
_WIDTH_SAMPLES = 4
_WIDTH_ROWS = 4096
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Layout:
    """How each bin's rows are ordered: a sort order, Z-order columns, or neither."""

    sort: tuple[SortField, ...] = ()
    zorder: tuple[int, ...] = ()
    explicit: bool = False  # asked for by this call: every candidate is rewritten

    @property
    def orders(self) -> bool:
        return bool(self.sort or self.zorder)

    def order(self, table: pa.Table, schema: Schema) -> pa.Table:
        """`table`'s rows in this order. They are moved column by column, each source column let
        go once moved: with no other reference to `table`, its rows are held once, not twice."""
        if table.num_rows < 2 or not self.orders:
            return table
        indices = zorder_indices(table, self.zorder, schema) if self.zorder else sort_indices(table, self.sort, schema)
        arrow_schema, columns = table.schema, []
        while table.num_columns:
            columns.append(table.column(0).take(indices))
            table = table.remove_column(0)
        return pa.Table.from_arrays(columns, schema=arrow_schema)

    def describe(self, schema: Schema) -> dict:
        if self.zorder:
            return {"zorder_by": [schema.field_by_id(i).name for i in self.zorder]}
        return {"sort_by": [f.describe(schema) for f in self.sort]} if self.sort else {}


@dataclass(frozen=True, slots=True)
class Bin:
    """Files of one partition rewritten together, in commit order."""

    adds: tuple[AddFile, ...]
    index: pa.Table  # their file-index rows
    first: int  # position of the first file in commit order

    @property
    def partition_key(self) -> tuple:
        a = self.adds[0]
        return a.spec_id, json.dumps(dict(a.partition), sort_keys=True)


def resolve_layout(state: TableState, sort_by: Sequence[str] | None, zorder_by: Sequence[str] | None) -> Layout:
    """The ordering a compaction gives its outputs: `sort_by` or `zorder_by` if given, else the
    table's sort order."""
    schema = state.schema
    if sort_by is not None and zorder_by is not None:
        raise InvalidArgumentError("pass sort_by or zorder_by, not both")
    if zorder_by is not None:
        fields = parse_sort_order(zorder_by, schema)
        if not fields or any(f.descending or f.nulls_first for f in fields) or any(
                any(w in t.upper().split() for w in ("ASC", "DESC", "NULLS")) for t in
                ([zorder_by] if isinstance(zorder_by, str) else zorder_by)):
            raise InvalidArgumentError(f"zorder_by takes one or more column names, not {zorder_by!r}")
        return Layout(zorder=tuple(f.source_id for f in fields), explicit=True)
    if sort_by is not None:
        fields = parse_sort_order(sort_by, schema)
        if not fields:
            raise InvalidArgumentError("sort_by takes one or more sort terms such as ['ts', 'id DESC']")
        return Layout(sort=fields, explicit=True)
    return Layout(sort=live_sort_order(state.metadata.sort_order, schema))


def plan_bins(store: Store, state: TableState, predicate: Expr | None, target: int, cap: int, layout: Layout) -> list[Bin]:
    """The bins to rewrite (module docstring), in the commit order of their first files."""
    index, adds = _candidates(state, predicate)
    if not adds:
        return []
    width = _row_width(store, adds)
    groups: dict[tuple, list[int]] = {}
    for i, a in enumerate(adds):
        groups.setdefault((a.spec_id, json.dumps(dict(a.partition), sort_keys=True)), []).append(i)
    bins: list[Bin] = []
    for members in groups.values():
        chosen = [i for i in members if layout.explicit or _wants_rewrite(adds[i], width, target)]
        bins += [_bin(run, adds, index) for run in _pack(chosen, [adds[i].live_count * width for i in chosen], cap)]
    worth = [b for b in bins if len(b.adds) > 1 or b.adds[0].deletion_vector is not None or layout.explicit]
    return sorted(worth, key=lambda b: b.first)


def _candidates(state: TableState, predicate: Expr | None) -> tuple[pa.Table, list[AddFile]]:
    """The live files that may hold rows matching `predicate`, as file-index rows and add actions
    (commit order). Without a predicate nothing is pruned, so files known from the log alone need
    no decoded statistics: their rows are built without them (decoding every file's JSON
    statistics is the largest serial step of compacting many small files, ~0.1 ms a file)."""
    if predicate is not None or state.files.base is not None:
        index = plan_files(state, predicate).files
        return index, adds_from_index(index, state)
    adds = list(state.files.added.values())
    index = pa.table({
        "path": pa.array([a.path for a in adds], pa.string()),
        "size": pa.array([a.size for a in adds], pa.int64()),
        "record_count": pa.array([a.record_count for a in adds], pa.int64()),
        "schema_id": pa.array([a.schema_id for a in adds], pa.int32()),
        DV_COLUMN: pa.array([a.deletion_vector and a.deletion_vector.to_json() for a in adds], DV_TYPE),
    })
    return index, adds


def _pack(items: list[int], sizes: list[float], cap: int) -> list[list[int]]:
    """`items` (in order) cut into the fewest runs of at most about `cap`, of even sizes: n runs
    of about total / n each, not full runs and a small remainder (which would stay a small file
    and leave a worker idle)."""
    total = sum(sizes)
    share = total / max(1, math.ceil(total / cap)) if total else cap
    runs: list[list[int]] = []
    done = 0.0
    for item, item_size in zip(items, sizes):
        if not runs or done + item_size / 2 > share * len(runs):  # its middle is past this run's end
            runs.append([])
        runs[-1].append(item)
        done += item_size
    return runs


def _bin(run: list[int], adds: list[AddFile], index: pa.Table) -> Bin:
    return Bin(adds=tuple(adds[i] for i in run), index=index.take(pa.array(run, pa.int64())), first=run[0])


def _wants_rewrite(add: AddFile, width: float, target: int) -> bool:
    dv = add.deletion_vector
    if dv is not None and dv.cardinality >= DV_REWRITE_RATIO * add.record_count:
        return True
    return add.live_count * width < SMALL_FRACTION * target


def _row_width(store: Store, adds: list[AddFile]) -> float:
    """Bytes a row takes in memory, measured on the first rows of a few files spread over `adds`."""
    step = max(1, len(adds) // _WIDTH_SAMPLES)
    rows = nbytes = 0
    for a in adds[::step][:_WIDTH_SAMPLES]:
        try:
            with store.arrow_fs.open_input_file(store.full_path(check_relative_path(a.path, "data file"))) as f:
                batch = next(pq.ParquetFile(f).iter_batches(batch_size=_WIDTH_ROWS), None)
        except (OSError, pa.ArrowException) as e:
            raise StorageError(f"reading data file {a.path} failed: {e}") from None
        if batch is not None:
            rows, nbytes = rows + batch.num_rows, nbytes + batch.nbytes
    return nbytes / rows if rows else 1.0


def rewrite_bin(store: Store, state: TableState, b: Bin, layout: Layout, options: WriteOptions,
                cap: int) -> list[AddFile]:
    """Write the live rows of bin `b` as new files (module docstring: the memory they hold)."""
    batches = bin_batches(store, state, b.adds, b.index)
    if not layout.orders:
        return _stream(store, state, b, batches, options)
    held: list[pa.RecordBatch] = []
    size = 0
    out: list[AddFile] = []
    for batch in batches:
        held.append(batch)
        size += batch.nbytes
        if size >= cap:
            out += _write_held(store, state, b, held, layout, options)
            held, size = [], 0
    return out + _write_held(store, state, b, held, layout, options)


def _stream(store: Store, state: TableState, b: Bin, batches: Iterator[pa.RecordBatch],
            options: WriteOptions) -> list[AddFile]:
    """The rows in order into files of about the target, one row group (at most
    `write.parquet.row-group-rows` rows and the target's bytes) held at a time."""
    out: list[AddFile] = []
    current: StreamedFile | None = None
    held: list[pa.RecordBatch] = []
    rows = group_rows = 0
    try:
        for batch in batches:
            if not group_rows:  # rows per group: the table's, fewer if that many pass the target
                per_row = max(1, -(-batch.nbytes // max(1, batch.num_rows)))
                group_rows = max(1, min(options.rows_per_group(batch), options.target_file_size // per_row))
            held.append(batch)
            rows += batch.num_rows
            while rows >= group_rows:
                table = pa.Table.from_batches(held, schema=state.schema.to_arrow())
                current = current or StreamedFile(store, state, b.adds[0], options)
                current.write(table.slice(0, group_rows))
                rest = table.slice(group_rows)
                held, rows = rest.to_batches(), rest.num_rows
                if current.nbytes >= options.target_file_size:
                    out.append(current.close())
                    current = None
        if held and rows:
            current = current or StreamedFile(store, state, b.adds[0], options)
            current.write(pa.Table.from_batches(held, schema=state.schema.to_arrow()))
        if current is not None:
            out.append(current.close())
    except BaseException:
        if current is not None:
            current.abandon()
        _delete_outputs(store, out)
        raise
    return out


def _write_held(store: Store, state: TableState, b: Bin, held: list[pa.RecordBatch], layout: Layout,
                options: WriteOptions) -> list[AddFile]:
    """Order the held rows and write them as files of about the target."""
    if not held:
        return []
    schema = state.schema
    table = pa.Table.from_batches(held, schema=schema.to_arrow())
    held.clear()  # the table is their only holder now: ordering lets each column go once moved
    table = layout.order(table, schema)
    return [write_whole(store, state, b.adds[0], part, options) for part in slices(table, options.target_file_size)]


def compact_table(table: "Table", target_file_size: int | str | None = None, *, where: str | None = None,
                  sort_by: Sequence[str] | None = None, zorder_by: Sequence[str] | None = None,
                  progress: Progress | None = None) -> CompactMetrics:
    """Plan, rewrite and commit a compaction of `table` (module docstring); `Table.compact`."""
    if where is not None and not isinstance(where, str):
        raise InvalidArgumentError(f"where must be a SQL predicate string (or None), not {where!r}")
    if progress is not None and not callable(progress):
        raise InvalidArgumentError(f"progress must be a callable taking (done_bins, total_bins), not {progress!r}")
    state = table.state
    options = WriteOptions.from_metadata(state.metadata)
    target = options.target_file_size if target_file_size is None else parse_size(target_file_size)
    options = replace(options, target_file_size=target)
    layout = resolve_layout(state, sort_by, zorder_by)
    workers = options.max_workers
    cap = target
    if layout.explicit:  # the budget bounds all bins in flight together
        workers = max(1, min(workers, 2))
        cap = max(target, parse_size(state.metadata.setting(MEMORY_BUDGET)) // workers)
    bins = plan_bins(table._store, state, bind_where(where, state), target, cap, layout)
    if progress is not None:
        progress(0, len(bins))
    if not bins:
        return CompactMetrics(version=None, files_removed=0, files_added=0, rows=0, bytes_removed=0, bytes_added=0,
                              dvs_materialized=0, partitions=0, retries=0)
    table._store.check_can_commit()  # refuse before writing: a refused commit leaves no orphans
    done = _rewrite_all(table._store, state, bins, layout, options, cap, workers, progress)
    parameters = {"target_file_size": target, "where": where, **layout.describe(state.schema)}
    return _commit(table, state, done, parameters)


def _rewrite_all(store: Store, state: TableState, bins: list[Bin], layout: Layout, options: WriteOptions,
                 cap: int, workers: int, progress: Progress | None) -> list[tuple[Bin, list[AddFile]]]:
    """Every bin rewritten, `workers` at a time, in bin order; on an error the files written are deleted."""
    results: dict[int, list[AddFile]] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lakehouse-compact") as pool:
        futures = {pool.submit(rewrite_bin, store, state, b, layout, options, cap): i for i, b in enumerate(bins)}
        try:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress(len(results), len(bins))
        except BaseException:
            for f in futures:
                f.cancel()
            pool.shutdown(wait=True)
            for f in futures:
                if f.done() and not f.cancelled() and f.exception() is None:
                    _delete_outputs(store, f.result())
            raise
    return [(b, results[i]) for i, b in enumerate(bins)]


def _commit(table: "Table", state: TableState, done: list[tuple[Bin, list[AddFile]]],
            parameters: dict) -> CompactMetrics:
    """Commit the rewritten bins; on a conflict keep those whose files no commit has touched."""
    for retries in range(MAX_ATTEMPTS):
        now = int(time.time() * 1000)
        inputs = [a for b, _ in done for a in b.adds]
        outputs = [a for _, adds in done for a in adds]
        removes = [RemoveFile(path=a.path, deletion_timestamp=now, size=a.size, record_count=a.record_count,
                              data_change=False) for a in inputs]
        metrics = {"num_removed_files": len(inputs), "num_removed_bytes": sum(a.size for a in inputs),
                   "num_deletion_vectors_materialized": sum(a.deletion_vector is not None for a in inputs)}
        try:
            # No read predicate: appends never conflict; the inputs are read, so their removal or
            # a new deletion vector on one does (table/conflicts.py, spec section 9).
            summary = table._commit(state, "compact", [*removes, *outputs], parameters=parameters,
                                    read_files=frozenset(a.path for a in inputs), extra_metrics=metrics)
        except CommitConflictError:
            state = load_state(table._store)
            live = _live_vectors(state)
            intact = [all(live.get(a.path, "gone") == a.deletion_vector for a in b.adds) for b, _ in done]
            kept = [d for d, ok in zip(done, intact) if ok]
            _delete_outputs(table._store, [a for (_, adds), ok in zip(done, intact) if not ok for a in adds])
            if not kept or retries == MAX_ATTEMPTS - 1:
                _delete_outputs(table._store, [a for _, adds in kept for a in adds])
                raise
            done = kept
            continue
        return CompactMetrics(
            version=summary.version, files_removed=len(inputs), files_added=len(outputs),
            rows=sum(a.record_count for a in outputs), bytes_removed=metrics["num_removed_bytes"],
            bytes_added=sum(a.size for a in outputs), dvs_materialized=metrics["num_deletion_vectors_materialized"],
            partitions=len({b.partition_key for b, _ in done}), retries=retries)
    raise AssertionError("unreachable")  # pragma: no cover


def _live_vectors(state: TableState) -> dict:
    """Each live path's deletion vector descriptor (None without one)."""
    index = state.file_index()
    return dict(zip(index["path"].to_pylist(), deletion_vectors(index)))


def _delete_outputs(store: Store, adds: list[AddFile]) -> None:
    """Best effort: files never committed (vacuum would find them as orphans otherwise)."""
    for a in adds:
        try:
            store.delete(a.path)
        except StorageError:
            pass
