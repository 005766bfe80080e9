"""Parse a `where` string into the unbound expression tree.

sqlglot (DuckDB dialect) does the SQL; this module only maps its AST onto our small tree and
rejects everything a filter over one table cannot mean (column-vs-column comparisons, functions,
arithmetic, subqueries). Literals become Python values:

    42 -> int         12.50 -> Decimal("12.50")      1.5e3 -> 1500.0 (float)         'abc' -> str
    TRUE -> bool      NULL -> None                   -7 -> int (negated)
    DATE '2024-03-01', CAST('2024-03-01' AS DATE)     -> datetime.date
    TIMESTAMP '2024-03-01 10:00:00'                   -> naive datetime (aware if it has an offset)
    TIMESTAMPTZ '2024-03-01 10:00:00'                 -> aware datetime (UTC unless an offset is given)
    TIME '10:00:00'                                   -> datetime.time

A timestamp with sub-microsecond digits becomes a `pa.TimestampScalar` of unit "ns", since
datetime would drop them. A number with an exponent is a float, as DuckDB types it DOUBLE
(`1e400` is inf); every other number is exact: non-integers stay `Decimal` whatever their digit
count, negation is exact (`Decimal.copy_negate`, never the 28-digit
default context), and CAST to DECIMAL(p, s) / an integer type rounds half away from zero exactly
and refuses a value the type cannot hold (as DuckDB does); the binder then compares exactly.

LIKE follows DuckDB: `%` and `_` are the wildcards and there is no escape character unless an
ESCAPE clause names one. `Like.pattern` is stored in pyarrow's `match_like` convention, where a
backslash escapes the next character. Patterns with no wildcard become `=` / `!=`, and a literal
prefix followed only by `%` becomes StartsWith, the one shape statistics can prune.

    >>> parse("a >= 1 AND name LIKE 'ab%'")
    And(left=Compare(op='>=', term=Ref(path=('a',)), value=1), right=StartsWith(term=Ref(path=('name',)), prefix='ab', negated=False))
"""

from __future__ import annotations

import datetime as dt
import operator
import re
import struct
from dataclasses import replace
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, Callable

import pyarrow as pa
import sqlglot
from sqlglot import exp

from ..errors import InvalidExpressionError
from ..format.columns import column_name
from .lists import extract_lists, restore_lists, values_of
from .syntax_errors import describe
from .tree import (
    CONSTANTS, FALSE, FLIPPED, NULL, TRUE, And, Compare, Expr, Grouped, In, IsNull, Like, Not, Or, Ref, StartsWith, and_,
    balanced, or_,
)

__all__ = ["parse", "parse_date", "parse_time", "parse_timestamp"]

_COMPARE = {exp.EQ: "=", exp.NEQ: "!=", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}
_SHAPES = ("comparisons of a column with a literal, IN, BETWEEN, IS [NOT] NULL, LIKE, AND, OR, NOT")
UTC = dt.timezone.utc


def parse(where: str) -> Expr:
    """The unbound expression for a SQL boolean expression (a WHERE clause without `WHERE`)."""
    if not isinstance(where, str) or not where.strip():
        raise InvalidExpressionError("the where expression is empty")
    try:
        node = _parse_sql(where)
    except Exception as e:  # ParseError, TokenError, and worse on hostile input: never leak them
        raise InvalidExpressionError(f"cannot parse where expression {where!r}: {describe(where, e)}") from None
    try:
        return _predicate(node)
    except RecursionError as e:
        raise InvalidExpressionError(f"where expression {where!r} is nested too deeply") from e


def _parse_sql(where: str) -> exp.Expression:
    """sqlglot's tree for `where`; long literal IN lists are read apart (lists.py)."""
    text, lists = extract_lists(where, _number)
    if lists:
        try:
            node = sqlglot.parse_one(text, read="duckdb")
            if restore_lists(node, lists):
                return node
        except Exception:  # noqa: BLE001 - the original text decides, and names the error
            pass
    return sqlglot.parse_one(where, read="duckdb")


