"""Catalogs: tables by name (spec/format.md, "Catalogs").

A catalog maps `namespace.table` to the table's location and keeps properties per namespace;
nothing else. The table's own log stays the source of truth, so a table stays readable by its
URI without the catalog. Two backends implement the one interface, `Catalog`:

    connect("sqlite:///path/catalog.db", warehouse=...)    SQLite (stdlib sqlite3), the embedded default
    connect("file://./warehouse") / "s3://bucket/wh" / "memory://wh"
                                                           files on any fsspec store, put-if-absent

`load_catalog()` opens the default catalog from configuration and `resolve()` turns the `lh`
command line's `ns.table` into a URI.

    >>> from lakehouse import catalog
    >>> cat = catalog.connect("memory://docs/catalog-module")
    >>> cat.create_namespace("sales")
    >>> t = cat.create_table("sales.orders", schema={"id": "int64", "amount": "double"})
    >>> cat.list_tables("sales"), cat.load_table("sales.orders").version
    (['sales.orders'], 0)
"""

from __future__ import annotations

import abc
import posixpath
import uuid
from typing import Any, Mapping, Sequence

import pyarrow as pa

from ..errors import InvalidArgumentError, NamespaceNotFoundError, TableExistsError, TableNotFoundError
from ..format.log import log_path
from ..format.schema import Schema
from ..io import Store
from ..table import Table, create_table, open_table
from . import names
from .locations import inside, join, normalise_location

__all__ = ["Catalog", "connect", "load_catalog", "resolve"]

_SUFFIX_ATTEMPTS = 8


