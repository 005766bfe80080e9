"""Handing a scan's rows to pandas, polars and DuckDB.

Arrow is the currency: each conversion starts from the scan's Arrow stream. pandas and polars
are optional and imported only when asked for; DuckDB is a dependency.
"""

from __future__ import annotations

import importlib
from typing import Any

import pyarrow as pa

from ..errors import MissingDependencyError


def require(module: str, extra: str, what: str) -> Any:
    """`module`, imported, or MissingDependencyError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"{what} needs {module}, which is not installed: pip install 'pylakehouse[{extra}]'") from None


def to_pandas(table: pa.Table) -> Any:
    """`table` as a pandas DataFrame (Arrow's conversion: the default index, numpy dtypes)."""
    require("pandas", "pandas", "to_pandas()")
    return table.to_pandas()


def to_polars(table: pa.Table) -> Any:
    """`table` as a polars DataFrame."""
    return require("polars", "polars", "to_polars()").from_arrow(table)


def to_duckdb(stream: Any, con: Any = None) -> Any:
    """A DuckDB relation over `stream` (an object with `__arrow_c_stream__` that starts a new
    stream on each call, such as a Scan): DuckDB calls it each time the relation runs, so the
    relation stays valid, and re-reads the files, for as long as it is used."""
    return (default_duckdb_connection() if con is None else con).from_arrow(stream)


def default_duckdb_connection() -> Any:
    """DuckDB's default connection, the one `duckdb.sql()` uses."""
    import duckdb

    con = duckdb.default_connection  # a function since DuckDB 1.1, the connection before
    return con() if callable(con) else con
