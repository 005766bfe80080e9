"""Data file paths (spec/format.md, "Paths"): the rule that keeps a table inside its root.

A path in metadata comes from whoever wrote the table, so it is untrusted input: `../x`, `/etc/x`,
`s3://other-bucket/x` or `data/%2e%2e/x` would make a reader open (and vacuum delete) files
outside the table with the reader's own credentials. Every path is checked when the log entry or
checkpoint holding it is decoded, and again where it is joined to the root, and a bad one is
refused without touching storage, so the error cannot reveal whether the file exists.

The rule is one regular expression, valid for both Python's `re` and RE2 (pyarrow), so a
checkpoint's path column is checked in one vectorised pass. It matches what a path MUST NOT hold.
"""

from __future__ import annotations

import re
import unicodedata

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import CorruptTableError

# Hex escapes of RFC 3986 "unreserved" characters (letters, digits, - . _ ~): URL normalisers
# (yarl, HTTP servers) decode exactly these, so `%2e%2e` would become `..`. Escapes of reserved
# characters (`%2F`, `%25`, ...) are data, never decoded, and this library's own partition
# folder names are made of them (urllib's quote never escapes an unreserved character).
_UNRESERVED_ESCAPE = r"%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])"
_FORBIDDEN = "|".join((
    r"^$",  # empty
    r"^/|/$|//",  # absolute, trailing separator, empty segment
    r"(^|/)[. ]+(/|$)",  # `.`, `..`, and segments Windows trims to them (`...`, `.. `)
    # Control characters; `\` (a separator on Windows); `:` (a scheme, a drive letter, an NTFS
    # stream); `?` `#` (end a URL's path); `*` `[` `]` (fsspec's bulk calls expand globs).
    r"[\x00-\x1f\x7f-\x9f\\:?#*\[\]]",
    r"%([^0-9A-Fa-f]|[0-9A-Fa-f]([^0-9A-Fa-f]|$)|$)",  # a `%` that does not start an escape
    _UNRESERVED_ESCAPE,
))
# A data file is never under `_lakehouse/` (any case: some filesystems ignore it), so a hostile
# add/remove pair cannot make vacuum delete the log.
_FORBIDDEN_DATA = _FORBIDDEN + r"|^(?i:_lakehouse)(/|$)"
_BAD = re.compile(_FORBIDDEN)
_BAD_DATA = re.compile(_FORBIDDEN_DATA)
_RULE = "breaks the path rule (spec/format.md, \"Paths\"): a path is relative and stays inside the table"


def path_problem(path: object, *, data_file: bool = True) -> str | None:
    """Why `path` is not a valid relative (data file) path, or None if it is."""
    if not isinstance(path, str):
        return f"a path must be a string, not {type(path).__name__}"
    bad = _BAD_DATA if data_file else _BAD
    if bad.search(path):
        return f"path {path[:200]!r} {_RULE}"
    # Compatibility forms (fullwidth `．．／`, `：`) that a filesystem or codepage may fold.
    if not path.isascii() and bad.search(unicodedata.normalize("NFKC", path)):
        return f"path {path[:200]!r} {_RULE} (once NFKC-normalised)"
    return None


def check_relative_path(path: object, where: str = "", *, data_file: bool = True) -> str:
    """`path` if it is valid (spec/format.md, "Paths"), else CorruptTableError naming `where`
    it came from. `data_file=False` also allows the format's own files under `_lakehouse/`."""
    problem = path_problem(path, data_file=data_file)
    if problem is not None:
        raise CorruptTableError(f"{where}: {problem}" if where else problem)
    return path  # type: ignore[return-value]


def check_path_column(paths: pa.Array | pa.ChunkedArray, where: str) -> None:
    """Check a column of data file paths at once (a checkpoint's 100,000 rows in one pass)."""
    if paths.null_count:
        raise CorruptTableError(f"{where}: a path is null")
    bad = pc.match_substring_regex(paths, _FORBIDDEN_DATA)
    if not pc.all(pc.string_is_ascii(paths)).as_py():
        bad = pc.or_(bad, pc.match_substring_regex(pc.utf8_normalize(paths, "NFKC"), _FORBIDDEN_DATA))
    if pc.any(bad).as_py():
        first = pc.filter(paths, bad)[0].as_py()
        raise CorruptTableError(f"{where}: {path_problem(first) or f'path {first[:200]!r} is refused'}")
