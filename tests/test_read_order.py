"""Rows come back in commit order (spec/format.md, "Row order"): file by file in the order the
log added them, each file's rows in order; rewritten files' kept rows move to the rewrite."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse.format.actions import AddFile, RemoveFile
from lakehouse.format.log import read_entry

SCHEMA = pa.schema([("id", pa.int64()), ("g", pa.int64())])
# 16 Arrow bytes a row: files of 3 rows, so appends of more than 3 rows write several files.
PROPERTIES = {"write.target-file-size-bytes": "48", "checkpoint.interval": "3"}


def test_single_row_appends_read_back_in_append_order():
    t = lakehouse.create_table(f"memory://order/{uuid.uuid4().hex}", schema=SCHEMA)
    for i in range(8):
        t.append(pa.table({"id": [i], "g": [0]}, schema=SCHEMA))
    assert t.to_arrow()["id"].to_pylist() == list(range(8))  # was 1, 4, 0, 2, 5, 3, 6, 7
    assert [f.record_count for f in t.scan().files()] == [1] * 8


class Model:
    """The live files in commit order, each a list of ids, rebuilt from what each commit did
    and the adds and removes its log entry lists (the log is the oracle for file boundaries)."""

    def __init__(self) -> None:
        self.files: list[tuple[str, list[int]]] = []
        self.group: dict[int, int] = {}
        self.versions: dict[int, list[int]] = {}

    def rows(self) -> list[int]:
        return [i for _, ids in self.files for i in ids]

    def commit(self, table, new_ids: list[int], removed_group: int | None, remove_all: bool) -> None:
        entry = read_entry(table._store, table.version)
        adds = [a for a in entry.actions if isinstance(a, AddFile)]
        removed = {a.path for a in entry.actions if isinstance(a, RemoveFile)}
        if remove_all:
            assert removed == {p for p, _ in self.files}
        kept = [i for p, ids in self.files if p in removed for i in ids
                if removed_group is not None and self.group[i] != removed_group]
        pending = kept + new_ids  # the rewrites' adds come first, then the new data's
        self.files = [(p, ids) for p, ids in self.files if p not in removed]
        for a in adds:
            self.files.append((a.path, pending[:a.record_count]))
            pending = pending[a.record_count:]
        assert pending == []
        self.versions[table.version] = self.rows()


operations = st.lists(st.one_of(
    st.tuples(st.just("append"), st.lists(st.integers(0, 2), min_size=1, max_size=8)),
    st.tuples(st.just("overwrite_where"), st.integers(0, 2), st.integers(0, 4)),
    st.tuples(st.just("overwrite_all"), st.lists(st.integers(0, 2), min_size=0, max_size=5)),
), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(ops=operations, limit=st.integers(0, 12))
def test_scans_return_rows_in_commit_order(ops, limit):
    uri = f"memory://order/{uuid.uuid4().hex}"
    t = lakehouse.create_table(uri, schema=SCHEMA, properties=PROPERTIES)
    model, next_id = Model(), 0
    for op in ops:
        if op[0] == "overwrite_where":
            groups = [op[1]] * op[2]
        else:
            groups = op[1]
        ids = list(range(next_id, next_id + len(groups)))
        next_id += len(groups)
        model.group.update(zip(ids, groups))
        data = pa.table({"id": ids, "g": groups}, schema=SCHEMA)
        before = t.version
        if op[0] == "append":
            t.append(data)
        elif op[0] == "overwrite_where":
            t.overwrite(data, where=f"g = {op[1]}")
        else:
            t.overwrite(data)
        if t.version == before:  # nothing to remove and nothing to add: no commit
            assert not ids
        else:
            model.commit(t, ids, op[1] if op[0] == "overwrite_where" else None, op[0] == "overwrite_all")
        assert t.to_arrow()["id"].to_pylist() == model.rows()
    fresh = lakehouse.open_table(uri)  # from the newest checkpoint and the log after it
    expected = model.rows()
    assert fresh.to_arrow()["id"].to_pylist() == expected
    assert fresh.scan(where="g = 1").to_arrow()["id"].to_pylist() == [i for i in expected if model.group[i] == 1]
    assert fresh.scan(limit=limit).to_arrow()["id"].to_pylist() == expected[:limit]
    assert sorted(fresh.scan(ordered=False).to_arrow()["id"].to_pylist()) == sorted(expected)
    for version, rows in model.versions.items():
        assert fresh.scan(version=version).to_arrow()["id"].to_pylist() == rows


def test_order_survives_schema_evolution_between_appends():
    """Files of two schemas interleaved in commit order are read in that order, not by schema."""
    t = lakehouse.create_table(f"memory://order/{uuid.uuid4().hex}", schema=SCHEMA)
    t.append(pa.table({"id": [0], "g": [0]}, schema=SCHEMA))
    with t.update_schema() as u:
        u.rename_column("g", "h")
    t.append(pa.table({"id": [1], "h": [0]}))
    with t.update_schema() as u:
        u.rename_column("h", "g")
    t.append(pa.table({"id": [2], "g": [0]}, schema=SCHEMA))
    assert len({f for f in t.state.file_index()["schema_id"].to_pylist()}) >= 2
    assert t.to_arrow()["id"].to_pylist() == [0, 1, 2]
    assert t.scan(where="g = 0").to_arrow()["id"].to_pylist() == [0, 1, 2]


@pytest.mark.parametrize("ordered", [True, False])
def test_ordered_must_be_a_bool(ordered):
    t = lakehouse.create_table(f"memory://order/{uuid.uuid4().hex}", schema=SCHEMA)
    assert t.scan(ordered=ordered).count() == 0
    with pytest.raises(lakehouse.InvalidArgumentError):
        t.scan(ordered="yes")
