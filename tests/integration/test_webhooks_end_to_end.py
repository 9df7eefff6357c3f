"""Webhooks end to end, over real HTTP on loopback on both sides.

The emulator serves QBO behind its HTTP door (on a `FakeClock`: a retry goes out only
when the test moves the clock through the control API) and runs its webhook dispatcher.
The host is the facade `QBO` on aiohttp and its default SQLite stores: a company is
connected through the real OAuth flow (authorize, consent, code exchange), SmartSync
writes a customer over HTTP, and the host's own aiohttp app (served on a free loopback
port) mounts `WebhookHandler` on `qbo.webhook_receiver()`, with a callback that
reconciles. A thin door in front of the handler lets a test refuse an attempt before
the receiver sees it, or lose the answer after the receiver accepted it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import aiohttp
import attrs
import pytest
from aiohttp import web

from qbo_adapters.aiohttp.webhooks import SIGNATURE_HEADER, WebhookHandler
from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.server import HandlerServer, serve_emulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.event_sinks import RecordingEventSink
from qbo_container import QBO
from qbo_core import events as kinds
from qbo_core.dtos import QBOEvent, WebhookEvent
from qbo_core.entities import Customer
from qbo_core.services.webhooks import ReconcileResult, reconcile
from tests.emulator_config import emulator_config

VERIFIER = "host-app-verifier-71d2"
CALLBACK = "http://127.0.0.1:8000/qbo/callback"
BUSINESS = "biz-hooks"
#: A bound on waiting for what should happen at once (never a timed assertion).
PATIENCE = 10.0

Format = Literal["legacy", "cloudevents"]
#: What the door does with the next delivery: pass it to the handler; answer 500
#: without reading it into the receiver ("refuse"); or let the receiver judge it and
#: then answer 500 all the same, as if the 200 were lost ("lose_answer").
Step = Literal["pass", "refuse", "lose_answer"]


class HostApp:
    """The host's web app on 127.0.0.1: `WebhookHandler` on the container's receiver,
    behind a door the test scripts; the callback reconciles through `qbo.smart_sync`."""

    def __init__(self, qbo: QBO) -> None:
        self.qbo = qbo
        self.handler = WebhookHandler(qbo.webhook_receiver(), self._process)
        self.script: list[Step] = []
        #: Each refused attempt's body and signature, as they arrived.
        self.refused: list[tuple[bytes, str | None]] = []
        #: Each callback's events and what reconciling them fetched.
        self.calls: list[tuple[tuple[WebhookEvent, ...], ReconcileResult]] = []
        self._called = asyncio.Queue[int]()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/qbo/webhooks", self._door)
        app.on_cleanup.append(self.handler.on_cleanup)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/qbo/webhooks"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()  # waits for the callbacks still running

    async def _door(self, request: web.Request) -> web.StreamResponse:
        step = self.script.pop(0) if self.script else "pass"
        if step == "refuse":
            self.refused.append((await request.read(), request.headers.get(SIGNATURE_HEADER)))
            return web.Response(status=500)
        answer = await self.handler.handle(request)
        return web.Response(status=500) if step == "lose_answer" else answer

    async def _process(self, events: tuple[WebhookEvent, ...]) -> None:
        result = await reconcile(
            events, lambda realm: self.qbo.smart_sync(business_id=BUSINESS, realm_id=realm)
        )
        self.calls.append((events, result))
        self._called.put_nowait(len(self.calls))

    async def next_call(self) -> tuple[tuple[WebhookEvent, ...], ReconcileResult]:
        number = await asyncio.wait_for(self._called.get(), PATIENCE)
        return self.calls[number - 1]


@attrs.define
class World:
    emulator: QBOEmulator
    server: HandlerServer
    qbo: QBO
    app: HostApp
    http: aiohttp.ClientSession
    seen: RecordingEventSink
    realm: str

    @property
    def control(self) -> dict[str, str]:
        assert self.server.control_token is not None
        return {"X-Emulator-Token": self.server.control_token}

    async def subscribe(self, fmt: Format, verifier: str = VERIFIER) -> None:
        async with self.http.put(
            f"{self.server.base_url}/_emulator/webhooks",
            json={"url": self.app.url, "verifier_token": verifier, "format": fmt},
            headers=self.control,
        ) as reply:
            assert reply.status == 200, await reply.text()

    async def control_post(
        self, path: str, body: dict[str, Any], *, status: int = 200
    ) -> dict[str, Any]:
        async with self.http.post(
            f"{self.server.base_url}/_emulator/{path}", json=body, headers=self.control
        ) as reply:
            assert reply.status == status, await reply.text()
            answer: dict[str, Any] = await reply.json()
            return answer

    async def advance(self, seconds: float) -> None:
        """Move the emulator's clock (and so its retry schedule) through the control API."""
        await self.control_post("clock/advance", {"seconds": seconds})

    async def attempts(self, count: int) -> list[tuple[int, int | None]]:
        """Once the dispatcher has logged `count` attempts: each one's number and status."""
        await until(lambda: len(self.emulator.webhooks.log) >= count)
        return [(attempt.attempt, attempt.status) for attempt in self.emulator.webhooks.log]

    def refusals(self, reason: str) -> list[QBOEvent]:
        return [
            event
            for event in self.seen.events
            if event.kind == kinds.WEBHOOK_REFUSED and event.attributes.get("reason") == reason
        ]

    def received(self) -> list[str]:
        return [
            str(event.attributes["event_id"])
            for event in self.seen.events
            if event.kind == kinds.WEBHOOK_RECEIVED
        ]


