"""A parsed query: what `parse` returns and `execute` runs.

Names (entity, properties) are kept as written; matching them is case-insensitive.
"""

from __future__ import annotations

import enum

import attrs

__all__ = [
    "DEFAULT_MAX_RESULTS",
    "MAX_MAX_RESULTS",
    "Condition",
    "Operator",
    "OrderKey",
    "Query",
    "Selection",
    "Value",
    "ValueKind",
]

#: MAXRESULTS when the query has none.
DEFAULT_MAX_RESULTS = 100
#: The largest MAXRESULTS QBO accepts; more is 4001.
MAX_MAX_RESULTS = 1000
#: The most values one IN list may hold; more is 4001. QBO documents no limit: this is
#: the emulator's, so that one statement cannot hold the server for seconds.
MAX_IN_VALUES = 1000
#: The longest statement the emulator parses, in characters; longer is 4001. QBO
#: documents none (a GET query string is bounded by the URL anyway).
MAX_QUERY_LENGTH = 100_000


class Operator(enum.Enum):
    """A WHERE operator, valued as written in a query."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "IN"
    LIKE = "LIKE"


class ValueKind(enum.Enum):
    """What kind of literal a `Value` was written as."""

    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    CURRENT_DATE = "current_date"


@attrs.frozen(kw_only=True)
class Value:
    """A literal: `text` is the string's content (escapes resolved), the number as
    written, `"true"`/`"false"`, or `"CURRENT_DATE"`."""

    kind: ValueKind
    text: str

    @classmethod
    def string(cls, text: str) -> Value:
        """A quoted string literal holding `text`."""
        return cls(kind=ValueKind.STRING, text=text)

    @classmethod
    def number(cls, text: str) -> Value:
        """An unquoted number, e.g. `"12"` or `"-3.50"`."""
        return cls(kind=ValueKind.NUMBER, text=text)

    @classmethod
    def boolean(cls, value: bool) -> Value:
        """`true` or `false`."""
        return cls(kind=ValueKind.BOOLEAN, text="true" if value else "false")

    @classmethod
    def current_date(cls) -> Value:
        """`CURRENT_DATE`: the company's date when the query runs."""
        return cls(kind=ValueKind.CURRENT_DATE, text="CURRENT_DATE")


class Selection(enum.Enum):
    """What the query selects: `*`, `COUNT(*)`, or a list of properties."""

    ALL = "*"
    COUNT = "COUNT(*)"
    FIELDS = "fields"


@attrs.frozen(kw_only=True)
class Condition:
    """`field operator value`; `values` has one item except for IN."""

    field: str
    operator: Operator
    values: tuple[Value, ...]


@attrs.frozen(kw_only=True)
class OrderKey:
    """One ORDERBY key."""

    field: str
    descending: bool = False


@attrs.frozen(kw_only=True)
class Query:
    """A parsed, validated query.

    `start_position` is 1-based (a written `STARTPOSITION 0` is stored as 1);
    `max_results` is 1..1000, 100 when absent. `fields` lists the selected properties
    for `Selection.FIELDS`, and for `Selection.ALL` those named after `*`
    (`SELECT *, Sku`); it is empty for `COUNT(*)`. `conditions` are AND'ed.
    """

    entity: str
    selection: Selection = Selection.ALL
    fields: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    order: tuple[OrderKey, ...] = ()
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS
