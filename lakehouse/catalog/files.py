"""The file catalog (spec/format.md, "Catalogs"): a catalog kept as files on any fsspec store.

Built like a table's log: every change is one small JSON entry at
`_lakehouse_catalog/log/<seq, 20 digits>.json`, created with put-if-absent and never rewritten.
The catalog's state is the replay of its entries in order. A writer reads the newest state,
checks its change against it, and puts the next entry; if another writer took that number
first it reads again and re-checks, so every change is decided against the exact state before
it: of two concurrent creators of one name exactly one wins, and a rename (one entry) is
atomic. Every 100th entry the writer also stores the whole state as a snapshot, so a new
reader replays at most 99 entries after listing the log.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

import orjson

from ..errors import (
    CommitRetriesExceededError, CorruptTableError, LakehouseError, NamespaceExistsError, NamespaceNotEmptyError,
    StorageError, TableNotFoundError, UnsupportedFeatureError,
)
from ..format.paths import check_relative_path
from ..io import Store
from . import Catalog, names
from .locations import join, normalise_location, relative_to

FORMAT_VERSION = 1
CATALOG_DIR = "_lakehouse_catalog"
LOG_DIR = f"{CATALOG_DIR}/log"
SNAPSHOT_DIR = f"{CATALOG_DIR}/snapshots"
SNAPSHOT_INTERVAL = 100
MAX_ATTEMPTS = 200
_NAME = re.compile(r"^(\d{20})\.json$")


def entry_path(seq: int) -> str:
    return f"{LOG_DIR}/{seq:020d}.json"


def snapshot_path(seq: int) -> str:
    return f"{SNAPSHOT_DIR}/{seq:020d}.json"


@dataclass(slots=True)
class _State:
    """The catalog after entry `seq` (-1: no entry yet). Private to this module and copied
    before any change, so a cached state is never altered."""

    seq: int = -1
    properties: dict[str, dict[str, str]] = field(default_factory=dict)  # namespace -> properties
    tables: dict[str, dict[str, str]] = field(default_factory=dict)  # namespace -> table -> stored location

    def copy(self) -> "_State":
        return _State(self.seq, dict(self.properties), {ns: dict(t) for ns, t in self.tables.items()})


class FileCatalog(Catalog):
    """A catalog kept as files under `uri`, which is also its default warehouse.

    >>> from lakehouse import catalog
    >>> cat = catalog.connect("memory://docs/catalog-files")
    >>> cat.create_namespace("sales"); _ = cat.create_table("sales.orders", schema={"id": "int64"})
    >>> cat.rename_table("sales.orders", "sales.archive"); cat.list_tables("sales")
    ['sales.archive']
    """

    def __init__(self, uri: str, *, warehouse: str | None = None,
                 storage_options: Mapping[str, Any] | None = None) -> None:
        self._root = normalise_location(uri)
        super().__init__(uri=uri, warehouse=warehouse or self._root, storage_options=storage_options)
        self._store = Store.from_uri(self._root, storage_options)
        self._cache = _State()

    # ------------------------------------------------------------ reading
    def _state(self) -> _State:
        """The newest state: list the log, then replay what the cached (or a snapshot) state lacks."""
        seqs = self._list(LOG_DIR)
        latest = seqs[-1] if seqs else -1
        if seqs and (seqs[0] != 0 or len(seqs) != latest + 1):
            raise self._corrupt("its log has a gap (an entry is missing)")
        state = self._cache
        if state.seq > latest:
            raise self._corrupt(f"entry {state.seq} was read before but is gone")
        if state.seq < 0 or latest - state.seq > SNAPSHOT_INTERVAL:
            state = self._snapshot(latest) or state
        if state.seq == latest:
            return state
        state = state.copy()
        wanted = list(range(state.seq + 1, latest + 1))
        for seq, data in zip(wanted, self._store.read_many(entry_path(s) for s in wanted), strict=True):
            if data is None:
                raise self._corrupt(f"entry {seq} was listed but cannot be read")
            try:
                _apply(self, state, _decode_entry(seq, data))
            except LakehouseError as e:
                if isinstance(e, CorruptTableError | UnsupportedFeatureError):
                    raise
                raise self._corrupt(f"entry {seq} contradicts the entries before it ({e})") from None
            state.seq = seq
        self._cache = state
        return state

    def _list(self, folder: str) -> list[int]:
        try:
            found = self._store.list_names(folder)
        except TableNotFoundError:  # the store's wording for a missing bucket
            raise StorageError(f"catalog {self.uri}: its bucket does not exist") from None
        return sorted(int(m.group(1)) for m in map(_NAME.match, found) if m)

    def _snapshot(self, latest: int) -> _State | None:
        usable = [s for s in self._list(SNAPSHOT_DIR) if s <= latest]
        if not usable:
            return None
        data = self._store.try_read_bytes(snapshot_path(usable[-1]))
        return None if data is None else self._decode_snapshot(usable[-1], data)

    def _corrupt(self, problem: str) -> CorruptTableError:
        return CorruptTableError(f"catalog {self.uri} is corrupt: {problem}")

    # ------------------------------------------------------------ writing
    def _commit(self, change: dict[str, Any]) -> _State:
        """Put `change` as the next entry, re-checked against every newer state until it lands;
        returns the state the entry was decided against (the one just before it)."""
        token = uuid.uuid4().hex  # tells our own entry from another's after an unknown outcome
        for attempt in range(MAX_ATTEMPTS):
            state = self._state()
            new = state.copy()
            _apply(self, new, change)  # the user's error, if the change does not fit this state
            new.seq = state.seq + 1
            data = orjson.dumps({"format_version": FORMAT_VERSION, "seq": new.seq, "timestamp": int(time.time() * 1000),
                                 "id": token, "change": change})
            if self._store.put_if_absent(entry_path(new.seq), data) or \
                    self._store.try_read_bytes(entry_path(new.seq)) == data:
                self._cache = new
                if new.seq % SNAPSHOT_INTERVAL == 0 and new.seq:
                    self._write_snapshot(new)
                return state
            time.sleep(random.uniform(0, min(0.05, 0.002 * (attempt + 1))))  # spread out the racers
        raise CommitRetriesExceededError(f"catalog {self.uri}: gave up after {MAX_ATTEMPTS} concurrent changes won")

    def _write_snapshot(self, state: _State) -> None:
        body = {"format_version": FORMAT_VERSION, "seq": state.seq,
                "namespaces": {ns: {"properties": props, "tables": state.tables.get(ns, {})}
                               for ns, props in state.properties.items()}}
        try:
            self._store.write_bytes(snapshot_path(state.seq), orjson.dumps(body))
        except StorageError:
            pass  # only a shortcut for readers: the entry is committed either way

    def _decode_snapshot(self, seq: int, data: bytes) -> _State:
        try:
            body = orjson.loads(data)
            _check_format(body, seq, "snapshot")
            state = _State(seq)
            for ns, value in body["namespaces"].items():
                names.namespace_name(ns)
                state.properties[ns] = _strings(value["properties"])
                state.tables[ns] = {names.table_name((ns, t))[1]: _check_location(loc)
                                    for t, loc in _strings(value["tables"]).items()}
            return state
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as e:
            raise self._corrupt(f"snapshot {seq} is not valid: {e!r}") from None

    # ------------------------------------------------------------ locations
    def _stored(self, location: str) -> str:
        """Inside the catalog's folder a location is kept relative, so the folder can move."""
        return relative_to(location, self._root) or location

    def _resolved(self, stored: str) -> str:
        return stored if "://" in stored or stored.startswith("/") else join(self._root, stored)

    # ------------------------------------------------------------ backend
    def _add_namespace(self, namespace: str, properties: dict[str, str]) -> None:
        self._commit({"op": "create_namespace", "namespace": namespace, "properties": properties})

    def _remove_namespace(self, namespace: str) -> None:
        self._commit({"op": "drop_namespace", "namespace": namespace})

    def _namespaces(self) -> list[str]:
        return list(self._state().properties)

    def _properties(self, namespace: str) -> Mapping[str, str]:
        props = self._state().properties.get(namespace)
        if props is None:
            raise self._no_namespace(namespace)
        return props

    def _add_table(self, namespace: str, table: str, location: str) -> None:
        self._commit({"op": "create_table", "namespace": namespace, "table": table,
                      "location": self._stored(location)})

    def _location(self, namespace: str, table: str) -> str | None:
        stored = self._state().tables.get(namespace, {}).get(table)
        return None if stored is None else self._resolved(stored)

    def _tables(self, namespace: str) -> list[str]:
        state = self._state()
        if namespace not in state.properties:
            raise self._no_namespace(namespace)
        return list(state.tables.get(namespace, {}))

    def _rename(self, old: tuple[str, str], new: tuple[str, str]) -> None:
        self._commit({"op": "rename_table", "namespace": old[0], "table": old[1],
                      "to_namespace": new[0], "to_table": new[1]})

    def _remove_table(self, namespace: str, table: str) -> str:
        before = self._commit({"op": "drop_table", "namespace": namespace, "table": table})
        return self._resolved(before.tables[namespace][table])  # as it was just before our entry


