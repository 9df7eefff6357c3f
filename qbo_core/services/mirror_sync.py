"""`MirrorSync`: keep a local copy (`Mirror`) of one company in step with QBO.

`await MirrorSync(smart_sync, mirror).run()` does one of two things, and returns a
`SyncReport`:

**A full sync** when the mirror holds no progress for the realm, when `full=True`, or when
an earlier full sync was interrupted. For each entity type not yet complete, in order:
count it (`SELECT COUNT(*)`, the progress bar's total), then stream its pages with
`pages_by_update` (paged by key on `MetaData.LastUpdatedTime`, then `Id`: an entity
changed or deleted meanwhile shifts no other past a page boundary, which offset paging
would) and `apply` each page to the mirror with the progress, so an interrupted run
loses at most the page in flight. Name lists are asked `WHERE Active IN (true, false)`,
since QBO leaves inactive ones out of a query otherwise. When a type's pages are done,
the rows the mirror holds that this pass did not see are asked of QBO by Id (`Id IN
(...)`, 100 at a time): those QBO still has are refreshed, the others deleted, in the
same `apply` that marks the type complete. When every type is complete, the incremental
cursor is stored: per type, the earliest QBO `time` among its pages (the first page's,
unless a page came from the cache), never the host's clock, so whatever changed after
a type's pass began is caught by the next incremental sync.

**Resuming.** `MirrorProgress` records the completed types (with their times) and the one
under way. A run after an interruption (a crash, a Ctrl-C cancelling the task) skips the
completed types and restarts the one under way from its first page: upserts are
idempotent, so re-reading a few pages costs requests, never correctness, and the ids
seen in the interrupted pass need not be stored. Every `apply` is one transaction, so
the mirror is consistent at every point a run can stop.

**An incremental sync** otherwise: `smart_sync.changes_since(entities, cursor)` (CDC
inside its window, paged queries beyond it), applied with the new cursor in one
`apply`. A type in `unknown_deletions` (its cursor was past CDC's window, or CDC's cap
split it) or in `full_types` (added to `entities` since the last sync) is reconciled:
its ids are read from QBO (`SELECT Id FROM <type>`, paged), and the mirror's ids QBO
lacks are asked by Id as above before they are deleted. (Deactivated name-list objects
come as upserts with `Active` false on every path: `changes_since` asks its queries for
inactive objects too.)

`DEFAULT_MIRROR_ENTITIES` is every entity type the emulator serves that CDC tracks (the
name lists and the transactions). Left out, and refused if named: `CompanyInfo` and
`Preferences` (one object each; read them with `company_info()` / `preferences()`), and
`TaxCode`, `TaxRate`, `TaxAgency`, `TimeActivity` and `JournalCode`, which CDC refuses, so
they cannot be synced incrementally.

Known limit: QBO's `SELECT *` leaves out an Item's `Sku`, so a full sync copies Items
without it, while CDC's copies carry it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from qbo_core.dtos import (
    EntitySummary,
    MirrorProgress,
    SyncCursor,
    SyncPhase,
    SyncPosition,
    SyncProgress,
    SyncReport,
)
from qbo_core.entities import EntityBase, QBOEntity, entity_name, entity_type_of
from qbo_core.ports.mirror import Mirror
from qbo_core.query import MAX_MAX_RESULTS, Field, Query
from qbo_core.results import ChangeBatch
from qbo_core.services.incremental import every, pages_by_update
from qbo_core.services.streaming import check_page_size, query_pages
from qbo_core.wire.canonical import entity_checksum

if TYPE_CHECKING:
    from qbo_core.services.smart_sync import SmartSyncService

__all__ = [
    "DEFAULT_MIRROR_ENTITIES",
    "NOT_MIRRORED",
    "MirrorSync",
    "compare_summaries",
]

#: The entity types mirrored unless told otherwise: name lists first (transactions refer
#: to them), then transactions.
DEFAULT_MIRROR_ENTITIES: tuple[str, ...] = (
    "Account",
    "Class",
    "Department",
    "Term",
    "PaymentMethod",
    "Customer",
    "Vendor",
    "Employee",
    "Item",
    "Invoice",
    "SalesReceipt",
    "Estimate",
    "CreditMemo",
    "RefundReceipt",
    "Payment",
    "Deposit",
    "Bill",
    "BillPayment",
    "Purchase",
    "PurchaseOrder",
    "VendorCredit",
    "JournalEntry",
    "Transfer",
    "CreditCardPayment",
)

#: Entity types `MirrorSync` refuses (see the module): singletons, and types CDC refuses.
NOT_MIRRORED: frozenset[str] = frozenset(
    {
        "CompanyInfo",
        "Preferences",
        "TaxCode",
        "TaxRate",
        "TaxAgency",
        "TimeActivity",
        "JournalCode",
    }
)

#: How many ids one `Id IN (...)` query asks.
_IDS_PER_QUERY = 100


def _selecting(query: Query[QBOEntity], name: str) -> Query[QBOEntity]:
    """`query`, made to list a name list's inactive objects too."""
    conditions = every(name)
    return query.where(*conditions) if conditions else query


