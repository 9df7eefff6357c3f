"""`changes_since` against the emulator: full read, CDC, the cap split, the query path
beyond CDC's window, overlap de-duplication, and cursors from QBO's clock only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from qbo_core.converter import structure, unstructure
from qbo_core.dtos import SyncCursor
from qbo_core.entities import Customer, Invoice
from qbo_core.services import changes_since
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
