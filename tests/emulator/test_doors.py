"""Both doors onto the emulator: in-process and HTTP, each held to the transport contract."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.server import HandlerServer, serve_emulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.testing import HttpTransportContract, SyncHandler
from qbo_core.errors import (
    ConnectError,
    ConnectionLostError,
    ReadTimeoutError,
    TransportError,
)
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.ports import HttpTransport

IN_PROCESS_BASE = "http://emulator.invalid"


def _async(handler: SyncHandler):  # type: ignore[no-untyped-def]
    async def handle(request: HttpRequest) -> HttpResponse:
        return handler(request)

    return handle


def closed_port_url() -> str:
    """A loopback URL on a port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class TestEmulatorTransportContract(HttpTransportContract):
    """The in-process door passes the transport contract."""

    @contextlib.asynccontextmanager
    async def make_transport(
        self, handler: SyncHandler
    ) -> AsyncIterator[tuple[HttpTransport, str]]:
        yield EmulatorTransport(_async(handler), base_url=IN_PROCESS_BASE), IN_PROCESS_BASE

    def make_unreachable_url(self) -> str:
        return "http://nowhere.invalid"


class TestHttpDoorContract(HttpTransportContract):
    """The HTTP door (aiohttp server), reached through AiohttpTransport, passes the contract."""

    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @contextlib.asynccontextmanager
    async def make_transport(
        self, handler: SyncHandler
    ) -> AsyncIterator[tuple[HttpTransport, str]]:
        async with (
            HandlerServer(_async(handler)) as server,
            aiohttp.ClientSession() as session,
        ):
            yield AiohttpTransport(session, connect_timeout=5, read_timeout=10), server.base_url

    def make_unreachable_url(self) -> str:
        return closed_port_url()


async def _emulator_over_http(
    stall_seconds: float = 130.0,
) -> tuple[QBOEmulator, HandlerServer]:
    emulator = QBOEmulator(EmulatorSettings(seed=3), clock=FakeClock())
    server = await serve_emulator(emulator, stall_seconds=stall_seconds)
    return emulator, server


async def test_http_door_serves_the_data_api_and_points_discovery_at_itself() -> None:
    """Over real HTTP the emulator answers a read, and its discovery names its own address."""
    emulator, server = await _emulator_over_http()
    try:
        realm = emulator.realm_ids[0]
        token = emulator.oauth.mint_tokens(realm)["access_token"]
        async with aiohttp.ClientSession() as session:
            transport = AiohttpTransport(session)
            response = await transport.send(
                HttpRequest(
                    method="GET",
                    url=f"{server.base_url}/v3/company/{realm}/companyinfo/{realm}",
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                )
            )
            assert response.status == 200
            assert json.loads(response.body)["CompanyInfo"]["Id"] == "1"
            assert response.headers.get("intuit_tid")
            discovery = await transport.send(
                HttpRequest(
                    method="GET",
                    url=f"{server.base_url}/.well-known/openid_sandbox_configuration",
                )
            )
            assert json.loads(discovery.body)["token_endpoint"].startswith(server.base_url)
    finally:
        await server.close()


async def test_in_process_door_maps_dropped_connections_to_transport_errors() -> None:
    """refuse → ConnectError, reset → ConnectionLostError, timeout → ReadTimeoutError."""
    emulator = QBOEmulator(EmulatorSettings(seed=3), clock=FakeClock())
    transport = EmulatorTransport(emulator)
    realm = emulator.realm_ids[0]
    token = emulator.oauth.mint_tokens(realm)["access_token"]
    request = HttpRequest(
        method="GET",
        url=f"{IN_PROCESS_BASE}/v3/company/{realm}/customer/1",
        headers={"Authorization": f"Bearer {token}"},
    )
    for kind, error in (
        ("refuse", ConnectError),
        ("reset", ConnectionLostError),
        ("timeout", ReadTimeoutError),
    ):
        emulator.chaos.clear()
        emulator.control.add_fault(
            {"route": {"path": "/v3/*"}, "trigger": {"next": 1}, "effect": kind}
        )
        with pytest.raises(error):
            await transport.send(request)
        assert (await transport.send(request)).status == 200


async def _faulted_customer_post(
    effect: str, *, read_timeout: float, stall_seconds: float = 130.0
) -> tuple[type[BaseException] | None, int]:
    """POST a new customer over HTTP with `effect` injected on it; return the transport
    error class raised (None if answered) and how many customers were added."""
    emulator, server = await _emulator_over_http(stall_seconds=stall_seconds)
    try:
        realm = emulator.realm_ids[0]
        token = emulator.oauth.mint_tokens(realm)["access_token"]
        emulator.control.add_fault(
            {"route": {"path": "/v3/*", "method": "POST"}, "trigger": {"next": 1}, "effect": effect}
        )
        before = emulator.companies[realm].counts()["Customer"]
        raised: type[BaseException] | None = None
        async with aiohttp.ClientSession() as session:
            transport = AiohttpTransport(session, read_timeout=read_timeout)
            try:
                await transport.send(
                    HttpRequest(
                        method="POST",
                        url=f"{server.base_url}/v3/company/{realm}/customer",
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Content-Type": "application/json",
                        },
                        body=b'{"DisplayName": "Faulted Customer"}',
                    )
                )
            except TransportError as error:
                raised = type(error)
        return raised, emulator.companies[realm].counts()["Customer"] - before
    finally:
        await server.close()


async def test_http_door_reset_loses_the_connection() -> None:
    """An injected reset over HTTP closes the socket: a write sees an outcome-unknown error
    and nothing was applied.

    (aiohttp itself retries an idempotent GET once on a dropped keep-alive connection, so
    the reset is shown on a POST, which it never retries.)
    """
    raised, added = await _faulted_customer_post("reset", read_timeout=5)
    assert raised is ConnectionLostError
    assert added == 0


async def test_http_door_timeout_applies_the_write_and_never_answers() -> None:
    """An injected timeout creates the customer, then stalls: the client times out."""
    raised, added = await _faulted_customer_post("timeout", read_timeout=0.2, stall_seconds=1.0)
    assert raised is ReadTimeoutError
    assert added == 1
