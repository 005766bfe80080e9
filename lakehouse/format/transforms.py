"""Partition transforms, as the Iceberg table spec defines them ("Partition Transforms",
"Truncate Transform Details", "Appendix B: 32-bit Hash Requirements").

Every transform is a frozen value that knows the source types it accepts, its result type, how to
apply itself to an Arrow array (vectorized; nulls stay null) and how to project a bound predicate on
its source column into an *inclusive* predicate on the partition value: any row matching the
predicate has a partition value matching the projection.

Differences from the spec, all deliberate:
- `day` returns a `date` (days since 1970-01-01 as date32) rather than an `int`, as pyiceberg shows it.
- Integer types narrower than `int` (int8, int16) behave as `int`. `truncate` gives the exact
  v - (v mod W) in a result type wide enough for it (int64 for integers, a decimal with room for
  the extra digit), so int32 min with W=10 gives -2147483650 whatever the source's width (Java
  would wrap); only int64 within W of its minimum saturates there, keeping the transform monotonic.
- Nanosecond timestamps hash as microseconds (floor), as the v3 spec requires.
"""

from __future__ import annotations

import dataclasses
import decimal
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

import mmh3
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidPartitionSpecError
from ..expressions.tree import (
    FALSE, TRUE, BoundRef, Compare, Expr, In, IsNull, Like, StartsWith,
)
from .types import (
    BINARY, DATE, INT32, INT64, INTEGER_TYPES, MAX_DECIMAL_PRECISION, STRING, TICKS_PER_SECOND, TIME, DecimalType,
    TimestampType, Type, is_primitive, to_arrow_type,
)

# ---------------------------------------------------------------- Murmur3 x86 32-bit (Appendix B)
# Written with Arrow kernels on uint32 arrays (they wrap on overflow, as the hash needs), so a
# million values cost a few dozen kernel calls rather than a million Python calls.

_U32 = pa.uint32()


def _u32(v: int) -> pa.Scalar:
    return pa.scalar(v, _U32)


_C1, _C2, _FIVE, _N = _u32(0xCC9E2D51), _u32(0x1B873593), _u32(5), _u32(0xE6546B64)
_F1, _F2, _ZERO = _u32(0x85EBCA6B), _u32(0xC2B2AE35), _u32(0)
_TAIL_MASKS = pa.array([0, 0xFF, 0xFFFF, 0xFFFFFF], _U32)
_EXACT = decimal.Context(prec=100)  # decimal arithmetic without rounding (precision <= 76)
_CHUNK = 1 << 17  # rows per pass: temporaries stay in cache
_SMALL = 64         # below this many values one mmh3 call per value beats ~100 kernel calls
_LONG_BLOCKS = 64   # values over 256 bytes are hashed one by one: the block loop runs per 4 bytes
_MEAN_BYTES = 64    # above this mean length, hashing one by one wins (and the word views stay small)


def _rotl(x, r: int):
    return pc.bit_wise_or(pc.shift_left(x, _u32(r)), pc.shift_right(x, _u32(32 - r)))


def _mix_k(k):
    return pc.multiply(_rotl(pc.multiply(k, _C1), 15), _C2)


def _mix_h(h, k):
    return pc.add(pc.multiply(_rotl(pc.bit_wise_xor(h, k), 13), _FIVE), _N)


def _fmix(h, length):
    h = pc.bit_wise_xor(h, length)
    h = pc.multiply(pc.bit_wise_xor(h, pc.shift_right(h, _u32(16))), _F1)
    h = pc.multiply(pc.bit_wise_xor(h, pc.shift_right(h, _u32(13))), _F2)
    return pc.bit_wise_xor(h, pc.shift_right(h, _u32(16)))


def hash_int64(values: pa.Array) -> pa.Array:
    """Murmur3 of each value's 8 little-endian bytes, as uint32 (nulls stay null)."""
    if len(values) > _CHUNK:
        return _chunked(hash_int64, values)
    u = values.cast(pa.int64()).view(pa.uint64())
    lo = u.cast(_U32, safe=False)
    hi = pc.shift_right(u, pa.scalar(32, pa.uint64())).cast(_U32)
    h = _mix_h(_ZERO, _mix_k(lo))
    return _fmix(_mix_h(h, _mix_k(hi)), _u32(8))


