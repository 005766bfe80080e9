"""The MERGE builder `Table.merge(source, on=...)` returns: clauses are added in order (each
call returns a new builder; a builder is never changed), `execute()` runs and commits them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import InvalidArgumentError
from ..ops.merge import Clause
from .metrics import MergeMetrics
from .row_level import merge_table_rows

if TYPE_CHECKING:
    from .handle import Table


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeBuilder:
    """A MERGE of `source` into a table, matching rows by `on`. Clauses run in the order they
    were added and the first whose kind and `where` fit a row wins (SQL MERGE's rule). In SQL
    (`where`, `set`, `values`, a condition `on`) `source.x` and `target.x` name the two sides;
    an unqualified name is allowed where only one side has it.

    >>> import lakehouse, pyarrow as pa
    >>> t = lakehouse.create_table("memory://docs/merge-builder", schema={"id": "int64", "v": "string"})
    >>> _ = t.append({"id": [1, 2], "v": ["a", "b"]})
    >>> source = pa.table({"id": [2, 3], "v": ["B", "C"]})
    >>> m = t.merge(source, on="id").when_matched_update().when_not_matched_insert().execute()
    >>> m.num_updated_rows, m.num_inserted_rows
    (1, 1)
    >>> sorted(t.to_arrow().to_pylist(), key=lambda r: r["id"])
    [{'id': 1, 'v': 'a'}, {'id': 2, 'v': 'B'}, {'id': 3, 'v': 'C'}]
    """

    table: "Table"
    source: Any
    on: str | Sequence[str]
    mode: str | None = None
    clauses: tuple[Clause, ...] = ()

    def _with(self, clause: Clause) -> "MergeBuilder":
        # As in SQL: a clause after an unconditional one of its group could never run.
        for earlier in self.clauses:
            if earlier.where is None and _group(earlier) == _group(clause):
                raise InvalidArgumentError(
                    f"a {clause.kind} clause after an unconditional {earlier.kind} clause could never run: "
                    "only the last clause of its kind may omit where=")
        return replace(self, clauses=(*self.clauses, clause))

    def when_matched_update(self, set: Mapping[str, str] | None = None, where: str | None = None) -> "MergeBuilder":
        """Update target rows matched by a source row: `set` maps columns to SQL expressions;
        None sets every column of the table to the source's column of that name.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/merge-mu", schema={"id": "int64", "n": "int64"})
        >>> _ = t.append({"id": [1, 2], "n": [10, 20]})
        >>> src = pa.table({"id": [2], "n": [5]})
        >>> t.merge(src, on="id").when_matched_update(set={"n": "target.n + source.n"}).execute().num_updated_rows
        1
        >>> t.to_arrow()["n"].to_pylist()
        [10, 25]
        """
        return self._with(Clause(kind="matched_update", where=where, values=_values(set, "set")))

    def when_matched_delete(self, where: str | None = None) -> "MergeBuilder":
        """Delete target rows matched by a source row (only where `where` holds, if given).

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/merge-md", schema={"id": "int64"})
        >>> _ = t.append({"id": [1, 2, 3]})
        >>> src = pa.table({"id": [2, 3], "op": ["D", "U"]})
        >>> t.merge(src, on="id").when_matched_delete(where="source.op = 'D'").execute().num_deleted_rows
        1
        >>> t.to_arrow()["id"].to_pylist()
        [1, 3]
        """
        return self._with(Clause(kind="matched_delete", where=where))

    def when_not_matched_insert(self, values: Mapping[str, str] | None = None,
                                where: str | None = None) -> "MergeBuilder":
        """Insert source rows that match no target row: `values` maps columns to SQL expressions
        over the source (columns left out are NULL); None takes every column from the source.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/merge-ni", schema={"id": "int64", "v": "string"})
        >>> src = pa.table({"id": [7], "v": ["x"]})
        >>> values = {"id": "source.id", "v": "upper(source.v)"}
        >>> t.merge(src, on="id").when_not_matched_insert(values=values).execute().num_inserted_rows
        1
        >>> t.to_arrow().to_pylist()
        [{'id': 7, 'v': 'X'}]
        """
        return self._with(Clause(kind="not_matched_insert", where=where, values=_values(values, "values")))

    def when_not_matched_by_source_update(self, set: Mapping[str, str], where: str | None = None) -> "MergeBuilder":
        """Update target rows no source row matches (`set` over the target's columns). Every
        live file is read: any row may be unmatched.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/merge-bsu", schema={"id": "int64", "active": "bool"})
        >>> _ = t.append({"id": [1, 2], "active": [True, True]})
        >>> src = pa.table({"id": [1]})
        >>> _ = t.merge(src, on="id").when_not_matched_by_source_update(set={"active": "false"}).execute()
        >>> t.to_arrow()["active"].to_pylist()
        [True, False]
        """
        if set is None:
            raise InvalidArgumentError("when_not_matched_by_source_update needs set={column: SQL expression}")
        return self._with(Clause(kind="by_source_update", where=where, values=_values(set, "set")))

    def when_not_matched_by_source_delete(self, where: str | None = None) -> "MergeBuilder":
        """Delete target rows no source row matches (a full sync). Every live file is read.

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/merge-bsd", schema={"id": "int64"})
        >>> _ = t.append({"id": [1, 2, 3]})
        >>> t.merge(pa.table({"id": [2]}), on="id").when_not_matched_by_source_delete().execute().num_deleted_rows
        2
        """
        return self._with(Clause(kind="by_source_delete", where=where))

    def execute(self) -> MergeMetrics:
        """Run the clauses and commit the result as one version (none if nothing changed);
        returns the metrics (rows inserted, updated, deleted; files added, removed; DVs written).

        >>> import lakehouse, pyarrow as pa
        >>> t = lakehouse.create_table("memory://docs/merge-exec", schema={"id": "int64"})
        >>> m = t.merge(pa.table({"id": [1]}), on="id").when_not_matched_insert().execute()
        >>> m.version, m.num_inserted_rows
        (1, 1)
        """
        if not self.clauses:
            raise InvalidArgumentError("a merge needs at least one when_... clause")
        return merge_table_rows(self)


def _group(clause: Clause) -> str:
    return clause.kind.split("_")[0] if not clause.kind.startswith("by_source") else "by_source"


def _values(values: Mapping[str, str] | None, what: str) -> tuple[tuple[str, str], ...] | None:
    if values is None:
        return None
    if not isinstance(values, Mapping) or not values:
        raise InvalidArgumentError(f"{what} must be None or a non-empty dict of column -> SQL expression")
    return tuple(values.items())
