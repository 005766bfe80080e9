"""Issue 3 figures: commit latency does not grow with the log, opening a 10,000-commit /
100,000-file table is fast, and partitioned write / one-day scan vs deltalake.

    python bench/bench_v3.py [--appends 2000] [--commits 10000] [--rows 5000000] [--skip-delta]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, os.path.dirname(__file__))
from _common import (  # noqa: E402
    append_latencies, best_of, delta_appender, events, optional, pyiceberg_table, report, scratch, utcnow,
)

import lakehouse  # noqa: E402
from lakehouse.format.actions import AddFile  # noqa: E402


def commit_growth(n: int, out: list) -> None:
    batch = events(10)
    with scratch("lh-growth-") as d:
        t = lakehouse.create_table(os.path.join(d, "t"), schema=batch.schema)
        samples = append_latencies(t, batch, n)
    first, last = statistics.median(samples[:100]), statistics.median(samples[-100:])
    out.append((f"{n} small appends: median first 100", f"{first * 1000:.2f} ms", ""))
    out.append((f"{n} small appends: median last 100", f"{last * 1000:.2f} ms",
                f"last/first {last / first:.2f} (target <= 1.3)"))


def others_growth(n: int, out: list) -> None:
    """The same growth for deltalake and pyiceberg (first vs last 50 of `n`), when installed."""
    batch = events(10)
    with scratch("other-growth-") as d:
        for name, target in (("deltalake", delta_appender(os.path.join(d, "delta"))),
                             ("pyiceberg", pyiceberg_table(d, batch.schema))):
            if target is None:
                continue
            samples = append_latencies(target, batch, n)
            first, last = statistics.median(samples[:50]), statistics.median(samples[-50:])
            out.append((f"{n} small appends, {name}: median first 50 / last 50",
                        f"{first * 1000:.1f} / {last * 1000:.1f} ms", f"last/first {last / first:.2f}"))


def synthetic_table(uri: str, commits: int, files_per_commit: int) -> lakehouse.Table:
    """A table with `commits` appends of `files_per_commit` files each, committed through the
    ordinary commit path (log entries, checkpoints) but with no data behind the paths: planning
    reads metadata only."""
    schema = pa.schema([("id", pa.int64()), ("category", pa.string())])
    t = lakehouse.create_table(uri, schema=schema)
    now = int(time.time() * 1000)
    for c in range(commits):
        adds = []
        for k in range(files_per_commit):
            lo = (c * files_per_commit + k) * 1000
            adds.append(AddFile(path=f"data/synthetic-{c}-{k}.parquet", size=4096, record_count=1000, spec_id=0,
                                schema_id=0, partition={}, modification_time=now,
                                stats={"1": {"min": lo, "max": lo + 999, "null_count": 0, "nan_count": None},
                                       "2": {"min": "a", "max": "z", "null_count": 0, "nan_count": None}}))
        t._commit(t.state, "append", adds, parameters={})
    return t


def open_and_plan(commits: int, out: list) -> None:
    files_per_commit = 10
    with scratch("lh-scale-") as d:
        uri = os.path.join(d, "t")
        t0 = time.perf_counter()
        synthetic_table(uri, commits, files_per_commit)
        build = time.perf_counter() - t0
        target = (commits * files_per_commit // 2) * 1000 + 17

        def open_plan():
            table = lakehouse.open_table(uri)
            files = table.scan(where=f"id BETWEEN {target} AND {target + 10}").files()
            assert len(files) == 1, len(files)
            return table
        t = open_plan()
        assert t.version == commits and t.state.files.count() == commits * files_per_commit
        elapsed = best_of(open_plan, repeat=5)
        out.append((f"fresh open + selective plan, {commits} commits / {commits * files_per_commit} files",
                    f"{elapsed:.3f} s", f"target < 0.3 s (table built in {build:.0f} s)"))


def partitioned(rows: int, out: list, with_delta: bool) -> None:
    data = events(rows)
    one_day = "ts >= '2024-03-14' AND ts < '2024-03-15'"
    with scratch("lh-part-") as d:
        counter = iter(range(100))

        def lh_write():
            t = lakehouse.create_table(os.path.join(d, f"lh{next(counter)}"), schema=data.schema,
                                       partition_by=["day(ts)"])
            t.append(data)
            return t
        lh_w = best_of(lh_write)
        t = lh_write()
        lh_r = best_of(lambda: t.scan(where=one_day).to_arrow())
        expected = t.scan(where=one_day).count()
        out.append((f"partitioned append {rows} rows by day(ts), lakehouse", f"{lh_w:.3f} s", ""))
        out.append(("one-day scan of 30, lakehouse", f"{lh_r:.3f} s", f"{expected} rows"))
        deltalake = optional("deltalake") if with_delta else None
        if deltalake is None:
            return
        delta_data = data.append_column("day", pc.cast(data["ts"], pa.date32()))
        counter2 = iter(range(100))

        # Same codec on both sides: lakehouse writes zstd by default, delta-rs snappy.
        props = deltalake.WriterProperties(compression="ZSTD")

        def delta_write():
            path = os.path.join(d, f"delta{next(counter2)}")
            deltalake.write_deltalake(path, delta_data, partition_by=["day"], writer_properties=props)
            return path
        dl_w = best_of(delta_write)
        path = delta_write()

        def delta_read():
            return deltalake.DeltaTable(path).to_pyarrow_table(
                filters=(pc.field("day") == pa.scalar(dt.date(2024, 3, 14))) &
                        (pc.field("ts") >= pa.scalar(dt.datetime(2024, 3, 14))) &
                        (pc.field("ts") < pa.scalar(dt.datetime(2024, 3, 15))))
        assert delta_read().num_rows == expected
        dl_r = best_of(delta_read)
        out.append((f"partitioned append, deltalake {deltalake.__version__}", f"{dl_w:.3f} s",
                    f"lakehouse speed ratio {dl_w / lh_w:.2f}x (target >= 1)"))
        out.append(("one-day scan, deltalake DeltaTable", f"{dl_r:.3f} s",
                    f"lakehouse speed ratio {dl_r / lh_r:.2f}x (target >= 1)"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--skip-delta", action="store_true")
    parser.add_argument("--others-appends", type=int, default=500, help="0 skips deltalake/pyiceberg growth")
    args = parser.parse_args()
    print(f"# lakehouse {lakehouse.__version__}, pyarrow {pa.__version__}, {os.cpu_count()} cores, {utcnow()}")
    out: list = []
    commit_growth(args.appends, out)
    if args.others_appends:
        others_growth(args.others_appends, out)
    open_and_plan(args.commits, out)
    partitioned(args.rows, out, not args.skip_delta)
    report(out)


if __name__ == "__main__":
    main()
