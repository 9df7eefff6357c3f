"""`SmartSyncService` against the in-process emulator, on a fake clock and memory adapters.

Upstream requests are counted from the emulator's own request log; waits are read off the
fake clock; what the limiter saw comes from the test's `CountingPermits`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from qbo_adapters.memory import FakeClock, MemoryCache
from qbo_core import events
from qbo_core.entities import (
    CompanyInfo,
    Customer,
    Invoice,
    RawEntity,
    Ref,
    SalesItemLine,
    SalesItemLineDetail,
)
from qbo_core.errors import (
    AccessTokenInvalidError,
    ConnectionLostError,
    DuplicateNameError,
    ObjectNotFoundError,
    ReadTimeoutError,
    ServerError,
    StaleObjectError,
    StoreUnavailableError,
    ThrottledError,
)
from qbo_core.http import Headers, HttpRequest, HttpResponse
from qbo_core.query import Field, Query
from qbo_core.results import BatchItem
from qbo_core.services.auth import QBOAuthService
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.retry import RetryPolicy
from qbo_core.services.smart_sync import (
    DEFAULT_CACHE_TTLS,
    Permits,
    ReadCoalescer,
    SmartSyncService,
    UnlimitedPermits,
)
from tests.core.sync_world import CountingPermits, SyncWorld, eventually

SEED = 7


def policy(**changes: Any) -> RetryPolicy:
    return RetryPolicy(rng=random.Random(SEED), **changes)


def expected_waits(count: int, **changes: Any) -> list[float]:
    waits = policy(**changes).waits()
    return [next(waits) for _ in range(count)]


@pytest.fixture
async def world() -> SyncWorld:
    world = SyncWorld()
    await world.connect()
    return world


async def a_customer(world: SyncWorld) -> Customer:
    page = await world.raw.query(await world.raw_auth(), Query.select(Customer).max_results(1))
    return page.items[0]


def fault(world: SyncWorld, effect: Any, *, path: str, method: str = "*", **trigger: Any) -> str:
    rule: dict[str, Any] = {"route": {"method": method, "path": path}, "effect": effect}
    if trigger:
        rule["trigger"] = trigger
    return world.emulator.control.add_fault(rule)


# --------------------------------------------------------------------- the seam


def test_the_shipped_and_test_limiters_are_permits() -> None:
    """`UnlimitedPermits` and the tests' counting limiter both satisfy the `Permits` seam."""
    clock = FakeClock()
    assert isinstance(UnlimitedPermits(clock), Permits)
    assert isinstance(CountingPermits(clock), Permits)


async def test_unlimited_permits_hold_a_realm_back_after_a_429_only() -> None:
    """Permits are immediate until `throttled`; then that realm waits Retry-After (or 60 s)
    on the clock, and other realms do not."""
    clock = FakeClock()
    permits = UnlimitedPermits(clock)
    start = clock.monotonic()
    async with permits.permit("1"):
        pass
    assert clock.monotonic() == start
    await permits.throttled("1", retry_after=None)
    async with permits.permit("2"):
        assert clock.monotonic() == start
    async with permits.permit("1"):
        assert clock.monotonic() == start + 60
    await permits.throttled("1", retry_after=7.5)
    async with permits.permit("1", batch=True):
        assert clock.monotonic() == start + 67.5


# --------------------------------------------------------------------- order of layers


class _RecordingCache(MemoryCache):
    def __init__(self, clock: FakeClock, trail: list[str]) -> None:
        super().__init__(clock)
        self.trail = trail

    async def get(self, realm_id: str, key: str) -> bytes | None:
        self.trail.append("cache.get")
        return await super().get(realm_id, key)

    async def set(self, realm_id: str, key: str, value: bytes, *, ttl: float) -> None:
        self.trail.append("cache.set")
        await super().set(realm_id, key, value, ttl=ttl)

    async def invalidate_realm(self, realm_id: str) -> None:
        self.trail.append("cache.invalidate")
        await super().invalidate_realm(realm_id)


class _RecordingPermits(CountingPermits):
    def __init__(self, clock: FakeClock, trail: list[str]) -> None:
        super().__init__(clock)
        self.trail = trail

    @contextlib.asynccontextmanager
    async def permit(self, realm_id: str, *, batch: bool = False) -> AsyncIterator[None]:
        self.trail.append("permit")
        async with super().permit(realm_id, batch=batch):
            yield
        self.trail.append("release")


class _RecordingAuth(QBOAuthService):
    trail: list[str] = []

    async def access_token(self, realm_id: str, *, rejected: str | None = None) -> str:
        self.trail.append("token")
        return await super().access_token(realm_id, rejected=rejected)


async def test_one_call_goes_cache_then_token_then_limiter_then_qbo(world: SyncWorld) -> None:
    """A read miss asks the cache, then reads a token, then takes a permit, then calls QBO
    and stores the answer after releasing the permit; a hit stops at the cache; a write
    skips the lookup and drops the realm's cache afterwards."""
    customer = await a_customer(world)
    trail: list[str] = []

    def record(request: HttpRequest) -> None:
        trail.append("send")

    auth = world.auth_service(_RecordingAuth)
    assert isinstance(auth, _RecordingAuth)
    auth.trail = trail
    sync = world.sync(
        auth=auth,
        cache=_RecordingCache(world.clock, trail),
        limiter=_RecordingPermits(world.clock, trail),
        raw_client=world.through(record),
    )
    await sync.read(Customer, customer.id or "")
    assert trail == ["cache.get", "token", "permit", "send", "release", "cache.set"]
    trail.clear()
    await sync.read(Customer, customer.id or "")
    assert trail == ["cache.get"]
    trail.clear()
    await sync.sparse_update(Customer, customer.id or "", customer.sync_token or "", {"Notes": "x"})
    assert trail == ["token", "permit", "send", "release", "cache.invalidate"]


class _TurnMarkingPermits(_RecordingPermits):
    """Marks the next turn of the event loop once the permit is granted."""

    @contextlib.asynccontextmanager
    async def permit(self, realm_id: str, *, batch: bool = False) -> AsyncIterator[None]:
        async with super().permit(realm_id, batch=batch):
            asyncio.get_running_loop().call_soon(self.trail.append, "next turn")
            yield


async def test_the_request_goes_out_in_the_turn_its_permit_was_granted(
    world: SyncWorld,
) -> None:
    """Nothing is awaited between the grant and the send: QBO counts a request when it
    arrives, the limiter when it grants, and any suspension in between lets other work
    delay the request past the windows' margin (a 429 where the windows had room)."""
    customer = await a_customer(world)
    trail: list[str] = []
    auth = world.auth_service(_RecordingAuth)
    assert isinstance(auth, _RecordingAuth)
    auth.trail = trail
    sync = world.sync(
        auth=auth,
        limiter=_TurnMarkingPermits(world.clock, trail),
        raw_client=world.through(lambda request: trail.append("send")),
        cache_ttls={"Customer": 0},
    )
    await sync.read(Customer, customer.id or "")
    assert trail[:4] == ["token", "permit", "send", "next turn"]


class _SlowPermits(_RecordingPermits):
    """Grants after `wait` seconds of the fake clock."""

    wait = 0.0

    @contextlib.asynccontextmanager
    async def permit(self, realm_id: str, *, batch: bool = False) -> AsyncIterator[None]:
        await self._clock.sleep(self.wait)
        async with super().permit(realm_id, batch=batch):
            yield


async def test_a_permit_slower_than_half_the_refresh_margin_reads_the_token_again(
    world: SyncWorld,
) -> None:
    """The token read before a permit may have aged while the permit waited: after more
    than half of `refresh_margin` (150 s by default) it is read again inside the permit;
    after less, or exactly half, it is not."""
    customer = await a_customer(world)
    trail: list[str] = []
    auth = world.auth_service(_RecordingAuth)
    assert isinstance(auth, _RecordingAuth)
    auth.trail = trail
    permits = _SlowPermits(world.clock, trail)
    sync = world.sync(
        auth=auth,
        limiter=permits,
        raw_client=world.through(lambda request: trail.append("send")),
        cache_ttls={"Customer": 0},
    )
    permits.wait = 149.0
    await sync.read(Customer, customer.id or "")
    assert trail == ["token", "permit", "send", "release"]
    trail.clear()
    permits.wait = 150.0  # exactly half: not yet older than the margin allows
    await sync.read(Customer, customer.id or "")
    assert trail == ["token", "permit", "send", "release"]
    trail.clear()
    permits.wait = 151.0
    await sync.read(Customer, customer.id or "")
    assert trail == ["token", "permit", "token", "send", "release"]


# --------------------------------------------------------------------- de-duplication


async def test_a_thousand_identical_concurrent_reads_send_one_request(world: SyncWorld) -> None:
    """1,000 concurrent reads of one customer cause one upstream request; every caller gets
    the same customer, 999 are reported as coalesced, and one permit was taken. (The read
    is slow, so that it is still in flight when the others come, as a network read is.)"""
    customer = await a_customer(world)
    sync = world.sync()
    fault(world, {"kind": "latency", "latency": 1}, path="/v3/company/*/customer/*", next=1)
    before = len(world.data_requests(f"/customer/{customer.id}"))
    results = await asyncio.gather(*(sync.read(Customer, customer.id or "") for _ in range(1000)))
    assert len(world.data_requests(f"/customer/{customer.id}")) - before == 1
    assert {result.id for result in results} == {customer.id}
    coalesced = world.events.of_kind(events.CACHE_COALESCED)
    assert len(coalesced) == 999
    assert all(event.attributes == {"operation": "read Customer"} for event in coalesced)
    assert world.permits.granted == 1


async def test_identical_queries_coalesce_across_services_sharing_a_coalescer(
    world: SyncWorld,
) -> None:
    """Two service instances (one per request, as a host makes them) with the process's
    coalescer share one in-flight query; without caching, a later query is sent again."""
    ttls = {"Customer": 0.0}
    first, second = world.sync(cache_ttls=ttls), world.sync(cache_ttls=ttls)
    statement = Query.select(Customer).where(Field("Active") == True).max_results(5)  # noqa: E712
    fault(world, {"kind": "latency", "latency": 1}, path="/v3/company/*/query", next=1)
    before = len(world.data_requests("/query"))
    a, b = await asyncio.gather(first.query(statement), second.query(statement))
    assert a == b
    assert len(world.data_requests("/query")) - before == 1
    await first.query(statement)
    assert len(world.data_requests("/query")) - before == 2


