"""Run a parsed `Query` over entities held as JSON-like mappings, and shape QBO's answer.

Matching is in `query_where`, ordering in `query_order`; this module pages, projects
and checks property names. A query with no ORDERBY takes the caller's `default_order`
(`query_defaults.default_order_for` gives QBO's recorded ones), else Id order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import attrs

from qbo_adapters.emulator.query_defaults import carries_total_count, left_out_of_star
from qbo_adapters.emulator.query_lexer import QueryFault
from qbo_adapters.emulator.query_model import OrderKey, Query, Selection
from qbo_adapters.emulator.query_order import BY_ID, ordered
from qbo_adapters.emulator.query_paths import Path
from qbo_adapters.emulator.query_where import filter_entities

__all__ = ["QueryResult", "execute", "to_response"]

Entity = Mapping[str, Any]


@attrs.frozen(kw_only=True)
class QueryResult:
    """What a query found: `total` matches before paging, `items` the requested page.

    `items` holds the caller's own mappings for `SELECT *` (not copies; a copy only where
    a property `SELECT *` leaves out was taken away), new projected mappings for a
    property list, and nothing for `COUNT(*)`.
    """

    total: int
    items: tuple[Entity, ...]


def execute(
    query: Query,
    entities: Iterable[Entity],
    *,
    known_fields: Collection[str] | None = None,
    entity_name: str | None = None,
    default_order: Sequence[OrderKey] | None = None,
    hide_inactive: bool = False,
    today: dt.date | None = None,
) -> QueryResult:
    """Filter, order and page `entities` (all of the query's entity type) as `query` asks.

    `known_fields` are the properties the entity has (case-insensitive; a name admits
    every dotted path below it, `MetaData` admits `MetaData.CreateTime`): a select-list,
    WHERE or ORDERBY name outside them is 4001 `Property X not found for Entity Y`, as QBO
    answers. `None` admits any name; an absent property then simply never matches.
    `entity_name` names the entity in that message (default: as the query wrote it).
    `default_order` applies without ORDERBY (`None` or empty: by Id, numerically).
    `hide_inactive` leaves out entities whose `Active` is false unless a condition names
    `Active` (QBO does so for name lists: `query_defaults`). `today` is the company's
    date, for `CURRENT_DATE`.

    Raises `QueryFault` 4001 or 4002 (rules in `query_where`); `ValueError` when the
    query uses `CURRENT_DATE` and `today` is None.
    """
    if known_fields is not None:
        _check_names(query, known_fields, entity_name or query.entity)
    if hide_inactive and not any(c.field.lower() == "active" for c in query.conditions):
        entities = list(entities)
        active = Path("Active").column(entities)
        entities = [
            entity for entity, flag in zip(entities, active, strict=True) if flag is not False
        ]
    matches, columns = filter_entities(entities, query.conditions, today)
    total = len(matches)
    first = query.start_position - 1
    if query.selection is Selection.COUNT or first >= total:
        return QueryResult(total=total, items=())
    order = query.order or tuple(default_order or ()) or BY_ID
    end = first + query.max_results
    page = ordered(matches, order, end, columns)[first:end]
    if query.selection is Selection.FIELDS:
        page = [_project(entity, query.fields) for entity in page]
    elif hidden := left_out_of_star(entity_name or query.entity) - {
        field.lower() for field in query.fields
    }:
        page = [_without(entity, hidden) for entity in page]
    return QueryResult(total=total, items=tuple(page))


def to_response(query: Query, result: QueryResult, entity_name: str) -> dict[str, Any]:
    """The `QueryResponse` object QBO sends for `result` (the envelope adds `time`).

    `{"<entity_name>": [...], "startPosition": n, "maxResults": <items returned>}`, plus
    `"totalCount"` for the entities that carry it (`query_defaults.carries_total_count`);
    `{}` for an empty page, `{"totalCount": n}` for `COUNT(*)`.

    On a page `totalCount` is the number of rows on that page, like `maxResults`, not the
    number of matches: Intuit's Bill query sample (`select * from bill maxresults 2`)
    answers `"totalCount": 2`. QBO documents neither; the count of all matches is
    `COUNT(*)`'s.
    """
    if query.selection is Selection.COUNT:
        return {"totalCount": result.total}
    if not result.items:
        return {}
    page: dict[str, Any] = {
        entity_name: list(result.items),
        "startPosition": query.start_position,
        "maxResults": len(result.items),
    }
    if carries_total_count(entity_name):
        page["totalCount"] = len(result.items)
    return page


def _check_names(query: Query, known_fields: Collection[str], entity: str) -> None:
    known = {name.lower() for name in known_fields}
    names = [
        *query.fields,
        *(condition.field for condition in query.conditions),
        *(key.field for key in query.order),
    ]
    for name in names:
        segments = name.lower().split(".")
        if not any(".".join(segments[:i]) in known for i in range(1, len(segments) + 1)):
            raise QueryFault.invalid(f"Property {name} not found for Entity {entity}")


def _without(entity: Entity, hidden: frozenset[str]) -> Entity:
    """`entity` less its properties whose lower-case names are in `hidden` (itself when
    it has none of them)."""
    if not any(isinstance(key, str) and key.lower() in hidden for key in entity):
        return entity
    return {
        key: value
        for key, value in entity.items()
        if not (isinstance(key, str) and key.lower() in hidden)
    }


def _project(entity: Entity, fields: Sequence[str]) -> Entity:
    """Only `fields` of `entity`, in the entity's key order, then `"sparse": true`.

    A nested path keeps its nesting (`MetaData.CreateTime` gives
    `{"MetaData": {"CreateTime": ...}}`); a path into a list copies the whole list.
    """
    projected: dict[str, Any] = {}
    for field in fields:
        _copy_path(entity, projected, field.split("."))
    result = {key: projected[key] for key in entity if key in projected}
    result["sparse"] = True
    return result


def _copy_path(source: Mapping[str, Any], target: dict[str, Any], segments: list[str]) -> None:
    lowered = segments[0].lower()
    key = next((k for k in source if isinstance(k, str) and k.lower() == lowered), None)
    if key is None or source[key] is None:
        return
    value = source[key]
    if len(segments) == 1 or not isinstance(value, Mapping):
        target[key] = value
        return
    branch = target.setdefault(key, {})
    if isinstance(branch, dict):
        _copy_path(value, branch, segments[1:])
