"""What writes report: a summary of any commit, history entries, and one frozen dataclass per
row-level operation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitSummary:
    """What a write committed: the new `version`, the `operation` ("append", "overwrite", ...)
    and its `metrics` (`num_added_files`, `num_added_rows`, `num_added_bytes`, and for an
    overwrite `num_removed_files`, `num_deleted_rows`).

    >>> import lakehouse, pyarrow as pa
    >>> t = lakehouse.create_table("memory://docs/handle-commit-summary", schema=pa.schema([("id", pa.int64())]))
    >>> summary = t.append(pa.table({"id": [1, 2]}))
    >>> summary.version, summary.operation, summary.metrics["num_added_rows"]
    (1, 'append', 2)
    """

    version: int
    operation: str
    metrics: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    """One commit, as `Table.history()` lists them: its `version`, commit `timestamp` (UTC), the
    `operation` and its `parameters` and `metrics`, the `engine` that wrote it, the
    `read_version` it was built on and whether it was a blind append (added files only).

    >>> import lakehouse, pyarrow as pa
    >>> t = lakehouse.create_table("memory://docs/handle-history-entry", schema=pa.schema([("id", pa.int64())]))
    >>> _ = t.append(pa.table({"id": [1]}))
    >>> entry = t.history()[0]
    >>> entry.version, entry.operation, entry.read_version, entry.is_blind_append
    (1, 'append', 0, True)
    >>> entry.timestamp.tzinfo
    datetime.timezone.utc
    """

    version: int
    timestamp: dt.datetime
    operation: str
    parameters: Mapping[str, Any]
    metrics: Mapping[str, Any]
    engine: str
    read_version: int | None
    is_blind_append: bool




@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteMetrics:
    """What `Table.delete` did. `version` is the committed version, or the table's version
    unchanged when no row matched (nothing is committed then). `mode` is the strategy used:
    "copy-on-write" (files rewritten without the rows) or "merge-on-read" (deletion vectors).

    - `num_deleted_rows`: rows that matched and are gone.
    - `num_removed_files`: files removed whole or rewritten (copy-on-write), or whose every live
      row was deleted (merge-on-read).
    - `num_added_files`: new data files (the survivors of rewritten files; 0 with deletion vectors).
    - `num_deletion_vectors`: files given a new deletion vector.
    - `num_files_read`: candidate files read after partition and statistics pruning.
    """

    version: int
    mode: str
    num_deleted_rows: int
    num_removed_files: int
    num_added_files: int
    num_deletion_vectors: int
    num_files_read: int

    @property
    def committed(self) -> bool:
        return self.num_deleted_rows > 0


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateMetrics:
    """What `Table.update` did: the committed `version` (unchanged if no row matched), the
    `mode` used, rows updated, data files removed (rewritten, or whose every live row was
    updated under merge-on-read) and added (new data files only), files given a new deletion
    vector, candidate files read after pruning."""

    version: int
    mode: str
    num_updated_rows: int
    num_removed_files: int
    num_added_files: int
    num_deletion_vectors: int
    num_files_read: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeMetrics:
    """What a merge did: the committed `version` (unchanged if nothing changed), the `mode`
    used, target rows updated and deleted, source rows inserted, data files removed and added
    (new data files only), files given a new deletion vector, target files read after pruning."""

    version: int
    mode: str
    num_updated_rows: int
    num_deleted_rows: int
    num_inserted_rows: int
    num_removed_files: int
    num_added_files: int
    num_deletion_vectors: int
    num_files_read: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CompactMetrics:
    """What `Table.compact` did: the committed `version` (None when there was nothing to
    rewrite), data files removed and added, `rows` rewritten (live rows only), bytes removed and
    added on storage, files whose deletion vector was materialised (their deleted rows left
    out), `partitions` touched and `retries` after conflicts with concurrent commits."""

    version: int | None
    files_removed: int
    files_added: int
    rows: int
    bytes_removed: int
    bytes_added: int
    dvs_materialized: int
    partitions: int
    retries: int
