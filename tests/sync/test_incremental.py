"""`changes_since` against the emulator: full read, CDC, the cap split, the query path
beyond CDC's window, overlap de-duplication, and cursors from QBO's clock only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, overload

import attrs
import pytest

from qbo_core.config import QBOConfig
from qbo_core.converter import structure, unstructure
from qbo_core.dtos import SyncCursor, SyncPosition
from qbo_core.entities import Customer, Invoice, MetaData, QBOEntity, RawEntity
from qbo_core.query import Field, Query
from qbo_core.results import ChangeBatch, DeletedEntity, QueryPage
from qbo_core.services import changes_since
from qbo_core.services.incremental import DEFAULT_OVERLAP, pages_by_update
from tests.sync.fake_qbo import FakeQBO, TypedEntityT
from tests.sync.world import EMULATOR_START, SyncWorld

TYPES = [Customer, Invoice]


@pytest.fixture
def world() -> SyncWorld:
    return SyncWorld()


def _ids(world: SyncWorld, entity: str) -> set[str]:
    return {obj["Id"] for obj in world.company.all(entity)}


async def _delete_an_invoice(world: SyncWorld) -> tuple[str, str]:
    """Delete one invoice QBO allows deleting (nothing paid or linked): its Id, and the Id
    of its customer (whose balance the deletion changes)."""
    auth = world.auth()
    for obj in sorted(world.company.all("Invoice"), key=lambda o: int(o["Id"])):
        if obj.get("LinkedTxn") or obj.get("Balance") != obj.get("TotalAmt"):
            continue
        await world.raw.delete(auth, Invoice, obj["Id"], obj["SyncToken"])
        return str(obj["Id"]), str(obj["CustomerRef"]["value"])
    raise AssertionError("no deletable invoice in the generated company")


async def test_first_sync_reads_everything_and_starts_the_cursor_at_qbo_time(
    world: SyncWorld,
) -> None:
    """No cursor: every live customer and invoice, both types listed as full reads, and a
    cursor at the emulator's time (2031), not the machine's or the data's."""
    batch = await changes_since(world.client, TYPES, None)
    by_type: dict[str, set[str]] = {"Customer": set(), "Invoice": set()}
    for entity in batch.upserts:
        by_type[type(entity).__name__].add(entity.id or "")
    assert by_type == {"Customer": _ids(world, "Customer"), "Invoice": _ids(world, "Invoice")}
    assert batch.full_types == ("Customer", "Invoice")
    assert batch.deletions == ()
    assert world.client.cdc_calls == []
    for position in batch.cursor.positions.values():
        assert abs(position.since - EMULATOR_START) < timedelta(seconds=5)


async def test_changes_between_syncs_come_from_cdc(world: SyncWorld) -> None:
    """A create, an update and a delete after the first sync are the next batch, read by
    one CDC call; the cursor moves to the CDC answer's time."""
    first = await changes_since(world.client, TYPES, None)
    world.advance(600)
    auth = world.auth()
    created = await world.raw.create(auth, Customer(display_name="Newcomer Ltd"))
    some = await world.raw.read(auth, Customer, sorted(_ids(world, "Customer"))[0])
    updated = await world.raw.sparse_update(
        auth, Customer, some.id or "", some.sync_token or "", {"Notes": "changed"}
    )
    doomed, owner = await _delete_an_invoice(world)
    world.advance(60)

    second = await changes_since(world.client, TYPES, first.cursor)

    assert {(type(e).__name__, e.id) for e in second.upserts} == {
        ("Customer", created.id),
        ("Customer", updated.id),
        ("Customer", owner),
    }
    assert [(d.entity_type, d.id) for d in second.deletions] == [("Invoice", doomed)]
    assert second.deletions_complete
    assert second.full_types == ()
    assert len(world.client.cdc_calls) == 1
    since = second.cursor.positions["Customer"].since
    assert abs(since - world.clock.now()) < timedelta(seconds=2)
    assert since > first.cursor.positions["Customer"].since


