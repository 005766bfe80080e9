"""The one exception hierarchy of lakehouse.

    LakehouseError
    ├── TableNotFoundError          no table at the URI
    ├── TableExistsError            create_table over an existing table (or a catalog name in use)
    ├── NamespaceNotFoundError      a catalog namespace that does not exist
    ├── NamespaceExistsError        create_namespace of a namespace that exists
    ├── NamespaceNotEmptyError      drop_namespace of a namespace that still holds tables
    ├── CommitConflictError         a concurrent commit collided with ours (names the winner)
    │   └── CommitRetriesExceededError  gave up rebasing after the configured attempts
    ├── SchemaMismatchError         data or a schema change that does not fit the table's schema
    ├── PredicateViolationError     overwrite(where=...) data holding rows outside the predicate
    ├── MergeCardinalityError       a merge where one target row is matched by two source rows
    ├── InvalidArgumentError        an argument the API does not accept (also a ValueError)
    │   └── InvalidNameError        a catalog name that is not `namespace.table` of plain identifiers
    ├── InvalidExpressionError      a `where` string that does not parse or bind
    │   └── ColumnNotFoundError     a column name the schema does not have
    ├── InvalidPartitionSpecError   a partition transform that is unknown or does not fit its column
    ├── VersionNotFoundError        time travel to a version or time the table does not have
    ├── CorruptTableError           a log entry or checkpoint that is not what the spec says
    ├── UnsupportedFeatureError     a table written with a protocol newer than this library
    ├── MissingDependencyError      an optional package (pandas, polars) is needed but not installed
    └── StorageError                the store failed or cannot give the guarantees we need
        └── AtomicCommitUnsupportedError  the store cannot put-if-absent
"""

from __future__ import annotations


class LakehouseError(Exception):
    """Root of every error lakehouse raises on purpose."""


class TableNotFoundError(LakehouseError):
    pass


class TableExistsError(LakehouseError):
    pass


class NamespaceNotFoundError(LakehouseError):
    pass


class NamespaceExistsError(LakehouseError):
    pass


class NamespaceNotEmptyError(LakehouseError):
    pass


class CommitConflictError(LakehouseError):
    """A concurrent commit won the race and its changes collide with ours.

    `winning_version` is the version that collided; `reason` says why.
    """

    def __init__(self, message: str, *, winning_version: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.winning_version = winning_version
        self.reason = reason


class CommitRetriesExceededError(CommitConflictError):
    pass


class SchemaMismatchError(LakehouseError):
    pass


class PredicateViolationError(LakehouseError):
    pass


class MergeCardinalityError(LakehouseError):
    """A merge with WHEN MATCHED clauses found a target row matched by more than one source row
    (which source row should win is undefined); nothing was committed."""


class InvalidArgumentError(LakehouseError, ValueError):
    pass


class InvalidNameError(InvalidArgumentError):
    """A namespace or table name the catalog refuses (lakehouse.catalog.names says which)."""


class InvalidExpressionError(LakehouseError):
    pass


class ColumnNotFoundError(InvalidExpressionError):
    pass


class InvalidPartitionSpecError(LakehouseError):
    pass


class VersionNotFoundError(LakehouseError):
    pass


class CorruptTableError(LakehouseError):
    pass


class UnsupportedFeatureError(LakehouseError):
    pass


class MissingDependencyError(LakehouseError, ImportError):
    """An optional package a method needs is not installed; the message says what to install."""


class StorageError(LakehouseError):
    pass


class AtomicCommitUnsupportedError(StorageError):
    pass
