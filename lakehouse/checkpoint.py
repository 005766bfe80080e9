"""Checkpoints (spec/format.md, "Checkpoints"): the live state at a version as one Parquet file,
so opening a table reads one checkpoint and the short log tail after it, never the whole log."""

from __future__ import annotations

import io
import logging
import re

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from .actions import Protocol, TableMetadata
from .errors import CorruptTableError, LakehouseError
from .io import Store
from .log import CHECKPOINT_DIR, LAST_CHECKPOINT, VERSION_DIGITS
from .state import FileSet, TableState

CHECKPOINT_INTERVAL = ("checkpoint.interval", 100)
STATE_KEY = b"lakehouse.state"
_NAME = re.compile(r"^(\d{20})\.checkpoint\.parquet$")
log = logging.getLogger(__name__)


def checkpoint_path(version: int) -> str:
    return f"{CHECKPOINT_DIR}/{version:0{VERSION_DIGITS}d}.checkpoint.parquet"


def write_checkpoint(store: Store, state: TableState) -> None:
    """Write the checkpoint of `state`, then point `last_checkpoint.json` at it.

    The checkpoint is written whole in one PUT (or renamed into place on local disk), so a
    reader never sees half of one; the pointer is only a hint and is written after it.
    """
    index = state.file_index()
    for name in ("partition", "stats"):
        if index.schema.field(name).type.num_fields == 0:  # Parquet cannot hold an empty struct
            index = index.drop_columns([name])
    blob = orjson.dumps({"version": state.version, "timestamp": state.timestamp,
                         "protocol": state.protocol.to_json(), "metadata": state.metadata.to_json(),
                         "num_files": index.num_rows})
    index = index.replace_schema_metadata({STATE_KEY: blob})
    sink = io.BytesIO()
    pq.write_table(index, sink, compression="zstd")
    data = sink.getvalue()
    store.write_bytes(checkpoint_path(state.version), data)
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
    if data is None:
        return None
    try:
        table = pq.read_table(pa.BufferReader(data))
        meta = orjson.loads(table.schema.metadata[STATE_KEY])
        if meta["version"] != version or meta["num_files"] != table.num_rows:
            raise CorruptTableError(f"checkpoint {version} does not describe version {version}")
        state = TableState(
            version=version, timestamp=int(meta["timestamp"]), protocol=Protocol.from_json(meta["protocol"]),
            metadata=TableMetadata.from_json(meta["metadata"]),
            files=FileSet(base=table.replace_schema_metadata(None)))
    except (pa.ArrowException, OSError, KeyError, TypeError, ValueError, orjson.JSONDecodeError,
            CorruptTableError) as e:
        log.warning("ignoring damaged checkpoint %d: %s", version, e)
        return None
    return state


def checkpoint_versions(store: Store) -> list[int]:
    return sorted(int(m.group(1)) for n in store.list_names(CHECKPOINT_DIR) if (m := _NAME.match(n)))


def latest_checkpoint(store: Store, at_most: int | None = None, *, use_hint: bool = True,
                      list_folder: bool = True) -> TableState | None:
    """The newest readable checkpoint at or before `at_most` (any, if None): the one
    `last_checkpoint.json` names if `use_hint`, else (if `list_folder`) by listing."""
    if at_most is None and use_hint:
        hint = store.try_read_bytes(LAST_CHECKPOINT)
        if hint is not None:
            try:
                state = read_checkpoint(store, int(orjson.loads(hint)["version"]))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                state = None
            if state is not None:
                return state
    if not list_folder:
        return None
    for version in reversed(checkpoint_versions(store)):
        if at_most is None or version <= at_most:
            state = read_checkpoint(store, version)
            if state is not None:
                return state
    return None
