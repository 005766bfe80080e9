"""Column types of the format (spec/format.md, "Types") and their Arrow mapping.

Every type is a frozen value. Nested types carry the field ids of their children so
that evolution (add, rename, drop, widen) can address any column by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context
from typing import Union

import pyarrow as pa

from ..errors import SchemaMismatchError

PRIMITIVE_NAMES = (
    "boolean", "int8", "int16", "int32", "int64", "float32", "float64",
    "string", "binary", "date", "time",
)
TIME_UNITS = ("s", "ms", "us", "ns")
TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
MAX_DECIMAL_PRECISION = 76  # decimal256
DECIMAL_CONTEXT = Context(prec=100)  # decimal256 holds 76 digits; the default context rounds at 28


@dataclass(frozen=True, slots=True)
class PrimitiveType:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class DecimalType:
    precision: int
    scale: int

    def __str__(self) -> str:
        return f"decimal({self.precision}, {self.scale})"


@dataclass(frozen=True, slots=True)
class TimestampType:
    unit: str = "us"
    tz: str | None = None

    def __str__(self) -> str:
        return f"timestamp[{self.unit}{', ' + self.tz if self.tz else ''}]"


@dataclass(frozen=True, slots=True)
class ListType:
    element_id: int
    element: "Type"
    element_required: bool = False

    def __str__(self) -> str:
        return f"list<{self.element}>"


@dataclass(frozen=True, slots=True)
class MapType:
    key_id: int
    key: "Type"
    value_id: int
    value: "Type"
    value_required: bool = False

    def __str__(self) -> str:
        return f"map<{self.key}, {self.value}>"


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    id: int
    name: str
    type: "Type"
    required: bool = False
    doc: str | None = None

    def __repr__(self) -> str:  # the type as it prints (int64, list<string>), not its dataclass
        doc = "" if self.doc is None else f", doc={self.doc!r}"
        return f"Field(id={self.id}, name={self.name!r}, type={self.type}, required={self.required}{doc})"


@dataclass(frozen=True, slots=True)
class StructType:
    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        # A name reaches a field by name (Arrow, Parquet, `where`): two children with one name
        # would leave one unreachable, its data silently null.
        seen: set[str] = set()
        for f in self.fields:
            if f.name in seen:
                raise SchemaMismatchError(f"duplicate field name {f.name!r} in a struct")
            seen.add(f.name)

    def __str__(self) -> str:
        return "struct<" + ", ".join(f"{f.name}: {f.type}" for f in self.fields) + ">"

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


Type = Union[PrimitiveType, DecimalType, TimestampType, ListType, MapType, StructType]

BOOLEAN, INT8, INT16, INT32, INT64 = (PrimitiveType(n) for n in PRIMITIVE_NAMES[:5])
FLOAT32, FLOAT64, STRING, BINARY, DATE, TIME = (PrimitiveType(n) for n in PRIMITIVE_NAMES[5:])

INTEGER_TYPES = (INT8, INT16, INT32, INT64)
FLOAT_TYPES = (FLOAT32, FLOAT64)

_ARROW_PRIMITIVES = {
    BOOLEAN: pa.bool_(), INT8: pa.int8(), INT16: pa.int16(), INT32: pa.int32(), INT64: pa.int64(),
    FLOAT32: pa.float32(), FLOAT64: pa.float64(), STRING: pa.string(), BINARY: pa.binary(),
    DATE: pa.date32(), TIME: pa.time64("us"),
}
_FROM_ARROW_PRIMITIVES = {v: k for k, v in _ARROW_PRIMITIVES.items()}
_FROM_ARROW_PRIMITIVES.update({pa.large_string(): STRING, pa.string_view(): STRING, pa.date64(): DATE,
                               pa.large_binary(): BINARY, pa.binary_view(): BINARY})

FIELD_ID_KEY = b"PARQUET:field_id"


def is_primitive(t: Type) -> bool:
    return isinstance(t, (PrimitiveType, DecimalType, TimestampType))


# ---------------------------------------------------------------- JSON (spec: "Types")

def type_to_json(t: Type) -> object:
    if isinstance(t, PrimitiveType):
        return t.name
    if isinstance(t, DecimalType):
        return {"type": "decimal", "precision": t.precision, "scale": t.scale}
    if isinstance(t, TimestampType):
        return {"type": "timestamp", "unit": t.unit, "tz": t.tz}
    if isinstance(t, ListType):
        return {"type": "list", "element_id": t.element_id, "element": type_to_json(t.element),
                "element_required": t.element_required}
    if isinstance(t, MapType):
        return {"type": "map", "key_id": t.key_id, "key": type_to_json(t.key),
                "value_id": t.value_id, "value": type_to_json(t.value), "value_required": t.value_required}
    return {"type": "struct", "fields": [field_to_json(f) for f in t.fields]}


def field_to_json(f: Field) -> dict:
    out = {"id": f.id, "name": f.name, "type": type_to_json(f.type), "required": f.required}
    if f.doc is not None:
        out["doc"] = f.doc
    return out


def type_from_json(obj: object) -> Type:
    if isinstance(obj, str):
        if obj not in PRIMITIVE_NAMES:
            raise SchemaMismatchError(f"unknown type {obj!r}")
        return PrimitiveType(obj)
    kind = obj["type"]
    if kind == "decimal":
        return DecimalType(int(obj["precision"]), int(obj["scale"]))
    if kind == "timestamp":
        return TimestampType(obj.get("unit", "us"), obj.get("tz"))
    if kind == "list":
        return ListType(int(obj["element_id"]), type_from_json(obj["element"]), bool(obj["element_required"]))
    if kind == "map":
        return MapType(int(obj["key_id"]), type_from_json(obj["key"]), int(obj["value_id"]),
                       type_from_json(obj["value"]), bool(obj["value_required"]))
    if kind == "struct":
        return StructType(tuple(field_from_json(f) for f in obj["fields"]))
    raise SchemaMismatchError(f"unknown type {kind!r}")


def field_from_json(obj: dict) -> Field:
    return Field(id=int(obj["id"]), name=obj["name"], type=type_from_json(obj["type"]),
                 required=bool(obj.get("required", False)), doc=obj.get("doc"))


# ---------------------------------------------------------------- Arrow

def to_arrow_type(t: Type) -> pa.DataType:
    if isinstance(t, PrimitiveType):
        return _ARROW_PRIMITIVES[t]
    if isinstance(t, DecimalType):
        return pa.decimal128(t.precision, t.scale) if t.precision <= 38 else pa.decimal256(t.precision, t.scale)
    if isinstance(t, TimestampType):
        return pa.timestamp(t.unit, tz=t.tz)
    if isinstance(t, ListType):
        return pa.list_(_child_arrow_field("element", t.element_id, t.element, t.element_required))
    if isinstance(t, MapType):
        return pa.map_(_child_arrow_field("key", t.key_id, t.key, True),
                       _child_arrow_field("value", t.value_id, t.value, t.value_required))
    return pa.struct([to_arrow_field(f) for f in t.fields])


def _child_arrow_field(name: str, fid: int, t: Type, required: bool) -> pa.Field:
    return pa.field(name, to_arrow_type(t), nullable=not required, metadata={FIELD_ID_KEY: str(fid).encode()})


def to_arrow_field(f: Field) -> pa.Field:
    return _child_arrow_field(f.name, f.id, f.type, f.required)


class IdAssigner:
    """Hands out fresh field ids, counting up from the table's last assigned id."""

    def __init__(self, last_id: int) -> None:
        self.last_id = last_id

    def next(self) -> int:
        self.last_id += 1
        return self.last_id


