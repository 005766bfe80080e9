"""From a statement's WHERE clause to a predicate that prunes one table's files.

DuckDB filters the rows; we only choose which files it opens. A file may be left out only when
no row of it can reach the statement's result, so the predicate taken for a table reference is
a conjunction of WHERE conjuncts that (1) sit in the WHERE of the SELECT whose FROM names the
reference, (2) read only that reference's columns (unqualified, or qualified by its alias),
(3) parse and bind with our own expression tree (lakehouse/expressions/, DuckDB semantics), and
(4) apply to every row the reference contributes: the reference is not on the null-filled side
of an outer join, nor in a positional or ASOF join, nor sampled or pivoted. A conjunct failing any of these
prunes nothing; OR, subqueries and functions therefore prune nothing, as our parser refuses them.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlglot import exp

from ..errors import LakehouseError
from ..expressions.binder import bind, rewrite_not
from ..expressions.parser import parse
from ..expressions.tree import Expr, and_, referenced_fields
from ..format.schema import Schema
from ..format.types import DATE, TimestampType

_INNER_KINDS = ("", "INNER", "CROSS")
_FROM_KINDS = _INNER_KINDS + ("OUTER", "SEMI", "ANTI")  # with side "" or LEFT: the FROM table keeps every row


def reference_predicate(table: exp.Table, schema: Schema, *, utc_session: Callable[[], bool] = lambda: True
                        ) -> Expr | None:
    """The predicate every row `table` (a reference in a statement) contributes to the result
    must satisfy, bound to `schema`; None when there is none we can use.
    `utc_session`: whether DuckDB's TimeZone is UTC (our binder reads a naive timestamp against
    a zoned column as UTC, DuckDB in the session's zone: otherwise such conjuncts are skipped).

    >>> import sqlglot
    >>> from lakehouse.format.schema import Schema
    >>> from lakehouse.format.types import Field, PrimitiveType
    >>> s = Schema(fields=(Field(id=1, name="x", type=PrimitiveType("int64")),))
    >>> q = sqlglot.parse_one("SELECT * FROM t AS o WHERE o.x > 3 AND f(x) AND y = 1", read="duckdb")
    >>> reference_predicate(q.find(exp.Table), s).op
    '>'
    """
    select = _scope(table)
    where = None if select is None else select.args.get("where")
    if where is None:
        return None
    names = {table.alias_or_name.lower()}
    kept = []
    for conjunct in _conjuncts(where.this):
        predicate = _predicate(conjunct, names, schema, utc_session)
        if predicate is not None:
            kept.append(predicate)
    return and_(*kept) if kept else None


def _scope(table: exp.Table) -> exp.Select | None:
    """The SELECT whose WHERE filters every row `table` contributes, or None."""
    if any(table.args.get(arg) for arg in ("sample", "pivots", "joins", "laterals")):
        return None  # WHERE sees the sampled / pivoted / joined rows, not the table's
    parent = table.parent
    if isinstance(parent, exp.From) and isinstance(parent.parent, exp.Select):
        select, allowed_sides, allowed_kinds = parent.parent, ("", "LEFT"), _FROM_KINDS
    elif isinstance(parent, exp.Join) and isinstance(parent.parent, exp.Select):
        select, allowed_sides, allowed_kinds = parent.parent, ("",), _INNER_KINDS
    else:
        return None
    if select.args.get("sample") is not None:
        return None
    for join in select.args.get("joins") or ():
        side, kind, method = (join.side or "").upper(), (join.kind or "").upper(), (join.method or "").upper()
        if side not in allowed_sides or kind not in allowed_kinds or method not in ("", "NATURAL"):
            return None
    return select


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    """The AND-ed parts of `node`, parentheses removed (iterative: long chains stay shallow)."""
    out, stack = [], [node]
    while stack:
        part = stack.pop()
        while isinstance(part, exp.Paren):
            part = part.this
        if isinstance(part, exp.And):
            stack.extend(reversed(list(part.flatten())))
        else:
            out.append(part)
    return out


def _predicate(conjunct: exp.Expression, names: set[str], schema: Schema,
               utc_session: Callable[[], bool]) -> Expr | None:
    """`conjunct` as our bound predicate when it reads only this reference's columns, else None."""
    if conjunct.find(exp.Query, exp.Subquery, exp.Placeholder, exp.Parameter) is not None:
        return None  # subqueries and bind parameters: not a literal comparison
    conjunct = conjunct.copy()
    for column in conjunct.find_all(exp.Column):
        if column.args.get("db") is not None or column.args.get("catalog") is not None:
            return None
        qualifier = column.table
        if qualifier and qualifier.lower() not in names:
            return None  # another table's column, or a struct field path we do not guess at
        column.set("table", None)
    try:
        predicate = rewrite_not(bind(parse(conjunct.sql(dialect="duckdb")), schema))
    except (LakehouseError, RecursionError):
        return None
    if reads_zoned_columns(predicate, schema) and not utc_session():
        return None
    return predicate


def reads_zoned_columns(predicate: Expr, schema: Schema) -> bool:
    """Whether `predicate` reads a date or timestamp column, whose comparisons with a literal
    depend on DuckDB's session time zone (our binder assumes UTC)."""
    for field_id in referenced_fields(predicate):
        field = schema.field_by_id(field_id)
        if field is not None and (isinstance(field.type, TimestampType) or field.type == DATE):
            return True
    return False


_UTC_ZONES = frozenset({"utc", "etc/utc", "gmt", "etc/gmt", "z", "zulu", "universal", "etc/universal", "uct", "etc/uct"})


def session_is_utc(con: Any) -> bool:
    """Whether DuckDB connection `con` reads times without a zone as UTC (its TimeZone setting).

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("SET TimeZone = 'UTC'")
    >>> session_is_utc(con)
    True
    """
    return str(con.execute("SELECT current_setting('TimeZone')").fetchall()[0][0]).lower() in _UTC_ZONES
