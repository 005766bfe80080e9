"""Reaching a column inside Arrow data by its path of names (struct children by name)."""

from __future__ import annotations

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
