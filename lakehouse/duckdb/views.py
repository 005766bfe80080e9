"""DuckDB views over a table version's files (spec/format.md, "DuckDB views").

Each view reads a fixed list of data files, held in a DuckDB variable (`getvariable`): a view
over a variable binds in milliseconds however many files it lists, where a literal list of
10,000 paths costs DuckDB hundreds of milliseconds per query. Columns are matched by Parquet
field id (`read_parquet(..., schema=MAP{id: {name, type, default_value}})`), so files written
before a column was renamed, widened, added or dropped read under the current schema, nested
fields too. Deleted rows are dropped by an anti join (deletes.py).

A view, its variable and its deleted-positions table never change once made: a relation DuckDB
returned earlier re-binds its views each time it runs, and must keep reading what it was
planned on. Views are keyed by (table, version, file list) and the oldest are dropped after
`MAX_VIEWS` (a relation still using one then fails with DuckDB's "does not exist" error).
"""

from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from typing import Any

import pyarrow as pa

from ..format.paths import check_relative_path
from ..format.schema import Schema
from ..format.state import TableState
from ..format.types import (
    DecimalType, Field, ListType, MapType, PrimitiveType, StructType, TimestampType, Type,
)
from ..io import Store
from .deletes import deleted_positions

INTERNAL_SCHEMA = "lh_internal"
MAX_VIEWS = 256

_PRIMITIVES = {
    "boolean": "BOOLEAN", "int8": "TINYINT", "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT",
    "float32": "FLOAT", "float64": "DOUBLE", "string": "VARCHAR", "binary": "BLOB", "date": "DATE", "time": "TIME",
}


def quote_identifier(name: str) -> str:
    """`name` as a DuckDB quoted identifier.

    >>> quote_identifier('a"b')
    '"a""b"'
    """
    return '"' + name.replace('"', '""') + '"'


def quote_string(text: str) -> str:
    """`text` as a DuckDB string literal.

    >>> quote_string("it's")
    "'it''s'"
    """
    return "'" + text.replace("'", "''") + "'"


def duckdb_type(t: Type) -> str:
    """The DuckDB type DuckDB itself gives a Parquet column of type `t` (decimals over 38
    digits read as DOUBLE, as DuckDB reads them).

    >>> duckdb_type(StructType((Field(id=2, name="a b", type=PrimitiveType("int64")),)))
    'STRUCT("a b" BIGINT)'
    """
    if isinstance(t, PrimitiveType):
        return _PRIMITIVES[t.name]
    if isinstance(t, DecimalType):
        return f"DECIMAL({t.precision},{t.scale})" if t.precision <= 38 else "DOUBLE"
    if isinstance(t, TimestampType):
        return ("TIMESTAMPTZ" if t.tz else "TIMESTAMP") + ("_NS" if t.unit == "ns" else "")
    if isinstance(t, ListType):
        return f"{duckdb_type(t.element)}[]"
    if isinstance(t, MapType):
        return f"MAP({duckdb_type(t.key)}, {duckdb_type(t.value)})"
    return "STRUCT(" + ", ".join(f"{quote_identifier(f.name)} {duckdb_type(f.type)}" for f in t.fields) + ")"


def schema_map(fields: tuple[Field, ...]) -> str:
    """The `schema=` argument of read_parquet mapping each field id to its current name and type.

    >>> schema_map((Field(id=1, name="id", type=PrimitiveType("int64")),))
    "MAP{1: {name: 'id', type: 'BIGINT', default_value: NULL::VARCHAR}}"
    """
    return "MAP{" + ", ".join(_map_entry(f) for f in fields) + "}"


def _map_entry(f: Field) -> str:
    entry = f"{f.id}: {{name: {quote_string(f.name)}, type: {quote_string(duckdb_type(f.type))}, " \
            "default_value: NULL::VARCHAR"
    children = _children(f.type)
    if children:
        entry += f", children: {schema_map(children)}"
    return entry + "}"


def _children(t: Type) -> tuple[Field, ...]:
    if isinstance(t, StructType):
        return t.fields
    if isinstance(t, ListType):
        return (Field(id=t.element_id, name="element", type=t.element, required=t.element_required),)
    return ()  # map keys and values keep their positions: nothing to rename


def empty_select(schema: Schema) -> str:
    """A query of no rows with the schema's columns (read_parquet refuses an empty file list)."""
    columns = ", ".join(f"CAST(NULL AS {duckdb_type(f.type)}) AS {quote_identifier(f.name)}" for f in schema.fields)
    return f"SELECT {columns or '1 AS _empty'} WHERE false"


_BY_CONNECTION: "weakref.WeakKeyDictionary[Any, Views]" = weakref.WeakKeyDictionary()


def views_of(con: Any) -> "Views":
    """The views of DuckDB connection `con` (one registry per connection, shared by the SQL
    adapter and `Scan.to_duckdb`)."""
    views = _BY_CONNECTION.get(con)
    if views is None:
        views = _BY_CONNECTION[con] = Views(con)
    return views


