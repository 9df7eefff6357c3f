"""Measure the CPU `SmartSyncService.read` adds on top of `QBORawClient.read`.

    .venv/bin/python benchmarks/bench_smart_sync.py            # full run, about 30 s
    .venv/bin/python benchmarks/bench_smart_sync.py --quick    # fewer calls, about 5 s
    .venv/bin/python benchmarks/bench_smart_sync.py --redis redis://127.0.0.1:6379/7
    .venv/bin/python benchmarks/bench_smart_sync.py --only miss --ops 1000  # for valgrind

Every case reads one Customer (a real body, answered by the in-process emulator once and
then canned: the transport costs next to nothing and the same for every case), `--ops`
calls in a row, `--repeat` times; the cases take turns within each repetition, so the
baseline and SmartSync share the machine's state. CPU is `time.process_time()`.

- `raw`: `QBORawClient.read(auth, Customer, id)`, the baseline;
- `miss`: `SmartSyncService.read(Customer, id)` with a new id each call: cache get
  (absent), coalescer, `RateLimiter.permit` (`MemoryQuotaStore`, `SystemClock`, limits
  that never bind), `QBOAuthService.access_token` (a token-store load of a fresh token),
  the raw read, then the cache set;
- `uncached`: the same with the Customer TTL at 0 (`cache_ttls`): no cache work at all;
- `hit`: the same id every call, served from `MemoryCache`;
- `hit_distinct`: hits cycling over 2,000 entries of distinct bytes, more than the
  decoded entities `cache_values.load_entity` remembers, so each is decoded again.

The SmartSync overhead of a miss is `miss - raw` (per repetition, then the median); a hit
does no raw-client work, so it is shown on its own and as a fraction of `raw`. Targets
(issue 10): <= 40 us on a miss, <= 15 us on a hit. Events go where the container sends
them by default (`FanOutEventSink(LoggingEventSink())`, logging not enabled), and the raw
client is given the same sink and clock, as the container does.

With `--redis URL` (when the server answers), the same SmartSync cases run again over
`RedisCache` and `RedisQuotaStore` (database of the URL, a random prefix, deleted after):
their CPU is this process's only, the server's is not counted. `--profile miss|hit`
prints a `cProfile` of that case instead of the table.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_emulator import customer_ids, load_average, small_emulator

from qbo_adapters.memory import (
    AsyncioLock,
    FakeTransport,
    FanOutEventSink,
    LoggingEventSink,
    MemoryCache,
    MemoryQuotaStore,
    MemoryStateStore,
    MemoryTokenStore,
    SystemClock,
)
from qbo_core import QBOConfig, RateLimiter
from qbo_core.dtos import RealmAuth, TokenSet
from qbo_core.entities import Customer
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.ports.cache import Cache
from qbo_core.ports.quota_store import QuotaStore
from qbo_core.services import QBOAuthService, QBORawClient
from qbo_core.services.smart_sync import ReadCoalescer, SmartSyncService
from qbo_core.wire.requests import build_read

#: Entries of the `hit, distinct entries` case: more than `load_entity` remembers.
DISTINCT_ENTRIES = 2_000
DISTINCT_BASE = 500_000

MISS_TARGET_US = 40.0
HIT_TARGET_US = 15.0

UNBOUNDED = QBOConfig(
    requests_per_second=10**9,
    requests_per_minute=10**9,
    max_concurrent_requests=10**6,
    batch_requests_per_minute=10**9,
    batch_requests_per_minute_realm=10**9,
)

Run = Callable[[int], Awaitable[None]]


class World:
    """One realm's services over a canned transport, as the container wires them."""

    def __init__(self, cache: Cache, quota: QuotaStore, clock: SystemClock) -> None:
        emulator = small_emulator()
        self.realm = emulator.realm_ids[0]
        token = emulator.oauth.mint_tokens(self.realm)["access_token"]
        self.ids = customer_ids(emulator.companies[self.realm])
        auth = RealmAuth(realm_id=self.realm, access_token=token)
        request = build_read(UNBOUNDED, auth, "Customer", self.ids[0])
        self.canned = asyncio.get_event_loop().run_until_complete(emulator.handle(request))

        # Distinct answers for the ids of the `hit, distinct entries` case, so that its
        # entries are distinct bytes (the others all read the canned answer).
        self.distinct_ids = [str(DISTINCT_BASE + number) for number in range(DISTINCT_ENTRIES)]
        marker = b'"DisplayName":"'
        distinct = {
            entity_id: attrs.evolve(
                self.canned,
                body=self.canned.body.replace(marker, marker + entity_id.encode() + b" ", 1),
            )
            for entity_id in self.distinct_ids
        }

        def answer(request: HttpRequest) -> HttpResponse:
            entity_id = request.url.split("?", 1)[0].rsplit("/", 1)[-1]
            return distinct.get(entity_id, self.canned)

        transport = FakeTransport(answer)
        events = FanOutEventSink(LoggingEventSink())
        self.auth = auth
        self.raw = QBORawClient(transport, UNBOUNDED, events=events, clock=clock)
        self.tokens = MemoryTokenStore()
        now = clock.now()
        fresh = TokenSet(
            access_token=token,
            refresh_token="bench-refresh",
            access_token_expires_at=now + timedelta(days=365),
            refresh_token_expires_at=now + timedelta(days=365),
        )
        asyncio.get_event_loop().run_until_complete(
            self.tokens.save(self.realm, fresh, expected_version=None)
        )
        auth_service = QBOAuthService(
            transport=transport,
            config=UNBOUNDED,
            token_store=self.tokens,
            lock=AsyncioLock(clock),
            state_store=MemoryStateStore(clock),
            clock=clock,
            events=events,
        )
        limiter = RateLimiter(quota_store=quota, clock=clock, config=UNBOUNDED, events=events)
        self.cache = cache

        def sync(**options: Any) -> SmartSyncService:
            return SmartSyncService(
                "bench",
                self.realm,
                raw_client=self.raw,
                auth=auth_service,
                limiter=limiter,
                cache=cache,
                clock=clock,
                events=events,
                config=UNBOUNDED,
                coalescer=ReadCoalescer(),
                **options,
            )

        self.sync = sync()
        self.uncached = sync(cache_ttls={"Customer": 0})
        self._fresh = 0
        for entity_id in self.distinct_ids:
            asyncio.get_event_loop().run_until_complete(self.sync.read(Customer, entity_id))

    def cases(self) -> dict[str, Run]:
        raw, auth, sync, uncached = self.raw, self.auth, self.sync, self.uncached
        hot_id = self.ids[0]

        async def raw_reads(ops: int) -> None:
            for _ in range(ops):
                await raw.read(auth, Customer, hot_id)

        async def misses(ops: int) -> None:
            start = self._fresh
            self._fresh += ops
            for number in range(start, start + ops):
                await sync.read(Customer, str(1_000_000 + number))

        async def uncached_reads(ops: int) -> None:
            for _ in range(ops):
                await uncached.read(Customer, hot_id)

        async def hits(ops: int) -> None:
            for _ in range(ops):
                await sync.read(Customer, hot_id)

        async def distinct_hits(ops: int) -> None:
            ids = self.distinct_ids
            for number in range(ops):
                await sync.read(Customer, ids[number % DISTINCT_ENTRIES])

        return {
            "raw": raw_reads,
            "miss": misses,
            "uncached": uncached_reads,
            "hit": hits,
            "hit_distinct": distinct_hits,
        }


