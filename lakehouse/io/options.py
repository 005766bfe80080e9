"""Reading boolean storage options, which arrive as bools or as strings from env-style configs."""

from __future__ import annotations

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in TRUE_WORDS
    return bool(value)
