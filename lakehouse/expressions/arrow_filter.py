"""Bound expressions as pyarrow filters.

`to_arrow_filter` builds a `pc.Expression` for Table.filter / dataset scans: TRUE exactly where
SQL's WHERE would keep the row (NULL and FALSE are both "dropped", so it may say FALSE where SQL
says NULL). `evaluate` computes the full three-valued result (NULL where SQL gives NULL) with
compute kernels on a table's columns.

Floats follow DuckDB (spec/format.md, "SQL semantics"): NaN equals NaN and is greater than every
other value, +inf included; -0.0 equals 0.0. pyarrow's kernels follow IEEE, which agrees with
that for `=`, `!=`, `<` and `<=` against a number, so only these are rewritten: `x > v` is
`NOT (x <= v)` and `x >= v` is `NOT (x < v)` (one extra bit-wise pass, NULL stays NULL), and a
comparison with NaN becomes an `is_nan` test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidExpressionError
from ..format.columns import column_at
from ..format.types import to_arrow_type
from .binder import rewrite_not
from .tree import (
    AlwaysFalse, AlwaysNull, AlwaysTrue, And, BoundRef, Compare, Expr, In, IsNull, Like, Not, Or, StartsWith, balanced,
    scalar_value,
)

__all__ = ["RowFilter", "evaluate", "to_arrow_filter"]

# pyarrow's expression engine is superlinear in an expression's size (a 2,000-term OR took
# seconds on a few thousand rows); beyond this many leaves rows are filtered with `evaluate`.
PUSH_DOWN_LEAVES = 256

_KERNELS = {"=": "equal", "!=": "not_equal", "<": "less", "<=": "less_equal", ">": "greater", ">=": "greater_equal"}
# `x op NaN` for a float x: NaN is the largest value and equals itself.
_WITH_NAN = {
    "=": pc.is_nan, ">=": pc.is_nan,
    "!=": lambda x: pc.invert(pc.is_nan(x)), "<": lambda x: pc.invert(pc.is_nan(x)),
    "<=": lambda x: pc.or_kleene(pc.is_nan(x), pc.invert(pc.is_nan(x))),  # TRUE, NULL on NULL
    ">": lambda x: pc.and_kleene(pc.is_nan(x), pc.invert(pc.is_nan(x))),  # FALSE, NULL on NULL
}


@dataclass(frozen=True, slots=True)
class RowFilter:
    """The rows a read keeps: those where the bound `expr` is TRUE or, with `negate`, those where
    it is not (FALSE or NULL). Small filters go to pyarrow as an expression (pushed into the
    scan); large ones are computed over the read columns by `mask`, in time linear in their size."""

    expr: Expr
    negate: bool = False
    pushable: bool = True

    @classmethod
    def of(cls, expr: Expr, *, negate: bool = False) -> "RowFilter":
        expr = _equalities_as_in(rewrite_not(expr))
        return cls(expr, negate, _leaves(expr) <= PUSH_DOWN_LEAVES)

    def expression(self) -> pc.Expression:
        keep = _filter(self.expr)
        return pc.invert(pc.coalesce(keep, pa.scalar(False))) if self.negate else keep

    def mask(self, table: pa.Table) -> pa.ChunkedArray | pa.Array:
        keep = pc.fill_null(evaluate(self.expr, table), False)
        return pc.invert(keep) if self.negate else keep


def _equalities_as_in(expr: Expr) -> Expr:
    """`x = 1 OR x = 2 OR ...` as `x IN (1, 2, ...)`: one hash lookup per row instead of a kernel
    per term. Exact under three-valued logic (a NULL x is NULL either way), floats included:
    `_value_set` matches every NaN and both zeros, as `=` does here."""
    if not isinstance(expr, Or):
        return expr
    terms, stack, groups = [], [expr], {}
    while stack:  # the OR chain's operands, iteratively: a chain can be thousands deep
        e = stack.pop()
        if isinstance(e, Or):
            stack += (e.right, e.left)
        elif isinstance(e, Compare) and e.op == "=" and isinstance(e.term, BoundRef):
            groups.setdefault(e.term, []).append(e.value)
        else:
            terms.append(e)
    merged = [In(term, tuple(values)) if len(values) > 1 else Compare("=", term, values[0])
              for term, values in groups.items()]
    return balanced(Or, [*merged, *terms])


def _leaves(expr: Expr) -> int:
    count, stack = 0, [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, (And, Or)):
            stack += (e.left, e.right)
        elif isinstance(e, Not):
            stack.append(e.child)
        else:
            count += 1
    return count


def to_arrow_filter(expr: Expr) -> pc.Expression:
    """A row filter for a table whose columns carry the current schema's names."""
    return _filter(rewrite_not(expr))


