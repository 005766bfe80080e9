"""Puffin files (spec/format.md, "Deletion vectors"; Apache Iceberg's Puffin spec): a container
of opaque blobs with a JSON footer describing them. This library writes one per commit that
deletes rows by deletion vector, holding that commit's `deletion-vector-v1` blobs.

    Magic Blob_1 ... Blob_n Magic FooterPayload FooterPayloadSize Flags Magic

Magic is `PFA1`; FooterPayload is UTF-8 JSON (never compressed here); FooterPayloadSize is a
4-byte little-endian signed int; Flags are 4 bytes, all zero when the payload is uncompressed.
A file comes from whoever wrote the table, so `read_footer` checks every field it decodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import orjson

from ..errors import CorruptTableError

MAGIC = b"PFA1"
TRAILER_SIZE = 12  # FooterPayloadSize (4), Flags (4), Magic (4)
_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobMetadata:
    """One blob as the footer lists it (Puffin's BlobMetadata; field names use its JSON keys)."""

    type: str
    offset: int
    length: int
    fields: tuple[int, ...] = ()
    snapshot_id: int = -1
    sequence_number: int = -1
    properties: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def to_json(self) -> dict:
        return {"type": self.type, "fields": list(self.fields), "snapshot-id": self.snapshot_id,
                "sequence-number": self.sequence_number, "offset": self.offset, "length": self.length,
                "properties": dict(self.properties)}


def write_puffin(blobs: Sequence[tuple[BlobMetadata, bytes]], properties: Mapping[str, str]) -> tuple[bytes, list[BlobMetadata]]:
    """The bytes of a Puffin file holding `blobs` (their metadata's offset and length are
    filled in), and the footer's metadata of each blob, in order."""
    parts, placed, offset = [MAGIC], [], len(MAGIC)
    for meta, payload in blobs:
        placed.append(BlobMetadata(type=meta.type, offset=offset, length=len(payload), fields=meta.fields,
                                   snapshot_id=meta.snapshot_id, sequence_number=meta.sequence_number,
                                   properties=MappingProxyType(dict(meta.properties))))
        parts.append(payload)
        offset += len(payload)
    footer = orjson.dumps({"blobs": [m.to_json() for m in placed], "properties": dict(properties)})
    parts += [MAGIC, footer, len(footer).to_bytes(4, "little", signed=True), bytes(4), MAGIC]
    return b"".join(parts), placed


def read_footer(data: bytes) -> tuple[tuple[BlobMetadata, ...], dict[str, str]]:
    """The blobs and file properties a whole Puffin file lists; CorruptTableError if the file
    breaks the layout: magics, payload size, flags, JSON field types, blob ranges."""
    if len(data) < len(MAGIC) * 2 + TRAILER_SIZE or data[:4] != MAGIC or data[-4:] != MAGIC:
        raise CorruptTableError("not a Puffin file: its magic bytes are missing")
    size = int.from_bytes(data[-12:-8], "little", signed=True)
    footer_start = len(data) - TRAILER_SIZE - size
    if size < 0 or footer_start - 4 < 4 or data[footer_start - 4:footer_start] != MAGIC:
        raise CorruptTableError(f"Puffin footer payload size {size} does not fit the file")
    if data[-8:-4] != bytes(4):
        raise CorruptTableError("Puffin footer flags are set (a compressed footer is not written by this format)")
    try:
        payload = orjson.loads(data[footer_start:len(data) - TRAILER_SIZE])
    except orjson.JSONDecodeError as e:
        raise CorruptTableError(f"Puffin footer is not JSON: {e}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("blobs"), list):
        raise CorruptTableError("Puffin footer has no list 'blobs'")
    properties = _strings(payload.get("properties", {}), "footer properties")
    blobs = tuple(_blob(b, footer_start - 4) for b in payload["blobs"])
    return blobs, properties


def _blob(obj: Any, blobs_end: int) -> BlobMetadata:
    if not isinstance(obj, dict):
        raise CorruptTableError(f"Puffin blob metadata must be an object, got {str(obj)[:100]}")
    if not isinstance(obj.get("type"), str):
        raise CorruptTableError("Puffin blob metadata has no string 'type'")
    fields = obj.get("fields")
    if not isinstance(fields, list) or not all(_is_int(f, -2**31, _INT32_MAX) for f in fields):
        raise CorruptTableError("Puffin blob 'fields' must be a list of int32")
    ints = {k: obj.get(k) for k in ("snapshot-id", "sequence-number", "offset", "length")}
    if not all(_is_int(v, -1 if k.startswith("s") else 0, _INT64_MAX) for k, v in ints.items()):
        raise CorruptTableError(f"Puffin blob metadata has a malformed integer: {ints}")
    if "compression-codec" in obj and obj["compression-codec"] is not None:
        raise CorruptTableError(f"Puffin blob is compressed ({str(obj['compression-codec'])[:40]}), "
                                "which no blob type of this format allows")
    if ints["offset"] < len(MAGIC) or ints["offset"] + ints["length"] > blobs_end:
        raise CorruptTableError(f"Puffin blob range {ints['offset']}+{ints['length']} is outside the blob area")
    return BlobMetadata(type=obj["type"], offset=ints["offset"], length=ints["length"], fields=tuple(fields),
                        snapshot_id=ints["snapshot-id"], sequence_number=ints["sequence-number"],
                        properties=MappingProxyType(_strings(obj.get("properties", {}), "blob properties")))


def _strings(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise CorruptTableError(f"Puffin {what} must be an object of strings")
    return value


def _is_int(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