async def test_the_overlap_delivers_nothing_twice(world: SyncWorld) -> None:
    """A change delivered once is re-read in the next sync's 5-minute overlap but not
    delivered again; a newer version of the same entity is."""
    first = await changes_since(world.client, TYPES, None)
    world.advance(600)
    auth = world.auth()
    created = await world.raw.create(auth, Customer(display_name="Twice Co"))
    world.advance(30)
    second = await changes_since(world.client, TYPES, first.cursor)
    assert [e.id for e in second.upserts] == [created.id]
    world.advance(30)
    third = await changes_since(world.client, TYPES, second.cursor)
    assert third.upserts == ()
    assert third.deletions == ()
    again = await world.raw.sparse_update(
        auth, Customer, created.id or "", created.sync_token or "", {"Notes": "v2"}
    )
    world.advance(30)
    fourth = await changes_since(world.client, TYPES, third.cursor)
    assert [(e.id, e.sync_token) for e in fourth.upserts] == [(again.id, again.sync_token)]


async def test_more_changes_than_the_cdc_cap_are_split(world: SyncWorld) -> None:
    """1,100 customer changes (over the 1,000-object cap) are all delivered: the older
    part by query, the newest by CDC with its deletions; customers' deletions before the
    cut are flagged unknown, invoices (under the cap alone) stay complete."""
    first = await changes_since(world.client, TYPES, None)
    start = world.clock.now()
    for i in range(1100):
        world.company.save(
            "Customer", {"DisplayName": f"Bulk {i:04d}"}, start + timedelta(seconds=10 + i)
        )
    world.advance(1200)
    doomed, owner = await _delete_an_invoice(world)
    world.advance(60)

    batch = await changes_since(world.client, TYPES, first.cursor)

    names = [
        e.display_name or "" for e in batch.upserts if isinstance(e, Customer) and e.id != owner
    ]
    assert sorted(names) == [f"Bulk {i:04d}" for i in range(1100)]
    assert len(names) == len(set(names))
    assert [(d.entity_type, d.id) for d in batch.deletions] == [("Invoice", doomed)]
    assert batch.unknown_deletions == ("Customer",)
    assert not batch.deletions_complete
    assert any("MetaData.LastUpdatedTime <" in s for s in world.client.statements)
    assert len(world.client.cdc_calls) > 2  # all types, then each alone, then bisection


async def test_a_cursor_older_than_the_cdc_window_takes_the_query_path(world: SyncWorld) -> None:
    """31 days later CDC cannot answer: the changes come from LastUpdatedTime queries and
    every type is flagged as possibly missing deletions."""
    first = await changes_since(world.client, TYPES, None)
    world.advance(31 * 86400)
    auth = world.auth()
    created = await world.raw.create(auth, Customer(display_name="Late Arrival"))
    world.advance(60)

    batch = await changes_since(world.client, TYPES, first.cursor)

    assert [e.id for e in batch.upserts] == [created.id]
    assert batch.unknown_deletions == ("Customer", "Invoice")
    assert world.client.cdc_calls == []
    later = batch.cursor.positions["Customer"].since
    assert later - first.cursor.positions["Customer"].since > timedelta(days=31)


async def test_cursor_round_trips_through_json(world: SyncWorld) -> None:
    """The cursor is plain data for the host: JSON out, JSON in, equal, and usable."""
    first = await changes_since(world.client, TYPES, None)
    text = json.dumps(unstructure(first.cursor))
    back = structure(json.loads(text), SyncCursor)
    assert back == first.cursor
    world.advance(60)
    batch = await changes_since(world.client, TYPES, back)
    assert batch.upserts == ()