class Views:
    """The views one DuckDB connection holds over lakehouse tables, made on demand and cached."""

    def __init__(self, con: Any) -> None:
        self._con_ref = weakref.ref(con)  # weak: the registry is keyed by the connection
        self._views: OrderedDict[str, str] = OrderedDict()  # key -> qualified view name
        self._pinned: set[str] = set()  # keys never dropped (relations handed out by to_duckdb)
        self._filesystems: dict[str, Any] = {}  # protocol -> fsspec filesystem registered
        self._schema_made = False

    @property
    def _con(self) -> Any:
        return self._con_ref()

    def view(self, store: Store, state: TableState, files: pa.Table, *, pin: bool = False) -> str:
        """The qualified name of a view over `files` (rows of the state's file index) read under
        the state's schema, less the rows their deletion vectors delete. `pin`: never drop it."""
        digest = hashlib.sha256("\n".join([store.uri, *files["path"].to_pylist()]).encode()).hexdigest()[:20]
        key = f"v{state.version}_{digest}"
        if pin:
            self._pinned.add(key)
        name = self._views.get(key)
        if name is not None:
            self._views.move_to_end(key)
            return name
        name = f"{INTERNAL_SCHEMA}.{quote_identifier(key)}"
        self._create(key, name, store, state, files)
        self._views[key] = name
        unpinned = [k for k in self._views if k not in self._pinned and k != key]  # never the one returned
        for old in unpinned[:max(0, len(self._views) - MAX_VIEWS)]:
            self._drop(old, self._views.pop(old))
        return name

    def unpin(self, name: str) -> None:
        """Let view `name` (as `view()` returned it) be dropped once it is among the oldest."""
        self._pinned.discard(name.partition(".")[2].strip('"'))

    def _create(self, key: str, name: str, store: Store, state: TableState, files: pa.Table) -> None:
        if not self._schema_made:
            self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {INTERNAL_SCHEMA}")
            self._schema_made = True
        if files.num_rows == 0:
            self._con.execute(f"CREATE OR REPLACE VIEW {name} AS {empty_select(state.schema)}")
            return
        self._con.execute(f"SET VARIABLE {quote_identifier('lh_' + key)} = ?", [self._locations(store, files)])
        columns = ", ".join(f"d.{quote_identifier(f.name)}" for f in state.schema.fields) or "NULL AS _empty"
        source = (f"read_parquet(getvariable({quote_string('lh_' + key)}), "
                  f"schema={schema_map(state.schema.fields)}) AS d")
        deleted = deleted_positions(store, files)
        if deleted is not None:
            dv_name = f"lh_dv_{key}"
            self._con.register(dv_name, deleted)
            source += (f" ANTI JOIN {quote_identifier(dv_name)} AS x"
                       " ON d.file_index = x.file_index AND d.file_row_number = x.file_row_number")
        self._con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT {columns} FROM {source}")

    def _drop(self, key: str, name: str) -> None:
        self._con.execute(f"DROP VIEW IF EXISTS {name}")
        self._con.execute(f"RESET VARIABLE {quote_identifier('lh_' + key)}")
        try:
            self._con.unregister(f"lh_dv_{key}")
        except Exception:  # noqa: BLE001 - the view had no deleted positions
            pass

    def _locations(self, store: Store, files: pa.Table) -> list[str]:
        """Where DuckDB finds each file: a native path on local disk, else a URL on the store's
        fsspec filesystem, registered with DuckDB once."""
        paths = [store.full_path(check_relative_path(p, "data file")) for p in files["path"].to_pylist()]
        fs = store.fs
        protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
        if store.is_local or "file" in protocols:
            return paths
        protocol = protocols[0]
        if self._filesystems.get(protocol) is not fs:
            if protocol in self._con.list_filesystems():
                # One filesystem per protocol in DuckDB: the newest store's (its credentials) wins.
                self._con.unregister_filesystem(protocol)
            self._con.register_filesystem(fs)
            self._filesystems[protocol] = fs
        return [f"{protocol}://{p}" for p in paths]


def scan_relation(con: Any, store: Store, state: TableState, files: pa.Table, fields: tuple[Field, ...],
                  where: str | None) -> Any:
    """A DuckDB relation on `con` reading `fields` of `files` natively (Parquet by DuckDB, in
    parallel, filters pushed down), rows matching `where` (spec/format.md: `where` has DuckDB's
    syntax and semantics, so DuckDB evaluates it as our reader does). The view is pinned: the
    relation stays valid as long as the connection. Rows keep commit order when no file has a
    deletion vector (the caller falls back to the Arrow stream otherwise)."""
    import sqlglot  # noqa: PLC0415 - parsed only for the relation's WHERE

    view = views_of(con).view(store, state, files, pin=True)
    query = f"SELECT {', '.join(quote_identifier(f.name) for f in fields)} FROM {view}"
    if where is not None:
        query += f" WHERE ({sqlglot.parse_one(where, read='duckdb').sql(dialect='duckdb')})"
    return con.sql(query)
