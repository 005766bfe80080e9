"""Shared fixtures: one table suite, run on every store (memory, local disk; S3 via moto in tests/io)."""

from __future__ import annotations

import itertools
import uuid

import pytest

_counter = itertools.count()


@pytest.fixture(params=["memory", "local"])
def table_uri(request, tmp_path) -> str:
    """A fresh, empty table location on each store kind."""
    if request.param == "memory":
        return f"memory://tests/{uuid.uuid4().hex}/table"
    return str(tmp_path / f"table{next(_counter)}")


@pytest.fixture
def local_uri(tmp_path) -> str:
    return str(tmp_path / "table")
