"""Time-travel clauses of a table reference: which version of the table it reads.

sqlglot (DuckDB dialect) parses every form the adapter accepts into the reference's
arguments, so the clause is read from the tree and removed from it, never cut out of the text:

    FROM t VERSION AS OF 3            FROM t FOR VERSION AS OF 3        FROM t AT (VERSION => 3)
    FROM t TIMESTAMP AS OF '2024-03-01 10:00'    FROM t FOR SYSTEM_TIME AS OF TIMESTAMPTZ '...'
    FROM t AT (TIMESTAMP => now() - INTERVAL 1 DAY)
    FROM t VERSION AS OF 'month-end'  (a string names a tag)

A version is a whole number; a string under VERSION is a tag name. A time may be any DuckDB
expression: DuckDB casts it to TIMESTAMPTZ, so a time without a zone is in the session's
TimeZone (DuckDB's rule), and the newest version committed at or before it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from ..errors import InvalidArgumentError
from ..format.refs import resolve_ref


@dataclass(frozen=True, slots=True)
class Travel:
    """A reference's time-travel clause: `kind` "VERSION" or "TIMESTAMP", and its value's SQL."""
    kind: str
    value: exp.Expression


def take_travel(table: exp.Table) -> Travel | None:
    """The time-travel clause of `table`, removed from it (None if it has none).

    >>> import sqlglot
    >>> t = sqlglot.parse_one("SELECT * FROM s.t AT (VERSION => 3)", read="duckdb").find(exp.Table)
    >>> take_travel(t).value.sql(), t.sql()
    ('3', 's.t')
    """
    version, when = table.args.get("version"), table.args.get("when")
    if version is not None:
        if str(version.args.get("kind", "")).upper() != "AS OF":
            raise InvalidArgumentError(
                f"{version.sql(dialect='duckdb')!r}: only AS OF time travel is supported (for the rows "
                "changed between versions, use Table.changes())")
        table.set("version", None)
        return Travel(kind=str(version.this).upper(), value=version.expression)
    if isinstance(when, exp.HistoricalData):
        kind = str(when.args.get("kind", "")).upper()
        if str(when.this).upper() != "AT" or kind not in ("VERSION", "TIMESTAMP"):
            raise InvalidArgumentError(
                f"{when.sql(dialect='duckdb')!r}: use AT (VERSION => n) or AT (TIMESTAMP => time)")
        table.set("when", None)
        return Travel(kind=kind, value=when.expression)
    return None


def travel_table(table: Any, travel: Travel, con: Any) -> Any:
    """The handle on the version `travel` names, from `table` (a handle on the newest version);
    `con` evaluates the clause's value. VersionNotFoundError if there is no such version."""
    value = con.execute(f"SELECT {_cast(travel).sql(dialect='duckdb')}").fetchall()[0][0]
    if travel.kind == "TIMESTAMP":
        return table.at(as_of=value)
    if isinstance(value, str):
        return table.at(version=resolve_ref(table.state, value))
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(
            f"VERSION AS OF takes a version number or a tag name, not {travel.value.sql(dialect='duckdb')!r}")
    return table.at(version=value)


def _cast(travel: Travel) -> exp.Expression:
    if travel.kind == "TIMESTAMP":
        return exp.cast(travel.value.copy(), exp.DataType.build("TIMESTAMPTZ"))
    if travel.kind != "VERSION":
        raise InvalidArgumentError(f"unknown time travel kind {travel.kind!r}: use VERSION or TIMESTAMP")
    return travel.value.copy()
