"""Measure what a hostile answer costs the client: a gzip bomb read with and without a cap.

    .venv/bin/python benchmarks/bench_response_cap.py [--expanded-mib 512]

A loopback aiohttp server answers one GET with about 0.5 MiB of gzip that expands to
`--expanded-mib` MiB of zeros. Each case runs in a fresh child process, so its peak
resident memory (`ru_maxrss`) is its own:

- `aiohttp read()`: the session's plain `response.read()`, what a transport without a cap
  does (the baseline);
- `AiohttpTransport`, with the default cap (200 MiB) and with a 16 MiB cap: the body is
  counted after decompression while it streams, and reading stops past the cap.

Prints `case | outcome | seconds | peak RSS`; the exit status is 0 whatever the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
import zlib

import aiohttp
from aiohttp import web

from qbo_adapters.aiohttp import AiohttpTransport
from qbo_core.errors import QBOError
from qbo_core.http import MAX_RESPONSE_BYTES, HttpRequest

MIB = 1024 * 1024
CASES = {
    "aiohttp read() (no cap)": None,
    "AiohttpTransport, 200 MiB cap": MAX_RESPONSE_BYTES,
    "AiohttpTransport, 16 MiB cap": 16 * MIB,
}


def bomb(expanded_mib: int) -> bytes:
    """gzip of `expanded_mib` MiB of zeros, compressed a MiB at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MIB)
    parts = [compressor.compress(zeros) for _ in range(expanded_mib)]
    return b"".join(parts) + compressor.flush()


async def serve(body: bytes) -> tuple[web.AppRunner, str]:
    async def answer(_: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/bomb", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/bomb"


async def run_case(cap: int | None, expanded_mib: int) -> dict[str, object]:
    runner, url = await serve(bomb(expanded_mib))
    started = time.perf_counter()
    try:
        async with aiohttp.ClientSession() as session:
            if cap is None:
                async with session.get(url) as response:
                    outcome = f"read {len(await response.read()) // MIB} MiB"
            else:
                transport = AiohttpTransport(session, max_response_bytes=cap)
                try:
                    answer = await transport.send(HttpRequest(method="GET", url=url))
                    outcome = f"read {len(answer.body) // MIB} MiB"
                except QBOError as error:
                    outcome = type(error).__name__
    finally:
        elapsed = time.perf_counter() - started
        await runner.cleanup()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"outcome": outcome, "seconds": elapsed, "peak_mib": peak_mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expanded-mib", type=int, default=512)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None:
        print(json.dumps(asyncio.run(run_case(CASES[args.case], args.expanded_mib))))
        return
    print(f"gzip bomb: {len(bomb(args.expanded_mib)) / MIB:.2f} MiB -> {args.expanded_mib} MiB")
    print(f"{'case':<32} | {'outcome':<22} | {'seconds':>7} | {'peak RSS':>9}")
    print("-" * 80)
    for name in CASES:
        done = subprocess.run(
            [sys.executable, __file__, "--case", name, "--expanded-mib", str(args.expanded_mib)],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(done.stdout)
        print(
            f"{name:<32} | {row['outcome']:<22} | {row['seconds']:>7.2f} |"
            f" {row['peak_mib']:>5.0f} MiB"
        )


if __name__ == "__main__":
    main()
