"""Deletion vectors (spec/format.md, "Deletion vectors"): the deleted row positions of one data
file, as Apache Iceberg v3's `deletion-vector-v1` blob in a Puffin file, so a later Iceberg
export references the same bytes unchanged.

    blob = length (4 bytes, big-endian: of magic + bitmap)
           magic D1 D3 39 64
           bitmap (pyroaring BitMap64, 64-bit "portable" Roaring serialisation)
           CRC-32 of magic + bitmap (4 bytes, big-endian)

A descriptor in the log (`add.deletion_vector`, a `DeletionVector`) says where the blob lives.
Descriptors and blobs come from whoever wrote the table: `read_deletion_vector` checks the
range, the framing, the CRC, the cardinality and every position against the file's row count,
and any failure is a CorruptTableError, never a raw error or a read outside the table.
"""

from __future__ import annotations

import uuid
import zlib
from collections import defaultdict
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa
from pyroaring import BitMap64

from .._version import __version__
from ..errors import CorruptTableError, InvalidArgumentError
from ..io import Store
from .actions import DV_MIN_LENGTH, DeletionVector
from .paths import check_relative_path
from .puffin import BlobMetadata, write_puffin

__all__ = ["DeletionVector", "write_deletion_vectors", "read_deletion_vector", "read_deletion_vectors", "encode_blob", "decode_blob",
           "live_mask", "positions_array", "BitMap64", "DV_DIR", "BLOB_TYPE"]

DV_MAGIC = bytes.fromhex("D1D33964")
BLOB_TYPE = "deletion-vector-v1"
DV_DIR = "deletes"  # Puffin files of deletion vectors, under the table root
ROW_POSITION_FIELD_ID = 2**31 - 1 - 2  # Iceberg's reserved `_pos` column: what the blob's positions index
MAX_POSITION = 2**63 - 1  # positions are non-negative int64 (the spec's "positive 64-bit positions")


def encode_blob(bitmap: BitMap64) -> bytes:
    """The `deletion-vector-v1` blob of `bitmap` (run-optimised first, as Iceberg's writer does).

    >>> blob = encode_blob(BitMap64([0]))
    >>> length, magic, bitmap, crc = blob[:4], blob[4:8], blob[8:-4], blob[-4:]
    >>> length.hex(), magic.hex(), len(bitmap), crc == zlib.crc32(magic + bitmap).to_bytes(4, "big")
    ('00000022', 'd1d33964', 30, True)
    >>> bitmap.hex(" ")  # 1 key (8 bytes LE), key 0 (4), then the 32-bit portable Roaring bitmap {0}
    '01 00 00 00 00 00 00 00 00 00 00 00 3a 30 00 00 01 00 00 00 00 00 00 00 10 00 00 00 00 00'
    """
    bitmap = BitMap64(bitmap)
    bitmap.run_optimize()
    vector = DV_MAGIC + bitmap.serialize()
    return len(vector).to_bytes(4, "big") + vector + zlib.crc32(vector).to_bytes(4, "big")


def decode_blob(blob: bytes) -> BitMap64:
    """The bitmap of a `deletion-vector-v1` blob; CorruptTableError unless its length, magic,
    CRC and Roaring serialisation are all intact."""
    if len(blob) < DV_MIN_LENGTH:
        raise CorruptTableError(f"deletion vector blob of {len(blob)} bytes is truncated")
    size = int.from_bytes(blob[:4], "big")
    if size != len(blob) - 8:
        raise CorruptTableError(f"deletion vector blob says {size} bytes of magic and bitmap, holds {len(blob) - 8}")
    vector = blob[4:-4]
    if vector[:4] != DV_MAGIC:
        raise CorruptTableError(f"deletion vector blob has magic {vector[:4].hex()}, not {DV_MAGIC.hex()}")
    if zlib.crc32(vector) != int.from_bytes(blob[-4:], "big"):
        raise CorruptTableError("deletion vector blob fails its CRC-32")
    try:
        return BitMap64.deserialize(vector[4:])
    except (ValueError, MemoryError, OverflowError) as e:
        raise CorruptTableError(f"deletion vector bitmap does not deserialise: {e}") from None


def write_deletion_vectors(store: Store, bitmaps: Mapping[str, BitMap64]) -> dict[str, DeletionVector]:
    """Write the deleted positions of each data file in `bitmaps` (keyed by its relative path)
    as one Puffin file under `deletes/`, and return each file's descriptor for its `add`.
    Nothing is written for an empty mapping. The file is durable before this returns (a log
    entry may then name it, spec/format.md "Durability").

    >>> import lakehouse
    >>> from lakehouse.io import Store
    >>> store = Store.from_uri("memory://doc-dv/write")
    >>> dvs = write_deletion_vectors(store, {"data/a.parquet": BitMap64([1, 5])})
    >>> dvs["data/a.parquet"].offset, dvs["data/a.parquet"].cardinality
    (4, 2)
    >>> list(read_deletion_vector(store, dvs["data/a.parquet"], record_count=10))
    [1, 5]
    """
    if not bitmaps:
        return {}
    blobs = []
    for path, bitmap in bitmaps.items():
        check_relative_path(path, "a deletion vector's data file")
        if not isinstance(bitmap, BitMap64):
            raise InvalidArgumentError(f"deletion vector of {path!r} must be a pyroaring BitMap64, "
                                       f"not {type(bitmap).__name__}")
        if bitmap and bitmap.max() > MAX_POSITION:
            raise InvalidArgumentError(f"deletion vector of {path!r} holds a position beyond int64")
        blobs.append((BlobMetadata(type=BLOB_TYPE, offset=0, length=0, fields=(ROW_POSITION_FIELD_ID,),
                                   properties={"referenced-data-file": path, "cardinality": str(len(bitmap))}),
                      encode_blob(bitmap)))
    data, placed = write_puffin(blobs, {"created-by": f"lakehouse {__version__}"})
    rel = f"{DV_DIR}/{uuid.uuid4().hex}.puffin"
    store.write_bytes(rel, data)
    return {path: DeletionVector(path=rel, offset=m.offset, length=m.length, cardinality=len(bitmap))
            for (path, bitmap), m in zip(bitmaps.items(), placed)}


