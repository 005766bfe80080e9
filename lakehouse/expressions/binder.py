"""Bind an unbound expression to a schema, and push NOT down to the leaves.

Binding resolves every `Ref` to a `BoundRef(field_id, path, type)` and turns every literal into
a `pa.Scalar` of the column's Arrow type, so all later visitors compare like with like.

Literal rules (a literal that fits none raises InvalidExpressionError naming column and value):

- Integers, decimals, dates, timestamps and times are integer counts underneath (the value, the
  unscaled decimal, days, units since the epoch, microseconds since midnight). A literal is
  first taken exactly (as a fraction of those units), then the comparison is rewritten onto the
  integers: `int_col < 2.5` becomes `int_col <= 2`, `int_col = 2.5` can never hold,
  `int8_col > 1000` can never hold, `ts_s_col = '... 10:00:00.5'` can never hold. A comparison
  that is always or never true over the column's whole range is written as a comparison with
  the range's end (`int8_col > 127` / `int8_col <= 127`), never as TRUE/FALSE: that keeps the
  result NULL on NULL rows, so the bound tree stays exact under NOT and three-valued logic.
- A string literal is cast to the column's type first, as DuckDB does (spec/format.md, "SQL
  semantics"): against an integer or decimal column it is rounded half away from zero to the
  column's scale (`int_col = '1.5'` is `int_col = 2`) and must fit the type; against a date
  column only its date part counts (`'2024-01-01 10:00'` is that day); a boolean column takes
  true/t/yes/y/1 and false/f/no/n/0 in any case. Against a timestamp column it may not carry
  a UTC offset when the column is naive, nor digits finer than the column's unit (DuckDB drops
  the offset, and rounds or truncates those digits depending on the unit): both are errors.
  Typed literals (`DATE '...'`, `TIMESTAMP '...'`, numbers) compare exactly. A string in an IN
  list or BETWEEN with exact numbers is cast to DuckDB's common type of the column and those
  numbers instead (`int32_col IN (2147483648, '2147483648')` casts to BIGINT: no error).
- A float literal (DuckDB's DOUBLE), or any number of an IN list or BETWEEN that holds one,
  against an integer or decimal column compares in double precision, as DuckDB rounds the column
  to double: `l = 9223372036854775808e0` holds for 2^63 - 1. The values rounding to a double are
  one range of units (doubles.py), so the comparison is still rewritten exactly onto integers.
- A number against a boolean column compares with true as 1 and false as 0 (`b = 1`, `b < 1`).
- Time zones: an aware literal is an instant. For a tz-aware column a naive literal is taken as
  UTC; for a naive column an aware literal is converted to UTC wall time.
- Literals are exact at any digit count (decimal256's 76 digits and beyond): numbers become
  Fractions, never a float or a 28-digit Decimal context, before the rewrite onto integers.
- Float columns take the exact literal rounded once to the column's float type (nearest, ties
  to even; as DuckDB does for a decimal literal against FLOAT); a finite literal beyond the
  type's range is an error. A float literal (a number with an exponent, CAST(... AS DOUBLE):
  DuckDB's DOUBLE) against a float32 column compares in double precision, as DuckDB widens the
  column: `f32 = 0.1e0` never holds (0.1 is no float32), `f32 < 0.1e0` is `f32 <= 0.099999994`.
  NaN follows DuckDB (spec/format.md, "SQL semantics"): it equals itself and is above every
  other value, +inf included (`x > 1` holds for NaN, `x = 'NaN'` finds NaN); -0.0 equals 0.0.
  Against an integer-backed column a NaN literal (`CAST('NaN' AS DOUBLE)`) is above every value.
- `x = NULL`, `x != NULL`, NULL in an IN list: an error. SQL makes them never true, which is
  almost always a mistake in a filter; the message points to IS [NOT] NULL.
- List and map columns cannot be used; struct columns only with IS [NOT] NULL.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import struct
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pyarrow as pa

from ..errors import InvalidExpressionError
from ..format.columns import column_name
from ..format.schema import Schema
from ..format.types import (
    BINARY, BOOLEAN, DATE, DECIMAL_CONTEXT, FLOAT32, FLOAT_TYPES, INTEGER_TYPES, STRING, TICKS_PER_SECOND,
    TIME, DecimalType, ListType, MapType, StructType, TimestampType, Type, to_arrow_type,
)
from .common_type import common_type
from .doubles import BEYOND, as_double, double_bounds
from .parser import parse_time, parse_timestamp
from .tree import (
    CONSTANTS, FALSE, NEGATED, NULL, TRUE, AlwaysFalse, AlwaysNull, AlwaysTrue, And, BoundRef, Compare, Expr, Grouped,
    In, IsNull, Like, Not, Or, Ref, StartsWith, and_, or_,
)

__all__ = ["bind", "rewrite_not"]

UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_DATE = dt.date(1970, 1, 1)
_DAY_US = 86_400_000_000
_NOT = {AlwaysTrue: FALSE, AlwaysFalse: TRUE, AlwaysNull: NULL}  # NOT NULL is NULL


def bind(expr: Expr, schema: Schema) -> Expr:
    """`expr` with columns resolved against `schema` and literals typed as those columns."""
    if isinstance(expr, And):
        return and_(bind(expr.left, schema), bind(expr.right, schema))
    if isinstance(expr, Or):
        return or_(bind(expr.left, schema), bind(expr.right, schema))
    if isinstance(expr, Not):
        child = bind(expr.child, schema)
        if isinstance(child, CONSTANTS):
            return _NOT[type(child)]
        return Not(child)
    if isinstance(expr, CONSTANTS):
        return expr
    ref = _resolve(expr.term, schema)
    if isinstance(expr, IsNull):
        return IsNull(ref, expr.negated)
    _check_primitive(ref)
    if isinstance(expr, Compare):
        return _bind_compare(ref, expr.op, expr.value)
    if isinstance(expr, In):
        return _bind_in(ref, expr.values, expr.negated)
    if isinstance(expr, (StartsWith, Like)):
        if ref.type != STRING:
            raise InvalidExpressionError(f"LIKE needs a string column; {ref.name!r} is {ref.type}")
        return replace(expr, term=ref)
    raise InvalidExpressionError(f"cannot bind {expr!r}")


# ---------------------------------------------------------------- columns

def _resolve(term: Any, schema: Schema) -> BoundRef:
    if isinstance(term, BoundRef):
        return term
    ref = term if isinstance(term, Ref) else Ref(str(term))
    field = schema.find_path(ref.path)
    if field is None:
        raise InvalidExpressionError(f"unknown column {ref.name!r} in where expression{_hint(ref, schema)}")
    if isinstance(field.type, (ListType, MapType)):
        kind = "list" if isinstance(field.type, ListType) else "map"
        raise InvalidExpressionError(
            f"column {ref.name!r} is a {kind}; list and map columns cannot be used in a where expression")
    return BoundRef(field.id, schema.path_of(field.id), field.type)


def _hint(ref: Ref, schema: Schema) -> str:
    whole = ".".join(ref.path)
    if len(ref.path) > 1 and schema.find_path((whole,)) is not None:  # `a.b` meant the column named "a.b"
        return f"; a.b reaches the child b of struct a: for the column named {whole!r} write {column_name((whole,))}"
    return f" (columns: {', '.join(repr(n) for n in schema.names[:20])})"


def _check_primitive(ref: BoundRef) -> None:
    if isinstance(ref.type, StructType):
        raise InvalidExpressionError(
            f"column {ref.name!r} is a struct; compare its fields (e.g. {ref.name}.child) or use IS [NOT] NULL")


# ---------------------------------------------------------------- comparisons

def _bind_compare(ref: BoundRef, op: str, value: Any) -> Expr:
    value = _ungroup(ref, value)
    if value is None:
        raise InvalidExpressionError(
            f"comparing {ref.name!r} with NULL is never true; use `{ref.name} IS NULL` or `{ref.name} IS NOT NULL`")
    value = _py(value)
    domain = _integer_domain(ref.type)
    if ref.type == BOOLEAN and _is_number(value):  # DuckDB compares booleans with numbers as 0 and 1
        new_op, n = _fold(op, _number(value), 0, 1)
        return Compare(new_op, ref, pa.scalar(bool(n)))
    if ref.type == FLOAT32 and isinstance(value, float) and not _is_float32(value):
        return _double_against_float32(ref, op, value)
    if domain is None:
        return Compare(op, ref, _scalar(ref, value))
    if _compared_as_double(ref, value):
        return _double_compare(ref, op, value)
    lo, hi = domain
    new_op, n = _fold(op, _units(ref, value), lo, hi)
    return Compare(new_op, ref, _from_units(ref.type, n))


def _ungroup(ref: BoundRef, value: Any) -> Any:
    """The literal of a `Grouped` one, if DuckDB's common type of its group and the column gives
    it the meaning it has alone; an error otherwise (tree.Grouped)."""
    if not isinstance(value, Grouped):
        return value
    kinds, t = value.kinds, ref.type
    clash = ((t in INTEGER_TYPES or isinstance(t, DecimalType))  # the common type is a double
             and "string" in kinds and "float" in kinds) \
        or (t == DATE and "string" in kinds and "datetime" in kinds) \
        or (t == FLOAT32 and "float" in kinds)  # the common type is DOUBLE
    if clash:
        raise InvalidExpressionError(
            f"the IN list or BETWEEN on {ref.name!r} ({t}) mixes {' and '.join(sorted(kinds, reverse=True))} "
            "literals; DuckDB casts them and the column to one common type first, which changes what they "
            "mean: write every value the same way")
    if (t in INTEGER_TYPES or isinstance(t, DecimalType)) and "float" in kinds and _is_number(value.value):
        return as_double(value.value)  # the common type is DOUBLE: each literal is rounded to one
    if (t in INTEGER_TYPES or isinstance(t, DecimalType)) and isinstance(value.value, str):
        return _string_in_common_type(ref, value)
    return value.value


def _string_in_common_type(ref: BoundRef, g: Grouped) -> int | Decimal:
    """A string of a group with exact numbers, against an integer or decimal column, cast as DuckDB
    does: to the common type of the column and those numbers (`i IN (2147483648, '2147483648')`
    on an INTEGER casts to BIGINT; `i IN (1.5, '1.45')` to DECIMAL(11, 1), so '1.45' is 1.5)."""
    t = ref.type
    scale = max(t.scale if isinstance(t, DecimalType) else 0, g.scale)
    common = common_type(t, g)
    if common is None:
        raise InvalidExpressionError(
            f"the IN list or BETWEEN on {ref.name!r} ({t}) mixes strings with numbers too large for DuckDB's "
            "common type of them and the column; write every value the same way")
    name, domain = common
    try:
        n = int(_cast_text(g.value, scale, domain, f"{name}'s"))
    except ValueError as e:
        why = ", DuckDB's common type of the column and the numbers it is listed with" if name in str(e) else ""
        raise _bad_value(ref, g.value, f": {e}{why}") from None
    return Decimal(n).scaleb(-scale, DECIMAL_CONTEXT) if scale else n


def _compared_as_double(ref: BoundRef, value: Any) -> bool:
    """Whether `value` is a finite DOUBLE against an integer or decimal column, which DuckDB
    compares in double precision (doubles.py); NaN and ±inf compare as beyond every value."""
    return (ref.type in INTEGER_TYPES or isinstance(ref.type, DecimalType)) and isinstance(value, float) \
        and math.isfinite(value) and abs(value) <= BEYOND


def _double_compare(ref: BoundRef, op: str, d: float) -> Expr:
    """`double(ref) op d` as exact comparisons on the column's units (doubles.double_bounds)."""
    low, high = double_bounds(d, ref.type.scale if isinstance(ref.type, DecimalType) else 0)
    if op in ("<", ">="):  # double(x) < d  <=>  x < low
        return _compare_units(ref, op, low)
    if op in ("<=", ">"):  # double(x) <= d  <=>  x <= high
        return _compare_units(ref, op, high)
    if low >= high:  # one value, or none: no value rounds to d
        return _compare_units(ref, op, low) if low == high else _never(ref) if op == "=" else _always(ref)
    if op == "=":
        return and_(_compare_units(ref, ">=", low), _compare_units(ref, "<=", high))
    return or_(_compare_units(ref, "<", low), _compare_units(ref, ">", high))


