"""Hostile answers through `QBORawClient`: each stays a typed error, bounded in memory and time.

The size cap is proved on a real loopback socket, through `AiohttpTransport`, with a
1 MiB cap so each test is quick: a gzip bomb (about 512 KiB that expands to 512 MiB,
generated as it is sent), a body that never ends, and a fault larger than the cap. Each
ends in `ResponseTooLargeError`, with the client's peak memory (measured with
`tracemalloc`) a small multiple of the cap. Overflowing `Retry-After` / `Date` headers and
a decoder bug go through a `FakeTransport`: a `ThrottledError` with a sane wait, and a
request event that names the error either way.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import aiohttp
import pytest
from aiohttp import web

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.event_sinks import RecordingEventSink
from qbo_adapters.memory.fake_transport import FakeTransport
from qbo_core.config import QBOConfig
from qbo_core.dtos import RealmAuth
from qbo_core.errors import MAX_TEXT_CHARS, ResponseTooLargeError, ThrottledError
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.services import QBORawClient
from qbo_core.wire import faults, responses

CAP = 1024 * 1024  # the client's cap in these tests: 1 MiB
MIB = 1024 * 1024
AUTH = RealmAuth(realm_id="9130", access_token="not-a-real-token")
TID = "1-hostile-tid"

#: The client's peak traced memory may be this many times the cap (aiohttp's buffers and
#: one decompressed chunk on top of the body read so far), never the whole answer.
PEAK_FACTOR = 8


# --------------------------------------------------------------------- hostile servers


def gzip_bomb(expanded: int, *, block: int = MIB) -> Iterator[bytes]:
    """A valid gzip stream of `expanded` zero bytes, made a block at a time (O(block) memory).

    Deflating a block of zeros after a sync flush gives the same bytes every time once
    the window holds zeros, so one compressed block is repeated; the trailer carries
    the CRC and size of the whole expansion. About 1 KiB per MiB expanded.
    """
    assert expanded % block == 0
    assert expanded >= 2 * block
    zeros = bytes(block)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    yield compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    repeated = compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    crc = zlib.crc32(zeros, zlib.crc32(zeros))
    for _ in range(expanded // block - 2):
        crc = zlib.crc32(zeros, crc)
        yield repeated
    yield repeated
    yield b"\x03\x00" + struct.pack("<II", crc, expanded & 0xFFFFFFFF)  # final empty block


def test_the_gzip_bomb_is_a_valid_gzip_stream() -> None:
    """The generator's output really decompresses to that many zeros (so the bomb is honest)."""
    stream = b"".join(gzip_bomb(4 * MIB))
    assert len(stream) < 8 * 1024
    assert zlib.decompress(stream, 31) == bytes(4 * MIB)


class Served:
    """What a test server wrote before the client stopped reading."""

    def __init__(self) -> None:
        self.bytes_written = 0


Handler = Callable[[web.Request, Served], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[tuple[str, Served]]]]:
    """Start an aiohttp server on 127.0.0.1 answering every path with a handler."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> tuple[str, Served]:
        served = Served()

        async def answer(request: web.Request) -> web.StreamResponse:
            return await handler(request, served)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        runner = web.AppRunner(app, handler_cancellation=True)
        await runner.setup()
        runners.append(runner)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        return f"http://127.0.0.1:{sock.getsockname()[1]}", served

    yield start
    for runner in runners:
        await runner.cleanup()


async def stream(
    request: web.Request,
    served: Served,
    chunks: Iterator[bytes],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    """Send `chunks` (chunked, unless `headers` has a Content-Length) until done or cut off."""
    response = web.StreamResponse(status=status, headers={"intuit_tid": TID, **(headers or {})})
    await response.prepare(request)
    try:
        for chunk in chunks:
            await response.write(chunk)
            served.bytes_written += len(chunk)
        await response.write_eof()
    except (ConnectionError, aiohttp.ClientConnectionResetError):
        pass  # the client hung up: what a capped client does
    return response


def endless(piece: bytes) -> Iterator[bytes]:
    while True:
        yield piece


# --------------------------------------------------------------------- the client under test


class Client:
    """A `QBORawClient` on `AiohttpTransport` with a 1 MiB cap, recording its events."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.events = RecordingEventSink()
        config = QBOConfig(api_base_url=base_url, max_response_bytes=CAP)
        transport = AiohttpTransport(session, max_response_bytes=config.max_response_bytes)
        self.raw = QBORawClient(transport, config, events=self.events, clock=FakeClock())

    def request_event(self) -> dict[str, object]:
        (event,) = self.events.of_kind("http.request")
        return dict(event.attributes)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


