"""Reading data files under the current schema, matching columns by field id.

A file records the schema it was written under (its `schema_id`). Files whose columns already
have the current names and types are handed to pyarrow's dataset scanner as they are (with the
row filter pushed down); others are read and then renamed, widened and null-filled by id.
"""

from __future__ import annotations

from itertools import groupby
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from ..errors import StorageError
from ..expressions.arrow_filter import RowFilter
from ..expressions.tree import Expr
from ..format.actions import TableMetadata
from ..format.deletion_vectors import live_mask, positions_array, read_deletion_vectors
from ..format.file_index import deletion_vectors
from ..format.paths import check_relative_path
from ..format.schema import Schema
from ..format.types import FLOAT_TYPES, Field, ListType, StructType, Type, to_arrow_type
from ..io import Store
from .row_groups import matching_row_groups, nan_free_files

BATCH_ROWS = 128 * 1024
DV_GROUP_FILES = 16  # files with deletion vectors read as one dataset (their DVs held at once)


def output_schema(fields: Iterable[Field]) -> pa.Schema:
    """The Arrow schema scans return: the current names and types, without field-id metadata."""
    return pa.schema([pa.field(f.name, _plain(to_arrow_type(f.type)), nullable=not f.required) for f in fields])


def _plain(t: pa.DataType) -> pa.DataType:
    if pa.types.is_struct(t):
        return pa.struct([pa.field(c.name, _plain(c.type), c.nullable) for c in t])
    if pa.types.is_list(t):
        return pa.list_(pa.field("element", _plain(t.value_type), t.value_field.nullable))
    if pa.types.is_map(t):
        return pa.map_(_plain(t.key_type), pa.field("value", _plain(t.item_type), t.item_field.nullable))
    return t


def fields_reading(schema: Schema, ids: set[int]) -> tuple[Field, ...]:
    """The top-level fields that hold (or are) any of the field ids `ids`."""
    return tuple(f for f in schema.fields if Schema(fields=(f,)).all_ids() & ids)


def read_batches(store: Store, metadata: TableMetadata, files: pa.Table, fields: tuple[Field, ...],
                 row_filter: RowFilter | None, filter_fields: tuple[Field, ...] = (), *,
                 ordered: bool = True) -> Iterator[pa.RecordBatch]:
    """Batches of `fields` (current top-level fields) from `files`, rows matching `row_filter`
    (written against current names and reading `filter_fields`).

    `ordered`: rows come in the order of `files` (the file index keeps commit order,
    spec/format.md "Row order"), each file's rows in file order; consecutive files written
    under one schema are read as one dataset, whose scanner keeps fragment order. Unordered,
    the files are grouped by schema first (fewer, larger reads; rows in no defined order)."""
    target = output_schema(fields)
    needed = _unique(fields + filter_fields)
    nan_free = {} if row_filter is None else nan_free_files(files, row_filter.expr)
    for schema_id, has_dvs, group in _groups(files, ordered):
        paths = [(store.full_path(check_relative_path(p, "data file")), size) for _, p, size, _, _ in group]
        file_schema = metadata.schema_by_id(schema_id)
        try:
            # Each file's DV is read once, when its group is reached (a limit may stop before).
            deleted = _deleted_positions(store, group, paths) if has_dvs else None
            yield from _read_group(store, paths, file_schema, needed, target, row_filter, deleted,
                                   push_down=row_filter is None or (row_filter.pushable
                                                                    and _safe_to_push_down(filter_fields)),
                                   nan_free=[nan_free.get(p, frozenset()) for _, p, _, _, _ in group])
        except (OSError, pa.ArrowException) as e:
            if isinstance(e, pa.ArrowInvalid) and "expression" in str(e).lower():
                raise
            raise StorageError(f"reading data files of {store.uri} failed: {e}") from None


