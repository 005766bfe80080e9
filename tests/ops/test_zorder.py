"""Z-order (spec section 18): the vectorised Z-values equal a straightforward per-row reading of
the spec, for every key type, nulls and any number of columns."""

import datetime as dt
import math
import struct

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from lakehouse.errors import InvalidArgumentError
from lakehouse.format.schema import Schema
from lakehouse.ops.zorder import zorder_indices, zorder_values

INT64 = st.integers(-2**63, 2**63 - 1)
COLUMNS = {
    "i64": (pa.int64(), INT64),
    "i16": (pa.int16(), st.integers(-2**15, 2**15 - 1)),
    "f64": (pa.float64(), st.floats(allow_nan=True, allow_infinity=True)),
    "f32": (pa.float32(), st.floats(width=32, allow_nan=True, allow_infinity=True)),
    "s": (pa.string(), st.text(max_size=12)),
    "b": (pa.binary(), st.binary(max_size=12)),
    "flag": (pa.bool_(), st.booleans()),
    "day": (pa.date32(), st.dates()),
    "ts": (pa.timestamp("us"), st.datetimes()),
    "dec": (pa.decimal128(10, 2), st.decimals(min_value=-10**7, max_value=10**7, places=2, allow_nan=False)),
}


def _key(value, arrow_type) -> int:
    """Step 1 of section 18, one value at a time."""
    if pa.types.is_boolean(arrow_type):
        return int(value)
    if pa.types.is_string(arrow_type) or pa.types.is_binary(arrow_type):
        raw = value.encode() if isinstance(value, str) else value
        return int.from_bytes(raw[:8].ljust(8, b"\0"), "big")
    if pa.types.is_decimal(arrow_type):
        value = int(value.scaleb(arrow_type.scale))
    if pa.types.is_floating(arrow_type):
        bits = struct.unpack(">Q", struct.pack(">d", math.nan if math.isnan(value) else value))[0]
        return (~bits & (2**64 - 1)) if bits >> 63 else bits | 1 << 63
    if isinstance(value, dt.datetime):
        ticks = (value - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
    elif isinstance(value, dt.date):
        ticks = (value - dt.date(1970, 1, 1)).days
    else:
        ticks = value
    return (ticks + 2**64) % 2**64 ^ 1 << 63


def _reference(columns: dict, types: dict) -> list[int]:
    k = len(columns)
    b = 64 // k
    scaled = []
    for name, values in columns.items():
        keys = [None if v is None else _key(v, types[name]) for v in values]
        present = [u for u in keys if u is not None]
        low = min(present, default=0)
        s = max(0, (max(present, default=0) - low).bit_length() - b)
        scaled.append([0 if u is None else (u - low) >> s for u in keys])
    out = []
    for row in zip(*scaled):
        z = 0
        for i in range(b):
            for c, v in enumerate(row):
                z |= ((v >> i) & 1) << (i * k + k - 1 - c)
        out.append(z)
    return out


@st.composite
def tables(draw):
    names = draw(st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=4, unique=True))
    n = draw(st.integers(1, 25))
    data = {name: draw(st.lists(st.none() | COLUMNS[name][1], min_size=n, max_size=n)) for name in names}
    return data, {name: COLUMNS[name][0] for name in names}


@settings(max_examples=150, deadline=None)
@given(tables())
def test_z_values_follow_the_spec(case):
    data, types = case
    table = pa.table({n: pa.array(v, types[n]) for n, v in data.items()})
    schema = Schema.from_arrow(table.schema)
    ids = [schema.find(n).id for n in data]
    assert zorder_values(table, ids, schema).tolist() == _reference(data, types)
    order = zorder_indices(table, ids, schema).to_pylist()
    reference = _reference(data, types)
    assert order == sorted(range(len(reference)), key=lambda i: reference[i])  # stable, ascending


def test_one_column_orders_as_a_sort():
    values = [5, -3, None, 2**40, -2**63, 0]
    table = pa.table({"x": pa.array(values, pa.int64())})
    schema = Schema.from_arrow(table.schema)
    order = zorder_indices(table, [1], schema).to_pylist()
    assert [values[i] for i in order] == [None, -2**63, -3, 0, 5, 2**40]  # a null ties with the minimum (stable)


def test_floats_keep_their_total_order():
    values = [math.inf, -0.0, 0.0, -math.inf, math.nan, -1.5, 1e-300]
    table = pa.table({"x": pa.array(values, pa.float64())})
    schema = Schema.from_arrow(table.schema)
    order = zorder_indices(table, [1], schema).to_pylist()
    assert [repr(values[i]) for i in order] == ["-inf", "-1.5", "-0.0", "0.0", "1e-300", "inf", "nan"]


def test_two_columns_cluster_in_quadrants():
    # On a 4x4 grid, the first 4 rows in Z-order are the low quadrant of both columns.
    xs, ys = np.meshgrid(np.arange(4), np.arange(4))
    table = pa.table({"x": xs.ravel(), "y": ys.ravel()})
    schema = Schema.from_arrow(table.schema)
    first = zorder_indices(table, [1, 2], schema).to_pylist()[:4]
    assert {(int(xs.ravel()[i]), int(ys.ravel()[i])) for i in first} == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_wide_decimals_are_refused():
    table = pa.table({"x": pa.array([1], pa.decimal128(20, 0))})
    with pytest.raises(InvalidArgumentError, match="precision up to 18"):
        zorder_values(table, [1], Schema.from_arrow(table.schema))


def test_column_count_is_bounded():
    table = pa.table({"x": [1]})
    with pytest.raises(InvalidArgumentError, match="1 to 64 columns"):
        zorder_values(table, [], Schema.from_arrow(table.schema))


def test_dates_and_timestamps_are_their_ticks():
    table = pa.table({"d": pa.array([dt.date(2024, 1, 2), dt.date(1969, 12, 31)])})
    schema = Schema.from_arrow(table.schema)
    assert zorder_indices(table, [1], schema).to_pylist() == [1, 0]
