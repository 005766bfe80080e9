"""The table handle and the writes and commits made through it."""

from .create import create_table, open_table
from .handle import Table
from .metrics import CommitSummary, HistoryEntry

__all__ = ["CommitSummary", "HistoryEntry", "Table", "create_table", "open_table"]
