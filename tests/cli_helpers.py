"""Running `lh` in-process for tests: exit code and captured output, no pytest fixture needed
(so usable under hypothesis)."""

import contextlib
import io

from lakehouse.cli import main


def run_lh(*argv):
    """(exit code, stdout, stderr) of `lh argv`."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()
