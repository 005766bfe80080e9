"""JSON encoding of single typed values (spec/format.md, "Value encoding").

Used for partition values and column statistics in log entries. Encodings are exact:
decimals travel as strings, timestamps as integer counts of their unit, binary as base64.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from decimal import Decimal
from typing import Any, Sequence

import pyarrow as pa

from .types import (
    BINARY, BOOLEAN, DATE, FLOAT_TYPES, STRING, TIME, DecimalType, TimestampType, Type, to_arrow_type,
)

_EPOCH_DATE = dt.date(1970, 1, 1)
_UNIT_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def encode_value(value: Any, t: Type) -> Any:
    """A JSON-safe form of `value` (a Python value of type `t`, or an int for timestamps)."""
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
        return str(value)
    if t == BINARY:
        return base64.b64encode(bytes(value)).decode("ascii")
    if t == DATE:
        return value.isoformat()
    if t == TIME:
        return value.hour * 3_600_000_000 + value.minute * 60_000_000 + value.second * 1_000_000 + value.microsecond
    if isinstance(t, TimestampType):
        return value if isinstance(value, int) else _timestamp_count(value, t.unit)
    return value


def decode_values(objs: Sequence[Any], t: Type) -> pa.Array:
    """An Arrow array of type `t` from encoded values (None stays null)."""
    arrow_type = to_arrow_type(t)
    if isinstance(t, TimestampType):
        return pa.array(objs, type=pa.int64()).cast(arrow_type)
    if t == TIME:
        return pa.array(objs, type=pa.int64()).cast(arrow_type)
    if t == DATE:
        return pa.array([None if o is None else dt.date.fromisoformat(o) for o in objs], type=arrow_type)
    if isinstance(t, DecimalType):
        return pa.array([None if o is None else Decimal(o) for o in objs], type=arrow_type)
    if t == BINARY:
        return pa.array([None if o is None else base64.b64decode(o) for o in objs], type=arrow_type)
    if t in FLOAT_TYPES:
        return pa.array([_decode_float(o) for o in objs], type=arrow_type)
    if t in (STRING, BOOLEAN):
        return pa.array(objs, type=arrow_type)
    return pa.array(objs, type=arrow_type)


def decode_value(obj: Any, t: Type) -> Any:
    return decode_values([obj], t)[0].as_py()


def _decode_float(o: Any) -> float | None:
    if o is None:
        return None
    if isinstance(o, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[o]
    return float(o)


def _timestamp_count(value: dt.datetime, unit: str) -> int:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    delta = value - dt.datetime(1970, 1, 1)
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if unit == "ns":
        return micros * 1000
    return micros // (1_000_000 // _UNIT_PER_SECOND[unit])
