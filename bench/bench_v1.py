"""Issue 2 figures: bulk append and full scan vs raw pyarrow on the same 5M rows, and the
median latency of 500 small appends (deltalake / pyiceberg too, when installed).

    python bench/bench_v1.py [--rows 5000000] [--small 500]

Ratios are raw pyarrow time ÷ lakehouse time: ≥ 1 means lakehouse is at least as fast.
"""

from __future__ import annotations

import argparse
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(__file__))
from _common import (  # noqa: E402
    append_latencies, best_of, delta_appender, events, median_ms, pyiceberg_table, report, scratch, utcnow,
)

import lakehouse  # noqa: E402


def bulk(rows: int, out: list) -> None:
    data = events(rows)
    with scratch("lh-bench-") as d:
        raw_path = os.path.join(d, "raw.parquet")
        raw_write = best_of(lambda: pq.write_table(data, raw_path, compression="zstd"))
        counter = iter(range(100))

        def lh_write():
            t = lakehouse.create_table(os.path.join(d, f"t{next(counter)}"), schema=data.schema)
            t.append(data)
            return t
        lh_append = best_of(lh_write)
        table = lh_write()
        raw_read = best_of(lambda: pq.read_table(raw_path))
        lh_read = best_of(lambda: table.scan().to_arrow())
        assert table.scan().count() == rows
        out += [
            ("bulk append, raw pyarrow write_table (zstd)", f"{raw_write:.3f} s", ""),
            ("bulk append, lakehouse", f"{lh_append:.3f} s", f"ratio {raw_write / lh_append:.2f}x (target >= 0.95)"),
            ("full scan, raw pyarrow read_table", f"{raw_read:.3f} s", ""),
            ("full scan, lakehouse to_arrow", f"{lh_read:.3f} s", f"ratio {raw_read / lh_read:.2f}x (target >= 0.95)"),
        ]


def small_appends(n: int, out: list) -> None:
    batch = events(10)
    with scratch("lh-small-") as d:
        t = lakehouse.create_table(os.path.join(d, "t"), schema=batch.schema)
        samples = append_latencies(t, batch, n)
        out.append((f"small append median ({n} x 10 rows), lakehouse", f"{median_ms(samples):.2f} ms",
                    "target <= 5 ms"))
        delta = delta_appender(os.path.join(d, "delta"))
        if delta is not None:
            samples = append_latencies(delta, batch, min(n, 200))
            out.append((f"small append median ({len(samples)} x 10 rows), deltalake {delta.version}",
                        f"{median_ms(samples):.2f} ms", "same run"))
        iceberg = pyiceberg_table(d, batch.schema)
        if iceberg is not None:
            samples = append_latencies(iceberg, batch, min(n, 200))
            out.append((f"small append median ({len(samples)} x 10 rows), pyiceberg (sqlite catalog)",
                        f"{median_ms(samples):.2f} ms", "same run"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--small", type=int, default=500)
    args = parser.parse_args()
    print(f"# lakehouse {lakehouse.__version__}, pyarrow {pa.__version__}, {os.cpu_count()} cores, {utcnow()}")
    out: list = []
    bulk(args.rows, out)
    small_appends(args.small, out)
    report(out)


if __name__ == "__main__":
    main()
