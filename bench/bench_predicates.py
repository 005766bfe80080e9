"""Issue 7 figures: very large predicates (a 100,000-value IN list, a 5,000-term OR chain) are
parsed, bound, planned and applied in well under a second. Issue 8: comparisons on a float
column (1% NaN) under DuckDB's NaN rules, beside raw pyarrow's IEEE kernels on the same rows.

    python bench/bench_predicates.py [--rows 1000000] [--repeat 3]

Each figure is the best of `--repeat` runs of `scan(where=...).count()` on a local table, beside
raw pyarrow filtering the same rows with `pc.is_in` (no parsing) in the same run.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import lakehouse

sys.path.insert(0, os.path.dirname(__file__))
from _common import best_of, report, scratch, utcnow  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = pa.table({"id": pa.array(range(args.rows), pa.int64())})
    cases = {
        "IN list of 100,000 values": ("id IN (" + ", ".join(str(i * 7) for i in range(100_000)) + ")",
                                      [i * 7 for i in range(100_000)]),
        "OR chain of 5,000 terms": (" OR ".join(f"id = {i * 11}" for i in range(5_000)),
                                    [i * 11 for i in range(5_000)]),
    }
    rows = []
    with scratch("bench-predicates") as directory:
        table = lakehouse.create_table(os.path.join(directory, "t"), schema=data.schema)
        table.append(data)
        for name, (where, values) in cases.items():
            expected = pc.sum(pc.is_in(data["id"], pa.array(values, pa.int64()))).as_py()
            assert table.scan(where=where).count() == expected
            ours = best_of(lambda: table.scan(where=where).to_arrow(), args.repeat)
            raw = best_of(lambda: data.filter(pc.is_in(data["id"], pa.array(values, pa.int64()))), args.repeat)
            rows.append((f"{name}: lakehouse scan (parse, bind, plan, read)", f"{ours:.3f} s",
                         f"raw pyarrow is_in filter {raw:.3f} s"))
    rows += _float_rows(args)
    print(f"# lakehouse {lakehouse.__version__}, pyarrow {pa.__version__}, {os.cpu_count()} cores, {utcnow()}")
    report(rows)


def _float_rows(args) -> list[tuple[str, str, str]]:
    """`x > v`, `x < v`, `NOT (x < v)`, `x = 'NaN'`, an IN list on a float64 column of `--rows`
    rows, 1% NaN: each filter against the raw pyarrow kernel (IEEE: it does not keep NaN rows)."""
    rng = np.random.default_rng(0)
    x = rng.random(args.rows)
    x[rng.random(args.rows) < 0.01] = np.nan
    data = pa.table({"x": pa.array(x)})
    cases = {
        "x > 0.5": lambda: pc.greater(data["x"], 0.5),
        "x < 0.5": lambda: pc.less(data["x"], 0.5),
        "NOT (x < 0.5)": lambda: pc.invert(pc.less(data["x"], 0.5)),
        "x = 'NaN'": lambda: pc.is_nan(data["x"]),
        "x IN (0.25, 0.5, 'NaN')": lambda: pc.is_in(data["x"], pa.array([0.25, 0.5, np.nan])),
    }
    rows = []
    with scratch("bench-predicates-float") as directory:
        table = lakehouse.create_table(os.path.join(directory, "t"), schema=data.schema)
        table.append(data)
        for where, kernel in cases.items():
            ours = best_of(lambda: table.scan(where=where).to_arrow(), args.repeat)
            raw = best_of(lambda: data.filter(kernel()), args.repeat)
            n = table.scan(where=where).count()
            rows.append((f"float64 {where} ({n:,} rows): lakehouse scan", f"{ours:.3f} s",
                         f"raw pyarrow kernel filter {raw:.3f} s"))
    return rows


if __name__ == "__main__":
    main()