class Catalog(abc.ABC):
    """The catalog interface (pyiceberg's names). Names are `"namespace.table"` strings (or
    `(namespace, table)` pairs), validated and compared case-insensitively (`catalog.names`).
    Backends implement the small protected methods at the end; the rules live here.

    >>> from lakehouse import catalog
    >>> cat = catalog.connect("memory://docs/catalog-class")
    >>> cat.create_namespace("tmp"); cat.list_namespaces()
    ['tmp']
    """

    def __init__(self, *, uri: str, warehouse: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self._uri = uri
        self._warehouse = normalise_location(warehouse).rstrip("/")
        self._storage_options = dict(storage_options or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r}, warehouse={self.warehouse!r})"

    @property
    def uri(self) -> str:
        """The URI the catalog was opened with.

        >>> from lakehouse import catalog
        >>> catalog.connect("memory://docs/catalog-uri").uri
        'memory://docs/catalog-uri'
        """
        return self._uri

    @property
    def warehouse(self) -> str:
        """Where `create_table` puts tables by default: `<warehouse>/<namespace>/<table>`.

        >>> from lakehouse import catalog
        >>> catalog.connect("memory://docs/catalog-wh").warehouse
        'memory://docs/catalog-wh'
        """
        return self._warehouse

    # ------------------------------------------------------------ namespaces
    def create_namespace(self, namespace: str, properties: Mapping[str, str] | None = None) -> None:
        """Create a namespace with optional string properties; NamespaceExistsError if it exists.

        >>> from lakehouse import catalog
        >>> cat = catalog.connect("memory://docs/catalog-create-ns")
        >>> cat.create_namespace("sales", {"owner": "finance"}); cat.namespace_properties("sales")
        {'owner': 'finance'}
        """
        self._add_namespace(names.namespace_name(namespace), _check_properties(properties))

    def list_namespaces(self) -> list[str]:
        """The namespaces, sorted.

        >>> from lakehouse import catalog
        >>> cat = catalog.connect("memory://docs/catalog-list-ns")
        >>> cat.create_namespace("b"); cat.create_namespace("a"); cat.list_namespaces()
        ['a', 'b']
        """
        return sorted(self._namespaces())

    def drop_namespace(self, namespace: str) -> None:
        """Drop an empty namespace; NamespaceNotFoundError / NamespaceNotEmptyError otherwise.

        >>> from lakehouse import catalog
        >>> cat = catalog.connect("memory://docs/catalog-drop-ns")
        >>> cat.create_namespace("tmp"); cat.drop_namespace("tmp"); cat.list_namespaces()
        []
        """
        self._remove_namespace(names.namespace_name(namespace))

    def namespace_properties(self, namespace: str) -> dict[str, str]:
        """The namespace's properties; NamespaceNotFoundError if there is no such namespace.

        >>> from lakehouse import catalog
        >>> cat = catalog.connect("memory://docs/catalog-ns-props")
        >>> cat.create_namespace("sales"); cat.namespace_properties("sales")
        {}
        """
        return dict(self._properties(names.namespace_name(namespace)))

    # ------------------------------------------------------------ tables
    def create_table(self, name: str, schema: pa.Schema | Schema | Mapping[str, str | pa.DataType],
                     partition_by: Sequence[str] | str | None = None, properties: Mapping[str, str] | None = None,
                     location: str | None = None) -> Table:
        """Create a table and register it under `name`; returns its handle (version 0).

        The location defaults to `<warehouse>/<namespace>/<table>`, or, when a table is already
        there (one renamed or dropped without purge), `<warehouse>/<namespace>/<table>-<8 hex>`.
        TableExistsError if the name is taken (of two concurrent creators exactly one wins; the
        loser's empty table is removed), NamespaceNotFoundError without the namespace.
        `schema`, `partition_by` and `properties` are as for `lakehouse.create_table`.

        >>> from lakehouse import catalog
        >>> cat = catalog.connect("memory://docs/catalog-create-table")
        >>> cat.create_namespace("sales")
        >>> cat.create_table("sales.orders", schema={"id": "int64"}, partition_by=["bucket(4, id)"]).uri
        'memory://docs/catalog-create-table/sales/orders'
        """
        namespace, table = names.table_name(name)
        self._properties(namespace)  # NamespaceNotFoundError before any file is written
        if self._location(namespace, table) is not None:
            raise TableExistsError(f"table {names.full_name(namespace, table)} already exists in catalog {self.uri}")
        args = {"schema": schema, "partition_by": partition_by, "properties": properties,
                "storage_options": self._storage_options or None}
        if location is not None:
            location = normalise_location(location)
            created = create_table(location, **args)
        else:
            location, created = self._create_at_default(namespace, table, args)
        try:
            self._add_table(namespace, table, location)
        except BaseException:
            created._store.delete(log_path(0))  # the table is ours alone until registered: undo it
            raise
        return created

    def register_table(self, name: str, uri: str) -> Table:
        """Register the existing table at `uri` under `name`; returns its handle.
        TableNotFoundError if there is no table at `uri`, TableExistsError if the name is taken.

        >>> import lakehouse
        >>> from lakehouse import catalog
        >>> _ = lakehouse.create_table("memory://docs/catalog-register/legacy", schema={"id": "int64"})
        >>> cat = catalog.connect("memory://docs/catalog-register/wh")
        >>> cat.create_namespace("sales")
        >>> cat.register_table("sales.legacy", "memory://docs/catalog-register/legacy").version
        0
        """
        namespace, table = names.table_name(name)
        location = normalise_location(uri)
        opened = open_table(location, storage_options=self._storage_options or None)
        self._add_table(namespace, table, location)
        return opened

    def load_table(self, name: str) -> Table:
        """The table registered under `name` (its newest version); TableNotFoundError if none.

        >>> from lakehouse import catalog
        >>> cat = catalog.connect("memory://docs/catalog-load")
        >>> cat.create_namespace("sales"); _ = cat.create_table("sales.orders", schema={"id": "int64"})
        >>> cat.load_table("Sales.Orders").uri
        'memory://docs/catalog-load/sales/orders'
        """
        return open_table(self.table_location(name), storage_options=self._storage_options or None)

    def table_location(self, name: str) -> str:
        """The URI of the table registered under `name`; TableNotFoundError if none.

        >>> from lakehouse import catalog
        >>> cat = catalog.connect("memory://docs/catalog-location")
        >>> cat.create_namespace("sales"); _ = cat.create_table("sales.orders", schema={"id": "int64"})
        >>> cat.table_location("sales.orders")
        'memory://docs/catalog-location/sales/orders'
        """
        namespace, table = names.table_name(name)
        location = self._location(namespace, table)
        if location is None:
            raise TableNotFoundError(f"no table {names.full_name(namespace, table)} in catalog {self.uri}")
        return location

    def list_tables(self, namespace: str) -> list[str]:
        """The tables of a namespace as sorted `namespace.table` names; NamespaceNotFoundError
        if there is no such namespace.

        >>> from lakehouse import catalog
        >>> cat = catalog.connect("memory://docs/catalog-list-tables")
        >>> cat.create_namespace("sales"); _ = cat.create_table("sales.orders", schema={"id": "int64"})
        >>> cat.list_tables("sales")
        ['sales.orders']
        """
        namespace = names.namespace_name(namespace)
        return sorted(names.full_name(namespace, t) for t in self._tables(namespace))

    def table_exists(self, name: str) -> bool:
        """Whether `name` is registered (a malformed name raises InvalidNameError).

        >>> from lakehouse import catalog
        >>> cat = catalog.connect("memory://docs/catalog-exists")
        >>> cat.table_exists("sales.orders")
        False
        """
        return self._location(*names.table_name(name)) is not None

    def rename_table(self, old: str, new: str) -> None:
        """Give a table a new name (in any existing namespace); its location does not change.
        TableNotFoundError if `old` is not registered, TableExistsError if `new` is.

        >>> from lakehouse import catalog
        >>> cat = catalog.connect("memory://docs/catalog-rename")
        >>> cat.create_namespace("sales"); _ = cat.create_table("sales.orders", schema={"id": "int64"})
        >>> cat.rename_table("sales.orders", "sales.orders_v2"); cat.list_tables("sales")
        ['sales.orders_v2']
        """
        self._rename(names.table_name(old), names.table_name(new))

    def drop_table(self, name: str, purge: bool = False) -> None:
        """Remove `name` from the catalog; the table's files stay unless `purge=True`.

        Purging deletes every file under the table's location, after the name is removed, and
        only for a location inside the warehouse: a table registered from elsewhere (or created
        with an outside `location=`) is never purged (InvalidArgumentError, nothing changes).

        >>> from lakehouse import catalog
        >>> cat = catalog.connect("memory://docs/catalog-drop")
        >>> cat.create_namespace("tmp"); _ = cat.create_table("tmp.scratch", schema={"id": "int64"})
        >>> cat.drop_table("tmp.scratch", purge=True); cat.table_exists("tmp.scratch")
        False
        """
        if not isinstance(purge, bool):
            raise InvalidArgumentError(f"purge must be True or False, not {purge!r}")
        namespace, table = names.table_name(name)
        if purge:
            location = self.table_location(name)
            if not inside(location, self.warehouse):
                raise InvalidArgumentError(
                    f"table {names.full_name(namespace, table)} lives at {location}, outside the warehouse "
                    f"{self.warehouse}: purge refuses to delete it (drop it with purge=False)")
        location = self._remove_table(namespace, table)
        if purge:
            store = Store.from_uri(location, self._storage_options or None)
            try:
                store._call("purging", "", lambda: store.fs.rm(store.root, recursive=True))
            except FileNotFoundError:
                pass

    # ------------------------------------------------------------ helpers
    def _create_at_default(self, namespace: str, table: str, args: dict) -> tuple[str, Table]:
        base = join(self.warehouse, namespace, table)
        for attempt in range(_SUFFIX_ATTEMPTS):
            location = base if attempt == 0 else f"{base}-{uuid.uuid4().hex[:8]}"
            try:
                return location, create_table(location, **args)
            except TableExistsError:
                continue  # a renamed or dropped table keeps that folder: take a fresh one
        raise TableExistsError(f"no free location for {names.full_name(namespace, table)} under {base}")

    # ------------------------------------------------------------ backend
    @abc.abstractmethod
    def _add_namespace(self, namespace: str, properties: dict[str, str]) -> None:
        """Add it atomically; NamespaceExistsError if present."""

    @abc.abstractmethod
    def _remove_namespace(self, namespace: str) -> None:
        """Remove it atomically; NamespaceNotFoundError / NamespaceNotEmptyError."""

    @abc.abstractmethod
    def _namespaces(self) -> list[str]: ...

    @abc.abstractmethod
    def _properties(self, namespace: str) -> Mapping[str, str]:
        """NamespaceNotFoundError if absent."""

    @abc.abstractmethod
    def _add_table(self, namespace: str, table: str, location: str) -> None:
        """Add atomically; NamespaceNotFoundError / TableExistsError (checked in the same step)."""

    @abc.abstractmethod
    def _location(self, namespace: str, table: str) -> str | None: ...

    @abc.abstractmethod
    def _tables(self, namespace: str) -> list[str]:
        """Table names (no namespace) of a namespace; NamespaceNotFoundError if absent."""

    @abc.abstractmethod
    def _rename(self, old: tuple[str, str], new: tuple[str, str]) -> None:
        """Atomically; TableNotFoundError / TableExistsError / NamespaceNotFoundError."""

    @abc.abstractmethod
    def _remove_table(self, namespace: str, table: str) -> str:
        """Remove atomically and return its location; TableNotFoundError if absent."""

    def _no_namespace(self, namespace: str) -> NamespaceNotFoundError:
        return NamespaceNotFoundError(f"no namespace {namespace!r} in catalog {self.uri}")

    def _no_table(self, namespace: str, table: str) -> TableNotFoundError:
        return TableNotFoundError(f"no table {names.full_name(namespace, table)} in catalog {self.uri}")

    def _name_taken(self, namespace: str, table: str) -> TableExistsError:
        return TableExistsError(f"table {names.full_name(namespace, table)} already exists in catalog {self.uri}")


