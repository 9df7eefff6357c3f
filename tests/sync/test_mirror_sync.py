"""`MirrorSync` against the in-process emulator on a fake clock: a full copy equals the
emulator's company, changes made through SmartSync arrive incrementally, an interrupted
run resumes, a cursor past CDC's window still converges, and the SQL mirrors work end to
end. "Equal" is `entity_checksum` computed on both sides (`compare_summaries`)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import attrs
import pytest

from qbo_adapters.memory.mirror import MemoryMirror
from qbo_adapters.sql.mirror import SqlMirror
from qbo_core.dtos import (
    EntitySummary,
    MirrorProgress,
    SyncCursor,
    SyncPosition,
    SyncProgress,
    SyncReport,
)
from qbo_core.entities import (
    Customer,
    EntityBase,
    Invoice,
    MetaData,
    QBOEntity,
    Vendor,
    entity_type_of,
)
from qbo_core.ports.mirror import Mirror
from qbo_core.query import Query
from qbo_core.results import ChangeBatch, DeletedEntity
from qbo_core.services.incremental import changes_since
from qbo_core.services.mirror_sync import (
    DEFAULT_MIRROR_ENTITIES,
    NOT_MIRRORED,
    MirrorSync,
    compare_summaries,
)
from qbo_core.wire.canonical import entity_checksum
from qbo_core.wire.entities import decode_entity
from qbo_core.wire.jsonio import dumps, loads
from tests.adapters.sql_databases import (
    disposing,
    postgres_engine,
    postgres_schema,
    sqlite_engine,
    sqlite_file,
)
from tests.core.sync_world import SyncWorld
from tests.sync.fake_qbo import FakeQBO

if TYPE_CHECKING:
    from qbo_core.services.smart_sync import SmartSyncService

#: A smaller set of types keeps the tests quick; it holds name lists (with an inactive
#: Employee in the seeded data) and transactions.
ENTITIES = ("Customer", "Vendor", "Employee", "Item", "Invoice", "Bill", "Payment")


def emulator_summary(world: SyncWorld, names: Sequence[str]) -> dict[str, EntitySummary]:
    """What the emulator holds, summarised exactly as a mirror summarises its rows."""
    company = world.emulator.companies[world.realm]
    found = {}
    for name in names:
        entities = [decode_entity(name, loads(dumps(obj))) for obj in company.all(name)]
        if entities:
            found[name] = EntitySummary(count=len(entities), checksum=entity_checksum(entities))
    return found


async def assert_mirrors(world: SyncWorld, mirror: Mirror, names: Sequence[str]) -> None:
    actual: Mapping[str, EntitySummary] = await mirror.summary(world.realm)
    assert compare_summaries(emulator_summary(world, names), actual) == []


async def connected(**settings: object) -> SyncWorld:
    world = SyncWorld(**settings)
    await world.connect()
    return world


async def mutate(world: SyncWorld) -> dict[str, str]:
    """A create, updates, a deactivation and a delete, through SmartSync."""
    sync = world.sync()
    created = await sync.create(Customer(display_name="Mirror Test Customer"))
    invoices = (await sync.query(Query.select(Invoice).max_results(50))).items
    changed = await sync.sparse_update(
        Invoice, invoices[0].id or "", invoices[0].sync_token or "", {"PrivateNote": "mirrored"}
    )
    # The first invoice no payment depends on (QBO refuses to delete the others).
    doomed = next(invoice for invoice in invoices[1:] if invoice.balance == invoice.total_amt)
    await sync.delete(Invoice, doomed.id or "", doomed.sync_token or "")
    vendor = (await sync.query(Query.select("Vendor").max_results(1))).items[0]
    await sync.sparse_update("Vendor", vendor.id or "", vendor.sync_token or "", {"Active": False})
    return {
        "created": created.id or "",
        "changed": changed.id or "",
        "deleted": doomed.id or "",
        "vendor": vendor.id or "",
    }


async def test_a_full_sync_copies_the_company_exactly() -> None:
    """The first run is a full sync; the mirror then equals the emulator, and the next run
    is incremental with nothing to do."""
    world = await connected()
    mirror = MemoryMirror()
    seen: list[SyncProgress] = []
    sync = MirrorSync(world.sync(), mirror, entities=ENTITIES, on_progress=seen.append)
    report = await sync.run()
    assert report.mode == "full"
    assert not report.resumed
    await assert_mirrors(world, mirror, ENTITIES)
    assert {event.entity_type for event in seen} == set(ENTITIES)
    last = {event.entity_type: event for event in seen}
    assert all(event.done == event.total for event in last.values())
    progress = await mirror.progress(world.realm)
    assert progress is not None
    assert not progress.full
    assert progress.cursor is not None
    assert set(progress.cursor.positions) == set(ENTITIES)
    again = await sync.run()
    assert again.mode == "incremental"
    assert dict(again.upserted) == {}
    assert dict(again.deleted) == {}
    assert await sync.verify() == []


async def test_changes_arrive_incrementally() -> None:
    """Creates, updates, a deactivation and a delete made after the full sync reach the
    mirror through one incremental run (CDC), deletions included."""
    world = await connected()
    mirror = MemoryMirror()
    sync = MirrorSync(world.sync(), mirror, entities=ENTITIES)
    await sync.run()
    ids = await mutate(world)
    world.clock.advance(60)
    report = await sync.run()
    assert report.mode == "incremental"
    assert report.deleted == {"Invoice": 1}
    assert report.upserted["Customer"] >= 1
    await assert_mirrors(world, mirror, ENTITIES)
    assert await mirror.get(world.realm, "Invoice", ids["deleted"]) is None
    changed = await mirror.get(world.realm, "Invoice", ids["changed"])
    assert isinstance(changed, Invoice)
    assert changed.private_note == "mirrored"
    vendor = await mirror.get(world.realm, "Vendor", ids["vendor"])
    assert vendor is not None


async def test_a_cursor_past_the_cdc_window_still_converges() -> None:
    """After more than 30 days the types are read by query and their deletions found by
    comparing ids: the mirror ends equal to the emulator, the deleted invoice gone."""
    world = await connected()
    mirror = MemoryMirror()
    sync = MirrorSync(world.sync(), mirror, entities=ENTITIES)
    await sync.run()
    world.clock.advance(31 * 86_400)
    ids = await mutate(world)
    world.clock.advance(60)
    report = await sync.run()
    assert report.mode == "incremental"
    assert set(report.reconciled) == set(ENTITIES)
    assert report.deleted.get("Invoice") == 1
    await assert_mirrors(world, mirror, ENTITIES)
    assert await mirror.get(world.realm, "Invoice", ids["deleted"]) is None


async def test_many_small_pages_copy_the_same_company() -> None:
    """With 5 rows a page (dozens of pages per type) the copy is the same."""
    world = await connected()
    mirror = MemoryMirror()
    pages: list[SyncProgress] = []
    sync = MirrorSync(
        world.sync(), mirror, entities=("Account", "Invoice"), page_size=5, on_progress=pages.append
    )
    await sync.run()
    await assert_mirrors(world, mirror, ("Account", "Invoice"))
    assert len(pages) > 15


async def test_an_interrupted_full_sync_resumes_where_it_stopped() -> None:
    """A run cancelled mid-way (as Ctrl-C cancels the task) leaves the mirror consistent;
    the next run resumes: it skips the types done, ends with the same mirror as an
    uninterrupted run, and sends fewer requests than a full restart."""
    # The uninterrupted reference, on an identical emulator.
    reference = await connected()
    before = len(reference.data_requests())
    await MirrorSync(reference.sync(), MemoryMirror(), entities=ENTITIES, page_size=10).run()
    full_cost = len(reference.data_requests()) - before

    world = await connected()
    mirror = MemoryMirror()
    pages = 0
    task: asyncio.Task[object] | None = None

    def stop_after_some_pages(event: SyncProgress) -> None:
        nonlocal pages
        if event.done:
            pages += 1
        if pages == 6 and task is not None:
            task.cancel()

    first = MirrorSync(
        world.sync(), mirror, entities=ENTITIES, page_size=10, on_progress=stop_after_some_pages
    )
    task = asyncio.ensure_future(first.run())
    with pytest.raises(asyncio.CancelledError):
        await task
    progress = await mirror.progress(world.realm)
    assert progress is not None
    assert progress.full
    assert progress.completed
    assert progress.cursor is None

    start = len(world.data_requests())
    report = await MirrorSync(world.sync(), mirror, entities=ENTITIES, page_size=10).run()
    assert report.mode == "full"
    assert report.resumed
    assert not set(progress.completed) & set(report.upserted)
    assert len(world.data_requests()) - start < full_cost
    await assert_mirrors(world, mirror, ENTITIES)
    assert (await mirror.summary(world.realm)) == emulator_summary(reference, ENTITIES)


async def test_a_full_resync_drops_what_qbo_no_longer_has() -> None:
    """`run(full=True)` copies everything again, inactive name-list objects included (QBO
    hides them from plain queries), and removes rows QBO no longer holds."""
    world = await connected()
    mirror = MemoryMirror()
    sync = MirrorSync(world.sync(), mirror, entities=ENTITIES)
    ids = await mutate(world)
    await mirror.apply(world.realm, upserts=[Customer(id="1", display_name="stale")])
    await sync.run()
    vendor = await mirror.get(world.realm, "Vendor", ids["vendor"])
    assert vendor is not None
    assert isinstance(vendor, Vendor)
    assert vendor.active is False
    stray = Invoice(id="999999", sync_token="0", private_note="not in QBO")
    await mirror.apply(world.realm, upserts=[stray])
    report = await sync.run(full=True)
    assert report.mode == "full"
    assert report.deleted == {"Invoice": 1}
    await assert_mirrors(world, mirror, ENTITIES)


async def test_a_type_added_later_is_read_in_full() -> None:
    """A type added to `entities` after the first sync is copied whole by the next run."""
    world = await connected()
    mirror = MemoryMirror()
    await MirrorSync(world.sync(), mirror, entities=("Customer",)).run()
    report = await MirrorSync(world.sync(), mirror, entities=("Customer", "Bill")).run()
    assert report.mode == "incremental"
    assert "Bill" in report.reconciled
    await assert_mirrors(world, mirror, ("Customer", "Bill"))


def test_entity_types_cdc_cannot_track_are_refused() -> None:
    """Singletons and types CDC refuses cannot be mirrored; the defaults hold none."""
    world = SyncWorld()
    for name in ("TaxCode", "CompanyInfo", "TimeActivity"):
        with pytest.raises(ValueError, match=name):
            MirrorSync(world.sync(), MemoryMirror(), entities=("Customer", name))
    assert not set(DEFAULT_MIRROR_ENTITIES) & NOT_MIRRORED
    with pytest.raises(ValueError, match="page_size"):
        MirrorSync(world.sync(), MemoryMirror(), page_size=0)


async def test_the_defaults_mirror_the_whole_seeded_company() -> None:
    """Every default type: the full copy equals the emulator. After changes, an incremental
    run brings every change QBO reports; balances QBO recomputes without reporting a change
    (an Account's CurrentBalance, an Item's quantity: LastUpdatedTime stays) differ until a
    full resync, which makes the copy equal again."""
    world = await connected()
    mirror = MemoryMirror()
    sync = MirrorSync(world.sync(), mirror)
    await sync.run()
    await assert_mirrors(world, mirror, DEFAULT_MIRROR_ENTITIES)
    await mutate(world)
    world.clock.advance(60)
    await sync.run()
    actual = await mirror.summary(world.realm)
    lines = compare_summaries(emulator_summary(world, DEFAULT_MIRROR_ENTITIES), actual)
    assert all(line.startswith(("Account:", "Item:")) for line in lines)
    await sync.run(full=True)
    await assert_mirrors(world, mirror, DEFAULT_MIRROR_ENTITIES)


def test_compare_summaries_names_each_difference() -> None:
    """Counts, contents and types missing on one side each give one line."""
    a = EntitySummary(count=1, checksum="a" * 64)
    b = EntitySummary(count=1, checksum="b" * 64)
    two = EntitySummary(count=2, checksum="a" * 64)
    lines = compare_summaries(
        {"Customer": a, "Bill": a, "Item": a}, {"Customer": b, "Bill": two, "Vendor": a}
    )
    assert lines == [
        "Bill: 2 entities, expected 1",
        "Customer: 1 entities as expected, but their content differs",
        "Item: 0 entities, expected 1",
        "Vendor: 1 entities, expected 0",
    ]
    assert compare_summaries({"Customer": a}, {"Customer": a}) == []


async def test_sqlite_mirror_end_to_end() -> None:
    """A full then an incremental sync into a SQLite file equal the emulator."""
    world = await connected()
    async with sqlite_file() as path:
        engine = sqlite_engine(path)
        async with disposing(engine):
            mirror = SqlMirror(engine)
            sync = MirrorSync(world.sync(), mirror, entities=ENTITIES, page_size=20)
            await sync.run()
            await assert_mirrors(world, mirror, ENTITIES)
            await mutate(world)
            world.clock.advance(60)
            await sync.run()
            await assert_mirrors(world, mirror, ENTITIES)


@pytest.mark.postgres
async def test_postgres_mirror_end_to_end() -> None:
    """A full then an incremental sync into PostgreSQL equal the emulator."""
    world = await connected()
    async with postgres_schema() as schema:
        engine = postgres_engine(schema)
        async with disposing(engine):
            mirror = SqlMirror(engine)
            sync = MirrorSync(world.sync(), mirror, entities=ENTITIES, page_size=20)
            await sync.run()
            await assert_mirrors(world, mirror, ENTITIES)
            await mutate(world)
            world.clock.advance(60)
            await sync.run()
            await assert_mirrors(world, mirror, ENTITIES)


async def run_cancelled_after(world: SyncWorld, mirror: Mirror, pages: int) -> None:
    """Start a full sync and cancel its task once `pages` pages were applied."""
    task: asyncio.Task[object] | None = None
    applied = 0

    def count(event: SyncProgress) -> None:
        nonlocal applied
        if event.done:
            applied += 1
        if applied == pages and task is not None:
            task.cancel()

    sync = MirrorSync(world.sync(), mirror, entities=ENTITIES, page_size=7, on_progress=count)
    task = asyncio.ensure_future(sync.run())
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("pages", [1, 4, 11])
async def test_a_cancelled_run_at_any_page_resumes_to_the_same_copy(pages: int) -> None:
    """Wherever the cancel lands, the resumed run ends with exactly the emulator's data."""
    world = await connected()
    mirror = MemoryMirror()
    await run_cancelled_after(world, mirror, pages)
    report = await MirrorSync(world.sync(), mirror, entities=ENTITIES, page_size=7).run()
    assert report.resumed
    await assert_mirrors(world, mirror, ENTITIES)


