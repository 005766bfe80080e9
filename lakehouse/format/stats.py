"""Per-file column statistics: computed on write, kept in the log as JSON, pruned on read.

Every leaf primitive column (reached through structs only; list and map contents have none)
gets `ColumnStats(min, max, null_count, nan_count)`:

- `min` / `max`: the smallest / largest non-null value, NaN excluded; None when unknown (no
  such value, or not representable). Strings and binary longer than `truncate_length` (code
  points / bytes) keep a bound, not the value: `min` is the prefix of that length, `max` the
  prefix with its last code point (byte) incremented, carrying leftwards past U+10FFFF (0xFF);
  if every position is at its maximum there is no upper bound and `max` is None. UTF-8 byte
  order equals code point order, so these bounds hold under Arrow's comparisons. Surrogates
  are skipped when incrementing (U+D7FF -> U+E000).
- Timestamps finer than a microsecond are held as datetime, so `min` rounds down and `max`
  rounds up to the microsecond (still bounds).
- Every bound lies inside its type's range (ints, timestamps as int64 counts of their unit,
  decimals within their precision, float32 bounds exactly float32): one that would not (a
  nanosecond `max` rounded up past int64) is dropped, never clamped inwards (it would stop being
  a bound). NaN is never a bound.
- `null_count`: null values. `nan_count`: NaN values for float columns, None for the others.

JSON encoding (the `stats` object of an add action), keyed by the decimal field id:

    {"<field id>": {"null_count": <int>, "min": <value>, "max": <value>, "nan_count": <int>}}

`null_count` is always present; `min`, `max` and `nan_count` are left out when unknown (None),
and `nan_count` is written for float columns only. Values use the encoding of `values.py`
(spec/format.md, "Value encoding").

Decoding uses the schema's current type, so widened columns read older stats: int8/16/32 ->
a wider int, float32 -> float64, decimal(p, s) -> decimal(p' > p, s), and date -> timestamp (a
"YYYY-MM-DD" string read as midnight UTC). Entries for field ids the schema no longer has are
dropped. A malformed value (wrong JSON type, bad syntax) raises CorruptTableError; a
well-formed bound outside its type's range decodes as None (unknown), so a table holding one
still reads and pruning never skips a file because of it. A `max` finer than its type (a
nanosecond count, a decimal with more fraction digits) is rounded up, a `min` down.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import CorruptTableError
from .columns import column_at
from .schema import Schema
from .types import (
    BINARY, BOOLEAN, DATE, DECIMAL_CONTEXT, FLOAT32, FLOAT_TYPES, INT8, INT16, INT32, INT64, INTEGER_TYPES,
    STRING, TIME, DecimalType, TimestampType, Type, to_arrow_type,
)
from .values import decode_value, encode_value, timestamp_from_count

__all__ = ["ColumnStats", "compute_stats", "stats_from_json", "stats_struct_array", "stats_to_json"]

_MAX_CODE_POINT = 0x10FFFF
_INT_RANGE = {t: (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
              for t, bits in ((INT8, 8), (INT16, 16), (INT32, 32), (INT64, 64))}
_DAY_MICROS = 86_400_000_000
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # spec section 7: no exponent, no NaN


@dataclass(frozen=True, slots=True)
class ColumnStats:
    """Statistics of one column in one data file (Python values of the column's type)."""

    min: Any
    max: Any
    null_count: int
    nan_count: int | None = None


# ---------------------------------------------------------------- computing

def compute_stats(table: pa.Table, schema: Schema, *, truncate_length: int = 16) -> dict[int, ColumnStats]:
    """Statistics of every leaf primitive column of `schema` present in `table` (by name)."""
    out: dict[int, ColumnStats] = {}
    for path, field in schema.leaf_fields():
        column = column_at(table, path)
        if column is not None:
            out[field.id] = _column_stats(column, field.type, truncate_length)
    return out


def _column_stats(column: pa.ChunkedArray, t: Type, truncate_length: int) -> ColumnStats:
    at = to_arrow_type(t)
    if column.type != at:  # dictionary-encoded, large_string, narrower ints...: compare as the column type
        column = column.cast(at)
    nulls = column.null_count
    nans = None
    if t in FLOAT_TYPES:
        nans = pc.sum(pc.is_nan(column)).as_py() or 0
    if nulls + (nans or 0) == len(column):
        return ColumnStats(None, None, nulls, nans)
    mm = pc.min_max(column)
    lo, hi = _py(mm["min"], t, up=False), _py(mm["max"], t, up=True)
    if t == STRING or t == BINARY:
        lo, hi = _truncate_min(lo, truncate_length), _truncate_max(hi, truncate_length)
    return ColumnStats(lo, hi, nulls, nans)


def _py(scalar: pa.Scalar, t: Type, *, up: bool) -> Any:
    """A Python value for a min (up=False) or max (up=True); None if it cannot be one."""
    if not scalar.is_valid:
        return None
    if isinstance(t, TimestampType):
        value = timestamp_from_count(scalar.value, t, up=up)
        return value if value is not None and in_range(value, t) else None
    try:
        value = scalar.as_py()
    except (ValueError, OverflowError):  # dates beyond year 9999 and the like
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _truncate_min(value: str | bytes | None, length: int) -> str | bytes | None:
    return value if value is None or len(value) <= length else value[:length]


def _truncate_max(value: str | bytes | None, length: int) -> str | bytes | None:
    if value is None or len(value) <= length:
        return value
    if isinstance(value, bytes):
        head = bytearray(value[:length])
        while head and head[-1] == 0xFF:
            head.pop()
        if not head:
            return None
        head[-1] += 1
        return bytes(head)
    head = value[:length]
    while head and ord(head[-1]) == _MAX_CODE_POINT:
        head = head[:-1]
    if not head:
        return None
    nxt = ord(head[-1]) + 1
    if 0xD800 <= nxt <= 0xDFFF:  # surrogates are not characters
        nxt = 0xE000
    return head[:-1] + chr(nxt)


# ---------------------------------------------------------------- JSON

def stats_to_json(stats: Mapping[int, ColumnStats], schema: Schema) -> dict:
    """The JSON-safe encoding described in the module docstring."""
    out = {}
    for fid, s in stats.items():
        field = schema.field_by_id(fid)
        if field is None:
            continue
        entry: dict[str, Any] = {"null_count": int(s.null_count)}
        if s.min is not None:
            entry["min"] = encode_value(s.min, field.type)
        if s.max is not None:
            entry["max"] = encode_value(s.max, field.type)
        if s.nan_count is not None:
            entry["nan_count"] = int(s.nan_count)
        out[str(fid)] = entry
    return out


def stats_from_json(obj: Mapping[str, Any] | None, schema: Schema) -> dict[int, ColumnStats]:
    """Decode `stats_to_json` output into the schema's current types (see the module docstring)."""
    out: dict[int, ColumnStats] = {}
    for key, entry in (obj or {}).items():
        try:
            fid = int(key)
        except ValueError:
            raise CorruptTableError(f"statistics key {key!r} is not a field id") from None
        field = schema.field_by_id(fid)
        if field is None or not _has_stats(field.type):
            continue
        if not isinstance(entry, Mapping):
            raise CorruptTableError(f"statistics of field {fid} are not an object: {entry!r}")
        try:
            out[fid] = ColumnStats(
                min=_decode_bound(entry.get("min"), field.type, up=False),
                max=_decode_bound(entry.get("max"), field.type, up=True),
                null_count=_count(entry.get("null_count", 0)),
                nan_count=None if entry.get("nan_count") is None else _count(entry["nan_count"]),
            )
        except (TypeError, ValueError, ArithmeticError, InvalidOperation, OverflowError) as e:
            raise CorruptTableError(f"statistics of field {fid} ({field.type}) are invalid: {entry!r} ({e})") from None
    return out


def _has_stats(t: Type) -> bool:
    return t in FLOAT_TYPES or t in INTEGER_TYPES or t in (BOOLEAN, STRING, BINARY, DATE, TIME) \
        or isinstance(t, (DecimalType, TimestampType))


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT_RANGE[INT64][1]:
        raise ValueError(f"bad count {value!r}")
    return value


def _decode_bound(value: Any, t: Type, *, up: bool) -> Any:
    """A min (up=False) or max (up=True) from the log; None when it lies outside the type's range.
    Raises TypeError / ValueError / InvalidOperation on a malformed value."""
    if value is None:
        return None
    if isinstance(t, TimestampType) and not isinstance(value, str):
        count = _int(value)
        if not _fits_int(count, INT64):
            return None
        value = timestamp_from_count(count, t, up=up)
    elif isinstance(t, DecimalType):
        if isinstance(value, bool) or not isinstance(value, (str, int)) \
                or isinstance(value, str) and not _PLAIN_DECIMAL.fullmatch(value):
            raise ValueError(f"bad decimal {value!r}")
        exact = Decimal(value)
        if exact.adjusted() >= t.precision - t.scale:  # too large to quantize, and out of range anyway
            return None
        value = exact.quantize(Decimal(1).scaleb(-t.scale), rounding=ROUND_CEILING if up else ROUND_FLOOR,
                               context=DECIMAL_CONTEXT)
    elif t == TIME and not (isinstance(value, int) and not isinstance(value, bool)
                            and 0 <= value < _DAY_MICROS):
        _int(value)
        return None
    else:
        value = decode_value(value, t)
    return value if value is not None and in_range(value, t) else None


def in_range(value: Any, t: Type) -> bool:
    """Whether a (non-null) statistics bound is a value of type `t` (NaN is not a bound)."""
    if t in _INT_RANGE:
        return _fits_int(value, t)
    if t in FLOAT_TYPES:
        if math.isnan(value):
            return False
        if t == FLOAT32:  # a float64 bound that float32 cannot hold exactly would round inwards
            try:
                return struct.unpack("<f", struct.pack("<f", value))[0] == value
            except OverflowError:
                return False
        return True
    if isinstance(t, TimestampType):
        return _fits_int(encode_value(value, t), INT64)
    if isinstance(t, DecimalType):
        return abs(value.scaleb(t.scale, context=DECIMAL_CONTEXT)) < 10 ** t.precision
    return True


def _fits_int(value: int, t: Type) -> bool:
    lo, hi = _INT_RANGE[t]
    return lo <= value <= hi


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"bad integer {value!r}")
    return value


