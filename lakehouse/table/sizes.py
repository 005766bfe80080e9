"""Byte sizes as people write them: `parse_size("128MiB")` (one parser for the API and `lh`)."""

from __future__ import annotations

import math
import re

from ..errors import InvalidArgumentError

# Decimal (kB, MB, ...) and binary (KiB, MiB, ...) units, as `numfmt` and humanfriendly read them;
# a bare "K"/"M"/"G" is binary, as in `du -h` and Parquet tooling.
_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*")


def parse_size(size: int | str) -> int:
    """A size in bytes from an int or a string such as "128MiB", "1.5GB", "512k" or "1000".

    Binary units (KiB, MiB, GiB, TiB, and bare K, M, G, T) are powers of 1024, decimal ones (kB,
    MB, GB, TB) powers of 1000; case does not matter. The result is a positive whole number of
    bytes (fractions round up); anything else is InvalidArgumentError.

    >>> parse_size("128MiB"), parse_size("1.5GB"), parse_size(4096), parse_size("2 k")
    (134217728, 1500000000, 4096, 2048)
    >>> parse_size("0")
    Traceback (most recent call last):
    lakehouse.errors.InvalidArgumentError: a size must be positive, not '0'
    """
    if isinstance(size, bool) or not isinstance(size, (int, str)):
        raise InvalidArgumentError(f"a size is a number of bytes or a string such as '128MiB', not {size!r}")
    if isinstance(size, int):
        value = size
    else:
        match = _SIZE.fullmatch(size)
        unit = _UNITS.get(match.group(2).lower()) if match else None
        if unit is None:
            raise InvalidArgumentError(f"not a size: {size!r} (examples: '128MiB', '1.5GB', '4096')")
        value = math.ceil(float(match.group(1)) * unit)
    if value <= 0:
        raise InvalidArgumentError(f"a size must be positive, not {size!r}")
    return value
