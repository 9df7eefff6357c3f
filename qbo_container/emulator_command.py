"""`qbo emulator`: serve the QBO emulator over HTTP until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import TextIO

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.server import serve_emulator
from qbo_adapters.emulator.settings import CompanySizeName, EmulatorSettings
from qbo_adapters.memory.clock import SystemClock
from qbo_core.errors import ConfigurationError

__all__ = ["run_emulator", "serve_until_stopped"]


async def serve_until_stopped(
    settings: EmulatorSettings,
    *,
    host: str,
    port: int,
    out: TextIO = sys.stdout,
    stop: asyncio.Event | None = None,
) -> None:
    """Build the emulator, serve it, print how to reach it, and wait for `stop` or a signal."""
    emulator = QBOEmulator(settings, clock=SystemClock())
    server = await serve_emulator(emulator, host=host, port=port)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not available off the main thread or on some platforms: Ctrl-C still works there.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    base = server.base_url
    print(f"QBO emulator serving at {base}", file=out)
    print(f"  data API base URL : {base}  (e.g. {base}/v3/company/<realm>/customer/1)", file=out)
    print(f"  realm ids         : {', '.join(emulator.realm_ids)}", file=out)
    print(f"  client id         : {settings.client_id}", file=out)
    print(f"  client secret     : {settings.client_secret}", file=out)
    print(f"  discovery         : {base}/.well-known/openid_sandbox_configuration", file=out)
    print(f"  authorize         : {base}/connect/oauth2", file=out)
    print(f"  token             : {base}/oauth2/v1/tokens/bearer", file=out)
    print(f"  control API       : {base}/_emulator/state", file=out)
    print("Press Ctrl-C to stop.", file=out, flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()


def run_emulator(
    *,
    host: str,
    port: int,
    client_id: str,
    client_secret: str,
    auto_consent: bool,
    seed: int,
    size: CompanySizeName,
    realms: int,
    throttle: bool = True,
) -> int:
    """The body of `qbo emulator`; returns the exit status."""
    if realms < 1:
        raise ConfigurationError("--realms must be at least 1", field="realms")
    if not client_id or not client_secret:
        raise ConfigurationError("client id and secret must not be empty", field="client_id")
    settings = EmulatorSettings(
        client_id=client_id,
        client_secret=client_secret,
        auto_consent=auto_consent,
        seed=seed,
        size=size,
        realms=realms,
        throttle=throttle,
    )
    try:
        asyncio.run(serve_until_stopped(settings, host=host, port=port))
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return 0