async def test_a_read_after_a_write_never_joins_a_read_from_before_it(world: SyncWorld) -> None:
    """A read in flight when a write starts is not joined by a read made after the write
    ended, and its (possibly older) answer is not cached."""
    customer = await a_customer(world)
    fault(
        world,
        {"kind": "latency", "latency": 5},
        path=f"/v3/company/*/customer/{customer.id}",
        method="GET",
        next=1,
    )
    sync = world.sync()
    early = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    await eventually(lambda: world.permits.in_flight == 1)
    updated = await sync.sparse_update(
        Customer, customer.id or "", customer.sync_token or "", {"Notes": "after"}
    )
    late = await sync.read(Customer, customer.id or "")
    assert late.sync_token == updated.sync_token
    await early
    assert (await sync.read(Customer, customer.id or "")).sync_token == updated.sync_token


# --------------------------------------------------------------------- retries


RETRYABLE_FAULTS = [
    {"kind": "status", "status": 503},
    {"kind": "html"},
    {"kind": "xml"},
    {"kind": "refuse"},
    {"kind": "reset"},
    {"kind": "timeout"},
    {"kind": "truncate"},
]


@pytest.mark.parametrize("effect", RETRYABLE_FAULTS, ids=lambda e: str(e["kind"]))
async def test_each_retryable_fault_is_retried_after_the_policys_waits(
    world: SyncWorld, effect: dict[str, Any]
) -> None:
    """Two injected faults of each kind on a read: the third attempt answers; the waits
    between attempts are the policy's (seeded), slept on the fake clock, and reported."""
    customer = await a_customer(world)
    fault(world, effect, path=f"/v3/company/*/customer/{customer.id}", next=2)
    sync = world.sync(retry=policy())
    started = world.clock.monotonic()
    found = await sync.read(Customer, customer.id or "")
    assert found.id == customer.id
    waits = expected_waits(2)
    assert world.clock.monotonic() - started == pytest.approx(sum(waits))
    retries = world.events.of_kind(events.HTTP_RETRY)
    assert [event.attributes["attempt"] for event in retries] == [1, 2]
    assert [event.attributes["wait"] for event in retries] == pytest.approx(waits)
    assert world.permits.granted == 3


async def test_a_create_that_timed_out_after_it_was_applied_is_retried_into_one_record(
    world: SyncWorld,
) -> None:
    """The emulator applies the create and then drops the answer: the retry carries the same
    requestid, QBO replays the first answer, and exactly one customer exists."""
    fault(world, "timeout", path="/v3/company/*/customer", method="POST", next=1)
    sync = world.sync(retry=policy())
    created = await sync.create(Customer(display_name="Exactly Once Ltd"))
    posts = world.data_requests("/customer")
    posts = [entry for entry in posts if entry.method == "POST"]
    assert len(posts) == 2
    ids = {entry.query for entry in posts}
    assert len(ids) == 1
    assert "requestid=" in next(iter(ids))
    count = await world.raw.count(
        await world.raw_auth(),
        Query.count(Customer).where(Field("DisplayName") == "Exactly Once Ltd"),
    )
    assert count == 1
    assert created.id is not None


async def test_each_write_gets_its_own_requestid(world: SyncWorld) -> None:
    """Two logical writes carry two different requestids; a caller's own is used as given."""
    sync = world.sync()
    await sync.create(Customer(display_name="First Ltd"))
    await sync.create(Customer(display_name="Second Ltd"), request_id="host-key-1")
    queries = [e.query for e in world.data_requests("/customer") if e.method == "POST"]
    assert len(set(queries)) == 2
    assert any("requestid=host-key-1" in query for query in queries)


async def test_validation_errors_are_never_retried(world: SyncWorld) -> None:
    """A duplicate name (6240) and a stale SyncToken (5010) are raised after one attempt."""
    customer = await a_customer(world)
    sync = world.sync(retry=policy())
    with pytest.raises(DuplicateNameError) as duplicate:
        await sync.create(Customer(display_name=customer.display_name))
    assert duplicate.value.attempts == 1
    await sync.sparse_update(Customer, customer.id or "", customer.sync_token or "", {"Notes": "1"})
    with pytest.raises(StaleObjectError) as stale:
        await sync.sparse_update(
            Customer, customer.id or "", customer.sync_token or "", {"Notes": "2"}
        )
    assert stale.value.attempts == 1
    assert stale.value.operation == "sparse_update Customer"
    assert world.events.of_kind(events.HTTP_RETRY) == []


async def test_a_refused_access_token_is_refreshed_once_and_the_call_retried(
    world: SyncWorld,
) -> None:
    """QBO expires the access token early: the 401 leads to one refresh (though the token
    looks fresh locally) and one retry, which succeeds."""
    customer = await a_customer(world)
    world.emulator.control.expire_tokens("access", realm_id=world.realm)
    before = world.token_calls()
    found = await world.sync().read(Customer, customer.id or "")
    assert found.id == customer.id
    assert world.token_calls() - before == 1
    statuses = [e.status for e in world.data_requests(f"/customer/{customer.id}")]
    assert statuses[-2:] == [401, 200]


async def test_a_second_401_is_not_refreshed_again(world: SyncWorld) -> None:
    """When QBO refuses the refreshed token too, the 401 is raised after two attempts and
    one refresh."""
    customer = await a_customer(world)
    body = (
        b'{"fault":{"error":[{"message":"message=AuthenticationFailed; errorCode=003200; '
        b'statusCode=401","detail":"Token expired","code":"3200"}],"type":"AUTHENTICATION"}}'
    )

    def refuse(request: HttpRequest) -> HttpResponse | None:
        if "/v3/company/" not in request.url:
            return None
        return HttpResponse(status=401, headers=Headers([("intuit_tid", "tid-401")]), body=body)

    before = world.token_calls()
    with pytest.raises(AccessTokenInvalidError) as caught:
        await world.sync(raw_client=world.through(refuse)).read(Customer, customer.id or "")
    assert caught.value.attempts == 2
    assert caught.value.intuit_tid == "tid-401"
    assert world.token_calls() - before == 1


async def test_a_429_tells_the_limiter_and_the_retry_waits_for_retry_after() -> None:
    """The emulator throttles (2 a second, Retry-After 5): the throttled read reports the
    429 to the limiter with Retry-After, the limiter holds the realm back, and the retry
    succeeds 5 s later; no read fails."""
    world = SyncWorld(throttle=True, requests_per_second=2, retry_after=5.0)
    await world.connect()
    auth = await world.raw_auth()
    page = await world.raw.query(auth, Query.select(Customer).max_results(3))
    world.clock.advance(2)
    sync = world.sync(retry=policy())
    started = world.clock.monotonic()
    found = await asyncio.gather(*(sync.read(Customer, c.id or "") for c in page.items))
    assert [c.id for c in found] == [c.id for c in page.items]
    assert [(realm, wait) for realm, wait, _ in world.permits.throttles] == [(world.realm, 5.0)]
    assert world.clock.monotonic() - started == pytest.approx(5.0)
    assert 429 in [e.status for e in world.data_requests("/customer/")]
    throttled = world.events.of_kind(events.RATE_THROTTLED)
    assert [e.attributes["retry_after"] for e in throttled] == [5.0]


async def test_a_final_failure_names_the_realm_the_operation_and_the_last_answer(
    world: SyncWorld,
) -> None:
    """QBO answers 503 every time: after `max_attempts` the `ServerError` carries the realm,
    the operation, the attempts, and the last answer's status and intuit_tid; no token."""
    customer = await a_customer(world)
    fault(world, {"kind": "status", "status": 503}, path="/v3/company/*/customer/*")
    with pytest.raises(ServerError) as caught:
        await world.sync(retry=policy(max_attempts=3)).read(Customer, customer.id or "")
    error = caught.value
    last = world.data_requests(f"/customer/{customer.id}")[-1]
    assert (error.realm_id, error.operation, error.attempts) == (
        world.realm,
        "read Customer",
        3,
    )
    assert (error.status, error.intuit_tid) == (503, last.tid)
    text = str(error)
    for part in (world.realm, "read Customer", "503", last.tid):
        assert part in text
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    assert stored.tokens.access_token not in text


async def test_the_time_budget_stops_retries_before_a_wait_would_pass_it(world: SyncWorld) -> None:
    """With `max_elapsed` shorter than the second wait, the error is raised after the first
    retry, without sleeping past the budget."""
    customer = await a_customer(world)
    fault(world, "reset", path="/v3/company/*/customer/*")
    waits = expected_waits(2)
    budget = waits[0] + waits[1] / 2
    started = world.clock.monotonic()
    with pytest.raises(ConnectionLostError) as caught:
        await world.sync(retry=policy(max_elapsed=budget)).read(Customer, customer.id or "")
    assert caught.value.attempts == 2
    assert world.clock.monotonic() - started <= budget


async def test_a_write_without_a_requestid_is_not_retried_after_an_ambiguous_failure(
    world: SyncWorld,
) -> None:
    """A batch whose bIds are too long for a requestid goes without one; when its answer is
    lost it is not sent again (it may have been applied)."""
    fault(world, "timeout", path="/v3/company/*/batch", next=1)
    items = [BatchItem.create("a-long-batch-id", Customer(display_name="Batch Once Ltd"))]
    with pytest.raises(ReadTimeoutError) as caught:
        await world.sync(retry=policy()).batch(items)
    assert caught.value.attempts == 1
    assert len(world.data_requests("/batch")) == 1
    assert "requestid" not in world.data_requests("/batch")[0].query


async def test_a_batch_with_short_bids_is_retried_with_one_requestid(world: SyncWorld) -> None:
    """A batch write gets a requestid: after a timeout-after-apply, the retry replays it and
    the customer exists once."""
    fault(world, "timeout", path="/v3/company/*/batch", next=1)
    items = [BatchItem.create("b1", Customer(display_name="Batch Exactly Once"))]
    results = await world.sync(retry=policy()).batch(items)
    assert results[0].ok
    batches = world.data_requests("/batch")
    assert len(batches) == 2
    assert batches[0].query == batches[1].query
    assert "requestid=" in batches[0].query
    assert world.permits.batch_granted == 2
    count = await world.raw.count(
        await world.raw_auth(),
        Query.count(Customer).where(Field("DisplayName") == "Batch Exactly Once"),
    )
    assert count == 1


# --------------------------------------------------------------------- cache


async def test_reads_are_cached_until_their_ttl_passes(world: SyncWorld) -> None:
    """A second read is a hit with no request; once the Customer TTL has passed on the
    clock, it is a miss and goes to QBO again."""
    customer = await a_customer(world)
    sync = world.sync()
    path = f"/customer/{customer.id}"
    before = len(world.data_requests(path))
    await sync.read(Customer, customer.id or "")
    again = await sync.read(Customer, customer.id or "")
    assert again == customer
    assert len(world.data_requests(path)) - before == 1
    assert len(world.events.of_kind(events.CACHE_HIT)) == 1
    world.clock.advance(DEFAULT_CACHE_TTLS["Customer"])
    await sync.read(Customer, customer.id or "")
    assert len(world.data_requests(path)) - before == 2
    assert len(world.events.of_kind(events.CACHE_MISS)) == 2