async def test_a_cancelled_run_into_sqlite_resumes_to_the_same_copy() -> None:
    """The same with SqlMirror: a cancelled transaction leaves nothing half-written."""
    world = await connected()
    async with sqlite_file() as path:
        engine = sqlite_engine(path)
        async with disposing(engine):
            mirror = SqlMirror(engine)
            await run_cancelled_after(world, mirror, 5)
            progress = await mirror.progress(world.realm)
            assert progress is not None
            assert progress.full
            report = await MirrorSync(world.sync(), mirror, entities=ENTITIES, page_size=7).run()
            assert report.resumed
            await assert_mirrors(world, mirror, ENTITIES)


# --------------------------------------------------------------------------------------
# Against FakeQBO (tests/sync/fake_qbo.py): every apply, statement and progress event.

T0 = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
REALM = "4620816365000000001"
EVERY = "Active IN (true, false)"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fake_customer(entity_id: str, seconds: float, token: str = "0", **fields: Any) -> Customer:
    meta = MetaData(last_updated_time=at(seconds))
    return Customer(
        id=entity_id, sync_token=token, display_name=f"C{entity_id}", meta=meta, **fields
    )


def fake_invoice(entity_id: str, seconds: float) -> Invoice:
    return Invoice(id=entity_id, sync_token="0", meta=MetaData(last_updated_time=at(seconds)))


