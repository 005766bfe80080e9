"""JSON encoding of single typed values (spec/format.md, "Value encoding").

Partition values and column statistics in log entries use it. Encodings are exact: decimals
travel as strings, timestamps as integer counts of their unit, binary as base64.

    boolean                  JSON true / false
    int8, int16, int32, int64  JSON integer
    float32, float64         JSON number; NaN, +inf, -inf as the strings "NaN", "Infinity", "-Infinity"
    decimal(p, s)            string of the plain decimal with exactly s fraction digits: "123.45", "-0.50"
    string                   JSON string
    binary                   string: standard base64 with padding (RFC 4648 section 4)
    date                     string "YYYY-MM-DD"
    time                     JSON integer: microseconds since midnight
    timestamp(unit, tz)      JSON integer: count of `unit` since 1970-01-01T00:00:00 UTC (for a
                             tz-aware column the instant; for a naive one the wall time read as UTC)

Decoding uses the current type, so values written under a narrower type read as the wider one
(a date string decodes as midnight of a timestamp column).
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from decimal import Decimal
from typing import Any, Sequence

import pyarrow as pa

from ..errors import CorruptTableError
from .types import (
    BINARY, BOOLEAN, DATE, DECIMAL_CONTEXT, FLOAT_TYPES, INTEGER_TYPES, STRING, TICKS_PER_SECOND, TIME,
    DecimalType, TimestampType, Type, to_arrow_type,
)

UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1)


def decode_values(objs: Sequence[Any], t: Type) -> pa.Array:
    """An Arrow array of type `t` from encoded values (None stays null)."""
    try:
        if isinstance(t, TimestampType):  # as exact counts: a datetime would drop nanoseconds
            counts = [None if o is None else timestamp_count(o, t) for o in objs]
            return pa.array(counts, pa.int64()).cast(to_arrow_type(t))
        return pa.array([decode_value(o, t) for o in objs], type=to_arrow_type(t))
    except (TypeError, ValueError, ArithmeticError, OverflowError, pa.ArrowException) as e:
        raise CorruptTableError(f"a {t} value in the log is invalid: {e}") from None


def encode_value(value: Any, t: Type) -> Any:
    """The JSON form of a Python value of type `t` (None stays None)."""
    if value is None:
        return None
    if t in FLOAT_TYPES:
        value = float(value)
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(t, DecimalType):
        return format(Decimal(value).quantize(Decimal(1).scaleb(-t.scale), context=DECIMAL_CONTEXT), "f")
    if t == BINARY:
        return base64.b64encode(value).decode("ascii")
    if t == DATE:
        return value.isoformat()
    if t == TIME:
        return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
    if isinstance(t, TimestampType):
        if isinstance(value, int):  # already a count of the unit
            return value
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        micros = (value - _EPOCH) // dt.timedelta(microseconds=1)
        per = TICKS_PER_SECOND[t.unit]
        return micros * per // 1_000_000 if per < 1_000_000 else micros * (per // 1_000_000)
    if t == BOOLEAN:
        return bool(value)
    if t in INTEGER_TYPES:
        return int(value)
    return value


def decode_value(value: Any, t: Type) -> Any:
    """The Python value of an encoded value, under the (possibly widened) type `t`.
    Raises TypeError / ValueError on a value that does not fit."""
    if value is None:
        return None
    if t in FLOAT_TYPES:
        if isinstance(value, str):
            special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
            if value not in special:
                raise ValueError(f"bad float {value!r}")
            return special[value]
        return float(_json_number(value))
    if t in INTEGER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"bad integer {value!r}")
        return value
    if isinstance(t, DecimalType):
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TypeError(f"bad decimal {value!r}")
        return Decimal(value).quantize(Decimal(1).scaleb(-t.scale), context=DECIMAL_CONTEXT)
    if t == BOOLEAN:
        if not isinstance(value, bool):
            raise TypeError(f"bad boolean {value!r}")
        return value
    if t == STRING:
        return _string(value)
    if t == BINARY:
        return base64.b64decode(_string(value), validate=True)
    if t == DATE:
        return dt.date.fromisoformat(_string(value))
    if t == TIME:
        micros = _integer(value)
        if not 0 <= micros < 86_400_000_000:
            raise ValueError(f"bad time {value!r}")
        return (dt.datetime.min + dt.timedelta(microseconds=micros)).time()
    if isinstance(t, TimestampType):
        if isinstance(value, str):  # written while the column was a date
            day = dt.date.fromisoformat(value)
            stamp = dt.datetime(day.year, day.month, day.day)
            return stamp.replace(tzinfo=UTC) if t.tz else stamp
        return timestamp_from_count(_integer(value), t, up=False)
    raise TypeError(f"no statistics for {t}")


def _json_number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"bad number {value!r}")
    return value


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"bad integer {value!r}")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"bad string {value!r}")
    return value


def timestamp_count(value: Any, t: TimestampType) -> int:
    """The exact count of `t`'s unit an encoded timestamp stands for (a date string: its midnight)."""
    if isinstance(value, str):  # written while the column was a date
        days = (dt.date.fromisoformat(value) - _EPOCH.date()).days
        return days * 86_400 * TICKS_PER_SECOND[t.unit]
    return _integer(value)


def timestamp_from_count(count: int, t: TimestampType, *, up: bool) -> dt.datetime | None:
    per = TICKS_PER_SECOND[t.unit]
    micros = -(-count * 1_000_000 // per) if up else count * 1_000_000 // per
    try:
        value = _EPOCH + dt.timedelta(microseconds=micros)
    except OverflowError:
        return None
    return value.replace(tzinfo=UTC) if t.tz else value
