"""Skip data files by their column statistics.

`stats_may_match` answers, for every row of the file index at once, "may this file hold a row
the predicate keeps?". False is a promise (no row matches); True only means "read it". Unknown
statistics (a null min, max or count, or a column with no stats child) always answer True.

Statistics (stats.py): min/max of non-null, non-NaN values; strings and binary may be
truncated, so min is a lower bound and max an upper bound (or null), never exact values.
Everything below therefore only compares the literal with bounds, never assumes it is one.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..types import FLOAT_TYPES
from .binder import rewrite_not
from .tree import (
    NEGATED, AlwaysFalse, AlwaysTrue, And, BoundRef, Compare, Expr, In, IsNull, Like, Not, Or, StartsWith,
)

__all__ = ["stats_may_match"]

_IN_LIST_LIMIT = 32  # longer IN lists are checked against their overall [min, max] only


def stats_may_match(expr: Expr, files: pa.Table) -> pa.BooleanArray:
    """For each file (row of `files`): False only if no row of it can satisfy `expr`."""
    result = _visit(rewrite_not(expr), _Files(files))
    if isinstance(result, bool):
        return pa.repeat(result, files.num_rows)
    return result


class _Files:
    """Per-field statistic arrays of the file index, extracted once each."""

    def __init__(self, files: pa.Table) -> None:
        self.n = files.num_rows
        self.records = files.column("record_count").combine_chunks() if "record_count" in files.column_names else None
        stats = files.column("stats").combine_chunks() if "stats" in files.column_names else None
        self.stats = stats
        self.cache: dict[int, _Column | None] = {}

    def column(self, ref: BoundRef) -> "_Column | None":
        if ref.field_id not in self.cache:
            self.cache[ref.field_id] = self._column(ref)
        return self.cache[ref.field_id]

    def _column(self, ref: BoundRef) -> "_Column | None":
        name = str(ref.field_id)
        if self.stats is None or self.stats.type.get_field_index(name) < 0:
            return None
        child = pc.struct_field(self.stats, [name])  # a null child struct makes every part null
        parts = {f.name: pc.struct_field(child, [f.name]) for f in child.type}
        return _Column(parts.get("min"), parts.get("max"), parts.get("null_count"), parts.get("nan_count"),
                       self.records, ref.type in FLOAT_TYPES, self.n)


class _Column:
    def __init__(self, lo, hi, nulls, nans, records, is_float: bool, n: int) -> None:
        self.min, self.max, self.is_float = lo, hi, is_float
        # A file whose null_count equals its record_count has no value at all.
        known = nulls is not None and records is not None
        self.has_value = _unknown_true(pc.less(nulls, records)) if known else True
        # Rows that are neither null nor NaN: the only ones an ordering or `=` can match.
        if not is_float:
            self.has_ordinary = self.has_value
            self.may_nan = False
        elif nans is None or nulls is None or records is None:
            self.has_ordinary, self.may_nan = self.has_value, True
        else:
            ordinary = pc.less(pc.add(nulls, nans), records)
            self.has_ordinary = _and(self.has_value, _unknown_true(ordinary))
            self.may_nan = _unknown_true(pc.greater(nans, 0))
        self.nulls, self.records, self.n = nulls, records, n


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

def _visit(expr: Expr, files: _Files) -> pa.Array | bool:
    if isinstance(expr, And):
        return _and(_visit(expr.left, files), _visit(expr.right, files))
    if isinstance(expr, Or):
        return _or(_visit(expr.left, files), _visit(expr.right, files))
    if isinstance(expr, AlwaysTrue):
        return True
    if isinstance(expr, AlwaysFalse):
        return False
    if isinstance(expr, Not):  # rewrite_not leaves NOT only over float orderings
        child = expr.child
        if not isinstance(child, Compare) or not isinstance(child.term, BoundRef):
            return True
        col = files.column(child.term)
        if col is None:
            return True
        # NOT (x < v) holds for NaN rows, and wherever x >= v (x < NaN is never true: all rows match).
        if child.value.is_valid and child.value.as_py() != child.value.as_py():
            return col.has_value
        return _or(col.may_nan, _compare(col, NEGATED[child.op], child.value))
    term = getattr(expr, "term", None)
    if not isinstance(term, BoundRef):
        return True
    col = files.column(term)
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


def _compare(col: _Column, op: str, value) -> pa.Array | bool:
    if op == "=":
        return _and(col.has_ordinary, _and(_bound(col.min, "less_equal", value), _bound(col.max, "greater_equal", value)))
    if op == "!=":
        # Only a file whose every ordinary value equals v fails, and NaN != v always holds.
        return _or(_and(col.has_ordinary, _not(_all_equal(col, value))), col.may_nan)
    if op in ("<", "<="):
        return _and(col.has_ordinary, _bound(col.min, "less" if op == "<" else "less_equal", value))
    return _and(col.has_ordinary, _bound(col.max, "greater" if op == ">" else "greater_equal", value))


def _all_equal(col: _Column, value) -> pa.Array | bool:
    if col.min is None or col.max is None:
        return False
    return _known_false(pc.and_(pc.equal(col.min, value), pc.equal(col.max, value)))


def _in(col: _Column, expr: In) -> pa.Array | bool:
    values = pa.array(list(expr.values), type=expr.values[0].type)
    if expr.negated:
        if col.min is None or col.max is None:
            single = False
        else:  # every ordinary value is the same listed value
            single = _known_false(pc.and_(pc.equal(col.min, col.max), pc.is_in(col.min, value_set=values)))
        return _or(_and(col.has_ordinary, _not(single)), col.may_nan)
    if len(expr.values) > _IN_LIST_LIMIT:
        lo_hi = pc.min_max(values)
        return _and(col.has_ordinary, _and(_bound(col.min, "less_equal", lo_hi["max"]),
                                           _bound(col.max, "greater_equal", lo_hi["min"])))
    hit: pa.Array | bool = False
    for v in expr.values:
        hit = _or(hit, _and(_bound(col.min, "less_equal", v), _bound(col.max, "greater_equal", v)))
    return _and(col.has_ordinary, hit)


def _starts_with(col: _Column, expr: StartsWith) -> pa.Array | bool:
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
