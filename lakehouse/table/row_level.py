"""`Table.delete`, planned, written and committed through the table's commit path (the handle stays a
facade); `protocol_actions`, `transaction_fields` and `metric_fields` serve update and merge too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from ..errors import InvalidArgumentError
from ..expressions.tree import TRUE
from ..format.actions import Protocol
from ..format.change_data import CHANGE_FEED_FEATURE
from ..format.state import TableState, with_writer_feature
from ..ops.delete import RowChanges, delete_rows
from ..ops.merge import merge_rows
from ..ops.update import RowRewrite, resolve_columns, update_rows
from ..read.scan import bind_where
from .inputs import to_reader
from .metrics import DeleteMetrics, MergeMetrics, UpdateMetrics
from .properties import MERGE_ON_READ, SERIALIZABLE, isolation_level, with_deletion_vectors, write_mode

if TYPE_CHECKING:
    from .handle import Table
    from .merge_builder import MergeBuilder


def delete_table_rows(table: "Table", where: str | None, mode: str | None) -> DeleteMetrics:
    if where is not None and not isinstance(where, str):
        raise InvalidArgumentError(f"where must be a SQL predicate string (or None for every row), not {where!r}")
    state: TableState = table.state
    mode = write_mode(state.metadata, "delete", mode)
    predicate = bind_where(where, state)
    changes = delete_rows(table._store, state, predicate, mode, table._write)
    return commit_delete(table, state, mode, changes, predicate, {"where": where, "mode": mode})


def commit_delete(table: "Table", state: TableState, mode: str, changes: RowChanges, predicate,
                  parameters: Mapping) -> DeleteMetrics:
    """Commit a delete's changes (none if no row matched, as SQL DELETE and Delta) and return
    its metrics: shared by `Table.delete` and SQL DELETEs whose rows a query chose."""
    if not changes.deleted_rows:
        return _metrics(state.version, mode, changes)
    summary = table._commit(state, "delete", [*protocol_actions(state, mode), *changes.actions],
                            parameters=parameters, **transaction_fields(state, predicate, changes),
                            extra_metrics=metric_fields(changes))
    return _metrics(summary.version, mode, changes)


def update_table_rows(table: "Table", set_: Mapping[str, str], where: str | None, mode: str | None) -> UpdateMetrics:
    state: TableState = table.state
    mode = write_mode(state.metadata, "update", mode)
    set_sql = resolve_columns(state.schema, set_, "set")
    predicate = bind_where(where, state)
    change = update_rows(table._store, state, predicate, set_sql, mode, table._write)
    return commit_update(table, state, mode, change, predicate, {"set": set_sql, "where": where, "mode": mode})


def commit_update(table: "Table", state: TableState, mode: str, change: RowRewrite, predicate,
                  parameters: Mapping) -> UpdateMetrics:
    """Commit an update's rewrite (none if no row changed) and return its metrics: shared by
    `Table.update` and SQL UPDATEs whose rows a query chose (ops/positions.py)."""
    version = state.version
    if change.rows:  # nothing matched: no commit
        version = table._commit(
            state, "update", _entry(table, state, mode, change), parameters=parameters,
            **transaction_fields(state, predicate, change),
            extra_metrics={**_added(change), "num_updated_rows": change.rows,
                           "num_removed_files": change.removed_files,
                           "num_deletion_vectors": change.deletion_vectors}).version
    return UpdateMetrics(version=version, mode=mode, num_updated_rows=change.rows,
                         num_removed_files=change.removed_files, num_added_files=len(change.new_files),
                         num_deletion_vectors=change.deletion_vectors, num_files_read=len(change.read_files))


def merge_table_rows(builder: "MergeBuilder") -> MergeMetrics:
    table = builder.table
    state: TableState = table.state
    mode = write_mode(state.metadata, "merge", builder.mode)
    result = merge_rows(table._store, state, to_reader(builder.source), builder.on, builder.clauses, mode,
                        table._write)
    change, version = result.change, state.version
    if result.updated or result.deleted or result.inserted:
        version = table._commit(
            state, "merge", _entry(table, state, mode, change),
            parameters={"on": builder.on if isinstance(builder.on, str) else list(builder.on), "mode": mode,
                        "clauses": [c.describe() for c in builder.clauses]},
            read_predicate=result.read_predicate, read_files=change.read_files, dv_positions=change.new_positions,
            blind_appends_conflict=isolation_level(state.metadata) == SERIALIZABLE,
            extra_metrics={**_added(change), "num_updated_rows": result.updated, "num_deleted_rows": result.deleted,
                           "num_inserted_rows": result.inserted, "num_removed_files": change.removed_files,
                           "num_deletion_vectors": change.deletion_vectors}).version
    return MergeMetrics(version=version, mode=mode, num_updated_rows=result.updated, num_deleted_rows=result.deleted,
                        num_inserted_rows=result.inserted, num_removed_files=change.removed_files,
                        num_added_files=len(change.new_files), num_deletion_vectors=change.deletion_vectors,
                        num_files_read=len(change.read_files))


def _entry(table: "Table", state: TableState, mode: str, change: RowRewrite) -> list:
    """The actions of a row-level change: one protocol action if it needs features the table
    lacks (deletion_vectors for merge-on-read, change_feed for its change data), its removes
    and adds, then its change data files (spec §16)."""
    cdc = [a for a in change.cdc if not isinstance(a, Protocol)]
    protocol = state.protocol
    if mode == MERGE_ON_READ:
        protocol = with_deletion_vectors(protocol) or protocol
    if cdc:
        protocol = next(iter(with_writer_feature(protocol, CHANGE_FEED_FEATURE)), protocol)
    return [*([protocol] if protocol != state.protocol else []), *change.removes, *change.adds, *cdc]


def _added(change: RowRewrite) -> dict:
    new = change.new_files
    return {"num_added_files": len(new), "num_added_rows": sum(a.record_count for a in new),
            "num_added_bytes": sum(a.size for a in new)}


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