def _compare_units(ref: BoundRef, op: str, n: int) -> Expr:
    new_op, m = _fold(op, Fraction(n), *_integer_domain(ref.type))
    return Compare(new_op, ref, _from_units(ref.type, m))


def _fold(op: str, q: Fraction | float, lo: int, hi: int) -> tuple[str, int]:
    """`x op q` over integers x in [lo, hi], as `x op' n` with an integer n in [lo, hi]."""
    if isinstance(q, float):  # NaN or ±inf; NaN is above every number, as +inf is here
        q = Fraction(hi + 1 if math.isnan(q) or q > 0 else lo - 1)
    if op in ("=", "!="):
        ok = q.denominator == 1 and lo <= q <= hi
        if ok:
            return op, int(q)
        return ("<=", hi) if op == "!=" else (">", hi)
    if op in ("<", ">="):  # x < q  <=>  x < ceil(q);  x >= q  <=>  x >= ceil(q)
        n = math.ceil(q)
        if n > hi:
            return ("<=", hi) if op == "<" else (">", hi)
        if n <= lo:
            return ("<", lo) if op == "<" else (">=", lo)
        return op, n
    n = math.floor(q)  # x <= q  <=>  x <= floor(q);  x > q  <=>  x > floor(q)
    if n >= hi:
        return ("<=", hi) if op == "<=" else (">", hi)
    if n < lo:
        return ("<", lo) if op == "<=" else (">=", lo)
    return op, n


