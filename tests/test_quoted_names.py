"""Column names holding dots, spaces, quotes and other characters, in `where`, `columns` and
`partition_by`. In `where` and `partition_by` a quoted name is one name and `a.b` is the child
b of struct a; `columns` takes top-level names verbatim."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse
from lakehouse.errors import ColumnNotFoundError, InvalidExpressionError, InvalidPartitionSpecError

# A top-level "a.b" beside a struct a with a child b: the case a dotted name would confuse.
SCHEMA = pa.schema([
    ("a.b", pa.int64()),
    ("a", pa.struct([("b", pa.int64())])),
    ("my col", pa.string()),
    ('say "hi"', pa.int32()),
    ("naïve.日本", pa.int32()),
])


def _data(n: int = 6) -> pa.Table:
    return pa.table([
        pa.array(range(n), pa.int64()),
        pa.array([{"b": 100 + i} for i in range(n)], SCHEMA.field("a").type),
        pa.array([f"v{i}" for i in range(n)]),
        pa.array([i % 3 for i in range(n)], pa.int32()),
        pa.array([-i for i in range(n)], pa.int32()),
    ], schema=SCHEMA)


@pytest.fixture
def table(table_uri):
    t = lakehouse.create_table(table_uri, schema=SCHEMA)
    t.append(_data())
    return t


def _ids(table, where: str) -> list[int]:
    return sorted(table.scan(where=where).to_arrow()["a.b"].to_pylist())


def test_a_quoted_dotted_name_is_one_name(table):
    assert _ids(table, '"a.b" = 1') == [1]  # the top-level column, not a's child
    assert _ids(table, "a.b = 101") == [1]  # the struct child
    assert _ids(table, '"a"."b" = 102') == [2]
    assert _ids(table, '"a.b" = 101') == []


def test_names_with_spaces_quotes_and_unicode(table):
    assert _ids(table, "\"my col\" = 'v3'") == [3]
    assert _ids(table, '"say ""hi""" = 2') == [2, 5]
    assert _ids(table, '"naïve.日本" < -3') == [4, 5]
    assert table.scan(where='"naïve.日本" IS NULL').count() == 0


def test_unquoted_dotted_name_never_falls_back_to_a_top_level_name(table_uri):
    t = lakehouse.create_table(table_uri, schema=pa.schema([("x.y", pa.int32())]))
    with pytest.raises(InvalidExpressionError, match='write "x.y"'):
        t.scan(where="x.y = 1")
    assert t.scan(where='"x.y" = 1').count() == 0


def test_columns_take_top_level_names_verbatim(table):
    out = table.scan(columns=["a.b", "naïve.日本", 'say "hi"']).to_arrow()
    assert out.column_names == ["a.b", "naïve.日本", 'say "hi"']
    assert out["a.b"].to_pylist() == list(range(6))
    with pytest.raises(ColumnNotFoundError, match="select 'a' for its children"):
        table.scan(columns=["a.c"])


@pytest.mark.parametrize("partition_by, source", [
    (['"a.b"'], "a.b"), (["`a.b`"], "a.b"), (["a.b"], ("a", "b")), (['"a"."b"'], ("a", "b")),
    (['bucket(4, "a.b")'], "a.b"), (['truncate("say ""hi""", 2)'], 'say "hi"'), (['identity("my col")'], "my col"),
    (['"naïve.日本"'], "naïve.日本"),
])
def test_partition_by_resolves_quoted_names(table_uri, partition_by, source):
    t = lakehouse.create_table(table_uri, schema=SCHEMA, partition_by=partition_by)
    t.append(_data())
    path = (source,) if isinstance(source, str) else source
    assert t.schema.path_of(t.partition_spec.fields[0].source_id) == path
    assert _ids(t, '"a.b" = 1') == [1]
    assert _ids(t, "a.b >= 104") == [4, 5]


@pytest.mark.parametrize("bad", ['"unterminated', 'day("a.b"', "a..b", '"a.b"x', "bucket(4, )"])
def test_malformed_partition_names_are_refused(table_uri, bad):
    with pytest.raises(InvalidPartitionSpecError):
        lakehouse.create_table(table_uri, schema=SCHEMA, partition_by=[bad])


NAMES = st.text(st.sampled_from(list("ab.c _\"'-,()é日")), min_size=1, max_size=8)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(NAMES, min_size=2, max_size=2, unique_by=str.lower), partitioned=st.booleans())
def test_any_name_works_quoted(names, partitioned):
    key, other = names
    schema = pa.schema([(key, pa.int32()), (other, pa.string())])
    uri = f"memory://tests/{uuid.uuid4().hex}/t"
    t = lakehouse.create_table(uri, schema=schema, partition_by=[f"bucket(3, {_quoted(key)})"] if partitioned else None)
    t.append(pa.table([pa.array(range(8), pa.int32()), pa.array([f"s{i}" for i in range(8)])], schema=schema))
    assert sorted(t.scan(where=f"{_quoted(key)} >= 5").to_arrow()[key].to_pylist()) == [5, 6, 7]
    assert t.scan(where=f"{_quoted(other)} = 's2'", columns=[other]).to_arrow()[other].to_pylist() == ["s2"]
    assert t.scan(columns=[key, other]).to_arrow().column_names == [key, other]
