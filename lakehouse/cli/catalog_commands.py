"""`lh catalog ...`: namespaces and table names in a catalog (the default one unless --catalog).

    lh catalog namespaces                       lh catalog tables [NS]
    lh catalog create-namespace NS [-p K=V]     lh catalog register NAME URI
    lh catalog drop-namespace NS                lh catalog rename OLD NEW
                                                lh catalog drop NAME [--purge]
"""

from __future__ import annotations

from typing import Any

import click

from .. import catalog as catalogs
from .app import KeyValue, LhGroup, Run, _shared_options, examples, lh

_CATALOG_KEY = "lakehouse.catalog_uri"


def _remember_catalog(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.meta[_CATALOG_KEY] = value
    return value


def _catalog_option() -> click.Option:
    return click.Option(["--catalog", "catalog_uri"], default=None, expose_value=False, callback=_remember_catalog,
                        metavar="URI", help="The catalog (sqlite:///path.db, file://folder, s3://...); default: "
                        "$LAKEHOUSE_CATALOG, then the config file, then sqlite:///./warehouse/catalog.db.")


class CatalogCommand(LhGroup.command_class):  # type: ignore[misc, valid-type]
    """A catalog command: also accepts --catalog after its name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_catalog_option())


class CatalogGroup(LhGroup):
    command_class = CatalogCommand


def _open(ctx: click.Context, run: Run) -> catalogs.Catalog:
    uri = ctx.meta.get(_CATALOG_KEY)
    if uri is None:
        return catalogs.load_catalog()
    return catalogs.connect(uri, storage_options=run.options or None)


@lh.group(cls=CatalogGroup, params=[*_shared_options(), _catalog_option()],
          epilog=examples("lh catalog create-namespace sales && lh catalog register sales.orders ./warehouse/events",
                          "lh catalog tables sales --json", "lh info sales.orders"))
def catalog() -> None:
    """Tables by name: namespaces and the tables registered in a catalog."""


@catalog.command()
@click.pass_context
def namespaces(ctx: click.Context) -> None:
    """The catalog's namespaces and their properties."""
    run: Run = ctx.obj
    cat = _open(ctx, run)
    run.output.rows(["namespace", "properties"], [(ns, cat.namespace_properties(ns)) for ns in cat.list_namespaces()])


@catalog.command("create-namespace")
@click.argument("namespace")
@click.option("--property", "-p", "properties", type=KeyValue(), multiple=True, help="A property (repeatable).")
@click.pass_context
def create_namespace(ctx: click.Context, namespace: str, properties: tuple[tuple[str, str], ...]) -> None:
    """Create NAMESPACE."""
    run: Run = ctx.obj
    _open(ctx, run).create_namespace(namespace, dict(properties))
    run.output.record(f"created namespace {namespace.lower()}",
                      {"namespace": namespace.lower(), "properties": dict(properties)})


@catalog.command("drop-namespace")
@click.argument("namespace")
@click.pass_context
def drop_namespace(ctx: click.Context, namespace: str) -> None:
    """Drop NAMESPACE (it must hold no tables)."""
    run: Run = ctx.obj
    _open(ctx, run).drop_namespace(namespace)
    run.output.record(f"dropped namespace {namespace.lower()}", {"namespace": namespace.lower()})


@catalog.command()
@click.argument("namespace", required=False)
@click.pass_context
def tables(ctx: click.Context, namespace: str | None) -> None:
    """The tables of NAMESPACE (of every namespace without one), with their locations."""
    run: Run = ctx.obj
    cat = _open(ctx, run)
    spaces = [namespace] if namespace is not None else cat.list_namespaces()
    names = [name for ns in spaces for name in cat.list_tables(ns)]
    run.output.rows(["table", "location"], [(name, cat.table_location(name)) for name in names])


@catalog.command()
@click.argument("name")
@click.argument("uri")
@click.pass_context
def register(ctx: click.Context, name: str, uri: str) -> None:
    """Register the existing table at URI as NAME (namespace.table)."""
    run: Run = ctx.obj
    cat = _open(ctx, run)
    table = cat.register_table(name, uri)
    run.output.record(f"registered {name.lower()}", {"table": name.lower(), "location": cat.table_location(name),
                                                     "version": table.version})


@catalog.command()
@click.argument("old")
@click.argument("new")
@click.pass_context
def rename(ctx: click.Context, old: str, new: str) -> None:
    """Rename table OLD to NEW (its files stay where they are)."""
    run: Run = ctx.obj
    cat = _open(ctx, run)
    cat.rename_table(old, new)
    run.output.record(f"renamed {old.lower()} to {new.lower()}",
                      {"table": new.lower(), "location": cat.table_location(new)})


@catalog.command()
@click.argument("name")
@click.option("--purge", is_flag=True, default=False,
              help="Also delete the table's files (only for a table inside the warehouse).")
@click.pass_context
def drop(ctx: click.Context, name: str, purge: bool) -> None:
    """Remove NAME from the catalog; its files stay unless --purge."""
    run: Run = ctx.obj
    cat = _open(ctx, run)
    location = cat.table_location(name)
    cat.drop_table(name, purge=purge)
    run.output.record(f"dropped {name.lower()}" + (" and deleted its files" if purge else ""),
                      {"table": name.lower(), "location": location, "purged": purge})
