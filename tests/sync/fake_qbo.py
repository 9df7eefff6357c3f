"""`FakeQBO`: QBO's query and CDC endpoints over entities a test lists, on QBO's clock.

Where the emulator (`tests.sync.world`) is a whole company, `FakeQBO` holds only what a
test puts in it, answers with the `time` the test sets (`now`, moved on by `tick` after
every answer, as QBO's clock moves between requests), and records every statement and
CDC call. It is a `ChangeCaller`:

- `query` evaluates what incremental sync writes: `MetaData.LastUpdatedTime` compared
  with `>=`, `<`, `<=` or `>`, `Active IN (...)` or `Active = ...` (an entity without
  `Active` is active), `ORDERBY MetaData.LastUpdatedTime, Id` or `ORDERBY Id [DESC]`,
  `STARTPOSITION` and `MAXRESULTS` (100 when absent). A name list's inactive entities
  are left out unless the query names `Active`, as QBO does; `Id IN (...)` finds
  entities by Id, and only such a query finds the `hidden` ones; `SELECT COUNT(*)`
  answers `total_count`. Anything else is an `AssertionError`: the fake does not guess.
- `cdc` answers, per type asked, its entities then its tombstones changed at or after
  `changed_since`, at most `cap` objects in all, `capped` when `cap` were listed (as QBO
  and `decode_cdc` do).

`entities` are typed entities or `RawEntity`s; an entity's time is its
`MetaData.LastUpdatedTime` (an entity without one matches no time condition).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar, overload

from qbo_core.entities import (
    EntityBase,
    QBOEntity,
    RawEntity,
    TypedEntity,
    entity_name,
    entity_type_of,
)
from qbo_core.query import Condition, Operator, Query
from qbo_core.results import ChangeSet, DeletedEntity, QueryPage
from qbo_core.services.incremental import NAME_LISTS, ChangeCaller

__all__ = ["UPDATED", "FakeQBO", "updated_time"]

TypedEntityT = TypeVar("TypedEntityT", bound=TypedEntity)

UPDATED = "MetaData.LastUpdatedTime"
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def updated_time(entity: QBOEntity) -> datetime | None:
    """The entity's `MetaData.LastUpdatedTime`, if it has a well-formed one."""
    if isinstance(entity, RawEntity):
        meta = entity.data.get("MetaData")
        text = meta.get("LastUpdatedTime") if isinstance(meta, Mapping) else None
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    return entity.meta.last_updated_time if entity.meta is not None else None


def _active(entity: QBOEntity) -> bool:
    if isinstance(entity, RawEntity):
        value = entity.data.get("Active")
    else:
        value = getattr(entity, "active", None)
    return value is not False


def _holds(condition: Condition, entity: QBOEntity) -> bool:
    if condition.field == "Active" and condition.operator in (Operator.IN, Operator.EQ):
        return _active(entity) in condition.values
    if condition.field == "Id" and condition.operator is Operator.IN:
        return entity.id in condition.values
    assert condition.field == UPDATED, f"FakeQBO cannot evaluate {condition}"
    when, (value,) = updated_time(entity), condition.values
    assert isinstance(value, datetime)
    if when is None:
        return False
    compare = {
        Operator.GE: when >= value,
        Operator.GT: when > value,
        Operator.LT: when < value,
        Operator.LE: when <= value,
    }
    assert condition.operator in compare, f"FakeQBO cannot evaluate {condition}"
    return compare[condition.operator]


class FakeQBO:
    """One company's query and CDC endpoints over `entities` and `tombstones`."""

    def __init__(
        self, now: datetime | None, *, cap: int = 1000, tick: timedelta = timedelta(0)
    ) -> None:
        self.now = now
        self.tick = tick
        #: False: CDC answers carry no `time` (queries still do, if `now` is set).
        self.cdc_has_time = True
        self.cap = cap
        self.entities: list[QBOEntity] = []
        self.tombstones: list[DeletedEntity] = []
        #: (type, Id) a query leaves out unless it asks `Id IN (...)` (a paging slip).
        self.hidden: set[tuple[str, str | None]] = set()
        #: Every statement queried, and every CDC call as (types, changed_since).
        self.statements: list[str] = []
        self.cdc_calls: list[tuple[tuple[str, ...], datetime | date]] = []

    def _answered(self) -> datetime | None:
        time = self.now
        if self.now is not None:
            self.now += self.tick
        return time

    @overload
    async def query(self, statement: Query[TypedEntityT]) -> QueryPage[TypedEntityT]: ...
    @overload
    async def query(self, statement: str | Query[QBOEntity]) -> QueryPage[QBOEntity]: ...
    async def query(self, statement: str | Query[Any]) -> QueryPage[Any]:
        assert isinstance(statement, Query), "incremental sync sends Query objects"
        self.statements.append(str(statement))
        names_active = any(c.field == "Active" for c in statement.conditions)
        by_id = any(c.field == "Id" for c in statement.conditions)
        rows = [
            entity
            for entity in self.entities
            if entity_type_of(entity) == statement.entity
            and all(_holds(condition, entity) for condition in statement.conditions)
            and (names_active or statement.entity not in NAME_LISTS or _active(entity))
            and (by_id or (statement.entity, entity.id) not in self.hidden)
        ]
        if statement.count_only:
            return QueryPage(
                entity_type=statement.entity,
                items=(),
                start_position=None,
                max_results=0,
                total_count=len(rows),
                time=self._answered(),
            )
        keys = [(k.field, k.descending) for k in statement.order]
        if keys == [(UPDATED, False), ("Id", False)]:
            rows.sort(key=lambda e: (updated_time(e) or _EARLIEST, int(e.id or 0)))
        elif keys in ([("Id", False)], [("Id", True)]):
            rows.sort(key=lambda e: int(e.id or 0), reverse=keys[0][1])
        else:
            assert not keys, f"FakeQBO cannot order by {statement.order}"
        start = (statement.start or 1) - 1
        items = tuple(rows[start : start + (statement.limit or 100)])
        return QueryPage(
            entity_type=statement.entity,
            items=items,
            start_position=start + 1 if items else None,
            max_results=len(items),
            time=self._answered(),
        )

    async def cdc(
        self, entity_types: Sequence[str | type[EntityBase]], changed_since: date | datetime
    ) -> ChangeSet:
        names = tuple(entity_name(kind) for kind in entity_types)
        self.cdc_calls.append((names, changed_since))
        assert isinstance(changed_since, datetime)
        room = self.cap
        changed: dict[str, list[QBOEntity]] = {}
        deleted: dict[str, list[DeletedEntity]] = {}
        for name in names:
            live = [
                entity
                for entity in self.entities
                if entity_type_of(entity) == name
                and (when := updated_time(entity)) is not None
                and when >= changed_since
            ]
            gone = [
                tomb
                for tomb in self.tombstones
                if tomb.entity_type == name
                and tomb.last_updated is not None
                and tomb.last_updated >= changed_since
            ]
            changed[name] = live[: max(room, 0)]
            room -= len(changed[name])
            deleted[name] = gone[: max(room, 0)]
            room -= len(deleted[name])
        time = self._answered()
        return ChangeSet(
            changed=changed,
            deleted=deleted,
            capped=room <= 0,
            time=time if self.cdc_has_time else None,
        )


def _conforms(fake: FakeQBO) -> ChangeCaller:
    """Type-only: the fake is a `ChangeCaller`."""
    return fake
