"""Partition transforms against the Iceberg spec: hash vectors (Appendix B), truncate examples,
time transforms before 1970, and the soundness of every projection (a property test)."""

from __future__ import annotations

import datetime as dt
import random
import struct
from decimal import Context, Decimal

import mmh3
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse.errors import InvalidPartitionSpecError
from lakehouse.expressions.arrow_filter import evaluate
from lakehouse.expressions.tree import (
    FALSE, TRUE, And, BoundRef, Compare, In, IsNull, Like, StartsWith,
)
from lakehouse.format.transforms import (
    DAY, HOUR, IDENTITY, MONTH, VOID, YEAR, BucketTransform, Transform, TruncateTransform,
    hash_bytes, murmur3_hash, parse_transform,
)
from lakehouse.format.types import (
    BINARY, BOOLEAN, DATE, FLOAT32, FLOAT64, INT8, INT16, INT32, INT64, STRING, TIME,
    DecimalType, ListType, StructType, TimestampType, Field, to_arrow_type,
)

TS, TSTZ, TS_NS, TSTZ_NS = TimestampType("us"), TimestampType("us", "UTC"), TimestampType("ns"), TimestampType("ns", "UTC")
TS_S, TS_MS = TimestampType("s"), TimestampType("ms", "UTC")
DEC = DecimalType(9, 2)
UTC = dt.timezone.utc
EXACT = Context(prec=100)


def arr(values, t) -> pa.Array:
    return pa.array(values, to_arrow_type(t))


def ticks(values, t: TimestampType) -> pa.Array:
    return pa.array(values, pa.int64()).view(to_arrow_type(t))


# ---------------------------------------------------------------- Appendix B

SPEC_VECTORS = [
    (INT32, [34], 2017239379),
    (INT64, [34], 2017239379),
    (DecimalType(4, 2), [Decimal("14.20")], -500754589),
    (DATE, [dt.date(2017, 11, 16)], -653330422),
    (TIME, [dt.time(22, 31, 8)], -662762989),
    (TS, [dt.datetime(2017, 11, 16, 22, 31, 8)], -2047944441),
    (TSTZ, [dt.datetime(2017, 11, 16, 14, 31, 8, tzinfo=dt.timezone(dt.timedelta(hours=-8)))], -2047944441),
    (TS, [dt.datetime(2017, 11, 16, 22, 31, 8, 1)], -1207196810),
    (STRING, ["iceberg"], 1210000089),
    (BINARY, [b"\x00\x01\x02\x03"], -188683207),
]


@pytest.mark.parametrize("t,values,expected", SPEC_VECTORS, ids=[str(v[0]) for v in SPEC_VECTORS])
@pytest.mark.parametrize("copies", [1, 1000], ids=["one", "vectorized"])
def test_spec_hash_vectors(t, values, expected, copies):
    assert murmur3_hash(arr(values * copies, t), t).to_pylist() == [expected] * copies


@pytest.mark.parametrize("t", [TS_NS, TSTZ_NS])
def test_nanosecond_timestamps_hash_as_micros(t):
    # Spec: 2017-11-16T22:31:08.000001001 -> -1207196810 (ns are floored to micros before hashing).
    assert murmur3_hash(ticks([1510871468000001001] * 100, t), t).to_pylist() == [-1207196810] * 100
    assert murmur3_hash(ticks([1510871468000000000], t), t).to_pylist() == [-2047944441]
    before = murmur3_hash(ticks([-1001], t), t)[0].as_py()  # floor(-1001 ns) = -2 us
    assert before == mmh3.hash(struct.pack("<q", -2))


@pytest.mark.parametrize("t,value", [(TS_S, 1510871468), (TS_MS, 1510871468000)])
def test_coarse_timestamps_hash_as_micros(t, value):
    assert murmur3_hash(ticks([value], t), t).to_pylist() == [-2047944441]


