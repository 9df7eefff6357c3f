"""AiohttpTransport's edges: timeouts, broken links and oversized bodies become core errors."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import random
import socket
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_core.errors import (
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    ReadTimeoutError,
    RequestNotSentError,
    ResponseTooLargeError,
)
from qbo_core.http import HttpRequest
from qbo_core.wire.faults import EXCERPT_BYTES


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


# --------------------------------------------------------------------- an answering server


QUERY_URL_PATH = (
    "/v3/company/1/query?query=select%20%2A%20from%20Customer%20where%20Name%20%3D%20%27a%2Bb%27"
    "&minorversion=75"
)


async def _echo(request: web.Request) -> web.Response:
    """What arrived: method, path and query as sent, the headers that matter, the body."""
    answer = {
        "method": request.method,
        "target": request.raw_path,
        "accept": request.headers.get("Accept"),
        "user_agent": request.headers.get("User-Agent"),
        "requestid": request.headers.get("Request-Id"),
        "length": request.headers.get("Content-Length"),
        "body": (await request.read()).decode("latin-1"),
    }
    response = web.json_response(answer, status=201, headers={"intuit_tid": "tid-echo"})
    response.headers.add("X-Multi", "a")
    response.headers.add("X-Multi", "b")
    return response


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/echo")


async def _trickle(request: web.Request) -> web.StreamResponse:
    """A byte every 50 ms, each well within any read timeout, for 3 seconds."""
    response = web.StreamResponse()
    await response.prepare(request)
    for _ in range(60):
        await response.write(b" ")
        await asyncio.sleep(0.05)
    return response


async def _streamed(request: web.Request) -> web.StreamResponse:
    """5,000 bytes, chunked (no Content-Length), starting with bytes that are not UTF-8."""
    response = web.StreamResponse(headers={"intuit-tid": "tid-stream"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(b"\xff\xfe" + b"s" * 998)
    for _ in range(4):
        await response.write(b"s" * 1000)
    return response


async def _large(request: web.Request) -> web.Response:
    return web.Response(body=bytes(range(256)) * 400)  # 102,400 bytes: several chunks


async def _gzipped(request: web.Request) -> web.Response:
    """1,000 incompressible bytes, gzipped: the declared (compressed) length is larger."""
    body = gzip.compress(random.Random(7).randbytes(1000))
    return web.Response(body=body, headers={"Content-Encoding": "gzip"})


async def _identity(request: web.Request) -> web.Response:
    return web.Response(body=b"i" * 1001, headers={"Content-Encoding": "identity"})


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    app = web.Application()
    app.router.add_route("*", "/v3/company/1/query", _echo)
    app.router.add_route("*", "/echo", _echo)
    app.router.add_get("/redirect", _redirect)
    app.router.add_get("/trickle", _trickle)
    app.router.add_get("/streamed", _streamed)
    app.router.add_get("/large", _large)
    app.router.add_get("/gzipped", _gzipped)
    app.router.add_get("/identity", _identity)
    running = TestServer(app)
    await running.start_server()
    yield running
    await running.close()


def _url(server: TestServer, path: str) -> str:
    return str(server.make_url("/")).rstrip("/") + path


async def test_a_request_is_sent_as_built_and_its_answer_returned_whole(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    """Method, percent-encoded path and query, headers and body arrive exactly as the
    core built them; the answer's status, every header (repeats too) and body come back."""
    request = HttpRequest(
        method="POST",
        url=_url(server, QUERY_URL_PATH),
        headers=[("Accept", "application/json"), ("User-Agent", "qbo-test"), ("Request-Id", "r1")],
        body=b'{"x": 1}',
    )
    response = await AiohttpTransport(session).send(request)
    assert response.status == 201
    assert response.headers.get("intuit_tid") == "tid-echo"
    assert response.headers.get_all("X-Multi") == ["a", "b"]
    assert json.loads(response.body) == {
        "method": "POST",
        "target": QUERY_URL_PATH,
        "accept": "application/json",
        "user_agent": "qbo-test",
        "requestid": "r1",
        "length": "8",
        "body": '{"x": 1}',
    }


