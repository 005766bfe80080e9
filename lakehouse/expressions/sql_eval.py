"""SQL expressions (update's SET values, merge's conditions and values) evaluated by DuckDB.

Arithmetic, functions, casts, NULL and NaN follow DuckDB SQL exactly because DuckDB evaluates
them: this module never interprets an expression itself. It only checks an expression before
any data is read (it parses, names existing columns, is one scalar expression), wraps it in a
`CAST(... AS <column type>)` so results take the column's type by DuckDB's cast rules, and
turns DuckDB's errors into the project's.

One `SqlSession` (one in-memory DuckDB connection, no file system access) serves one operation:
Arrow tables are registered into it by name and queried.

>>> import pyarrow as pa
>>> evaluate("amount * 2 + 1", pa.table({"amount": [1.5, None, float("nan")]})).to_pylist()
[4.0, None, nan]
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import Iterable, Iterator, Mapping

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from ..errors import ColumnNotFoundError, InvalidExpressionError, SchemaMismatchError

_THREADS = max(1, min(4, os.cpu_count() or 1))
_ERROR_KIND = re.compile(r"^[A-Za-z ]*Error: ")


def quote(name: str) -> str:
    """`name` as one SQL identifier, whatever it holds (spaces, dots, quotes)."""
    return '"' + name.replace('"', '""') + '"'


class SqlSession:
    """One DuckDB connection for one operation: in memory, file system access disabled (a
    user's expression cannot read or write files), threads capped so a write shares the
    machine. Use as a context manager."""

    def __init__(self, *, memory_limit: str | None = None) -> None:
        # Spills (a source larger than memory) go to a private folder, removed on close.
        self._spill = tempfile.mkdtemp(prefix="lakehouse-duckdb-")
        config = {"enable_external_access": False, "threads": _THREADS, "temp_directory": self._spill}
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        self.con = duckdb.connect(config=config)

    def __enter__(self) -> "SqlSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()
        shutil.rmtree(self._spill, ignore_errors=True)

    def register(self, name: str, data: pa.Table | pa.RecordBatchReader) -> None:
        self.con.register(name, data)

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def duck_types(self, schema: pa.Schema) -> list[str]:
        """DuckDB's names of the types it reads `schema`'s columns as: the cast targets of
        values for those columns (DuckDB's own mapping of our Arrow types, never ours)."""
        self.con.register("__lh_types", pa.table({f.name: pa.array([], f.type) for f in schema},
                                                 schema=pa.schema(list(schema))))
        try:
            return [str(t) for t in self.con.sql("SELECT * FROM __lh_types").types]
        finally:
            self.con.unregister("__lh_types")

    def check(self, sql: str, what: str, scopes: Mapping[str, pa.Schema], default: Iterable[str]) -> None:
        """Refuse `sql` before any data is read unless it is one scalar expression over the
        columns of `scopes` (relation alias -> schema; `default` are the aliases an unqualified
        name may come from), which DuckDB binds without error."""
        _check_shape(sql, what)
        _check_columns(sql, what, scopes, tuple(default))
        relations = ", ".join(f"__lh_empty_{i} AS {quote(alias)}" for i, alias in enumerate(scopes))
        for i, schema in enumerate(scopes.values()):
            self.con.register(f"__lh_empty_{i}", schema.empty_table())
        try:
            self.query(f"SELECT ({sql}) FROM {relations} LIMIT 0", what)
        finally:
            for i in range(len(scopes)):
                self.con.unregister(f"__lh_empty_{i}")

    def query(self, sql: str, what: str) -> pa.Table:
        """The result of `sql` as Arrow; DuckDB's errors as the project's, with `what` saying
        which expression (a cast that does not fit is a SchemaMismatchError)."""
        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.ConversionException as e:
            raise SchemaMismatchError(f"{what}: a value does not fit its column's type: {_clean(e)}") from None
        except duckdb.Error as e:
            raise InvalidExpressionError(f"{what}: {_clean(e)}") from None

    def run(self, sql: str) -> None:
        """Run a statement of ours (not a user's expression) to completion."""
        self.con.execute(sql).fetchall()

    def stream(self, sql: str, what: str) -> Iterator[pa.RecordBatch]:
        """The result of `sql` (over tables, not registered views) batch by batch, errors as in
        `query`. It runs on its own cursor, so the session stays free for other statements
        while the stream is read."""
        cursor = self.con.cursor()
        try:
            yield from cursor.sql(sql).to_arrow_reader()
        except duckdb.ConversionException as e:
            raise SchemaMismatchError(f"{what}: a value does not fit its column's type: {_clean(e)}") from None
        except duckdb.Error as e:
            raise InvalidExpressionError(f"{what}: {_clean(e)}") from None
        finally:
            cursor.close()

    def cast(self, sql: str, duck_type: str) -> str:
        return f"CAST(({sql}) AS {duck_type})"


def evaluate(sql: str, batch: pa.RecordBatch | pa.Table, *, names: Mapping[str, str] | None = None) -> pa.Array:
    """The values of the SQL expression `sql` for each row of `batch` (one connection for the
    call). `names` renames the batch's columns as the expression sees them (batch name -> SQL
    name); by default the expression uses the batch's own names."""
    table = pa.table(batch) if isinstance(batch, pa.RecordBatch) else batch
    if names:
        table = table.rename_columns([names.get(n, n) for n in table.column_names])
    with SqlSession() as session:
        session.check(sql, "expression", {"batch": table.schema}, ["batch"])
        session.register("batch", table)
        return session.query(f"SELECT ({sql}) AS v FROM batch", "expression").column(0).combine_chunks()


def _clean(e: Exception) -> str:
    """DuckDB's message without its error class or the `LINE 1:` excerpt of our wrapper query."""
    first = str(e).split("\n")[0]
    return _ERROR_KIND.sub("", first).strip()


def _check_shape(sql: str, what: str) -> None:
    if not isinstance(sql, str) or not sql.strip():
        raise InvalidExpressionError(f"{what}: expected a SQL expression string, got {sql!r}")
    try:
        statements = duckdb.extract_statements(f"SELECT ({sql})")
    except duckdb.Error as e:
        raise InvalidExpressionError(f"{what}: {sql!r} is not a valid SQL expression: {_clean(e)}") from None
    if len(statements) != 1:
        raise InvalidExpressionError(f"{what}: {sql!r} is not one SQL expression")


def _parse(sql: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
        return None  # DuckDB, the authority, decides on what sqlglot cannot read


def _check_columns(sql: str, what: str, scopes: Mapping[str, pa.Schema], default: tuple[str, ...]) -> None:
    """ColumnNotFoundError naming a column no scope has (names match as DuckDB matches them:
    case-insensitively); subqueries are refused (an expression is evaluated row by row)."""
    tree = _parse(sql)
    if tree is None:
        return
    if isinstance(tree, exp.Query) or tree.find(exp.Query) is not None:
        raise InvalidExpressionError(f"{what}: {sql!r}: subqueries are not supported here")
    lower = {alias.lower(): {n.lower() for n in schema.names} for alias, schema in scopes.items()}
    for column in tree.find_all(exp.Column):
        parts = [p.name for p in column.parts]
        if len(parts) > 1 and parts[0].lower() in lower:  # alias.column[.child...]
            alias, name = parts[0], parts[1]
            if name.lower() not in lower[alias.lower()]:
                raise ColumnNotFoundError(f"{what}: {alias} has no column {name!r} (columns: "
                                          f"{', '.join(scopes[_key(scopes, alias)].names)})")
            continue
        name = parts[0]  # a column, or a struct whose children follow
        if not any(name.lower() in lower[a.lower()] for a in default):
            names = sorted({n for a in default for n in scopes[a].names})
            raise ColumnNotFoundError(f"{what}: no column {name!r} (columns: {', '.join(names)})")


def referenced(sqls: Iterable[str], alias: str, names: Iterable[str]) -> set[str] | None:
    """The columns of relation `alias` (columns `names`) that the expressions `sqls` may read:
    qualified by `alias`, or unqualified and one of `names` (matched case-insensitively). None
    when an expression cannot be analysed (then every column may be read)."""
    by_lower = {n.lower(): n for n in names}
    out: set[str] = set()
    for sql in sqls:
        tree = _parse(sql)
        if tree is None:
            return None
        if tree.find(exp.Star) is not None:
            return None
        for column in tree.find_all(exp.Column):
            parts = [p.name for p in column.parts]
            if len(parts) > 1 and parts[0].lower() == alias.lower():
                name = parts[1]
            elif len(parts) > 1 and parts[0].lower() in ("source", "target"):
                continue
            else:
                name = parts[0]
            if name.lower() in by_lower:
                out.add(by_lower[name.lower()])
    return out


def _key(scopes: Mapping[str, pa.Schema], alias: str) -> str:
    return next(k for k in scopes if k.lower() == alias.lower())
