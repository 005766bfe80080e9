"""How `lh` prints: every command hands records, rows and data to an Output, for people (text,
drawn with rich) or scripts (JSON). Nothing else in the CLI formats or prints.

Values carry their meaning in their type so each Output can render them: `Size` (bytes: text
`1.2 GiB`, JSON the number), `datetime` (text `2024-03-01 12:00:00 UTC`, JSON ISO-8601),
`timedelta` (text `7d`, JSON seconds). Progress bars go to stderr, only on a terminal.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import io
import os
import sys
from typing import Any, Callable, Iterator, Mapping, Sequence, TextIO

import orjson
import pyarrow as pa
from rich import box
from rich.console import Console
from rich.filesize import pick_unit_and_suffix
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import InvalidArgumentError

ProgressBar = Callable[[int, int], None]  # (done, total)
ProgressCount = Callable[[str, int], None]  # (phase, count so far)


class Size(int):
    """A number of bytes (rendered `1.2 GiB` for people, as the number for scripts)."""


class Output:
    """Where a command's results go: `record` for one object, `rows` for a table, `data` for a
    scan's rows in a file format, `error` for the one-line failure (`kind` is the error's class
    name, for scripts), `note` for a remark on stderr; `progress`/`activity` for long work."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout  # looked up late, so redirection after start-up works

    def record(self, title: str, fields: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def rows(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, footer: str | None = None) -> None:
        raise NotImplementedError

    def error(self, message: str, *, kind: str) -> None:
        raise NotImplementedError

    def note(self, message: str) -> None:
        """A remark for people, on stderr (scripts reading stdout never see it)."""

    @contextlib.contextmanager
    def progress(self, description: str) -> Iterator[ProgressBar]:
        """A callback `(done, total)` that advances a bar while the block runs."""
        yield lambda done, total: None

    @contextlib.contextmanager
    def activity(self, description: str) -> Iterator[ProgressCount]:
        """A callback `(phase, count)` for work of unknown length (a spinner and a count)."""
        yield lambda phase, count: None


class TextOutput(Output):

    def record(self, title: str, fields: Mapping[str, Any]) -> None:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        for key, value in fields.items():
            grid.add_row(key, escape(_text(value, multiline=True)))
        console = self._console()
        console.print(escape(title), style="bold", soft_wrap=True)
        console.print(grid)

    def rows(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, footer: str | None = None) -> None:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
        for c in columns:
            table.add_column(escape(c), overflow="fold", justify="right" if _numeric(rows, columns, c) else "left")
        for row in rows:
            table.add_row(*(escape(_text(v)) for v in row))
        console = self._console()
        console.print(table)
        if footer:
            console.print(escape(footer))

    def error(self, message: str, *, kind: str) -> None:
        print(f"error: {message}", file=sys.stderr)

    def note(self, message: str) -> None:
        print(message, file=sys.stderr)

    @contextlib.contextmanager
    def progress(self, description: str) -> Iterator[ProgressBar]:
        with self._progress(BarColumn(), MofNCompleteColumn()) as bar:
            if bar is None:
                yield lambda done, total: None
                return
            task = bar.add_task(description, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)

    @contextlib.contextmanager
    def activity(self, description: str) -> Iterator[ProgressCount]:
        with self._progress(TextColumn("{task.fields[phase]}"), TextColumn("{task.completed:,}")) as bar:
            if bar is None:
                yield lambda phase, count: None
                return
            task = bar.add_task(description, total=None, phase="")
            yield lambda phase, count: bar.update(task, completed=count, phase=phase)

    @contextlib.contextmanager
    def _progress(self, *columns: Any) -> Iterator[Progress | None]:
        console = Console(file=sys.stderr)
        if not console.is_terminal:  # a log file or a pipe gets the result, not the animation
            yield None
            return
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), *columns, TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            yield bar

    def _console(self) -> Console:
        # A pipe or file gets lines as long as they need to be (no wrapping at 80 columns).
        stream = self.stream
        terminal = hasattr(stream, "isatty") and stream.isatty()
        return Console(file=stream, width=None if terminal else 100_000, soft_wrap=False,
                       highlight=False, emoji=False, force_jupyter=False)


