"""How `lh` prints: every command hands records to an Output, for people (text) or scripts (json)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any, Mapping, Sequence, TextIO

import orjson


class Output:
    """Where a command's results go: `record` for one object, `rows` for a table, `error` for
    the one-line failure (`kind` is the error's class name, for scripts)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout  # looked up late, so redirection after start-up works


class TextOutput(Output):

    def record(self, title: str, fields: Mapping[str, Any]) -> None:
        print(title, file=self.stream)
        width = max((len(k) for k in fields), default=0)
        for key, value in fields.items():
            print(f"  {key:<{width}}  {_text(value)}", file=self.stream)

    def rows(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        cells = [[_text(v) for v in row] for row in rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(), file=self.stream)
        for r in cells:
            print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip(), file=self.stream)

    def error(self, message: str, *, kind: str) -> None:
        print(f"error: {message}", file=sys.stderr)


class JsonOutput(Output):

    def record(self, title: str, fields: Mapping[str, Any]) -> None:
        self._dump(dict(fields))

    def rows(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._dump([dict(zip(columns, r)) for r in rows])

    def error(self, message: str, *, kind: str) -> None:
        print(orjson.dumps({"error": message, "type": kind}).decode(), file=sys.stderr)

    def _dump(self, obj: Any) -> None:
        print(orjson.dumps(obj, default=str, option=orjson.OPT_INDENT_2).decode(), file=self.stream)


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items()) or "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value) or "-"
    return "-" if value is None else str(value)
