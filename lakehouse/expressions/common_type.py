"""DuckDB's common type of an integer or decimal column and the exact numbers of an IN list or
BETWEEN, to which DuckDB casts the group's strings (spec/format.md, "SQL semantics").

`int32_col IN (2147483648, '2147483648')` compares in BIGINT, the type of 2147483648: the string
is no error there, while `int32_col IN (1, '2147483648')` casts it to INTEGER and fails.
"""

from __future__ import annotations

from ..format.types import INTEGER_TYPES, DecimalType, Type
from .tree import Grouped

__all__ = ["common_type"]


# DuckDB types an integer literal as the narrowest of these that holds its magnitude (an integer
# column's own type when that holds it), and a DECIMAL(w, 0) of these widths stands for each.
_LITERAL_BITS = (32, 64, 128)
_DECIMAL_WIDTH = {8: 3, 16: 5, 32: 10, 64: 19, 128: 38}


def common_type(t: Type, g: Grouped) -> tuple[str, tuple[int, int]] | None:
    """(name, domain in t's units) of DuckDB's common type of column `t` (integer or decimal) and
    the group's exact numbers; None when DuckDB could not cast those numbers to it.

    >>> from lakehouse.format.types import INT32
    >>> common_type(INT32, Grouped("2147483648", frozenset({"string", "exact number"}), 0, (2147483648, 2147483648)))
    ('INT64', (-9223372036854775808, 9223372036854775807))
    >>> common_type(DecimalType(9, 2), Grouped("1.5", frozenset({"string", "exact number"}), 0, (1, 1)))[0]
    'DECIMAL(12,2)'
    """
    column_bits = int(t.name[3:]) if t in INTEGER_TYPES else 0
    bits = 0
    if g.ints is not None and not (column_bits and _fits(g.ints, column_bits)):
        magnitude = max(-g.ints[0], g.ints[1])  # -2147483648 is the BIGINT 2147483648 negated
        bits = next((b for b in _LITERAL_BITS if magnitude < 1 << (b - 1)), None)
        if bits is None:  # beyond HUGEINT: UHUGEINT or DOUBLE in DuckDB
            return None
    if column_bits and not g.digits:  # integers only: an integer type
        b = max(column_bits, bits)
        return f"INT{b}", (-(1 << (b - 1)), (1 << (b - 1)) - 1)
    column_scale = t.scale if isinstance(t, DecimalType) else 0
    scale = max(column_scale, g.scale)  # the most fraction digits of the column and the literals
    whole = t.precision - column_scale if isinstance(t, DecimalType) else _DECIMAL_WIDTH[column_bits]
    width = max(min(38, max(whole, g.digits, _DECIMAL_WIDTH.get(bits, 0)) + scale), whole + scale)
    longest = max([g.digits] + [len(str(abs(n))) for n in g.ints or ()])
    if longest > width - scale:  # DuckDB fails to cast such a number to the common type
        return None
    return f"DECIMAL({width},{scale})", (-(10 ** width - 1), 10 ** width - 1)


def _fits(span: tuple[int, int], bits: int) -> bool:
    return -(1 << (bits - 1)) <= span[0] and span[1] < 1 << (bits - 1)
