"""The HTTP door: serve a sans-I/O handler (the emulator, or any other) with aiohttp.

Bounds, so that no client can hold the server or its file descriptors:

- a connection must deliver a request's complete header block within `header_timeout`
  seconds (10) of connecting, or of sending the block's first byte on a kept-alive
  connection; otherwise it is closed (`_HeaderDeadline`, at the protocol level, since
  aiohttp times out neither);
- a kept-alive connection idle for `keepalive_timeout` seconds (60) is closed;
- a request body must arrive within `body_timeout` seconds (120, QBO's request timeout)
  and hold at most `max_body_bytes` (100 MB, QBO's upload limit): 408 / 413 otherwise.

What one request may cost once read is bounded in the emulator itself (query length
and IN lists, LIKE in linear time, JSON nesting, batch size, MAXRESULTS), so a request
is answered in milliseconds and does not starve the others.

`serve_emulator` also runs the emulator's webhook dispatcher (`webhooks.py`) for as long
as the server: its `run()` loop starts with the server (idle until a subscription is
configured, by the Python API or `PUT /_emulator/webhooks`) and is cancelled when it
closes. Deliveries go through an `AiohttpTransport` on a session the server owns (opened
at the first delivery), unless
the emulator was given a `webhook_transport`. On a `FakeClock` the loop does not sleep
until a retry is due (that would move the clock): a retry goes out when the control API
advances the clock past it, or on `POST /_emulator/webhooks/deliver`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.emulator.app import DropConnection, QBOEmulator
from qbo_adapters.emulator.guard import HttpGuard, is_loopback, is_wildcard
from qbo_adapters.memory.clock import FakeClock
from qbo_core.http import Headers, HttpRequest, HttpResponse

__all__ = ["HandlerServer", "serve_emulator"]

Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]

_log = logging.getLogger(__name__)

# Hop-by-hop and framing headers are aiohttp's business, not the handler's.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_END_OF_HEADERS = (b"\r\n\r\n", b"\n\n")


class _HeaderDeadline(asyncio.Protocol):
    """Wraps aiohttp's protocol; closes the connection when a header block is slow.

    The deadline runs from the connection's start, and on a kept-alive connection from
    the first byte after the previous request was answered, until the blank line that
    ends the headers. While a request is being served (`request_done` not yet called)
    bytes are the body and are not timed here.
    """

    def __init__(self, inner: Any, timeout: float) -> None:
        self._inner = inner
        self._timeout = timeout
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._busy = False
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._inner.connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._timer is None and not self._busy:
            self._arm()  # the first bytes of the next request
        if self._timer is not None:
            window = self._tail + data
            if any(end in window for end in _END_OF_HEADERS):
                self._disarm()
                self._busy = True
                self._tail = b""
            else:
                self._tail = window[-3:]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        result: bool | None = self._inner.eof_received()
        return result

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def request_done(self) -> None:
        """The request being served was answered: the next bytes start a header block."""
        self._busy = False

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._timeout, self._expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if self._transport is not None:
            self._transport.abort()


class HandlerServer:
    """Serves `handler` (e.g. `QBOEmulator.handle`) on `host:port` until closed (port 0: any).

    Use as an async context manager; `base_url` is known once it is entered. A
    `DropConnection` raised by the handler closes the socket without an answer
    ("refuse", "reset") or stalls for `stall_seconds` and then closes it
    ("timeout"), which is what a client sees of a server that applied a write and
    never answered. A `guard` (`guard.py`) sees each request first and may refuse it.
    The timeouts and size bound are in the module docstring.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stall_seconds: float = 130.0,
        max_body_bytes: int = 100 * 1024 * 1024,
        header_timeout: float = 10.0,
        body_timeout: float = 120.0,
        keepalive_timeout: float = 60.0,
        guard: HttpGuard | None = None,
    ) -> None:
        self._handler = handler
        self.host = host
        self.port = port
        self.stall_seconds = stall_seconds
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.keepalive_timeout = keepalive_timeout
        self.guard = guard
        self._max_body = max_body_bytes
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._cleanups: list[Callable[[], Awaitable[None]]] = []
        self.base_url = ""

    def add_cleanup(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Await `cleanup` when the server closes (first, newest first), e.g. to stop a
        background task started with it."""
        self._cleanups.append(cleanup)

    @property
    def control_token(self) -> str | None:
        """The token the control API asks for over this door (`None`: no guard)."""
        return self.guard.control_token if self.guard is not None else None

    async def start(self) -> str:
        """Start serving; return the base URL (`http://host:port`)."""
        app = web.Application(client_max_size=self._max_body)
        app.router.add_route("*", "/{tail:.*}", self._serve)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=self.keepalive_timeout,
        )
        await self._runner.setup()
        protocols = self._runner.server
        assert protocols is not None
        timeout = self.header_timeout
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _HeaderDeadline(protocols(), timeout),
            self.host or None,
            self.port,
            reuse_address=True,
        )
        port = int(self._server.sockets[0].getsockname()[1]) if self._server.sockets else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def close(self) -> None:
        while self._cleanups:
            await self._cleanups.pop()()
        if self._server is not None:
            self._server.close()
        if self._runner is not None:
            await self._runner.cleanup()  # closes the open connections
            self._runner = None
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

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
        try:
            return await self._answer(request)
        finally:
            transport = request.transport
            protocol = transport.get_protocol() if transport is not None else None
            if isinstance(protocol, _HeaderDeadline):
                protocol.request_done()

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        try:
            async with asyncio.timeout(self.body_timeout):
                body = await request.read()
        except TimeoutError:
            _abort_later(request)
            return web.Response(status=408, text="the request body took too long to arrive")
        core_request = HttpRequest(
            method=request.method,
            # The target exactly as sent (still percent-encoded), not yarl's re-encoding.
            url=f"{request.scheme}://{request.headers.get('Host', '')}{request.raw_path}",
            headers=Headers(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers
            ),
            body=body,
        )
        refusal = self.guard.check(core_request) if self.guard is not None else None
        try:
            response = refusal or await self._handler(core_request)
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


def _abort_later(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        asyncio.get_running_loop().call_soon(transport.close)


def advertised_host(host: str) -> str:
    """The address to name in discovery documents for a server bound to `host`.

    A wildcard address (`0.0.0.0`, `::`) is no place to connect to: the machine's
    outward-facing address is named instead (found by routing, no packet is sent),
    and loopback when it has none.
    """
    if not is_wildcard(host):
        return host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    probe_target = ("2001:db8::1", 9) if family == socket.AF_INET6 else ("192.0.2.1", 9)
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect(probe_target)  # UDP: picks a route, sends nothing
            address = str(probe.getsockname()[0])
    except OSError:
        address = ""
    if not address or is_wildcard(address):
        return "::1" if family == socket.AF_INET6 else "127.0.0.1"
    return address


async def serve_emulator(
    emulator: QBOEmulator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    stall_seconds: float = 130.0,
    control_token: str | None = None,
    allowed_hosts: Iterable[str] = (),
    header_timeout: float = 10.0,
    body_timeout: float = 120.0,
    max_body_bytes: int = 100 * 1024 * 1024,
) -> HandlerServer:
    """Start serving `emulator` and point its discovery documents at the real address.

    Requests pass an `HttpGuard` first: the control API needs `control_token` (a fresh
    `secrets.token_urlsafe` when not given; read it back as `server.control_token`), and
    `Host` must name the bound address or one of `allowed_hosts`. A non-loopback `host`
    logs a warning; a wildcard one is advertised as a concrete address
    (`advertised_host`), never as `0.0.0.0`.
    """
    token = control_token if control_token is not None else secrets.token_urlsafe(32)
    guard = HttpGuard.for_address(host, control_token=token, allowed_hosts=allowed_hosts)
    server = HandlerServer(
        emulator.handle,
        host=host,
        port=port,
        stall_seconds=stall_seconds,
        max_body_bytes=max_body_bytes,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        guard=guard,
    )
    await server.start()
    if not is_loopback(host):
        _log.warning(
            "the QBO emulator listens on %s, a non-loopback address: other machines can "
            "reach it (the control API still needs the control token)",
            host or "every interface",
        )
    advertised = advertised_host(host)
    bracketed = f"[{advertised}]" if ":" in advertised else advertised
    emulator.set_base_url(f"http://{bracketed}:{server.base_url.rsplit(':', 1)[1]}")
    if advertised != host:
        server.base_url = emulator.base_url
    await _start_webhooks(emulator, server)
    return server


class _WebhookTransport:
    """An `AiohttpTransport` on a session of its own, opened at the first webhook sent
    (a server that sends none opens none) and closed with the server."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._transport: AiohttpTransport | None = None

    async def send(self, request: HttpRequest) -> HttpResponse:
        if self._transport is None:
            self._session = aiohttp.ClientSession()
            self._transport = AiohttpTransport(self._session)
        return await self._transport.send(request)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = self._transport = None


async def _start_webhooks(emulator: QBOEmulator, server: HandlerServer) -> None:
    """Run the emulator's webhook dispatcher while `server` serves (module docstring)."""
    dispatcher = emulator.webhooks
    owned: _WebhookTransport | None = None
    if dispatcher.transport is None:
        owned = _WebhookTransport()
        dispatcher.transport = owned
    task = asyncio.create_task(
        dispatcher.run(sleep_on_clock=not isinstance(emulator.clock, FakeClock)),
        name="qbo-emulator-webhooks",
    )

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if owned is not None:
            if dispatcher.transport is owned:
                dispatcher.transport = None
            await owned.close()

    server.add_cleanup(stop)
