"""Tags (spec/format.md, "Tags"): names for versions, kept in the log by `tag` actions.

A tag action sets, moves or (with a null version) drops one name. The state folds them, so the
tags of a version are those committed up to it: a past version shows the tags it had then.
Checkpoints carry the folded tags in their state object.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from ..errors import CorruptTableError, InvalidArgumentError, VersionNotFoundError
from .actions import Action, Tag, tag_name_problem
from .state import TableState, with_writer_feature

TAGS_FEATURE = "tags"


def check_tag_name(name: object) -> str:
    problem = tag_name_problem(name)
    if problem is not None:
        raise InvalidArgumentError(problem)
    return name  # type: ignore[return-value]


def tags_from_json(obj: object) -> Mapping[str, int]:
    """A checkpoint's `tags` object (absent: none). Damage raises, and the checkpoint is ignored."""
    if obj is None:
        return MappingProxyType({})
    if not isinstance(obj, dict):
        raise CorruptTableError(f"tags must be an object, not {type(obj).__name__}")
    for name, version in obj.items():
        problem = tag_name_problem(name)
        if problem is not None or type(version) is not int or not 0 <= version < 2**63:
            raise CorruptTableError(f"tag {name!r} -> {version!r} is malformed")
    return MappingProxyType(dict(obj))


def tag_actions(state: TableState, name: str, version: int, *, replace: bool) -> list[Action]:
    """The actions tagging `version` as `name` (and turning the `tags` feature on if needed)."""
    check_tag_name(name)
    if not replace and name in state.tags:
        raise InvalidArgumentError(
            f"tag {name!r} already names version {state.tags[name]}; pass replace=True to move it")
    return [*with_writer_feature(state.protocol, TAGS_FEATURE), Tag(name=name, version=version)]


def drop_tag_actions(state: TableState, name: str) -> list[Action]:
    check_tag_name(name)
    if name not in state.tags:
        raise VersionNotFoundError(f"there is no tag {name!r}{_known(state)}")
    return [Tag(name=name, version=None)]


def resolve_ref(state: TableState, ref: object) -> int:
    """The version tag `ref` names in `state`; VersionNotFoundError if it names none."""
    check_tag_name(ref)
    version = state.tags.get(ref)  # type: ignore[arg-type]
    if version is None:
        raise VersionNotFoundError(f"there is no tag {ref!r} at version {state.version}{_known(state)}")
    return version


def tag_conflict(mine: list[Action] | tuple[Action, ...], theirs: tuple[Action, ...]) -> str | None:
    """Why a concurrent commit `theirs` conflicts with our tag changes: only a change to the
    same tag name does (spec/format.md, "Conflict rules")."""
    names = {a.name for a in mine if isinstance(a, Tag)}
    both = sorted(names & {a.name for a in theirs if isinstance(a, Tag)})
    return f"both changed tag {both[0]!r}" if both else None


def _known(state: TableState) -> str:
    names = sorted(state.tags)
    if not names:
        return " (the table has no tags)"
    return f" (tags: {', '.join(map(repr, names[:10]))}{', ...' if len(names) > 10 else ''})"
