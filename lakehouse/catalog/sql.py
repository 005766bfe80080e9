"""The SQLite catalog (spec/format.md, "Catalogs"): the embedded default, stdlib sqlite3 only.

Every change is one transaction begun with BEGIN IMMEDIATE (the write lock is taken up front,
so the checks and the change see the same state and two writers serialise instead of failing
at commit), with a busy timeout, so several processes share one database safely. Each call
opens its own connection: nothing is shared across threads or forked processes. The database
runs in WAL mode, so lookups (every SQL statement naming a table makes one) never wait for a
writer nor block one; WAL needs a local file system (not a network share). The schema is
created by the first change; reading a database that does not exist yet sees an empty catalog.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from typing import Any, Iterator, Mapping

import orjson

from ..errors import (
    InvalidArgumentError, NamespaceExistsError, NamespaceNotEmptyError, StorageError, UnsupportedFeatureError,
)
from . import Catalog

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 60.0

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS lakehouse_catalog_version (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS lakehouse_namespaces (
         name TEXT PRIMARY KEY,
         properties TEXT NOT NULL,
         created_at INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS lakehouse_tables (
         namespace TEXT NOT NULL REFERENCES lakehouse_namespaces (name),
         name TEXT NOT NULL,
         location TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         PRIMARY KEY (namespace, name))""",
)


