r"""A safe, typed builder for QBO query statements.

Whatever a value holds (quotes, backslashes, `%`, SQL keywords, newlines, emoji), it stays
inside its literal: the statement never gains a condition or a clause from it. Names
(entity, properties) are checked against a strict pattern, never quoted. Every object is
immutable; each method returns a new query::

    >>> from qbo_core.entities import Vendor
    >>> query = Query.select(Vendor).where(
    ...     Field("DisplayName") == "Cutlery 'R Us", Field("Balance") > 100
    ... )
    >>> print(query)
    SELECT * FROM Vendor WHERE DisplayName = 'Cutlery \'R Us' AND Balance > '100'
    >>> print(Query.select("Bill").order_by("TxnDate", descending=True).max_results(50))
    SELECT * FROM Bill ORDERBY TxnDate DESC MAXRESULTS 50
    >>> print(Query.count("Invoice").where(Field("Id").in_([5, 6])))
    SELECT COUNT(*) FROM Invoice WHERE Id IN ('5', '6')
    >>> print(Query.select("Customer").where(Field("DisplayName").startswith("Amy")))
    SELECT * FROM Customer WHERE DisplayName LIKE 'Amy%'

A query built from a typed entity class (`Query.select(Vendor)`) is a `Query[Vendor]`,
and the raw client answers it with a `QueryPage[Vendor]`; one built from a name
(`Query.select("Estimate")`) is a `Query[QBOEntity]`. Both write the same statement.

Grammar written (QBO's own, `reference/qbo-api-facts.md` section 2)::

    SELECT * | COUNT(*) | Prop, ... FROM Entity [WHERE cond AND cond ...]
        [ORDERBY Prop ASC|DESC, ...] [STARTPOSITION n] [MAXRESULTS n]

Decisions:

- **Names.** An entity is ASCII letters and digits starting with a letter (`Customer`); a
  property is one or more such segments joined by dots (`MetaData.LastUpdatedTime`).
  A name that is one of QBO's reserved words (`select`, `and`, `or`, `orderby`, ...: any
  case) is refused too, since QBO would read it as the keyword.
- **AND only.** QBO has no OR, NOT or parentheses; neither has the builder. A `Condition`
  refuses `bool()` (and so `and`/`or`/chained comparisons), which would otherwise drop
  a condition silently: pass several conditions to `where` instead.
- **Operators.** `=`, `!=`, `<`, `<=`, `>`, `>=`, `IN`, `LIKE`. `!=` is not in Intuit's
  operator list, but its Id rules name it as unsupported *on Id*, and users run
  `Balance != '0.00'`. On `Id` (any case) only `=` and `IN` are allowed, as Intuit
  documents; anything else raises `ValueError`.
- **Strings** are written `'...'` with a `\` before every `\` and `'`: read with the
  backslash escapes QBO documents (`'Adam\'s'`), the literal ends exactly where it was
  built to end. Any Unicode is allowed (QBO parses emoji since 2022) except NUL, refused
  as no QBO text holds it and many HTTP and log stacks cut text at it, and lone
  surrogates, which cannot be encoded for the wire.
- **Numbers** (`int`, `Decimal`, finite `float`) are written as quoted plain decimals
  (`Balance > '100'`, `TotalAmt > '300.00'`): the form QBO's docs and recorded traffic
  use, and the only form that also fits string properties that hold numbers (`Id`,
  `DocNumber`). A `Decimal` keeps its digits (`Decimal("1E+3")` is `'1000'`); a float is
  written by its shortest repr (`0.1` is `'0.1'`). NaN, infinities and numbers past
  1000 digits on either side of the point raise `ValueError`. `bool` is `true`/`false`.
- **Times.** A `date` is `'YYYY-MM-DD'`; a `datetime` must be aware and is written with
  its offset, `'2026-01-02T03:04:05-07:00'` (an offset with seconds is converted to
  UTC). QBO keeps whole seconds and documents no fractions in queries, so a datetime
  with microseconds raises `ValueError` rather than being truncated (which would shift
  `>` and `<=` comparisons): use `.replace(microsecond=0)`.
- **Enums** are written by their value, which must be one of the types above.
- **Null** is QBO's documented null literal `' '` (one space in quotes): `None`,
  `Field(x).is_null()` and `.is_not_null()` write it, allowed with `=`, `!=` and `IN`
  only. QBO cannot tell it from a one-space string.
- **LIKE.** `like(pattern)` sends the pattern as is: `%` matches any run of characters,
  everything else (`_` included) is literal, as QBO documents. `startswith`, `endswith`
  and `contains` wrap the caller's text in `%`; QBO documents no escape for `%`, so text
  holding `%` raises `ValueError` there rather than silently matching more.
- **Paging.** `start_position` is 1-based (>= 1); `max_results` is 1..1000 (QBO refuses
  more with 4001; it returns 100 when absent).

Invalid input raises `ValueError` (a bad name or value) or `TypeError` (a value of a type
the builder cannot write), with a message that names the property and the problem.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Generic, TypeAlias, TypeVar, cast, overload

import attrs

from qbo_core.entities import QBOEntity, TypedEntity, entity_name

__all__ = [
    "MAX_MAX_RESULTS",
    "Condition",
    "Field",
    "Operator",
    "OrderKey",
    "Query",
    "QueryValue",
]

E_co = TypeVar("E_co", bound=QBOEntity, covariant=True)
T = TypeVar("T", bound=TypedEntity)

#: The most entities one query may return (QBO answers 4001 past it).
MAX_MAX_RESULTS = 1000

#: What a condition may compare a property with.
QueryValue: TypeAlias = (
    str | bool | int | Decimal | float | dt.date | dt.datetime | enum.Enum | None
)

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*", re.ASCII)
_PATH = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*", re.ASCII)
# QBO's reserved words: the tokens its JavaCC grammar and parse errors name.
_RESERVED = frozenset(
    {
        "and",
        "asc",
        "by",
        "count",
        "current_date",
        "desc",
        "false",
        "from",
        "in",
        "iterator",
        "like",
        "maxresults",
        "or",
        "order",
        "orderby",
        "select",
        "startposition",
        "true",
        "where",
    }
)
_MAX_DIGITS = 1000
_INT_LIMIT = 10**_MAX_DIGITS
_NULL = "' '"


class Operator(enum.Enum):
    """A WHERE operator, valued as it is written in the statement."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "IN"
    LIKE = "LIKE"


