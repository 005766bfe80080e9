"""Typed results of row-level operations (`Table.update`, `Table.merge`, ...)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateMetrics:
    """What `Table.update` committed: the new `version` (unchanged if no row matched), rows
    updated, data files added and removed, deletion vectors written (merge-on-read)."""

    version: int
    num_updated_rows: int
    num_added_files: int
    num_removed_files: int
    num_deletion_vectors: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeMetrics:
    """What a merge committed: the new `version` (unchanged if nothing changed), target rows
    updated and deleted, source rows inserted, data files added and removed, deletion vectors
    written (merge-on-read)."""

    version: int
    num_updated_rows: int
    num_deleted_rows: int
    num_inserted_rows: int
    num_added_files: int
    num_removed_files: int
    num_deletion_vectors: int = 0
