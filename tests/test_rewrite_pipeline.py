"""Copy-on-write rewrites: each rewritten file's rows go to new files of their own, written on a
small pool while the next file is read (ops/rewrite.py FileWrites), and `in_place` replaces
updated rows by one copy per column (ops/update.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import lakehouse
from lakehouse.errors import SchemaMismatchError
from lakehouse.ops.update import in_place

_ids = itertools.count()
MODES = ["copy-on-write", "merge-on-read"]


def _table(files: int = 4, rows: int = 50) -> lakehouse.Table:
    t = lakehouse.create_table(f"memory://test-rewrite-pipeline/t{next(_ids)}",
                               schema=pa.schema([("id", pa.int64()), ("v", pa.int64()), ("s", pa.string())]))
    for f in range(files):
        ids = np.arange(f * rows, (f + 1) * rows)
        t.append(pa.table({"id": ids, "v": ids * 10, "s": [f"r{i}" for i in ids]}))
    return t


def _expected(files: int, rows: int, changed: set[int], deleted: set[int] = frozenset()) -> list[dict]:
    ids = [i for i in range(files * rows) if i not in deleted]
    return [{"id": i, "v": -i if i in changed else i * 10, "s": f"r{i}"} for i in ids]


def _sorted(t: lakehouse.Table) -> list[dict]:
    return sorted(t.scan().to_arrow().to_pylist(), key=lambda r: r["id"])


def test_update_rewrites_each_file_apart_in_order():
    t = _table()
    # rows in files 0, 2 and 3: three files rewritten, into three new files (not one combined)
    m = t.update(set={"v": "-id"}, where="id IN (3, 120, 121, 199)")
    assert (m.num_removed_files, m.num_added_files) == (3, 3)
    assert _sorted(t) == _expected(4, 50, {3, 120, 121, 199})


@pytest.mark.parametrize("mode", MODES)
def test_merge_rewrites_each_file_apart_in_order(mode):
    t = _table()
    source = pa.table({"id": [7, 160, 1000], "v": [-7, -160, -1000], "s": ["r7", "r160", "r1000"]})
    m = t.merge(source, on="id", mode=mode).when_matched_update().when_not_matched_insert().execute()
    assert (m.num_updated_rows, m.num_inserted_rows) == (2, 1)
    if mode == "copy-on-write":  # two files rewritten apart, the inserted row in a file of its own
        assert (m.num_removed_files, m.num_added_files) == (2, 3)
    assert _sorted(t) == _expected(4, 50, {7, 160}) + [{"id": 1000, "v": -1000, "s": "r1000"}]


def test_delete_rewrites_each_file_apart_in_order():
    t = _table()
    m = t.delete(where="id IN (1, 2, 51, 160)", mode="copy-on-write")
    assert (m.num_removed_files, m.num_added_files) == (3, 3)
    assert _sorted(t) == _expected(4, 50, set(), {1, 2, 51, 160})


def test_failed_rewrite_commits_nothing():
    """A NULL for a required column, found in the second rewritten file, while the first is
    being written: SchemaMismatchError, no commit, and no post-image of the first file leaks."""
    t = lakehouse.create_table(f"memory://test-rewrite-pipeline/req{next(_ids)}",
                               schema=pa.schema([pa.field("id", pa.int64(), nullable=False),
                                                 pa.field("v", pa.int64(), nullable=False)]))
    for f in range(3):
        t.append(pa.table({"id": pa.array([f * 10, f * 10 + 1]), "v": pa.array([1, 2])}))
    version = t.version
    with pytest.raises(SchemaMismatchError):
        t.update(set={"v": "CASE WHEN id = 20 THEN NULL ELSE v + 1 END"}, where="id IN (0, 20)")
    assert t.refresh().version == version


_types = st.sampled_from([pa.int64(), pa.float64(), pa.string(), pa.list_(pa.int32()),
                          pa.struct([("a", pa.int16())])])


def _values(t: pa.DataType, n: int, seed: int) -> pa.Array:
    rng = np.random.default_rng(seed)
    ints = rng.integers(-5, 5, n)
    nulls = rng.random(n) < 0.2
    if t == pa.string():
        values = [f"s{i}" for i in ints]
    elif pa.types.is_list(t):
        values = [[int(i)] * int(abs(i)) for i in ints]
    elif pa.types.is_struct(t):
        values = [{"a": int(i)} for i in ints]
    else:
        values = ints.tolist()
    return pa.array([None if z else v for v, z in zip(values, nulls)], t)


@settings(max_examples=80, deadline=None)
@given(t=_types, sizes=st.lists(st.integers(0, 20), min_size=1, max_size=4), seed=st.integers(0, 1000),
       null_mask=st.booleans())
def test_in_place_matches_a_gather(t, sizes, seed, null_mask):
    """Chunked columns of every kind, masks with NULLs (a NULL does not match): the same rows
    as the plain gather it replaced."""
    n = sum(sizes)
    old = _values(t, n, seed)
    chunks, start = [], 0
    for size in sizes:
        chunks.append(old.slice(start, size))
        start += size
    table = pa.table({"c": pa.chunked_array(chunks, t), "k": pa.array(np.arange(n))})
    rng = np.random.default_rng(seed + 1)
    hit = rng.random(n) < 0.4
    mask = pa.array([None if null_mask and not h and rng.random() < 0.5 else bool(h) for h in hit], pa.bool_())
    new = pa.table({"c": _values(t, int(hit.sum()), seed + 2), "k": table["k"].filter(pa.array(hit))})
    index = np.arange(n)
    index[hit] = n + np.arange(int(hit.sum()))
    expected = pa.concat_arrays([old, new["c"].combine_chunks()]).take(pa.array(index))
    got = in_place(table, mask, new)
    assert got["c"].combine_chunks().equals(expected)
    assert got["k"].equals(table["k"])
