"""`Table.delete`, planned, written and committed through the table's commit path (the handle stays a
facade); `protocol_actions`, `transaction_fields` and `metric_fields` serve update and merge too."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidArgumentError
from ..expressions.tree import TRUE
from ..format.state import TableState
from ..ops.delete import RowChanges, delete_rows
from ..read.scan import bind_where
from .metrics import DeleteMetrics
from .properties import MERGE_ON_READ, SERIALIZABLE, isolation_level, with_deletion_vectors, write_mode

if TYPE_CHECKING:
    from .handle import Table


def delete_table_rows(table: "Table", where: str | None, mode: str | None) -> DeleteMetrics:
    if where is not None and not isinstance(where, str):
        raise InvalidArgumentError(f"where must be a SQL predicate string (or None for every row), not {where!r}")
    state: TableState = table.state
    mode = write_mode(state.metadata, "delete", mode)
    predicate = bind_where(where, state)
    changes = delete_rows(table._store, state, predicate, mode, table._write)
    if not changes.deleted_rows:  # nothing matched: no commit (as SQL DELETE and Delta)
        return _metrics(state.version, mode, changes)
    summary = table._commit(state, "delete", [*protocol_actions(state, mode), *changes.actions],
                            parameters={"where": where, "mode": mode}, **transaction_fields(state, predicate, changes),
                            extra_metrics=metric_fields(changes))
    return _metrics(summary.version, mode, changes)


def protocol_actions(state: TableState, mode: str) -> list:
    """The protocol upgrade a merge-on-read call needs on a table without `deletion_vectors`
    (a per-call override): committed with the first vectors, in the same entry."""
    if mode != MERGE_ON_READ:
        return []
    upgraded = with_deletion_vectors(state.protocol)
    return [] if upgraded is None else [upgraded]


def transaction_fields(state: TableState, predicate, changes: RowChanges) -> dict:
    """What the conflict check needs of a row-level change (table/conflicts.py, spec section 9)."""
    return {"read_predicate": TRUE if predicate is None else predicate, "read_files": changes.read_files,
            "dv_positions": changes.new_positions,
            "blind_appends_conflict": isolation_level(state.metadata) == SERIALIZABLE}


def metric_fields(changes: RowChanges) -> dict:
    """The commit's metrics: a same-path re-add (a new deletion vector) adds no file and no row."""
    new = [a for a in changes.adds if a.path not in changes.new_positions]
    return {"num_added_files": len(new), "num_added_rows": sum(a.record_count for a in new),
            "num_added_bytes": sum(a.size for a in new), "num_deleted_rows": changes.deleted_rows,
            "num_removed_files": changes.removed_files,
            "num_deletion_vectors": changes.deletion_vectors}


def _metrics(version: int, mode: str, changes: RowChanges) -> DeleteMetrics:
    return DeleteMetrics(version=version, mode=mode, num_deleted_rows=changes.deleted_rows,
                         num_removed_files=changes.removed_files, num_added_files=len(changes.adds) -
                         changes.deletion_vectors, num_deletion_vectors=changes.deletion_vectors,
                         num_files_read=len(changes.read_files))