# ---------------------------------------------------------------- the file index column

def stats_struct_array(per_file: Sequence[Mapping[int, ColumnStats]], schema: Schema) -> pa.StructArray:
    """The typed `stats` column of the file index: one child per leaf field id (named str(id)),
    each {min, max, null_count, nan_count}; a file without stats for a field has a null child."""
    n = len(per_file)
    children, fields = [], []
    for _, field in schema.leaf_fields():
        at = to_arrow_type(field.type)
        mins, maxs, nulls, nans, missing = [], [], [], [], []
        for stats in per_file:
            s = stats.get(field.id)
            missing.append(s is None)
            mins.append(None if s is None else s.min)
            maxs.append(None if s is None else s.max)
            nulls.append(None if s is None else s.null_count)
            nans.append(None if s is None else s.nan_count)
        parts = [_typed(mins, field.type, at), _typed(maxs, field.type, at),
                 pa.array(nulls, pa.int64()), pa.array(nans, pa.int64())]
        child_type = _child_type(at)
        children.append(pa.StructArray.from_arrays(parts, fields=list(child_type), mask=pa.array(missing, pa.bool_())))
        fields.append(pa.field(str(field.id), child_type))
    if not fields:
        return pa.array([{}] * n, pa.struct([]))
    return pa.StructArray.from_arrays(children, fields=fields)


def _child_type(at: pa.DataType) -> pa.StructType:
    return pa.struct([("min", at), ("max", at), ("null_count", pa.int64()), ("nan_count", pa.int64())])


def _typed(values: list, t: Type, at: pa.DataType) -> pa.Array:
    if isinstance(t, TimestampType):  # via exact integer counts: lossless for ns and tz-aware columns
        return pa.array([None if v is None else encode_value(v, t) for v in values], pa.int64()).cast(at)
    return pa.array(values, at)
