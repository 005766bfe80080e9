"""Column types written as names: `create_table(schema={"id": "int64"})`, `add_column("x", "string")`.

A name is read in the first of these grammars that accepts it (case-insensitive; a time zone
keeps its case):

1. the names this library prints (`str()` of a type, so a printed schema can be typed back):
   `boolean int8 int16 int32 int64 float32 float64 string binary date time`,
   `timestamp[us]`, `timestamp[us, UTC]` (units s, ms, us, ns), `decimal(10, 2)`,
   `list<int64>`, `map<string, int64>`, `struct<a: int64, b: string>`;
2. Arrow's aliases (`pyarrow.type_for_alias`): `bool utf8 large_string double float date32
   time64[us] timestamp[ms]` ...;
3. SQL names as DuckDB reads them (parsed by sqlglot): `bigint integer smallint tinyint varchar
   text double real blob timestamp timestamptz decimal(p, s) integer[] struct(a integer)
   map(varchar, integer)`.

`int8` is the 8-bit integer, as Arrow and this library print it (in PostgreSQL and DuckDB INT8
means BIGINT: write `bigint` or `int64`). `float` and `real` are 32-bit, `double` 64-bit.

>>> parse_type_name("timestamp[ms, UTC]")
TimestampType(unit='ms', tz='UTC')
>>> str(parse_type_name("VARCHAR[]"))
'list<string>'
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from ..errors import InvalidArgumentError, SchemaMismatchError
from .types import PRIMITIVE_NAMES, IdAssigner, PrimitiveType, Type, from_arrow_type, to_arrow_type

_HELP = ("write a type as this library prints it (int64, string, timestamp[us, UTC], decimal(10, 2), "
         "list<int64>, struct<a: int64>), a DuckDB SQL name (bigint, varchar, double), or a pyarrow type "
         "(pa.int64())")
_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")
_INT = re.compile(r"\s*(\d+)")
_SQL_PRECISION_UNITS = {0: "s", 3: "ms", 6: "us", 9: "ns"}


class _NoMatch(Exception):
    """The text is not in this library's own grammar (the SQL grammar is tried next)."""


def parse_type_name(name: str) -> Type:
    """The format type a type name stands for (child ids are placeholders: see `format_type`)."""
    return from_arrow_type(arrow_type_of(name), IdAssigner(0))


def format_type(t: Any, ids: IdAssigner) -> Type:
    """`t` (a type name, a pyarrow DataType, or a format type) as a format type; nested
    children get fresh ids from `ids`. InvalidArgumentError for anything else."""
    if isinstance(t, (str, pa.DataType)):
        return from_arrow_type(arrow_type_of(t), ids)
    if isinstance(t, Type.__args__):
        return t
    raise InvalidArgumentError(f"a column type cannot be a {type(t).__name__}: {_HELP}")


def arrow_type_of(t: str | pa.DataType) -> pa.DataType:
    """The Arrow type for a type name (or a pyarrow type, returned as is)."""
    if isinstance(t, pa.DataType):
        return t
    if not isinstance(t, str):
        raise InvalidArgumentError(f"a column type cannot be a {type(t).__name__}: {_HELP}")
    try:
        return _Parser(t).parse()
    except _NoMatch:
        pass
    try:
        parsed = exp.DataType.build(t, dialect="duckdb")
    except (sqlglot.errors.SqlglotError, ValueError):
        raise InvalidArgumentError(f"unknown type name {t!r}: {_HELP}") from None
    return _from_sql(parsed, t)


