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
from ..format.state import TableState
from ..format.values import encode_value


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
        "num_deleted_rows": sum(r.record_count or 0 for r in removes)})


def _keys(index: pa.Table) -> pa.Array:
    """What makes two live files the same: the path (a later deletion vector joins it)."""
    return index["path"].combine_chunks()


def _restored_metadata(current: TableMetadata, target: TableMetadata) -> TableMetadata | None:
    """The current metadata with the target's current schema and default spec. Schemas and
    specs only accumulate, so both are still there, and ids stay unique for all time."""
    if (current.current_schema_id, current.default_spec_id) == (target.current_schema_id, target.default_spec_id):
        return None
    return replace(current, current_schema_id=target.current_schema_id, default_spec_id=target.default_spec_id)


def _add_of(state: TableState, row: pa.Table) -> AddFile:
    """The add that made file `row` live in `state`, again: the log's own action when the state
    holds it, otherwise rebuilt from the checkpoint's file-index row."""
    path = row["path"][0].as_py()
    add = state.files.added.get(path)
    if add is not None:
        return replace(add, data_change=True)
    r = _ticks_table(row).to_pylist()[0]
    metadata = state.metadata
    return AddFile(path=path, size=r["size"], record_count=r["record_count"], spec_id=r["spec_id"],
                   schema_id=r["schema_id"], partition=_partition_json(r, metadata),
                   stats=_stats_json(r.get("stats") or {}, metadata), modification_time=r["modification_time"])


def _partition_json(row: dict, metadata: TableMetadata) -> dict:
    values = row.get("partition") or {}
    out = {}
    for pf in metadata.spec_by_id(row["spec_id"]).fields:
        source = metadata.schema.field_by_id(pf.source_id)
        value = values.get(str(pf.field_id))
        out[str(pf.field_id)] = None if source is None else encode_value(value, pf.transform.result_type(source.type))
    return out


def _stats_json(stats: dict, metadata: TableMetadata) -> dict:
    out = {}
    for key, s in stats.items():
        field = metadata.schema.field_by_id(int(key))
        if s is None or field is None:
            continue
        entry = {k: s[k] for k in ("null_count", "nan_count") if s.get(k) is not None}
        entry.update({k: encode_value(s[k], field.type) for k in ("min", "max") if s.get(k) is not None})
        out[key] = entry
    return out


def _ticks_table(table: pa.Table) -> pa.Table:
    """`table` with timestamps as integer counts of their unit (exact: a datetime drops nanoseconds)."""
    return pa.table({name: _ticks(table[name].combine_chunks()) for name in table.column_names})


def _ticks(arr: pa.Array) -> pa.Array:
    if pa.types.is_timestamp(arr.type):
        return arr.cast(pa.int64())
    if pa.types.is_struct(arr.type):
        children = [_ticks(arr.field(i)) for i in range(arr.type.num_fields)]
        if not children:
            return arr
        return pa.StructArray.from_arrays(children, names=[f.name for f in arr.type],
                                          mask=arr.is_null() if arr.null_count else None)
    return arr
