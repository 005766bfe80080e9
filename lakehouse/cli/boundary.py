"""The one place where a failure becomes one line on stderr and an exit code.

Exit codes: 0 success, 1 the command failed, 2 the command line is wrong (click's convention),
130 interrupted. No traceback and no path inside the table's folder reaches the user unless
asked (`--debug` or LH_DEBUG=1 add the traceback, for bug reports); no secret reaches them at
all: the values of secret-looking storage options and the password of a URL are masked in every
message and traceback.
"""

from __future__ import annotations

import re
import sys
import traceback
from typing import Mapping

import click

from ..errors import LakehouseError
from .app import Run

USAGE = 2
FAILED = 1
INTERRUPTED = 130

# The extra that provides each optional package a store or command may import.
_EXTRAS = {"s3fs": "s3", "aiobotocore": "s3", "botocore": "s3", "pandas": "pandas", "polars": "polars"}


def describe(e: BaseException, run: Run) -> tuple[str, int]:
    """The one-line message and exit code for a failure of the run."""
    if isinstance(e, click.UsageError):
        where = e.ctx.command_path if e.ctx is not None else "lh"
        return f"{one_line(e.format_message()).rstrip('.')} (see '{where} --help')", USAGE
    if isinstance(e, click.Abort | KeyboardInterrupt):
        return "interrupted", INTERRUPTED
    if isinstance(e, click.ClickException):
        return one_line(e.format_message()), e.exit_code
    if isinstance(e, LakehouseError):
        return hide_internal_paths(one_line(str(e))), FAILED
    if isinstance(e, ImportError):
        return _missing_package(e), FAILED
    table = f"the table at {run.uri}" if run.uri else "the table"
    if isinstance(e, OSError):
        # The file name is left out on purpose: it is a path inside the table's folder.
        return f"cannot access {table}: {e.strerror or type(e).__name__}", FAILED
    return f"unexpected {type(e).__name__} while working on {table} (--debug shows the traceback)", FAILED


def report(e: BaseException, run: Run) -> int:
    """Print the failure (with --debug its traceback first) and return the exit code."""
    message, code = describe(e, run)
    if run.debug and not isinstance(e, click.ClickException | click.Abort):
        print(mask_secrets("".join(traceback.format_exception(e)), run.options), end="", file=sys.stderr)
    run.output.error(mask_secrets(message, run.options), kind=type(e).__name__)
    return code


def _missing_package(e: ImportError) -> str:
    name = (e.name or "").partition(".")[0]
    extra = _EXTRAS.get(name)
    hint = f": pip install 'pylakehouse[{extra}]'" if extra else ""
    return f"a required Python package is not installed ({name or e}){hint}"


def one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text.strip())


# A path into the table's own folder (`<table>/_lakehouse/log/...`): the library names the file
# it touched, but a shell user knows the table's URI, not the format's layout.
_INTERNAL = re.compile(r"(?<=\S)/_lakehouse(?:/[^\s'\",;:()]*)?")


def hide_internal_paths(text: str) -> str:
    """`reading s3://b/t/_lakehouse/log/0.json failed` -> `reading s3://b/t failed`.

    >>> hide_internal_paths("reading /data/t/_lakehouse/last_checkpoint.json failed: Not a directory")
    'reading /data/t failed: Not a directory'
    """
    return _INTERNAL.sub("", text)


# Storage options whose values are credentials (aws_secret_access_key, token, account_key, ...).
_SECRET_KEY = re.compile(r"secret|password|passwd|token|key|credential|session|signature|sas", re.I)
_URL_PASSWORD = re.compile(r"(?<=://)([^/@\s:]*):[^/@\s]+@")


def mask_secrets(text: str, options: Mapping[str, str]) -> str:
    """`text` with the values of secret storage options and URL passwords replaced by `***`.

    >>> mask_secrets("bad key wJalr/K7 for s3://u:pw@host/b", {"aws_secret_access_key": "wJalr/K7"})
    'bad key *** for s3://u:***@host/b'
    """
    for key, value in options.items():
        if value and _SECRET_KEY.search(key):
            text = text.replace(value, "***")
    return _URL_PASSWORD.sub(r"\1:***@", text)
