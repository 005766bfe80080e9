"""Issue 10 figures: compaction, Z-order and the layout for selective reads, beside deltalake
(and raw pyarrow) in one run.

Section "compact": `--files` small files of 1,000 rows each (10,000: 10M rows, one commit)
compacted by `Table.compact()` vs deltalake's `optimize.compact()`, both with their default
target sizes. Section "zorder": `--zorder-rows` rows (5M, in 10 files) Z-ordered on two columns,
`Table.compact(zorder_by=...)` vs `optimize.z_order(...)`, then a 1% range of one of them read
from each result. Each compaction runs in a fresh child process on a fresh copy of its table,
so its time and peak RSS (VmHWM) are its own; medians over `--runs` interleaved runs.

Section "scan": an unpartitioned table of `--scan-rows` rows (5M, one append): a selective scan
(a 1% range of the sorted `id`) with the layout defaults (row groups of at most 64Ki rows, page
index) vs the previous ones (1Mi-row groups, no page index), vs deltalake's DataFusion reader
(`QueryBuilder`, on a table deltalake wrote from the same rows) and vs raw pyarrow
(`pq.read_table(files, filters=...)` on the same files); then a full scan and the append of all
rows, new vs previous defaults. Medians of `--repeat` interleaved runs.

    PYTHONPATH=. python bench/bench_maintenance.py [--section all|compact|zorder|scan]
        [--scale 1.0] [--runs 3] [--repeat 9]

`--scale 0.02` makes a quick run (200 files, 100,000-row tables). Run it from the repository
root with PYTHONPATH=., or the installed lakehouse is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from statistics import median
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(__file__))
from _common import events, optional, peak_rss_mb, report, scratch, utcnow  # noqa: E402
from bench_read_order import interleaved  # noqa: E402

import lakehouse  # noqa: E402
from lakehouse.table.writer import WriteOptions, write_data_files  # noqa: E402

FILE_ROWS = 1_000
ZORDER_COLUMNS = ["user_id", "ts"]
ZORDER_FILES = 10
PREVIOUS_LAYOUT = {"write.parquet.row-group-rows": str(1024 * 1024), "write.parquet.page-index": "false"}
VARIANTS = ("lakehouse", "deltalake")


# ---------------------------------------------------------------- child processes

def _child(kind: str, variant: str, path: str) -> None:
    """One compaction (`kind` "compact" or "zorder"), timed in this fresh process; prints
    seconds, peak RSS, files removed/added and the rows the table holds after it."""
    import deltalake  # both libraries imported by every child: the same baseline memory

    zorder = kind == "zorder"
    t0 = time.perf_counter()
    if variant == "deltalake":
        dt = deltalake.DeltaTable(path)
        out = dt.optimize.z_order(ZORDER_COLUMNS) if zorder else dt.optimize.compact()
        files = (out["numFilesRemoved"], out["numFilesAdded"])
    else:
        m = lakehouse.open_table(path).compact(zorder_by=ZORDER_COLUMNS if zorder else None)
        files = (m.files_removed, m.files_added)
    seconds = time.perf_counter() - t0
    peak_mb = peak_rss_mb()
    if variant == "deltalake":
        rows = sum(deltalake.DeltaTable(path).get_add_actions(flatten=True).column("num_records").to_pylist())
    else:
        rows = lakehouse.open_table(path).scan().count()
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "files": files, "rows": rows}))


def _run_child(kind: str, variant: str, path: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, __file__, "--child", kind, variant, path], env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{kind} with {variant} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _compare_children(kind: str, sources: dict[str, str], runs: int, keep: str | None = None) -> dict[str, dict]:
    """Median seconds and peak MB of `kind` on a fresh copy of each variant's table, variants
    interleaved; with `keep`, the last run's copies stay at `keep`/<variant>."""
    results: dict[str, list[dict]] = {v: [] for v in sources}
    names = list(sources)
    for r in range(runs):
        for variant in names[r % len(names):] + names[:r % len(names)]:
            copy = f"{sources[variant]}-run"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(sources[variant], copy)
            results[variant].append(_run_child(kind, variant, copy))
            if keep is not None and r == runs - 1:
                shutil.rmtree(os.path.join(keep, variant), ignore_errors=True)
                os.replace(copy, os.path.join(keep, variant))
            else:
                shutil.rmtree(copy, ignore_errors=True)
    return {v: {"seconds": median(x["seconds"] for x in rs), "peak_mb": median(x["peak_mb"] for x in rs),
                "files": rs[-1]["files"], "rows": {x["rows"] for x in rs}} for v, rs in results.items()}


