"""What row-level operations report: one frozen dataclass per operation."""

from __future__ import annotations

from dataclasses import dataclass


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
