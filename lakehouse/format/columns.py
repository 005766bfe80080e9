"""Columns by their path of names: ("addr", "zip") is the child zip of struct addr, ("my.col",)
the top-level column whose name holds a dot. A name is never split on dots."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc


def column_at(table: pa.Table, path: tuple[str, ...]) -> pa.ChunkedArray | None:
    """The column at `path`, or None where the table lacks it. Children of a null struct read
    as null (pc.struct_field keeps the parent's nulls, unlike StructArray.field)."""
    if path[0] not in table.column_names:
        return None
    column = table.column(path[0])
    for name in path[1:]:
        if not pa.types.is_struct(column.type) or column.type.get_field_index(name) < 0:
            return None
        column = pc.struct_field(column, [name])
    return column


_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def column_name(path: tuple[str, ...]) -> str:
    """`path` as SQL writes it, for messages: addr.zip, "my.col" (a quote inside a name is doubled)."""
    return ".".join(p if _BARE.fullmatch(p) else '"' + p.replace('"', '""') + '"' for p in path)
