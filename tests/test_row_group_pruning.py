"""Row groups skipped by their statistics never hold a matching row (lakehouse/read/row_groups.py),
and the writer's layout defaults (row-group size, byte cap, page index; spec/format.md, "Table
properties").

DuckDB is the oracle, as in test_sql_semantics: random tables of every type (NULL, NaN, ±inf,
-0.0, extremes) written with row groups of a few rows, read through every path that prunes row
groups itself (filters over floats, files written under an older schema, files with deletion
vectors); the rows a scan returns must be the rows `SELECT * WHERE w` returns.
"""

from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from dv_helpers import delete_positions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sql_semantics import COLUMNS, _drop, check_scan, predicate

import lakehouse
from lakehouse.expressions.binder import bind
from lakehouse.expressions.parser import parse
from lakehouse.read.row_groups import matching_row_groups, nan_free_files

WIDENED = {"i": pa.int64(), "f": pa.float64()}
# Mostly floats: the columns whose row groups only this module prunes, and where NaN hides.
NAMES = ["d", "f", "i", "l", "m", "s", "t", "ts"]
PREDICATES = st.lists(st.sampled_from(["d", "f", *NAMES]), min_size=1, max_size=2, unique=True).flatmap(predicate)


@st.composite
def tables(draw) -> tuple[pa.Table, list[int]]:
    """test_sql_semantics' tables, floats mostly NaN or small (a row group hiding a NaN behind
    bounds that a literal passes is the case to find)."""
    n = draw(st.integers(1, 16))
    floats = st.sampled_from([float("nan"), float("nan"), None, 0.0, -0.0, 0.1, 1.5, 2.0, float("-inf")])

    def value(c):
        t, values, _ = COLUMNS[c]
        return floats if pa.types.is_floating(t) else st.sampled_from(values)
    data = pa.table({c: pa.array([draw(value(c)) for _ in range(n)], COLUMNS[c][0]) for c in NAMES})
    return data, sorted(set(draw(st.lists(st.integers(1, n), max_size=2))))


def _written(data: pa.Table, cuts: list[int], rows_per_group: int, widen: bool) -> tuple[lakehouse.Table, pa.Table]:
    """A table of `data`, one file per slice between `cuts`, `rows_per_group` rows per row group;
    with `widen`, int32 `i` and float32 `f` widened after the first file. Also `data` as read now."""
    t = lakehouse.create_table(f"memory://row-groups/{uuid.uuid4().hex}", schema=data.schema,
                               properties={"write.parquet.row-group-rows": str(rows_per_group)})
    slices = [data.slice(a, b - a) for a, b in zip([0, *cuts], [*cuts, data.num_rows]) if b > a]
    for k, part in enumerate(slices):
        if widen and k == 1:
            with t.update_schema() as s:
                for name, to in WIDENED.items():
                    s.widen_column(name, to)
        t.append(part.cast(t.schema.to_arrow()) if widen and k else part)
    if widen and len(slices) > 1:
        data = data.cast(pa.schema([pa.field(f.name, WIDENED.get(f.name, f.type)) for f in data.schema]))
    return t.refresh(), data


