"""The file index: one Arrow row per live data file, the table planning prunes.

Columns (spec/format.md, "Checkpoints"): path, size, record_count, spec_id, schema_id,
modification_time, partition (struct: one child per partition field id, typed by the
transform's result type), stats (struct: one child per leaf column id, each
{min, max, null_count, nan_count} typed by the column's current type) and deletion_vector
(struct {path, offset, length, cardinality}, null for a file without one). Planning runs
vectorised pyarrow kernels over it, so 100,000 files never become 100,000 Python objects.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import CorruptTableError
from .actions import AddFile, DeletionVector, TableMetadata
from .partitioning import partition_struct_type
from .paths import check_path_column
from .stats import stats_from_json, stats_struct_array
from .values import decode_values, encode_value

SCALAR_COLUMNS = (
    ("path", pa.string()), ("size", pa.int64()), ("record_count", pa.int64()), ("spec_id", pa.int32()),
    ("schema_id", pa.int32()), ("modification_time", pa.int64()),
)
DV_COLUMN = "deletion_vector"
DV_TYPE = pa.struct([("path", pa.string()), ("offset", pa.int64()), ("length", pa.int64()),
                     ("cardinality", pa.int64())])


def live_counts(index: pa.Table) -> pa.Array:
    """Each file's live rows: record_count less its deletion vector's cardinality (spec 15.3)."""
    counts = index["record_count"]
    if DV_COLUMN not in index.column_names:
        return counts
    deleted = pc.struct_field(index[DV_COLUMN], "cardinality")
    return pc.subtract(counts, pc.fill_null(deleted, 0))


def deletion_vectors(index: pa.Table) -> list[DeletionVector | None]:
    """The descriptor of each file of `index`, None for a file without one."""
    if DV_COLUMN not in index.column_names:
        return [None] * index.num_rows
    return [None if d is None else DeletionVector(**d) for d in index[DV_COLUMN].to_pylist()]


def check_index_paths(index: pa.Table, where: str) -> None:
    """Refuse file-index rows read from storage (a checkpoint) whose paths break the path rule
    (spec/format.md, "Paths") or name one file twice, which would read its rows twice."""
    if "path" not in index.column_names or not pa.types.is_string(index.schema.field("path").type):
        raise CorruptTableError(f"{where}: no string column 'path'")
    paths = index["path"]
    check_path_column(paths, where)
    if pc.count_distinct(paths).as_py() != len(paths):
        raise CorruptTableError(f"{where}: a data file is listed twice")


def partition_type(metadata: TableMetadata) -> pa.StructType:
    return partition_struct_type(metadata.partition_specs, metadata.schema)


def stats_type(metadata: TableMetadata) -> pa.DataType:
    return stats_struct_array([], metadata.schema).type


def file_index_schema(metadata: TableMetadata) -> pa.Schema:
    return pa.schema([*SCALAR_COLUMNS, ("partition", partition_type(metadata)), ("stats", stats_type(metadata)),
                      (DV_COLUMN, DV_TYPE)])


def empty_file_index(metadata: TableMetadata) -> pa.Table:
    return file_index_schema(metadata).empty_table()


def build_file_index(adds: Sequence[AddFile], metadata: TableMetadata) -> pa.Table:
    """File-index rows for files given as log actions (their JSON partition and stats decoded).

    The JSON came from the log, so a value that does not fit its column's type is a
    CorruptTableError naming the file, not whatever Python or Arrow raised."""
    try:
        return _build_file_index(adds, metadata)
    except (TypeError, ValueError, ArithmeticError, pa.ArrowException) as e:
        culprit = next((a.path for a in adds if not _builds([a], metadata)), None)
        raise CorruptTableError(f"the add of {culprit!r} has partition values or statistics that do not fit "
                                f"the table's schema: {e}") from None


def _builds(adds: Sequence[AddFile], metadata: TableMetadata) -> bool:
    try:
        _build_file_index(adds, metadata)
    except (TypeError, ValueError, ArithmeticError, pa.ArrowException, CorruptTableError):
        return False
    return True


def _build_file_index(adds: Sequence[AddFile], metadata: TableMetadata) -> pa.Table:
    schema = metadata.schema
    columns = {
        "path": pa.array([a.path for a in adds], pa.string()),
        "size": pa.array([a.size for a in adds], pa.int64()),
        "record_count": pa.array([a.record_count for a in adds], pa.int64()),
        "spec_id": pa.array([a.spec_id for a in adds], pa.int32()),
        "schema_id": pa.array([a.schema_id for a in adds], pa.int32()),
        "modification_time": pa.array([a.modification_time for a in adds], pa.int64()),
    }
    ptype = partition_type(metadata)
    types = _partition_result_types(metadata)
    children = [decode_values([a.partition.get(f.name) for a in adds], types[f.name]) for f in ptype]
    columns["partition"] = _struct(children, ptype, len(adds))
    columns["stats"] = stats_struct_array([stats_from_json(a.stats, schema) for a in adds], schema)
    columns[DV_COLUMN] = pa.array([a.deletion_vector and a.deletion_vector.to_json() for a in adds], DV_TYPE)
    return pa.table(columns, schema=file_index_schema(metadata))


def add_files(rows: pa.Table, metadata: TableMetadata) -> list[AddFile]:
    """The `add` actions of file-index rows, as the log would hold them: what a writer re-adds
    when it replaces a file's deletion vector (remove + add of the same path, spec 4.2) for a
    file known only from a checkpoint. Statistics are those of the current schema (a dropped
    column's are gone, which only makes them unknown)."""
    specs = metadata.specs_by_id
    types = _partition_result_types(metadata)
    partition = rows["partition"].combine_chunks() if rows.num_rows else None
    parts = {f.name: _encoded(partition.field(i), types.get(f.name)) for i, f in enumerate(partition.type)} \
        if partition is not None else {}
    stats = _encoded_stats(rows, metadata)
    out = []
    for r, row in enumerate(rows.select([name for name, _ in SCALAR_COLUMNS]).to_pylist()):
        spec = specs.get(row["spec_id"])
        own = [str(pf.field_id) for pf in spec.fields] if spec is not None else []
        out.append(AddFile(**row, partition={k: parts[k][r] for k in own if k in parts},
                           stats={k: v[r] for k, v in stats.items() if v[r] is not None}))
    return [replace(a, deletion_vector=dv) for a, dv in zip(out, deletion_vectors(rows))]


def _encoded(values: pa.Array, t) -> list:
    """JSON encodings (spec 7) of an Arrow column of type `t`; timestamps as exact counts."""
    if t is None:
        return [None] * len(values)
    if pa.types.is_timestamp(values.type):
        return values.cast(pa.int64()).to_pylist()
    return [encode_value(v, t) for v in values.to_pylist()]


def _encoded_stats(rows: pa.Table, metadata: TableMetadata) -> dict[str, list]:
    """Per column id, each row's statistics object in the log's JSON form (None: none known)."""
    stats = rows["stats"].combine_chunks() if rows.num_rows else None
    out: dict[str, list] = {}
    for i, f in enumerate(stats.type if stats is not None else ()):
        field = metadata.schema.field_by_id(int(f.name))
        child = stats.field(i)
        if field is None:
            continue
        cols = {"min": _encoded(child.field("min"), field.type), "max": _encoded(child.field("max"), field.type),
                "null_count": child.field("null_count").to_pylist(), "nan_count": child.field("nan_count").to_pylist()}
        valid = child.is_valid().to_pylist()
        out[f.name] = [{k: v[r] for k, v in cols.items() if v[r] is not None} if valid[r] else None
                       for r in range(len(child))]
    return out


def conform_file_index(index: pa.Table, metadata: TableMetadata) -> pa.Table:
    """Rows read from a checkpoint written under an older schema, cast to the current one:
    stats of widened columns are cast, of dropped columns dropped, of new columns null."""
    target = file_index_schema(metadata)
    if index.schema.equals(target):
        return index
    columns = [index[name].cast(t) if index[name].type != t else index[name] for name, t in SCALAR_COLUMNS]
    for name in ("partition", "stats"):
        columns.append(_conform_struct(index[name].combine_chunks() if name in index.column_names else None,
                                       target.field(name).type, index.num_rows))
    # Checkpoints of writers before deletion vectors lack the column: no file has one.
    columns.append(index[DV_COLUMN] if DV_COLUMN in index.column_names else pa.nulls(index.num_rows, DV_TYPE))
    return pa.Table.from_arrays(columns, schema=target)


def _conform_struct(arr: pa.StructArray | None, target: pa.StructType, n: int) -> pa.Array:
    children = []
    for f in target:
        idx = arr.type.get_field_index(f.name) if arr is not None else -1
        if idx < 0:
            children.append(pa.nulls(n, f.type))
        else:
            child = arr.field(idx)
            children.append(child if child.type == f.type else child.cast(f.type))
    return _struct(children, target, n)


def _struct(children: list[pa.Array], t: pa.StructType, n: int) -> pa.Array:
    if not children:
        return pa.array([{}] * n, type=t) if n else pa.array([], type=t)
    return pa.StructArray.from_arrays(children, fields=list(t))


def _partition_result_types(metadata: TableMetadata) -> dict:
    """The result type of every partition field of every spec, by str(field id)."""
    schema = metadata.schema
    out = {}
    for spec in metadata.partition_specs:
        for pf in spec.fields:
            source = schema.field_by_id(pf.source_id)
            if source is not None:
                out[str(pf.field_id)] = pf.transform.result_type(source.type)
    return out
