"""The `lh` command group, the options every command shares and the argument types.

The shared options (`--json`, `--debug`, `--option/-o`) are declared once, here, and attached to
the group and to every command registered with `@lh.command()`: so `lh --json info URI` and
`lh info URI --json` mean the same, for today's commands and for every command added later.
`open_table_at` is the one place a command's URI argument becomes a Table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any, Callable

import click

from .. import catalog
from .._version import __version__
from ..errors import InvalidArgumentError
from ..table import Table, open_table
from .output import JsonOutput, Output, TextOutput


@dataclasses.dataclass
class Run:
    """What one `lh` run was asked for. `main` creates it, the parsing fills it in, and the
    error boundary reads it (the table URI names the table in messages about storage failures)."""

    json: bool = False
    debug: bool = False
    options: dict[str, str] = dataclasses.field(default_factory=dict)
    uri: str | None = None

    @property
    def output(self) -> Output:
        return JsonOutput() if self.json else TextOutput()


class KeyValue(click.ParamType):
    """A storage option, KEY=VALUE."""

    name = "KEY=VALUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        key, sep, text = str(value).partition("=")
        if not sep or not key:
            self.fail(f"{value!r} is not KEY=VALUE", param, ctx)
        return key, text


class WholeNumber(click.ParamType):
    """A whole number at least `minimum`, written in ASCII digits (no sign, no exponent)."""

    name = "N"
    minimum = 0

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= self.minimum:
            return value
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()) or int(text) < self.minimum:
            kind = "positive" if self.minimum == 1 else "non-negative"
            self.fail(f"{value!r} is not a {kind} whole number", param, ctx)
        return int(text)


class PositiveInt(WholeNumber):
    """A whole number >= 1 (a count such as --limit)."""

    minimum = 1


class NonNegativeInt(WholeNumber):
    """A whole number >= 0 (a table version)."""


class Duration(click.ParamType):
    """A length of time: `7d`, `12h`, `30m`, `90s`, or several together (`1d12h`)."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.timedelta:
        if isinstance(value, dt.timedelta):
            return value
        try:
            return parse_duration(str(value))
        except InvalidArgumentError as e:
            self.fail(str(e), param, ctx)


class FileSize(click.ParamType):
    """A number of bytes: `134217728`, `128MiB`, `1.5GB` (parsed as the library parses sizes)."""

    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from ..table.sizes import parse_size  # the library's one size parser

        try:
            return parse_size(value)
        except InvalidArgumentError as e:
            self.fail(str(e), param, ctx)


class Columns(click.ParamType):
    """Column names separated by commas: `ts,user_id DESC` (each kept as written, spaces trimmed)."""

    name = "COL,..."

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        names = tuple(part.strip() for part in str(value).split(","))
        if not all(names):
            self.fail(f"{value!r} is not a list of column names separated by commas", param, ctx)
        return names


_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(\d+)([dhms])")


def parse_duration(text: str) -> dt.timedelta:
    """`"7d"`, `"12h"`, `"30m"`, `"90s"`, or parts together (`"1d12h"`) as a timedelta; anything
    else (a bare number, an unknown unit, a sign) is InvalidArgumentError.

    >>> parse_duration("7d"), parse_duration("1h30m")
    (datetime.timedelta(days=7), datetime.timedelta(seconds=5400))
    """
    text = text.strip()
    parts = _DURATION.findall(text)
    if not text.isascii() or not parts or "".join(n + u for n, u in parts) != text:
        raise InvalidArgumentError(f"{text!r} is not a duration such as 7d, 12h, 30m or 90s")
    return dt.timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))


def open_table_at(run: Run, uri: str) -> Table:
    """The table a command's URI argument names (the one place a URI becomes a Table): a URI or a
    path as it is, `ns.table` a table of the default catalog."""
    return open_table(catalog.resolve(uri, run.options or None), storage_options=run.options or None)


def _shared_options() -> list[click.Parameter]:
    # Fresh objects for each command: click parameters are not meant to be shared between commands.
    return [
        click.Option(["--json", "json_"], is_flag=True, default=False,
                     help="Print JSON for scripts (a failure: {\"error\", \"type\"} on stderr)."),
        click.Option(["--debug"], is_flag=True, default=False,
                     help="On a failure, also print the traceback (for bug reports)."),
        click.Option(["--option", "-o", "options"], type=KeyValue(), multiple=True,
                     help="A storage option (repeatable), e.g. -o endpoint_url=http://127.0.0.1:9000."),
    ]


def _merge_shared(ctx: click.Context) -> None:
    """Fold this context's shared options into the run (the command's own after the group's)."""
    run: Run = ctx.ensure_object(Run)
    run.json = ctx.params.pop("json_") or run.json
    run.debug = ctx.params.pop("debug") or run.debug
    run.options.update(ctx.params.pop("options"))


class LhCommand(click.Command):
    """A command that also accepts the shared options after its name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_shared_options())

    def invoke(self, ctx: click.Context) -> Any:
        _merge_shared(ctx)
        return super().invoke(ctx)


class LhGroup(click.Group):
    command_class = LhCommand

    def invoke(self, ctx: click.Context) -> Any:
        _merge_shared(ctx)
        return super().invoke(ctx)


def _remember_uri(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    ctx.ensure_object(Run).uri = value
    return value


def table_uri(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The URI argument of a command that works on one table."""
    return click.argument("uri", callback=_remember_uri)(fn)


@click.group(cls=LhGroup, params=_shared_options(), context_settings={"help_option_names": ["-h", "--help"]},
             epilog="\b\nExamples:\n  lh info ./warehouse/events\n  lh vacuum s3://bucket/events --json\n"
                    "  lh compact --help             (each command's options and examples)")
@click.version_option(__version__, "--version", prog_name="lh", message="%(prog)s (pylakehouse) %(version)s")
def lh() -> None:
    """Inspect and maintain lakehouse tables.

    URI is a table's folder: a local path, s3://bucket/path, memory://... . Storage credentials
    and endpoints come from the standard environment (AWS_* variables for S3) or from
    -o/--option KEY=VALUE; they are never printed.

    --json, --debug and -o go before or after the command. Exit codes: 0 success, 1 the command
    failed (one line on stderr; with --json the JSON object {"error": ..., "type": ...}),
    2 the command line is wrong, 130 interrupted. --debug (or LH_DEBUG=1) adds the traceback.
    Durations are written 7d, 12h, 30m, 90s; sizes 128MiB, 1.5GB or a number of bytes.
    """


def examples(*lines: str) -> str:
    """A command's epilog: its examples, kept as written (`\\b` stops click re-wrapping them)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)
