"""Log actions (spec/format.md, "Actions"): the values a commit is made of.

Each action is a frozen value with a JSON form. A commit is a list of actions; `state.apply`
folds them into the next table state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, TypeVar, Union

import pyarrow as pa

from ..errors import CorruptTableError, LakehouseError
from .partitioning import PartitionSpec
from .paths import check_relative_path
from .schema import Schema
from .sort_order import SortField
from .types import TimestampType

T = TypeVar("T")

# Protocol versions this library reads and writes (spec/format.md, "Protocol").
READER_VERSION = 1
WRITER_VERSION = 1
# Features (spec/format.md, "Protocol") this library implements.
DELETION_VECTORS = "deletion_vectors"
KNOWN_READER_FEATURES: frozenset[str] = frozenset({DELETION_VECTORS})
KNOWN_WRITER_FEATURES: frozenset[str] = frozenset({DELETION_VECTORS, "change_feed", "tags", "sort_order"})


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


# ---------------------------------------------------------------- reading untrusted JSON
# A log entry is input from whoever wrote the table: every field is checked for its JSON type
# and range here, so a bad one is a CorruptTableError naming the field, never an OverflowError
# or TypeError from deep inside a scan (spec/format.md, "Actions": field types).

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MAX = 2**31 - 1
# Times are ms since the Unix epoch, up to the end of year 9999 (what datetime can show).
TIME_MS = {"lo": 0, "hi": 253_402_300_799_999}
_REQUIRED: Any = object()


def _get(obj: Mapping, key: str, default: Any) -> Any:
    if not isinstance(obj, dict):
        raise CorruptTableError(f"expected an object, got {_show(obj)}")
    value = obj.get(key, default)
    if value is _REQUIRED:
        raise CorruptTableError(f"field {key!r} is missing")
    return value


def _int(obj: Mapping, key: str, default: Any = _REQUIRED, *, lo: int = INT64_MIN, hi: int = INT64_MAX,
         nullable: bool = False) -> Any:
    """An integer in [lo, hi]; a float is accepted only when it has no fraction (5.0)."""
    value = _get(obj, key, default)
    if value is None and nullable:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise CorruptTableError(f"field {key!r} must be an integer in [{lo}, {hi}], got {_show(value)}")
    return value


def _str(obj: Mapping, key: str, default: Any = _REQUIRED) -> str:
    value = _get(obj, key, default)
    if not isinstance(value, str):
        raise CorruptTableError(f"field {key!r} must be a string, got {_show(value)}")
    return value


def _bool(obj: Mapping, key: str, default: Any = _REQUIRED) -> bool:
    value = _get(obj, key, default)
    if not isinstance(value, bool):
        raise CorruptTableError(f"field {key!r} must be true or false, got {_show(value)}")
    return value


def _object(obj: Mapping, key: str, values: Callable[[Any], bool] = lambda v: True,
            what: str = "any value") -> dict:
    """A JSON object (null reads as {}) whose values pass `values`."""
    value = _get(obj, key, None)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and values(v) for k, v in value.items()):
        raise CorruptTableError(f"field {key!r} must be an object of {what}, got {_show(value)}")
    return value


def _list(obj: Mapping, key: str) -> list:
    value = _get(obj, key, _REQUIRED)
    if not isinstance(value, list):
        raise CorruptTableError(f"field {key!r} must be a list, got {_show(value)}")
    return value


def _str_list(obj: Mapping, key: str) -> tuple[str, ...]:
    value = _get(obj, key, ())
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise CorruptTableError(f"field {key!r} must be a list of strings, got {_show(value)}")
    return tuple(value)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _column_stats(value: Any) -> bool:
    """One column's statistics: scalar bounds, counts null or a non-negative int64."""
    return isinstance(value, dict) and all(
        _scalar(v) if k in ("min", "max") else
        (v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= INT64_MAX))
        if k in ("null_count", "nan_count") else True for k, v in value.items())


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:100] + "..."


