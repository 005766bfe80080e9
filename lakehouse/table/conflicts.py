"""The conflict matrix (spec/format.md, "Conflict rules").

When a transaction loses the race for version N, every commit that won between its read
version and N is checked against it here. A check either passes (the transaction is rebased
onto the winner and retried) or raises CommitConflictError naming the winner and why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import pyarrow.compute as pc

from ..errors import CommitConflictError
from ..expressions.tree import Expr
from ..format.actions import DELETION_VECTORS, Action, AddFile, Protocol, RemoveFile, TableMetadata
from ..format.change_data import CHANGE_FEED_FEATURE
from ..format.file_index import build_file_index
from ..format.log import LogEntry
from ..format.refs import tag_conflict
from ..format.state import TableState
from ..io import Store
from ..read.planning import may_match


@dataclass(frozen=True, kw_only=True)
class Transaction:
    """What a commit writes and what it read to decide it.

    `read_predicate` is None for a blind append (it read nothing); otherwise the bound
    predicate describing the rows it read (AlwaysTrue for the whole table). `read_files` are
    the live files it read or rewrote. `written_ids` are the field ids whose values the caller
    supplied (None: every column of the files' schemas); columns padded with nulls are not
    among them, so a concurrent drop of one loses nothing.

    `dv_positions` maps each file this transaction re-adds with a new deletion vector to the
    row positions it newly deletes there (a BitMap64): a concurrent deletion-vector change of
    the same file is rebased by union when the two sets are disjoint (`rebase`).
    `blind_appends_conflict` is False under the `write-serializable` isolation level: a
    concurrent blind append is then never a conflict, whatever it added (spec section 9).
    """

    operation: str
    actions: tuple[Action, ...]
    read_version: int
    parameters: Mapping = field(default_factory=dict)
    metrics: Mapping = field(default_factory=dict)
    read_predicate: Expr | None = None
    read_files: frozenset[str] = frozenset()
    written_ids: frozenset[int] | None = None
    dv_positions: Mapping[str, Any] = field(default_factory=dict)
    blind_appends_conflict: bool = True

    @property
    def is_blind_append(self) -> bool:
        return self.read_predicate is None and not any(
            isinstance(a, (RemoveFile, TableMetadata, Protocol)) for a in self.actions)

    def of(self, kind: type) -> list:
        return [a for a in self.actions if isinstance(a, kind)]


def check(txn: Transaction, winner: LogEntry, base: TableState) -> None:
    """Raise CommitConflictError if `winner` (committed on top of `base`) collides with `txn`."""
    def conflict(reason: str) -> None:
        raise CommitConflictError(
            f"version {winner.version} ({winner.commit_info.operation}) was committed concurrently and "
            f"conflicts with this {txn.operation}: {reason}", winning_version=winner.version, reason=reason)

    w_actions = winner.actions
    w_protocol = [a for a in w_actions if isinstance(a, Protocol)]
    # A blind append (or a tag-only commit) is valid under any protocol this writer implements
    # (commit() checked the winner's): no feature of this version asks more of an append. Raising
    # a feature on first use (change data, tags) must not make concurrent appends fail; raising
    # deletion_vectors must not make any concurrent commit fail (spec section 9).
    if w_protocol and not txn.is_blind_append and not _only_adds_benign_features(base.protocol, w_protocol[-1]):
        conflict("it changed the table protocol")
    if w_protocol and any(not _only_adds_benign_features(w_protocol[-1], _merged(w_protocol[-1], p) or w_protocol[-1])
                          for p in txn.of(Protocol)):
        conflict("both changed the table protocol")
    tags = tag_conflict(txn.actions, w_actions)
    if tags:
        conflict(tags)
    w_meta = [a for a in w_actions if isinstance(a, TableMetadata)]
    if w_meta:
        if txn.of(TableMetadata) or any(not _only_adds_benign_features(base.protocol, p) for p in txn.of(Protocol)):
            conflict("both changed the table metadata")
        _check_files_fit(txn, w_meta[-1], base, conflict)
    w_removed = {a.path for a in w_actions if isinstance(a, RemoveFile)}
    w_deleted_rows = deleted_rows_only(winner)  # files W kept, with more rows deleted
    if w_removed:
        mine = {a.path for a in txn.of(RemoveFile)}
        both = (w_removed & mine) - (w_deleted_rows & txn.dv_positions.keys())
        if both:
            conflict(f"both removed or rewrote {sorted(both)[0]}")
        read = (w_removed - w_deleted_rows) & txn.read_files
        if read:
            conflict(f"it removed {sorted(read)[0]}, which this transaction read")
    # A `data_change: false` add (compaction) only moves rows of files W removed: if T read those,
    # the remove conflicts above; if not, their rows could not match T's predicate.
    w_added = [a for a in w_actions if isinstance(a, AddFile) and a.path not in w_deleted_rows and a.data_change]
    if not txn.blind_appends_conflict and _is_blind_append(winner):
        w_added = []
    if w_added and txn.read_predicate is not None:
        metadata = w_meta[-1] if w_meta else base.metadata
        hit = _first_match(txn.read_predicate, w_added, metadata)
        if hit is not None:
            conflict(f"it added {hit}, which may hold rows this transaction's predicate reads")


# Features whose raising asks nothing of a concurrent writer of this version: rows are only ever
# deleted by vectors, which the checks below see; this library writes change data whenever spec
# section 16 needs it, listed or not (spec section 9).
BENIGN_FEATURES = frozenset({DELETION_VECTORS, CHANGE_FEED_FEATURE})


def _only_adds_benign_features(old: Protocol, new: Protocol) -> bool:
    return (new.reader_version, new.writer_version) == (old.reader_version, old.writer_version) \
        and set(old.reader_features) <= set(new.reader_features) <= set(old.reader_features) | BENIGN_FEATURES \
        and set(old.writer_features) <= set(new.writer_features) <= set(old.writer_features) | BENIGN_FEATURES


def _merged(theirs: Protocol, mine: Protocol) -> Protocol | None:
    """`theirs` plus the features `mine` adds (None if it adds none): T's protocol on rebase."""
    extra_r = [f for f in mine.reader_features if f not in theirs.reader_features]
    extra_w = [f for f in mine.writer_features if f not in theirs.writer_features]
    if not extra_r and not extra_w:
        return None
    return replace(theirs, reader_features=(*theirs.reader_features, *extra_r),
                   writer_features=(*theirs.writer_features, *extra_w))


def _check_files_fit(txn: Transaction, new: TableMetadata, base: TableState, conflict) -> None:
    """Our data files were written under base's schema: every column they carry values of
    must still exist under the winner's schema, or those values would silently vanish."""
    adds = txn.of(AddFile)
    if not adds:
        return
    new_ids = new.schema.all_ids()
    for schema_id in {a.schema_id for a in adds}:
        written = base.metadata.schema_by_id(schema_id) if _has_schema(base.metadata, schema_id) else None
        if written is None:
            continue
        gone = written.all_ids() - new_ids
        if txn.written_ids is not None:
            gone &= txn.written_ids
        if gone:
            names = sorted(".".join(written.path_of(i)) for i in gone)
            conflict(f"it dropped column(s) {', '.join(names)}, which this transaction wrote")


def _has_schema(metadata: TableMetadata, schema_id: int) -> bool:
    return any(s.schema_id == schema_id for s in metadata.schemas)


def _first_match(predicate: Expr, adds: list[AddFile], metadata: TableMetadata) -> str | None:
    index = build_file_index(adds, metadata)
    hits = pc.filter(index["path"], may_match(predicate, index, metadata))
    return hits[0].as_py() if len(hits) else None


# Operations whose same-path re-adds only ever grow a file's deletion vector (rows are deleted,
# never brought back); a restore may shrink one, so its re-adds count as adds (spec section 9).
DV_GROWING_OPERATIONS = frozenset({"delete", "update", "merge"})


def deleted_rows_only(entry: LogEntry) -> frozenset[str]:
    """Paths the entry removed and re-added (a new deletion vector) in an operation that only deletes rows."""
    if entry.commit_info.operation not in DV_GROWING_OPERATIONS:
        return frozenset()
    removed = {a.path for a in entry.actions if isinstance(a, RemoveFile)}
    return frozenset(a.path for a in entry.actions if isinstance(a, AddFile) and a.path in removed)


def _is_blind_append(entry: LogEntry) -> bool:
    return entry.commit_info.is_blind_append and all(isinstance(a, AddFile) for a in entry.actions)


def rebase(store: Store, txn: Transaction, winner: LogEntry) -> Transaction:
    """`txn` on top of `winner` (already checked): our protocol action, if the winner has one
    too, becomes the winner's plus the features ours adds (dropped if none); a file both gave a new deletion vector gets
    the union of the winner's vector and the rows `txn` deletes, written as a new vector.
    Rows deleted by both are a true conflict (CommitConflictError)."""
    w_protocol = [a for a in winner.actions if isinstance(a, Protocol)]
    if w_protocol and txn.of(Protocol):  # ours becomes the winner's plus what ours adds (check() allowed it)
        merged = _merged(w_protocol[-1], txn.of(Protocol)[-1])
        txn = replace(txn, actions=tuple(a for a in txn.actions if not isinstance(a, Protocol)) if merged is None
                      else tuple(merged if isinstance(a, Protocol) else a for a in txn.actions))
    shared = deleted_rows_only(winner) & txn.dv_positions.keys()
    if not shared:
        return txn
    from ..format.deletion_vectors import read_deletion_vector, write_deletion_vectors

    w_adds = {a.path: a for a in winner.actions if isinstance(a, AddFile) and a.path in shared}
    unions = {}
    for path in sorted(shared):
        add = w_adds[path]
        theirs = read_deletion_vector(store, add.deletion_vector, add.record_count) \
            if add.deletion_vector is not None else None
        mine = txn.dv_positions[path]
        if theirs is not None and theirs.intersection_cardinality(mine):
            row = (theirs & mine).min()
            raise CommitConflictError(
                f"version {winner.version} ({winner.commit_info.operation}) was committed concurrently and "
                f"conflicts with this {txn.operation}: both deleted row {row} of {path}",
                winning_version=winner.version, reason=f"both deleted row {row} of {path}")
        unions[path] = mine if theirs is None else theirs | mine
    emptied = {p for p, bitmap in unions.items() if len(bitmap) == w_adds[p].record_count}  # no live row left
    written = write_deletion_vectors(store, {p: b for p, b in unions.items() if p not in emptied})
    now = int(time.time() * 1000)
    actions = tuple(replace(w_adds[a.path], deletion_vector=written[a.path], modification_time=now)
                    if isinstance(a, AddFile) and a.path in shared else a for a in txn.actions
                    if not (isinstance(a, AddFile) and a.path in emptied))
    return replace(txn, actions=actions)