def _apply(cat: FileCatalog, state: _State, change: Mapping[str, Any]) -> None:
    """Check `change` against `state` (the user's error if it does not fit), then apply it."""
    op, ns = change["op"], change["namespace"]
    if op == "create_namespace":
        if ns in state.properties:
            raise NamespaceExistsError(f"namespace {ns!r} already exists in catalog {cat.uri}")
        state.properties[ns], state.tables[ns] = dict(change["properties"]), {}
        return
    if ns not in state.properties:
        raise cat._no_table(ns, change["table"]) if op in ("rename_table", "drop_table") else cat._no_namespace(ns)
    tables = state.tables[ns]
    if op == "drop_namespace":
        if tables:
            raise NamespaceNotEmptyError(f"namespace {ns!r} still holds tables; drop or rename them first")
        del state.properties[ns], state.tables[ns]
    elif op == "create_table":
        if change["table"] in tables:
            raise cat._name_taken(ns, change["table"])
        tables[change["table"]] = change["location"]
    elif op == "drop_table":
        if tables.pop(change["table"], None) is None:
            raise cat._no_table(ns, change["table"])
    elif op == "rename_table":
        to_ns, to_table = change["to_namespace"], change["to_table"]
        if change["table"] not in tables:
            raise cat._no_table(ns, change["table"])
        if to_ns not in state.properties:
            raise cat._no_namespace(to_ns)
        if to_table in state.tables[to_ns]:
            raise cat._name_taken(to_ns, to_table)
        state.tables[to_ns][to_table] = tables.pop(change["table"])
    else:
        raise UnsupportedFeatureError(f"catalog {cat.uri} has a change {op!r} this library does not know: "
                                      "upgrade lakehouse")


