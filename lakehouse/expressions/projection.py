"""Partition pruning: a row predicate projected through each partition spec onto partition values.

The projection is inclusive (Iceberg's "inclusive projection"): a file holding a row that matches
the predicate always has a partition tuple that matches the projection, so a file is skipped only
when its tuple proves that none of its rows can match. Each spec is projected once and evaluated
with vectorized kernels over all the files written under it.
"""

from __future__ import annotations

from typing import Collection, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from ..format.partitioning import PartitionField, PartitionSpec
from ..format.schema import Schema
from ..format.transforms import IdentityTransform
from .arrow_filter import evaluate
from .binder import rewrite_not
from .tree import (
    TRUE, AlwaysFalse, AlwaysTrue, And, BoundRef, Expr, Not, Or, and_, or_,
)

__all__ = ["inclusive_projection", "partition_may_match", "partition_ref"]


def partition_ref(pf: PartitionField, schema: Schema) -> BoundRef | None:
    """The partition value of `pf` as a column of the files table (`partition.<field id>`)."""
    source = schema.field_by_id(pf.source_id)
    if source is None:
        return None
    return BoundRef(field_id=pf.field_id, path=("partition", str(pf.field_id)),
                    type=pf.transform.result_type(source.type))


def inclusive_projection(expr: Expr, spec: PartitionSpec, schema: Schema, *,
                         available: Collection[str] | None = None) -> Expr:
    """`expr` (bound, NOTs already pushed to the leaves) as a predicate on `spec`'s partition values.

    `available` names the partition children the files table has; fields outside it are unknown.
    """
    if isinstance(expr, And):
        return and_(inclusive_projection(expr.left, spec, schema, available=available),
                    inclusive_projection(expr.right, spec, schema, available=available))
    if isinstance(expr, Or):
        return or_(inclusive_projection(expr.left, spec, schema, available=available),
                   inclusive_projection(expr.right, spec, schema, available=available))
    if isinstance(expr, (AlwaysTrue, AlwaysFalse)):
        return expr
    leaf = expr.child if isinstance(expr, Not) else expr
    term = getattr(leaf, "term", None)
    if not isinstance(term, BoundRef):
        return TRUE
    out: Expr = TRUE
    for pf in spec.fields_by_source(term.field_id):
        ref = partition_ref(pf, schema)
        if ref is None or (available is not None and str(pf.field_id) not in available):
            continue
        if isinstance(expr, Not):
            # A NOT that rewrite_not kept (float orderings) projects only where the value is exact.
            if isinstance(pf.transform, IdentityTransform):
                out = and_(out, Not(pf.transform.project(leaf, ref)))
            continue
        out = and_(out, pf.transform.project(leaf, ref))
    return out


def partition_may_match(bound_expr: Expr, specs: Mapping[int, PartitionSpec], schema: Schema,
                        files: pa.Table) -> pa.BooleanArray:
    """For every row of `files` (columns `spec_id` and `partition`), False only if no row of that
    file can match `bound_expr`. Files of an unknown spec are kept."""
    n = files.num_rows
    expr = rewrite_not(bound_expr)
    if isinstance(expr, AlwaysTrue) or n == 0:
        return pa.repeat(True, n)
    if isinstance(expr, AlwaysFalse):
        return pa.repeat(False, n)
    spec_ids = files.column("spec_id")
    available = _partition_children(files)
    present = [s for s in pc.unique(spec_ids).to_pylist() if s is not None]
    out: pa.Array | None = None
    for spec_id in present:
        spec = specs.get(spec_id)
        projected = inclusive_projection(expr, spec, schema, available=available) if spec else TRUE
        may = _may_match(projected, files)
        if len(present) == 1 and spec_ids.null_count == 0:
            return may
        rows = pc.fill_null(pc.equal(spec_ids, spec_id), False)
        out = pc.if_else(rows, may, out if out is not None else True)
    return _array(out if out is not None else pa.repeat(True, n))


def _may_match(projected: Expr, files: pa.Table) -> pa.BooleanArray:
    if isinstance(projected, (AlwaysTrue, AlwaysFalse)):
        return pa.repeat(isinstance(projected, AlwaysTrue), files.num_rows)
    # Partition values are exact: unknown (null) means the value is null, so the file cannot match.
    return _array(pc.fill_null(evaluate(projected, files), False))


def _partition_children(files: pa.Table) -> frozenset[str]:
    if "partition" not in files.column_names or not pa.types.is_struct(files.schema.field("partition").type):
        return frozenset()
    t = files.schema.field("partition").type
    return frozenset(t.field(i).name for i in range(t.num_fields))


def _array(values: pa.Array | pa.ChunkedArray) -> pa.BooleanArray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.bool_())
    return values