def _groups(files: pa.Table, ordered: bool) -> Iterator[tuple[int, bool, list[tuple]]]:
    """Runs of consecutive files read as one dataset: (schema id, whether they have DVs, rows of
    (schema_id, path, size, record_count, DV)). Files with DVs are read apart from those
    without, in runs of at most DV_GROUP_FILES, so the positions held in memory are those of
    a few files, however many rows the table has deleted."""
    dvs = deletion_vectors(files)
    counts = files["record_count"].to_pylist() if "record_count" in files.column_names else [None] * files.num_rows
    rows = list(zip(files["schema_id"].to_pylist(), files["path"].to_pylist(), files["size"].to_pylist(), counts, dvs))
    key = lambda r: (r[0], r[4] is not None)  # noqa: E731
    if not ordered:
        rows.sort(key=key)  # stable: only the grouping changes
    for (schema_id, has_dvs), run in groupby(rows, key=key):
        run = list(run)
        step = DV_GROUP_FILES if has_dvs else len(run)
        for start in range(0, len(run), step):
            yield schema_id, has_dvs, run[start:start + step]


def _deleted_positions(store: Store, group: list[tuple], paths: list[tuple[str, int]]) -> dict[str, np.ndarray]:
    """The deleted positions of each file of `group`, by the location the dataset reads."""
    bitmaps = read_deletion_vectors(store, [(dv, count) for _, _, _, count, dv in group])
    return {location: positions_array(bitmap) for (location, _), bitmap in zip(paths, bitmaps)}


def _dataset(store: Store, paths: list[tuple[str, int]], schema: pa.Schema) -> ds.Dataset:
    """A dataset of the files, told their sizes from the log so object stores need no HEAD each."""
    fmt, fs = ds.ParquetFileFormat(), store.arrow_fs
    fragments = [fmt.make_fragment(path, filesystem=fs, file_size=size) for path, size in paths]
    return ds.FileSystemDataset(fragments, schema=schema, format=fmt, filesystem=fs)


def _read_group(store: Store, paths: list[tuple[str, int]], file_schema: Schema, needed: tuple[Field, ...],
                target: pa.Schema, row_filter: RowFilter | None, deleted: dict[str, np.ndarray] | None, *,
                push_down: bool, nan_free: list[frozenset[int]]) -> Iterator[pa.RecordBatch]:
    """The group's rows; `deleted`: the files' deleted positions (spec 15.3), so the rows are
    read unfiltered, less the deleted ones, then filtered (a pushed-down filter loses positions;
    it only prunes row groups then). `nan_free`: per file, the float field ids it holds no NaN in."""
    dataset = _dataset(store, paths, file_schema.to_arrow())
    native = push_down and all(file_schema.find_top(f.id) == f for f in needed)
    if native and deleted is None:
        # Same ids, names and types: pyarrow reads, filters and projects natively.
        scanner = dataset.scanner(columns=list(target.names), filter=None if row_filter is None else row_filter.expression(),
                                  batch_size=BATCH_ROWS)
        for batch in scanner.to_batches():
            if batch.num_rows:
                yield _shaped(batch, target)
        return
    present = [file_schema.find_top(f.id) for f in needed]
    columns = [p.name for p in present if p is not None]
    starts = None
    if row_filter is not None and not row_filter.negate:  # pyarrow prunes nothing here: prune soundly
        dataset, starts = _matching_row_groups(dataset, row_filter.expr, nan_free, split=deleted is not None)
    scanner = dataset.scanner(columns=columns, batch_size=BATCH_ROWS)
    batches = scanner.to_batches() if deleted is None else _live_batches(scanner, deleted, starts)
    for batch in batches:
        if not batch.num_rows:
            continue
        arrays = [adapt(batch.column(p.name), p, f) if p is not None else pa.nulls(batch.num_rows, to_arrow_type(f.type))
                  for f, p in zip(needed, present)]
        # With no column to read the batch still has its rows: from_arrays([]) would have none.
        table = pa.Table.from_arrays(arrays, names=[f.name for f in needed]) if arrays else \
            pa.Table.from_batches([batch.select([])])
        if row_filter is not None:
            table = table.filter(row_filter.expression() if row_filter.pushable else row_filter.mask(table))
        for out in table.select(target.names).to_batches():
            yield _shaped(out, target)


