"""Put-if-absent, the one commit primitive (spec/format.md, "Atomic commits"), per filesystem.

Each strategy writes `data` at `path` only if nothing is there, atomically with respect to
every other writer using the same strategy, and returns False when the path already exists.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from fsspec import AbstractFileSystem

from ..errors import AtomicCommitUnsupportedError
from .options import FALSE_WORDS, TRUE_WORDS


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

    def __init__(self, *, fsync: bool = True) -> None:
        self.fsync = fsync  # the entry and its folder reach the disk before the commit returns

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
                _fsync_path(directory)
            return True
        finally:
            os.unlink(tmp)


def ensure_dir(directory: str, *, fsync: bool) -> None:
    """Create `directory` and its missing parents; with `fsync`, each new folder's name is made
    durable by syncing its parent (a synced file in a folder that vanishes on power loss is lost)."""
    if os.path.isdir(directory):
        return
    parent = os.path.dirname(directory)
    if parent and parent != directory:
        ensure_dir(parent, fsync=fsync)
    try:
        os.mkdir(directory)
    except FileExistsError:
        pass  # a concurrent writer made it; syncing the parent again is cheap and makes sure
    if fsync:
        _fsync_path(parent)


def fsync_files(paths: list[str], root: str, durable_folders: set[str]) -> None:
    """fsync each file and the folder holding it (which gained its name), then the folders
    above up to `root` (a partition folder may be new), skipping those in `durable_folders`:
    folders synced once while their child existed, whose entries therefore stay durable (folders
    are never removed). The folders synced here are added to it. Syncs run in parallel: each
    waits on the disk, not the CPU, and the file system can fold them into fewer flushes."""
    present = [p for p in paths if os.path.exists(p)]  # a caller may commit files it did not write
    holders = {os.path.dirname(p) for p in present}
    above: set[str] = set()
    for folder in holders:
        while len(folder) > len(root) and (folder := os.path.dirname(folder)) not in durable_folders:
            above.add(folder)
    # Order among these does not matter (all finish before the log entry is put), so one round.
    list(_in_parallel(_fsync_path, [*present, *sorted(holders | above)]))
    durable_folders.update(above)


def _fsync_path(path: str) -> None:
    """fsync a file or a folder (opened read-only, as POSIX allows for both)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _in_parallel(fn, items: list) -> list:
    if len(items) <= 1:
        return [fn(x) for x in items]
    return list(_sync_pool().map(fn, items))


@functools.cache
def _sync_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="lakehouse-fsync")


def write_replace(path: str, data: bytes, *, fsync: bool) -> None:
    """Replace the file at `path` whole: a private temp file renamed over it (synced first with
    `fsync`, and its folder after, so a power cut leaves the old file or the new, never a torn one)."""
    directory = os.path.dirname(path)
    ensure_dir(directory, fsync=fsync)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if fsync:
        _fsync_path(directory)


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
    `mode="create"` and turns the 412 into FileExistsError.

    The entry always goes up in one PUT (s3fs would switch to a multipart upload above twice
    its chunk size), so it lands whole or not at all. Stores that answer 412 without naming
    the condition count as "exists" too; one that rejects the header (501) is refused.
    """

    name, atomic = "conditional-put", True
    MAX_SINGLE_PUT = 5 * 2**30  # S3's limit for one PUT

    def __init__(self) -> None:
        self._client_checked = False

    def __call__(self, fs: AbstractFileSystem, path: str, data: bytes) -> bool:
        if not self._client_checked:
            _require_if_none_match(fs)
            self._client_checked = True
        if len(data) >= self.MAX_SINGLE_PUT:
            raise AtomicCommitUnsupportedError(
                f"a log entry of {len(data)} bytes cannot be written with one conditional PUT (limit 5 GiB)")
        try:
            fs.pipe_file(path, data, mode="create", chunksize=self.MAX_SINGLE_PUT)
        except FileExistsError:
            return False
        except OSError as e:
            status = _http_status(e)
            if status == 412:
                return False
            if status == 501:
                raise AtomicCommitUnsupportedError(
                    "this S3-compatible store rejects conditional writes (If-None-Match: *), so commits "
                    "cannot be atomic. Use a store that supports them, or pass unsafe_single_writer=True "
                    "if exactly one process will ever write this table.") from None
            raise
        return True


def _require_if_none_match(fs: AbstractFileSystem) -> None:
    """s3fs silently drops request parameters its botocore does not know, so with a botocore
    older than 1.35.2 `mode="create"` would be an ordinary, overwriting PUT. Refuse instead."""
    client = getattr(fs, "s3", None)
    model = getattr(getattr(client, "meta", None), "service_model", None)
    if model is None:
        return  # not an s3fs client we can inspect; trust the filesystem's mode="create"
    if "IfNoneMatch" not in model.operation_model("PutObject").input_shape.members:
        import botocore
        raise AtomicCommitUnsupportedError(
            f"botocore {botocore.__version__} cannot send conditional writes (If-None-Match), so s3fs would "
            "overwrite log entries; lakehouse needs botocore>=1.35.2 (aiobotocore>=2.15)")


def _http_status(exc: BaseException) -> int | None:
    """The HTTP status of the botocore error behind an s3fs OSError, if any."""
    cause = exc.__cause__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


class Refused:
    """A store without atomic put-if-absent: reads work, every commit is refused."""

    name, atomic = "refused", False

    def __init__(self, error: AtomicCommitUnsupportedError) -> None:
        self.error = error

    def __call__(self, fs: AbstractFileSystem, path: str, data: bytes) -> bool:
        raise AtomicCommitUnsupportedError(str(self.error))


class UnsafeCheckThenWrite:
    """Check, then write: correct only while a single writer commits. Opt-in only."""

    name, atomic = "unsafe-check-then-write", False

    def __call__(self, fs: AbstractFileSystem, path: str, data: bytes) -> bool:
        if fs.exists(path):
            return False
        fs.pipe_file(path, data)
        return True


def parse_conditional_put(value: object) -> bool:
    """The `conditional_put` storage option: true (or deltalake's "etag") or false ("disabled")."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS | {"etag", "if-none-match"}:
        return True
    if text in FALSE_WORDS | {"disabled", "none"}:
        return False
    raise AtomicCommitUnsupportedError(
        f"conditional_put must be true/'etag' or false/'disabled', not {value!r}: lakehouse commits with "
        "conditional writes (If-None-Match: *) and needs no lock service")


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
