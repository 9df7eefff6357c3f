"""AiohttpTransport's edges: timeouts, broken links and oversized bodies become core errors."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_core.errors import (
    ConnectionLostError,
    ConnectTimeoutError,
    ReadTimeoutError,
    RequestNotSentError,
    ResponseTooLargeError,
)
from qbo_core.http import HttpRequest


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A loopback port whose accept queue is full, so a new connection never completes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):  # a non-blocking connect is in progress
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for filler in fillers:
        filler.close()
    server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


async def _raw_server(reply: bytes) -> tuple[asyncio.Server, int]:
    """A loopback server that reads a request, writes `reply` verbatim and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_connection_that_never_completes_is_a_connect_timeout(
    full_backlog: int, session: aiohttp.ClientSession
) -> None:
    """Connecting past the connect timeout raises ConnectTimeoutError: never sent, retryable."""
    transport = AiohttpTransport(session, connect_timeout=0.2)
    with pytest.raises(ConnectTimeoutError) as caught:
        await transport.send(HttpRequest(method="POST", url=f"http://127.0.0.1:{full_backlog}/x"))
    assert isinstance(caught.value, RequestNotSentError)
    assert not caught.value.maybe_applied


async def test_a_body_cut_short_is_a_lost_connection(session: aiohttp.ClientSession) -> None:
    """A response that promises more bytes than it sends is ConnectionLostError (maybe applied)."""
    server, port = await _raw_server(
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Cus'
    )
    async with server:
        transport = AiohttpTransport(session)
        with pytest.raises(ConnectionLostError) as caught:
            await transport.send(HttpRequest(method="POST", url=f"http://127.0.0.1:{port}/x"))
    assert caught.value.maybe_applied


async def test_garbage_instead_of_http_is_a_lost_connection(session: aiohttp.ClientSession) -> None:
    """Bytes that are not HTTP at all end the exchange as ConnectionLostError, not a crash."""
    server, port = await _raw_server(b"this is not HTTP\r\n\r\n")
    async with server:
        with pytest.raises(ConnectionLostError):
            await AiohttpTransport(session).send(
                HttpRequest(method="GET", url=f"http://127.0.0.1:{port}/x")
            )


async def test_silence_after_sending_is_a_read_timeout(session: aiohttp.ClientSession) -> None:
    """A server that reads the request and never answers gives ReadTimeoutError."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await reader.read()  # wait for the client to give up
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        transport = AiohttpTransport(session, read_timeout=0.2)
        with pytest.raises(ReadTimeoutError):
            await transport.send(HttpRequest(method="POST", url=f"http://127.0.0.1:{port}/x"))


@pytest.mark.parametrize("name", ["connect_timeout", "read_timeout", "total_timeout"])
@pytest.mark.parametrize("value", [0, -1, 121])
def test_timeouts_outside_zero_to_120_seconds_are_refused(name: str, value: float) -> None:
    """No timeout may be zero, negative, or beyond Intuit's own 120 s ceiling."""
    with pytest.raises(ValueError, match=name):
        AiohttpTransport(object(), **{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, -1, 200 * 1024 * 1024 + 1])
def test_a_response_cap_outside_one_byte_to_200_mib_is_refused(value: int) -> None:
    """The body cap is positive and no larger than the wire's own limit."""
    with pytest.raises(ValueError, match="max_response_bytes"):
        AiohttpTransport(object(), max_response_bytes=value)  # type: ignore[arg-type]


async def test_a_declared_length_over_the_cap_is_refused_before_reading(
    session: aiohttp.ClientSession,
) -> None:
    """A Content-Length over the cap is refused on the headers, with status and tid kept."""
    server, port = await _raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nintuit_tid: tid-9\r\n"
        b"Content-Length: 1000\r\n\r\n" + b" " * 1000
    )
    async with server:
        transport = AiohttpTransport(session, max_response_bytes=999)
        with pytest.raises(ResponseTooLargeError) as caught:
            await transport.send(HttpRequest(method="GET", url=f"http://127.0.0.1:{port}/x"))
    error = caught.value
    assert (error.status, error.intuit_tid, error.max_bytes) == (200, "tid-9", 999)
    assert error.body_excerpt == ""
    assert "max_response_bytes=999" in repr(transport)


@pytest.mark.parametrize("size", [999, 1000])
async def test_a_body_at_or_under_the_cap_is_returned_whole(
    session: aiohttp.ClientSession, size: int
) -> None:
    """The cap is inclusive: a body of exactly `max_response_bytes` is returned."""
    server, port = await _raw_server(
        f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode() + b"a" * size
    )
    async with server:
        transport = AiohttpTransport(session, max_response_bytes=1000)
        response = await transport.send(HttpRequest(method="GET", url=f"http://127.0.0.1:{port}/x"))
    assert response.body == b"a" * size
