"""The mistakes people make in their first hour give a LakehouseError that says what to do,
never a raw Python error or the library's internals (issue 8, "Clear errors")."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse.expressions.parser import parse
from lakehouse.format.log import log_path
from lakehouse.io import Store
from lakehouse.read.scan import bind_where
from lakehouse.table.travel import as_of_millis, check_version

UTC = dt.timezone.utc


def _table(uri: str, versions: int = 2) -> tuple[lakehouse.Table, list[dt.datetime]]:
    t = lakehouse.create_table(uri, schema=pa.schema([("v", pa.int64())]))
    for v in range(versions):
        time.sleep(0.005)
        t.append(pa.table({"v": [v]}))
    return t, [e.timestamp for e in reversed(t.history())]


def _memory_uri() -> str:
    return f"memory://user-errors/{uuid.uuid4().hex}"


# ---------------------------------------------------------------- version=

@pytest.mark.parametrize("bad, says", [
    ("1", "pass version=1"), ("2024-03-01", "as_of='2024-03-01'"), (1.0, "not float"), (True, "not bool"),
    (None.__class__, "must be an int"), ([1], "must be an int"),
])
def test_version_must_be_a_whole_number(bad, says):
    t, _ = _table(_memory_uri(), 1)
    for call in (lambda: t.scan(version=bad), lambda: t.at(version=bad),
                 lambda: lakehouse.open_table(t.uri, version=bad)):
        with pytest.raises(lakehouse.InvalidArgumentError, match="version must be an int") as info:
            call()
        assert says in str(info.value)


def test_version_accepts_numpy_integers_and_names_the_newest_when_too_new():
    t, _ = _table(_memory_uri(), 2)
    assert t.at(version=np.int64(1)).version == 1
    with pytest.raises(lakehouse.VersionNotFoundError, match="version 9 does not exist: the newest is 2"):
        t.scan(version=9)
    with pytest.raises(lakehouse.VersionNotFoundError, match="count up from 0"):
        lakehouse.open_table(t.uri, version=-1)


def test_version_and_as_of_together_are_refused_before_reading(tmp_path):
    with pytest.raises(lakehouse.InvalidArgumentError, match="not both"):
        lakehouse.open_table(str(tmp_path / "nothing here"), version=0, as_of="2024-03-01")


# ---------------------------------------------------------------- as_of=

def test_as_of_accepts_iso_strings_dates_and_datetimes():
    t, stamps = _table(_memory_uri(), 2)  # stamps[v] is version v's commit time, UTC
    second = stamps[1]
    local = second.astimezone().replace(tzinfo=None)
    for as_of in (second, second.isoformat(), second.isoformat().replace("+00:00", "Z"),
                  second.astimezone(dt.timezone(dt.timedelta(hours=-7))).isoformat(),
                  local, local.isoformat(), local.isoformat(sep=" ")):
        assert t.at(as_of=as_of).version == 1, as_of
        assert lakehouse.open_table(t.uri, as_of=as_of).version == 1
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    assert t.scan(as_of=tomorrow).count() == 2 and t.at(as_of=tomorrow.isoformat()).version == 2


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01", "", 1709251200, 1.5, b"2024-03-01", [2024, 3, 1]])
def test_as_of_of_another_kind_says_what_is_accepted(bad):
    t, _ = _table(_memory_uri(), 1)
    with pytest.raises(lakehouse.InvalidArgumentError, match="as_of must be a datetime") as info:
        t.scan(as_of=bad)
    assert "ISO-8601" in str(info.value)


def test_naive_times_and_dates_are_local_time(monkeypatch):
    monkeypatch.setenv("TZ", "XYZ-05:30")  # POSIX: five and a half hours east of UTC
    time.tzset()
    try:
        midnight_utc = as_of_millis(dt.datetime(2024, 3, 1, tzinfo=UTC))
        shift = (5 * 60 + 30) * 60_000
        assert as_of_millis(dt.date(2024, 3, 1)) == midnight_utc - shift
        assert as_of_millis("2024-03-01") == midnight_utc - shift
        assert as_of_millis(dt.datetime(2024, 3, 1)) == midnight_utc - shift
        assert as_of_millis("2024-03-01T00:00:00") == midnight_utc - shift
        assert as_of_millis("2024-03-01T00:00:00Z") == midnight_utc
        assert as_of_millis("2024-03-01T05:30:00+05:30") == midnight_utc
    finally:
        monkeypatch.undo()
        time.tzset()


@settings(max_examples=150, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, dt.timezone(dt.timedelta(hours=5, minutes=45)),
                                               dt.timezone(dt.timedelta(hours=-11))])))
def test_as_of_is_exact_milliseconds_rounded_down(when):
    expected = (when - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(milliseconds=1)
    assert as_of_millis(when) == expected
    assert as_of_millis(when.isoformat()) == expected  # the ISO string names the same instant


def test_as_of_takes_pandas_timestamps_and_refuses_nat_and_numpy():
    pd = pytest.importorskip("pandas")
    assert as_of_millis(pd.Timestamp("2024-03-01T00:00:00.123456789Z")) == 1709251200123
    assert as_of_millis(pd.Timestamp("2024-03-01 12:00", tz="Europe/Paris")) == 1709290800000
    assert as_of_millis(pd.Timestamp("2024-03-01")) == as_of_millis(dt.datetime(2024, 3, 1))  # naive: local
    for bad in (pd.NaT, np.datetime64("2024-03-01")):
        with pytest.raises(lakehouse.InvalidArgumentError, match="as_of must be a datetime"):
            as_of_millis(bad)


def test_as_of_before_the_table_existed_names_both_times_in_iso():
    t, stamps = _table(_memory_uri(), 1)
    with pytest.raises(lakehouse.VersionNotFoundError) as info:
        t.scan(as_of="2024-03-01T12:00:00Z")
    message = str(info.value)
    assert "2024-03-01T12:00:00.000Z" in message
    assert stamps[0].isoformat(timespec="milliseconds").replace("+00:00", "Z") in message
    assert "first version (0)" in message
    with pytest.raises(lakehouse.VersionNotFoundError, match="2024-03-01T00:00:00.000Z"):
        lakehouse.open_table(t.uri, as_of=dt.datetime(2024, 3, 1, tzinfo=UTC))


def test_check_version_passes_ints_through():
    assert check_version(None) is None and check_version(0) == 0 and check_version(np.int32(7)) == 7


# ---------------------------------------------------------------- where

@pytest.mark.parametrize("where, says", [
    ("x >", "'>' needs a value on each side, but the text ends after it"),
    ("x = ", "'=' needs a value on each side"),
    ("AND", "'AND' needs a value on each side"),
    ("x = 1 OR OR y = 2", "'OR' needs a value on each side (at column 10)"),
    ("x IN (", "a '(' is never closed"),
    ("(x = 1 AND y = 2", "a '(' is never closed"),
    ("x = 1)", "unexpected ')' at column 6"),
    ("x = 'abc", "the quote ' at column 5 is never closed"),
    ('"my col = 1', 'the quote " at column 1 is never closed'),
    ("x BETWEEN 1", "BETWEEN needs 'low AND high'"),
    ("NOT", "NOT needs a condition after it"),
    ("x = 1\nAND y >", "'>' needs a value on each side"),
])
def test_incomplete_where_says_what_is_missing_and_where(where, says):
    with pytest.raises(lakehouse.InvalidExpressionError) as info:
        parse(where)
    message = str(info.value)
    assert says in message and repr(where) in message
    assert "sqlglot" not in message and "<class" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no internal traceback


def test_incomplete_where_on_a_table_scan():
    t, _ = _table(_memory_uri(), 1)
    with pytest.raises(lakehouse.InvalidExpressionError, match="'>' needs a value on each side"):
        t.scan(where="v >")


_VALID = ["x = 1", "x > 1.5 AND y <= 'a''b'", "x IN (1, 2, 3)", "x BETWEEN 1 AND 2", "NOT (x < 'NaN')",
          "x IS NOT NULL OR name LIKE 'ab%'", '"my col" = DATE \'2024-03-01\'', "(a = 1 OR b = 2) AND c != 3"]
_PIECES = ["x", "y", " ", "=", ">", "<", "!", "(", ")", "'", '"', "`", ",", "1", "1.5", "AND", "OR", "NOT", "IN",
           "IS", "NULL", "BETWEEN", "LIKE", "CAST", "AS", "DATE", "-", "+", "*", ";", "--", "/*", "?", "$1", "\\",
           "\n", "é", "\x00", "[", "]", "{", "}", ":", "::", "@", "#", "%", "|"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.tuples(st.sampled_from(_VALID), st.integers(0, 60)).map(lambda p: p[0][:p[1]]),  # truncated
    st.lists(st.sampled_from(_PIECES), max_size=12).map("".join),
    st.lists(st.sampled_from(_PIECES), max_size=6).map(" ".join),
    st.text(max_size=20),
))
def test_garbage_where_only_ever_raises_invalid_expression_without_internals(where):
    try:
        bind_where(where, _GARBAGE_TABLE.state)  # parse, then bind to columns x, y and name
    except lakehouse.InvalidExpressionError as e:
        message = str(e).replace(repr(where), "")
        assert "sqlglot" not in message.lower() and "<class" not in message


_GARBAGE_TABLE = lakehouse.create_table(
    f"memory://user-errors/garbage-{uuid.uuid4().hex}",
    schema=pa.schema([("x", pa.float64()), ("y", pa.int64()), ("name", pa.string())]))


# ---------------------------------------------------------------- paths that are not tables

def _put_file(uri: str) -> None:
    parent, name = uri.rstrip("/").rsplit("/", 1)
    Store.from_uri(parent).write_bytes(name, b"not a table")


def _no_internals(message: str) -> None:
    assert "_lakehouse" not in message and "last_checkpoint" not in message and "Not a directory" not in message


def test_a_file_is_not_a_table_folder(table_uri):
    _put_file(table_uri)
    with pytest.raises(lakehouse.TableNotFoundError, match="is a file, not a table folder") as info:
        lakehouse.open_table(table_uri)
    _no_internals(str(info.value))
    with pytest.raises(lakehouse.TableNotFoundError, match="is a file, not a table folder"):
        lakehouse.open_table(table_uri, version=0)


@pytest.mark.parametrize("store", ["memory", "local"])  # on S3 a key and a prefix may share a name
def test_creating_a_table_on_a_file_or_below_one_says_so(store, tmp_path):
    base = _memory_uri() if store == "memory" else str(tmp_path)
    _put_file(f"{base}/data.csv")
    schema = pa.schema([("a", pa.int64())])
    with pytest.raises(lakehouse.TableNotFoundError, match="data.csv is a file, not a table folder") as info:
        lakehouse.create_table(f"{base}/data.csv", schema=schema)
    _no_internals(str(info.value))
    for call in (lambda: lakehouse.create_table(f"{base}/data.csv/t", schema=schema),
                 lambda: lakehouse.open_table(f"{base}/data.csv/t")):
        with pytest.raises(lakehouse.TableNotFoundError, match=r"no table at .*/t: .*data.csv is a file") as info:
            call()
        _no_internals(str(info.value))


def test_a_folder_that_is_not_a_table_says_so(table_uri):
    with pytest.raises(lakehouse.TableNotFoundError, match="nothing is there"):
        lakehouse.open_table(table_uri)
    _put_file(f"{table_uri}/part-0.parquet")
    with pytest.raises(lakehouse.TableNotFoundError, match="is a folder but not a table") as info:
        lakehouse.open_table(table_uri)
    _no_internals(str(info.value))


def test_an_empty_folder_is_not_a_table(tmp_path):
    with pytest.raises(lakehouse.TableNotFoundError, match="the folder is empty"):
        lakehouse.open_table(str(tmp_path))


def test_as_of_on_a_log_whose_start_was_removed(table_uri):
    """After a checkpoint, old entries may be removed: as_of still finds versions by the entries
    kept (before, every as_of older than the newest commit failed), and an earlier one names the
    oldest version kept."""
    t = lakehouse.create_table(table_uri, schema=pa.schema([("v", pa.int64())]),
                               properties={"checkpoint.interval": "2"})
    for v in range(5):
        time.sleep(0.005)
        t.append(pa.table({"v": [v]}))
    stamps = [e.timestamp for e in reversed(t.history())]
    store = Store.from_uri(table_uri)
    for v in range(3):
        store.delete(log_path(v))
    assert t.at(as_of=stamps[3]).version == 3 and t.at(as_of=stamps[4]).version == 4
    with pytest.raises(lakehouse.VersionNotFoundError, match=r"the oldest version still in its log \(3\)"):
        t.at(as_of=stamps[3] - dt.timedelta(milliseconds=1))


@pytest.mark.s3
def test_a_missing_bucket_says_so(s3):
    """A typo in the bucket name was a raw FileNotFoundError ('The specified bucket does not exist')."""
    uri = "s3://no-such-bucket-lakehouse/events"
    with pytest.raises(lakehouse.TableNotFoundError, match="the bucket 'no-such-bucket-lakehouse' does not exist"):
        lakehouse.open_table(uri)
    with pytest.raises(lakehouse.TableNotFoundError, match="does not exist"):
        lakehouse.create_table(uri, schema=pa.schema([("a", pa.int64())]))


@pytest.mark.parametrize("uri", [None, 3, b"/tmp/table"])
def test_a_uri_that_is_not_text_or_a_path(uri):
    with pytest.raises(lakehouse.InvalidArgumentError, match="the table URI must be a string or a path"):
        lakehouse.open_table(uri)


def test_a_pathlib_path_is_a_uri(tmp_path):
    lakehouse.create_table(tmp_path / "t", schema=pa.schema([("a", pa.int64())]))
    assert lakehouse.open_table(tmp_path / "t").version == 0


def test_update_partitioning_takes_one_string_or_none_and_refuses_other_kinds():
    t = lakehouse.create_table(_memory_uri(), schema=pa.schema([("ts", pa.timestamp("us"))]))
    t.update_partitioning("day(ts)")  # one term, not its characters
    assert t.history(limit=1)[0].parameters["partition_by"] == ["day(ts)"]
    assert t.partition_spec.describe(t.schema) == "day(ts)"
    t.update_partitioning(None)
    assert t.partition_spec.is_unpartitioned
    for bad in (5, [1, 2], b"day(ts)"):
        with pytest.raises(lakehouse.InvalidPartitionSpecError, match="partition_by must be a list of strings"):
            t.update_partitioning(bad)


@pytest.mark.parametrize("bad", [-1, "3", 1.5, True])
def test_history_limit_must_be_a_whole_number(bad):
    t, _ = _table(_memory_uri(), 1)
    with pytest.raises(lakehouse.InvalidArgumentError, match="limit must be a whole number"):
        t.history(limit=bad)
    assert t.history(limit=0) == [] and len(t.history(limit=None)) == 2


def test_create_table_takes_one_partition_string_as_one_term():
    t = lakehouse.create_table("memory://user-errors/one-term", schema=pa.schema([("ts", pa.timestamp("us"))]),
                     partition_by="day(ts)")
    assert t.partition_spec.describe(t.schema) == "day(ts)"
    assert t.history()[0].parameters["partition_by"] == ["day(ts)"]


@pytest.mark.parametrize("where, says", [
    ("x IS", "ends after IS"), ("x = ?", "placeholders"), ("x = :a", "placeholders"),
    ("x = INTERVAL 1 DAY", "not supported"), ("x IS DISTINCT FROM 1", "not supported"), ("*", "not supported"),
])
def test_unsupported_where_shapes_are_named_in_sql_terms(where, says):
    t = lakehouse.create_table(f"memory://user-errors/shapes-{uuid.uuid4().hex}", schema={"x": "int64"})
    with pytest.raises(lakehouse.InvalidExpressionError, match=says) as info:
        t.scan(where=where)
    assert "<class" not in str(info.value) and "Interval" not in str(info.value) and "Star" not in str(info.value)
