"""A fleet in virtual time: 10,000 realms, 16 workers, one shared quota store, one day.

    .venv/bin/python benchmarks/bench_quota_fleet.py            # 10,000 realms, 8 h day
    .venv/bin/python benchmarks/bench_quota_fleet.py --quick    # 1,000 realms, same mix
    .venv/bin/python benchmarks/bench_quota_fleet.py --realms 2000 --hours 4 --seed 3

The issue's "scale on paper" made runnable. Sixteen `RateLimiter` instances (sixteen
worker processes, as far as the limiter can tell) share one `MemoryQuotaStore` on one
`FakeClock`; every operation goes to a worker picked at random. Traffic over an 8-hour
business day, by realm class (fractions of `--realms`, seeded):

- idle (about 95%): Poisson arrivals, 5 to 30 requests over the day;
- busy (4%): a sync job every 30 minutes (random phase), each a burst of 20 to 60
  requests from 5 concurrent tasks: above 10/s for a moment, never above 500/min;
- hot (0.2%, at least 2): a bulk job of `--hot-ops` requests (default 10,000: 20
  minutes of a realm's whole budget) from 50 concurrent tasks, starting at a random
  time in the first six hours; its demand exceeds the budget for as long as it runs.

The upstream is a cheap simulated QBO, not the full emulator (10,000 companies would
dwarf the numbers): an `HttpTransport` that admits each request through the emulator's
own `Throttle` (the same windows, per realm: 10/s, 500/min, 10 in flight, refused
requests counted), holds it 0.1 s + uniform(0, 0.3) s of virtual time, and answers a
recorded Customer (or the recorded 429). The client side is the real one: each
operation is a `SmartSyncService` call through the `Call` seam `smart_sync_call` (each
worker its own `RateLimiter` on the one store, caching off); the bare limiter,
`limited_call`, fits the same seam (one line, `make_call`).

Printed: calls and 429s per class; the permit wait (from the call to the request
leaving, p50 / p99 / max) per class; for hot realms the share of the budget each used
while it had work queued, and the spread of those shares; CPU seconds of this process,
CPU per call, and what that means for a real fleet. Share, precisely: for a hot realm
whose first request left at `s` and last at `e`, granted = its requests admitted by the
upstream, allowed = the most requests both windows admit in `[s, e]` starting from
empty windows (request k no earlier than `s + 60 * (k // 500) + (k % 500) // 10`);
share = granted / allowed. 100% means no budget was left unused while work waited.
"fastest / actual" is finer: the least time its requests could have taken under both
windows over the time they took (below 100% by the limiter's window margin, and any
slack).
Exit status 0 whatever the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import math
import random
import statistics
import time
from collections import defaultdict
from types import SimpleNamespace
from typing import Any, cast

from quota_workload import (
    Call,
    Counters,
    CountingEventSink,
    Op,
    load_average,
    print_table,
    smart_sync_call,
)

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.context import RequestContext
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.throttle import Throttle
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_core import QBOConfig, RateLimiter
from qbo_core.dtos import RealmAuth
from qbo_core.errors import ThrottledError
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.services import QBORawClient

WORKERS = 16
PER_SECOND, PER_MINUTE, IN_FLIGHT = 10, 500, 10
BUDGET_PER_REALM = PER_MINUTE / 60.0  # requests a second, sustained

#: When the current call started (virtual monotonic seconds) and its realm's class.
_started: contextvars.ContextVar[tuple[float, str]] = contextvars.ContextVar("started")


def earliest_last(count: int) -> float:
    """The least time from the first to the last of `count` requests under both windows."""
    last = count - 1
    return 60.0 * (last // PER_MINUTE) + float((last % PER_MINUTE) // PER_SECOND)


def allowed(span: float) -> int:
    """The most requests both windows admit in `[s, s + span]`, from empty windows."""
    if span < 0:
        return 0
    minutes, rest = divmod(span, 60.0)
    in_last_minute = min(PER_MINUTE, PER_SECOND * (math.floor(rest) + 1))
    return int(minutes) * PER_MINUTE + in_last_minute


async def recorded_answers() -> tuple[HttpResponse, HttpResponse]:
    """A Customer read and a 429, as the full emulator answers them."""
    emulator = QBOEmulator(EmulatorSettings(seed=10, size="small", requests_per_second=1))
    realm = emulator.realm_ids[0]
    auth = RealmAuth(
        realm_id=realm, access_token=emulator.control.mint_tokens(realm)["access_token"]
    )
    answers: list[HttpResponse] = []

    async def keep(request: HttpRequest) -> HttpResponse:
        answers.append(await emulator.handle(request))
        return answers[-1]

    client = QBORawClient(EmulatorTransport(keep), QBOConfig())
    await client.read(auth, "Customer", "1")
    with contextlib.suppress(ThrottledError):  # the 429 is the point
        await client.read(auth, "Customer", "1")
    assert answers[0].status == 200
    assert answers[1].status == 429
    return answers[0], answers[1]


class ThrottledUpstream:
    """A cheap QBO: the emulator's `Throttle` per realm, virtual latency, recorded answers."""

    def __init__(
        self, clock: FakeClock, ok: HttpResponse, throttled: HttpResponse, seed: int
    ) -> None:
        self.clock = clock
        self.ok = ok
        self.throttled = throttled
        self.rng = random.Random(f"latency:{seed}")
        self.throttle = Throttle(
            EmulatorSettings(
                requests_per_second=PER_SECOND,
                requests_per_minute=PER_MINUTE,
                max_in_flight=IN_FLIGHT,
            )
        )
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.admitted: dict[str, int] = defaultdict(int)
        self.waits: dict[str, list[float]] = defaultdict(list)

    async def send(self, request: HttpRequest) -> HttpResponse:
        realm = request.url.split("/v3/company/", 1)[1].split("/", 1)[0]
        now = self.clock.monotonic()
        started, kind = _started.get()
        self.waits[kind].append(now - started)
        ctx = cast(RequestContext, SimpleNamespace(now=self.clock.now()))
        try:
            release = self.throttle.admit(ctx, realm, "fleet", batch=False)
        except Exception:  # the emulator's 429 fault
            return self.throttled
        self.admitted[realm] += 1
        self.first.setdefault(realm, now)
        self.last[realm] = now
        try:
            await self.clock.sleep(0.1 + self.rng.random() * 0.3)
        finally:
            release()
        return self.ok


