"""Measure what `RateLimiter.permit` costs in CPU, against an unlimited baseline.

    .venv/bin/python benchmarks/bench_rate_limiter.py [--permits 20000] [--repeat 5]
                                                       [--redis redis://127.0.0.1:6379/7]

Cases, each run `--repeat` times in this process (best and median printed):

- `baseline`: an async context manager that grants at once (what a caller pays with no
  limiter at all);
- `memory, no waiting`: `RateLimiter` over `MemoryQuotaStore` with limits too high to
  bind, on the system clock: the limiter's own overhead per permit (slot lease, window
  spend, release);
- `memory, QBO limits, fake clock`: the same permits over 10 realms under the real
  defaults (10/s, 500/min, 10 in flight), virtual time: the CPU of permits that queue and
  wait (sleeps are free on the fake clock, so this is bookkeeping only);
- `redis, no waiting` (when the server answers): `RedisQuotaStore` on database 7 under a
  random prefix, deleted after; three round trips per permit (lease, spend, release).

CPU is `time.process_time()` (this process only; the Redis server's CPU is not counted,
its latency is in the wall column). Prints `case | permits | CPU µs/permit |
permits per CPU-second | wall µs/permit | CPU vs baseline`; exit status 0 whatever the
numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from qbo_adapters.memory.clock import FakeClock, SystemClock
from qbo_adapters.memory.event_sinks import RecordingEventSink
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_core import QBOConfig, RateLimiter
from qbo_core.ports.clock import Clock
from qbo_core.ports.quota_store import QuotaStore

UNBOUNDED = QBOConfig(
    requests_per_second=10**9,
    requests_per_minute=10**9,
    max_concurrent_requests=10**6,
    batch_requests_per_minute=10**9,
    batch_requests_per_minute_realm=10**9,
)

Run = Callable[[int], Awaitable[None]]


@contextlib.asynccontextmanager
async def _unlimited() -> AsyncIterator[None]:
    yield


async def baseline(permits: int) -> None:
    for _ in range(permits):
        async with _unlimited():
            pass


def sequential(store: Callable[[Clock], QuotaStore]) -> Run:
    """Permits one after another on one realm, limits that never bind."""

    async def run(permits: int) -> None:
        clock = SystemClock()
        limiter = RateLimiter(
            quota_store=store(clock), clock=clock, config=UNBOUNDED, events=RecordingEventSink()
        )
        for _ in range(permits):
            async with limiter.permit("9130350000000001"):
                pass

    return run


async def qbo_limits_on_fake_clock(permits: int) -> None:
    """Permits over 10 realms at once under the real defaults; virtual time."""
    clock = FakeClock()
    limiter = RateLimiter(
        quota_store=MemoryQuotaStore(clock),
        clock=clock,
        config=QBOConfig(),
        events=RecordingEventSink(),
    )

    async def one(realm: str) -> None:
        async with limiter.permit(realm):
            await clock.sleep(0.2)  # a request in flight

    await asyncio.gather(*(one(f"realm-{index % 10}") for index in range(permits)))


async def measure(run: Run, permits: int, repeat: int) -> tuple[list[float], list[float]]:
    """CPU and wall microseconds per permit, one of each per repetition."""
    cpu, wall = [], []
    for _ in range(repeat):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        await run(permits)
        cpu.append((time.process_time() - started_cpu) / permits * 1e6)
        wall.append((time.perf_counter() - started_wall) / permits * 1e6)
    return cpu, wall


async def redis_case(url: str) -> tuple[Run, Callable[[], Awaitable[None]]] | None:
    """The Redis case and its clean-up, or None when the server does not answer."""
    try:
        import redis.asyncio

        from qbo_adapters.redis.quota_store import RedisQuotaStore
    except ImportError:
        return None
    client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=1)
    try:
        await client.ping()
    except (redis.exceptions.RedisError, OSError):
        await client.aclose()
        return None
    prefix = f"qbo-bench:{secrets.token_hex(8)}:"

    async def clean() -> None:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()

    run = sequential(lambda clock: RedisQuotaStore(client, clock, prefix=prefix))
    return run, clean


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--permits", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    cases: list[tuple[str, Run, int]] = [
        ("baseline (no limiter)", baseline, args.permits),
        ("memory, no waiting", sequential(MemoryQuotaStore), args.permits),
        ("memory, QBO limits, fake clock, 10 realms", qbo_limits_on_fake_clock, args.permits),
    ]
    redis = await redis_case(args.redis)
    if redis is not None:
        cases.append(("redis, no waiting", redis[0], max(args.permits // 10, 100)))
    rows = []
    base_cpu = None
    try:
        for name, run, permits in cases:
            cpu, wall = await measure(run, permits, args.repeat)
            median = statistics.median(cpu)
            base_cpu = median if base_cpu is None else base_cpu
            rows.append(
                (
                    name,
                    f"{permits:,}",
                    f"{median:.2f} (best {min(cpu):.2f})",
                    f"{1e6 / median:,.0f}",
                    f"{statistics.median(wall):.2f}",
                    "1.0x" if median == base_cpu else f"{median / base_cpu:.1f}x",
                )
            )
    finally:
        if redis is not None:
            await redis[1]()
    header = (
        "case",
        "permits",
        "CPU µs/permit",
        "permits per CPU-s",
        "wall µs/permit",
        "CPU vs baseline",
    )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * width for width in widths), *rows]:
        print(" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    if redis is None:
        print(f"\nredis: no server answered at {args.redis}; case skipped")
    print(f"\nload average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    asyncio.run(main())
