"""Incremental sync: what changed in a company since a cursor, and the next cursor.

`changes_since(caller, [Customer, Invoice], cursor)` answers a `ChangeBatch` (upserts,
deletions, the next `SyncCursor`). The host applies the batch, stores the cursor (it is
plain data through `qbo_core.converter`) and passes it back next time.

**Cursors come from QBO's clock only.** Nothing here reads the host's clock (no `Clock`
is even taken): a position's `since` is the `time` QBO wrote on the answer that started
the read (a CDC answer, or the first page of a query), or failing that the newest
`LastUpdatedTime` delivered. Host and QBO clocks may disagree by minutes or years; it
does not matter.

One call, per entity type:

1. **No position yet** (first sync, or a type added): a full read, paged by
   `MetaData.LastUpdatedTime` (see "Paging" below). The type is listed in
   `full_types`; its position is the time of the first page's answer.
2. **A position inside CDC's window** (`config.cdc_window_days`, 30, less an hour of
   margin, measured against QBO's time from one small probe query): one CDC call for all
   such types from `since - overlap`. If QBO's 1,000-object cap (`cdc_max_objects`) was
   reached, each type is asked alone; a type still over the cap is **split**.
3. **A position older than the window**: a paged query on `MetaData.LastUpdatedTime >=
   since - overlap`. A query never sees a hard delete, so the type is listed in
   `unknown_deletions` (deletions may be missing: resync it or reconcile its ids).

**The split rule.** CDC takes a `changedSince` and nothing else: an answer always runs
up to QBO's now, so a window can only be cut from below. Within [since, now] the cut t is
found by bisection (CDC from the middle: over the cap, look later; under it, look
earlier), up to `max_bisections` calls. Then [t, now] comes from CDC(t), complete with
its deletions, and [since, t) from a paged query on `since <= LastUpdatedTime < t`,
complete for live entities. Deletions in [since, t) cannot be asked of QBO (a CDC from
before t would be over the cap again), so the type goes in `unknown_deletions`, and any
tombstones the capped answers did hold are delivered anyway. If even the last second is
over the cap, the whole window is read by query.

**Overlap and de-duplication.** Every read starts `overlap` (5 minutes) before `since`,
so a change QBO stamped just before its answer's `time` but committed after it is not
lost. What this re-reads is filtered out by the position's `delivered` keys (Id and
SyncToken of what was delivered in that overlap), and within one batch each (type, Id)
is delivered once: the newest version (by `LastUpdatedTime`, then SyncToken), or its
deletion, which wins over any version.

**Inactive name-list objects.** A query of a name list (`NAME_LISTS`: Customer, Vendor,
Account, Item, ...) leaves out inactive objects unless it names `Active`, and making an
object inactive is how QBO "deletes" from a name list; so every query here asks `Active IN
(true, false)` of them, and a deactivation comes as an upsert with `Active` false, as CDC
reports it.

**Paging.** Queries here page by key, not only by offset: `WHERE
MetaData.LastUpdatedTime >= k ORDERBY MetaData.LastUpdatedTime, Id`, with `k` moved to
the last page's newest time and `STARTPOSITION` counting only the rows already read at
exactly `k`. An entity changed or deleted while the pages are read then shifts no other
row past a page boundary (offset paging would skip one), except among rows sharing one
second.

**Memory.** A batch holds every change it reports: a first sync holds every live entity
of the types asked. Sync a large company's types one call at a time, or stream a first
copy with `query_all` and start incremental sync from a cursor made of the time of its
first page (`SyncCursor(positions={"Invoice": SyncPosition(since=page.time)})`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from qbo_core.config import QBOConfig
from qbo_core.dtos import SyncCursor, SyncPosition
from qbo_core.entities import EntityBase, QBOEntity, RawEntity, entity_name
from qbo_core.query import MAX_MAX_RESULTS, Condition, Field, Query
from qbo_core.results import ChangeBatch, ChangeSet, DeletedEntity, QueryPage
from qbo_core.services.streaming import QueryCaller, check_page_size

__all__ = ["DEFAULT_OVERLAP", "ChangeCaller", "changes_since", "pages_by_update"]

#: How far before a position's `since` every read starts.
DEFAULT_OVERLAP = timedelta(minutes=5)
#: CDC is used only for positions at least this much younger than its window.
WINDOW_MARGIN = timedelta(hours=1)
_UPDATED = "MetaData.LastUpdatedTime"
_SECOND = timedelta(seconds=1)


class ChangeCaller(QueryCaller, Protocol):
    """Queries (see `QueryCaller`) and change data capture for one company.

    `cdc` is `QBORawClient.cdc` without its `auth` argument: everything of `entity_types`
    changed at or after `changed_since`, up to QBO's now, capped at 1,000 objects
    (`ChangeSet.capped`), with QBO's `time`.
    """

    async def cdc(
        self, entity_types: Sequence[str | type[EntityBase]], changed_since: date | datetime
    ) -> ChangeSet: ...


def _updated(entity: QBOEntity) -> datetime | None:
    if isinstance(entity, RawEntity):
        meta = entity.data.get("MetaData")
        text = meta.get("LastUpdatedTime") if isinstance(meta, Mapping) else None
        if not isinstance(text, str):
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        return moment if moment.utcoffset() is not None else None
    return entity.meta.last_updated_time if entity.meta is not None else None


def _token(entity: QBOEntity) -> int:
    token = entity.sync_token
    return int(token) if token is not None and token.isdigit() else -1


def _key(entity: QBOEntity) -> str:
    return f"{entity.id}:{entity.sync_token}"


def _deleted_key(deleted: DeletedEntity) -> str:
    return f"{deleted.id}:deleted"


def _floor(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _ceil(moment: datetime) -> datetime:
    return _floor(moment) + _SECOND if moment.microsecond else moment


def _rank(entity: QBOEntity) -> tuple[float, int]:
    """Newer versions rank higher: by `LastUpdatedTime`, then SyncToken."""
    when = _updated(entity)
    return (when.timestamp() if when is not None else float("-inf"), _token(entity))


class _Collected:
    """The changes of one entity type, de-duplicated, and what its next position is."""

    def __init__(self, name: str, floor: datetime | None, delivered: Iterable[str]) -> None:
        self.name = name
        self.floor = floor  # changes older than this were delivered by earlier syncs
        self.delivered = frozenset(delivered)
        self.upserts: dict[str, QBOEntity] = {}
        self.deletions: dict[str, DeletedEntity] = {}
        self.seen: dict[str, datetime] = {}  # key -> LastUpdatedTime of everything read
        self.since: datetime | None = None
        self.newest: datetime | None = None
        self.deletions_unknown = False

    def _fresh(self, when: datetime | None, key: str) -> bool:
        if when is not None:
            self.newest = when if self.newest is None else max(self.newest, when)
            self.seen[key] = when
            if self.floor is not None and when < self.floor:
                return False
        return key not in self.delivered

    def upsert(self, entity: QBOEntity) -> None:
        entity_id = entity.id
        if entity_id is None or entity_id in self.deletions:
            return
        if not self._fresh(_updated(entity), _key(entity)):
            return
        held = self.upserts.get(entity_id)
        if held is None or _rank(entity) > _rank(held):
            self.upserts[entity_id] = entity

    def delete(self, deleted: DeletedEntity) -> None:
        if not self._fresh(deleted.last_updated, _deleted_key(deleted)):
            return
        self.upserts.pop(deleted.id, None)
        self.deletions[deleted.id] = deleted

    def take(self, changes: ChangeSet) -> None:
        for entity in changes.changed.get(self.name, ()):
            self.upsert(entity)
        for deleted in changes.deleted.get(self.name, ()):
            self.delete(deleted)

    def position(self, overlap: timedelta) -> SyncPosition:
        since = self.since or self.newest
        if since is None:
            raise ValueError(f"QBO's answers for {self.name} carried no time to make a cursor from")
        edge = since - overlap
        return SyncPosition(
            since=since, delivered=[key for key, when in self.seen.items() if when >= edge]
        )


#: Name lists: QBO leaves their inactive objects (a name list's "delete") out of a query
#: that does not name `Active`; CDC reports them.
NAME_LISTS: frozenset[str] = frozenset(
    {
        "Account",
        "Class",
        "Customer",
        "Department",
        "Employee",
        "Item",
        "PaymentMethod",
        "Term",
        "Vendor",
    }
)


def every(name: str) -> tuple[Condition, ...]:
    """The condition that makes a query of `name` list inactive objects too (name lists
    only; nothing for other types)."""
    return (Field("Active").in_([True, False]),) if name in NAME_LISTS else ()


def pages_by_update(
    caller: QueryCaller,
    entity_type: str | type[EntityBase],
    *,
    where: Sequence[Condition] = (),
    page_size: int = MAX_MAX_RESULTS,
) -> AsyncIterator[QueryPage[QBOEntity]]:
    """Every live `entity_type` matching `where`, paged by key on `LastUpdatedTime`.

    The module's "Paging": `ORDERBY MetaData.LastUpdatedTime, Id`, each page starting at
    the previous page's newest time, so an entity changed or deleted while the pages are
    read moves no other one past a page boundary (an entity changed meanwhile comes
    again, newer, on a later page). The last page is the first one shorter than
    `page_size`. Refuses a `page_size` outside 1..1000 at the call.
    """
    size = check_page_size(page_size)
    return _scan(caller, entity_name(entity_type), None, None, size, tuple(where))


async def _scan(
    caller: QueryCaller,
    name: str,
    lower: datetime | None,
    upper: datetime | None,
    page_size: int,
    where: tuple[Condition, ...] = (),
) -> AsyncIterator[QueryPage[QBOEntity]]:
    """Every live `name` with `lower <= LastUpdatedTime < upper`, paged by key (see module)."""
    key, skip = (_floor(lower) if lower is not None else None), 0
    while True:
        conditions = list(where)
        if key is not None:
            conditions.append(Field(_UPDATED) >= key)
        if upper is not None:
            conditions.append(Field(_UPDATED) < _ceil(upper))
        query = Query.select(name).order_by(_UPDATED, "Id")
        if conditions:
            query = query.where(*conditions)
        page = await caller.query(query.start_position(skip + 1).max_results(page_size))
        yield page
        if len(page) < page_size:
            return
        last = _updated(page.items[-1])
        if last is None:
            raise ValueError(f"a {name} in QBO's answer has no MetaData.LastUpdatedTime")
        if key is not None and last == key:
            skip += len(page)
        else:
            key, skip = last, sum(1 for item in page.items if _updated(item) == last)


async def _read_by_query(
    caller: QueryCaller,
    into: _Collected,
    lower: datetime | None,
    upper: datetime | None,
    page_size: int,
) -> datetime | None:
    """Collect every live `into.name` of [lower, upper): QBO's time on the first page."""
    times: list[datetime | None] = []
    async for page in _scan(caller, into.name, lower, upper, page_size, every(into.name)):
        times.append(page.time)
        for item in page.items:
            into.upsert(item)
    return times[0]  # _scan yields at least one page


