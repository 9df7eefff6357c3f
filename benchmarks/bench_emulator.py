"""Measure the QBO emulator and compare each figure with its target in the same run.

    .venv/bin/python benchmarks/bench_emulator.py [--quick] [--no-subprocess]

1. In-process door: simple reads (`GET /v3/company/{realm}/customer/{id}`) through
   `EmulatorTransport`, one after another in one task. Target: at least 10,000/s.
2. HTTP door on loopback: the same reads through `AiohttpTransport` (one shared
   `ClientSession`) against `serve_emulator` on 127.0.0.1, with 1, 10 and 50 requests in
   flight. Measured twice: with the server on the client's own event loop ("same loop"),
   and with the server in a child process ("subprocess", the fairer figure: each side
   gets its own core). Target: at least 2,000/s, best of the concurrencies.
3. Query over a "large" company (~100,000 objects): a filtered, ordered 1,000-row page
   and two other shapes, end to end through the in-process door (URL parsing, auth and
   JSON encoding included), then the query engine alone (`parse` + `execute` +
   `to_response`). No single entity holds 100,000 rows, so the engine is also timed over
   four copies of the invoices. Target: at most 100 ms.

Every measure has a warm-up and several repetitions; the table shows the median and the
best, and the verdict is judged on the median ("misses (best meets)" when only the best
does). Throttling is off (`throttle=False`), the clock is `SystemClock`, and requests are
built before the timer starts, so the figures are for the emulator and the doors. The
machine's load average is printed before and after: other work skews the numbers.
This is a measurement, not a test: the exit status is 0 whatever the verdicts.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp
import attrs

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.query import (
    default_order_for,
    execute,
    hides_inactive,
    parse,
    to_response,
)
from qbo_adapters.emulator.server import serve_emulator
from qbo_adapters.emulator.settings import CompanySizeName, EmulatorSettings
from qbo_adapters.emulator.store import Company
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.clock import SystemClock
from qbo_core.http import HttpRequest
from qbo_core.ports.http_transport import HttpTransport

READS_PER_SECOND_TARGET = 10_000.0
HTTP_READS_PER_SECOND_TARGET = 2_000.0
QUERY_MS_TARGET = 100.0
IN_FLIGHT = (1, 10, 50)
SEED = 1
SCRIPT = os.path.abspath(__file__)  # the `--serve` child runs this file
TARGET_QUERY = "SELECT * FROM Invoice WHERE TotalAmt > '100' ORDERBY TxnDate DESC MAXRESULTS 1000"


@attrs.frozen(kw_only=True)
class Plan:
    """How much work one run does."""

    reads: int  # in-process reads per timed repetition
    http_reads: int  # HTTP reads per timed repetition (per concurrency)
    warmup: int  # untimed requests before each read measure
    repeat: int  # timed repetitions of each read measure
    query_repeat: int  # timed repetitions of each query (after two warm-up runs)


FULL = Plan(reads=20_000, http_reads=4_000, warmup=1_000, repeat=7, query_repeat=9)
QUICK = Plan(reads=4_000, http_reads=1_000, warmup=300, repeat=3, query_repeat=3)


@attrs.frozen(kw_only=True)
class Row:
    """One line of the table: a median and a best, in `unit` ("/s", "ms" or "s")."""

    measure: str
    unit: str
    median: float
    best: float
    target: float | None = None  # None: shown for context, no verdict
    higher_is_better: bool = True

    def result(self) -> str:
        if self.unit == "/s":
            return f"{self.median:,.0f}/s (best {self.best:,.0f})"
        if self.unit in ("ms", "us"):
            return f"{self.median:.1f} {self.unit} (best {self.best:.1f})"
        return f"{self.median:.2f} s"

    def target_text(self) -> str:
        if self.target is None:
            return "-"
        sign = ">=" if self.higher_is_better else "<="
        if self.unit == "/s":
            return f"{sign} {self.target:,.0f}/s"
        return f"{sign} {self.target:g} {self.unit}"

    def verdict(self) -> str:
        if self.target is None:
            return "info"
        target = self.target

        def meets(value: float) -> bool:
            return value >= target if self.higher_is_better else value <= target

        if meets(self.median):
            return "meets"
        return "misses (best meets)" if meets(self.best) else "misses"


def rate_row(measure: str, count: int, seconds: Sequence[float], target: float | None) -> Row:
    return Row(
        measure=measure,
        unit="/s",
        median=count / statistics.median(seconds),
        best=count / min(seconds),
        target=target,
    )


def ms_row(measure: str, seconds: Sequence[float], target: float | None) -> Row:
    return Row(
        measure=measure,
        unit="ms",
        median=statistics.median(seconds) * 1000,
        best=min(seconds) * 1000,
        target=target,
        higher_is_better=False,
    )


def print_table(rows: Sequence[Row]) -> None:
    cells = [("measure", "result (median, best)", "target", "verdict")]
    cells += [(r.measure, r.result(), r.target_text(), r.verdict()) for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(4)]
    for number, line in enumerate(cells):
        print(" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            print("-+-".join("-" * width for width in widths))


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)"


# -- timing ------------------------------------------------------------------------------


async def time_async(run: Callable[[], Awaitable[None]], repeat: int) -> list[float]:
    """Wall-clock seconds of `repeat` awaited runs, each after a full collection."""
    seconds: list[float] = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        await run()
        seconds.append(time.perf_counter() - started)
    return seconds


def time_calls(run: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock seconds of `repeat` calls, each after a full collection."""
    seconds: list[float] = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return seconds


