import datetime as dt

import pyarrow as pa
import pytest

import lakehouse

SCHEMA = pa.schema([("ts", pa.timestamp("us")), ("user_id", pa.int64()), ("sku", pa.string()),
                    ("category", pa.string()), ("amount", pa.float64())])


def _rows(n=400, start=dt.datetime(2024, 2, 20)):
    return pa.table({
        "ts": [start + dt.timedelta(hours=7 * i) for i in range(n)],
        "user_id": [i % 37 for i in range(n)],
        "sku": [f"SKU-{i % 11:04d}" for i in range(n)],
        "category": [["books", "toys", "games", None][i % 4] for i in range(n)],
        "amount": [float(i) for i in range(n)],
    }, schema=SCHEMA)


def test_hidden_partitioning_splits_and_prunes(table_uri):
    t = lakehouse.create_table(table_uri, schema=SCHEMA,
                               partition_by=["day(ts)", "bucket(4, user_id)", "truncate(4, sku)", "category"])
    data = _rows()
    t.append(data)
    files = t.scan().files()
    keys = {tuple(f.partition.values()) for f in files}
    assert all(list(f.partition) == ["ts_day", "user_id_bucket_4", "sku_trunc_4", "category"] for f in files)
    assert len(keys) == len(files)  # one file per partition tuple
    assert sum(f.record_count for f in files) == data.num_rows
    assert all(isinstance(f.partition["ts_day"], dt.date) for f in files)

    scan = t.scan(where="ts >= '2024-03-01' AND ts < '2024-03-02'")
    expected = data.filter((pa.compute.field("ts") >= pa.scalar(dt.datetime(2024, 3, 1))) &
                           (pa.compute.field("ts") < pa.scalar(dt.datetime(2024, 3, 2))))
    assert sorted(scan.to_arrow().column("amount").to_pylist()) == sorted(expected.column("amount").to_pylist())
    m = scan.explain().metrics
    assert m.files_skipped_by_partition > 0 and m.files_read < m.files_considered
    assert {f.partition["ts_day"] for f in scan.files()} == {dt.date(2024, 3, 1)}
    assert t.scan(where="category IS NULL").count() == 100


def test_partition_evolution_prunes_across_specs(table_uri):
    t = lakehouse.create_table(table_uri, schema=SCHEMA, partition_by=["day(ts)"])
    t.append(_rows(200))
    t.update_partitioning(["month(ts)"])
    t.append(_rows(200, start=dt.datetime(2024, 6, 1)))
    specs = {f.spec_id for f in t.scan().files()}
    assert specs == {0, 1}
    assert t.scan().count() == 400
    scan = t.scan(where="ts >= '2024-06-10'")
    assert all(f.spec_id == 1 for f in scan.files())
    assert scan.count() == sum(1 for r in t.scan().to_arrow().column("ts").to_pylist() if r >= dt.datetime(2024, 6, 10))
    early = t.scan(where="ts < '2024-02-21'")
    assert all(f.spec_id == 0 for f in early.files()) and early.count() == 4
    # returning to an earlier layout reuses its spec
    t.update_partitioning(["day(ts)"])
    assert t.partition_spec.spec_id == 0


def test_invalid_partitioning_is_refused(table_uri):
    with pytest.raises(lakehouse.InvalidPartitionSpecError, match="nope"):
        lakehouse.create_table(table_uri, schema=SCHEMA, partition_by=["day(nope)"])
    with pytest.raises(lakehouse.InvalidPartitionSpecError):
        lakehouse.create_table(table_uri, schema=SCHEMA, partition_by=["day(sku)"])
    with pytest.raises(lakehouse.InvalidPartitionSpecError):
        lakehouse.create_table(table_uri, schema=SCHEMA, partition_by=["bucket(0, user_id)"])


def test_target_file_size_splits_files(table_uri):
    t = lakehouse.create_table(table_uri, schema=SCHEMA, properties={"write.target-file-size-bytes": "4096"})
    t.append(_rows(2000))
    files = t.scan().files()
    assert len(files) > 5 and sum(f.record_count for f in files) == 2000


def test_stats_prune_files(table_uri):
    t = lakehouse.create_table(table_uri, schema=SCHEMA)
    for i in range(5):
        t.append(_rows(50, start=dt.datetime(2024, 1, 1) + dt.timedelta(days=30 * i)))
    scan = t.scan(where="ts BETWEEN '2024-03-01' AND '2024-03-05'")
    m = scan.explain().metrics
    assert m.files_skipped_by_stats == 4 and m.files_read == 1
    assert "skipped (stats)" in str(scan.explain())