async def read_under_trace(client: Client) -> tuple[ResponseTooLargeError, int]:
    """`client.read(...)` must raise `ResponseTooLargeError`; also the traced peak memory."""
    tracemalloc.start()
    try:
        async with asyncio.timeout(60):  # generous: a capped read takes well under a second
            with pytest.raises(ResponseTooLargeError) as caught:
                await client.raw.read(AUTH, "Customer", "1")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return caught.value, peak


def assert_refused_at_the_cap(client: Client, error: ResponseTooLargeError, status: int) -> None:
    """The error names the cap, the answer's status and tid; the event records all three."""
    assert error.max_bytes == CAP
    assert error.status == status
    assert error.intuit_tid == TID
    assert error.realm_id == AUTH.realm_id
    assert len(str(error)) < 3 * MAX_TEXT_CHARS
    event = client.request_event()
    assert event["error"] == "ResponseTooLargeError"
    assert event["status"] == status
    assert event["intuit_tid"] == TID


# --------------------------------------------------------------------- size, on a real socket


async def test_a_gzip_bomb_stops_at_the_cap_counted_decompressed(
    serve: Callable[[Handler], Awaitable[tuple[str, Served]]], session: aiohttp.ClientSession
) -> None:
    """~512 KiB of gzip expanding to 512 MiB is refused once 1 MiB has been decompressed."""

    async def bomb(request: web.Request, served: Served) -> web.StreamResponse:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return await stream(request, served, gzip_bomb(512 * MIB), headers=headers)

    base_url, served = await serve(bomb)
    client = Client(session, base_url)
    error, peak = await read_under_trace(client)
    assert_refused_at_the_cap(client, error, 200)
    assert peak < PEAK_FACTOR * CAP, f"peak {peak / MIB:.1f} MiB for a {CAP / MIB:g} MiB cap"
    # On the wire the whole bomb is under the cap: only its decompressed size passes it.
    assert served.bytes_written < CAP


async def test_an_endless_body_stops_at_the_cap(
    serve: Callable[[Handler], Awaitable[tuple[str, Served]]], session: aiohttp.ClientSession
) -> None:
    """A chunked body that never ends is refused at the cap; the server is cut off soon after."""

    async def forever(request: web.Request, served: Served) -> web.StreamResponse:
        headers = {"Content-Type": "application/json"}
        return await stream(request, served, endless(b'{"Customer":' * 5000), headers=headers)

    base_url, served = await serve(forever)
    client = Client(session, base_url)
    error, peak = await read_under_trace(client)
    assert_refused_at_the_cap(client, error, 200)
    assert error.body_excerpt is not None
    assert error.body_excerpt.startswith('{"Customer":')
    assert peak < PEAK_FACTOR * CAP
    # Loopback socket buffers aside, the server got nowhere near sending "forever": the
    # client hung up just past the cap.
    assert CAP < served.bytes_written < PEAK_FACTOR * CAP


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_fault_larger_than_the_cap_is_refused_unparsed(
    serve: Callable[[Handler], Awaitable[tuple[str, Served]]],
    session: aiohttp.ClientSession,
    declared: bool,
) -> None:
    """A 32 MiB JSON fault (a duplicate-name 6240) over a 1 MiB cap is never read whole or kept."""
    head = b'{"Fault":{"Error":[{"Message":"Duplicate Name","code":"6240","Detail":"'
    tail = b'"}],"type":"ValidationFault"}}'
    piece, count = b"D" * (64 * 1024), 512

    async def big_fault(request: web.Request, served: Served) -> web.StreamResponse:
        headers = {"Content-Type": "application/json"}
        if declared:
            headers["Content-Length"] = str(len(head) + len(piece) * count + len(tail))
        pieces = iter([head, *[piece] * count, tail])  # one 64 KiB piece, referenced 512 times
        return await stream(request, served, pieces, status=400, headers=headers)

    base_url, served = await serve(big_fault)
    client = Client(session, base_url)
    error, peak = await read_under_trace(client)
    assert_refused_at_the_cap(client, error, 400)
    assert error.detail is None  # the 32 MiB detail was never read into the error
    assert error.codes == ()  # nor parsed: the fault's 6240 is unknown
    if declared:
        assert error.body_excerpt == ""  # refused on the header, before reading any body
    assert peak < PEAK_FACTOR * CAP  # the answer was never held whole
    assert served.bytes_written < PEAK_FACTOR * CAP  # nor even all sent


