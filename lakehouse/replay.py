"""Loading a table state: newest usable checkpoint, then the log entries after it."""

from __future__ import annotations

from .checkpoint import latest_checkpoint
from .errors import TableNotFoundError, VersionNotFoundError
from .io import Store
from .log import LogEntry, read_entries_from, read_entry
from .state import TableState, apply_actions, check_readable


def load_state(store: Store, version: int | None = None) -> TableState:
    """The state at `version`, or at the newest version if None."""
    if version is not None and version < 0:
        raise VersionNotFoundError(f"version {version} does not exist: versions start at 0")
    # The newest state starts from the hinted checkpoint, or from version 0 without listing
    # (young tables have no checkpoint); time travel lists the checkpoints at or before it.
    state = latest_checkpoint(store, at_most=version, list_folder=version is not None)
    first = 0 if state is None else state.version + 1
    entries = read_entries_from(store, first, until=version)
    if state is None and not entries and version is None:
        state = latest_checkpoint(store, use_hint=False)  # the log's start may have been cleaned up
        entries = [] if state is None else read_entries_from(store, state.version + 1)
    if state is None and not entries:
        if store.exists("_lakehouse"):
            raise VersionNotFoundError(f"the log of {store.uri} has no version 0")
        raise TableNotFoundError(f"no table at {store.uri}")
    if state is not None:
        check_readable(state.protocol)
    state = fold(state, entries)
    if version is not None and state.version != version:
        raise VersionNotFoundError(f"version {version} does not exist: the newest is {state.version}")
    return state


def fold(state: TableState | None, entries: list[LogEntry]) -> TableState:
    for entry in entries:
        state = apply_actions(state, entry.version, entry.timestamp, entry.actions)
    return state


def version_at(store: Store, timestamp_ms: int, latest: TableState) -> int:
    """The newest version committed at or before `timestamp_ms` (commit times never decrease,
    so a binary search over the log finds it in O(log n) reads)."""
    lo, hi = 0, latest.version
    if latest.timestamp <= timestamp_ms:
        return latest.version
    first = read_entry(store, 0)
    if first is None or first.timestamp > timestamp_ms:
        raise VersionNotFoundError(f"the table has no version committed at or before {timestamp_ms} ms")
    while lo < hi:  # invariant: entry lo is at or before the time, entry hi+1 is after it
        mid = (lo + hi + 1) // 2
        entry = read_entry(store, mid)
        if entry is not None and entry.timestamp <= timestamp_ms:
            lo = mid
        else:
            hi = mid - 1
    return lo
