"""Casting an array of any Arrow layout to exactly a table column's Arrow type.

Encodings (dictionary, run-end) are undone and nested layouts rebuilt here rather than left to
Arrow's cast, which lacks kernels for many of them: a polars Categorical is a dictionary of
string_view, which Arrow cannot even decode. Every cast is safe: a lossy one is a
SchemaMismatchError naming the column.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SchemaMismatchError
from ..format.types import is_list_like


def cast_array(col: pa.Array, f: pa.Field) -> pa.Array:
    """`col` as an array of exactly `f.type` (SchemaMismatchError if that would lose values)."""
    if col.type == f.type:
        return col
    if pa.types.is_dictionary(col.type):  # the values as the target type, then one take
        return cast_array(col.dictionary, f).take(col.indices)
    if pa.types.is_run_end_encoded(col.type):
        return cast_array(col.values, f).take(_run_indices(col))
    try:
        if pa.types.is_struct(f.type) and pa.types.is_struct(col.type):
            return _cast_struct(col, f)
        if pa.types.is_list(f.type) and is_list_like(col.type):
            return _cast_list(col, f)
        if pa.types.is_map(f.type) and pa.types.is_map(col.type):
            return _cast_map(col, f)
        return col.cast(f.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
        raise SchemaMismatchError(f"{f.name}: cannot cast {col.type} to {f.type}: {e}") from None


def _cast_struct(col: pa.StructArray, f: pa.Field) -> pa.Array:
    children = []
    for child in f.type:
        idx = col.type.get_field_index(child.name)
        sub = col.field(idx) if idx >= 0 else pa.nulls(len(col), child.type)
        children.append(cast_array(sub, child))
    return pa.StructArray.from_arrays(children, fields=list(f.type), mask=col.is_null())


def _cast_list(col: pa.Array, f: pa.Field) -> pa.Array:
    # One path for every layout (list, large, view, fixed size): the values in row order and
    # offsets from the lengths. (Arrow's list_view -> list cast builds invalid arrays for empty lists.)
    values = cast_array(col.flatten(), f.type.value_field)
    return pa.ListArray.from_arrays(_offsets(col), values, type=f.type, mask=_nulls(col))


def _cast_map(col: pa.MapArray, f: pa.Field) -> pa.Array:
    start, end = col.offsets[0].as_py(), col.offsets[-1].as_py()  # keys and items are not sliced
    keys = cast_array(col.keys.slice(start, end - start), f.type.key_field)
    items = cast_array(col.items.slice(start, end - start), f.type.item_field)
    offsets = pc.subtract(col.offsets, pa.scalar(start, pa.int32()))
    return pa.MapArray.from_arrays(offsets, keys, items, type=f.type, mask=_nulls(col))


def _offsets(col: pa.Array) -> pa.Array:
    """int32 offsets from 0 of the lists of `col`, whatever its layout or slice."""
    lengths = pc.fill_null(pc.list_value_length(col), 0).cast(pa.int64())
    offsets = pc.cumulative_sum(pa.concat_arrays([pa.array([0], pa.int64()), lengths]))
    return offsets.cast(pa.int32())  # past 2**31 values in one batch fails here, loudly


def _nulls(col: pa.Array) -> pa.Array | None:
    return col.is_null() if col.null_count else None


def _run_indices(col: pa.Array) -> pa.Array:
    """For each row of a run-end encoded array, the index of its run (of its value)."""
    runs = pa.RunEndEncodedArray.from_arrays(col.run_ends, pa.array(range(len(col.run_ends)), pa.int64()))
    return pc.run_end_decode(runs.slice(col.offset, len(col)))