async def test_types_not_asked_keep_their_position(world: SyncWorld) -> None:
    """Syncing one type leaves the cursor's other positions as they were; a new type is a
    full read."""
    first = await changes_since(world.client, [Customer], None)
    world.advance(60)
    second = await changes_since(world.client, [Invoice], first.cursor)
    assert second.full_types == ("Invoice",)
    assert second.cursor.positions["Customer"] == first.cursor.positions["Customer"]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"entities": []}, "at least one"),
        ({"entities": "Customer"}, "not one str"),
        ({"entities": TYPES, "overlap": timedelta(seconds=-1)}, "negative"),
        ({"entities": TYPES, "page_size": 5000}, r"1\.\.1000"),
    ],
)
async def test_bad_arguments_are_refused(
    world: SyncWorld, kwargs: dict[str, object], words: str
) -> None:
    """Bad arguments raise before anything is sent."""
    options = dict(kwargs)  # the parameter is shared by every run of the test: no pop
    entities = options.pop("entities")
    with pytest.raises((ValueError, TypeError), match=words):
        await changes_since(world.client, entities, None, **options)  # type: ignore[arg-type]
    assert world.client.statements == []


# --------------------------------------------------------------------------------------
# Against FakeQBO: exact statements, CDC calls and QBO times (tests/sync/fake_qbo.py).

T0 = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
OVERLAP = DEFAULT_OVERLAP
ORDER = "ORDERBY MetaData.LastUpdatedTime ASC, Id ASC"
EVERY = "Active IN (true, false)"


def at(seconds: float) -> datetime:
    """T0 plus `seconds`: every time in these tests is near T0."""
    return T0 + timedelta(seconds=seconds)


def lit(seconds: float) -> str:
    """`at(seconds)` as a query literal."""
    return f"'{at(seconds).isoformat(timespec='seconds')}'"


def customer(entity_id: str, seconds: float | None, token: str | None = "0") -> Customer:
    meta = MetaData(last_updated_time=at(seconds)) if seconds is not None else None
    return Customer(id=entity_id, sync_token=token, display_name=f"C{entity_id}", meta=meta)


def invoice(entity_id: str, seconds: float, token: str = "0") -> Invoice:
    return Invoice(id=entity_id, sync_token=token, meta=MetaData(last_updated_time=at(seconds)))


def tombstone(entity_type: str, entity_id: str, seconds: float) -> DeletedEntity:
    return DeletedEntity(entity_type=entity_type, id=entity_id, last_updated=at(seconds))


def cursor(**since: float) -> SyncCursor:
    """A cursor whose positions are at T0 + the given seconds, per type."""
    return SyncCursor(positions={name: SyncPosition(since=at(s)) for name, s in since.items()})


def versions(batch: ChangeBatch) -> list[tuple[str, str | None, str | None]]:
    """The batch's upserts as (type, Id, SyncToken), in the batch's order."""
    return [(type(e).__name__, e.id, e.sync_token) for e in batch.upserts]


async def _pages(pages: AsyncIterator[QueryPage[QBOEntity]]) -> list[list[str | None]]:
    return [[entity.id for entity in page.items] async for page in pages]


# ---------------------------------------------------------------- paging by key


async def test_pages_move_their_key_to_the_last_pages_newest_time() -> None:
    """Each page starts at the previous page's newest LastUpdatedTime, skipping the rows
    already read at exactly that time (one here); the `where` conditions are kept."""
    qbo = FakeQBO(at(1000))
    qbo.entities = [customer(str(i), 10 * i) for i in range(1, 8)]
    pages = pages_by_update(qbo, Customer, where=[Field("Active") == True], page_size=3)  # noqa: E712
    assert await _pages(pages) == [["1", "2", "3"], ["4", "5", "6"], ["7"]]
    assert qbo.statements == [
        f"SELECT * FROM Customer WHERE Active = true {ORDER} STARTPOSITION 1 MAXRESULTS 3",
        f"SELECT * FROM Customer WHERE Active = true AND MetaData.LastUpdatedTime >= {lit(30)}"
        f" {ORDER} STARTPOSITION 2 MAXRESULTS 3",
        f"SELECT * FROM Customer WHERE Active = true AND MetaData.LastUpdatedTime >= {lit(60)}"
        f" {ORDER} STARTPOSITION 2 MAXRESULTS 3",
    ]