def _chunked(f, values: pa.Array) -> pa.Array:
    return pa.concat_arrays([f(values.slice(i, _CHUNK)) for i in range(0, len(values), _CHUNK)])


def hash_bytes(values: pa.Array) -> pa.Array:
    """Murmur3 of each binary/string value's bytes (UTF-8 for strings), as uint32 (nulls stay null)."""
    if pa.types.is_binary_view(values.type) or pa.types.is_string_view(values.type):
        values = values.cast(pa.large_binary())
    if len(values) < _SMALL:
        return _hash_each(values)
    return _chunked(_hash_bytes, values) if len(values) > _CHUNK else _hash_bytes(values)


def _hash_each(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else mmh3.hash(v, signed=False) for v in values.to_pylist()], _U32)


def _hash_bytes(values: pa.Array) -> pa.Array:
    n = len(values)
    large = pa.types.is_large_binary(values.type) or pa.types.is_large_string(values.type)
    ot = pa.int64() if large else pa.int32()
    offsets = pa.Array.from_buffers(ot, n + 1, [None, values.buffers()[1]], offset=values.offset)
    lo, hi = offsets[0].as_py(), offsets[n].as_py()
    data = values.buffers()[2]
    # The values' bytes plus up to 3 more, so that a tail can be read as a whole word.
    size = min(data.size, hi + 3) - lo if data is not None else 0
    if size < 8 or size > _MEAN_BYTES * n:  # long values: one mmh3 call each costs less than the block loop
        return _hash_each(values)
    region = data.slice(lo, size)
    starts = pc.subtract(offsets.slice(0, n), pa.scalar(lo, ot))
    lengths = pc.subtract(offsets.slice(1), offsets.slice(0, n))
    nblocks, rem = pc.shift_right(lengths, pa.scalar(2, ot)), pc.bit_wise_and(lengths, pa.scalar(3, ot))
    tail_end = pc.add(pc.subtract(pc.add(starts, lengths), rem), 4)
    # One by one: long values (the block loop runs once per 4 bytes of the longest value) and
    # tails in the buffer's last 3 bytes (a word read would run past it).
    slow = pc.or_(pc.greater(nblocks, _LONG_BLOCKS), pc.and_(pc.not_equal(rem, 0), pc.greater(tail_end, size)))
    if values.null_count:
        slow = pc.and_(slow, values.is_valid())
    n_slow = pc.sum(slow).as_py() or 0
    raw_starts = starts
    if n_slow or values.null_count:  # read nothing for these (a null may span any bytes)
        skip = pc.or_(slow, values.is_null()) if values.null_count else slow
        starts, nblocks, rem = (pc.if_else(skip, pa.scalar(0, ot), a) for a in (starts, nblocks, rem))
    # Word i of view a is bytes a+4i..a+4i+3: the 4 views, end to end, give every unaligned word.
    counts = [(size - a) // 4 for a in range(4)]
    words = pa.concat_arrays([pa.Array.from_buffers(_U32, c, [None, region.slice(a)]) for a, c in enumerate(counts)])
    bases = pa.array([0, counts[0], counts[0] + counts[1], counts[0] + counts[1] + counts[2]], ot)
    first = pc.add(pc.take(bases, pc.bit_wise_and(starts, pa.scalar(3, ot))), pc.shift_right(starts, pa.scalar(2, ot)))
    h = _hash_blocks(words, first, nblocks)
    # Tail: up to 3 trailing bytes, zero-extended little-endian; k = 0 (no tail) leaves h unchanged.
    at = pc.min_element_wise(pc.add(first, nblocks), len(words) - 1)
    k = pc.bit_wise_and(pc.take(words, at), pc.take(_TAIL_MASKS, rem))
    h = _fmix(pc.bit_wise_xor(h, _mix_k(k)), lengths.cast(_U32, safe=False))
    if n_slow:
        h = pc.replace_with_mask(h, slow, pa.array(_slow_hashes(region, raw_starts, lengths, slow), _U32))
    if values.null_count:
        h = pc.if_else(values.is_valid(), h, pa.scalar(None, _U32))
    return h


def _zeros(n: int) -> pa.Array:
    return pa.repeat(_ZERO, n)


def _hash_blocks(words: pa.Array, first, nblocks) -> pa.Array:
    """Murmur3's block loop for values whose block j is words[first + j].

    Step j updates the rows with more than j blocks; finished rows stay in the working set (frozen
    by if_else) until fewer than half are still running, and are then written out, so a few long
    values cost about what they hash rather than a pass over every row per block.
    """
    n = len(first)
    most = pc.max(nblocks).as_py() or 0
    out = _zeros(n)
    done_at, all_live = -1, pc.min(nblocks).as_py()  # working set: rows with more than `done_at` blocks
    pos, nb, h = first, nblocks, out
    for j in range(most):
        if j < all_live:
            h = _mix_h(h, _mix_k(pc.take(words, pos)))
        else:  # finished rows read a harmless in-bounds word and keep their hash
            at = pc.min_element_wise(pos, len(words) - 1)
            h = pc.if_else(pc.greater(nb, j), _mix_h(h, _mix_k(pc.take(words, at))), h)
        pos = pc.add(pos, 1)
        going = pc.greater(nb, j + 1)
        still = pc.sum(going).as_py() or 0
        if still and still * 2 >= len(h):
            continue
        members = pc.greater(nblocks, done_at)
        if not still:
            return h if done_at < 0 else pc.replace_with_mask(out, members, h)
        rows = pc.and_(members, pc.less_equal(nblocks, j + 1))
        out = pc.replace_with_mask(out, rows, pc.filter(h, pc.invert(going)))
        pos, nb, h = (pc.filter(a, going) for a in (pos, nb, h))
        done_at, all_live = j + 1, pc.min(nb).as_py()
    return out


def _slow_hashes(data: pa.Buffer, starts, lengths, slow) -> list[int]:
    raw = memoryview(data)
    pairs = zip(pc.filter(starts, slow).to_pylist(), pc.filter(lengths, slow).to_pylist())
    return [mmh3.hash(bytes(raw[s:s + n]), signed=False) for s, n in pairs]


def _hash_decimals(values: pa.Array, t: DecimalType) -> pa.Array:
    """Murmur3 of the minimum-length two's-complement big-endian bytes of each unscaled value."""
    width = values.type.byte_width
    big_endian = pc.binary_reverse(values.view(pa.binary(width)).cast(pa.binary()))
    # Bytes needed: one more for every power 2^(8k-1) the magnitude reaches (within the precision).
    nbytes = pa.repeat(pa.scalar(1, pa.int8()), len(values))
    for k in range(1, width):
        bound = 2 ** (8 * k - 1)
        if bound >= 10 ** t.precision:
            break
        hi, lo = (pa.scalar(Decimal(b).scaleb(-t.scale, _EXACT), values.type) for b in (bound, -bound))
        nbytes = pc.add(nbytes, pc.or_(pc.greater_equal(values, hi), pc.less(values, lo)).cast(pa.int8()))
    nbytes = nbytes.fill_null(1)
    h = _zeros(len(values))
    for k in pc.unique(nbytes).to_pylist():
        rows = pc.equal(nbytes, k)
        part = hash_bytes(pc.binary_slice(pc.filter(big_endian, rows), width - k, width))
        h = pc.replace_with_mask(h, rows, part)
    return pc.if_else(values.is_valid(), h, pa.scalar(None, _U32)) if values.null_count else h


def murmur3_hash(arr: pa.Array | pa.ChunkedArray, source_type: Type) -> pa.Array:
    """The spec's 32-bit hash of each value (signed int32, as Appendix B prints them)."""
    return _hash(_prepare(arr, source_type), source_type).cast(pa.int32(), safe=False)


def _hash(arr: pa.Array, t: Type) -> pa.Array:
    if t in INTEGER_TYPES:
        return hash_int64(arr.cast(pa.int64()))
    if t == DATE:
        return hash_int64(arr.view(pa.int32()).cast(pa.int64()))
    if t == TIME or isinstance(t, TimestampType):
        return hash_int64(_to_micros(arr, t))
    if t in (STRING, BINARY):
        return hash_bytes(arr)
    if isinstance(t, DecimalType):
        return _hash_decimals(arr, t)
    raise InvalidPartitionSpecError(f"cannot hash {t}")


# ---------------------------------------------------------------- integer helpers



def _floor_div(v: pa.Array, d: int) -> pa.Array:
    """Floor division of int64 values (Arrow's `divide` truncates toward zero)."""
    q = pc.divide(v, pa.scalar(d, pa.int64()))
    negative_rest = pc.less(pc.subtract(v, pc.multiply(q, pa.scalar(d, pa.int64()))), 0)
    return pc.subtract(q, negative_rest.cast(pa.int64()))


def _ticks(arr: pa.Array) -> pa.Array:
    """The int64 ticks of a time or timestamp array (UTC for tz-aware timestamps)."""
    return arr.cast(pa.int64()) if not pa.types.is_timestamp(arr.type) else arr.view(pa.int64())


def _to_micros(arr: pa.Array, t: Type) -> pa.Array:
    unit = arr.type.unit
    v = _ticks(arr).cast(pa.int64())
    if unit == "ns":
        return _floor_div(v, 1000)
    return v if unit == "us" else pc.multiply(v, pa.scalar(1_000_000 // TICKS_PER_SECOND[unit], pa.int64()))


def _prepare(arr: pa.Array | pa.ChunkedArray, t: Type) -> pa.Array:
    """One contiguous array of the format's Arrow type for `t` (large strings/binaries kept as they are)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], arr.type)
    target = to_arrow_type(t)
    if arr.type == target or (t in (STRING, BINARY) and arr.type in (pa.large_string(), pa.large_binary())):
        return arr
    return arr.cast(target)


# ---------------------------------------------------------------- transforms

@dataclass(frozen=True, slots=True)
class Transform:
    """A partition transform; `str(t)` is its Iceberg name ("day", "bucket[16]")."""

    # Order-preserving (x <= y implies f(x) <= f(y)): range predicates project to ranges.
    monotonic: ClassVar[bool] = False

    @property
    def name(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.name

    def can_transform(self, source_type: Type) -> bool:
        raise NotImplementedError

    def result_type(self, source_type: Type) -> Type:
        return source_type

    def preserves_promotion(self, old: Type, new: Type) -> bool:
        """True if widening the source column from `old` to `new` (see types.can_widen) leaves
        every partition value unchanged; Iceberg refuses the promotion otherwise. Of the widenings
        allowed, only date -> timestamp changes a value here (identity's type, bucket's hash input)."""
        return not (old == DATE and isinstance(new, TimestampType))

    def apply(self, arr: pa.Array | pa.ChunkedArray, source_type: Type) -> pa.Array:
        """The partition value of every element (null for null)."""
        if not self.can_transform(source_type):
            raise InvalidPartitionSpecError(f"transform {self} does not apply to {source_type}")
        if pa.types.is_dictionary(arr.type):
            # Transform each distinct value once, then spread the results by the indices.
            if isinstance(arr, pa.ChunkedArray):
                chunks = [self.apply(c, source_type) for c in arr.chunks]
                return pa.concat_arrays(chunks) if chunks else self.apply(pa.array([], arr.type.value_type), source_type)
            return pc.take(self.apply(arr.dictionary, source_type), arr.indices)
        out = self._apply(_prepare(arr, source_type), source_type)
        return out.cast(to_arrow_type(self.result_type(source_type)))

    def _apply(self, arr: pa.Array, t: Type) -> pa.Array:
        raise NotImplementedError

    def project(self, pred: Expr, partition_ref: BoundRef) -> Expr:
        """Inclusive projection of a bound leaf predicate on the source column onto the partition value."""
        t = pred.term.type
        if not self.can_transform(t):
            return TRUE
        if isinstance(pred, IsNull):
            return IsNull(partition_ref, pred.negated)
        if isinstance(pred, Compare):
            v = _literal(pred.value, t)
            if v is None:
                return TRUE
            if not v.is_valid:          # a comparison with null matches nothing
                return FALSE
            return self._project_compare(pred.op, v, t, partition_ref)
        if isinstance(pred, In) and not pred.negated:
            return self._project_in(pred.values, t, partition_ref)
        return TRUE

    def _project_compare(self, op: str, v: pa.Scalar, t: Type, ref: BoundRef) -> Expr:
        if op == "=":
            return Compare("=", ref, self._one(v, t))
        if op == "!=" or not self.monotonic:
            return TRUE
        # f monotonic: x < v  =>  x <= v - 1  =>  f(x) <= f(v - 1)   (v itself if no neighbour)
        strict = op in ("<", ">")
        bound = _neighbour(v, t, -1 if op[0] == "<" else 1) if strict else v
        return Compare("<=" if op[0] == "<" else ">=", ref, self._one(bound, t))

    def _project_in(self, values: tuple, t: Type, ref: BoundRef) -> Expr:
        arr = _literal_array(values, t)
        if arr is None:
            return TRUE
        mapped = pc.unique(self.apply(arr.drop_null(), t))
        if len(mapped) == 0:
            return FALSE
        return Compare("=", ref, mapped[0]) if len(mapped) == 1 else In(ref, tuple(mapped))

    def _one(self, v: pa.Scalar, t: Type) -> pa.Scalar:
        return self.apply(pa.array([v], to_arrow_type(t)), t)[0]


@dataclass(frozen=True, slots=True)
class IdentityTransform(Transform):
    monotonic: ClassVar[bool] = True

    @property
    def name(self) -> str:
        return "identity"

    def can_transform(self, source_type: Type) -> bool:
        return is_primitive(source_type)

    def _apply(self, arr: pa.Array, t: Type) -> pa.Array:
        return arr

    def project(self, pred: Expr, partition_ref: BoundRef) -> Expr:
        # The partition value is the source value: every predicate carries over as it is.
        if isinstance(pred, (Compare, In, IsNull, StartsWith, Like)) and self.can_transform(pred.term.type):
            return dataclasses.replace(pred, term=partition_ref)
        return TRUE


@dataclass(frozen=True, slots=True)
class VoidTransform(Transform):
    @property
    def name(self) -> str:
        return "void"

    def can_transform(self, source_type: Type) -> bool:
        return is_primitive(source_type)  # partition sources are primitive

    def _apply(self, arr: pa.Array, t: Type) -> pa.Array:
        return pa.nulls(len(arr), to_arrow_type(t))

    def preserves_promotion(self, old: Type, new: Type) -> bool:
        return True  # always null

    def project(self, pred: Expr, partition_ref: BoundRef) -> Expr:
        return TRUE


@dataclass(frozen=True, slots=True)
class BucketTransform(Transform):
    num_buckets: int

    def __post_init__(self) -> None:
        if not isinstance(self.num_buckets, int) or not 0 < self.num_buckets <= 2**31 - 1:
            raise InvalidPartitionSpecError(f"bucket count must be a positive 32-bit integer, got {self.num_buckets!r}")

    @property
    def name(self) -> str:
        return f"bucket[{self.num_buckets}]"

    def can_transform(self, source_type: Type) -> bool:
        return (source_type in INTEGER_TYPES or source_type in (DATE, TIME, STRING, BINARY)
                or isinstance(source_type, (TimestampType, DecimalType)))

    def result_type(self, source_type: Type) -> Type:
        return INT32

    def _apply(self, arr: pa.Array, t: Type) -> pa.Array:
        h = pc.bit_wise_and(_hash(arr, t), _u32(0x7FFFFFFF))
        return _mod(h, self.num_buckets)


def _mod(h: pa.Array, n: int) -> pa.Array:
    q = pc.divide(h, _u32(n))  # unsigned: truncation is floor
    return pc.subtract(h, pc.multiply(q, _u32(n))).cast(pa.int32())


@dataclass(frozen=True, slots=True)
class TruncateTransform(Transform):
    width: int
    monotonic: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not isinstance(self.width, int) or not 0 < self.width <= 2**31 - 1:
            raise InvalidPartitionSpecError(f"truncate width must be a positive 32-bit integer, got {self.width!r}")

    @property
    def name(self) -> str:
        return f"truncate[{self.width}]"

    def can_transform(self, source_type: Type) -> bool:
        return source_type in INTEGER_TYPES or source_type in (STRING, BINARY) or isinstance(source_type, DecimalType)

    def result_type(self, source_type: Type) -> Type:
        # Wide enough for the exact result v - (v mod W), which can lie below the source type's
        # minimum: the value then never depends on the source's width, so widening keeps it.
        if source_type in INTEGER_TYPES:
            return INT64
        if isinstance(source_type, DecimalType):
            digits = max(source_type.precision, len(str(self.width))) + 1
            return DecimalType(min(digits, MAX_DECIMAL_PRECISION), source_type.scale)
        return source_type

    def _apply(self, arr: pa.Array, t: Type) -> pa.Array:
        if t == STRING:
            return pc.utf8_slice_codeunits(arr, 0, self.width)  # slices code points, as the spec asks
        if t == BINARY:
            return pc.binary_slice(arr, 0, self.width)
        if isinstance(t, DecimalType):
            return _truncate_decimal(arr, t, self.width)
        return _truncate_int(arr, self.width)

    def project(self, pred: Expr, partition_ref: BoundRef) -> Expr:
        if isinstance(pred, StartsWith) and pred.term.type == STRING:
            return self._project_prefix(pred, partition_ref)
        return Transform.project(self, pred, partition_ref)

    def _project_prefix(self, pred: StartsWith, ref: BoundRef) -> Expr:
        size, w = len(pred.prefix), self.width
        if not pred.negated:
            if size < w:
                return StartsWith(ref, pred.prefix)
            return Compare("=", ref, pa.scalar(pred.prefix[:w], pa.string()))
        # x does not start with p  =>  x[:W] does not start with p, when p fits in W
        if size < w:
            return StartsWith(ref, pred.prefix, negated=True)
        if size == w:
            return Compare("!=", ref, pa.scalar(pred.prefix, pa.string()))
        return TRUE


def _truncate_int(arr: pa.Array, width: int) -> pa.Array:
    return _truncate_int64(arr.cast(pa.int64()), width)


def _truncate_int64(v: pa.Array, width: int) -> pa.Array:
    """v - (v mod W) with a non-negative remainder, exact in int64. Only an int64 source within W
    of its minimum can fall below int64: that saturates at the minimum rather than wrapping, so the
    transform stays monotonic (and projections sound); no wider integer type exists to widen to."""
    w = pa.scalar(width, pa.int64())
    rest = pc.subtract(v, pc.multiply(pc.divide(v, w), w))           # sign of v
    rest = pc.if_else(pc.less(rest, 0), pc.add(rest, w), rest)       # in [0, W)
    out = pc.subtract(v, rest)
    return pc.if_else(pc.greater(out, v), pa.scalar(-(2**63), pa.int64()), out)  # out > v: wrapped


def _truncate_decimal(arr: pa.Array, t: DecimalType, width: int) -> pa.Array:
    """Truncation of the unscaled value, keeping the scale (the spec's decimal(W, scale(v))),
    exact: the result type has room for it (TruncateTransform.result_type)."""
    if t.precision <= 18:  # |unscaled| < 10**18, so v - (v mod W) is exact in int64: stay vectorized
        unscaled = arr.view(pa.decimal128(t.precision, 0)).cast(pa.int64())
        out = _truncate_int64(unscaled, width)
        return out.cast(pa.decimal128(19, 0)).view(pa.decimal128(19, t.scale))  # 19 digits hold any int64
    result = TruncateTransform(width).result_type(t)
    lowest = -(10 ** result.precision - 1)  # reached only at decimal256's widest precision
    out = []
    for d in arr.to_pylist():  # Arrow has no decimal modulo; Python integers are exact
        if d is None:
            out.append(None)
            continue
        unscaled = int(d.scaleb(t.scale, _EXACT))
        out.append(Decimal(max(unscaled - unscaled % width, lowest)).scaleb(-t.scale, _EXACT))
    return pa.array(out, to_arrow_type(result))


@dataclass(frozen=True, slots=True)
class _TimeTransform(Transform):
    """year, month, day, hour: whole units since 1970-01-01T00:00 UTC, floored (so pre-1970 is right)."""

    monotonic: ClassVar[bool] = True
    unit: ClassVar[str] = ""

    @property
    def name(self) -> str:
        return self.unit

    def can_transform(self, source_type: Type) -> bool:
        return isinstance(source_type, TimestampType) or (source_type == DATE and self.unit != "hour")

    def result_type(self, source_type: Type) -> Type:
        return DATE if self.unit == "day" else INT32

    def preserves_promotion(self, old: Type, new: Type) -> bool:
        return True  # a date is its midnight: same year, month and day

    def _apply(self, arr: pa.Array, t: Type) -> pa.Array:
        if self.unit == "hour":
            return _floor_div(_ticks(arr), 3600 * TICKS_PER_SECOND[arr.type.unit]).cast(pa.int32())
        days = arr if t == DATE else arr.view(pa.timestamp(arr.type.unit)).cast(pa.date32())
        if self.unit == "day":
            return days
        years = pc.subtract(pc.year(days), 1970)
        if self.unit == "year":
            return years.cast(pa.int32())
        return pc.add(pc.multiply(years, 12), pc.subtract(pc.month(days), 1)).cast(pa.int32())


@dataclass(frozen=True, slots=True)
class YearTransform(_TimeTransform):
    unit: ClassVar[str] = "year"


@dataclass(frozen=True, slots=True)
class MonthTransform(_TimeTransform):
    unit: ClassVar[str] = "month"


@dataclass(frozen=True, slots=True)
class DayTransform(_TimeTransform):
    unit: ClassVar[str] = "day"


@dataclass(frozen=True, slots=True)
class HourTransform(_TimeTransform):
    unit: ClassVar[str] = "hour"


IDENTITY, VOID = IdentityTransform(), VoidTransform()
YEAR, MONTH, DAY, HOUR = YearTransform(), MonthTransform(), DayTransform(), HourTransform()
_BY_NAME = {str(t): t for t in (IDENTITY, VOID, YEAR, MONTH, DAY, HOUR)}
_PARAMETRIZED = re.compile(r"^(bucket|truncate)\s*\[\s*(-?\d+)\s*\]$")


def parse_transform(s: str) -> Transform:
    """The transform named by Iceberg's string form: "identity", "day", "bucket[16]", "truncate[4]"."""
    key = s.strip().lower()
    if key in _BY_NAME:
        return _BY_NAME[key]
    m = _PARAMETRIZED.match(key)
    if not m:
        raise InvalidPartitionSpecError(f"unknown partition transform {s!r}")
    n = int(m.group(2))
    return BucketTransform(n) if m.group(1) == "bucket" else TruncateTransform(n)


# ---------------------------------------------------------------- literals

def _literal(v: object, t: Type) -> pa.Scalar | None:
    """A bound literal as a scalar of the column's Arrow type; None if it cannot be represented."""
    target = to_arrow_type(t)
    try:
        s = v if isinstance(v, pa.Scalar) else pa.scalar(v)
        return s if s.type == target else s.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError, OverflowError):
        return None


def _literal_array(values: tuple, t: Type) -> pa.Array | None:
    scalars = [_literal(v, t) for v in values]
    if any(s is None for s in scalars):
        return None
    return pa.array(scalars, to_arrow_type(t)) if scalars else pa.array([], to_arrow_type(t))


def _neighbour(v: pa.Scalar, t: Type, step: int) -> pa.Scalar:
    """The next (step=1) or previous (-1) value of a discrete type; `v` itself for continuous types or at the edge."""
    target = to_arrow_type(t)
    try:
        if isinstance(t, DecimalType):
            return pa.scalar(_EXACT.add(v.as_py(), Decimal(step).scaleb(-t.scale, _EXACT)), target)
        if t in INTEGER_TYPES or t == DATE or isinstance(t, TimestampType):
            storage = target if t in INTEGER_TYPES else pa.int32() if t == DATE else pa.int64()
            ticks = pa.array([v], target).view(storage)[0].as_py() + step
            return pa.array([ticks], storage).view(target)[0]
    except (pa.ArrowInvalid, OverflowError):
        pass
    return v
