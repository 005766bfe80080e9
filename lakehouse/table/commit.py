"""The commit loop: optimistic concurrency over put-if-absent (spec/format.md, "Commits").

The only write a commit makes is one put-if-absent of the next log entry. A writer that
loses the race reads the winners, checks each against the conflict matrix, rebases and
retries with backoff; one whose PUT had an unknown outcome reads the log back to learn it.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass

from .._version import __version__
from ..errors import CommitConflictError, CommitRetriesExceededError, StorageError
from ..format.actions import AddCdcFile, AddFile, CommitInfo, Protocol, RemoveFile
from ..format.log import LogEntry, encode_entry, log_path, read_entry, read_entries_from
from ..format.state import TableState, apply_actions, check_writable
from ..io import Store
from .conflicts import Transaction, check, rebase

ENGINE = f"lakehouse/{__version__}"
MAX_RETRIES = ("commit.max-retries", 50)


@dataclass(frozen=True, slots=True)
class CommitPolicy:
    max_retries: int = MAX_RETRIES[1]
    base_delay: float = 0.002
    max_delay: float = 0.25

    def backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay, self.base_delay * (2 ** min(attempt, 16))))


@dataclass(frozen=True, slots=True)
class CommitResult:
    """The committed version and the state it produced."""

    version: int
    state: TableState
    attempts: int


def commit(store: Store, base: TableState, txn: Transaction, *, policy: CommitPolicy = CommitPolicy()) -> CommitResult:
    check_writable(base.protocol)
    txn_id = uuid.uuid4().hex
    # The data files must be durable before an entry names them (spec/format.md, "Durability"):
    # once, not per attempt; a no-op on object stores, where a completed PUT is durable.
    store.sync_files(_new_files(txn))
    attempt = 0
    while True:
        version = base.version + 1
        timestamp = max(int(time.time() * 1000), base.timestamp + 1)  # commit times never go backwards
        info = CommitInfo(timestamp=timestamp, operation=txn.operation, parameters=dict(txn.parameters),
                          metrics=dict(txn.metrics), engine=ENGINE, read_version=txn.read_version,
                          txn_id=txn_id, is_blind_append=txn.is_blind_append)
        # Entry n+1 present means n exists too (a lost race), or the log has a gap at n that
        # put-if-absent would silently fill; reading from n tells which (spec 8.2).
        entry = encode_entry(version, info, txn.actions)
        if _slot_is_free(store, base.version) and _put(store, version, entry, txn_id):
            return CommitResult(version, apply_actions(base, version, timestamp, txn.actions), attempt + 1)
        for winner in read_entries_from(store, version):  # CorruptTableError on a damaged or gapped log
            if winner.commit_info.txn_id == txn_id:  # our own earlier PUT landed after all
                return CommitResult(winner.version, apply_actions(base, winner.version, winner.timestamp,
                                                                  winner.actions), attempt + 1)
            for action in winner.actions:
                if isinstance(action, Protocol):
                    check_writable(action)  # a newer protocol says more than "conflict"
            check(txn, winner, base)
            rebased = rebase(store, txn, winner)  # unions deletion vectors both changed; may write one
            if rebased is not txn:
                txn = rebased
                store.sync_files(_new_files(txn))
            base = apply_actions(base, winner.version, winner.timestamp, winner.actions)
        attempt += 1
        if attempt > policy.max_retries:
            raise CommitRetriesExceededError(
                f"gave up after {attempt} attempts: other writers kept committing first (last seen version "
                f"{base.version}); nothing was committed", winning_version=base.version, reason="retries exhausted")
        time.sleep(policy.backoff(attempt))


def _slot_is_free(store: Store, base: int) -> bool:
    """Whether entry base+1 may be put: entry base+2 is absent (else base+1 exists too, or the log
    has a gap there), and entry `base` is present. Expiry removes the log's start oldest first
    (spec/format.md, "Expiry and vacuum"), so an absent base entry means this transaction read a
    version since expired: put-if-absent would succeed below the log's start, where no reader of
    the newest version would ever see it."""
    after, mine = store.read_many([log_path(base + 2), log_path(base)])
    if mine is None:
        raise CommitConflictError(
            f"version {base}, which this transaction read, was expired from the log of {store.uri}: its changes "
            "cannot be checked against the versions since; reload the table and retry", reason="base expired")
    return after is None


def _new_files(txn: Transaction) -> list[str]:
    """Files the entry names that this writer wrote: data, deletion vector and change data files."""
    replaced = {a.path for a in txn.actions if isinstance(a, RemoveFile)}  # a same-path re-add wrote no data
    adds = [a for a in txn.actions if isinstance(a, AddFile)]
    dvs = {a.deletion_vector.path for a in adds if a.deletion_vector is not None}
    cdc = [a.path for a in txn.actions if isinstance(a, AddCdcFile) and a.change_type is None]
    # a change reference (spec §16) names a data file and, maybe, a Puffin file of positions
    refs = {a.positions.path for a in txn.actions if isinstance(a, AddCdcFile) and a.positions is not None}
    return [a.path for a in adds if a.path not in replaced] + sorted(dvs | refs) + cdc


def _put(store: Store, version: int, data: bytes, txn_id: str) -> bool:
    """True if our entry is now at `version`. A PUT whose outcome is unknown (it failed after
    retries) is resolved by reading the entry back, never by blindly writing again."""
    try:
        return store.put_if_absent(log_path(version), data)
    except StorageError:
        try:
            entry: LogEntry | None = read_entry(store, version)
        except StorageError:
            entry = None
        if entry is None:
            raise  # nothing landed: the table is untouched at its last good version
        return entry.commit_info.txn_id == txn_id