class SqlCatalog(Catalog):
    """A catalog in one SQLite database file.

    >>> import os, tempfile
    >>> from lakehouse import catalog
    >>> folder = tempfile.mkdtemp()
    >>> cat = catalog.connect(f"sqlite:///{folder}/catalog.db")
    >>> cat.create_namespace("sales"); cat.list_namespaces(), cat.warehouse == folder
    (['sales'], True)
    """

    def __init__(self, path: str, *, uri: str, warehouse: str | None = None,
                 storage_options: Mapping[str, Any] | None = None) -> None:
        self._path = os.path.abspath(os.path.expanduser(path))
        super().__init__(uri=uri, warehouse=warehouse or os.path.dirname(self._path), storage_options=storage_options)
        self._ready = False

    @classmethod
    def from_uri(cls, uri: str, *, warehouse: str | None = None,
                 storage_options: Mapping[str, Any] | None = None) -> "SqlCatalog":
        """`sqlite:///relative/path.db` or `sqlite:////absolute/path.db` (SQLAlchemy's spelling).

        >>> SqlCatalog.from_uri("sqlite:////data/catalog.db")._path
        '/data/catalog.db'
        """
        scheme, sep, path = uri.partition(":///")
        if scheme.lower() != "sqlite" or not sep or not path or path == ":memory:":
            raise InvalidArgumentError(f"a SQLite catalog URI is sqlite:///path/to/catalog.db, not {uri!r} "
                                       "(for a catalog in memory use memory://...)")
        return cls(path, uri=uri, warehouse=warehouse, storage_options=storage_options)

    # ------------------------------------------------------------ transactions
    def _open(self) -> sqlite3.Connection:
        con = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA journal_mode = WAL")
        return con

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction holding the write lock from its start; rolled back on any error."""
        with self._errors():
            os.makedirs(os.path.dirname(self._path), exist_ok=True)
            con = self._open()
            try:
                con.execute("BEGIN IMMEDIATE")
                try:
                    if not self._ready:
                        self._create_schema(con)
                    yield con
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            finally:
                con.close()
        self._ready = True

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection | None]:
        """A consistent read (None: no database or no schema yet, an empty catalog)."""
        if not os.path.exists(self._path):
            yield None
            return
        with self._errors():
            con = self._open()
            try:
                con.execute("BEGIN")
                try:
                    yield con if self._ready or self._check_version(con) else None
                finally:
                    con.execute("COMMIT")
            finally:
                con.close()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            raise StorageError(f"catalog {self.uri}: {e}") from None
        except OSError as e:
            raise StorageError(f"catalog {self.uri}: {e.strerror or e}") from None

    def _create_schema(self, con: sqlite3.Connection) -> None:
        for statement in _SCHEMA:
            con.execute(statement)
        if not self._check_version(con):
            con.execute("INSERT INTO lakehouse_catalog_version (version) VALUES (?)", (SCHEMA_VERSION,))

    def _check_version(self, con: sqlite3.Connection) -> bool:
        """True if the schema is there (and not newer than this library); False if not created yet."""
        if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'lakehouse_catalog_version'").fetchone() is None:
            return False
        row = con.execute("SELECT max(version) FROM lakehouse_catalog_version").fetchone()
        if row is None or row[0] is None:
            return False
        if row[0] > SCHEMA_VERSION:
            raise UnsupportedFeatureError(f"catalog {self.uri} has schema version {row[0]}; this library "
                                          f"reads up to {SCHEMA_VERSION}: upgrade lakehouse")
        self._ready = True
        return True

    # ------------------------------------------------------------ namespaces
    def _add_namespace(self, namespace: str, properties: dict[str, str]) -> None:
        with self._write() as con:
            if _has_namespace(con, namespace):
                raise NamespaceExistsError(f"namespace {namespace!r} already exists in catalog {self.uri}")
            con.execute("INSERT INTO lakehouse_namespaces (name, properties, created_at) VALUES (?, ?, ?)",
                        (namespace, orjson.dumps(properties).decode(), _now()))

    def _remove_namespace(self, namespace: str) -> None:
        with self._write() as con:
            if not _has_namespace(con, namespace):
                raise self._no_namespace(namespace)
            if con.execute("SELECT 1 FROM lakehouse_tables WHERE namespace = ? LIMIT 1", (namespace,)).fetchone():
                raise NamespaceNotEmptyError(f"namespace {namespace!r} still holds tables; drop or rename them first")
            con.execute("DELETE FROM lakehouse_namespaces WHERE name = ?", (namespace,))

    def _namespaces(self) -> list[str]:
        with self._read() as con:
            return [] if con is None else [r[0] for r in con.execute("SELECT name FROM lakehouse_namespaces")]

    def _properties(self, namespace: str) -> Mapping[str, str]:
        with self._read() as con:
            row = None if con is None else con.execute(
                "SELECT properties FROM lakehouse_namespaces WHERE name = ?", (namespace,)).fetchone()
        if row is None:
            raise self._no_namespace(namespace)
        return orjson.loads(row[0])

    # ------------------------------------------------------------ tables
    def _add_table(self, namespace: str, table: str, location: str) -> None:
        with self._write() as con:
            if not _has_namespace(con, namespace):
                raise self._no_namespace(namespace)
            if _location(con, namespace, table) is not None:
                raise self._name_taken(namespace, table)
            con.execute("INSERT INTO lakehouse_tables (namespace, name, location, created_at) VALUES (?, ?, ?, ?)",
                        (namespace, table, location, _now()))

    def _location(self, namespace: str, table: str) -> str | None:
        with self._read() as con:
            return None if con is None else _location(con, namespace, table)

    def _tables(self, namespace: str) -> list[str]:
        with self._read() as con:
            if con is None or not _has_namespace(con, namespace):
                raise self._no_namespace(namespace)
            return [r[0] for r in con.execute("SELECT name FROM lakehouse_tables WHERE namespace = ?", (namespace,))]

    def _rename(self, old: tuple[str, str], new: tuple[str, str]) -> None:
        with self._write() as con:
            if _location(con, *old) is None:
                raise self._no_table(*old)
            if not _has_namespace(con, new[0]):
                raise self._no_namespace(new[0])
            if _location(con, *new) is not None:
                raise self._name_taken(*new)
            con.execute("UPDATE lakehouse_tables SET namespace = ?, name = ? WHERE namespace = ? AND name = ?",
                        (*new, *old))

    def _remove_table(self, namespace: str, table: str) -> str:
        with self._write() as con:
            location = _location(con, namespace, table)
            if location is None:
                raise self._no_table(namespace, table)
            con.execute("DELETE FROM lakehouse_tables WHERE namespace = ? AND name = ?", (namespace, table))
            return location


def _has_namespace(con: sqlite3.Connection, namespace: str) -> bool:
    return con.execute("SELECT 1 FROM lakehouse_namespaces WHERE name = ?", (namespace,)).fetchone() is not None


def _location(con: sqlite3.Connection, namespace: str, table: str) -> str | None:
    row = con.execute("SELECT location FROM lakehouse_tables WHERE namespace = ? AND name = ?",
                      (namespace, table)).fetchone()
    return None if row is None else row[0]


def _now() -> int:
    return int(time.time() * 1000)