def _matching_row_groups(dataset: ds.FileSystemDataset, expr: Expr, nan_free: list[frozenset[int]], *,
                         split: bool) -> tuple[ds.FileSystemDataset, dict[tuple[str, int], int] | None]:
    """The dataset of the row groups whose statistics may match `expr` (row_groups.py), in file
    order. `split`: one fragment per row group, with the position in its file of each one's
    first row (by path and row group id), for reads that drop deleted positions."""
    fragments = list(dataset.get_fragments())
    parts, starts = [], ({} if split else None)
    for fragment, ids in zip(fragments, matching_row_groups(fragments, expr, nan_free)):
        if not split:
            if ids:
                parts.append(fragment if len(ids) == fragment.num_row_groups else fragment.subset(row_group_ids=ids))
            continue
        counts = [fragment.metadata.row_group(i).num_rows for i in range(fragment.metadata.num_row_groups)]
        first = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        for rg in ids:
            starts[(fragment.path, rg)] = int(first[rg])
            parts.append(fragment.subset(row_group_ids=[rg]))
    return ds.FileSystemDataset(parts, schema=dataset.schema, format=dataset.format,
                                filesystem=dataset.filesystem), starts


def _live_batches(scanner: ds.Scanner, deleted: dict[str, np.ndarray],
                  starts: dict[tuple[str, int], int] | None) -> Iterator[pa.RecordBatch]:
    """The scanner's batches less the deleted rows. Batches of a fragment come in order, so a
    running count per fragment from its first position (0 for a whole file, `starts` for a
    row group) gives each batch's first position."""
    offsets: dict[tuple[str, int | None], int] = {}
    for tagged in scanner.scan_batches():
        batch, fragment = tagged.record_batch, tagged.fragment
        key = (fragment.path, None if starts is None else fragment.row_groups[0].id)
        start = offsets.get(key, 0 if starts is None else starts[key])
        offsets[key] = start + batch.num_rows
        path = fragment.path
        keep = live_mask(deleted[path], start, start + batch.num_rows)
        yield batch if keep is None else batch.filter(keep)


def _shaped(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    """`batch`'s columns under `target`'s names and types; a batch of no columns keeps its row
    count (row counts never depend on which columns are read)."""
    if not target.names:
        return batch.select([])
    return pa.RecordBatch.from_arrays(batch.columns, schema=target)


def _safe_to_push_down(fields: tuple[Field, ...]) -> bool:
    """pyarrow's row-group pruning trusts Parquet float min/max, which leave NaN out: a filter
    NaN satisfies (`NOT x > 1`, `x != 1`) would skip row groups holding matches. Filters over
    float columns therefore run after the read."""
    return not any(t in FLOAT_TYPES for f in fields for t in _types(f.type))


def _types(t: Type) -> Iterator[Type]:
    yield t
    if isinstance(t, StructType):
        for child in t.fields:
            yield from _types(child.type)


def adapt(arr: pa.Array, old: Field, new: Field) -> pa.Array:
    """`arr`, written as field `old`, shaped as field `new` (same id): children matched by id,
    renamed, widened, and null where the file never had them."""
    if isinstance(new.type, StructType) and isinstance(old.type, StructType):
        old_children = {c.id: c for c in old.type.fields}
        parts = []
        for child in new.type.fields:
            was = old_children.get(child.id)
            if was is None:
                parts.append(pa.nulls(len(arr), to_arrow_type(child.type)))
            else:
                parts.append(adapt(pc.struct_field(arr, [old.type.fields.index(was)]), was, child))
        mask = arr.is_null() if arr.null_count else None
        return pa.StructArray.from_arrays(parts, fields=[pa.field(c.name, _plain(to_arrow_type(c.type)))
                                                         for c in new.type.fields], mask=mask)
    if isinstance(new.type, ListType) and isinstance(old.type, ListType) and new.type != old.type:
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        values = adapt(arr.values, _element(old.type), _element(new.type))
        return pa.ListArray.from_arrays(arr.offsets, values, mask=arr.is_null() if arr.null_count else None)
    want = _plain(to_arrow_type(new.type))
    return arr if arr.type == want else arr.cast(want)


def _element(t: ListType) -> Field:
    return Field(id=t.element_id, name="element", type=t.element, required=t.element_required)


def _unique(fields: tuple[Field, ...]) -> tuple[Field, ...]:
    seen, out = set(), []
    for f in fields:
        if f.id not in seen:
            seen.add(f.id)
            out.append(f)
    return tuple(out)