@pytest.mark.parametrize("t,value,n,expected", [
    (INT32, 34, 100, 79), (INT64, 34, 100, 79), (DATE, dt.date(2017, 11, 16), 100, 26),
    (TIME, dt.time(22, 31, 8), 100, 59), (STRING, "iceberg", 100, 89), (BINARY, b"\x00\x01\x02\x03", 100, 41),
    (INT32, 0, 2, 0), (INT32, 8, 10, 3),
])
def test_bucket_values(t, value, n, expected):
    assert BucketTransform(n).apply(arr([value], t), t).to_pylist() == [expected]
    assert BucketTransform(n).apply(arr([value] * 100, t), t).to_pylist() == [expected] * 100


def _ref_hash(b: bytes | None) -> int | None:
    return None if b is None else mmh3.hash(b)


@pytest.mark.parametrize("arrow_type", [pa.binary(), pa.large_binary(), pa.binary_view()])
def test_hash_bytes_matches_murmur3_reference(arrow_type):
    rnd = random.Random(3)
    # (values, longest, share of values up to 1 KB): short, long, and mostly short with a few long ones
    for n, longest, outliers in [(64, 3, 0), (500, 8, 0), (3000, 40, 0), (2000, 700, 0), (5000, 12, 0.01),
                                 (300_000, 12, 0.0001)]:
        values = [None if rnd.random() < 0.1 else
                  rnd.randbytes(rnd.randint(0, 1000 if rnd.random() < outliers else longest)) for _ in range(n)]
        a = pa.array(values, arrow_type)
        assert murmur3_hash(a, BINARY).to_pylist() == [_ref_hash(v) for v in values]
        lo, hi = n // 3, n // 3 + n // 2  # a slice: offsets and validity start mid-buffer
        assert murmur3_hash(a.slice(lo, hi - lo), BINARY).to_pylist() == [_ref_hash(v) for v in values[lo:hi]]


def test_hash_strings_are_utf8_and_chunked_or_dictionary_inputs_work():
    words = ["", "a", "é", "🎉x", "iceberg", "测试raul试测", "x" * 300]
    values = [random.Random(i).choice(words) * (i % 4) for i in range(5000)] + [None]
    expected = [None if v is None else mmh3.hash(v.encode()) for v in values]
    assert murmur3_hash(pa.array(values), STRING).to_pylist() == expected
    assert murmur3_hash(pa.array(values, pa.large_string()), STRING).to_pylist() == expected
    chunked = pa.chunked_array([pa.array(values[:100]), pa.array(values[100:])])
    assert murmur3_hash(chunked, STRING).to_pylist() == expected
    b = BucketTransform(7)
    dictionary = pa.array(values).dictionary_encode()
    assert b.apply(dictionary, STRING).to_pylist() == b.apply(pa.array(values), STRING).to_pylist()


def test_hash_bytes_handles_values_at_the_very_end_of_the_buffer():
    for tail in range(0, 12):  # the last value's tail sits in the buffer's last bytes
        values = [b"abcdefgh"] * 70 + [bytes(range(tail))]
        assert hash_bytes(pa.array(values)).to_pylist() == [mmh3.hash(v, signed=False) for v in values]


@pytest.mark.parametrize("t", [INT8, INT16, INT32, INT64])
def test_integers_hash_as_longs(t):
    bits = to_arrow_type(t).bit_width
    rnd = random.Random(bits)
    values = [None if rnd.random() < 0.1 else rnd.randint(-2 ** (bits - 1), 2 ** (bits - 1) - 1) for _ in range(2000)]
    values += [-2 ** (bits - 1), 2 ** (bits - 1) - 1, 0, -1]
    expected = [None if v is None else mmh3.hash(struct.pack("<q", v)) for v in values]
    assert murmur3_hash(arr(values, t), t).to_pylist() == expected


