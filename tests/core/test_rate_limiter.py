"""`RateLimiter` on the fake clock and the memory quota store: windows, slots, batch
budgets, hold-backs, fairness and cancellation, checked on the virtual times of grants."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.event_sinks import RecordingEventSink
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_core import QBOConfig, RateLimit, RateLimiter, SlotLease, events
from qbo_core.errors import StoreUnavailableError
from qbo_core.ports.quota_store import QuotaStore, Spend

REALM = "9130350000000001"
OTHER = "9130350000000002"
EPSILON = 1e-6  # the fake clock keeps whole microseconds


class World:
    """One fake clock, one memory store and event sink, and the limiters ("processes") on them."""

    def __init__(self, **config: Any) -> None:
        self.clock = FakeClock()
        self.store = MemoryQuotaStore(self.clock)
        self.sink = RecordingEventSink()
        self.config = QBOConfig(**config)
        self.start = self.clock.now().timestamp()

    def limiter(self, **kwargs: Any) -> RateLimiter:
        """A limiter on this world; windows exactly as QBO counts them unless a
        `window_margin` is given (the tests of the margin give it)."""
        kwargs.setdefault("window_margin", 0.0)
        return RateLimiter(
            quota_store=self.store, clock=self.clock, config=self.config, events=self.sink, **kwargs
        )

    @property
    def elapsed(self) -> float:
        return self.clock.now().timestamp() - self.start


async def grant_times(
    world: World,
    limiter: RateLimiter,
    count: int,
    *,
    realm: str = REALM,
    batch: bool = False,
    hold: float = 0.0,
) -> list[float]:
    """Start `count` permits at once, in order; the virtual time each was granted at."""
    granted: list[float] = [float("nan")] * count

    async def one(index: int) -> None:
        async with limiter.permit(realm, batch=batch):
            granted[index] = world.elapsed
            if hold:
                await world.clock.sleep(hold)

    await asyncio.gather(*(one(index) for index in range(count)))
    return granted


def ideal_times(count: int, limits: Sequence[RateLimit]) -> list[float]:
    """The earliest each of `count` permits can go, one after another, under `limits`."""
    times: list[float] = []
    for index in range(count):
        earliest = times[-1] if times else 0.0
        for limit in limits:
            if index >= limit.limit:
                earliest = max(earliest, times[index - limit.limit] + limit.period)
        times.append(earliest)
    return times


def most_in_any_window(times: Sequence[float], period: float) -> int:
    """The most grants in any window `(t - period, t]` (the fullest end at a grant)."""
    return max(sum(1 for s in times if t - period + EPSILON < s <= t + EPSILON) for t in times)


async def free_slots(store: QuotaStore, realm: str, capacity: int) -> int:
    """How many of the realm's slots can be leased now (each is given back after)."""
    taken = []
    while (slot := await store.lease_slot(f"rate:{realm}", capacity=capacity, lease=1)) is not None:
        taken.append(slot)
    for slot in taken:
        await store.release_slot(slot)
    return len(taken)


# -- windows ------------------------------------------------------------------------------