async def test_invalidate_drops_the_cache_and_a_read_in_flight_is_not_cached(
    world: SyncWorld,
) -> None:
    """After `invalidate()` the next read goes to QBO; a read in flight while it ran is
    answered but not cached, since it may predate the change that caused it."""
    customer = await a_customer(world)
    sync = world.sync()
    path = f"/customer/{customer.id}"
    before = len(world.data_requests(path))
    await sync.read(Customer, customer.id or "")
    await sync.invalidate()
    await sync.read(Customer, customer.id or "")
    assert len(world.data_requests(path)) - before == 2
    await sync.invalidate()
    fault(
        world,
        {"kind": "latency", "latency": 5},
        path=f"/v3/company/*/customer/{customer.id}",
        method="GET",
        next=1,
    )
    early = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    await eventually(lambda: world.permits.in_flight == 1)
    await sync.invalidate()
    await early
    await sync.read(Customer, customer.id or "")
    assert len(world.data_requests(path)) - before == 4


async def test_a_cached_answer_is_the_same_typed_value(world: SyncWorld) -> None:
    """Pages, counts, company info, reports and name-form reads come back from the cache
    equal to the fresh answers, typed the same way."""
    sync = world.sync()
    statement = Query.select(Customer).max_results(3)
    fresh = (
        await sync.query(statement),
        await sync.count(Query.count(Invoice)),
        await sync.company_info(),
        await sync.report("ProfitAndLoss", {"start_date": "2025-01-01"}),
    )
    customer = fresh[0].items[0]
    by_name = await sync.read("Customer", customer.id or "")
    sent = len(world.data_requests())
    cached = (
        await sync.query(statement),
        await sync.count(Query.count(Invoice)),
        await sync.company_info(),
        await sync.report("ProfitAndLoss", {"start_date": "2025-01-01"}),
    )
    assert len(world.data_requests()) == sent
    assert cached[0] == fresh[0]
    assert all(type(item) is Customer for item in cached[0].items)
    assert cached[1] == fresh[1]
    assert type(cached[2]) is CompanyInfo
    assert cached[2] == fresh[2]
    assert cached[3].rows == fresh[3].rows
    assert by_name == customer
    assert await sync.read("Customer", customer.id or "") == customer


async def test_a_write_drops_every_cached_read_of_the_realm(world: SyncWorld) -> None:
    """After an update, the entity's read, queries, counts, reports and company info are all
    fetched again (a write can change balances and names anywhere in the books)."""
    sync = world.sync()
    customer = await a_customer(world)
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: sync.read(Customer, customer.id or ""),
        lambda: sync.query(Query.select(Customer).max_results(2)),
        lambda: sync.count(Query.count(Customer)),
        lambda: sync.report("ProfitAndLoss"),
        lambda: sync.company_info(),
    ]
    for call in calls:
        await call()
    sent = len(world.data_requests())
    for call in calls:
        await call()
    assert len(world.data_requests()) == sent
    await sync.sparse_update(Customer, customer.id or "", customer.sync_token or "", {"Notes": "n"})
    sent = len(world.data_requests())
    for call in calls:
        await call()
    assert len(world.data_requests()) == sent + len(calls)
    assert (await sync.read(Customer, customer.id or "")).sync_token != customer.sync_token


async def test_a_zero_ttl_turns_caching_off_for_a_type(world: SyncWorld) -> None:
    """`cache_ttls={"Customer": 0}`: every read of a customer goes to QBO."""
    customer = await a_customer(world)
    sync = world.sync(cache_ttls={"Customer": 0})
    assert sync.cache_ttl("Customer") == 0
    before = len(world.data_requests())
    await sync.read(Customer, customer.id or "")
    await sync.read(Customer, customer.id or "")
    assert len(world.data_requests()) - before == 2


def test_ttls_must_be_seconds(world: SyncWorld) -> None:
    """A negative, infinite or non-numeric TTL is refused when the service is made."""
    for bad in (-1.0, float("inf"), "60"):
        with pytest.raises(ValueError, match="cache_ttls"):
            world.sync(cache_ttls={"Customer": bad})


class _BrokenCache:
    """A cache whose backend is down: every operation raises `StoreUnavailableError`."""

    async def ping(self) -> None:
        raise StoreUnavailableError("redis is down", backend="redis")

    async def get(self, realm_id: str, key: str) -> bytes | None:
        raise StoreUnavailableError("redis is down", backend="redis")

    async def set(self, realm_id: str, key: str, value: bytes, *, ttl: float) -> None:
        raise StoreUnavailableError("redis is down", backend="redis")

    async def delete(self, realm_id: str, key: str) -> bool:
        raise StoreUnavailableError("redis is down", backend="redis")

    async def invalidate_realm(self, realm_id: str) -> None:
        raise StoreUnavailableError("redis is down", backend="redis")


async def test_a_failing_cache_degrades_to_misses_and_is_reported(world: SyncWorld) -> None:
    """With the cache backend down, reads and writes still succeed (from QBO); each cache
    failure is a `cache.error` event naming the action."""
    customer = await a_customer(world)
    sync = world.sync(cache=_BrokenCache())
    assert (await sync.read(Customer, customer.id or "")).id == customer.id
    await sync.sparse_update(Customer, customer.id or "", customer.sync_token or "", {"Notes": "b"})
    actions = [e.attributes["action"] for e in world.events.of_kind(events.CACHE_ERROR)]
    assert actions == ["get", "set", "invalidate"]


async def test_an_unreadable_cache_entry_is_a_miss(world: SyncWorld) -> None:
    """Bytes in the cache that are not what smart sync wrote are ignored and replaced."""
    customer = await a_customer(world)
    await world.cache.set(world.realm, f"sync1:read:Customer:{customer.id}", b"{nope", ttl=60)
    sync = world.sync()
    assert (await sync.read(Customer, customer.id or "")).id == customer.id
    assert [e.attributes["action"] for e in world.events.of_kind(events.CACHE_ERROR)] == ["load"]
    assert (await sync.read(Customer, customer.id or "")).id == customer.id
    assert len(world.events.of_kind(events.CACHE_HIT)) == 1


# --------------------------------------------------------------------- cancellation


async def test_a_cancelled_caller_releases_its_permit_and_leaves_no_task(world: SyncWorld) -> None:
    """Cancelling the only caller of a slow read releases its permit and cancels the shared
    call: nothing stays in flight."""
    customer = await a_customer(world)
    fault(world, {"kind": "latency", "latency": 30}, path="/v3/company/*/customer/*", next=1)
    task = asyncio.ensure_future(world.sync().read(Customer, customer.id or ""))
    await eventually(lambda: world.permits.in_flight == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: world.permits.in_flight == 0 and world.coalescer.in_flight() == 0)


async def test_a_cancelled_joined_caller_does_not_cancel_the_shared_read(world: SyncWorld) -> None:
    """Two callers share a slow read; cancelling the one that joined it leaves the read
    running for the first, which gets its answer from the same single request."""
    customer = await a_customer(world)
    fault(world, {"kind": "latency", "latency": 30}, path="/v3/company/*/customer/*", next=1)
    sync = world.sync()
    before = len(world.data_requests(f"/customer/{customer.id}"))
    first = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    second = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    await eventually(lambda: world.permits.in_flight == 1)
    await eventually(lambda: len(world.events.of_kind(events.CACHE_COALESCED)) == 1)
    second.cancel()
    assert (await first).id == customer.id
    assert second.cancelled()
    assert len(world.data_requests(f"/customer/{customer.id}")) - before == 1
    assert world.permits.in_flight == 0
    assert world.coalescer.in_flight() == 0


async def test_cancelling_the_caller_running_a_shared_read_restarts_it_for_the_others(
    world: SyncWorld,
) -> None:
    """The first caller runs the shared read itself; when it is cancelled, its read goes
    with it (its permit released), and the callers that had joined get their answer from
    the read the first of them runs again, the others staying joined: two requests."""
    customer = await a_customer(world)
    fault(world, {"kind": "latency", "latency": 30}, path="/v3/company/*/customer/*", next=1)
    sync = world.sync()
    before = len(world.data_requests(f"/customer/{customer.id}"))
    first = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    await eventually(lambda: world.permits.in_flight == 1)
    others = [asyncio.ensure_future(sync.read(Customer, customer.id or "")) for _ in range(3)]
    await eventually(lambda: len(world.events.of_kind(events.CACHE_COALESCED)) == 3)
    first.cancel()
    answers = await asyncio.gather(*others)
    assert first.cancelled()
    assert {answer.id for answer in answers} == {customer.id}
    assert len(world.data_requests(f"/customer/{customer.id}")) - before == 2
    assert len(world.events.of_kind(events.CACHE_COALESCED)) == 3  # no one joined twice
    assert world.permits.in_flight == 0
    assert world.coalescer.in_flight() == 0


async def test_a_caller_chosen_to_run_a_read_again_and_cancelled_passes_it_on(
    world: SyncWorld,
) -> None:
    """When the runner is cancelled and so is, before it could start, the joined caller
    chosen to run the read again, the next joined caller runs it: nobody is left waiting."""
    customer = await a_customer(world)
    fault(world, {"kind": "latency", "latency": 30}, path="/v3/company/*/customer/*", next=1)
    sync = world.sync()
    first = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    await eventually(lambda: world.permits.in_flight == 1)
    chosen, last = (asyncio.ensure_future(sync.read(Customer, customer.id or "")) for _ in "ab")
    await eventually(lambda: len(world.events.of_kind(events.CACHE_COALESCED)) == 2)
    first.cancel()
    # Runs in the same turn as the runner's cancellation, after it chose `chosen`.
    asyncio.get_running_loop().call_soon(chosen.cancel)
    await eventually(last.done)  # fails, not hangs, if the read was never run again
    assert last.result().id == customer.id
    with pytest.raises(asyncio.CancelledError):
        await chosen
    assert world.permits.in_flight == 0
    assert world.coalescer.in_flight() == 0