def _decimal_bytes(d: Decimal, scale: int) -> bytes:
    unscaled = int(d.scaleb(scale, EXACT))
    size = max(1, (unscaled + (unscaled < 0)).bit_length() // 8 + 1)
    return unscaled.to_bytes(size, "big", signed=True)


@pytest.mark.parametrize("t", [DecimalType(4, 2), DecimalType(18, 3), DecimalType(38, 10), DecimalType(50, 5)])
def test_decimals_hash_their_minimal_twos_complement_bytes(t):
    rnd = random.Random(t.precision)
    top = 10 ** t.precision - 1
    unscaled = [0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769, top, -top]
    unscaled = [u for u in unscaled if abs(u) <= top]
    unscaled += [rnd.randint(-top, top) for _ in range(500)] + [rnd.randint(-300, 300) for _ in range(200)]
    values = [Decimal(u).scaleb(-t.scale, EXACT) for u in unscaled] + [None]
    expected = [None if v is None else mmh3.hash(_decimal_bytes(v, t.scale)) for v in values]
    assert murmur3_hash(arr(values, t), t).to_pylist() == expected
    assert _decimal_bytes(Decimal("14.20"), 2) == b"\x05\x8c"


# ---------------------------------------------------------------- truncate (spec examples)

@pytest.mark.parametrize("t", [INT8, INT16, INT32, INT64])
def test_truncate_integers(t):
    assert TruncateTransform(10).apply(arr([1, -1, 0, 10, -10, 19, -11, None], t), t).to_pylist() == \
        [0, -10, 0, 10, -10, 10, -20, None]


def test_truncate_is_exact_below_the_source_types_minimum():
    # The exact v - (v mod W), not saturated at the source's minimum: widening keeps the value.
    lowest = -2 ** 31
    assert TruncateTransform(10).apply(arr([lowest, lowest + 7, lowest + 8], INT32), INT32).to_pylist() == \
        [lowest - 2, lowest - 2, lowest + 8]
    assert TruncateTransform(1000).apply(arr([-5, 5], INT8), INT8).to_pylist() == [-1000, 0]
    assert TruncateTransform(10).result_type(INT8) == INT64
    # Only int64, the widest integer, saturates (monotonic, never wraps).
    assert TruncateTransform(10).apply(arr([-2 ** 63], INT64), INT64).to_pylist() == [-2 ** 63]
    low9 = DecimalType(2, 0)
    assert TruncateTransform(1000).apply(arr([Decimal(-99)], low9), low9).to_pylist() == [Decimal(-1000)]


@settings(max_examples=200, deadline=None)
@given(width=st.integers(1, 2**31 - 1), value=st.integers(-2**31, 2**31 - 1), data=st.data())
def test_truncate_does_not_depend_on_the_source_width(width, value, data):
    narrow = data.draw(st.sampled_from([t for t in (INT8, INT16, INT32)
                                        if -2 ** (to_arrow_type(t).bit_width - 1) <= value < 2 ** (to_arrow_type(t).bit_width - 1)]
                                       or [INT32]))
    f = TruncateTransform(width)
    assert f.apply(arr([value], narrow), narrow).to_pylist() == f.apply(arr([value], INT64), INT64).to_pylist() \
        == [value - value % width]
    for p in (12, 18, 30, 38, 50):
        d = Decimal(value).scaleb(-2)
        got = {str(f.apply(arr([d], DecimalType(q, 2)), DecimalType(q, 2))[0].as_py()) for q in (p, p + 20)}
        assert got == {str(Decimal(value - value % width).scaleb(-2))}


def test_truncate_decimal_strings_and_binary():
    assert TruncateTransform(50).apply(arr([Decimal("10.65"), Decimal("-0.01"), None], DEC), DEC).to_pylist() == \
        [Decimal("10.50"), Decimal("-0.50"), None]
    big = DecimalType(38, 0)
    v = Decimal(10 ** 37 + 123)
    assert TruncateTransform(100).apply(arr([v], big), big).to_pylist() == [Decimal(10 ** 37 + 100)]
    assert TruncateTransform(3).apply(arr(["iceberg", "ic", "", None, "aé🎉xyz"], STRING), STRING).to_pylist() == \
        ["ice", "ic", "", None, "aé🎉"]
    assert TruncateTransform(3).apply(arr([b"\x01\x02\x03\x04\x05", b"\x01"], BINARY), BINARY).to_pylist() == \
        [b"\x01\x02\x03", b"\x01"]


# ---------------------------------------------------------------- year / month / day / hour

def test_time_transforms_of_dates_floor_before_1970():
    dates = arr([dt.date(1970, 1, 1), dt.date(1969, 12, 31), dt.date(1969, 1, 1), dt.date(1968, 12, 31),
                 dt.date(2017, 11, 16), dt.date(1, 1, 1), None], DATE)
    assert YEAR.apply(dates, DATE).to_pylist() == [0, -1, -1, -2, 47, -1969, None]
    assert MONTH.apply(dates, DATE).to_pylist() == [0, -1, -12, -13, 574, -1969 * 12, None]
    assert DAY.apply(dates, DATE).to_pylist() == dates.to_pylist()


@pytest.mark.parametrize("t", [TS_S, TS_MS, TS, TSTZ, TS_NS, TSTZ_NS])
def test_time_transforms_of_timestamps_floor_before_1970(t):
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[t.unit]
    values = ticks([0, -1, -86_400 * per_second, -86_400 * per_second - 1, 1510871468 * per_second, None], t)
    assert YEAR.apply(values, t).to_pylist() == [0, -1, -1, -1, 47, None]
    assert MONTH.apply(values, t).to_pylist() == [0, -1, -1, -1, 574, None]
    assert DAY.apply(values, t).to_pylist() == [dt.date(1970, 1, 1), dt.date(1969, 12, 31), dt.date(1969, 12, 31),
                                               dt.date(1969, 12, 30), dt.date(2017, 11, 16), None]
    assert HOUR.apply(values, t).to_pylist() == [0, -1, -24, -25, 419686, None]


def test_tz_aware_timestamps_are_utc_instants():
    t = TimestampType("us", "America/New_York")
    # 2017-11-16T23:30-05:00 is 2017-11-17T04:30Z: the UTC day, not the local one.
    value = pa.array([dt.datetime(2017, 11, 17, 4, 30, tzinfo=UTC)], to_arrow_type(t))
    assert DAY.apply(value, t).to_pylist() == [dt.date(2017, 11, 17)]
    assert HOUR.apply(value, t).to_pylist() == [419692]


def test_time_transforms_match_python_datetime():
    rnd = random.Random(5)
    epoch = dt.datetime(1970, 1, 1)
    values = [epoch + dt.timedelta(microseconds=rnd.randint(-62_000_000_000_000_000, 250_000_000_000_000_000) // 1000 * 1000)
              for _ in range(3000)]
    a = arr(values, TS)
    assert YEAR.apply(a, TS).to_pylist() == [v.year - 1970 for v in values]
    assert MONTH.apply(a, TS).to_pylist() == [(v.year - 1970) * 12 + v.month - 1 for v in values]
    assert DAY.apply(a, TS).to_pylist() == [v.date() for v in values]
    assert HOUR.apply(a, TS).to_pylist() == [(v - epoch) // dt.timedelta(hours=1) for v in values]


# ---------------------------------------------------------------- types, names, parsing

ALL_TYPES = [BOOLEAN, INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, STRING, BINARY, DATE, TIME, DEC,
             TS, TSTZ, TS_NS, TSTZ_NS]
NESTED = [ListType(2, INT32), StructType((Field(id=3, name="a", type=INT32),))]
VALID = {
    "identity": set(ALL_TYPES),
    "void": set(ALL_TYPES),
    "bucket[4]": {INT8, INT16, INT32, INT64, STRING, BINARY, DATE, TIME, DEC, TS, TSTZ, TS_NS, TSTZ_NS},
    "truncate[4]": {INT8, INT16, INT32, INT64, STRING, BINARY, DEC},
    "year": {DATE, TS, TSTZ, TS_NS, TSTZ_NS},
    "month": {DATE, TS, TSTZ, TS_NS, TSTZ_NS},
    "day": {DATE, TS, TSTZ, TS_NS, TSTZ_NS},
    "hour": {TS, TSTZ, TS_NS, TSTZ_NS},
}
SAMPLE = {
    BOOLEAN: [True, None], INT8: [-3, None], INT16: [-3, None], INT32: [-3, None], INT64: [-3, None],
    FLOAT32: [1.5, None], FLOAT64: [float("nan"), None], STRING: ["abcdef", None], BINARY: [b"abcdef", None],
    DATE: [dt.date(1969, 3, 1), None], TIME: [dt.time(1, 2, 3), None], DEC: [Decimal("-1.25"), None],
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_can_transform_result_type_and_apply_for_every_type(name):
    transform = parse_transform(name)
    assert str(transform) == transform.name == name
    for t in ALL_TYPES + NESTED:
        ok = t in VALID[name]
        assert transform.can_transform(t) == ok, (name, t)
        if not ok:
            if t in ALL_TYPES:
                with pytest.raises(InvalidPartitionSpecError):
                    transform.apply(arr(SAMPLE.get(t, [None]), t), t)
            continue
        expected = {"bucket[4]": INT32, "year": INT32, "month": INT32, "hour": INT32, "day": DATE}.get(name, t)
        if name == "truncate[4]" and t not in (STRING, BINARY):  # room for the exact result
            expected = INT64 if t != DEC else DecimalType(DEC.precision + 1, DEC.scale)
        assert transform.result_type(t) == expected
        values = arr(SAMPLE[t], t) if t in SAMPLE else ticks([-1, None], t)
        out = transform.apply(values, t)
        assert out.type == to_arrow_type(expected) and len(out) == 2
        assert out[1].as_py() is None and (out[0].is_valid or transform == VOID)


def test_parse_transform_forms_and_errors():
    assert parse_transform(" Bucket[16] ") == BucketTransform(16)
    assert parse_transform("TRUNCATE[4]") == TruncateTransform(4)
    assert parse_transform("day") is DAY and parse_transform("identity") is IDENTITY
    assert {parse_transform(str(t)) for t in (YEAR, MONTH, HOUR, VOID)} == {YEAR, MONTH, HOUR, VOID}
    for bad in ["bucket[0]", "bucket[-2]", "truncate[0]", "bucket[x]", "bucket", "days", "foo", "", "bucket[4294967296]"]:
        with pytest.raises(InvalidPartitionSpecError):
            parse_transform(bad)
    with pytest.raises(InvalidPartitionSpecError):
        BucketTransform(0)


def test_transforms_are_hashable_values():
    assert BucketTransform(16) == BucketTransform(16) != BucketTransform(8)
    assert len({BucketTransform(16), BucketTransform(16), TruncateTransform(16), DAY, DAY}) == 3
    with pytest.raises(AttributeError):
        BucketTransform(16).num_buckets = 3  # frozen


# ---------------------------------------------------------------- projection, by example

SRC = BoundRef(1, ("x",), STRING)


def _part(transform: Transform, t) -> BoundRef:
    return BoundRef(1000, ("partition", "1000"), transform.result_type(t))


def test_truncate_string_prefix_projection_follows_iceberg():
    w = TruncateTransform(3)
    p = _part(w, STRING)
    assert w.project(StartsWith(SRC, "ab"), p) == StartsWith(p, "ab")
    assert w.project(StartsWith(SRC, "abc"), p) == Compare("=", p, pa.scalar("abc"))
    assert w.project(StartsWith(SRC, "abcd"), p) == Compare("=", p, pa.scalar("abc"))
    assert w.project(StartsWith(SRC, "ab", negated=True), p) == StartsWith(p, "ab", negated=True)
    assert w.project(StartsWith(SRC, "abc", negated=True), p) == Compare("!=", p, pa.scalar("abc"))
    assert w.project(StartsWith(SRC, "abcd", negated=True), p) == TRUE
    assert w.project(Like(SRC, "a%c"), p) == TRUE


def test_range_projections_tighten_strict_bounds_on_discrete_types():
    ref = BoundRef(1, ("x",), INT64)
    w = TruncateTransform(10)
    p = _part(w, INT64)
    assert w.project(Compare("<", ref, pa.scalar(20)), p) == Compare("<=", p, pa.scalar(10))
    assert w.project(Compare("<=", ref, pa.scalar(20)), p) == Compare("<=", p, pa.scalar(20))
    assert w.project(Compare(">", ref, pa.scalar(19)), p) == Compare(">=", p, pa.scalar(20))
    assert w.project(Compare("!=", ref, pa.scalar(19)), p) == TRUE
    # At the type's edge there is no neighbour: the bound stays (still sound).
    assert w.project(Compare("<", ref, pa.scalar(-2 ** 63)), p) == Compare("<=", p, pa.scalar(-2 ** 63))
    ts = BoundRef(1, ("ts",), TS)
    d = _part(DAY, TS)
    midnight = pa.scalar(dt.datetime(2024, 3, 2), pa.timestamp("us"))
    assert DAY.project(Compare("<", ts, midnight), d) == Compare("<=", d, pa.scalar(dt.date(2024, 3, 1)))
    assert DAY.project(Compare(">=", ts, midnight), d) == Compare(">=", d, pa.scalar(dt.date(2024, 3, 2)))


def test_bucket_projects_only_equality_in_and_null_checks():
    ref = BoundRef(1, ("x",), INT32)
    b = BucketTransform(16)
    p = _part(b, INT32)
    bucket_of_34 = b.apply(arr([34], INT32), INT32)[0]
    assert b.project(Compare("=", ref, pa.scalar(34, pa.int32())), p) == Compare("=", p, bucket_of_34)
    assert b.project(Compare("<", ref, pa.scalar(34, pa.int32())), p) == TRUE
    assert b.project(In(ref, (pa.scalar(34, pa.int32()),) * 3), p) == Compare("=", p, bucket_of_34)
    assert b.project(In(ref, (pa.scalar(1, pa.int32()),), negated=True), p) == TRUE
    assert b.project(IsNull(ref), p) == IsNull(p)
    assert b.project(IsNull(ref, negated=True), p) == IsNull(p, negated=True)
    assert b.project(Compare("=", ref, pa.scalar(None, pa.int32())), p) == FALSE
    assert b.project(In(ref, (pa.scalar(None, pa.int32()),)), p) == FALSE


def test_identity_carries_every_predicate_and_void_none():
    ref = BoundRef(1, ("x",), STRING)
    p = _part(IDENTITY, STRING)
    for pred in [Compare("!=", ref, pa.scalar("a")), In(ref, (pa.scalar("a"),), negated=True),
                 StartsWith(ref, "a", negated=True), Like(ref, "a%b"), IsNull(ref)]:
        projected = IDENTITY.project(pred, p)
        assert projected.term == p and type(projected) is type(pred)
        assert VOID.project(pred, _part(VOID, STRING)) == TRUE
    assert IDENTITY.project(And(IsNull(ref), IsNull(ref)), p) == TRUE  # only leaves project


# ---------------------------------------------------------------- projection soundness (property)

def _int_values(t):
    bits = to_arrow_type(t).bit_width
    lo, hi = -2 ** (bits - 1), 2 ** (bits - 1) - 1
    return st.one_of(st.integers(lo, hi), st.integers(-40, 40), st.sampled_from([lo, lo + 1, hi - 1, hi]))


_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _ticks_values(t: TimestampType):
    per_s = _PER_SECOND[t.unit]
    limit = 9 * 10 ** 18 if t.unit == "ns" else 10 ** 10 * per_s
    near_boundary = st.builds(lambda k, unit, d: k * unit + d, st.integers(-2000, 2000),
                              st.sampled_from([3600 * per_s, 86_400 * per_s, 31 * 86_400 * per_s]), st.integers(-2, 2))
    return st.one_of(st.integers(-limit, limit), near_boundary)


DEC38 = DecimalType(38, 4)
VALUES = {
    INT8: _int_values(INT8), INT16: _int_values(INT16), INT32: _int_values(INT32), INT64: _int_values(INT64),
    STRING: st.text(alphabet="ab\u00e9\U0001f389", max_size=6),
    BINARY: st.binary(max_size=6),
    DATE: st.one_of(st.dates(), st.dates(dt.date(1968, 12, 1), dt.date(1971, 2, 1))),
    TIME: st.times(),
    DEC: st.integers(-10 ** 9 + 1, 10 ** 9 - 1).map(lambda u: Decimal(u).scaleb(-2)),
    DEC38: st.one_of(st.integers(-10 ** 38 + 1, 10 ** 38 - 1), st.integers(-3000, 3000)).map(
        lambda u: Decimal(u).scaleb(-4, EXACT)),
    FLOAT64: st.floats(allow_nan=True, width=64),
    BOOLEAN: st.booleans(),
    **{tt: _ticks_values(tt) for tt in (TS_S, TS_MS, TS, TSTZ, TS_NS, TSTZ_NS)},
}


def _nudge(t, v, d: int):
    """A value near `v` (so that boundaries such as x = v - 1 get tested); `v` if none fits."""
    try:
        if t in (INT8, INT16, INT32, INT64):
            bits = to_arrow_type(t).bit_width
            return v + d if -2 ** (bits - 1) <= v + d < 2 ** (bits - 1) else v
        if isinstance(t, TimestampType):
            return v + d
        if t == DATE:
            return v + dt.timedelta(days=d)
        if isinstance(t, DecimalType):
            moved = v + Decimal(d).scaleb(-t.scale, EXACT)
            return moved if abs(moved.scaleb(t.scale, EXACT)) < 10 ** t.precision else v
        if t in (STRING, BINARY):  # a prefix of v, or v extended
            return v[:max(0, len(v) + d)] if d <= 0 else v + v[:d]
    except OverflowError:
        pass
    return v


TRUNCATES = [TruncateTransform(w) for w in (1, 2, 3, 10, 1000)]
COMBOS = (
    [(IDENTITY, t) for t in (INT32, STRING, DATE, TSTZ, FLOAT64, DEC, BOOLEAN)] + [(VOID, INT32), (VOID, STRING)]
    + [(tr, t) for tr in (YEAR, MONTH, DAY) for t in (DATE, TS_S, TSTZ, TS_NS)]
    + [(HOUR, t) for t in (TS_S, TS_MS, TSTZ, TS_NS)]
    + [(BucketTransform(n), t) for n in (1, 16) for t in (INT64, STRING, BINARY, DEC, DATE, TIME, TS_NS)]
    + [(tr, t) for tr in TRUNCATES for t in (INT8, INT32, INT64, STRING, BINARY, DEC, DEC38)]
)


def _column(values, t) -> pa.Array:
    return ticks(values, t) if isinstance(t, TimestampType) else arr(values, t)


@st.composite
def cases(draw, t):
    values = draw(st.lists(st.one_of(st.none(), VALUES[t]), min_size=1, max_size=20))
    pool = [v for v in values if v is not None]
    steps = st.one_of(st.sampled_from([-1, 0, 1]), st.integers(-3, 3))
    near = st.builds(lambda v, d: _nudge(t, v, d), st.sampled_from(pool), steps) if pool else VALUES[t]
    literal = st.one_of(near, near, VALUES[t])
    ref = BoundRef(1, ("x",), t)

    def scalar(v):
        return _column([v], t)[0]

    kinds = ["compare", "in", "null"] + (["prefix", "prefix"] if t == STRING else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "compare":
        pred = Compare(draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="])), ref, scalar(draw(literal)))
    elif kind == "in":
        items = draw(st.lists(st.one_of(literal, st.none()), min_size=1, max_size=4))
        pred = In(ref, tuple(scalar(v) for v in items), negated=draw(st.booleans()))
    elif kind == "null":
        pred = IsNull(ref, negated=draw(st.booleans()))
    else:
        pred = StartsWith(ref, draw(literal), negated=draw(st.booleans()))
    return _column(values, t), pred


@pytest.mark.parametrize("transform,t", COMBOS, ids=[f"{tr}-{t}" for tr, t in COMBOS])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_projection_is_sound(transform, t, data):
    """Any value matching the predicate has a partition value matching the projection."""
    column, pred = data.draw(cases(t))
    part_ref = BoundRef(1000, ("p",), transform.result_type(t))
    projected = transform.project(pred, part_ref)
    partition = transform.apply(column, t)
    rows = pc.fill_null(evaluate(pred, pa.table({"x": column})), False)
    parts = pc.fill_null(evaluate(projected, pa.table({"p": partition})), False)
    missed = pc.and_(rows, pc.invert(parts))
    assert not pc.any(missed).as_py(), (pred, projected, column.filter(missed))
