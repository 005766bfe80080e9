"""parse_size: the one parser of byte sizes (API and `lh`)."""

import pytest
from hypothesis import given, strategies as st

from lakehouse.errors import InvalidArgumentError
from lakehouse.table.sizes import parse_size


@pytest.mark.parametrize("text, size", [
    ("128MiB", 128 * 2**20), ("128mib", 128 * 2**20), ("1.5GB", 1_500_000_000), ("1.5 GiB", 3 * 2**29),
    ("512k", 512 * 1024), ("10 kB", 10_000), ("4096", 4096), ("4096B", 4096), (" 2T ", 2 * 2**40),
    (".5K", 512), ("1.0001KiB", 1025), (7, 7),
])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "MiB", "12 parsecs", "-1MiB", "0", "0.0KB", "1e3", "nan", 0, -5, 1.5, True, None, "1,000"])
def test_refused(bad):
    with pytest.raises(InvalidArgumentError):
        parse_size(bad)


@given(st.integers(1, 2**50), st.sampled_from(["", "B", "KiB", "MiB", "GiB", "kB", "MB", "GB"]))
def test_whole_numbers_scale_by_their_unit(n, unit):
    factor = {"": 1, "B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "kB": 10**3, "MB": 10**6, "GB": 10**9}[unit]
    assert parse_size(f"{n}{unit}") == n * factor
