"""Put-if-absent, the one commit primitive (spec/format.md, "Atomic commits"), per filesystem.

Each strategy writes `data` at `path` only if nothing is there, atomically with respect to
every other writer using the same strategy, and returns False when the path already exists.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Protocol

from fsspec import AbstractFileSystem

from ..errors import AtomicCommitUnsupportedError


class PutIfAbsent(Protocol):
    name: str
    atomic: bool

    def __call__(self, fs: AbstractFileSystem, path: str, data: bytes) -> bool: ...


class LocalLink:
    """Local disk: write a private temp file, then hard-link it into place.

    `link(2)` fails with EEXIST if the target exists, atomically, which fsspec's own
    `mode="create"` (a check, then a write) does not give us.
    """

    name, atomic = "local-link", True

    def __init__(self, *, fsync: bool = False) -> None:
        self.fsync = fsync

    def __call__(self, fs: AbstractFileSystem, path: str, data: bytes) -> bool:
        directory, base = os.path.split(path)
        tmp = os.path.join(directory, f".{base}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self.fsync:
                    f.flush()
                    os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            if self.fsync:
                _fsync_dir(directory)
            return True
        finally:
            os.unlink(tmp)


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_MEMORY_LOCK = threading.Lock()


class MemoryLocked:
    """memory:// lives in one process: a process-wide lock makes check-then-write atomic."""

    name, atomic = "memory-lock", True

    def __call__(self, fs: AbstractFileSystem, path: str, data: bytes) -> bool:
        with _MEMORY_LOCK:
            if fs.exists(path):
                return False
            fs.pipe_file(path, data)
            return True


class ConditionalPut:
    """Object stores with conditional writes: s3fs sends `If-None-Match: *` for
    `mode="create"` and turns the 412 into FileExistsError."""

    name, atomic = "conditional-put", True

    def __call__(self, fs: AbstractFileSystem, path: str, data: bytes) -> bool:
        try:
            fs.pipe_file(path, data, mode="create")
        except FileExistsError:
            return False
        return True


class UnsafeCheckThenWrite:
    """Check, then write: correct only while a single writer commits. Opt-in only."""

    name, atomic = "unsafe-check-then-write", False

    def __call__(self, fs: AbstractFileSystem, path: str, data: bytes) -> bool:
        if fs.exists(path):
            return False
        fs.pipe_file(path, data)
        return True


def choose(fs: AbstractFileSystem, *, unsafe_single_writer: bool, conditional_put: bool | None,
           fsync: bool) -> PutIfAbsent:
    """The strongest put-if-absent this filesystem supports, or a clear refusal."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    if "file" in protocols or "local" in protocols:
        return LocalLink(fsync=fsync)
    if "memory" in protocols:
        return MemoryLocked()
    if ("s3" in protocols or "s3a" in protocols) and conditional_put is not False:
        return ConditionalPut()
    if unsafe_single_writer:
        return UnsafeCheckThenWrite()
    why = ("the store was declared without conditional writes (conditional_put=False)"
           if conditional_put is False else f"lakehouse knows no atomic put-if-absent for {protocols[0]}://")
    raise AtomicCommitUnsupportedError(
        f"{why}; concurrent writers could overwrite each other's commits. Pass "
        "unsafe_single_writer=True if exactly one process will ever write this table.")
