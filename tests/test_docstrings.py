"""Every public function and method carries a docstring with a runnable example.

The examples themselves run as doctests (`--doctest-modules` in pyproject.toml); this test makes
sure none is missing, so `help(t.scan)` always explains itself.
"""

from __future__ import annotations

import inspect

import pytest

import lakehouse
from lakehouse.table.schema_update import UpdateSchema

_ERRORS = {name for name in lakehouse.__all__ if name.endswith("Error")}
_API = [getattr(lakehouse, name) for name in lakehouse.__all__ if name not in _ERRORS and name != "__version__"]


def _public_members(obj) -> list[tuple[str, object]]:
    if not inspect.isclass(obj):
        return [(obj.__name__, obj)]
    members = [(obj.__name__, obj)]
    for name, member in vars(obj).items():
        if name.startswith("_") or not (callable(member) or isinstance(member, (property, classmethod,
                                                                                 staticmethod))):
            continue
        members.append((f"{obj.__name__}.{name}", member))
    return members


_MEMBERS = [m for obj in [*_API, UpdateSchema] for m in _public_members(obj)]


@pytest.mark.parametrize("name,member", _MEMBERS, ids=[n for n, _ in _MEMBERS])
def test_public_api_is_documented(name, member):
    doc = inspect.getdoc(member.fget if isinstance(member, property) else member)
    assert doc, f"{name} has no docstring"
    if inspect.isfunction(member) or isinstance(member, (classmethod, staticmethod)):
        assert ">>>" in doc, f"{name}'s docstring has no example"
