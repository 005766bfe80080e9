"""Getting data out: pandas, polars, DuckDB and Arrow consumers; limit, head, count, len;
the plan as an Arrow table and lazily decoded files; reprs."""

from __future__ import annotations

import gc
import sys
import uuid

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse import InvalidArgumentError, LakehouseError, MissingDependencyError
from lakehouse.read import data_files, files as files_module

SCHEMA = pa.schema([("id", pa.int64()), ("s", pa.string())])


def _table(rows_per_append: list[int], partition_by=None) -> lakehouse.Table:
    t = lakehouse.create_table(f"memory://out/{uuid.uuid4().hex}", schema=SCHEMA, partition_by=partition_by)
    start = 0
    for n in rows_per_append:
        ids = list(range(start, start + n))
        t.append(pa.table({"id": ids, "s": [f"s{i % 3}" for i in ids]}, schema=SCHEMA))
        start += n
    return t


@pytest.fixture
def table() -> lakehouse.Table:
    return _table([3, 1, 4, 2])


# ------------------------------------------------------------------ pandas, polars, DuckDB
def test_to_pandas_and_to_polars_on_scan_and_table(table):
    expected = table.to_arrow()
    assert expected["id"].to_pylist() == list(range(10))
    pd.testing.assert_frame_equal(table.to_pandas(), expected.to_pandas())
    assert table.to_polars().equals(pl.from_arrow(expected))
    scan = table.scan(where="id >= 5", columns=["s"])
    assert scan.to_pandas()["s"].tolist() == ["s2", "s0", "s1", "s2", "s0"]
    assert scan.to_polars().columns == ["s"] and scan.to_polars().height == 5


@pytest.mark.parametrize("module, method", [("pandas", "to_pandas"), ("polars", "to_polars")])
def test_a_missing_optional_package_is_a_clear_error(table, monkeypatch, module, method):
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    for target in (table, table.scan()):
        with pytest.raises(MissingDependencyError, match=rf"pip install 'pylakehouse\[{module}\]'") as info:
            getattr(target, method)()
        assert isinstance(info.value, LakehouseError) and isinstance(info.value, ImportError)


def test_to_duckdb_is_a_relation_that_stays_valid_and_reruns(table):
    rel = table.scan(where="id > 6").to_duckdb()
    gc.collect()  # the scan object is gone: the relation holds what it needs
    assert rel.fetchall() == [(7, "s1"), (8, "s2"), (9, "s0")]
    assert rel.aggregate("count(*)").fetchall() == [(3,)]  # runs again
    assert table.to_duckdb().aggregate("sum(id)").fetchall() == [(45,)]


def test_to_duckdb_on_a_given_connection_and_the_default_one(table):
    con = duckdb.connect()
    rel = table.to_duckdb(con)
    assert con.sql("SELECT count(*) FROM rel").fetchall() == [(10,)]
    # None: DuckDB's default connection, the one duckdb.sql() uses, so the relations join.
    default_rel = table.to_duckdb()
    assert duckdb.sql("SELECT count(*) FROM default_rel").fetchall() == [(10,)]


def test_arrow_consumers_read_a_scan_directly(table):
    """The Arrow stream interface: pa.table, polars' and pandas' Arrow constructors, DuckDB's
    replacement scans (a Python variable named in SQL)."""
    scan = table.scan(where="id < 4")
    expected = scan.to_arrow()
    assert pa.table(scan).equals(expected)
    assert pl.DataFrame(scan).equals(pl.from_arrow(expected))
    if hasattr(pd.DataFrame, "from_arrow"):  # pandas >= 3
        pd.testing.assert_frame_equal(pd.DataFrame.from_arrow(scan), expected.to_pandas())
    assert duckdb.sql("SELECT id FROM scan ORDER BY id").fetchall() == [(0,), (1,), (2,), (3,)]
    assert pa.table(scan).equals(expected)  # each consumer gets a new stream


# ------------------------------------------------------------------ limit, head, count, len
@pytest.mark.parametrize("bad", [-1, 1.0, "3", True, [1]])
def test_limit_must_be_a_non_negative_int(table, bad):
    with pytest.raises(InvalidArgumentError, match="limit"):
        table.scan(limit=bad)


@settings(max_examples=50, deadline=None)
@given(appends=st.lists(st.integers(1, 4), min_size=0, max_size=6), limit=st.integers(0, 20),
       where=st.sampled_from([None, "id % 2 = 0", "s = 's1'", "id > 3"]))
def test_limit_is_a_prefix_of_the_ordered_rows(appends, limit, where):
    t = _table(appends)
    if where == "id % 2 = 0":
        where = "id IN (0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24)"
    full = t.scan(where=where).to_arrow()
    scan = t.scan(where=where, limit=limit)
    assert scan.to_arrow().equals(full.slice(0, limit))
    assert scan.to_batches().read_all().equals(full.slice(0, limit))
    assert scan.count() == len(scan) == min(limit, full.num_rows)
    assert t.scan(where=where, limit=limit, columns=[]).to_arrow().num_rows == min(limit, full.num_rows)