class _Parser:
    """Recursive descent over the names this library and Arrow print."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def parse(self) -> pa.DataType:
        t = self.type()
        if self.text[self.pos:].strip():
            raise _NoMatch
        return t

    def type(self) -> pa.DataType:
        name = self.match(_NAME).lower()
        if name == "decimal" and self.accept("("):
            precision, scale = int(self.match(_INT)), (self.expect(","), int(self.match(_INT)))[1]
            self.expect(")")
            return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
        if name == "list" and self.accept("<"):
            return self.close(pa.list_(self.type()))
        if name == "map" and self.accept("<"):
            key = self.type()
            self.expect(",")
            return self.close(pa.map_(key, self.type()))
        if name == "struct" and self.accept("<"):
            return pa.struct(self.struct_fields())
        if self.accept("["):  # timestamp[us, UTC], time64[us]: everything up to "]"
            end = self.text.find("]", self.pos)
            if end < 0:
                raise _NoMatch
            unit, _, tz = self.text[self.pos:end].partition(",")
            self.pos = end + 1
            if name == "timestamp":
                return _checked(lambda: pa.timestamp(unit.strip(), tz=tz.strip() or None))
            name = f"{name}[{unit.strip()}]"
        if name in PRIMITIVE_NAMES:
            return to_arrow_type(PrimitiveType(name))
        return _checked(lambda: pa.type_for_alias(name))

    def struct_fields(self) -> list[pa.Field]:
        fields = []
        while True:
            name = self.match(_NAME)  # the field's name keeps its case
            self.expect(":")
            fields.append(pa.field(name, self.type()))
            if self.accept(">"):
                return fields
            self.expect(",")

    def close(self, t: pa.DataType) -> pa.DataType:
        self.expect(">")
        return t

    def match(self, pattern: re.Pattern) -> str:
        m = pattern.match(self.text, self.pos)
        if m is None:
            raise _NoMatch
        self.pos = m.end()
        return m.group(1)

    def accept(self, token: str) -> bool:
        rest = self.text[self.pos:]
        if rest.lstrip().startswith(token):
            self.pos += len(rest) - len(rest.lstrip()) + len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.accept(token):
            raise _NoMatch


def _checked(make) -> pa.DataType:
    try:
        return make()
    except (ValueError, TypeError, KeyError, pa.ArrowException):
        raise _NoMatch from None


_T = exp.DataType.Type
_SQL_TYPES = {
    _T.BOOLEAN: pa.bool_(), _T.TINYINT: pa.int8(), _T.SMALLINT: pa.int16(), _T.INT: pa.int32(),
    _T.BIGINT: pa.int64(), _T.FLOAT: pa.float32(), _T.DOUBLE: pa.float64(), _T.TEXT: pa.string(),
    _T.VARCHAR: pa.string(), _T.CHAR: pa.string(), _T.NVARCHAR: pa.string(), _T.VARBINARY: pa.binary(),
    _T.BINARY: pa.binary(), _T.BLOB: pa.binary(), _T.DATE: pa.date32(), _T.TIME: pa.time64("us"),
    _T.TIMESTAMPTZ: pa.timestamp("us", tz="UTC"), _T.TIMESTAMP_S: pa.timestamp("s"),
    _T.TIMESTAMP_MS: pa.timestamp("ms"), _T.TIMESTAMP_NS: pa.timestamp("ns"),
}


def _from_sql(t: exp.DataType, text: str) -> pa.DataType:
    kind, args = t.this, t.expressions
    if kind in _SQL_TYPES:
        return _SQL_TYPES[kind]
    params = [int(a.this.this) for a in args if isinstance(a, exp.DataTypeParam)]
    if kind in (_T.TIMESTAMP, _T.TIMESTAMPNTZ, _T.DATETIME):
        unit = _SQL_PRECISION_UNITS.get(params[0] if params else 6)
        if unit is not None:
            return pa.timestamp(unit)
    elif kind == _T.DECIMAL and len(params) == 2:
        return pa.decimal128(*params) if params[0] <= 38 else pa.decimal256(*params)
    elif kind in (_T.ARRAY, _T.LIST) and len(args) == 1:
        return pa.list_(_from_sql(args[0], text))
    elif kind == _T.MAP and len(args) == 2:
        return pa.map_(_from_sql(args[0], text), _from_sql(args[1], text))
    elif kind == _T.STRUCT and all(isinstance(a, exp.ColumnDef) for a in args):
        return pa.struct([pa.field(a.name, _from_sql(a.args["kind"], text)) for a in args])
    raise InvalidArgumentError(f"the type {text!r} (SQL {t.sql('duckdb')}) has no equivalent in the table format: "
                               + _HELP)


def schema_fields(columns: Any) -> pa.Schema:
    """An Arrow schema (every column nullable) for a mapping of column name to type."""
    if not hasattr(columns, "items"):
        raise InvalidArgumentError(f"schema cannot be a {type(columns).__name__}: pass a pyarrow Schema, a "
                                   "lakehouse Schema, or a dict of column name to type ({'id': 'int64'})")
    fields = []
    for name, t in columns.items():
        if not isinstance(name, str):
            raise InvalidArgumentError(f"column names must be strings, not {name!r}")
        try:
            fields.append(pa.field(name, arrow_type_of(t)))
        except InvalidArgumentError as e:
            raise InvalidArgumentError(f"column {name!r}: {e}") from None
    if not fields:
        raise SchemaMismatchError("a table needs at least one column")
    return pa.schema(fields)
