"""The writer's limits: bounded memory for any input size, one file per partition value (NaN
included), and folder names that any partition value fits into."""

import math
import os
import uuid

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse.format.partitioning import folder_text
from lakehouse.table.writer import WriteOptions

TARGET = 256 * 1024
ROWS = 4096


# ---------------------------------------------------------------- memory

@pytest.mark.parametrize("partition_by", [None, ["p"]], ids=["unpartitioned", "16-partitions"])
def test_streamed_append_holds_a_bounded_amount_of_memory(tmp_path, partition_by):
    """The writer's docstring bound, (k + 3) x target + one batch, for a stream 15 times as large.
    Batches are fresh copies (cheap to make) so the stream outpaces the Parquet writer: the old
    writer queued file-writing tasks without limit and held 8-12x the bound here."""
    schema = pa.schema([("id", pa.int64()), ("x", pa.float64()), ("p", pa.int64())])
    t = lakehouse.create_table(str(tmp_path), schema=schema, partition_by=partition_by,
                               properties={"write.target-file-size-bytes": str(TARGET)})
    ids = pa.array(range(ROWS), pa.int64())
    template = pa.record_batch([ids, pc.random(ROWS), pc.bit_wise_and(pc.multiply(ids, 7919), 15)], schema=schema)
    bound = (WriteOptions().max_workers + 3) * TARGET + template.nbytes
    batches = 15 * bound // template.nbytes
    peak, base = 0, pa.total_allocated_bytes()

    def stream():
        nonlocal peak
        for _ in range(batches):
            # Sampled as the writer asks for more input: every buffered row and task in flight is held.
            peak = max(peak, pa.total_allocated_bytes() - base)
            yield pa.record_batch([pa.concat_arrays([c]) for c in template.columns], schema=schema)

    t.append(pa.RecordBatchReader.from_batches(schema, stream()))
    assert t.scan().count() == batches * ROWS
    assert peak <= bound, f"peak {peak} bytes over the bound {bound} (stream {batches * template.nbytes})"


# ---------------------------------------------------------------- partition values

def _files(t) -> dict:
    """{partition value: number of files} of the table's only partition field."""
    out: dict = {}
    for add in t.state.files.added.values():
        (value,) = add.partition.values()
        out[repr(value)] = out.get(repr(value), 0) + 1
    return out


def test_all_nans_of_a_float_identity_partition_share_one_file(tmp_path):
    t = lakehouse.create_table(str(tmp_path), schema=pa.schema([("f", pa.float64()), ("i", pa.int64())]),
                               partition_by=["f"])
    nans = [math.nan, float("nan") * -1, pc.divide(pa.scalar(0.0), 0.0).as_py()]  # different NaN bit patterns
    values = (nans * 10) + [None, None, 0.0, -0.0, 0.0, -0.0, 1.5]
    t.append(pa.table({"f": values, "i": range(len(values))}))
    assert _files(t) == {"'NaN'": 1, "None": 1, "0.0": 1, "-0.0": 1, "1.5": 1}
    # -0.0 and 0.0 are distinct partition values, yet compare equal in predicates.
    assert t.scan(where="f = 0").count() == 4
    assert t.scan(where="f IS NULL").count() == 2
    assert t.scan(where="f > 1").count() == 31  # 1.5 and the 30 NaNs: NaN is above every number
    assert t.scan(where="f = 'NaN'").count() == 30  # and equals itself, whatever its bits
    assert t.scan().count() == len(values)


@pytest.mark.parametrize("arrow_type", [pa.float32(), pa.float64()])
def test_nan_partitions_across_batches_and_columns(tmp_path, arrow_type):
    t = lakehouse.create_table(str(tmp_path), schema=pa.schema([("f", arrow_type), ("g", pa.string())]),
                               partition_by=["f", "g"])
    batch = pa.table({"f": pa.array([math.nan, 1.0, math.nan, math.nan], arrow_type), "g": ["a", "a", "a", "b"]})
    t.append(pa.RecordBatchReader.from_batches(batch.schema, batch.to_batches() * 3))
    assert len(t.state.files.added) == 3
    assert t.scan(where="g = 'a'").count() == 9


