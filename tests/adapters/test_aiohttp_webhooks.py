"""`webhook_handler` over real loopback HTTP: an aiohttp server, a real client, the
receiver on memory adapters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, make_mocked_request

from qbo_adapters.aiohttp.webhooks import WebhookHandler, webhook_handler
from qbo_adapters.memory import FakeClock, MemoryStateStore, MemoryTokenStore, RecordingEventSink
from qbo_core import events as kinds
from qbo_core.dtos import TokenSet, WebhookEvent
from qbo_core.services.webhooks import WebhookReceiver
from qbo_core.webhooks import parse_webhook
from tests.core.test_webhooks import VECTOR_BODY, VECTOR_SIGNATURE, VECTOR_TOKEN, sign

REALM = "1269959970"
PATH = "/webhooks/qbo"


class Endpoint:
    """A running server with the handler on `PATH`, what its callback got, and a client."""

    def __init__(self, handler: WebhookHandler, server: TestServer, session: aiohttp.ClientSession):
        self.handler = handler
        self.server = server
        self.session = session
        self.delivered: list[tuple[WebhookEvent, ...]] = []
        self.events = RecordingEventSink()
        self.release = asyncio.Event()
        self.release.set()

    @property
    def url(self) -> str:
        return str(self.server.make_url(PATH))

    async def post(self, body: object, signature: str | None = VECTOR_SIGNATURE) -> int:
        headers = {} if signature is None else {"intuit-signature": signature}
        async with self.session.post(self.url, data=body, headers=headers) as response:
            await response.read()
            return response.status


@contextlib.asynccontextmanager
async def endpoint(
    *, max_body_bytes: int = 1_048_576, fail: bool = False
) -> AsyncIterator[Endpoint]:
    clock = FakeClock()
    tokens = MemoryTokenStore()
    await tokens.save(
        REALM,
        TokenSet(
            access_token="access-token-value",
            refresh_token="refresh-token-value",
            access_token_expires_at=clock.now() + timedelta(hours=1),
            refresh_token_expires_at=clock.now() + timedelta(days=100),
        ),
        expected_version=None,
    )
    sink = RecordingEventSink()
    receiver = WebhookReceiver(
        verifier_token=VECTOR_TOKEN,
        state_store=MemoryStateStore(clock),
        is_connected=tokens,
        events=sink,
        clock=clock,
        max_body_bytes=max_body_bytes,
    )
    holder: list[Endpoint] = []

    async def callback(events: tuple[WebhookEvent, ...]) -> None:
        here = holder[0]
        await here.release.wait()
        if fail:
            raise RuntimeError(f"host failure while handling {events!r}")
        here.delivered.append(events)

    handler = WebhookHandler(receiver, callback)
    app = web.Application()
    app.router.add_post(PATH, handler.handle)
    app.on_cleanup.append(handler.on_cleanup)
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            here = Endpoint(handler, server, session)
            here.events = sink
            holder.append(here)
            yield here
    finally:
        here.release.set()
        await server.close()


async def test_a_valid_delivery_reaches_the_callback() -> None:
    """A signed delivery of a connected realm: 200, and the callback gets both events."""
    async with endpoint() as here:
        assert await here.post(VECTOR_BODY) == 200
        await here.handler.close()
        ((vendor, customer),) = here.delivered
        assert (vendor.entity_id, customer.entity_id) == ("40", "43")


@pytest.mark.parametrize(
    ("body", "signature", "status"),
    [
        pytest.param(VECTOR_BODY.replace(b'"40"', b'"41"'), VECTOR_SIGNATURE, 401, id="tampered"),
        pytest.param(VECTOR_BODY, sign(VECTOR_BODY, "other-token"), 401, id="wrong-token"),
        pytest.param(VECTOR_BODY, None, 401, id="missing-header"),
        pytest.param(VECTOR_BODY[:-10], VECTOR_SIGNATURE, 401, id="truncated-body"),
        pytest.param(b"not json", sign(b"not json", VECTOR_TOKEN), 200, id="non-json"),
        pytest.param(
            VECTOR_BODY.replace(REALM.encode(), b"555"),
            sign(VECTOR_BODY.replace(REALM.encode(), b"555"), VECTOR_TOKEN),
            200,
            id="foreign-realm",
        ),
    ],
)
async def test_refused_deliveries_never_reach_the_callback(
    body: bytes, signature: str | None, status: int
) -> None:
    """Each refused delivery gets its documented status and never reaches the callback."""
    async with endpoint() as here:
        assert await here.post(body, signature) == status
        await here.handler.close()
        assert here.delivered == []
        assert here.events.of_kind(kinds.WEBHOOK_REFUSED)


async def test_a_repeated_delivery_reaches_the_callback_once() -> None:
    """Intuit's retry of a delivery is acknowledged but not passed on again."""
    async with endpoint() as here:
        assert await here.post(VECTOR_BODY) == 200
        assert await here.post(VECTOR_BODY) == 200
        await here.handler.close()
        assert len(here.delivered) == 1


