"""Measure QBORawClient: CPU per Customer read (build + decode) and reads/s over HTTP.

    .venv/bin/python benchmarks/bench_raw_client.py           # full run
    .venv/bin/python benchmarks/bench_raw_client.py --quick   # fewer repetitions

Prints one table (median and best of N) with targets judged in the same run:

- build + decode of one Customer read (`wire.requests.build_read` +
  `wire.responses.decode_entity_response`), no transport at all: target <= 60 us;
- `QBORawClient.read` over a transport that returns a canned answer (client overhead);
- `QBORawClient.read` over the in-process emulator door, and the emulator's own share
  (`QBOEmulator.handle` alone on the same requests), so that the client's part shows;
- reads/s through `AiohttpTransport` against the emulator's HTTP door served from a
  child process, sequential and with 10 in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Sequence
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_emulator import (
    Row,
    customer_ids,
    load_average,
    print_table,
    small_emulator,
    time_async,
    time_calls,
)

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.fake_transport import FakeTransport
from qbo_core.config import QBOConfig
from qbo_core.dtos import RealmAuth
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.services import QBORawClient
from qbo_core.wire.requests import build_read
from qbo_core.wire.responses import decode_entity_response

BUILD_DECODE_US_TARGET = 60.0
CHILD = Path(__file__).resolve().with_name("bench_emulator.py")


def us_row(measure: str, ops: int, seconds: Sequence[float], target: float | None) -> Row:
    per_op = [s / ops * 1e6 for s in seconds]
    return Row(
        measure=measure,
        unit="us",
        median=sorted(per_op)[len(per_op) // 2],
        best=min(per_op),
        target=target,
        higher_is_better=False,
    )


def rate(measure: str, ops: int, seconds: Sequence[float]) -> Row:
    ordered = sorted(seconds)
    return Row(
        measure=measure, unit="/s", median=ops / ordered[len(ordered) // 2], best=ops / ordered[0]
    )


async def cpu_rows(ops: int, repeat: int) -> list[Row]:
    emulator = small_emulator()
    realm = emulator.realm_ids[0]
    token = emulator.oauth.mint_tokens(realm)["access_token"]
    auth = RealmAuth(realm_id=realm, access_token=token)
    ids = customer_ids(emulator.companies[realm])
    config = QBOConfig()
    requests = [build_read(config, auth, "Customer", ids[i % len(ids)]) for i in range(ops)]
    answers = [await emulator.handle(r) for r in requests[: len(ids)]]
    canned = answers[0]
    body_size = len(canned.body)

    def build_and_decode() -> None:
        for i in range(ops):
            build_read(config, auth, "Customer", ids[i % len(ids)])
            decode_entity_response(answers[i % len(answers)], "Customer")

    time_calls(build_and_decode, 1)
    rows = [
        us_row(
            f"build + decode, one Customer read ({body_size} B)",
            ops,
            time_calls(build_and_decode, repeat),
            BUILD_DECODE_US_TARGET,
        )
    ]

    def canned_answer(_: HttpRequest) -> HttpResponse:
        return canned

    fake_client = QBORawClient(FakeTransport(canned_answer), config)

    async def fake_reads() -> None:
        for i in range(ops):
            await fake_client.read(auth, "Customer", ids[i % len(ids)])

    await fake_reads()
    rows.append(
        us_row("client.read, canned transport", ops, await time_async(fake_reads, repeat), None)
    )

    emulator_client = QBORawClient(EmulatorTransport(emulator), config)

    async def emulator_reads() -> None:
        for i in range(ops):
            await emulator_client.read(auth, "Customer", ids[i % len(ids)])

    async def emulator_alone() -> None:
        for request in requests:
            await emulator.handle(request)

    await emulator_reads()
    whole = await time_async(emulator_reads, repeat)
    share = await time_async(emulator_alone, repeat)
    rows.append(us_row("client.read, in-process emulator", ops, whole, None))
    rows.append(us_row("  of which the emulator (handle alone)", ops, share, None))
    return rows


async def http_rows(reads: int, repeat: int) -> list[Row]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        "--serve",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    import json

    try:
        info = json.loads(await asyncio.wait_for(child.stdout.readline(), timeout=120))
        auth = RealmAuth(realm_id=info["realm"], access_token=info["token"])
        ids: list[str] = info["ids"]
        rows: list[Row] = []
        async with aiohttp.ClientSession() as session:
            client = QBORawClient(
                AiohttpTransport(session), QBOConfig(api_base_url=info["base_url"])
            )
            for in_flight in (1, 10):

                async def run(in_flight: int = in_flight) -> None:
                    counter = iter(range(reads))

                    async def worker() -> None:
                        for i in counter:
                            await client.read(auth, "Customer", ids[i % len(ids)])

                    await asyncio.gather(*(worker() for _ in range(in_flight)))

                await run()
                rows.append(
                    rate(
                        f"client.read over HTTP (child process), {in_flight} in flight",
                        reads,
                        await time_async(functools.partial(run), repeat),
                    )
                )
        return rows
    finally:
        child.stdin.close()
        await asyncio.wait_for(child.wait(), timeout=30)


async def main(quick: bool) -> None:
    ops, repeat, reads = (2_000, 3, 1_000) if quick else (10_000, 7, 3_000)
    print(f"load average before: {load_average()}")
    rows = await cpu_rows(ops, repeat)
    rows += await http_rows(reads, repeat)
    print_table(rows)
    print(f"load average after:  {load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    asyncio.run(main(parser.parse_args().quick))
