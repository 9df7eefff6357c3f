"""The emulator's webhooks over real HTTP on loopback: the aiohttp door runs the dispatcher,
which posts signed bodies to a small aiohttp receiver; the control API drives it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.server import HandlerServer, serve_emulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.memory.clock import FakeClock

VERIFIER = "loopback-verifier-5b2e"
#: A bound on waiting for something that should happen at once (not a timed assertion).
PATIENCE = 10.0


class LoopbackReceiver:
    """An aiohttp webhook endpoint on 127.0.0.1: notes each request, answers from `script`
    (200 once it is used up); a "hang" entry holds the answer until `release` is set."""

    def __init__(self, script: list[int | str] | None = None) -> None:
        self.script = list(script or [])
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrivals = asyncio.Queue[int]()
        self.release = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hooks"

    async def close(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((dict(request.headers), body))
        self.arrivals.put_nowait(len(self.received))
        answer = self.script.pop(0) if self.script else 200
        if answer == "hang":
            await self.release.wait()
            answer = 200
        assert isinstance(answer, int)
        return web.Response(status=answer)

    async def next_arrival(self) -> int:
        return await asyncio.wait_for(self.arrivals.get(), PATIENCE)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as made:
        yield made


async def started(receiver: LoopbackReceiver) -> LoopbackReceiver:
    await receiver.start()
    return receiver


def control(server: HandlerServer) -> dict[str, str]:
    assert server.control_token is not None
    return {"X-Emulator-Token": server.control_token}


async def subscribe(
    session: aiohttp.ClientSession, server: HandlerServer, url: str, fmt: str = "legacy"
) -> dict[str, Any]:
    async with session.put(
        f"{server.base_url}/_emulator/webhooks",
        json={"url": url, "verifier_token": VERIFIER, "format": fmt},
        headers=control(server),
    ) as reply:
        assert reply.status == 200, await reply.text()
        answer: dict[str, Any] = await reply.json()
        return answer


async def create_customer(
    session: aiohttp.ClientSession, server: HandlerServer, emulator: QBOEmulator, name: str
) -> dict[str, Any]:
    realm = emulator.realm_ids[0]
    token = emulator.oauth.mint_tokens(realm)["access_token"]
    async with session.post(
        f"{server.base_url}/v3/company/{realm}/customer",
        json={"DisplayName": name},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    ) as reply:
        assert reply.status == 200, await reply.text()
        created: dict[str, Any] = (await reply.json())["Customer"]
        return created


async def until(predicate: Callable[[], bool]) -> None:
    """Wait (a bounded number of short real pauses) until `predicate` holds: for what the
    door does just after the receiver answered, e.g. logging the attempt."""
    for _ in range(int(PATIENCE / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


def signature_of(body: bytes) -> str:
    return base64.b64encode(hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest()).decode()


async def test_a_customer_created_over_http_is_posted_to_the_receiver(
    session: aiohttp.ClientSession,
) -> None:
    """The HTTP door with a subscription (set over the control API) posts a signed legacy
    notification to a loopback receiver when a customer is created over HTTP."""
    receiver = await started(LoopbackReceiver())
    emulator = QBOEmulator(EmulatorSettings(throttle=False, size="empty"))
    server = await serve_emulator(emulator)
    try:
        answer = await subscribe(session, server, receiver.url)
        assert answer["subscription"]["verifier_token"] == "***"
        created = await create_customer(session, server, emulator, "Over HTTP")
        await receiver.next_arrival()
        headers, body = receiver.received[0]
        assert headers["intuit-signature"] == signature_of(body)
        assert headers["Content-Type"] == "application/json"
        (notification,) = json.loads(body)["eventNotifications"]
        assert notification["realmId"] == emulator.realm_ids[0]
        entity = notification["dataChangeEvent"]["entities"][0]
        assert (entity["name"], entity["id"], entity["operation"]) == (
            "Customer",
            created["Id"],
            "Create",
        )
        await until(lambda: bool(emulator.webhooks.log))  # logged after the answer
        async with session.get(
            f"{server.base_url}/_emulator/webhooks/deliveries", headers=control(server)
        ) as reply:
            text = await reply.text()
        (delivery,) = json.loads(text)["deliveries"]
        assert (delivery["attempt"], delivery["status"], delivery["ok"]) == (1, 200, True)
        assert VERIFIER not in text
    finally:
        await server.close()
        await receiver.close()


async def test_cloudevents_over_http(session: aiohttp.ClientSession) -> None:
    """Switched to CloudEvents, the same change arrives as a CloudEvents array."""
    receiver = await started(LoopbackReceiver())
    emulator = QBOEmulator(EmulatorSettings(throttle=False, size="empty"), clock=FakeClock())
    server = await serve_emulator(emulator)
    try:
        await subscribe(session, server, receiver.url, "cloudevents")
        created = await create_customer(session, server, emulator, "Cloud")
        await receiver.next_arrival()
        headers, body = receiver.received[0]
        assert headers["intuit-signature"] == signature_of(body)
        (event,) = json.loads(body)
        assert (event["type"], event["intuitentityid"]) == (
            "qbo.customer.created.v1",
            created["Id"],
        )
    finally:
        await server.close()
        await receiver.close()


async def test_on_a_fake_clock_a_retry_waits_for_the_clock_to_be_advanced(
    session: aiohttp.ClientSession,
) -> None:
    """Served on a FakeClock, a failed delivery does not move the clock; advancing it
    10 s through the control API sends the retry, and the held event follows."""
    receiver = await started(LoopbackReceiver([500]))
    clock = FakeClock()
    emulator = QBOEmulator(EmulatorSettings(throttle=False, size="empty"), clock=clock)
    server = await serve_emulator(emulator)
    try:
        await subscribe(session, server, receiver.url)
        first = await create_customer(session, server, emulator, "First")
        await receiver.next_arrival()
        await until(lambda: len(emulator.webhooks.log) == 1)
        assert emulator.webhooks.pending is not None
        start = clock.elapsed
        second = await create_customer(session, server, emulator, "Second")
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert clock.elapsed == start
        assert len(receiver.received) == 1
        async with session.post(
            f"{server.base_url}/_emulator/clock/advance",
            json={"seconds": 10},
            headers=control(server),
        ) as reply:
            assert reply.status == 200
        await receiver.next_arrival()
        await receiver.next_arrival()
        ids = [
            [
                e["id"]
                for n in json.loads(body)["eventNotifications"]
                for e in n["dataChangeEvent"]["entities"]
            ]
            for _, body in receiver.received
        ]
        assert ids == [[first["Id"]], [first["Id"]], [second["Id"]]]
    finally:
        await server.close()
        await receiver.close()


async def test_a_receiver_slower_than_the_timeout_is_a_failure(
    session: aiohttp.ClientSession,
) -> None:
    """A receiver that does not answer within `webhook_timeout` fails the attempt (a
    read timeout); "deliver now" over the control API retries at once and succeeds."""
    receiver = await started(LoopbackReceiver(["hang"]))
    settings = EmulatorSettings(throttle=False, size="empty", webhook_timeout=0.2)
    emulator = QBOEmulator(settings, clock=FakeClock())
    server = await serve_emulator(emulator)
    try:
        await subscribe(session, server, receiver.url)
        await create_customer(session, server, emulator, "Slow")
        await receiver.next_arrival()
        await until(lambda: bool(emulator.webhooks.log))
        (failed,) = emulator.webhooks.log
        assert failed.status is None
        assert failed.error is not None
        assert "Timeout" in failed.error
        async with session.post(
            f"{server.base_url}/_emulator/webhooks/deliver", json={}, headers=control(server)
        ) as reply:
            assert reply.status == 200
            answer = await reply.json()
        assert answer["attempts"] == 1
        assert [(d["attempt"], d["ok"]) for d in answer["deliveries"]] == [(2, True)]
    finally:
        await server.close()
        await receiver.close()


async def test_closing_the_server_stops_the_dispatcher() -> None:
    """The door's dispatcher task and its HTTP session end with the server."""
    emulator = QBOEmulator(EmulatorSettings(throttle=False, size="empty"), clock=FakeClock())
    server = await serve_emulator(emulator)
    assert emulator.webhooks.transport is not None
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert "qbo-emulator-webhooks" in names
    await server.close()
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert "qbo-emulator-webhooks" not in names
    assert emulator.webhooks.transport is None
