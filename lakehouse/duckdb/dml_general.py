"""DELETE and UPDATE whose rows only DuckDB can choose: a subquery in WHERE or SET, a join
through DELETE ... USING or UPDATE ... FROM.

One read-only DuckDB query over the target's live rows, each carrying its file (`__lh_file`, an
index into the files read) and position in it (`__lh_pos`), returns the rows the statement
changes (and, for an update, their new values cast to the columns' types). The target rows come
from our own reader (schema evolution and deletion vectors applied), one file at a time, pruned
by the WHERE conjuncts that bind to the table alone; the statement's other relations (lakehouse
tables included, through the connection's views) are DuckDB's. ops/positions.py then deletes or
rewrites those rows in the table's write mode and the statement commits once.

Memory: one target file at a time feeds DuckDB (which may spill); a delete holds the chosen
positions as bitmaps; an update's new rows arrive ordered by file and are written file by file.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import pyarrow as pa
from sqlglot import exp

from ..errors import ColumnNotFoundError, LakehouseError
from ..expressions.tree import And, Expr
from ..format.state import TableState
from ..format.types import Field
from ..ops.positions import POSITION, delete_at, update_at
from ..read.data_files import output_schema
from ..read.planning import plan_files
from ..read.scan import bind_where
from ..ops.delete import adds_from_index
from ..ops.update import read_file
from ..table.properties import write_mode
from ..table.row_level import commit_delete, commit_update
from .dml_sql import duck_types, own_sql, target_names, with_ctes

if TYPE_CHECKING:
    from ..table.handle import Table

TARGET = "__lh_dml_target"
FILE = "__lh_file"


def delete_general(conn: Any, statement: exp.Delete, table: "Table") -> int:
    """DELETE [USING ...] WHERE <anything DuckDB takes>; returns the rows deleted."""
    state = table.state
    mode = write_mode(state.metadata, "delete", None)
    alias, where = _alias(statement.this), statement.args.get("where")
    predicate = _pruning(where, statement.this, state)
    files = plan_files(state, predicate).files
    select = exp.select(exp.column(FILE, alias), exp.column(POSITION, alias)).distinct()
    query = with_ctes(_from(select, alias, statement.args.get("using") or [], _where(statement)), statement)
    with _target(conn, table, state, files, _named_fields(statement, state)):
        chosen = conn.con.sql(conn.prepare(query).sql(dialect="duckdb")).to_arrow_table()
    paths = files["path"].to_pylist()
    order = np.argsort(chosen[FILE].to_numpy(), kind="stable")
    by_file, pos = chosen[FILE].to_numpy()[order], chosen[POSITION].to_numpy()[order]
    cuts = np.flatnonzero(np.diff(by_file)) + 1
    positions = {paths[int(f[0])]: p for f, p in zip(np.split(by_file, cuts), np.split(pos, cuts)) if len(f)}
    changes = delete_at(table._store, state, positions, mode, table._write, frozenset(paths))
    parameters = {"sql": statement.sql(dialect="duckdb"), "mode": mode}
    return commit_delete(table, state, mode, changes, predicate, parameters).num_deleted_rows


def update_general(conn: Any, statement: exp.Update, table: "Table") -> int:
    """UPDATE ... SET ... [FROM ...] WHERE <anything DuckDB takes>; returns the rows updated
    (a row matched by several FROM rows is updated once, with the values of one of them)."""
    state = table.state
    mode = write_mode(state.metadata, "update", None)
    alias, where = _alias(statement.this), statement.args.get("where")
    predicate = _pruning(where, statement.this, state)
    files = plan_files(state, predicate).files
    sets = {eq.this.name.lower(): _requalified(eq.expression, statement.this, alias) for eq in statement.expressions}
    names = table.schema.names
    unknown = set(sets) - {n.lower() for n in names}
    if unknown:
        raise ColumnNotFoundError(f"UPDATE: no column {sorted(unknown)[0]!r} (columns: {', '.join(names)})")
    values = [exp.cast(sets[n.lower()].copy(), exp.DataType.build(t, dialect="duckdb")).as_(n, quoted=True)
              if n.lower() in sets else exp.column(n, alias, quoted=True)
              for n, t in zip(names, duck_types(conn.con, table))]
    keys = [exp.column(FILE, alias), exp.column(POSITION, alias)]
    select = exp.select(*keys, *values).distinct(*[k.copy() for k in keys]).order_by(*[k.copy() for k in keys])
    query = with_ctes(_from(select, alias, _from_relations(statement), _where(statement)), statement)
    paths = files["path"].to_pylist()
    with _target(conn, table, state, files):
        reader = conn.con.sql(conn.prepare(query).sql(dialect="duckdb")).to_arrow_reader()
        change = update_at(table._store, state, _by_file(reader, paths), mode, table._write, frozenset(paths))
    parameters = {"sql": statement.sql(dialect="duckdb"), "mode": mode}
    return commit_update(table, state, mode, change, predicate, parameters).num_updated_rows


def _alias(node: exp.Table) -> str:
    return node.alias or node.name


def _where(statement: exp.Delete | exp.Update) -> exp.Where | None:
    where = statement.args.get("where")
    return None if where is None else _requalified(where, statement.this, _alias(statement.this))


def _from(select: exp.Select, alias: str, others: list, where: exp.Where | None) -> exp.Select:
    """`select` FROM the target's rows AS `alias`, cross joined with `others` (the statement's
    USING / FROM relations, their joins kept), filtered by `where`."""
    select = select.from_(exp.Table(this=exp.to_identifier(TARGET), alias=exp.TableAlias(
        this=exp.to_identifier(alias, quoted=True))))
    for other in others:
        select = select.join(exp.Join(this=other.copy()))
    return select.where(where.this.copy()) if where is not None else select


def _requalified(tree: exp.Expression, node: exp.Table, alias: str) -> exp.Expression:
    """`tree` with columns qualified by the target's full name (`ns.t.x`) qualified by `alias`,
    the name the target's rows go by in the query."""
    names = target_names(node)
    tree = tree.copy()
    for column in tree.find_all(exp.Column):
        if column.db and f"{column.db}.{column.table}".lower() in names:
            column.set("db", None)
            column.set("table", exp.to_identifier(alias, quoted=True))
    return tree


def _from_relations(statement: exp.Update) -> list:
    from_ = statement.args.get("from_")
    return [from_.this] if from_ is not None else []


def _pruning(where: exp.Where | None, node: exp.Table, state: TableState) -> Expr | None:
    """The AND of the WHERE conjuncts that bind to the table's own columns (others are left to
    DuckDB): only files that may hold rows matching them are read."""
    if where is None:
        return None
    names = target_names(node)
    out = None
    for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        sql = own_sql(conjunct, names)
        if sql is None:
            continue
        try:
            term = bind_where(sql, state)
        except LakehouseError:  # a conjunct our predicates cannot state prunes nothing
            continue
        out = term if out is None else And(out, term)
    return out


def _named_fields(statement: exp.Expression, state: TableState) -> tuple[Field, ...] | None:
    """The table's columns a DELETE may read: those whose name the statement mentions (any
    relation's: a superset); None (all) when it has a `*`."""
    if statement.find(exp.Star) is not None:
        return None
    names = {c.name.lower() for c in statement.find_all(exp.Column)}
    return tuple(f for f in state.schema.fields if f.name.lower() in names)


@contextmanager
def _target(conn: Any, table: "Table", state: TableState, files: pa.Table,
            fields: tuple[Field, ...] | None = None) -> Iterator[None]:
    """The target's live rows (`fields`, default all) registered in the connection as `TARGET`,
    each with its file index and position, read one file at a time."""
    fields = state.schema.fields if fields is None else fields
    schema = output_schema(fields)
    full = pa.schema([*schema, pa.field(FILE, pa.int32()), pa.field(POSITION, pa.int64())])
    adds = adds_from_index(files, state)

    def batches() -> Iterator[pa.RecordBatch]:
        for i, add in enumerate(adds):
            rows = read_file(table._store, state, files, i, add, fields)
            extra = [pa.repeat(pa.scalar(i, pa.int32()), rows.rows.num_rows), rows.positions]
            yield from pa.Table.from_arrays([*rows.rows.columns, *extra], schema=full).to_batches()

    conn.con.register(TARGET, pa.RecordBatchReader.from_batches(full, batches()))
    try:
        yield
    finally:
        conn.con.unregister(TARGET)


def _by_file(reader: pa.RecordBatchReader, paths: list[str]) -> Iterator[tuple[str, pa.Table]]:
    """The query's rows (ordered by file, then position) grouped by file: (path, its rows)."""
    pending: list[pa.Table] = []
    current = None
    for batch in reader:
        table = pa.Table.from_batches([batch])
        files = table[FILE].to_numpy()
        cuts = [0, *(np.flatnonzero(np.diff(files)) + 1), len(files)]
        for start, stop in zip(cuts, cuts[1:]):
            if start == stop:
                continue
            part, f = table.slice(start, stop - start), int(files[start])
            if current is not None and f != current:
                yield paths[current], pa.concat_tables(pending)
                pending = []
            current = f
            pending.append(part)
    if current is not None:
        yield paths[current], pa.concat_tables(pending)
