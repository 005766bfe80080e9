"""A DuckDB connection that knows lakehouse tables by name (`lakehouse.duckdb.connect`).

Each statement is parsed with sqlglot (DuckDB dialect). Every table reference that names a
lakehouse table (`ns.table` in the catalog, or a name given to `register_table`) is pointed at
a view over the files that reference needs: the version its time-travel clause names (or the
newest), less the files our partition and statistics pruning rules out for the conjuncts of
its WHERE clause (pruning.py), less deleted rows (views.py, deletes.py). Everything else (plain
DuckDB tables, CTEs, table functions, statements sqlglot cannot parse) goes to DuckDB as it is.

A reference the statement reads in full at the newest version keeps its name: `ns.table` is a
real DuckDB view (schema `ns`), re-pointed when the table has a new version, so DuckDB's own
tools (DESCRIBE, `con.con.table("ns.t")`) see it too. Other references are rewritten to
immutable views in schema `lh_internal`, so a relation returned earlier keeps reading what it
was planned on when it runs again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.tokens import TokenType

from ..errors import InvalidArgumentError, LakehouseError
from ..format.log import read_entries_from, read_entry
from ..format.replay import fold
from ..format.state import check_readable
from ..read.planning import may_match
from . import dml as _dml  # INSERT/DELETE/UPDATE/MERGE/CTAS, intercepted before DuckDB sees them
from .pruning import reference_predicate, session_is_utc
from .travel import take_travel, travel_table
from .views import quote_identifier, views_of


if TYPE_CHECKING:
    from ..table.handle import Table

_NAME_TOKENS = (TokenType.VAR, TokenType.IDENTIFIER)


class LakehouseConnection:
    """A DuckDB connection (`.con`) whose SQL can name lakehouse tables.

    >>> import pyarrow as pa, lakehouse, lakehouse.duckdb
    >>> t = lakehouse.create_table("memory://docs/duck-conn", schema=pa.schema([("id", pa.int64())]))
    >>> _ = t.append(pa.table({"id": [1, 2, 3]}))
    >>> con = lakehouse.duckdb.connect(tables={"demo.ids": t})
    >>> con.sql("SELECT sum(id) FROM demo.ids WHERE id >= 2").fetchall()
    [(5,)]
    >>> con.sql("SELECT count(*) FROM demo.ids VERSION AS OF 0").fetchall()
    [(0,)]
    """

    def __init__(self, catalog: Any = None, con: Any = None, *, tables: Mapping[str, "Table"] | None = None) -> None:
        self.con = duckdb.connect() if con is None else con
        self.catalog = catalog
        self._registered: dict[str, Table] = {}
        self._handles: dict[str, Table] = {}  # name -> the newest handle seen
        self._named: dict[str, tuple[str, int, str]] = {}  # name -> (uri, version, view) it points at
        self._locations: dict[str, str] = {}  # catalog name -> the location its handle reads
        self._views = views_of(self.con)
        for name, table in (tables or {}).items():
            self.register_table(name, table)

    def __repr__(self) -> str:
        return f"LakehouseConnection(catalog={self.catalog!r}, tables={sorted(self._registered)!r})"

    def __enter__(self) -> "LakehouseConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the DuckDB connection.

        >>> import lakehouse.duckdb
        >>> lakehouse.duckdb.connect().close()
        """
        self.con.close()

    def register_table(self, name: str, table: "Table") -> None:
        """Make `table` (a Table handle, no catalog needed) queryable as `name` ("t" or "ns.t").

        >>> import pyarrow as pa, lakehouse, lakehouse.duckdb
        >>> t = lakehouse.create_table("memory://docs/duck-register", schema=pa.schema([("id", pa.int64())]))
        >>> con = lakehouse.duckdb.connect()
        >>> con.register_table("ids", t)
        >>> con.sql("SELECT count(*) FROM ids").fetchall()
        [(0,)]
        """
        parts = name.split(".") if isinstance(name, str) else []
        if not 1 <= len(parts) <= 2 or not all(parts) or not hasattr(table, "state"):
            raise InvalidArgumentError(f"register_table takes a name 'table' or 'ns.table' and a Table, "
                                       f"not {name!r} and {type(table).__name__}")
        self._registered[name.lower()] = table
        self._handles.pop(name.lower(), None)
        self._unname(name.lower())

    # ------------------------------------------------------------ running SQL
    def sql(self, query: str, params: Any = None) -> Any:
        """Run `query` (one or more statements); a DuckDB relation for a query, as `duckdb.sql`.

        >>> import lakehouse.duckdb
        >>> lakehouse.duckdb.connect().sql("SELECT 42").fetchall()
        [(42,)]
        """
        return self._run(query, params, lambda text, p: self.con.sql(text, params=p))

    def execute(self, query: str, params: Any = None) -> Any:
        """Run `query` as DuckDB's `execute` does (results by `fetchall()` on what it returns).

        >>> import lakehouse.duckdb
        >>> lakehouse.duckdb.connect().execute("SELECT ?::INT + 1", [1]).fetchall()
        [(2,)]
        """
        return self._run(query, params, lambda text, p: self.con.execute(text, p))

    def _run(self, query: str, params: Any, run: Any) -> Any:
        statements = _parse(query)
        if statements is None:
            self._name_views_in(query)
            return run(query, params)
        result = None
        for i, statement in enumerate(statements):
            last = i == len(statements) - 1
            handled = _dml.execute(self, statement) if _dml.is_dml(statement) else None
            if handled is not None:
                result = _dml.count_relation(self.con, handled)
                continue
            prepared = self.prepare(statement)
            text = query if len(statements) == 1 and prepared == statement else prepared.sql(dialect="duckdb")
            # Earlier statements run as DuckDB's sql() runs them (a query among them stays unread).
            result = run(text, params) if last else self.con.sql(text)
        return result

    def _name_views_in(self, query: str) -> None:
        """For a statement sqlglot cannot parse: the real-name views of the lakehouse tables its
        tokens name (`ns . table`, or a registered one-part name), read whole at their newest
        version, so DuckDB can run it as it is (no pruning, no time travel: those need the tree)."""
        try:
            tokens = DuckDB().tokenize(query)
        except sqlglot.errors.SqlglotError:
            return
        names = _NAME_TOKENS
        for i, token in enumerate(tokens):
            if token.token_type not in names or (i and tokens[i - 1].token_type == TokenType.DOT):
                continue
            dotted = i + 2 < len(tokens) and tokens[i + 1].token_type == TokenType.DOT \
                and tokens[i + 2].token_type in names
            name = f"{token.text}.{tokens[i + 2].text}" if dotted else token.text
            if (dotted or name.lower() in self._registered) and (table := self._table(name.lower())) is not None:
                self._name_view(name.lower(), table._store, table.state, table.state.file_index())  # noqa: SLF001

    # ------------------------------------------------------------ hooks (also used by dml.py)
    def lakehouse_tables(self, statement: exp.Expression) -> dict[str, "Table"]:
        """The lakehouse tables `statement` names, by name (lower case), at their newest version.

        >>> import sqlglot, pyarrow as pa, lakehouse, lakehouse.duckdb
        >>> t = lakehouse.create_table("memory://docs/duck-tables", schema=pa.schema([("id", pa.int64())]))
        >>> con = lakehouse.duckdb.connect(tables={"s.t": t})
        >>> list(con.lakehouse_tables(sqlglot.parse_one("SELECT * FROM s.t JOIN other USING (id)")))
        ['s.t']
        """
        out: dict[str, Table] = {}
        for node, name in self._references(statement):
            if name not in out:
                table = self._table(name)
                if table is not None:
                    out[name] = table
        return out

    def prepare(self, statement: exp.Expression) -> exp.Expression:
        """`statement` (a copy) with each reference to a lakehouse table pointed at a view of the
        files it needs (module docstring): the statement to run on `.con`.

        >>> import sqlglot, pyarrow as pa, lakehouse, lakehouse.duckdb
        >>> t = lakehouse.create_table("memory://docs/duck-prepare", schema=pa.schema([("id", pa.int64())]))
        >>> con = lakehouse.duckdb.connect(tables={"s.t": t})
        >>> con.prepare(sqlglot.parse_one("SELECT * FROM s.t", read="duckdb")).sql()
        'SELECT * FROM s.t'
        """
        statement = statement.copy()
        tables: dict[str, Table | None] = {}  # one snapshot of each table per statement
        pin = isinstance(statement, exp.Create)  # a view or macro made now may run at any later time
        renamed: set[tuple[str, str]] = set()
        for node, name in list(self._references(statement)):
            if name not in tables:
                tables[name] = self._table(name)
            if tables[name] is not None:
                full, aliased = (node.db.lower(), node.name.lower()), bool(node.alias)
                if self._point(node, name, tables[name], pin=pin) and not aliased:
                    renamed.add(full)
        for column in statement.find_all(exp.Column) if renamed else ():
            if column.db and (column.db.lower(), column.table.lower()) in renamed:
                column.set("db", None)  # `ns.t.x`: the rewritten reference goes by `t`
        return statement

    def _references(self, statement: exp.Expression):
        """(node, name) of each table reference in `statement` that may name a lakehouse table."""
        ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
        for node in statement.find_all(exp.Table):
            if not isinstance(node.this, exp.Identifier) or node.args.get("catalog") is not None:
                continue  # a table function, or a three-part name
            name = node.name.lower() if not node.db else f"{node.db}.{node.name}".lower()
            if node.db or name not in ctes:
                yield node, name

    def _point(self, node: exp.Table, name: str, table: "Table", *, pin: bool = False) -> bool:
        """Point `node` at the files it reads; True if it now names a view of lh_internal."""
        travel = take_travel(node)
        if travel is not None:
            table = travel_table(table, travel, self.con)
        state, store = table.state, table._store  # noqa: SLF001 - the adapter reads the handle's files
        predicate = None
        if isinstance(node.parent, (exp.From, exp.Join)):
            predicate = reference_predicate(node, state.schema, utc_session=self._utc_session)
        index = state.file_index()
        # One mask and one filter (plan_files also measures what it skipped: ~10x slower on 10k files).
        files = index if predicate is None or index.num_rows == 0 else index.filter(
            may_match(predicate, index, state.metadata))
        if travel is None and files.num_rows == index.num_rows:
            self._name_view(name, store, state, files)  # read whole: keep the real name
            return False
        view = self._views.view(store, state, files, pin=pin)
        schema, _, ident = view.partition(".")
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
        node.set("this", exp.Identifier(this=ident.strip('"').replace('""', '"'), quoted=True))
        node.set("db", exp.to_identifier(schema))
        node.set("alias", alias)
        return True

    def _name_view(self, name: str, store: Any, state: Any, files: Any) -> None:
        """Point the real-name view `name` at the view of the state's files (if it moved)."""
        named = self._named.get(name)
        if named is not None and named[:2] == (store.uri, state.version):
            return  # no new version: nothing to hash or create
        view = self._views.view(store, state, files, pin=True)  # pinned while the name points at it
        schema, _, table = name.rpartition(".")
        if schema:
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
        target = f"{quote_identifier(schema)}.{quote_identifier(table)}" if schema else quote_identifier(table)
        self.con.execute(f"CREATE OR REPLACE VIEW {target} AS SELECT * FROM {view}")
        if named is not None and named[2] != view:
            self._views.unpin(named[2])
        self._named[name] = (store.uri, state.version, view)

    def _table(self, name: str) -> "Table | None":
        """The newest handle on the lakehouse table `name`, or None if no table has that name.
        A catalog name is looked up on each statement (one catalog query): a table renamed,
        dropped or replaced since is seen at once."""
        if name in self._registered:
            handle = self._handles.get(name) or self._registered[name]
        else:
            handle = self._catalog_table(name)
            if handle is None:
                return None
        handle = _newest(handle)
        self._handles[name] = handle
        return handle

    def _catalog_table(self, name: str) -> "Table | None":
        if self.catalog is None or "." not in name:
            return None
        try:
            location = self.catalog.table_location(name)
        except LakehouseError:  # not in the catalog (any more), or not a valid catalog name
            self._forget(name)
            return None
        if self._locations.get(name) != location:
            self._forget(name)
            self._handles[name] = self.catalog.load_table(name)
            self._locations[name] = location
        return self._handles[name]

    def _forget(self, name: str) -> None:
        """Drop what the connection knew of catalog table `name` (and its real-name view)."""
        self._handles.pop(name, None)
        self._locations.pop(name, None)
        if self._unname(name):
            schema, _, table = name.rpartition(".")
            self.con.execute(f"DROP VIEW IF EXISTS {quote_identifier(schema)}.{quote_identifier(table)}")

    def _unname(self, name: str) -> bool:
        """Forget where real-name view `name` points (its target may be dropped); False if nowhere."""
        named = self._named.pop(name, None)
        if named is not None:
            self._views.unpin(named[2])
        return named is not None

    def _utc_session(self) -> bool:
        return session_is_utc(self.con)


def _newest(table: "Table") -> "Table":
    """`table` at its newest version: the log entries after its own, folded onto its state."""
    from ..table.handle import Table

    store = table._store  # noqa: SLF001
    if read_entry(store, table.version + 1) is None:  # one read per statement when nothing changed
        return table
    entries = read_entries_from(store, table.version + 1)
    state = fold(table.state, entries)
    check_readable(state.protocol)
    return Table(store, state)


def _parse(query: str) -> list[exp.Expression] | None:
    """sqlglot's statements of `query`, or None when sqlglot cannot parse it (DuckDB then runs it
    untouched: it may name no lakehouse table, or DuckDB will say what is wrong)."""
    if not isinstance(query, str):
        raise InvalidArgumentError(f"the query must be a string, not {type(query).__name__}")
    try:
        statements = [s for s in sqlglot.parse(query, read="duckdb") if s is not None]
    except sqlglot.errors.SqlglotError:
        return None
    return statements or None