async def test_a_burst_is_spread_exactly_by_the_second_window() -> None:
    """100 permits at once: 10 in each second, each granted as early as the windows allow."""
    world = World()
    times = await grant_times(world, world.limiter(), 100)
    assert times == pytest.approx([float(index // 10) for index in range(100)], abs=EPSILON)
    assert most_in_any_window(times, 1.0) == 10


async def test_the_minute_window_holds_after_500() -> None:
    """520 permits at once: 500 in the first 50 s, then nothing until the first minute ends;
    never more than 10 in a second or 500 in a minute, and never later than the windows say."""
    world = World()
    times = await grant_times(world, world.limiter(), 520)
    limits = [RateLimit(limit=10, period=1), RateLimit(limit=500, period=60)]
    assert times == pytest.approx(ideal_times(520, limits), abs=EPSILON)
    assert times[499] == pytest.approx(49)
    assert times[500] == pytest.approx(60)
    assert most_in_any_window(times, 1.0) == 10
    assert most_in_any_window(times, 60.0) == 500


async def test_by_default_every_window_is_a_tenth_of_a_second_longer() -> None:
    """The default `window_margin`: 10 in any 1.1 s and 500 in any 60.1 s, so the 501st
    permit goes at 60.1 s; 500 still go out within the first minute."""
    world = World()
    limiter = RateLimiter(
        quota_store=world.store, clock=world.clock, config=world.config, events=world.sink
    )
    times = await grant_times(world, limiter, 520)
    limits = [RateLimit(limit=10, period=1.1), RateLimit(limit=500, period=60.1)]
    assert times == pytest.approx(ideal_times(520, limits), abs=EPSILON)
    assert times[10] == pytest.approx(1.1, abs=EPSILON)
    assert times[499] == pytest.approx(53.9, abs=EPSILON)
    assert times[500] == pytest.approx(60.1, abs=EPSILON)


async def test_the_margin_comes_from_the_configuration() -> None:
    """`QBOConfig.rate_window_margin` sets the margin when the limiter is not given one."""
    world = World(rate_window_margin=0.5)
    limiter = RateLimiter(
        quota_store=world.store, clock=world.clock, config=world.config, events=world.sink
    )
    times = await grant_times(world, limiter, 11)
    assert times[10] == pytest.approx(1.5, abs=EPSILON)


@pytest.mark.parametrize(("margin", "overflows"), [(0.0, True), (0.1, False)])
async def test_the_margin_absorbs_requests_delayed_differently_on_the_way(
    margin: float, overflows: bool
) -> None:
    """Regression (issue 10's real-time benchmark: a 429 four processes got within the
    first second): the first second's requests take 50 ms longer to reach QBO (new
    connections) than the later ones, so with exact windows the next second's arrive
    less than a second after them, 20 in one second of QBO's count; with the margin,
    arrivals still fit 10 a second."""
    world = World()
    times = await grant_times(world, world.limiter(window_margin=margin), 40)
    arrivals = [t + (0.05 if index < 10 else 0.0) for index, t in enumerate(times)]
    assert (most_in_any_window(sorted(arrivals), 1.0) > 10) is overflows


@pytest.mark.parametrize("margin", [-0.1, float("inf"), float("nan")])
def test_an_unusable_window_margin_is_refused(margin: float) -> None:
    """A negative, infinite or NaN margin is a `ValueError` when the limiter is built."""
    world = World()
    with pytest.raises(ValueError, match="window_margin"):
        world.limiter(window_margin=margin)


async def test_in_flight_never_exceeds_the_cap() -> None:
    """Permits held 2.5 s each: at most `max_concurrent_requests` at once, the next batch of
    permits granted the moment slots are released."""
    world = World(max_concurrent_requests=4)
    limiter = world.limiter()
    in_flight = peak = 0
    granted: list[float] = []

    async def one() -> None:
        nonlocal in_flight, peak
        async with limiter.permit(REALM):
            in_flight += 1
            peak = max(peak, in_flight)
            granted.append(world.elapsed)
            await world.clock.sleep(2.5)
            in_flight -= 1

    await asyncio.gather(*(one() for _ in range(12)))
    assert peak == 4
    assert granted == pytest.approx([2.5 * (index // 4) for index in range(12)], abs=EPSILON)
    assert await free_slots(world.store, REALM, 4) == 4


async def test_realms_never_share_a_budget() -> None:
    """A realm whose windows are spent does not slow another realm down at all."""
    world = World()
    limiter = world.limiter()
    busy = asyncio.ensure_future(grant_times(world, limiter, 100, realm=REALM))
    await asyncio.sleep(0)
    other = await grant_times(world, limiter, 10, realm=OTHER)
    assert other == pytest.approx([0.0] * 10, abs=EPSILON)
    assert (await busy)[-1] == pytest.approx(9)


# -- batch budgets -------------------------------------------------------------------------


async def test_batch_requests_are_held_to_the_batch_budgets() -> None:
    """Batch permits follow `batch_requests_per_minute` (the stricter of the two batch limits)."""
    world = World(batch_requests_per_minute=4, batch_requests_per_minute_realm=6)
    times = await grant_times(world, world.limiter(), 10, batch=True)
    assert times == pytest.approx([0, 0, 0, 0, 60, 60, 60, 60, 120, 120], abs=EPSILON)


async def test_the_realm_batch_limit_applies_too() -> None:
    """With the per-realm batch limit the stricter one, it is the one that holds."""
    world = World(batch_requests_per_minute=3, batch_requests_per_minute_realm=3)
    times = await grant_times(world, world.limiter(), 4, batch=True)
    assert times == pytest.approx([0, 0, 0, 60], abs=EPSILON)


async def test_batch_requests_count_against_the_request_windows() -> None:
    """4 batch requests then 10 plain ones in the same second: only 6 plain ones fit in it."""
    world = World()
    limiter = world.limiter()
    batches = await grant_times(world, limiter, 4, batch=True)
    plain = await grant_times(world, limiter, 10)
    assert batches == pytest.approx([0.0] * 4, abs=EPSILON)
    assert plain == pytest.approx([0.0] * 6 + [1.0] * 4, abs=EPSILON)


async def test_plain_requests_do_not_spend_the_batch_budget() -> None:
    """Plain permits leave the batch windows untouched."""
    world = World(batch_requests_per_minute=2, batch_requests_per_minute_realm=2)
    limiter = world.limiter()
    await grant_times(world, limiter, 20)
    await world.clock.sleep(1)  # the second window has room again; the minute's is spent
    start = world.elapsed
    times = await grant_times(world, limiter, 2, batch=True)
    assert times == pytest.approx([start, start], abs=EPSILON)


async def test_a_permit_is_plain_unless_asked_for_a_batch() -> None:
    """`permit(realm)` without `batch` spends on the request windows, never on the batch
    budgets."""
    world = World()
    async with world.limiter().permit(REALM):
        pass
    assert await world.store.usage(f"rate:{REALM}", RateLimit(limit=10, period=1)) == 1
    assert await world.store.usage(f"rate-batch:{REALM}", RateLimit(limit=40, period=60)) == 0


async def test_each_realm_has_its_own_batch_budget() -> None:
    """A realm whose batch budget is spent does not hold back another realm's batches."""
    world = World(batch_requests_per_minute=2, batch_requests_per_minute_realm=2)
    limiter = world.limiter()
    assert await grant_times(world, limiter, 2, batch=True) == pytest.approx([0, 0], abs=EPSILON)
    other = await grant_times(world, limiter, 2, realm=OTHER, batch=True)
    assert other == pytest.approx([0, 0], abs=EPSILON)


# -- throttling (429) -------------------------------------------------------------------------


async def test_a_429_holds_the_realm_back_60_seconds_and_only_it() -> None:
    """After `throttled` without Retry-After, the realm's permits wait 60 s; others do not.
    `rate.held_back` names the realm, the wait and its end, at the time of the 429."""
    world = World()
    limiter = world.limiter()
    await limiter.throttled(REALM, retry_after=None)
    held = asyncio.ensure_future(grant_times(world, limiter, 3))
    await asyncio.sleep(0)
    assert await grant_times(world, limiter, 3, realm=OTHER) == pytest.approx([0.0] * 3)
    assert await held == pytest.approx([60.0] * 3, abs=EPSILON)
    (event,) = world.sink.of_kind(events.RATE_HELD_BACK)
    assert event.realm_id == REALM
    assert event.attributes["wait"] == 60.0
    assert event.attributes["retry_after"] is None
    assert event.attributes["until"] == pytest.approx(world.start + 60)
    assert event.at == world.clock.now() - timedelta(seconds=60)  # when the 429 was seen


async def test_retry_after_sets_the_hold_back() -> None:
    """A Retry-After of 7 s holds the realm back 7 s."""
    world = World()
    limiter = world.limiter()
    await limiter.throttled(REALM, retry_after=7)
    assert await grant_times(world, limiter, 1) == pytest.approx([7.0], abs=EPSILON)
    (event,) = world.sink.of_kind(events.RATE_HELD_BACK)
    assert event.attributes["wait"] == 7.0


@pytest.mark.parametrize("retry_after", [-1.0, float("nan"), float("inf")])
async def test_an_unusable_retry_after_means_60_seconds(retry_after: float) -> None:
    """A negative or non-finite Retry-After is ignored: the hold-back is Intuit's 60 s."""
    world = World()
    limiter = world.limiter()
    await limiter.throttled(REALM, retry_after=retry_after)
    assert await grant_times(world, limiter, 1) == pytest.approx([60.0], abs=EPSILON)


@pytest.mark.parametrize("retry_after", [0.0, 0.5])
async def test_a_retry_after_under_a_second_is_used_as_sent(retry_after: float) -> None:
    """A Retry-After of 0 or of half a second is usable: the hold-back is that long, not
    Intuit's 60 s."""
    world = World()
    limiter = world.limiter()
    await limiter.throttled(REALM, retry_after=retry_after)
    assert await grant_times(world, limiter, 1) == pytest.approx([retry_after], abs=EPSILON)
    (event,) = world.sink.of_kind(events.RATE_HELD_BACK)
    assert event.attributes["wait"] == retry_after


async def test_a_429_holds_back_permits_already_waiting() -> None:
    """A permit asleep on the windows when the 429 comes waits for the hold-back too, and a
    429 seen by one process holds back the other."""
    world = World(requests_per_second=1, requests_per_minute=60)
    first, second = world.limiter(), world.limiter()
    waiting = asyncio.ensure_future(grant_times(world, second, 3))
    await world.clock.sleep(0.5)
    await first.throttled(REALM, retry_after=30)
    assert await waiting == pytest.approx([0.0, 30.5, 31.5], abs=EPSILON)


async def test_a_shorter_retry_after_never_shortens_a_hold_back() -> None:
    """Two 429s: the hold-back ends at the later of the two ends."""
    world = World()
    limiter = world.limiter()
    await limiter.throttled(REALM, retry_after=60)
    await limiter.throttled(REALM, retry_after=5)
    assert await grant_times(world, limiter, 1) == pytest.approx([60.0], abs=EPSILON)


# -- several processes -------------------------------------------------------------------------


async def test_two_processes_share_one_budget() -> None:
    """Two limiters on one store (two workers) never grant more than the realm's windows."""
    world = World(max_concurrent_requests=6)
    first, second = world.limiter(), world.limiter()
    times = await asyncio.gather(
        grant_times(world, first, 30, hold=0.4), grant_times(world, second, 30, hold=0.4)
    )
    merged = sorted(times[0] + times[1])
    assert most_in_any_window(merged, 1.0) == 10
    # 60 permits at 10/s end at 5 s; slots freed by the other worker are seen at its next
    # poll of the store (every 0.05 s), which may cost a little of that.
    assert 5.0 - EPSILON <= merged[-1] <= 5.5
    assert max(times[0]) > 2
    assert max(times[1]) > 2
    assert await free_slots(world.store, REALM, 6) == 6


async def test_two_processes_share_the_slots() -> None:
    """Slots leased by one limiter count against the other's permits."""
    world = World(max_concurrent_requests=2)
    first, second = world.limiter(), world.limiter()
    release = asyncio.Event()

    async def hold(limiter: RateLimiter) -> None:
        async with limiter.permit(REALM):
            await release.wait()

    holders = [asyncio.ensure_future(hold(first)) for _ in range(2)]
    await world.clock.sleep(0.01)
    waiter = asyncio.ensure_future(grant_times(world, second, 1))
    await world.clock.sleep(10)
    assert not waiter.done()
    release.set()
    await asyncio.gather(*holders)
    (granted,) = await waiter
    assert 10.0 <= granted <= 10.06  # the next poll of the store after the release


# -- fairness --------------------------------------------------------------------------------


async def test_permits_of_a_realm_are_granted_in_arrival_order() -> None:
    """Permits that arrive one by one while the windows are full are granted first come,
    first served, however their arrivals interleave with the waits."""
    world = World(requests_per_second=2, requests_per_minute=60)
    limiter = world.limiter()
    order: list[int] = []

    async def one(index: int) -> None:
        async with limiter.permit(REALM):
            order.append(index)

    tasks = []
    for index in range(12):
        tasks.append(asyncio.ensure_future(one(index)))
        await world.clock.sleep(0.3)
    await asyncio.gather(*tasks)
    assert order == list(range(12))


async def test_a_permit_for_an_idle_realm_asks_the_store_without_queueing() -> None:
    """A permit that finds no other permit of its realm here asks the store at once, with
    no queue (`repr` shows nobody waiting while its answer is on the way), and so does a
    later one once the first is through; a permit that comes while another is at the
    store queues behind it."""
    world = World()
    store = _SlowAnswers(world.clock, [0.1, 0.1, 0.1])
    limiter = _limiter_on(world, store, window_margin=1.0)  # 0.1 s answers are not late
    first = asyncio.ensure_future(grant_times(world, limiter, 1))
    await world.clock.sleep(0.05)
    assert repr(limiter) == "RateLimiter(realms_waiting=0, permits_waiting=0)"
    second = asyncio.ensure_future(grant_times(world, limiter, 1))
    await world.clock.sleep(0.01)
    assert repr(limiter) == "RateLimiter(realms_waiting=1, permits_waiting=1)"
    await asyncio.gather(first, second)
    third = asyncio.ensure_future(grant_times(world, limiter, 1))
    await world.clock.sleep(0.05)
    assert repr(limiter) == "RateLimiter(realms_waiting=0, permits_waiting=0)"
    await third
    assert len(store.recorded) == 3


async def test_only_the_head_of_the_queue_asks_the_store() -> None:
    """While 50 permits wait, store calls stay a few per grant, not one per waiter per poll."""
    world = World(requests_per_second=1, requests_per_minute=60)
    calls = 0
    acquire = world.store.try_acquire_all

    async def counted(*args: Any, **kwargs: Any) -> float:
        nonlocal calls
        calls += 1
        return await acquire(*args, **kwargs)

    world.store.try_acquire_all = counted  # type: ignore[method-assign]
    await grant_times(world, world.limiter(), 50)
    assert calls <= 2 * 50


# -- cancellation ----------------------------------------------------------------------------


async def test_a_cancelled_waiter_leaves_no_slot_and_no_spend() -> None:
    """Cancelling permits that are waiting (on the windows, or in the queue) records nothing
    and holds no slot; the permits after them go on in order."""
    world = World(requests_per_second=2, requests_per_minute=60)
    limiter = world.limiter()
    second_window = RateLimit(limit=2, period=1)
    await grant_times(world, limiter, 2)
    waiters = [asyncio.ensure_future(grant_times(world, limiter, 1)) for _ in range(3)]
    await world.clock.sleep(0.5)
    for waiter in waiters[:2]:  # the head, asleep on the window, and the next in the queue
        waiter.cancel()
    assert (await waiters[2]) == pytest.approx([1.0], abs=EPSILON)
    for waiter in waiters[:2]:
        assert waiter.cancelled()
    assert await world.store.usage(f"rate:{REALM}", second_window) == 1
    assert await free_slots(world.store, REALM, 10) == 10


async def test_a_cancelled_holder_releases_its_slot() -> None:
    """A task cancelled inside its permit (mid-request) gives its slot back."""
    world = World(max_concurrent_requests=3)
    limiter = world.limiter()

    async def request() -> None:
        async with limiter.permit(REALM):
            await world.clock.sleep(100)

    holders = [asyncio.ensure_future(request()) for _ in range(3)]
    await world.clock.sleep(1)
    assert await free_slots(world.store, REALM, 3) == 0
    for holder in holders:
        holder.cancel()
    await asyncio.gather(*holders, return_exceptions=True)
    assert await free_slots(world.store, REALM, 3) == 3


class _SlowRelease(MemoryQuotaStore):
    """A memory store whose release takes a round trip (as Redis's does), and counts them."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.releases = 0

    async def release_slot(self, slot: SlotLease) -> bool:
        self.releases += 1
        await asyncio.sleep(0)  # a turn of the loop: the caller can be cancelled here
        await asyncio.sleep(0)
        return await super().release_slot(slot)


async def test_a_holder_cancelled_during_its_release_still_gives_the_slot_back() -> None:
    """Cancelled while the release is in flight, the slot is released all the same (sent
    again from a task of its own; releasing twice is harmless)."""
    world = World(max_concurrent_requests=2)
    store = _SlowRelease(world.clock)
    limiter = RateLimiter(
        quota_store=store, clock=world.clock, config=world.config, events=world.sink
    )
    inside = asyncio.Event()

    async def request() -> None:
        async with limiter.permit(REALM):
            inside.set()

    holder = asyncio.ensure_future(request())
    await inside.wait()
    await asyncio.sleep(0)  # the holder has left the block and is inside release_slot
    assert store.releases == 1
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    for _ in range(10):
        await asyncio.sleep(0)
    assert store.releases == 2
    assert await free_slots(store, REALM, 2) == 2


async def test_a_permit_is_entered_once() -> None:
    """Entering the same permit a second time is a `RuntimeError` that says so."""
    world = World()
    permit = world.limiter().permit(REALM)
    async with permit:
        with pytest.raises(RuntimeError) as refused:
            await permit.__aenter__()
    assert str(refused.value) == "a permit is entered once"


class _UnansweredResend(MemoryQuotaStore):
    """A memory store whose releases take a round trip, and whose second release of a slot
    waits for an answer that only the release itself holds (as a socket read would); the
    store keeps a weak reference to give that answer, or to fail it. Later releases
    answer at once."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.releases = 0
        self.answer: weakref.ref[asyncio.Future[None]] | None = None

    async def release_slot(self, slot: SlotLease) -> bool:
        self.releases += 1
        await asyncio.sleep(0)  # the caller can be cancelled here
        await asyncio.sleep(0)
        if self.releases == 2:
            answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.answer = weakref.ref(answer)
            await answer
        return await super().release_slot(slot)


@pytest.mark.parametrize("fails", [False, True])
async def test_a_release_sent_again_is_kept_until_it_lands_and_leaves_nothing(
    fails: bool,
) -> None:
    """A release sent again from its own task after a cancellation is held by the limiter
    while it waits (garbage collection does not end it), and once it ends, succeeded or
    failed, nothing is left: the task is dropped and the loop has no error to report."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        world = World(max_concurrent_requests=2)
        store = _UnansweredResend(world.clock)
        limiter = _limiter_on(world, store)
        inside = asyncio.Event()

        async def request() -> None:
            async with limiter.permit(REALM):
                inside.set()

        holder = asyncio.ensure_future(request())
        await inside.wait()
        await asyncio.sleep(0)  # the holder is inside its first release
        holder.cancel()
        with pytest.raises(asyncio.CancelledError):
            await holder
        del holder  # its traceback would hold the release task
        resend = [
            weakref.ref(task)
            for task in asyncio.all_tasks()
            if "release_slot" in getattr(task.get_coro(), "__qualname__", "")
        ]
        for _ in range(5):
            await asyncio.sleep(0)
        assert store.releases == 2
        gc.collect()
        answer = store.answer() if store.answer is not None else None
        assert answer is not None  # the release is still waiting for it
        if fails:
            answer.set_exception(StoreUnavailableError("the quota store is down"))
        else:
            answer.set_result(None)
        del answer
        for _ in range(5):
            await asyncio.sleep(0)
        gc.collect()
        assert [task() for task in resend] == [None]
        assert reported == []
        assert await free_slots(store, REALM, 2) == (1 if fails else 2)
    finally:
        loop.set_exception_handler(None)


async def test_an_exception_inside_releases_the_slot() -> None:
    """A request that raises inside its permit still gives the slot back."""
    world = World(max_concurrent_requests=1)
    limiter = world.limiter()
    with pytest.raises(RuntimeError, match="boom"):
        async with limiter.permit(REALM):
            raise RuntimeError("boom")
    assert await free_slots(world.store, REALM, 1) == 1


async def test_a_crashed_holder_frees_its_slot_after_the_lease() -> None:
    """A permit never left (its process died) holds its slot `total_timeout + 30` s only."""
    world = World(max_concurrent_requests=1)
    limiter = world.limiter()
    crashed = limiter.permit(REALM)
    await crashed.__aenter__()  # never exited
    assert await grant_times(world, world.limiter(), 1) == pytest.approx([150.0], abs=0.06)


async def test_slot_lease_can_be_set() -> None:
    """`slot_lease` sets how long an unreleased slot stays leased; it must be positive."""
    world = World(max_concurrent_requests=1)
    crashed = world.limiter(slot_lease=5).permit(REALM)
    await crashed.__aenter__()
    assert await grant_times(world, world.limiter(), 1) == pytest.approx([5.0], abs=0.06)
    with pytest.raises(ValueError, match="slot_lease"):
        world.limiter(slot_lease=0)


async def test_a_slot_lease_under_a_second_is_allowed() -> None:
    """Any positive `slot_lease` is accepted, half a second included."""
    world = World(max_concurrent_requests=1)
    crashed = world.limiter(slot_lease=0.5).permit(REALM)
    await crashed.__aenter__()
    assert await grant_times(world, world.limiter(), 1) == pytest.approx([0.5], abs=0.06)


class _SlowAnswers(MemoryQuotaStore):
    """A memory store whose grants reach the permit `delays[i]` seconds of the fake clock
    after they were recorded (a slow round trip, or a busy loop resuming the permit late);
    it keeps when each spend was recorded."""

    def __init__(self, clock: FakeClock, delays: Sequence[float]) -> None:
        super().__init__(clock)
        self.delays = list(delays)
        self.recorded: list[float] = []

    async def try_acquire_all(self, spends: Sequence[Spend], *, cost: int = 1) -> float:
        wait = await super().try_acquire_all(spends, cost=cost)
        if wait <= 0:
            self.recorded.append(self._clock.monotonic())
        delay = self.delays.pop(0) if self.delays else 0.0
        if delay:
            await self._clock.sleep(delay)
        return wait


def _limiter_on(world: World, store: QuotaStore, **kwargs: Any) -> RateLimiter:
    return RateLimiter(
        quota_store=store, clock=world.clock, config=world.config, events=world.sink, **kwargs
    )


async def test_a_grant_that_comes_back_late_is_spent_again_before_the_request_goes() -> None:
    """A grant answered more than half the margin (0.05 s) after it was asked for stands
    for a request that leaves that much later: it is spent once more, and the permit goes
    right after the second grant; `rate.late_grant` reports it, with how late it was, at
    the second grant."""
    world = World()
    store = _SlowAnswers(world.clock, [0.2, 0.0])
    limiter = _limiter_on(world, store, window_margin=0.1)
    async with limiter.permit(REALM):
        entered = world.clock.monotonic()
    assert len(store.recorded) == 2
    assert entered == pytest.approx(store.recorded[1], abs=EPSILON)
    late = world.sink.of_kind(events.RATE_LATE_GRANT)
    assert [event.attributes["late"] for event in late] == pytest.approx([0.2], abs=EPSILON)
    assert late[0].realm_id == REALM
    assert late[0].attributes["respent"] is True
    assert late[0].at.timestamp() == pytest.approx(world.start + 0.2, abs=EPSILON)


async def test_a_grant_back_within_half_the_margin_is_spent_once() -> None:
    """At 0.05 s or less (half the 0.1 s margin) the grant stands: one spend, no event."""
    world = World()
    store = _SlowAnswers(world.clock, [0.05])
    limiter = _limiter_on(world, store, window_margin=0.1)
    async with limiter.permit(REALM):
        pass
    assert len(store.recorded) == 1
    assert world.sink.of_kind(events.RATE_LATE_GRANT) == []


async def test_a_grant_back_at_exactly_half_the_margin_stands() -> None:
    """Half the margin itself is still on time (the bound is included): with a 0.25 s
    margin, a grant answered 0.125 s after it was asked for (exact in binary, so the fake
    clock measures exactly that) is spent once, with no event."""
    world = World()
    store = _SlowAnswers(world.clock, [0.125])
    async with _limiter_on(world, store, window_margin=0.25).permit(REALM):
        pass
    assert len(store.recorded) == 1
    assert world.sink.of_kind(events.RATE_LATE_GRANT) == []


async def test_with_no_margin_a_grant_is_late_only_past_five_milliseconds() -> None:
    """A margin of 0 would make any real round trip late, and every grant spent twice:
    the threshold is never under 5 ms (a grant back after 4 ms stands; after 6 ms it is
    spent again)."""
    world = World()
    store = _SlowAnswers(world.clock, [0.004, 0.006, 0.0])
    limiter = _limiter_on(world, store, window_margin=0.0)
    async with limiter.permit(REALM):
        pass
    assert len(store.recorded) == 1
    async with limiter.permit(REALM):
        pass
    assert len(store.recorded) == 3
    assert len(world.sink.of_kind(events.RATE_LATE_GRANT)) == 1


async def test_a_late_grant_whose_second_spend_is_refused_waits_for_the_windows() -> None:
    """The window full after the late grant: the second spend is refused, the slot is
    given back, and the permit waits for the window like any refused one; the windows
    are never overrun (the first grant counts too)."""
    world = World(requests_per_second=2, requests_per_minute=100)
    store = _SlowAnswers(world.clock, [0.0, 0.3])
    limiter = _limiter_on(world, store, window_margin=0.1)
    times = await grant_times(world, limiter, 2)
    assert len(store.recorded) == 3  # first permit; second permit's late grant, its respend
    assert times[1] > 1.0  # the second permit's re-spend had to wait for the window
    assert most_in_any_window(store.recorded, 1.1) <= 2
    late = world.sink.of_kind(events.RATE_LATE_GRANT)
    assert [event.attributes["respent"] for event in late] == [False]
    assert await free_slots(store, REALM, 10) == 10


async def test_a_grant_back_just_past_half_the_margin_is_late() -> None:
    """Half the margin is the bound: a grant answered 0.1 s after it was asked for, with a
    0.1 s margin, is spent again."""
    world = World()
    store = _SlowAnswers(world.clock, [0.1, 0.0])
    async with _limiter_on(world, store, window_margin=0.1).permit(REALM):
        pass
    assert len(store.recorded) == 2
    assert len(world.sink.of_kind(events.RATE_LATE_GRANT)) == 1


async def test_a_second_grant_back_at_exactly_half_the_margin_counts_as_respent() -> None:
    """The re-spend of a late grant is on time when its answer comes within half the
    margin, that bound included: `respent` is true."""
    world = World()
    store = _SlowAnswers(world.clock, [0.5, 0.125])
    async with _limiter_on(world, store, window_margin=0.25).permit(REALM):
        pass
    (late,) = world.sink.of_kind(events.RATE_LATE_GRANT)
    assert late.attributes["respent"] is True


async def test_a_refusal_that_comes_back_late_is_not_spent_again() -> None:
    """Only a grant is spent again when its answer is late: a late refusal is waited out
    as the store named it, with no second spend and no `rate.late_grant`."""
    world = World(requests_per_second=1, requests_per_minute=60)
    store = _SlowAnswers(world.clock, [0.0, 0.2])
    limiter = _limiter_on(world, store, window_margin=0.1)
    await grant_times(world, limiter, 1)
    await world.clock.sleep(0.5)
    # Refused at 0.5 (told at 0.7); asked again from the queue at 0.7, it waits for 1.1.
    (granted,) = await grant_times(world, limiter, 1)
    assert granted == pytest.approx(1.1, abs=EPSILON)
    assert len(store.recorded) == 2
    assert world.sink.of_kind(events.RATE_LATE_GRANT) == []


class _FailingSpend(MemoryQuotaStore):
    """A memory store whose first spend fails (the store unreachable) after 0.02 s."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.failures = 1

    async def try_acquire_all(self, spends: Sequence[Spend], *, cost: int = 1) -> float:
        if self.failures:
            self.failures -= 1
            await self._clock.sleep(0.02)
            raise StoreUnavailableError("the quota store is down", backend="memory")
        return await super().try_acquire_all(spends, cost=cost)


async def test_a_store_failure_while_spending_gives_the_slot_back_at_once() -> None:
    """A spend that fails is raised as the store raised it; the slot is given back and a
    permit waiting here for it is woken at once, not at its next poll of the store."""
    world = World(max_concurrent_requests=1)
    store = _FailingSpend(world.clock)
    limiter = _limiter_on(world, store, window_margin=0.0)

    async def failing() -> None:
        async with limiter.permit(REALM):
            pass

    first = asyncio.ensure_future(failing())
    await world.clock.sleep(0.01)
    waiting = asyncio.ensure_future(grant_times(world, limiter, 1))
    with pytest.raises(StoreUnavailableError, match="the quota store is down"):
        await first
    assert await waiting == pytest.approx([0.02], abs=EPSILON)
    assert await free_slots(store, REALM, 1) == 1


async def test_a_refused_batch_gives_its_slot_to_a_waiting_plain_permit_at_once() -> None:
    """A batch permit refused by the batch budget gives its slot back at once, waking a
    plain permit of the realm waiting here for a slot, which goes at once."""
    world = World(max_concurrent_requests=1, batch_requests_per_minute=1)
    store = _SlowAnswers(world.clock, [0.0, 0.02, 0.0])
    limiter = _limiter_on(world, store, window_margin=0.0)
    await grant_times(world, limiter, 1, batch=True)  # the batch budget is spent
    refused = asyncio.ensure_future(grant_times(world, limiter, 1, batch=True))
    await world.clock.sleep(0.01)
    assert await grant_times(world, limiter, 1) == pytest.approx([0.02], abs=EPSILON)
    assert await refused == pytest.approx([60.0], abs=EPSILON)


async def test_a_released_slot_wakes_a_batch_permit_waiting_for_one() -> None:
    """A plain permit leaving its block wakes a batch permit of the realm waiting here for
    a slot: it goes at once, not at its next poll of the store."""
    world = World(max_concurrent_requests=1)
    limiter = world.limiter()
    holder = asyncio.ensure_future(grant_times(world, limiter, 1, hold=0.02))
    await world.clock.sleep(0.01)
    assert await grant_times(world, limiter, 1, batch=True) == pytest.approx([0.02], abs=EPSILON)
    await holder


# -- no spinning ----------------------------------------------------------------------------


class _CountedSlots(MemoryQuotaStore):
    """A memory store that counts the slots asked for and refuses to answer past `most`,
    so that a limiter asking in a loop fails its permit instead of hanging the test."""

    def __init__(self, clock: FakeClock, most: int = 100) -> None:
        super().__init__(clock)
        self.most = most
        self.asked = 0

    async def lease_slot(self, key: str, *, capacity: int, lease: float) -> SlotLease | None:
        self.asked += 1
        if self.asked > self.most:
            raise AssertionError(f"asked for a slot {self.asked} times: the limiter spins")
        return await super().lease_slot(key, capacity=capacity, lease=lease)


async def test_a_permit_for_a_free_realm_goes_without_waiting() -> None:
    """With a slot free and room in the windows, a permit is granted at once: no time
    passes, and it asks the store for a slot once."""
    world = World()
    store = _CountedSlots(world.clock)
    permit = asyncio.ensure_future(grant_times(world, _limiter_on(world, store), 1))
    try:
        await world.clock.sleep(1.0)
        assert permit.done()
        assert permit.result() == [0.0]
    finally:
        permit.cancel()
    assert store.asked == 1


async def test_a_permit_refused_by_the_windows_sleeps_out_the_wait() -> None:
    """A permit the windows refuse gives its slot back and sleeps the wait they named,
    then asks once more: not once per poll, nor in a loop while its own release is fresh."""
    world = World(requests_per_second=1, requests_per_minute=60)
    store = _CountedSlots(world.clock)
    limiter = _limiter_on(world, store, window_margin=0.0)
    assert await grant_times(world, limiter, 2) == pytest.approx([0.0, 1.0], abs=EPSILON)
    assert store.asked == 4  # the first; the second's try, its try as the queue's head, after


async def test_a_permit_waiting_for_a_slot_asks_once_per_poll() -> None:
    """While every slot is held, the head of the queue asks the store once per poll
    interval (0.05 s) or release, sleeping in between, never in a busy loop."""
    world = World(max_concurrent_requests=1)
    store = _CountedSlots(world.clock)
    limiter = _limiter_on(world, store)
    holder = asyncio.ensure_future(grant_times(world, limiter, 1, hold=0.2))
    await world.clock.sleep(0.01)
    assert await grant_times(world, limiter, 1) == pytest.approx([0.2], abs=EPSILON)
    await holder
    # the holder's; the waiter's try, and its try at the head of the queue; its polls at
    # 0.06, 0.11 and 0.16 s; the one the release at 0.2 s wakes
    assert store.asked == 7


# -- events ---------------------------------------------------------------------------------


async def test_a_long_wait_is_reported() -> None:
    """A permit that waited more than a second emits `rate.waited` when it is granted;
    quick ones emit nothing."""
    world = World(requests_per_second=1, requests_per_minute=60)
    await grant_times(world, world.limiter(), 3)
    waited = world.sink.of_kind(events.RATE_WAITED)
    assert [event.attributes["waited"] for event in waited] == pytest.approx([2.0], abs=EPSILON)
    assert waited[0].realm_id == REALM
    assert waited[0].attributes["batch"] is False
    assert waited[0].at.timestamp() == pytest.approx(world.start + 2.0, abs=EPSILON)  # granted


async def test_repr_counts_waiting_permits() -> None:
    """`repr` shows how many realms and permits are waiting, nothing else."""
    world = World(requests_per_second=1, requests_per_minute=60)
    limiter = world.limiter()
    assert repr(limiter) == "RateLimiter(realms_waiting=0, permits_waiting=0)"
    task = asyncio.ensure_future(grant_times(world, limiter, 3))
    await world.clock.sleep(0.5)
    assert repr(limiter) == "RateLimiter(realms_waiting=1, permits_waiting=2)"
    await task
    assert repr(limiter) == "RateLimiter(realms_waiting=0, permits_waiting=0)"
