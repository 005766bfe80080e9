"""The change feed replayed into rows, for tests that check it rebuilds the table."""

from __future__ import annotations

import collections
from typing import Callable, Hashable

import lakehouse


def replayed(t: lakehouse.Table, key: Callable[[dict], Hashable] = lambda row: tuple(row.values())) -> list:
    """The table rebuilt from its change feed (from version 1): inserts and post-images add a
    row, deletes and pre-images take one away. `key` turns a row (a dict in schema order) into
    the value rows are counted by."""
    rows: collections.Counter = collections.Counter()
    names = t.schema.names
    for r in (t.changes(1).to_pylist() if t.version else []):
        rows[key({n: r[n] for n in names})] += 1 if r["_change_type"] in ("insert", "update_postimage") else -1
    assert all(v >= 0 for v in rows.values())
    return sorted(rows.elements(), key=repr)
