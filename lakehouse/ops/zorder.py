"""Z-order (spec/format.md, "Sort orders and Z-order"): rows ordered by one 64-bit value that
interleaves the bits of each column's order-preserving key, so rows close in every column land
close together and files cover small ranges of each (pruning works on all of them).

For the rows being ordered together (one compaction bin) and k columns, b = 64 // k bits each:

1. Each column's *key* u, an unsigned 64-bit integer that never decreases as the value grows:
   integers, dates, times and timestamps: their int64 value with the sign bit flipped; floats
   (float32 widened): the IEEE-754 bits, all bits flipped if negative, else the sign bit set
   (NaN made the positive quiet NaN, above +inf; -0.0 below 0.0); decimals (precision at most
   18): their unscaled integer, as integers; strings and binary: the first 8 bytes (UTF-8) big-endian, zero-padded; booleans
   0 and 1.
2. Scaled into b bits: with m and M the least and greatest key of the column's non-null rows,
   s = max(0, bit_length(M - m) - b) and v = (u - m) >> s. A null's v is 0 (nulls sort with
   the column's smallest values).
3. Interleaved most significant bit first, columns round robin in the order given: bit i of
   column c's v (i = 0 the least significant) is bit i*k + (k - 1 - c) of the Z-value.

Rows are then sorted by Z-value, stably (ties keep their order). Everything is vectorised with
numpy: a table lookup spreads the bits of 8 at a time.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyarrow as pa

from ..errors import InvalidArgumentError
from ..format.schema import Schema
from ..format.types import BINARY, BOOLEAN, FLOAT_TYPES, STRING, DecimalType, PrimitiveType, TimestampType, Field

_SIGN = np.uint64(1 << 63)
MAX_COLUMNS = 64
_BLOCK_ROWS = 1 << 16


def zorder_indices(table: pa.Table, field_ids: Sequence[int], schema: Schema) -> pa.Array:
    """The stable permutation putting `table`'s rows (columns named as in `schema`) in Z-order
    of the columns `field_ids`."""
    values = zorder_values(table, field_ids, schema)
    return pa.array(np.argsort(values, kind="stable"), pa.int64())


def zorder_values(table: pa.Table, field_ids: Sequence[int], schema: Schema) -> np.ndarray:
    """Each row's Z-value (uint64) over the columns `field_ids` (module docstring)."""
    k = len(field_ids)
    if not 1 <= k <= MAX_COLUMNS:
        raise InvalidArgumentError(f"Z-order takes 1 to {MAX_COLUMNS} columns, not {k}")
    bits = 64 // k
    scaled = []
    for fid in field_ids:
        field = schema.field_by_id(fid)
        key, valid = np.empty(table.num_rows, np.uint64), np.empty(table.num_rows, bool)
        start = 0
        for chunk in table.column(field.name).chunks:  # chunk by chunk: temporaries stay small
            key[start:start + len(chunk)] = column_key(chunk, field)
            valid[start:start + len(chunk)] = np.asarray(chunk.is_valid())
            start += len(chunk)
        scaled.append(scale(key, valid, bits))
    return interleave(scaled, bits)


def column_key(column: pa.Array, field: Field) -> np.ndarray:
    """The column's order-preserving unsigned keys (step 1); a null's key is arbitrary."""
    t = field.type
    if t == BOOLEAN:
        return np.asarray(column.fill_null(False), dtype=np.uint64)
    if t in (STRING, BINARY):
        return _prefix_key(column.cast(pa.large_binary()))
    if isinstance(t, DecimalType):
        return _decimal_key(column, field)
    if t in FLOAT_TYPES:
        return _float_key(np.asarray(column.cast(pa.float64()).fill_null(0.0)))
    if isinstance(t, (PrimitiveType, TimestampType)):  # ints, date, time, timestamp: their ticks
        width = pa.int64() if isinstance(t, TimestampType) or column.type.bit_width == 64 else pa.int32()
        ticks = column.view(width) if pa.types.is_temporal(column.type) else column
        key = np.array(ticks.cast(pa.int64()).fill_null(0)).view(np.uint64)  # a copy of our own
        key ^= _SIGN
        return key
    raise InvalidArgumentError(f"cannot Z-order by {field.name!r}: a {t} column has no order")