def _delete_some(t: lakehouse.Table, data: pa.Table, seed: int) -> pa.Table:
    """Delete a random half of the rows of every other file by deletion vector; `data` less them."""
    rng = np.random.default_rng(seed)
    keep = np.ones(data.num_rows, bool)
    positions, start = {}, 0
    for k, f in enumerate(t.scan().files()):
        if k % 2 == 0:
            gone = sorted(set(rng.integers(0, f.record_count, f.record_count // 2 + 1).tolist()))
            positions[f.path] = gone
            keep[[start + g for g in gone]] = False
        start += f.record_count
    delete_positions(t, positions)
    return data.filter(pa.array(keep))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), where=PREDICATES, rows_per_group=st.sampled_from([1, 2, 3, 4]),
       widen=st.booleans(), deletes=st.booleans(), seed=st.integers(0, 2**16))
def test_scan_with_small_row_groups_returns_the_rows_duckdb_returns(table, where, rows_per_group, widen,
                                                                    deletes, seed):
    data, cuts = table
    t, data = _written(data, cuts, rows_per_group, widen)
    try:
        if deletes:
            data = _delete_some(t, data, seed)
            t = t.refresh()
        check_scan(t, data, *where)
    finally:
        _drop(t)


def _sorted_floats(tmp_path, values: np.ndarray) -> tuple[lakehouse.Table, ds.ParquetFileFragment]:
    t = lakehouse.create_table(str(tmp_path / "t"), schema=pa.schema([("x", pa.float64())]),
                               properties={"write.parquet.row-group-rows": "100"})
    t.append(pa.table({"x": values}))
    (path,) = [f.path for f in t.scan().files()]
    fragment = ds.ParquetFileFormat().make_fragment(str(tmp_path / "t" / path), filesystem=pa.fs.LocalFileSystem())
    return t, fragment


def _kept(t: lakehouse.Table, fragment, where: str) -> list[int]:
    expr = bind(parse(where), t.schema)
    free = nan_free_files(t.scan().plan.files, expr).get(t.scan().files()[0].path, frozenset())
    return matching_row_groups([fragment], expr, [free])[0]


def test_a_float_range_reads_only_its_row_groups(tmp_path):
    t, fragment = _sorted_floats(tmp_path, np.arange(1000, dtype=np.float64))
    assert _kept(t, fragment, "x < 50") == [0]
    assert _kept(t, fragment, "x >= 950.5") == [9]  # the log proves the file NaN-free
    assert _kept(t, fragment, "x = 420") == [4]
    assert _kept(t, fragment, "x IN (5, 999)") == [0, 9]
    assert _kept(t, fragment, "x > 2000") == []
    assert t.scan(where="x >= 950.5").count() == 49


def test_a_row_group_that_may_hold_nan_is_kept_where_nan_matches(tmp_path):
    values = np.arange(1000, dtype=np.float64)
    values[150] = np.nan  # row group 1: bounds 100..199 leave it out
    t, fragment = _sorted_floats(tmp_path, values)
    # Parquet statistics count no NaN: every row group may hold one once the file has any.
    assert _kept(t, fragment, "x > 2000") == list(range(10))
    assert _kept(t, fragment, "x < 50") == [0]  # NaN is above every number
    assert t.scan(where="x > 2000").to_arrow()["x"].is_nan().to_pylist() == [True]


def test_widened_columns_are_pruned_by_their_old_statistics(tmp_path):
    t = lakehouse.create_table(str(tmp_path / "t"), schema=pa.schema([("i", pa.int32())]),
                               properties={"write.parquet.row-group-rows": "10"})
    t.append(pa.table({"i": pa.array(range(100), pa.int32())}))
    with t.update_schema() as s:
        s.widen_column("i", pa.int64())
    t = t.refresh()
    path = t.scan().files()[0].path
    fragment = ds.ParquetFileFormat().make_fragment(str(tmp_path / "t" / path), filesystem=pa.fs.LocalFileSystem())
    assert matching_row_groups([fragment], bind(parse("i >= 95"), t.schema)) == [[9]]
    assert t.scan(where="i >= 95").to_arrow()["i"].to_pylist() == [95, 96, 97, 98, 99]


def _layout(t: lakehouse.Table) -> list[pq.FileMetaData]:
    return [pq.ParquetFile(t._store.arrow_fs.open_input_file(t._store.full_path(f.path))).metadata
            for f in t.scan().files()]


def test_default_layout_small_row_groups_with_a_page_index(tmp_path):
    t = lakehouse.create_table(str(tmp_path / "t"), schema=pa.schema([("id", pa.int64())]))
    t.append(pa.table({"id": np.arange(200_000)}))
    (md,) = _layout(t)
    assert [md.row_group(r).num_rows for r in range(md.num_row_groups)] == [65536] * 3 + [200_000 - 3 * 65536]
    chunk = md.row_group(0).column(0)
    assert chunk.has_column_index and chunk.has_offset_index


def test_row_groups_of_wide_rows_are_capped_by_bytes(tmp_path):
    t = lakehouse.create_table(str(tmp_path / "t"), schema=pa.schema([("s", pa.string())]),
                               properties={"write.parquet.row-group-bytes": "100000",
                                           "write.parquet.page-index": "false"})
    t.append(pa.table({"s": ["x" * 1000] * 1000}))  # about 1 KB a row: about 100 rows a group
    (md,) = _layout(t)
    sizes = [md.row_group(r).num_rows for r in range(md.num_row_groups)]
    assert sum(sizes) == 1000 and 90 <= max(sizes) <= 100
    assert not md.row_group(0).column(0).has_column_index