#: What a side without an entity type holds; its checksum is never compared (a type held
#: on neither side is skipped, and one held on one side only differs in count).
_NOTHING = EntitySummary(count=0, checksum="-")


def compare_summaries(
    expected: Mapping[str, EntitySummary], actual: Mapping[str, EntitySummary]
) -> list[str]:
    """One line per entity type whose summaries differ (empty: the copies agree).

    A type absent from one side counts as holding nothing there.
    """
    lines = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name, _NOTHING), actual.get(name, _NOTHING)
        if want.count == 0 and got.count == 0:
            continue
        if want.count != got.count:
            lines.append(f"{name}: {got.count} entities, expected {want.count}")
        elif want.checksum != got.checksum:
            lines.append(f"{name}: {got.count} entities as expected, but their content differs")
    return lines


class MirrorSync:
    """Copies one company (the realm of `smart_sync`) into `mirror`, then keeps it current.

    `entities`: the entity types to mirror (names or typed classes; default
    `DEFAULT_MIRROR_ENTITIES`; those in `NOT_MIRRORED` raise `ValueError`). `page_size`:
    rows per query page, 1..1000. `on_progress` is called with a `SyncProgress` after
    each page (full sync) or each type (incremental); it must not block.

    Errors from QBO (`QBOError`s, after `SmartSyncService`'s retries) and from the mirror
    (`StoreUnavailableError`) propagate; what was applied before them stays, and the next
    `run` resumes from there. Runs of one realm must not overlap (run them from one task,
    or under a lock).
    """

    def __init__(
        self,
        smart_sync: SmartSyncService,
        mirror: Mirror,
        *,
        entities: Sequence[str | type[EntityBase]] = DEFAULT_MIRROR_ENTITIES,
        page_size: int = MAX_MAX_RESULTS,
        on_progress: Callable[[SyncProgress], None] | None = None,
    ) -> None:
        if isinstance(entities, str):
            raise TypeError("entities is a sequence of entity types, not one str")
        names = list(dict.fromkeys(entity_name(kind) for kind in entities))
        if not names:
            raise ValueError("MirrorSync needs at least one entity type")
        refused = sorted(set(names) & NOT_MIRRORED)
        if refused:
            raise ValueError(
                f"{', '.join(refused)} cannot be mirrored (a singleton, or not tracked by "
                "CDC): see qbo_core.services.mirror_sync"
            )
        self._sync = smart_sync
        self._mirror = mirror
        self._names = tuple(names)
        self._page_size = check_page_size(page_size)
        self._on_progress = on_progress

    @property
    def realm_id(self) -> str:
        return self._sync.realm_id

    @property
    def entities(self) -> tuple[str, ...]:
        return self._names

    def __repr__(self) -> str:
        return f"MirrorSync(realm_id={self.realm_id!r}, entities={len(self._names)})"

    async def run(self, *, full: bool = False) -> SyncReport:
        """A full or an incremental sync, as the module says; `full=True` starts a full
        sync afresh, even over one under way."""
        stored = await self._mirror.progress(self.realm_id)
        if full or stored is None or stored.full or stored.cursor is None:
            resumed = not full and stored is not None and stored.full
            start = stored if resumed and stored is not None else None
            return await self._full(start, resumed=resumed)
        return await self._incremental(stored.cursor)

    async def verify(self) -> list[str]:
        """Compare the mirror with QBO now: one line per entity type that differs.

        Reads every mirrored type from QBO in full (as a full sync does, without
        writing), so it costs as many requests; meant for checks and tests.
        """
        expected: dict[str, EntitySummary] = {}
        for name in self._names:
            entities: list[QBOEntity] = []
            async for page in pages_by_update(
                self._sync, name, where=every(name), page_size=self._page_size
            ):
                entities.extend(page.items)
            latest = {entity.id: entity for entity in entities if entity.id is not None}
            if latest:
                expected[name] = EntitySummary(
                    count=len(latest), checksum=entity_checksum(latest.values())
                )
        actual = await self._mirror.summary(self.realm_id)
        return compare_summaries(expected, {n: s for n, s in actual.items() if n in self._names})

    # ----------------------------------------------------------------- full sync

    async def _full(self, stored: MirrorProgress | None, *, resumed: bool) -> SyncReport:
        realm = self.realm_id
        # `current` and `current_time` are set afresh before each type's first apply.
        progress = stored if stored is not None else MirrorProgress(full=True)
        upserted: dict[str, int] = {}
        deleted: dict[str, int] = {}
        for name in self._names:
            if name in progress.completed:
                continue
            total = await self._sync.count(_selecting(Query.count(name), name))
            self._tell(name, 0, total, "full")
            progress = attrs.evolve(progress, current=name)
            seen: set[str] = set()
            earliest: datetime | None = None
            done = 0
            async for page in pages_by_update(
                self._sync, name, where=every(name), page_size=self._page_size
            ):
                if page.time is not None:
                    earliest = page.time if earliest is None else min(earliest, page.time)
                seen.update(entity.id for entity in page.items if entity.id is not None)
                progress = attrs.evolve(progress, current_time=earliest)
                await self._mirror.apply(realm, upserts=page.items, progress=progress)
                done += len(page)
                self._tell(name, done, total, "full")
            if earliest is None:
                raise ValueError(f"QBO's answers for {name} carried no time to start a cursor from")
            extras = await self._mirror.ids(realm, name) - seen
            alive, gone = await self._confirm(name, extras)
            progress = attrs.evolve(
                progress,
                completed={**progress.completed, name: earliest},
                current=None,
                current_time=None,
            )
            await self._mirror.apply(
                realm,
                upserts=alive,
                deletions=[(name, entity_id) for entity_id in gone],
                progress=progress,
            )
            upserted[name] = done + len(alive)
            if gone:
                deleted[name] = len(gone)
        cursor = SyncCursor(
            positions={name: SyncPosition(since=progress.completed[name]) for name in self._names}
        )
        await self._mirror.apply(realm, progress=MirrorProgress(cursor=cursor))
        return SyncReport(
            mode="full",
            upserted={name: count for name, count in upserted.items() if count},
            deleted=deleted,
            resumed=resumed,
        )

    # ----------------------------------------------------------------- incremental sync

    async def _incremental(self, cursor: SyncCursor) -> SyncReport:
        realm = self.realm_id
        batch = await self._sync.changes_since(self._names, cursor)
        upserts: list[QBOEntity] = list(batch.upserts)
        deletions = [(deleted.entity_type, deleted.id) for deleted in batch.deletions]
        reconciled = tuple(dict.fromkeys((*batch.full_types, *batch.unknown_deletions)))
        for name in reconciled:
            alive, gone = await self._reconcile(name, batch)
            upserts.extend(alive)
            deletions.extend((name, entity_id) for entity_id in gone)
        await self._mirror.apply(
            realm,
            upserts=upserts,
            deletions=deletions,
            progress=MirrorProgress(cursor=batch.cursor),
        )
        upserted = _count(entity_type_of(entity) for entity in upserts)
        deleted = _count(name for name, _ in deletions)
        for name in self._names:
            changes = upserted.get(name, 0) + deleted.get(name, 0)
            self._tell(name, changes, changes, "incremental")
        return SyncReport(
            mode="incremental", upserted=upserted, deleted=deleted, reconciled=reconciled
        )

    async def _reconcile(self, name: str, batch: ChangeBatch) -> tuple[list[QBOEntity], list[str]]:
        """The mirror's `name` rows QBO no longer has (`gone`), and fresh copies of those it
        still has after all (`alive`)."""
        qbo_ids: set[str] = set()
        query = _selecting(Query.select(name).fields("Id"), name)
        async for page in query_pages(self._sync, query, page_size=self._page_size):
            qbo_ids.update(entity.id for entity in page.items if entity.id is not None)
        held = await self._mirror.ids(self.realm_id, name)
        delivered = {
            entity.id for entity in batch.upserts if entity_type_of(entity) == name and entity.id
        }
        return await self._confirm(name, held - qbo_ids - delivered)

    async def _confirm(
        self, name: str, candidates: Iterable[str]
    ) -> tuple[list[QBOEntity], list[str]]:
        """Ask QBO for `candidates` by Id: those it answers are `alive` (fresh copies), the
        rest are `gone`. A paging slip can then never delete an entity QBO still has."""
        wanted = sorted(candidates)
        alive: dict[str, QBOEntity] = {}
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            query = Query.select(name).where(Field("Id").in_(chunk), *every(name))
            async for page in query_pages(self._sync, query, page_size=self._page_size):
                alive.update((e.id, e) for e in page.items if e.id is not None)
        return list(alive.values()), [entity_id for entity_id in wanted if entity_id not in alive]

    def _tell(self, name: str, done: int, total: int | None, phase: SyncPhase) -> None:
        if self._on_progress is not None:
            self._on_progress(
                SyncProgress(
                    realm_id=self.realm_id, entity_type=name, done=done, total=total, phase=phase
                )
            )


def _count(names: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return counts