# -- reads -------------------------------------------------------------------------------


def small_emulator() -> QBOEmulator:
    return QBOEmulator(EmulatorSettings(seed=SEED, throttle=False), clock=SystemClock())


def customer_ids(company: Company) -> list[str]:
    return [str(obj["Id"]) for obj in company.all("Customer")]


def read_requests(
    base_url: str, realm: str, token: str, ids: Sequence[str], count: int
) -> list[HttpRequest]:
    """`count` customer reads cycling through `ids`, built once and reused."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return [
        HttpRequest(
            method="GET",
            url=f"{base_url}/v3/company/{realm}/customer/{ids[i % len(ids)]}?minorversion=75",
            headers=headers,
        )
        for i in range(count)
    ]


async def send_all(
    transport: HttpTransport, requests: Sequence[HttpRequest], in_flight: int
) -> None:
    """Send every request, at most `in_flight` at a time; any non-200 aborts the run."""
    pending = iter(requests)

    async def worker() -> None:
        for request in pending:
            response = await transport.send(request)
            if response.status != 200:
                raise RuntimeError(f"{request!r} answered {response.status}: {response.body!r}")

    if in_flight == 1:
        await worker()
    else:
        await asyncio.gather(*(worker() for _ in range(in_flight)))


async def in_process_reads(plan: Plan) -> list[Row]:
    emulator = small_emulator()
    realm = emulator.realm_ids[0]
    token = emulator.oauth.mint_tokens(realm)["access_token"]
    ids = customer_ids(emulator.companies[realm])
    transport = EmulatorTransport(emulator)
    requests = read_requests("http://emulator.invalid", realm, token, ids, plan.reads)
    await send_all(transport, requests[: plan.warmup], 1)
    seconds = await time_async(functools.partial(send_all, transport, requests, 1), plan.repeat)
    return [rate_row("in-process reads, sequential", plan.reads, seconds, READS_PER_SECOND_TARGET)]


async def http_reads(
    label: str, base_url: str, realm: str, token: str, ids: Sequence[str], plan: Plan
) -> list[Row]:
    """Reads over HTTP at each concurrency, then the best of them against the target."""
    rows: list[Row] = []
    requests = read_requests(base_url, realm, token, ids, plan.http_reads)
    async with aiohttp.ClientSession() as session:
        transport = AiohttpTransport(session)
        for in_flight in IN_FLIGHT:
            await send_all(transport, requests[: plan.warmup], in_flight)
            run = functools.partial(send_all, transport, requests, in_flight)
            seconds = await time_async(run, plan.repeat)
            rows.append(
                rate_row(f"HTTP {label}, {in_flight} in flight", len(requests), seconds, None)
            )
    best = max(rows, key=lambda row: row.median)
    rows.append(
        attrs.evolve(
            best,
            measure=f"HTTP {label}, best of {'/'.join(map(str, IN_FLIGHT))}",
            target=HTTP_READS_PER_SECOND_TARGET,
        )
    )
    return rows


async def http_same_loop(plan: Plan) -> list[Row]:
    emulator = small_emulator()
    realm = emulator.realm_ids[0]
    token = emulator.oauth.mint_tokens(realm)["access_token"]
    ids = customer_ids(emulator.companies[realm])
    server = await serve_emulator(emulator, host="127.0.0.1")
    try:
        return await http_reads("same loop", server.base_url, realm, token, ids, plan)
    finally:
        await server.close()


async def http_subprocess(plan: Plan) -> list[Row]:
    """Serve from a child process running this script with `--serve` (throttle off; it
    prints a token and the customer ids); the child stops when its stdin closes."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        SCRIPT,
        "--serve",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), timeout=120)
        info = json.loads(line)
        return await http_reads(
            "subprocess", info["base_url"], info["realm"], info["token"], info["ids"], plan
        )
    finally:
        child.stdin.close()
        try:
            await asyncio.wait_for(child.wait(), timeout=10)
        except TimeoutError:
            child.kill()
            await child.wait()