async def test_rows_sharing_one_second_across_pages_are_each_read_once() -> None:
    """Four rows at one second, across page boundaries: while a page ends at the key's
    own time the start position grows by the page; a newer time resets it to the rows
    read at that time. Every row comes once."""
    qbo = FakeQBO(at(1000))
    qbo.entities = [customer("1", 10), *(customer(str(i), 20) for i in (2, 3, 4, 5))]
    qbo.entities.append(customer("6", 30))
    assert await _pages(pages_by_update(qbo, "Customer", page_size=2)) == [
        ["1", "2"],
        ["3", "4"],
        ["5", "6"],
        [],
    ]
    from_20 = f"SELECT * FROM Customer WHERE MetaData.LastUpdatedTime >= {lit(20)} {ORDER}"
    assert qbo.statements == [
        f"SELECT * FROM Customer {ORDER} STARTPOSITION 1 MAXRESULTS 2",
        f"{from_20} STARTPOSITION 2 MAXRESULTS 2",
        f"{from_20} STARTPOSITION 4 MAXRESULTS 2",
        f"SELECT * FROM Customer WHERE MetaData.LastUpdatedTime >= {lit(30)} {ORDER}"
        " STARTPOSITION 2 MAXRESULTS 2",
    ]


async def test_pages_by_update_refuses_a_page_size_outside_qbos_cap_at_the_call() -> None:
    """page_size is 1..1000, checked before any request."""
    qbo = FakeQBO(at(0))
    for size in (0, 1001):
        with pytest.raises(ValueError, match=rf"^page_size must be 1\.\.1000 .*got {size}$"):
            pages_by_update(qbo, Customer, page_size=size)
    assert qbo.statements == []


class _OnePage:
    """Answers every query with the same full page of `items` (QBO's time T0)."""

    def __init__(self, *items: QBOEntity) -> None:
        self.items = items
        self.statements: list[str] = []

    @overload
    async def query(self, statement: Query[TypedEntityT]) -> QueryPage[TypedEntityT]: ...
    @overload
    async def query(self, statement: str | Query[QBOEntity]) -> QueryPage[QBOEntity]: ...
    async def query(self, statement: str | Query[Any]) -> QueryPage[Any]:
        self.statements.append(str(statement))
        return QueryPage(
            entity_type="Estimate", items=self.items, start_position=1, max_results=3, time=T0
        )


def estimate(entity_id: str, meta: object) -> RawEntity:
    data: dict[str, Any] = {"Id": entity_id, "SyncToken": "0"}
    if meta is not None:
        data["MetaData"] = meta
    return RawEntity(entity_type="Estimate", data=data)


async def test_a_raw_entitys_time_is_read_from_its_metadata() -> None:
    """An entity of a type with no class (a `RawEntity`) is paged by the aware time in
    its `MetaData.LastUpdatedTime`, offset kept; the last one of the page sets the key."""
    stamp = "2031-06-01T05:00:07-07:00"
    caller = _OnePage(
        estimate("1", {"LastUpdatedTime": "2031-06-01T05:00:01-07:00"}),
        estimate("2", {"LastUpdatedTime": "2031-06-01T05:00:09-07:00"}),
        estimate("3", {"LastUpdatedTime": stamp}),
    )
    pages = pages_by_update(caller, "Estimate", page_size=3)
    await anext(pages)
    await anext(pages)
    assert caller.statements[1] == (
        f"SELECT * FROM Estimate WHERE MetaData.LastUpdatedTime >= '{stamp}' {ORDER}"
        " STARTPOSITION 2 MAXRESULTS 3"
    )


@pytest.mark.parametrize(
    "last",
    [
        estimate("3", None),
        estimate("3", "2031-06-01T05:00:07-07:00"),
        estimate("3", {"LastUpdatedTime": 1_900_000_000}),
        estimate("3", {"LastUpdatedTime": "yesterday"}),
        estimate("3", {"LastUpdatedTime": "2031-06-01T05:00:07"}),
        estimate("3", {}),
        customer("3", None),
    ],
    ids=[
        "no-metadata",
        "metadata-not-an-object",
        "not-text",
        "not-a-time",
        "naive",
        "absent",
        "typed",
    ],
)
async def test_a_full_page_ending_without_a_time_cannot_be_paged_on(last: QBOEntity) -> None:
    """A full page whose last entity has no usable LastUpdatedTime (none, not text, not a
    time, no offset) gives no key for the next page: ValueError naming the type."""
    good = {"LastUpdatedTime": "2031-06-01T05:00:01-07:00"}
    caller = _OnePage(estimate("1", good), estimate("2", good), last)
    pages = pages_by_update(caller, "Estimate", page_size=3)
    await anext(pages)
    with pytest.raises(
        ValueError, match=r"^a Estimate in QBO's answer has no MetaData\.LastUpdatedTime$"
    ):
        await anext(pages)