def _child_rows(kind: str, results: dict[str, dict], rows: int) -> list[tuple[str, str, str]]:
    out = []
    for variant, r in results.items():
        assert r["rows"] == {rows}, f"{kind} with {variant}: {r['rows']} rows after, expected {rows}"
        removed, added = r["files"]
        out.append((f"{kind}: {variant}", f"{r['seconds']:.2f} s {r['peak_mb']:.0f} MB",
                    f"{removed:,} files -> {added:,}"))
    if len(results) == 2:
        lh, dl = results["lakehouse"], results["deltalake"]
        time_ratio, memory_ratio = lh["seconds"] / dl["seconds"], lh["peak_mb"] / dl["peak_mb"]
        verdict = "PASS" if time_ratio <= 1 and memory_ratio <= 1 else "MISS"
        out.append((f"{kind}: lakehouse / deltalake", f"{time_ratio:.2f}x",
                    f"time; {memory_ratio:.2f}x peak memory (target <= 1x both: {verdict})"))
    return out


# ---------------------------------------------------------------- compact

def bench_compact(files: int, runs: int) -> list[tuple[str, str, str]]:
    data = events(files * FILE_ROWS)
    deltalake = optional("deltalake")
    with scratch("lh-bench-compact-") as root:
        sources = {"lakehouse": _small_files_lakehouse(os.path.join(root, "lakehouse"), data)}
        if deltalake is not None:
            sources["deltalake"] = _small_files_delta(os.path.join(root, "deltalake"), data, deltalake)
        results = _compare_children("compact", sources, runs)
    return _child_rows("compact", results, data.num_rows)