def _sql(node: exp.Expression) -> str:
    try:
        return node.sql(dialect="duckdb")
    except Exception:
        return type(node).__name__


# ---------------------------------------------------------------- predicates

def _predicate(node: exp.Expression) -> Expr:
    if isinstance(node, exp.Paren):
        return _predicate(node.this)
    if isinstance(node, (exp.And, exp.Or)):
        # flatten() walks same-type chains without recursion; balancing keeps a long
        # `a = 1 OR a = 2 OR ...` shallow for every recursive visitor downstream.
        parts = [_predicate(p) for p in node.flatten()]
        return balanced(And if isinstance(node, exp.And) else Or, parts)
    if isinstance(node, exp.Not):
        return _negate(_predicate(node.this))
    if type(node) in _COMPARE:
        return _compare(_COMPARE[type(node)], node.this, node.expression)
    if isinstance(node, exp.In):
        return _in(node)
    if isinstance(node, exp.Between):
        low, high = _compare(">=", node.this, node.args["low"]), _compare("<=", node.this, node.args["high"])
        if isinstance(low, Compare) and isinstance(high, Compare):
            lo, hi = _grouped((low.value, high.value))
            low, high = replace(low, value=lo), replace(high, value=hi)
        return and_(low, high)
    if isinstance(node, exp.Is):
        return _is(node)
    if isinstance(node, (exp.Like, exp.Escape)):
        return _like(node)
    if isinstance(node, exp.Boolean):
        return TRUE if node.this else FALSE
    if isinstance(node, exp.Null):
        return NULL
    if _is_column(node):  # a bare boolean column: `WHERE flag`
        return Compare("=", Ref(_column_path(node)), True)
    raise InvalidExpressionError(_unsupported(node))


def _unsupported(node: exp.Expression) -> str:
    if isinstance(node, exp.Alias) and node.alias.upper() in _KEYWORDS:  # `x IS` parses as `x AS "IS"`
        return f"the where expression ends after {node.alias.upper()}: it needs what follows (e.g. IS NULL)"
    return f"{_kind(node)} not supported in a where expression ({_sql(node)!r}); use {_SHAPES}"


def _kind(node: exp.Expression) -> str:
    if isinstance(node, (exp.Select, exp.Subquery, exp.Query)):
        return "subqueries are"
    if isinstance(node, exp.Block):
        return "several statements are"
    if isinstance(node, exp.ILike):
        return "ILIKE is"
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.DPipe)):
        return "arithmetic and concatenation are"
    if isinstance(node, exp.Alias):
        return "aliases (AS) are"
    if isinstance(node, exp.Placeholder):
        return "placeholders (?, :name) are"
    if isinstance(node, exp.Func):
        return "function calls are"
    return "expressions of this kind are"  # never a parser class name: the user wrote SQL, not sqlglot


_KEYWORDS = frozenset({"IS", "NOT", "IN", "LIKE", "BETWEEN", "AND", "OR", "NULL", "ESCAPE"})


def _negate(e: Expr) -> Expr:
    if isinstance(e, CONSTANTS):
        return {TRUE: FALSE, FALSE: TRUE}.get(e, NULL)  # NOT NULL is NULL
    if isinstance(e, (IsNull, In, StartsWith, Like)):
        return replace(e, negated=not e.negated)
    if isinstance(e, Not):
        return e.child
    return Not(e)


def _compare(op: str, left: exp.Expression, right: exp.Expression) -> Expr:
    left, right = _unparen(left), _unparen(right)
    lcol, rcol = _is_column(left), _is_column(right)
    if lcol and rcol:
        raise InvalidExpressionError(
            f"comparing two columns ({_sql(left)} {op} {_sql(right)}) is not supported; "
            "compare a column with a literal")
    if lcol:
        return Compare(op, Ref(_column_path(left)), _literal(right))
    if rcol:  # `5 < x` is stored as `x > 5`
        return Compare(FLIPPED[op], Ref(_column_path(right)), _literal(left))
    for side in (left, right):  # name the function or operator, if that is what is wrong
        if not isinstance(side, (exp.Literal, exp.Neg, exp.Boolean, exp.Null, exp.Cast, exp.TryCast)):
            raise InvalidExpressionError(f"a comparison needs a column on one side, not {_sql(side)!r} "
                                         f"({_kind(side)} not supported)")
    return _constant(op, _literal(left), _literal(right), f"{_sql(left)} {op} {_sql(right)}")