# ---------------------------------------------------------------- full reads and cursors


async def test_a_full_read_pages_by_key_and_starts_at_its_first_pages_time() -> None:
    """No cursor: each type is read by key-paged queries (a name list's with `Active IN
    (true, false)`, so deactivated ones come too), and its position is QBO's time on the
    type's first page, not on a later one."""
    qbo = FakeQBO(at(1000), tick=timedelta(seconds=1))
    qbo.entities = [customer("1", 10), customer("2", 20), customer("3", 30), invoice("1", 15)]
    qbo.entities.append(attrs.evolve(customer("4", 40), active=False))
    batch = await changes_since(qbo, [Customer, Invoice], None, page_size=2)
    assert qbo.statements == [
        f"SELECT * FROM Customer WHERE {EVERY} {ORDER} STARTPOSITION 1 MAXRESULTS 2",
        f"SELECT * FROM Customer WHERE {EVERY} AND MetaData.LastUpdatedTime >= {lit(20)}"
        f" {ORDER} STARTPOSITION 2 MAXRESULTS 2",
        f"SELECT * FROM Customer WHERE {EVERY} AND MetaData.LastUpdatedTime >= {lit(40)}"
        f" {ORDER} STARTPOSITION 2 MAXRESULTS 2",
        f"SELECT * FROM Invoice {ORDER} STARTPOSITION 1 MAXRESULTS 2",
    ]
    assert [(kind, entity_id) for kind, entity_id, _ in versions(batch)] == [
        ("Customer", "1"),
        ("Customer", "2"),
        ("Customer", "3"),
        ("Customer", "4"),
        ("Invoice", "1"),
    ]
    assert batch.cursor == cursor(Customer=1000, Invoice=1003)
    assert batch.full_types == ("Customer", "Invoice")
    assert batch.unknown_deletions == ()


async def test_without_qbo_times_a_position_starts_at_the_newest_change_read() -> None:
    """Answers that carry no `time`: the position is the newest LastUpdatedTime read
    (whatever order QBO listed them in), and what lies in the overlap before it is
    remembered as delivered."""
    qbo = FakeQBO(None)
    qbo.entities = [customer("1", 10), customer("2", 20)]
    first = await changes_since(qbo, [Customer], None)
    assert first.cursor.positions["Customer"] == SyncPosition(
        since=at(20), delivered=("1:0", "2:0")
    )

    qbo = FakeQBO(at(5000))
    qbo.cdc_has_time = False
    qbo.entities = [customer("1", 1500), customer("2", 1200)]
    second = await changes_since(qbo, [Customer], cursor(Customer=1000))
    assert second.cursor.positions["Customer"].since == at(1500)


async def test_no_time_and_no_change_cannot_make_a_cursor() -> None:
    """Nothing read and no QBO time: ValueError naming the type, no cursor invented."""
    with pytest.raises(
        ValueError, match=r"^QBO's answers for Customer carried no time to make a cursor from$"
    ):
        await changes_since(FakeQBO(None), [Customer], None)


# ---------------------------------------------------------------- CDC inside the window


