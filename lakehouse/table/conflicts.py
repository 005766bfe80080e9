"""The conflict matrix (spec/format.md, "Conflict rules").

When a transaction loses the race for version N, every commit that won between its read
version and N is checked against it here. A check either passes (the transaction is rebased
onto the winner and retried) or raises CommitConflictError naming the winner and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import pyarrow.compute as pc

from ..errors import CommitConflictError
from ..expressions.tree import Expr
from ..format.actions import Action, AddFile, Protocol, RemoveFile, TableMetadata
from ..format.file_index import build_file_index
from ..format.log import LogEntry
from ..format.refs import tag_conflict
from ..format.state import TableState
from ..read.planning import may_match


@dataclass(frozen=True, kw_only=True)
class Transaction:
    """What a commit writes and what it read to decide it.

    `read_predicate` is None for a blind append (it read nothing); otherwise the bound
    predicate describing the rows it read (AlwaysTrue for the whole table). `read_files` are
    the live files it read or rewrote. `written_ids` are the field ids whose values the caller
    supplied (None: every column of the files' schemas); columns padded with nulls are not
    among them, so a concurrent drop of one loses nothing.
    """

    operation: str
    actions: tuple[Action, ...]
    read_version: int
    parameters: Mapping = field(default_factory=dict)
    metrics: Mapping = field(default_factory=dict)
    read_predicate: Expr | None = None
    read_files: frozenset[str] = frozenset()
    written_ids: frozenset[int] | None = None

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
    # A blind append (or a tag-only commit) is valid under any protocol this writer implements
    # (commit() checked the winner's): no feature of this version asks more of an append. Raising
    # a feature on first use (change data, tags) must not make concurrent appends fail.
    if any(isinstance(a, Protocol) for a in w_actions) and not txn.is_blind_append:
        conflict("it changed the table protocol")
    tags = tag_conflict(txn.actions, w_actions)
    if tags:
        conflict(tags)
    w_meta = [a for a in w_actions if isinstance(a, TableMetadata)]
    if w_meta:
        if txn.of(TableMetadata) or txn.of(Protocol):
            conflict("both changed the table metadata")
        _check_files_fit(txn, w_meta[-1], base, conflict)
    w_removed = {a.path for a in w_actions if isinstance(a, RemoveFile)}
    if w_removed:
        mine = {a.path for a in txn.of(RemoveFile)}
        both = w_removed & mine
        if both:
            conflict(f"both removed {sorted(both)[0]}")
        read = w_removed & txn.read_files
        if read:
            conflict(f"it removed {sorted(read)[0]}, which this transaction read")
    w_added = [a for a in w_actions if isinstance(a, AddFile)]
    if w_added and txn.read_predicate is not None:
        metadata = w_meta[-1] if w_meta else base.metadata
        hit = _first_match(txn.read_predicate, w_added, metadata)
        if hit is not None:
            conflict(f"it added {hit}, which may hold rows this transaction's predicate reads")


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