class Fleet:
    def __init__(self, realms: int, hours: float, hot_ops: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.day = hours * 3600.0
        self.hot_ops = hot_ops
        self.realms = [f"{9_130_000_000_000_000 + index}" for index in range(realms)]
        hot = max(2, round(realms * 0.002))
        busy = round(realms * 0.04)
        shuffled = self.rng.sample(self.realms, len(self.realms))
        self.kind = dict.fromkeys(self.realms, "idle")
        for realm in shuffled[:hot]:
            self.kind[realm] = "hot"
        for realm in shuffled[hot : hot + busy]:
            self.kind[realm] = "busy"

    async def run(self, calls: list[Call], counters: Counters, clock: FakeClock) -> None:
        async def one(realm: str, kind: str, tasks: int, ops: int) -> None:
            auth = RealmAuth(realm_id=realm, access_token="fleet-token")
            left = ops

            async def worker() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    _started.set((clock.monotonic(), kind))
                    await self.rng.choice(calls)(auth, Op("read", entity_id="1"))

            await asyncio.gather(*(worker() for _ in range(tasks)))

        async def idle(realm: str) -> None:
            rate = self.rng.uniform(5, 30) / self.day
            at = self.rng.expovariate(rate)
            running: list[asyncio.Task[None]] = []
            while at < self.day:
                await clock.sleep(at - (clock.monotonic() - origin))
                running.append(asyncio.ensure_future(one(realm, "idle", 1, 1)))
                at += self.rng.expovariate(rate)
            await asyncio.gather(*running)

        async def busy(realm: str) -> None:
            at = self.rng.uniform(0, 1800)
            while at < self.day:
                await clock.sleep(at - (clock.monotonic() - origin))
                await one(realm, "busy", 5, self.rng.randint(20, 60))
                at += 1800

        async def hot(realm: str) -> None:
            await clock.sleep(self.rng.uniform(0, min(self.day, 6 * 3600.0)))
            await one(realm, "hot", 50, self.hot_ops)

        origin = clock.monotonic()
        drivers = {"idle": idle, "busy": busy, "hot": hot}
        await asyncio.gather(*(drivers[self.kind[realm]](realm) for realm in self.realms))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 realms")
    parser.add_argument("--realms", type=int)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--hot-ops", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    realms = args.realms or (1_000 if args.quick else 10_000)
    print(f"load average before: {load_average()}")

    ok, throttled = await recorded_answers()
    clock = FakeClock()
    upstream = ThrottledUpstream(clock, ok, throttled, args.seed)
    client = QBORawClient(upstream, QBOConfig())
    store = MemoryQuotaStore(clock)
    events = CountingEventSink()
    counters = Counters()

    def make_call(worker: int) -> Call:
        limiter = RateLimiter(quota_store=store, clock=clock, config=QBOConfig(), events=events)
        return smart_sync_call(
            transport=upstream,
            client=client,
            limiter=limiter,
            clock=clock,
            events=events,
            counters=counters,
        )

    calls = [make_call(worker) for worker in range(WORKERS)]
    fleet = Fleet(realms, args.hours, args.hot_ops, args.seed)
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    await fleet.run(calls, counters, clock)
    cpu = time.process_time() - started_cpu
    wall = time.perf_counter() - started_wall
    elapsed = clock.elapsed

    by_kind: dict[str, list[str]] = defaultdict(list)
    for realm, kind in fleet.kind.items():
        by_kind[kind].append(realm)
    rows: list[list[Any]] = []
    for kind in ("idle", "busy", "hot"):
        members = by_kind[kind]
        granted = sum(upstream.admitted[realm] for realm in members)
        waits = sorted(upstream.waits[kind]) or [0.0]
        rows.append(
            [
                kind,
                f"{len(members):,}",
                f"{granted:,}",
                f"{granted / len(members):,.0f}",
                f"{statistics.median(waits):.2f}",
                f"{waits[min(len(waits) - 1, int(len(waits) * 0.99))]:.2f}",
                f"{waits[-1]:.2f}",
            ]
        )
    total = sum(upstream.admitted.values())
    print()
    print_table(
        (
            "class",
            "realms",
            "calls admitted",
            "per realm",
            "permit wait p50 s",
            "p99 s",
            "max s",
        ),
        rows,
    )

    shares = []
    hot_rows = []
    for realm in by_kind["hot"]:
        span = upstream.last[realm] - upstream.first[realm]
        share = upstream.admitted[realm] / allowed(span)
        shares.append(share)
        hot_rows.append(
            [
                realm,
                f"{upstream.first[realm] - 1000.0:,.0f}",
                f"{span / 60:.2f}",
                f"{upstream.admitted[realm]:,}",
                f"{allowed(span):,}",
                f"{share:.2%}",
                f"{earliest_last(upstream.admitted[realm]) / max(span, 1e-9):.2%}",
            ]
        )
    print()
    print_table(
        ("hot realm", "start s", "busy min", "granted", "allowed", "share", "fastest / actual"),
        hot_rows,
    )
    spread = max(shares) - min(shares)

    per_call = cpu / max(total, 1)
    fleet_budget = realms * BUDGET_PER_REALM
    print()
    print_table(
        ("measure", "result", "target"),
        [
            ["virtual day", f"{elapsed / 3600:.2f} h ({len(fleet.realms):,} realms)", ""],
            ["workers (RateLimiter instances)", f"{WORKERS}", ""],
            ["calls admitted", f"{total:,}", ""],
            [
                "429s from the upstream",
                f"{upstream.throttle.refused:,} (client saw {counters.throttled:,})",
                "0",
            ],
            [
                "hot realms' share of budget",
                f"min {min(shares):.2%}, max {max(shares):.2%}, spread {spread:.2%}",
                "spread <= 1%",
            ],
            ["CPU s (this process, everything)", f"{cpu:.1f} (wall {wall:.1f} s)", ""],
            ["CPU per call", f"{per_call * 1e6:.0f} µs", ""],
            ["calls per CPU core per second", f"{1 / per_call:,.0f}", ""],
            [
                "fleet budget (realms x 500/min)",
                f"{fleet_budget:,.0f} calls/s: "
                f"{fleet_budget * per_call:,.1f} cores at this CPU per call",
                "",
            ],
            [
                "this day's traffic",
                f"{total / elapsed:,.1f} calls/s average: {total / elapsed * per_call:.3f} cores",
                "",
            ],
            ["events", ", ".join(f"{k} {v:,}" for k, v in sorted(events.counts.items())), ""],
        ],
    )
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    asyncio.run(main())
