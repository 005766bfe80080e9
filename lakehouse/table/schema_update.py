"""Schema evolution by field id (spec/format.md, "Schema evolution").

Changes are applied one by one to an immutable working schema, each validated as it is made;
nothing is written until the block ends without an error:

    with t.update_schema() as s:
        s.add_column("discount", pa.float64())
        s.rename_column("amount", "price")
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import TYPE_CHECKING, Callable

import pyarrow as pa

from ..errors import ColumnNotFoundError, SchemaMismatchError
from ..format.schema import Schema
from ..format.type_names import format_type
from ..format.types import Field, IdAssigner, StructType, Type, can_widen

if TYPE_CHECKING:
    from .handle import Table
    from .metrics import CommitSummary


def _recorded(change: Callable) -> Callable:
    """Remember a change once it has been validated and applied."""
    @functools.wraps(change)
    def record(self: UpdateSchema, *args, **kwargs) -> UpdateSchema:
        change(self, *args, **kwargs)
        self._calls.append((change.__name__, args, kwargs))
        return self
    return record


class UpdateSchema:
    """A pending set of schema changes; `commit()` (or leaving the `with` block) commits them."""

    def __init__(self, table: "Table") -> None:
        self._table = table
        self._base = table.state
        self._fields = table.schema.fields
        self._ids = IdAssigner(self._base.metadata.last_column_id)
        self._changes: list[str] = []
        self._calls: list[tuple[str, tuple, dict]] = []  # each change as asked, to redo on a newer state
        self._committed: "CommitSummary | None" = None

    # ------------------------------------------------------------ changes
    @_recorded
    def add_column(self, name: str, type: str | pa.DataType | Type, *, doc: str | None = None,
                   required: bool = False) -> "UpdateSchema":
        """Add a column (dotted names add inside a struct). Old rows read it as null, so it cannot be required.

        `type` is a type name (`"string"`, `"decimal(10, 2)"`, `"list<int64>"`, or DuckDB's `"varchar"`;
        see `lakehouse.format.type_names`), a pyarrow DataType, or a format type.

        >>> import lakehouse
        >>> t = lakehouse.create_table("memory://doc-add-column", schema={"id": "int64"})
        >>> with t.update_schema() as s:
        ...     _ = s.add_column("note", "string").add_column("tags", "list<string>")
        >>> [str(f.type) for f in t.schema.fields]
        ['int64', 'string', 'list<string>']
        """
        if required:
            raise SchemaMismatchError(f"cannot add required column {name!r}: existing rows have no value for it")
        *parents, leaf = name.split(".")
        field_id = self._ids.next()  # the parent's id before its children's, as at creation
        new_type = format_type(type, self._ids)
        field = Field(id=field_id, name=leaf, type=new_type, required=False, doc=doc)

        def add(fields: tuple[Field, ...]) -> tuple[Field, ...]:
            if _named(fields, leaf) is not None:
                raise SchemaMismatchError(f"cannot add {name!r}: a column of that name exists")
            return fields + (field,)
        self._fields = _edit_struct(self._fields, parents, add, name)
        self._changes.append(f"add {name} {new_type}")
        return self

    @_recorded
    def rename_column(self, name: str, new_name: str) -> "UpdateSchema":
        """Rename a column in place (`new_name` is the new last part of the name).

        >>> import lakehouse
        >>> t = lakehouse.create_table("memory://doc-rename", schema={"id": "int64", "s": "struct<a: int64>"})
        >>> with t.update_schema() as s:
        ...     _ = s.rename_column("id", "key").rename_column("s.a", "b")
        >>> str(t.schema.struct)
        'struct<key: int64, s: struct<b: int64>>'
        """
        *parents, leaf = name.split(".")
        if "." in new_name:
            raise SchemaMismatchError(f"the new name {new_name!r} must not contain '.'; rename moves no column")

        def rename(fields: tuple[Field, ...]) -> tuple[Field, ...]:
            target = _require(fields, leaf, name)
            if new_name != leaf and _named(fields, new_name) is not None:
                raise SchemaMismatchError(f"cannot rename {name!r} to {new_name!r}: a column of that name exists")
            return tuple(replace(f, name=new_name) if f is target else f for f in fields)
        self._fields = _edit_struct(self._fields, parents, rename, name)
        self._changes.append(f"rename {name} to {new_name}")
        return self

    @_recorded
    def drop_column(self, name: str) -> "UpdateSchema":
        """Drop a column. Its values stay in old files but are never read again under this id.

        >>> import lakehouse
        >>> t = lakehouse.create_table("memory://doc-drop", schema={"id": "int64", "note": "string"})
        >>> with t.update_schema() as s:
        ...     _ = s.drop_column("note")
        >>> t.schema.names
        ['id']
        """
        *parents, leaf = name.split(".")

        def drop(fields: tuple[Field, ...]) -> tuple[Field, ...]:
            target = _require(fields, leaf, name)
            used = _partition_sources(self._base.metadata) & Schema(fields=(target,)).all_ids()
            if used:
                raise SchemaMismatchError(f"cannot drop {name!r}: the current partition spec uses it "
                                          "(change the partitioning first)")
            rest = tuple(f for f in fields if f is not target)
            if not rest:
                raise SchemaMismatchError(f"cannot drop {name!r}: a table or struct needs at least one column")
            return rest
        self._fields = _edit_struct(self._fields, parents, drop, name)
        self._changes.append(f"drop {name}")
        return self

    @_recorded
    def widen_column(self, name: str, type: str | pa.DataType | Type) -> "UpdateSchema":
        """Promote a column's type: int8→16→32→64, float32→64, decimal precision up, date→timestamp.
        `type` is given as to `add_column`.

        >>> import lakehouse
        >>> t = lakehouse.create_table("memory://doc-widen", schema={"n": "int32", "d": "decimal(5, 2)"})
        >>> with t.update_schema() as s:
        ...     _ = s.widen_column("n", "bigint").widen_column("d", "decimal(12, 2)")
        >>> [str(f.type) for f in t.schema.fields]
        ['int64', 'decimal(12, 2)']
        """
        *parents, leaf = name.split(".")
        new_type = format_type(type, IdAssigner(0))

        def widen(fields: tuple[Field, ...]) -> tuple[Field, ...]:
            target = _require(fields, leaf, name)
            if not can_widen(target.type, new_type):
                raise SchemaMismatchError(f"cannot change {name!r} from {target.type} to {new_type}: only widening "
                                          "int8→int16→int32→int64, float32→float64, decimal(P,S)→decimal(P'>P,S) "
                                          "and date→timestamp is allowed")
            _check_partition_values_kept(self._base.metadata, target, new_type, name)
            return tuple(replace(f, type=new_type) if f is target else f for f in fields)
        self._fields = _edit_struct(self._fields, parents, widen, name)
        self._changes.append(f"widen {name} to {new_type}")
        return self

    @_recorded
    def move_column(self, name: str, *, after: str | None = None, before: str | None = None,
                    first: bool = False) -> "UpdateSchema":
        """Move a column within its struct: `after=` or `before=` a sibling, or `first=True`.

        >>> import lakehouse
        >>> t = lakehouse.create_table("memory://doc-move", schema={"a": "int64", "b": "int64", "c": "int64"})
        >>> with t.update_schema() as s:
        ...     _ = s.move_column("c", first=True).move_column("a", after="b")
        >>> t.schema.names
        ['c', 'b', 'a']
        """
        if sum([after is not None, before is not None, first]) != 1:
            raise SchemaMismatchError("move_column needs exactly one of after=, before= or first=True")
        *parents, leaf = name.split(".")

        def move(fields: tuple[Field, ...]) -> tuple[Field, ...]:
            target = _require(fields, leaf, name)
            rest = [f for f in fields if f is not target]
            if first:
                return (target, *rest)
            anchor_name = (after or before).split(".")[-1]
            anchor = _require(tuple(rest), anchor_name, after or before)
            i = rest.index(anchor) + (1 if after is not None else 0)
            return tuple(rest[:i] + [target] + rest[i:])
        self._fields = _edit_struct(self._fields, parents, move, name)
        self._changes.append(f"move {name}")
        return self

    @_recorded
    def set_nullable(self, name: str, nullable: bool = True) -> "UpdateSchema":
        """Make a required column optional. The reverse is refused: old rows may hold nulls.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://doc-nullable", schema=pa.schema([pa.field("id", pa.int64(), False)]))
        >>> with t.update_schema() as s:
        ...     _ = s.set_nullable("id")
        >>> t.schema.fields[0].required
        False
        """
        *parents, leaf = name.split(".")

        def relax(fields: tuple[Field, ...]) -> tuple[Field, ...]:
            target = _require(fields, leaf, name)
            if not nullable and not target.required:
                raise SchemaMismatchError(f"cannot make {name!r} required: existing rows may hold nulls")
            return tuple(replace(f, required=not nullable) if f is target else f for f in fields)
        self._fields = _edit_struct(self._fields, parents, relax, name)
        self._changes.append(f"set {name} {'nullable' if nullable else 'required'}")
        return self

    # ------------------------------------------------------------ result
    @property
    def schema(self) -> Schema:
        """The schema as it will be committed.

        >>> import lakehouse
        >>> t = lakehouse.create_table("memory://doc-pending", schema={"id": "int64"})
        >>> t.update_schema().add_column("x", "double").schema.names
        ['id', 'x']
        """
        metadata = self._base.metadata
        return Schema(fields=self._fields, schema_id=max(s.schema_id for s in metadata.schemas) + 1)

    def commit(self) -> "CommitSummary":
        """Commit the changes (once; later calls return the same summary). A `with` block calls it.

        >>> import lakehouse
        >>> t = lakehouse.create_table("memory://doc-commit", schema={"id": "int64"})
        >>> t.update_schema().add_column("x", "string").commit().version
        1
        """
        if self._committed is None:
            if not self._changes:
                raise SchemaMismatchError("no schema changes to commit")
            if self._table.state.version != self._base.version:
                # The handle committed something since these changes were started (a merge append,
                # new partitioning, another schema update): redo them, validated again, on the state
                # they will be committed on, so nothing it did is reverted and no field id is reused.
                redo = UpdateSchema(self._table)
                for name, args, kwargs in self._calls:
                    getattr(redo, name)(*args, **kwargs)
                self._committed = redo.commit()
            else:
                self._committed = self._table._commit_schema(self._base, self.schema, self._ids.last_id,
                                                             self._changes)
        return self._committed

    def __enter__(self) -> "UpdateSchema":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self._changes:
            self.commit()


def _named(fields: tuple[Field, ...], name: str) -> Field | None:
    return next((f for f in fields if f.name == name), None)


def _require(fields: tuple[Field, ...], name: str, full: str) -> Field:
    found = _named(fields, name)
    if found is None:
        raise ColumnNotFoundError(f"no column named {full!r}")
    return found


def _edit_struct(fields: tuple[Field, ...], parents: list[str], edit: Callable[[tuple[Field, ...]], tuple[Field, ...]],
                 full: str) -> tuple[Field, ...]:
    """Apply `edit` to the fields of the struct reached through `parents`."""
    if not parents:
        return edit(fields)
    head = _require(fields, parents[0], full)
    if not isinstance(head.type, StructType):
        raise SchemaMismatchError(f"{full!r}: {head.name!r} is {head.type}, not a struct")
    inner = _edit_struct(head.type.fields, parents[1:], edit, full)
    return tuple(replace(f, type=StructType(inner)) if f is head else f for f in fields)


def _check_partition_values_kept(metadata, column: Field, new_type: Type, name: str) -> None:
    """Iceberg's rule: refuse a promotion that would change the partition value of a field sourced
    from this column, in any spec the table has had (old files keep their specs, and pruning them
    compares their stored values with values computed under the new type)."""
    for spec in metadata.partition_specs:
        for pf in spec.fields_by_source(column.id):
            if not pf.transform.preserves_promotion(column.type, new_type):
                raise SchemaMismatchError(
                    f"cannot change {name!r} from {column.type} to {new_type}: it is the source of partition "
                    f"field {pf.name!r} ({pf.transform}, spec {spec.spec_id}), whose values would change")


def _partition_sources(metadata) -> set[int]:
    return {pf.source_id for pf in metadata.partition_spec.fields}
