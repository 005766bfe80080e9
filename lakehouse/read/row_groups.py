"""Skip Parquet row groups by their statistics, with the rules that skip files.

pyarrow skips row groups itself when it evaluates a pushed-down filter, but it trusts float
bounds, which leave NaN out (a row group of NaN and 1.0 says max 1.0, yet NaN > 5 holds here:
spec/format.md, "SQL semantics"). Reads that cannot push their filter down (filters over
floats, very large predicates, files written under an older schema, files with deletion
vectors) prune here instead: each row group's statistics are laid out as the file index's
`stats` column and judged by `stats_may_match` (expressions/pruning.py), the function that
skips files. Parquet statistics hold no NaN count, so a float row group always counts as one
that may hold NaN; a bound that is NaN (some writers' bug) or does not convert is unknown.
Unknown statistics never skip a row group.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..expressions.pruning import stats_may_match
from ..expressions.tree import And, BoundRef, Expr, Not, Or
from ..format.types import FLOAT_TYPES, Type, to_arrow_type

_FOOTER_READERS = 8  # footers fetched at once (latency-bound on object stores)
_FIELD_ID = b"PARQUET:field_id"


def matching_row_groups(fragments: Sequence[ds.ParquetFileFragment], expr: Expr,
                        nan_free: Sequence[frozenset[int]] | None = None) -> list[list[int]]:
    """For each fragment (a whole file), the ids of its row groups that may hold a row matching
    the bound `expr`, in file order (never leaving out one that holds such a row).

    `nan_free`: for each fragment, the float field ids its file's statistics in the log prove
    NaN-free (`nan_count` 0, spec section 10): Parquet statistics hold no NaN count, so
    otherwise a float row group may hold NaN, which `x > v` keeps whatever the bounds.

    >>> import pyarrow as pa, pyarrow.dataset as ds, pyarrow.parquet as pq
    >>> from lakehouse.expressions.binder import bind
    >>> from lakehouse.expressions.parser import parse
    >>> from lakehouse.format.schema import Schema
    >>> schema = Schema.from_arrow(pa.schema([("x", pa.float64())]))
    >>> sink = pa.BufferOutputStream()
    >>> pq.write_table(pa.table({"x": [1.0, 2.0, 8.0, 9.0]}, schema=schema.to_arrow()), sink, row_group_size=2)
    >>> fragment = ds.ParquetFileFormat().make_fragment(sink.getvalue())
    >>> matching_row_groups([fragment], bind(parse("x < 3"), schema))
    [[0]]
    >>> matching_row_groups([fragment], bind(parse("x > 3"), schema)), matching_row_groups(
    ...     [fragment], bind(parse("x > 3"), schema), nan_free=[frozenset({1})])
    ([[0, 1]], [[1]])
    """
    refs = _bound_refs(expr)
    footers = _footers(fragments)
    counts = [md.num_row_groups for md in footers]
    table = pa.table({"record_count": pa.array([md.row_group(r).num_rows for md in footers
                                                for r in range(md.num_row_groups)], pa.int64()),
                      "stats": _stats(footers, refs, nan_free or [frozenset()] * len(footers))})
    keep = stats_may_match(expr, table).to_numpy(zero_copy_only=False)
    bounds = np.cumsum([0, *counts])
    return [np.flatnonzero(keep[lo:hi]).tolist() for lo, hi in zip(bounds[:-1], bounds[1:])]


def _bound_refs(expr: Expr) -> dict[int, Type]:
    """The type of each field id `expr` reads."""
    out, stack = {}, [expr]
    while stack:  # iteratively: an OR chain can be thousands deep
        e = stack.pop()
        if isinstance(e, (And, Or)):
            stack += [e.left, e.right]
        elif isinstance(e, Not):
            stack.append(e.child)
        elif isinstance(getattr(e, "term", None), BoundRef):
            out[e.term.field_id] = e.term.type
    return out


def _footers(fragments: Sequence[ds.ParquetFileFragment]) -> list[pq.FileMetaData]:
    if len(fragments) <= 1:
        return [f.metadata for f in fragments]
    with ThreadPoolExecutor(max_workers=min(_FOOTER_READERS, len(fragments))) as pool:
        return list(pool.map(lambda f: f.metadata, fragments))


def _stats(footers: list[pq.FileMetaData], refs: dict[int, Type], nan_free: Sequence[frozenset[int]]
           ) -> pa.StructArray:
    """One row per row group of `footers` (in order), one child per field id of `refs`
    ({min, max, null_count, nan_count}, typed as the current column), as the file index's
    `stats`; nan_count is 0 in a file `nan_free` says holds no NaN there, else unknown."""
    columns = [_leaf_columns(md.schema.to_arrow_schema()) for md in footers]
    children, fields = [], []
    n = sum(md.num_row_groups for md in footers)
    for field_id, t in refs.items():
        mins, maxs, nulls, nans, file_type = [], [], [], [], None
        for md, leaves, no_nan in zip(footers, columns, nan_free):
            column, leaf_type = leaves.get(field_id, (None, None))
            file_type = leaf_type if file_type is None else file_type
            nans += [0 if field_id in no_nan else None] * md.num_row_groups
            for r in range(md.num_row_groups):
                lo, hi, count = _row_group_stats(md.row_group(r), column)
                mins.append(lo), maxs.append(hi), nulls.append(count)
        at = to_arrow_type(t)
        lo, hi = _typed(mins, file_type, at), _typed(maxs, file_type, at)
        if lo is None or hi is None:
            continue  # no child: unknown statistics, every row group may match
        children.append(pa.StructArray.from_arrays([lo, hi, pa.array(nulls, pa.int64()), pa.array(nans, pa.int64())],
                                                   names=["min", "max", "null_count", "nan_count"]))
        fields.append(pa.field(str(field_id), children[-1].type))
    if not fields:
        return pa.array([{}] * n, pa.struct([]))
    return pa.StructArray.from_arrays(children, fields=fields)


def _leaf_columns(schema: pa.Schema) -> dict[int, tuple[int, pa.DataType]]:
    """Field id -> (Parquet column index, Arrow type) of the primitive columns reached through
    structs only (those inside lists and maps have no per-value statistics to use)."""
    out: dict[int, tuple[int, pa.DataType]] = {}
    for index, field, plain in _leaves(list(schema), True):
        field_id = (field.metadata or {}).get(_FIELD_ID)
        if plain and field_id is not None:
            out[int(field_id)] = (index, field.type)
    return out


def _leaves(fields: list[pa.Field], plain: bool, start: int = 0) -> Iterator[tuple[int, pa.Field, bool]]:
    """(column index, field, reached through structs only) of each Parquet leaf column, in
    the order Parquet stores them (depth first)."""
    index = start
    for f in fields:
        t = f.type
        if pa.types.is_struct(t):
            children = list(t)
        elif pa.types.is_map(t):
            children = [t.key_field, t.item_field]
        elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            children = [t.value_field]
        else:
            yield index, f, plain
            index += 1
            continue
        inner = list(_leaves(children, plain and pa.types.is_struct(t), index))
        yield from inner
        index += len(inner)


def _row_group_stats(row_group: pq.RowGroupMetaData, column: int | None) -> tuple:
    """(min, max, null_count) of one column chunk, None where unknown."""
    if column is None:
        return None, None, None
    try:
        st = row_group.column(column).statistics
        if st is None:
            return None, None, None
        count = st.null_count if st.has_null_count else None
        return (st.min, st.max, count) if st.has_min_max else (None, None, count)
    except (ValueError, TypeError, OverflowError, pa.ArrowException):  # a bound pyarrow cannot decode
        return None, None, None


def _typed(values: list, file_type: pa.DataType | None, at: pa.DataType) -> pa.Array | None:
    """Bounds as an array of the current type `at`, NaN as unknown; None if they do not convert."""
    try:
        arr = pa.array(values, file_type) if file_type is not None else pa.nulls(len(values), at)
        arr = arr.cast(at)
    except (ValueError, TypeError, OverflowError, pa.ArrowException):
        return None
    if pa.types.is_floating(at):
        arr = pc.if_else(pc.is_nan(arr), pa.scalar(None, at), arr)
    return arr


def nan_free_files(files: pa.Table, expr: Expr) -> dict[str, frozenset[int]]:
    """Path -> the float field ids `expr` reads that the file's statistics in the log prove
    NaN-free (`nan_count` 0); files with none are left out.

    >>> import pyarrow as pa
    >>> stats = pa.array([{"1": {"nan_count": 0}}, {"1": {"nan_count": 2}}])
    >>> from lakehouse.expressions.tree import BoundRef, Compare
    >>> from lakehouse.format.types import FLOAT64
    >>> x_above_1 = Compare(">", BoundRef(1, ("x",), FLOAT64), 1.0)
    >>> nan_free_files(pa.table({"path": ["a", "b"], "stats": stats}), x_above_1)
    {'a': frozenset({1})}
    """
    floats = [i for i, t in _bound_refs(expr).items() if t in FLOAT_TYPES]
    if not floats or "stats" not in files.column_names or files.num_rows == 0:
        return {}
    stats = files["stats"].combine_chunks()
    free: dict[str, set[int]] = {}
    paths = files["path"].to_pylist()
    for field_id in floats:
        if stats.type.get_field_index(str(field_id)) < 0:
            continue
        child = pc.struct_field(stats, [str(field_id)])
        if child.type.get_field_index("nan_count") < 0:
            continue
        zero = pc.fill_null(pc.equal(pc.struct_field(child, ["nan_count"]), 0), False)
        for i in np.flatnonzero(zero.to_numpy(zero_copy_only=False)):
            free.setdefault(paths[i], set()).add(field_id)
    return {path: frozenset(ids) for path, ids in free.items()}
