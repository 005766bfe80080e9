"""Issue 4 figures: lakehouse vs deltalake on the same S3 API (moto's server on 127.0.0.1,
started by this script in its own process), in the same run: median commit latency of small
appends, bulk append throughput and full-scan throughput.

    python bench/bench_s3.py [--rows 1000000] [--small 200] [--repeat 3]

Both libraries get the very same storage options (deltalake's spelling, which lakehouse
accepts too). Ratios are deltalake time / lakehouse time: > 1 means lakehouse is faster.
moto is a Python server, so absolute figures measure moto as much as either client; the ratios
are what carries over.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
import uuid

import pyarrow as pa

sys.path.insert(0, os.path.dirname(__file__))
from _common import append_latencies, best_of, events, median_ms, optional, report, utcnow  # noqa: E402

import lakehouse  # noqa: E402

BUCKET = "bench"
_SERVER = """
import logging, sys
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
server.stop()
"""


class MotoProcess:
    """moto's S3 server on 127.0.0.1 and a free port, in a child process (so the server's
    Python does not compete with the client for one GIL)."""

    def __enter__(self) -> str:
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        port = int(self.proc.stdout.readline())
        endpoint = f"http://127.0.0.1:{port}"
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT", data=b"")).read()
        return endpoint

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def options(endpoint: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_REGION": "us-east-1", "aws_conditional_put": "etag"}


def uri(name: str) -> str:
    return f"s3://{BUCKET}/{name}-{uuid.uuid4().hex[:8]}"


def small_appends(opts: dict, n: int, out: list, deltalake) -> None:
    batch = events(10)
    t = lakehouse.create_table(uri("lh-small"), schema=batch.schema, storage_options=opts)
    lh = median_ms(append_latencies(t, batch, n))
    assert t.version == n
    out.append((f"commit latency, median of {n} appends x 10 rows, lakehouse", f"{lh:.2f} ms", ""))
    if deltalake is None:
        return
    path = uri("dl-small")
    deltalake.write_deltalake(path, batch, storage_options=opts)
    dt = deltalake.DeltaTable(path, storage_options=opts)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        deltalake.write_deltalake(dt, batch, mode="append")
        samples.append(time.perf_counter() - t0)
    assert dt.version() == n
    dl = median_ms(samples)
    out.append((f"commit latency, deltalake {deltalake.__version__}", f"{dl:.2f} ms",
                f"ratio {dl / lh:.2f}x (target >= 1)"))


def bulk(opts: dict, rows: int, repeat: int, out: list, deltalake) -> None:
    data = events(rows)
    mb = data.nbytes / 2**20

    def lh_write():
        t = lakehouse.create_table(uri("lh-bulk"), schema=data.schema, storage_options=opts)
        t.append(data)
        return t
    lh_w = best_of(lh_write, repeat)
    table_uri = lh_write().uri
    lh_r = best_of(lambda: lakehouse.open_table(table_uri, storage_options=opts).to_arrow(), repeat)
    assert lakehouse.open_table(table_uri, storage_options=opts).scan().count() == rows
    out.append((f"append {rows} rows ({mb:.0f} MiB in Arrow), lakehouse", f"{lh_w:.3f} s",
                f"{rows / lh_w / 1e6:.2f} M rows/s"))
    out.append(("full scan (open + to_arrow), lakehouse", f"{lh_r:.3f} s", f"{rows / lh_r / 1e6:.2f} M rows/s"))
    if deltalake is None:
        return
    props = deltalake.WriterProperties(compression="ZSTD")  # lakehouse's default codec, for a fair size

    def dl_write():
        path = uri("dl-bulk")
        deltalake.write_deltalake(path, data, storage_options=opts, writer_properties=props)
        return path
    dl_w = best_of(dl_write, repeat)
    path = dl_write()
    dl_r = best_of(lambda: deltalake.DeltaTable(path, storage_options=opts).to_pyarrow_table(), repeat)
    out.append((f"append, deltalake {deltalake.__version__}", f"{dl_w:.3f} s",
                f"{rows / dl_w / 1e6:.2f} M rows/s, ratio {dl_w / lh_w:.2f}x (target >= 1)"))
    out.append(("full scan, deltalake DeltaTable.to_pyarrow_table", f"{dl_r:.3f} s",
                f"{rows / dl_r / 1e6:.2f} M rows/s, ratio {dl_r / lh_r:.2f}x (target >= 1)"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-delta", action="store_true")
    args = parser.parse_args()
    deltalake = None if args.skip_delta else optional("deltalake")
    print(f"# lakehouse {lakehouse.__version__}, pyarrow {pa.__version__}, {os.cpu_count()} cores, {utcnow()}; "
          "S3 = moto server on 127.0.0.1 (own process)")
    out: list = []
    with MotoProcess() as endpoint:
        opts = options(endpoint)
        small_appends(opts, args.small, out, deltalake)
        bulk(opts, args.rows, args.repeat, out, deltalake)
    report(out)


if __name__ == "__main__":
    main()
