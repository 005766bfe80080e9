"""Creating a table (its version 0) and opening one."""

from __future__ import annotations

import time
import uuid
from typing import Any, Mapping, Sequence

import pyarrow as pa

from ..errors import InvalidArgumentError, TableExistsError
from ..format.actions import CommitInfo, Protocol, TableMetadata
from ..format.checkpoint import checkpoint_versions
from ..format.log import encode_entry, list_versions, log_path
from ..format.partitioning import UNPARTITIONED, parse_partition_by, partition_terms
from ..format.refs import resolve_ref
from ..format.replay import load_state
from ..format.schema import Schema
from ..format.state import apply_actions
from ..format.type_names import schema_fields
from ..io import Store
from .commit import ENGINE
from .handle import Table, state_as_of
from .properties import check_properties, wants_deletion_vectors, with_deletion_vectors
from .travel import AsOf, check_travel


def create_table(uri: str, *, schema: pa.Schema | Schema | Mapping[str, str | pa.DataType],
                 partition_by: Sequence[str] | str | None = None, properties: Mapping[str, str] | None = None,
                 storage_options: Mapping[str, Any] | None = None) -> "Table":
    """Create a table (version 0) at `uri`; TableExistsError if one is there.

    `schema` is a pyarrow Schema, a lakehouse Schema, or a dict of column name to type, where a
    type is a pyarrow DataType or a type name: the names the library prints (`"int64"`,
    `"string"`, `"timestamp[us, UTC]"`, `"decimal(10, 2)"`, `"list<int64>"`) or DuckDB's SQL
    names (`"bigint"`, `"varchar"`, `"double"`); see `lakehouse.format.type_names`. Columns
    given by a dict are nullable; use a pyarrow Schema with `nullable=False` for required ones.

    >>> import lakehouse
    >>> t = lakehouse.create_table("memory://doc-create", schema={"id": "int64", "name": "varchar"})
    >>> [(f.name, str(f.type)) for f in t.schema.fields]
    [('id', 'int64'), ('name', 'string')]
    """
    store = Store.from_uri(uri, storage_options)
    if not isinstance(schema, Schema):
        schema = Schema.from_arrow(schema if isinstance(schema, pa.Schema) else schema_fields(schema))
    last_column_id = schema.highest_field_id
    terms = partition_terms(partition_by)  # one string is one term, not its characters
    spec = parse_partition_by(terms, schema, spec_id=0) if terms else UNPARTITIONED
    now = int(time.time() * 1000)
    metadata = TableMetadata(
        table_id=str(uuid.uuid4()), created_at=now, schemas=(schema,), current_schema_id=schema.schema_id,
        last_column_id=last_column_id, partition_specs=(spec,), default_spec_id=spec.spec_id,
        last_partition_id=max([pf.field_id for pf in spec.fields], default=999),
        properties=check_properties(properties))
    actions = (with_deletion_vectors(Protocol()) if wants_deletion_vectors(metadata.properties) else Protocol(),
               metadata)
    info = CommitInfo(timestamp=now, operation="create", engine=ENGINE,
                      parameters={"partition_by": terms})
    # Entry 0 may be gone from an existing table (removed after a checkpoint): never refill it.
    if list_versions(store) or checkpoint_versions(store) or not store.put_if_absent(
            log_path(0), encode_entry(0, info, actions)):
        raise TableExistsError(f"a table already exists at {store.uri}")
    return Table(store, apply_actions(None, 0, now, actions))


def open_table(uri: str, *, storage_options: Mapping[str, Any] | None = None, version: int | None = None,
               as_of: AsOf | None = None, ref: str | None = None) -> "Table":
    """Open the table at `uri`: its newest version, or a past one by `version` or `as_of`.

    `version` is a version number (an int, as `history()` lists them); `as_of` picks the newest
    version committed at or before a time: a datetime (naive means local time), a
    `datetime.date` (midnight at its start, local time) or an ISO-8601 string (`"2024-03-01"`,
    `"2024-03-01T12:00:00Z"`); `ref` the version a tag names now (`Table.tag`). TableNotFoundError if
    there is no table at `uri`; VersionNotFoundError if the version, time or tag is not in its history.

    >>> import pyarrow as pa, lakehouse
    >>> t = lakehouse.create_table("memory://docs/handle-open_table", schema=pa.schema([("id", pa.int64())]))
    >>> _ = t.append(pa.table({"id": [1, 2]}))
    >>> lakehouse.open_table("memory://docs/handle-open_table").version
    1
    >>> lakehouse.open_table("memory://docs/handle-open_table", version=0).to_arrow().num_rows
    0
    """
    version, as_of_ms = check_travel(version, as_of)  # before any I/O
    if ref is not None and (version is not None or as_of_ms is not None):
        raise InvalidArgumentError("pass at most one of version, as_of and ref")
    store = Store.from_uri(uri, storage_options)
    if ref is not None:
        return Table(store, load_state(store, resolve_ref(load_state(store), ref)))
    if as_of_ms is None:  # read only up to `version`: newer entries may be damaged
        return Table(store, load_state(store, version))
    latest = load_state(store)
    return Table(store, state_as_of(store, as_of_ms, latest))
