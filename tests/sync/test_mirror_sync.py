"""`MirrorSync` against the in-process emulator on a fake clock: a full copy equals the
emulator's company, changes made through SmartSync arrive incrementally, an interrupted
run resumes, a cursor past CDC's window still converges, and the SQL mirrors work end to
end. "Equal" is `entity_checksum` computed on both sides (`compare_summaries`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest

from qbo_adapters.memory.mirror import MemoryMirror
from qbo_adapters.sql.mirror import SqlMirror
from qbo_core.dtos import EntitySummary, SyncProgress
from qbo_core.entities import Customer, Invoice, Vendor
from qbo_core.ports.mirror import Mirror
from qbo_core.query import Query
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
