"""Scans: a planned, lazily executed read of one table version."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ColumnNotFoundError
from ..expressions.arrow_filter import RowFilter
from ..expressions.binder import bind, rewrite_not
from ..expressions.parser import parse
from ..expressions.tree import AlwaysTrue, Expr, referenced_fields
from ..format.state import TableState
from ..format.types import Field
from ..io import Store
from .data_files import fields_reading, output_schema, read_batches
from .planning import PlanMetrics, ScanPlan, plan_files


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnStatistics:
    min: Any
    max: Any
    null_count: int | None
    nan_count: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DataFile:
    """A data file a scan will read, as `scan.files()` reports it."""

    path: str
    size: int
    record_count: int
    spec_id: int
    partition: Mapping[str, Any]
    column_stats: Mapping[str, ColumnStatistics]


def bind_where(where: str | None, state: TableState) -> Expr | None:
    """Parse and bind a `where` string against the state's schema, NOT pushed to the leaves."""
    if where is None:
        return None
    return rewrite_not(bind(parse(where), state.schema))


class Scan:
    """`Table.scan(...)`: files() and explain() plan; to_arrow(), to_batches() and count() read.

    `columns` names top-level columns, each taken verbatim: "my.col" is the column of that name,
    never a path (select a struct whole to read its children). In `where`, SQL's rule applies
    instead: `a.b` is the child b of struct a and a quoted `"my.col"` is one name.
    """

    def __init__(self, store: Store, state: TableState, *, where: str | None = None,
                 columns: Sequence[str] | None = None) -> None:
        self._store = store
        self.state = state
        self.where = where
        self.predicate = bind_where(where, state)
        self.fields = _select(state.schema.fields, columns)

    @property
    def version(self) -> int:
        return self.state.version

    @cached_property
    def plan(self) -> ScanPlan:
        return plan_files(self.state, self.predicate)

    @property
    def schema(self) -> pa.Schema:
        return output_schema(self.fields)

    # ------------------------------------------------------------ planning
    def files(self) -> list[DataFile]:
        return _data_files(self.plan.files, self.state)

    def explain(self) -> "Explanation":
        return Explanation(version=self.version, where=self.where, metrics=self.plan.metrics)

    # ------------------------------------------------------------ reading
    def to_batches(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self._batches(self.fields))

    def to_arrow(self) -> pa.Table:
        """The rows as a table; with `columns=[]` a table of no columns that still has its rows."""
        return pa.Table.from_batches(list(self._batches(self.fields)), schema=self.schema)

    def count(self) -> int:
        """Rows the scan returns; from metadata alone when the predicate keeps every row."""
        if self.predicate is None or isinstance(self.predicate, AlwaysTrue):
            return int(pc.sum(self.plan.files["record_count"]).as_py() or 0)
        return sum(b.num_rows for b in self._batches(self._filter_fields()))

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self.to_batches().__arrow_c_stream__(requested_schema)

    def _batches(self, fields: tuple[Field, ...]) -> Iterator[pa.RecordBatch]:
        row_filter = None if self.predicate is None else RowFilter.of(self.predicate)
        return read_batches(self._store, self.state.metadata, self.plan.files, fields, row_filter,
                            self._filter_fields())

    def _filter_fields(self) -> tuple[Field, ...]:
        """Top-level fields the predicate reads."""
        if self.predicate is None:
            return ()
        return fields_reading(self.state.schema, referenced_fields(self.predicate))


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    version: int
    where: str | None
    metrics: PlanMetrics

    def __str__(self) -> str:
        m = self.metrics
        return "\n".join([
            f"scan of version {self.version}" + (f" where {self.where}" if self.where else ""),
            f"  considered          {m.files_considered:>8} files {m.bytes_considered:>14} bytes",
            f"  skipped (partition) {m.files_skipped_by_partition:>8} files {m.bytes_skipped_by_partition:>14} bytes",
            f"  skipped (stats)     {m.files_skipped_by_stats:>8} files {m.bytes_skipped_by_stats:>14} bytes",
            f"  read                {m.files_read:>8} files {m.bytes_read:>14} bytes",
        ])


def _select(fields: tuple[Field, ...], columns: Sequence[str] | None) -> tuple[Field, ...]:
    if columns is None:
        return fields
    if isinstance(columns, str):
        columns = [columns]
    by_name = {f.name: f for f in fields}  # verbatim names: a dot is part of a name here
    missing = [c for c in columns if c not in by_name]
    if missing:
        nested = [c for c in missing if isinstance(c, str) and c.split(".")[0] in by_name]
        hint = f" (columns selects top-level columns: select {nested[0].split('.')[0]!r} for its children)" \
            if nested else ""
        raise ColumnNotFoundError(
            f"no column named {', '.join(map(repr, missing))}; the table has {list(by_name)}{hint}")
    return tuple(by_name[c] for c in columns)


def _data_files(index: pa.Table, state: TableState) -> list[DataFile]:
    schema = state.schema
    partition_names = {str(pf.field_id): pf.name for spec in state.metadata.partition_specs for pf in spec.fields}
    spec_fields = {s.spec_id: {str(pf.field_id) for pf in s.fields} for s in state.metadata.partition_specs}
    out = []
    for row in index.to_pylist():
        own = spec_fields.get(row["spec_id"], set())
        partition = {partition_names[k]: v for k, v in (row.get("partition") or {}).items() if k in own}
        stats = {}
        for fid, s in (row.get("stats") or {}).items():
            path = schema.path_of(int(fid))
            if path is not None and s is not None:
                stats[".".join(path)] = ColumnStatistics(min=s["min"], max=s["max"], null_count=s["null_count"],
                                                         nan_count=s["nan_count"])
        out.append(DataFile(path=row["path"], size=row["size"], record_count=row["record_count"],
                            spec_id=row["spec_id"], partition=partition, column_stats=stats))
    return out
