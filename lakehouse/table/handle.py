"""The table handle: reads, writes, row-level changes, history and evolution of one table."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any, Callable, Iterator, Literal, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidArgumentError, PredicateViolationError, VersionNotFoundError
from ..expressions.arrow_filter import RowFilter
from ..expressions.tree import TRUE, Expr
from ..format.actions import AddFile, TableMetadata
from ..format.checkpoint import settle
from ..format.log import read_entries_from, read_entry, read_log_range
from ..format.partitioning import PartitionSpec, evolve_spec, partition_terms
from ..format.refs import drop_tag_actions, resolve_ref, tag_actions
from ..format.replay import load_state, version_at
from ..format.schema import Schema
from ..format.sort_order import SORT_ORDER_FEATURE, SortField, live_sort_order, parse_sort_order
from ..format.state import TableState, with_writer_feature
from ..io import Store
from ..ops.change_data import rewrite_change_data
from ..ops.compact import compact_table
from ..ops.expire import expire_snapshots, write_newest_checkpoint
from ..ops.restore import plan_restore
from ..ops.rewrite import remove_matching
from ..ops.vacuum import vacuum
from ..read.changes import read_changes
from ..read.scan import Scan, bind_where, check_row_limit
from .commit import MAX_RETRIES, CommitPolicy, commit
from .conflicts import Transaction
from .merge_builder import MergeBuilder
from .conform import conform_batches, merged_schema, schema_differences, supplied_field_ids, to_reader
from .schema_update import UpdateSchema
from .metrics import (CommitSummary, CompactMetrics, DeleteMetrics, ExpireMetrics, HistoryEntry, UpdateMetrics,
                      VacuumResult)
from .properties import WriteMode, check_properties, wants_deletion_vectors, with_deletion_vectors
from .row_level import delete_table_rows, update_table_rows
from .travel import AsOf, check_travel
from .writer import WriteOptions, write_data_files

SchemaMode = Literal["strict", "merge"]
_COMPACT_AFTER_ADDS = 4096  # fold a handle's replayed adds into its Arrow index past this many


class Table:
    """A handle on a table. It holds the newest state it has seen: its own commits advance it;
    commits by others appear after `refresh()`, and `at()` gives a handle on a past version.
    A handle is never changed by either: they return new handles.

    >>> import lakehouse, pyarrow as pa
    >>> t = lakehouse.create_table("memory://docs/handle-table-class", schema=pa.schema([("id", pa.int64())]),
    ...                  partition_by=["bucket(4, id)"])
    >>> _ = t.append(pa.table({"id": [1, 2, 3]}))
    >>> t
    Table('memory://docs/handle-table-class', version=1, columns=[id: int64], partitioned by bucket(4, id))
    >>> t.at(version=0).to_arrow().num_rows
    0
    """

    def __init__(self, store: Store, state: TableState) -> None:
        self._store = store
        self._state = state

    # ------------------------------------------------------------ inspection
    @property
    def uri(self) -> str:
        """Where the table lives (credentials removed).

        >>> import lakehouse, pyarrow as pa
        >>> lakehouse.create_table("memory://docs/handle-uri", schema=pa.schema([("id", pa.int64())])).uri
        'memory://docs/handle-uri'
        """
        return self._store.uri

    @property
    def version(self) -> int:
        """The version this handle reads: 0 is the empty table `create_table` made.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-version", schema=pa.schema([("id", pa.int64())]))
        >>> t.version, t.append(pa.table({"id": [1]})).version, t.version
        (0, 1, 1)
        """
        return self._state.version

    @property
    def state(self) -> TableState:
        """The immutable table state at this version (metadata, protocol, live files)."""
        return self._state

    @property
    def schema(self) -> Schema:
        """The table's schema at this version, with field ids.

        >>> import lakehouse, pyarrow as pa
        >>> lakehouse.create_table("memory://docs/handle-schema", schema=pa.schema([("id", pa.int64())])).schema
        Schema(schema_id=0):
          1: id: int64
        """
        return self._state.schema

    @property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema scans return (field ids in each field's metadata).

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-arrow-schema", schema=pa.schema([("id", pa.int64())]))
        >>> t.arrow_schema.names
        ['id']
        """
        return self.scan().schema

    @property
    def metadata(self) -> TableMetadata:
        """Everything the log says about the table at this version: schemas, partition specs,
        properties, its id and creation time (spec/format.md, "metadata").

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-metadata", schema=pa.schema([("id", pa.int64())]))
        >>> len(t.metadata.table_id)
        36
        """
        return self._state.metadata

    @property
    def partition_spec(self) -> PartitionSpec:
        """How new data is split into files (by field id; `describe(schema)` names the columns).

        >>> import lakehouse, pyarrow as pa
        >>> schema = pa.schema([("ts", pa.timestamp("us"))])
        >>> t = lakehouse.create_table("memory://docs/handle-partition-spec", schema=schema,
        ...                  partition_by=["day(ts)"])
        >>> t.partition_spec.describe(t.schema)
        'day(ts)'
        """
        return self._state.metadata.partition_spec

    @property
    def properties(self) -> Mapping[str, str]:
        """The table's properties (spec/format.md, "Table properties").

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-properties", schema=pa.schema([("id", pa.int64())]),
        ...                  properties={"checkpoint.interval": 10})
        >>> t.properties["checkpoint.interval"]
        '10'
        """
        return self._state.metadata.properties

    def __repr__(self) -> str:
        spec = self.partition_spec
        parts = "" if spec.is_unpartitioned else f", partitioned by {spec.describe(self.schema)}"
        return f"Table({self.uri!r}, version={self.version}, columns=[{self.schema.summary()}]{parts})"

    def refresh(self) -> "Table":
        """A new handle at the table's newest version (this one is left as it is).

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-refresh", schema=pa.schema([("id", pa.int64())]))
        >>> _ = lakehouse.open_table("memory://docs/handle-refresh").append(pa.table({"id": [1]}))  # another writer
        >>> t.version, t.refresh().version
        (0, 1)
        """
        return Table(self._store, load_state(self._store))

    def at(self, *, version: int | None = None, as_of: AsOf | None = None) -> "Table":
        """A new handle on a past version: by number, or the newest committed at or before
        `as_of` (a datetime, naive meaning local time; a `datetime.date`, midnight local time; or an
        ISO-8601 string such as `"2024-03-01T12:00:00Z"`). VersionNotFoundError if there is none.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-at", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1]}))
        >>> t.at(version=0).version, t.at(as_of=t.history()[0].timestamp).version
        (0, 1)
        """
        return Table(self._store, self._state_at(version, as_of))

    def history(self, *, limit: int | None = None) -> list[HistoryEntry]:
        """The commits (HistoryEntry), newest first, up to the table's newest version (which may
        be newer than this handle's); `limit` keeps the newest `limit` of them.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-history", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1]}))
        >>> [(e.version, e.operation) for e in t.history()]
        [(1, 'append'), (0, 'create')]
        >>> len(t.history(limit=1))
        1
        """
        # Read the log itself: entries after this handle's version say how far the table has got.
        newer = read_entries_from(self._store, self.version + 1)
        latest = newer[-1].version if newer else self.version
        first = 0 if limit is None else max(0, latest - check_row_limit(limit) + 1)
        older = read_log_range(self._store, first, self.version)  # CorruptTableError on a gap
        entries = older + [e for e in newer if e.version >= first]
        return [HistoryEntry(
            version=e.version, timestamp=dt.datetime.fromtimestamp(e.timestamp / 1000, dt.timezone.utc),
            operation=e.commit_info.operation, parameters=e.commit_info.parameters, metrics=e.commit_info.metrics,
            engine=e.commit_info.engine, read_version=e.commit_info.read_version,
            is_blind_append=e.commit_info.is_blind_append) for e in reversed(entries)]

    def changes(self, start_version: int, end_version: int | None = None, *,
                columns: Sequence[str] | None = None) -> pa.Table:
        """The rows each commit from `start_version` to `end_version` (inclusive; None: this
        handle's version) inserted or deleted, in commit order, as a pyarrow Table: the columns
        (all, or `columns`) under `end_version`'s schema, then `_change_type` (`insert`,
        `delete`, `update_preimage`, `update_postimage`), `_commit_version` and
        `_commit_timestamp` (UTC). Rewrites that change no row report nothing
        (spec/format.md, "Change data"). VersionNotFoundError outside the table's history.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-changes", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2]}))
        >>> _ = t.overwrite(pa.table({"id": [3]}))
        >>> feed = t.changes(1)
        >>> list(zip(feed["id"].to_pylist(), feed["_change_type"].to_pylist(), feed["_commit_version"].to_pylist()))
        [(1, 'insert', 1), (2, 'insert', 1), (1, 'delete', 2), (2, 'delete', 2), (3, 'insert', 2)]
        """
        return read_changes(self._store, self._state, start_version, end_version, columns)

    def restore(self, version: int | None = None, *, as_of: AsOf | None = None) -> CommitSummary:
        """Commit the table's data as it was at `version` (or `as_of`, a time as for `at()`): the
        files live then, with that version's schema and partitioning; history is kept, and the
        restore is a new version (operation "restore"). Nothing is committed when the table
        already matches. An expired version (`expire_snapshots`) cannot be restored; vacuum keeps
        the files of every version that can.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-restore", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1]}))
        >>> _ = t.append(pa.table({"id": [2]}))
        >>> t.restore(1).version, t.to_arrow()["id"].to_pylist()
        (3, [1])
        """
        if version is None and as_of is None:
            raise InvalidArgumentError("restore() needs the version (or as_of time) to restore")
        plan = plan_restore(self._state, self._state_at(version, as_of))
        return self._commit(self._state, "restore", plan.actions,
                            parameters={"version": plan.metrics["restored_version"]},
                            read_predicate=TRUE, read_files=plan.read_files, extra_metrics=plan.metrics)

    def tag(self, name: str, version: int | None = None, *, replace: bool = False) -> CommitSummary:
        """Name `version` (default: this handle's) `name`, in a commit of its own; `scan(ref=name)`
        then reads it. An existing name is InvalidArgumentError unless `replace=True` moves it.
        Names are non-empty, at most 255 characters, without control characters.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-tag", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1]}))
        >>> _ = t.tag("first", version=1)
        >>> _ = t.append(pa.table({"id": [2]}))
        >>> t.tags(), t.scan(ref="first").count()
        ({'first': 1}, 1)
        """
        if not isinstance(replace, bool):
            raise InvalidArgumentError(f"replace must be True or False, not {replace!r}")
        version = self.version if version is None else self._existing_version(version)
        return self._commit(self._state, "tag", tag_actions(self._state, name, version, replace=replace),
                            parameters={"name": name, "version": version})

    def tags(self) -> dict[str, int]:
        """The tags at this handle's version, name -> version (a past version shows its own).

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-tags", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.tag("empty")
        >>> t.tags(), t.at(version=0).tags()
        ({'empty': 0}, {})
        """
        return dict(self._state.tags)

    def drop_tag(self, name: str) -> CommitSummary:
        """Remove tag `name` (the version it named stays); VersionNotFoundError if there is none.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-drop-tag", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.tag("v0")
        >>> _ = t.drop_tag("v0")
        >>> t.tags()
        {}
        """
        return self._commit(self._state, "drop_tag", drop_tag_actions(self._state, name), parameters={"name": name})

    def _existing_version(self, version: object) -> int:
        version, _ = check_travel(version, None)
        if version != self.version and read_entry(self._store, version) is None:
            raise VersionNotFoundError(f"version {version} is not in the history of {self.uri} "
                                       f"(this handle is at version {self.version})")
        return version

    # ------------------------------------------------------------ reads
    def scan(self, *, where: str | None = None, columns: Sequence[str] | None = None, version: int | None = None,
             as_of: AsOf | None = None, limit: int | None = None, ordered: bool = True, ref: str | None = None) -> Scan:
        """A lazy read of the table: nothing is read until `to_arrow()`, `to_pandas()`, ... .

        - `where`: a SQL boolean expression in DuckDB's syntax and semantics (spec/format.md,
          "Predicates"), e.g. `"ts >= '2024-03-01' AND category IN ('books', 'toys')"`; only
          matching rows are returned, and files that cannot match are never opened.
        - `columns`: top-level column names to return (default all), taken verbatim.
        - `version`: read that past version (an int); `as_of`: read the newest version committed
          at or before that time (a datetime, date or ISO string); pass at most one of them.
        - `ref`: read the version a tag names (`tags()`); not with `version` or `as_of`.
        - `limit`: return at most that many rows, reading no more files than needed.
        - `ordered`: rows come in commit order (the order they were appended, file by file, row
          by row; spec/format.md "Row order"); `ordered=False` lets the reader return them in
          any order.

        >>> import pyarrow as pa, lakehouse
        >>> schema = pa.schema([("id", pa.int64()), ("s", pa.string())])
        >>> t = lakehouse.create_table("memory://doc-out/table-scan", schema=schema)
        >>> _ = t.append(pa.table({"id": [1, 2], "s": ["a", "b"]}))
        >>> _ = t.append(pa.table({"id": [3], "s": ["c"]}))
        >>> t.scan(where="id >= 2", columns=["s"]).to_arrow()["s"].to_pylist()
        ['b', 'c']
        >>> t.scan(version=1).count(), t.scan(limit=1).to_arrow()["id"].to_pylist()
        (2, [1])
        """
        if ref is not None:
            if version is not None or as_of is not None:
                raise InvalidArgumentError("pass at most one of version, as_of and ref")
            version = resolve_ref(self._state, ref)
        return Scan(self._store, self._state_at(version, as_of), where=where, columns=columns, limit=limit,
                    ordered=ordered)

    def to_arrow(self) -> pa.Table:
        """The current version's rows as a pyarrow Table, in commit order (`scan().to_arrow()`).

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/table-arrow", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [2, 1]}))
        >>> _ = t.append(pa.table({"id": [0]}))
        >>> t.to_arrow()["id"].to_pylist()
        [2, 1, 0]
        """
        return self.scan().to_arrow()

    def to_pandas(self) -> Any:
        """The current version as a pandas DataFrame (`scan().to_pandas()`; needs pandas).

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/table-pandas", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2]}))
        >>> t.to_pandas().shape
        (2, 1)
        """
        return self.scan().to_pandas()

    def to_polars(self) -> Any:
        """The current version as a polars DataFrame (`scan().to_polars()`; needs polars).

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/table-polars", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2]}))
        >>> t.to_polars().shape
        (2, 1)
        """
        return self.scan().to_polars()

    def to_duckdb(self, con: Any = None) -> Any:
        """A DuckDB relation over the current version (`scan().to_duckdb(con)`; None: DuckDB's
        default connection). It reads the files each time it runs.

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/table-duckdb", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1, 2]}))
        >>> t.to_duckdb().aggregate("max(id)").fetchall()
        [(2,)]
        """
        return self.scan().to_duckdb(con)

    def head(self, n: int = 5) -> pa.Table:
        """The first `n` rows in commit order, as a pyarrow Table (Arrow is the library's
        currency: `.to_pandas()` on it, or `t.scan(limit=n).to_pandas()`, for a DataFrame).

        >>> import pyarrow as pa, lakehouse
        >>> t = lakehouse.create_table("memory://doc-out/table-head", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": list(range(10))}))
        >>> t.head(3)["id"].to_pylist()
        [0, 1, 2]
        """
        check_row_limit(n, "head(n): n")
        return self.scan(limit=n).to_arrow()

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The current version as an Arrow C stream, so Arrow consumers take the table itself:
        `pa.table(t)`, `pl.DataFrame(t)`, `duckdb.sql("SELECT ... FROM t")`."""
        return self.scan().__arrow_c_stream__(requested_schema)

    def _state_at(self, version: object, as_of: object) -> TableState:
        """The state for a time travel argument pair (this handle's own for neither)."""
        version, as_of_ms = check_travel(version, as_of)
        if as_of_ms is not None:
            return state_as_of(self._store, as_of_ms, load_state(self._store))
        if version is None or version == self._state.version:
            return self._state
        return load_state(self._store, version)

    # ------------------------------------------------------------ writes
    def append(self, data: Any, *, schema_mode: SchemaMode = "strict") -> CommitSummary:
        """Add rows; returns what was committed.

        `data` is a pyarrow Table, RecordBatch or RecordBatchReader, a pandas DataFrame (named
        index levels are written as columns, unnamed ones are row labels and dropped), a polars
        DataFrame or LazyFrame (collected), a dict of columns, a list of row dicts (both typed by
        the table's schema), or anything with `__arrow_c_stream__` (a DuckDB relation, ...).

        `schema_mode="strict"` (the default): the data's columns are the table's columns, at any
        depth; a column missing from the data or one the table lacks is a SchemaMismatchError
        naming it. `schema_mode="merge"`: columns the table lacks are added (nullable), and
        nullable columns the data lacks are written as null. A required column missing from the
        data is an error in both modes. See spec/format.md, "Schema modes of writes".

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://doc-append", schema={"id": "int64", "name": "string"})
        >>> t.append({"id": [1, 2], "name": ["a", "b"]}).metrics["num_added_rows"]
        2
        >>> t.append([{"id": 3}])
        Traceback (most recent call last):
        lakehouse.errors.SchemaMismatchError: data does not match the table schema: name: column missing ...
        >>> t.append([{"id": 3, "score": 0.5}], schema_mode="merge").version
        2
        >>> t.to_arrow().column("name").to_pylist()
        ['a', 'b', None]
        """
        reader = to_reader(data, self._state.schema.to_arrow())
        state, actions = _apply_schema_mode(self._state, reader.schema, schema_mode)
        batches = conform_batches(reader, state.schema, allow_missing=schema_mode == "merge")
        adds = self._write(batches, state)
        return self._commit(state, "append", [*actions, *adds], parameters={"schema_mode": schema_mode},
                            written_ids=supplied_field_ids(reader.schema, state.schema))

    def overwrite(self, data: Any, *, where: str | None = None, schema_mode: SchemaMode = "strict") -> CommitSummary:
        """Replace the whole table, or only the rows matching `where` (then every new row must match it).

        `data` and `schema_mode` are as for `append`: in the default strict mode the data must
        carry every column of the table; "merge" adds new columns and writes missing nullable
        ones as null.

        >>> import lakehouse
        >>> t = lakehouse.create_table("memory://doc-overwrite", schema={"id": "int64", "day": "date"})
        >>> import datetime as dt
        >>> _ = t.append({"id": [1, 2], "day": [dt.date(2024, 1, 1), dt.date(2024, 1, 2)]})
        >>> _ = t.overwrite({"id": [20], "day": [dt.date(2024, 1, 2)]}, where="day = '2024-01-02'")
        >>> sorted(t.to_arrow().column("id").to_pylist())
        [1, 20]
        """
        reader = to_reader(data, self._state.schema.to_arrow())
        state, actions = _apply_schema_mode(self._state, reader.schema, schema_mode)
        predicate = bind_where(where, state)
        batches = conform_batches(reader, state.schema, allow_missing=schema_mode == "merge")
        if predicate is not None:
            batches = _check_all_match(batches, predicate, where)
        adds = self._write(batches, state)
        removal = remove_matching(self._store, state, predicate, self._write)
        cdc = rewrite_change_data(self._store, state, predicate, removal.removes, removal.rewritten, adds)
        return self._commit(
            state, "overwrite", [*actions, *cdc, *removal.removes, *removal.rewritten, *adds],
            parameters={"where": where},
            read_predicate=TRUE if predicate is None else predicate, read_files=removal.read_files,
            extra_metrics={"num_removed_files": len(removal.removes), "num_deleted_rows": removal.deleted_rows})

    def delete(self, where: str | None = None, *, mode: WriteMode | None = None) -> DeleteMetrics:
        """Delete the rows matching `where` (a SQL predicate as `scan` takes; rows where it is
        NULL are kept). `where=None` deletes every row, as SQL's `DELETE FROM t` does.

        `mode` overrides the table's `write.delete.mode` property for this call:
        "copy-on-write" rewrites the files holding matching rows without them; "merge-on-read"
        marks the rows in deletion vectors and rewrites nothing (spec/format.md, "Operations").
        Only files that may hold matching rows are read. When no row matches nothing is
        committed, and the metrics carry the unchanged version.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-delete", schema={"id": "int64", "amount": "double"})
        >>> _ = t.append({"id": [1, 2, 3], "amount": [5.0, -1.0, None]})
        >>> m = t.delete(where="amount < 0")
        >>> m.version, m.num_deleted_rows, t.to_arrow()["id"].to_pylist()
        (2, 1, [1, 3])
        >>> t.delete(where="id > 100").version
        2
        """
        return delete_table_rows(self, where, mode)

    def set_properties(self, properties: Mapping[str, Any]) -> CommitSummary:
        """Set table properties (spec/format.md, "Table properties"), committing a metadata change.
        Values are checked: `write.delete.mode`, `write.update.mode`, `write.merge.mode` take
        "copy-on-write" or "merge-on-read"; `isolation-level` takes "write-serializable" or
        "serializable". Setting a mode to merge-on-read also enables the `deletion_vectors`
        protocol feature in the same commit (readers older than it then refuse the table).
        Setting values the table already has commits nothing.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-set-properties", schema={"id": "int64"})
        >>> t.set_properties({"write.delete.mode": "merge-on-read"}).version
        1
        >>> t.properties["write.delete.mode"], "deletion_vectors" in t.state.protocol.writer_features
        ('merge-on-read', True)
        """
        state = self._state
        new = check_properties(properties)
        metadata = replace(state.metadata, properties={**state.metadata.properties, **new})
        protocol = with_deletion_vectors(state.protocol) if wants_deletion_vectors(metadata.properties) else None
        if metadata.properties == state.metadata.properties and protocol is None:  # nothing changes: no commit
            return CommitSummary(version=state.version, operation="set_properties")
        return self._commit(state, "set_properties", [*([protocol] if protocol else []), metadata],
                            parameters={"properties": new})

    def update(self, *, set: Mapping[str, str], where: str | None = None,
               mode: WriteMode | None = None) -> UpdateMetrics:
        """Give the rows matching `where` (every row if None) new values: `set` maps a column to
        a SQL expression over the row's columns, evaluated by DuckDB (its semantics, NULL and
        NaN included) and cast to the column's type. `mode` overrides the table property
        `write.update.mode` for this call. A value that does not fit its column (a NULL in a
        required one, an out-of-range number) is an error and nothing is committed. See
        spec/format.md, "Operations".

        >>> import lakehouse
        >>> t = lakehouse.create_table("memory://docs/handle-update", schema={"id": "int64", "amount": "double"})
        >>> _ = t.append({"id": [1, 2, 3], "amount": [10.0, 20.0, 30.0]})
        >>> m = t.update(set={"amount": "amount * 1.5"}, where="id IN (1, 3)")
        >>> m.num_updated_rows, m.version
        (2, 2)
        >>> t.to_arrow().column("amount").to_pylist()
        [15.0, 20.0, 45.0]
        """
        return update_table_rows(self, set, where, mode)

    def merge(self, source: Any, *, on: str | Sequence[str], mode: WriteMode | None = None) -> MergeBuilder:
        """Start a MERGE of `source` (anything `append` takes, or a DuckDB relation) into the
        table: `on` is a column name of both, a list of them, or a SQL condition over `source.x`
        and `target.x`. Add clauses (`when_matched_update`, `when_matched_delete`,
        `when_not_matched_insert`, `when_not_matched_by_source_update/delete`) and `execute()`.
        `mode` overrides the table property `write.merge.mode`. See `MergeBuilder`.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-merge", schema={"id": "int64", "n": "int64"})
        >>> _ = t.append({"id": [1, 2], "n": [1, 1]})
        >>> m = (t.merge(pa.table({"id": [2, 3], "n": [5, 5]}), on="id")
        ...       .when_matched_update(set={"n": "target.n + source.n"})
        ...       .when_not_matched_insert().execute())
        >>> (m.num_updated_rows, m.num_inserted_rows), sorted(t.to_arrow()["n"].to_pylist())
        ((1, 1), [1, 5, 6])
        """
        return MergeBuilder(table=self, source=source, on=on, mode=mode)

    # ------------------------------------------------------------ evolution
    def update_schema(self) -> UpdateSchema:
        """Change the schema (add, rename, drop, widen, ...): the changes commit together when the
        `with` block ends, or on `.commit()`. Columns keep their field ids, so data already
        written reads under the new schema (spec/format.md, "Schema evolution").

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-update-schema", schema=pa.schema([("id", pa.int32())]))
        >>> with t.update_schema() as update:
        ...     _ = update.add_column("name", pa.string()).rename_column("id", "user_id")
        >>> t.schema.names, t.version
        (['user_id', 'name'], 1)
        """
        return UpdateSchema(self)

    def update_partitioning(self, partition_by: Sequence[str] | str | None) -> CommitSummary:
        """Partition new data by `partition_by` (strings as `create_table` takes them: `"day(ts)"`,
        `"bucket(16, user_id)"`, `"category"`; empty for none). Files already written keep their
        partitioning, and scans prune both.

        >>> import lakehouse, pyarrow as pa
        >>> schema = pa.schema([("ts", pa.timestamp("us"))])
        >>> t = lakehouse.create_table("memory://docs/handle-update-partitioning", schema=schema)
        >>> t.update_partitioning(["day(ts)"]).version
        1
        >>> t.partition_spec.describe(t.schema)
        'day(ts)'
        """
        terms = partition_terms(partition_by)  # one string is one term, not its characters
        state = self._state
        metadata = state.metadata
        spec = evolve_spec(metadata, terms)
        specs = metadata.partition_specs
        if all(s.spec_id != spec.spec_id for s in specs):
            specs = (*specs, spec)
        new = replace(metadata, partition_specs=specs, default_spec_id=spec.spec_id,
                      last_partition_id=max([metadata.last_partition_id, *(f.field_id for f in spec.fields)]))
        return self._commit(state, "update_partitioning", [new], parameters={"partition_by": terms})

    def _commit_schema(self, base: TableState, schema: Schema, last_column_id: int,
                       changes: list[str]) -> CommitSummary:
        metadata = base.metadata
        new = replace(metadata, schemas=(*metadata.schemas, schema), current_schema_id=schema.schema_id,
                      last_column_id=last_column_id)
        return self._commit(base, "update_schema", [new], parameters={"changes": changes})

    # ------------------------------------------------------------ internals
    def _write(self, batches: Iterator[pa.RecordBatch], state: TableState) -> list[AddFile]:
        self._store.check_can_commit()  # refuse before writing, so a refused commit leaves no orphans
        return write_data_files(self._store, batches, state.metadata,
                                WriteOptions.from_metadata(state.metadata))

    def _commit(self, state: TableState, operation: str, actions: list, *, parameters: Mapping[str, Any],
                read_predicate: Expr | None = None, read_files: frozenset[str] = frozenset(),
                extra_metrics: Mapping[str, Any] | None = None,
                written_ids: frozenset[int] | None = None, **txn_fields: Any) -> CommitSummary:
        adds = [a for a in actions if isinstance(a, AddFile)]
        metrics = {"num_added_files": len(adds), "num_added_rows": sum(a.record_count for a in adds),
                   "num_added_bytes": sum(a.size for a in adds), **(extra_metrics or {})}
        if not actions:
            return CommitSummary(version=state.version, operation=operation, metrics=metrics)
        # The actions were built from `state`, so that is the base they are committed on. If this
        # handle has moved on since (its own later commits, or another thread's), those versions
        # are winners like any other writer's and go through the conflict check: a change built
        # from an old state never silently reverts a newer one.
        txn = Transaction(operation=operation, actions=tuple(actions), read_version=state.version,
                          parameters=parameters, metrics=metrics, read_predicate=read_predicate,
                          read_files=read_files, written_ids=written_ids, **txn_fields)
        policy = CommitPolicy(max_retries=state.metadata.setting(MAX_RETRIES))
        result = commit(self._store, state, txn, policy=policy)
        state = settle(self._store, result.state, compact_after=_COMPACT_AFTER_ADDS)  # never raises
        if state.version > self._state.version:
            self._state = state
        return CommitSummary(version=result.version, operation=operation, metrics=metrics)

    # ------------------------------------------------------------ maintenance: expiry, vacuum, checkpoints
    def expire_snapshots(self, older_than: dt.timedelta | dt.datetime | None = None, *,
                         retain_last: int = 1) -> ExpireMetrics:
        """Forget the versions committed before `older_than` (a timedelta back from now, or a
        datetime; None: the table's `history.expire.max-age`, 7 days by default) except the newest
        `retain_last`: their log entries and checkpoints are removed, and time travel to them is
        VersionNotFoundError. Tagged versions stay readable. Nothing is committed, and data files
        stay until `vacuum()`. Expiry never passes the newest checkpoint that existed when it
        started (a concurrent reader may start there): checkpoint first to expire up to now
        (spec/format.md, "Expiry and vacuum").

        >>> import lakehouse, pyarrow as pa, datetime as dt
        >>> t = lakehouse.create_table("memory://docs/handle-expire", schema=pa.schema([("id", pa.int64())]))
        >>> for i in range(3):
        ...     _ = t.append(pa.table({"id": [i]}))
        >>> _ = t.tag("first", version=1)
        >>> t.checkpoint()
        4
        >>> t.expire_snapshots(older_than=dt.timedelta(0), retain_last=1).oldest_version
        4
        >>> t.scan(ref="first").count()
        1
        >>> t.at(version=2)
        Traceback (most recent call last):
        ...
        lakehouse.errors.VersionNotFoundError: version 2 of memory://docs/handle-expire was expired: ...
        """
        return expire_snapshots(self._store, older_than, retain_last=retain_last)

    def vacuum(self, retention: dt.timedelta | None = None, *, dry_run: bool = True, force: bool = False,
               progress: Callable[[str, int], None] | None = None) -> VacuumResult:
        """The files under the table's root that no retained version or tag references and that
        are older than `retention` (None: the table's `vacuum.retention.minimum`, 7 days by
        default): orphans of failed writes, files of expired versions, temporary files. A dry run
        (the default) only lists them; `dry_run=False` deletes them. A retention below the
        minimum is InvalidArgumentError unless `force=True`: a concurrent writer's files not yet
        committed are younger than it. `progress(phase, count)` is called as files are listed
        ("listing") and deleted ("deleting").

        >>> import lakehouse, pyarrow as pa, datetime as dt
        >>> t = lakehouse.create_table("memory://docs/handle-vacuum", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1]}))
        >>> _ = t.overwrite(pa.table({"id": [2]}))
        >>> _ = t.checkpoint(), t.expire_snapshots(older_than=dt.timedelta(0))
        >>> result = t.vacuum(dt.timedelta(0), force=True)
        >>> len(result.files), result.deleted
        (1, False)
        >>> t.vacuum(dt.timedelta(0), force=True, dry_run=False).deleted, t.to_arrow()["id"].to_pylist()
        (True, [2])
        """
        return vacuum(self._store, retention, dry_run=dry_run, force=force, progress=progress)

    def checkpoint(self) -> int:
        """Write a checkpoint of the table's newest version (spec/format.md, "Checkpoints") and
        return that version: readers then start from it, and expiry can remove the log before it.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/handle-checkpoint", schema=pa.schema([("id", pa.int64())]))
        >>> _ = t.append(pa.table({"id": [1]}))
        >>> t.checkpoint()
        1
        """
        return write_newest_checkpoint(self._store)


    # ------------------------------------------------------------ maintenance: compaction, sort order
    def compact(self, target_file_size: int | str | None = None, *, where: str | None = None,
                sort_by: Sequence[str] | None = None, zorder_by: Sequence[str] | None = None,
                progress: Callable[[int, int], None] | None = None) -> CompactMetrics:
        """Rewrite small files into files near `target_file_size` (bytes in memory, an int or a
        string such as "128MiB"; default: the `write.target-file-size-bytes` property), per
        partition; deleted rows of files with deletion vectors are left out. `where` restricts
        it to files that may hold matching rows. `sort_by` (sort terms as `set_sort_order`
        takes) or `zorder_by` (column names) rewrite every candidate file in that order;
        otherwise the table's sort order, if any, orders each new file. The commit (operation
        "compact") changes no row: the change feed reports nothing for it, time travel still
        reads every earlier version, and concurrent appends never conflict with it.
        `progress(done_bins, total_bins)` is called as bins are rewritten. Memory and the
        rules for which files are rewritten: `lakehouse.ops.compact`.

        >>> import lakehouse
        >>> t = lakehouse.create_table("memory://docs/handle-compact", schema={"id": "int64"})
        >>> for i in range(3):
        ...     _ = t.append({"id": [i]})
        >>> m = t.compact()
        >>> (m.files_removed, m.files_added, m.rows), len(t.state.file_index()), t.to_arrow()["id"].to_pylist()
        ((3, 1, 3), 1, [0, 1, 2])
        """
        return compact_table(self, target_file_size, where=where, sort_by=sort_by, zorder_by=zorder_by,
                             progress=progress)

    @property
    def sort_order(self) -> tuple[SortField, ...]:
        """The order new data files' rows are written in (`set_sort_order`); () for none. A
        field of a dropped column is left out.

        >>> import lakehouse
        >>> t = lakehouse.create_table("memory://docs/handle-sort-order", schema={"ts": "int64", "id": "int64"})
        >>> _ = t.set_sort_order(["ts", "id DESC"])
        >>> [f.describe(t.schema) for f in t.sort_order]
        ['ts ASC NULLS LAST', 'id DESC NULLS LAST']
        """
        return live_sort_order(self._state.metadata.sort_order, self._state.schema)

    def set_sort_order(self, columns: Sequence[str] | None) -> CommitSummary:
        """Sort the rows of every data file written from now on (appends, overwrites, row-level
        rewrites, compactions) by `columns`: terms such as "ts", "user_id DESC",
        "x ASC NULLS FIRST" (defaults as DuckDB's: ASC, NULLS LAST); None or [] clears it. The
        order is table metadata kept by column id, so renaming a column keeps it
        (spec/format.md, "Sort orders and Z-order"). Setting the order the table has commits
        nothing.

        >>> import lakehouse
        >>> t = lakehouse.create_table("memory://docs/handle-set-sort-order", schema={"id": "int64"})
        >>> t.set_sort_order(["id DESC"]).version
        1
        >>> _ = t.append({"id": [1, 3, 2]})
        >>> t.to_arrow()["id"].to_pylist()
        [3, 2, 1]
        """
        state = self._state
        order = parse_sort_order(columns, state.schema)
        if order == live_sort_order(state.metadata.sort_order, state.schema):
            return CommitSummary(version=state.version, operation="set_sort_order")
        metadata = replace(state.metadata, sort_order=order)
        # A writer that predates sort orders would drop the field from its metadata actions:
        # the feature makes it refuse the table instead (spec section 3).
        actions = [*with_writer_feature(state.protocol, SORT_ORDER_FEATURE), metadata] if order else [metadata]
        return self._commit(state, "set_sort_order", actions,
                            parameters={"sort_order": [f.describe(state.schema) for f in order]})


def _apply_schema_mode(state: TableState, data: pa.Schema, mode: SchemaMode) -> tuple[TableState, list]:
    if mode == "merge":
        return _merge_schema(state, data)
    if mode != "strict":
        raise InvalidArgumentError(f"schema_mode must be 'strict' or 'merge', not {mode!r}")
    return state, []


def _merge_schema(state: TableState, data: pa.Schema) -> tuple[TableState, list]:
    """A state whose schema also holds the data's new columns, and the metadata action for it."""
    if not schema_differences(data, state.schema, allow_missing=True):  # nothing new in the data
        return state, []
    schema, last_id = merged_schema(state.schema, data, state.metadata.last_column_id)
    if schema.all_ids() == state.schema.all_ids():
        return state, []
    schema = replace(schema, schema_id=max(s.schema_id for s in state.metadata.schemas) + 1)
    metadata = replace(state.metadata, schemas=(*state.metadata.schemas, schema),
                       current_schema_id=schema.schema_id, last_column_id=last_id)
    return replace(state, metadata=metadata), [metadata]


def _check_all_match(batches: Iterator[pa.RecordBatch], predicate: Expr, where: str) -> Iterator[pa.RecordBatch]:
    outside = RowFilter.of(predicate, negate=True)  # linear in the predicate's size, however large
    for batch in batches:
        bad = pc.sum(outside.mask(pa.Table.from_batches([batch]))).as_py() or 0
        if bad:
            raise PredicateViolationError(
                f"{bad} row(s) of the new data do not match where={where!r}; overwrite(where=...) only "
                "replaces rows matching the predicate, so every new row must match it")
        yield batch


def state_as_of(store: Store, as_of_ms: int, latest: TableState) -> TableState:
    version = version_at(store, as_of_ms, latest)
    return latest if version == latest.version else load_state(store, version)
