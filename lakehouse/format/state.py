"""Table state at one version, and the pure fold of log actions into the next state.

`TableState` is immutable. Its live files are a `FileSet`: an Arrow table loaded from a
checkpoint plus the adds and removes replayed since, so that appending (the hot path) never
touches the full file list and the Arrow file index is only built when a scan asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import CorruptTableError, UnsupportedFeatureError
from .actions import (
    DELETION_VECTORS, KNOWN_READER_FEATURES, KNOWN_WRITER_FEATURES, READER_VERSION, WRITER_VERSION,
    Action, AddFile, Protocol, RemoveFile, TableMetadata, Tag,
)
from .file_index import build_file_index, conform_file_index, empty_file_index


@dataclass(frozen=True)
class FileSet:
    """The live data files: `base` (file-index rows from a checkpoint) minus `removed`, plus `added`.

    `removed` only ever holds paths of `base`. `_base_paths` is shared by every FileSet derived
    from the same base, so the base's path set is built once, on the first commit that needs
    it, and later commits cost only their own adds and removes.
    """

    base: pa.Table | None = None
    removed: frozenset[str] = frozenset()
    added: Mapping[str, AddFile] = field(default_factory=lambda: MappingProxyType({}))
    _cache: dict = field(default_factory=dict, compare=False, repr=False)
    _base_paths: dict = field(default_factory=dict, compare=False, repr=False)

    def apply(self, adds: Iterable[AddFile], removes: Iterable[RemoveFile]) -> "FileSet":
        """The files after one log entry: its removes, then its adds (spec/format.md, "add").

        Adding a path that is live afterwards (live before and not removed by the entry, or
        added twice) is CorruptTableError: the file's rows would be read twice."""
        added = dict(self.added)
        removed = set(self.removed)
        for r in removes:
            if added.pop(r.path, None) is None and r.path in self.base_path_set():
                removed.add(r.path)
        for a in adds:
            if a.path in added or (a.path in self.base_path_set() and a.path not in removed):
                raise CorruptTableError(f"file {a.path!r} is added while it is already live")
            added[a.path] = a
        return FileSet(self.base, frozenset(removed), MappingProxyType(added), _base_paths=self._base_paths)

    def base_path_set(self) -> frozenset[str]:
        if self.base is None:
            return frozenset()
        paths = self._base_paths.get("paths")
        if paths is None:
            paths = self._base_paths["paths"] = frozenset(self.base["path"].to_pylist())
        return paths

    def index(self, metadata: TableMetadata) -> pa.Table:
        """The Arrow file index under `metadata` (spec/format.md, "Checkpoints" names its columns),
        in commit order ("Row order"): the base's rows keep the checkpoint's order, and `added`
        (a dict: insertion order) follows in the order the log added them."""
        hit = self._cache.get("index")
        if hit is not None and hit[0] is metadata:  # holding the metadata keeps its identity unique
            return hit[1]
        parts = []
        if self.base is not None and self.base.num_rows:
            base = self.base
            if self.removed:
                base = base.filter(pc.invert(pc.is_in(base["path"], pa.array(sorted(self.removed)))))
            parts.append(conform_file_index(base, metadata))
        if self.added:
            parts.append(build_file_index(list(self.added.values()), metadata))
        if not parts:
            index = empty_file_index(metadata)
        elif len(parts) == 1:
            index = parts[0]
        else:
            index = pa.concat_tables(parts).combine_chunks()
        self._cache["index"] = (metadata, index)
        return index

    def count(self) -> int:
        base = 0 if self.base is None else self.base.num_rows - len(self.removed)
        return base + len(self.added)


@dataclass(frozen=True, kw_only=True)
class TableState:
    version: int
    timestamp: int
    protocol: Protocol
    metadata: TableMetadata
    files: FileSet
    tags: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))  # spec "Tags"

    @property
    def schema(self):
        return self.metadata.schema

    def file_index(self) -> pa.Table:
        return self.files.index(self.metadata)

    def compacted(self) -> "TableState":
        """The same state with its replayed adds folded into one Arrow index, so that later
        commits on this handle copy nothing that grows with the table's history."""
        return replace(self, files=FileSet(base=self.file_index()))


def apply_actions(state: TableState | None, version: int, timestamp: int, actions: Iterable[Action]) -> TableState:
    """The state after committing `actions` as `version` on top of `state` (None before version 0)."""
    protocol = state.protocol if state else None
    metadata = state.metadata if state else None
    adds: list[AddFile] = []
    removes: list[RemoveFile] = []
    tags = state.tags if state else MappingProxyType({})
    for a in actions:
        if isinstance(a, Protocol):
            protocol = a
        elif isinstance(a, TableMetadata):
            metadata = a
        elif isinstance(a, AddFile):
            adds.append(a)
        elif isinstance(a, RemoveFile):
            removes.append(a)
        elif isinstance(a, Tag):
            tags = _with_tag(tags, a)
    if protocol is None or metadata is None:
        raise CorruptTableError(f"version {version} has no protocol or metadata before it")
    check_readable(protocol)
    if DELETION_VECTORS not in protocol.reader_features and any(a.deletion_vector for a in adds):
        raise CorruptTableError(f"log entry {version} adds a file with a deletion vector, but the table's "
                                f"protocol does not list the {DELETION_VECTORS!r} feature (spec 3)")
    try:
        files = (state.files if state else FileSet()).apply(adds, removes)
    except CorruptTableError as e:
        raise CorruptTableError(f"log entry {version}: {e}") from None
    return TableState(version=version, timestamp=timestamp, protocol=protocol, metadata=metadata, files=files,
                      tags=tags)


def _with_tag(tags: Mapping[str, int], tag: Tag) -> Mapping[str, int]:
    """The tags after `tag` (spec/format.md, "Tags"): set, moved, or dropped when its version is null."""
    out = dict(tags)
    if tag.version is None:
        out.pop(tag.name, None)
    else:
        out[tag.name] = tag.version
    return MappingProxyType(out)


def with_writer_feature(protocol: Protocol, feature: str) -> list[Protocol]:
    """The protocol action a commit needs to start using writer `feature` (none if it is on)."""
    if feature in protocol.writer_features:
        return []
    return [replace(protocol, writer_features=(*protocol.writer_features, feature))]


def check_readable(protocol: Protocol) -> None:
    """Refuse, before reading anything else, a table this library cannot read correctly."""
    _check_supported("read", protocol.reader_version, protocol.reader_features, READER_VERSION, KNOWN_READER_FEATURES)


def check_writable(protocol: Protocol) -> None:
    _check_supported("write", protocol.writer_version, protocol.writer_features, WRITER_VERSION, KNOWN_WRITER_FEATURES)


def _check_supported(verb: str, version: int, features, known_version: int, known_features: frozenset) -> None:
    unknown = set(features) - known_features
    if version > known_version or unknown:
        raise UnsupportedFeatureError(
            f"this table needs {verb.rstrip('e')}er version {version}"
            f"{' with features ' + ', '.join(sorted(unknown)) if unknown else ''}; "
            f"this lakehouse {verb}s version {known_version}: upgrade lakehouse to {verb} it")
