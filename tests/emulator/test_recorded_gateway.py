"""The recorded gateway exchange (error/401.json) and the in-flight cap, through the whole app."""

from __future__ import annotations

import asyncio
import json

import pytest

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.clock import FakeClock
from qbo_core.http import HttpRequest
from tests.emulator.harness import shape_problems
from tests.shared_fixtures import RECORDED


@pytest.fixture
def recorded_401() -> dict[str, object]:
    path = RECORDED / "error" / "401.json"
    if not path.is_file():
        pytest.skip(f"recorded QBO traffic not found at {RECORDED} (../shared is absent)")
    interaction: dict[str, object] = json.loads(path.read_text())["interactions"][0]
    return interaction


async def test_expired_token_answer_matches_the_recorded_401(
    recorded_401: dict[str, object],
) -> None:
    """An expired token gets QBO's 401: same status, WWW-Authenticate, envelope keys and types."""
    clock = FakeClock()
    emulator = QBOEmulator(EmulatorSettings(seed=2), clock=clock)
    realm = emulator.realm_ids[0]
    token = emulator.oauth.mint_tokens(realm)["access_token"]
    clock.advance(3601)
    recorded_response = recorded_401["response"]
    assert isinstance(recorded_response, dict)
    response = await EmulatorTransport(emulator).send(
        HttpRequest(
            method="GET",
            url=f"http://emulator.invalid/v3/company/{realm}/customer/1",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
    )
    assert response.status == recorded_response["status"]
    assert (
        response.headers.get("WWW-Authenticate")
        == (recorded_response["headers"]["Www-Authenticate"][0])
    )
    assert response.content_type == "application/json"
    expected = json.loads(recorded_response["body"])
    actual = json.loads(response.body)
    assert shape_problems(expected, actual) == []
    assert actual["fault"]["error"][0]["code"] == "3200"
    assert actual["fault"]["error"][0]["detail"].startswith("Token expired")


async def test_in_flight_cap_refuses_the_eleventh_concurrent_request() -> None:
    """With max_in_flight=10, slow concurrent requests beyond ten get the 3001 throttle fault."""
    clock = FakeClock()
    emulator = QBOEmulator(
        EmulatorSettings(seed=2, max_in_flight=10, requests_per_second=100), clock=clock
    )
    realm = emulator.realm_ids[0]
    token = emulator.oauth.mint_tokens(realm)["access_token"]
    emulator.control.add_fault(
        {
            "route": {"path": "/v3/*"},
            "trigger": {"probability": 1},
            "effect": {"kind": "latency", "latency": 2},
        }
    )
    transport = EmulatorTransport(emulator)
    request = HttpRequest(
        method="GET",
        url=f"http://emulator.invalid/v3/company/{realm}/customer/1",
        headers={"Authorization": f"Bearer {token}"},
    )
    responses = await asyncio.gather(*(transport.send(request) for _ in range(12)))
    statuses = sorted(r.status for r in responses)
    assert statuses == [200] * 10 + [429] * 2
    throttled = next(r for r in responses if r.status == 429)
    assert json.loads(throttled.body)["Fault"]["Error"][0]["code"] == "3001"
    later = await transport.send(request)
    assert later.status == 200
