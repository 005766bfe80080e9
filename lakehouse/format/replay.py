"""Loading a table state: newest usable checkpoint, then the log entries after it."""

from __future__ import annotations

import datetime as dt

from ..errors import CorruptTableError, LakehouseError, VersionNotFoundError
from ..io import Store
from .checkpoint import CheckpointSearch, find_checkpoint
from .log import META_DIR, LogEntry, list_versions, read_entries_from, read_entry
from .state import TableState, apply_actions, check_readable


def load_state(store: Store, version: int | None = None) -> TableState:
    """The state at `version`, or at the newest version if None.

    Starts from the newest usable checkpoint (at or before `version`), then reads the log from
    there, stopping at `version`: newer entries are never read, so a damaged newest entry does
    not block time travel. A gap in the log is CorruptTableError (spec/format.md, "Gaps in the log").
    """
    if version is not None and version < 0:
        raise VersionNotFoundError(f"version {version} does not exist: versions start at 0")
    # The newest state starts from the hinted checkpoint, or from version 0 without listing
    # (young tables have no checkpoint); time travel lists the checkpoints at or before it.
    found = find_checkpoint(store, at_most=version)
    state = found.state
    try:
        entries = read_entries_from(store, 0 if state is None else state.version + 1, until=version,
                                    start_may_be_missing=state is None)
    except CorruptTableError as gap:
        found = _after_expiry(store, version, found, gap)
        state = found.state
        entries = read_entries_from(store, state.version + 1, until=version)
    if state is None and not entries and not found.listed:
        found = find_checkpoint(store, at_most=version, use_hint=False)  # the log's start may be removed
        state = found.state
        entries = [] if state is None else read_entries_from(store, state.version + 1, until=version)
    if state is None and not entries:
        raise _unreadable(store, found, version)
    if state is not None:
        check_readable(state.protocol)
    state = fold(state, entries)
    if found.committed > state.version and (version is None or version > state.version):
        raise CorruptTableError(
            f"checkpoint {found.committed} exists, so version {found.committed} was committed, but the log of "
            f"{store.uri} can only be read up to version {state.version}: entry {state.version + 1} is missing")
    if version is not None and state.version != version:
        raise VersionNotFoundError(f"version {version} does not exist: the newest is {state.version}")
    return state


def _after_expiry(store: Store, version: int | None, found: CheckpointSearch,
                  gap: CorruptTableError) -> CheckpointSearch:
    """Where to start instead when the entries after the starting checkpoint are missing but the
    log goes on (spec/format.md, "Gaps in the log"): entries before a checkpoint may be removed
    (expiry), so this is no gap when a checkpoint above them exists. Time travel to a version
    below it is VersionNotFoundError ("expired"); a reader of the newest version that started
    from an older checkpoint while expiry removed the entries after it starts again from the
    newest checkpoint. Raises `gap` otherwise."""
    if version is not None:  # time travel listed the checkpoints: `committed` is the newest file's
        if found.committed > version:
            raise VersionNotFoundError(
                f"version {version} of {store.uri} was expired: the log entries it needs were removed "
                f"(the log now starts at a checkpoint after it; tagged versions stay readable)") from None
        raise gap
    newer = find_checkpoint(store, use_hint=False)
    if newer.state is not None and newer.state.version > (-1 if found.state is None else found.state.version):
        return newer
    raise gap


def _unreadable(store: Store, found: CheckpointSearch, version: int | None) -> LakehouseError:
    """Why no state can be built: neither log entry 0 nor a usable checkpoint (at or before `version`)."""
    if found.committed >= 0 and version is None:
        return CorruptTableError(
            f"the table at {store.uri} cannot be read: log entry 0 was removed and no checkpoint is usable "
            f"(checkpoint {found.committed} exists but is damaged); restore a checkpoint or the log")
    if not store.exists(META_DIR):
        return store.no_table_error()
    if version is not None:
        return VersionNotFoundError(
            f"version {version} of {store.uri} cannot be read: it was expired (log entry 0 was removed and "
            f"there is no usable checkpoint at or before version {version})")
    return VersionNotFoundError(f"the log of {store.uri} has no version 0 (and there is no usable checkpoint)")


def fold(state: TableState | None, entries: list[LogEntry]) -> TableState:
    for entry in entries:
        state = apply_actions(state, entry.version, entry.timestamp, entry.actions)
    return state


def version_at(store: Store, timestamp_ms: int, latest: TableState) -> int:
    """The newest version committed at or before `timestamp_ms` (commit times never decrease,
    so a binary search over the log finds it in O(log n) reads)."""
    if latest.timestamp <= timestamp_ms:
        return latest.version
    lo, hi = 0, latest.version
    first = read_entry(store, 0)
    if first is None:  # the log's start was removed after a checkpoint: its oldest entry is the floor
        kept = [v for v in list_versions(store) if v <= latest.version]
        lo = min(kept, default=latest.version)
        first = read_entry(store, lo)
    first_ms = latest.timestamp if first is None else first.timestamp
    if first_ms > timestamp_ms:
        which = "its first version (0)" if lo == 0 else f"the oldest version still in its log ({lo})"
        raise VersionNotFoundError(
            f"the table {store.uri} has no version at {iso_millis(timestamp_ms)}: {which} was committed at "
            f"{iso_millis(first_ms)}; pass an as_of at or after that")
    while lo < hi:  # invariant: entry lo is at or before the time, entry hi+1 is after it
        mid = (lo + hi + 1) // 2
        entry = read_entry(store, mid)
        if entry is not None and entry.timestamp <= timestamp_ms:
            lo = mid
        else:
            hi = mid - 1
    return lo


def iso_millis(ms: int) -> str:
    """A commit time (ms since the epoch) in ISO-8601, UTC: 2024-03-01T12:00:00.000Z."""
    try:
        when = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=ms)
    except OverflowError:
        return f"{ms} ms since the epoch"
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
