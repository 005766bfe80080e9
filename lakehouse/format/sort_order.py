"""Sort orders (spec/format.md, "Sort orders and Z-order"): the order writers give the rows of
each data file, kept in the table's metadata by field id so renames keep it.

A sort field is a top-level column of a primitive type, a direction and a null placement. The
defaults are DuckDB's: ascending, NULLS LAST (for both directions). NaN sorts above every other
float (so first when descending), as in DuckDB; -0.0 and 0.0 are equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ColumnNotFoundError, CorruptTableError, InvalidArgumentError
from .schema import Schema
from .types import FLOAT_TYPES, DecimalType, PrimitiveType, TimestampType

_TERM = re.compile(r"\s*(?P<name>.+?)(?:\s+(?P<dir>asc|desc))?(?:\s+nulls\s+(?P<nulls>first|last))?\s*",
                   re.IGNORECASE | re.DOTALL)


SORT_ORDER_FEATURE = "sort_order"  # writer feature of tables with a sort order (spec section 3)

@dataclass(frozen=True, slots=True, kw_only=True)
class SortField:
    """One key of a sort order: the column's field id, its direction and where nulls go.

    >>> SortField(source_id=2, descending=True)
    SortField(source_id=2, descending=True, nulls_first=False)
    """

    source_id: int
    descending: bool = False
    nulls_first: bool = False

    def describe(self, schema: Schema) -> str:
        """The field as a sort term of `schema`'s names.

        >>> SortField(source_id=2, descending=True).describe(Schema.from_arrow(pa.schema([("a", pa.int8()), ("b", pa.int8())])))
        'b DESC NULLS LAST'
        """
        field = schema.field_by_id(self.source_id)
        name = field.name if field is not None else f"<dropped column {self.source_id}>"
        return f"{name} {'DESC' if self.descending else 'ASC'} NULLS {'FIRST' if self.nulls_first else 'LAST'}"

    def to_json(self) -> dict:
        """The JSON form (spec "Sort orders and Z-order").

        >>> SortField(source_id=1, nulls_first=True).to_json()
        {'source_id': 1, 'direction': 'asc', 'null_order': 'nulls-first'}
        """
        return {"source_id": self.source_id, "direction": "desc" if self.descending else "asc",
                "null_order": "nulls-first" if self.nulls_first else "nulls-last"}

    @classmethod
    def from_json(cls, obj: Any) -> "SortField":
        """A sort field from its JSON form; CorruptTableError for any other shape.

        >>> SortField.from_json({"source_id": 3, "direction": "desc"})
        SortField(source_id=3, descending=True, nulls_first=False)
        """
        if not isinstance(obj, dict):
            raise CorruptTableError(f"a sort field must be an object, not {obj!r:.100}")
        source_id, direction, nulls = obj.get("source_id"), obj.get("direction", "asc"), obj.get("null_order", "nulls-last")
        if isinstance(source_id, bool) or not isinstance(source_id, int) or not 0 <= source_id <= 2**31 - 1 \
                or direction not in ("asc", "desc") or nulls not in ("nulls-first", "nulls-last"):
            raise CorruptTableError(f"malformed sort field {obj!r:.100}")
        return cls(source_id=source_id, descending=direction == "desc", nulls_first=nulls == "nulls-first")


def parse_sort_order(terms: Sequence[str] | str | None, schema: Schema) -> tuple[SortField, ...]:
    """Sort fields from terms such as `"ts"`, `"user_id DESC"`, `"x ASC NULLS FIRST"` (keywords in
    any case; a name may be double-quoted). Each names a top-level column of a primitive type,
    at most once; None or an empty list is no order.

    >>> schema = Schema.from_arrow(pa.schema([("ts", pa.timestamp("us")), ("user_id", pa.int64())]))
    >>> [f.describe(schema) for f in parse_sort_order(["ts", "user_id desc nulls first"], schema)]
    ['ts ASC NULLS LAST', 'user_id DESC NULLS FIRST']
    """
    if terms is None:
        return ()
    if isinstance(terms, str):  # one string is one term, not its characters
        terms = [terms]
    if not isinstance(terms, (list, tuple)) or not all(isinstance(t, str) for t in terms):
        raise InvalidArgumentError(f"a sort order is a list of strings such as ['ts', 'id DESC'], not {terms!r:.100}")
    out: list[SortField] = []
    for term in terms:
        match = _TERM.fullmatch(term)
        if match is None:
            raise InvalidArgumentError(f"not a sort term: {term!r} (examples: 'ts', 'id DESC', 'x ASC NULLS FIRST')")
        name = match["name"]
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = name[1:-1].replace('""', '"')
        field = schema.find_path([name])
        if field is None:
            raise ColumnNotFoundError(f"sort column {name!r} is not a column of the table (columns: "
                                      f"{', '.join(schema.names)})")
        if not isinstance(field.type, (PrimitiveType, DecimalType, TimestampType)):
            raise InvalidArgumentError(f"cannot sort by {field.name!r}: a {field.type} column has no order")
        if any(f.source_id == field.id for f in out):
            raise InvalidArgumentError(f"sort column {field.name!r} is named twice")
        desc = (match["dir"] or "asc").lower() == "desc"
        out.append(SortField(source_id=field.id, descending=desc, nulls_first=(match["nulls"] or "last").lower() == "first"))
    return tuple(out)


def live_sort_order(order: Sequence[SortField], schema: Schema) -> tuple[SortField, ...]:
    """The fields of `order` whose column `schema` still has at the top level: a dropped
    column's field is ignored (spec "Sort orders and Z-order"), the rest keep their order."""
    return tuple(f for f in order if schema.find_top(f.source_id) is not None
                 and schema.find_top(f.source_id).id == f.source_id)


def sort_indices(table: pa.Table, order: Sequence[SortField], schema: Schema) -> pa.Array:
    """The stable permutation putting `table`'s rows (columns named as in `schema`) in `order`."""
    keys, columns = [], {}
    for i, f in enumerate(live_sort_order(order, schema)):
        field = schema.field_by_id(f.source_id)
        column = table.column(field.name)
        direction = "descending" if f.descending else "ascending"
        placement = "at_start" if f.nulls_first else "at_end"
        if field.type in FLOAT_TYPES:  # Arrow places NaN with the nulls; DuckDB above every number
            columns[f"n{i}"] = pc.is_nan(column)
            keys.append((f"n{i}", direction, placement))
        columns[f"k{i}"] = column
        keys.append((f"k{i}", direction, placement))
    if not keys:
        return pa.array(range(table.num_rows), pa.int64())
    return pc.sort_indices(pa.table(columns), sort_keys=keys)


def sort_table(table: pa.Table, order: Sequence[SortField], schema: Schema) -> pa.Table:
    """`table`'s rows in `order` (a stable sort: ties keep their relative order).

    >>> schema = Schema.from_arrow(pa.schema([("x", pa.float64())]))
    >>> t = pa.table({"x": [1.0, None, float("nan"), -1.0]})
    >>> sort_table(t, parse_sort_order(["x"], schema), schema)["x"].to_pylist()
    [-1.0, 1.0, nan, None]
    >>> sort_table(t, parse_sort_order(["x DESC NULLS FIRST"], schema), schema)["x"].to_pylist()
    [None, nan, 1.0, -1.0]
    """
    if not live_sort_order(order, schema) or table.num_rows < 2:
        return table
    return table.take(sort_indices(table, order, schema))
