"""WHERE: each condition compiled once into a test of one stored value.

Rules (QBO documents that values are case-insensitive; the rest are choices):

- A missing or null property never matches, whatever the operator, except against the
  null literal `' '` (one space, Intuit's documented null): `= ' '` (or an IN list
  holding `' '`) matches a missing, null or blank property; `!= ' '` a present, non-blank
  one.
- Strings compare case-insensitively (`str.casefold`). When the literal and the stored
  string both spell numbers (`Id IN ('5', '6')`, `DocNumber > '1000'`) they compare as
  numbers; when both spell ISO times they compare as times (`query_values`).
- A stored number compares numerically with a number or a numeric string
  (`Balance > '100'`); a stored boolean with `true`/`false`/`'true'`/`'false'`. Any other
  literal against a stored number or boolean cannot be evaluated: 4002 "Error processing
  query" (QBO's code for a valid query it cannot run).
- A reference object (`CustomerRef`) compares by its `value`; any other object is "not
  queryable" (4001, QBO's answer for `PrimaryEmailAddr`, quickbooks-ruby #403). A path
  through a list matches when any element does.
- LIKE: `%` matches any run of characters, everything else is literal; case-insensitive;
  matched without backtracking (`like.py`);
  a stored number or boolean is matched in its JSON text form.
- `CURRENT_DATE` is the `today` given to `execute`.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from functools import partial
from itertools import compress
from operator import itemgetter
from typing import Any

from qbo_adapters.emulator.like import like_matcher
from qbo_adapters.emulator.query_lexer import QueryFault
from qbo_adapters.emulator.query_model import Condition, Operator, Value, ValueKind
from qbo_adapters.emulator.query_paths import MISSING, Many, Path, reference_of
from qbo_adapters.emulator.query_values import (
    Time,
    aligned,
    exact_number,
    offset_literals,
    same_marks,
    shared_layout,
    text_of,
    time_of,
    to_float,
)

__all__ = ["filter_entities"]

Entity = Mapping[str, Any]
_Test = Callable[[Any], bool]
_Compare = Callable[[Any, Any], bool]

_COMPARE: dict[Operator, _Compare] = {
    Operator.EQ: operator.eq,
    Operator.NE: operator.ne,
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
}
# op(stored, literal) == _FLIPPED[op](literal, stored): lets a C-level partial do the test.
_FLIPPED: dict[Operator, _Compare] = {
    Operator.EQ: operator.eq,
    Operator.NE: operator.ne,
    Operator.LT: operator.gt,
    Operator.LE: operator.ge,
    Operator.GT: operator.lt,
    Operator.GE: operator.le,
}
_TRUTH = {"true": True, "false": False}
_MISSING_TYPE = type(MISSING)
_NULLS = frozenset({type(None), _MISSING_TYPE})


def filter_entities(
    entities: Iterable[Entity], conditions: Sequence[Condition], today: dt.date | None
) -> tuple[list[Entity], dict[str, list[Any]]]:
    """The entities that meet every condition, in their original order, and the column
    each condition read (path as written → one value per surviving entity, references
    already replaced by their `value`), for ORDERBY to reuse.

    Conditions run in the order written, each over the survivors of the one before
    (so a 4001/4002 comes only from a value the earlier conditions let through).
    """
    matchers = [(Path(condition.field), _Matcher(condition, today)) for condition in conditions]
    survivors = list(entities)
    columns: dict[str, list[Any]] = {}
    for path, matcher in matchers:
        column = path.column(survivors)
        kinds = set(map(type, column))
        if dict in kinds:
            column, kinds = _dereferenced(column, matcher.field)
        keep = _by_layout(column, matcher.scalar.time) if kinds == {str} else None
        if keep is None:
            keep = list(map(matcher.for_kinds(kinds), column))
        if not all(keep):
            survivors = list(compress(survivors, keep))
            columns = {name: list(compress(kept, keep)) for name, kept in columns.items()}
            column = list(compress(column, keep))
        columns[path.path] = column
    return survivors, columns


def _by_layout(column: list[str], time: tuple[str, _Compare] | None) -> list[bool] | None:
    """The time test over a column of ISO times all laid out alike, as text comparisons in
    C; None when the column or the literal does not allow it.

    Times of one layout and one offset order as their text does; a date literal against
    datetimes compares their first ten characters, a datetime literal against dates its
    own first ten. A value laid out like an ISO time is taken as one.
    """
    if time is None or not column:
        return None
    literal, flipped = time
    if not same_marks(column):
        return None
    layout = shared_layout(column, marks_checked=True)
    if layout is None:  # one layout, several offsets (Pacific winter and summer)
        by_offset = offset_literals(column, literal, marks_checked=True)
        if by_offset is None:
            return None
        return [flipped(by_offset[value[19:]], value) for value in column]
    if layout[0] == 10 or len(literal) == 10:
        dates = column if layout[0] == 10 else list(map(itemgetter(slice(10)), column))
        return list(map(partial(flipped, literal[:10]), dates))
    if shared_layout([literal]) != layout:
        return None
    return list(map(partial(flipped, literal), column))


_NO_REFERENCE: Any = object()


def _dereferenced(column: list[Any], field: str) -> tuple[list[Any], set[type]]:
    """`column` with each object replaced by its reference `value`, and the kinds left."""
    values = [
        value.get("value", _NO_REFERENCE) if type(value) is dict else value for value in column
    ]
    kinds = set(map(type, values))
    if dict in kinds or _NO_REFERENCE in values:
        values = [_dereference(value, field) if type(value) is dict else value for value in column]
        kinds = set(map(type, values))
    return values, kinds


def _dereference(value: Mapping[Any, Any], field: str) -> Any:
    """A reference object's `value`; any other object is not queryable (4001)."""
    reference = reference_of(value)
    if reference is MISSING or isinstance(reference, Mapping | list):
        raise QueryFault.invalid(f"property '{field}' is not queryable")
    return reference


