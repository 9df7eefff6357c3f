"""Virtual time: does the rate limiter use a realm's whole QBO budget with zero 429s?

    .venv/bin/python benchmarks/bench_quota_virtual.py            # 20 realms x 20,000 ops
    .venv/bin/python benchmarks/bench_quota_virtual.py --quick    # 20 realms x 2,000 ops
    .venv/bin/python benchmarks/bench_quota_virtual.py --realms 5 --ops 5000 --tasks 20

One `FakeClock` drives everything; the in-process emulator (`EmulatorTransport`, company
size "small") enforces QBO's limits on it: 10 requests a second, 500 a minute, 10 in
flight per realm, refused requests counted in the windows as QBO does. Every data
request spends 0.1 s + uniform(0, 0.3) s in the emulator (a latency rule, so it holds
the emulator's in-flight slot). Each realm runs `--ops` operations (55% Customer reads,
10% Item queries, 15% Customer creates, 20% sparse updates of the task's own Customer)
from `--tasks` concurrent tasks; all realms at once.

Two runs over the same traffic, in this process:

- `smart sync`: each operation is a `SmartSyncService` call through the `Call` seam
  `smart_sync_call` (one service per realm, on a `RateLimiter` over `MemoryQuotaStore`
  with QBO's default `QBOConfig`; caching off, so every operation is a request, though
  identical reads in flight coalesce; SmartSync's own retries after a 429). The bare
  limiter, `limited_call`, fits the same seam (one line in `main`).
- `baseline, no limiter`: the same operations sent at once, sleeping 60 s after each
  429 (`naive_call`). It is far slower, so it stops at `--baseline-minutes` of virtual
  time; its elapsed time is then projected from the rate it reached.

Columns: virtual elapsed; the time the quota allows (`ops / 500` minutes, every realm in
parallel) and the ratio (target <= 103%); the exact lower bound under both windows
(request k can go no earlier than `60 * (k // 500) + (k % 500) // 10` s); 429s the
emulator refused (its throttle counters: every refusal, any reason); CPU seconds of this
process and CPU per request the emulator admitted (client, limiter, emulator and the
fake clock together: an upper bound of the client side's cost). Exit status 0 whatever
the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from quota_workload import (
    Call,
    Counters,
    CountingEventSink,
    load_average,
    naive_call,
    print_table,
    run_realm,
    smart_sync_call,
)

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_core import QBOConfig, RateLimiter
from qbo_core.dtos import RealmAuth
from qbo_core.services import QBORawClient

PER_SECOND, PER_MINUTE, IN_FLIGHT = 10, 500, 10
LATENCY = {
    "route": {"path": "/v3/company/*"},
    "effect": {"kind": "latency", "latency": 0.1, "jitter": 0.3},
}


def quota_seconds(ops: int) -> float:
    """What the 500/min window alone allows: `ops / 500` minutes."""
    return ops / PER_MINUTE * 60.0


def lower_bound(ops: int) -> float:
    """The earliest the last of `ops` requests can be admitted under both windows."""
    last = ops - 1
    return 60.0 * (last // PER_MINUTE) + float((last % PER_MINUTE) // PER_SECOND)


class Run:
    """One run: an emulator with `realms` small companies on a fresh `FakeClock`."""

    def __init__(self, realms: int) -> None:
        self.clock = FakeClock()
        self.emulator = QBOEmulator(
            EmulatorSettings(
                seed=10,
                size="small",
                realms=realms,
                throttle=True,
                requests_per_second=PER_SECOND,
                requests_per_minute=PER_MINUTE,
                max_in_flight=IN_FLIGHT,
            ),
            clock=self.clock,
        )
        self.emulator.control.add_fault(LATENCY)
        self.transport = EmulatorTransport(self.emulator)
        self.client = QBORawClient(self.transport, QBOConfig())
        self.auths = [
            RealmAuth(
                realm_id=realm,
                access_token=self.emulator.control.mint_tokens(realm)["access_token"],
            )
            for realm in self.emulator.realm_ids
        ]
        self.counters = Counters()
        self.events = CountingEventSink()

    def customer_ids(self, realm: str) -> list[str]:
        return [str(obj["Id"]) for obj in self.emulator.companies[realm].all("Customer")]

    async def drive(self, call: Call, *, ops: int, tasks: int, cap: float | None) -> bool:
        """Run every realm's traffic; False if the virtual-time `cap` stopped it first."""
        work = asyncio.gather(
            *(
                run_realm(
                    call,
                    auth,
                    operations=ops,
                    tasks=tasks,
                    customer_ids=self.customer_ids(auth.realm_id),
                    seed=10,
                )
                for auth in self.auths
            )
        )
        if cap is None:
            await work
            return True
        deadline = asyncio.ensure_future(self.clock.sleep(cap))
        await asyncio.wait((work, deadline), return_when=asyncio.FIRST_COMPLETED)
        finished = work.done()
        for future in (work, deadline):
            future.cancel()
        await asyncio.gather(work, deadline, return_exceptions=True)
        return finished


