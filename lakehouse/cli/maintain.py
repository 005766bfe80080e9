"""The commands that maintain a table: compact, vacuum, expire, checkpoint, restore, tag, tags.
Each parses its arguments, calls the library (long work reports progress to the output) and
hands the typed result to the output; none prints by itself."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import click

from ..errors import InvalidArgumentError
from .app import Columns, Duration, FileSize, NonNegativeInt, PositiveInt, Run, examples, lh, open_table_at, table_uri
from .output import Size, format_size


def _fields(result: Any, *sizes: str) -> dict[str, Any]:
    """A metrics dataclass as output fields, its byte counts marked as sizes."""
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    return {k: Size(v) if k in sizes else v for k, v in fields.items()}


@lh.command(short_help="Rewrite small files into fewer, larger ones (optionally sorted).",
            epilog=examples("lh compact ./warehouse/events",
                            "lh compact ./warehouse/events --target-size 256MiB --where \"day < '2024-03-01'\"",
                            "lh compact ./warehouse/events --zorder-by user_id,ts"))
@table_uri
@click.option("--target-size", type=FileSize(), default=None,
              help="Size of the files to write, e.g. 128MiB (default: the table's write.target-file-size-bytes).")
@click.option("--where", default=None, metavar="SQL",
              help="Only compact the files holding rows that may match (e.g. older partitions).")
@click.option("--sort-by", type=Columns(), default=None,
              help="Sort the rewritten files by these columns, e.g. \"ts,user_id DESC\".")
@click.option("--zorder-by", type=Columns(), default=None,
              help="Cluster the rewritten files by these columns together (Z-order).")
@click.pass_obj
def compact(run: Run, uri: str, target_size: int | None, where: str | None,
            sort_by: tuple[str, ...] | None, zorder_by: tuple[str, ...] | None) -> None:
    """Bin-pack the small files of the table at URI, per partition, into files near the
    target size (rows deleted by deletion vectors are dropped on the way). The data does not
    change: earlier versions still read as before, and concurrent appends are not disturbed."""
    if sort_by and zorder_by:
        raise click.UsageError("pass --sort-by or --zorder-by, not both")
    table = open_table_at(run, uri)
    with run.output.progress("compacting") as progress:
        metrics = table.compact(target_size, where=where, sort_by=sort_by, zorder_by=zorder_by, progress=progress)
    title = f"compacted {table.uri}" if metrics.version is not None else f"{table.uri}: nothing to compact"
    run.output.record(title, _fields(metrics, "bytes_removed", "bytes_added"))


@lh.command(short_help="List (or delete) files no retained version needs.",
            epilog=examples("lh vacuum ./warehouse/events                      # dry run: lists what would go",
                            "lh vacuum ./warehouse/events --retain 14d --no-dry-run"))
@table_uri
@click.option("--retain", type=Duration(), default=None,
              help="Keep unreferenced files younger than this, e.g. 7d (default: the table's "
                   "vacuum.retention.minimum); shorter than that minimum needs --force.")
@click.option("--dry-run/--no-dry-run", default=True, show_default=True,
              help="List the files only (the default), or delete them.")
@click.option("--force", is_flag=True, default=False,
              help="Allow a retention below the table's safe minimum (a concurrent writer's new "
                   "files may be deleted before it commits).")
@click.pass_obj
def vacuum(run: Run, uri: str, retain: dt.timedelta | None, dry_run: bool, force: bool) -> None:
    """The files inside the table at URI that no retained version or tag references and that
    are older than the retention: listed (dry run, the default), or deleted with --no-dry-run."""
    table = open_table_at(run, uri)
    try:
        with run.output.activity("vacuum") as progress:
            result = table.vacuum(retain, dry_run=dry_run, force=force, progress=progress)
    except InvalidArgumentError as e:  # the library names its keyword; a shell user passes the flag
        raise InvalidArgumentError(str(e).replace("force=True", "--force")) from e
    verb = "would delete" if result.dry_run else "deleted"
    title = f"{verb} {len(result.files)} files ({format_size(result.bytes)}) from {table.uri}"
    run.output.record(title, {"files": list(result.files), "bytes": Size(result.bytes),
                              "dry_run": result.dry_run, "retention": result.retention})
    if result.dry_run and result.files:
        run.output.note("(a dry run: --no-dry-run deletes them)")


@lh.command(short_help="Forget old versions (time travel to them ends).",
            epilog=examples("lh checkpoint ./warehouse/events && lh expire ./warehouse/events --older-than 30d",
                            "lh expire ./warehouse/events --older-than 7d --retain-last 100"))
@table_uri
@click.option("--older-than", type=Duration(), required=True,
              help="Expire versions committed longer ago than this, e.g. 7d.")
@click.option("--retain-last", type=PositiveInt(), default=1, show_default=True,
              help="Always keep at least the newest N versions.")
@click.pass_obj
def expire(run: Run, uri: str, older_than: dt.timedelta, retain_last: int) -> None:
    """Expire the versions of the table at URI older than --older-than, keeping the newest
    --retain-last and every tagged version. Expiry never passes the newest checkpoint (a
    reader may be starting there): `lh checkpoint` first to expire up to now. The expired
    versions' files are deleted by a later `lh vacuum`."""
    table = open_table_at(run, uri)
    metrics = table.expire_snapshots(older_than=older_than, retain_last=retain_last)
    run.output.record(f"expired {metrics.versions_expired} versions of {table.uri}", _fields(metrics))