def _small_files_lakehouse(path: str, data: pa.Table) -> str:
    """FILE_ROWS-row data files written by the table's writer, added in one commit (as deltalake's)."""
    t = lakehouse.create_table(path, schema=data.schema)
    metadata = t.state.metadata
    options = WriteOptions.from_metadata(metadata)
    data = data.cast(metadata.schema.to_arrow())
    slices = [data.slice(start, FILE_ROWS) for start in range(0, data.num_rows, FILE_ROWS)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        written = pool.map(lambda part: write_data_files(t._store, part.to_batches(), metadata, options), slices)
        adds = [add for files in written for add in files]
    t._commit(t.state, "append", adds, parameters={})
    assert len(t.refresh().scan().files()) == len(slices)
    return path


def _small_files_delta(path: str, data: pa.Table, deltalake) -> str:
    """The same rows as FILE_ROWS-row Parquet files (zstd, as ours) made a Delta table in one commit."""
    os.makedirs(path)
    for i, start in enumerate(range(0, data.num_rows, FILE_ROWS)):
        pq.write_table(data.slice(start, FILE_ROWS), os.path.join(path, f"part-{i:06d}.parquet"), compression="zstd")
    deltalake.convert_to_deltalake(path)
    return path


# ---------------------------------------------------------------- zorder

def bench_zorder(rows: int, runs: int, repeat: int) -> list[tuple[str, str, str]]:
    data = events(rows)
    deltalake = optional("deltalake")
    step = -(-rows // ZORDER_FILES)
    with scratch("lh-bench-zorder-") as root:
        sources = {"lakehouse": os.path.join(root, "lakehouse")}
        t = lakehouse.create_table(sources["lakehouse"], schema=data.schema)
        for start in range(0, rows, step):
            t.append(data.slice(start, step))
        if deltalake is not None:
            sources["deltalake"] = os.path.join(root, "deltalake")
            for start in range(0, rows, step):
                deltalake.write_deltalake(sources["deltalake"], data.slice(start, step), mode="append")
        kept = os.path.join(root, "zordered")
        os.makedirs(kept)
        results = _compare_children("zorder", sources, runs, keep=kept)
        out = _child_rows(f"zorder on {', '.join(ZORDER_COLUMNS)}", results, rows)
        out += _zordered_scans(kept, list(sources), rows, repeat)
    return out


def _zordered_scans(root: str, variants: list[str], rows: int, repeat: int) -> list[tuple[str, str, str]]:
    """A 1% range of user_id (uniform in [0, 1M)) read from each Z-ordered table."""
    where = "user_id >= 500000 AND user_id < 510000"
    fns: dict[str, Callable[[], object]] = {}
    t = lakehouse.open_table(os.path.join(root, "lakehouse"))
    expected = t.scan(where=where).count()
    fns["lakehouse"] = lambda: t.scan(where=where).to_arrow()
    if "deltalake" in variants:
        fns["deltalake"] = _delta_query(os.path.join(root, "deltalake"), where)
        assert fns["deltalake"]().num_rows == expected
    ms = interleaved(fns, repeat)
    out = [(f"after zorder, 1% user_id range: {v}", f"{m:.1f} ms", f"{expected:,} of {rows:,} rows")
           for v, m in ms.items()]
    if "deltalake" in ms:
        out.append(("after zorder, lakehouse / deltalake", f"{ms['lakehouse'] / ms['deltalake']:.2f}x", ""))
    return out


def _delta_query(path: str, where: str | None) -> Callable[[], pa.Table]:
    """deltalake's DataFusion reader (QueryBuilder) running SELECT * [WHERE where] on the table at `path`."""
    import deltalake
    dt = deltalake.DeltaTable(path)
    sql = "SELECT * FROM t" + (f" WHERE {where}" if where else "")
    return lambda: pa.table(deltalake.QueryBuilder().register("t", dt).execute(sql))


# ---------------------------------------------------------------- scan

def bench_scan(rows: int, repeat: int) -> list[tuple[str, str, str]]:
    data = events(rows)
    lo = rows // 2
    hi = lo + rows // 100
    where = f"id >= {lo} AND id < {hi}"
    deltalake = optional("deltalake")
    with scratch("lh-bench-layout-") as root:
        tables = {}
        for name, props in (("new", {}), ("previous", PREVIOUS_LAYOUT)):
            tables[name] = lakehouse.create_table(os.path.join(root, name), schema=data.schema, properties=props)
            tables[name].append(data)
        files = {name: [t._store.full_path(f.path) for f in t.scan().files()] for name, t in tables.items()}
        selective: dict[str, Callable[[], object]] = {
            f"lakehouse, {name} layout": (lambda t=t: t.scan(where=where).to_arrow()) for name, t in tables.items()}
        for name, paths in files.items():
            selective[f"raw pyarrow, {name} layout"] = \
                lambda paths=paths: pq.read_table(paths, filters=[("id", ">=", lo), ("id", "<", hi)])
        full = {f"lakehouse, {name} layout": (lambda t=t: t.scan().to_arrow()) for name, t in tables.items()}
        full["raw pyarrow, new layout"] = lambda: pq.read_table(files["new"])
        if deltalake is not None:
            deltalake.write_deltalake(os.path.join(root, "delta"), data)
            name = f"deltalake {deltalake.__version__} QueryBuilder"  # its DataFusion reader
            selective[name] = _delta_query(os.path.join(root, "delta"), where)
            full[name] = _delta_query(os.path.join(root, "delta"), None)
        for fn in selective.values():
            assert fn().num_rows == hi - lo
        out = _timed_rows("selective scan (1% id range)", selective, repeat, f"{hi - lo:,} of {rows:,} rows",
                          name if deltalake is not None else None)
        out += _timed_rows("full scan", full, repeat, f"{rows:,} rows", "lakehouse, previous layout")
        out += _timed_rows("append", _appends(root, data), repeat, f"{rows:,} rows into a new table",
                           "lakehouse, previous layout")
    return out


def _appends(root: str, data: pa.Table) -> dict[str, Callable[[], object]]:
    def append(props: dict) -> Callable[[], object]:
        def run() -> None:
            path = os.path.join(root, "append")
            shutil.rmtree(path, ignore_errors=True)
            lakehouse.create_table(path, schema=data.schema, properties=props).append(data)
        return run
    return {"lakehouse, new layout": append({}), "lakehouse, previous layout": append(PREVIOUS_LAYOUT)}


def _timed_rows(what: str, fns: dict[str, Callable[[], object]], repeat: int, note: str,
                target: str | None) -> list[tuple[str, str, str]]:
    """Median times of `fns`, each beside the new layout's; the new layout must take at most
    the time of `target` (deltalake for selective scans, the previous layout for the rest)."""
    base = "lakehouse, new layout"
    ms = interleaved(fns, repeat)
    out = [(f"{what}: {name}", f"{m:.1f} ms", note if name == base else f"{base}: {ms[base] / m:.2f}x this time")
           for name, m in ms.items()]
    if target is not None:
        ratio = ms[base] / ms[target]
        verdict = "PASS" if ratio <= 1 else "MISS"
        out.append((f"{what}: new layout / {target}", f"{ratio:.2f}x", f"target <= 1x: {verdict}"))
    return out


# ---------------------------------------------------------------- main

def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--section", choices=["all", "compact", "zorder", "scan"], default="all")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every size (0.02: a quick run)")
    parser.add_argument("--runs", type=int, default=3, help="child-process runs per compaction variant")
    parser.add_argument("--repeat", type=int, default=9, help="interleaved rounds per scan figure")
    args = parser.parse_args()
    files, rows = max(2, int(10_000 * args.scale)), max(1_000, int(5_000_000 * args.scale))
    deltalake = optional("deltalake")
    print(f"# bench_maintenance {utcnow()} lakehouse {lakehouse.__version__}, pyarrow {pa.__version__}, "
          f"deltalake {deltalake.__version__ if deltalake else 'absent'}, {os.cpu_count()} cores")
    if args.section in ("all", "compact"):
        print(f"## compact: {files:,} files of {FILE_ROWS:,} rows, time and peak memory vs deltalake")
        report(bench_compact(files, args.runs))
    if args.section in ("all", "zorder"):
        print(f"## zorder: {rows:,} rows on {', '.join(ZORDER_COLUMNS)}, time and peak memory vs deltalake")
        report(bench_zorder(rows, args.runs, args.repeat))
    if args.section in ("all", "scan"):
        print(f"## scan: layout defaults vs previous ones, deltalake's DataFusion reader, raw pyarrow ({rows:,} rows)")
        report(bench_scan(rows, args.repeat))


if __name__ == "__main__":
    main()
