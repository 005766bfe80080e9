"""Checkpoints (spec/format.md, "Checkpoints"): the live state at a version as one Parquet file,
so opening a table reads one checkpoint and the short log tail after it, never the whole log."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import CorruptTableError, LakehouseError
from ..io import Store
from .actions import DV_MIN_LENGTH, Protocol, TableMetadata
from .file_index import DV_COLUMN, check_index_paths, file_index_schema
from .paths import check_path_column
from .log import CHECKPOINT_DIR, LAST_CHECKPOINT, VERSION_DIGITS
from .refs import tags_from_json
from .state import FileSet, TableState

CHECKPOINT_INTERVAL = ("checkpoint.interval", 100)
STATE_KEY = b"lakehouse.state"
STATE_DIGEST_KEY = b"lakehouse.state.sha256"  # hex SHA-256 of the STATE_KEY value
_NAME = re.compile(r"^(\d{20})\.checkpoint\.parquet$")
log = logging.getLogger(__name__)


def checkpoint_path(version: int) -> str:
    return f"{CHECKPOINT_DIR}/{version:0{VERSION_DIGITS}d}.checkpoint.parquet"


def write_checkpoint(store: Store, state: TableState, *, hint: bool = True) -> None:
    """Write the checkpoint of `state`, then (if `hint`) point `last_checkpoint.json` at it.

    The checkpoint is written whole in one PUT (or renamed into place on local disk), so a
    reader never sees half of one; the pointer is only a hint and is written after it. Expiry
    writes checkpoints of past versions (the retained log's start, tagged versions) with
    `hint=False`: the hint names the newest checkpoint.
    """
    index = state.file_index()
    for name in ("partition", "stats"):
        if index.schema.field(name).type.num_fields == 0:  # Parquet cannot hold an empty struct
            index = index.drop_columns([name])
    blob = orjson.dumps({"version": state.version, "timestamp": state.timestamp,
                         "protocol": state.protocol.to_json(), "metadata": state.metadata.to_json(),
                         "num_files": index.num_rows, **({"tags": dict(state.tags)} if state.tags else {})})
    index = index.replace_schema_metadata({STATE_KEY: blob, STATE_DIGEST_KEY: hashlib.sha256(blob).hexdigest()})
    sink = io.BytesIO()
    pq.write_table(index, sink, compression="zstd", write_page_checksum=True)  # so flipped bits are found
    data = sink.getvalue()
    store.write_bytes(checkpoint_path(state.version), data)
    if hint:
        store.write_bytes(LAST_CHECKPOINT, orjson.dumps(
            {"version": state.version, "size": len(data), "num_files": index.num_rows}))


def maybe_checkpoint(store: Store, state: TableState) -> bool:
    """Checkpoint after a commit whose version is a multiple of the table's interval.

    Never raises: the commit has already succeeded (a caller told otherwise would retry and
    duplicate it), so any failure, of the store, of Arrow or of memory, is logged, and the
    next multiple tries again. A half-written checkpoint is ignored by readers.
    """
    try:
        interval = state.metadata.setting(CHECKPOINT_INTERVAL)
        if interval <= 0 or state.version == 0 or state.version % interval:
            return False
        write_checkpoint(store, state)
        return True
    except Exception as e:  # noqa: BLE001 - after the commit nothing may fail the write
        log.warning("checkpoint at version %d failed (the commit stands): %r", state.version, e)
        return False


def settle(store: Store, state: TableState, *, compact_after: int) -> TableState:
    """The state a handle keeps after committing `state`: checkpointed if due, and with its
    replayed adds folded into one index when checkpointed or past `compact_after` adds.
    Never raises, for the same reason as `maybe_checkpoint`; an uncompacted state is as good."""
    if not maybe_checkpoint(store, state) and len(state.files.added) <= compact_after:
        return state
    try:
        return state.compacted()
    except Exception as e:  # noqa: BLE001
        log.warning("folding the file index after version %d failed (the commit stands): %r", state.version, e)
        return state


def read_checkpoint(store: Store, version: int) -> TableState | None:
    """The state a checkpoint holds, or None if it is missing or damaged (readers then fall back)."""
    data = store.try_read_bytes(checkpoint_path(version))
    return None if data is None else decode_checkpoint(version, data)


def decode_checkpoint(version: int, data: bytes) -> TableState | None:
    """The state in checkpoint file `data`, or None (with a warning) if it is damaged in any way.

    Everything a later scan relies on is checked here, eagerly: a checkpoint that decodes is
    one whose file index planning can use as it is. Any failure to decode means "damaged", so
    the catch is deliberately broad; the store's own errors happen before, and propagate.
    """
    try:
        table = pq.read_table(pa.BufferReader(data), page_checksum_verification=True)
        kv = table.schema.metadata or {}
        blob = kv[STATE_KEY]
        digest = kv.get(STATE_DIGEST_KEY)  # absent in checkpoints of earlier writers
        if digest is not None and digest != hashlib.sha256(blob).hexdigest().encode():
            raise CorruptTableError("its lakehouse.state does not match its checksum")
        meta = orjson.loads(blob)
        if not isinstance(meta, dict) or meta.get("version") != version or type(meta["version"]) is not int:
            raise CorruptTableError(f"its lakehouse.state does not describe version {version}")
        metadata = TableMetadata.from_json(meta["metadata"])
        return TableState(
            version=version, timestamp=_int(meta["timestamp"], "timestamp"),
            protocol=Protocol.from_json(meta["protocol"]), metadata=metadata,
            files=FileSet(base=validated_index(table.replace_schema_metadata(None), metadata,
                                               _int(meta["num_files"], "num_files"))),
            tags=tags_from_json(meta.get("tags")))
    except Exception as e:  # noqa: BLE001 - a checkpoint is only an optimisation: ignore it, read the log
        log.warning("ignoring damaged checkpoint %d: %s", version, _describe(e))
        return None


def validated_index(table: pa.Table, metadata: TableMetadata, num_files: int) -> pa.Table:
    """The checkpoint's file index, checked against the columns spec/format.md ("Checkpoints")
    requires under `metadata`: every column present with its exact type, no null where a value
    is required, counts in range, spec and schema ids the metadata holds, each path once."""
    if table.num_rows != num_files:
        raise CorruptTableError(f"it has {table.num_rows} rows but says {num_files}")
    expected = file_index_schema(metadata)
    columns = []
    for field in expected:
        empty_struct = pa.types.is_struct(field.type) and field.type.num_fields == 0
        if field.name not in table.column_names and (empty_struct or field.name == DV_COLUMN):
            continue  # Parquet cannot hold an empty struct; earlier writers had no DV column
        column = table[field.name]  # KeyError: a required column is missing
        if column.type != field.type:
            raise CorruptTableError(f"column {field.name} is {column.type}, not {field.type}")
        # No writer leaves a null here but a file without a DV (a partition child, a statistic may be).
        if column.null_count and field.name != DV_COLUMN:
            raise CorruptTableError(f"column {field.name} holds nulls")
        columns.append(field.name)
    index = table.select(columns)
    if DV_COLUMN in index.column_names:
        _check_descriptors(index)
    if index.num_rows:
        if pc.min(index["size"]).as_py() < 0 or pc.min(index["record_count"]).as_py() < 0:
            raise CorruptTableError("a size or record count is negative")
        for name, ids in (("spec_id", metadata.specs_by_id), ("schema_id", [s.schema_id for s in metadata.schemas])):
            if not pc.all(pc.is_in(index[name], pa.array(list(ids), pa.int32()))).as_py():
                raise CorruptTableError(f"a {name} names nothing the metadata holds")
        check_index_paths(index, "its file index")  # inside the table root (spec 1.1), each path once
    return index


def _check_descriptors(index: pa.Table) -> None:
    """The rules of add.deletion_vector (spec 4.2), on the column at once: a present descriptor
    has every field, a valid path, offset >= 0, a length a blob can have, and a cardinality
    within the file's record count."""
    dv = index[DV_COLUMN].combine_chunks()
    present = dv.filter(dv.is_valid())
    if not len(present):
        return
    fields = {name: pc.struct_field(present, name) for name in ("path", "offset", "length", "cardinality")}
    if any(f.null_count for f in fields.values()):
        raise CorruptTableError(f"column {DV_COLUMN}: a descriptor lacks a field")
    counts = index["record_count"].combine_chunks().filter(dv.is_valid())
    ok = pc.and_(pc.and_(pc.greater_equal(fields["offset"], 0), pc.greater_equal(fields["cardinality"], 0)),
                 pc.and_(pc.less_equal(fields["cardinality"], counts),
                         pc.and_(pc.greater_equal(fields["length"], DV_MIN_LENGTH),
                                 pc.less_equal(fields["length"], 2**31 - 1))))
    if not pc.all(ok).as_py():
        raise CorruptTableError(f"column {DV_COLUMN}: a descriptor's offset, length or cardinality is out of range")
    check_path_column(fields["path"], f"column {DV_COLUMN}")


def _int(value: object, name: str) -> int:
    if type(value) is not int:
        raise CorruptTableError(f"its {name} is not an integer")
    return value


def _describe(e: Exception) -> str:
    return str(e) if isinstance(e, LakehouseError) else f"{type(e).__name__}: {e}"


def checkpoint_versions(store: Store) -> list[int]:
    return sorted(int(m.group(1)) for n in store.list_names(CHECKPOINT_DIR) if (m := _NAME.match(n)))


@dataclass(frozen=True, slots=True)
class CheckpointSearch:
    """Where a reader starts: `state` is the newest usable checkpoint found (None: replay the
    log from version 0). `committed` is the highest version a checkpoint file names, usable or
    not (-1 if none seen): that version was committed, so the log must reach it. `listed`: the
    checkpoint folder was listed (so a None state means no usable checkpoint at all)."""

    state: TableState | None
    committed: int = -1
    listed: bool = False


def find_checkpoint(store: Store, at_most: int | None = None, *, use_hint: bool = True) -> CheckpointSearch:
    """The newest usable checkpoint at or before `at_most` (any, if None). For the newest state
    the hint `last_checkpoint.json` is tried first and the folder is listed only if it names a
    checkpoint that exists but is damaged; time travel (or `use_hint=False`) always lists."""
    committed = -1
    if at_most is None and use_hint:
        hint = read_hint(store)
        data = None if hint is None else store.try_read_bytes(checkpoint_path(hint))
        if data is None:  # no hint, or one pointing nowhere: start from the log without listing
            return CheckpointSearch(None)
        state = decode_checkpoint(hint, data)
        if state is not None:
            return CheckpointSearch(state, hint)
        committed = hint
    versions = checkpoint_versions(store)
    committed = max([committed, *versions])
    for version in reversed(versions):
        if at_most is None or version <= at_most:
            state = read_checkpoint(store, version)
            if state is not None:
                return CheckpointSearch(state, committed, listed=True)
    return CheckpointSearch(None, committed, listed=True)


def read_hint(store: Store) -> int | None:
    """The version `last_checkpoint.json` names, or None if it is missing or damaged (a hint only)."""
    data = store.try_read_bytes(LAST_CHECKPOINT)
    try:
        version = None if data is None else orjson.loads(data)["version"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as e:
        log.warning("ignoring damaged %s: %r", LAST_CHECKPOINT, e)
        return None
    return version if type(version) is int and 0 <= version < 10 ** VERSION_DIGITS else None
