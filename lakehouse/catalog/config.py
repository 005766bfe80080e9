"""The default catalog, from configuration (spec/format.md, "Catalogs").

Looked up in this order, when asked for the default catalog (`load_catalog()`):
1. `$LAKEHOUSE_CATALOG`: the catalog's URI (its warehouse is the backend's default);
2. the config file, `$LAKEHOUSE_CONFIG` or `<user config folder>/lakehouse/config.toml`
   (`$XDG_CONFIG_HOME` or `~/.config` on Linux and macOS, `%APPDATA%` on Windows), table
   `[catalog.default]`;
3. the embedded default: `sqlite:///./warehouse/catalog.db` with warehouse `./warehouse`.

A named catalog (`load_catalog("prod")`) comes from `[catalog.prod]` only. A catalog's table has
`uri` (required), optional `warehouse`, and optional `storage_options` (a table of strings):

    [catalog.default]
    uri = "sqlite:////data/lake/catalog.db"
    warehouse = "s3://bucket/lake"
    storage_options = { endpoint_url = "http://127.0.0.1:9000" }

Relative paths are relative to the current folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Mapping

from ..errors import InvalidArgumentError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib
from . import Catalog, connect, names

DEFAULT_NAME = "default"
DEFAULT_URI = "sqlite:///./warehouse/catalog.db"
DEFAULT_WAREHOUSE = "./warehouse"
ENV_CATALOG = "LAKEHOUSE_CATALOG"
ENV_CONFIG = "LAKEHOUSE_CONFIG"


def load_catalog(name: str | None = None) -> Catalog:
    """The catalog configured as `name` (default: the default catalog; see the module's text).

    >>> import os
    >>> from lakehouse import catalog
    >>> os.environ["LAKEHOUSE_CATALOG"] = "memory://docs/catalog-load-default"
    >>> catalog.load_catalog().uri
    'memory://docs/catalog-load-default'
    >>> del os.environ["LAKEHOUSE_CATALOG"]
    """
    if name is not None and (not isinstance(name, str) or not name):
        raise InvalidArgumentError(f"a catalog name is a non-empty string, not {name!r}")
    if name in (None, DEFAULT_NAME) and os.environ.get(ENV_CATALOG):
        return connect(os.environ[ENV_CATALOG])
    path, explicit = config_path()
    entries = _read_config(path, explicit)
    entry = entries.get(name or DEFAULT_NAME)
    if entry is None:
        if name not in (None, DEFAULT_NAME):
            raise InvalidArgumentError(f"no catalog {name!r} is configured in {path} (add a [catalog.{name}] table)")
        return connect(DEFAULT_URI, warehouse=DEFAULT_WAREHOUSE)
    return _connect_entry(name or DEFAULT_NAME, entry, path)


def config_path() -> tuple[Path, bool]:
    """The config file to read, and whether `$LAKEHOUSE_CONFIG` named it.

    >>> import os
    >>> os.environ["LAKEHOUSE_CONFIG"] = "/etc/lh.toml"
    >>> path, explicit = config_path(); path.as_posix(), explicit
    ('/etc/lh.toml', True)
    >>> del os.environ["LAKEHOUSE_CONFIG"]
    """
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG]).expanduser(), True
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "lakehouse" / "config.toml", False


def resolve(text: str, storage_options: Mapping[str, Any] | None = None) -> str:
    """What `lh` opens for `text`: a URI or an existing path as is; `namespace.table` as that
    table's location in the default catalog (TableNotFoundError if it has none); anything
    else as is. `storage_options` are not needed to read the catalogs of this version.

    >>> resolve("s3://bucket/tables/orders")
    's3://bucket/tables/orders'
    """
    if not isinstance(text, str) or "://" in text or os.path.exists(text) or not names.is_table_name(text):
        return text
    return load_catalog().table_location(text)


def _read_config(path: Path, explicit: bool) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            config = tomllib.load(f)
    except FileNotFoundError:
        if explicit:
            raise InvalidArgumentError(f"${ENV_CONFIG} names {path}, which does not exist") from None
        return {}
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InvalidArgumentError(f"cannot read the lakehouse config {path}: {e}") from None
    catalogs = config.get("catalog", {})
    if not isinstance(catalogs, dict):
        raise InvalidArgumentError(f"{path}: 'catalog' must be a table of catalogs ([catalog.<name>])")
    return catalogs


def _connect_entry(name: str, entry: object, path: Path) -> Catalog:
    where = f"{path}: [catalog.{name}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("uri"), str):
        raise InvalidArgumentError(f"{where} needs uri = \"...\"")
    unknown = set(entry) - {"uri", "warehouse", "storage_options"}
    if unknown:
        raise InvalidArgumentError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    warehouse = entry.get("warehouse")
    options = entry.get("storage_options", {})
    if warehouse is not None and not isinstance(warehouse, str):
        raise InvalidArgumentError(f"{where}: warehouse must be a string")
    if not isinstance(options, dict):
        raise InvalidArgumentError(f"{where}: storage_options must be a table")
    return connect(entry["uri"], warehouse=warehouse, storage_options=options)