class _FakeSync:
    """What `MirrorSync` uses of a `SmartSyncService`, over a `FakeQBO`."""

    realm_id = REALM

    def __init__(self, qbo: FakeQBO) -> None:
        self.qbo = qbo

    async def query(self, statement: Any) -> Any:
        return await self.qbo.query(statement)

    async def count(self, statement: Any) -> int:
        return (await self.qbo.query(statement)).total_count or 0

    async def changes_since(
        self, entities: Sequence[str | type[EntityBase]], cursor: SyncCursor | None
    ) -> ChangeBatch:
        return await changes_since(self.qbo, entities, cursor)


Applied = tuple[list[tuple[str, str | None]], list[tuple[str, str]], MirrorProgress | None]


class _Recording(MemoryMirror):
    """A `MemoryMirror` that records every apply: upserted keys, deletions, progress."""

    def __init__(self) -> None:
        super().__init__()
        self.applies: list[Applied] = []

    async def apply(
        self,
        realm_id: str,
        *,
        upserts: Sequence[QBOEntity] = (),
        deletions: Sequence[tuple[str, str]] = (),
        progress: MirrorProgress | None = None,
    ) -> None:
        keys = [(entity_type_of(entity), entity.id) for entity in upserts]
        self.applies.append((keys, list(deletions), progress))
        await super().apply(realm_id, upserts=upserts, deletions=deletions, progress=progress)


