"""The change feed (spec/format.md, "Change data"): the rows each commit of a version range
inserted or deleted, with `_change_type`, `_commit_version` and `_commit_timestamp`.

An entry with change data files (`cdc` actions) changed exactly their rows. Otherwise its
changes are derived from its actions: the rows of files it added with `data_change` are
inserts, the rows a `data_change` remove took out of the table (the file's rows less its
deletion vector at removal) are deletes, and a file whose deletion vector was replaced (remove
and add of one path) deleted the positions its new vector adds (and, after a restore,
re-inserted those it no longer holds); an entry of `data_change: false` actions only
(a rewrite) changed nothing. Rows are read file by file under the range's last schema, by field id.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from ..errors import CorruptTableError, InvalidArgumentError, StorageError, VersionNotFoundError
from ..format.actions import AddCdcFile, AddFile, DeletionVector, RemoveFile, TableMetadata
from ..format.change_data import CHANGE_TYPE, CHANGE_TYPES, change_schema
from ..format.deletion_vectors import BitMap64, positions_array, read_deletion_vector
from ..format.file_index import build_file_index, deletion_vectors
from ..format.log import LogEntry, read_entries_from
from ..format.paths import check_relative_path
from ..format.replay import load_state
from ..format.state import TableState, apply_actions
from ..format.types import Field, to_arrow_type
from ..io import Store
from .data_files import BATCH_ROWS, adapt, output_schema, read_batches
from .scan import _select  # one rule for naming columns: top-level, verbatim

COMMIT_VERSION = "_commit_version"
COMMIT_TIMESTAMP = "_commit_timestamp"
_TIMESTAMP = pa.timestamp("ms", "UTC")


def changes_schema(fields: Sequence[Field]) -> pa.Schema:
    """The columns `changes()` returns: the fields, then the three change columns."""
    return output_schema(fields).append(pa.field(CHANGE_TYPE, pa.string(), nullable=False)) \
        .append(pa.field(COMMIT_VERSION, pa.int64(), nullable=False)) \
        .append(pa.field(COMMIT_TIMESTAMP, _TIMESTAMP, nullable=False))


def read_changes(store: Store, state: TableState, start: object, end: object,
                 columns: Sequence[str] | None = None) -> pa.Table:
    """The changes of versions start..end (inclusive; end None: `state`'s version), in commit
    order, under the schema of version `end`."""
    start, end = _check_range(start, end, state.version)
    entries = _entries(store, start, end, state.version)
    before = load_state(store, start - 1) if start > 0 else None
    metadata = _last_metadata(before, entries)
    fields = _select(metadata.schema.fields, columns)
    schema = changes_schema(fields)
    return pa.Table.from_batches(list(change_batches(store, before, entries, metadata, fields)), schema=schema)


def change_batches(store: Store, before: TableState | None, entries: Sequence[LogEntry], metadata: TableMetadata,
                   fields: Sequence[Field]) -> Iterator[pa.RecordBatch]:
    """Each entry's changed rows (of `fields`, read under `metadata`), stamped with its version
    and time; `before` is the state the first entry was committed on (None before version 0)."""
    fields = tuple(fields)
    for entry in entries:
        after = apply_actions(before, entry.version, entry.timestamp, entry.actions)
        for batch in _entry_changes(store, before, after, entry, metadata, fields):
            if batch.num_rows:
                yield _stamped(batch, entry)
        before = after


def _entry_changes(store: Store, before: TableState | None, after: TableState, entry: LogEntry,
                   metadata: TableMetadata, fields: tuple[Field, ...]) -> Iterator[pa.RecordBatch]:
    """One entry's changes, as batches of `fields` plus `_change_type`."""
    cdc = [a for a in entry.actions if isinstance(a, AddCdcFile)]
    if cdc:
        for c in cdc:
            if c.change_type is None:
                yield from _read_change_file(store, metadata, c, fields)
            else:
                yield from _read_reference(store, before, after, metadata, c, fields)
        return
    removed = [a.path for a in entry.actions if isinstance(a, RemoveFile) and a.data_change]
    added = [a for a in entry.actions if isinstance(a, AddFile) and a.data_change]
    replaced = set(removed) & {a.path for a in added}  # a file whose deletion vector changed
    gone = [p for p in removed if p not in replaced]
    for files in _live_rows(before, gone):
        yield from _typed(read_batches(store, metadata, files, fields, None), "delete")
    old_rows = {r["path"][0].as_py(): r for r in _live_rows(before, [a.path for a in added if a.path in replaced])}
    for add in (a for a in added if a.path in replaced):
        old = old_rows.get(add.path)
        if old is None:  # it was not live: its remove changed nothing, its add inserts
            replaced.discard(add.path)
        else:
            yield from _replaced_changes(store, metadata, fields, deletion_vectors(old)[0], add)
    inserted = [a for a in added if a.path not in replaced]
    if inserted:
        index = build_file_index(inserted, after.metadata)
        yield from _typed(read_batches(store, metadata, index, fields, None), "insert")


def _replaced_changes(store: Store, metadata: TableMetadata, fields: tuple[Field, ...], old: DeletionVector | None,
                      add: AddFile) -> Iterator[pa.RecordBatch]:
    """A file whose deletion vector changed: the positions it newly deletes are deletes, those it
    no longer deletes (a restore) inserts. Reads the file only when either is non-empty."""
    before = BitMap64() if old is None else read_deletion_vector(store, old, add.record_count)
    after = BitMap64() if add.deletion_vector is None else \
        read_deletion_vector(store, add.deletion_vector, add.record_count)
    deleted, revived = after - before, before - after
    if not deleted and not revived:
        return
    whole = build_file_index([replace(add, deletion_vector=None)], metadata)
    picks = {kind: positions_array(bits) for kind, bits in (("delete", deleted), ("insert", revived)) if bits}
    yield from _picked(store, metadata, fields, whole, picks)


def _read_reference(store: Store, before: TableState | None, after: TableState, metadata: TableMetadata,
                    cdc: AddCdcFile, fields: tuple[Field, ...]) -> Iterator[pa.RecordBatch]:
    """A change reference's rows (spec/format.md, "Change data"): the data file's rows at its
    positions (all of them when it has none), whatever the file's deletion vector. The file is
    one the entry added, or one live before it (whose rows it deleted or updated)."""
    index = next(_live_rows(after, [cdc.path]), None)
    if index is None:
        index = next(_live_rows(before, [cdc.path]), None)
    if index is None:
        raise CorruptTableError(f"change reference {cdc.path!r} names no data file live before or after its entry")
    record_count = index["record_count"][0].as_py()
    if record_count != cdc.record_count:
        raise CorruptTableError(f"change reference {cdc.path!r}: record_count {cdc.record_count} is not the data "
                                f"file's {record_count}")
    whole = index.drop_columns([c for c in index.column_names if c.startswith("deletion_vector")])
    if cdc.positions is None:
        yield from _typed(read_batches(store, metadata, whole, fields, None), cdc.change_type)
        return
    bits = read_deletion_vector(store, cdc.positions, record_count)
    if bits:
        yield from _picked(store, metadata, fields, whole, {cdc.change_type: positions_array(bits)})


def _picked(store: Store, metadata: TableMetadata, fields: tuple[Field, ...], whole: pa.Table,
            picks: dict[str, np.ndarray]) -> Iterator[pa.RecordBatch]:
    """The rows of the one file of `whole` (read without its deletion vector) at each change
    type's sorted positions, batch by batch in file order."""
    start = 0
    for batch in read_batches(store, metadata, whole, fields, None):  # one file, in file order
        stop = start + batch.num_rows
        for kind, positions in picks.items():
            lo, hi = np.searchsorted(positions, np.array([start, stop], dtype=np.uint64))
            if hi > lo:
                yield from _typed(iter([batch.take(pa.array(positions[lo:hi] - start))]), kind)
        start = stop


def _live_rows(state: TableState | None, paths: list[str]) -> Iterator[pa.Table]:
    """File-index rows (one table per file, in `paths` order) of the paths live in `state`;
    a remove of a path that is not live changes nothing (spec/format.md, "add")."""
    if state is None or not paths:
        return
    files = state.files
    in_base = [p for p in paths if p not in files.added and p not in files.removed and p in files.base_path_set()]
    base_rows: dict[str, pa.Table] = {}
    if in_base:
        hits = files.base.filter(pc.is_in(files.base["path"], pa.array(in_base, pa.string())))
        base_rows = {p: hits.slice(i, 1) for i, p in enumerate(hits["path"].to_pylist())}
    for p in paths:
        if p in files.added:
            yield build_file_index([files.added[p]], state.metadata)
        elif p in base_rows:
            yield base_rows[p]


def _read_change_file(store: Store, metadata: TableMetadata, cdc: AddCdcFile,
                      fields: tuple[Field, ...]) -> Iterator[pa.RecordBatch]:
    """A change data file's rows, columns matched by field id as for data files."""
    file_schema = metadata.schema_by_id(cdc.schema_id)
    path = store.full_path(check_relative_path(cdc.path, "change data file"))
    fmt = ds.ParquetFileFormat()
    dataset = ds.FileSystemDataset([fmt.make_fragment(path, filesystem=store.arrow_fs, file_size=cdc.size)],
                                   schema=change_schema(file_schema), format=fmt, filesystem=store.arrow_fs)
    present = [file_schema.find_top(f.id) for f in fields]
    names = [p.name for p in present if p is not None] + [CHANGE_TYPE]
    try:
        for batch in dataset.scanner(columns=names, batch_size=BATCH_ROWS).to_batches():
            kinds = batch.column(CHANGE_TYPE)
            if kinds.null_count or not pc.all(pc.is_in(kinds, pa.array(CHANGE_TYPES))).as_py():
                raise CorruptTableError(f"change data file {cdc.path!r} holds a _change_type that is not one of "
                                        f"{', '.join(CHANGE_TYPES)}")
            arrays = [adapt(batch.column(p.name), p, f) if p is not None
                      else pa.nulls(batch.num_rows, to_arrow_type(f.type)) for f, p in zip(fields, present)]
            yield pa.RecordBatch.from_arrays([*arrays, kinds], schema=output_schema(fields).append(
                pa.field(CHANGE_TYPE, pa.string(), nullable=False)))
    except (OSError, pa.ArrowException) as e:
        raise StorageError(f"reading change data file {cdc.path!r} of {store.uri} failed: {e}") from None


def _typed(batches: Iterator[pa.RecordBatch], kind: str) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield batch.append_column(pa.field(CHANGE_TYPE, pa.string(), nullable=False),
                                  pa.repeat(pa.scalar(kind), batch.num_rows))


def _stamped(batch: pa.RecordBatch, entry: LogEntry) -> pa.RecordBatch:
    n = batch.num_rows
    batch = batch.append_column(pa.field(COMMIT_VERSION, pa.int64(), nullable=False),
                                pa.repeat(pa.scalar(entry.version, pa.int64()), n))
    return batch.append_column(pa.field(COMMIT_TIMESTAMP, _TIMESTAMP, nullable=False),
                               pa.repeat(pa.scalar(entry.timestamp, _TIMESTAMP), n))


def _check_range(start: object, end: object, current: int) -> tuple[int, int]:
    for name, value in (("start_version", start), ("end_version", end)):
        if value is not None and type(value) is not int:
            raise InvalidArgumentError(f"{name} must be a version number (an int), not {value!r}")
        if value is not None and value < 0:
            raise VersionNotFoundError(f"{name} {value} does not exist: versions count up from 0")
    if start is None:
        raise InvalidArgumentError("start_version is required")
    if end is None and start > current:
        raise VersionNotFoundError(f"start_version {start} is after this handle's version {current}: pass "
                                   "end_version, or read from a refreshed handle (refresh())")
    end = current if end is None else end
    if start > end:
        raise InvalidArgumentError(f"start_version {start} is after end_version {end}")
    return start, end


def _entries(store: Store, start: int, end: int, current: int) -> list[LogEntry]:
    """The log entries start..end, all of them, or VersionNotFoundError naming what there is."""
    entries = read_entries_from(store, start, until=end, start_may_be_missing=True)
    if len(entries) == end - start + 1:
        return entries
    newest = max(current, entries[-1].version if entries else -1)
    if not entries and start <= newest:
        raise VersionNotFoundError(
            f"the change feed cannot start at version {start}: its log entry is no longer kept "
            f"(the log starts later; the newest version is {newest})")
    raise VersionNotFoundError(f"versions {start}..{end} are not all in the table's history: the newest version is "
                               f"{newest}, so changes can be read up to end_version={newest}")


def _last_metadata(before: TableState | None, entries: Sequence[LogEntry]) -> TableMetadata:
    for entry in reversed(entries):
        for action in reversed(entry.actions):
            if isinstance(action, TableMetadata):
                return action
    if before is None:
        raise CorruptTableError("version 0 has no metadata")
    return before.metadata
