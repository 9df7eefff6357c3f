"""`EmulatorTransport`: the in-process door onto the emulator (an `HttpTransport`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from qbo_adapters.emulator.app import DropConnection, QBOEmulator
from qbo_core.errors import ConnectError, ConnectionLostError, ReadTimeoutError
from qbo_core.http import HttpRequest, HttpResponse

Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]

__all__ = ["EmulatorTransport"]


class EmulatorTransport:
    """Sends requests straight into a `QBOEmulator`, no sockets involved.

    `target` is an emulator, or any sans-I/O handler `HttpRequest -> HttpResponse`
    (coroutine). Any URL is accepted (only its path and query string matter) unless
    `base_url` is given: then other origins fail with `ConnectError`, as they would
    for a real transport. An injected dropped
    connection becomes the `TransportError` a real transport would raise:
    "refuse" → `ConnectError`, "reset" → `ConnectionLostError`,
    "timeout" (applied, answer lost) → `ReadTimeoutError`.

    Each request gives the event loop one turn before it is handled, as waiting for a
    socket does: other tasks run meanwhile, and a cancellation lands there, so code
    tested through this door meets the interleavings and cancellation points it meets
    over a network.
    """

    def __init__(self, target: QBOEmulator | Handler, *, base_url: str | None = None) -> None:
        self.emulator = target if isinstance(target, QBOEmulator) else None
        self._handle: Handler = target.handle if isinstance(target, QBOEmulator) else target
        self._origin = base_url.rstrip("/") + "/" if base_url else None

    async def send(self, request: HttpRequest) -> HttpResponse:
        await asyncio.sleep(0)  # the turn a socket wait would give (see the class)
        if self._origin is not None and not request.url.startswith(self._origin):
            raise ConnectError(f"no emulator listens at {request.url.split('?', 1)[0]}")
        try:
            return await self._handle(request)
        except DropConnection as drop:
            if drop.kind == "refuse":
                raise ConnectError(
                    "connection refused by the emulator (injected)", detail=request.url
                ) from drop
            if drop.kind == "reset":
                raise ConnectionLostError(
                    "connection reset by the emulator (injected)", detail=request.url
                ) from drop
            raise ReadTimeoutError(
                "no response from the emulator before the timeout (injected)",
                detail=request.url,
            ) from drop

    def __repr__(self) -> str:
        where = self.emulator.base_url if self.emulator is not None else "handler"
        return f"EmulatorTransport({where})"
