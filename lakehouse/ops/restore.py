"""Restore (spec/format.md, "Restore"): a new commit whose live files, and current schema and
default partition spec, are those of an earlier version.

Files live then but not now are added again under their old paths (with their old statistics;
a removed path may be added again, spec "add"), files live now but not then are removed, files
live in both stay where they are. Whole files move, so the change feed derived from the adds
and removes is right: a restore needs no change data files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from ..format.actions import Action, AddFile, RemoveFile, TableMetadata
from ..format.file_index import add_files, deletion_vectors, live_counts
from ..format.state import TableState


@dataclass(frozen=True, slots=True, kw_only=True)
class RestorePlan:
    actions: list[Action]
    read_files: frozenset[str]
    metrics: Mapping[str, Any]


def plan_restore(current: TableState, target: TableState) -> RestorePlan:
    """The actions taking `current` back to `target`'s files and table definition (none when
    they already match). Tags and properties are left as they are: they describe the table,
    not a version of its data; the protocol is never lowered."""
    now, then = current.file_index(), target.file_index()
    now_keys, then_keys = _keys(now), _keys(then)
    stamp = int(time.time() * 1000)
    gone = now.filter(pc.invert(pc.is_in(now_keys, then_keys)))
    removes = [RemoveFile(path=r["path"], deletion_timestamp=stamp, size=r["size"], record_count=r["record_count"])
               for r in gone.select(["path", "size", "record_count"]).to_pylist()]
    back = then.filter(pc.invert(pc.is_in(then_keys, now_keys)))
    adds = [_add_of(target, back.slice(i, 1)) for i in range(back.num_rows)]
    metadata = _restored_metadata(current.metadata, target.metadata)
    actions: list[Action] = [*([metadata] if metadata is not None else []), *removes, *adds]
    return RestorePlan(actions=actions, read_files=frozenset(now["path"].to_pylist()), metrics={
        "restored_version": target.version, "num_removed_files": len(removes),
        "num_deleted_rows": int(pc.sum(live_counts(gone)).as_py() or 0)})


def _keys(index: pa.Table) -> pa.Array:
    """What makes two live files the same: the path and the deletion vector (a file whose DV
    changed since is removed and added again with the DV it had, spec "add")."""
    paths = index["path"].to_pylist()
    return pa.array([repr((p, dv)) for p, dv in zip(paths, deletion_vectors(index))], pa.string())


def _restored_metadata(current: TableMetadata, target: TableMetadata) -> TableMetadata | None:
    """The current metadata with the target's current schema and default spec. Schemas and
    specs only accumulate, so both are still there, and ids stay unique for all time."""
    if (current.current_schema_id, current.default_spec_id) == (target.current_schema_id, target.default_spec_id):
        return None
    return replace(current, current_schema_id=target.current_schema_id, default_spec_id=target.default_spec_id)


def _add_of(state: TableState, row: pa.Table) -> AddFile:
    """The add that made file `row` live in `state`, again: the log's own action when the state
    holds it, otherwise rebuilt from the checkpoint's file-index row."""
    add = state.files.added.get(row["path"][0].as_py())
    if add is None:
        add = add_files(row, state.metadata)[0]
    return replace(add, data_change=True)
