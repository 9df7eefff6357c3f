"""Peak memory of streaming a query with `query_all`: 20,000 vs 200,000 entities.

    .venv/bin/python benchmarks/bench_streaming.py            # about 1 minute
    .venv/bin/python benchmarks/bench_streaming.py --quick    # 2,000 vs 20,000 rows

Two sources, each measured with `tracemalloc` (peak of Python allocations while the
stream is consumed, after a warm-up page):

- **fabricated**: a caller that builds each requested page of typed `Customer`s on the
  fly (no emulator: the in-process emulator holding 200,000 customers would measure the
  emulator's own store, not the stream). The issue's target: the two peaks differ by
  less than 10%.
- **emulator**: the in-process emulator (`EmulatorTransport`, full wire path: request
  building, JSON, decoding) seeded with N customers (2,000 and 20,000: seeding 200,000
  in process takes minutes and the store dwarfs the stream); its store is allocated
  before the measurement starts, so the peak is what the streaming adds.

The baseline in the same run is materialising the same stream with `list(...)`, whose
peak grows with N. Prints one table; the exit status is 0 whatever the verdicts.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.clock import FakeClock
from qbo_core.config import QBOConfig
from qbo_core.dtos import RealmAuth
from qbo_core.entities import Customer, MetaData, QBOEntity
from qbo_core.query import Query
from qbo_core.results import QueryPage
from qbo_core.services import QBORawClient, query_all

STAMP = datetime(2031, 6, 1, tzinfo=UTC)


class FabricatingCaller:
    """Answers each page of `SELECT * FROM Customer` with fresh `Customer`s (N in all)."""

    def __init__(self, total: int) -> None:
        self.total = total

    async def query(self, statement: Any) -> QueryPage[Any]:
        start, limit = statement.start, statement.limit
        ids = range(start, min(start + limit, self.total + 1))
        items = tuple(
            Customer(
                id=str(i),
                sync_token="0",
                display_name=f"Customer {i:07d}",
                meta=MetaData(create_time=STAMP, last_updated_time=STAMP),
            )
            for i in ids
        )
        return QueryPage(
            entity_type="Customer", items=items, start_position=start, max_results=len(items)
        )


class EmulatorCaller:
    """A raw client bound to one in-process emulator realm holding `total` customers."""

    def __init__(self, total: int) -> None:
        clock = FakeClock(STAMP)
        self.emulator = QBOEmulator(
            EmulatorSettings(seed=1, size="empty", throttle=False), clock=clock
        )
        realm = self.emulator.realm_ids[0]
        company = self.emulator.companies[realm]
        for i in range(total):
            company.save("Customer", {"DisplayName": f"Customer {i:07d}"}, STAMP)
        token = self.emulator.oauth.mint_tokens(realm)["access_token"]
        self.auth = RealmAuth(realm_id=realm, access_token=token)
        self.raw = QBORawClient(EmulatorTransport(self.emulator), QBOConfig())

    async def query(self, statement: Any) -> QueryPage[QBOEntity]:
        return await self.raw.query(self.auth, statement)


async def _stream(caller: Any) -> int:
    count = 0
    async for _ in query_all(caller, Query.select(Customer)):
        count += 1
    return count


async def _materialise(caller: Any) -> int:
    rows = [item async for item in query_all(caller, Query.select(Customer))]
    return len(rows)


async def _call(run: Callable[[], Awaitable[int]]) -> int:
    return await run()


def _peak(run: Callable[[], Awaitable[int]]) -> tuple[int, float, float]:
    """(rows, peak MiB, seconds) of one run under tracemalloc."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    began = time.perf_counter()
    rows = asyncio.run(_call(run))
    seconds = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows, peak / 2**20, seconds


def _row(source: str, how: str, n: int, rows: int, peak: float, seconds: float) -> str:
    return f"| {source} | {how} | {n:,} | {rows:,} | {peak:8.2f} | {seconds:6.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 vs 20,000 rows")
    args = parser.parse_args()
    small, large = (2_000, 20_000) if args.quick else (20_000, 200_000)
    print("| source | how | N | rows read | peak MiB | seconds |")
    print("|---|---|---|---|---|---|")
    peaks: dict[tuple[str, str, int], float] = {}
    for n in (small, large):
        fabricated = FabricatingCaller(n)
        for how, run in (("query_all", _stream), ("list(query_all) baseline", _materialise)):
            rows, peak, seconds = _peak(functools.partial(run, fabricated))
            peaks["fabricated", how, n] = peak
            print(_row("fabricated", how, n, rows, peak, seconds))
    # Both several pages long, so the stream's steady state is what is compared.
    emulator_sizes = (2_000, 5_000) if args.quick else (2_000, 20_000)
    for n in emulator_sizes:
        emulator = EmulatorCaller(n)
        rows, peak, seconds = _peak(functools.partial(_stream, emulator))
        peaks["emulator", "query_all", n] = peak
        print(_row("emulator", "query_all", n, rows, peak, seconds))
    a, b = peaks["fabricated", "query_all", small], peaks["fabricated", "query_all", large]
    difference = abs(b - a) / a * 100
    verdict = "PASS" if difference < 10 else "FAIL"
    print()
    print(
        f"streaming peak, {small:,} vs {large:,} fabricated rows: {a:.2f} vs {b:.2f} MiB, "
        f"difference {difference:.1f}% (target < 10%): {verdict}"
    )
    e1, e2 = emulator_sizes
    ea, eb = peaks["emulator", "query_all", e1], peaks["emulator", "query_all", e2]
    print(
        f"streaming peak through the emulator, {e1:,} vs {e2:,} rows: {ea:.2f} vs {eb:.2f} MiB "
        f"({abs(eb - ea) / ea * 100:.1f}% apart)"
    )
    la = peaks["fabricated", "list(query_all) baseline", small]
    lb = peaks["fabricated", "list(query_all) baseline", large]
    print(f"baseline list(...): {la:.2f} vs {lb:.2f} MiB ({lb / la:.1f}x)")


if __name__ == "__main__":
    main()