_PYTHON_OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
               ">=": operator.ge}


def _constant(op: str, left: Any, right: Any, text: str) -> Expr:
    """`literal op literal` folded to TRUE or FALSE (`1 = 1`, `'a' < 'b'`); numbers compare exactly."""
    if left is None or right is None:
        raise InvalidExpressionError(f"comparing with NULL is never true ({text}); use IS [NOT] NULL")
    kinds = {type(v) if not isinstance(v, (int, float, Decimal)) or isinstance(v, bool) else Decimal
             for v in (left, right)}
    if len(kinds) != 1:
        raise InvalidExpressionError(f"cannot compare {left!r} with {right!r} ({text}): different kinds of value")
    try:
        return TRUE if _PYTHON_OPS[op](_ordered(left), _ordered(right)) else FALSE
    except TypeError:  # a naive with an aware datetime
        raise InvalidExpressionError(f"cannot compare {left!r} with {right!r} ({text})") from None


def _ordered(v: Any) -> Any:
    """A number as DuckDB orders it: NaN equal to itself and above every other number."""
    if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
        return (1, 0) if v != v else (0, v)
    return v


def _in(node: exp.In) -> Expr:
    if any(node.args.get(k) for k in ("query", "unnest", "field")):
        raise InvalidExpressionError(f"IN supports a list of literals only, not {_sql(node)!r}")
    values = values_of(node)
    if values is None:
        values = tuple(_literal(v) for v in node.expressions)
    if not values:
        raise InvalidExpressionError(f"IN needs at least one value: {_sql(node)!r}")
    if not _is_column(node.this):  # `1 IN (1, 2)`: a constant
        left = _literal(node.this)
        return or_(*(_constant("=", left, v, _sql(node)) for v in values))
    return In(Ref(_column_path(node.this)), _grouped(values))


def _grouped(values: tuple) -> tuple:
    """`values` as they are, or each wrapped in `Grouped` when they mix kinds of literal."""
    kinds = frozenset(_kind_of(v) for v in values) - {None}
    if len({"date/time" if k == "datetime" else k for k in kinds}) <= 1:  # dates and timestamps agree
        return values
    decimals = [v for v in values if isinstance(v, Decimal)]
    ints = [v for v in values if type(v) is int]
    scale = max((-v.as_tuple().exponent for v in decimals), default=0)
    digits = max((max(v.adjusted() + 1, 1) if v else 1 for v in decimals), default=0)
    span = (min(ints), max(ints)) if ints else None
    return tuple(Grouped(v, kinds, max(scale, 0), span, digits) for v in values)


def _kind_of(v: Any) -> str | None:
    if isinstance(v, str):
        return "string"
    if isinstance(v, float):
        return "float"
    if isinstance(v, (int, Decimal)) and not isinstance(v, bool):
        return "exact number"
    if isinstance(v, (dt.datetime, pa.TimestampScalar)):
        return "datetime"
    if isinstance(v, (dt.date, dt.time)):
        return "date/time"
    return None  # NULL and booleans: the same meaning in any common type


def _is(node: exp.Is) -> Expr:
    target = node.expression
    if not isinstance(target, (exp.Null, exp.Boolean)):
        raise InvalidExpressionError(f"IS supports NULL, TRUE and FALSE only: {_sql(node)!r}")
    if not _is_column(node.this):  # `NULL IS NULL`, `TRUE IS FALSE`: constants
        value = _literal(node.this)
        if isinstance(target, exp.Null):
            return TRUE if value is None else FALSE
        return TRUE if value is bool(target.this) else FALSE
    ref = Ref(_column_path(node.this))
    if isinstance(target, exp.Null):
        return IsNull(ref)
    # `x IS TRUE` is never NULL; this form negates exactly to `x IS NULL OR x != TRUE`.
    return And(IsNull(ref, negated=True), Compare("=", ref, bool(target.this)))


