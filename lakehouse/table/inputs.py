"""What `append` and `overwrite` accept, turned into one Arrow stream.

Accepted: a pyarrow Table, RecordBatch or RecordBatchReader; anything speaking the Arrow C
stream or array interface (polars DataFrame, DuckDB relations, ...); a polars LazyFrame
(collected); a pandas DataFrame or named Series (named index levels become columns, unnamed
ones are row labels and are dropped); a dict of columns or a list of row dicts. Pandas and
Python values are typed by inference, so they are cast to the table's column types (safely:
a value that does not fit is an error, never truncated); Arrow data keeps its types. Anything
else is an InvalidArgumentError saying what is accepted.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pyarrow as pa

from ..errors import InvalidArgumentError, SchemaMismatchError
from .casting import cast_array

_ACCEPTED = ("pass a pyarrow Table, RecordBatch or RecordBatchReader, a pandas or polars DataFrame, "
             "a dict of columns, a list of row dicts, or an object with __arrow_c_stream__")


def to_reader(data: Any, target: pa.Schema | None = None) -> pa.RecordBatchReader:
    """One Arrow stream for `data`; `target` (the table's Arrow schema) types Python values."""
    if isinstance(data, pa.RecordBatchReader):
        return data
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        return _reader(data)
    if isinstance(data, Mapping):
        return _reader(_from_columns(data, target))
    if isinstance(data, (list, tuple)):
        return _reader(_from_rows(data, target))
    module = type(data).__module__
    if module.startswith("pandas"):  # before the C stream: pandas' own export drops a named index
        return _reader(_typed(_from_pandas(data), target))
    if module.startswith("polars") and type(data).__name__ == "LazyFrame":
        # A LazyFrame is a query; writing its result means running it, as polars' own sinks do.
        # The result is held in memory like a DataFrame's (collect_batches() is unstable in polars).
        data = data.collect()
    try:
        if hasattr(data, "__arrow_c_stream__"):
            return pa.RecordBatchReader.from_stream(data)
        if hasattr(data, "__arrow_c_array__"):
            return _reader(pa.record_batch(data))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:  # e.g. a stream of a non-struct type
        raise InvalidArgumentError(f"cannot write a {type(data).__name__} ({e}): {_ACCEPTED}") from None
    raise InvalidArgumentError(f"cannot write a {type(data).__name__}: {_ACCEPTED}")


def _reader(data: pa.Table | pa.RecordBatch) -> pa.RecordBatchReader:
    batches = data.to_batches() if isinstance(data, pa.Table) else [data]
    return pa.RecordBatchReader.from_batches(data.schema, batches)


def _from_pandas(data: Any) -> pa.Table:
    if type(data).__name__ == "Series":
        if data.name is None:
            raise InvalidArgumentError("cannot write an unnamed pandas Series: name it (s.rename('col')) "
                                       "or pass a DataFrame")
        data = data.to_frame()
    if type(data).__name__ != "DataFrame":
        raise InvalidArgumentError(f"cannot write a pandas {type(data).__name__}: {_ACCEPTED}")
    # A named index level is data (df.set_index("id") moved the `id` column there); an unnamed one
    # is row labels (a RangeIndex, or what filtering or sorting left), which pa.table(df) drops too.
    named = [n for n in data.index.names if n is not None]
    clash = sorted(str(n) for n in set(named) & set(data.columns))
    if clash:
        raise SchemaMismatchError(f"index level(s) {clash} have the name of a column: rename or drop one "
                                  "(df.reset_index(drop=True) drops the index)")
    if named:
        data = data.reset_index(level=named)
    try:
        return pa.Table.from_pandas(data, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
        raise SchemaMismatchError(f"cannot convert the pandas DataFrame to Arrow: {e}") from None


def _from_columns(columns: Mapping, target: pa.Schema | None) -> pa.Table:
    arrays = {}
    for name, values in columns.items():
        if not isinstance(name, str):
            raise InvalidArgumentError(f"column names must be strings, not {name!r}")
        arrays[name] = _array(name, values, target)
    if not arrays:
        raise InvalidArgumentError("cannot write a dict with no columns")
    lengths = {len(a) for a in arrays.values()}
    if len(lengths) > 1:
        raise InvalidArgumentError(f"the columns of a dict must have one length, not {sorted(lengths)}")
    return pa.table(arrays)


def _from_rows(rows: Sequence, target: pa.Schema | None) -> pa.Table:
    if not rows and target is not None:
        return target.empty_table()
    names: dict[str, None] = {}  # every key of every row, in first-seen order
    for row in rows:
        if not isinstance(row, Mapping):
            raise InvalidArgumentError(f"a list passed to a write must hold row dicts, not {type(row).__name__}; "
                                       "for columns pass a dict of lists or pa.table(...)")
        names.update(dict.fromkeys(row))
    # A key a row lacks is null in that row, as in JSON; a key no row has is a missing column.
    return _from_columns({n: [row.get(n) for row in rows] for n in names}, target)


def _array(name: str, values: Any, target: pa.Schema | None) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values  # typed already; conforming casts it
    field = _field(target, name)
    try:
        # Infer, then cast safely: pa.array(values, type=...) would truncate 1.5 to an int64 1.
        return _cast_column(pa.array(values), field)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as e:
        if field is None:
            raise SchemaMismatchError(f"{name}: cannot convert the values to Arrow: {e}") from None
    try:  # mixed Python types: let the column's type decide
        return pa.array(values, type=field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as e:
        raise SchemaMismatchError(f"{name}: cannot convert the values to the column's type {field.type}: "
                                  f"{e}") from None


def _typed(table: pa.Table, target: pa.Schema | None) -> pa.Table:
    """Each column of `table` the table has, cast safely to its type: pandas values are typed by
    inference (int64, list<int64>), and fit an int32 column whenever the values do."""
    columns = [_cast_column(col, _field(target, name)) for name, col in zip(table.column_names, table.columns)]
    return pa.table(columns, names=table.column_names)


def _field(target: pa.Schema | None, name: str) -> pa.Field | None:
    index = target.get_field_index(name) if target is not None else -1
    return target.field(index) if index >= 0 else None


def _cast_column(col: pa.Array | pa.ChunkedArray, field: pa.Field | None) -> pa.Array | pa.ChunkedArray:
    if field is None:
        return col
    try:
        if isinstance(col, pa.ChunkedArray):
            return pa.chunked_array([cast_array(chunk, field) for chunk in col.chunks], type=field.type)
        return cast_array(col, field)
    except SchemaMismatchError as e:
        reason = str(e).removeprefix(f"{field.name}: ")
        raise SchemaMismatchError(f"{field.name}: cannot convert the values to the column's type {field.type}: "
                                  f"{reason}") from None
