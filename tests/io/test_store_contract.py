"""One contract for every store (memory, local disk, S3 on moto): what Store promises."""

import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakehouse
from lakehouse.io import Store


@pytest.fixture
def store(table_uri) -> Store:
    return Store.from_uri(table_uri)


def test_write_then_read(store):
    store.write_bytes("a/b/c.json", b"one")
    assert store.read_bytes("a/b/c.json") == b"one"
    store.write_bytes("a/b/c.json", b"two")  # write_bytes replaces
    assert store.read_bytes("a/b/c.json") == b"two"
    assert store.size("a/b/c.json") == 3
    assert store.exists("a/b/c.json")


def test_missing_files(store):
    with pytest.raises(FileNotFoundError):
        store.read_bytes("nope.json")
    assert store.try_read_bytes("nope.json") is None
    assert not store.exists("nope.json")
    assert store.list_names("no/such/folder") == []
    store.delete("nope.json")  # deleting what is not there is fine


def test_read_many_keeps_order_and_gaps(store):
    for i in (0, 1, 3):
        store.write_bytes(f"log/{i}.json", str(i).encode())
    assert store.read_many([f"log/{i}.json" for i in range(5)]) == [b"0", b"1", None, b"3", None]


def test_list_names_and_delete(store):
    for name in ("x.json", "y.json", "sub/z.json"):
        store.write_bytes(f"d/{name}", b".")
    assert store.list_names("d") == ["sub", "x.json", "y.json"]
    store.delete("d/x.json")
    assert store.list_names("d") == ["sub", "y.json"]


def test_put_if_absent_never_replaces(store):
    assert store.put_if_absent("_lakehouse/log/k.json", b"first")
    assert not store.put_if_absent("_lakehouse/log/k.json", b"second")
    assert store.read_bytes("_lakehouse/log/k.json") == b"first"


def test_put_if_absent_race_on_many_keys(store):
    """Racing writers on several keys: exactly one winner per key, and the winner's bytes stay."""
    keys, writers = 4, 6
    barrier = threading.Barrier(writers)
    wins: dict[int, list[int]] = {k: [] for k in range(keys)}

    def race(me):
        barrier.wait()
        for k in range(keys):
            if store.put_if_absent(f"_lakehouse/log/{k:020d}.json", f"{me}".encode()):
                wins[k].append(me)

    threads = [threading.Thread(target=race, args=(w,)) for w in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for k in range(keys):
        assert len(wins[k]) == 1
        assert store.read_bytes(f"_lakehouse/log/{k:020d}.json") == str(wins[k][0]).encode()


def test_arrow_filesystem_round_trips_parquet(store):
    table = pa.table({"x": list(range(1000)), "s": [str(i) for i in range(1000)]})
    path = store.full_path("data/f.parquet")
    store.makedirs("data")
    with store.arrow_fs.open_output_stream(path) as sink:
        pq.write_table(table, sink)
    assert pq.read_table(path, filesystem=store.arrow_fs).equals(table)
    assert store.size("data/f.parquet") > 0  # what pyarrow wrote, the fsspec side sees


def test_uri_and_repr(store, table_uri):
    assert store.uri.rstrip("/").endswith(table_uri.rstrip("/").split("://")[-1])
    assert store.uri in repr(store)


def test_table_suite_smoke(table_uri):
    """Create, append, reopen, scan: the path every table test builds on."""
    t = lakehouse.create_table(table_uri, schema=pa.schema([("k", pa.int64())]))
    t.append(pa.table({"k": [1, 2]}))
    assert lakehouse.open_table(table_uri).to_arrow().column("k").to_pylist() == [1, 2]
