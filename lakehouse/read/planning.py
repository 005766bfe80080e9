"""Scan planning: pure functions from a table state and a bound predicate to the files to read."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ..expressions.projection import partition_may_match
from ..expressions.pruning import stats_may_match
from ..expressions.tree import AlwaysTrue, Expr
from ..format.actions import TableMetadata
from ..format.state import TableState


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanMetrics:
    """What planning considered and skipped (scan.explain() renders it)."""

    files_considered: int
    bytes_considered: int
    files_skipped_by_partition: int
    bytes_skipped_by_partition: int
    files_skipped_by_stats: int
    bytes_skipped_by_stats: int
    files_read: int
    bytes_read: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanPlan:
    files: pa.Table
    metrics: PlanMetrics


def may_match(predicate: Expr, index: pa.Table, metadata: TableMetadata) -> pa.Array:
    """True for every file that may hold a row matching `predicate` (never False for one that does)."""
    by_partition = partition_may_match(predicate, metadata.specs_by_id, metadata.schema, index)
    return pc.and_(by_partition, stats_may_match(predicate, index))


def plan_files(state: TableState, predicate: Expr | None) -> ScanPlan:
    """The live files a scan with `predicate` (bound, NOT rewritten away) must read."""
    index = state.file_index()
    total_bytes = _bytes(index)
    if predicate is None or isinstance(predicate, AlwaysTrue) or index.num_rows == 0:
        return ScanPlan(files=index, metrics=PlanMetrics(
            files_considered=index.num_rows, bytes_considered=total_bytes,
            files_skipped_by_partition=0, bytes_skipped_by_partition=0,
            files_skipped_by_stats=0, bytes_skipped_by_stats=0,
            files_read=index.num_rows, bytes_read=total_bytes))
    by_partition = partition_may_match(predicate, state.metadata.specs_by_id, state.metadata.schema, index)
    after_partition = index.filter(by_partition)
    by_stats = stats_may_match(predicate, after_partition)
    selected = after_partition.filter(by_stats)
    return ScanPlan(files=selected, metrics=PlanMetrics(
        files_considered=index.num_rows, bytes_considered=total_bytes,
        files_skipped_by_partition=index.num_rows - after_partition.num_rows,
        bytes_skipped_by_partition=total_bytes - _bytes(after_partition),
        files_skipped_by_stats=after_partition.num_rows - selected.num_rows,
        bytes_skipped_by_stats=_bytes(after_partition) - _bytes(selected),
        files_read=selected.num_rows, bytes_read=_bytes(selected)))


def _bytes(index: pa.Table) -> int:
    return int(pc.sum(index["size"]).as_py() or 0)
