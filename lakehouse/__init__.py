"""lakehouse: an open table format for Python — Parquet data files, a transaction log, and
snapshot metadata on any fsspec filesystem.

    >>> import pyarrow as pa, lakehouse
    >>> t = lakehouse.create_table("memory://docs/events", schema=pa.schema([("id", pa.int64())]))
    >>> t.append(pa.table({"id": [1, 2, 3]})).version
    1
    >>> t.scan(where="id >= 2").count()
    2
"""

from ._version import __version__
from .errors import (
    AtomicCommitUnsupportedError, ColumnNotFoundError, CommitConflictError, CommitRetriesExceededError,
    CorruptTableError, InvalidArgumentError, InvalidExpressionError, InvalidPartitionSpecError, LakehouseError,
    InvalidNameError, MergeCardinalityError, MissingDependencyError, NamespaceExistsError, NamespaceNotEmptyError,
    NamespaceNotFoundError,
    PredicateViolationError, SchemaMismatchError, StorageError, TableExistsError, TableNotFoundError,
    UnsupportedFeatureError, VersionNotFoundError,
)
from .format.schema import Schema
from .format.sort_order import SortField
from .format.types import Field
from .read.files import ColumnStatistics, DataFile, DataFiles
from .read.scan import Explanation, Scan
from .table import CommitSummary, HistoryEntry, Table, create_table, open_table
from .table.merge_builder import MergeBuilder
from .table.metrics import CompactMetrics, ExpireMetrics, MergeMetrics, UpdateMetrics, VacuumResult
from . import catalog  # noqa: E402 - after the table layer it builds on

__all__ = [
    "__version__",
    "create_table", "open_table", "Table", "Scan", "Schema", "Field", "DataFile", "DataFiles", "ColumnStatistics",
    "Explanation", "CommitSummary", "HistoryEntry", "UpdateMetrics", "MergeBuilder", "MergeMetrics",
    "ExpireMetrics", "VacuumResult", "CompactMetrics", "SortField",
    "LakehouseError", "TableNotFoundError", "TableExistsError", "CommitConflictError",
    "CommitRetriesExceededError", "SchemaMismatchError", "PredicateViolationError", "InvalidArgumentError", "InvalidExpressionError",
    "ColumnNotFoundError", "InvalidPartitionSpecError", "VersionNotFoundError", "CorruptTableError",
    "UnsupportedFeatureError", "MissingDependencyError", "MergeCardinalityError", "StorageError", "AtomicCommitUnsupportedError",
    "catalog", "NamespaceNotFoundError", "NamespaceExistsError", "NamespaceNotEmptyError", "InvalidNameError",
]
