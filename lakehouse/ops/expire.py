"""Expiry (spec/format.md, "Expiry and vacuum"): remove the log entries and checkpoints of
versions older than a time and beyond the newest few, so time travel before them is gone.

Expiry is not a commit: it changes no version's content, only how far back the log reaches.
It works in an order that leaves a readable table if it stops anywhere:

1. write what the retained log will start from: a checkpoint at the retained start `F`, one at
   every tagged version before `F` (readers read a tagged version from its checkpoint), and one
   at the wanted start when a concurrent reader's checkpoint holds `F` back (below);
2. delete the log entries before `F`, oldest first (a crash leaves a shorter, contiguous run);
3. delete the checkpoints before `F` that no tag needs.

A reader or writer that opened the table before expiry started may be reading from the newest
checkpoint there was then, and the entries after it, so `F` never passes that checkpoint: when
the versions to expire reach past it, this run writes a checkpoint at the wanted start and the
next run removes the rest.
"""

from __future__ import annotations

import datetime as dt
import time

from ..errors import CorruptTableError, InvalidArgumentError
from ..format.checkpoint import checkpoint_path, checkpoint_versions, read_checkpoint, read_hint, write_checkpoint
from ..format.log import list_versions, log_path, read_entry
from ..format.replay import load_state
from ..format.state import TableState
from ..io import Store
from ..table.metrics import ExpireMetrics
from ..table.properties import EXPIRE_MAX_AGE, duration_setting
from ..table.travel import as_of_millis


def expire_snapshots(store: Store, older_than: object = None, *, retain_last: object = 1,
                     now_ms: int | None = None) -> ExpireMetrics:
    """Expire the versions committed before `older_than` (a timedelta back from now, or a
    datetime; None: the table's `history.expire.max-age`) except the newest `retain_last`."""
    keep = _retain_last(retain_last)
    latest = load_state(store)
    cutoff = _cutoff_ms(older_than, latest, int(time.time() * 1000) if now_ms is None else now_ms)
    present = sorted(v for v in list_versions(store) if v <= latest.version)
    protected = max(checkpoint_versions(store), default=-1)  # where concurrent readers may start
    run_start = _run_start(present, latest.version)
    wanted = min(latest.version - keep + 1, _first_at_or_after(store, cutoff, run_start, latest.version))
    wanted = max(wanted, run_start)
    start = max(run_start, min(wanted, protected))
    tagged = {v for v in latest.tags.values() if v < start}
    for version in sorted(tagged | ({start} if start > 0 else set())):  # entry 0 needs no checkpoint
        _ensure_checkpoint(store, version, latest)
    if wanted > start:
        _ensure_checkpoint(store, wanted, latest)
    removed = [v for v in present if v < start]
    for version in removed:  # oldest first: a crash leaves the newer entries contiguous
        store.delete(log_path(version))
    stale = [v for v in checkpoint_versions(store) if v < start and v not in tagged]
    for version in stale:
        store.delete(checkpoint_path(version))
    return ExpireMetrics(version=latest.version, versions_expired=sum(v not in tagged for v in removed),
                         oldest_version=start, log_entries_removed=len(removed), checkpoints_removed=len(stale))


def _retain_last(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"retain_last must be a whole number >= 1 (the newest version is never "
                                   f"expired), not {value!r}")
    return value


def _cutoff_ms(older_than: object, latest: TableState, now_ms: int) -> int:
    """The commit time (ms) before which versions may be expired."""
    if older_than is None:
        older_than = duration_setting(latest.metadata, EXPIRE_MAX_AGE)
    if isinstance(older_than, dt.timedelta):
        if older_than < dt.timedelta(0):
            raise InvalidArgumentError(f"older_than must not be negative, not {older_than!r}")
        return now_ms - older_than // dt.timedelta(milliseconds=1)
    if isinstance(older_than, (dt.datetime, str)):
        return as_of_millis(older_than)  # type: ignore[return-value]
    raise InvalidArgumentError(f"older_than must be a timedelta (how long ago) or a datetime, not "
                               f"{type(older_than).__name__} {older_than!r}")


def _run_start(present: list[int], newest: int) -> int:
    """The oldest version of the contiguous run of entries ending at `newest`."""
    have = set(present)
    start = newest
    while start - 1 in have:
        start -= 1
    return start


def _first_at_or_after(store: Store, cutoff_ms: int, lo: int, hi: int) -> int:
    """The first version in lo..hi committed at or after `cutoff_ms` (hi + 1 if none): commit
    times increase with versions (spec 2.1), so a binary search."""
    hi += 1
    while lo < hi:
        mid = (lo + hi) // 2
        entry = read_entry(store, mid)
        if entry is None:
            raise CorruptTableError(f"log entry {mid} of {store.uri} disappeared while expiring: is another "
                                    "expiry running? run it again")
        if entry.timestamp < cutoff_ms:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _ensure_checkpoint(store: Store, version: int, latest: TableState) -> None:
    """A usable checkpoint at `version`, written from the log if there is none. An existing one
    that is damaged is refused rather than replaced: it may hide a hostile or broken table."""
    if store.exists(checkpoint_path(version)):
        if read_checkpoint(store, version) is None:
            raise CorruptTableError(f"checkpoint {version} of {store.uri} is damaged; expiry keeps it as the "
                                    "start of the log, so it refuses to go on: delete or restore it first")
        return
    state = latest if version == latest.version else load_state(store, version)
    hint = read_hint(store)
    write_checkpoint(store, state, hint=hint is None or version > hint)


def write_newest_checkpoint(store: Store) -> int:
    """Checkpoint the table's newest version (`Table.checkpoint`) and point the hint at it."""
    state = load_state(store)
    write_checkpoint(store, state)
    return state.version
