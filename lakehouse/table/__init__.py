"""The table handle and the writes and commits made through it."""

from .handle import CommitSummary, HistoryEntry, Table, create_table, open_table

__all__ = ["CommitSummary", "HistoryEntry", "Table", "create_table", "open_table"]
