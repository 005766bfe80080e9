"""Skip data files by their column statistics.

`stats_may_match` answers, for every row of the file index at once, "may this file hold a row
the predicate keeps?". False is a promise (no row matches); True only means "read it". Unknown
statistics (a null min, max or count, or a column with no stats child) always answer True.

Statistics (stats.py): min/max of non-null, non-NaN values; strings and binary may be
truncated, so min is a lower bound and max an upper bound (or null), never exact values.
Everything below therefore only compares the literal with bounds, never assumes it is one.

NaN follows DuckDB's order (spec/format.md, "SQL semantics"): it sits above every number and
equals itself, and the bounds leave it out, so a file that may hold NaN (nan_count > 0 or
unknown) may match `x > v`, `x >= v`, `x != v`, `x NOT IN (...)` without NaN, `x = 'NaN'`
and `x IN (..., 'NaN')`, whatever its bounds say; `x < v` and `x = v` ignore NaN rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .binder import rewrite_not
from .tree import (
    AlwaysFalse, AlwaysTrue, And, BoundRef, Compare, Expr, In, IsNull, Like, Not, Or, StartsWith,
    referenced_fields,
)

__all__ = ["stats_may_match"]

_IN_LIST_LIMIT = 32  # longer IN lists are checked against their overall [min, max] only


def stats_may_match(expr: Expr, files: pa.Table) -> pa.BooleanArray:
    """For each file (row of `files`): False only if no row of it can satisfy `expr`."""
    expr = rewrite_not(expr)
    names = files.column_names
    stats = files.column("stats").combine_chunks() if "stats" in names else None
    records = files.column("record_count").combine_chunks() if "record_count" in names else None
    columns = {fid: _column_stats(stats, records, fid) for fid in referenced_fields(expr)}
    result = _visit(expr, columns)
    if isinstance(result, bool):
        return pa.repeat(result, files.num_rows)
    return result


@dataclass(frozen=True, slots=True)
class _Stats:
    """One column's statistics over all files. Masks are arrays, or a bool that holds for every file."""

    min: pa.Array | None
    max: pa.Array | None
    nulls: pa.Array | None
    has_value: pa.Array | bool  # some row is not null
    has_ordinary: pa.Array | bool  # some row is neither null nor NaN: the only rows =, <, > can match
    may_nan: pa.Array | bool  # some row may be NaN (which satisfies != and NOT IN)


def _column_stats(stats: pa.StructArray | None, records: pa.Array | None, field_id: int) -> _Stats | None:
    name = str(field_id)
    if stats is None or stats.type.get_field_index(name) < 0:
        return None
    child = pc.struct_field(stats, [name])  # a null child struct nulls every part
    part = {f.name: pc.struct_field(child, [f.name]) for f in child.type}
    lo, hi, nulls, nans = (part.get(k) for k in ("min", "max", "null_count", "nan_count"))
    # A file whose null_count equals its record_count has no value at all.
    has_value = True if nulls is None or records is None else _unknown_true(pc.less(nulls, records))
    if lo is None or not pa.types.is_floating(lo.type):
        return _Stats(lo, hi, nulls, has_value, has_value, False)
    if nans is None or nulls is None or records is None:
        return _Stats(lo, hi, nulls, has_value, has_value, True)
    ordinary = _and(has_value, _unknown_true(pc.less(pc.add(nulls, nans), records)))
    return _Stats(lo, hi, nulls, has_value, ordinary, _unknown_true(pc.greater(nans, 0)))


def _unknown_true(mask) -> pa.Array | bool:
    return pc.fill_null(mask, True)


def _known_false(mask) -> pa.Array | bool:
    return pc.fill_null(mask, False)


def _and(a, b):
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    return pc.and_(a, b)


def _or(a, b):
    if a is True or b is True:
        return True
    if a is False:
        return b
    if b is False:
        return a
    return pc.or_(a, b)


def _not(a):
    return (not a) if isinstance(a, bool) else pc.invert(a)


def _bound(arr, kernel: str, value) -> pa.Array | bool:
    """`arr kernel value`, True where the bound is unknown."""
    if arr is None:
        return True
    return _unknown_true(getattr(pc, kernel)(arr, value))


# ---------------------------------------------------------------- visitor

