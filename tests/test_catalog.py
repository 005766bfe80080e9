"""The catalog contract, run on every backend: SQLite, and the file catalog on local disk, memory
and S3 (moto). Plus what is backend-specific: the SQLite schema version, the file catalog's log
and snapshots, concurrency from several processes, name validation, and configuration."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import uuid

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse import catalog
from lakehouse.catalog import files, names
from lakehouse.catalog.sql import SqlCatalog
from lakehouse.errors import (
    CorruptTableError, InvalidArgumentError, InvalidNameError, NamespaceExistsError, NamespaceNotEmptyError,
    NamespaceNotFoundError, TableExistsError, TableNotFoundError, UnsupportedFeatureError,
)

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])
ROWS = pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]})


@pytest.fixture(params=["sqlite", "file-local", "file-memory", pytest.param("file-s3", marks=pytest.mark.s3)])
def catalog_uri(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/catalog.db"
    if request.param == "file-local":
        return f"file://{tmp_path}/warehouse"
    if request.param == "file-memory":
        return f"memory://catalog-tests/{uuid.uuid4().hex}"
    return request.getfixturevalue("s3").uri("warehouse")


@pytest.fixture
def cat(catalog_uri) -> catalog.Catalog:
    return catalog.connect(catalog_uri)


# ---------------------------------------------------------------- namespaces
def test_namespaces(cat):
    assert cat.list_namespaces() == []
    cat.create_namespace("sales", {"owner": "finance"})
    cat.create_namespace("Tmp")
    assert cat.list_namespaces() == ["sales", "tmp"]
    assert cat.namespace_properties("SALES") == {"owner": "finance"}
    with pytest.raises(NamespaceExistsError):
        cat.create_namespace("sales")
    cat.drop_namespace("tmp")
    assert cat.list_namespaces() == ["sales"]
    for call in (cat.drop_namespace, cat.namespace_properties, cat.list_tables):
        with pytest.raises(NamespaceNotFoundError):
            call("tmp")
    with pytest.raises(InvalidArgumentError):
        cat.create_namespace("x", {"n": 1})


def test_a_namespace_with_tables_is_not_dropped(cat):
    cat.create_namespace("sales")
    cat.create_table("sales.orders", schema=SCHEMA)
    with pytest.raises(NamespaceNotEmptyError):
        cat.drop_namespace("sales")
    cat.drop_table("sales.orders")
    cat.drop_namespace("sales")


# ---------------------------------------------------------------- tables
def test_create_load_list(cat):
    cat.create_namespace("sales")
    t = cat.create_table("sales.orders", schema=SCHEMA, partition_by=["bucket(2, id)"],
                         properties={"write.delete.mode": "merge-on-read"})
    assert t.uri.endswith("/sales/orders") and cat.table_location("sales.orders") == t.uri.rstrip("/") or \
        cat.table_location("sales.orders").endswith("/sales/orders")
    t.append(ROWS)
    loaded = cat.load_table("Sales.Orders")
    assert loaded.version == 1 and loaded.to_arrow().sort_by("id").equals(ROWS)
    assert cat.list_tables("sales") == ["sales.orders"] and cat.table_exists("sales.orders")
    assert not cat.table_exists("sales.other") and not cat.table_exists("nowhere.other")
    with pytest.raises(TableNotFoundError):
        cat.load_table("sales.other")


def test_create_refuses_a_taken_name_or_a_missing_namespace(cat):
    cat.create_namespace("sales")
    cat.create_table("sales.orders", schema=SCHEMA)
    with pytest.raises(TableExistsError):
        cat.create_table("sales.orders", schema=SCHEMA)
    with pytest.raises(NamespaceNotFoundError):
        cat.create_table("nowhere.orders", schema=SCHEMA)
    with pytest.raises(TableNotFoundError):  # nothing was written for the refused one
        lakehouse.open_table(f"{cat.warehouse}/nowhere/orders")


def test_register_an_existing_table(cat, catalog_uri):
    cat.create_namespace("sales")
    outside = f"memory://catalog-tests/{uuid.uuid4().hex}/legacy"
    if catalog_uri.startswith("s3://"):
        outside = catalog_uri.rsplit("/", 1)[0] + "/legacy"
    lakehouse.create_table(outside, schema=SCHEMA).append(ROWS)
    assert cat.register_table("sales.legacy", outside).version == 1
    assert cat.table_location("sales.legacy") == outside
    assert cat.load_table("sales.legacy").to_arrow().num_rows == 3
    with pytest.raises(TableExistsError):
        cat.register_table("sales.legacy", outside)
    with pytest.raises(TableNotFoundError):
        cat.register_table("sales.nothing", outside + "-missing")
    assert not cat.table_exists("sales.nothing")


def test_rename_keeps_the_location_and_a_new_table_gets_a_fresh_one(cat):
    cat.create_namespace("sales")
    cat.create_namespace("archive")
    first = cat.create_table("sales.orders", schema=SCHEMA)
    first.append(ROWS)
    cat.rename_table("sales.orders", "archive.orders_2024")
    assert cat.table_location("archive.orders_2024") == first.uri
    assert cat.list_tables("sales") == [] and cat.list_tables("archive") == ["archive.orders_2024"]
    second = cat.create_table("sales.orders", schema=SCHEMA)
    assert second.uri != first.uri and second.uri.startswith(first.uri + "-")
    assert cat.load_table("sales.orders").to_arrow().num_rows == 0
    assert cat.load_table("archive.orders_2024").to_arrow().num_rows == 3
    with pytest.raises(TableExistsError):
        cat.rename_table("sales.orders", "archive.orders_2024")
    with pytest.raises(TableNotFoundError):
        cat.rename_table("sales.missing", "sales.other")
    with pytest.raises(NamespaceNotFoundError):
        cat.rename_table("sales.orders", "nowhere.orders")


def test_drop_keeps_files_unless_purged(cat):
    cat.create_namespace("sales")
    kept = cat.create_table("sales.kept", schema=SCHEMA)
    kept.append(ROWS)
    cat.drop_table("sales.kept")
    assert not cat.table_exists("sales.kept")
    assert lakehouse.open_table(kept.uri).to_arrow().num_rows == 3  # readable by URI without the catalog
    gone = cat.create_table("sales.gone", schema=SCHEMA)
    gone.append(ROWS)
    cat.drop_table("sales.gone", purge=True)
    with pytest.raises(TableNotFoundError):
        lakehouse.open_table(gone.uri)
    with pytest.raises(TableNotFoundError):
        cat.drop_table("sales.gone")


def test_purge_refuses_a_table_outside_the_warehouse(cat):
    cat.create_namespace("sales")
    outside = f"memory://catalog-tests/{uuid.uuid4().hex}/elsewhere"
    cat.register_table("sales.ext", lakehouse.create_table(outside, schema=SCHEMA).uri)
    with pytest.raises(InvalidArgumentError, match="outside the warehouse"):
        cat.drop_table("sales.ext", purge=True)
    assert cat.table_exists("sales.ext")  # nothing changed
    cat.drop_table("sales.ext")
    assert lakehouse.open_table(outside).version == 0


def test_a_table_stays_readable_by_uri(cat, catalog_uri):
    cat.create_namespace("sales")
    t = cat.create_table("sales.orders", schema=SCHEMA)
    t.append(ROWS)
    t.delete("id = 2")
    again = catalog.connect(catalog_uri).load_table("sales.orders")
    by_uri = lakehouse.open_table(cat.table_location("sales.orders"))
    assert again.version == by_uri.version == 2
    assert by_uri.to_arrow().sort_by("id")["id"].to_pylist() == [1, 3]


def test_racing_threads_create_one_name(cat):
    cat.create_namespace("sales")
    barrier, won = threading.Barrier(6), []

    def race() -> None:
        barrier.wait()
        try:
            won.append(cat.create_table("sales.orders", schema=SCHEMA).uri)
        except TableExistsError:
            pass
    threads = [threading.Thread(target=race) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(won) == 1 and cat.table_location("sales.orders") == won[0]
    assert cat.load_table("sales.orders").version == 0


# ---------------------------------------------------------------- several processes
def _create_many(uri: str, worker: int, count: int) -> None:
    cat = catalog.connect(uri)
    for i in range(count):
        cat.create_table(f"sales.t{worker}_{i}", schema={"id": "int64"})
    for i in range(0, count, 2):
        cat.rename_table(f"sales.t{worker}_{i}", f"sales.r{worker}_{i}")


def _create_one(uri: str, worker: int) -> str | None:
    try:
        return catalog.connect(uri).create_table("sales.same", schema={"id": "int64"}).uri
    except TableExistsError:
        return None


def _rename_one(uri: str, worker: int) -> bool:
    try:
        catalog.connect(uri).rename_table("sales.src", f"sales.dst{worker}")
        return True
    except TableNotFoundError:
        return False


@pytest.mark.slow
def test_several_processes(tmp_path):
    """Processes create, rename and race on one SQLite catalog and one file catalog (one pool)."""
    uris = [f"sqlite:///{tmp_path}/c.db", f"{tmp_path}/wh"]
    for uri in uris:
        cat = catalog.connect(uri)
        cat.create_namespace("sales")
        cat.create_table("sales.src", schema=SCHEMA)
    workers, count = 3, 4
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for uri in uris:
            pool.starmap(_create_many, [(uri, w, count) for w in range(workers)])
            created = pool.starmap(_create_one, [(uri, w) for w in range(workers)])
            renamed = pool.starmap(_rename_one, [(uri, w) for w in range(workers)])
            _check_after_the_race(catalog.connect(uri), workers, count, created, renamed)


def _check_after_the_race(cat, workers, count, created, renamed) -> None:
    expected = {f"sales.{'r' if i % 2 == 0 else 't'}{w}_{i}" for w in range(workers) for i in range(count)}
    winners = [u for u in created if u is not None]
    assert len(winners) == 1 and cat.table_location("sales.same") == winners[0], cat
    assert sum(renamed) == 1, cat
    tables = cat.list_tables("sales")
    assert len(tables) == len(set(tables)) == len(expected) + 2, cat
    assert expected <= set(tables) and "sales.same" in tables and "sales.src" not in tables
    for name in tables:  # every name points at a readable table
        assert cat.load_table(name).version == 0


# ---------------------------------------------------------------- names
_IDENT = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True).filter(
    lambda s: not s.lower().startswith("_lakehouse"))


@settings(max_examples=150, deadline=None)
@given(_IDENT, _IDENT)
def test_valid_names_are_canonical(ns, table):
    assert names.table_name(f"{ns}.{table}") == (ns.lower(), table.lower())
    assert names.table_name((ns, table)) == (ns.lower(), table.lower())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_only_plain_identifiers_pass(text):
    try:
        ns, table = names.table_name(text)
    except InvalidNameError:
        return
    for part in (ns, table):
        assert part.isascii() and (part[0].isalpha() or part[0] == "_") and all(c.isalnum() or c == "_" for c in part)
        assert "/" not in part and ".." not in part


@pytest.mark.parametrize("bad", ["", "orders", "a.b.c", "../etc.passwd", "sales./x", "sales.a/b", "sales.a b",
                                 "sales.ü", "1sales.x", "sales.x\n", "_lakehouse_catalog.log", "s.t" + "x" * 128,
                                 "sales.", ".orders", "s3://b.t"])
def test_path_tricks_are_refused(bad, tmp_path):
    with pytest.raises(InvalidNameError):
        names.table_name(bad)
    cat = catalog.connect(str(tmp_path / "wh"))
    with pytest.raises(InvalidNameError):
        cat.create_table(bad, schema=SCHEMA)
    assert os.listdir(tmp_path) == []


def test_names_that_are_not_strings(cat):
    for bad in (None, 3, ("a", "b", "c"), ("a", 1)):
        with pytest.raises(InvalidNameError):
            cat.table_exists(bad)


# ---------------------------------------------------------------- SQLite specifics
def test_sqlite_reads_create_nothing(tmp_path):
    cat = catalog.connect(f"sqlite:///{tmp_path}/sub/c.db")
    assert cat.list_namespaces() == [] and not cat.table_exists("a.b")
    assert not (tmp_path / "sub").exists()
    assert cat.warehouse == str(tmp_path / "sub")


def test_sqlite_refuses_a_newer_schema(tmp_path):
    cat = catalog.connect(f"sqlite:///{tmp_path}/c.db")
    cat.create_namespace("sales")
    with sqlite3.connect(tmp_path / "c.db") as con:
        con.execute("UPDATE lakehouse_catalog_version SET version = 99")
    with pytest.raises(UnsupportedFeatureError, match="99"):
        catalog.connect(f"sqlite:///{tmp_path}/c.db").list_namespaces()


def test_sqlite_uri_forms(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert SqlCatalog.from_uri("sqlite:///rel/c.db")._path == str(tmp_path / "rel" / "c.db")
    for bad in ("sqlite://c.db", "sqlite:///:memory:", "sqlite:///"):
        with pytest.raises(InvalidArgumentError):
            catalog.connect(bad)


# ---------------------------------------------------------------- file catalog specifics
def test_file_catalog_snapshots_and_a_fresh_reader(tmp_path):
    uri = f"memory://catalog-tests/{uuid.uuid4().hex}"
    cat = catalog.connect(uri)
    for i in range(files.SNAPSHOT_INTERVAL + 5):
        cat.create_namespace(f"ns{i}")
    store = cat._store
    assert store.list_names(files.SNAPSHOT_DIR) == [f"{files.SNAPSHOT_INTERVAL:020d}.json"]
    fresh = catalog.connect(uri)
    assert fresh.list_namespaces() == cat.list_namespaces() and len(fresh.list_namespaces()) == 105


def test_file_catalog_keeps_locations_inside_relative(tmp_path):
    cat = catalog.connect(str(tmp_path / "wh"))
    cat.create_namespace("sales")
    cat.create_table("sales.orders", schema=SCHEMA).append(ROWS)
    entry = orjson.loads((tmp_path / "wh" / files.entry_path(1)).read_bytes())
    assert entry["change"]["location"] == "sales/orders"
    os.rename(tmp_path / "wh", tmp_path / "moved")  # the folder moves with its catalog
    assert catalog.connect(str(tmp_path / "moved")).load_table("sales.orders").to_arrow().num_rows == 3


@pytest.mark.parametrize("change,error", [
    ({"op": "create_table", "namespace": "sales", "table": "evil", "location": "../../etc"}, CorruptTableError),
    ({"op": "create_table", "namespace": "sales", "table": "../x", "location": "sales/x"}, CorruptTableError),
    ({"op": "create_table", "namespace": "nowhere", "table": "x", "location": "nowhere/x"}, CorruptTableError),
    ({"op": "teleport_table", "namespace": "sales"}, UnsupportedFeatureError),
])
def test_file_catalog_refuses_hostile_entries(tmp_path, change, error):
    cat = catalog.connect(str(tmp_path / "wh"))
    cat.create_namespace("sales")
    body = {"format_version": 1, "seq": 1, "timestamp": 0, "id": "x", "change": change}
    (tmp_path / "wh" / files.entry_path(1)).write_bytes(orjson.dumps(body))
    with pytest.raises(error):
        catalog.connect(str(tmp_path / "wh")).list_tables("sales")


def test_file_catalog_refuses_a_gap_and_a_newer_format(tmp_path):
    cat = catalog.connect(str(tmp_path / "wh"))
    cat.create_namespace("a")
    cat.create_namespace("b")
    newer = {"format_version": 2, "seq": 2, "timestamp": 0, "id": "x", "change": {"op": "x", "namespace": "c"}}
    (tmp_path / "wh" / files.entry_path(2)).write_bytes(orjson.dumps(newer))
    with pytest.raises(UnsupportedFeatureError):
        catalog.connect(str(tmp_path / "wh")).list_namespaces()
    os.remove(tmp_path / "wh" / files.entry_path(1))
    with pytest.raises(CorruptTableError, match="gap"):
        catalog.connect(str(tmp_path / "wh")).list_namespaces()
