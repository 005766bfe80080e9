"""Writes tests/golden/v1_events once. The table is checked in and must stay readable, with the
same content, by every later version of lakehouse: do not regenerate it to make a test pass."""

import datetime as dt
import json
import os
import shutil
from decimal import Decimal

import pyarrow as pa

import lakehouse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "v1_events")


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    schema = pa.schema([("id", pa.int64()), ("ts", pa.timestamp("us")), ("category", pa.string()),
                        ("amount", pa.decimal128(9, 2)), ("tags", pa.list_(pa.string())),
                        ("geo", pa.struct([("lat", pa.float32()), ("lon", pa.float32())]))])
    t = lakehouse.create_table(ROOT, schema=schema, partition_by=["day(ts)", "bucket(4, id)"],
                               properties={"checkpoint.interval": "3"})
    base = dt.datetime(2024, 3, 1, 6)
    for i in range(4):
        t.append(pa.table({
            "id": [i * 10 + k for k in range(5)],
            "ts": [base + dt.timedelta(hours=11 * (i * 5 + k)) for k in range(5)],
            "category": [["books", "toys", None][(i + k) % 3] for k in range(5)],
            "amount": [Decimal(f"{i}.{k}5") for k in range(5)],
            "tags": [["a"] * k for k in range(5)],
            "geo": [{"lat": float(k), "lon": -float(i)} for k in range(5)],
        }, schema=schema))
    with t.update_schema() as s:
        s.rename_column("category", "kind")
        s.add_column("note", pa.string())
        s.widen_column("amount", pa.decimal128(12, 2))
    t.update_partitioning(["month(ts)"])
    t.overwrite(pa.table({"id": [100], "ts": [dt.datetime(2024, 3, 2, 12)], "kind": ["games"],
                          "amount": [Decimal("7.77")], "tags": [["z"]], "geo": [None], "note": ["new"]}),
                where="ts < '2024-03-03'")
    expected = {
        "version": t.version,
        "schema": [f.name for f in t.schema.fields],
        "rows": _rows(t.scan().to_arrow()),
        "rows_at_2": _rows(t.scan(version=2).to_arrow()),
        "count_where": {"kind = 'games'": 1, "ts >= '2024-03-05'": t.scan(where="ts >= '2024-03-05'").count()},
    }
    with open(os.path.join(HERE, "v1_events.expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


def _rows(table: pa.Table) -> list:
    return sorted((json.loads(json.dumps(r, default=str)) for r in table.to_pylist()), key=lambda r: r["id"])


if __name__ == "__main__":
    main()
