"""`write_batch` against the emulator's batch endpoint: chunks of at most 30, results in
input order, item faults kept per item, bIds generated or refused when duplicated."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest

from qbo_core.config import QBOConfig
from qbo_core.entities import Customer
from qbo_core.errors import DecodeError, ObjectNotFoundError, QBOError, StaleObjectError
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
    """A caller whose second batch request fails as a whole (with `error`)."""

    def __init__(self, error: QBOError | None = None) -> None:
        self.calls = 0
        self.error = error or QBOError("upstream down", status=503)

    async def batch(self, items: object) -> tuple[BatchItemResult, ...]:
        self.calls += 1
        if self.calls == 2:
            raise self.error
        return tuple(BatchItemResult(bid=item.bid) for item in items)  # type: ignore[attr-defined]


async def test_a_failed_request_keeps_what_earlier_batches_wrote() -> None:
    """When batch 2 fails, BatchWriteError holds batch 1's results and the cause."""
    caller = _FailingSecond()
    with pytest.raises(BatchWriteError) as caught:
        await write_batch(caller, [_named(str(i)) for i in range(40)])
    assert [r.bid for r in caught.value.written] == [str(i) for i in range(30)]
    assert caught.value.status == 503
    assert isinstance(caught.value.__cause__, QBOError)


# --------------------------------------------------------------------------------------
# Against a scripted caller: exact batches, answers out of order, refusals' messages.


class _Scripted:
    """Answers each batch with one result per item, in reverse order (QBO's order is not
    the request's), minus `drop` and plus `extra` bIds; records the bIds of each batch."""

    def __init__(self, *, drop: str = "", extra: str = "") -> None:
        self.batches: list[list[str]] = []
        self.drop = drop
        self.extra = extra

    async def batch(self, items: Sequence[BatchItem]) -> tuple[BatchItemResult, ...]:
        self.batches.append([item.bid for item in items])
        answered = [BatchItemResult(bid=item.bid) for item in items if item.bid != self.drop]
        if self.extra:
            answered.append(BatchItemResult(bid=self.extra))
        return tuple(reversed(answered))


async def test_results_come_in_input_order_whatever_order_qbo_answers_in() -> None:
    """Batches of `size` in input order; each batch's results reordered to its items."""
    caller = _Scripted()
    results = await write_batch(caller, [_named(str(i)) for i in range(7)], size=3)
    assert caller.batches == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert [r.bid for r in results] == [str(i) for i in range(7)]


async def test_the_batch_size_defaults_to_the_configured_cap() -> None:
    """Without `size`, batches hold `config.batch_max_items` items (30 by default), and a
    size above the configured cap is refused naming it."""
    caller = _Scripted()
    await write_batch(
        caller, [_named(str(i)) for i in range(5)], config=QBOConfig(batch_max_items=2)
    )
    assert caller.batches == [["0", "1"], ["2", "3"], ["4"]]
    with pytest.raises(ValueError, match=r"^size must be 1\.\.2 \(QBO's batch cap\), got 3$"):
        await write_batch(caller, [_named("a")], size=3, config=QBOConfig(batch_max_items=2))


async def test_a_size_of_one_sends_one_item_a_request() -> None:
    """size=1 is the smallest batch."""
    caller = _Scripted()
    await write_batch(caller, [_named("a"), _named("b")], size=1)
    assert caller.batches == [["a"], ["b"]]


async def test_nothing_to_write_sends_nothing() -> None:
    """No items: no request, no results."""
    caller = _Scripted()
    assert await write_batch(caller, []) == []
    assert caller.batches == []


@pytest.mark.parametrize("size", [True, 2.0, "3"])
async def test_a_size_that_is_not_a_whole_number_is_refused(size: object) -> None:
    """`size` must be an int (not a bool): the message shows what was given."""
    message = f"size must be 1..30 (QBO's batch cap), got {size!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        await write_batch(_Scripted(), [_named("a")], size=size)  # type: ignore[arg-type]


async def test_generated_bids_skip_every_suffix_already_given() -> None:
    """An empty bid whose position and first suffixes are taken gets the next suffix."""
    results = await write_batch(_Scripted(), [_named("0"), _named("0-1"), _named(""), _named("")])
    assert [r.bid for r in results] == ["0", "0-1", "2", "3"]
    results = await write_batch(_Scripted(), [_named(""), _named("0"), _named("0-1")])
    assert [r.bid for r in results] == ["0-2", "0", "0-1"]


@pytest.mark.parametrize(
    ("caller", "message"),
    [
        (_Scripted(drop="1"), "missing bIds ['1'], unknown bIds []"),
        (_Scripted(extra="zz"), "missing bIds [], unknown bIds ['zz']"),
    ],
)
async def test_an_answer_that_does_not_match_its_request_is_a_decode_error(
    caller: _Scripted, message: str
) -> None:
    """A bId QBO did not answer, or one it made up, raises DecodeError naming them."""
    with pytest.raises(DecodeError) as raised:
        await write_batch(caller, [_named("0"), _named("1")])
    assert str(raised.value) == f"QBO's batch answer does not match its request: {message}"


async def test_a_failed_request_says_which_items_and_keeps_the_causes_details() -> None:
    """BatchWriteError names the failed batch's items and carries the cause's status,
    codes, intuit_tid, realm and retry hint."""
    cause = QBOError(
        "throttled",
        status=429,
        codes=["003001"],
        intuit_tid="tid-1",
        realm_id="42",
        retry_after=7.5,
    )
    caller = _FailingSecond(cause)
    with pytest.raises(BatchWriteError) as raised:
        await write_batch(caller, [_named(str(i)) for i in range(45)])
    error = raised.value
    assert error.message == "batch of items 31..45 of 45 failed: throttled"
    assert (error.status, error.codes, error.intuit_tid, error.realm_id, error.retry_after) == (
        429,
        ("003001",),
        "tid-1",
        "42",
        7.5,
    )
    assert error.__cause__ is cause
