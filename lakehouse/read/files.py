"""What a scan reads, reported to users: the plan as an Arrow table (one row per file) and as
`DataFile` objects decoded lazily from it, so planning 10,000 files builds no Python objects
until someone looks at them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence, overload

import pyarrow as pa
import pyarrow.compute as pc

from ..format.file_index import live_counts
from ..format.state import TableState

_DECODE_ROWS = 1024  # rows decoded at a time when iterating


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnStatistics:
    """A column's statistics in one data file (spec/format.md, "Column statistics")."""

    min: Any
    max: Any
    null_count: int | None
    nan_count: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DataFile:
    """A data file a scan will read, as `scan.files()` reports it: `partition` holds the values
    of the file's own partition spec by field name, `column_stats` the statistics by column path.
    `record_count` counts the rows the file stores, `live_count` those a scan returns (less the
    rows its deletion vector deletes); statistics describe every stored row."""

    path: str
    size: int
    record_count: int
    live_count: int
    spec_id: int
    partition: Mapping[str, Any]
    column_stats: Mapping[str, ColumnStatistics]


def files_table(index: pa.Table, state: TableState) -> pa.Table:
    """The planned file-index rows `index` for users: path, size, record_count, live_count
    (record_count less the rows deleted by the file's deletion vector), spec_id, partition (a struct keyed by partition field name; null where the file's spec lacks the
    field) and stats (a struct keyed by column path, each {min, max, null_count, nan_count})."""
    out = index.select(["path", "size", "record_count"])
    out = out.append_column("live_count", live_counts(index)).append_column("spec_id", index["spec_id"])
    names = _partition_names(state)
    partition = index["partition"].combine_chunks()
    children: dict[str, pa.Array] = {}
    for i, f in enumerate(partition.type):
        name, child = names.get(f.name, f.name), partition.field(i)
        # Two specs may name different fields alike (a field dropped, then added again): a file
        # has one spec, so at most one of them holds its value.
        if name not in children:
            children[name] = child
        elif children[name].type == child.type:
            children[name] = pc.coalesce(children[name], child)
        else:
            children[f"{name}_{f.name}"] = child  # same name, other type: told apart by field id
    out = out.append_column("partition", _struct(children, index.num_rows))
    stats = index["stats"].combine_chunks()
    schema = state.schema
    named = {}
    for i, f in enumerate(stats.type):
        path = schema.path_of(int(f.name))
        if path is not None:
            named[".".join(path)] = stats.field(i)
    return out.append_column("stats", _struct(named, index.num_rows))


def _partition_names(state: TableState) -> dict[str, str]:
    return {str(pf.field_id): pf.name for spec in state.metadata.partition_specs for pf in spec.fields}


def _struct(children: Mapping[str, pa.Array], n: int) -> pa.Array:
    if not children:
        return pa.array([{}] * n, type=pa.struct([]))
    return pa.StructArray.from_arrays(list(children.values()), names=list(children))


class DataFiles(Sequence[DataFile]):
    """The files a scan reads, in commit order: a sequence whose `DataFile` items are decoded
    from the Arrow plan (`scan.files_table()`) only when accessed."""

    def __init__(self, table: pa.Table, state: TableState) -> None:
        self._table = table
        names = _partition_names(state)
        self._spec_fields = {s.spec_id: [names[str(pf.field_id)] for pf in s.fields]
                             for s in state.metadata.partition_specs}

    def __len__(self) -> int:
        return self._table.num_rows

    @overload
    def __getitem__(self, i: int) -> DataFile: ...
    @overload
    def __getitem__(self, i: slice) -> list[DataFile]: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self._decode(self._table.take(pa.array(range(len(self))[i], pa.int64())))
        n = len(self)
        if not -n <= i < n:
            raise IndexError("DataFiles index out of range")
        return self._decode(self._table.slice(i % n, 1))[0]

    def __iter__(self) -> Iterator[DataFile]:
        for start in range(0, len(self), _DECODE_ROWS):
            yield from self._decode(self._table.slice(start, _DECODE_ROWS))

    def __repr__(self) -> str:
        shown = [repr(f) for f in self[:3]]
        more = f",\n ... and {len(self) - len(shown)} more (scan.files_table() has them all)" \
            if len(self) > len(shown) else ""
        return "[" + ",\n ".join(shown) + more + "]"

    def _decode(self, rows: pa.Table) -> list[DataFile]:
        """DataFiles of `rows`, decoded column by column (a nested to_pylist() per row costs
        several times more)."""
        paths, sizes, counts, live, spec_ids = (rows[c].to_pylist()
                                                for c in ("path", "size", "record_count", "live_count", "spec_id"))
        partition = rows["partition"].combine_chunks()
        values = {f.name: partition.field(i).to_pylist() for i, f in enumerate(partition.type)}
        stats = rows["stats"].combine_chunks()
        columns = []
        for i, f in enumerate(stats.type):
            child = stats.field(i)  # a null child is a column without statistics in that file
            parts = [child.field(k).to_pylist() for k in ("min", "max", "null_count", "nan_count")]
            columns.append((f.name, child.is_valid().to_pylist(), *parts))
        out = []
        for r, spec_id in enumerate(spec_ids):
            column_stats = {name: ColumnStatistics(min=lo[r], max=hi[r], null_count=nulls[r], nan_count=nans[r])
                            for name, valid, lo, hi, nulls, nans in columns if valid[r]}
            own = {n: values[n][r] for n in self._spec_fields.get(spec_id, ())}
            out.append(DataFile(path=paths[r], size=sizes[r], record_count=counts[r], live_count=live[r], spec_id=spec_id,
                                partition=own, column_stats=column_stats))
        return out
