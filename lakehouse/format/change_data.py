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
           "change_schema", "write_change_data"]


def change_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema of a change data file under `schema`: its columns, then `_change_type`."""
    return schema.to_arrow().append(pa.field(CHANGE_TYPE, pa.string(), nullable=False))


def write_change_data(store: Store, metadata: TableMetadata, batches: Iterable[pa.RecordBatch]) -> list[AddCdcFile]:
    """Write `batches` (the current schema's columns in order, then `_change_type`) as change
    data files, rolled at the table's target file size and written with its Parquet options.
    Streams: memory holds one batch and one row group's encoder, however many rows come.
    The files are orphans until a commit names them."""
    from ..table.writer import WriteOptions, dictionary_columns  # table/ sits above format/: import late

    options = WriteOptions.from_metadata(metadata)
    schema = change_schema(metadata.schema)
    written: list[AddCdcFile] = []
    current: _ChangeFile | None = None
    try:
        for batch in batches:
            if not batch.num_rows:
                continue
            if current is None:
                current = _ChangeFile(store, schema, options, dictionary_columns(metadata.schema))
            current.write(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
            if current.nbytes >= options.target_file_size:
                written.append(current.close(metadata.current_schema_id))
                current = None
        if current is not None:
            written.append(current.close(metadata.current_schema_id))
    except (OSError, pa.ArrowException) as e:
        raise StorageError(f"writing change data of {store.uri} failed: {e}") from None
    finally:
        if current is not None and not current.closed:
            current.abandon()
    return written


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
