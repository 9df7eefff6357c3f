"""ORDERBY: putting matched entities in order.

ORDERBY keys apply in turn, each ASC or DESC. A missing or null value sorts first
ascending and last descending; ties keep the order the entities came in. Numbers sort
numerically, digit strings (Ids) as integers, ISO times chronologically (as instants),
other strings by code point, so case-sensitively: QBO lists "PG&E" before "Pam Seitz"
(`all/vendors_by_5.json`). A reference sorts by its `value`, a list by its first element.
"""

from __future__ import annotations

import heapq
import operator
from collections.abc import Mapping, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any

from qbo_adapters.emulator.query_lexer import QueryFault
from qbo_adapters.emulator.query_model import OrderKey
from qbo_adapters.emulator.query_paths import MISSING, Many, Path, reference_of
from qbo_adapters.emulator.query_values import instant, instant_of_text, shared_layout, time_of

__all__ = ["BY_ID", "ordered"]

Entity = Mapping[str, Any]

#: The order when neither the query nor the caller gives one.
BY_ID = (OrderKey(field="Id"),)

_MissingType = type(MISSING)
_PLAIN = frozenset({str, int, float, bool, Decimal})
_NUMBERS = frozenset({int, float, Decimal})


def ordered(
    entities: list[Entity],
    order: Sequence[OrderKey],
    needed: int,
    columns: Mapping[str, list[Any]] | None = None,
) -> list[Entity]:
    """`entities` in `order`; only the first `needed` are sure to be in place.

    `columns` may hold a path's values already read for `entities` (as `Path.column` or
    `filter_entities` gives them).
    """
    if len(order) == 1:
        known = columns.get(order[0].field) if columns else None
        return _sort_by(entities, order[0], needed, known)
    for key in reversed(order):
        entities = _sort_by(entities, key, len(entities))
    return entities


def _sort_by(
    entities: list[Entity], key: OrderKey, needed: int, column: list[Any] | None = None
) -> list[Entity]:
    if column is None:
        column = Path(key.field).column(entities)
    kinds = set(map(type, column))
    if not kinds <= _PLAIN:
        column = [_sortable(value, key.field) for value in column]
        kinds = set(map(type, column))
    missing: list[Entity] = []
    present, values = entities, column
    if _MissingType in kinds:
        kinds.discard(_MissingType)
        keep = [index for index, value in enumerate(column) if value is not MISSING]
        missing = [
            entity for entity, value in zip(entities, column, strict=True) if value is MISSING
        ]
        present = [entities[index] for index in keep]
        values = [column[index] for index in keep]
    keys = _sort_keys(values, kinds)
    if key.descending:
        wanted = min(needed, len(present))
        return [present[i] for i in _top(keys, wanted, descending=True)] + missing
    if len(missing) >= needed:
        return missing
    wanted = min(needed - len(missing), len(present))
    return missing + [present[i] for i in _top(keys, wanted, descending=False)]


def _top(keys: list[Any], wanted: int, *, descending: bool) -> list[int]:
    """Indexes of the first `wanted` keys in order, ties in index order."""
    indexes = range(len(keys))
    if all(map(operator.ge if descending else operator.le, keys, islice(keys, 1, None))):
        return list(islice(indexes, wanted))  # already in order (entities kept by Id)
    if wanted * 4 < len(keys):
        pick = heapq.nlargest if descending else heapq.nsmallest
        return pick(wanted, indexes, key=keys.__getitem__)
    return sorted(indexes, key=keys.__getitem__, reverse=descending)


def _sortable(value: Any, field: str) -> Any:
    if type(value) is Many:
        value = value.values[0] if value.values else MISSING
    elif type(value) is list:
        items = [item for item in value if item is not None]
        value = items[0] if items else MISSING
    if isinstance(value, Mapping):
        reference = reference_of(value)
        if reference is MISSING or isinstance(reference, Mapping | list):
            raise QueryFault.invalid(f"property '{field}' is not queryable")
        value = reference
    if value is None or isinstance(value, list):
        return MISSING
    return value


def _sort_keys(values: list[Any], kinds: set[type]) -> list[Any]:
    """Keys that order `values`; mixed kinds order numbers, times, text, then booleans."""
    if kinds <= _NUMBERS or kinds == {bool} or not values:
        return values
    if kinds == {str}:
        if all(map(str.isdigit, values)):
            try:
                return list(map(int, values))
            except ValueError:  # a digit int() does not read (superscripts), or too long
                pass
        if shared_layout(values) is not None:
            return values  # ISO times laid out alike: text order is time order
        instants = list(map(instant_of_text, values))
        if None not in instants:
            return instants
        return values
    return [_mixed_key(value) for value in values]


def _mixed_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (3, value)
    if isinstance(value, int | float | Decimal):
        return (0, value)
    text = str(value)
    if text.isascii() and text.isdigit():
        return (0, int(text))
    time = time_of(text)
    if time is not None:
        return (1, instant(time))
    return (2, text)
