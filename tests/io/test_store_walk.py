"""Store.walk_files (vacuum's listing): every file under the root, relative, with sizes and times,
on every store, and nothing beside the root (a sibling sharing the root's name as a prefix)."""

import time

import pytest

from lakehouse.io import Store


def test_walk_lists_exactly_the_files_under_the_root(table_uri):
    store = Store.from_uri(table_uri)
    sibling = Store.from_uri(table_uri + "-sibling")
    files = {"a.txt": b"1", "data/k=1/b.parquet": b"22", "_lakehouse/log/00000000000000000000.json": b"333",
             "deep/er/still/c": b""}
    for rel, data in files.items():
        store.write_bytes(rel, data)
    sibling.write_bytes("data/x.parquet", b"not this table's")
    listed = {f.path: f for f in store.walk_files()}
    assert {p: f.size for p, f in listed.items()} == {p: len(d) for p, d in files.items()}
    assert all(f.mtime is not None and abs(f.mtime - time.time()) < 3600 for f in listed.values())


def test_walk_of_a_missing_root_is_empty(table_uri):
    assert list(Store.from_uri(table_uri).walk_files()) == []


@pytest.mark.s3
def test_walk_pages_through_long_listings(s3, monkeypatch):
    from lakehouse.io import s3 as s3_module  # the page loop itself, beneath the store
    store = Store.from_uri(s3.uri())
    for i in range(5):
        store.write_bytes(f"data/{i}.parquet", b"x")
    calls = []
    real = store.fs.call_s3

    def small_pages(method, **kw):  # two keys a page, so the listing needs three requests
        calls.append(kw.get("ContinuationToken"))
        return real(method, MaxKeys=2, **kw)
    monkeypatch.setattr(store.fs, "call_s3", small_pages)
    assert sorted(key for key, _, _ in s3_module.walk_objects(store.fs, store.root)) == [
        f"data/{i}.parquet" for i in range(5)]
    assert len(calls) == 3