def _bind_in(ref: BoundRef, values: tuple[Any, ...], negated: bool) -> Expr:
    if values and isinstance(values[0], Grouped):
        values = tuple(_ungroup(ref, v) for v in values)
    if any(v is None for v in values):
        raise InvalidExpressionError(
            f"NULL in the IN list of {ref.name!r} never matches; use `{ref.name} IS NULL` instead")
    values, ranges = _split_doubles(ref, values)
    if ranges:  # x IN (v, ...) is x = v OR ...; NOT IN its negation (rewrite_not pushes the NOT down)
        equal = or_(_bind_in(ref, values, False) if values else _never(ref),
                    *(and_(_compare_units(ref, ">=", a), _compare_units(ref, "<=", b)) for a, b in ranges))
        return Not(equal) if negated else equal
    kept = _in_set(ref, values)
    if not kept:  # nothing the column can hold: keep NULL on NULL rows via a never/always-true compare
        return _never(ref) if not negated else _always(ref)
    if len(kept) == 1:
        return Compare("!=" if negated else "=", ref, kept[0])
    return In(ref, kept, negated)


def _split_doubles(ref: BoundRef, values: tuple[Any, ...]) -> tuple[tuple[Any, ...], list[tuple[int, int]]]:
    """The IN list with each DOUBLE an integer or decimal column compares in double precision
    replaced by the one value rounding to it (dropped if none), and the unit ranges [low, high]
    of the DOUBLEs several values round to."""
    if not values or not (ref.type in INTEGER_TYPES or isinstance(ref.type, DecimalType)):
        return values, []
    scale = ref.type.scale if isinstance(ref.type, DecimalType) else 0
    kept: list[Any] = []
    ranges: list[tuple[int, int]] = []
    for v in values:
        if not _compared_as_double(ref, v):
            kept.append(v)
            continue
        low, high = double_bounds(v, scale)
        if low == high:
            kept.append(Decimal(low).scaleb(-scale, DECIMAL_CONTEXT) if scale else low)
        elif low < high:
            ranges.append((low, high))
    return tuple(kept), ranges