async def cpu_us(run: Run, ops: int) -> float:
    """Process CPU microseconds per call of one run of `ops` calls (after a collection)."""
    gc.collect()
    started = time.process_time()
    await run(ops)
    return (time.process_time() - started) / ops * 1e6


async def measure(world: World, ops: int, repeat: int) -> dict[str, list[float]]:
    cases = world.cases()
    for run in cases.values():  # warm up: imports, caches, the hot entry
        await run(min(ops, 500))
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, run in cases.items():
            results[name].append(await cpu_us(run, ops))
    return results


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):6.1f} (best {min(values):5.1f})"


def report(title: str, results: dict[str, list[float]], baseline: list[float]) -> None:
    """One table: each case, and SmartSync's overhead against the raw reads."""
    raw_median = statistics.median(baseline)
    rows: list[tuple[str, str, str, str, str]] = []

    def verdict(value: float, target: float | None) -> str:
        if target is None:
            return "-"
        return "met" if value <= target else "MISSED"

    def row(name: str, values: list[float], what: str, target: float | None) -> None:
        median = statistics.median(values)
        rows.append(
            (
                name,
                fmt(values),
                what,
                f"<= {target:g} us" if target is not None else "-",
                verdict(median, target),
            )
        )

    row("raw client read (baseline)", baseline, "1.00x raw", None)
    for name, label in (
        ("miss", "SmartSync read, cache miss (get + set)"),
        ("uncached", "SmartSync read, TTL 0 (no cache work)"),
    ):
        values = results[name]
        overhead = [v - r for v, r in zip(values, baseline, strict=True)]
        row(label, values, f"{statistics.median(values) / raw_median:.2f}x raw", None)
        row("  overhead = that - raw", overhead, "", MISS_TARGET_US if name == "miss" else None)
    for name, label in (
        ("hit", "SmartSync read, cache hit (absolute)"),
        ("hit_distinct", f"  hit over {DISTINCT_ENTRIES:,} distinct entries (each decoded)"),
    ):
        values = results[name]
        row(
            label,
            values,
            f"{statistics.median(values) / raw_median:.2f}x raw",
            HIT_TARGET_US if name == "hit" else None,
        )
    header = ("measure", "CPU us/call, median (best)", "vs raw", "target", "verdict")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for number, line in enumerate([header, *rows]):
        print(" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            print("-+-".join("-" * width for width in widths))


def profile(world: World, case: str, ops: int) -> None:
    run = world.cases()[case]
    loop = asyncio.get_event_loop()
    loop.run_until_complete(run(500))
    profiler = cProfile.Profile()
    profiler.enable()
    loop.run_until_complete(run(ops))
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs().sort_stats("tottime")
    stats.print_stats(35)


def redis_world(url: str, clock: SystemClock) -> tuple[World, Callable[[], Awaitable[None]]] | None:
    try:
        import redis.asyncio
        import redis.exceptions

        from qbo_adapters.redis.cache import RedisCache
        from qbo_adapters.redis.quota_store import RedisQuotaStore
    except ImportError:
        return None
    client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=1)
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(client.ping())
    except (redis.exceptions.RedisError, OSError):
        loop.run_until_complete(client.aclose())
        return None
    prefix = f"qbo-bench:{secrets.token_hex(8)}:"

    async def clean() -> None:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()

    world = World(
        RedisCache(client, clock, prefix=prefix + "cache:"),
        RedisQuotaStore(client, clock, prefix=prefix + "quota:"),
        clock,
    )
    return world, clean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and repetitions")
    parser.add_argument("--ops", type=int, help="calls per run (default 5,000; quick 1,000)")
    parser.add_argument("--repeat", type=int, help="runs per case (default 9; quick 5)")
    parser.add_argument("--redis", help="also run over Redis at this URL (database 7 is safe)")
    parser.add_argument("--profile", choices=("raw", "miss", "uncached", "hit", "hit_distinct"))
    parser.add_argument(
        "--only",
        choices=("raw", "miss", "uncached", "hit", "hit_distinct"),
        help="run one case (300 warm-up calls, then --ops calls) and print nothing: for an "
        "instruction count under valgrind (see benchmarks/README.md)",
    )
    args = parser.parse_args()
    if args.ops is not None and args.ops < 0:
        parser.error("--ops must be >= 0")
    ops = args.ops if args.ops is not None else (1_000 if args.quick else 5_000)
    repeat = args.repeat or (5 if args.quick else 9)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    clock = SystemClock()
    world = World(MemoryCache(clock, max_entries=1_000_000), MemoryQuotaStore(clock), clock)
    if args.profile:
        profile(world, args.profile, ops)
        return
    if args.only:
        run = world.cases()[args.only]
        loop.run_until_complete(run(300))
        loop.run_until_complete(run(ops))
        return
    print(f"load average before: {load_average()}")
    print(
        f"{ops:,} calls per run, {repeat} runs per case, cases interleaved; "
        f"Customer body {len(world.canned.body)} B; Python {sys.version.split()[0]}"
    )
    memory = loop.run_until_complete(measure(world, ops, repeat))
    report("memory stores (MemoryCache, MemoryQuotaStore)", memory, memory["raw"])
    if args.redis:
        found = redis_world(args.redis, clock)
        if found is None:
            print(f"\nredis: no server answered at {args.redis}; case skipped")
        else:
            redis_world_, clean = found
            try:
                redis_ops = max(ops // 5, 200)
                results = loop.run_until_complete(measure(redis_world_, redis_ops, repeat))
            finally:
                loop.run_until_complete(clean())
            report(
                f"Redis stores (RedisCache, RedisQuotaStore; {redis_ops:,} calls per run, "
                "this process's CPU only)",
                results,
                results["raw"],
            )
    print(f"\nload average after:  {load_average()} (pid {os.getpid()})")


if __name__ == "__main__":
    main()