async def test_an_oversized_body_is_refused_by_its_content_length() -> None:
    """A Content-Length over the limit is 413 at once, signed or not."""
    async with endpoint(max_body_bytes=len(VECTOR_BODY) - 1) as here:
        assert await here.post(VECTOR_BODY) == 413
        assert here.delivered == []
        (refused,) = here.events.of_kind(kinds.WEBHOOK_REFUSED)
        assert refused.attributes["reason"] == "too_large"


async def test_an_oversized_streamed_body_is_refused_without_reading_it_all() -> None:
    """A chunked body (no Content-Length) is read only until it passes the limit: 413."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"x" * 1024

    async with endpoint(max_body_bytes=4096) as here:
        with contextlib.suppress(aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
            # the server may close the connection while the client still streams
            assert await here.post(chunks()) == 413
        assert here.delivered == []
        (refused,) = here.events.of_kind(kinds.WEBHOOK_REFUSED)
        assert refused.attributes["reason"] == "too_large"


async def test_a_streamed_body_within_the_limit_is_accepted() -> None:
    """Without Content-Length, a body under the limit is read whole and accepted."""

    async def chunks() -> AsyncIterator[bytes]:
        yield VECTOR_BODY[:50]
        yield VECTOR_BODY[50:]

    async with endpoint(max_body_bytes=len(VECTOR_BODY)) as here:
        assert await here.post(chunks()) == 200
        await here.handler.close()
        assert len(here.delivered) == 1


async def test_a_connection_cut_mid_body_never_reaches_the_callback() -> None:
    """A client that promises more bytes than it sends, then closes: nothing is judged."""
    async with endpoint() as here:
        reader, writer = await asyncio.open_connection(here.server.host, here.server.port)
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: localhost\r\n"
            f"Content-Length: {len(VECTOR_BODY)}\r\n"
            f"intuit-signature: {VECTOR_SIGNATURE}\r\n\r\n"
        ).encode()
        writer.write(head + VECTOR_BODY[:40])
        await writer.drain()
        writer.write_eof()
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        await here.handler.close()
        assert here.delivered == []
        assert not answer.startswith(b"HTTP/1.1 200")
        assert here.events.of_kind(kinds.WEBHOOK_RECEIVED) == []


async def test_a_slow_callback_does_not_delay_the_answer() -> None:
    """The 200 arrives while the callback is still blocked; it runs to the end after."""
    async with endpoint() as here:
        here.release.clear()
        assert await here.post(VECTOR_BODY) == 200
        assert here.handler.pending == 1
        assert here.delivered == []
        here.release.set()
        await here.handler.close()
        assert len(here.delivered) == 1
        assert here.handler.pending == 0


async def test_a_failing_callback_is_logged_without_the_payload(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The callback's exception is logged by class and event ids, never its message or
    the body; the server goes on answering."""
    async with endpoint(fail=True) as here:
        with caplog.at_level(logging.ERROR, logger="qbo_adapters.aiohttp.webhooks"):
            assert await here.post(VECTOR_BODY) == 200
            await here.handler.close()
        (record,) = caplog.records
        text = record.getMessage()
        assert "RuntimeError" in text
        assert "host failure" not in text
        assert "Vendor" not in text
        assert record.exc_info is None
        assert await here.post(b"[]", sign(b"[]", VECTOR_TOKEN)) == 200


async def test_close_cancels_callbacks_past_its_timeout() -> None:
    """`close(grace=...)` cancels the callbacks still blocked when it runs out."""
    async with endpoint() as here:
        here.release.clear()
        assert await here.post(VECTOR_BODY) == 200
        await here.handler.close(grace=0)
        assert here.handler.pending == 0
        assert here.delivered == []


async def test_webhook_handler_registers_a_cleanup_that_awaits_callbacks() -> None:
    """`webhook_handler(..., app=app)`: the app's cleanup waits for running callbacks."""
    clock = FakeClock()

    async def is_connected(realm_id: str) -> bool:
        return True

    receiver = WebhookReceiver(
        verifier_token=VECTOR_TOKEN,
        state_store=MemoryStateStore(clock),
        is_connected=is_connected,
        events=RecordingEventSink(),
        clock=clock,
    )
    release = asyncio.Event()
    delivered: list[tuple[WebhookEvent, ...]] = []

    async def callback(events: tuple[WebhookEvent, ...]) -> None:
        await release.wait()
        delivered.append(events)

    app = web.Application()
    cleanups = len(app.on_cleanup)
    app.router.add_post(PATH, webhook_handler(receiver, callback, app=app))
    assert len(app.on_cleanup) == cleanups + 1
    server = TestServer(app)
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        headers = {"intuit-signature": VECTOR_SIGNATURE}
        async with session.post(server.make_url(PATH), data=VECTOR_BODY, headers=headers) as answer:
            assert answer.status == 200
    closing = asyncio.ensure_future(server.close())
    for _ in range(100):
        await asyncio.sleep(0)
    assert not closing.done()  # the cleanup waits for the blocked callback
    assert delivered == []
    release.set()
    await closing
    assert len(delivered) == 1


# --------------------------------------------------------------------- the handler alone