_ID_OPERATORS = frozenset({Operator.EQ, Operator.IN})
_NULL_OPERATORS = frozenset({Operator.EQ, Operator.NE, Operator.IN})


# --------------------------------------------------------------------------- names


def _shown(name: object) -> str:
    text = repr(name)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_name(name: object, what: str, pattern: re.Pattern[str], rule: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, got {type(name).__name__}")
    if pattern.fullmatch(name) is None:
        raise ValueError(f"{what} {_shown(name)} is not a valid QBO name: {rule}")
    if name.lower() in _RESERVED:
        raise ValueError(f"{what} {_shown(name)} is a reserved word of QBO's query language")
    return name


def _entity_name(name: str) -> str:
    return _check_name(name, "entity", _NAME, "ASCII letters and digits, starting with a letter")


def _property_name(name: str) -> str:
    return _check_name(
        name,
        "property",
        _PATH,
        "ASCII letters and digits starting with a letter, dot-separated segments allowed",
    )


# --------------------------------------------------------------------------- literals


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _checked_text(text: str, field: str) -> str:
    if "\x00" in text:
        raise ValueError(f"property {field}: a string value cannot hold NUL (U+0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"property {field}: a string value cannot hold a lone surrogate "
            "(it cannot be encoded as UTF-8)"
        ) from None
    return text


def _decimal_text(number: Decimal, field: str) -> str:
    if not number.is_finite():
        raise ValueError(f"property {field}: {number} is not a finite number")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, so not 'n', 'N' or 'F'
    if number.adjusted() >= _MAX_DIGITS or exponent < -_MAX_DIGITS:
        raise ValueError(
            f"property {field}: a number may have at most {_MAX_DIGITS} digits "
            "before and after the point"
        )
    return format(number, "f")


def _int_text(number: int, field: str) -> str:
    if abs(number) >= _INT_LIMIT:
        raise ValueError(
            f"property {field}: a number may have at most {_MAX_DIGITS} digits "
            "before and after the point"
        )
    return str(number)


def _datetime_text(moment: dt.datetime, field: str) -> str:
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(
            f"property {field}: a datetime must be timezone-aware (QBO compares instants)"
        )
    if offset % dt.timedelta(minutes=1):
        try:
            moment = moment.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError(f"property {field}: the datetime is out of range in UTC") from None
    if moment.microsecond:
        raise ValueError(
            f"property {field}: QBO times are whole seconds; a datetime with microseconds "
            "would be truncated (use .replace(microsecond=0))"
        )
    return moment.isoformat(timespec="seconds")


def _literal(value: object, field: str) -> str:
    """`value` as a QBO literal; raises ValueError/TypeError naming `field`."""
    if isinstance(value, enum.Enum):
        value = value.value
        if isinstance(value, enum.Enum):
            raise TypeError(f"property {field}: an enum's value must not be another enum")
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quote(_checked_text(value, field))
    if isinstance(value, int):
        return _quote(_int_text(value, field))
    if isinstance(value, Decimal):
        return _quote(_decimal_text(value, field))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"property {field}: {value!r} is not a finite number")
        return _quote(_decimal_text(Decimal(repr(value)), field))
    if isinstance(value, dt.datetime):
        return _quote(_datetime_text(value, field))
    if isinstance(value, dt.date):
        return _quote(value.isoformat())
    raise TypeError(
        f"property {field}: cannot compare with a {type(value).__name__}; use str, bool, "
        "int, Decimal, float, date, aware datetime, an enum or None"
    )