def _like(node: exp.Expression) -> Expr:
    escape = None
    if isinstance(node, exp.Escape):
        escape = _literal(node.expression)
        if not isinstance(escape, str) or len(escape) != 1:
            raise InvalidExpressionError(f"ESCAPE needs a single character: {_sql(node)!r}")
        node = node.this
    if not isinstance(node, exp.Like):
        raise InvalidExpressionError(_unsupported(node))
    pattern = _literal(node.expression)
    if not isinstance(pattern, str):
        raise InvalidExpressionError(f"LIKE needs a string pattern: {_sql(node)!r}")
    return _like_predicate(Ref(_column_path(node.this)), pattern, escape, bool(node.args.get("negate")))


def _like_predicate(term: Any, pattern: str, escape: str | None, negated: bool) -> Expr:
    """`term [NOT] LIKE pattern [ESCAPE escape]` as =, StartsWith or Like (see the module doc)."""
    chars: list[tuple[str, bool]] = []  # (character, is a wildcard)
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if escape is not None and c == escape:
            if i + 1 == len(pattern):
                raise InvalidExpressionError(f"LIKE pattern {pattern!r} ends with its escape character")
            chars.append((pattern[i + 1], False))
            i += 2
            continue
        chars.append((c, c in "%_"))
        i += 1
    n = len(chars)
    while n and chars[n - 1] == ("%", True):
        n -= 1
    if not any(wild for _, wild in chars[:n]):
        text = "".join(c for c, _ in chars[:n])
        if n == len(chars):
            return Compare("!=" if negated else "=", term, text)
        return StartsWith(term, text, negated)
    normalized = "".join(c if wild or c not in "%_\\" else "\\" + c for c, wild in chars)
    return Like(term, normalized, negated)


# ---------------------------------------------------------------- columns

def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _is_column(node: exp.Expression) -> bool:
    node = _unparen(node)
    if isinstance(node, exp.Dot):
        return _is_column(node.this) and isinstance(node.expression, exp.Identifier)
    return isinstance(node, exp.Column) and not isinstance(node.this, exp.Star)


def _column_path(node: exp.Expression) -> tuple[str, ...]:
    """The names of a (possibly nested) column: `address.zip` and `"address"."zip"` are
    ("address", "zip"); a quoted name is one name, dots and all: `"my.col"` is ("my.col",)."""
    node = _unparen(node)
    if not _is_column(node):
        raise InvalidExpressionError(f"expected a column, got {_sql(node)!r}")
    if isinstance(node, exp.Dot):
        return _column_path(node.this) + (node.expression.name,)
    return tuple(part.name for part in node.parts)


# ---------------------------------------------------------------- literals

def _literal(node: exp.Expression) -> Any:
    node = _unparen(node)
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else _number(node.this)
    if isinstance(node, exp.Neg):
        value = _literal(node.this)
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise InvalidExpressionError(f"cannot negate {_sql(node.this)!r}")
        # `-Decimal` rounds to the default context's 28 digits; copy_negate is exact.
        return value.copy_negate() if isinstance(value, Decimal) else -value
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, (exp.Cast, exp.TryCast)):
        return _cast(_literal(node.this), node.to, node)
    if _is_column(node):
        raise InvalidExpressionError(f"expected a literal, got the column {column_name(_column_path(node))!r}")
    raise InvalidExpressionError(f"expected a literal value, got {_sql(node)!r} ({_kind(node)} not supported)")


def _number(text: str) -> int | Decimal | float:
    if re.fullmatch(r"\d+", text):
        return int(text)
    if "e" in text.lower():  # DuckDB's DOUBLE literal: rounded once to the nearest double
        return float(text)
    try:
        value = Decimal(text)  # exact whatever the digit count or exponent (the constructor never rounds)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidExpressionError(f"not a number: {text!r}")
    return value