def fake_mirror_sync(qbo: FakeQBO, mirror: Mirror, **options: Any) -> MirrorSync:
    return MirrorSync(cast("SmartSyncService", _FakeSync(qbo)), mirror, **options)


async def _fully_synced() -> tuple[FakeQBO, _Recording, MirrorSync, list[SyncProgress], SyncReport]:
    """A full sync of Customer and Invoice in pages of 2, on a QBO clock moving a second
    an answer, into a mirror that held a customer QBO lacks (9) and one a paging slip
    hides from the pages (7)."""
    qbo = FakeQBO(at(1000), tick=timedelta(seconds=1))
    qbo.entities = [
        fake_customer("1", 10),
        fake_customer("2", 20),
        fake_customer("3", 30, active=False),
        fake_customer("7", 5, "4"),
        fake_invoice("1", 15),
    ]
    qbo.hidden = {("Customer", "7")}
    mirror = _Recording()
    await mirror.apply(REALM, upserts=[fake_customer("9", 1), fake_customer("7", 5, "3")])
    mirror.applies.clear()
    events: list[SyncProgress] = []
    sync = fake_mirror_sync(
        qbo, mirror, entities=("Customer", Invoice), page_size=2, on_progress=events.append
    )
    report = await sync.run()
    return qbo, mirror, sync, events, report


