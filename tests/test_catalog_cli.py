"""`lh catalog ...`, `ns.table` wherever `lh` takes a URI, and how the default catalog is found
(environment, config file, embedded default)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import uuid

import pyarrow as pa
import pytest

import lakehouse
from lakehouse import catalog
from lakehouse.catalog.sql import SqlCatalog
from lakehouse.cli import main
from lakehouse.errors import InvalidArgumentError, TableNotFoundError


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No configuration from the machine running the tests: an empty config folder, no variables."""
    monkeypatch.delenv("LAKEHOUSE_CATALOG", raising=False)
    monkeypatch.delenv("LAKEHOUSE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
    monkeypatch.setenv("APPDATA", str(tmp_path / "config-home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---------------------------------------------------------------- the default catalog
def test_embedded_default(clean_env):
    cat = catalog.load_catalog()
    assert isinstance(cat, SqlCatalog) and cat.warehouse == str(clean_env / "warehouse")
    cat.create_namespace("sales")
    assert (clean_env / "warehouse" / "catalog.db").exists()


def test_environment_variable_wins(clean_env, monkeypatch):
    _write_config(clean_env / "config-home" / "lakehouse" / "config.toml", "sqlite:///from-file.db")
    monkeypatch.setenv("LAKEHOUSE_CATALOG", f"memory://cli-tests/{uuid.uuid4().hex}")
    assert catalog.load_catalog().uri == os.environ["LAKEHOUSE_CATALOG"]
    monkeypatch.delenv("LAKEHOUSE_CATALOG")
    assert catalog.load_catalog().uri == "sqlite:///from-file.db"


def test_config_file_and_named_catalogs(clean_env, monkeypatch):
    path = clean_env / "lh.toml"
    path.write_text(f"""
[catalog.default]
uri = "file://{clean_env}/files"
warehouse = "{clean_env}/tables"

[catalog.prod]
uri = "sqlite:///prod/catalog.db"
storage_options = {{ fsync = "false" }}
""")
    monkeypatch.setenv("LAKEHOUSE_CONFIG", str(path))
    default = catalog.load_catalog()
    assert default.uri == f"file://{clean_env}/files" and default.warehouse == str(clean_env / "tables")
    prod = catalog.load_catalog("prod")
    assert isinstance(prod, SqlCatalog) and prod.warehouse == str(clean_env / "prod")
    assert prod._storage_options == {"fsync": "false"}
    with pytest.raises(InvalidArgumentError, match="no catalog 'dev'"):
        catalog.load_catalog("dev")


@pytest.mark.parametrize("text,problem", [
    ("[catalog.default]\nwarehouse = 'x'\n", "needs uri"),
    ("[catalog.default]\nuri = 'memory://x'\ncolour = 'red'\n", "unknown keys: colour"),
    ("catalog = 3\n", "table of catalogs"),
    ("[catalog.default\n", "cannot read"),
])
def test_bad_config_files_say_what_is_wrong(clean_env, monkeypatch, text, problem):
    (clean_env / "lh.toml").write_text(text)
    monkeypatch.setenv("LAKEHOUSE_CONFIG", str(clean_env / "lh.toml"))
    with pytest.raises(InvalidArgumentError, match=problem):
        catalog.load_catalog()


def test_a_missing_explicit_config_file_is_an_error(clean_env, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_CONFIG", str(clean_env / "missing.toml"))
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        catalog.load_catalog()


def test_resolve(clean_env, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_CATALOG", f"memory://cli-tests/{uuid.uuid4().hex}")
    cat = catalog.load_catalog()
    cat.create_namespace("sales")
    t = cat.create_table("sales.orders", schema={"id": "int64"})
    assert catalog.resolve("sales.orders") == catalog.resolve("SALES.orders") == t.uri
    assert catalog.resolve("s3://bucket/sales.orders") == "s3://bucket/sales.orders"
    assert catalog.resolve("./data/orders") == "./data/orders"  # not a name: as is
    (clean_env / "sales.local").mkdir()
    assert catalog.resolve("sales.local") == "sales.local"  # an existing path wins over a name
    with pytest.raises(TableNotFoundError):
        catalog.resolve("sales.missing")


# ---------------------------------------------------------------- lh catalog
def test_lh_catalog_commands(clean_env):
    uri = f"sqlite:///{clean_env}/cat/c.db"  # warehouse: cat/, so legacy/ is outside
    legacy = lakehouse.create_table(str(clean_env / "legacy"), schema=pa.schema([("id", pa.int64())]))
    legacy.append(pa.table({"id": [1, 2]}))
    assert _run("catalog", "--catalog", uri, "create-namespace", "sales", "-p", "owner=fin")[0] == 0
    code, out, _ = _run("catalog", "namespaces", "--catalog", uri, "--json")
    assert code == 0 and json.loads(out) == [{"namespace": "sales", "properties": {"owner": "fin"}}]
    assert _run("catalog", "--catalog", uri, "register", "sales.legacy", str(clean_env / "legacy"))[0] == 0
    assert _run("catalog", "--catalog", uri, "rename", "sales.legacy", "sales.old")[0] == 0
    code, out, _ = _run("--json", "catalog", "--catalog", uri, "tables")
    assert json.loads(out) == [{"table": "sales.old", "location": str(clean_env / "legacy")}]
    code, _, err = _run("catalog", "--catalog", uri, "drop", "sales.old", "--purge")
    assert code == 1 and "outside the warehouse" in err and err.count("\n") == 1
    assert _run("catalog", "--catalog", uri, "drop", "sales.old")[0] == 0
    assert lakehouse.open_table(str(clean_env / "legacy")).version == 1  # files kept
    assert _run("catalog", "--catalog", uri, "drop-namespace", "sales")[0] == 0
    code, _, err = _run("catalog", "--catalog", uri, "tables", "sales")
    assert code == 1 and err.startswith("error: no namespace 'sales'")


def test_lh_catalog_uses_the_default_catalog(clean_env):
    assert _run("catalog", "create-namespace", "tmp")[0] == 0
    assert catalog.load_catalog().list_namespaces() == ["tmp"]
    code, _, err = _run("catalog", "register", "tmp.x", str(clean_env / "nothing"))
    assert code == 1 and "no table" in err


def test_lh_takes_a_table_name_where_it_takes_a_uri(clean_env, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_CATALOG", str(clean_env / "files"))
    cat = catalog.load_catalog()
    cat.create_namespace("sales")
    cat.create_table("sales.orders", schema={"id": "int64"}).append(pa.table({"id": [1, 2, 3]}))
    code, out, _ = _run("info", "sales.orders", "--json")
    assert code == 0 and json.loads(out)["rows"] == 3
    code, out, _ = _run("history", "sales.orders", "--json")
    assert code == 0 and [h["version"] for h in json.loads(out)] == [1, 0]
    code, _, err = _run("info", "sales.missing")
    assert code == 1 and "no table sales.missing" in err


def _write_config(path, uri: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[catalog.default]\nuri = "{uri}"\n')
