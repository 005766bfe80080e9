"""Issue 8 figures: a full scan that keeps commit order costs no more than one that does not
(and than raw pyarrow over the same files, and deltalake), and planning 10,000 files: the
Arrow plan and the lazy `files()` beside decoding every DataFile (what `files()` did before).

    python bench/bench_read_order.py [--rows 5000000] [--files 100] [--plan-files 10000] [--repeat 7]

Each figure is the median of `--repeat` runs; the variants of one section run interleaved
(one run of each, then again, in rotated order), so load on a shared machine falls on all of
them alike. Run it from the repository root with the checkout on the path (PYTHONPATH=.), or
the installed lakehouse is measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

sys.path.insert(0, os.path.dirname(__file__))
from _common import events, optional, report, scratch, utcnow  # noqa: E402
from bench_v3 import synthetic_table  # noqa: E402

import lakehouse  # noqa: E402
from lakehouse.read.data_files import read_batches  # noqa: E402


def interleaved(variants: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median milliseconds of each variant over `repeat` interleaved rounds, each round
    starting one variant later (no variant always runs first, or always after the same one)."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    items = list(variants.items())
    for r in range(repeat):
        for name, fn in items[r % len(items):] + items[:r % len(items)]:
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(s) * 1000 for name, s in samples.items()}


def path_order_read(table: lakehouse.Table) -> pa.Table:
    """The read before issue 8: the planned files sorted by (schema id, path) — random uuids."""
    scan = table.scan()
    files = scan.plan.files.sort_by([("schema_id", "ascending"), ("path", "ascending")])
    return pa.Table.from_batches(list(read_batches(table._store, table.state.metadata, files, scan.fields, None)),
                                 schema=scan.schema)


def full_scan(rows: int, files: int, repeat: int, out: list) -> None:
    data = events(rows)
    per_file = -(-rows // files)
    slices = [data.slice(i, per_file) for i in range(0, rows, per_file)]
    with scratch("lh-order-") as d:
        t = lakehouse.create_table(os.path.join(d, "lh"), schema=data.schema)
        for part in slices:
            t.append(part)
        ordered = t.scan().to_arrow()
        assert ordered["id"].equals(data["id"]), "rows not in commit order"
        paths = [os.path.join(d, "lh", p) for p in t.scan().files_table()["path"].to_pylist()]
        variants = {
            "lakehouse scan().to_arrow(), commit order (default)": lambda: t.scan().to_arrow(),
            "lakehouse scan(ordered=False).to_arrow()": lambda: t.scan(ordered=False).to_arrow(),
            "lakehouse, files in path order (the read before issue 8)": lambda: path_order_read(t),
            "raw pyarrow ds.dataset(same files).to_table()": lambda: ds.dataset(paths, format="parquet").to_table(),
        }
        deltalake = optional("deltalake")
        if deltalake is not None:
            delta_path = os.path.join(d, "delta")
            for part in slices:
                deltalake.write_deltalake(delta_path, part, mode="append")
            variants[f"deltalake {deltalake.__version__} DeltaTable.to_pyarrow_table()"] = \
                lambda: deltalake.DeltaTable(delta_path).to_pyarrow_table()
            # deltalake writes snappy, lakehouse zstd: this tells the reader from the encoding.
            delta_files = deltalake.DeltaTable(delta_path).file_uris()
            variants["raw pyarrow ds.dataset(deltalake's files).to_table()"] = \
                lambda: ds.dataset(delta_files, format="parquet").to_table()
        ms = interleaved(variants, repeat)
    base = ms["lakehouse scan().to_arrow(), commit order (default)"]
    out.append((f"full scan of {rows:,} rows in {len(slices)} files (median of {repeat})", "", ""))
    for name, value in ms.items():
        out.append((f"  {name}", f"{value:.1f} ms", f"{value / base:.2f}x the ordered scan"))


def planning(n_files: int, repeat: int, out: list) -> None:
    with scratch("lh-plan-") as d:
        per_commit = 100
        t = synthetic_table(os.path.join(d, "t"), n_files // per_commit, per_commit)
        t = lakehouse.open_table(os.path.join(d, "t"))
        scan = t.scan()
        assert len(scan.files()) == n_files
        variants = {
            "plan (fresh scan, file index cached on the handle)": lambda: t.scan().plan,
            "plan + files_table() (Arrow, one row per file)": lambda: t.scan().files_table(),
            "plan + files() + len() (lazy DataFile sequence)": lambda: len(t.scan().files()),
            "plan + files() + first 10 DataFiles": lambda: t.scan().files()[:10],
            "plan + every DataFile decoded (what files() did before)": lambda: list(t.scan().files()),
            "plan of a selective where (1 file)": lambda: t.scan(where="id BETWEEN 5000017 AND 5000020").plan,
        }
        assert pc.sum(t.scan().files_table()["record_count"]).as_py() == n_files * 1000
        ms = interleaved(variants, repeat)
    out.append((f"planning {n_files:,} files (median of {repeat})", "", ""))
    for name, value in ms.items():
        out.append((f"  {name}", f"{value:.2f} ms", ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--plan-files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"# lakehouse {lakehouse.__version__}, pyarrow {pa.__version__}, {os.cpu_count()} cores, {utcnow()}")
    out: list = []
    full_scan(args.rows, args.files, args.repeat, out)
    planning(args.plan_files, args.repeat, out)
    report(out)


if __name__ == "__main__":
    main()
