"""Scans: a planned, lazily executed read of one table version."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ColumnNotFoundError, InvalidArgumentError, LakehouseError
from ..expressions.arrow_filter import RowFilter
from ..expressions.binder import bind, rewrite_not
from ..expressions.parser import parse
from ..expressions.tree import AlwaysTrue, Expr, referenced_fields
from ..format.file_index import DV_COLUMN, live_counts
from ..format.state import TableState
from ..format.types import Field
from ..io import Store
from . import export
from .data_files import fields_reading, output_schema, read_batches
from .files import DataFiles, files_table
from .planning import PlanMetrics, ScanPlan, plan_files


def bind_where(where: str | None, state: TableState) -> Expr | None:
    """Parse and bind a `where` string against the state's schema, NOT pushed to the leaves."""
    if where is None:
        return None
    return rewrite_not(bind(parse(where), state.schema))


def check_row_limit(value: object, what: str = "limit") -> int:
    """`value` as a number of rows to stop at: a whole number >= 0 (bools and floats refused).
    One check for every API taking one (`scan(limit=)`, `head(n)`, `history(limit=)`).

    >>> check_row_limit(3)
    3
    """
    if type(value) is not int or value < 0:
        raise InvalidArgumentError(f"{what} must be a whole number >= 0, not {value!r}")
    return value