async def serve_for_parent() -> None:
    """The `--serve` child: serve a small company, print how to reach it, wait for EOF."""
    emulator = small_emulator()
    realm = emulator.realm_ids[0]
    server = await serve_emulator(emulator, host="127.0.0.1")
    info = {
        "base_url": server.base_url,
        "realm": realm,
        "token": emulator.oauth.mint_tokens(realm)["access_token"],
        # The control API over HTTP needs this in X-Emulator-Token (guard.py).
        "control_token": server.control_token,
        "ids": customer_ids(emulator.companies[realm]),
    }
    print(json.dumps(info), flush=True)
    try:
        await asyncio.to_thread(sys.stdin.read)
    finally:
        await server.close()


# -- queries -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Shape:
    label: str
    entity: str
    text: str


def query_shapes(company: Company) -> list[Shape]:
    """The target query and two others; the time range is the middle half of the data."""
    stamps = sorted(str(obj["MetaData"]["LastUpdatedTime"]) for obj in company.all("Invoice"))
    low, high = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    return [
        Shape(label="Invoice TotalAmt>100 by TxnDate", entity="Invoice", text=TARGET_QUERY),
        Shape(
            label="Customer DisplayName LIKE",
            entity="Customer",
            text="SELECT * FROM Customer WHERE DisplayName LIKE '%son%' MAXRESULTS 1000",
        ),
        Shape(
            label="Invoice LastUpdatedTime range",
            entity="Invoice",
            text=(
                f"SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '{low}' AND "
                f"MetaData.LastUpdatedTime < '{high}' ORDERBY MetaData.LastUpdatedTime "
                "MAXRESULTS 1000"
            ),
        ),
    ]


def run_engine(
    company: Company, entity: str, rows: Sequence[Mapping[str, Any]], text: str, today: dt.date
) -> tuple[int, int]:
    """Parse, execute and shape `text` over `rows`; (matches, page size)."""
    query = parse(text)
    result = execute(
        query,
        rows,
        known_fields=company.known_fields(entity),
        entity_name=entity,
        default_order=default_order_for(entity),
        hide_inactive=hides_inactive(entity),
        today=today,
    )
    to_response(query, result, entity)
    return result.total, len(result.items)


