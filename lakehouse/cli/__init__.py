"""`lh`: inspect and maintain lakehouse tables from the shell.

    lh info URI | history URI | files URI | schema URI | scan URI     (inspect)
    lh compact | vacuum | expire | checkpoint | restore | tag | tags URI   (maintain)
    lh --version

Every command accepts `--json` (JSON for scripts, errors as `{"error": ...}` on stderr),
`--debug` (a failure's traceback) and repeated `-o/--option KEY=VALUE` storage options, before
or after the command's name. Credentials come from the standard environment (AWS_* variables
for S3) or from the options; they are never printed. Layout: `app` (the group, the shared
options, argument types and `open_table_at`), `inspect` and `maintain` (the commands: parse,
call the library, hand values to the output), `output` (text and JSON rendering, progress),
`boundary` (failures to one line and an exit code).
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

import click

from . import catalog_commands, inspect, maintain, sql  # noqa: F401 - registers the commands on the group
from .app import Run, lh
from .boundary import FAILED, USAGE, report

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run `lh` with `argv` (default: the process's arguments); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    run = Run()
    try:
        code = lh.main(args, prog_name="lh", standalone_mode=False, obj=run)
    except click.exceptions.NoArgsIsHelpError as e:
        print(e.format_message(), file=sys.stderr)  # plain `lh`: the help, as a usage error
        return USAGE
    except SystemExit as e:  # click's own exit on a closed pipe (`lh history URI | head`)
        return e.code if isinstance(e.code, int) else FAILED
    except BaseException as e:  # noqa: BLE001 - this is the error boundary
        # A usage error can stop parsing before --json is read: look for it in the arguments.
        options = args[:args.index("--")] if "--" in args else args
        run.json = run.json or "--json" in options
        run.debug = run.debug or "--debug" in options or bool(os.environ.get("LH_DEBUG"))
        return report(e, run)
    return code if isinstance(code, int) else 0