def _in_set(ref: BoundRef, values: tuple[Any, ...]) -> tuple[pa.Scalar, ...]:
    """The distinct scalars `ref IN values` can match, in first-seen order. Integer-backed
    columns collect unit counts and build one array: lists may hold 100,000 values."""
    domain = _integer_domain(ref.type)
    if domain is None:
        kept: dict[Any, pa.Scalar] = {}
        for v in values:
            for s in _in_scalars(ref, _py(v)):
                kept.setdefault(_key(s), s)
        return tuple(kept.values())
    lo, hi = domain
    plain = ref.type in INTEGER_TYPES
    units: dict[int, None] = {}
    for v in values:
        q = v if plain and type(v) is int else _units(ref, _py(v))
        if not isinstance(q, float) and (type(q) is int or q.denominator == 1) and lo <= q <= hi:
            units.setdefault(int(q), None)
    return tuple(_units_array(ref.type, list(units)))


def _key(s: pa.Scalar) -> Any:
    if pa.types.is_timestamp(s.type):
        return s.value
    v = s.as_py()
    return (v, math.copysign(1.0, v)) if isinstance(v, float) else v


def _py(value: Any) -> Any:
    """Python value of a literal; timestamps stay scalars so nanoseconds survive."""
    return value.as_py() if isinstance(value, pa.Scalar) and not pa.types.is_timestamp(value.type) else value


