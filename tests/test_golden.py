"""Golden tables: a checked-in table written by format v1 must read the same forever, and
deliberately broken logs must fail with a clear lakehouse error, never a crash."""

import json
import os
import shutil

import pytest

import lakehouse

HERE = os.path.join(os.path.dirname(__file__), "golden")
INVALID = os.path.join(HERE, "invalid")


def _rows(table):
    return sorted((json.loads(json.dumps(r, default=str)) for r in table.to_pylist()), key=lambda r: r["id"])


@pytest.fixture
def golden(tmp_path):
    dst = tmp_path / "v1_events"
    shutil.copytree(os.path.join(HERE, "v1_events"), dst)  # a copy: tests must not touch the checked-in table
    with open(os.path.join(HERE, "v1_events.expected.json")) as f:
        return str(dst), json.load(f)


def test_golden_v1_table_reads_as_recorded(golden):
    uri, expected = golden
    t = lakehouse.open_table(uri)
    assert t.version == expected["version"]
    assert [f.name for f in t.schema.fields] == expected["schema"]
    assert _rows(t.scan().to_arrow()) == expected["rows"]
    assert _rows(t.scan(version=2).to_arrow()) == expected["rows_at_2"]
    for where, count in expected["count_where"].items():
        assert t.scan(where=where).count() == count


def test_golden_v1_table_accepts_new_commits(golden):
    uri, expected = golden
    t = lakehouse.open_table(uri)
    t.append(t.scan(version=expected["version"]).to_arrow().slice(0, 1))
    assert lakehouse.open_table(uri).scan().count() == len(expected["rows"]) + 1


@pytest.mark.parametrize("case, error", [
    ("version_mismatch", lakehouse.CorruptTableError),
    ("not_json", lakehouse.CorruptTableError),
    ("no_protocol", lakehouse.CorruptTableError),
    ("action_not_an_object", lakehouse.CorruptTableError),
    ("two_keys_in_action", lakehouse.CorruptTableError),
    ("future_reader", lakehouse.UnsupportedFeatureError),
    ("unknown_type", lakehouse.CorruptTableError),
    ("bad_add", lakehouse.CorruptTableError),
    ("missing_version_zero", lakehouse.VersionNotFoundError),
])
def test_invalid_logs_fail_cleanly(case, error):
    with pytest.raises(error):
        lakehouse.open_table(os.path.join(INVALID, case)).scan().to_arrow()