def _opened(monkeypatch) -> list[str]:
    opened: list[str] = []
    real = data_files._dataset

    def spy(store, paths, schema):
        opened.extend(p for p, _ in paths)
        return real(store, paths, schema)
    monkeypatch.setattr(data_files, "_dataset", spy)
    return opened


def test_limit_opens_only_the_files_it_needs(monkeypatch):
    t = _table([2] * 20)  # 20 files of 2 rows
    opened = _opened(monkeypatch)
    assert t.scan(limit=5).to_arrow()["id"].to_pylist() == [0, 1, 2, 3, 4]
    assert len(opened) == 3
    opened.clear()
    assert t.head(1).num_rows == 1 and len(opened) == 1
    opened.clear()
    assert t.scan(limit=0).to_arrow().num_rows == 0 and opened == []
    opened.clear()
    # Under a predicate record counts say nothing: files are opened 1, 2, 4, ... at a time.
    assert t.scan(where="s = 's0'", limit=2).to_arrow()["id"].to_pylist() == [0, 3]
    assert 2 <= len(opened) <= 4


def test_head_returns_the_first_rows_as_arrow(table):
    head = table.head()
    assert isinstance(head, pa.Table) and head["id"].to_pylist() == [0, 1, 2, 3, 4]
    assert table.head(100).num_rows == 10 and table.head(0).schema == table.arrow_schema


def test_count_and_len(table):
    assert table.scan().count() == len(table.scan()) == 10
    assert table.scan(where="s = 's1'").count() == 3
    assert table.scan(where="s = 's1'", limit=2).count() == 2


# ------------------------------------------------------------------ the plan
def test_files_table_has_one_row_per_file_in_commit_order():
    t = _table([3, 1, 4], partition_by=["s"])
    plan = t.scan().files_table()
    assert plan.column_names == ["path", "size", "record_count", "live_count", "spec_id", "partition", "stats"]
    assert [p["s"] for p in plan["partition"].to_pylist()] == ["s0", "s1", "s2", "s0", "s0", "s1", "s2"]
    assert plan["stats"].type.field("id").type.field("min").type == pa.int64()
    assert sum(plan["record_count"].to_pylist()) == 8
    files = t.scan().files()
    assert [f.path for f in files] == plan["path"].to_pylist()
    assert files[0].partition == {"s": "s0"} and files[0].column_stats["id"].min == 0


def test_files_are_decoded_only_when_accessed(table, monkeypatch):
    decoded = []
    real = files_module.DataFiles._decode
    monkeypatch.setattr(files_module.DataFiles, "_decode", lambda self, row: decoded.append(1) or real(self, row))
    files = table.scan().files()
    assert len(files) == 4 and decoded == []
    assert files[-1].record_count == 2 and len(decoded) == 1
    assert [f.record_count for f in files[1:3]] == [1, 4]
    assert [f.record_count for f in files] == [3, 1, 4, 2]
    with pytest.raises(IndexError):
        files[4]


# ------------------------------------------------------------------ reprs and help
def test_scan_repr_names_version_filter_columns_and_files(table):
    text = repr(table.scan(where="id > 6", columns=["s"], limit=2))
    assert text == f"Scan({table.uri!r}, version=4, where='id > 6', columns=['s'], files=2, limit=2)"
    assert "ordered=False" in repr(table.scan(ordered=False))


def test_explain_shows_its_text_as_its_repr(table):
    explanation = table.scan(where="id > 6").explain()
    assert repr(explanation) == str(explanation)
    assert str(explanation).splitlines()[0] == "scan of version 4 where id > 6"


def test_help_of_scan_explains_its_arguments():
    doc = lakehouse.Table.scan.__doc__
    for name in ("where", "columns", "version", "as_of", "limit", "ordered"):
        assert f"`{name}`" in doc


def test_head_refuses_a_bad_n(table):
    with pytest.raises(InvalidArgumentError, match="head"):
        table.head(-1)


def test_decoded_files_match_the_arrow_plan_row_by_row(monkeypatch):
    monkeypatch.setattr(files_module, "_DECODE_ROWS", 3)  # iterate across several slices
    t = _table([3, 1, 4, 2], partition_by=["s"])
    t.append(pa.table({"id": [None, None], "s": ["s1", "s1"]}, schema=SCHEMA))  # stats: no min/max
    with t.update_schema() as u:
        u.add_column("x", pa.float64())  # older files have no statistics for it
    plan = t.scan().files_table().to_pylist()
    for got in (list(t.scan().files()), t.scan().files()[:], [t.scan().files()[i] for i in range(len(plan))]):
        assert len(got) == len(plan)
        for f, row in zip(got, plan):
            assert (f.path, f.size, f.record_count, f.spec_id) == (row["path"], row["size"], row["record_count"],
                                                                   row["spec_id"])
            assert f.partition == row["partition"]
            assert {k: vars_of(v) for k, v in f.column_stats.items()} == \
                {k: v for k, v in row["stats"].items() if v is not None}
    assert "x" not in t.scan().files()[0].column_stats


def vars_of(stats: lakehouse.ColumnStatistics) -> dict:
    return {k: getattr(stats, k) for k in ("min", "max", "null_count", "nan_count")}