async def measure(
    name: str,
    make_call: Callable[[Run], Call],
    *,
    realms: int,
    ops: int,
    tasks: int,
    cap: float | None,
) -> list[Any]:
    run = Run(realms)
    call = make_call(run)
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    start = run.clock.elapsed
    finished = await run.drive(call, ops=ops, tasks=tasks, cap=cap)
    elapsed = run.clock.elapsed - start
    cpu = time.process_time() - started_cpu
    wall = time.perf_counter() - started_wall
    throttle = run.emulator.throttle
    total = realms * ops
    done = run.counters.done
    if finished:
        shown = elapsed
        note = ""
    else:  # projected: the rate reached so far, over the whole traffic
        shown = elapsed * total / max(done, 1)
        note = f" (projected; stopped at {elapsed / 60:.0f} min, {done:,} of {total:,} done)"
    allowed = quota_seconds(ops)
    return [
        name,
        f"{realms} x {ops:,}",
        f"{shown / 60:,.1f} min{note}",
        f"{allowed / 60:.1f} min",
        f"{shown / allowed:.1%}",
        f"{shown / lower_bound(ops):.1%}",
        f"{throttle.refused:,}",
        f"{throttle.admitted:,}",
        f"{cpu:.1f}",
        f"{cpu / max(throttle.admitted + throttle.refused, 1) * 1e6:.0f}",
        f"{wall:.1f}",
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 operations per realm")
    parser.add_argument("--realms", type=int, default=20)
    parser.add_argument("--ops", type=int, help="operations per realm (default 20,000)")
    parser.add_argument("--tasks", type=int, default=40, help="concurrent tasks per realm")
    parser.add_argument(
        "--baseline-minutes",
        type=float,
        default=60.0,
        help="virtual minutes after which the baseline is stopped and projected",
    )
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    ops = args.ops or (2_000 if args.quick else 20_000)
    print(f"load average before: {load_average()}")

    def with_limiter(run: Run) -> Call:
        limiter = RateLimiter(
            quota_store=MemoryQuotaStore(run.clock),
            clock=run.clock,
            config=QBOConfig(),
            events=run.events,
        )
        return smart_sync_call(
            transport=run.transport,
            client=run.client,
            limiter=limiter,
            clock=run.clock,
            events=run.events,
            counters=run.counters,
        )

    rows = [
        await measure(
            "smart sync", with_limiter, realms=args.realms, ops=ops, tasks=args.tasks, cap=None
        )
    ]
    if not args.no_baseline:
        rows.append(
            await measure(
                "baseline, no limiter, 60 s after a 429",
                lambda run: naive_call(run.client, run.clock, run.counters),
                realms=args.realms,
                ops=ops,
                tasks=args.tasks,
                cap=args.baseline_minutes * 60.0,
            )
        )
    print()
    print_table(
        (
            "run",
            "realms x ops",
            "virtual elapsed",
            "quota allows",
            "ratio",
            "vs exact bound",
            "429s",
            "admitted",
            "CPU s",
            "CPU µs/request",
            "wall s",
        ),
        rows,
    )
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    asyncio.run(main())