async def test_a_request_without_a_body_sends_none(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    """An empty body is no body at all: no Content-Length goes out with a GET."""
    response = await AiohttpTransport(session).send(
        HttpRequest(method="GET", url=_url(server, "/echo"))
    )
    assert json.loads(response.body)["length"] is None


async def test_a_redirect_is_returned_not_followed(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    """A 302 comes back as the 302, with its Location: the core decides what it means."""
    response = await AiohttpTransport(session).send(
        HttpRequest(method="GET", url=_url(server, "/redirect"))
    )
    assert response.status == 302
    assert response.headers.get("Location") == "/echo"


async def test_an_answer_slower_than_the_request_timeout_is_a_read_timeout(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    """Bytes that keep coming, each in time, but no complete answer within the request's
    timeout: ReadTimeoutError, saying how long it waited."""
    transport = AiohttpTransport(session)
    with pytest.raises(ReadTimeoutError, match=r"^GET /trickle: no complete answer within 0\.3 s$"):
        await transport.send(HttpRequest(method="GET", url=_url(server, "/trickle"), timeout=0.3))


async def test_a_streamed_body_over_the_cap_stops_there_with_what_was_read(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    """A body with no declared length is read until it passes the cap: the error keeps
    the status, the tid (either spelling of the header) and an excerpt of its start."""
    transport = AiohttpTransport(session, max_response_bytes=1000)
    with pytest.raises(ResponseTooLargeError) as caught:
        await transport.send(HttpRequest(method="GET", url=_url(server, "/streamed")))
    error = caught.value
    assert (error.status, error.intuit_tid, error.max_bytes) == (200, "tid-stream", 1000)
    assert error.message == (
        "GET /streamed: the 200 answer's body passed 1000 bytes, over the 1000-byte limit;"
        " reading stopped"
    )
    assert error.body_excerpt == "\ufffd\ufffd" + "s" * (EXCERPT_BYTES - 2)


async def test_a_body_of_many_chunks_is_returned_whole(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    """A body larger than one read chunk comes back complete and in order."""
    response = await AiohttpTransport(session).send(
        HttpRequest(method="GET", url=_url(server, "/large"))
    )
    assert response.body == bytes(range(256)) * 400


async def test_a_compressed_length_over_the_cap_is_no_reason_to_refuse(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    """The cap counts decompressed bytes: a gzipped answer whose declared (compressed)
    length is over the cap, but which expands to no more than it, is returned."""
    transport = AiohttpTransport(session, max_response_bytes=1000)
    response = await transport.send(HttpRequest(method="GET", url=_url(server, "/gzipped")))
    assert response.body == random.Random(7).randbytes(1000)


async def test_an_identity_encoded_length_over_the_cap_is_refused_unread(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    """`Content-Encoding: identity` is no encoding: a declared length over the cap is
    refused on the headers, and the message says what was declared."""
    transport = AiohttpTransport(session, max_response_bytes=1000)
    with pytest.raises(ResponseTooLargeError) as caught:
        await transport.send(HttpRequest(method="GET", url=_url(server, "/identity")))
    assert caught.value.message.startswith("GET /identity: the 200 answer's body declares 1001")
    assert caught.value.body_excerpt == ""


async def test_failures_before_sending_name_what_failed(session: aiohttp.ClientSession) -> None:
    """An unparsable URL, a URL aiohttp cannot use and a closed port are ConnectErrors
    (never sent) whose message says which."""
    transport = AiohttpTransport(session)
    with pytest.raises(ConnectError, match=r"^invalid URL for GET request$"):
        await transport.send(HttpRequest(method="GET", url="http://[::1"))
    with pytest.raises(ConnectError, match=r"^invalid URL for POST request$"):
        await transport.send(HttpRequest(method="POST", url="not-a-url"))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(ConnectError, match=rf"^cannot connect to 127\.0\.0\.1:{port}: "):
        await transport.send(HttpRequest(method="GET", url=f"http://127.0.0.1:{port}/x"))


async def test_a_broken_answer_names_its_failure_class(session: aiohttp.ClientSession) -> None:
    """Bytes that are not HTTP end as ConnectionLostError naming the request and the
    failure's class."""
    server, port = await _raw_server(b"this is not HTTP\r\n\r\n")
    async with server:
        with pytest.raises(
            ConnectionLostError, match=r"^GET /x: ClientResponseError after connecting$"
        ):
            await AiohttpTransport(session).send(
                HttpRequest(method="GET", url=f"http://127.0.0.1:{port}/x")
            )


def test_the_default_timeouts_and_cap_are_shown() -> None:
    """10 s to connect, 60 s between bytes, 120 s in all, 200 MiB: as `repr` shows them."""
    transport = AiohttpTransport(object())  # type: ignore[arg-type]
    assert repr(transport) == (
        "AiohttpTransport(connect=10s, read=60s, total=120s, max_response_bytes=209715200)"
    )
    assert "max_response_bytes=1)" in repr(AiohttpTransport(object(), max_response_bytes=1))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["connect_timeout", "read_timeout", "total_timeout"])
def test_a_refused_timeout_is_named_with_the_range(name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name} must be in \(0, 120\] seconds$"):
        AiohttpTransport(object(), **{name: 0})  # type: ignore[arg-type]
