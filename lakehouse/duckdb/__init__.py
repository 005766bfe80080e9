"""DuckDB SQL over lakehouse tables, with DuckDB's wheel alone (no extension downloads).

    >>> import pyarrow as pa, lakehouse, lakehouse.duckdb
    >>> t = lakehouse.create_table("memory://docs/duck-init", schema=pa.schema([("id", pa.int64())]))
    >>> _ = t.append(pa.table({"id": [1, 2]}))
    >>> con = lakehouse.duckdb.connect(tables={"s.ids": t})
    >>> con.sql("SELECT max(id) FROM s.ids").fetchall()
    [(2,)]
"""

from __future__ import annotations

from typing import Any, Mapping

from .connection import LakehouseConnection

__all__ = ["LakehouseConnection", "connect"]


def connect(catalog: Any = None, con: Any = None, *, tables: Mapping[str, Any] | None = None) -> LakehouseConnection:
    """A connection whose SQL names lakehouse tables: the catalog's as `ns.table`, and `tables`
    (name -> Table) by the names given. `catalog`: a Catalog, or a catalog URI for
    `lakehouse.catalog.connect` (None: no catalog; `lakehouse.catalog.load_catalog()` is the
    configured default). `con`: an existing DuckDB connection to wrap (default: a new in-memory one).

    >>> import lakehouse.duckdb
    >>> lakehouse.duckdb.connect().sql("SELECT 1").fetchall()
    [(1,)]
    """
    if isinstance(catalog, str):
        from .. import catalog as catalogs

        catalog = catalogs.connect(catalog)
    return LakehouseConnection(catalog, con, tables=tables)
