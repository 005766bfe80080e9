"""Partition evolution (spec/format.md, "Partitioning"): a new default spec for new data,
while every existing file keeps the spec it was written with."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from .actions import TableMetadata
from .partitioning import PartitionSpec, parse_partition_by


def evolve_spec(metadata: TableMetadata, partition_by: Sequence[str]) -> PartitionSpec:
    """The spec for `partition_by`. A field equal (same source and transform) to one an earlier
    spec had keeps that field's id and name, as in Iceberg; an identical earlier spec is reused."""
    fresh = parse_partition_by(list(partition_by), metadata.schema,
                               spec_id=max(s.spec_id for s in metadata.partition_specs) + 1,
                               last_partition_id=metadata.last_partition_id)
    known = {(pf.source_id, str(pf.transform)): pf for s in metadata.partition_specs for pf in s.fields}
    fields = tuple(known.get((pf.source_id, str(pf.transform)), pf) for pf in fresh.fields)
    for spec in metadata.partition_specs:
        if spec.fields == fields:
            return spec
    return replace(fresh, fields=_renumbered(fields, metadata.last_partition_id))


def _renumbered(fields, last_partition_id: int):
    """Give new fields consecutive ids after the last one ever assigned."""
    next_id = last_partition_id
    out = []
    for pf in fields:
        if pf.field_id > last_partition_id:
            next_id += 1
            pf = replace(pf, field_id=next_id)
        out.append(pf)
    return tuple(out)