@lh.command(short_help="Write a checkpoint of the newest version.",
            epilog=examples("lh checkpoint ./warehouse/events"))
@table_uri
@click.pass_obj
def checkpoint(run: Run, uri: str) -> None:
    """Write a checkpoint of the newest version of the table at URI, so readers load it
    without replaying the log."""
    table = open_table_at(run, uri)
    version = table.checkpoint()
    run.output.record(f"checkpointed {table.uri} at version {version}", {"version": version})


@lh.command(short_help="Commit the table's data as it was at a past version.",
            epilog=examples("lh restore ./warehouse/events --version 12"))
@table_uri
@click.option("--version", "version", type=NonNegativeInt(), required=True, help="The version to restore.")
@click.pass_obj
def restore(run: Run, uri: str, version: int) -> None:
    """Commit, as a new version of the table at URI, its data as it was at --version (history
    is kept; nothing is committed when the table already matches)."""
    table = open_table_at(run, uri)
    summary = table.restore(version)
    run.output.record(f"restored {table.uri} to version {version}",
                      {"version": summary.version, "operation": summary.operation, "metrics": dict(summary.metrics)})


@lh.command(short_help="Name a version (or drop a name).",
            epilog=examples("lh tag ./warehouse/events release-1             # the newest version",
                            "lh tag ./warehouse/events audit --version 3 --replace",
                            "lh tag ./warehouse/events audit --drop"))
@table_uri
@click.argument("name")
@click.option("--version", "version", type=NonNegativeInt(), default=None,
              help="The version to name (default: the newest).")
@click.option("--replace", is_flag=True, default=False, help="Move an existing tag of that name.")
@click.option("--drop", is_flag=True, default=False, help="Remove the tag (the version stays).")
@click.pass_obj
def tag(run: Run, uri: str, name: str, version: int | None, replace: bool, drop: bool) -> None:
    """Name a version of the table at URI; `lh scan`, `lh info` and time travel by tag then
    find it, and expiry and vacuum keep it. Tags are listed by `lh tags`."""
    if drop and (version is not None or replace):
        raise click.UsageError("--drop takes no --version or --replace")
    table = open_table_at(run, uri)
    if drop:
        summary = table.drop_tag(name)
        run.output.record(f"dropped tag {name!r} of {table.uri}", {"name": name, "commit": summary.version})
        return
    tagged = version if version is not None else table.version  # before the tag's own commit
    summary = table.tag(name, tagged, replace=replace)
    run.output.record(f"tagged version {tagged} of {table.uri} {name!r}",
                      {"name": name, "version": tagged, "commit": summary.version})


@lh.command(short_help="The table's tags.", epilog=examples("lh tags ./warehouse/events --json"))
@table_uri
@click.pass_obj
def tags(run: Run, uri: str) -> None:
    """The tags of the table at URI: each name and the version it names."""
    run.output.rows(["name", "version"], sorted(open_table_at(run, uri).tags().items()))