def _filter(expr: Expr) -> pc.Expression:
    if isinstance(expr, And):
        return _filter(expr.left) & _filter(expr.right)
    if isinstance(expr, Or):
        return _filter(expr.left) | _filter(expr.right)
    if isinstance(expr, Not):  # rewrite_not leaves none; invert is exact on a three-valued result
        return ~_filter(expr.child)
    if isinstance(expr, AlwaysTrue):
        return pc.scalar(True)
    if isinstance(expr, (AlwaysFalse, AlwaysNull)):  # a filter drops NULL rows as it drops FALSE ones
        return pc.scalar(False)
    field = pc.field(*_ref(expr).path)
    if isinstance(expr, Compare):
        return _compare(expr.op, field, expr.value)
    if isinstance(expr, In):
        # is_in says FALSE (not NULL) for NULL rows: fine for a filter with no NOT above it,
        # and NOT IN must not keep NULL rows, hence is_valid.
        values, with_nan = _value_set(expr)
        hit = field.isin(values) | pc.is_nan(field) if with_nan else field.isin(values)
        return (~hit & field.is_valid()) if expr.negated else hit
    if isinstance(expr, IsNull):
        return field.is_valid() if expr.negated else field.is_null()
    return _negated(expr, _string_match(expr, field))


def evaluate(expr: Expr, table: pa.Table) -> pa.ChunkedArray | pa.Array:
    """The predicate's value for every row of `table`: true, false, or null (SQL's unknown)."""
    if isinstance(expr, And):
        return pc.and_kleene(evaluate(expr.left, table), evaluate(expr.right, table))
    if isinstance(expr, Or):
        return pc.or_kleene(evaluate(expr.left, table), evaluate(expr.right, table))
    if isinstance(expr, Not):
        return pc.invert(evaluate(expr.child, table))
    if isinstance(expr, (AlwaysTrue, AlwaysFalse)):
        return pa.repeat(isinstance(expr, AlwaysTrue), table.num_rows)
    if isinstance(expr, AlwaysNull):
        return pa.nulls(table.num_rows, pa.bool_())
    ref = _ref(expr)
    column = _column(table, ref)
    if isinstance(expr, Compare):
        return _compare(expr.op, column, expr.value)
    if isinstance(expr, In):
        values, with_nan = _value_set(expr)
        hit = pc.is_in(column, value_set=values)
        hit = pc.or_(hit, pc.is_nan(column)) if with_nan else hit
        hit = pc.if_else(pc.is_valid(column), hit, pa.scalar(None, pa.bool_()))
        return pc.invert(hit) if expr.negated else hit
    if isinstance(expr, IsNull):
        return pc.is_valid(column) if expr.negated else pc.is_null(column)
    return _negated(expr, _string_match(expr, column))


def _ref(expr: Expr) -> BoundRef:
    term = getattr(expr, "term", None)
    if not isinstance(term, BoundRef):
        raise InvalidExpressionError(f"expression is not bound to a schema: {expr!r}")
    return term


def _compare(op: str, arg, value):
    """`arg op value` for an array or a pc.Expression, with DuckDB's float order (module doc)."""
    if not isinstance(value, pa.Scalar) or not pa.types.is_floating(value.type) or not value.is_valid:
        return getattr(pc, _KERNELS[op])(arg, value)
    if math.isnan(value.as_py()):
        return _WITH_NAN[op](arg)
    if op in (">", ">="):  # NaN is above every number: it passes `x > v`, which IEEE's `greater` denies
        return pc.invert(getattr(pc, _KERNELS["<=" if op == ">" else "<"])(arg, value))
    return getattr(pc, _KERNELS[op])(arg, value)


def _value_set(expr: In) -> tuple[pa.Array, bool]:
    """The IN list as an array, and whether it holds NaN. `is_in` tells NaN bit patterns apart
    (a sign, a payload) and -0.0 from 0.0, while `=` here does neither: NaN is left out of the
    array for an `is_nan` test, and a zero brings the other zero."""
    at = to_arrow_type(expr.term.type)
    if not pa.types.is_floating(at):
        return pa.array(list(expr.values), type=at), False
    numbers = [v for v in expr.values if not _is_nan(scalar_value(v))]  # a null stays (projection's)
    with_nan = len(numbers) < len(expr.values)
    if any(scalar_value(v) == 0.0 for v in numbers):
        numbers += [pa.scalar(0.0, at), pa.scalar(-0.0, at)]
    return pa.array(numbers, type=at), with_nan


def _is_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _string_match(expr: Expr, arg):
    if isinstance(expr, StartsWith):
        return pc.starts_with(arg, pattern=expr.prefix)
    if isinstance(expr, Like):
        return pc.match_like(arg, pattern=expr.pattern)
    raise InvalidExpressionError(f"unknown expression {expr!r}")


def _negated(expr: StartsWith | Like, value):
    return pc.invert(value) if expr.negated else value


def _column(table: pa.Table, ref: BoundRef) -> pa.ChunkedArray | pa.Array:
    """The column at `ref.path`; all nulls where the table lacks it."""
    column = column_at(table, ref.path)
    return pa.nulls(table.num_rows, to_arrow_type(ref.type)) if column is None else column