def logical_arrow_type(t: pa.DataType) -> pa.DataType:
    """`t` without its encoding: a dictionary or run-end encoded array holds values of its value
    type, and is written as that type (view and large variants map to one format type below)."""
    while pa.types.is_dictionary(t) or pa.types.is_run_end_encoded(t):
        t = t.value_type
    return t


def is_list_like(t: pa.DataType) -> bool:
    """Every Arrow layout of a list: list, large, view, large view, fixed size."""
    return (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t)
            or pa.types.is_large_list_view(t) or pa.types.is_fixed_size_list(t))


def from_arrow_type(t: pa.DataType, ids: IdAssigner) -> Type:
    """The format type for an Arrow type, with fresh ids for nested children."""
    t = logical_arrow_type(t)
    if t in _FROM_ARROW_PRIMITIVES:
        return _FROM_ARROW_PRIMITIVES[t]
    if pa.types.is_decimal(t):
        return DecimalType(t.precision, t.scale)
    if pa.types.is_timestamp(t):
        return TimestampType(t.unit, t.tz)
    if pa.types.is_time(t):
        return TIME
    if pa.types.is_map(t):
        key_id, value_id = ids.next(), ids.next()
        return MapType(key_id, from_arrow_type(t.key_type, ids), value_id,
                       from_arrow_type(t.item_type, ids), not t.item_field.nullable)
    if is_list_like(t):
        element_id = ids.next()
        return ListType(element_id, from_arrow_type(t.value_type, ids), not t.value_field.nullable)
    if pa.types.is_struct(t):
        return StructType(tuple(from_arrow_field(t.field(i), ids) for i in range(t.num_fields)))
    raise SchemaMismatchError(f"the Arrow type {t} is not supported by the table format")


def from_arrow_field(f: pa.Field, ids: IdAssigner) -> Field:
    fid = ids.next()
    return Field(id=fid, name=f.name, type=from_arrow_type(f.type, ids), required=not f.nullable)


# ---------------------------------------------------------------- widening (spec: "Type promotion")

_INT_RANK = {INT8: 0, INT16: 1, INT32: 2, INT64: 3}


def can_widen(old: Type, new: Type) -> bool:
    """True if every value of `old` is exactly representable in `new` (or they are equal)."""
    if old == new:
        return True
    if old in _INT_RANK and new in _INT_RANK:
        return _INT_RANK[old] <= _INT_RANK[new]
    if old == FLOAT32 and new == FLOAT64:
        return True
    if isinstance(old, DecimalType) and isinstance(new, DecimalType):
        return old.scale == new.scale and new.precision >= old.precision
    if old == DATE and isinstance(new, TimestampType):
        return True
    return False
