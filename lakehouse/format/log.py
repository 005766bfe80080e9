"""The transaction log (spec/format.md, "Layout" and "Log entries").

One JSON document per version at `_lakehouse/log/<version, 20 digits>.json`, created with
put-if-absent and never rewritten. This module names the files and encodes and decodes
entries; `replay.py` turns entries into table states.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import orjson

from ..errors import CorruptTableError
from ..io import Store
from .actions import Action, CommitInfo, action_from_json, action_to_json

META_DIR = "_lakehouse"
LOG_DIR = f"{META_DIR}/log"
CHECKPOINT_DIR = f"{META_DIR}/checkpoints"
LAST_CHECKPOINT = f"{META_DIR}/last_checkpoint.json"
VERSION_DIGITS = 20
_ENTRY_NAME = re.compile(r"^(\d{20})\.json$")


def log_path(version: int) -> str:
    return f"{LOG_DIR}/{version:0{VERSION_DIGITS}d}.json"


@dataclass(frozen=True, slots=True)
class LogEntry:
    version: int
    commit_info: CommitInfo
    actions: tuple[Action, ...]

    @property
    def timestamp(self) -> int:
        return self.commit_info.timestamp


def encode_entry(version: int, commit_info: CommitInfo, actions: tuple[Action, ...] | list[Action]) -> bytes:
    return orjson.dumps({"version": version, "commit_info": commit_info.to_json(),
                         "actions": [action_to_json(a) for a in actions]})


def decode_entry(version: int, data: bytes) -> LogEntry:
    try:
        obj = orjson.loads(data)
        if obj["version"] != version:
            raise CorruptTableError(f"log entry {version} says it is version {obj['version']}")
        info = CommitInfo.from_json(obj["commit_info"])
        actions = tuple(a for a in (action_from_json(x) for x in obj["actions"]) if a is not None)
    except CorruptTableError as e:
        if str(e).startswith(f"log entry {version} "):
            raise
        raise CorruptTableError(f"log entry {version}: {e}") from None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise CorruptTableError(f"log entry {version} is not a valid log entry: {e!r}") from None
    return LogEntry(version, info, actions)


def read_entry(store: Store, version: int) -> LogEntry | None:
    data = store.try_read_bytes(log_path(version))
    return None if data is None else decode_entry(version, data)


# Where a reader looks for entries above a missing one before concluding the log ends there:
# the next 8, then powers of two up to 2**20, so a gap of g entries is found whenever the log
# goes on for at least g entries after it (spec/format.md, "Gaps in the log").
GAP_PROBES = (*range(1, 9), *(2 ** k for k in range(4, 21)))


def read_entries_from(store: Store, first: int, *, until: int | None = None, batch: int = 8,
                      start_may_be_missing: bool = False) -> list[LogEntry]:
    """Entries first, first+1, ... up to `until` (inclusive) or the first missing one.

    Reads `batch` entries at a time concurrently, so a remote store pays one round trip per
    batch rather than per entry, and no listing is needed to find the newest version. Where
    the run stops at a missing entry, CorruptTableError if a later entry exists (a gap) — the
    caller would otherwise take an older version for the newest, and a writer would fill the
    gap. `start_may_be_missing`: a missing `first` just means the log starts later (its start
    was removed after a checkpoint); the caller then looks elsewhere.
    """
    out: list[LogEntry] = []
    version = first
    while until is None or version <= until:
        last = version + batch - 1 if until is None else min(until, version + batch - 1)
        blobs = store.read_many(log_path(v) for v in range(version, last + 1))
        for offset, blob in enumerate(blobs):
            if blob is None:
                missing = version + offset
                later = [version + i for i in range(offset + 1, len(blobs)) if blobs[i] is not None]
                if (start_may_be_missing and missing == first) or log_ends_at(store, missing, later, last):
                    return out
                version = missing  # it was committed while we read: read on from it
                break
            out.append(decode_entry(version + offset, blob))
        else:
            version = last + 1
    return out


def log_ends_at(store: Store, missing: int, known: Sequence[int] = (), checked_to: int | None = None) -> bool:
    """True if the log ends before entry `missing` (absent when read); False if it has appeared
    since (a concurrent commit); CorruptTableError if a later entry exists while it does not.

    Later entries are `known` or found at the probe offsets (those up to `checked_to` were
    already read, and absent). Seeing a later entry proves entry `missing` was written before
    it, so it is read once more: absent now, it is lost, not merely late.
    """
    if not known:
        probes = [missing + k for k in GAP_PROBES if checked_to is None or missing + k > checked_to]
        known = [v for v, blob in zip(probes, store.read_many(log_path(v) for v in probes)) if blob is not None]
    if not known:
        return True
    if store.try_read_bytes(log_path(missing)) is not None:
        return False
    raise CorruptTableError(
        f"log entry {missing} is missing but entry {min(known)} exists: the log has a gap (entries were lost "
        f"or deleted), so no version from {missing} on can be read; restore the missing entries")


def read_log_range(store: Store, first: int, until: int) -> list[LogEntry]:
    """Entries first..until still in the log, for inspection (history): entries before the
    oldest one kept may have been removed after a checkpoint; after it they must be contiguous."""
    if first > until:
        return []
    entries = read_entries_from(store, first, until=until, batch=32, start_may_be_missing=True)
    if entries:
        return entries
    present = [v for v in list_versions(store) if first < v <= until]  # the log's start was removed
    return read_entries_from(store, min(present), until=until, batch=32) if present else []


def list_versions(store: Store) -> list[int]:
    """Every version in the log, by listing (for inspection and recovery, not the hot path)."""
    return [int(m.group(1)) for n in store.list_names(LOG_DIR) if (m := _ENTRY_NAME.match(n))]