async def until(predicate: Callable[[], bool]) -> None:
    """Wait (short real pauses, bounded) for what the emulator's door does after an answer."""
    for _ in range(int(PATIENCE / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def _connect(qbo: QBO, http: aiohttp.ClientSession) -> str:
    """The real OAuth flow: begin, the user consents at the emulator's authorize page
    (auto-consent), the redirect's query completes the connection. Returns the realm."""
    request = await qbo.setup.begin(BUSINESS)
    async with http.get(request.authorization_url, allow_redirects=False) as consent:
        assert consent.status == 302, await consent.text()
        location = consent.headers["Location"]
    assert location.startswith(CALLBACK)
    callback = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    connection = await qbo.setup.complete(BUSINESS, callback)
    assert connection.realm_id is not None
    return connection.realm_id


@contextlib.asynccontextmanager
async def world() -> AsyncIterator[World]:
    """The served emulator (two companies, on a FakeClock), the host connected to the
    first one through OAuth, and the host's app served; nothing subscribed yet."""
    settings = EmulatorSettings(size="empty", throttle=False, auto_consent=True, realms=2, seed=5)
    emulator = QBOEmulator(settings, clock=FakeClock())
    server = await serve_emulator(emulator)
    config = emulator_config(
        server.base_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        redirect_uri=CALLBACK,
        webhook_verifier_token=VERIFIER,
    )
    api = {key: value for key, value in config.as_settings(mask_secrets=False).items() if value}
    try:
        async with (
            aiohttp.ClientSession() as http,
            QBO.open({"api": api}, environ={}, clock=FakeClock()) as qbo,
        ):
            seen = RecordingEventSink()
            qbo.add_event_sink(seen)
            realm = await _connect(qbo, http)
            app = HostApp(qbo)
            await app.start()
            try:
                yield World(emulator, server, qbo, app, http, seen, realm)
            finally:
                await app.close()
    finally:
        await server.close()


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
async def test_each_change_reaches_the_callback_once_and_reconciles(fmt: Format) -> None:
    """A customer created then updated through SmartSync over HTTP: each change reaches
    the callback exactly once, though the emulator delivers each twice (the create's
    first attempt refused before the receiver, the update's answer lost after the
    receiver accepted it), and the test's own re-post of a signed body is a duplicate.
    Reconciling fetches what the emulator holds: DisplayName and SyncToken."""
    async with world() as w:
        await w.subscribe(fmt)
        sync = w.qbo.smart_sync(business_id=BUSINESS, realm_id=w.realm)

        w.app.script = ["refuse"]
        created = await sync.create(Customer(display_name=f"Hooked {fmt}"))
        assert created.id is not None
        assert await w.attempts(1) == [(1, 500)]
        assert w.app.calls == []
        await w.advance(10)  # Intuit's first retry, 10 s after the failure
        (first,), fetched = await w.app.next_call()
        assert (first.entity_type, first.entity_id, first.operation) == (
            "Customer",
            created.id,
            "Create",
        )
        assert first.realm_id == w.realm
        assert await w.attempts(2) == [(1, 500), (2, 200)]

        w.app.script = ["lose_answer"]
        updated = await sync.update(attrs.evolve(created, display_name=f"Renamed {fmt}"))
        (second,), refetched = await w.app.next_call()
        assert (second.entity_id, second.operation) == (created.id, "Update")
        assert await w.attempts(3) == [(1, 500), (2, 200), (1, 500)]
        await w.advance(10)  # the emulator sends the update again: a duplicate now
        assert await w.attempts(4) == [(1, 500), (2, 200), (1, 500), (2, 200)]
        assert [event.attributes["event_id"] for event in w.refusals("duplicate")] == [
            second.event_id
        ]

        body, signature = w.app.refused[0]  # the create, exactly as the emulator signed it
        async with w.http.post(
            w.app.url, data=body, headers={SIGNATURE_HEADER: signature or ""}
        ) as again:
            assert again.status == 200
        duplicates = w.refusals("duplicate")
        assert [event.attributes["event_id"] for event in duplicates][-1] == first.event_id
        assert w.app.handler.pending == 0
        assert [events for events, _ in w.app.calls] == [(first,), (second,)]
        assert w.received() == [first.event_id, second.event_id]

        held = w.emulator.control.inspect(w.realm, "Customer", created.id)
        assert held["DisplayName"] == f"Renamed {fmt}" == updated.display_name
        (now,) = refetched.entities
        assert isinstance(now, Customer)
        assert (now.id, now.display_name, now.sync_token) == (
            created.id,
            held["DisplayName"],
            held["SyncToken"],
        )
        assert now.sync_token == updated.sync_token != created.sync_token
        (then,) = fetched.entities
        assert isinstance(then, Customer)
        assert (then.display_name, then.sync_token) == (f"Hooked {fmt}", created.sync_token)
        assert refetched.failed == fetched.failed == ()


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
async def test_foreign_signatures_and_unconnected_realms_never_reach_the_callback(
    fmt: Format,
) -> None:
    """Subscribed with another app's verifier, the emulator's delivery is refused 401
    and reaches nothing (and claims nothing: signed right, the same event is accepted
    once); an event of the company that is not connected is acknowledged and refused
    as `realm_not_connected`."""
    async with world() as w:
        await w.subscribe(fmt, verifier="someone-elses-verifier")
        sync = w.qbo.smart_sync(business_id=BUSINESS, realm_id=w.realm)
        created = await sync.create(Customer(display_name=f"Unsigned {fmt}"))
        assert await w.attempts(1) == [(1, 401)]
        assert w.app.handler.pending == 0
        assert w.app.calls == []
        assert len(w.refusals("bad_signature")) == 1

        await w.subscribe(fmt)  # the right verifier: the held delivery goes out again
        await w.control_post("webhooks/deliver", {})
        (event,), _ = await w.app.next_call()
        assert (event.entity_id, event.operation) == (created.id, "Create")
        assert await w.attempts(2) == [(1, 401), (2, 200)]

        other = next(realm for realm in w.emulator.realm_ids if realm != w.realm)
        await w.control_post(
            "webhooks/events",
            {"realm_id": other, "entity": "Customer", "entity_id": "1", "operation": "Update"},
            status=201,
        )
        assert await w.attempts(3) == [(1, 401), (2, 200), (1, 200)]
        (foreign,) = w.refusals("realm_not_connected")
        assert foreign.realm_id == other
        assert w.app.handler.pending == 0
        assert len(w.app.calls) == 1
        assert w.received() == [event.event_id]
