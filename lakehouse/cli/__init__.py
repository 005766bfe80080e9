"""`lh`: inspect and maintain lakehouse tables from the shell.

    lh info URI                   the table's version, schema, partitioning, files and rows
    lh history URI [--limit N]    commits, newest first
    lh --version

Every command accepts `--json` (JSON for scripts, errors as `{"error": ...}` on stderr) and
repeated `-o/--option KEY=VALUE` storage options, before or after the command's name.
Credentials come from the standard environment (AWS_* variables for S3) or from the options;
they are never printed. Layout: `app` (the group and the shared options), `commands`,
`output` (text and JSON rendering), `boundary` (failures to one line and an exit code).
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

import click

from . import commands  # noqa: F401 - registers the commands on the group
from . import catalog_commands  # noqa: F401 - registers `lh catalog ...`
from . import sql  # noqa: F401 - registers `lh sql`
from .app import Run, lh
from .boundary import FAILED, USAGE, describe

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
        if os.environ.get("LH_DEBUG"):
            raise
        message, code = describe(e, run)
        # A usage error can stop parsing before --json is read: look for it in the arguments.
        options = args[:args.index("--")] if "--" in args else args
        run.json = run.json or "--json" in options
        run.output.error(message, kind=type(e).__name__)
        return code
    return code if isinstance(code, int) else 0