def _check_properties(properties: Mapping[str, str] | None) -> dict[str, str]:
    if properties is None:
        return {}
    if not isinstance(properties, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in properties.items()):
        raise InvalidArgumentError(f"namespace properties must map strings to strings, not {properties!r}")
    return dict(properties)


def connect(uri: str, *, warehouse: str | None = None, storage_options: Mapping[str, Any] | None = None) -> Catalog:
    """Open a catalog: `sqlite:///path/catalog.db` (relative path; `sqlite:////abs/path.db`
    absolute; the warehouse defaults to the database's folder), or a folder on any fsspec store
    (`file://./warehouse`, a local path, `s3://bucket/warehouse`, `memory://wh`) holding a file
    catalog whose warehouse is that folder unless `warehouse` says otherwise. `storage_options`
    go to the catalog's store and to every table it opens or creates.

    >>> from lakehouse import catalog
    >>> catalog.connect("memory://docs/catalog-connect")
    FileCatalog('memory://docs/catalog-connect', warehouse='memory://docs/catalog-connect')
    """
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidArgumentError(f"a catalog URI is a non-empty string, not {uri!r}")
    if uri.lower().startswith("sqlite:"):
        from .sql import SqlCatalog
        return SqlCatalog.from_uri(uri, warehouse=warehouse, storage_options=storage_options)
    from .files import FileCatalog
    return FileCatalog(uri, warehouse=warehouse, storage_options=storage_options)


from .config import load_catalog, resolve  # noqa: E402 - needs connect above