def _in_scalars(ref: BoundRef, value: Any) -> list[pa.Scalar]:
    """The scalars `x = value` can match, for a column that is not integer-backed."""
    if ref.type == BOOLEAN and _is_number(value):  # true is 1, false is 0; other numbers never match
        return [pa.scalar(value == 1)] if value in (0, 1) else []
    if ref.type == FLOAT32 and isinstance(value, float) and not _is_float32(value):
        return []  # a double no float32 equals
    s = _scalar(ref, value)
    if ref.type in FLOAT_TYPES and s.as_py() == 0.0:  # is_in tells -0.0 from 0.0, `=` does not
        return [pa.scalar(0.0, s.type), pa.scalar(-0.0, s.type)]
    return [s]


def _never(ref: BoundRef) -> Expr:
    domain = _integer_domain(ref.type)
    if domain is not None:
        return Compare(">", ref, _from_units(ref.type, domain[1]))
    if ref.type in FLOAT_TYPES:
        return Compare("<", ref, pa.scalar(-math.inf, to_arrow_type(ref.type)))
    return Compare("<", ref, _scalar(ref, _MINIMUM[ref.type]))


def _always(ref: BoundRef) -> Expr:
    domain = _integer_domain(ref.type)
    if domain is not None:
        return Compare("<=", ref, _from_units(ref.type, domain[1]))
    if ref.type in FLOAT_TYPES:  # NaN is the largest value
        return Compare("<=", ref, pa.scalar(math.nan, to_arrow_type(ref.type)))
    return Compare(">=", ref, _scalar(ref, _MINIMUM[ref.type]))


_MINIMUM = {STRING: "", BINARY: b"", BOOLEAN: False}


# ---------------------------------------------------------------- integer-backed types

def _integer_domain(t: Type) -> tuple[int, int] | None:
    if t in INTEGER_TYPES:
        bits = int(t.name[3:])
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if isinstance(t, DecimalType):
        return -(10 ** t.precision - 1), 10 ** t.precision - 1
    # Dates and timestamps: the years 1-9999 Python can hold (and print), within the type's range.
    if t == DATE:
        return (dt.date.min - _EPOCH_DATE).days, (dt.date.max - _EPOCH_DATE).days
    if isinstance(t, TimestampType):
        per = TICKS_PER_SECOND[t.unit]
        lo = (dt.datetime.min - _EPOCH) // dt.timedelta(microseconds=1) * per // 1_000_000
        hi = (dt.datetime.max - _EPOCH) // dt.timedelta(microseconds=1) * per // 1_000_000
        if t.unit == "ns":  # int64 nanoseconds, kept to whole microseconds so scalars print
            return -(1 << 63) // 1000 * 1000 + 1000, ((1 << 63) - 1) // 1000 * 1000
        return lo, hi
    if t == TIME:
        return 0, _DAY_US - 1
    return None


def _from_units(t: Type, n: int) -> pa.Scalar:
    at = to_arrow_type(t)
    if t in INTEGER_TYPES:
        return pa.scalar(n, at)
    if isinstance(t, DecimalType):
        return pa.scalar(Decimal(n).scaleb(-t.scale, DECIMAL_CONTEXT), at)
    return pa.scalar(n, pa.int32() if t == DATE else pa.int64()).cast(at)


