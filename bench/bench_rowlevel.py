"""Issue 9 figures: row-level changes. Section "dv-scan": a full scan of a table with 1% of its
rows deleted by deletion vectors vs the same table without deletes (target: at most 1.2x).
Section "delete": `Table.delete` of 1% of rows (scattered through every file) with deletion
vectors vs copy-on-write (target: at least 10x faster) vs deltalake's delete; each the median
of up to 3 runs, each on a fresh copy of the table. Section "merge": `changes` updated rows plus
`changes` new rows merged into the table (written as `--merge-files` files) with lakehouse
(copy-on-write and merge-on-read) and deltalake (`when_matched_update_all` +
`when_not_matched_insert_all`): each run in a fresh child process on a fresh copy of the table,
so its time, CPU time (all threads) and peak RSS (VmHWM) are its own; medians over up to 3
interleaved runs. `--sections` runs some of the three sections only.

    PYTHONPATH=. python bench/bench_rowlevel.py [--rows 5000000] [--files 10] [--merge-files 40]
                                                [--changes 50000] [--repeat 7]
                                                [--sections dv-scan,delete,merge]

The two scans read the same data files: the table before and after one commit that gives
every file a deletion vector marking a random 1% of its rows (time travel to the version
before is the table without deletes). The DVs are made with the format API directly
(lakehouse.format.deletion_vectors). Figures are medians of interleaved runs (see
bench_read_order.py). Run it from the repository root with PYTHONPATH=., or the installed
lakehouse is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from statistics import median
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(__file__))
from _common import events, optional, peak_rss_mb, report, scratch, utcnow  # noqa: E402
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


MERGE_VARIANTS = ("lakehouse copy-on-write", "lakehouse merge-on-read", "deltalake")


def _merge_source(rows: int, changes: int, seed: int = 1) -> pa.Table:
    """`changes` rows with existing ids (random, distinct) and new amounts, then `changes` new rows."""
    rng = np.random.default_rng(seed)
    updates = events(rows).take(pa.array(np.sort(rng.choice(rows, changes, replace=False))))
    updates = updates.set_column(updates.schema.get_field_index("amount"), "amount",
                                 pa.array(rng.random(changes) * 1000.0))
    inserts = events(changes, seed=seed + 1)
    inserts = inserts.set_column(0, "id", pa.array(np.arange(rows, rows + changes, dtype=np.int64)))
    return pa.concat_tables([updates, inserts])


def _build_tables(root: str, rows: int, files: int) -> None:
    import lakehouse

    data = events(rows)
    step = -(-rows // files)
    t = lakehouse.create_table(f"file://{root}/lakehouse", schema=data.schema)
    for start in range(0, rows, step):
        t.append(data.slice(start, step))
    deltalake = optional("deltalake")
    if deltalake is not None:
        for i, start in enumerate(range(0, rows, step)):
            deltalake.write_deltalake(f"{root}/delta", data.slice(start, step), mode="append" if i else "overwrite")


def _child(variant: str, path: str, source_path: str) -> None:
    """One merge, timed, in this (fresh) process; prints seconds, peak RSS and row counts."""
    import duckdb  # noqa: F401  (imports are not part of the measured time)
    import lakehouse
    from deltalake import DeltaTable

    source = pq.read_table(source_path)
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    if variant == "deltalake":
        dt = DeltaTable(path)
        out = (dt.merge(source=source, predicate="target.id = source.id", source_alias="source",
                        target_alias="target")
               .when_matched_update_all().when_not_matched_insert_all().execute())
        counts = (out["num_target_rows_updated"], out["num_target_rows_inserted"])
    else:
        mode = variant.removeprefix("lakehouse ")
        m = (lakehouse.open_table(f"file://{path}").merge(source, on="id", mode=mode)
             .when_matched_update().when_not_matched_insert().execute())
        counts = (m.num_updated_rows, m.num_inserted_rows)
    seconds = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu0
    peak_mb = peak_rss_mb()
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak_mb, "counts": counts}))


def _cpu_seconds() -> float:
    """CPU time of this process, all threads (on a shared machine, steadier than wall time)."""
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run_child(variant: str, path: str, source_path: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, __file__, "--child", variant, path, source_path], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_merge(rows: int = 5_000_000, changes: int = 50_000, files: int = 40, repeat: int = 3) -> dict:
    """Merge `changes` updates + `changes` inserts into a `rows`-row table: median seconds and
    peak RSS (MB) per variant, each run in its own process on a fresh copy of the table."""
    variants = [v for v in MERGE_VARIANTS if v != "deltalake" or optional("deltalake") is not None]
    results: dict[str, list[dict]] = {v: [] for v in variants}
    with scratch("lh-bench-merge-") as root:
        _build_tables(root, rows, files)
        source_path = os.path.join(root, "source.parquet")
        pq.write_table(_merge_source(rows, changes), source_path)
        for r in range(repeat):
            for variant in variants[r % len(variants):] + variants[:r % len(variants)]:
                original = os.path.join(root, "delta" if variant == "deltalake" else "lakehouse")
                copy = os.path.join(root, "run")
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(original, copy)
                results[variant].append(_run_child(variant, copy, source_path))
    out = {}
    for variant, runs in results.items():
        counts = {tuple(r["counts"]) for r in runs}
        assert counts == {(changes, changes)}, f"{variant}: unexpected row counts {counts}"
        out[variant] = {"seconds": median(r["seconds"] for r in runs), "cpu_seconds": median(r["cpu_seconds"] for r in runs),
                        "peak_mb": median(r["peak_mb"] for r in runs)}
    return out


SECTIONS = ("dv-scan", "delete", "merge")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--merge-files", type=int, default=40)
    parser.add_argument("--changes", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run, of {', '.join(SECTIONS)} (default: all)")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    if not sections <= set(SECTIONS):
        parser.error(f"unknown sections {sorted(sections - set(SECTIONS))}; choose from {', '.join(SECTIONS)}")
    print(f"# bench_rowlevel {utcnow()} lakehouse {lakehouse.__version__}")
    if "dv-scan" in sections:
        print("## dv-scan: full scan with 1% of rows deleted by deletion vectors vs none")
        report(dv_scan(args.rows, args.files, args.repeat))
    if "delete" in sections:
        print("## delete: 1% of rows with deletion vectors vs copy-on-write vs deltalake")
        report(bench_delete(args.rows, args.files, max(1, min(args.repeat, 3))))
    if "merge" in sections:
        _report_merge(args)


def _report_merge(args: argparse.Namespace) -> None:
    print(f"## merge: {args.changes:,} updates + {args.changes:,} inserts, time and peak memory vs deltalake")
    merge = bench_merge(args.rows, args.changes, args.merge_files, max(1, min(args.repeat, 3)))
    base = merge.get("deltalake")
    rows = []
    for variant, r in merge.items():
        note = "" if base is None or variant == "deltalake" else \
            f"{r['seconds'] / base['seconds']:.2f}x deltalake's time, {r['peak_mb'] / base['peak_mb']:.2f}x its memory"
        rows.append((f"merge: {variant}", f"{r['seconds']:.2f} s {r['peak_mb']:.0f} MB", note))
        rows.append(("  CPU time, all threads", f"{r['cpu_seconds']:.2f} s", ""))
    report(rows)


if __name__ == "__main__":
    main()
