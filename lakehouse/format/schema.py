"""Table schemas: named, typed columns with stable field ids (spec/format.md, "Schemas")."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Iterator, Sequence

import pyarrow as pa

from ..errors import SchemaMismatchError
from .types import (
    Field, IdAssigner, ListType, MapType, StructType, Type,
    field_from_json, field_to_json, from_arrow_field, to_arrow_field,
)


@dataclass(frozen=True, kw_only=True)
class Schema:
    """An ordered struct of top-level fields, identified by `schema_id` within a table.

    Fields carry ids that never change (renames and moves keep them), so data files are read
    by id. The examples below use this schema:

    >>> import pyarrow as pa
    >>> s = Schema.from_arrow(pa.schema([("id", pa.int64()),
    ...                                  ("address", pa.struct([("zip", pa.string())]))]))
    >>> print(s)
    1: id: int64
    2: address: struct
      3: zip: string
    """

    fields: tuple[Field, ...]
    schema_id: int = 0

    def __post_init__(self) -> None:
        StructType(self.fields)  # refuses duplicate top-level names, as it does inside structs

    # ------------------------------------------------------------ lookups
    @property
    def struct(self) -> StructType:
        """The fields as one struct type."""
        return StructType(self.fields)

    @property
    def names(self) -> list[str]:
        """The top-level column names, in order."""
        return [f.name for f in self.fields]

    @cached_property
    def _by_id(self) -> dict[int, tuple[tuple[str, ...], Field]]:
        return {fid: (path, f) for path, fid, f in _walk(self.fields, ())}

    def field_by_id(self, field_id: int) -> Field | None:
        """The field with this id at any depth, or None.

        >>> import pyarrow as pa
        >>> Schema.from_arrow(pa.schema([("a", pa.struct([("b", pa.int8())]))])).field_by_id(2).name
        'b'
        """
        hit = self._by_id.get(field_id)
        return hit[1] if hit else None

    def find_top(self, field_id: int) -> Field | None:
        """The top-level field with this id, or None (a nested id is not top-level).

        >>> import pyarrow as pa
        >>> s = Schema.from_arrow(pa.schema([("a", pa.struct([("b", pa.int8())]))]))
        >>> s.find_top(1).name, s.find_top(2)
        ('a', None)
        """
        for f in self.fields:
            if f.id == field_id:
                return f
        return None

    def path_of(self, field_id: int) -> tuple[str, ...] | None:
        """Names from the top level down to the field (list elements appear as "element").

        >>> import pyarrow as pa
        >>> Schema.from_arrow(pa.schema([("tags", pa.list_(pa.string()))])).path_of(2)
        ('tags', 'element')
        """
        hit = self._by_id.get(field_id)
        return hit[0] if hit else None

    def find(self, name: str) -> Field | None:
        """A field by its dotted name ("address.zip"); exact match first, then case-insensitive.

        >>> import pyarrow as pa
        >>> Schema.from_arrow(pa.schema([("address", pa.struct([("zip", pa.string())]))])).find("Address.ZIP").id
        2
        """
        return self.find_path(name.split("."))

    def find_path(self, path: Sequence[str]) -> Field | None:
        """A field by its names from the top level down (a name may hold a dot: ("my.col",)).

        >>> import pyarrow as pa
        >>> Schema.from_arrow(pa.schema([("my.col", pa.int8())])).find_path(["my.col"]).id
        1
        """
        return self._find(list(path), exact=True) or self._find(list(path), exact=False)

    def _find(self, parts: list[str], *, exact: bool) -> Field | None:
        fields = self.fields
        found = None
        for i, part in enumerate(parts):
            match = [f for f in fields if (f.name == part if exact else f.name.lower() == part.lower())]
            if len(match) != 1:
                return None
            found = match[0]
            if i < len(parts) - 1:
                if not isinstance(found.type, StructType):
                    return None
                fields = found.type.fields
        return found

    def all_ids(self) -> set[int]:
        """Every field id, nested ones included.

        >>> import pyarrow as pa
        >>> sorted(Schema.from_arrow(pa.schema([("m", pa.map_(pa.string(), pa.int8()))])).all_ids())
        [1, 2, 3]
        """
        return set(self._by_id)

    def all_fields(self) -> Iterator[Field]:
        """Every field, depth first, with list elements and map keys and values as fields.

        >>> import pyarrow as pa
        >>> [f.name for f in Schema.from_arrow(pa.schema([("m", pa.map_(pa.string(), pa.int8()))])).all_fields()]
        ['m', 'key', 'value']
        """
        return (f for _, _, f in _walk(self.fields, ()))

    def leaf_fields(self) -> Iterator[tuple[tuple[str, ...], Field]]:
        """Primitive fields reachable through structs only (these carry column statistics).

        >>> import pyarrow as pa
        >>> s = Schema.from_arrow(pa.schema([("a", pa.struct([("b", pa.int8())])), ("l", pa.list_(pa.int8()))]))
        >>> [path for path, _ in s.leaf_fields()]
        [('a', 'b')]
        """
        yield from _leaves(self.fields, ())

    @property
    def highest_field_id(self) -> int:
        """The largest field id in use (0 for no fields)."""
        return max(self._by_id, default=0)

    # ------------------------------------------------------------ conversions
    def to_arrow(self) -> pa.Schema:
        """The Arrow schema, each field carrying its id as `PARQUET:field_id` metadata.

        >>> import pyarrow as pa
        >>> Schema.from_arrow(pa.schema([("id", pa.int64())])).to_arrow().field("id").metadata
        {b'PARQUET:field_id': b'1'}
        """
        return pa.schema([to_arrow_field(f) for f in self.fields])

    def to_json(self) -> dict:
        """The JSON form the log stores (spec/format.md, "Schemas"); `from_json` reads it back.

        >>> import pyarrow as pa
        >>> s = Schema.from_arrow(pa.schema([("id", pa.int64())]))
        >>> Schema.from_json(s.to_json()) == s
        True
        """
        return {"schema_id": self.schema_id, "fields": [field_to_json(f) for f in self.fields]}

    @classmethod
    def from_json(cls, obj: dict) -> "Schema":
        """A schema from its JSON form (see `to_json`).

        >>> Schema.from_json({"schema_id": 3, "fields": []}).schema_id
        3
        """
        return cls(schema_id=int(obj.get("schema_id", 0)), fields=tuple(field_from_json(f) for f in obj["fields"]))

    @classmethod
    def from_arrow(cls, schema: pa.Schema, *, last_column_id: int = 0, schema_id: int = 0) -> "Schema":
        """A new schema for an Arrow schema, numbering fields after `last_column_id` in depth-first order.

        >>> import pyarrow as pa
        >>> [f.id for f in Schema.from_arrow(pa.schema([("a", pa.int8()), ("b", pa.int8())]), last_column_id=10).fields]
        [11, 12]
        """
        ids = IdAssigner(last_column_id)
        names = [f.name for f in schema]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise SchemaMismatchError(f"duplicate column names: {sorted(dupes)}")
        return cls(schema_id=schema_id, fields=tuple(from_arrow_field(f, ids) for f in schema))

    # ------------------------------------------------------------ display
    def __str__(self) -> str:
        """One line per field, as Arrow prints a schema, each with its field id first; the
        children of structs, lists and maps indented below their parent.

        >>> import pyarrow as pa
        >>> print(Schema.from_arrow(pa.schema([pa.field("id", pa.int64(), nullable=False),
        ...                                    ("tags", pa.list_(pa.string()))])))
        1: id: int64 not null
        2: tags: list
          3: element: string
        """
        return "\n".join(_lines(self.fields, "")) if self.fields else "(no fields)"

    def __repr__(self) -> str:
        """`Schema(schema_id=N)` and the fields as `str()` shows them, indented."""
        body = "\n".join("  " + line for line in str(self).splitlines())
        return f"Schema(schema_id={self.schema_id}):\n{body}"

    def summary(self, limit: int = 8) -> str:
        """The top-level columns on one line, `limit` at most: `id: int64 not null, ts: timestamp[us]`.

        >>> import pyarrow as pa
        >>> Schema.from_arrow(pa.schema([(c, pa.int8()) for c in "abc"])).summary(limit=2)
        'a: int8, b: int8, … 1 more'
        """
        shown = [f"{f.name}: {f.type}{' not null' if f.required else ''}" for f in self.fields[:limit]]
        if len(self.fields) > limit:
            shown.append(f"… {len(self.fields) - limit} more")
        return ", ".join(shown)


def _walk(fields: tuple[Field, ...], prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], int, Field]]:
    for f in fields:
        path = prefix + (f.name,)
        yield path, f.id, f
        yield from _walk_type(f.type, path)


def _walk_type(t: Type, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], int, Field]]:
    yield from _walk(_children(t), path)


def _children(t: Type) -> tuple[Field, ...]:
    """A nested type's direct children as fields (list elements and map keys and values too)."""
    if isinstance(t, StructType):
        return t.fields
    if isinstance(t, ListType):
        return (Field(id=t.element_id, name="element", type=t.element, required=t.element_required),)
    if isinstance(t, MapType):
        return (Field(id=t.key_id, name="key", type=t.key, required=True),
                Field(id=t.value_id, name="value", type=t.value, required=t.value_required))
    return ()


def _leaves(fields: tuple[Field, ...], prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Field]]:
    for f in fields:
        if isinstance(f.type, StructType):
            yield from _leaves(f.type.fields, prefix + (f.name,))
        elif not isinstance(f.type, (ListType, MapType)):
            yield prefix + (f.name,), f


def _lines(fields: tuple[Field, ...], indent: str) -> Iterator[str]:
    for f in fields:
        children = _children(f.type)
        kind = type(f.type).__name__.removesuffix("Type").lower() if children else str(f.type)  # children follow
        doc = f"  -- {f.doc}" if f.doc else ""
        yield f"{indent}{f.id}: {f.name}: {kind}{' not null' if f.required else ''}{doc}"
        yield from _lines(children, indent + "  ")