def _is_null(value: Value) -> bool:
    return value.kind is ValueKind.STRING and value.text == " "


def _literal_text(value: Value, today: dt.date | None) -> str:
    if value.kind is ValueKind.CURRENT_DATE:
        if today is None:
            raise ValueError("the query uses CURRENT_DATE: pass today= to execute")
        return today.isoformat()
    return value.text


class _Scalar:
    """How one literal tests present, non-null stored values.

    `text` tests a string; `other` any other scalar; `fast` maps a stored type to a
    C-level test for columns holding only that type.
    """

    def __init__(
        self,
        text: _Test,
        other: _Test,
        fast: dict[type, _Test] | None = None,
        time: tuple[str, _Compare] | None = None,
    ) -> None:
        self.text = text
        self.other = other
        self.fast = fast or {}
        #: (literal, flipped comparison) when the literal is a time: `_by_layout` can then
        #: compare a column of identically laid out times as text, in C.
        self.time = time

    def __call__(self, value: Any) -> bool:
        return self.text(value) if type(value) is str else self.other(value)


class _Matcher:
    """One condition, compiled: a test per column value (`for_kinds`)."""

    def __init__(self, condition: Condition, today: dt.date | None) -> None:
        self.field = field = condition.field
        if condition.operator is Operator.IN:
            self.scalar = _in_scalar(condition.values, field, today)
            self.null_matches = any(_is_null(value) for value in condition.values)
        else:
            self.scalar = _scalar(condition.operator, condition.values[0], field, today)
            self.null_matches = condition.operator is Operator.EQ and _is_null(condition.values[0])

    def for_kinds(self, kinds: set[type]) -> _Test:
        """The fastest test that is right for a column holding values of `kinds`."""
        if len(kinds) == 1:
            (kind,) = kinds
            if kind is str:
                return self.scalar.text
            fast = self.scalar.fast.get(kind)
            if fast is not None:
                return fast
        elif kinds <= self.scalar.fast.keys():
            # Amounts QBO writes as integers when whole and as decimals otherwise: one
            # column holds both kinds, each with its own fast test.
            by_kind = {kind: self.scalar.fast[kind] for kind in kinds}
            return lambda value: by_kind[type(value)](value)
        if not self.null_matches and kinds <= _NULLS:
            return _never
        return self.test

    def test(self, value: Any) -> bool:
        """Any column value: a scalar, null, `MISSING`, a list, a `Many` or an object."""
        kind = type(value)
        if kind is str:
            return self.scalar.text(value)
        if value is MISSING or value is None:
            return self.null_matches
        if kind is Many or kind is list:
            items = value.values if kind is Many else [x for x in value if x is not None]
            return any(map(self._item, items)) if items else self.null_matches
        return self._item(value)

    def _item(self, value: Any) -> bool:
        if isinstance(value, Mapping):
            value = _dereference(value, self.field)
            if value is None:
                return self.null_matches
        elif isinstance(value, list):
            raise QueryFault.invalid(f"property '{self.field}' is not queryable")
        return self.scalar(value)