def test_a_date_partition_value_beyond_year_9999_is_refused_cleanly(tmp_path):
    t = lakehouse.create_table(str(tmp_path), schema=pa.schema([("d", pa.date32())]), partition_by=["d"])
    with pytest.raises(lakehouse.SchemaMismatchError, match="years 1 to 9999"):
        t.append(pa.table({"d": pa.array([3_000_000], pa.int32()).cast(pa.date32())}))


# ---------------------------------------------------------------- folder names

HOSTILE = ["", ".", "..", "a/b", "/", "\\", "..\\..", "%2e%2e", "%2F", "a%", "\x00\x01\n", "C:", "?#*[]",
           "null", "__HIVE_DEFAULT_PARTITION__", "~", "x" * 300, "😀" * 22, "é" * 200, "a" * 117 + "😀" * 3]


def _check_segments(path: str) -> None:
    """The path rule of spec section 1 for folders this writer makes."""
    *folders, name = path.split("/")
    assert folders[0] == "data" and name.endswith(".parquet")
    for segment in folders[1:]:
        assert segment not in ("", ".", "..") and "=" in segment
        assert segment.isascii() and len(segment.encode()) <= 200
        assert not any(c in segment for c in "\\:?#*[] ") and segment.isprintable()
        for i in [i for i, c in enumerate(segment) if c == "%"]:
            # Only escapes of reserved or non-ASCII bytes: an escaped unreserved character (%2E)
            # is what URL normalisers decode.
            code = int(segment[i + 1:i + 3], 16)
            assert not (chr(code).isalnum() and code < 128) and chr(code) not in "-._~"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=120), st.none()), min_size=1,
                       max_size=8),
       blobs=st.lists(st.one_of(st.binary(max_size=400), st.none()), min_size=1, max_size=4))
def test_any_string_or_binary_partition_value_is_written_and_round_trips(tmp_path, values, blobs):
    root = tmp_path / uuid.uuid4().hex  # local disk: its file-name limits are the ones that bit
    schema = pa.schema([("s", pa.string()), ("b", pa.binary())])
    t = lakehouse.create_table(str(root), schema=schema, partition_by=["s"])
    data = pa.table({"s": values, "b": [None] * len(values)}, schema=schema)
    t.append(data)
    t2 = lakehouse.create_table(str(root / "b"), schema=schema, partition_by=["b"])
    t2.append(pa.table({"s": [None] * len(blobs), "b": blobs}, schema=schema))
    for table, column, written in ((t, "s", values), (t2, "b", blobs)):
        table = lakehouse.open_table(table.uri)
        assert sorted(table.to_arrow().column(column).to_pylist(), key=repr) == sorted(written, key=repr)
        assert len(table.state.files.added) == len(set(written))
        for add in table.state.files.added.values():
            _check_segments(add.path)
            assert os.path.exists(os.path.join(table.uri, add.path))
    for value in {v for v in values if v is not None}:
        literal = "'" + value.replace("'", "''") + "'"
        if "\x00" not in value:
            assert lakehouse.open_table(t.uri).scan(where=f"s = {literal}").count() == values.count(value)


def test_folder_text_keeps_short_values_and_hashes_long_ones():
    assert folder_text("2024-03-01", 128) == "2024-03-01"
    assert folder_text("a/b c", 128) == "a%2Fb%20c"
    long_a, long_b = "x" * 300, "x" * 299 + "y"
    assert len(folder_text(long_a, 128)) <= 128 and folder_text(long_a, 128).startswith("x" * 100)
    assert folder_text(long_a, 128) != folder_text(long_b, 128)
    emoji = folder_text("😀" * 22, 128)  # cut between characters, never inside an escape
    assert len(emoji) <= 128 and emoji.split("~")[0] == "%F0%9F%98%80" * 9