def _as_values(values: Iterable[QueryValue]) -> tuple[QueryValue, ...]:
    return tuple(values)


def _is_null(value: object) -> bool:
    return value is None or (isinstance(value, enum.Enum) and value.value is None)


# --------------------------------------------------------------------------- conditions


@attrs.frozen(kw_only=True)
class Condition:
    """`field operator value` (several values for IN), checked when it is made.

    Usually made by comparing a `Field`. Refuses `bool()`: QBO has no OR, and `a and b`
    would silently keep only `b`; pass conditions to `Query.where`, which ANDs them.
    """

    field: str = attrs.field(converter=_property_name)
    operator: Operator
    values: tuple[QueryValue, ...] = attrs.field(converter=_as_values)
    text: str = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.operator, Operator):
            raise TypeError(f"property {self.field}: operator must be an Operator")
        if not self.values:
            raise ValueError(
                f"property {self.field}: {self.operator.value} needs at least one value"
            )
        if self.operator is not Operator.IN and len(self.values) != 1:
            raise ValueError(f"property {self.field}: {self.operator.value} takes one value")
        if self.field.lower() == "id" and self.operator not in _ID_OPERATORS:
            raise ValueError(
                f"property {self.field}: QBO supports only = and IN on Id, "
                f"not {self.operator.value}"
            )
        if self.operator not in _NULL_OPERATORS and any(map(_is_null, self.values)):
            raise ValueError(
                f"property {self.field}: null (None) works only with =, != and IN, "
                f"not {self.operator.value}"
            )
        if self.operator is Operator.LIKE and not isinstance(self.values[0], str):
            raise TypeError(f"property {self.field}: LIKE needs a str pattern")
        literals = [_literal(value, self.field) for value in self.values]
        if self.operator is Operator.IN:
            rendered = f"{self.field} IN ({', '.join(literals)})"
        else:
            rendered = f"{self.field} {self.operator.value} {literals[0]}"
        object.__setattr__(self, "text", rendered)

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        raise TypeError(
            "a Condition has no truth value: QBO has no OR, and `and` would drop a "
            "condition; pass several conditions to Query.where() to AND them"
        )


def _no_percent(text: object, field: str, helper: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"property {field}: {helper} needs a str")
    if "%" in text:
        raise ValueError(
            f"property {field}: {helper} text cannot hold '%': QBO's LIKE has no escape "
            "for its wildcard; use like() to write the pattern yourself"
        )
    return text


