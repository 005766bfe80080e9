"""Catalog names (spec/format.md, "Catalogs"): `namespace.table`, one level of namespace.

Each part is a plain identifier, `[A-Za-z_][A-Za-z0-9_]*`, at most 128 characters, compared
case-insensitively and kept in lower case (DuckDB resolves `Sales.Orders` and `sales.orders`
to the same table, and so do case-insensitive file systems holding default locations). Parts
beginning with `_lakehouse` are reserved (the file catalog keeps its own files in
`_lakehouse_catalog/`, beside the tables). Nothing else reaches a path: no dots, slashes,
`..`, spaces or non-ASCII letters can pass.
"""

from __future__ import annotations

import re

from ..errors import InvalidNameError

MAX_LENGTH = 128
_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_PREFIX = "_lakehouse"


def namespace_name(namespace: object) -> str:
    """The namespace's canonical (lower-case) name; InvalidNameError if it is not one.

    >>> namespace_name("Sales")
    'sales'
    """
    return _part(namespace, "namespace")


def table_name(name: object) -> tuple[str, str]:
    """`"ns.table"` (or a pair `("ns", "table")`) as its canonical parts; InvalidNameError otherwise.

    >>> table_name("Sales.Orders")
    ('sales', 'orders')
    """
    if isinstance(name, tuple) and len(name) == 2:
        parts = name
    elif isinstance(name, str):
        parts = tuple(name.split("."))
        if len(parts) != 2:
            raise InvalidNameError(f"table name {name!r} must be namespace.table (one dot), e.g. 'sales.orders'")
    else:
        raise InvalidNameError(f"a table name is a string 'namespace.table', not {type(name).__name__} {name!r}")
    return _part(parts[0], "namespace"), _part(parts[1], "table")


def full_name(namespace: str, table: str) -> str:
    return f"{namespace}.{table}"


def is_table_name(text: str) -> bool:
    """Whether `text` is a valid `namespace.table` (the CLI tells names from URIs with it).

    >>> is_table_name("sales.orders"), is_table_name("./orders"), is_table_name("s3://b/t")
    (True, False, False)
    """
    try:
        table_name(text)
    except InvalidNameError:
        return False
    return True


def _part(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidNameError(f"a {what} name is a string, not {type(value).__name__} {value!r}")
    if not value:
        raise InvalidNameError(f"the {what} name is empty")
    if len(value) > MAX_LENGTH:
        raise InvalidNameError(f"{what} name {value[:20]!r}... is {len(value)} characters long; at most "
                               f"{MAX_LENGTH} are allowed")
    if not _PART.fullmatch(value):
        raise InvalidNameError(f"{what} name {value!r} must be letters, digits and underscores "
                               "(not starting with a digit)")
    if value.lower().startswith(RESERVED_PREFIX):
        raise InvalidNameError(f"{what} name {value!r} is reserved: names beginning with {RESERVED_PREFIX!r} "
                               "are the catalog's own")
    return value.lower()
