"""Issue 7 figures: very large predicates (a 100,000-value IN list, a 5,000-term OR chain) are
parsed, bound, planned and applied in well under a second.

    python bench/bench_predicates.py [--rows 1000000] [--repeat 3]

Each figure is the best of `--repeat` runs of `scan(where=...).count()` on a local table, beside
raw pyarrow filtering the same rows with `pc.is_in` (no parsing) in the same run.
"""

from __future__ import annotations

import argparse
import os
import sys

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
    print(f"# lakehouse {lakehouse.__version__}, pyarrow {pa.__version__}, {os.cpu_count()} cores, {utcnow()}")
    report(rows)


if __name__ == "__main__":
    main()