def _cast(value: Any, to: exp.DataType, node: exp.Expression) -> Any:
    convert = _CASTS.get(to.this.name)
    if convert is None:
        raise InvalidExpressionError(f"CAST to {_sql(to)} is not supported: {_sql(node)!r}")
    if value is None:
        return None
    try:
        return convert(value, to)
    except (ValueError, TypeError, ArithmeticError, InvalidExpressionError) as e:
        reason = e if isinstance(e, (ValueError, InvalidExpressionError)) else type(e).__name__
        raise InvalidExpressionError(f"cannot cast {value!r} to {_sql(to)} in {_sql(node)!r}: {reason}") from None


def _exact(value: Any) -> Decimal:
    """A number, or a string holding one, as an exact Decimal."""
    if isinstance(value, (bool, int)):
        return Decimal(int(value))
    if isinstance(value, float):
        return Decimal(repr(value))  # the float's shortest text, as the literal was written
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError("not a number") from None
        if d.is_finite():
            return d
    raise ValueError("not a finite number")


# Integer casts: (bits, signed), checked as DuckDB does rather than wrapped.
_INT_BITS = {"TINYINT": (8, True), "SMALLINT": (16, True), "INT": (32, True), "BIGINT": (64, True),
             "HUGEINT": (128, True), "UTINYINT": (8, False), "USMALLINT": (16, False), "UINT": (32, False),
             "UBIGINT": (64, False)}


def _to_int(value: Any, to: exp.DataType) -> int:
    d = _exact(value).to_integral_value(ROUND_HALF_UP)  # exact: to_integral_value ignores the precision
    bits, signed = _INT_BITS[to.this.name]
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if d.adjusted() > 40 or not lo <= int(d) <= hi:  # adjusted() first: int(1E+999999999) would never end
        raise ValueError(f"out of range [{lo}, {hi}]")
    return int(d)


def _to_float(value: Any, _: exp.DataType) -> float:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise ValueError("not a number") from None
    return float(value)


def _to_float32(value: Any, to: exp.DataType) -> float:
    f = _to_float(value, to)
    try:
        return struct.unpack("<f", struct.pack("<f", f))[0]
    except OverflowError:
        raise ValueError("out of FLOAT's range") from None


_MAX_DECIMAL_PRECISION = 76  # decimal256


def _to_decimal(value: Any, to: exp.DataType) -> Decimal:
    """DECIMAL(p, s) rounds to s digits (half away from zero, as SQL does); DECIMAL(p) means s = 0
    and a bare DECIMAL is DuckDB's DECIMAL(18, 3)."""
    d = _exact(value)
    params = [int(p.this.this if isinstance(p.this, exp.Literal) else p.name) for p in to.expressions]
    if not params:
        return d
    precision, scale = params[0], params[1] if len(params) > 1 else 0
    if not 0 <= scale <= precision <= _MAX_DECIMAL_PRECISION or precision == 0:
        raise ValueError(f"precision and scale must satisfy 0 <= scale <= precision <= {_MAX_DECIMAL_PRECISION}")
    if d and d.adjusted() >= precision - scale + 1:  # far too big; checked before quantize builds it
        raise ValueError("out of range")
    q = d.quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP, Context(prec=2 * _MAX_DECIMAL_PRECISION + 2))
    if q and q.adjusted() >= precision - scale:
        raise ValueError("out of range")
    return q


