"""Shared by the `bench_quota_*` scripts: the `Call` seam, a mixed workload, a table printer.

The seam: a `Call` performs one logical operation (`Op`) for one realm and returns what
QBO answered. `smart_sync_call` is the path the benchmarks measure: each `Op` mapped onto
a `SmartSyncService` method (one service per realm, on the run's `RateLimiter`, the auth
service over a memory token store, caching off so that every operation is a request).
`limited_call` is the bare limiter (a `RateLimiter.permit` around one `QBORawClient`
request; on a 429 `limiter.throttled(...)` and again), kept to compare with. `naive_call`
is the baseline: the same request with no limiter, sleeping Retry-After (else 60 s) after
a 429.

Not a test module and not part of the package: imported by the scripts next to it.
"""

from __future__ import annotations

import os
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from qbo_adapters.memory import AsyncioLock, MemoryCache, MemoryStateStore, MemoryTokenStore
from qbo_core import RateLimiter
from qbo_core.config import QBOConfig
from qbo_core.dtos import QBOEvent, RealmAuth, TokenSet
from qbo_core.entities import Customer
from qbo_core.errors import ThrottledError
from qbo_core.ports.clock import Clock
from qbo_core.ports.http_transport import HttpTransport
from qbo_core.services import QBOAuthService, QBORawClient, ReadCoalescer, SmartSyncService
from qbo_core.services.smart_sync import DEFAULT_CACHE_TTLS

__all__ = [
    "Call",
    "Counters",
    "CountingEventSink",
    "Op",
    "limited_call",
    "load_average",
    "naive_call",
    "print_table",
    "run_realm",
    "smart_sync_call",
]

OpKind = Literal["read", "query", "create", "update"]

#: The workload's mix: reads dominate, as in a sync job; a third are writes.
MIX: Sequence[tuple[OpKind, float]] = (
    ("read", 0.55),
    ("query", 0.10),
    ("create", 0.15),
    ("update", 0.20),
)

#: A query that costs the emulator little whatever the realm holds (Items do not grow).
QUERY = "SELECT * FROM Item MAXRESULTS 20"

#: What Intuit asks a client to wait after a 429 that names no Retry-After.
NAIVE_WAIT = 60.0


@dataclass(frozen=True, slots=True)
class Op:
    """One logical operation: read a Customer, run `QUERY`, create or update a Customer."""

    kind: OpKind
    entity_id: str = ""
    sync_token: str = ""
    name: str = ""


#: The seam: perform `op` for the realm of `auth`; the answer (a `Customer` for writes).
Call = Callable[[RealmAuth, Op], Awaitable[object]]


@dataclass
class Counters:
    """What the client side saw: operations done, 429s received, waits after them."""

    done: int = 0
    throttled: int = 0


