"""The expression tree: small frozen nodes, unbound (names) or bound (field ids and typed literals).

A `where` string is parsed once into this tree (parser.py), bound to a schema (binder.py), and
then visited for row filtering (arrow_filter.py), file pruning by statistics (pruning.py) and
partition pruning (projection.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import pyarrow as pa

from ..format.columns import column_name
from ..format.types import Type

COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
FLIPPED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
NEGATED = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


@dataclass(frozen=True, slots=True)
class Ref:
    """An unbound column reference: its names from the top level down. `a.b` is ("a", "b"), the
    child b of struct a; a quoted name is one name whatever it holds: `"a.b"` is ("a.b",).
    `Ref("x")` is shorthand for `Ref(("x",))`."""
    path: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.path, str):
            object.__setattr__(self, "path", (self.path,))

    @property
    def name(self) -> str:
        return column_name(self.path)


@dataclass(frozen=True, slots=True)
class BoundRef:
    """A column resolved against a schema: its id, its current path of names, and its type."""
    field_id: int
    path: tuple[str, ...]
    type: Type

    @property
    def name(self) -> str:
        return column_name(self.path)


Term = Union[Ref, BoundRef]


@dataclass(frozen=True, slots=True)
class Compare:
    """`term op value`; the literal is always on the right. Bound: value is a pa.Scalar of the column type."""
    op: str
    term: Term
    value: Any


@dataclass(frozen=True, slots=True)
class Grouped:
    """A literal of an IN list or BETWEEN that mixes kinds of literal (`x IN ('NaN', 1.0)`).

    DuckDB casts such a group and the column to one common type before comparing, so a literal's
    meaning can depend on its neighbours (`int_col IN ('1.5', 2.5)` compares '1.5' as a decimal,
    `int_col = '1.5'` as an integer). The binder casts it to that common type, or refuses the
    groups whose common type it does not follow (a DOUBLE with a string, ...). `kinds`: "string", "float", "exact number",
    "date/time", "datetime"; `scale`: the most fraction digits of an exact number in the group;
    `ints`: the least and greatest integer literal (None if none); `digits`: the most integer
    digits of a decimal literal (0 if none), DuckDB's DECIMAL(p, s) literal type having p - s >= 1.
    These give DuckDB's common type, to which a string of the group is cast (binder._ungroup).
    """
    value: Any
    kinds: frozenset[str]
    scale: int = 0
    ints: tuple[int, int] | None = None
    digits: int = 0


@dataclass(frozen=True, slots=True)
class In:
    term: Term
    values: tuple[Any, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class IsNull:
    term: Term
    negated: bool = False


@dataclass(frozen=True, slots=True)
class StartsWith:
    """`term LIKE 'prefix%'`: the one LIKE shape that statistics can prune."""
    term: Term
    prefix: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Like:
    """Any other LIKE pattern: filtered row by row, never used to skip files."""
    term: Term
    pattern: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class And:
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class Or:
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class Not:
    child: "Expr"


@dataclass(frozen=True, slots=True)
class AlwaysTrue:
    pass


@dataclass(frozen=True, slots=True)
class AlwaysFalse:
    pass


@dataclass(frozen=True, slots=True)
class AlwaysNull:
    """SQL's NULL as a predicate (`WHERE NULL`): matches no row, and neither does its NOT."""


Expr = Union[Compare, In, IsNull, StartsWith, Like, And, Or, Not, AlwaysTrue, AlwaysFalse, AlwaysNull]
TRUE, FALSE, NULL = AlwaysTrue(), AlwaysFalse(), AlwaysNull()
CONSTANTS = (AlwaysTrue, AlwaysFalse, AlwaysNull)


def and_(*exprs: Expr) -> Expr:
    """AND with constants folded as three-valued logic does: FALSE wins, TRUE is the identity."""
    out: Expr = TRUE
    for e in exprs:
        if isinstance(e, AlwaysFalse) or isinstance(out, AlwaysFalse):
            return FALSE
        if isinstance(out, AlwaysTrue) or (isinstance(out, AlwaysNull) and isinstance(e, AlwaysNull)):
            out = e
        elif not isinstance(e, AlwaysTrue):
            out = And(out, e)
    return out


def or_(*exprs: Expr) -> Expr:
    """OR with constants folded as three-valued logic does: TRUE wins, FALSE is the identity."""
    out: Expr = FALSE
    for e in exprs:
        if isinstance(e, AlwaysTrue) or isinstance(out, AlwaysTrue):
            return TRUE
        if isinstance(out, AlwaysFalse) or (isinstance(out, AlwaysNull) and isinstance(e, AlwaysNull)):
            out = e
        elif not isinstance(e, AlwaysFalse):
            out = Or(out, e)
    return out


def referenced_fields(expr: Expr) -> set[int]:
    """Field ids a bound expression reads."""
    if isinstance(expr, (And, Or)):
        return referenced_fields(expr.left) | referenced_fields(expr.right)
    if isinstance(expr, Not):
        return referenced_fields(expr.child)
    term = getattr(expr, "term", None)
    return {term.field_id} if isinstance(term, BoundRef) else set()


def scalar_value(v: Any) -> Any:
    """The Python value of a bound literal."""
    return v.as_py() if isinstance(v, pa.Scalar) else v


def balanced(cls: type, parts: list[Expr]) -> Expr:
    """`parts` joined by And or Or as a balanced tree: depth log2(n), so a chain of thousands of
    terms never nears the recursion limit of the visitors that walk it."""
    if len(parts) == 1:
        return parts[0]
    mid = len(parts) // 2
    return cls(balanced(cls, parts[:mid]), balanced(cls, parts[mid:]))