def _decode_entry(seq: int, data: bytes) -> dict[str, Any]:
    """The entry's change, its names and location checked (a hostile entry cannot name a path)."""
    try:
        body = orjson.loads(data)
        _check_format(body, seq, "entry")
        change = dict(body["change"])
        for key in ("namespace", "to_namespace"):
            if key in change:
                change[key] = names.namespace_name(change[key])
        for ns_key, key in (("namespace", "table"), ("to_namespace", "to_table")):
            if key in change:
                change[key] = names.table_name((change[ns_key], change[key]))[1]
        if "location" in change:
            change["location"] = _check_location(change["location"])
        if "properties" in change:
            change["properties"] = _strings(change["properties"])
        if not isinstance(change.get("op"), str) or "namespace" not in change:
            raise ValueError("a change needs op and namespace")
        return change
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise CorruptTableError(f"catalog entry {seq} is not valid: {e!r}") from None


def _check_format(body: Any, seq: int, what: str) -> None:
    if body["format_version"] > FORMAT_VERSION:
        raise UnsupportedFeatureError(f"catalog {what} {seq} has format version {body['format_version']}; this "
                                      f"library reads up to {FORMAT_VERSION}: upgrade lakehouse")
    if body["seq"] != seq:
        raise ValueError(f"{what} {seq} says it is {body['seq']}")


def _check_location(location: Any) -> str:
    if not isinstance(location, str) or not location:
        raise ValueError(f"location {location!r} is not a string")
    if "://" in location or location.startswith("/"):
        return location
    return check_relative_path(location, "catalog location", data_file=False)


def _strings(obj: Any) -> dict[str, str]:
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in obj.items()):
        raise ValueError(f"{obj!r} is not a map of strings")
    return dict(obj)