class CountingEventSink:
    """An `EventSink` that counts events by kind and keeps none (the runs emit millions)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def emit(self, event: QBOEvent) -> None:
        self.counts[event.kind] = self.counts.get(event.kind, 0) + 1


async def send(client: QBORawClient, auth: RealmAuth, op: Op) -> object:
    """The one `QBORawClient` request that performs `op`."""
    if op.kind == "read":
        return await client.read(auth, Customer, op.entity_id)
    if op.kind == "query":
        return await client.query(auth, QUERY)
    if op.kind == "create":
        return await client.create(auth, Customer(display_name=op.name))
    return await client.sparse_update(
        auth, Customer, op.entity_id, op.sync_token, {"CompanyName": op.name}
    )


def limited_call(limiter: RateLimiter, client: QBORawClient, counters: Counters) -> Call:
    """The measured path: permit, request, and after a 429 hold the realm back and retry."""

    async def call(auth: RealmAuth, op: Op) -> object:
        while True:
            async with limiter.permit(auth.realm_id):
                try:
                    answer = await send(client, auth, op)
                except ThrottledError as error:
                    counters.throttled += 1
                    await limiter.throttled(auth.realm_id, retry_after=error.retry_after)
                    continue
            counters.done += 1
            return answer

    return call


#: Every cache TTL at 0: each operation is a request (the benchmarks measure the budget).
NO_CACHE = dict.fromkeys(DEFAULT_CACHE_TTLS, 0.0)


def smart_sync_call(
    *,
    transport: HttpTransport,
    client: QBORawClient,
    limiter: RateLimiter,
    clock: Clock,
    events: CountingEventSink,
    counters: Counters,
    config: QBOConfig | None = None,
) -> Call:
    """The measured path: `SmartSyncService`, one per realm, made on first use.

    Its token store holds the realm's access token from `auth` (good for a day here; the
    runs are shorter), so `access_token` is a store read; the cache is off (`NO_CACHE`).
    """
    config = config or QBOConfig()
    tokens = MemoryTokenStore()
    auth_service = QBOAuthService(
        transport=transport,
        config=config,
        token_store=tokens,
        lock=AsyncioLock(clock),
        state_store=MemoryStateStore(clock),
        clock=clock,
        events=events,
    )
    cache = MemoryCache(clock)
    coalescer = ReadCoalescer()
    services: dict[str, SmartSyncService] = {}

    async def service(auth: RealmAuth) -> SmartSyncService:
        sync = services.get(auth.realm_id)
        if sync is None:
            now = clock.now()
            held = TokenSet(
                access_token=auth.access_token,
                refresh_token="benchmark-refresh-token",
                access_token_expires_at=now + timedelta(days=1),
                refresh_token_expires_at=now + timedelta(days=100),
            )
            await tokens.save(auth.realm_id, held, expected_version=None)
            sync = services[auth.realm_id] = SmartSyncService(
                "benchmark",
                auth.realm_id,
                raw_client=client,
                auth=auth_service,
                limiter=limiter,
                cache=cache,
                clock=clock,
                events=events,
                config=config,
                cache_ttls=NO_CACHE,
                coalescer=coalescer,
            )
        return sync

    async def call(auth: RealmAuth, op: Op) -> object:
        sync = await service(auth)
        answer: object
        if op.kind == "read":
            answer = await sync.read(Customer, op.entity_id)
        elif op.kind == "query":
            answer = await sync.query(QUERY)
        elif op.kind == "create":
            answer = await sync.create(Customer(display_name=op.name))
        else:
            answer = await sync.sparse_update(
                Customer, op.entity_id, op.sync_token, {"CompanyName": op.name}
            )
        counters.done += 1
        counters.throttled = events.counts.get("rate.throttled", 0)  # SmartSync's own 429s
        return answer

    return call


def naive_call(client: QBORawClient, clock: Clock, counters: Counters) -> Call:
    """The baseline: no limiter; after a 429 sleep Retry-After (else 60 s) and retry."""

    async def call(auth: RealmAuth, op: Op) -> object:
        while True:
            try:
                answer = await send(client, auth, op)
            except ThrottledError as error:
                counters.throttled += 1
                await clock.sleep(error.retry_after or NAIVE_WAIT)
                continue
            counters.done += 1
            return answer

    return call


async def run_realm(
    call: Call,
    auth: RealmAuth,
    *,
    operations: int,
    tasks: int,
    customer_ids: Sequence[str],
    seed: int,
) -> None:
    """`operations` ops of the `MIX` on one realm from `tasks` concurrent tasks.

    Reads name a random Customer the realm holds (generated or created here); each task
    updates the Customer it created last (its own, so no update races another), and
    creates one first when it has none. Names are unique per realm.
    """
    import asyncio

    rng = random.Random(f"{seed}:{auth.realm_id}")
    ids = list(customer_ids)
    kinds = [kind for kind, _ in MIX]
    weights = [weight for _, weight in MIX]
    plan = rng.choices(kinds, weights, k=operations)
    position = 0
    created = 0

    async def worker() -> None:
        nonlocal position, created
        mine: Customer | None = None
        while position < len(plan):
            kind = plan[position]
            position += 1
            if kind == "update" and mine is None:
                kind = "create"
            if kind == "read":
                op = Op("read", entity_id=rng.choice(ids))
            elif kind == "query":
                op = Op("query")
            elif kind == "create":
                created += 1
                op = Op("create", name=f"Bench {auth.realm_id} {created}")
            else:
                assert mine is not None
                assert mine.id is not None
                op = Op(
                    "update",
                    entity_id=mine.id,
                    sync_token=mine.sync_token or "0",
                    name=f"Co {position}",
                )
            answer = await call(auth, op)
            if kind in ("create", "update"):
                assert isinstance(answer, Customer)
                assert answer.id is not None
                mine = answer
                if kind == "create":
                    ids.append(answer.id)

    await asyncio.gather(*(worker() for _ in range(tasks)))


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A Markdown-ready table: `a | b | c`, columns padded."""
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [cells[0], ["-" * width for width in widths], *cells[1:]]
    for row in lines:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"
