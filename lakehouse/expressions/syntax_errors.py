"""Why a `where` string does not parse, in the user's terms.

sqlglot's errors name its own classes ("Required keyword: 'expression' missing for <class
'sqlglot.expressions.core.GT'>"); a user needs the operator, what it lacks and where:

    >>> from lakehouse.expressions.parser import parse
    >>> parse("x > 1 AND y =")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    lakehouse.errors.InvalidExpressionError: cannot parse ... '=' needs a value on each side, but the text ends after it
    >>> describe("x = 'abc", ValueError("the tokenizer's error"))
    "the quote ' at column 5 is never closed"
"""

from __future__ import annotations

import re

_OPERATORS = {
    "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<=", "EQ": "=", "NEQ": "!=", "NullSafeEQ": "<=>",
    "And": "AND", "Or": "OR", "Xor": "XOR", "Like": "LIKE", "ILike": "ILIKE", "Is": "IS", "In": "IN",
    "Escape": "ESCAPE", "Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Mod": "%", "DPipe": "||",
}
_MISSING = re.compile(r"Required keyword: '(\w+)' missing for <class '[\w.]*?(\w+)'>")
_INTERNALS = re.compile(r"<class [^>]*>|sqlglot|\x1b\[[0-9;]*m", re.I)


def describe(where: str, error: BaseException) -> str:
    """What is wrong with `where`, given the error parsing it raised; never an internal name."""
    details = getattr(error, "errors", None)
    if details and isinstance(details[0], dict):
        return _explain(where, details[0])
    unclosed = _unclosed_quote(where)  # the tokenizer's errors say only "Error tokenizing"
    if unclosed is not None:
        quote, column = unclosed
        return f"the quote {quote} at column {column} is never closed"
    return "it is not a SQL expression"


def _explain(where: str, detail: dict) -> str:
    text = str(detail.get("description") or "")
    token = str(detail.get("highlight") or "")
    at = _position(detail, token)
    at_end = not str(detail.get("end_context") or "").strip() and where.rstrip().endswith(token)
    place = ", but the text ends after it" if at_end else f" ({at})"
    missing = _MISSING.search(text)
    if missing:
        kind = missing.group(2)
        if kind == "Between":
            return f"BETWEEN needs 'low AND high'{place}"
        if kind == "Not":
            return f"NOT needs a condition after it{place}"
        op = _OPERATORS.get(kind)
        return f"{op!r} needs a value on each side{place}" if op else f"the expression is incomplete{place}"
    if text.startswith("Expecting )"):
        return "a '(' is never closed" if at_end else f"expected ')' {at}"
    if "Unexpected token" in text or "Invalid expression" in text:
        return f"unexpected {token!r} {at}" if token else f"unexpected text {at}"
    clean = _INTERNALS.sub("", text).strip(" .:")
    return f"{clean} ({at})" if clean else f"it is not a SQL expression ({at})"


def _position(detail: dict, token: str) -> str:
    """'at column N' where the offending token starts (and the line, for text over several lines)."""
    line, col = detail.get("line"), detail.get("col")
    if not isinstance(col, int):
        return "in it"
    start = max(1, col - len(token) + 1)
    return f"at column {start}" if line in (None, 1) else f"at line {line}, column {start}"


def _unclosed_quote(text: str) -> tuple[str, int] | None:
    """The quote character and 1-based column of a string or quoted name left open, if any
    (a quote is escaped by doubling it, as in SQL)."""
    open_at, quote, i = None, "", 0
    while i < len(text):
        ch = text[i]
        if open_at is None:
            if ch in "'\"`":
                open_at, quote = i, ch
        elif ch == quote:
            if text[i + 1:i + 2] == quote:
                i += 1  # a doubled quote inside the string
            else:
                open_at = None
        i += 1
    return None if open_at is None else (quote, open_at + 1)
