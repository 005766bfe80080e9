"""Table locations as a catalog keeps them: one spelling per place, so `inside` can be trusted."""

from __future__ import annotations

import os

from ..errors import InvalidArgumentError


def normalise_location(uri: object) -> str:
    """Local paths (and `file://` URIs) as absolute paths, other URIs as given; no trailing slash.

    >>> normalise_location("s3://bucket/wh/")
    's3://bucket/wh'
    >>> normalise_location("file:///data/wh")
    '/data/wh'
    """
    uri = os.fspath(uri) if isinstance(uri, os.PathLike) else uri
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidArgumentError(f"a location is a non-empty string or path, not {uri!r}")
    if uri.lower().startswith("file://"):
        uri = uri[len("file://"):] or "."
    if "://" not in uri:
        return os.path.abspath(os.path.expanduser(uri))
    scheme, rest = uri.split("://", 1)
    return f"{scheme.lower()}://{rest.rstrip('/')}" if rest.strip("/") else uri


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def inside(location: str, folder: str) -> bool:
    """Whether `location` lies strictly under `folder` (both normalised; whole path segments).

    >>> inside("s3://b/wh/sales/orders", "s3://b/wh"), inside("s3://b/wh2/t", "s3://b/wh")
    (True, False)
    """
    location, folder = normalise_location(location), normalise_location(folder).rstrip("/")
    if any(part in ("..", ".") for part in location.split("://", 1)[-1].split("/")):
        return False
    return location.startswith(folder + "/") and len(location) > len(folder) + 1


def relative_to(location: str, folder: str) -> str | None:
    """`location`'s path under `folder`, or None if it is not inside.

    >>> relative_to("memory://wh/sales/orders", "memory://wh")
    'sales/orders'
    """
    if not inside(location, folder):
        return None
    return normalise_location(location)[len(normalise_location(folder).rstrip("/")) + 1:]
