"""`RateLimiter`: a realm's QBO budget (windows, batch budgets, in-flight cap, 429 hold-back).

QBO allows, per realm and app, 10 requests a second, 500 a minute (batch requests
included) and 10 in flight; batch requests also 40 a minute per realm and app and 120 a
minute per realm; after a 429 it asks for 60 s of quiet (`reference/qbo-api-facts.md`,
"Throttling"; the numbers come from `QBOConfig`). Every process sharing a realm shares
one `QuotaStore`, which is the arbiter between them:

- key `rate:{realm}`: the request windows (`requests_per_second` per 1 s,
  `requests_per_minute` per 60 s, each a little longer: see below), the concurrency
  slots (`max_concurrent_requests`, leased so a crashed process frees its own) and the
  hold-back after a 429;
- key `rate-batch:{realm}`: the batch windows (`batch_requests_per_minute` and
  `batch_requests_per_minute_realm`, per 60 s). A batch request spends on both keys in
  one `try_acquire_all`, all or nothing.

How one permit is granted
-------------------------
1. Within one process, permits of one realm (and kind: plain or batch) queue in FIFO
   order; only the head of the queue talks to the store, the others wait their turn
   (no thundering herd of pollers). Realms have separate queues and keys, so a busy
   realm never holds up another. A permit that finds no queue and no other permit of
   its realm and kind at the store tries once (steps 2 and 3, without waiting) before
   any queue is made: the common case, a realm with room, costs no queue. If that try
   is refused, it joins the queue like any other.
2. The head leases a slot (none free: it waits until one is released in this process
   or, polling the store every 50 ms of clock time, in another).
3. Holding the slot, it spends on the windows (`try_acquire_all`), which records the
   grant at the moment the request is about to be sent: a grant recorded earlier than
   the request is sent would leave the window before QBO's does. If the windows (or a
   hold-back) refuse, it gives the slot back, sleeps the wait the store named, and
   starts again at 2; so a waiting permit never holds a slot.
4. The slot is released when the `async with` block ends, by exception and by
   cancellation included.

Windows a little longer than QBO's
----------------------------------
The store records a grant when the permit is given; QBO counts the request when it
arrives. Requests delayed differently on their way (a busy event loop or connection, a
slow network path) arrive closer together than they were granted, so windows that are
exactly full on the client's side overflow at QBO: a 429, and 60 s of hold-back. Each
window is therefore `window_margin` seconds longer here (0.1 s by default): with 10/s,
at most 10 in any 1.1 s; with 500/min, at most 500 in any 60.1 s. Requests may then
arrive up to that much out of step and still fit. The cost is small: 500 a minute
become 500 per 60.1 s (0.2% less), and 10 per 1.1 s still send 500 within 55 s.

A grant that comes back late
----------------------------
The margin covers requests that reach QBO out of step with their grants; it cannot cover
a grant that is old before the request leaves. The store records the grant when it
answers; if its answer reaches this permit more than half the margin after it was asked
for (a busy event loop resumed the permit late, a slow round trip to Redis), the request
would go out that much after its recorded grant (the threshold is never under
`MIN_LATE_GRANT`, 5 ms, so that a margin of 0 does not make every grant late). Such a
grant is spent once more, at
once (`rate.late_grant` reports it): the request then goes out right after a grant
recorded for it, and the earlier grant stays recorded, wasting one unit of budget, never
overrunning it. If the second grant is refused, the permit waits as for any refusal; if
it is late too, the request goes anyway (a loop that slow is beyond a limiter's reach).
With the memory store, which answers without suspending, no grant is ever late. The
caller sends at once: `SmartSyncService` awaits nothing between permit and send.

All waiting is `clock.sleep` (the Clock port). A cancelled waiter holds no slot and has
spent nothing. One caveat for a shared store: a `try_acquire_all` cancelled while its
round trip to the store is in flight may have recorded a grant that is then never used,
which wastes one unit of budget, never overruns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Sequence

from qbo_core import events
from qbo_core.config import QBOConfig
from qbo_core.dtos import QBOEvent, RateLimit, SlotLease
from qbo_core.errors import StoreUnavailableError
from qbo_core.ports.clock import Clock
from qbo_core.ports.event_sink import EventSink
from qbo_core.ports.quota_store import QuotaStore, Spend

__all__ = ["RateLimiter"]

#: The hold-back after a 429 without Retry-After: Intuit's "wait 60 seconds".
DEFAULT_THROTTLE_WAIT = 60.0

#: A permit that waited longer than this (seconds) is reported (`rate.waited`).
REPORT_WAIT_OVER = 1.0

#: How often (clock seconds) the head of a queue asks the store for a slot while every
#: slot is held; a release in this process wakes it at once.
SLOT_POLL_INTERVAL = 0.05

#: Seconds a slot outlives the longest request (`total_timeout`) when not given.
SLOT_LEASE_MARGIN = 30.0

#: Seconds added to the length of each window (see "Windows a little longer than QBO's").
DEFAULT_WINDOW_MARGIN = 0.1

#: A grant is late (spent again) only past half the margin and never under this many
#: seconds: with a margin of 0, any real round trip would otherwise count as late and
#: every grant be spent twice.
MIN_LATE_GRANT = 0.005


class _Queue:
    """The permits of one realm and kind waiting in this process, and the head's wake-up."""

    __slots__ = ("slot_freed", "turn", "users")

    def __init__(self) -> None:
        self.turn = asyncio.Lock()  # FIFO: waiters are woken in the order they came
        self.slot_freed = asyncio.Event()
        self.users = 0


