"""The storage layer: every byte a table reads or writes goes through a Store.

A Store is rooted at a table's folder and speaks paths relative to it, so metadata never
holds an absolute path. It wraps one fsspec filesystem, picks that filesystem's atomic
put-if-absent, retries transient failures, and hands pyarrow a filesystem for Parquet I/O.
"""

from __future__ import annotations

import os
import posixpath
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Mapping, TypeVar

import fsspec
import pyarrow.fs as pafs
from fsspec import AbstractFileSystem

from ..errors import StorageError, TableNotFoundError
from . import commit_primitives
from .retry import RetryPolicy, with_retries

T = TypeVar("T")

# Keys of storage_options that configure lakehouse itself rather than the filesystem.
_OWN_OPTIONS = ("unsafe_single_writer", "conditional_put", "fsync", "max_io_retries")


class Store:
    def __init__(self, fs: AbstractFileSystem, root: str, *, put_if_absent: commit_primitives.PutIfAbsent,
                 retry: RetryPolicy | None = None, uri: str | None = None) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.uri = uri or root
        self._put_if_absent = put_if_absent
        self.retry = retry or RetryPolicy()
        self._arrow_fs: pafs.FileSystem | None = None

    # ------------------------------------------------------------ construction
    @classmethod
    def from_uri(cls, uri: str, storage_options: Mapping[str, object] | None = None) -> "Store":
        options = dict(storage_options or {})
        own = {k: options.pop(k) for k in _OWN_OPTIONS if k in options}
        uri = _normalise_uri(uri)
        try:
            fs, root = fsspec.core.url_to_fs(uri, **options)
        except (ImportError, ValueError) as e:
            raise StorageError(f"cannot open a filesystem for {_redact(uri)}: {e}") from None
        put = commit_primitives.choose(
            fs, unsafe_single_writer=bool(own.get("unsafe_single_writer", False)),
            conditional_put=own.get("conditional_put"), fsync=bool(own.get("fsync", False)))
        retry = RetryPolicy(max_attempts=int(own["max_io_retries"])) if "max_io_retries" in own else RetryPolicy()
        return cls(fs, root, put_if_absent=put, retry=retry, uri=uri)

    @property
    def is_local(self) -> bool:
        return isinstance(self._put_if_absent, commit_primitives.LocalLink)

    @property
    def atomic_commits(self) -> bool:
        return self._put_if_absent.atomic

    # ------------------------------------------------------------ paths
    def full_path(self, rel: str) -> str:
        return posixpath.join(self.root, rel) if rel else self.root

    # ------------------------------------------------------------ operations
    def _call(self, what: str, rel: str, fn: Callable[[], T]) -> T:
        try:
            return with_retries(fn, self.retry)
        except FileNotFoundError:
            raise
        except FileExistsError:
            raise
        except OSError as e:
            raise StorageError(f"{what} {self._show(rel)} failed: {_redact(str(e))}") from None

    def read_bytes(self, rel: str) -> bytes:
        """The file's bytes; FileNotFoundError if it is not there."""
        return self._call("reading", rel, lambda: self.fs.cat_file(self.full_path(rel)))

    def try_read_bytes(self, rel: str) -> bytes | None:
        try:
            return self.read_bytes(rel)
        except FileNotFoundError:
            return None

    def read_many(self, rels: Iterable[str]) -> list[bytes | None]:
        """Read several small files concurrently (None for each missing one)."""
        rels = list(rels)
        if len(rels) <= 1:
            return [self.try_read_bytes(r) for r in rels]
        with ThreadPoolExecutor(max_workers=min(16, len(rels))) as pool:
            return list(pool.map(self.try_read_bytes, rels))

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write (or replace) a whole file. Atomic on object stores and, via rename, on local disk."""
        path = self.full_path(rel)

        def write() -> None:
            self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
            if self.is_local:
                tmp = f"{path}.{os.getpid()}.tmp"
                with open(tmp, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            else:
                self.fs.pipe_file(path, data)
        self._call("writing", rel, write)

    def put_if_absent(self, rel: str, data: bytes) -> bool:
        """Create `rel` holding `data` unless it exists; True if this call created it."""
        path = self.full_path(rel)
        if self.is_local:
            os.makedirs(posixpath.dirname(path), exist_ok=True)
        return self._call("committing", rel, lambda: self._put_if_absent(self.fs, path, data))

    def exists(self, rel: str) -> bool:
        return self._call("checking", rel, lambda: self.fs.exists(self.full_path(rel)))

    def list_names(self, rel_dir: str) -> list[str]:
        """Base names in a folder (empty if the folder does not exist)."""
        path = self.full_path(rel_dir)
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

    def size(self, rel: str) -> int:
        return int(self._call("inspecting", rel, lambda: self.fs.size(self.full_path(rel))))

    # ------------------------------------------------------------ pyarrow
    @property
    def arrow_fs(self) -> pafs.FileSystem:
        """A pyarrow filesystem over the same store (native for local disk, for speed)."""
        if self._arrow_fs is None:
            if self.is_local:
                self._arrow_fs = pafs.LocalFileSystem()
            else:
                self._arrow_fs = pafs.PyFileSystem(pafs.FSSpecHandler(self.fs))
        return self._arrow_fs

    def makedirs(self, rel_dir: str) -> None:
        self._call("creating", rel_dir, lambda: self.fs.makedirs(self.full_path(rel_dir), exist_ok=True))

    def _show(self, rel: str) -> str:
        return _redact(posixpath.join(self.uri.rstrip("/"), rel))

    def require_table_root(self) -> None:
        if not self.fs.exists(self.root):
            raise TableNotFoundError(f"no table at {_redact(self.uri)}")


def _normalise_uri(uri: str) -> str:
    uri = os.fspath(uri)
    if "://" not in uri:
        return os.path.abspath(os.path.expanduser(uri))
    return uri


def _redact(text: str) -> str:
    """Strip credentials a URI may carry (scheme://key:secret@host/...)."""
    import re
    return re.sub(r"(://)[^/@\s]*:[^/@\s]*@", r"\1***@", text)
