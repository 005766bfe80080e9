"""Change data files (spec/format.md, "Change data"): what an entry changed, row by row, when
its adds and removes alone would say it wrongly.

An entry MAY carry `cdc` actions (`AddCdcFile`): Parquet files of the table's columns (with
their field ids) plus `_change_type`, under `_change_data/`. If it does, its changes are exactly
those files' rows; otherwise readers derive them from its adds and removes (read/changes.py).
Writers add them where derivation would be wrong: a copy-on-write rewrite's kept rows are not
changes, and an update has pre- and post-images.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import StorageError
from ..io import Store
from .actions import AddCdcFile, TableMetadata
from .schema import Schema

CHANGE_TYPE = "_change_type"
CHANGE_TYPES = ("insert", "delete", "update_preimage", "update_postimage")
CHANGE_DIR = "_change_data"
CHANGE_FEED_FEATURE = "change_feed"

__all__ = ["AddCdcFile", "CHANGE_TYPE", "CHANGE_TYPES", "CHANGE_DIR", "CHANGE_FEED_FEATURE",
           "ChangeDataWriter", "change_schema", "write_change_data"]


def change_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema of a change data file under `schema`: its columns, then `_change_type`."""
    return schema.to_arrow().append(pa.field(CHANGE_TYPE, pa.string(), nullable=False))


def write_change_data(store: Store, metadata: TableMetadata, batches: Iterable[pa.RecordBatch]) -> list[AddCdcFile]:
    """Write `batches` (the current schema's columns in order, then `_change_type`) as change
    data files, rolled at the table's target file size and written with its Parquet options.
    Streams: memory holds one batch and one row group's encoder, however many rows come.
    The files are orphans until a commit names them."""
    writer = ChangeDataWriter(store, metadata)
    try:
        for batch in batches:
            writer.write(batch)
        return writer.close()
    finally:
        writer.abandon()


class ChangeDataWriter:
    """Change data files written batch by batch as an operation finds its changes (pushed, so
    it can run beside the operation's data file writer), rolled at the target file size."""

    def __init__(self, store: Store, metadata: TableMetadata) -> None:
        from ..table.writer import WriteOptions, dictionary_columns  # table/ sits above format/: import late

        self.store, self.metadata = store, metadata
        self.options = WriteOptions.from_metadata(metadata)
        self.schema = change_schema(metadata.schema)
        self.dictionary = dictionary_columns(metadata.schema)
        self.written: list[AddCdcFile] = []
        self.current: _ChangeFile | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        """Append `batch` (the current schema's columns in order, then `_change_type`)."""
        if not batch.num_rows:
            return
        try:
            if self.current is None:
                self.current = _ChangeFile(self.store, self.schema, self.options, self.dictionary)
            self.current.write(pa.RecordBatch.from_arrays(batch.columns, schema=self.schema))
            if self.current.nbytes >= self.options.target_file_size:
                self.written.append(self.current.close(self.metadata.current_schema_id))
                self.current = None
        except (OSError, pa.ArrowException) as e:
            raise StorageError(f"writing change data of {self.store.uri} failed: {e}") from None

    def close(self) -> list[AddCdcFile]:
        """Finish the last file: every file's action, in the order the rows came."""
        try:
            if self.current is not None:
                self.written.append(self.current.close(self.metadata.current_schema_id))
                self.current = None
        except (OSError, pa.ArrowException) as e:
            raise StorageError(f"writing change data of {self.store.uri} failed: {e}") from None
        return self.written

    def abandon(self) -> None:
        """Close an unfinished file after a failure (an orphan either way); no-op once closed."""
        if self.current is not None and not self.current.closed:
            self.current.abandon()
        self.current = None


class _ChangeFile:
    """One change data file being written, batch by batch."""

    def __init__(self, store: Store, schema: pa.Schema, options, dictionary: list[str]) -> None:
        self.rel = posixpath.join(CHANGE_DIR, f"{uuid.uuid4().hex}.parquet")
        path = store.full_path(self.rel)
        if store.is_local:
            os.makedirs(posixpath.dirname(path), exist_ok=True)
        self.sink = store.arrow_fs.open_output_stream(path)
        self.writer = pq.ParquetWriter(
            self.sink, schema, compression=options.compression, compression_level=options.compression_level,
            use_dictionary=dictionary or False, write_statistics=True)
        self.row_group_rows = options.row_group_rows
        self.rows = self.nbytes = 0
        self.closed = False

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write_batch(batch, row_group_size=self.row_group_rows)
        self.rows += batch.num_rows
        self.nbytes += batch.nbytes

    def close(self, schema_id: int) -> AddCdcFile:
        self.closed = True
        self.writer.close()
        size = self.sink.tell()
        self.sink.close()
        return AddCdcFile(path=self.rel, size=size, record_count=self.rows, schema_id=schema_id)

    def abandon(self) -> None:
        self.closed = True
        try:
            self.writer.close()
            self.sink.close()
        except (OSError, pa.ArrowException):
            pass  # the file is an orphan either way