async def test_a_full_sync_applies_page_by_page_with_its_progress() -> None:
    """Each type: a count, key-paged pages each applied with the progress (the type under
    way, the earliest QBO time of its pages), the mirror's rows the pages did not show
    asked by Id (found: refreshed; not found: deleted) in the apply that marks the type
    complete; then the cursor from each type's earliest time."""
    qbo, mirror, _, events, report = await _fully_synced()
    order = "ORDERBY MetaData.LastUpdatedTime ASC, Id ASC"
    assert qbo.statements == [
        f"SELECT COUNT(*) FROM Customer WHERE {EVERY}",
        f"SELECT * FROM Customer WHERE {EVERY} {order} STARTPOSITION 1 MAXRESULTS 2",
        f"SELECT * FROM Customer WHERE {EVERY} AND MetaData.LastUpdatedTime >= "
        f"'{at(20).isoformat()}' {order} STARTPOSITION 2 MAXRESULTS 2",
        f"SELECT * FROM Customer WHERE Id IN ('7', '9') AND {EVERY} ORDERBY Id ASC"
        " STARTPOSITION 1 MAXRESULTS 2",
        "SELECT COUNT(*) FROM Invoice",
        f"SELECT * FROM Invoice {order} STARTPOSITION 1 MAXRESULTS 2",
    ]
    customers = MirrorProgress(full=True, completed={"Customer": at(1001)})
    assert mirror.applies == [
        (
            [("Customer", "1"), ("Customer", "2")],
            [],
            MirrorProgress(full=True, current="Customer", current_time=at(1001)),
        ),
        (
            [("Customer", "3")],
            [],
            MirrorProgress(full=True, current="Customer", current_time=at(1001)),
        ),
        ([("Customer", "7")], [("Customer", "9")], customers),
        (
            [("Invoice", "1")],
            [],
            attrs.evolve(customers, current="Invoice", current_time=at(1005)),
        ),
        ([], [], MirrorProgress(full=True, completed={"Customer": at(1001), "Invoice": at(1005)})),
        (
            [],
            [],
            MirrorProgress(
                cursor=SyncCursor(
                    positions={
                        "Customer": SyncPosition(since=at(1001)),
                        "Invoice": SyncPosition(since=at(1005)),
                    }
                )
            ),
        ),
    ]
    assert await mirror.get(REALM, "Customer", "7") == fake_customer("7", 5, "4")
    assert [(e.realm_id, e.entity_type, e.done, e.total, e.phase) for e in events] == [
        (REALM, "Customer", 0, 3, "full"),
        (REALM, "Customer", 2, 3, "full"),
        (REALM, "Customer", 3, 3, "full"),
        (REALM, "Invoice", 0, 1, "full"),
        (REALM, "Invoice", 1, 1, "full"),
    ]
    assert report == SyncReport(
        mode="full", upserted={"Customer": 4, "Invoice": 1}, deleted={"Customer": 1}
    )