def _units_array(t: Type, units: list[int]) -> pa.Array:
    """`_from_units` for many values at once."""
    at = to_arrow_type(t)
    if t in INTEGER_TYPES:
        return pa.array(units, at)
    if isinstance(t, DecimalType):
        return pa.array([Decimal(n).scaleb(-t.scale, DECIMAL_CONTEXT) for n in units], at)
    return pa.array(units, pa.int32() if t == DATE else pa.int64()).cast(at)


def _units(ref: BoundRef, value: Any) -> Fraction | float:
    """`value` exactly, in the column's integer units (float only for NaN and ±inf)."""
    t = ref.type
    try:
        if t in INTEGER_TYPES or isinstance(t, DecimalType):
            scale = t.scale if isinstance(t, DecimalType) else 0
            if isinstance(value, str):
                return _cast_text(value, scale, _integer_domain(t))
            q = _number(value)
            return q * 10 ** scale if isinstance(q, Fraction) else q
        if t == DATE:
            if isinstance(value, str):  # the date part only, offset and time of day dropped
                value = parse_timestamp(value)[0].date()
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return Fraction((value - _EPOCH_DATE).days)
            return _timestamp_ns(value) / (_DAY_US * 1000)
        if isinstance(t, TimestampType):
            ticks = _timestamp_ns(value) * TICKS_PER_SECOND[t.unit] / 1_000_000_000
            if isinstance(value, str):
                _check_timestamp_text(value, t, ticks)
            return ticks
        if t == TIME:
            v = parse_time(value) if isinstance(value, str) else value
            if not isinstance(v, dt.time) or v.tzinfo is not None:
                raise TypeError
            return Fraction(((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond)
    except (TypeError, ValueError, ArithmeticError, OverflowError, InvalidExpressionError) as e:
        detail = f": {e}" if type(e) in (InvalidExpressionError, ValueError) and str(e) else ""
        raise _bad_value(ref, value, detail) from None
    raise _bad_value(ref, value, "")


def _cast_text(text: str, scale: int, domain: tuple[int, int], name: str = "the column's") -> Fraction:
    """A string cast to an integer or decimal(p, scale) column, in its units: rounded half away
    from zero, and an error outside the type (DuckDB's cast)."""
    try:
        d = Decimal(text.strip())
    except ArithmeticError:
        raise ValueError("not a number") from None
    if not d.is_finite() or (d and d.adjusted() > _HUGE_EXP):
        raise ValueError("not a finite number")
    q = abs(Fraction(d)) * 10 ** scale  # exact, unlike Decimal arithmetic in a 28-digit context
    n = math.floor(q + Fraction(1, 2)) * (-1 if d < 0 else 1)
    if not domain[0] <= n <= domain[1]:
        raise ValueError(f"out of {name} range")
    return Fraction(n)


def _check_timestamp_text(text: str, t: TimestampType, ticks: Fraction) -> None:
    if parse_timestamp(text)[0].tzinfo is not None and t.tz is None:
        raise ValueError(f"a UTC offset against a column without a time zone is ambiguous; write "
                         f"TIMESTAMPTZ '{text.strip()}' for the instant or drop the offset for the wall time")
    if ticks.denominator != 1:
        raise ValueError(f"finer than the column's unit ({t.unit}); write at most that precision")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, Decimal, float)) and not isinstance(value, bool)


# Literals beyond these magnitudes are outside (or inside) every integer-backed domain: decimal256
# units stay below 10**76 and its scale is at most 76, so clamping keeps every comparison's result
# while sparing Fraction a 10**999999999.
_HUGE_EXP, _TINY_EXP = 160, -160


def _number(value: Any) -> Fraction | float:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except ArithmeticError:
            raise ValueError("not a number") from None
    if isinstance(value, float) or (isinstance(value, Decimal) and not value.is_finite()):
        f = float(value)
        return f if not math.isfinite(f) else Fraction(Decimal(repr(f)))
    if isinstance(value, Decimal):
        if value and value.adjusted() > _HUGE_EXP:
            return Fraction(10 ** (_HUGE_EXP + 1) * (-1 if value < 0 else 1))
        if value and value.adjusted() < _TINY_EXP:
            return Fraction(-1 if value < 0 else 1, 10 ** -_TINY_EXP)
        return Fraction(value)  # exact: a Decimal is a fraction with a power-of-ten denominator
    if isinstance(value, int):
        return Fraction(value)
    raise TypeError