def _never(value: Any) -> bool:
    return False


def _scalar(op: Operator, literal: Value, field: str, today: dt.date | None) -> _Scalar:
    """How `stored op literal` tests one present, non-null stored value."""
    text = _literal_text(literal, today)
    if op is Operator.LIKE:
        return _like(text)
    if _is_null(literal) and op in (Operator.EQ, Operator.NE):
        blank = op is Operator.EQ
        return _Scalar(lambda value: (not value.strip()) is blank, lambda value: not blank)
    compare, flipped = _COMPARE[op], _FLIPPED[op]
    folded = text.casefold()
    exact = exact_number(text) if literal.kind is not ValueKind.BOOLEAN else None
    approx = to_float(exact) if exact is not None else None
    truth = _TRUTH.get(folded)
    when = time_of(text) if exact is None else None

    def refused(kind: str) -> QueryFault:
        return QueryFault.unprocessable(f"cannot compare {kind} property {field} with {text}")

    def other(value: Any) -> bool:
        kind = type(value)
        if kind is bool:
            if truth is None:
                raise refused("boolean")
            return compare(value, truth)
        if kind is float:
            if approx is None:
                raise refused("number")
            return compare(value, approx)
        if kind is int or kind is Decimal:
            if exact is None:
                raise refused("number")
            return compare(value, exact)
        return compare(str(value).casefold(), folded)

    fast: dict[type, _Test] = {}
    if truth is not None:
        fast[bool] = partial(flipped, truth)
    if approx is not None:
        fast[float] = partial(flipped, approx)
    if exact is not None:
        fast[int] = fast[Decimal] = partial(flipped, exact)
    time = (text, flipped) if when is not None else None
    return _Scalar(_text_test(compare, text, folded, exact, when), other, fast, time)


def _text_test(
    compare: _Compare, text: str, folded: str, exact: int | Decimal | None, when: Time | None
) -> _Test:
    """A test of a stored string: as a number, as a time, or as case-insensitive text."""
    if exact is not None:

        def as_number(value: str) -> bool:
            number = exact_number(value)
            if number is not None:
                return compare(number, exact)
            return compare(value.casefold(), folded)

        return as_number
    if when is None:
        return lambda value: compare(value.casefold(), folded)

    def as_time(value: str) -> bool:
        stored = time_of(value)
        if stored is None:
            return compare(value.casefold(), folded)
        return compare(*aligned(stored, when))

    return as_time


def _in_scalar(values: Sequence[Value], field: str, today: dt.date | None) -> _Scalar:
    """`stored IN (...)`: any `=` holds; plain strings and numbers are looked up in sets."""
    scalars = [_scalar(Operator.EQ, value, field, today) for value in values]
    if len(scalars) == 1:
        return scalars[0]

    def any_text(value: str) -> bool:
        return any(scalar.text(value) for scalar in scalars)

    def any_other(value: Any) -> bool:
        return any(scalar.other(value) for scalar in scalars)

    texts = [_literal_text(value, today) for value in values]
    exacts = [
        exact_number(text) if value.kind is not ValueKind.BOOLEAN else None
        for value, text in zip(values, texts, strict=True)
    ]
    if any(
        _is_null(value) or (exact is None and time_of(text) is not None)
        for value, text, exact in zip(values, texts, exacts, strict=True)
    ):
        return _Scalar(any_text, any_other)
    numbers = {exact for exact in exacts if exact is not None}
    number_texts = {
        text.casefold() for text, exact in zip(texts, exacts, strict=True) if exact is not None
    }
    other_texts = {
        text.casefold() for text, exact in zip(texts, exacts, strict=True) if exact is None
    }

    def in_sets(value: str) -> bool:
        folded = value.casefold()
        number = exact_number(value) if numbers else None
        if number is not None:
            return number in numbers or folded in other_texts
        return folded in other_texts or folded in number_texts

    return _Scalar(in_sets, any_other)


def _like(pattern: str) -> _Scalar:
    """LIKE: `%` is any run of characters, the rest literal, case-insensitively (`like.py`)."""
    text: _Test = like_matcher(pattern)
    return _Scalar(text, lambda value: text(text_of(value)))