def _to_boolean(value: Any, _: exp.DataType) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "t", "1", "yes"):
        return True
    if text in ("false", "f", "0", "no"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _casts() -> dict[str, Callable[[Any, exp.DataType], Any]]:
    table: dict[str, Callable[[Any, exp.DataType], Any]] = {
        "DATE": lambda v, _: parse_date(_text(v)),
        "TIME": lambda v, _: parse_time(_text(v)),
        "BOOLEAN": _to_boolean,
    }
    for name in ("TIMESTAMP", "TIMESTAMPNTZ", "DATETIME", "DATETIME2", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"):
        table[name] = lambda v, _: _timestamp_literal(_text(v), assume_utc=False)
    for name in ("TIMESTAMPTZ", "TIMESTAMPLTZ"):  # zone-less: DuckDB would use the session zone, we use UTC
        table[name] = lambda v, _: _timestamp_literal(_text(v), assume_utc=True)
    table.update(dict.fromkeys(("DECIMAL", "BIGDECIMAL"), _to_decimal))
    table["DOUBLE"] = _to_float
    table.update(dict.fromkeys(("FLOAT", "REAL"), _to_float32))  # DuckDB's FLOAT is 4 bytes
    table.update(dict.fromkeys(_INT_BITS, _to_int))
    table.update(dict.fromkeys(("VARCHAR", "TEXT", "CHAR", "NVARCHAR", "NCHAR"),
                               lambda v, _: v if isinstance(v, str) else str(v)))
    table.update(dict.fromkeys(("BINARY", "VARBINARY", "BLOB"), lambda v, _: _text(v).encode()))
    return table


_CASTS = _casts()


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


# ---------------------------------------------------------------- date/time text (shared with the binder)

_DATE_RE = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*")
_TIME_PART = r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
_TIME_RE = re.compile(r"\s*" + _TIME_PART + r"\s*")
_TS_RE = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\s*" + _TIME_PART + r")?"
                    r"\s*(Z|UTC|[+-]\d{1,2}(?::?\d{2})?)?\s*", re.IGNORECASE)


def parse_date(text: str) -> dt.date:
    m = _DATE_RE.fullmatch(text)
    if not m:
        raise InvalidExpressionError(f"not a date (YYYY-MM-DD): {text!r}")
    try:
        return dt.date(*map(int, m.groups()))
    except ValueError as e:
        raise InvalidExpressionError(f"not a date: {text!r} ({e})") from None


def parse_time(text: str) -> dt.time:
    """HH:MM[:SS[.ffffff]]; time columns hold microseconds, so finer digits are rejected."""
    m = _TIME_RE.fullmatch(text)
    if not m:
        raise InvalidExpressionError(f"not a time (HH:MM:SS[.ffffff]): {text!r}")
    h, mi, s, frac = m.groups()
    frac = frac or ""
    if len(frac) > 6 and int(frac[6:]):
        raise InvalidExpressionError(f"time {text!r} is finer than a microsecond")
    try:
        return dt.time(int(h), int(mi), int(s or 0), int(frac[:6].ljust(6, "0")))
    except ValueError as e:
        raise InvalidExpressionError(f"not a time: {text!r} ({e})") from None


def parse_timestamp(text: str) -> tuple[dt.datetime, int]:
    """ISO-8601-ish text as (datetime with microseconds, extra nanoseconds 0..999).

    The datetime is aware when the text has an offset (`Z`, `UTC`, `+02`, `+02:00`, `+0200`).
    """
    m = _TS_RE.fullmatch(text)
    if not m:
        raise InvalidExpressionError(f"not a timestamp (YYYY-MM-DD[ HH:MM:SS[.f]][+HH:MM]): {text!r}")
    y, mo, d, h, mi, s, frac, offset = m.groups()
    frac = (frac or "").ljust(9, "0")
    try:
        value = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), int(frac[:6]))
        if offset:
            value = value.replace(tzinfo=_offset(offset))
    except ValueError as e:
        raise InvalidExpressionError(f"not a timestamp: {text!r} ({e})") from None
    return value, int(frac[6:])


def _offset(text: str) -> dt.tzinfo:
    if text.upper() in ("Z", "UTC"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:-2] if len(digits) > 2 else digits), int(digits[-2:]) if len(digits) > 2 else 0
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _timestamp_literal(text: str, *, assume_utc: bool = False) -> Any:
    """A datetime, or a nanosecond pa.TimestampScalar when the text is finer than a microsecond."""
    value, nanos = parse_timestamp(text)
    if assume_utc and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not nanos:
        return value
    aware = value.tzinfo is not None
    epoch = dt.datetime(1970, 1, 1, tzinfo=UTC if aware else None)
    micros = (value - epoch) // dt.timedelta(microseconds=1)
    return pa.scalar(micros * 1000 + nanos, pa.int64()).cast(pa.timestamp("ns", tz="UTC" if aware else None))
