"""Turning user data into batches of exactly the table's Arrow schema, or saying what differs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator

import pyarrow as pa

from ..errors import SchemaMismatchError
from ..format.schema import Schema
from ..format.types import (
    IdAssigner, ListType, MapType, StructType, TimestampType, Type, can_widen, from_arrow_field, from_arrow_type,
    is_list_like, logical_arrow_type,
)
from .casting import cast_array
from .inputs import to_reader  # noqa: F401  (re-exported: the write path's one entry for user data)


def schema_differences(data: pa.Schema, schema: Schema, *, allow_extra: bool = False,
                       allow_missing: bool = False) -> list[str]:
    """Human-readable reasons `data` cannot be written under `schema` (empty if it can).

    A column of the table that the data lacks is a difference unless `allow_missing` (the
    "merge" schema mode: it is written as null); a required one always is. Every Arrow layout
    of a type (view, large, dictionary, run-end encoded) counts as that type.
    """
    check = _Check(allow_extra=allow_extra, allow_missing=allow_missing)
    check.check_struct(list(data), StructType(schema.fields), "")
    return check.problems


@dataclass(slots=True, kw_only=True)
class _Check:
    allow_extra: bool
    allow_missing: bool
    problems: list[str] = field(default_factory=list)

    def check_struct(self, data_fields: list[pa.Field], struct: StructType, prefix: str) -> None:
        by_name = {f.name: f for f in data_fields}
        if len(by_name) < len(data_fields):  # a second column of one name would be dropped unseen
            seen: set[str] = set()
            for f in data_fields:
                if f.name in seen:
                    self.problems.append(f"{prefix}{f.name}: duplicate column name in the data")
                seen.add(f.name)
            return
        for f in struct.fields:
            name = prefix + f.name
            got = by_name.pop(f.name, None)
            if got is not None:
                self.check_type(got.type, f.type, name)
            elif f.required:
                self.problems.append(f"{name}: required column missing from the data")
            elif not self.allow_missing:
                self.problems.append(f"{name}: column missing from the data (schema_mode='merge' writes "
                                     "a missing nullable column as null)")
        if not self.allow_extra:
            for extra in by_name:
                self.problems.append(f"{prefix}{extra}: not in the table (schema_mode='merge' adds it)")

    def check_type(self, got: pa.DataType, want: Type, name: str) -> None:
        got = logical_arrow_type(got)
        if pa.types.is_null(got):
            return  # an all-null column fits any type (a required one fails on its nulls when cast)
        if isinstance(want, (StructType, ListType, MapType)):
            self._nested(got, want, name)
            return
        try:
            got_t = from_arrow_type(got, IdAssigner(0))
        except SchemaMismatchError:
            self.problems.append(f"{name}: data has unsupported type {got}")
            return
        if isinstance(got_t, TimestampType) and isinstance(want, TimestampType):
            if (got_t.tz is None) != (want.tz is None):
                self.problems.append(f"{name}: data has {got}, table has {want} (time zone differs)")
            return  # other units are cast safely: a lossy cast fails loudly
        if not can_widen(got_t, want):
            self.problems.append(f"{name}: data has {got}, table has {want}")

    def _nested(self, got: pa.DataType, want: StructType | ListType | MapType, name: str) -> None:
        if isinstance(want, StructType) and pa.types.is_struct(got):
            self.check_struct([got.field(i) for i in range(got.num_fields)], want, name + ".")
        elif isinstance(want, ListType) and is_list_like(got):
            self.check_type(got.value_type, want.element, name + ".element")
        elif isinstance(want, MapType) and pa.types.is_map(got):
            self.check_type(got.key_type, want.key, name + ".key")
            self.check_type(got.item_type, want.value, name + ".value")
        else:
            self.problems.append(f"{name}: data has {got}, table has {want}")


def conform_batches(reader: pa.RecordBatchReader, schema: Schema, *,
                    allow_missing: bool = False) -> Iterator[pa.RecordBatch]:
    """Batches cast to the table's Arrow schema (field ids attached; with `allow_missing`, the
    nullable columns the data lacks are null). Raises SchemaMismatchError, naming the columns,
    if the data does not fit."""
    problems = schema_differences(reader.schema, schema, allow_missing=allow_missing)
    if problems:
        raise SchemaMismatchError("data does not match the table schema: " + "; ".join(problems))
    target = schema.to_arrow()
    same = reader.schema.equals(target, check_metadata=False)
    for batch in reader:
        batch = batch if same else conform_batch(batch, target)
        for column, f in zip(batch.columns, target):
            _check_required(column, f, f.name)  # before any file is written: no orphans
        yield batch


def conform_batch(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    columns = []
    for f in target:
        idx = batch.schema.get_field_index(f.name)
        col = batch.column(idx) if idx >= 0 else pa.nulls(batch.num_rows, f.type)
        columns.append(cast_array(col, f))
    return pa.RecordBatch.from_arrays(columns, schema=target)


def _check_required(col: pa.Array, f: pa.Field, name: str) -> None:
    """SchemaMismatchError naming the column if a required field (at any depth) holds a null.
    A child's nulls under a null parent are not values, so they do not count."""
    if not f.nullable and col.null_count:
        raise SchemaMismatchError(f"{name}: column is required but the data holds {col.null_count} null(s)")
    t = f.type
    if pa.types.is_struct(t):
        for i, child in enumerate(t):
            sub = col.field(i)
            if col.null_count and sub.null_count:
                sub = sub.filter(col.is_valid())
            _check_required(sub, child, f"{name}.{child.name}")
    elif pa.types.is_map(t):
        items = col.items.slice(col.offsets[0].as_py(), col.offsets[-1].as_py() - col.offsets[0].as_py())
        _check_required(items, t.item_field, f"{name}.value")
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        _check_required(col.flatten(), t.value_field, f"{name}.element")


