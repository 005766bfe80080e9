"""Merge joins target files in groups (ops/merge.py, JOIN_GROUP_ROWS): whatever the
group size, the merge's result, metrics, cardinality check and change feed are the same."""

from __future__ import annotations

import uuid
from collections import Counter

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse import MergeCardinalityError
from lakehouse.ops import merge

SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.int64())])


def _table(files: list[list[int]]) -> lakehouse.Table:
    t = lakehouse.create_table(f"memory://merge-groups/{uuid.uuid4().hex}", schema=SCHEMA)
    for ids in files:
        t.append(pa.table({"id": ids, "v": [0] * len(ids)}, schema=SCHEMA))
    return t


def _merge(t: lakehouse.Table, source: pa.Table, mode: str):
    return (t.merge(source, on="id", mode=mode).when_matched_delete(where="source.v < 0")
            .when_matched_update().when_not_matched_insert().execute())


def _counts(table: pa.Table) -> Counter:
    return Counter(zip(table["id"].to_pylist(), table["v"].to_pylist()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.integers(0, 30), min_size=1, max_size=5, unique=True), min_size=1, max_size=5),
       st.lists(st.tuples(st.integers(0, 35), st.integers(-2, 5)), max_size=8, unique_by=lambda r: r[0]),
       st.integers(1, 12), st.sampled_from(["merge-on-read", "copy-on-write"]))
def test_group_size_changes_nothing(monkeypatch, files, rows, group_rows, mode):
    ids = [i for f in files for i in f]
    files = [[i for i in f if ids.count(i) == 1] or [100 + k] for k, f in enumerate(files)]  # unique target keys
    source = pa.table({"id": [i for i, _ in rows], "v": [v for _, v in rows]}, schema=SCHEMA)
    expected = _table(files)
    m_expected = _merge(expected, source, "copy-on-write")
    monkeypatch.setattr(merge, "JOIN_GROUP_ROWS", group_rows)
    t = _table(files)
    m = _merge(t, source, mode)
    assert (m.num_updated_rows, m.num_deleted_rows, m.num_inserted_rows) == \
        (m_expected.num_updated_rows, m_expected.num_deleted_rows, m_expected.num_inserted_rows)
    assert _counts(t.to_arrow()) == _counts(expected.to_arrow())
    if m.num_updated_rows or m.num_deleted_rows or m.num_inserted_rows:
        feed, want = t.changes(t.version), expected.changes(expected.version)
        key = ("id", "v", "_change_type")
        assert Counter(zip(*(feed[k].to_pylist() for k in key))) == Counter(zip(*(want[k].to_pylist() for k in key)))


@pytest.mark.parametrize("group_rows", [1, 3, 1 << 20])
@pytest.mark.parametrize("mode", ["merge-on-read", "copy-on-write"])
def test_cardinality_error_in_any_group(monkeypatch, group_rows, mode):
    monkeypatch.setattr(merge, "JOIN_GROUP_ROWS", group_rows)
    t = _table([[1, 2], [3, 4], [5, 6]])
    source = pa.table({"id": [5, 5], "v": [1, 2]}, schema=SCHEMA)
    with pytest.raises(MergeCardinalityError):
        _merge(t, source, mode)
    assert t.refresh().version == 3