def max_blob_length(cardinality: int, record_count: int) -> int:
    """The longest blob a sane writer produces for `cardinality` positions below `record_count`:
    at most 16 bytes a position (array containers take 2), and a full 8 KiB bitmap container
    per 65,536 rows. Longer descriptors are refused before anything is read."""
    return 64 + 16 * cardinality + 8208 * (record_count // 65536 + 1)


def read_deletion_vector(store: Store, dv: DeletionVector, record_count: int) -> BitMap64:
    """The deleted positions `dv` describes for a data file of `record_count` rows, checked:
    a range no sane blob has, a short read, bad framing or CRC, a cardinality other than the
    descriptor's or a position >= `record_count` is a CorruptTableError."""
    return read_deletion_vectors(store, [(dv, record_count)])[0]


def read_deletion_vectors(store: Store, items: Sequence[tuple[DeletionVector, int]]) -> list[BitMap64]:
    """`read_deletion_vector` of each (descriptor, record_count), reading each Puffin file once
    when its blobs lie close together (one delete commit's DVs for many files share one)."""
    for dv, record_count in items:
        _check_descriptor(dv, record_count)
    by_file: dict[str, list[int]] = defaultdict(list)
    for i, (dv, _) in enumerate(items):
        by_file[dv.path].append(i)
    blobs: list[bytes] = [b""] * len(items)
    for path, indices in by_file.items():
        dvs = [items[i][0] for i in indices]
        start, end = min(d.offset for d in dvs), max(d.offset + d.length for d in dvs)
        if len(dvs) > 1 and end - start <= 2 * sum(d.length for d in dvs) + _GAP:
            span = store.read_range(path, start, end - start)
            for i, d in zip(indices, dvs):
                blobs[i] = span[d.offset - start:d.offset - start + d.length]
        else:
            for i, d in zip(indices, dvs):
                blobs[i] = store.read_range(path, d.offset, d.length)
    return [_checked_bitmap(dv, record_count, blob) for (dv, record_count), blob in zip(items, blobs)]


_GAP = 1 << 20  # bytes of other blobs worth reading through rather than making another request


def _where(dv: DeletionVector) -> str:
    return f"deletion vector {dv.path!r}@{dv.offset}+{dv.length}"


def _check_descriptor(dv: DeletionVector, record_count: int) -> None:
    """What can be checked before reading: the path rule, and a cardinality and length the
    file's row count allows (so a hostile descriptor cannot make us read gigabytes)."""
    check_relative_path(dv.path, _where(dv))
    if not 0 <= dv.cardinality <= record_count or dv.offset < 0 \
            or not DV_MIN_LENGTH <= dv.length <= min(_MAX_LENGTH, max_blob_length(dv.cardinality, record_count)):
        raise CorruptTableError(f"{_where(dv)}: {dv.cardinality} positions in {dv.length} bytes cannot describe "
                                f"a file of {record_count} rows")


_MAX_LENGTH = 2**31 - 1


def _checked_bitmap(dv: DeletionVector, record_count: int, blob: bytes) -> BitMap64:
    if len(blob) != dv.length:
        raise CorruptTableError(f"{_where(dv)}: the file ends after {len(blob)} bytes of the blob")
    try:
        bitmap = decode_blob(blob)
    except CorruptTableError as e:
        raise CorruptTableError(f"{_where(dv)}: {e}") from None
    if len(bitmap) != dv.cardinality:
        raise CorruptTableError(f"{_where(dv)}: holds {len(bitmap)} positions, its descriptor says {dv.cardinality}")
    if bitmap and bitmap.max() >= record_count:
        raise CorruptTableError(f"{_where(dv)}: deletes position {bitmap.max()} of a file of {record_count} rows")
    return bitmap


def positions_array(bitmap: BitMap64) -> np.ndarray:
    """The bitmap's positions, sorted, as a uint64 array (one conversion per file read)."""
    return np.frombuffer(bitmap.to_array(), dtype=np.uint64)


def live_mask(positions: np.ndarray, start: int, stop: int) -> pa.BooleanArray | None:
    """True for the rows in [start, stop) not among the sorted deleted `positions`, or None
    when none of them is deleted (the caller keeps the batch as it is). Vectorised: a binary
    search for the range, one scatter of its positions.

    >>> live_mask(positions_array(BitMap64([1, 3, 9])), 0, 5).to_pylist()
    [True, False, True, False, True]
    >>> live_mask(positions_array(BitMap64([1, 3, 9])), 4, 8) is None
    True
    """
    lo, hi = np.searchsorted(positions, np.array([start, stop], dtype=np.uint64))
    if lo == hi:
        return None
    keep = np.ones(stop - start, dtype=bool)
    keep[(positions[lo:hi] - np.uint64(start)).astype(np.intp)] = False
    return pa.array(keep)