class JsonOutput(Output):

    def record(self, title: str, fields: Mapping[str, Any]) -> None:
        self._dump(dict(fields))

    def rows(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, footer: str | None = None) -> None:
        self._dump([dict(zip(columns, r)) for r in rows])

    def error(self, message: str, *, kind: str) -> None:
        print(orjson.dumps({"error": message, "type": kind}).decode(), file=sys.stderr)

    def _dump(self, obj: Any) -> None:
        print(orjson.dumps(obj, default=_json_default, option=orjson.OPT_INDENT_2).decode(), file=self.stream)


# ---------------------------------------------------------------- scan data in a file format
DATA_FORMATS = ("table", "csv", "json", "parquet")


def write_data(reader: pa.RecordBatchReader, fmt: str, path: str | None) -> int:
    """Stream `reader` as csv, json (one JSON array of objects) or parquet to the file at `path`
    (written beside it, then renamed into place, so a failed scan leaves no half file) or to
    stdout; return the rows written. Memory stays at one batch."""
    nested = [f"{f.name} ({f.type})" for f in reader.schema if pa.types.is_nested(f.type)]
    if fmt == "csv" and nested:
        raise InvalidArgumentError(f"CSV cannot hold the nested column {nested[0]}: "
                                   "use --format json or parquet, or --columns without it")
    if path is None:
        sys.stdout.flush()
        return _write(reader, fmt, getattr(sys.stdout, "buffer", None) or _TextSink(sys.stdout))
    partial = f"{path}.partial"
    try:
        with open(partial, "wb") as sink:
            rows = _write(reader, fmt, sink)
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
    return rows


def _write(reader: pa.RecordBatchReader, fmt: str, sink: Any) -> int:
    rows = 0
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetWriter(sink, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
    elif fmt == "csv":
        import pyarrow.csv as pacsv

        with pacsv.CSVWriter(sink, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
    else:  # json: one array, written batch by batch
        sink.write(b"[")
        for batch in reader:
            for record in batch.to_pylist():
                sink.write((b",\n" if rows else b"\n") + orjson.dumps(record, default=_json_default))
                rows += 1
        sink.write(b"\n]\n" if rows else b"]\n")
    sink.flush()
    return rows


class _TextSink(io.RawIOBase):
    """Bytes written to a text stream that has no binary buffer (a notebook's or a test's stdout)."""

    def __init__(self, text: TextIO) -> None:
        super().__init__()
        self._text, self._decoder = text, codecs.getincrementaldecoder("utf-8")()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._text.write(self._decoder.decode(bytes(data)))
        return len(data)


# ---------------------------------------------------------------- values
def format_size(n: int) -> str:
    """Bytes for people, in powers of 1024.

    >>> format_size(512), format_size(1288490189), format_size(0)
    ('512 bytes', '1.2 GiB', '0 bytes')
    """
    unit, suffix = pick_unit_and_suffix(n, ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"], 1024)
    return f"{n:,} bytes" if unit == 1 else f"{n / unit:,.1f} {suffix}"


def format_duration(d: dt.timedelta) -> str:
    """A timedelta as `lh` reads durations (whole seconds), largest units first.

    >>> [format_duration(dt.timedelta(seconds=s)) for s in (7 * 86400, 5400, 0)]
    ['7d', '1h30m', '0s']
    """
    seconds, parts = int(d.total_seconds()), []
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= length:
            parts.append(f"{seconds // length}{unit}")
            seconds %= length
    return sign + ("".join(parts) or "0s")


def _text(value: Any, *, multiline: bool = False) -> str:
    if isinstance(value, Size):
        return format_size(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and value.utcoffset() == dt.timedelta(0):
            return value.strftime("%Y-%m-%d %H:%M:%S UTC")
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.timedelta):
        return format_duration(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items()) or "-"
    if isinstance(value, (list, tuple)):
        return ("\n" if multiline else ", ").join(_text(v) for v in value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, bytes):
        return value.hex()
    return "-" if value is None else str(value)


def _numeric(rows: Sequence[Sequence[Any]], columns: Sequence[str], column: str) -> bool:
    i = list(columns).index(column)
    values = [r[i] for r in rows if r[i] is not None]
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.timedelta):  # seconds, a whole number when it is one
        seconds = value.total_seconds()
        return int(seconds) if seconds.is_integer() else seconds
    if isinstance(value, bytes):
        return value.hex()
    return str(value)  # Decimal, and anything else a library hands back
