"""Log actions (spec/format.md, "Actions"): the values a commit is made of.

Each action is a frozen value with a JSON form. A commit is a list of actions; `state.apply`
folds them into the next table state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, TypeVar, Union

from .errors import CorruptTableError, LakehouseError
from .partitioning import PartitionSpec
from .paths import check_relative_path
from .schema import Schema

T = TypeVar("T")

# Protocol versions this library reads and writes (spec/format.md, "Protocol").
READER_VERSION = 1
WRITER_VERSION = 1
KNOWN_READER_FEATURES: frozenset[str] = frozenset()
KNOWN_WRITER_FEATURES: frozenset[str] = frozenset()


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


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
        return cls(reader_version=int(obj["reader_version"]), writer_version=int(obj["writer_version"]),
                   reader_features=tuple(obj.get("reader_features", ())),
                   writer_features=tuple(obj.get("writer_features", ())))


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "properties", _frozen(self.properties))

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
        }

    @classmethod
    def from_json(cls, obj: dict) -> "TableMetadata":
        return cls(
            table_id=obj["table_id"], created_at=int(obj["created_at"]),
            schemas=tuple(Schema.from_json(s) for s in obj["schemas"]),
            current_schema_id=int(obj["current_schema_id"]), last_column_id=int(obj["last_column_id"]),
            partition_specs=tuple(PartitionSpec.from_json(s) for s in obj["partition_specs"]),
            default_spec_id=int(obj["default_spec_id"]), last_partition_id=int(obj["last_partition_id"]),
            properties=obj.get("properties", {}),
        )


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

    def to_json(self) -> dict:
        return {"path": self.path, "size": self.size, "record_count": self.record_count,
                "spec_id": self.spec_id, "schema_id": self.schema_id, "partition": dict(self.partition),
                "stats": dict(self.stats), "modification_time": self.modification_time,
                "data_change": self.data_change}

    @classmethod
    def from_json(cls, obj: dict) -> "AddFile":
        return cls(path=check_relative_path(obj["path"], "field 'path'"), size=int(obj["size"]), record_count=int(obj["record_count"]),
                   spec_id=int(obj.get("spec_id", 0)), schema_id=int(obj.get("schema_id", 0)),
                   partition=obj.get("partition") or {}, stats=obj.get("stats") or {},
                   modification_time=int(obj["modification_time"]), data_change=bool(obj.get("data_change", True)))


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
        return cls(path=check_relative_path(obj["path"], "field 'path'"), deletion_timestamp=int(obj["deletion_timestamp"]),
                   size=obj.get("size"), record_count=obj.get("record_count"),
                   data_change=bool(obj.get("data_change", True)))


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
        return cls(timestamp=int(obj["timestamp"]), operation=str(obj["operation"]),
                   parameters=obj.get("parameters") or {}, metrics=obj.get("metrics") or {},
                   engine=obj.get("engine", ""), read_version=obj.get("read_version"),
                   txn_id=obj.get("txn_id", ""), is_blind_append=bool(obj.get("is_blind_append", False)))


Action = Union[Protocol, TableMetadata, AddFile, RemoveFile]

_ACTION_KEYS: dict[type, str] = {Protocol: "protocol", TableMetadata: "metadata", AddFile: "add", RemoveFile: "remove"}
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
    except (KeyError, TypeError, ValueError, AttributeError, LakehouseError) as e:
        raise CorruptTableError(f"malformed {key!r} action: {e!r}") from None