def supplied_field_ids(data: pa.Schema, schema: Schema) -> frozenset[int]:
    """Ids of the table's fields the data actually carries (by name, through structs); the
    fields conform pads with nulls are not among them (spec/format.md, "Conflict rules")."""
    out: set[int] = set()
    _supplied(list(data), schema.fields, out)
    return frozenset(out)


def _supplied(data_fields: list[pa.Field], fields, out: set[int]) -> None:
    by_name = {f.name: f for f in data_fields}
    for f in fields:
        got = by_name.get(f.name)
        if got is None:
            continue
        if isinstance(f.type, StructType) and pa.types.is_struct(got.type):
            out.add(f.id)
            _supplied([got.type.field(i) for i in range(got.type.num_fields)], f.type.fields, out)
        else:  # a primitive, or a list / map given whole
            out.update(Schema(fields=(f,)).all_ids())


def merged_schema(schema: Schema, data: pa.Schema, last_column_id: int) -> tuple[Schema, int]:
    """`schema` with the data's new top-level and nested struct columns added (schema_mode="merge")."""
    ids = IdAssigner(last_column_id)
    fields = _merge_fields(schema.fields, list(data), ids)
    return Schema(fields=fields, schema_id=schema.schema_id + 1), ids.last_id


def _merge_fields(fields, data_fields: list[pa.Field], ids: IdAssigner):
    out = []
    by_name = {f.name: f for f in data_fields}
    for f in fields:
        got = by_name.pop(f.name, None)
        if got is not None and isinstance(f.type, StructType) and pa.types.is_struct(got.type):
            sub = _merge_fields(f.type.fields, [got.type.field(i) for i in range(got.type.num_fields)], ids)
            f = replace(f, type=StructType(sub))
        out.append(f)
    for extra in by_name.values():
        new = from_arrow_field(extra, ids)
        out.append(replace(new, required=False))
    return tuple(out)