@attrs.frozen(eq=False)
class Field:
    """A property to filter on; comparing it makes a `Condition`.

    `Field("Balance") > Decimal("100")`, `Field("Id").in_(["1", "2"])`,
    `Field("DisplayName").startswith("Amy")`. `name` is checked at once.
    """

    name: str = attrs.field(converter=_property_name)

    def _compare(self, operator: Operator, value: object) -> Condition:
        if isinstance(value, Field):
            raise TypeError(
                f"property {self.name}: QBO compares a property with a literal, not with "
                f"property {value.name}"
            )
        return Condition(field=self.name, operator=operator, values=(cast(QueryValue, value),))

    def __eq__(self, value: object) -> Condition:  # type: ignore[override]
        return self._compare(Operator.EQ, value)

    def __ne__(self, value: object) -> Condition:  # type: ignore[override]
        return self._compare(Operator.NE, value)

    def __lt__(self, value: QueryValue) -> Condition:
        return self._compare(Operator.LT, value)

    def __le__(self, value: QueryValue) -> Condition:
        return self._compare(Operator.LE, value)

    def __gt__(self, value: QueryValue) -> Condition:
        return self._compare(Operator.GT, value)

    def __ge__(self, value: QueryValue) -> Condition:
        return self._compare(Operator.GE, value)

    def in_(self, values: Iterable[QueryValue]) -> Condition:
        """`name IN (v1, v2, ...)`: at least one value; a str is not taken as a list."""
        if isinstance(values, str | bytes):
            raise TypeError(f"property {self.name}: in_() takes a list of values, not a str")
        return Condition(field=self.name, operator=Operator.IN, values=tuple(values))

    def like(self, pattern: str) -> Condition:
        """`name LIKE 'pattern'`, the pattern sent as is: `%` is QBO's only wildcard."""
        return self._compare(Operator.LIKE, pattern)

    def startswith(self, text: str) -> Condition:
        """`name LIKE 'text%'`; `text` must not hold `%`."""
        return self.like(_no_percent(text, self.name, "startswith") + "%")

    def endswith(self, text: str) -> Condition:
        """`name LIKE '%text'`; `text` must not hold `%`."""
        return self.like("%" + _no_percent(text, self.name, "endswith"))

    def contains(self, text: str) -> Condition:
        """`name LIKE '%text%'`; `text` must not hold `%`."""
        return self.like("%" + _no_percent(text, self.name, "contains") + "%")

    def is_null(self) -> Condition:
        """`name = ' '`: the property is missing, null or blank."""
        return self._compare(Operator.EQ, None)

    def is_not_null(self) -> Condition:
        """`name != ' '`: the property has a non-blank value."""
        return self._compare(Operator.NE, None)


# --------------------------------------------------------------------------- query


@attrs.frozen(kw_only=True)
class OrderKey:
    """One ORDERBY key: a property, ascending unless `descending`."""

    field: str = attrs.field(converter=_property_name)
    descending: bool = False


def _check_projection(query: Query[Any], _: object, projection: tuple[str, ...]) -> None:
    for name in projection:
        _property_name(name)
    if projection and query.count_only:
        raise ValueError("a COUNT(*) query cannot also select properties")


def _check_conditions(_: object, __: object, conditions: tuple[Condition, ...]) -> None:
    for condition in conditions:
        if not isinstance(condition, Condition):
            raise TypeError(
                f"where() takes Conditions (e.g. Field('Name') == 'x'), "
                f"got {type(condition).__name__}"
            )


def _check_order(_: object, __: object, order: tuple[OrderKey, ...]) -> None:
    for key in order:
        if not isinstance(key, OrderKey):
            raise TypeError(f"order must hold OrderKeys, got {type(key).__name__}")


def _check_count(value: int | None, what: str, low: int, high: int | None) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"{low}..{high}"
        raise ValueError(f"{what} must be {bounds}, got {value}")


def _check_start(_: object, __: object, value: int | None) -> None:
    _check_count(value, "start_position (1-based)", 1, None)


def _check_limit(_: object, __: object, value: int | None) -> None:
    _check_count(value, "max_results", 1, MAX_MAX_RESULTS)


def _check_entity_class(query: Query[Any], _: object, cls: type[TypedEntity] | None) -> None:
    if cls is not None and entity_name(cls) != query.entity:
        raise ValueError(f"entity {query.entity!r} is not the name of {cls.__name__}")


