"""MERGE (spec/format.md, "Operations", merge): a vectorised join of a source with the target
files, by DuckDB, and SQL MERGE's clauses applied in order (first match wins).

Memory: the source is copied once into the operation's DuckDB connection (which spills to a
private temporary folder past its memory limit, so a source larger than memory works), and
target files are joined with it in groups of up to JOIN_GROUP_ROWS rows of the join's columns,
each touched file then read whole only when needed: besides the source, memory holds one group,
one data file, their join result and the writer's buffers, never the table. Only files that may hold a row
matching a source key are read (min/max of the source's keys, pruned by partitions and
statistics); a WHEN NOT MATCHED BY SOURCE clause needs every live file, since any row may be
unmatched, and a condition `on` that is not column equalities cannot prune either.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterator, Sequence

import numpy as np

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ColumnNotFoundError, InvalidArgumentError, LakehouseError, MergeCardinalityError
from ..expressions.binder import bind
from ..expressions.sql_eval import SqlSession, quote, referenced
from ..expressions.tree import FALSE, TRUE, And, Compare, Expr, In, Ref
from ..format.actions import AddFile, RemoveFile
from ..format.state import TableState
from ..format.types import Field
from ..io import Store
from ..read.data_files import output_schema
from ..table.casting import cast_array
from ..table.conform import conform_batches
from .change_data import ChangeReferences
from .rewrite import FileWrites
from .update import (MERGE_ON_READ, FileRows, RowRewrite, VectorChanges, WriteFn, candidate_files, in_place, read_file,
                     removal, resolve_columns, ChangeBuffer)

MATCHED = ("matched_update", "matched_delete")
BY_SOURCE = ("by_source_update", "by_source_delete")
UPDATES = ("matched_update", "by_source_update")
DELETES = ("matched_delete", "by_source_delete")
# DuckDB's memory limit for the source (None: DuckDB's default, 80% of RAM); past it the source
# spills to the session's temporary folder.
SOURCE_MEMORY_LIMIT: str | None = None
# Target files are joined in groups of this many rows (of the join's columns only).
JOIN_GROUP_ROWS = 1 << 20
_IN_LIST_KEYS = 1000  # prune by the source's keys themselves up to this many, else by their range


@dataclass(frozen=True, slots=True)
class Clause:
    """One WHEN clause: its kind, optional condition, and for updates/inserts the values
    (column -> SQL expression; None: every column from the source)."""

    kind: str
    where: str | None = None
    values: tuple[tuple[str, str], ...] | None = None

    def describe(self) -> dict:
        return {"kind": self.kind, "where": self.where, "values": None if self.values is None else dict(self.values)}


@dataclass(frozen=True, slots=True)
class MergeResult:
    change: RowRewrite
    read_predicate: Expr
    updated: int
    deleted: int
    inserted: int


class _Plan:
    """The SQL of one merge, checked against both sides before any data file is read."""

    def __init__(self, session: SqlSession, state: TableState, source: pa.Schema,
                 on: str | Sequence[str], clauses: Sequence[Clause]) -> None:
        self.session, self.state, self.clauses = session, state, tuple(clauses)
        self.target = output_schema(state.schema.fields)
        self.source = source
        self.types = dict(zip(self.target.names, session.duck_types(self.target)))
        self.source_types = dict(zip(source.names, session.duck_types(source)))
        self.keys = _keys(on, self.target, source)
        if self.keys is not None:
            self.condition = " AND ".join(f"target.{quote(t)} = source.{quote(s)}" for t, s in self.keys)
        else:
            self._check(on, "on", ("target", "source"))
            self.condition = f"({on})"
        self.values = [self._clause_values(i, c) for i, c in enumerate(self.clauses)]
        self.has_matched = any(c.kind in MATCHED for c in self.clauses)
        self.by_source = any(c.kind in BY_SOURCE for c in self.clauses)
        self.join_fields = self._join_fields(on)

    def _join_fields(self, on: str | Sequence[str]) -> tuple[Field, ...] | None:
        """The target columns the join reads (keys, and those the conditions and update values
        name); None for all of them."""
        sqls = [on] if self.keys is None else []
        for c in self.clauses:
            if c.kind != "not_matched_insert":
                sqls += [c.where] if c.where else []
                sqls += [sql for _, sql in c.values or ()]
        names = referenced(sqls, "target", self.target.names)
        if names is None:
            return None
        names |= {t for t, _ in self.keys or ()}
        return tuple(f for f in self.state.schema.fields if f.name in names)

    def sets(self, name: str) -> list[int]:
        """The (1-based) update clauses that set column `name`."""
        return [i + 1 for i, (c, v) in enumerate(zip(self.clauses, self.values)) if c.kind in UPDATES and name in v]

    def _check(self, sql: str, what: str, sides: tuple[str, ...]) -> None:
        schemas = {"target": self.target, "source": self.source}
        self.session.check(sql, what, {s: schemas[s] for s in sides}, sides)

    def _clause_values(self, i: int, clause: Clause) -> dict[str, str]:
        """The clause's values as SQL cast to their column's type (empty for a delete)."""
        what = f"clause {i + 1} ({clause.kind})"
        sides = {"matched_update": ("target", "source"), "matched_delete": ("target", "source"),
                 "not_matched_insert": ("source",)}.get(clause.kind, ("target",))
        if clause.where is not None:
            self._check(clause.where, f"{what} where", sides)
        if clause.kind in DELETES:
            return {}
        if clause.values is None:  # every column from the source's column of that name
            names = {n.lower(): n for n in self.source.names}
            missing = [n for n in self.target.names if n.lower() not in names]
            if missing:
                raise ColumnNotFoundError(f"{what}: the source has no column {missing[0]!r}; name the "
                                          "values to use (set= / values=)")
            values = {n: f"source.{quote(names[n.lower()])}" for n in self.target.names}
        else:
            values = resolve_columns(self.state.schema, dict(clause.values), what)
            for name, sql in values.items():
                self._check(sql, f"{what} {name}", sides)
        return {n: f"CAST(({sql}) AS {self.types[n]})" for n, sql in values.items()}

    def case(self, kinds: tuple[str, ...], guard: str) -> str:
        """SQL for the number (1-based) of the first clause of `kinds` that fits a row, else 0."""
        whens = [f"WHEN {guard} AND ({c.where or 'TRUE'}) THEN {i + 1}"
                 for i, c in enumerate(self.clauses) if c.kind in kinds]
        return f"(CASE {' '.join(whens)} ELSE 0 END)" if whens else "0"

    def column(self, name: str, kinds: tuple[str, ...], otherwise: str) -> str | None:
        whens = [f"WHEN {i + 1} THEN {v[name]}" for i, (c, v) in enumerate(zip(self.clauses, self.values))
                 if c.kind in kinds and name in v]
        return f"CASE __lh_clause {' '.join(whens)} ELSE {otherwise} END" if whens else None

    def join_sql(self) -> tuple[str, list[str]]:
        """The join of one target file with the source, and the target columns it computes."""
        clause = (f"{self.case(MATCHED, 'source.__lh_srow IS NOT NULL')} + "
                  f"{self.case(BY_SOURCE, 'source.__lh_srow IS NULL')}")
        computed, select = [], []
        for i, name in enumerate(self.target.names):
            sql = self.column(name, UPDATES, "NULL")  # rows of clauses not setting it keep their value
            if sql is not None:
                computed.append(name)
                select.append(f"{sql} AS __lh_c{i}")
        kind = "LEFT" if self.by_source else "INNER"
        sql = (f"SELECT target.__lh_file AS __lh_file, target.__lh_pos AS __lh_pos, source.__lh_srow AS __lh_srow, "
               f"{clause} AS __lh_clause"
               f"{''.join(', ' + s for s in select)} FROM __lh_target AS target {kind} JOIN {self._source_rows()} "
               f"AS source ON {self.condition}")
        return sql, computed

    def _source_rows(self) -> str:
        """The source, less rows whose first key lies outside the file's key range (they cannot
        match it): the join then hashes a file's share of the source, not all of it. Only for a
        key both sides hold as the same non-float type (the pruning rule of `_prune`)."""
        if self.keys is None:
            return "__lh_source"
        t, s = self.keys[0]
        if self.types[t] != self.source_types[s] or self.types[t] in ("FLOAT", "DOUBLE"):
            return "__lh_source"
        bounds = f"(SELECT min({quote(t)}) FROM __lh_target) AND (SELECT max({quote(t)}) FROM __lh_target)"
        return f"(SELECT * FROM __lh_source WHERE {quote(s)} BETWEEN {bounds})"

    def insert_sql(self) -> str | None:
        if not any(c.kind == "not_matched_insert" for c in self.clauses):
            return None
        select = [f"{self.column(n, ('not_matched_insert',), 'NULL') or 'NULL'} AS __lh_c{i}"
                  for i, n in enumerate(self.target.names)]
        return (f"SELECT * EXCLUDE (__lh_clause) FROM (SELECT {self.case(('not_matched_insert',), 'TRUE')} "
                f"AS __lh_clause, {', '.join(select)} FROM __lh_source AS source ANTI JOIN __lh_matched AS m "
                f"ON source.__lh_srow = m.__lh_srow) WHERE __lh_clause <> 0")


def merge_rows(store: Store, state: TableState, reader: pa.RecordBatchReader, on: str | Sequence[str],
               clauses: Sequence[Clause], mode: str, write: WriteFn) -> MergeResult:
    """MERGE in `mode`. Copy-on-write: each target file where a clause updates or deletes rows
    is rewritten (rows keep their positions, deleted ones dropped). Merge-on-read: those rows'
    positions join the file's deletion vector and updated rows go to new files. Inserted rows
    go to new files in both modes."""
    with SqlSession(memory_limit=SOURCE_MEMORY_LIMIT) as session:
        _load_source(session, reader)
        plan = _Plan(session, state, reader.schema, on, clauses)
        predicate = None if plan.by_source else _prune(session, plan)
        index, adds = candidate_files(state, predicate)
        run = _Run(session, plan, store, state, mode)

        def written_as(batches: Iterator[pa.RecordBatch]) -> list[AddFile]:
            return write(conform_batches(pa.RecordBatchReader.from_batches(plan.target, batches), state.schema), state)

        if mode == MERGE_ON_READ:  # updated and inserted rows in files of their own: change references
            written = written_as(b for table in run.rows(index, adds) for b in table.to_batches())
            inserted = written_as(run.inserts())
            run.references.whole("update_postimage", written)
            run.references.whole("insert", inserted)
            written += inserted
        else:  # each rewritten file's rows to new file(s) of their own, encoded beside the next join
            try:
                with FileWrites(write, state) as rewrites:
                    for table in run.rows(index, adds):
                        rewrites.submit(list(conform_batches(pa.RecordBatchReader.from_batches(
                            plan.target, table.to_batches()), state.schema)))
                        run.checked()
                    written = [*rewrites.results(), *written_as(run.inserts())]
                cdc = run.changes.actions()
            finally:
                run.changes.abandon()
    read = frozenset(index["path"].to_pylist())
    if mode == MERGE_ON_READ:
        cdc = run.references.actions(store)
        removes, re_adds, gone, positions = run.vectors.finish(store)
        change = RowRewrite(removes, [*re_adds, *written], read, run.updated, removed_files=gone,
                            deletion_vectors=len(re_adds), new_positions=positions, cdc=cdc)
    else:
        change = RowRewrite(run.removes, written, read, run.updated, removed_files=len(run.removes),
                            cdc=cdc)
    return MergeResult(change, TRUE if predicate is None else predicate, run.updated, run.deleted, run.inserted)


class _Run:
    """The per-file joins and the inserts, streamed as the rows to write."""

    def __init__(self, session: SqlSession, plan: _Plan, store: Store, state: TableState, mode: str) -> None:
        self.session, self.plan, self.store, self.state, self.mode = session, plan, store, state, mode
        self.removes: list[RemoveFile] = []
        self.vectors = VectorChanges()
        self.updated = self.deleted = self.inserted = 0
        self.changes = ChangeBuffer(store, state, plan.target)
        self.references = ChangeReferences()
        self.kinds = {i + 1: c.kind for i, c in enumerate(plan.clauses)}
        self.postimages: pa.Table | None = None

    def rows(self, index: pa.Table, adds: list[AddFile]) -> Iterator[pa.Table]:
        """Per touched file: merge-on-read, its updated rows; copy-on-write, its rewrite (every
        surviving row in its position). Copy-on-write callers call `checked` once the rows passed
        the table's schema checks (a NULL in a required column), before asking for more."""
        sql, computed = self.plan.join_sql()
        group: list[tuple[FileRows, Callable[[], FileRows]]] = []
        for i, add in enumerate(adds):
            # The join reads the columns it needs, files grouped up to JOIN_GROUP_ROWS rows (one
            # DuckDB query per group, not per file); a file is then read whole only if a clause
            # changed a row of it and needs more: copy-on-write to rewrite it, merge-on-read when
            # an updated row keeps a column no clause sets (its post-image needs the old value).
            # Merge-on-read's change data are references to rows in place, never copies (spec §16).
            keys = read_file(self.store, self.state, index, i, add, self.plan.join_fields)
            group.append((keys, partial(read_file, self.store, self.state, index, i, add)
                          if self.plan.join_fields is not None else partial(lambda f: f, keys)))
            if sum(f.rows.num_rows for f, _ in group) < JOIN_GROUP_ROWS and i + 1 < len(adds):
                continue
            for (file, whole), joined in zip(group, self._join([f for f, _ in group], sql)):
                yield from self._file(file, joined, computed, whole)
            group = []

    def inserts(self) -> Iterator[pa.RecordBatch]:
        """The rows of the insert clauses (after every file is joined: they are the source rows
        no target row matched)."""
        insert = self.plan.insert_sql()
        if insert is None:
            return
        for batch in self.session.stream(insert, "merge insert"):
            self.inserted += batch.num_rows
            batch = self._shaped(batch)
            yield batch
            if self.mode != MERGE_ON_READ:  # once the writer has checked it (a NULL in a required column)
                self.changes.add(pa.Table.from_batches([batch]), "insert")

    def _join(self, files: list[FileRows], sql: str) -> list[pa.Table]:
        """The join of the files' live rows (each file's numbered 0.. as `__lh_pos`, the files
        numbered as `__lh_file`) with the source, split by file."""
        tables = []
        for k, file in enumerate(files):
            rows = file.rows
            if self.plan.join_fields is not None:  # DuckDB sees only the columns the join reads
                rows = rows.select([f.name for f in self.plan.join_fields])
            n = rows.num_rows
            tables.append(rows.append_column("__lh_pos", pa.array(np.arange(n)))
                          .append_column("__lh_file", pa.array(np.full(n, k, dtype=np.int32))))
        self.session.register("__lh_target", pa.concat_tables(tables))
        try:
            joined = self.session.query(sql, "merge").sort_by("__lh_file")
        finally:
            self.session.unregister("__lh_target")
        bounds = np.searchsorted(_numpy(joined["__lh_file"]), np.arange(len(files) + 1))
        per_file = [joined.slice(lo, hi - lo) for lo, hi in zip(bounds[:-1], bounds[1:])]
        for file, mine in zip(files, per_file):
            matched = mine.filter(pc.is_valid(mine["__lh_srow"]))
            if self.plan.has_matched and pc.count_distinct(matched["__lh_pos"]).as_py() < matched.num_rows:
                raise MergeCardinalityError(
                    f"a target row of {file.add.path} is matched by more than one source row; the merge has WHEN "
                    "MATCHED clauses, so which source row applies is undefined: make the source's keys unique")
        self.session.register("__lh_new_matches", joined.filter(pc.is_valid(joined["__lh_srow"])).select(["__lh_srow"]))
        self.session.run("INSERT INTO __lh_matched SELECT __lh_srow FROM __lh_new_matches")
        self.session.unregister("__lh_new_matches")
        return per_file

    def _file(self, file: FileRows, joined: pa.Table, computed: list[str],
              whole: Callable[[], FileRows]) -> Iterator[pa.Table]:
        clause = joined["__lh_clause"]
        deletes = joined.filter(pc.is_in(clause, pa.array(self._ids(DELETES), pa.int32())))["__lh_pos"]
        updates = joined.filter(pc.is_in(clause, pa.array(self._ids(UPDATES), pa.int32()))).sort_by("__lh_pos")
        if not len(deletes) and not updates.num_rows:
            return
        self.updated, self.deleted = self.updated + updates.num_rows, self.deleted + len(deletes)
        read: list[FileRows] = []

        def full() -> FileRows:  # the whole file, read at most once
            if not read:
                read.append(whole())
            return read[0]

        new = self._updated_rows(updates, computed, full)
        if self.mode == MERGE_ON_READ:  # change data by reference: no copy of the old rows
            gone, changed = _file_positions(file, deletes), _file_positions(file, updates["__lh_pos"])
            self.references.mark(file.add, "delete", gone)
            self.references.mark(file.add, "update_preimage", changed)
            self.vectors.mark(file, pa.array(np.concatenate([gone, changed])))
            yield new
            return
        rows = full().rows  # the change data needs the deleted rows and the pre-images whole
        self.changes.add(rows.take(deletes), "delete")
        self.changes.add(rows.take(updates["__lh_pos"]), "update_preimage")
        file = full()
        self.removes.append(removal(file.add))
        n = file.rows.num_rows
        kept = in_place(file.rows, _positions_mask(updates["__lh_pos"], n), new) if updates.num_rows else file.rows
        if len(deletes):  # a filter copies every row: only when some go
            kept = kept.filter(pc.invert(_positions_mask(deletes, n)))
        self.postimages = new  # change data once the rows have passed the checks (`checked`)
        yield kept

    def checked(self) -> None:
        """The last rewrite passed the schema checks: its post-images become change data."""
        if self.postimages is not None:
            self.changes.add(self.postimages, "update_postimage")
            self.postimages = None

    def _updated_rows(self, updates: pa.Table, computed: list[str], whole: Callable[[], FileRows]) -> pa.Table:
        """The new values of the updated rows, in position order: computed where their clause
        sets a column, else the row's own value (read from the whole file only if needed)."""
        if not updates.num_rows:
            return self.plan.target.empty_table()
        clause = updates["__lh_clause"]
        masks = {n: pc.is_in(clause, pa.array(self.plan.sets(n), pa.int32())) for n in computed}
        everywhere = all(n in computed and pc.all(masks[n]).as_py() for n in self.plan.target.names)
        old = None if everywhere else whole().rows.take(updates["__lh_pos"])
        columns = []
        for i, field in enumerate(self.plan.target):
            value = cast_array(updates[f"__lh_c{i}"].combine_chunks(), field) if field.name in computed else None
            if old is not None:
                mine = old.column(i).combine_chunks()
                value = mine if value is None else pc.if_else(masks[field.name], value, mine)
            columns.append(value)
        return pa.Table.from_arrays(columns, schema=self.plan.target)

    def _ids(self, kinds: tuple[str, ...]) -> list[int]:
        return [i for i, k in self.kinds.items() if k in kinds]

    def _shaped(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        columns = [cast_array(batch.column(i), f) for i, f in enumerate(self.plan.target)]
        return pa.RecordBatch.from_arrays(columns, schema=self.plan.target)


def _positions_mask(positions: pa.ChunkedArray | pa.Array, n: int) -> pa.Array:
    """A boolean array of `n` rows, true at `positions`."""
    mask = np.zeros(n, dtype=bool)
    if len(positions):
        mask[_numpy(positions)] = True
    return pa.array(mask)


def _file_positions(file: FileRows, live: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The file positions (what a deletion vector marks) of live rows numbered 0.. in `file`."""
    return _numpy(file.positions.take(pa.array(_numpy(live))))


def _numpy(positions: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(positions, pa.ChunkedArray):
        positions = positions.combine_chunks()
    return positions.cast(pa.int64()).to_numpy(zero_copy_only=False)


def _load_source(session: SqlSession, reader: pa.RecordBatchReader) -> None:
    """The source, numbered, as a DuckDB table (which spills past the memory limit)."""
    if any(n.startswith("__lh_") for n in reader.schema.names):
        raise InvalidArgumentError("source column names starting with '__lh_' are reserved")
    session.register("__lh_input", reader)
    session.run("CREATE TABLE __lh_source AS SELECT *, (row_number() OVER ()) - 1 AS __lh_srow FROM __lh_input")
    session.unregister("__lh_input")
    session.run("CREATE TABLE __lh_matched (__lh_srow BIGINT)")


def _keys(on: str | Sequence[str], target: pa.Schema, source: pa.Schema) -> list[tuple[str, str]] | None:
    """`on` as (target column, source column) pairs when it names columns; None for a condition."""
    names = [on] if isinstance(on, str) else list(on) if isinstance(on, (list, tuple)) else None
    if not names or not all(isinstance(n, str) for n in names):
        raise InvalidArgumentError(f"on must be a column name, a list of them, or a SQL condition, not {on!r}")
    pairs = [(_find(target, n), _find(source, n)) for n in names]
    if all(t is not None and s is not None for t, s in pairs):
        return pairs
    if isinstance(on, str):
        return None  # a SQL condition over source.x / target.x
    missing = next(n for n, (t, s) in zip(names, pairs) if t is None or s is None)
    raise ColumnNotFoundError(f"on: {missing!r} must be a column of both the table and the source")


def _find(schema: pa.Schema, name: str) -> str | None:
    found = [n for n in schema.names if n == name] or [n for n in schema.names if n.lower() == name.lower()]
    return found[0] if len(found) == 1 else None


def _prune(session: SqlSession, plan: _Plan) -> Expr | None:
    """`key IN (the source's keys)` when they are few, else `key BETWEEN min AND max`, for keys
    whose two sides DuckDB reads as the same type (so its `=` is the type's own; floats are
    left out, NaN being equal to NaN in DuckDB). A source with no non-NULL key matches nothing.
    None when nothing can be pruned."""
    if plan.keys is None:
        return None
    source_types = plan.source_types
    terms: list[Expr] = []
    for t, s in plan.keys:
        if plan.types[t] != source_types[s] or plan.types[t] in ("FLOAT", "DOUBLE"):
            continue
        low, high, distinct = session.con.sql(
            f"SELECT min({quote(s)}), max({quote(s)}), approx_count_distinct({quote(s)}) FROM __lh_source").fetchall()[0]
        if low is None:  # no source key is non-NULL: nothing matches (NULL never equals)
            return FALSE
        if distinct <= _IN_LIST_KEYS:
            values = session.con.sql(f"SELECT DISTINCT {quote(s)} FROM __lh_source WHERE {quote(s)} IS NOT NULL "
                                     f"LIMIT {_IN_LIST_KEYS * 2}").fetchall()
            if len(values) <= _IN_LIST_KEYS:
                terms.append(In(Ref((t,)), tuple(v for (v,) in values)))
                continue
        terms += [Compare(">=", Ref((t,)), low), Compare("<=", Ref((t,)), high)]
    if not terms:
        return None
    expr = terms[0]
    for term in terms[1:]:
        expr = And(expr, term)
    try:
        return bind(expr, plan.state.schema)
    except LakehouseError:  # a value the binder cannot take as a literal: read every file
        return None
