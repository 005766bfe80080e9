"""Issue 7 figures: what durability (fsync, on by default on local disk) costs a small append.

    python bench/bench_durability.py [--small 200] [--rounds 3]

Median latency of `--small` appends of 10 rows, fsync on (the default) and off
(storage_options={"fsync": False}), unpartitioned and partitioned by category (up to 8 new
partition folders per append), in alternating rounds so machine noise hits both alike. Set
BENCH_DIR to measure on a particular disk (the default temp folder may be tmpfs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile

import pyarrow as pa

import lakehouse

sys.path.insert(0, os.path.dirname(__file__))
from _common import append_latencies, median_ms  # noqa: E402

CATEGORIES = ["books", "toys", "games", "food", "garden", "music", "tools", "sport"]


def batch10() -> pa.Table:
    """10 event-like rows (no numpy needed, unlike _common.events)."""
    return pa.table({"id": pa.array(range(10), pa.int64()),
                     "ts": pa.array([dt.datetime(2024, 3, 1, i) for i in range(10)], pa.timestamp("us")),
                     "category": [CATEGORIES[i % 8] for i in range(10)],
                     "amount": [i * 1.5 for i in range(10)]})


def run(directory: str, name: str, *, fsync: bool, partitioned: bool, n: int) -> float:
    batch = batch10()
    t = lakehouse.create_table(os.path.join(directory, name), schema=batch.schema,
                               partition_by=["category"] if partitioned else None,
                               storage_options={"fsync": fsync})
    append_latencies(t, batch, 5)  # warm up
    return median_ms(append_latencies(t, batch, n))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"# lakehouse {lakehouse.__version__}, pyarrow {pa.__version__}, {os.cpu_count()} cores, "
          f"{dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}")
    out = []
    d = tempfile.mkdtemp(prefix="lh-durable-", dir=os.environ.get("BENCH_DIR"))
    try:
        for partitioned in (False, True):
            kind = "partitioned by category" if partitioned else "unpartitioned"
            medians: dict[bool, list[float]] = {True: [], False: []}
            for r in range(args.rounds):
                for fsync in (True, False):
                    name = f"{int(partitioned)}-{int(fsync)}-{r}"
                    medians[fsync].append(run(d, name, fsync=fsync, partitioned=partitioned, n=args.small))
            for fsync in (True, False):
                values = sorted(medians[fsync])
                out.append((f"small append median, {kind}, fsync {'on (default)' if fsync else 'off'}",
                            f"{values[len(values) // 2]:.2f} ms",
                            f"rounds: {', '.join(f'{v:.2f}' for v in medians[fsync])} ms"))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    width = max(len(r[0]) for r in out)
    for name, value, note in out:
        print(f"{name:<{width}}  {value:>10}  {note}")


if __name__ == "__main__":
    main()
