"""Partition specs (Iceberg table spec, "Partitioning" and Appendix C's JSON shape), the user's
`partition_by` strings, and the values and directories a spec gives to rows.

Naming (pyiceberg's defaults, so two buckets of one column cannot collide): identity keeps the
source's dotted name; `ts_year`, `ts_month`, `ts_day`, `ts_hour`, `user_id_bucket_16`,
`sku_trunc_4`, `x_null` (void).

Directories are Hive style, `ts_day=2024-03-01/category=books`, with values in Iceberg's human
form (year "2024", month "2024-03", day "2024-03-01", hour "2024-03-01-10", binary as base64),
every name and value URL-quoted (so '/', '=', '%' and ':' cannot add levels or ambiguity) and
null written as `__HIVE_DEFAULT_PARTITION__`, which Hive, Spark and pyarrow read back as null
(a literal "null" would be read as the string "null"). The directory is for people and other
tools only: partition values live in the log.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Mapping, Sequence
from urllib.parse import quote

import pyarrow as pa

from ..errors import InvalidPartitionSpecError, SchemaMismatchError
from .columns import column_at, column_name
from .schema import Schema
from .transforms import (
    IDENTITY, VOID, BucketTransform, DayTransform, HourTransform, MonthTransform, Transform,
    TruncateTransform, YearTransform, _TimeTransform, parse_transform,
)
from .types import BINARY, BOOLEAN, DATE, TIME, DecimalType, TimestampType, Type, is_primitive, to_arrow_type

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionField:
    """One partition value: `transform` of the column `source_id`, stored under `field_id`."""

    source_id: int
    field_id: int
    name: str
    transform: Transform

    def describe(self, schema: Schema | None = None) -> str:
        """The field as `partition_by` writes it: `day(ts)`, `bucket(16, user_id)`; without a schema
        (or once its column is dropped) the source is named by id, `day(#2)`.

        >>> from lakehouse.format.transforms import parse_transform
        >>> PartitionField(source_id=2, field_id=1000, name="ts_day", transform=parse_transform("day")).describe()
        'day(#2)'
        """
        path = schema.path_of(self.source_id) if schema is not None else None
        source = column_name(path) if path else f"#{self.source_id}"
        t = self.transform
        if t == IDENTITY:
            return source
        if isinstance(t, BucketTransform):
            return f"bucket({t.num_buckets}, {source})"
        if isinstance(t, TruncateTransform):
            return f"truncate({t.width}, {source})"
        return f"{t}({source})"

    def __repr__(self) -> str:
        return f"PartitionField({self._summary()})"

    def _summary(self) -> str:
        return f"{self.field_id}: {self.name} = {self.describe()}"

    def to_json(self) -> dict:
        return {"source_id": self.source_id, "field_id": self.field_id, "name": self.name,
                "transform": str(self.transform)}

    @classmethod
    def from_json(cls, obj: Mapping) -> "PartitionField":
        return cls(source_id=int(_get(obj, "source_id")), field_id=int(_get(obj, "field_id")),
                   name=str(obj["name"]), transform=parse_transform(str(obj["transform"])))


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionSpec:
    """How a table splits its files; `fields` is empty for an unpartitioned table."""

    spec_id: int
    fields: tuple[PartitionField, ...] = ()

    @property
    def is_unpartitioned(self) -> bool:
        return not self.fields

    def describe(self, schema: Schema | None = None) -> str:
        """The spec as `partition_by` strings, with column names from `schema` (ids without one).

        >>> import pyarrow as pa
        >>> schema = Schema.from_arrow(pa.schema([("ts", pa.timestamp("us")), ("user_id", pa.int64())]))
        >>> spec = parse_partition_by(["day(ts)", "bucket(16, user_id)"], schema, spec_id=0)
        >>> spec.describe(schema)
        'day(ts), bucket(16, user_id)'
        >>> spec
        PartitionSpec(spec_id=0, fields=[1000: ts_day = day(#1), 1001: user_id_bucket_16 = bucket(16, #2)])
        """
        return ", ".join(f.describe(schema) for f in self.fields) if self.fields else "unpartitioned"

    def __repr__(self) -> str:
        fields = ", ".join(f._summary() for f in self.fields)
        return f"PartitionSpec(spec_id={self.spec_id}, fields=[{fields}])"

    def fields_by_source(self, source_id: int) -> tuple[PartitionField, ...]:
        return tuple(f for f in self.fields if f.source_id == source_id)

    def to_json(self) -> dict:
        return {"spec_id": self.spec_id, "fields": [f.to_json() for f in self.fields]}

    @classmethod
    def from_json(cls, obj: Mapping) -> "PartitionSpec":
        return cls(spec_id=int(_get(obj, "spec_id")),
                   fields=tuple(PartitionField.from_json(f) for f in obj.get("fields", ())))


UNPARTITIONED = PartitionSpec(spec_id=0, fields=())


def _get(obj: Mapping, key: str) -> object:
    """A key in our snake_case, or in Iceberg's own kebab-case metadata."""
    return obj[key] if key in obj else obj[key.replace("_", "-")]


# ---------------------------------------------------------------- partition_by strings

_CALL = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$", re.S)
_INT = re.compile(r"^[+-]?\d+$")
_TIME_NAMES = {"year": "year", "years": "year", "month": "month", "months": "month",
               "day": "day", "days": "day", "hour": "hour", "hours": "hour"}


def parse_partition_by(columns: Sequence[str], schema: Schema, *, spec_id: int,
                       last_partition_id: int = 999) -> PartitionSpec:
    """A spec from strings like "day(ts)", "bucket(16, user_id)", "truncate(4, sku)" or "category".

    Function names are case-insensitive (Spark's plurals "days(ts)" work too); bucket and truncate
    take their number first or second. Field ids count up from `last_partition_id + 1`.
    Column names follow the where-expression rule: `a.b` is the child b of struct a, and a name in
    double quotes or backticks is one name whatever it holds (`day("my.ts")`, `"my col"`), with
    the quote character doubled inside it.
    """
    columns = partition_terms(columns)
    fields: list[PartitionField] = []
    for i, text in enumerate(columns):
        transform, path = _parse_term(text)
        source = schema.find_path(path)
        if source is None:
            raise InvalidPartitionSpecError(f"partition_by {text!r}: no column {column_name(path)!r}")
        if not is_primitive(source.type):
            raise InvalidPartitionSpecError(f"partition_by {text!r}: column {column_name(path)!r} is a "
                                            f"{source.type}; only primitive columns partition")
        if not transform.can_transform(source.type):
            raise InvalidPartitionSpecError(f"partition_by {text!r}: {transform} does not apply to {source.type}")
        path = schema.path_of(source.id)
        fields.append(PartitionField(source_id=source.id, field_id=last_partition_id + 1 + i,
                                     name=default_name(".".join(path), transform), transform=transform))
    _check_fields(fields)
    return PartitionSpec(spec_id=spec_id, fields=tuple(fields))


def partition_terms(partition_by: object) -> list[str]:
    """`partition_by` as a list of strings: None is none, one string is one term.

    >>> partition_terms("day(ts)"), partition_terms(None)
    (['day(ts)'], [])
    """
    if partition_by is None:
        return []
    if isinstance(partition_by, str):
        return [partition_by]
    terms = list(partition_by) if isinstance(partition_by, Iterable) and not isinstance(partition_by, bytes) else None
    if terms is None or not all(isinstance(t, str) for t in terms):
        raise InvalidPartitionSpecError(
            f"partition_by must be a list of strings such as ['day(ts)', 'bucket(16, user_id)'], not {partition_by!r}")
    return terms


def evolve_spec(metadata, partition_by: Sequence[str]) -> PartitionSpec:
    """The spec a table with `metadata` (its `schema`, `partition_specs`, `last_partition_id`)
    switches to for `partition_by`.

    As the Iceberg spec asks: an existing equivalent spec (same source ids, transforms and names,
    in order) is returned rather than duplicated, and a field equivalent to one of an older spec
    keeps that field's id. Other fields get ids after `last_partition_id`; a new spec gets the next
    spec id.
    """
    specs = tuple(metadata.partition_specs)
    wanted = parse_partition_by(partition_by, metadata.schema, spec_id=max((s.spec_id for s in specs), default=-1) + 1,
                                last_partition_id=metadata.last_partition_id)
    for spec in specs:
        if [_key(f) for f in spec.fields] == [_key(f) for f in wanted.fields]:
            return spec
    known = {_key(f): f.field_id for spec in specs for f in spec.fields}
    next_id, fields = metadata.last_partition_id, []
    for f in wanted.fields:
        if _key(f) in known:
            fields.append(dataclasses.replace(f, field_id=known[_key(f)]))
        else:
            next_id += 1
            fields.append(dataclasses.replace(f, field_id=next_id))
    return dataclasses.replace(wanted, fields=tuple(fields))


def _key(f: PartitionField) -> tuple[int, str, str]:
    return f.source_id, str(f.transform), f.name


def default_name(source_name: str, transform: Transform) -> str:
    if transform == IDENTITY:
        return source_name
    if isinstance(transform, BucketTransform):
        return f"{source_name}_bucket_{transform.num_buckets}"
    if isinstance(transform, TruncateTransform):
        return f"{source_name}_trunc_{transform.width}"
    if transform == VOID:
        return f"{source_name}_null"
    return f"{source_name}_{transform}"


def _parse_term(text: str) -> tuple[Transform, tuple[str, ...]]:
    if not isinstance(text, str) or not text.strip():
        raise InvalidPartitionSpecError(f"partition_by entry {text!r} is empty")
    m = _CALL.match(text)
    if not m:
        return IDENTITY, _column_path(text)
    func, args = m.group(1).lower(), [a.strip() for a in _ARG.findall(m.group(2))]
    if func in ("bucket", "truncate"):
        numbers = [a for a in args if _INT.match(a)]
        names = [a for a in args if not _INT.match(a)]
        if len(args) != 2 or len(numbers) != 1 or len(names) != 1:
            raise InvalidPartitionSpecError(f"partition_by {text!r}: expected {func}(N, column)")
        return parse_transform(f"{func}[{int(numbers[0])}]"), _column_path(names[0])
    if len(args) != 1 or not args[0]:
        raise InvalidPartitionSpecError(f"partition_by {text!r}: expected {func}(column)")
    if func in ("identity", "void"):
        return parse_transform(func), _column_path(args[0])
    if func in _TIME_NAMES:
        return parse_transform(_TIME_NAMES[func]), _column_path(args[0])
    raise InvalidPartitionSpecError(f"partition_by {text!r}: unknown transform {func!r}")


# One argument: quoted names may hold commas. One name part: quoted ("", ``) or bare.
_ARG = re.compile(r'(?:"(?:[^"]|"")*"|`(?:[^`]|``)*`|[^,"`])+')
_PART = re.compile(r'\s*(?:"((?:[^"]|"")*)"|`((?:[^`]|``)*)`|([^\s".`(),]+))\s*')


def _column_path(text: str) -> tuple[str, ...]:
    """`a.b` as ("a", "b"); a quoted part is one name: `"my.col"` is ("my.col",)."""
    parts, pos = [], 0
    while True:
        m = _PART.match(text, pos)
        if not m or m.end() == pos or not any(m.groups()):
            raise InvalidPartitionSpecError(f"partition_by: {text.strip()!r} is not a column name")
        quoted, ticked, bare = m.groups()
        parts.append(quoted.replace('""', '"') if quoted else ticked.replace("``", "`") if ticked else bare)
        pos = m.end()
        if pos == len(text):
            return tuple(parts)
        if text[pos] != ".":
            raise InvalidPartitionSpecError(f"partition_by: {text.strip()!r} is not a column name")
        pos += 1


def _check_fields(fields: Sequence[PartitionField]) -> None:
    names = [f.name for f in fields]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidPartitionSpecError(f"duplicate partition field names: {dupes}")
    # As Iceberg's builder: one time granularity per column, and no transform twice on a column.
    seen: dict[tuple[int, str], str] = {}
    for f in fields:
        key = (f.source_id, "time" if isinstance(f.transform, _TimeTransform) else str(f.transform))
        if key in seen:
            raise InvalidPartitionSpecError(f"partition fields {seen[key]!r} and {f.name!r} are redundant")
        seen[key] = f.name


# ---------------------------------------------------------------- values of rows

def partition_values(spec: PartitionSpec, schema: Schema, table: pa.Table) -> pa.Table:
    """One column per partition field (named str(field_id)) for every row of `table`, whose
    columns carry the schema's current names."""
    out = table.select([])
    for pf in spec.fields:
        source = schema.field_by_id(pf.source_id)
        if source is None:
            raise SchemaMismatchError(f"partition field {pf.name!r} reads column id {pf.source_id}, "
                                      "which the schema does not have")
        column = _column(table, schema.path_of(pf.source_id))
        out = out.append_column(str(pf.field_id), pf.transform.apply(column, source.type))
    return out


def _column(table: pa.Table, path: tuple[str, ...]) -> pa.ChunkedArray:
    column = column_at(table, path)
    if column is None:
        raise SchemaMismatchError(f"the data has no column {'.'.join(path)!r} to partition by")
    return column


def partition_struct_type(specs: Iterable[PartitionSpec], schema: Schema) -> pa.StructType:
    """The Arrow type of a file's partition tuple under any of `specs`: one child per partition
    field id, named str(field_id), ordered by id. Fields whose source column is gone are left out."""
    children: dict[int, pa.Field] = {}
    for spec in specs:
        for pf in spec.fields:
            source = schema.field_by_id(pf.source_id)
            if source is not None and pf.field_id not in children:
                result = to_arrow_type(pf.transform.result_type(source.type))
                children[pf.field_id] = pa.field(str(pf.field_id), result)
    return pa.struct([children[k] for k in sorted(children)])


# ---------------------------------------------------------------- directories

_NAME_BYTES, _VALUE_BYTES = 64, 128  # a segment stays well under the 255 bytes a file name may have
_HASH_HEX = 10


def partition_path(spec: PartitionSpec, schema: Schema, row: Mapping[int, object]) -> str:
    """The relative directory of a file with partition values `row` (keyed by partition field id):
    one `name=value` segment per field. Informative only (spec/format.md section 6)."""
    parts = []
    for pf in spec.fields:
        source = schema.field_by_id(pf.source_id)
        text = human_string(pf.transform, source.type if source else None, row.get(pf.field_id))
        parts.append(f"{folder_text(pf.name, _NAME_BYTES)}={folder_text(text, _VALUE_BYTES)}")
    return "/".join(parts)


def folder_text(text: str, budget: int) -> str:
    """`text` URL-quoted (ASCII: every byte but RFC 3986's unreserved ones is escaped, so no `/`,
    `\\`, `:` or control character remains); if longer than `budget` bytes, its longest prefix of
    whole characters that fits with `~` and a hash of the whole text appended."""
    quoted = quote(text, safe="")
    if len(quoted) <= budget:
        return quoted
    room, head = budget - 1 - _HASH_HEX, []
    for ch in text:
        escaped = quote(ch, safe="")
        room -= len(escaped)
        if room < 0:
            break
        head.append(escaped)
    return "".join(head) + "~" + hashlib.sha256(text.encode()).hexdigest()[:_HASH_HEX]


_EPOCH = dt.date(1970, 1, 1)


def human_string(transform: Transform, source_type: Type | None, value: object) -> str:
    """A partition value as Iceberg prints it (`toHumanString`); NULL_PARTITION for null."""
    if isinstance(value, pa.Scalar):
        value = value.value if isinstance(value, pa.TimestampScalar) and value.is_valid else value.as_py()
    if value is None:
        return NULL_PARTITION
    if isinstance(transform, YearTransform):
        return f"{1970 + value:04d}"
    if isinstance(transform, MonthTransform):
        years, month = divmod(value, 12)
        return f"{1970 + years:04d}-{month + 1:02d}"
    if isinstance(transform, DayTransform):
        return _date(value)
    if isinstance(transform, HourTransform):
        days, hour = divmod(value, 24)
        return f"{_date(days)}-{hour:02d}"
    if isinstance(transform, BucketTransform) or source_type is None:
        return str(value)
    return _human_value(source_type, value)


def _human_value(t: Type, value: object) -> str:
    if t == BOOLEAN:
        return "true" if value else "false"
    if t == DATE:
        return _date(value)
    if t == TIME:
        if isinstance(value, dt.time):
            value = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
        return _clock(int(value), 1_000_000)
    if isinstance(t, TimestampType):
        return _timestamp(value, t)
    if t == BINARY:
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(t, DecimalType):
        return format(Decimal(value), "f")
    return str(value)


def _date(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return (_EPOCH + dt.timedelta(days=int(value))).isoformat()
    except OverflowError:  # beyond Python's years 1..9999
        return str(value)


def _clock(ticks: int, per_second: int) -> str:
    seconds, fraction = divmod(ticks, per_second)
    minutes, s = divmod(seconds, 60)
    h, m = divmod(minutes, 60)
    out = f"{h:02d}:{m:02d}:{s:02d}"
    if fraction:
        digits = len(str(per_second)) - 1
        out += "." + f"{fraction:0{digits}d}".rstrip("0")
    return out


def _timestamp(value: object, t: TimestampType) -> str:
    if isinstance(value, dt.datetime):  # Arrow hands back tz-aware values in the column's zone
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        value = int((value - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1)) * (
            1000 if t.unit == "ns" else 1)
        unit_per_second = 1_000_000_000 if t.unit == "ns" else 1_000_000
    else:
        unit_per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[t.unit]
    days, ticks = divmod(int(value), 86_400 * unit_per_second)
    return f"{_date(days)}T{_clock(ticks, unit_per_second)}" + ("+00:00" if t.tz else "")
