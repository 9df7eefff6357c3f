"""`qbo emulator`: serve the QBO emulator, built by the container, over HTTP until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.server import serve_emulator
from qbo_container.container import build_container

__all__ = ["CommandError", "run_emulator", "serve_until_stopped"]


class CommandError(Exception):
    """A command cannot do what was asked for a reason the user can fix (one line, exit 2)."""


async def serve_until_stopped(
    emulator: QBOEmulator,
    *,
    host: str,
    port: int,
    out: TextIO = sys.stdout,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve `emulator`, print how to reach it, and wait for `stop` or SIGINT / SIGTERM."""
    server = await serve_emulator(emulator, host=host, port=port)
    try:
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Not available off the main thread or on some platforms: Ctrl-C still works there.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        settings = emulator.settings
        base = server.base_url
        lines = [
            f"QBO emulator serving at {base}",
            f"  data API base URL : {base}  (e.g. {base}/v3/company/<realm>/customer/1)",
            f"  realm ids         : {', '.join(emulator.realm_ids)}",
            f"  company size      : {settings.size} (seed {settings.seed})",
            f"  throttling        : {'on' if settings.throttle else 'off'}",
            f"  client id         : {settings.client_id}",
            f"  client secret     : {settings.client_secret}",
            f"  discovery         : {base}/.well-known/openid_sandbox_configuration",
            f"  authorize         : {base}/connect/oauth2",
            f"  token             : {base}/oauth2/v1/tokens/bearer",
            f"  control API       : {base}/_emulator/state",
            "Press Ctrl-C to stop.",
        ]
        print("\n".join(lines), file=out, flush=True)
        await stop.wait()
    finally:
        await server.close()


def run_emulator(
    *,
    host: str,
    port: int,
    emulator: Mapping[str, Any] | None = None,
    file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """The body of `qbo emulator`; returns the exit status.

    The emulator is the container's, built from the settings (`emulator` section of
    the defaults, `file`, `QBO_EMULATOR__*` variables), with `emulator` (the command
    line's flags) winning over them. Raises `ConfigurationError` for a bad setting and
    `CommandError` when the address cannot be served.
    """
    container = build_container({"emulator": dict(emulator or {})}, file=file, environ=environ)
    served = container.emulator()
    try:
        asyncio.run(serve_until_stopped(served, host=host, port=port, out=out))
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise CommandError(f"cannot listen on {host}:{port}: {reason or exc}") from exc
    return 0
