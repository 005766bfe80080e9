import os

import pyarrow as pa

import lakehouse
from lakehouse.format.checkpoint import checkpoint_path, checkpoint_versions
from lakehouse.io import Store
from lakehouse.format.log import LAST_CHECKPOINT, log_path


def _table(uri, commits, interval=10):
    t = lakehouse.create_table(uri, schema=pa.schema([("i", pa.int64()), ("s", pa.string())]),
                               properties={"checkpoint.interval": str(interval)})
    for i in range(commits):
        t.append(pa.table({"i": [i], "s": [f"row {i}"]}))
    return t


def test_checkpoint_every_interval_and_open_uses_it(table_uri):
    t = _table(table_uri, 25)
    store = Store.from_uri(table_uri)
    assert checkpoint_versions(store) == [10, 20]
    # with the log before the checkpoint gone, the table still opens at the newest version
    for v in range(0, 20):
        store.delete(log_path(v))
    t2 = lakehouse.open_table(table_uri)
    assert t2.version == 25
    assert sorted(t2.scan().to_arrow().column("i").to_pylist()) == list(range(25))
    assert t2.scan(where="i >= 23").count() == 2


def test_half_written_checkpoint_is_ignored(local_uri):
    _table(local_uri, 25)
    path = os.path.join(local_uri, checkpoint_path(20))
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    t = lakehouse.open_table(local_uri)
    assert t.version == 25 and t.scan().count() == 25
    assert t.scan(version=22).count() == 22


def test_stale_or_missing_pointer_still_opens(local_uri):
    _table(local_uri, 25)
    store = Store.from_uri(local_uri)
    store.write_bytes(LAST_CHECKPOINT, b'{"version": 10}')
    assert lakehouse.open_table(local_uri).scan().count() == 25
    store.delete(LAST_CHECKPOINT)
    assert lakehouse.open_table(local_uri).scan().count() == 25
    store.write_bytes(LAST_CHECKPOINT, b'garbage')
    assert lakehouse.open_table(local_uri).scan().count() == 25


def test_checkpoint_survives_schema_and_partition_evolution(table_uri):
    t = _table(table_uri, 10)
    with t.update_schema() as s:
        s.widen_column("i", pa.int64())
        s.add_column("extra", pa.float64())
        s.rename_column("s", "label")
    t.update_partitioning(["bucket(2, i)"])
    for i in range(10, 19):
        t.append(pa.table({"i": [i], "label": [f"row {i}"], "extra": [1.0]}))
    assert Store.from_uri(table_uri).exists(checkpoint_path(20))
    t2 = lakehouse.open_table(table_uri)
    assert t2.scan().count() == 19
    assert t2.scan(where="label = 'row 3'").count() == 1
    assert t2.scan(where="extra = 1.0").count() == 9
    assert t2.scan(where="i = 15").explain().metrics.files_read == 1


def test_without_pointer_or_log_start_the_checkpoints_are_listed(table_uri):
    _table(table_uri, 25)
    store = Store.from_uri(table_uri)
    store.delete(LAST_CHECKPOINT)
    for v in range(0, 15):
        store.delete(log_path(v))
    t = lakehouse.open_table(table_uri)
    assert t.version == 25 and t.scan().count() == 25