class Scan:
    """A planned, lazily executed read of one table version (`Table.scan(...)`).

    Planning (`files()`, `files_table()`, `explain()`, and `count()` without a `where`) reads
    metadata only; `to_arrow()`, `to_batches()`, `to_pandas()`, `to_polars()` read data files.
    A scan is also an Arrow stream (`__arrow_c_stream__`), so `pa.table(scan)`,
    `pl.DataFrame(scan)`, `pd.DataFrame.from_arrow(scan)` (pandas >= 3) and DuckDB's
    `duckdb.sql("SELECT * FROM scan")` read it directly. (`pl.from_arrow(scan)` gives a struct
    Series, as polars does for any Arrow stream, and `pd.DataFrame(scan)` is refused by pandas:
    use `to_polars()` and `to_pandas()`.)

    Rows come in commit order (spec/format.md, "Row order"): file by file in the order they
    were added, each file's rows in order. `ordered=False` drops that promise (today it only
    lets files written under one schema be read together; keeping order costs a full scan
    nothing measurable, see bench/bench_read_order.py).

    `columns` names top-level columns, each taken verbatim: "my.col" is the column of that name,
    never a path (select a struct whole to read its children). In `where`, SQL's rule applies
    instead: `a.b` is the child b of struct a and a quoted `"my.col"` is one name.

    >>> import pyarrow as pa, lakehouse
    >>> t = lakehouse.create_table("memory://doc-out/scan", schema=pa.schema([("id", pa.int64())]))
    >>> for i in range(3):
    ...     _ = t.append(pa.table({"id": [i]}))
    >>> scan = t.scan(where="id > 0")
    >>> scan
    Scan('memory://doc-out/scan', version=3, where='id > 0', columns=['id'], files=2)
    >>> scan.to_arrow()["id"].to_pylist()
    [1, 2]
    """

    def __init__(self, store: Store, state: TableState, *, where: str | None = None,
                 columns: Sequence[str] | None = None, limit: int | None = None, ordered: bool = True) -> None:
        if limit is not None:
            check_row_limit(limit)
        if not isinstance(ordered, bool):
            raise InvalidArgumentError(f"ordered must be True or False, not {ordered!r}")
        self._store = store
        self.state = state
        self.where = where
        self.predicate = bind_where(where, state)
        self.fields = _select(state.schema.fields, columns)
        self.limit = limit
        self.ordered = ordered

    @property
    def version(self) -> int:
        """The table version this scan reads."""
        return self.state.version

    @cached_property
    def plan(self) -> ScanPlan:
        return plan_files(self.state, self.predicate)

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the rows it returns (the selected columns)."""
        return output_schema(self.fields)

    def __repr__(self) -> str:
        extra = "".join([f", limit={self.limit}" if self.limit is not None else "",
                         "" if self.ordered else ", ordered=False"])
        try:
            files = str(self.plan.files.num_rows)
        except LakehouseError:  # a repr never raises: the read itself will say what is wrong
            files = "?"
        return (f"Scan({self._store.uri!r}, version={self.version}, where={self.where!r}, "
                f"columns={[f.name for f in self.fields]!r}, files={files}{extra})")

    # ------------------------------------------------------------ planning
    def files(self) -> DataFiles:
        """The data files the scan reads, in commit order; each `DataFile` is decoded on access.
        (A `limit` does not shorten the list: it stops the read once it has its rows.) A file's
        `live_count` is the rows a scan returns from it, less those its deletion vector deletes.

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/scan-files", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2]}))
        >>> files = t.scan().files()
        >>> len(files), files[0].record_count, files[0].column_stats["id"].max
        (1, 2, 2)
        """
        return DataFiles(self.files_table(), self.state)

    def files_table(self) -> pa.Table:
        """The plan as an Arrow table, one row per data file in commit order: path, size,
        record_count, live_count (the rows a scan returns: record_count less those the file's
        deletion vector deletes), spec_id, partition (a struct keyed by partition field name)
        and stats (a struct keyed by column path, each {min, max, null_count, nan_count}).

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/scan-ft", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2]}))
        >>> t.scan().files_table().column("stats").to_pylist()
        [{'id': {'min': 1, 'max': 2, 'null_count': 0, 'nan_count': None}}]
        """
        return self._files_table

    @cached_property
    def _files_table(self) -> pa.Table:
        return files_table(self.plan.files, self.state)

    def explain(self) -> "Explanation":
        """What planning kept and skipped, by partition and by statistics (shows itself in a notebook).

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/scan-explain", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2]}))
        >>> t.scan(where="id > 5").explain().metrics.files_skipped_by_stats
        1
        """
        return Explanation(version=self.version, where=self.where, metrics=self.plan.metrics)

    # ------------------------------------------------------------ reading
    def to_batches(self) -> pa.RecordBatchReader:
        """The rows as a stream of record batches, read as they are consumed (memory stays
        bounded by a few batches however large the scan).

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/scan-batches", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2, 3]}))
        >>> sum(batch.num_rows for batch in t.scan().to_batches())
        3
        """
        return pa.RecordBatchReader.from_batches(self.schema, self._batches(self.fields))

    def to_arrow(self) -> pa.Table:
        """The rows as a table; with `columns=[]` a table of no columns that still has its rows.

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/scan-arrow", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2, 3]}))
        >>> t.scan(columns=[], limit=2).to_arrow().num_rows
        2
        """
        return pa.Table.from_batches(list(self._batches(self.fields)), schema=self.schema)

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame (needs pandas: `pip install 'pylakehouse[pandas]'`).

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/scan-pandas", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2]}))
        >>> t.scan().to_pandas()["id"].tolist()
        [1, 2]
        """
        return export.to_pandas(self.to_arrow())

    def to_polars(self) -> Any:
        """The rows as a polars DataFrame (needs polars: `pip install 'pylakehouse[polars]'`).

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/scan-polars", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2]}))
        >>> t.scan().to_polars()["id"].to_list()
        [1, 2]
        """
        return export.to_polars(self.to_arrow())

    def to_duckdb(self, con: Any = None) -> Any:
        """A DuckDB relation over the scan's rows, on `con` (None: DuckDB's default connection,
        the one `duckdb.sql()` uses, so the relation joins with the caller's other relations).

        The relation is lazy: it reads the scan's files each time it runs, and stays valid as
        long as it is used. DuckDB reads the planned files itself (a view over them, matched by
        field id; lakehouse.duckdb), so filters applied to the relation reach its Parquet
        reader too. Where rows would lose their commit order (a `limit`, or deletion vectors on
        an ordered scan), or DuckDB's session time zone would change what `where` means, the
        relation reads the scan's Arrow stream instead.

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/scan-duckdb", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2, 3]}))
        >>> t.scan(where="id > 1").to_duckdb().aggregate("sum(id)").fetchall()
        [(5,)]
        """
        if con is None:
            con = export.default_duckdb_connection()
        if self._native_in_duckdb(con):
            from ..duckdb.views import scan_relation  # the adapter layer, imported only when asked for

            return scan_relation(con, self._store, self.state, self.plan.files, self.fields, self.where)
        return export.to_duckdb(self, con)

    def _native_in_duckdb(self, con: Any) -> bool:
        """Whether DuckDB may read the files itself and give the same rows (see to_duckdb)."""
        if self.limit is not None or not self.fields:
            return False
        if self.ordered and DV_COLUMN in self.plan.files.column_names \
                and self.plan.files[DV_COLUMN].null_count != self.plan.files.num_rows:
            return False
        if self.predicate is None:
            return True
        from ..duckdb.pruning import reads_zoned_columns, session_is_utc

        return not reads_zoned_columns(self.predicate, self.state.schema) or session_is_utc(con)

    def count(self) -> int:
        """Rows the scan returns (at most `limit`); from metadata alone without a `where`.

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/scan-count", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2, 3]}))
        >>> t.scan(where="id > 1").count(), len(t.scan(limit=1))
        (2, 1)
        """
        if self.predicate is None or isinstance(self.predicate, AlwaysTrue):
            total = int(pc.sum(live_counts(self.plan.files)).as_py() or 0)  # less DV-deleted rows
            return total if self.limit is None else min(total, self.limit)
        return sum(b.num_rows for b in self._batches(self._filter_fields()))

    def __len__(self) -> int:
        """`count()`: reads the predicate's columns when there is a `where`."""
        return self.count()

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """A new Arrow C stream of the rows on each call (the Arrow PyCapsule interface)."""
        return self.to_batches().__arrow_c_stream__(requested_schema)

    def _batches(self, fields: tuple[Field, ...]) -> Iterator[pa.RecordBatch]:
        row_filter = None if self.predicate is None else RowFilter.of(self.predicate)

        def read(files: pa.Table) -> Iterator[pa.RecordBatch]:
            return read_batches(self._store, self.state.metadata, files, fields, row_filter,
                                self._filter_fields(), ordered=self.ordered)
        if self.limit is None:
            return read(self.plan.files)
        return _first_rows(_reads_for_limit(self.plan.files, self.limit, row_filter is None, read), self.limit)

    def _filter_fields(self) -> tuple[Field, ...]:
        """Top-level fields the predicate reads."""
        if self.predicate is None:
            return ()
        return fields_reading(self.state.schema, referenced_fields(self.predicate))