def _visit(expr: Expr, columns: dict[int, _Stats | None]) -> pa.Array | bool:
    if isinstance(expr, And):
        return _and(_visit(expr.left, columns), _visit(expr.right, columns))
    if isinstance(expr, Or):
        return _or(_visit(expr.left, columns), _visit(expr.right, columns))
    if isinstance(expr, AlwaysTrue):
        return True
    if isinstance(expr, AlwaysFalse):
        return False
    if isinstance(expr, Not):  # rewrite_not leaves none
        return True
    term = getattr(expr, "term", None)
    if not isinstance(term, BoundRef):
        return True
    col = columns.get(term.field_id)
    if col is None:
        return True
    if isinstance(expr, Compare):
        return _compare(col, expr.op, expr.value)
    if isinstance(expr, In):
        return _in(col, expr)
    if isinstance(expr, IsNull):
        if col.nulls is None:
            return True
        if expr.negated:
            return col.has_value
        return _unknown_true(pc.greater(col.nulls, 0))
    if isinstance(expr, StartsWith):
        return _starts_with(col, expr)
    if isinstance(expr, Like):
        return col.has_value
    return True


def _is_nan(value) -> bool:
    v = value.as_py() if isinstance(value, pa.Scalar) else value
    return isinstance(v, float) and math.isnan(v)


def _compare(col: _Stats, op: str, value) -> pa.Array | bool:
    if _is_nan(value):  # NaN is the largest value: `x >= NaN` is `x = NaN`, `x < NaN` is `x != NaN`
        return {"=": col.may_nan, ">=": col.may_nan, "!=": col.has_ordinary, "<": col.has_ordinary,
                "<=": col.has_value, ">": False}[op]
    if op == "=":
        in_range = _and(_bound(col.min, "less_equal", value), _bound(col.max, "greater_equal", value))
        return _and(col.has_ordinary, in_range)
    if op == "!=":
        # Only a file whose every ordinary value equals v fails, and NaN != v always holds.
        return _or(_and(col.has_ordinary, _not(_all_equal(col, value))), col.may_nan)
    if op in ("<", "<="):
        return _and(col.has_ordinary, _bound(col.min, "less" if op == "<" else "less_equal", value))
    return _or(_and(col.has_ordinary, _bound(col.max, "greater" if op == ">" else "greater_equal", value)),
               col.may_nan)


def _all_equal(col: _Stats, value) -> pa.Array | bool:
    if col.min is None or col.max is None:
        return False
    return _known_false(pc.and_(pc.equal(col.min, value), pc.equal(col.max, value)))


def _in(col: _Stats, expr: In) -> pa.Array | bool:
    with_nan = any(_is_nan(v) for v in expr.values)
    ordinary = [v for v in expr.values if not _is_nan(v)]
    values = pa.array(ordinary, type=expr.values[0].type)
    if expr.negated:
        if col.min is None or col.max is None or not ordinary:
            single = False
        else:  # every ordinary value is the same listed value
            single = _known_false(pc.and_(pc.equal(col.min, col.max), pc.is_in(col.min, value_set=values)))
        return _or(_and(col.has_ordinary, _not(single)), False if with_nan else col.may_nan)
    hit: pa.Array | bool = False
    if len(ordinary) > _IN_LIST_LIMIT:
        lo_hi = pc.min_max(values)
        hit = _and(_bound(col.min, "less_equal", lo_hi["max"]), _bound(col.max, "greater_equal", lo_hi["min"]))
    else:
        for v in ordinary:
            hit = _or(hit, _and(_bound(col.min, "less_equal", v), _bound(col.max, "greater_equal", v)))
    return _or(_and(col.has_ordinary, hit), col.may_nan if with_nan else False)


def _starts_with(col: _Stats, expr: StartsWith) -> pa.Array | bool:
    p = expr.prefix
    if expr.negated:
        # Fails only if min and max both start with p: strings with prefix p form an interval.
        if col.min is None or col.max is None:
            return col.has_value
        both = _known_false(pc.and_(pc.starts_with(col.min, pattern=p), pc.starts_with(col.max, pattern=p)))
        return _and(col.has_value, _not(both))
    # A value s with prefix p has min <= s <= max, so min[:len(p)] <= p <= max[:len(p)].
    n = len(p)
    lo = True if col.min is None else _unknown_true(pc.less_equal(pc.utf8_slice_codeunits(col.min, 0, n), p))
    hi = True if col.max is None else _unknown_true(pc.greater_equal(pc.utf8_slice_codeunits(col.max, 0, n), p))
    return _and(col.has_value, _and(lo, hi))
