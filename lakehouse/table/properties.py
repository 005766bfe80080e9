"""Table properties that choose how row-level changes are written (spec/format.md, "Table
properties"): the write modes of delete/update/merge and the isolation level; and the durations
that keep expiry and vacuum safe.

Values a user sets are checked (InvalidArgumentError). Values already in a table's log, which
another writer may have put there, are never an error: an unrecognised one reads as the choice
that is always correct (copy-on-write; serializable isolation).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal, Mapping

from ..errors import InvalidArgumentError
from ..format.actions import DELETION_VECTORS, Protocol, TableMetadata

WriteMode = Literal["copy-on-write", "merge-on-read"]
COPY_ON_WRITE, MERGE_ON_READ = "copy-on-write", "merge-on-read"
WRITE_MODES = (COPY_ON_WRITE, MERGE_ON_READ)
MODE_KEYS = {"delete": "write.delete.mode", "update": "write.update.mode", "merge": "write.merge.mode"}
ISOLATION_LEVEL = "isolation-level"
WRITE_SERIALIZABLE, SERIALIZABLE = "write-serializable", "serializable"
ISOLATION_LEVELS = (WRITE_SERIALIZABLE, SERIALIZABLE)

_CHOICES = {**{key: WRITE_MODES for key in MODE_KEYS.values()}, ISOLATION_LEVEL: ISOLATION_LEVELS}

# Durations (spec/format.md, "Table properties"): a whole number and a unit, "168h", "7d", "30m".
VACUUM_RETENTION_MINIMUM = ("vacuum.retention.minimum", "168h")
EXPIRE_MAX_AGE = ("history.expire.max-age", "168h")
_DURATION_KEYS = (VACUUM_RETENTION_MINIMUM[0], EXPIRE_MAX_AGE[0])
_DURATION = re.compile(r"^\s*(\d{1,12})\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def check_properties(properties: Mapping[str, Any] | None) -> dict[str, str]:
    """`properties` as strings, with the values of the keys above checked."""
    if properties is None:
        return {}
    if not isinstance(properties, Mapping):
        raise InvalidArgumentError(f"properties must be a dict of str to str, not {type(properties).__name__}")
    out = {}
    for key, value in properties.items():
        if not isinstance(key, str):
            raise InvalidArgumentError(f"property names are strings, not {key!r}")
        text = str(value)
        if key in _DURATION_KEYS and parse_duration(text) is None:
            raise InvalidArgumentError(f"property {key!r} must be a duration such as '168h', '7d' or '30m', "
                                       f"not {value!r}")
        choices = _CHOICES.get(key)
        if choices is not None and text not in choices:
            raise InvalidArgumentError(
                f"property {key!r} must be one of {', '.join(map(repr, choices))}, not {value!r}")
        out[key] = text
    return out


def write_mode(metadata: TableMetadata, operation: str, override: str | None = None) -> str:
    """The mode `operation` ("delete", "update", "merge") writes with: `override` if given
    (checked), else the table's property, else copy-on-write."""
    if override is not None:
        if override not in WRITE_MODES:
            raise InvalidArgumentError(f"mode must be one of {', '.join(map(repr, WRITE_MODES))} (or None for "
                                       f"the table's {MODE_KEYS[operation]!r}), not {override!r}")
        return override
    value = metadata.properties.get(MODE_KEYS[operation])
    return MERGE_ON_READ if value == MERGE_ON_READ else COPY_ON_WRITE


def parse_duration(text: str) -> dt.timedelta | None:
    """A duration property's value ("168h", "7d", "30m", "90s", "500ms"), or None if malformed.

    >>> parse_duration("7d"), parse_duration("1.5h")
    (datetime.timedelta(days=7), None)
    """
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def duration_setting(metadata: TableMetadata, key: tuple[str, str]) -> dt.timedelta:
    """A duration property of the table; a value another writer left that does not parse reads as
    the default (both of these are safety margins, and the default is the documented one)."""
    value = parse_duration(metadata.properties.get(key[0], key[1]))
    return value if value is not None else parse_duration(key[1])  # type: ignore[return-value]


def isolation_level(metadata: TableMetadata) -> str:
    value = metadata.properties.get(ISOLATION_LEVEL)
    return WRITE_SERIALIZABLE if value in (None, WRITE_SERIALIZABLE) else SERIALIZABLE


def wants_deletion_vectors(properties: Mapping[str, str]) -> bool:
    return any(properties.get(key) == MERGE_ON_READ for key in MODE_KEYS.values())


def with_deletion_vectors(protocol: Protocol) -> Protocol | None:
    """`protocol` plus the deletion_vectors feature (reader and writer), or None if it has it."""
    if DELETION_VECTORS in protocol.reader_features and DELETION_VECTORS in protocol.writer_features:
        return None
    return Protocol(reader_version=protocol.reader_version, writer_version=protocol.writer_version,
                    reader_features=_plus(protocol.reader_features), writer_features=_plus(protocol.writer_features))


def _plus(features: tuple[str, ...]) -> tuple[str, ...]:
    return features if DELETION_VECTORS in features else (*features, DELETION_VECTORS)