async def test_a_cancelled_write_releases_its_permit(world: SyncWorld) -> None:
    """A write cancelled while its request is in flight releases its permit and still
    drops the realm's cache (it may have been applied)."""
    fault(world, {"kind": "latency", "latency": 30}, path="/v3/company/*/customer", next=1)
    await world.cache.set(world.realm, "sync1:company_info", b"{}", ttl=600)
    task = asyncio.ensure_future(world.sync().create(Customer(display_name="Cancelled Co")))
    await eventually(lambda: world.permits.in_flight == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert world.permits.in_flight == 0
    assert await world.cache.get(world.realm, "sync1:company_info") is None


# --------------------------------------------------------------------- retry policy


def test_the_policys_waits_are_full_jitter_under_exponential_ceilings() -> None:
    """Ceilings double from `base` up to `cap`; each wait is drawn in [0, ceiling], and a
    seeded policy draws the same waits every time."""
    ceilings = RetryPolicy(base=0.5, factor=2, cap=4).ceilings()
    assert [next(ceilings) for _ in range(6)] == [0.5, 1, 2, 4, 4, 4]
    waits = policy(cap=4).waits()
    drawn = [next(waits) for _ in range(50)]
    bounds = [min(4.0, 0.5 * 2**n) for n in range(50)]
    assert all(0 <= wait <= bound for wait, bound in zip(drawn, bounds, strict=True))
    assert drawn[:5] == expected_waits(5, cap=4)
    assert len(set(drawn)) > 40


@pytest.mark.parametrize(
    "changes",
    [{"max_attempts": 0}, {"max_elapsed": 0}, {"base": -1}, {"factor": 0.5}, {"cap": float("nan")}],
)
def test_a_nonsensical_policy_is_refused(changes: dict[str, Any]) -> None:
    """Zero attempts, a non-positive time, a shrinking factor or NaN are `ValueError`s."""
    with pytest.raises(ValueError, match="must be"):
        RetryPolicy(**changes)


class _TopOfRange(random.Random):
    """A `Random` whose `uniform` draws the top of its range: waits equal their ceilings."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_factor_sets_how_fast_the_waits_grow() -> None:
    """Each ceiling is `factor` times the one before, in `ceilings` and in the waits drawn
    under them (a draw at the top of its range equals its ceiling)."""
    assert list(itertools.islice(RetryPolicy(base=0.5, factor=3, cap=100).ceilings(), 5)) == [
        0.5,
        1.5,
        4.5,
        13.5,
        40.5,
    ]
    top = RetryPolicy(base=0.5, factor=3, cap=20, rng=_TopOfRange())
    assert list(itertools.islice(top.waits(), 5)) == [0.5, 1.5, 4.5, 13.5, 20]


def test_a_factor_of_one_keeps_every_wait_under_the_base() -> None:
    """`factor=1` is allowed: the ceiling stays at `base` for every retry."""
    assert list(itertools.islice(RetryPolicy(base=2, factor=1).ceilings(), 4)) == [2, 2, 2, 2]


def test_without_an_rng_the_waits_are_drawn_with_full_jitter() -> None:
    """With no `rng`, waits come from `backoff.full_jitter` on the `random` module: each
    within [0, its ceiling], and not all the same."""
    waits = RetryPolicy(base=0.5, factor=2, cap=4).waits()
    drawn = [next(waits) for _ in range(50)]
    bounds = [min(4.0, 0.5 * 2**n) for n in range(50)]
    assert all(0 <= wait <= bound for wait, bound in zip(drawn, bounds, strict=True))
    assert len(set(drawn)) > 40


def test_one_attempt_is_a_valid_policy() -> None:
    """`max_attempts=1` (send once, never retry) is accepted."""
    assert RetryPolicy(max_attempts=1).max_attempts == 1


@pytest.mark.parametrize("attempts", [True, 2.0, "3"])
def test_max_attempts_must_be_a_whole_number(attempts: object) -> None:
    """A bool, a float or a string for `max_attempts` is refused, the field and the value
    named, even when it would pass as a number >= 1."""
    message = f"max_attempts must be a whole number >= 1, got {attempts!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        RetryPolicy(max_attempts=attempts)  # type: ignore[arg-type]


def test_a_service_needs_a_business_and_a_numeric_realm(world: SyncWorld) -> None:
    """An empty business id or a realm that is not a QBO company id is refused."""
    with pytest.raises(ValueError, match="realm_id"):
        world.sync(realm_id="abc")
    with pytest.raises(ValueError, match="business_id"):
        SmartSyncService(
            "",
            world.realm,
            raw_client=world.raw,
            auth=world.auth,
            limiter=world.permits,
            cache=world.cache,
            clock=world.clock,
            events=world.events,
            config=world.config,
        )


def test_each_service_without_a_coalescer_has_its_own(world: SyncWorld) -> None:
    """The default coalescer is private to the instance; the container shares one."""
    assert isinstance(ReadCoalescer(), ReadCoalescer)
    assert world.sync(coalescer=None)._coalescer is not world.sync(coalescer=None)._coalescer


async def test_a_query_only_batch_spends_the_batch_budget(world: SyncWorld) -> None:
    """A batch of queries is still a batch request to QBO: its permit is a batch permit."""
    items = [BatchItem.select("q1", Query.select(Customer).max_results(1))]
    results = await world.sync().batch(items)
    assert results[0].ok
    assert world.permits.batch_granted == 1


# --------------------------------------------------------------------- streams, sync, batches


async def test_query_all_streams_every_row_through_the_service(world: SyncWorld) -> None:
    """`query_all` pages through the resilient `query` (one permit per page) and yields
    every customer, typed."""
    sync = world.sync()
    total = await sync.count(Query.count(Customer))
    seen = [customer async for customer in sync.query_all(Query.select(Customer), page_size=7)]
    assert len(seen) == total > 7
    assert all(isinstance(customer, Customer) for customer in seen)
    assert len({customer.id for customer in seen}) == total
    pages = [page async for page in sync.query_pages(Query.select(Customer), page_size=7)]
    assert sum(len(page) for page in pages) == total


async def test_changes_since_through_the_service_sees_a_new_customer(world: SyncWorld) -> None:
    """A first call reads everything and gives a cursor; after a create, the next call
    (inside CDC's window) reports exactly the new customer."""
    sync = world.sync()
    first = await sync.changes_since([Customer], None)
    assert first.full_types == ("Customer",)
    created = await sync.create(Customer(display_name="Delta Since Ltd"))
    world.clock.advance(60)
    second = await sync.changes_since([Customer], first.cursor)
    assert [entity.id for entity in second.upserts] == [created.id]
    assert second.deletions == ()


async def test_write_batch_through_the_service_uses_batch_permits(world: SyncWorld) -> None:
    """35 creates go as two batch requests (30 + 5), each on a batch permit, results in order."""
    sync = world.sync()
    items = [
        BatchItem.create("", Customer(display_name=f"Batched Customer {index}"))
        for index in range(35)
    ]
    results = await sync.write_batch(items)
    assert [result.ok for result in results] == [True] * 35
    assert world.permits.batch_granted == 2
    assert len(world.data_requests("/batch")) == 2


# --------------------------------------------------------------------- every write


class _FirstFails:
    """A door (`SyncWorld.through`) that answers the first `failures` data requests to a
    path with `path_part` with `answer` (by default a 503: QBO applied nothing) and lets
    the rest through, keeping every data request to that path it saw."""

    def __init__(
        self, path_part: str, *, failures: int = 1, answer: HttpResponse | None = None
    ) -> None:
        self.path_part = path_part
        self.failures = failures
        self.answer = answer or HttpResponse(
            status=503, headers=Headers([("intuit_tid", "tid-503")]), body=b""
        )
        self.seen: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpResponse | None:
        if "/v3/company/" not in request.url or self.path_part not in request.url:
            return None
        self.seen.append(request)
        return None if len(self.seen) > self.failures else self.answer

    def request_ids(self) -> list[str | None]:
        found = [re.search(r"[?&]requestid=([^&]+)", request.url) for request in self.seen]
        return [match[1] if match else None for match in found]


async def _new_invoice(world: SyncWorld) -> Invoice:
    """A fresh invoice of a fresh customer, made through the raw client."""
    auth = await world.raw_auth()
    item = (await world.raw.query(auth, Query.select("Item").max_results(1))).items[0]
    customer = await world.raw.create(auth, Customer(display_name="Invoiced For Writes"))
    return await world.raw.create(
        auth,
        Invoice(
            customer_ref=Ref(value=str(customer.id)),
            line=(
                SalesItemLine(
                    amount=Decimal("10.00"),
                    detail=SalesItemLineDetail(item_ref=Ref(value=str(item.id))),
                ),
            ),
        ),
    )


#: One call of each write of the service: (the operation it names, the path its requests
#: go to, the call given the service, a customer and a fresh invoice, and a request id).
WRITES: list[tuple[str, str, Callable[..., Awaitable[object]]]] = [
    (
        "create Customer",
        "/customer",
        lambda sync, customer, invoice, rid: sync.create(
            Customer(display_name="Written Once Ltd"), request_id=rid
        ),
    ),
    (
        "update Customer",
        "/customer",
        lambda sync, customer, invoice, rid: sync.update(
            attrs.evolve(customer, notes="full update"), request_id=rid
        ),
    ),
    (
        "sparse_update Customer",
        "/customer",
        lambda sync, customer, invoice, rid: sync.sparse_update(
            Customer, customer.id, customer.sync_token, {"Notes": "sparse"}, request_id=rid
        ),
    ),
    (
        "delete Invoice",
        "/invoice",
        lambda sync, customer, invoice, rid: sync.delete(
            Invoice, invoice.id, invoice.sync_token, request_id=rid
        ),
    ),
    (
        "void Invoice",
        "/invoice",
        lambda sync, customer, invoice, rid: sync.void(
            Invoice, invoice.id, invoice.sync_token, request_id=rid
        ),
    ),
    (
        "upload",
        "/upload",
        lambda sync, customer, invoice, rid: sync.upload(
            [({"FileName": "note.txt", "ContentType": "text/plain"}, b"hello")], request_id=rid
        ),
    ),
    (
        "batch",
        "/batch",
        lambda sync, customer, invoice, rid: sync.batch(
            [BatchItem.create("b1", Customer(display_name="Batched Once Ltd"))], request_id=rid
        ),
    ),
]


@pytest.mark.parametrize(("operation", "path", "call"), WRITES, ids=[w[0] for w in WRITES])
@pytest.mark.parametrize("given", [None, "host-key-7"], ids=["generated", "given"])
async def test_every_write_sends_one_requestid_with_every_attempt(
    world: SyncWorld,
    operation: str,
    path: str,
    call: Callable[..., Awaitable[object]],
    given: str | None,
) -> None:
    """Each write's first attempt is answered 503: the retry carries the same requestid
    (a uuid4, or the caller's own as given), the `http.retry` event names the operation,
    the attempt and that requestid, and the realm's cache is dropped afterwards."""
    customer = await a_customer(world)
    invoice = await _new_invoice(world)
    await world.cache.set(world.realm, "sync1:company_info", b"{}", ttl=600)
    door = _FirstFails(path)
    sync = world.sync(raw_client=world.through(door), retry=policy())
    await call(sync, customer, invoice, given)
    assert len(door.seen) == 2
    first, second = door.request_ids()
    assert first == second
    assert first is not None
    if given is None:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", first)
    else:
        assert first == given
    (retry,) = world.events.of_kind(events.HTTP_RETRY)
    assert retry.attributes["operation"] == operation
    assert retry.attributes["attempt"] == 1
    assert retry.attributes["request_id"] == first
    assert (retry.attributes["status"], retry.attributes["intuit_tid"]) == (503, "tid-503")
    assert retry.attributes["error"] == "ServerError"
    assert await world.cache.get(world.realm, "sync1:company_info") is None


@pytest.mark.parametrize(("operation", "path", "call"), WRITES, ids=[w[0] for w in WRITES])
async def test_every_write_names_its_operation_when_it_finally_fails(
    world: SyncWorld, operation: str, path: str, call: Callable[..., Awaitable[object]]
) -> None:
    """A write QBO keeps answering 503 raises the `ServerError` of the last attempt, naming
    the write (`"void Invoice"`), the realm and the attempts; the cache is dropped."""
    customer = await a_customer(world)
    invoice = await _new_invoice(world)
    await world.cache.set(world.realm, "sync1:company_info", b"{}", ttl=600)
    door = _FirstFails(path, failures=10)
    sync = world.sync(raw_client=world.through(door), retry=policy(max_attempts=2))
    with pytest.raises(ServerError) as caught:
        await call(sync, customer, invoice, None)
    error = caught.value
    assert (error.operation, error.realm_id, error.attempts) == (operation, world.realm, 2)
    assert len(door.seen) == 2
    assert await world.cache.get(world.realm, "sync1:company_info") is None


# --------------------------------------------------------------------- cache keys and TTLs


class _KeyRecordingCache(MemoryCache):
    """A `MemoryCache` that keeps (realm, key, ttl) of every `set`."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.sets: list[tuple[str, str, float]] = []

    async def set(self, realm_id: str, key: str, value: bytes, *, ttl: float) -> None:
        self.sets.append((realm_id, key, ttl))
        await super().set(realm_id, key, value, ttl=ttl)


def test_the_default_ttls_are_the_documented_ones(world: SyncWorld) -> None:
    """Company info and preferences live an hour, the slow-changing name lists ten
    minutes, customers, employees, vendors and reports five, every other type one; a
    type given in `cache_ttls` takes its value and the others keep theirs."""
    assert dict(DEFAULT_CACHE_TTLS) == {
        "CompanyInfo": 3600.0,
        "Preferences": 3600.0,
        "Account": 600.0,
        "Class": 600.0,
        "Department": 600.0,
        "Item": 600.0,
        "PaymentMethod": 600.0,
        "TaxCode": 600.0,
        "TaxRate": 600.0,
        "Term": 600.0,
        "Customer": 300.0,
        "Employee": 300.0,
        "Vendor": 300.0,
        "Report": 300.0,
        "*": 60.0,
    }
    sync = world.sync()
    assert {name: sync.cache_ttl(name) for name in DEFAULT_CACHE_TTLS} == DEFAULT_CACHE_TTLS
    assert sync.cache_ttl("Invoice") == 60.0
    assert sync.cache_ttl(None) == 0.0
    tuned = world.sync(cache_ttls={"Invoice": 5, "*": 30})
    assert (tuned.cache_ttl("Invoice"), tuned.cache_ttl("Bill"), tuned.cache_ttl("Item")) == (
        5.0,
        30.0,
        600.0,
    )
    assert type(tuned.cache_ttl("Invoice")) is float
    assert world.sync(cache_ttls={"*": 0}).cache_ttl("Bill") == 0.0


async def test_each_read_is_cached_under_its_own_key_for_its_types_ttl(world: SyncWorld) -> None:
    """Every cached read is stored in the service's realm under a key naming the call, the
    entity type and its arguments (a digest of a statement or a report's parameters), and
    lives for the TTL of its entity type."""
    cache = _KeyRecordingCache(world.clock)
    sync = world.sync(cache=cache)
    customer = await a_customer(world)
    invoice = await _new_invoice(world)
    await sync.read(Customer, customer.id or "")
    await sync.read("Invoice", invoice.id or "")
    await sync.query(Query.select(Customer).max_results(3))
    await sync.query("select * from Item maxresults 2")
    await sync.count(Query.count(Invoice))
    await sync.company_info()
    await sync.preferences()
    await sync.report("ProfitAndLoss", {"start_date": "2025-01-01", "end_date": "2025-12-31"})
    # The digests: sha256 of the statement's text, or of the report's sorted parameters
    # joined by \x1f, in hex, cut to 40 characters. Every process sharing the cache must
    # make the same keys: a change of them changes `sync1:`.
    assert cache.sets == [
        (world.realm, f"sync1:read:Customer:{customer.id}", 300.0),
        (world.realm, f"sync1:read:Invoice:{invoice.id}", 60.0),
        (world.realm, "sync1:query:Customer:4cd86eec4a716a93add4f2ead0b99a696b40c40d", 300.0),
        (world.realm, "sync1:query:Item:621f9f437efc436a289860aa2ac24b3dac1ab929", 600.0),
        (world.realm, "sync1:count:Invoice:683b1a21f151193ae41bf46888621ad797041ec0", 60.0),
        (world.realm, "sync1:company_info", 3600.0),
        (world.realm, "sync1:preferences", 3600.0),
        (world.realm, "sync1:report:ProfitAndLoss:5708120d7e3f8e9cba8a259e81e272d75ce6d2b6", 300.0),
    ]
    sent = len(world.data_requests())
    await sync.report("ProfitAndLoss", {"end_date": "2025-12-31", "start_date": "2025-01-01"})
    assert len(world.data_requests()) == sent  # the same parameters in another order: a hit


# --------------------------------------------------------------------- the service's face


def test_a_service_shows_its_business_realm_and_policy(world: SyncWorld) -> None:
    """The properties give back what the service was made with; the repr names the
    business and the realm (and no token); the default policy is `RetryPolicy()`'s."""
    retry = policy(max_attempts=2)
    sync = world.sync(retry=retry)
    assert (sync.business_id, sync.realm_id, sync.retry_policy) == (
        "business-1",
        world.realm,
        retry,
    )
    assert repr(sync) == f"SmartSyncService(business_id='business-1', realm_id='{world.realm}')"
    default = world.sync().retry_policy
    assert (default.max_attempts, default.max_elapsed) == (
        RetryPolicy().max_attempts,
        RetryPolicy().max_elapsed,
    )


def test_a_bad_ttl_is_refused_naming_the_type_and_the_value(world: SyncWorld) -> None:
    """A TTL that is not a number (a bool or a string) or not a finite number >= 0 is a
    `ValueError` naming the entry of `cache_ttls` and the value given."""
    for bad, message in [
        (True, "cache_ttls['Customer'] must be seconds, got True"),
        ("60", "cache_ttls['Customer'] must be seconds, got '60'"),
        (-1, "cache_ttls['Customer'] must be >= 0 seconds, got -1"),
        (float("nan"), "cache_ttls['Customer'] must be >= 0 seconds, got nan"),
        (float("inf"), "cache_ttls['Customer'] must be >= 0 seconds, got inf"),
    ]:
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            world.sync(cache_ttls={"Customer": bad})
    assert world.sync(cache_ttls={"Customer": 0}).cache_ttl("Customer") == 0.0
    assert world.sync(cache_ttls={"Customer": 7}).cache_ttl("Customer") == 7.0


def test_a_business_and_a_realm_are_refused_with_the_rule_they_break(world: SyncWorld) -> None:
    """A business id that is not a non-empty string, and a realm that is not a string of
    digits, are refused with the rule."""
    for business in ("", None):
        with pytest.raises(ValueError, match=r"^business_id must be a non-empty string$"):
            SmartSyncService(
                business,  # type: ignore[arg-type]
                world.realm,
                raw_client=world.raw,
                auth=world.auth,
                limiter=world.permits,
                cache=world.cache,
                clock=world.clock,
                events=world.events,
                config=world.config,
            )
    for realm in ("12a", 123, ""):
        with pytest.raises(ValueError, match=r"^realm_id must be the numeric QBO company id$"):
            world.sync(realm_id=realm)


async def test_a_query_is_a_string_or_a_query(world: SyncWorld) -> None:
    """A statement of any other type is a `TypeError` naming the type, before any request;
    a string names its entity type for the TTL when it reads `from <Type>` (any case), and
    one that does not is not cached."""
    sync = world.sync()
    before = len(world.data_requests())
    with pytest.raises(TypeError, match=r"^a query is a str or a Query, got int$"):
        await sync.query(42)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"^a query is a str or a Query, got bytes$"):
        await sync.count(b"select count(*) from Customer")  # type: ignore[arg-type]
    assert len(world.data_requests()) == before
    page = await sync.query("SELECT * FROM Customer MAXRESULTS 2")
    assert [type(item) for item in page.items] == [Customer, Customer]
    assert await sync.count("select count(*) FROM Invoice") >= 0
    sent = len(world.data_requests())
    assert await sync.query("SELECT * FROM Customer MAXRESULTS 2") == page
    await sync.count("select count(*) FROM Invoice")
    assert len(world.data_requests()) == sent
    retry = world.events.of_kind(events.CACHE_HIT)
    assert [event.attributes["operation"] for event in retry] == ["query Customer", "count Invoice"]


async def test_unlimited_permits_keep_the_longest_block_of_a_realm() -> None:
    """`blocked_until` is when a realm's block ends on the monotonic clock (`None` before
    any 429); a later, shorter Retry-After never shortens a block, a negative one blocks
    nothing new, and `default_block` replaces the 60 s when QBO sent none."""
    clock = FakeClock()
    permits = UnlimitedPermits(clock, default_block=20.0)
    start = clock.monotonic()
    assert permits.blocked_until("1") is None
    await permits.throttled("1", retry_after=None)
    assert permits.blocked_until("1") == start + 20
    await permits.throttled("1", retry_after=5)
    assert permits.blocked_until("1") == start + 20
    await permits.throttled("2", retry_after=-3)
    assert permits.blocked_until("2") == start
    async with permits.permit("2"):
        assert clock.monotonic() == start
    await permits.throttled("1", retry_after=30)
    assert permits.blocked_until("1") == start + 30
    async with permits.permit("1"):
        assert clock.monotonic() == start + 30
    assert permits.blocked_until("2") == start
    assert repr(permits) == "UnlimitedPermits()"


# --------------------------------------------------------------------- events and their fields


async def test_each_event_carries_the_documented_fields(world: SyncWorld) -> None:
    """Every event names the realm and the business, at the clock's time; cache events
    name the operation (and an error's class, status, code and intuit_tid, with the
    action that failed); `rate.throttled` QBO's answer and Retry-After; `http.retry` the
    attempt, the wait, the requestid and the error."""
    customer = await a_customer(world)
    sync = world.sync(retry=policy())
    await sync.read(Customer, customer.id or "")
    await sync.read(Customer, customer.id or "")
    at = world.clock.now()
    (miss,) = world.events.of_kind(events.CACHE_MISS)
    (hit,) = world.events.of_kind(events.CACHE_HIT)
    for event in (miss, hit):
        assert (event.realm_id, event.business_id, event.at) == (world.realm, "business-1", at)
        assert event.attributes == {"operation": "read Customer"}

    world.events.clear()
    await world.cache.set(world.realm, "sync1:company_info", b"{nope", ttl=60)
    await sync.company_info()
    (load,) = world.events.of_kind(events.CACHE_ERROR)
    assert load.attributes == {
        "operation": "company_info",
        "action": "load",
        "error": "DecodeError",
        "status": None,
        "code": None,
        "intuit_tid": None,
    }

    world.events.clear()
    door = _FirstFails(
        "/query",
        answer=HttpResponse(
            status=429, headers=Headers([("intuit_tid", "tid-429"), ("Retry-After", "3")]), body=b""
        ),
    )
    throttled = world.sync(raw_client=world.through(door), retry=policy())
    await throttled.count(Query.count(Customer))
    (rate,) = world.events.of_kind(events.RATE_THROTTLED)
    assert (rate.realm_id, rate.business_id) == (world.realm, "business-1")
    assert rate.attributes == {
        "operation": "count Customer",
        "source": "qbo",
        "status": 429,
        "retry_after": 3.0,
        "intuit_tid": "tid-429",
    }
    (retry,) = world.events.of_kind(events.HTTP_RETRY)
    assert retry.attributes == {
        "operation": "count Customer",
        "attempt": 1,
        "wait": 0.0,
        "request_id": None,
        "error": "ThrottledError",
        "status": 429,
        "code": None,
        "intuit_tid": "tid-429",
    }


async def test_a_failing_cache_reports_each_action_with_the_operation_and_error(
    world: SyncWorld,
) -> None:
    """With the cache backend down, `cache.error` names the action (get, set, invalidate),
    the operation (where there is one: a get is shared by every read) and the error."""
    customer = await a_customer(world)
    sync = world.sync(cache=_BrokenCache())
    await sync.read(Customer, customer.id or "")
    await sync.sparse_update(Customer, customer.id or "", customer.sync_token or "", {"Notes": "c"})
    await sync.invalidate()
    errors = {"error": "StoreUnavailableError", "status": None, "code": None, "intuit_tid": None}
    assert [e.attributes for e in world.events.of_kind(events.CACHE_ERROR)] == [
        {"action": "get", **errors},
        {"operation": "read Customer", "action": "set", **errors},
        {"operation": "sparse_update Customer", "action": "invalidate", **errors},
        {"operation": "invalidate", "action": "invalidate", **errors},
    ]
    coalesced = world.events.of_kind(events.CACHE_COALESCED)
    assert coalesced == []


# --------------------------------------------------------------------- every read


#: One call of each read of the service: (the operation it names, the path its requests
#: go to, the call given the service and a customer).
READS: list[tuple[str, str, Callable[..., Awaitable[object]]]] = [
    ("read Customer", "/customer/", lambda sync, c: sync.read(Customer, c.id)),
    ("read Customer", "/customer/", lambda sync, c: sync.read("Customer", c.id)),
    ("query Customer", "/query", lambda sync, c: sync.query(Query.select(Customer))),
    ("query Item", "/query", lambda sync, c: sync.query("SELECT * FROM Item")),
    ("query ?", "/query", lambda sync, c: sync.query("SELECT * WHERE Id = '1'")),
    ("count Invoice", "/query", lambda sync, c: sync.count(Query.count(Invoice))),
    ("count ?", "/query", lambda sync, c: sync.count("SELECT COUNT(*)")),
    ("cdc", "/cdc", lambda sync, c: sync.cdc([Customer], date(2026, 1, 1))),
    ("report ProfitAndLoss", "/reports/", lambda sync, c: sync.report("ProfitAndLoss")),
    ("company_info", "/companyinfo/", lambda sync, c: sync.company_info()),
    ("company_info", "/companyinfo/", lambda sync, c: sync.company_info(fresh=True)),
    ("preferences", "/preferences", lambda sync, c: sync.preferences()),
    ("pdf Invoice", "/pdf", lambda sync, c: sync.pdf(Invoice, "1")),
    ("download_url", "/download/", lambda sync, c: sync.download_url("1")),
    (
        "batch",
        "/batch",
        lambda sync, c: sync.batch([BatchItem.select("q", Query.select(Customer))]),
    ),
]


@pytest.mark.parametrize(("operation", "path", "call"), READS, ids=[r[0] for r in READS])
async def test_every_read_names_its_operation_when_it_finally_fails(
    world: SyncWorld, operation: str, path: str, call: Callable[..., Awaitable[object]]
) -> None:
    """A read QBO keeps answering 503 is retried, then raises the last `ServerError`
    naming the read (`"query Customer"`, `"query ?"` for a statement whose type is not
    recognised), the realm and the attempts; its retry event names it too."""
    customer = await a_customer(world)
    door = _FirstFails(path, failures=10)
    sync = world.sync(raw_client=world.through(door), retry=policy(max_attempts=2))
    with pytest.raises(ServerError) as caught:
        await call(sync, customer)
    error = caught.value
    assert (error.operation, error.realm_id, error.attempts) == (operation, world.realm, 2)
    assert len(door.seen) == 2
    (retry,) = world.events.of_kind(events.HTTP_RETRY)
    assert retry.attributes["operation"] == operation
    assert retry.attributes["request_id"] is None


async def test_a_fresh_company_info_is_neither_cached_nor_taken_from_the_cache(
    world: SyncWorld,
) -> None:
    """`company_info(fresh=True)` asks QBO every time, even with an answer cached, and
    stores nothing; the cached form is a `CompanyInfo` equal to the fresh one."""
    sync = world.sync()
    cached = await sync.company_info()
    before = len(world.data_requests("/companyinfo/"))
    fresh = [await sync.company_info(fresh=True) for _ in range(2)]
    assert len(world.data_requests("/companyinfo/")) - before == 2
    assert fresh == [cached, cached]
    assert type(fresh[0]) is CompanyInfo
    await sync.invalidate()
    await sync.company_info(fresh=True)
    assert await world.cache.get(world.realm, "sync1:company_info") is None


async def test_preferences_are_cached_as_the_raw_entity(world: SyncWorld) -> None:
    """Preferences have no typed class: the answer, fresh or cached, is the same
    `RawEntity`, and the second call sends nothing."""
    sync = world.sync()
    fresh = await sync.preferences()
    before = len(world.data_requests())
    cached = await sync.preferences()
    assert len(world.data_requests()) == before
    assert type(cached) is RawEntity
    assert (cached.entity_type, cached) == ("Preferences", fresh)


async def test_a_report_is_asked_with_its_parameters_and_cached_per_parameters(
    world: SyncWorld,
) -> None:
    """The report's parameters go to QBO; another value of a parameter is another cache
    entry, the same parameters are a hit."""
    sync = world.sync()
    await sync.report("ProfitAndLoss", {"start_date": "2025-01-01"})
    assert "start_date=2025-01-01" in world.data_requests("/reports/")[-1].query
    await sync.report("ProfitAndLoss", {"start_date": "2025-02-01"})
    await sync.report("ProfitAndLoss", {"end_date": "2025-01-01"})
    await sync.report("ProfitAndLoss", {"start_date": "2025-01-01"})
    assert len(world.data_requests("/reports/")) == 3


# --------------------------------------------------------------------- the coalescer's epochs


def test_each_write_moves_its_realms_epoch_when_it_starts_and_when_it_ends() -> None:
    """A realm's epoch starts at 0 and moves on by one at each start and each end of a
    write of that realm only; it is quiet since an epoch only while the epoch has not
    moved and no write of it is under way, overlapping writes included."""
    coalescer = ReadCoalescer()
    assert (coalescer.epoch("1"), coalescer.quiet("1", 0)) == (0, True)
    coalescer.write_started("1")
    assert (coalescer.epoch("1"), coalescer.epoch("2")) == (1, 0)
    assert not coalescer.quiet("1", 1)
    assert coalescer.quiet("2", 0)
    coalescer.write_started("1")
    coalescer.write_finished("1")
    assert coalescer.epoch("1") == 3
    assert not coalescer.quiet("1", 3)  # one write still under way
    coalescer.write_finished("1")
    assert (coalescer.epoch("1"), coalescer.quiet("1", 4), coalescer.quiet("1", 3)) == (
        4,
        True,
        False,
    )
    coalescer.write_started("2")
    coalescer.write_finished("2")
    assert (coalescer.epoch("2"), coalescer.quiet("2", 2), coalescer.quiet("1", 4)) == (
        2,
        True,
        True,
    )


def test_a_write_finished_without_one_started_is_refused_and_changes_nothing() -> None:
    """Ending a write that never began (or ending one twice) is a programming error: a
    `RuntimeError` naming the realm, with the realm's epoch and writes left as they were."""
    coalescer = ReadCoalescer()
    with pytest.raises(RuntimeError, match=r"^write_finished\('1'\) without a write under way$"):
        coalescer.write_finished("1")
    assert (coalescer.epoch("1"), coalescer.quiet("1", 0)) == (0, True)
    coalescer.write_started("1")
    coalescer.write_finished("1")
    with pytest.raises(RuntimeError, match="write_finished"):
        coalescer.write_finished("1")
    assert (coalescer.epoch("1"), coalescer.quiet("1", 2)) == (2, True)
    coalescer.write_started("1")  # the count starts again from nothing
    assert not coalescer.quiet("1", 3)
    coalescer.write_finished("1")
    assert coalescer.quiet("1", 4)


async def test_every_caller_of_a_failing_shared_read_gets_its_error(world: SyncWorld) -> None:
    """Two callers share a slow read of a customer that does not exist: both get the
    `ObjectNotFoundError`, the flight is over, and the same read made again goes to QBO."""
    fault(world, {"kind": "latency", "latency": 5}, path="/v3/company/*/customer/*", next=1)
    sync = world.sync()
    first = asyncio.ensure_future(sync.read(Customer, "999999"))
    await eventually(lambda: world.permits.in_flight == 1)
    second = asyncio.ensure_future(sync.read(Customer, "999999"))
    await eventually(lambda: len(world.events.of_kind(events.CACHE_COALESCED)) == 1)
    with pytest.raises(ObjectNotFoundError):
        await first
    await eventually(second.done)  # fails, not hangs, if the joined caller were forgotten
    for task in (first, second):
        error = task.exception()
        assert isinstance(error, ObjectNotFoundError)
        assert error.operation == "read Customer"
    assert world.coalescer.in_flight() == 0
    before = len(world.data_requests("/customer/999999"))
    with pytest.raises(ObjectNotFoundError):
        await sync.read(Customer, "999999")
    assert len(world.data_requests("/customer/999999")) - before == 1


async def test_cancelling_one_joined_caller_leaves_the_others_joined(world: SyncWorld) -> None:
    """Of three callers sharing a slow read, cancelling a joined one hands nothing over:
    the others get the answer of the one request."""
    customer = await a_customer(world)
    fault(world, {"kind": "latency", "latency": 30}, path="/v3/company/*/customer/*", next=1)
    sync = world.sync()
    before = len(world.data_requests(f"/customer/{customer.id}"))
    first = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    await eventually(lambda: world.permits.in_flight == 1)
    joined = [asyncio.ensure_future(sync.read(Customer, customer.id or "")) for _ in "ab"]
    await eventually(lambda: len(world.events.of_kind(events.CACHE_COALESCED)) == 2)
    joined[0].cancel()
    assert (await first).id == (await joined[1]).id == customer.id
    assert joined[0].cancelled()
    assert len(world.data_requests(f"/customer/{customer.id}")) - before == 1
    assert world.permits.granted == 1


async def test_a_flight_whose_runner_and_only_joiner_are_cancelled_is_over(
    world: SyncWorld,
) -> None:
    """When the runner is cancelled and so is the one caller chosen to run the read again,
    before it starts, nobody is left: the flight ends, and the next identical read runs
    on its own."""
    customer = await a_customer(world)
    fault(world, {"kind": "latency", "latency": 30}, path="/v3/company/*/customer/*", next=1)
    sync = world.sync()
    first = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    await eventually(lambda: world.permits.in_flight == 1)
    chosen = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    await eventually(lambda: len(world.events.of_kind(events.CACHE_COALESCED)) == 1)
    first.cancel()
    asyncio.get_running_loop().call_soon(chosen.cancel)
    await eventually(chosen.done)
    assert chosen.cancelled()
    assert world.coalescer.in_flight() == 0
    assert (await sync.read(Customer, customer.id or "")).id == customer.id
    assert len(world.events.of_kind(events.CACHE_COALESCED)) == 1


# --------------------------------------------------------------------- streams and batches


async def test_streams_and_batch_writes_use_the_sizes_and_config_given(world: SyncWorld) -> None:
    """`query_all` and `query_pages` fetch pages of `page_size` rows (one request each);
    `write_batch` splits by `size`, or by the service config's `batch_max_items`."""
    sync = world.sync()
    total = await sync.count(Query.count(Customer))
    pages = total // 7 + 1
    before = len(world.data_requests("/query"))
    seen = [customer async for customer in sync.query_all(Query.select(Customer), page_size=7)]
    assert len(seen) == total
    assert len(world.data_requests("/query")) - before == pages
    sizes = [len(page) async for page in sync.query_pages(Query.select(Customer), page_size=7)]
    assert sizes == [7] * (pages - 1) + [total % 7]
    items = [BatchItem.create("", Customer(display_name=f"Sized {index}")) for index in range(9)]
    await sync.write_batch(items[:5], size=2)
    assert len(world.data_requests("/batch")) == 3
    world.config = attrs.evolve(world.config, batch_max_items=3)
    await world.sync().write_batch(items[5:])
    assert len(world.data_requests("/batch")) == 5


async def test_changes_since_uses_the_services_cdc_window(world: SyncWorld) -> None:
    """A cursor two days old is inside the default 30-day CDC window (one CDC request);
    with `cdc_window_days=1` in the service's config it is beyond it (queries, no CDC)."""
    sync = world.sync()
    first = await sync.changes_since([Customer], None)
    world.clock.advance(2 * 86400)
    await sync.changes_since([Customer], first.cursor)
    assert len(world.data_requests("/cdc")) == 1
    world.config = attrs.evolve(world.config, cdc_window_days=1)
    await world.sync().changes_since([Customer], first.cursor)
    assert len(world.data_requests("/cdc")) == 1


async def test_a_query_only_batch_is_a_read_and_a_write_batch_a_write(world: SyncWorld) -> None:
    """A batch of queries carries no requestid and leaves the cache; a batch holding a
    write gets a requestid when every bId has at most 10 characters (and none beyond),
    and drops the realm's cache."""
    await world.cache.set(world.realm, "sync1:company_info", b"{}", ttl=600)
    sync = world.sync()
    await sync.batch([BatchItem.select("q1", Query.select(Customer).max_results(1))])
    assert "requestid" not in world.data_requests("/batch")[-1].query
    assert await world.cache.get(world.realm, "sync1:company_info") == b"{}"
    await sync.batch([BatchItem.create("b123456789", Customer(display_name="Ten Chars"))])
    assert "requestid=" in world.data_requests("/batch")[-1].query
    assert await world.cache.get(world.realm, "sync1:company_info") is None
    await sync.batch([BatchItem.create("b1234567890", Customer(display_name="Eleven Chars"))])
    assert "requestid" not in world.data_requests("/batch")[-1].query


async def test_every_batch_takes_a_batch_permit(world: SyncWorld) -> None:
    """QBO counts batch requests against their own budget: a batch of queries, a write
    batch with a requestid and one sent without (its bIds too long for one) each take a
    batch permit, never an ordinary one."""
    sync = world.sync()
    await sync.batch([BatchItem.select("q1", Query.select(Customer).max_results(1))])
    await sync.batch([BatchItem.create("b1", Customer(display_name="Short Bid Ltd"))])
    await sync.batch([BatchItem.create("a-long-batch-id", Customer(display_name="Long Bid Ltd"))])
    assert (world.permits.granted, world.permits.batch_granted) == (3, 3)


# --------------------------------------------------------------------- the retry loop's edges


def _a_429(retry_after: str | None) -> HttpResponse:
    headers = [("intuit_tid", "tid-429")] + ([("Retry-After", retry_after)] if retry_after else [])
    return HttpResponse(status=429, headers=Headers(headers), body=b"")


async def test_a_429_is_retried_within_the_time_budget_its_retry_after_sets(
    world: SyncWorld,
) -> None:
    """A 429 counts its Retry-After (or, without one, the policy's `throttle_wait`)
    against `max_elapsed`: retried when that fits the budget exactly, raised after one
    attempt when it does not; the limiter holds the realm for the Retry-After (60 s
    without one)."""
    customer = await a_customer(world)
    cases = [
        ("3", {"throttle_wait": 100.0, "max_elapsed": 3.0}, 3.0),
        (None, {"throttle_wait": 10.0, "max_elapsed": 20.0}, 60.0),
    ]
    for retry_after, changes, held in cases:
        door = _FirstFails(f"/customer/{customer.id}", answer=_a_429(retry_after))
        sync = world.sync(
            raw_client=world.through(door),
            retry=policy(**changes),
            cache_ttls={"Customer": 0},
        )
        started = world.clock.monotonic()
        assert (await sync.read(Customer, customer.id or "")).id == customer.id
        assert len(door.seen) == 2
        assert world.clock.monotonic() - started == held
    door = _FirstFails(f"/customer/{customer.id}", answer=_a_429(None))
    sync = world.sync(
        raw_client=world.through(door), retry=policy(throttle_wait=30.0, max_elapsed=20.0)
    )
    with pytest.raises(ThrottledError) as caught:
        await sync.read(Customer, customer.id or "")
    assert (caught.value.attempts, len(door.seen)) == (1, 1)


async def test_a_retry_that_fits_the_time_budget_exactly_is_made(world: SyncWorld) -> None:
    """A wait that ends exactly at `max_elapsed` is still slept and the call retried."""
    customer = await a_customer(world)
    (first_wait,) = expected_waits(1)
    door = _FirstFails(f"/customer/{customer.id}")
    sync = world.sync(raw_client=world.through(door), retry=policy(max_elapsed=first_wait))
    started = world.clock.monotonic()
    assert (await sync.read(Customer, customer.id or "")).id == customer.id
    assert world.clock.monotonic() - started == pytest.approx(first_wait)
    assert len(door.seen) == 2


async def test_a_refused_token_is_refreshed_and_retried_at_once(world: SyncWorld) -> None:
    """After a 401 the call is sent again with a refreshed token without any wait, even
    under a time budget shorter than any backoff; the retry event says wait 0."""
    customer = await a_customer(world)
    body = (
        b'{"fault":{"error":[{"message":"message=AuthenticationFailed; errorCode=003200; '
        b'statusCode=401","detail":"Token expired","code":"3200"}],"type":"AUTHENTICATION"}}'
    )
    door = _FirstFails(f"/customer/{customer.id}", answer=HttpResponse(status=401, body=body))
    sync = world.sync(raw_client=world.through(door), retry=policy(max_elapsed=0.001))
    before, started = world.token_calls(), world.clock.monotonic()
    assert (await sync.read(Customer, customer.id or "")).id == customer.id
    assert world.clock.monotonic() == started
    assert world.token_calls() - before == 1
    (retry,) = world.events.of_kind(events.HTTP_RETRY)
    assert (retry.attributes["wait"], retry.attributes["error"]) == (0.0, "AccessTokenInvalidError")
    assert (retry.attributes["status"], retry.attributes["code"]) == (401, "3200")
    tokens = [request.headers.get("authorization") for request in door.seen]
    assert tokens[0] != tokens[1]


async def test_a_failure_to_get_a_token_is_retried_even_for_a_write_without_requestid(
    world: SyncWorld,
) -> None:
    """When the token endpoint answers 503 before anything was sent, the call is retried
    (nothing reached QBO), for a read and for a batch that carries no requestid alike."""
    customer = await a_customer(world)
    sync = world.sync(retry=policy())
    for call in (
        lambda: sync.read(Customer, customer.id or ""),
        lambda: sync.batch([BatchItem.create("a-long-batch-id", Customer(display_name="Tok"))]),
    ):
        world.clock.advance(2 * 3600)  # the access token has expired: the next call refreshes
        fault(world, {"kind": "status", "status": 503}, path="/oauth2/v1/tokens/bearer", next=1)
        await call()
    retries = world.events.of_kind(events.HTTP_RETRY)
    assert [(e.attributes["operation"], e.attributes["error"]) for e in retries] == [
        ("read Customer", "ServerError"),
        ("batch", "ServerError"),
    ]


async def test_reads_and_single_writes_take_ordinary_permits(world: SyncWorld) -> None:
    """Only batches spend the batch budget: a read and a create take ordinary permits."""
    customer = await a_customer(world)
    sync = world.sync()
    await sync.read(Customer, customer.id or "")
    await sync.create(Customer(display_name="Ordinary Permit Ltd"))
    assert (world.permits.granted, world.permits.batch_granted) == (2, 0)


# --------------------------------------------------------------------- reads overlapping writes


class _Holding:
    """An `HttpTransport` before the emulator that holds back answers: a request whose URL
    holds one of the parts in `hold` gets its answer from the emulator at once (the state
    of that moment), handed back only once `release` is set."""

    def __init__(self, world: SyncWorld) -> None:
        self.inner = world.transport
        self.hold: set[str] = set()
        self.held = 0
        self.release = asyncio.Event()

    async def send(self, request: HttpRequest) -> HttpResponse:
        response = await self.inner.send(request)
        part = next((part for part in self.hold if part in request.url), None)
        if part is not None:
            self.hold.discard(part)
            self.held += 1
            await self.release.wait()
        return response


def _holding_sync(world: SyncWorld) -> tuple[SmartSyncService, _Holding]:
    transport = _Holding(world)
    raw = QBORawClient(transport, world.config, events=world.events, clock=world.clock)
    return world.sync(raw_client=raw), transport


async def test_a_read_after_a_write_or_invalidate_runs_on_its_own(world: SyncWorld) -> None:
    """A read whose answer QBO gave before a write (or an `invalidate`) is still on its way
    back: a read made after the write does not join it, gets the new state at once, and
    the old answer is returned to its caller but not cached."""
    customer = await a_customer(world)
    path = f"/customer/{customer.id}"
    for change in ("write", "invalidate"):
        sync, transport = _holding_sync(world)
        await sync.invalidate()
        transport.hold = {path}
        early = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
        await eventually(lambda: transport.held == 1)  # noqa: B023 - awaited here
        if change == "write":
            current = await sync.sparse_update(
                Customer, customer.id or "", customer.sync_token or "", {"Notes": "overlap"}
            )
        else:
            current = customer
            await sync.invalidate()
        late = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
        await eventually(late.done)  # fails, not hangs, if it joined the held read
        assert late.result().sync_token == current.sync_token
        transport.release.set()
        await early
        sent = len(world.data_requests(path))
        assert (await sync.read(Customer, customer.id or "")).sync_token == current.sync_token
        assert len(world.data_requests(path)) == sent  # `late`'s answer, cached
        customer = current


async def test_a_read_during_a_write_does_not_join_a_read_from_before_it(
    world: SyncWorld,
) -> None:
    """While a write is under way, a read does not join the identical read that started
    before the write: it sends its own request."""
    customer = await a_customer(world)
    path = f"/customer/{customer.id}"
    sync, transport = _holding_sync(world)
    transport.hold = {path}
    before = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    await eventually(lambda: transport.held == 1)
    transport.hold = {"/customer?"}
    write = asyncio.ensure_future(sync.create(Customer(display_name="Held Write Ltd")))
    await eventually(lambda: transport.held == 2)
    during = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    await eventually(during.done)  # fails, not hangs, if it joined the read from before
    assert during.result().id == customer.id
    assert world.events.of_kind(events.CACHE_COALESCED) == []
    transport.release.set()
    await asyncio.gather(before, write)


async def test_reads_are_cached_again_once_a_write_or_invalidate_is_over(
    world: SyncWorld,
) -> None:
    """After a write and after an `invalidate` (each over), the next read is cached: the
    one after it sends nothing."""
    customer = await a_customer(world)
    sync = world.sync()
    path = f"/customer/{customer.id}"
    await sync.create(Customer(display_name="Over And Done Ltd"))
    await sync.read(Customer, customer.id or "")
    sent = len(world.data_requests(path))
    await sync.read(Customer, customer.id or "")
    await sync.invalidate()
    await sync.read(Customer, customer.id or "")
    await sync.read(Customer, customer.id or "")
    assert len(world.data_requests(path)) == sent + 1


class _FailingPdfs(QBORawClient):
    """A raw client whose `pdf` raises the error it is given (as a broken adapter might)."""

    error: Exception = ServerError("no pdf today", status=503)

    async def pdf(self, auth: Any, entity_type: Any, entity_id: str) -> bytes:
        raise self.error


async def test_a_final_error_names_the_services_realm_unless_it_names_one(
    world: SyncWorld,
) -> None:
    """An error that names no realm is given the service's; one that names a realm keeps
    it; either way it gets the operation and the attempts."""
    raw = _FailingPdfs(world.transport, world.config, events=world.events, clock=world.clock)
    sync = world.sync(raw_client=raw, retry=policy(max_attempts=1))
    for given, named in ((None, world.realm), ("4620816365999999999", "4620816365999999999")):
        raw.error = ServerError("no pdf today", status=503, realm_id=given)
        with pytest.raises(ServerError) as caught:
            await sync.pdf(Invoice, "1")
        assert (caught.value.realm_id, caught.value.operation, caught.value.attempts) == (
            named,
            "pdf Invoice",
            1,
        )


async def test_a_read_is_cached_for_any_positive_ttl_and_named_when_not_cached(
    world: SyncWorld,
) -> None:
    """Half a second is a TTL like any other (the second read is a hit, by class or by
    name, with no cache error); with a TTL of 0 a failing read still names itself."""
    customer = await a_customer(world)
    sync = world.sync(cache_ttls={"Customer": 0.5})
    path = f"/customer/{customer.id}"
    await sync.read("Customer", customer.id or "")
    sent = len(world.data_requests(path))
    assert await sync.read("Customer", customer.id or "") == customer
    assert await sync.read(Customer, customer.id or "") == customer
    assert len(world.data_requests(path)) == sent
    assert world.events.of_kind(events.CACHE_ERROR) == []
    world.clock.advance(0.5)
    await sync.read(Customer, customer.id or "")
    assert len(world.data_requests(path)) == sent + 1
    door = _FirstFails(path, failures=10)
    uncached = world.sync(
        raw_client=world.through(door), retry=policy(max_attempts=1), cache_ttls={"Customer": 0}
    )
    with pytest.raises(ServerError) as caught:
        await uncached.read(Customer, customer.id or "")
    assert caught.value.operation == "read Customer"


async def test_a_read_answered_in_utf16_is_cached_by_encoding_the_entity(
    world: SyncWorld,
) -> None:
    """A body that is not plain UTF-8 JSON cannot be kept as it came: the entity is
    encoded for the cache instead, and the next read is a hit equal to the first."""
    customer = await a_customer(world)
    _, _, body = await world.raw.read_with_body(await world.raw_auth(), Customer, customer.id or "")
    utf16 = HttpResponse(status=200, body=body.decode().encode("utf-16"))
    sync = world.sync(
        raw_client=world.through(_FirstFails(f"/customer/{customer.id}", answer=utf16))
    )
    first = await sync.read(Customer, customer.id or "")
    assert await sync.read(Customer, customer.id or "") == first == customer
    assert [event.kind for event in world.events.of_kind("cache")] == [
        events.CACHE_MISS,
        events.CACHE_HIT,
    ]


async def test_a_joined_caller_cancelled_as_the_shared_read_fails_is_cancelled(
    world: SyncWorld,
) -> None:
    """A joined caller cancelled in the very turn the shared read's error reached it ends
    cancelled: a cancellation is never turned into the read's error (a timeout or task
    group around the caller relies on it)."""
    fault(world, {"kind": "latency", "latency": 5}, path="/v3/company/*/customer/*", next=1)
    sync = world.sync()
    joined: list[asyncio.Future[Customer]] = []

    async def runner() -> None:
        try:
            await sync.read(Customer, "999999")
        except ObjectNotFoundError:
            joined[0].cancel()  # before the joined caller could wake up with the error
            raise

    first = asyncio.ensure_future(runner())
    await eventually(lambda: world.permits.in_flight == 1)
    joined.append(asyncio.ensure_future(sync.read(Customer, "999999")))
    await eventually(lambda: len(world.events.of_kind(events.CACHE_COALESCED)) == 1)
    with pytest.raises(ObjectNotFoundError):
        await first
    with pytest.raises(asyncio.CancelledError):
        await joined[0]
    assert world.coalescer.in_flight() == 0


async def test_changes_since_passes_the_overlap_given(world: SyncWorld) -> None:
    """The service hands its `overlap` to `changes_since`: a negative one is refused."""
    with pytest.raises(ValueError, match="overlap must not be negative"):
        await world.sync().changes_since([Customer], None, overlap=timedelta(seconds=-1))


async def test_a_zero_ttl_read_touches_no_cache(world: SyncWorld) -> None:
    """With a TTL of 0 a query, a count and a read neither look in the cache nor store in
    it: no cache event at all."""
    customer = await a_customer(world)
    cache = _KeyRecordingCache(world.clock)
    sync = world.sync(cache=cache, cache_ttls={"Customer": 0})
    await sync.query(Query.select(Customer).max_results(2))
    await sync.count(Query.count(Customer))
    await sync.read(Customer, customer.id or "")
    await sync.cdc([Customer], date(2026, 1, 1))
    assert world.events.of_kind("cache") == []
    assert cache.sets == []


async def test_cdc_calls_coalesce_only_with_the_same_types_and_time(world: SyncWorld) -> None:
    """A CDC call joins one in flight only when it asks for the same entity types since the
    same time: another type list or another time sends its own request."""
    sync, transport = _holding_sync(world)
    transport.hold = {"/cdc"}
    held = asyncio.ensure_future(sync.cdc([Customer, Invoice], date(2026, 1, 1)))
    await eventually(lambda: transport.held == 1)
    others = [
        asyncio.ensure_future(sync.cdc([Customer], date(2026, 1, 1))),
        asyncio.ensure_future(sync.cdc([Customer, Invoice], date(2026, 1, 2))),
    ]
    for other in others:
        await eventually(other.done)  # fails, not hangs, if it joined the held call
    assert world.events.of_kind(events.CACHE_COALESCED) == []
    same = asyncio.ensure_future(sync.cdc([Customer, Invoice], date(2026, 1, 1)))
    await eventually(lambda: len(world.events.of_kind(events.CACHE_COALESCED)) == 1)
    transport.release.set()
    assert await same == await held
    assert len(world.data_requests("/cdc")) == 3


class _SlowInvalidation(MemoryCache):
    """A `MemoryCache` whose `invalidate_realm` waits for `release`."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.invalidating = False
        self.release = asyncio.Event()

    async def invalidate_realm(self, realm_id: str) -> None:
        self.invalidating = True
        await self.release.wait()
        await super().invalidate_realm(realm_id)


async def test_a_read_during_an_invalidate_does_not_join_a_read_from_before_it(
    world: SyncWorld,
) -> None:
    """While `invalidate` is dropping the cache, a read does not join the identical read
    QBO answered before it: it sends its own request."""
    customer = await a_customer(world)
    cache = _SlowInvalidation(world.clock)
    transport = _Holding(world)
    raw = QBORawClient(transport, world.config, events=world.events, clock=world.clock)
    sync = world.sync(raw_client=raw, cache=cache)
    transport.hold = {f"/customer/{customer.id}"}
    before = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    await eventually(lambda: transport.held == 1)
    invalidating = asyncio.ensure_future(sync.invalidate())
    await eventually(lambda: cache.invalidating)
    during = asyncio.ensure_future(sync.read(Customer, customer.id or ""))
    await eventually(during.done)  # fails, not hangs, if it joined the read from before
    assert world.events.of_kind(events.CACHE_COALESCED) == []
    cache.release.set()
    transport.release.set()
    await asyncio.gather(before, invalidating)