@attrs.frozen(kw_only=True)
class Query(Generic[E_co]):
    """One QBO query statement; `build()` (or `str()`) writes it.

    Made with `Query.select(entity)` or `Query.count(entity)` and refined by methods that
    each return a new query. Every field is checked on construction, so a `Query` made
    any way builds a statement that parses as it was built. `entity_class` is the typed
    class the query was built from (`Query.select(Customer)`), `None` for a name.
    """

    entity: str = attrs.field(converter=_entity_name)
    entity_class: type[E_co] | None = attrs.field(default=None, validator=_check_entity_class)
    count_only: bool = False
    projection: tuple[str, ...] = attrs.field(default=(), validator=_check_projection)
    conditions: tuple[Condition, ...] = attrs.field(default=(), validator=_check_conditions)
    order: tuple[OrderKey, ...] = attrs.field(default=(), validator=_check_order)
    start: int | None = attrs.field(default=None, validator=_check_start)
    limit: int | None = attrs.field(default=None, validator=_check_limit)

    @overload
    @classmethod
    def select(cls, entity: type[T]) -> Query[T]: ...
    @overload
    @classmethod
    def select(cls, entity: str) -> Query[QBOEntity]: ...
    @classmethod
    def select(cls, entity: str | type[T]) -> Query[T] | Query[QBOEntity]:
        """`SELECT * FROM entity`: `entity` is a typed class (`Customer`) or a name."""
        return _new(entity, count_only=False)

    @overload
    @classmethod
    def count(cls, entity: type[T]) -> Query[T]: ...
    @overload
    @classmethod
    def count(cls, entity: str) -> Query[QBOEntity]: ...
    @classmethod
    def count(cls, entity: str | type[T]) -> Query[T] | Query[QBOEntity]:
        """`SELECT COUNT(*) FROM entity`: QBO answers with `totalCount` only."""
        return _new(entity, count_only=True)

    def fields(self, *names: str) -> Query[E_co]:
        """Select only these properties (added to any selected before).

        QBO documents no projections, yet answers `SELECT Id FROM Attachable ...` with
        `sparse` objects; expect some entities to ignore or refuse it.
        """
        if not names:
            raise ValueError("fields() needs at least one property name")
        return attrs.evolve(self, projection=(*self.projection, *names))

    def where(self, *conditions: Condition) -> Query[E_co]:
        """Add conditions; all of them (and any added before) must hold: QBO has only AND."""
        if not conditions:
            raise ValueError("where() needs at least one condition")
        return attrs.evolve(self, conditions=(*self.conditions, *conditions))

    def order_by(self, *fields: str, descending: bool = False) -> Query[E_co]:
        """Add ORDERBY keys after any added before, all in one direction."""
        if not fields:
            raise ValueError("order_by() needs at least one property name")
        keys = tuple(OrderKey(field=name, descending=descending) for name in fields)
        return attrs.evolve(self, order=(*self.order, *keys))

    def start_position(self, position: int) -> Query[E_co]:
        """`STARTPOSITION position`: 1-based, the first entity returned."""
        return attrs.evolve(self, start=position)

    def max_results(self, limit: int) -> Query[E_co]:
        """`MAXRESULTS limit`: 1..1000 (QBO returns 100 when absent)."""
        return attrs.evolve(self, limit=limit)

    def build(self) -> str:
        """The statement, in QBO's grammar, ready to send."""
        if self.count_only:
            head = "SELECT COUNT(*)"
        else:
            head = "SELECT " + (", ".join(self.projection) or "*")
        parts = [head, "FROM", self.entity]
        if self.conditions:
            parts += ["WHERE", " AND ".join(condition.text for condition in self.conditions)]
        if self.order:
            keys = ", ".join(
                f"{key.field} {'DESC' if key.descending else 'ASC'}" for key in self.order
            )
            parts += ["ORDERBY", keys]
        if self.start is not None:
            parts += ["STARTPOSITION", str(self.start)]
        if self.limit is not None:
            parts += ["MAXRESULTS", str(self.limit)]
        return " ".join(parts)

    def __str__(self) -> str:
        return self.build()


def _new(entity: str | type[T], *, count_only: bool) -> Query[T] | Query[QBOEntity]:
    if isinstance(entity, type):
        return Query(entity=entity_name(entity), entity_class=entity, count_only=count_only)
    untyped: Query[QBOEntity] = Query(entity=entity, count_only=count_only)
    return untyped