@dataclass(frozen=True, slots=True, kw_only=True)
class Protocol:
    reader_version: int = READER_VERSION
    writer_version: int = WRITER_VERSION
    reader_features: tuple[str, ...] = ()
    writer_features: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"reader_version": self.reader_version, "writer_version": self.writer_version,
                "reader_features": list(self.reader_features), "writer_features": list(self.writer_features)}

    @classmethod
    def from_json(cls, obj: dict) -> "Protocol":
        return cls(reader_version=_int(obj, "reader_version", lo=1, hi=INT32_MAX),
                   writer_version=_int(obj, "writer_version", lo=1, hi=INT32_MAX),
                   reader_features=_str_list(obj, "reader_features"),
                   writer_features=_str_list(obj, "writer_features"))


@dataclass(frozen=True, kw_only=True)
class TableMetadata:
    """The table's definition. Every metadata action replaces it whole."""

    table_id: str
    created_at: int
    schemas: tuple[Schema, ...]
    current_schema_id: int
    last_column_id: int
    partition_specs: tuple[PartitionSpec, ...]
    default_spec_id: int
    last_partition_id: int
    properties: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    sort_order: tuple[SortField, ...] = ()  # spec "Sort orders and Z-order"; () is none

    def __post_init__(self) -> None:
        object.__setattr__(self, "properties", _frozen(self.properties))
        object.__setattr__(self, "sort_order", tuple(self.sort_order))

    @property
    def schema(self) -> Schema:
        return self.schema_by_id(self.current_schema_id)

    def schema_by_id(self, schema_id: int) -> Schema:
        for s in self.schemas:
            if s.schema_id == schema_id:
                return s
        raise CorruptTableError(f"metadata names schema {schema_id}, which it does not hold")

    @property
    def partition_spec(self) -> PartitionSpec:
        return self.spec_by_id(self.default_spec_id)

    def spec_by_id(self, spec_id: int) -> PartitionSpec:
        for s in self.partition_specs:
            if s.spec_id == spec_id:
                return s
        raise CorruptTableError(f"metadata names partition spec {spec_id}, which it does not hold")

    @property
    def specs_by_id(self) -> dict[int, PartitionSpec]:
        return {s.spec_id: s for s in self.partition_specs}

    def setting(self, key_default: tuple[str, T], convert: Callable[[str], T] = int) -> T:
        """A table property (spec/format.md, "Table properties") as a typed value, or its default."""
        key, default = key_default
        value = self.properties.get(key)
        return default if value is None else convert(value)

    def to_json(self) -> dict:
        return {
            "table_id": self.table_id, "created_at": self.created_at,
            "schemas": [s.to_json() for s in self.schemas], "current_schema_id": self.current_schema_id,
            "last_column_id": self.last_column_id,
            "partition_specs": [s.to_json() for s in self.partition_specs],
            "default_spec_id": self.default_spec_id, "last_partition_id": self.last_partition_id,
            "properties": dict(self.properties),
            # absent when empty: entries of tables without a sort order stay as they were
            **({"sort_order": [f.to_json() for f in self.sort_order]} if self.sort_order else {}),
        }

    @classmethod
    def from_json(cls, obj: dict) -> "TableMetadata":
        ids = {"lo": 0, "hi": INT32_MAX}
        return _checked(cls(
            table_id=_str(obj, "table_id"), created_at=_int(obj, "created_at", **TIME_MS),
            schemas=tuple(Schema.from_json(s) for s in _list(obj, "schemas")),
            current_schema_id=_int(obj, "current_schema_id", **ids),
            last_column_id=_int(obj, "last_column_id", **ids),
            partition_specs=tuple(PartitionSpec.from_json(s) for s in _list(obj, "partition_specs")),
            default_spec_id=_int(obj, "default_spec_id", **ids),
            last_partition_id=_int(obj, "last_partition_id", **ids),
            properties=_object(obj, "properties", lambda v: isinstance(v, str), "strings"),
            sort_order=tuple(SortField.from_json(f) for f in _sort_order(obj)),
        ))


def _sort_order(obj: dict) -> list:
    value = _get(obj, "sort_order", None)
    if value is not None and not isinstance(value, list):
        raise CorruptTableError(f"field 'sort_order' must be a list, got {_show(value)}")
    return value or []


def _checked(meta: TableMetadata) -> TableMetadata:
    """`meta`, once the parts the schema and partition-spec decoders coerce rather than check
    are known to be usable: every id an int32, every name a string, every schema convertible to
    Arrow, the current schema and default spec present."""
    for schema in meta.schemas:
        ids = set()
        for f in schema.all_fields():
            if isinstance(f.id, bool) or not isinstance(f.id, int) or not 0 <= f.id <= INT32_MAX \
                    or f.id in ids or not isinstance(f.name, str) or not isinstance(f.required, bool):
                raise CorruptTableError(f"schema {schema.schema_id}: field {_show(f)} is malformed "
                                        "or reuses an id")
            ids.add(f.id)
        try:
            schema.to_arrow()
            for f in schema.all_fields():
                if isinstance(f.type, TimestampType) and f.type.tz is not None:  # a zone Arrow knows
                    pa.scalar(0, pa.timestamp(f.type.unit, f.type.tz)).as_py()
        except (TypeError, ValueError, ArithmeticError, pa.ArrowException) as e:
            raise CorruptTableError(f"schema {schema.schema_id} has a type Arrow cannot hold: {e}") from None
    for spec in meta.partition_specs:
        for pf in spec.fields:
            if not isinstance(pf.name, str) or not all(0 <= i <= INT32_MAX for i in (pf.source_id, pf.field_id)):
                raise CorruptTableError(f"partition spec {spec.spec_id}: field {_show(pf)} is malformed")
    meta.schema, meta.partition_spec  # noqa: B018 - raise now if either is missing
    return meta