async def test_one_probe_then_one_cdc_call_from_the_oldest_position_less_the_overlap() -> None:
    """Positions inside the window: QBO's time is read with one 1-row query of the first
    type, then one CDC call for all types from the oldest `since - overlap`. A change
    older than its own type's `since - overlap` was delivered before and is left out;
    one at exactly that edge is not."""
    qbo = FakeQBO(at(5000))
    qbo.entities = [
        customer("1", 650),  # before Customer's edge (700)
        customer("2", 700),  # at it
        invoice("1", 650),  # Invoice's edge is 600
    ]
    batch = await changes_since(qbo, [Customer, Invoice], cursor(Customer=1000, Invoice=900))
    assert qbo.statements == ["SELECT * FROM Customer MAXRESULTS 1"]
    assert qbo.cdc_calls == [(("Customer", "Invoice"), at(600))]
    assert versions(batch) == [("Customer", "2", "0"), ("Invoice", "1", "0")]
    assert batch.cursor == cursor(Customer=5000, Invoice=5000)
    assert batch.deletions_complete


#: CDC's window less the margin, in seconds: 30 days less an hour.
WINDOW = 30 * 86_400 - 3_600


@pytest.mark.parametrize(
    ("since", "by_cdc"),
    [(3_000_000 - WINDOW + 300, True), (3_000_000 - WINDOW + 299, False)],
    ids=["at-the-edge", "a-second-older"],
)
async def test_cdc_is_used_while_since_less_the_overlap_is_inside_the_window(
    since: int, by_cdc: bool
) -> None:
    """`since - overlap` at exactly QBO's now less (30 days - 1 hour) is still read by
    CDC; a second older is read by a LastUpdatedTime query from `since - overlap`, and
    its deletions are flagged unknown."""
    qbo = FakeQBO(at(3_000_000))
    batch = await changes_since(qbo, [Customer], cursor(Customer=since))
    if by_cdc:
        assert qbo.cdc_calls == [(("Customer",), at(since - 300))]
        assert batch.unknown_deletions == ()
    else:
        assert qbo.cdc_calls == []
        assert qbo.statements[1:] == [
            f"SELECT * FROM Customer WHERE {EVERY} AND MetaData.LastUpdatedTime >= "
            f"{lit(since - 300)} {ORDER} STARTPOSITION 1 MAXRESULTS 1000"
        ]
        assert batch.unknown_deletions == ("Customer",)


async def test_the_window_comes_from_the_config() -> None:
    """`config.cdc_window_days` sets the window: a 2-day-old cursor is past a 1-day one."""
    qbo = FakeQBO(at(2 * 86_400))
    batch = await changes_since(
        qbo, [Customer], cursor(Customer=0), config=QBOConfig(cdc_window_days=1)
    )
    assert qbo.cdc_calls == []
    assert batch.unknown_deletions == ("Customer",)


async def test_a_deletion_is_delivered_once_across_the_overlap() -> None:
    """A tombstone re-read in the next sync's overlap is not delivered again; the cursor
    remembers it, and every change at or after `since - overlap`, as delivered."""
    qbo = FakeQBO(at(2000))
    qbo.tombstones = [tombstone("Customer", "1", 1900)]
    qbo.entities = [customer("2", 1700), customer("3", 1699)]
    first = await changes_since(qbo, [Customer], cursor(Customer=1000))
    assert [(d.entity_type, d.id) for d in first.deletions] == [("Customer", "1")]
    assert first.cursor.positions["Customer"] == SyncPosition(
        since=at(2000), delivered=("1:deleted", "2:0")
    )
    qbo.now = at(2100)
    second = await changes_since(qbo, [Customer], first.cursor)
    assert second.deletions == ()
    assert second.upserts == ()


async def test_a_deletion_wins_over_a_version_and_an_entity_without_id_is_dropped() -> None:
    """An answer holding a version and the deletion of one Id delivers the deletion only;
    an entity without an Id cannot be delivered."""
    qbo = FakeQBO(at(5000))
    qbo.entities = [customer("1", 1500), attrs.evolve(customer("", 1500), id=None)]
    qbo.tombstones = [tombstone("Customer", "1", 1600)]
    batch = await changes_since(qbo, [Customer], cursor(Customer=1000))
    assert batch.upserts == ()
    assert [(d.entity_type, d.id) for d in batch.deletions] == [("Customer", "1")]