async def _split(
    caller: ChangeCaller,
    into: _Collected,
    lower: datetime,
    capped: ChangeSet,
    page_size: int,
    max_bisections: int,
) -> None:
    """Read a type whose changes since `lower` exceed CDC's cap (the module's split rule)."""
    into.deletions_unknown = True
    into.take(capped)  # true as far as it goes: tombstones it holds are real
    low, high = _floor(lower), capped.time or into.newest
    found: tuple[datetime, ChangeSet] | None = None
    if high is not None:
        high = _ceil(high)
        for _ in range(max_bisections):
            if high - low <= _SECOND:
                break
            middle = _floor(low + (high - low) / 2)
            answer = await caller.cdc([into.name], middle)
            if answer.capped:
                low = middle
            else:
                high, found = middle, (middle, answer)
    if found is None:
        # Even the newest slice is over the cap: the whole window by query.
        into.since = await _read_by_query(caller, into, lower, None, page_size)
        return
    cut, newest = found
    await _read_by_query(caller, into, lower, cut, page_size)
    into.take(newest)
    into.since = newest.time


async def changes_since(
    caller: ChangeCaller,
    entities: Sequence[str | type[EntityBase]],
    cursor: SyncCursor | None,
    *,
    config: QBOConfig | None = None,
    overlap: timedelta = DEFAULT_OVERLAP,
    page_size: int = MAX_MAX_RESULTS,
    max_bisections: int = 12,
) -> ChangeBatch:
    """What changed in `entities` since `cursor` (`None`: everything), and the next cursor.

    See the module for the three paths, the split rule and what `unknown_deletions`
    means. `config` supplies `cdc_window_days` and `max_query_results` (defaults:
    `QBOConfig()`). The next cursor keeps the positions of types not asked this time.
    Errors from the caller propagate; the cursor passed in is then still the one to use.
    """
    config = config or QBOConfig()
    size = min(check_page_size(page_size), config.max_query_results)
    if overlap < timedelta(0):
        raise ValueError(f"overlap must not be negative, got {overlap}")
    if max_bisections < 1:
        raise ValueError(f"max_bisections must be at least 1, got {max_bisections}")
    if isinstance(entities, str):
        raise TypeError("entities is a sequence of entity types, not one str")
    names = list(dict.fromkeys(entity_name(kind) for kind in entities))
    if not names:
        raise ValueError("changes_since needs at least one entity type")
    positions = dict(cursor.positions) if cursor is not None else {}
    collected = {
        name: _Collected(
            name,
            positions[name].since - overlap if name in positions else None,
            positions[name].delivered if name in positions else (),
        )
        for name in names
    }
    fresh = [name for name in names if name not in positions]
    known = [name for name in names if name in positions]

    for name in fresh:
        collected[name].since = await _read_by_query(caller, collected[name], None, None, size)

    if known:
        probe = await caller.query(Query.select(known[0]).max_results(1))
        now = probe.time
        window = timedelta(days=config.cdc_window_days) - WINDOW_MARGIN
        inside = [
            name
            for name in known
            if now is not None and positions[name].since - overlap >= now - window
        ]
        for name in known:
            if name not in inside:
                into = collected[name]
                into.deletions_unknown = True
                lower = positions[name].since - overlap
                into.since = await _read_by_query(caller, into, lower, None, size)
        if inside:
            await _by_cdc(caller, inside, collected, positions, overlap, size, max_bisections)

    new_positions = dict(positions)
    upserts: list[QBOEntity] = []
    deletions: list[DeletedEntity] = []
    for name in names:
        into = collected[name]
        new_positions[name] = into.position(overlap)
        upserts.extend(sorted(into.upserts.values(), key=_rank))
        deletions.extend(into.deletions.values())
    return ChangeBatch(
        upserts=tuple(upserts),
        deletions=tuple(deletions),
        cursor=SyncCursor(positions=new_positions),
        full_types=tuple(fresh),
        unknown_deletions=tuple(name for name in names if collected[name].deletions_unknown),
    )


async def _by_cdc(
    caller: ChangeCaller,
    names: list[str],
    collected: Mapping[str, _Collected],
    positions: Mapping[str, SyncPosition],
    overlap: timedelta,
    page_size: int,
    max_bisections: int,
) -> None:
    lower = min(positions[name].since for name in names) - overlap
    answer = await caller.cdc(names, lower)
    if not answer.capped:
        for name in names:
            collected[name].take(answer)
            collected[name].since = answer.time
        return
    for name in names:
        own_lower = positions[name].since - overlap
        alone = answer if len(names) == 1 else await caller.cdc([name], own_lower)
        into = collected[name]
        if alone.capped:
            await _split(caller, into, own_lower, alone, page_size, max_bisections)
        else:
            into.take(alone)
            into.since = alone.time
