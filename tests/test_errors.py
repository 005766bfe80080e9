import os

import pyarrow as pa
import pytest

import lakehouse
from lakehouse.format.log import log_path

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])


def test_every_error_is_a_lakehouse_error():
    for name in lakehouse.__all__:
        obj = getattr(lakehouse, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, lakehouse.LakehouseError), name


def test_public_surface_is_declared():
    assert sorted(set(lakehouse.__all__)) == sorted(lakehouse.__all__)
    for name in lakehouse.__all__:
        assert hasattr(lakehouse, name), name


def test_table_not_found(table_uri):
    with pytest.raises(lakehouse.TableNotFoundError):
        lakehouse.open_table(table_uri)


def test_table_exists(table_uri):
    lakehouse.create_table(table_uri, schema=SCHEMA)
    with pytest.raises(lakehouse.TableExistsError):
        lakehouse.create_table(table_uri, schema=SCHEMA)


def test_schema_mismatch_names_the_columns_and_commits_nothing(table_uri):
    t = lakehouse.create_table(table_uri, schema=SCHEMA)
    bad = pa.table({"id": ["not a number"], "name": ["x"], "extra": [1]})
    with pytest.raises(lakehouse.SchemaMismatchError) as e:
        t.append(bad)
    assert "id" in str(e.value) and "extra" in str(e.value) and "name" not in str(e.value).split(":")[1]
    assert t.refresh().version == 0


def test_required_column_nulls_rejected(table_uri):
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False)])
    t = lakehouse.create_table(table_uri, schema=schema)
    with pytest.raises(lakehouse.SchemaMismatchError, match="id"):
        t.append(pa.table({"id": pa.array([1, None], pa.int64())}))
    with pytest.raises(lakehouse.SchemaMismatchError, match="id"):
        t.append(pa.table({"other": [1]}))


def test_invalid_expression_names_unknown_column(table_uri):
    t = lakehouse.create_table(table_uri, schema=SCHEMA)
    with pytest.raises(lakehouse.InvalidExpressionError, match="nope"):
        t.scan(where="nope = 1")
    with pytest.raises(lakehouse.InvalidExpressionError):
        t.scan(where="id = = 1")
    with pytest.raises(lakehouse.ColumnNotFoundError, match="nope"):
        t.scan(columns=["nope"])


def test_unsupported_protocol_refused(local_uri):
    lakehouse.create_table(local_uri, schema=SCHEMA)
    import orjson
    entry = {"version": 1, "commit_info": {"timestamp": 2**41, "operation": "upgrade"},
             "actions": [{"protocol": {"reader_version": 7, "writer_version": 7,
                                       "reader_features": ["time_machine"], "writer_features": []}}]}
    with open(os.path.join(local_uri, log_path(1)), "wb") as f:
        f.write(orjson.dumps(entry))
    with pytest.raises(lakehouse.UnsupportedFeatureError, match="reader version 7"):
        lakehouse.open_table(local_uri)


def test_writer_protocol_refused(local_uri):
    t = lakehouse.create_table(local_uri, schema=SCHEMA)
    import orjson
    entry = {"version": 1, "commit_info": {"timestamp": 2**41, "operation": "upgrade"},
             "actions": [{"protocol": {"reader_version": 1, "writer_version": 9,
                                       "reader_features": [], "writer_features": ["x"]}}]}
    with open(os.path.join(local_uri, log_path(1)), "wb") as f:
        f.write(orjson.dumps(entry))
    t2 = lakehouse.open_table(local_uri)  # still readable
    assert t2.scan().count() == 0
    with pytest.raises(lakehouse.UnsupportedFeatureError, match="writer version 9"):
        t2.append(pa.table({"id": [1], "name": ["a"]}))
    with pytest.raises(lakehouse.UnsupportedFeatureError):  # a stale handle learns it while rebasing
        t.append(pa.table({"id": [1], "name": ["a"]}))


def test_corrupt_log_entry(local_uri):
    lakehouse.create_table(local_uri, schema=SCHEMA)
    with open(os.path.join(local_uri, log_path(1)), "wb") as f:
        f.write(b"{not json")
    with pytest.raises(lakehouse.CorruptTableError, match="1"):
        lakehouse.open_table(local_uri)


def test_unsafe_store_is_refused():
    import fsspec
    from lakehouse.io.commit_primitives import choose

    class Fake(fsspec.AbstractFileSystem):
        protocol = "weird"

    with pytest.raises(lakehouse.AtomicCommitUnsupportedError, match="unsafe_single_writer"):
        choose(Fake(), unsafe_single_writer=False, conditional_put=None, fsync=False)
    assert not choose(Fake(), unsafe_single_writer=True, conditional_put=None, fsync=False).atomic


def test_bad_arguments_are_lakehouse_errors(table_uri):
    import datetime as dt
    t = lakehouse.create_table(table_uri, schema=SCHEMA)
    with pytest.raises(lakehouse.InvalidArgumentError, match="schema_mode"):
        t.append(pa.table({"id": [1], "name": ["a"]}), schema_mode="loose")
    with pytest.raises(lakehouse.InvalidArgumentError):
        t.scan(version=0, as_of=dt.datetime.now(dt.timezone.utc))
    with pytest.raises(lakehouse.InvalidArgumentError, match="row dicts, not int"):
        t.append([1, 2, 3])