async def test_the_newest_version_of_an_entity_is_delivered_whatever_the_order() -> None:
    """Of several versions of one Id, the newest by LastUpdatedTime, then by SyncToken, is
    delivered, whichever QBO listed first; upserts come oldest first."""
    qbo = FakeQBO(at(5000))
    qbo.entities = [
        customer("1", 1300, "2"),
        customer("1", 1200, "1"),  # older, listed after
        customer("2", 1310, "1"),
        customer("2", 1200, "5"),  # a higher token, but older
        customer("3", 1250, "2"),
        customer("3", 1250, "3"),  # the same time: the higher token
    ]
    batch = await changes_since(qbo, [Customer], cursor(Customer=1000))
    assert versions(batch) == [
        ("Customer", "3", "3"),
        ("Customer", "1", "2"),
        ("Customer", "2", "1"),
    ]


async def test_of_two_copies_of_one_version_the_first_read_is_kept() -> None:
    """Copies of one version (same LastUpdatedTime and SyncToken) can differ, as QBO's
    query leaves out what CDC carries (an Item's Sku): the first one read is kept."""
    qbo = FakeQBO(at(5000))
    first = attrs.evolve(customer("1", 1300, "2"), display_name="from the first answer")
    qbo.entities = [first, customer("1", 1300, "2")]
    batch = await changes_since(qbo, [Customer], cursor(Customer=1000))
    assert batch.upserts == (first,)


async def test_versions_without_a_time_or_a_numbered_token_rank_lowest() -> None:
    """An entity without LastUpdatedTime ranks below every timed one (it comes first);
    at one time, a version without a numbered SyncToken ranks below one with."""
    qbo = FakeQBO(at(5000))
    qbo.entities = [
        customer("1", 20, "0"),
        customer("5", None, "7"),
        customer("2", 10, "0"),
        customer("2", 10, None),
        customer("2", 10, "x"),
    ]
    batch = await changes_since(qbo, [Customer], None)
    assert versions(batch) == [
        ("Customer", "5", "7"),
        ("Customer", "2", "0"),
        ("Customer", "1", "0"),
    ]


async def test_a_type_under_the_cap_alone_keeps_its_own_answers_time() -> None:
    """When the combined CDC answer is capped each type is asked alone: a type under the
    cap takes its own answer, and its position is that answer's time."""
    qbo = FakeQBO(at(5000), cap=3, tick=timedelta(seconds=1))
    qbo.entities = [customer(str(i), 1000 + i) for i in range(1, 4)]
    qbo.entities.append(invoice("1", 1100))
    batch = await changes_since(qbo, [Invoice, Customer], cursor(Customer=1000, Invoice=1000))
    assert qbo.cdc_calls[:3] == [
        (("Invoice", "Customer"), at(700)),
        (("Invoice",), at(700)),
        (("Customer",), at(700)),
    ]
    assert batch.cursor.positions["Invoice"].since == at(5002)  # probe 5000, both 5001
    assert batch.unknown_deletions == ("Customer",)


# ---------------------------------------------------------------- over the cap: the split


async def test_over_the_cap_the_window_is_cut_by_bisection_at_whole_seconds() -> None:
    """One type over the cap: no second CDC call for it alone; the cut is bisected
    between `since - overlap` and QBO's time (whole seconds, halving until one second
    apart), [cut, now] comes from CDC(cut), [since - overlap, cut) from one query, and
    the position is the time of CDC(cut)'s answer."""
    qbo = FakeQBO(at(1241), cap=3)
    qbo.entities = [customer(str(i), 100 * i) for i in range(8, 13)]  # 800 .. 1200
    batch = await changes_since(qbo, [Customer], cursor(Customer=1000))
    middles = [970, 1105, 1037, 1003, 986, 994, 998, 1000, 1001]
    assert qbo.cdc_calls == [(("Customer",), at(700))] + [(("Customer",), at(m)) for m in middles]
    assert qbo.statements[1:] == [
        f"SELECT * FROM Customer WHERE {EVERY} AND MetaData.LastUpdatedTime >= {lit(700)}"
        f" AND MetaData.LastUpdatedTime < {lit(1001)} {ORDER} STARTPOSITION 1 MAXRESULTS 1000"
    ]
    assert [entity_id for _, entity_id, _ in versions(batch)] == ["8", "9", "10", "11", "12"]
    assert batch.cursor.positions["Customer"].since == at(1241)
    assert batch.unknown_deletions == ("Customer",)


