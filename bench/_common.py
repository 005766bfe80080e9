"""Helpers shared by the benchmark scripts: data generation, timing, reporting."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
from contextlib import contextmanager
from typing import Callable

import numpy as np
import pyarrow as pa


def events(n: int, *, days: int = 30, seed: int = 0) -> pa.Table:
    """`n` synthetic event rows spread over `days` days of March 2024."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-03-01T00:00:00", "us")
    offsets = rng.integers(0, days * 86_400_000_000, n)
    categories = np.array(["books", "toys", "games", "food", "garden", "music", "tools", "sport"])
    return pa.table({
        "id": pa.array(np.arange(n, dtype=np.int64)),
        "ts": pa.array(start + offsets.astype("timedelta64[us]")),
        "user_id": pa.array(rng.integers(0, 1_000_000, n, dtype=np.int64)),
        "category": pa.array(categories[rng.integers(0, len(categories), n)]),
        "amount": pa.array(rng.random(n) * 100.0),
        "qty": pa.array(rng.integers(1, 10, n, dtype=np.int32)),
    })


def best_of(fn: Callable[[], object], repeat: int = 3, setup: Callable[[], object] | None = None) -> float:
    """Fastest wall time of `repeat` runs (least disturbed by other load on a shared machine)."""
    times = []
    for _ in range(repeat):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def append_latencies(table, batch: pa.Table, n: int) -> list[float]:
    """Seconds each of `n` appends of `batch` took, in order."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        table.append(batch)
        samples.append(time.perf_counter() - t0)
    return samples


def pyiceberg_table(directory: str, schema: pa.Schema):
    """A pyiceberg table in a SQLite catalog under `directory`, or None if pyiceberg is absent."""
    try:
        from pyiceberg.catalog.sql import SqlCatalog
    except ImportError:
        return None
    catalog = SqlCatalog("bench", uri=f"sqlite:///{directory}/catalog.db", warehouse=f"file://{directory}")
    catalog.create_namespace("bench")
    return catalog.create_table("bench.t", schema=schema)


def delta_appender(path: str):
    """An object whose append() adds a batch to a deltalake table at `path` (None without deltalake)."""
    deltalake = optional("deltalake")
    if deltalake is None:
        return None

    class Appender:
        version = deltalake.__version__

        def append(self, batch: pa.Table) -> None:
            deltalake.write_deltalake(path, batch, mode="append")
    return Appender()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


@contextmanager
def scratch(prefix: str):
    path = tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BENCH_DIR"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def report(rows: list[tuple[str, str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")


def optional(module: str):
    try:
        return __import__(module)
    except ImportError:
        return None


def utcnow() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM) in MB. Not getrusage's ru_maxrss, which a child
    started by fork + exec inherits from its parent's high-water mark."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
