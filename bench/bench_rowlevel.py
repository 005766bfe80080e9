"""Issue 9 figures: row-level changes. Section "dv-scan": a full scan of a table with 1% of its
rows deleted by deletion vectors vs the same table without deletes (target: at most 1.2x).
Section "delete": `Table.delete` of 1% of rows (scattered through every file) with deletion
vectors vs copy-on-write (target: at least 10x faster) vs deltalake's delete; each the median
of up to 3 runs, each on a fresh copy of the table.

    PYTHONPATH=. python bench/bench_rowlevel.py [--rows 5000000] [--files 10] [--repeat 7]

The two scans read the same data files: the table before and after one commit that gives
every file a deletion vector marking a random 1% of its rows (time travel to the version
before is the table without deletes). The DVs are made with the format API directly
(lakehouse.format.deletion_vectors). Figures are medians of interleaved runs (see
bench_read_order.py). Run it from the repository root with PYTHONPATH=., or the installed
lakehouse is measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from statistics import median
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import events, optional, report, scratch, utcnow  # noqa: E402
from bench_read_order import interleaved  # noqa: E402

import lakehouse  # noqa: E402
from lakehouse.expressions.tree import AlwaysTrue  # noqa: E402
from lakehouse.format.actions import DELETION_VECTORS, Protocol, RemoveFile  # noqa: E402
from lakehouse.format.deletion_vectors import BitMap64, write_deletion_vectors  # noqa: E402
from lakehouse.format.file_index import add_files  # noqa: E402


def delete_fraction(table: lakehouse.Table, fraction: float, seed: int = 1) -> int:
    """Commit DVs deleting a random `fraction` of every file's rows; the rows deleted."""
    from dataclasses import replace
    rng = np.random.default_rng(seed)
    state = table.state
    adds = add_files(state.file_index(), state.metadata)
    bitmaps = {a.path: BitMap64(rng.choice(a.record_count, int(a.record_count * fraction), replace=False).tolist())
               for a in adds}
    dvs = write_deletion_vectors(table._store, bitmaps)
    p = state.protocol
    actions: list = [Protocol(reader_version=p.reader_version, writer_version=p.writer_version,
                              reader_features=(*p.reader_features, DELETION_VECTORS),
                              writer_features=(*p.writer_features, DELETION_VECTORS))]
    now = int(time.time() * 1000)
    for a in adds:
        actions += [RemoveFile(path=a.path, deletion_timestamp=now, size=a.size, record_count=a.record_count),
                    replace(a, deletion_vector=dvs[a.path])]
    table._commit(state, "delete", actions, parameters={}, read_predicate=AlwaysTrue(),
                  read_files=frozenset(dvs))
    return sum(len(b) for b in bitmaps.values())


def dv_scan(rows: int, files: int, repeat: int) -> list[tuple[str, str, str]]:
    data = events(rows)
    with scratch("lh-bench-rowlevel-") as root:
        table = lakehouse.create_table(os.path.join(root, "t"), schema=data.schema)
        step = -(-rows // files)
        for start in range(0, rows, step):
            table.append(data.slice(start, step))
        before = table.version
        deleted = delete_fraction(table, 0.01)
        clean, with_dvs = table.scan(version=before), table.scan()
        assert with_dvs.count() == rows - deleted and len(with_dvs.to_arrow()) == rows - deleted
        ms = interleaved({"clean": clean.to_arrow, "dvs": with_dvs.to_arrow}, repeat)
    ratio = ms["dvs"] / ms["clean"]
    return [("full scan, no deletes", f"{ms['clean']:.0f} ms", f"{rows:,} rows in {files} files"),
            ("full scan, 1% deleted by DVs", f"{ms['dvs']:.0f} ms", f"{deleted:,} rows deleted"),
            ("ratio (target <= 1.2x)", f"{ratio:.2f}x", "PASS" if ratio <= 1.2 else "MISS")]


DELETE_WHERE = "user_id < 10000"  # user_id is uniform in [0, 1,000,000): 1% of rows, in every file


def _copy_runs(source: str, run: Callable[[str], object], repeat: int) -> list[float]:
    """Seconds of `run(copy)` on `repeat` fresh copies of the table at `source` (a delete changes it)."""
    times = []
    for r in range(repeat):
        copy = f"{source}-run{r}"
        shutil.copytree(source, copy)
        t0 = time.perf_counter()
        run(copy)
        times.append(time.perf_counter() - t0)
        shutil.rmtree(copy, ignore_errors=True)
    return times


def bench_delete(rows: int, files: int, repeat: int) -> list[tuple[str, str, str]]:
    """Deleting 1% of rows (scattered through every file): deletion vectors vs copy-on-write
    (target: at least 10x faster), and vs deltalake's delete (copy-on-write)."""
    data = events(rows)
    out = []
    with scratch("lh-bench-delete-") as root:
        base = os.path.join(root, "lh")
        table = lakehouse.create_table(base, schema=data.schema)
        step = -(-rows // files)
        for start in range(0, rows, step):
            table.append(data.slice(start, step))
        expected = table.scan(where=DELETE_WHERE).count()
        metrics = {}

        def delete(mode: str) -> Callable[[str], object]:
            def run(path: str) -> None:
                metrics[mode] = lakehouse.open_table(path).delete(where=DELETE_WHERE, mode=mode)
            return run
        seconds = {mode: median(_copy_runs(base, delete(mode), repeat)) for mode in ("merge-on-read", "copy-on-write")}
        assert all(m.num_deleted_rows == expected for m in metrics.values())
        dv, cow = seconds["merge-on-read"], seconds["copy-on-write"]
        out += [("delete 1%, deletion vectors", f"{dv * 1000:.0f} ms",
                 f"{expected:,} of {rows:,} rows in {files} files; "
                 f"{metrics['merge-on-read'].num_deletion_vectors} DVs"),
                ("delete 1%, copy-on-write", f"{cow * 1000:.0f} ms",
                 f"{metrics['copy-on-write'].num_removed_files} files rewritten"),
                ("copy-on-write / DVs (target >= 10x)", f"{cow / dv:.1f}x", "PASS" if cow / dv >= 10 else "MISS")]
        deltalake = optional("deltalake")
        if deltalake is not None:
            delta = os.path.join(root, "delta")
            for start in range(0, rows, step):
                deltalake.write_deltalake(delta, data.slice(start, step), mode="append")

            def delta_delete(path: str) -> None:
                metrics["delta"] = deltalake.DeltaTable(path).delete(DELETE_WHERE)
            d = median(_copy_runs(delta, delta_delete, repeat))
            assert metrics["delta"]["num_deleted_rows"] == expected
            out += [(f"delete 1%, deltalake {deltalake.__version__}", f"{d * 1000:.0f} ms", "copy-on-write"),
                    ("deltalake / DVs", f"{d / dv:.1f}x", ""), ("deltalake / copy-on-write", f"{d / cow:.1f}x", "")]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"# bench_rowlevel {utcnow()} lakehouse {lakehouse.__version__}")
    print("## dv-scan: full scan with 1% of rows deleted by deletion vectors vs none")
    report(dv_scan(args.rows, args.files, args.repeat))
    print("## delete: 1% of rows with deletion vectors vs copy-on-write vs deltalake")
    report(bench_delete(args.rows, args.files, max(1, min(args.repeat, 3))))


if __name__ == "__main__":
    main()
