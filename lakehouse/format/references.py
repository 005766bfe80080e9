"""Which files a version references, and which files under `_lakehouse/` are the format's own
(spec/format.md, "Expiry and vacuum"): what vacuum must keep.

A retained version references its live data files and their deletion vectors' Puffin files;
its log entry references the change data files, change references' data files and positions
Puffin files of its `cdc` actions, and the files its adds name. Every path here was checked by
the path rule (section 1.1) when the entry or checkpoint holding it was decoded.

    >>> is_format_file("_lakehouse/log/00000000000000000003.json"), is_temp_file("_lakehouse/log/x.json")
    (True, False)
    >>> is_temp_file("_lakehouse/log/.00000000000000000003.json.0123456789abcdef0123456789abcdef.tmp")
    True
"""

from __future__ import annotations

import re
from typing import Iterator

import pyarrow.compute as pc

from .actions import AddCdcFile, AddFile
from .file_index import DV_COLUMN
from .log import CHECKPOINT_DIR, LAST_CHECKPOINT, LOG_DIR, META_DIR, LogEntry
from .state import TableState

_FORMAT_FILE = re.compile(rf"^(?:{LOG_DIR}/\d{{20}}\.json|{CHECKPOINT_DIR}/\d{{20}}\.checkpoint\.parquet"
                          rf"|{re.escape(LAST_CHECKPOINT)})$")
# What this library's local-disk writes leave if they die between creating and renaming
# (io/commit_primitives.py): `.<final name>.<uuid4 hex>.tmp` beside the final name.
_TEMP_FILE = re.compile(rf"^{META_DIR}/(?:.+/)?\.[^/]+\.[0-9a-f]{{32}}\.tmp$")


def is_format_file(rel: str) -> bool:
    """A log entry, checkpoint or the checkpoint hint: never deleted by vacuum (expiry removes
    entries and checkpoints, in an order that keeps the table readable)."""
    return _FORMAT_FILE.match(rel) is not None


def is_temp_file(rel: str) -> bool:
    """A temporary file a writer leaves under `_lakehouse/` when it fails between writing and
    renaming: vacuum deletes it once older than the retention."""
    return _TEMP_FILE.match(rel) is not None


def entry_references(entry: LogEntry) -> Iterator[str]:
    """The files entry `entry` names and a retained version may read: its adds (and their
    deletion vectors), its change data files, and its change references' files and positions."""
    for action in entry.actions:
        if isinstance(action, AddFile):
            yield action.path
            if action.deletion_vector is not None:
                yield action.deletion_vector.path
        elif isinstance(action, AddCdcFile):
            yield action.path
            if action.positions is not None:
                yield action.positions.path


def state_references(state: TableState) -> Iterator[str]:
    """The live data files of `state` and their deletion vectors' Puffin files."""
    index = state.file_index()
    yield from index["path"].to_pylist()
    if DV_COLUMN in index.column_names:
        dv_paths = pc.struct_field(index[DV_COLUMN], "path")
        yield from pc.unique(dv_paths.filter(dv_paths.is_valid())).to_pylist()