async def test_an_answer_under_the_cap_is_read_whole(
    serve: Callable[[Handler], Awaitable[tuple[str, Served]]], session: aiohttp.ClientSession
) -> None:
    """An answer just under the cap, gzip-encoded, is decompressed and decoded as usual."""
    customer = {"Customer": {"Id": "1", "SyncToken": "0", "DisplayName": "x" * (CAP - 100)}}
    body = json.dumps(customer).encode()
    assert CAP - 200 < len(body) <= CAP

    async def gzipped(request: web.Request, served: Served) -> web.StreamResponse:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return await stream(request, served, iter([zlib.compress(body, wbits=31)]), headers=headers)

    base_url, _ = await serve(gzipped)
    client = Client(session, base_url)
    async with asyncio.timeout(60):
        read = await client.raw.read(AUTH, "Customer", "1")
    assert getattr(read, "display_name", None) == "x" * (CAP - 100)
    assert client.request_event()["error"] is None


# --------------------------------------------------------------------- size, any transport


async def test_the_client_refuses_a_body_over_its_cap_from_any_transport() -> None:
    """With a transport that does not cap (a fake), the client itself parses nothing too large."""
    body = json.dumps({"Customer": {"Id": "1", "DisplayName": "x" * CAP}}).encode()
    transport = FakeTransport(lambda _: HttpResponse(status=200, body=body))
    events = RecordingEventSink()
    config = QBOConfig(max_response_bytes=CAP)
    client = QBORawClient(transport, config, events=events, clock=FakeClock())
    with pytest.raises(ResponseTooLargeError) as caught:
        await client.read(AUTH, "Customer", "1")
    assert caught.value.max_bytes == CAP
    (event,) = events.of_kind("http.request")
    assert event.attributes["error"] == "ResponseTooLargeError"
    assert event.attributes["status"] == 200


# --------------------------------------------------------------------- headers that overflow


@pytest.mark.parametrize(
    ("retry_after", "date", "wait"),
    [
        ("Wed, 21 Oct 2015 07:28:00 +99999999999999", "Wed, 21 Oct 2015 07:27:00 GMT", None),
        ("Wed, 21 Oct 2015 99999999999:28:00 GMT", "Wed, 21 Oct 2015 07:27:00 GMT", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:27:00 +99999999999999", None),
        ("99999999999999999999", "Wed, 21 Oct 2015 07:27:00 GMT", faults.MAX_RETRY_AFTER),
        ("Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT", faults.MAX_RETRY_AFTER),
    ],
)
async def test_an_overflowing_throttle_is_a_throttled_error_with_a_sane_wait(
    retry_after: str, date: str, wait: float | None
) -> None:
    """A 429 whose Retry-After or Date overflows is a ThrottledError (no wait, or the cap)."""
    headers = {"Retry-After": retry_after, "Date": date, "intuit_tid": TID}
    transport = FakeTransport(lambda _: HttpResponse(status=429, headers=headers))
    events = RecordingEventSink()
    client = QBORawClient(transport, QBOConfig(), events=events, clock=FakeClock())
    with pytest.raises(ThrottledError) as caught:
        await client.read(AUTH, "Customer", "1")
    assert caught.value.retry_after == wait
    (event,) = events.of_kind("http.request")
    assert event.attributes["error"] == "ThrottledError"
    assert event.attributes["status"] == 429


async def test_a_decoder_bug_is_still_named_in_the_request_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should a decoder ever let a non-QBOError out (a bug), the event still names it."""

    def broken(response: HttpResponse, entity_type: str, *, realm_id: str | None = None) -> None:
        raise OverflowError("a bug in a decoder")

    monkeypatch.setattr(responses, "decode_entity_response", broken)
    transport = FakeTransport(lambda _: HttpResponse(status=200, body=b"{}"))
    events = RecordingEventSink()
    client = QBORawClient(transport, QBOConfig(), events=events, clock=FakeClock())
    with pytest.raises(OverflowError):
        await client.read(AUTH, "Customer", "1")
    (event,) = events.of_kind("http.request")
    assert event.attributes["error"] == "OverflowError"
    assert event.attributes["status"] == 200


async def test_a_transport_bug_is_still_named_in_the_request_event() -> None:
    """A non-QBOError out of the transport (a fake's handler bug) is named in the event too."""

    def handler(_: HttpRequest) -> HttpResponse:
        raise RuntimeError("handler bug")

    events = RecordingEventSink()
    client = QBORawClient(FakeTransport(handler), QBOConfig(), events=events, clock=FakeClock())
    with pytest.raises(RuntimeError):
        await client.read(AUTH, "Customer", "1")
    (event,) = events.of_kind("http.request")
    assert event.attributes["error"] == "RuntimeError"
    assert event.attributes["status"] is None