def _reads_for_limit(files: pa.Table, limit: int, every_row: bool,
                     read: Callable[[pa.Table], Iterator[pa.RecordBatch]]) -> Iterator[pa.RecordBatch]:
    """Batches from as few files as `limit` rows need, opened lazily: when every row is kept,
    the files whose live counts (record counts less DV cardinalities) reach `limit`; under a
    predicate, 1 file, then 2, 4, ... (at most twice the files needed, and no file after the
    limit is reached)."""
    if limit == 0 or files.num_rows == 0:
        return
    if every_row:
        reached = pc.greater_equal(pc.cumulative_sum(live_counts(files)), limit)
        first = pc.index(reached, True).as_py()
        prefix = files.num_rows if first < 0 else first + 1
        yield from read(files.slice(0, prefix))
        yield from read(files.slice(prefix))  # read only if the counts overstated the rows
        return
    start, step = 0, 1
    while start < files.num_rows:
        yield from read(files.slice(start, step))
        start, step = start + step, step * 2


def _first_rows(batches: Iterator[pa.RecordBatch], limit: int) -> Iterator[pa.RecordBatch]:
    """The first `limit` rows of `batches`, never asking for a batch past them."""
    left = limit
    if left == 0:
        return
    for batch in batches:
        if batch.num_rows > left:
            batch = batch.slice(0, left)
        left -= batch.num_rows
        yield batch
        if left == 0:
            return


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """`scan.explain()`: its text is both `str()` and the repr, so a notebook shows it as is."""

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

    __repr__ = __str__


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
