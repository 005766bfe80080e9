"""Which integers a DOUBLE comparison holds for, when DuckDB compares in double precision.

DuckDB compares an integer or decimal column with a DOUBLE (a literal with an exponent, a cast to
DOUBLE, or an IN list or BETWEEN whose common type is DOUBLE) by rounding the column's value to
the nearest double (ties to even): `9007199254740993::BIGINT = 9007199254740992e0` holds. That
rounding is monotonic, so for a finite double d and values n / 10**scale (n an integer):

    double(x) >= d  <=>  n >= low        double(x) <= d  <=>  n <= high

and `double(x) = d` holds exactly for the integers [low, high] (none when low > high): the
comparison stays an exact comparison on the integers, and pruning by statistics stays sound.
"""

from __future__ import annotations

import math
import struct
from decimal import Decimal
from fractions import Fraction
from typing import Any

# Doubles beyond this magnitude lie outside every integer-backed domain (decimal256 stays below
# 10**76 < 2**253), so they compare as ±inf would; it also keeps math.nextafter finite.
BEYOND = 2.0 ** 300


def as_double(value: Any) -> float:
    """A number literal cast to DOUBLE: rounded once to nearest, ties to even (float() of an int
    or Decimal is correctly rounded); a finite value past float64's range becomes ±inf.

    >>> as_double(9007199254740993), as_double(Decimal("0.1"))
    (9007199254740992.0, 0.1)
    """
    try:
        return float(value)
    except OverflowError:
        return math.copysign(math.inf, value)


def double_bounds(d: float, scale: int) -> tuple[int, int]:
    """(low, high) for a finite double `d`, |d| <= BEYOND, in units of 10**-scale (above).

    The reals that round to d lie between d's midpoints with its two neighbours; a midpoint rounds
    to d when d's last mantissa bit is even (ties to even), so it is then included.

    >>> double_bounds(9007199254740992.0, 0)  # 2**53: both midpoints round to it
    (9007199254740992, 9007199254740993)
    >>> double_bounds(2.5, 0)  # no integer rounds to 2.5
    (3, 2)
    >>> double_bounds(0.1, 2)  # 0.10 is the one decimal(p, 2) rounding to 0.1e0
    (10, 10)
    """
    even = struct.unpack("<q", struct.pack("<d", d))[0] & 1 == 0
    exact, unit = Fraction(d), 10 ** scale
    low = (exact + Fraction(math.nextafter(d, -math.inf))) / 2 * unit
    high = (exact + Fraction(math.nextafter(d, math.inf))) / 2 * unit
    lo = math.ceil(low) if even or low.denominator != 1 else int(low) + 1
    hi = math.floor(high) if even or high.denominator != 1 else int(high) - 1
    return lo, hi