async def test_an_incremental_sync_applies_the_batch_with_its_cursor_in_one_apply() -> None:
    """After a full sync: one `changes_since`, applied with the new cursor in one apply;
    one progress event per type (done = total = its changes); counts per type."""
    qbo, mirror, sync, events, _ = await _fully_synced()
    mirror.applies.clear()
    events.clear()
    qbo.now = at(2000)
    qbo.entities += [fake_customer("2", 1900, "1"), fake_customer("4", 1950)]
    qbo.tombstones = [DeletedEntity(entity_type="Invoice", id="1", last_updated=at(1960))]
    report = await sync.run()
    assert report == SyncReport(
        mode="incremental", upserted={"Customer": 2}, deleted={"Invoice": 1}
    )
    cursor = SyncCursor(
        positions={
            "Customer": SyncPosition(since=at(2001), delivered=("2:1", "4:0")),
            "Invoice": SyncPosition(since=at(2001), delivered=("1:deleted",)),
        }
    )
    assert mirror.applies == [
        ([("Customer", "2"), ("Customer", "4")], [("Invoice", "1")], MirrorProgress(cursor=cursor))
    ]
    assert [(e.realm_id, e.entity_type, e.done, e.total, e.phase) for e in events] == [
        (REALM, "Customer", 2, 2, "incremental"),
        (REALM, "Invoice", 1, 1, "incremental"),
    ]


