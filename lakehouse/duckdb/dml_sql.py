"""What the DML modules share: the statement's table names and qualifiers, the relations of
its queries on the connection, and DuckDB's names of a table's column types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ..read.data_files import output_schema

if TYPE_CHECKING:
    from ..table.handle import Table


def bare_table(node: exp.Table) -> exp.Table:
    """A copy of the table reference `node` without its alias (or anything but its name)."""
    return exp.Table(**{k: node.args[k].copy() for k in ("this", "db", "catalog") if node.args.get(k) is not None})


def target_names(node: exp.Table) -> set[str]:
    """The names (lower case) a statement's columns qualify the target table by: its alias,
    else its name (and `ns.name`)."""
    alias = node.alias
    if alias:
        return {alias.lower()}
    return {node.name.lower(), f"{node.db}.{node.name}".lower()}


def own_sql(expression: exp.Expression, names: set[str], qualifier: str | None = None) -> str | None:
    """`expression` as SQL over the target's columns alone (qualifiers in `names` removed, or
    replaced by `qualifier`), or None if it has a subquery or names another relation."""
    tree = expression.copy()
    if tree.find(exp.Query, exp.Subquery) is not None:
        return None
    for column in tree.find_all(exp.Column):
        if not column.table:
            continue
        if _qualifier(column).lower() not in names:
            return None
        column.set("db", None)
        column.set("table", exp.to_identifier(qualifier) if qualifier else None)
    return tree.sql(dialect="duckdb")


def _qualifier(column: exp.Column) -> str:
    return f"{column.db}.{column.table}" if column.db else column.table


def relation(conn: Any, query: exp.Expression, statement: exp.Expression | None = None) -> Any:
    """The DuckDB relation of a query of `statement` (its CTEs, `WITH ... INSERT/DELETE/...`,
    in scope; lakehouse tables in it prepared as views by the connection)."""
    if isinstance(query, exp.Values):  # a VALUES list as a query
        query = exp.select("*").from_(exp.Subquery(this=query.copy(), alias=exp.TableAlias(
            this=exp.to_identifier("__lh_values"))))
    query = with_ctes(query, statement)
    prepared = conn.prepare(query)
    return conn.con.sql(prepared.sql(dialect="duckdb"))


def with_ctes(query: exp.Expression, statement: exp.Expression | None) -> exp.Expression:
    """A copy of `query` with the CTEs of `statement`'s WITH before its own.

    >>> import sqlglot
    >>> s = sqlglot.parse_one("WITH x AS (SELECT 1 AS id) DELETE FROM t WHERE id IN (SELECT id FROM x)")
    >>> with_ctes(sqlglot.parse_one("SELECT * FROM x"), s).sql()
    'WITH x AS (SELECT 1 AS id) SELECT * FROM x'
    """
    query = query.copy()
    outer = statement.args.get("with_") if statement is not None else None
    if outer is None:
        return query
    inner = query.args.get("with_")
    ctes = [c.copy() for c in outer.expressions] + (list(inner.expressions) if inner is not None else [])
    query.set("with_", exp.With(expressions=ctes, recursive=outer.args.get("recursive")))
    return query


def duck_types(con: Any, table: "Table") -> list[str]:
    """DuckDB's names of the types it reads the table's columns as (its own Arrow mapping)."""
    return [str(t) for t in con.from_arrow(output_schema(table.schema.fields).empty_table()).types]
