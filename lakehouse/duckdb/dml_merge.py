"""MERGE INTO a lakehouse table, translated into `Table.merge` so SQL and Python give one result.

The source (a table, a view, a lakehouse table or a subquery) is read once through the
connection as an Arrow stream; the merge copies it into its own DuckDB session before reading
the target. In the ON condition and the WHEN clauses the target's and the source's qualifiers
become `target.` and `source.` (the Python API's names). `ON t.k = s.k [AND ...]` on same-named
columns (or `USING (k, ...)`) becomes key columns (so the target's files are pruned by the
source's keys); any other condition is passed as SQL. A `THEN DO NOTHING` clause is folded into
the later clauses of its group (`AND NOT (its condition)`), keeping SQL's first-match rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ..errors import InvalidArgumentError
from .dml_sql import bare_table, relation, target_names

if TYPE_CHECKING:
    from ..table.handle import Table
    from ..table.merge_builder import MergeBuilder


def merge(conn: Any, statement: exp.Merge, table: "Table") -> int:
    """Run a MERGE statement; returns the rows inserted, updated and deleted."""
    using = statement.args.get("using")
    if isinstance(using, exp.Table):
        source_names = {(using.alias or using.name).lower()}
        query = exp.select("*").from_(bare_table(using))
    elif isinstance(using, exp.Subquery):
        source_names = {using.alias.lower()} if using.alias else set()
        query = using.this
    else:
        raise InvalidArgumentError("MERGE: USING must name a table or a subquery")
    names = {**{n: "target" for n in target_names(statement.this)}, **{n: "source" for n in source_names}}
    on = _on(statement, names)
    reader = relation(conn, query, statement).to_arrow_reader()
    builder = table.merge(reader, on=on)
    for when, condition in _clauses(statement):
        builder = _clause(builder, when, None if condition is None else _sides(condition, names), names, table)
    if not builder.clauses:
        return 0
    m = builder.execute()
    return m.num_inserted_rows + m.num_updated_rows + m.num_deleted_rows


def _sides(tree: exp.Expression, names: dict[str, str]) -> str:
    """`tree` as SQL with the target's and source's qualifiers renamed `target` and `source`."""
    tree = tree.copy()
    for column in tree.find_all(exp.Column):
        qualifier = (f"{column.db}.{column.table}" if column.db else column.table).lower()
        if qualifier in names:
            column.set("db", None)
            column.set("table", exp.to_identifier(names[qualifier]))
    return tree.sql(dialect="duckdb")


def _on(statement: exp.Merge, names: dict[str, str]) -> str | list[str]:
    """Key columns when the condition is equalities of same-named columns, else SQL."""
    using = statement.args.get("using_cond")
    if using:
        return [i.name for i in using]
    on = statement.args.get("on")
    if on is None:
        raise InvalidArgumentError("MERGE needs ON <condition> or USING (columns)")
    keys = []
    for term in on.flatten() if isinstance(on, exp.And) else [on]:
        key = _key(term, names)
        if key is None:
            return _sides(on, names)
        keys.append(key)
    return keys


def _key(term: exp.Expression, names: dict[str, str]) -> str | None:
    if not isinstance(term, exp.EQ) or not all(isinstance(c, exp.Column) for c in (term.this, term.expression)):
        return None
    sides = [names.get(c.table.lower()) for c in (term.this, term.expression)]
    same = term.this.name.lower() == term.expression.name.lower()
    return term.this.name if same and sorted(sides, key=str) == ["source", "target"] else None


def _clauses(statement: exp.Merge) -> list[tuple[exp.When, exp.Expression | None]]:
    """The WHEN clauses, with each DO NOTHING folded into the later clauses of its group."""
    out, nothing = [], {}
    for when in statement.args["whens"].expressions:
        group = (bool(when.args.get("matched")), bool(when.args.get("source")))
        condition = when.args.get("condition")
        excluded = nothing.get(group, [])
        if excluded is None:  # an earlier unconditional DO NOTHING takes every row of the group
            continue
        for earlier in excluded:
            # A row goes on past DO NOTHING unless its condition is TRUE (NULL included: NOT NULL is NULL).
            guard = exp.not_(exp.func("coalesce", exp.paren(earlier.copy()), exp.false()))
            condition = guard if condition is None else exp.and_(exp.paren(condition.copy()), guard)
        then = when.args.get("then")
        if isinstance(then, exp.Var) and then.name.upper() == "DO NOTHING":
            nothing[group] = None if when.args.get("condition") is None else [*excluded, when.args["condition"]]
            continue
        out.append((when, condition))
    return out


def _clause(builder: "MergeBuilder", when: exp.When, where: str | None, names: dict[str, str],
            table: "Table") -> "MergeBuilder":
    then, matched, by_source = when.args.get("then"), when.args.get("matched"), when.args.get("source")
    if isinstance(then, exp.Var) and then.name.upper() == "DELETE":
        if matched:
            return builder.when_matched_delete(where=where)
        return builder.when_not_matched_by_source_delete(where=where)
    if isinstance(then, exp.Update):
        sets = _sets(then, names)
        if matched:
            return builder.when_matched_update(set=sets, where=where)
        if by_source and sets is not None:
            return builder.when_not_matched_by_source_update(set=sets, where=where)
    if isinstance(then, exp.Insert) and not matched and not by_source:
        return builder.when_not_matched_insert(values=_values(then, names, table), where=where)
    raise InvalidArgumentError(f"MERGE: {when.sql(dialect='duckdb')!r} is not supported")


def _sets(then: exp.Update, names: dict[str, str]) -> dict[str, str] | None:
    """UPDATE SET's columns and values; None (every column from the source) for SET * or none."""
    items = then.expressions or []
    if not items or any(isinstance(i, exp.Star) for i in items):
        return None
    return {eq.this.name: _sides(eq.expression, names) for eq in items}


def _values(then: exp.Insert, names: dict[str, str], table: "Table") -> dict[str, str] | None:
    """INSERT's columns and values; None (every column from the source) for INSERT * or none."""
    columns, values = then.this, then.expression
    if values is None or isinstance(columns, exp.Star):
        return None
    targets = [c.name for c in columns.expressions] if isinstance(columns, exp.Tuple) else table.schema.names
    items = values.expressions
    if len(targets) != len(items):
        raise InvalidArgumentError(f"MERGE INSERT: {len(targets)} columns but {len(items)} values")
    return {c: _sides(v, names) for c, v in zip(targets, items)}