async def test_types_past_the_cdc_window_are_reconciled_by_their_ids() -> None:
    """A cursor past CDC's window: the ids of each type are listed (`SELECT Id`, paged);
    the mirror's ids QBO did not list and the batch did not deliver are asked by Id:
    found ones are refreshed, the others deleted."""
    qbo, mirror, sync, _, _ = await _fully_synced()
    qbo.now = at(40 * 86_400)
    qbo.entities = [e for e in qbo.entities if (entity_type_of(e), e.id) != ("Customer", "1")]
    qbo.entities.append(fake_invoice("7", 40 * 86_400 - 100))
    qbo.statements.clear()
    mirror.applies.clear()
    report = await sync.run()
    assert report == SyncReport(
        mode="incremental",
        upserted={"Customer": 1, "Invoice": 1},
        deleted={"Customer": 1},
        reconciled=("Customer", "Invoice"),
    )
    ids = [s for s in qbo.statements if s.startswith("SELECT Id") or "Id IN" in s]
    assert ids == [
        f"SELECT Id FROM Customer WHERE {EVERY} ORDERBY Id ASC STARTPOSITION 1 MAXRESULTS 2",
        f"SELECT Id FROM Customer WHERE {EVERY} ORDERBY Id ASC STARTPOSITION 3 MAXRESULTS 2",
        f"SELECT * FROM Customer WHERE Id IN ('1', '7') AND {EVERY} ORDERBY Id ASC"
        " STARTPOSITION 1 MAXRESULTS 2",
        "SELECT Id FROM Invoice ORDERBY Id ASC STARTPOSITION 1 MAXRESULTS 2",
        "SELECT Id FROM Invoice ORDERBY Id ASC STARTPOSITION 3 MAXRESULTS 2",
    ]
    ((upserts, deletions, _),) = mirror.applies
    assert upserts == [("Invoice", "7"), ("Customer", "7")]
    assert deletions == [("Customer", "1")]


async def test_progress_with_neither_a_full_sync_nor_a_cursor_starts_a_full_sync() -> None:
    """A mirror holding an empty progress (no full sync under way, no cursor) gets a
    full sync, not resumed."""
    qbo = FakeQBO(at(1000))
    qbo.entities = [fake_customer("1", 10)]
    mirror = MemoryMirror()
    await mirror.apply(REALM, progress=MirrorProgress())
    report = await fake_mirror_sync(qbo, mirror, entities=("Customer",)).run()
    assert report == SyncReport(mode="full", upserted={"Customer": 1})


async def test_a_full_sync_without_qbo_times_cannot_start_a_cursor() -> None:
    """Pages without QBO's `time`: ValueError naming the type."""
    qbo = FakeQBO(None)
    qbo.entities = [fake_customer("1", 10)]
    message = "QBO's answers for Customer carried no time to start a cursor from"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        await fake_mirror_sync(qbo, MemoryMirror(), entities=("Customer",)).run()


async def test_verify_reads_with_the_page_size() -> None:
    """`verify` pages by key with the sync's page size, and finds a copy that agrees."""
    qbo, _, sync, _, _ = await _fully_synced()
    qbo.statements.clear()
    qbo.hidden = set()
    assert await sync.verify() == []
    assert all(s.endswith("MAXRESULTS 2") for s in qbo.statements)
    assert len(qbo.statements) == 4


@pytest.mark.parametrize(
    ("entities", "error", "message"),
    [
        ("Customer", TypeError, "entities is a sequence of entity types, not one str"),
        ((), ValueError, "MirrorSync needs at least one entity type"),
        (
            ("TaxCode", "Customer", "CompanyInfo"),
            ValueError,
            "CompanyInfo, TaxCode cannot be mirrored (a singleton, or not tracked by CDC): "
            "see qbo_core.services.mirror_sync",
        ),
    ],
)
def test_refused_entity_lists_say_why(entities: Any, error: type[Exception], message: str) -> None:
    """Each refusal's whole message."""
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        fake_mirror_sync(FakeQBO(T0), MemoryMirror(), entities=entities)


def test_types_empty_on_both_sides_do_not_stop_the_comparison() -> None:
    """A type holding nothing on either side is skipped, and the types after it are
    still compared."""
    empty = EntitySummary(count=0, checksum=entity_checksum([]))
    a = EntitySummary(count=1, checksum="a" * 64)
    b = EntitySummary(count=1, checksum="b" * 64)
    assert compare_summaries({"Bill": empty, "Customer": a}, {"Customer": b}) == [
        "Customer: 1 entities as expected, but their content differs"
    ]