class _Permit:
    """`async with`: admitted on entry, the slot released on exit (exception and
    cancellation included). A class rather than an `asynccontextmanager`: no async
    generator to create, register with the loop and step through, per permit."""

    __slots__ = ("_batch", "_limiter", "_realm_id", "_slot")

    def __init__(self, limiter: RateLimiter, realm_id: str, batch: bool) -> None:
        self._limiter = limiter
        self._realm_id = realm_id
        self._batch = batch
        self._slot: SlotLease | None = None

    async def __aenter__(self) -> None:
        if self._slot is not None:
            raise RuntimeError("a permit is entered once")
        self._slot = await self._limiter._admit(self._realm_id, self._batch)

    async def __aexit__(self, *exc_info: object) -> None:
        slot, self._slot = self._slot, None
        if slot is not None:
            await self._limiter._release(self._realm_id, slot)


class RateLimiter:
    """Per-realm permits within QBO's limits, shared through a `QuotaStore`.

    `async with limiter.permit(realm_id):` waits until the request may be sent (the
    realm is not held back, the windows have room, a concurrency slot is leased) and
    releases the slot when the block ends; `batch=True` also spends on the batch
    budgets. After QBO answered 429, `await limiter.throttled(realm_id,
    retry_after=...)` holds the realm back in every process sharing the store.

    `slot_lease` (seconds, default `config.total_timeout + 30`) is how long a slot stays
    leased if its holder never releases it (a crashed process). Waits longer than one
    second are reported as `rate.waited` events, hold-backs after a 429 as
    `rate.held_back`; events carry the realm and seconds, nothing secret.
    `window_margin` (seconds, default `config.rate_window_margin`, 0.1) is added to
    every window's length, so that requests delayed differently on the way still fit
    QBO's windows when they arrive (module docstring); 0 spends the windows exactly as
    QBO counts them.

    One instance per process is enough for every realm (the container makes one); two
    instances over one store behave like two processes.
    """

    def __init__(
        self,
        *,
        quota_store: QuotaStore,
        clock: Clock,
        config: QBOConfig,
        events: EventSink,
        slot_lease: float | None = None,
        window_margin: float | None = None,
    ) -> None:
        if window_margin is None:
            window_margin = config.rate_window_margin
        lease = config.total_timeout + SLOT_LEASE_MARGIN if slot_lease is None else slot_lease
        if not (lease > 0 and math.isfinite(lease)):
            raise ValueError(f"slot_lease must be positive, finite seconds, got {slot_lease!r}")
        if not (window_margin >= 0 and math.isfinite(window_margin)):
            raise ValueError(f"window_margin must be finite seconds >= 0, got {window_margin!r}")
        second, minute = 1.0 + window_margin, 60.0 + window_margin
        self._store = quota_store
        self._late_after = max(window_margin / 2, MIN_LATE_GRANT)
        self._clock = clock
        self._events = events
        self._lease = lease
        self._capacity = config.max_concurrent_requests
        self._request_limits = (
            RateLimit(limit=config.requests_per_second, period=second),
            RateLimit(limit=config.requests_per_minute, period=minute),
        )
        self._batch_limits = (
            RateLimit(limit=config.batch_requests_per_minute, period=minute),
            RateLimit(limit=config.batch_requests_per_minute_realm, period=minute),
        )
        self._queues: dict[tuple[str, bool], _Queue] = {}
        self._trying: set[tuple[str, bool]] = set()  # a permit's one try, before any queue
        self._releasing: set[asyncio.Future[bool]] = set()

    def permit(
        self, realm_id: str, *, batch: bool = False
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait for the right to send one request to `realm_id`; hold a slot while inside.

        `batch=True` for a batch request: it also spends on the realm's batch budgets.
        """
        return self._permit(realm_id, batch)

    async def throttled(self, realm_id: str, *, retry_after: float | None) -> None:
        """QBO answered 429: hold `realm_id` back in every process for `retry_after` seconds.

        Without a usable `retry_after` (None, negative or not finite) the hold-back is 60 s,
        as Intuit asks. A hold-back only ever extends one already in force. Emits
        `rate.held_back` (the caller that saw the 429 reports `rate.throttled`).
        """
        usable = retry_after is not None and math.isfinite(retry_after) and retry_after >= 0
        wait = float(retry_after) if usable and retry_after is not None else DEFAULT_THROTTLE_WAIT
        now = self._clock.now()
        until = now.timestamp() + wait
        await self._store.block(_realm_key(realm_id), until)
        self._events.emit(
            QBOEvent(
                kind=events.RATE_HELD_BACK,
                at=now,
                realm_id=realm_id,
                attributes={"retry_after": retry_after, "wait": wait, "until": until},
            )
        )

    def __repr__(self) -> str:
        waiting = sum(queue.users for queue in self._queues.values())
        return f"RateLimiter(realms_waiting={len(self._queues)}, permits_waiting={waiting})"

    # -- internals --------------------------------------------------------------------

    def _permit(self, realm_id: str, batch: bool) -> _Permit:
        return _Permit(self, realm_id, batch)

    async def _admit(self, realm_id: str, batch: bool) -> SlotLease:
        """One try at the store when nobody of the realm and kind is queued or trying in
        this process; otherwise, or when it is refused, queue behind this process's
        earlier permits of the realm, then get one."""
        kind = (realm_id, batch)
        if kind not in self._queues and kind not in self._trying:
            self._trying.add(kind)
            try:
                slot, _ = await self._try(realm_id, batch)
            finally:
                self._trying.discard(kind)
            if slot is not None:
                return slot
        return await self._queued(realm_id, batch)

    async def _queued(self, realm_id: str, batch: bool) -> SlotLease:
        """Queue behind this process's earlier permits of the realm, then get one."""
        started = self._clock.monotonic()
        queue = self._queues.get((realm_id, batch))
        if queue is None:
            queue = self._queues[(realm_id, batch)] = _Queue()
        queue.users += 1
        try:
            async with queue.turn:
                slot = await self._acquire(realm_id, batch, queue)
        finally:
            queue.users -= 1
            if queue.users == 0:
                del self._queues[(realm_id, batch)]
        waited = self._clock.monotonic() - started
        if waited > REPORT_WAIT_OVER:
            self._events.emit(
                QBOEvent(
                    kind=events.RATE_WAITED,
                    at=self._clock.now(),
                    realm_id=realm_id,
                    attributes={"waited": waited, "batch": batch},
                )
            )
        return slot

    async def _acquire(self, realm_id: str, batch: bool, queue: _Queue) -> SlotLease:
        """As the head of the queue: lease a slot, then spend on the windows, or wait."""
        while True:
            slot, wait = await self._try(realm_id, batch)
            if slot is not None:
                return slot
            if wait is None:
                await self._wait_for_slot(queue)
            else:
                await self._clock.sleep(wait)

    async def _try(self, realm_id: str, batch: bool) -> tuple[SlotLease | None, float | None]:
        """Lease a slot, then spend on the windows: `(slot, None)` when both agreed,
        `(None, None)` when no slot is free, `(None, wait)` when the windows (or a
        hold-back) refused for `wait` seconds, the slot given back."""
        key = _realm_key(realm_id)
        slot = await self._store.lease_slot(key, capacity=self._capacity, lease=self._lease)
        if slot is None:
            return None, None
        spends: Sequence[Spend] = (
            ((key, self._request_limits), (_batch_key(realm_id), self._batch_limits))
            if batch
            else ((key, self._request_limits),)
        )
        try:
            asked = self._clock.monotonic()
            wait = await self._store.try_acquire_all(spends)
            late = self._clock.monotonic() - asked
            if wait <= 0 and late > self._late_after:
                wait = await self._respend(realm_id, spends, late)
        except BaseException:
            await self._release(realm_id, slot)
            raise
        if wait <= 0:
            return slot, None
        await self._release(realm_id, slot)
        return None, wait

    async def _respend(self, realm_id: str, spends: Sequence[Spend], late: float) -> float:
        """The grant just recorded may be `late` seconds older than the request it stands
        for ("A grant that comes back late"): spend once more, now; the first grant stays
        recorded (budget wasted, never overrun). Returns the second try's wait (0: go)."""
        asked = self._clock.monotonic()
        wait = await self._store.try_acquire_all(spends)
        self._events.emit(
            QBOEvent(
                kind=events.RATE_LATE_GRANT,
                at=self._clock.now(),
                realm_id=realm_id,
                attributes={
                    "late": late,
                    "respent": wait <= 0 and self._clock.monotonic() - asked <= self._late_after,
                },
            )
        )
        return wait

    async def _wait_for_slot(self, queue: _Queue) -> None:
        """Sleep one poll interval, or less if a slot of the realm is released here."""
        if not queue.slot_freed.is_set():
            napping = asyncio.ensure_future(self._clock.sleep(SLOT_POLL_INTERVAL))
            woken = asyncio.ensure_future(queue.slot_freed.wait())
            try:
                await asyncio.wait((napping, woken), return_when=asyncio.FIRST_COMPLETED)
            finally:
                napping.cancel()
                woken.cancel()
        queue.slot_freed.clear()

    async def _release(self, realm_id: str, slot: SlotLease) -> None:
        """Give the slot back, even if the caller is being cancelled; wake the realm's heads.

        The release is awaited in place (no task: a store that answers without
        suspending, the memory one, costs no turn of the loop). If the caller is
        cancelled while it is in flight, the release is sent again from a task of its
        own: releasing is idempotent (the lease's token), so a release that had already
        landed only answers `False` the second time. A store that cannot be reached is
        not an error here: the lease ends by itself.
        """
        try:
            await self._store.release_slot(slot)
        except StoreUnavailableError:
            pass
        except asyncio.CancelledError:
            release = asyncio.ensure_future(self._store.release_slot(slot))
            self._releasing.add(release)  # a strong reference while it runs
            release.add_done_callback(self._released)
            raise
        finally:
            for kind in (False, True) if self._queues else ():
                queue = self._queues.get((realm_id, kind))
                if queue is not None:
                    queue.slot_freed.set()

    def _released(self, release: asyncio.Future[bool]) -> None:
        self._releasing.discard(release)
        if not release.cancelled():
            release.exception()  # retrieved: a release left behind by a cancelled caller


def _realm_key(realm_id: str) -> str:
    return f"rate:{realm_id}"


def _batch_key(realm_id: str) -> str:
    return f"rate-batch:{realm_id}"
