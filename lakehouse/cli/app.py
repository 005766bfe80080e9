"""The `lh` command group and the options every command shares.

The shared options (`--json`, `--option/-o`) are declared once, here, and attached to the group
and to every command registered with `@lh.command()`: so `lh --json info URI` and
`lh info URI --json` mean the same, for today's commands and for every command added later.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import click

from .._version import __version__
from .output import JsonOutput, Output, TextOutput


@dataclasses.dataclass
class Run:
    """What one `lh` run was asked for. `main` creates it, the parsing fills it in, and the
    error boundary reads it (the table URI names the table in messages about storage failures)."""

    json: bool = False
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


class PositiveInt(click.ParamType):
    """A whole number >= 1 (a count such as --limit)."""

    name = "N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            self.fail(f"{value!r} is not a positive whole number", param, ctx)
        return int(text)


def _shared_options() -> list[click.Parameter]:
    # Fresh objects for each command: click parameters are not meant to be shared between commands.
    return [
        click.Option(["--json", "json_"], is_flag=True, default=False, help="Print JSON for scripts."),
        click.Option(["--option", "-o", "options"], type=KeyValue(), multiple=True,
                     help="A storage option (repeatable), e.g. -o endpoint_url=http://127.0.0.1:9000."),
    ]


def _merge_shared(ctx: click.Context) -> None:
    """Fold this context's shared options into the run (the command's own after the group's)."""
    run: Run = ctx.ensure_object(Run)
    run.json = ctx.params.pop("json_") or run.json
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


@click.group(cls=LhGroup, params=_shared_options(),
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="lh", message="%(prog)s (pylakehouse) %(version)s")
def lh() -> None:
    """Inspect and maintain lakehouse tables.

    Storage credentials and endpoints come from the standard environment (AWS_* variables for
    S3) or from --option KEY=VALUE; they are never printed.
    """