class PacedBody:
    """A request body handed out in the pieces given (the last may be cut to what is
    asked), or failing with `error`; it counts the bytes handed out."""

    def __init__(self, pieces: list[bytes], error: Exception | None = None) -> None:
        self.pieces = list(pieces)
        self.error = error
        self.handed_out = 0

    async def read(self, n: int = -1) -> bytes:
        if self.error is not None:
            raise self.error
        if not self.pieces:
            return b""
        piece = self.pieces.pop(0)
        if len(piece) > n:
            piece, rest = piece[:n], piece[n:]
            self.pieces.insert(0, rest)
        self.handed_out += len(piece)
        return piece


def receiver_for(*, max_body_bytes: int = 1_048_576, is_connected: Any = None) -> WebhookReceiver:
    clock = FakeClock()

    async def always(realm_id: str) -> bool:
        return True

    return WebhookReceiver(
        verifier_token=VECTOR_TOKEN,
        state_store=MemoryStateStore(clock),
        is_connected=is_connected if is_connected is not None else always,
        events=RecordingEventSink(),
        clock=clock,
        max_body_bytes=max_body_bytes,
    )


def delivery(body: PacedBody, *, length: int | None = None) -> web.Request:
    headers = {"intuit-signature": VECTOR_SIGNATURE}
    if length is not None:
        headers["Content-Length"] = str(length)
    return make_mocked_request("POST", PATH, headers=headers, payload=body)  # type: ignore[arg-type]


async def ignore(events: tuple[WebhookEvent, ...]) -> None:
    return None


async def test_a_body_arriving_in_pieces_is_judged_whole() -> None:
    """A body read in several pieces is judged as the bytes sent, in order: accepted."""
    handler = WebhookHandler(receiver_for(), ignore)
    body = PacedBody([VECTOR_BODY[:7], VECTOR_BODY[7:90], VECTOR_BODY[90:]])
    answer = await handler.handle(delivery(body))
    assert answer.status == 200
    await handler.close()


async def test_a_streamed_body_is_read_no_further_than_one_byte_past_the_limit() -> None:
    """However the body arrives, at most `max_body_bytes + 1` bytes are read: then 413."""
    limit = 100
    handler = WebhookHandler(receiver_for(max_body_bytes=limit), ignore)
    body = PacedBody([b"x" * 3, b"x" * 1000, b"x" * 1000])
    answer = await handler.handle(delivery(body))
    assert answer.status == 413
    assert body.handed_out == limit + 1


async def test_a_declared_length_at_the_limit_is_read_and_judged() -> None:
    """A Content-Length equal to the limit is no reason to refuse: the body is judged."""
    handler = WebhookHandler(receiver_for(max_body_bytes=len(VECTOR_BODY)), ignore)
    body = PacedBody([VECTOR_BODY])
    answer = await handler.handle(delivery(body, length=len(VECTOR_BODY)))
    assert answer.status == 200
    assert body.handed_out == len(VECTOR_BODY)
    over = PacedBody([VECTOR_BODY])
    refused = await handler.handle(delivery(over, length=len(VECTOR_BODY) + 1))
    assert (refused.status, over.handed_out) == (413, 0)
    await handler.close()


async def test_a_body_that_cannot_be_read_is_400_and_logged_by_class(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A body whose reading fails (a cut connection, broken chunking) is answered 400,
    and the failure is logged by its class alone."""
    handler = WebhookHandler(receiver_for(), ignore)
    body = PacedBody([], error=ConnectionResetError("peer said secret things"))
    with caplog.at_level(logging.WARNING, logger="qbo_adapters.aiohttp.webhooks"):
        answer = await handler.handle(delivery(body))
    assert answer.status == 400
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "webhook body could not be read: ConnectionResetError"


async def test_a_delivery_that_cannot_be_judged_is_500_and_logged_by_class(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The receiver fails (the host's realm check raised): 500, so Intuit retries, and
    the failure is logged by its class alone."""

    async def broken(realm_id: str) -> bool:
        raise RuntimeError("host database says secret things")

    handler = WebhookHandler(receiver_for(is_connected=broken), ignore)
    with caplog.at_level(logging.ERROR, logger="qbo_adapters.aiohttp.webhooks"):
        answer = await handler.handle(delivery(PacedBody([VECTOR_BODY])))
    assert answer.status == 500
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "webhook delivery could not be judged: RuntimeError"


async def test_a_failing_callback_is_logged_with_the_event_ids_on_the_given_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A host's own logger gets the callback's failure: its class and the ids of the
    events it was given, comma-separated."""

    async def failing(events: tuple[WebhookEvent, ...]) -> None:
        raise RuntimeError("callback says secret things")

    logger = logging.getLogger("host.webhooks")
    handler = WebhookHandler(receiver_for(), failing, logger=logger)
    with caplog.at_level(logging.ERROR, logger="host.webhooks"):
        assert (await handler.handle(delivery(PacedBody([VECTOR_BODY])))).status == 200
        await handler.close()
    (record,) = caplog.records
    assert record.name == "host.webhooks"
    vendor, customer = parse_webhook(VECTOR_BODY)
    assert record.getMessage() == (
        f"webhook callback failed with RuntimeError for events "
        f"{vendor.event_id}, {customer.event_id}"
    )
