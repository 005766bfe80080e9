"""Reading boolean storage options, which arrive as bools or as strings from env-style configs."""

from __future__ import annotations

from ..errors import InvalidArgumentError

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def truthy(value: object, *, name: str) -> bool:
    """The option's boolean value; InvalidArgumentError for anything that is not clearly one
    (a typo such as "ture" must not silently mean False, e.g. turning durability off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise InvalidArgumentError(
        f"storage option {name}={value!r} is not a boolean: use one of "
        f"{', '.join(sorted(TRUE_WORDS))} or {', '.join(sorted(FALSE_WORDS))} (or a bool)")


def env_flag(value: str | None) -> bool:
    """An AWS-style environment flag: only a true word turns it on (as botocore reads it)."""
    return (value or "").strip().lower() in TRUE_WORDS
