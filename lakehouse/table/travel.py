"""The time travel arguments of the API: `version=` and `as_of=` (spec/format.md, "Time travel").

`as_of` names an instant, which the log compares with its commit times (milliseconds, UTC):

- an aware `datetime` (or pandas `Timestamp`) is that instant;
- a naive `datetime` is local time, as Python's own `datetime.timestamp()` reads it (so
  `datetime.now() - timedelta(hours=1)` means an hour ago), and as Spark and DuckDB read a
  timestamp without a zone in the session's zone;
- a `datetime.date` is midnight at the start of that day, local time (Delta's
  `TIMESTAMP AS OF '2024-03-01'`); for the table as it was at the end of a day, pass the next day;
- an ISO-8601 string follows the same rules: `"2024-03-01"` is a date, `"2024-03-01T12:00:00"`
  local time, `"2024-03-01T12:00:00Z"` or `"...+02:00"` that instant.

    >>> as_of_millis("1970-01-01T00:00:01.5Z")
    1500
    >>> as_of_millis(dt.datetime(1970, 1, 2, tzinfo=dt.timezone.utc))
    86400000
    >>> check_version(3)
    3
"""

from __future__ import annotations

import datetime as dt
import operator
from typing import Union

from ..errors import InvalidArgumentError, VersionNotFoundError

AsOf = Union[dt.datetime, dt.date, str]  # what `as_of=` accepts

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_AS_OF_KINDS = ("a datetime (naive means local time), a datetime.date (midnight local time) or an ISO-8601 "
                "string such as '2024-03-01', '2024-03-01T12:00:00' or '2024-03-01T12:00:00Z'")


def check_version(version: object) -> int | None:
    """`version` as an int (None stays None); InvalidArgumentError for anything but a whole number,
    VersionNotFoundError for a negative one."""
    if version is None:
        return None
    if isinstance(version, str):
        hint = f"version={int(version)}" if version.strip().isdigit() else f"as_of={version!r} for a time"
        raise InvalidArgumentError(f"version must be an int, not the string {version!r}; pass {hint}")
    try:
        if isinstance(version, bool):
            raise TypeError
        number = operator.index(version)  # int and numpy integers; not float, not bool
    except TypeError:
        raise InvalidArgumentError(
            f"version must be an int (a version number from history()), not {type(version).__name__} "
            f"{version!r}") from None
    if number < 0:
        raise VersionNotFoundError(f"version {number} does not exist: versions count up from 0 "
                                   "(for the one before the newest, pass table.version - 1)")
    return number


def check_travel(version: object, as_of: object) -> tuple[int | None, int | None]:
    """(version, as_of in ms) after checking both; at most one of them is given."""
    if version is not None and as_of is not None:
        raise InvalidArgumentError("pass version or as_of, not both")
    return check_version(version), as_of_millis(as_of)


def as_of_millis(as_of: object) -> int | None:
    """Milliseconds since the Unix epoch for an `as_of` value (rules in the module docstring),
    rounded down: a commit at or before `as_of` stays at or before it."""
    if as_of is None:
        return None
    if isinstance(as_of, str):
        as_of = _parse_iso(as_of)
    if isinstance(as_of, dt.datetime):
        return _millis(as_of)
    if isinstance(as_of, dt.date):
        return _millis(dt.datetime.combine(as_of, dt.time()))
    hint = ("; for seconds since the epoch pass datetime.fromtimestamp(seconds, timezone.utc)"
            if isinstance(as_of, (int, float)) and not isinstance(as_of, bool) else "")
    raise InvalidArgumentError(f"as_of must be {_AS_OF_KINDS}; got {type(as_of).__name__} {as_of!r}{hint}")


def _parse_iso(text: str) -> dt.date | dt.datetime:
    stripped = text.strip()
    try:
        if len(stripped) == 10:  # YYYY-MM-DD: a day, not the instant fromisoformat would make of it
            return dt.date.fromisoformat(stripped)
        return dt.datetime.fromisoformat(stripped)
    except ValueError:
        raise InvalidArgumentError(f"as_of={text!r} is not an ISO-8601 date or time; as_of must be "
                                   f"{_AS_OF_KINDS}") from None


def _millis(when: dt.datetime) -> int:
    # Rebuilt as a plain datetime with a fixed offset: subclasses (pandas' Timestamp) have their
    # own astimezone() and arithmetic.
    try:
        offset = when.utcoffset()
        plain = dt.datetime(when.year, when.month, when.day, when.hour, when.minute, when.second, when.microsecond,
                            fold=getattr(when, "fold", 0))  # fold: which of a repeated local hour
    except (TypeError, ValueError, AttributeError):  # pandas' NaT, say
        raise InvalidArgumentError(f"as_of={when!r} is not a time; as_of must be {_AS_OF_KINDS}") from None
    if offset is None:
        try:
            offset = plain.astimezone().utcoffset()  # a naive datetime is the caller's local time
        except (OverflowError, OSError, ValueError):
            offset = dt.timedelta(0)  # beyond the platform's clock: hours do not matter there
    return (plain.replace(tzinfo=dt.timezone(offset)) - _EPOCH) // dt.timedelta(milliseconds=1)  # exact
