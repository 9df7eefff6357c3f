"""Real time: 4 processes share one realm's budget through Redis, against the HTTP door.

    .venv/bin/python benchmarks/bench_quota_realtime.py             # 30 s, 100/s, 3,000/min
    .venv/bin/python benchmarks/bench_quota_realtime.py --seconds 70 --processes 4 --tasks 8
    .venv/bin/python benchmarks/bench_quota_realtime.py --redis redis://127.0.0.1:6379/7

This process serves the emulator (company size "small", throttling on) on 127.0.0.1
through `serve_emulator`, with QBO's limits scaled up so a short run says something:
`--per-second` (100) and `--per-minute` (3,000), 10 in flight, no Retry-After (so a 429
costs the 60 s hold-back Intuit asks for). It starts `--processes` (4) OS processes
(this script with a hidden `--worker` flag); each builds its own `RedisQuotaStore`
(database 7, one random prefix for the run, deleted at the end) on the `SystemClock`,
its own `RateLimiter` with a `QBOConfig` of the same limits, and `--tasks` (8)
concurrent tasks that read Customers through `AiohttpTransport` until the run's end.
Each read is a `SmartSyncService.read` through the `Call` seam `smart_sync_call`
(caching off, so every read is a request); the bare limiter, `limited_call`, fits the
same seam (one line, `worker_call`).

Budget used: the requests the emulator admitted over what both windows allow from the
first admitted request to the last (request k no earlier than
`(k // per_minute) * 60 + (k % per_minute) // per_second` s after the first). With the
defaults and 30 s, the per-second window binds throughout and the per-minute window is
reached at the end; `--seconds 70` also crosses a minute. 429s are the emulator's own
count (its throttle refused them). Latency: p50 / p95 of one request (transport send to
answer) and of one call (permit wait included), per process. Exit status 0 whatever the
numbers; workers and Redis keys are cleaned up on any exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import statistics
import sys
import time
from typing import Any

from quota_workload import Counters, Op, load_average, print_table, smart_sync_call

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.server import serve_emulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_core import QBOConfig, RateLimiter
from qbo_core.dtos import RealmAuth
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.ports.http_transport import HttpTransport
from qbo_core.services import QBORawClient
from qbo_core.services.rate_limiter import DEFAULT_WINDOW_MARGIN

IN_FLIGHT = 10
SCRIPT = os.path.abspath(__file__)  # the `--worker` children run this file


def allowed(span: float, per_second: int, per_minute: int) -> int:
    """The most requests both windows admit in `[s, s + span]`, from empty windows."""
    minutes, rest = divmod(max(span, 0.0), 60.0)
    return int(minutes) * per_minute + min(per_minute, per_second * (math.floor(rest) + 1))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


class TimedTransport:
    """Times each request (send to answer, wall milliseconds)."""

    def __init__(self, inner: HttpTransport) -> None:
        self.inner = inner
        self.latencies: list[float] = []

    async def send(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        try:
            return await self.inner.send(request)
        finally:
            self.latencies.append((time.perf_counter() - started) * 1000)


# -- the worker process ------------------------------------------------------------------


async def worker(plan: dict[str, Any]) -> dict[str, Any]:
    import aiohttp
    import redis.asyncio
    from quota_workload import CountingEventSink

    from qbo_adapters.aiohttp.transport import AiohttpTransport
    from qbo_adapters.memory.clock import SystemClock
    from qbo_adapters.redis.quota_store import RedisQuotaStore

    config = QBOConfig(
        api_base_url=plan["base_url"],
        requests_per_second=plan["per_second"],
        requests_per_minute=plan["per_minute"],
        max_concurrent_requests=IN_FLIGHT,
    )
    clock = SystemClock()
    counters = Counters()
    events = CountingEventSink()
    auth = RealmAuth(realm_id=plan["realm"], access_token=plan["token"])
    ids: list[str] = plan["ids"]
    calls: list[float] = []
    client_redis = redis.asyncio.Redis.from_url(plan["redis"])
    try:
        async with aiohttp.ClientSession() as session:
            transport = TimedTransport(AiohttpTransport(session))
            limiter = RateLimiter(
                quota_store=RedisQuotaStore(client_redis, clock, prefix=plan["prefix"]),
                clock=clock,
                config=config,
                events=events,
                window_margin=plan["window_margin"],
            )
            worker_call = smart_sync_call(
                transport=transport,
                client=QBORawClient(transport, config),
                limiter=limiter,
                clock=clock,
                events=events,
                counters=counters,
                config=config,
            )
            await asyncio.sleep(max(0.0, plan["start_at"] - time.time()))
            stop_at = plan["start_at"] + plan["seconds"]

            async def task(index: int) -> None:
                n = index
                while time.time() < stop_at:
                    started = time.perf_counter()
                    await worker_call(auth, Op("read", entity_id=ids[n % len(ids)]))
                    calls.append((time.perf_counter() - started) * 1000)
                    n += plan["tasks"]

            tasks = [asyncio.ensure_future(task(i)) for i in range(plan["tasks"])]
            # A permit held back (after a 429) past the end is cancelled, not waited for.
            _, pending = await asyncio.wait(tasks, timeout=plan["seconds"] + 5)
            for pending_task in pending:
                pending_task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await client_redis.aclose()
    return {
        "pid": os.getpid(),
        "done": counters.done,
        "throttled": counters.throttled,
        "request_ms": transport.latencies,
        "call_ms": calls,
        "events": events.counts,
    }


# -- the parent: emulator, workers, report -------------------------------------------------


async def redis_or_none(url: str) -> Any:
    try:
        import redis.asyncio
    except ImportError:
        return None
    client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=1)
    try:
        await client.ping()
    except (redis.exceptions.RedisError, OSError):
        await client.aclose()
        return None
    return client


async def main(args: argparse.Namespace) -> None:
    print(f"load average before: {load_average()}")
    redis_client = await redis_or_none(args.redis)
    if redis_client is None:
        print(f"no Redis server answered at {args.redis}: nothing to measure")
        return
    prefix = f"qbo-bench:{secrets.token_hex(8)}:"
    emulator = QBOEmulator(
        EmulatorSettings(
            seed=10,
            size="small",
            throttle=True,
            requests_per_second=args.per_second,
            requests_per_minute=args.per_minute,
            max_in_flight=IN_FLIGHT,
        )
    )
    realm = emulator.realm_ids[0]
    children: list[asyncio.subprocess.Process] = []
    try:
        async with await serve_emulator(emulator) as server:
            plan = {
                "base_url": server.base_url,
                "realm": realm,
                "token": emulator.control.mint_tokens(realm)["access_token"],
                "ids": [str(obj["Id"]) for obj in emulator.companies[realm].all("Customer")],
                "redis": args.redis,
                "prefix": prefix,
                "per_second": args.per_second,
                "per_minute": args.per_minute,
                "tasks": args.tasks,
                "seconds": args.seconds,
                "window_margin": args.window_margin,
                "start_at": time.time() + 3.0,  # every worker imported and connected
            }
            for _ in range(args.processes):
                child = await asyncio.create_subprocess_exec(
                    sys.executable,
                    SCRIPT,
                    "--worker",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
                children.append(child)
            outputs = await asyncio.gather(
                *(child.communicate(json.dumps(plan).encode()) for child in children)
            )
            results = [json.loads(out) for out, _ in outputs]
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
        keys = [key async for key in redis_client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await redis_client.delete(*keys)
        await redis_client.aclose()

    admitted = [
        entry.at.timestamp()
        for entry in emulator.request_log
        if entry.realm_id == realm and entry.status == 200
    ]
    span = max(admitted) - min(admitted) if admitted else 0.0
    throttle = emulator.throttle
    budget = allowed(span, args.per_second, args.per_minute)
    rows = [
        [
            f"process {index + 1} (pid {result['pid']})",
            f"{result['done']:,}",
            f"{result['throttled']:,}",
            f"{statistics.median(result['request_ms']):.1f}",
            f"{percentile(result['request_ms'], 0.95):.1f}",
            f"{statistics.median(result['call_ms']):.1f}",
            f"{percentile(result['call_ms'], 0.95):.1f}",
        ]
        for index, result in enumerate(results)
    ]
    every_request = [ms for result in results for ms in result["request_ms"]]
    every_call = [ms for result in results for ms in result["call_ms"]]
    rows.append(
        [
            "all",
            f"{sum(r['done'] for r in results):,}",
            f"{sum(r['throttled'] for r in results):,}",
            f"{statistics.median(every_request):.1f}",
            f"{percentile(every_request, 0.95):.1f}",
            f"{statistics.median(every_call):.1f}",
            f"{percentile(every_call, 0.95):.1f}",
        ]
    )
    print()
    print_table(
        (
            "process",
            "reads done",
            "429s seen",
            "request p50 ms",
            "request p95 ms",
            "call p50 ms",
            "call p95 ms",
        ),
        rows,
    )
    print()
    print_table(
        ("measure", "result", "target"),
        [
            ["limits", f"{args.per_second}/s, {args.per_minute:,}/min, {IN_FLIGHT} in flight", ""],
            ["limiter's window margin", f"{args.window_margin} s", ""],
            ["processes x tasks", f"{args.processes} x {args.tasks}", ""],
            ["429s (emulator's count)", f"{throttle.refused:,} {throttle.refused_by}", "0"],
            ["admitted", f"{throttle.admitted:,} over {span:.2f} s", ""],
            ["windows allow over that span", f"{budget:,}", ""],
            ["budget used", f"{throttle.admitted / max(budget, 1):.1%}", ">= 90%"],
            ["admitted per second", f"{throttle.admitted / max(span, 1e-9):.1f}", ""],
            [
                "late grants spent again",
                f"{sum(r['events'].get('rate.late_grant', 0) for r in results):,}",
                "",
            ],
        ],
    )
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=8, help="concurrent tasks per process")
    parser.add_argument("--per-second", type=int, default=100)
    parser.add_argument("--per-minute", type=int, default=3_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    parser.add_argument(
        "--window-margin",
        type=float,
        default=DEFAULT_WINDOW_MARGIN,
        help="seconds the limiter adds to each window (RateLimiter's window_margin)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        print(json.dumps(asyncio.run(worker(json.loads(sys.stdin.read())))))
    else:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main(arguments))
