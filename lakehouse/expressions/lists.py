"""Long IN lists, read without sqlglot's per-element cost.

sqlglot tokenizes and parses in pure Python, some 20-40 µs per list element: a 100,000-value
`x IN (...)` took seconds. `extract_lists` finds every long list of plain literals (numbers,
optionally negated, and '...' strings) outside strings, quoted names and comments, replaces it
by one placeholder and decodes its values with the parser's own rules; sqlglot then parses a
short text. The parser takes the values back from the placeholder (`values_of`), and parses the
original text instead when a placeholder does not come back exactly as an IN list (text this
scan misread, such as a dollar-quoted string), so the result never differs from sqlglot's.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Callable

from sqlglot import exp

__all__ = ["MIN_ITEMS", "extract_lists", "restore_lists", "values_of"]

MIN_ITEMS = 64  # shorter lists cost sqlglot little
_PREFIX = "__lakehouse_in_list_"
# Atomic and unambiguous: a list that fails to match late must not backtrack into its items
# (`\d+\.?\d*` could split "64" two ways, and 65 such items 2**65 ways).
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_ITEM = rf"(?>-\s*{_NUMBER}|{_NUMBER}|'(?:[^']|'')*')"
_SCAN = re.compile(
    r"(?P<skip>'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/)"
    rf"|(?<![\w$])(?P<list>[iI][nN]\s*\(\s*(?P<items>{_ITEM}(?>\s*,\s*{_ITEM}){{{MIN_ITEMS - 1},}})\s*\))",
    re.S)
_ITEMS = re.compile(rf"\s*({_ITEM})\s*(?:,|$)")


def extract_lists(text: str, number: Callable[[str], Any]) -> tuple[str, dict[str, tuple[Any, ...]]]:
    """`text` with its long literal IN lists replaced by placeholders, and their values by
    placeholder name. `number` decodes a number's text as the parser does."""
    if _PREFIX in text:
        return text, {}
    out, lists, last = [], {}, 0
    for m in _SCAN.finditer(text):
        if m.group("list") is None:
            continue
        name = f"{_PREFIX}{len(lists)}"
        lists[name] = tuple(_value(item, number) for item in _ITEMS.findall(m.group("items")))
        out.append(text[last:m.start()] + f"IN (${name})")
        last = m.end()
    return "".join(out) + text[last:], lists


def _value(item: str, number: Callable[[str], Any]) -> Any:
    if item[0] == "'":
        return item[1:-1].replace("''", "'")
    if item[0] == "-":
        value = number(item[1:].strip())
        return value.copy_negate() if isinstance(value, Decimal) else -value  # exact, as the parser
    return number(item)


def restore_lists(node: exp.Expression, lists: dict[str, tuple[Any, ...]]) -> bool:
    """Attach each list's values to its placeholder (`meta["values"]`); False unless every
    placeholder is exactly the whole list of an IN."""
    if not lists:
        return True
    seen = set()
    for p in node.find_all(exp.Placeholder):
        name = str(p.this or "")
        if not name.startswith(_PREFIX):
            continue
        parent = p.parent
        if name not in lists or name in seen or not isinstance(parent, exp.In) or parent.expressions != [p]:
            return False
        seen.add(name)
        p.meta["values"] = lists[name]
    return seen == set(lists)


def values_of(node: exp.In) -> tuple[Any, ...] | None:
    """The values `restore_lists` attached to this IN's placeholder, if it has one."""
    items = node.expressions
    if len(items) == 1 and isinstance(items[0], exp.Placeholder) and "values" in items[0].meta:
        return items[0].meta["values"]
    return None
