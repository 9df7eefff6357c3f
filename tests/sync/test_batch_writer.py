"""`write_batch` against the emulator's batch endpoint: chunks of at most 30, results in
input order, item faults kept per item, bIds generated or refused when duplicated."""

from __future__ import annotations

import pytest

from qbo_core.entities import Customer
from qbo_core.errors import ObjectNotFoundError, QBOError, StaleObjectError
from qbo_core.results import BatchItem, BatchItemResult
from qbo_core.services import BatchWriteError, write_batch
from tests.sync.world import SyncWorld


@pytest.fixture
def world() -> SyncWorld:
    return SyncWorld()


async def test_seventy_creates_go_in_batches_of_thirty_in_input_order(world: SyncWorld) -> None:
    """70 creates are 3 requests (30, 30, 10) and 70 results in input order, each stored."""
    items = [BatchItem.create(f"c{i}", Customer(display_name=f"Batch {i:02d}")) for i in range(70)]
    results = await write_batch(world.client, items)
    assert world.client.batch_sizes == [30, 30, 10]
    assert [r.bid for r in results] == [f"c{i}" for i in range(70)]
    names = [r.entity.display_name for r in results if isinstance(r.entity, Customer)]
    assert names == [f"Batch {i:02d}" for i in range(70)]
    stored = {c["DisplayName"] for c in world.company.all("Customer")}
    assert set(names) <= stored


async def test_item_faults_stay_with_their_items(world: SyncWorld) -> None:
    """A stale update and a missing entity fail alone; the items around them succeed."""
    current = next(iter(world.company.all("Customer")))
    items = [
        BatchItem.create("", Customer(display_name="Fine One")),
        BatchItem.sparse_update("stale", Customer, current["Id"], "999", {"Notes": "x"}),
        BatchItem.sparse_update("gone", Customer, "987654", "0", {"Notes": "x"}),
        BatchItem.create("", Customer(display_name="Fine Two")),
    ]
    results = await write_batch(world.client, items, size=3)
    assert world.client.batch_sizes == [3, 1]
    assert [r.bid for r in results] == ["0", "stale", "gone", "3"]
    assert [r.ok for r in results] == [True, False, False, True]
    assert isinstance(results[1].error, StaleObjectError)
    assert isinstance(results[2].error, ObjectNotFoundError)


def _named(bid: str) -> BatchItem:
    return BatchItem.create(bid, Customer(display_name=f"n{bid}"))


async def test_generated_bids_never_collide_with_given_ones(world: SyncWorld) -> None:
    """An empty bid becomes the item's position, with a suffix if that text was given."""
    results = await write_batch(world.client, [_named("1"), _named(""), _named("")])
    assert [r.bid for r in results] == ["1", "1-1", "2"]


async def test_duplicate_bids_are_refused_before_sending(world: SyncWorld) -> None:
    """Two items with one bId raise ValueError and nothing is sent."""
    with pytest.raises(ValueError, match="share the bId 'x'"):
        await write_batch(world.client, [_named("x"), _named("y"), _named("x")])
    assert world.client.batch_sizes == []


@pytest.mark.parametrize("size", [0, 31])
async def test_size_outside_the_batch_cap_is_refused(world: SyncWorld, size: int) -> None:
    """size is 1..30 (QBO's batch cap)."""
    with pytest.raises(ValueError, match=r"1\.\.30"):
        await write_batch(world.client, [_named("a")], size=size)


class _FailingSecond:
    """A caller whose second batch request fails as a whole."""

    def __init__(self) -> None:
        self.calls = 0

    async def batch(self, items: object) -> tuple[BatchItemResult, ...]:
        self.calls += 1
        if self.calls == 2:
            raise QBOError("upstream down", status=503)
        return tuple(BatchItemResult(bid=item.bid) for item in items)  # type: ignore[attr-defined]


async def test_a_failed_request_keeps_what_earlier_batches_wrote() -> None:
    """When batch 2 fails, BatchWriteError holds batch 1's results and the cause."""
    caller = _FailingSecond()
    with pytest.raises(BatchWriteError) as caught:
        await write_batch(caller, [_named(str(i)) for i in range(40)])
    assert [r.bid for r in caught.value.written] == [str(i) for i in range(30)]
    assert caught.value.status == 503
    assert isinstance(caught.value.__cause__, QBOError)
