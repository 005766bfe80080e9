"""End-to-end demo on a local warehouse folder: create, append, overwrite part, scan, time travel."""

import datetime as dt
import shutil
import sys

import pyarrow as pa

import lakehouse

uri = sys.argv[1] if len(sys.argv) > 1 else "./warehouse/events"
shutil.rmtree(uri, ignore_errors=True)

schema = pa.schema([("id", pa.int64()), ("ts", pa.timestamp("us")), ("category", pa.string()),
                    ("amount", pa.float64())])
t = lakehouse.create_table(uri, schema=schema, partition_by=["day(ts)"])
day = dt.datetime(2024, 2, 27)
for i in range(5):
    t.append(pa.table({
        "id": list(range(i * 100, (i + 1) * 100)),
        "ts": [day + dt.timedelta(days=i, minutes=j) for j in range(100)],
        "category": ["books" if j % 3 else "toys" for j in range(100)],
        "amount": [float(j % 40) for j in range(100)],
    }, schema=schema))
t.overwrite(pa.table({"id": [-1], "ts": [dt.datetime(2024, 3, 2)], "category": ["books"], "amount": [99.0]},
                     schema=schema), where="ts >= '2024-03-01'")

scan = t.scan(where="ts >= '2024-02-29' AND category = 'books' AND amount > 10", columns=["id", "amount"])
print(f"table {t.uri} at version {t.version}: {t.scan().count()} rows")
print(f"books over 10 since Feb 29: {scan.count()} rows from {len(scan.files())} of {len(t.scan().files())} files")
print(scan.explain())
print(f"version 5 (before the overwrite) had {t.scan(version=5).count()} rows")
for h in t.history(limit=3):
    print(f"  v{h.version} {h.timestamp:%H:%M:%S} {h.operation} {dict(h.metrics)}")
