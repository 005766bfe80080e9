"""Issue 9 figures for row-level changes (delete, update, merge).

    PYTHONPATH=. python bench/bench_rowlevel.py [--rows 5000000] [--changes 50000] [--files 40] [--repeat 3]

`bench_merge`: merge `changes` updated rows (existing ids, new amounts) plus `changes` new rows
into a table of `rows` rows written as `files` data files, with lakehouse (copy-on-write and
merge-on-read) and deltalake (`when_matched_update_all` + `when_not_matched_insert_all`). Each
run happens in a fresh child process on a fresh copy of the table, so its time and peak RSS
(`resource.getrusage`, ru_maxrss) are its own; the figures are the medians over `--repeat` runs,
the variants interleaved. Run it from the repository root with PYTHONPATH=. (else the installed
lakehouse is measured).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(__file__))
from _common import events, optional, report, scratch, utcnow  # noqa: E402

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


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss, which a child
    started by fork + exec inherits from its parent's high-water mark."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(variant: str, path: str, source_path: str) -> None:
    """One merge, timed, in this (fresh) process; prints seconds, peak RSS and row counts."""
    import duckdb  # noqa: F401  (imports are not part of the measured time)
    import lakehouse
    from deltalake import DeltaTable

    source = pq.read_table(source_path)
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
    peak_mb = _peak_rss_mb()
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "counts": counts}))


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
        out[variant] = {"seconds": statistics.median(r["seconds"] for r in runs),
                        "peak_mb": statistics.median(r["peak_mb"] for r in runs)}
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--changes", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"# bench_rowlevel {utcnow()}  rows={args.rows:,} changes={args.changes:,}+{args.changes:,} "
          f"files={args.files} repeat={args.repeat}")
    merge = bench_merge(args.rows, args.changes, args.files, args.repeat)
    base = merge.get("deltalake")
    rows = []
    for variant, r in merge.items():
        note = "" if base is None or variant == "deltalake" else \
            f"{r['seconds'] / base['seconds']:.2f}x deltalake's time, {r['peak_mb'] / base['peak_mb']:.2f}x its memory"
        rows.append((f"merge: {variant}", f"{r['seconds']:.2f} s {r['peak_mb']:.0f} MB", note))
    report(rows)


if __name__ == "__main__":
    main()