def _float_key(x: np.ndarray) -> np.ndarray:
    x = np.where(np.isnan(x), np.nan, x)  # one NaN: the positive quiet one (and a copy of our own)
    raw = x.view(np.uint64)
    negative = (raw & _SIGN).astype(bool)
    np.invert(raw, out=raw, where=negative)
    np.bitwise_or(raw, _SIGN, out=raw, where=~negative)
    return raw


def _decimal_key(column: pa.Array, field: Field) -> np.ndarray:
    """The unscaled integer as an integer key (exact: precision at most 18 fits an int64)."""
    if field.type.precision > 18 or not pa.types.is_decimal128(column.type):
        raise InvalidArgumentError(f"cannot Z-order by {field.name!r}: Z-order takes decimals of precision up "
                                   f"to 18, not {field.type}")
    words = np.frombuffer(column.buffers()[1], np.int64).reshape(-1, 2)  # little-endian 128-bit values
    unscaled = words[column.offset:column.offset + len(column), 0]  # the low word is the value
    return unscaled.view(np.uint64) ^ _SIGN


def _prefix_key(column: pa.Array) -> np.ndarray:
    """The first 8 bytes of each value, big-endian, zero-padded."""
    n = len(column)
    _, offsets_buf, data_buf = column.buffers()
    offsets = np.frombuffer(offsets_buf, np.int64)[column.offset:column.offset + n + 1]
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None and data_buf.size else np.zeros(1, np.uint8)
    starts, lengths = offsets[:-1], offsets[1:] - offsets[:-1]
    key = np.zeros(n, np.uint64)
    for j in range(8):
        byte = data[np.minimum(starts + j, len(data) - 1)]
        key |= np.where(lengths > j, byte, 0).astype(np.uint64) << np.uint64(56 - 8 * j)
    return key


def scale(key: np.ndarray, valid: np.ndarray, bits: int) -> np.ndarray:
    """Keys shifted into `bits` bits over the range of the valid ones (step 2); nulls 0."""
    if not valid.any():
        return np.zeros(len(key), np.uint64)
    present = key if valid.all() else key[valid]
    low, high = present.min(), present.max()
    shift = max(0, int(high - low).bit_length() - bits)
    key -= low  # in place: `key` is the caller's own; nulls may wrap, and are zeroed below
    key >>= np.uint64(shift)
    key[~valid] = 0
    return key


def _spread_table(k: int) -> np.ndarray:
    """For every byte x, x's bit i moved to bit i*k (bits past 63 dropped: they are zero in use)."""
    table = [sum(((x >> i) & 1) << (i * k) for i in range(8)) & (2**64 - 1) for x in range(256)]
    return np.array(table, np.uint64)


def interleave(scaled: Sequence[np.ndarray], bits: int) -> np.ndarray:
    """Bit i of column c's value as bit i*k + (k - 1 - c) of the result (step 3), computed in
    blocks of rows so the temporaries stay small beside the result."""
    k = len(scaled)
    spread = _spread_table(k)
    z = np.zeros(len(scaled[0]), np.uint64)
    for start in range(0, len(z), _BLOCK_ROWS):
        out = z[start:start + _BLOCK_ROWS]
        for c, v in enumerate(scaled):
            block = v[start:start + _BLOCK_ROWS]
            for t in range((bits + 7) // 8):
                chunk = ((block >> np.uint64(8 * t)) & np.uint64(0xFF)).astype(np.intp)
                out |= spread[chunk] << np.uint64(8 * t * k + k - 1 - c)
    return z
