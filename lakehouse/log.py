"""The transaction log (spec/format.md, "Layout" and "Log entries").

One JSON document per version at `_lakehouse/log/<version, 20 digits>.json`, created with
put-if-absent and never rewritten. This module names the files and encodes and decodes
entries; `replay.py` turns entries into table states.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from .actions import Action, CommitInfo, action_from_json, action_to_json
from .errors import CorruptTableError
from .io import Store

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


def read_entries_from(store: Store, first: int, *, until: int | None = None, batch: int = 8) -> list[LogEntry]:
    """Entries first, first+1, ... up to `until` (inclusive) or the first missing one.

    Reads `batch` entries at a time concurrently, so a remote store pays one round trip per
    batch rather than per entry, and no listing is needed to find the newest version.
    """
    out: list[LogEntry] = []
    version = first
    while until is None or version <= until:
        last = version + batch - 1 if until is None else min(until, version + batch - 1)
        blobs = store.read_many(log_path(v) for v in range(version, last + 1))
        for offset, blob in enumerate(blobs):
            if blob is None:
                return out
            out.append(decode_entry(version + offset, blob))
        version = last + 1
    return out


def list_versions(store: Store) -> list[int]:
    """Every version in the log, by listing (for inspection and recovery, not the hot path)."""
    return [int(m.group(1)) for n in store.list_names(LOG_DIR) if (m := _ENTRY_NAME.match(n))]
