"""Shared fixtures: one table suite, run on every store (memory, local disk, S3).

S3 is moto's server on 127.0.0.1 and a free port, started once per test process when a test
first needs it, reset before every S3 test, and reached through the standard AWS environment
(set per test) so that `lakehouse.open_table("s3://...")` needs no storage options and no test
ever leaves the machine.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import urllib.request
import uuid
from dataclasses import dataclass

import pytest

_counter = itertools.count()

BUCKET = "lakehouse-tests"
KEY_ID = "AKIDLAKEHOUSETESTS"
SECRET = "lh-test-SECRET-5f0c1e"  # distinctive, so tests can assert it never leaks


@dataclass(frozen=True)
class MotoS3:
    endpoint: str
    bucket: str = BUCKET

    def reset(self) -> None:
        """Forget every bucket and object, then create the test bucket again."""
        _request("POST", f"{self.endpoint}/moto-api/reset")
        _request("PUT", f"{self.endpoint}/{self.bucket}")

    def uri(self, name: str = "table") -> str:
        return f"s3://{self.bucket}/{uuid.uuid4().hex}/{name}"

    @property
    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


def _request(method: str, url: str) -> None:
    req = urllib.request.Request(url, method=method, data=b"" if method in ("PUT", "POST") else None)
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()


def _atomic_conditional_puts() -> None:
    """moto checks If-None-Match and then writes, unlocked, while its server is threaded: two
    racing PUTs could both succeed there, never on S3. Serialise conditional PUTs so the race
    tests test lakehouse, not moto."""
    from moto.s3.responses import S3Response

    put_object = S3Response.put_object
    if getattr(put_object, "_lakehouse_atomic", False):
        return
    lock = threading.Lock()

    def atomic_put_object(self):
        if self.headers.get("If-None-Match") == "*":
            with lock:
                return put_object(self)
        return put_object(self)
    atomic_put_object._lakehouse_atomic = True
    S3Response.put_object = atomic_put_object


@pytest.fixture(scope="session")
def moto_server():
    """moto's S3 server on 127.0.0.1 (a free port), for this test process."""
    if os.environ.get("CI"):  # in CI a missing moto is a broken install, not a reason to skip S3
        import moto.server as moto_server_mod
    else:
        moto_server_mod = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _atomic_conditional_puts()
    server = moto_server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield MotoS3(endpoint=f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3(moto_server, monkeypatch, tmp_path) -> MotoS3:
    """A freshly reset S3 store, reached through the standard AWS environment."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_REGION",
                 "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in moto_server.env.items():
        monkeypatch.setenv(name, value)
    # No user config or credentials files: the tests see only what they set.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    moto_server.reset()
    return moto_server


@pytest.fixture(params=["memory", "local", pytest.param("s3", marks=pytest.mark.s3)])
def table_uri(request, tmp_path) -> str:
    """A fresh, empty table location on each store kind."""
    if request.param == "memory":
        return f"memory://tests/{uuid.uuid4().hex}/table"
    if request.param == "s3":
        return request.getfixturevalue("s3").uri()
    return str(tmp_path / f"table{next(_counter)}")


@pytest.fixture
def local_uri(tmp_path) -> str:
    return str(tmp_path / "table")