async def test_the_bisection_reaches_up_to_qbos_time_rounded_up() -> None:
    """QBO's time with a fraction of a second is rounded up to the next second before
    the window is halved."""
    qbo = FakeQBO(at(1241.5), cap=3)
    qbo.entities = [customer(str(i), 100 * i) for i in range(8, 13)]
    await changes_since(qbo, [Customer], cursor(Customer=1000))
    assert qbo.cdc_calls[1] == (("Customer",), at(971))


async def test_when_even_the_last_second_is_over_the_cap_the_window_is_read_by_query() -> None:
    """More changes in QBO's last second than the cap: no cut exists, so the whole window
    is one query from `since - overlap`; the position is that query's time."""
    qbo = FakeQBO(at(1200.5), cap=2)
    qbo.entities = [customer("1", 800), customer("2", 1200), customer("3", 1200)]
    qbo.entities.append(customer("4", 1200))
    batch = await changes_since(qbo, [Customer], cursor(Customer=1000))
    middles = [950, 1075, 1138, 1169, 1185, 1193, 1197, 1199, 1200]
    assert [since for _, since in qbo.cdc_calls] == [at(700)] + [at(m) for m in middles]
    assert qbo.statements[1:] == [
        f"SELECT * FROM Customer WHERE {EVERY} AND MetaData.LastUpdatedTime >= {lit(700)}"
        f" {ORDER} STARTPOSITION 1 MAXRESULTS 1000"
    ]
    assert [entity_id for _, entity_id, _ in versions(batch)] == ["1", "2", "3", "4"]
    assert batch.cursor.positions["Customer"].since == at(1200.5)
    assert batch.unknown_deletions == ("Customer",)


@pytest.mark.parametrize(("max_bisections", "calls"), [(None, 12), (1, 1), (3, 3)])
async def test_the_bisection_stops_after_max_bisections_calls(
    max_bisections: int | None, calls: int
) -> None:
    """Bisection makes at most `max_bisections` CDC calls (12 by default), then reads the
    window by query."""
    qbo = FakeQBO(at(200_000), cap=2)
    qbo.entities = [customer(str(i), 199_999) for i in range(1, 4)]
    since = cursor(Customer=100_000)
    batch = await (
        changes_since(qbo, [Customer], since)
        if max_bisections is None
        else changes_since(qbo, [Customer], since, max_bisections=max_bisections)
    )
    assert len(qbo.cdc_calls) == 1 + calls
    assert len(batch.upserts) == 3


# ---------------------------------------------------------------- arguments


async def test_a_zero_overlap_reads_from_since_itself() -> None:
    """overlap=0 is allowed: CDC starts at `since` exactly."""
    qbo = FakeQBO(at(5000))
    await changes_since(qbo, [Customer], cursor(Customer=1000), overlap=timedelta(0))
    assert qbo.cdc_calls == [(("Customer",), at(1000))]


@pytest.mark.parametrize(
    ("entities", "options", "error", "message"),
    [
        ([], {}, ValueError, "changes_since needs at least one entity type"),
        ("Customer", {}, TypeError, "entities is a sequence of entity types, not one str"),
        ([Customer], {"max_bisections": 0}, ValueError, "max_bisections must be at least 1, got 0"),
        (
            [Customer],
            {"overlap": timedelta(seconds=-1)},
            ValueError,
            "overlap must not be negative, got -1 day, 23:59:59",
        ),
    ],
)
async def test_refusals_say_what_is_wrong(
    entities: Any, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each refusal's message, whole; nothing is sent."""
    qbo = FakeQBO(at(0))
    with pytest.raises(error) as raised:
        await changes_since(qbo, entities, None, **options)
    assert str(raised.value) == message
    assert qbo.statements == []
