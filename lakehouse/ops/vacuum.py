"""Vacuum (spec/format.md, "Expiry and vacuum"): delete the files under the table's root that no
retained version or tag references and that are older than the retention.

What is kept is decided from the log as it is, conservatively: the files every log entry still
present adds or names in a `cdc` action, and the live files (with their deletion vectors) of
the checkpoints a retained version is read from. A version is readable from a checkpoint plus
the entries after it, so this covers every retained version and tag. The format's own files
are never vacuum's to delete (expiry removes entries and checkpoints), except the temporary
files a failed local write leaves under `_lakehouse/`.

The root is listed streamed (a page or a folder at a time), and only names it finds are deleted,
each a path inside the root; a name the path rule (spec 1.1) refuses is never deleted. The
referenced set is held in memory: one string per file the retained history names.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Callable, Iterable

from ..errors import CorruptTableError, InvalidArgumentError
from ..format.checkpoint import checkpoint_versions, read_checkpoint
from ..format.log import META_DIR, decode_entry, list_versions, log_path, read_entries_from
from ..format.paths import path_problem
from ..format.references import entry_references, is_format_file, is_temp_file, state_references
from ..format.replay import load_state
from ..io import Store
from ..io.store import Listed
from ..table.metrics import VacuumResult
from ..table.properties import VACUUM_RETENTION_MINIMUM, duration_setting

Progress = Callable[[str, int], None]
_REPORT_EVERY = 1000  # files listed or deleted between progress reports
log = logging.getLogger(__name__)


def vacuum(store: Store, retention: object = None, *, dry_run: object = True, force: object = False,
           progress: Progress | None = None, now: float | None = None) -> VacuumResult:
    """Find (and unless `dry_run`, delete) the unreferenced files older than `retention`."""
    for name, value in (("dry_run", dry_run), ("force", force)):
        if not isinstance(value, bool):
            raise InvalidArgumentError(f"{name} must be True or False, not {value!r}")
    report = progress or (lambda phase, count: None)
    latest = load_state(store)
    retention = _check_retention(retention, duration_setting(latest.metadata, VACUUM_RETENTION_MINIMUM), force)
    keep = referenced_files(store)
    cutoff = (time.time() if now is None else now) - retention.total_seconds()
    found: list[Listed] = []
    count = 0
    for count, listed in enumerate(store.walk_files(), 1):
        if count % _REPORT_EVERY == 0:
            report("listing", count)
        if listed.path not in keep and _removable(listed, cutoff, retention):
            found.append(listed)
    report("listing", count)
    # A commit that landed while we listed may name a file we found (an old file re-added by a
    # restore, say): read the entries past the newest we kept.
    newest = max(list_versions(store), default=latest.version)
    for entry in read_entries_from(store, newest + 1):
        keep.update(entry_references(entry))
    found = sorted((f for f in found if f.path not in keep), key=lambda f: f.path)
    if not dry_run:
        _delete(store, [f.path for f in found], report)
    return VacuumResult(files=tuple(f.path for f in found), bytes=sum(f.size for f in found),
                        dry_run=dry_run, retention=retention)


def _check_retention(retention: object, minimum: dt.timedelta, force: bool) -> dt.timedelta:
    if retention is None:
        return minimum
    if not isinstance(retention, dt.timedelta) or retention < dt.timedelta(0):
        raise InvalidArgumentError(f"retention must be a non-negative timedelta, not {retention!r}")
    if retention < minimum and not force:
        raise InvalidArgumentError(
            f"retention {retention} is shorter than the table's vacuum.retention.minimum ({minimum}): a "
            "concurrent writer's files not yet committed, or a reader's files of a version it is still reading, "
            "could be deleted; pass force=True if no writer or reader can be running")
    return retention


def _removable(listed: Listed, cutoff: float, retention: dt.timedelta) -> bool:
    """Not a format file, inside the path rule, and old enough. A file whose store gives no time
    is of unknown age: only a zero retention (forced) deletes it."""
    if path_problem(listed.path, data_file=False) is not None:
        log.warning("vacuum keeps %r: its name breaks the path rule, so no table wrote it", listed.path)
        return False
    if listed.path.split("/", 1)[0].lower() == META_DIR:
        if is_format_file(listed.path) or not is_temp_file(listed.path):
            return False  # another implementation's files there are not ours to judge
    if listed.mtime is None:
        return retention == dt.timedelta(0)
    return listed.mtime <= cutoff


def referenced_files(store: Store) -> set[str]:
    """Every file a retained version (or tag) may read, from the log and checkpoints present.

    Read are: every log entry present (its adds and cdc files), the checkpoint the contiguous log
    starts from, and every checkpoint before it (tagged versions are read from those). A damaged
    checkpoint among them is CorruptTableError: what its version references cannot be known.
    """
    versions = list_versions(store)
    keep: set[str] = set()
    for start in range(0, len(versions), 64):
        batch = versions[start:start + 64]
        for version, blob in zip(batch, store.read_many(log_path(v) for v in batch)):
            if blob is not None:  # removed meanwhile by expiry: its version is gone
                keep.update(entry_references(decode_entry(version, blob)))
    run_start = _run_start(versions)
    needed = [v for v in checkpoint_versions(store) if v < run_start]
    base = [v for v in checkpoint_versions(store) if v >= run_start - 1]
    if run_start > 0 and base:
        needed.append(base[0])
    for version in needed:
        keep.update(_checkpoint_files(store, version))
    if run_start > 0 and not base:  # no checkpoint: read what the newest state holds
        keep.update(state_references(load_state(store)))
    return keep


def _checkpoint_files(store: Store, version: int) -> Iterable[str]:
    state = read_checkpoint(store, version)
    if state is None:
        raise CorruptTableError(f"checkpoint {version} of {store.uri} is damaged, and a retained version is read "
                                "from it: vacuum cannot tell which files it needs, so it deletes nothing; "
                                "restore or delete that checkpoint")
    return state_references(state)


def _run_start(versions: list[int]) -> int:
    """The oldest version of the contiguous run of log entries ending at the newest one."""
    if not versions:
        return 0
    start = versions[-1]
    have = set(versions)
    while start - 1 in have:
        start -= 1
    return start


def _delete(store: Store, paths: list[str], report: Progress) -> None:
    for start in range(0, len(paths), _REPORT_EVERY):
        store.delete_many(paths[start:start + _REPORT_EVERY])
        report("deleting", min(start + _REPORT_EVERY, len(paths)))
