"""The storage layer: every byte a table reads or writes goes through a Store.

A Store is rooted at a table's folder and speaks paths relative to it, so metadata never
holds an absolute path. It wraps one fsspec filesystem, picks that filesystem's atomic
put-if-absent, retries transient failures, and hands pyarrow a filesystem for Parquet I/O
(pyarrow's own for local disk and S3, so data files move in parallel outside the GIL).
Every error it raises is a StorageError (or FileNotFoundError / FileExistsError) whose
message has been stripped of credentials.
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, Mapping, NamedTuple, TypeVar

import fsspec
import pyarrow.fs as pafs
from fsspec import AbstractFileSystem

from ..errors import AtomicCommitUnsupportedError, InvalidArgumentError, StorageError, TableNotFoundError
from ..format.paths import check_relative_path
from . import commit_primitives
from .options import truthy
from .redact import redact
from .retry import RetryPolicy, is_store_error, with_retries

T = TypeVar("T")

# Keys of storage_options that configure lakehouse itself rather than the filesystem.
_OWN_OPTIONS = ("unsafe_single_writer", "conditional_put", "fsync", "max_io_retries")
_S3_SCHEMES = ("s3", "s3a")


class Listed(NamedTuple):
    """A file found by `Store.walk_files`: its path relative to the root, its size, and its
    modification time in seconds since the epoch (None when the store does not say)."""

    path: str
    size: int
    mtime: float | None


class Store:
    def __init__(self, fs: AbstractFileSystem, root: str, *, put_if_absent: commit_primitives.PutIfAbsent,
                 retry: RetryPolicy | None = None, uri: str | None = None,
                 arrow_fs: Callable[[], pafs.FileSystem | None] | None = None,
                 secrets: tuple[str, ...] = ()) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self._secrets = secrets
        self.uri = redact(uri or root)  # user-info only: secret values could collide with path names
        self._put_if_absent = put_if_absent
        self.retry = retry or RetryPolicy()
        self._arrow_fs: pafs.FileSystem | None = None
        self._durable_folders: set[str] = set()  # see commit_primitives.fsync_files
        self._make_arrow_fs = arrow_fs
        self._object_store = not isinstance(put_if_absent,
                                            (commit_primitives.LocalLink, commit_primitives.MemoryLocked))
        protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        self._is_s3 = bool({"s3", "s3a"} & set(protocols)) and hasattr(fs, "call_s3")

    def __repr__(self) -> str:
        return f"Store({self.uri!r}, commits={self._put_if_absent.name})"

    # ------------------------------------------------------------ construction
    @classmethod
    def from_uri(cls, uri: str, storage_options: Mapping[str, object] | None = None) -> "Store":
        options = dict(storage_options or {})
        own = {k: options.pop(k) for k in _OWN_OPTIONS if k in options}
        uri = _normalise_uri(uri)
        arrow_fs, secrets = None, ()
        if uri.split("://", 1)[0].lower() in _S3_SCHEMES:
            fs, root, own, arrow_fs, secrets = _open_s3(uri, options, own)
        else:
            try:
                fs, root = fsspec.core.url_to_fs(uri, **options)
            except (ImportError, ValueError, TypeError) as e:
                raise StorageError(f"cannot open a filesystem for {redact(uri)}: {redact(str(e))}") from None
        retry = RetryPolicy(max_attempts=_count(own["max_io_retries"])) if "max_io_retries" in own else RetryPolicy()
        try:
            put = commit_primitives.choose(
                fs, unsafe_single_writer=truthy(own.get("unsafe_single_writer", False), name="unsafe_single_writer"),
                conditional_put=None if own.get("conditional_put") is None
                else commit_primitives.parse_conditional_put(own["conditional_put"]),
                fsync=truthy(own.get("fsync", True), name="fsync"))  # durable unless opted out
        except AtomicCommitUnsupportedError as e:
            put = commit_primitives.Refused(e)  # reading is fine; the first commit raises this
        make_arrow = None if arrow_fs is None else (lambda: arrow_fs(max_attempts=retry.max_attempts))
        return cls(fs, root, put_if_absent=put, retry=retry, uri=uri, arrow_fs=make_arrow, secrets=secrets)

    @property
    def is_local(self) -> bool:
        return isinstance(self._put_if_absent, commit_primitives.LocalLink)

    @property
    def atomic_commits(self) -> bool:
        return self._put_if_absent.atomic

    def check_can_commit(self) -> None:
        """Raise AtomicCommitUnsupportedError now if a commit to this store would be refused
        (call it before writing data files, so a refused write leaves no orphans)."""
        if isinstance(self._put_if_absent, commit_primitives.Refused):
            raise AtomicCommitUnsupportedError(str(self._put_if_absent.error))

    # ------------------------------------------------------------ paths
    def full_path(self, rel: str) -> str:
        """The location of `rel` under the root. A path that could leave the root (`..`, absolute,
        a scheme, ...: spec/format.md, "Paths") is refused here too, before any I/O, whatever
        decoded it."""
        if not rel:
            return self.root
        return posixpath.join(self.root, check_relative_path(rel, f"table {self.uri}", data_file=False))

    # ------------------------------------------------------------ operations
    def _call(self, what: str, rel: str, fn: Callable[[], T]) -> T:
        try:
            return with_retries(fn, self.retry)
        except (NotADirectoryError, FileExistsError) as e:
            # A table's own files never collide with each other: a file where a folder should be
            # is most often the user's path naming a file. Say so without the internal path.
            self.check_not_a_file()
            if isinstance(e, FileExistsError):
                raise
            raise StorageError(f"{what} {self._show(rel)} failed: {self._redact(_describe(e))}") from None
        except (FileNotFoundError, StorageError):
            raise
        except Exception as e:  # noqa: BLE001 - only the store's own errors are wrapped
            if not is_store_error(e):
                raise
            raise StorageError(f"{what} {self._show(rel)} failed: {self._redact(_describe(e))}") from None

    def read_bytes(self, rel: str) -> bytes:
        """The file's bytes; FileNotFoundError if it is not there."""
        return self._call("reading", rel, lambda: self.fs.cat_file(self.full_path(rel)))

    def read_range(self, rel: str, start: int, length: int) -> bytes:
        """Up to `length` bytes of the file from byte `start` (fewer if the file ends first)."""
        return self._call("reading", rel, lambda: self.fs.cat_file(self.full_path(rel), start=start, end=start + length))

    def try_read_bytes(self, rel: str) -> bytes | None:
        try:
            return self.read_bytes(rel)
        except FileNotFoundError:
            return None

    def read_many(self, rels: Iterable[str]) -> list[bytes | None]:
        """Read several small files concurrently (None for each missing one): one batch on the
        filesystem's event loop for async stores (S3), in order for local disk and memory."""
        rels = list(rels)
        if len(rels) <= 1 or not self._object_store:
            return [self.try_read_bytes(r) for r in rels]
        if not getattr(self.fs, "async_impl", False):
            return list(_shared_pool().map(self.try_read_bytes, rels))
        paths = [self.full_path(r) for r in rels]
        got = self._call("reading", posixpath.dirname(rels[0]), lambda: self.fs.cat(paths, on_error="return"))
        out: list[bytes | None] = []
        for rel, path in zip(rels, paths, strict=True):
            value = got.get(path, got.get(self.fs._strip_protocol(path)))
            if isinstance(value, FileNotFoundError):
                out.append(None)
            elif isinstance(value, BaseException) or value is None:
                out.append(self.try_read_bytes(rel))  # this one alone, with retries (or its error)
            else:
                out.append(value)
        return out

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write (or replace) a whole file. Atomic on object stores and, via rename, on local disk."""
        path = self.full_path(rel)

        def write() -> None:
            if self.is_local:
                commit_primitives.write_replace(path, data, fsync=self.durable)
            else:
                if not self._object_store:
                    self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
                self.fs.pipe_file(path, data)
        self._call("writing", rel, write)

    def put_if_absent(self, rel: str, data: bytes) -> bool:
        """Create `rel` holding `data` unless it exists; True if this call created it.

        A request that failed transiently is retried: the retry is itself conditional, so if
        the first attempt landed after all the retry reports "exists", and the caller learns
        the outcome by reading the entry back (spec/format.md, "Unknown outcomes")."""
        path = self.full_path(rel)
        if self.is_local:
            commit_primitives.ensure_dir(posixpath.dirname(path), fsync=self.durable)
        return self._call("committing", rel, lambda: self._put_if_absent(self.fs, path, data))

    @property
    def durable(self) -> bool:
        """Local disk syncing what a commit depends on (the default; storage option fsync=False
        trades that for speed). Object stores and memory need no syncing."""
        return self.is_local and self._put_if_absent.fsync

    def sync_files(self, rels: Iterable[str]) -> None:
        """Make files written by others (pyarrow writes the data files) durable, with the folders
        holding them: before a log entry names them (spec/format.md, "Durability")."""
        if not self.durable:
            return
        rels = list(rels)
        paths = [self.full_path(rel) for rel in rels]
        if paths:
            self._call("syncing", rels[0],
                       lambda: commit_primitives.fsync_files(paths, self.root, self._durable_folders))

    def exists(self, rel: str) -> bool:
        return self._call("checking", rel, lambda: self.fs.exists(self.full_path(rel)))

    def list_names(self, rel_dir: str) -> list[str]:
        """Base names in a folder (empty if the folder does not exist)."""
        path = self.full_path(rel_dir)
        if self._is_s3:
            from . import s3
            try:
                return self._call("listing", rel_dir, lambda: s3.list_names(self.fs, path))
            except FileNotFoundError:  # S3 says so for a missing bucket only: a missing prefix lists empty
                bucket = path.strip("/").split("/", 1)[0]
                raise TableNotFoundError(f"no table at {self.uri}: the bucket {bucket!r} does not exist") from None
        try:
            entries = self._call("listing", rel_dir, lambda: self.fs.ls(path, detail=False))
        except FileNotFoundError:
            return []
        return sorted(posixpath.basename(e.rstrip("/")) for e in entries)

    def delete(self, rel: str) -> None:
        try:
            self._call("deleting", rel, lambda: self.fs.rm_file(self.full_path(rel)))
        except FileNotFoundError:
            pass

    def walk_files(self) -> Iterator[Listed]:
        """Every file under the root, streamed (never the whole listing in memory): one paginated
        flat listing on S3, a folder at a time elsewhere. Local disk never follows a symbolic link
        (a link is not listed), so nothing outside the root is ever reached through one."""
        if self.is_local:
            yield from _walk_local(self.root)
        elif self._is_s3:
            from . import s3
            for key, size, mtime in s3.walk_objects(self.fs, self.root, lambda fn: self._call("listing", "", fn)):
                yield Listed(key, size, mtime)
        else:
            prefix = self.fs._strip_protocol(self.root).rstrip("/") + "/"
            for _, _, files in self._call("listing", "", lambda: self.fs.walk(self.root, detail=True)):
                for info in files.values():
                    name = self.fs._strip_protocol(info["name"])
                    if name.startswith(prefix) and info.get("type", "file") == "file":
                        yield Listed(name[len(prefix):], int(info.get("size") or 0), _mtime(info))

    def delete_many(self, rels: Iterable[str]) -> None:
        """Delete files (missing ones are fine): S3 in bulk requests of 1000 keys, others one by one."""
        rels = list(rels)
        if self._is_s3:
            for i in range(0, len(rels), 1000):
                chunk = [self.full_path(r) for r in rels[i:i + 1000]]
                self._call("deleting", rels[i], lambda: self.fs.rm(chunk))
            return
        for rel in rels:
            self.delete(rel)

    def size(self, rel: str) -> int:
        return int(self._call("inspecting", rel, lambda: self.fs.size(self.full_path(rel))))

    # ------------------------------------------------------------ pyarrow
    @property
    def arrow_fs(self) -> pafs.FileSystem:
        """A pyarrow filesystem over the same store: native for local disk and S3 (parallel,
        outside the GIL), otherwise fsspec wrapped for pyarrow."""
        if self._arrow_fs is None:
            if self.is_local:
                self._arrow_fs = pafs.LocalFileSystem()
            else:
                native = self._make_arrow_fs() if self._make_arrow_fs is not None else None
                self._arrow_fs = native if native is not None else pafs.PyFileSystem(pafs.FSSpecHandler(self.fs))
        return self._arrow_fs

    def makedirs(self, rel_dir: str) -> None:
        if self._object_store:
            return  # object stores have no folders
        self._call("creating", rel_dir, lambda: self.fs.makedirs(self.full_path(rel_dir), exist_ok=True))

    def _show(self, rel: str) -> str:
        return self._redact(posixpath.join(self.uri.rstrip("/"), rel))

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    # ------------------------------------------------------------ no table here
    def no_table_error(self) -> TableNotFoundError:
        """Why there is no table at the root, in the user's terms (no internal paths): a file,
        a folder that holds no table, or nothing at all. Called once reading has failed."""
        self.check_not_a_file()
        try:
            folder = self.fs.isdir(self.root)
            names = self.list_names("") if folder else []
        except Exception:  # noqa: BLE001 - only the wording depends on it
            folder, names = False, []
        if names:
            return TableNotFoundError(f"{self.uri} is a folder but not a table: it has no lakehouse transaction "
                                      "log (create one there with lakehouse.create_table)")
        if folder:
            return TableNotFoundError(f"no table at {self.uri}: the folder is empty")
        return TableNotFoundError(f"no table at {self.uri}: nothing is there")

    def check_not_a_file(self) -> None:
        """TableNotFoundError if the root, or a folder above it, is a file (a data file's path, say)."""
        found = self._file_in_the_way()
        if found == self.root:
            raise TableNotFoundError(f"{self.uri} is a file, not a table folder; pass the table's folder")
        if found is not None:
            shown = self.uri[:len(self.uri) - len(self.root) + len(found)] if self.uri.endswith(self.root) else found
            raise TableNotFoundError(f"no table at {self.uri}: {self._redact(shown)} is a file, not a folder")

    def _file_in_the_way(self) -> str | None:
        """The root or the nearest path above it that is a file, if any. On an object store a key
        and a prefix may share a name, so only the root itself is looked at."""
        path = self.root
        for _ in range(1 if self._object_store else 256):
            try:
                if self.fs.isfile(path):
                    return path
            except Exception:  # noqa: BLE001 - undecided: the caller's own error stands
                return None
            parent = posixpath.dirname(path)
            if not parent or parent == path:
                return None
            path = parent
        return None


def _walk_local(root: str) -> Iterator[Listed]:
    for folder, _, names in os.walk(root, followlinks=False):
        for name in names:
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
            except FileNotFoundError:  # deleted since the folder was read
                continue
            if stat.S_ISREG(info.st_mode):  # not a link, socket, ...
                yield Listed(os.path.relpath(path, root).replace(os.sep, "/"), info.st_size, info.st_mtime)


def _mtime(info: Mapping) -> float | None:
    """Modification time (seconds) from an fsspec info dict; stores name it differently."""
    for key in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(key)
        if isinstance(value, dt.datetime):
            return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).timestamp()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _open_s3(uri: str, options: dict, own: dict):
    """s3fs for the log, pyarrow's S3 client (built on first use) for data files."""
    from . import s3

    config = s3.resolve(options)
    own = {**config.own, **own}
    try:
        fs = s3.filesystem(config)
    except ImportError:
        raise StorageError("s3:// tables need s3fs: pip install 'pylakehouse[s3]'") from None
    except (ValueError, TypeError) as e:
        raise StorageError(f"cannot open {redact(uri)}: {redact(str(e), config.secrets)}") from None
    root = fs._strip_protocol(uri)

    def arrow_fs(*, max_attempts: int) -> pafs.FileSystem | None:
        return s3.arrow_filesystem(config, root.split("/", 1)[0], max_attempts=max_attempts)
    return fs, root, own, arrow_fs, config.secrets


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="lakehouse-io")
        return _POOL



def _describe(e: BaseException) -> str:
    text = (e.strerror if isinstance(e, OSError) and e.strerror else str(e)) or type(e).__name__
    cause = e.__cause__
    code = getattr(cause, "response", {}).get("Error", {}).get("Code") if isinstance(
        getattr(cause, "response", None), dict) else None
    return f"{text} ({code})" if code and code not in text else text


def _count(value: object) -> int:
    try:
        count = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        count = -1
    if count < 1 or isinstance(value, bool) or (isinstance(value, float) and value != count):
        raise InvalidArgumentError(f"storage option max_io_retries={value!r} must be a whole number >= 1")
    return count


def _normalise_uri(uri: str) -> str:
    uri = os.fspath(uri) if isinstance(uri, os.PathLike) else uri
    if not isinstance(uri, str):
        raise InvalidArgumentError(f"the table URI must be a string or a path, not {type(uri).__name__} {uri!r}")
    if not uri.strip():  # "" would otherwise mean the current folder
        raise InvalidArgumentError("the table URI is empty")
    if "://" not in uri:
        return os.path.abspath(os.path.expanduser(uri))
    return uri