def _timestamp_ns(value: Any) -> Fraction:
    """Nanoseconds since the epoch; aware values count from the UTC instant, naive ones as UTC."""
    nanos = 0
    if isinstance(value, str):
        value, nanos = parse_timestamp(value)
    if isinstance(value, pa.TimestampScalar):
        return Fraction(value.value * 1_000_000_000, TICKS_PER_SECOND[value.type.unit])
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise TypeError
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    micros = (value - _EPOCH) // dt.timedelta(microseconds=1)
    return Fraction(micros * 1000 + nanos)


def _bad_value(ref: BoundRef, value: Any, detail: str) -> InvalidExpressionError:
    return InvalidExpressionError(f"cannot compare column {ref.name!r} ({ref.type}) with {value!r}{detail}")


# ---------------------------------------------------------------- other types

def _scalar(ref: BoundRef, value: Any) -> pa.Scalar:
    t, at = ref.type, to_arrow_type(ref.type)
    try:
        if t in FLOAT_TYPES:
            return pa.scalar(_float_literal(value, single=t == FLOAT32), at)
        if t == STRING and isinstance(value, str):
            return pa.scalar(value, at)
        if t == BINARY and isinstance(value, (bytes, str)):
            return pa.scalar(value.encode() if isinstance(value, str) else value, at)
        if t == BOOLEAN:
            return pa.scalar(_boolean(value), at)
    except (TypeError, ValueError, ArithmeticError, OverflowError):
        pass
    raise _bad_value(ref, value, "")


def _float_literal(value: Any, *, single: bool) -> float:
    """`value` rounded once, to nearest (ties to even), to float64 or float32 (`single`).

    float() of a str, int or Decimal already rounds the exact value once; going on to float32
    through that float64 would round twice, which is wrong when the float64 lands on a float32
    midpoint, so the float32 result is chosen among neighbours by exact distance.
    """
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, str):
        return _float_text(value, single=single)
    if not isinstance(value, (int, float, Decimal)):
        raise TypeError
    f = float(value)
    if math.isnan(f):  # every NaN is one value (DuckDB's): '-NaN' keeps no sign bit to tell apart
        return math.nan
    if math.isinf(f) and not (isinstance(value, (float, Decimal)) and math.isinf(value)):
        raise OverflowError  # a finite literal beyond float64's range
    if not single or not math.isfinite(f):
        return f
    f32 = _f32(f)  # OverflowError past float32's range
    if f32 == f or f == 0.0:
        return f32
    exact = Fraction(value) if not isinstance(value, float) else Fraction(f)
    bits = struct.unpack("<I", struct.pack("<f", f32))[0]
    near = [f32] + [c for c in (_f32_bits(bits - 1), _f32_bits(bits + 1)) if c is not None and math.isfinite(c)]
    return min(near, key=lambda c: (abs(Fraction(c) - exact), struct.unpack("<I", struct.pack("<f", c))[0] & 1))


def _float_text(text: str, *, single: bool) -> float:
    """A string cast to DOUBLE or FLOAT (`single`) as DuckDB casts it: surrounding spaces and one
    leading '+' go ('+-1' is -1); a value past the type's range is ±inf, as '1e39' is a FLOAT's."""
    body = text.strip()
    body = body[1:] if body[:1] == "+" else body
    special = _FLOAT_SPECIAL.fullmatch(body)
    if special:
        return math.nan if special[1] else -math.inf if body[0] == "-" else math.inf
    value = Decimal(body) if body[:1] != "+" else Decimal("x")  # InvalidOperation on other text
    if not value.is_finite():  # Decimal's own 'sNaN', 'NaN123': DuckDB refuses them
        raise ValueError
    try:
        return _float_literal(value, single=single)
    except OverflowError:
        return math.copysign(math.inf, value)