async def queries(plan: Plan, size: CompanySizeName, notes: list[str]) -> list[Row]:
    started = time.perf_counter()
    emulator = QBOEmulator(
        EmulatorSettings(seed=SEED, size=size, throttle=False), clock=SystemClock()
    )
    build = time.perf_counter() - started
    realm = emulator.realm_ids[0]
    company = emulator.companies[realm]
    counts = company.counts()
    biggest = max(counts, key=counts.__getitem__)
    notes.append(
        f"{size} company: {sum(counts.values()):,} objects; largest entity {biggest} "
        f"{counts[biggest]:,} rows (Invoice {counts['Invoice']:,}, Customer "
        f"{counts['Customer']:,}); each query scans only its own entity's rows"
    )
    rows = [Row(measure=f"build {size} company", unit="s", median=build, best=build)]
    token = emulator.oauth.mint_tokens(realm)["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    transport = EmulatorTransport(emulator)
    today = emulator.clock.now().astimezone(emulator.zone).date()

    for shape in query_shapes(company):
        request = HttpRequest(
            method="GET",
            url=f"http://emulator.invalid/v3/company/{realm}/query"
            f"?query={quote(shape.text, safe='')}&minorversion=75",
            headers=headers,
        )
        cold = time.perf_counter()
        response = await transport.send(request)
        cold = time.perf_counter() - cold
        if response.status != 200:
            raise RuntimeError(f"{shape.label}: {response.status} {response.body[:300]!r}")
        await transport.send(request)

        async def door(request: HttpRequest = request) -> None:
            await transport.send(request)

        seconds = await time_async(door, plan.query_repeat)
        rows.append(ms_row(f"query door: {shape.label}", seconds, QUERY_MS_TARGET))

        entity_rows = list(company.all(shape.entity))
        engine = functools.partial(
            run_engine, company, shape.entity, entity_rows, shape.text, today
        )
        total, page = engine()
        engine()
        seconds = time_calls(engine, plan.query_repeat)
        rows.append(ms_row(f"query engine: {shape.label}", seconds, QUERY_MS_TARGET))
        notes.append(
            f"{shape.label}: scans {len(entity_rows):,} {shape.entity} rows, {total:,} match, "
            f"page {page:,}, response {len(response.body) / 1e6:.2f} MB, first (cold) run "
            f"through the door {cold * 1000:.1f} ms"
        )

    # No entity reaches 100,000 rows: run the target query over four copies of the invoices.
    invoices = list(company.all("Invoice"))
    step = max(int(obj["Id"]) for obj in invoices) + 1
    copies = [{**obj, "Id": str(int(obj["Id"]) + k * step)} for k in range(4) for obj in invoices]
    engine = functools.partial(run_engine, company, "Invoice", copies, TARGET_QUERY, today)
    total, page = engine()
    engine()
    seconds = time_calls(engine, plan.query_repeat)
    rows.append(
        ms_row(f"query engine: target over {len(copies):,} invoices", seconds, QUERY_MS_TARGET)
    )
    notes.append(
        f"target query over {len(copies):,} invoices (4 copies, new Ids): {total:,} match, "
        f"page {page:,}"
    )
    return rows


# -- main ----------------------------------------------------------------------------------


async def measure(args: argparse.Namespace) -> None:
    plan = QUICK if args.quick else FULL
    print(f"python {sys.version.split()[0]}; load average before: {load_average()}")
    print(f"plan: {'quick' if args.quick else 'full'} {plan}", flush=True)
    rows: list[Row] = []
    notes: list[str] = []
    rows += await in_process_reads(plan)
    rows += await http_same_loop(plan)
    if not args.no_subprocess:
        rows += await http_subprocess(plan)
    rows += await queries(plan, args.size, notes)
    print()
    print_table(rows)
    print()
    for note in notes:
        print(f"- {note}")
    print(f"load average after: {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and repetitions")
    parser.add_argument(
        "--no-subprocess", action="store_true", help="skip the server-in-a-child-process run"
    )
    parser.add_argument(
        "--size",
        choices=("small", "medium", "large"),
        default="large",
        help="company size for the query measures (default large, ~100,000 objects)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve_for_parent())
        return
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
