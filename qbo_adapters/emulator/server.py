"""The HTTP door: serve a sans-I/O handler (the emulator, or any other) with aiohttp."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

from qbo_adapters.emulator.app import DropConnection, QBOEmulator
from qbo_core.http import Headers, HttpRequest, HttpResponse

__all__ = ["HandlerServer", "serve_emulator"]

Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]

# Hop-by-hop and framing headers are aiohttp's business, not the handler's.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class HandlerServer:
    """Serves `handler` (e.g. `QBOEmulator.handle`) on `host:port` until closed (port 0: any).

    Use as an async context manager; `base_url` is known once it is entered. A
    `DropConnection` raised by the handler closes the socket without an answer
    ("refuse", "reset") or stalls for `stall_seconds` and then closes it
    ("timeout"), which is what a client sees of a server that applied a write and
    never answered.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stall_seconds: float = 130.0,
        max_body_bytes: int = 100 * 1024 * 1024,
    ) -> None:
        self._handler = handler
        self.host = host
        self.port = port
        self.stall_seconds = stall_seconds
        self._max_body = max_body_bytes
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        """Start serving; return the base URL (`http://host:port`)."""
        app = web.Application(client_max_size=self._max_body)
        app.router.add_route("*", "/{tail:.*}", self._serve)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        addresses = self._runner.addresses
        port = int(addresses[0][1]) if addresses else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> HandlerServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        core_request = HttpRequest(
            method=request.method,
            # The target exactly as sent (still percent-encoded), not yarl's re-encoding.
            url=f"{request.scheme}://{request.host}{request.raw_path}",
            headers=Headers(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers
            ),
            body=body,
        )
        try:
            response = await self._handler(core_request)
        except DropConnection as drop:
            if drop.kind == "timeout":
                await asyncio.sleep(self.stall_seconds)
            _abort(request)
            raise web.HTTPInternalServerError() from drop  # never reaches the client
        out = web.Response(status=response.status, body=response.body)
        for name, value in response.headers:
            if name.lower() not in _FRAMING:
                out.headers.add(name, value)
        return out


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


async def serve_emulator(
    emulator: QBOEmulator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    stall_seconds: float = 130.0,
) -> HandlerServer:
    """Start serving `emulator` and point its discovery documents at the real address."""
    server = HandlerServer(emulator.handle, host=host, port=port, stall_seconds=stall_seconds)
    base_url = await server.start()
    emulator.set_base_url(base_url)
    return server