# The special values DuckDB casts from text (case aside, after a leading '+'): NaN is one value
# whatever its sign or C99 `nan(chars)` payload; Decimal's 'sNaN' and 'NaN123' DuckDB refuses.
_FLOAT_SPECIAL = re.compile(r"-?(nan(?:\([0-9a-z_]*\))?)|-?inf(?:inity)?", re.IGNORECASE)


def _is_float32(d: float) -> bool:
    """Whether the double `d` is a float32 value (NaN and ±inf are)."""
    if not math.isfinite(d):
        return True
    try:
        return _f32(d) == d
    except OverflowError:
        return False


def _double_against_float32(ref: BoundRef, op: str, d: float) -> Expr:
    """`f32 op d` for a finite double `d` that no float32 equals, on the float32 values."""
    if op in ("=", "!="):
        return _never(ref) if op == "=" else _always(ref)
    at = pa.float32()
    if op in ("<", "<="):  # the largest float32 below d
        below = _F32_MAX if d > _F32_MAX else -math.inf if d < -_F32_MAX else _f32_next(d, up=False)
        return Compare("<=", ref, pa.scalar(below, at))
    above = math.inf if d > _F32_MAX else -_F32_MAX if d < -_F32_MAX else _f32_next(d, up=True)
    return Compare(">=", ref, pa.scalar(above, at))


_F32_MAX = 3.4028234663852886e38


def _f32_next(d: float, *, up: bool) -> float:
    """The float32 nearest `d` on the side `up` (above) or below, `d` not a float32 and in range."""
    r = _f32(d)
    if (r > d) == up:
        return r
    bits = struct.unpack("<I", struct.pack("<f", r))[0]
    bits += 1 if (r > 0) == up else -1  # one step away from or towards zero
    if r == 0.0:
        return 1.401298464324817e-45 if up else -1.401298464324817e-45
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def _f32(f: float) -> float:
    return struct.unpack("<f", struct.pack("<f", f))[0]


def _f32_bits(bits: int) -> float | None:
    return struct.unpack("<f", struct.pack("<I", bits))[0] if 0 <= bits < 1 << 32 else None


_BOOLEAN_TEXT = {**dict.fromkeys(("true", "t", "yes", "y", "1"), True),
                 **dict.fromkeys(("false", "f", "no", "n", "0"), False)}  # DuckDB's; no spaces


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _BOOLEAN_TEXT:
        return _BOOLEAN_TEXT[value.lower()]
    raise TypeError


# ---------------------------------------------------------------- NOT

def rewrite_not(expr: Expr) -> Expr:
    """`expr` with every NOT pushed into the leaves (De Morgan, negated operators), constants folded.

    Exact under three-valued logic: NOT flips TRUE and FALSE and keeps NULL, and so does every
    rewrite here. Floats included: NaN sorts above every number (DuckDB's order, not IEEE's), so
    `NOT (x < 1)` and `x >= 1` agree on NaN too.

    A NULL constant becomes FALSE once no NOT is above it: with only AND and OR left, a result
    that is TRUE with a NULL input is TRUE whatever that input is (Kleene logic), so the rows a
    filter keeps do not change, and `x > 1 OR NULL` folds to `x > 1`, `x > 1 AND NULL` to FALSE.
    """
    return _push(expr, False)


def _push(expr: Expr, negate: bool) -> Expr:
    if isinstance(expr, Not):
        return _push(expr.child, not negate)
    if isinstance(expr, (And, Or)):
        left, right = _push(expr.left, negate), _push(expr.right, negate)
        return and_(left, right) if isinstance(expr, And) != negate else or_(left, right)
    if isinstance(expr, AlwaysNull):
        return FALSE
    if not negate:
        return expr
    if isinstance(expr, AlwaysTrue):
        return FALSE
    if isinstance(expr, AlwaysFalse):
        return TRUE
    if isinstance(expr, (IsNull, In, StartsWith, Like)):
        return replace(expr, negated=not expr.negated)
    if isinstance(expr, Compare):
        return Compare(NEGATED[expr.op], expr.term, expr.value)
    return Not(expr)