# The smallest deletion-vector-v1 blob: length (4), magic (4), an empty 64-bit bitmap (8), CRC (4).
DV_MIN_LENGTH = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletionVector:
    """Where the deletion vector of one data file lives (spec/format.md, "Deletion vectors"):
    the blob at `offset`, `length` bytes long, in the Puffin file at `path` (relative to the
    root), marking `cardinality` deleted row positions.

    >>> DeletionVector.from_json({"path": "deletes/a.puffin", "offset": 4, "length": 40, "cardinality": 3})
    DeletionVector(path='deletes/a.puffin', offset=4, length=40, cardinality=3)
    """

    path: str
    offset: int
    length: int
    cardinality: int

    def to_json(self) -> dict:
        return {"path": self.path, "offset": self.offset, "length": self.length, "cardinality": self.cardinality}

    @classmethod
    def from_json(cls, obj: dict) -> "DeletionVector":
        try:
            return cls(path=check_relative_path(_get(obj, "path", _REQUIRED), "field 'path'"),
                       offset=_int(obj, "offset", lo=0), length=_int(obj, "length", lo=DV_MIN_LENGTH, hi=INT32_MAX),
                       cardinality=_int(obj, "cardinality", lo=0))
        except CorruptTableError as e:
            raise CorruptTableError(f"deletion_vector: {e}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class AddFile:
    """A data file joins the table. `partition` and `stats` keep their JSON encoding
    (keyed by partition field id / column field id); they are decoded against the
    table's schema only when a scan needs them."""

    path: str
    size: int
    record_count: int
    spec_id: int
    schema_id: int
    partition: Mapping[str, Any]
    stats: Mapping[str, Any]
    modification_time: int
    data_change: bool = True
    deletion_vector: DeletionVector | None = None

    @property
    def live_count(self) -> int:
        """Rows of the file a reader returns: `record_count` less those its deletion vector marks."""
        return self.record_count - (self.deletion_vector.cardinality if self.deletion_vector else 0)

    def to_json(self) -> dict:
        out = {"path": self.path, "size": self.size, "record_count": self.record_count,
               "spec_id": self.spec_id, "schema_id": self.schema_id, "partition": dict(self.partition),
               "stats": dict(self.stats), "modification_time": self.modification_time,
               "data_change": self.data_change}
        if self.deletion_vector is not None:  # absent, not null: older readers' entries stay identical
            out["deletion_vector"] = self.deletion_vector.to_json()
        return out

    @classmethod
    def from_json(cls, obj: dict) -> "AddFile":
        return cls(path=check_relative_path(_get(obj, "path", _REQUIRED), "field 'path'"),
                   size=_int(obj, "size", lo=0), record_count=_int(obj, "record_count", lo=0),
                   spec_id=_int(obj, "spec_id", 0, lo=0, hi=INT32_MAX),
                   schema_id=_int(obj, "schema_id", 0, lo=0, hi=INT32_MAX),
                   partition=_object(obj, "partition", _scalar, "JSON scalars"),
                   stats=_object(obj, "stats", _column_stats, "column statistics"),
                   modification_time=_int(obj, "modification_time", **TIME_MS),
                   data_change=_bool(obj, "data_change", True),
                   deletion_vector=_deletion_vector(obj))


def _deletion_vector(obj: dict) -> DeletionVector | None:
    """The add's DV descriptor, which cannot mark more rows than the file has."""
    value = _get(obj, "deletion_vector", None)
    if value is None:
        return None
    dv = DeletionVector.from_json(value)
    if dv.cardinality > obj["record_count"]:
        raise CorruptTableError(f"deletion_vector: cardinality {dv.cardinality} exceeds record_count "
                                f"{obj['record_count']}")
    return dv


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveFile:
    """A data file leaves the table (it stays on storage until vacuum)."""

    path: str
    deletion_timestamp: int
    size: int | None = None
    record_count: int | None = None
    data_change: bool = True

    def to_json(self) -> dict:
        return {"path": self.path, "deletion_timestamp": self.deletion_timestamp, "size": self.size,
                "record_count": self.record_count, "data_change": self.data_change}

    @classmethod
    def from_json(cls, obj: dict) -> "RemoveFile":
        return cls(path=check_relative_path(_get(obj, "path", _REQUIRED), "field 'path'"),
                   deletion_timestamp=_int(obj, "deletion_timestamp", **TIME_MS),
                   size=_int(obj, "size", None, lo=0, nullable=True),
                   record_count=_int(obj, "record_count", None, lo=0, nullable=True),
                   data_change=_bool(obj, "data_change", True))


@dataclass(frozen=True, slots=True, kw_only=True)
class AddCdcFile:
    """A change data file of the entry (spec/format.md, "Change data"): rows of the schema
    `schema_id` plus `_change_type`. When an entry has any, they are exactly its changes.

    With `change_type` it is a *change reference* instead: `path` is a data file, and the rows
    at `positions` (a deletion-vector-shaped bitmap; None: every row) are changes of that type.

    >>> AddCdcFile.from_json({"path": "data/a.parquet", "size": 9, "record_count": 5, "schema_id": 0,
    ...                       "change_type": "delete"}).change_type
    'delete'
    """

    path: str
    size: int
    record_count: int
    schema_id: int
    change_type: str | None = None
    positions: DeletionVector | None = None

    def to_json(self) -> dict:
        out = {"path": self.path, "size": self.size, "record_count": self.record_count,
               "schema_id": self.schema_id}
        if self.change_type is not None:  # absent, not null: plain change data files stay as they were
            out["change_type"] = self.change_type
        if self.positions is not None:
            out["positions"] = self.positions.to_json()
        return out

    @classmethod
    def from_json(cls, obj: dict) -> "AddCdcFile":
        change_type = _get(obj, "change_type", None)
        if change_type is not None and change_type not in _CHANGE_TYPES:
            raise CorruptTableError(f"cdc: change_type must be one of {', '.join(_CHANGE_TYPES)}, not "
                                    f"{_show(change_type)}")
        positions = _get(obj, "positions", None)
        if positions is not None:
            if change_type is None:
                raise CorruptTableError("cdc: positions is only allowed with change_type")
            if not isinstance(positions, dict):
                raise CorruptTableError(f"cdc: positions must be an object, not {_show(positions)}")
            positions = DeletionVector.from_json(positions)
        cdc = cls(path=check_relative_path(_get(obj, "path", _REQUIRED), "field 'path'"),
                  size=_int(obj, "size", lo=0), record_count=_int(obj, "record_count", lo=0),
                  schema_id=_int(obj, "schema_id", lo=0, hi=INT32_MAX), change_type=change_type,
                  positions=positions)
        if positions is not None and positions.cardinality > cdc.record_count:
            raise CorruptTableError(f"cdc: positions cardinality {positions.cardinality} exceeds record_count "
                                    f"{cdc.record_count}")
        return cdc


_CHANGE_TYPES = ("insert", "delete", "update_preimage", "update_postimage")  # format/change_data.py's


TAG_NAME_MAX = 255


def tag_name_problem(name: object) -> str | None:
    """Why `name` cannot name a tag (spec/format.md, "Tags"), or None."""
    if not isinstance(name, str) or not name:
        return f"a tag name is a non-empty string, not {_show(name)}"
    if len(name) > TAG_NAME_MAX:
        return f"a tag name has at most {TAG_NAME_MAX} characters, not {len(name)}"
    if any(c <= "\x1f" or "\x7f" <= c <= "\x9f" for c in name):
        return f"a tag name holds no control character: {_show(name)}"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Tag:
    """Name a version (spec/format.md, "Tags"); `version` None drops the tag."""

    name: str
    version: int | None

    def to_json(self) -> dict:
        return {"name": self.name, "version": self.version}

    @classmethod
    def from_json(cls, obj: dict) -> "Tag":
        name = _get(obj, "name", _REQUIRED)
        problem = tag_name_problem(name)
        if problem is not None:
            raise CorruptTableError(f"field 'name': {problem}")
        return cls(name=name, version=_int(obj, "version", _REQUIRED, lo=0, nullable=True))


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitInfo:
    """Who committed what, when. Exactly one per log entry."""

    timestamp: int
    operation: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    engine: str = ""
    read_version: int | None = None
    txn_id: str = ""
    is_blind_append: bool = False

    def to_json(self) -> dict:
        return {"timestamp": self.timestamp, "operation": self.operation, "parameters": dict(self.parameters),
                "metrics": dict(self.metrics), "engine": self.engine, "read_version": self.read_version,
                "txn_id": self.txn_id, "is_blind_append": self.is_blind_append}

    @classmethod
    def from_json(cls, obj: dict) -> "CommitInfo":
        try:
            return cls(timestamp=_int(obj, "timestamp", **TIME_MS), operation=_str(obj, "operation"),
                       parameters=_object(obj, "parameters"), metrics=_object(obj, "metrics"),
                       engine=_str(obj, "engine", ""),
                       read_version=_int(obj, "read_version", None, lo=0, nullable=True),
                       txn_id=_str(obj, "txn_id", ""), is_blind_append=_bool(obj, "is_blind_append", False))
        except CorruptTableError as e:
            raise CorruptTableError(f"commit_info: {e}") from None


Action = Union[Protocol, TableMetadata, AddFile, RemoveFile, AddCdcFile, Tag]

_ACTION_KEYS: dict[type, str] = {Protocol: "protocol", TableMetadata: "metadata", AddFile: "add", RemoveFile: "remove",
                                 AddCdcFile: "cdc", Tag: "tag"}
_ACTION_TYPES = {v: k for k, v in _ACTION_KEYS.items()}


def action_to_json(action: Action) -> dict:
    return {_ACTION_KEYS[type(action)]: action.to_json()}


def action_from_json(obj: dict) -> Action | None:
    """The action in `obj`, or None for an action kind this version does not know.

    Unknown kinds are only legal in tables whose protocol names a feature that introduced
    them; the protocol check (state.check_readable) refuses such tables before we get here.
    """
    if not isinstance(obj, dict) or len(obj) != 1:
        raise CorruptTableError(f"an action must be an object with exactly one key, got {str(obj)[:200]}")
    (key, body), = obj.items()
    cls = _ACTION_TYPES.get(key)
    if cls is None:
        return None
    try:
        return cls.from_json(body)
    except CorruptTableError as e:
        raise CorruptTableError(f"{key} action{_naming(body)}: {e}") from None
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError, LakehouseError) as e:
        raise CorruptTableError(f"malformed {key!r} action{_naming(body)}: {e!r}") from None


def _naming(body: Any) -> str:
    """Which action an error is about: its path, when it has a printable one."""
    path = body.get("path") if isinstance(body, dict) else None
    return f" ({_show(path)})" if isinstance(path, str) else ""
