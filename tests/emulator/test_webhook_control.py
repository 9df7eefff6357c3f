"""The webhook endpoints of the control API (`/_emulator/webhooks...`), through the handler."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.fake_transport import FakeTransport
from qbo_core.http import HttpRequest, HttpResponse

VERIFIER = "control-verifier-91af"
URL = "https://receiver.example/hooks"


@pytest.fixture
def emulator() -> QBOEmulator:
    return QBOEmulator(EmulatorSettings(throttle=False, size="empty"), clock=FakeClock())


async def call(emulator: QBOEmulator, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    response = await emulator.handle(
        HttpRequest(
            method=method,
            url=f"http://emulator.invalid/_emulator{path}",
            headers=headers,
            body=json.dumps(body).encode() if body is not None else b"",
        )
    )
    return response.status, json.loads(response.body)


async def test_configure_read_replace_and_remove(emulator: QBOEmulator) -> None:
    """PUT configures (and replaces) the subscription, GET reads it with the verifier
    masked, DELETE removes it and says how many events it dropped."""
    status, body = await call(emulator, "GET", "/webhooks")
    assert (status, body["subscription"], body["queued"]) == (200, None, [])
    status, body = await call(
        emulator, "PUT", "/webhooks", {"url": URL, "verifier_token": VERIFIER}
    )
    assert status == 200
    assert body["subscription"] == {
        "url": URL,
        "verifier_token": "***",
        "format": "legacy",
        "realm_ids": None,
    }
    realm = emulator.realm_ids[0]
    status, body = await call(
        emulator,
        "PUT",
        "/webhooks",
        {"url": URL, "verifier_token": VERIFIER, "format": "cloudevents", "realm_ids": [realm]},
    )
    assert (status, body["subscription"]["format"]) == (200, "cloudevents")
    assert emulator.webhooks.subscription is not None
    assert emulator.webhooks.subscription.verifier_token == VERIFIER
    status, event = await call(
        emulator,
        "POST",
        "/webhooks/events",
        {"realm_id": realm, "entity": "Customer", "entity_id": "7", "operation": "Merge"},
    )
    assert status == 201
    assert event["operation"] == "Merge"
    status, body = await call(emulator, "GET", "/webhooks")
    assert [e["id"] for e in body["queued"]] == [event["id"]]
    assert body["next_due"] == emulator.clock.now().isoformat()
    status, body = await call(emulator, "DELETE", "/webhooks")
    assert (status, body) == (200, {"dropped": 1})
    assert emulator.webhooks.subscription is None


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"verifier_token": VERIFIER}, "'url' is required"),
        ({"url": URL}, "'verifier_token' is required"),
        ({"url": URL, "verifier_token": VERIFIER, "format": "xml"}, "'format'"),
        ({"url": "file:///etc", "verifier_token": VERIFIER}, "http"),
        ({"url": URL, "verifier_token": VERIFIER, "realm_ids": "1"}, "realm_ids"),
        ({"url": URL, "verifier_token": VERIFIER, "secret": 1}, "unknown field"),
    ],
)
async def test_a_bad_subscription_is_400(
    emulator: QBOEmulator, body: dict[str, Any], detail: str
) -> None:
    """A missing url or verifier, an unknown format, a non-HTTP url, bad realm ids or an
    unknown field are 400 invalid_subscription, naming the problem but not the verifier."""
    status, answer = await call(emulator, "PUT", "/webhooks", body)
    assert (status, answer["error"]) == (400, "invalid_subscription")
    assert detail in answer["detail"]
    assert VERIFIER not in answer["detail"]


async def test_deliver_and_read_the_log(emulator: QBOEmulator) -> None:
    """POST /webhooks/deliver sends what is held and answers the attempts made; the log
    lists every attempt, newest last."""
    answers = iter([500, 200])
    transport = FakeTransport(
        lambda request: HttpResponse(status=next(answers), headers=[], body=b"")
    )
    emulator.webhooks.transport = transport
    status, body = await call(emulator, "POST", "/webhooks/deliver", {})
    assert (status, body["error"]) == (409, "no_subscription")
    await call(emulator, "PUT", "/webhooks", {"url": URL, "verifier_token": VERIFIER})
    realm = emulator.realm_ids[0]
    await call(
        emulator,
        "POST",
        "/webhooks/events",
        {"realm_id": realm, "entity": "Invoice", "entity_id": "3", "operation": "Emailed"},
    )
    status, body = await call(emulator, "POST", "/webhooks/deliver", {})
    assert (status, body["attempts"], body["deliveries"][0]["status"]) == (200, 1, 500)
    status, body = await call(emulator, "GET", "/webhooks")
    assert body["pending"]["failures"] == 1
    assert body["queued"] == []
    status, body = await call(emulator, "POST", "/webhooks/deliver", {})
    assert [(d["attempt"], d["ok"]) for d in body["deliveries"]] == [(2, True)]
    status, body = await call(emulator, "GET", "/webhooks/deliveries?limit=1")
    assert [(d["attempt"], d["status"]) for d in body["deliveries"]] == [(2, 200)]
    status, body = await call(emulator, "GET", "/webhooks/deliveries")
    assert len(body["deliveries"]) == 2
    status, body = await call(emulator, "GET", "/webhooks/deliver")
    assert status == 405


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"realm_id": "nope", "entity": "Customer", "entity_id": "1", "operation": "Merge"},
            404,
            "unknown_realm",
        ),
        ({"entity": "Customer", "entity_id": "1", "operation": "Merge"}, 400, "invalid_parameter"),
    ],
)
async def test_bad_test_events(
    emulator: QBOEmulator, body: dict[str, Any], status: int, error: str
) -> None:
    """A test event for an unknown realm is 404; a missing field is 400."""
    await call(emulator, "PUT", "/webhooks", {"url": URL, "verifier_token": VERIFIER})
    got, answer = await call(emulator, "POST", "/webhooks/events", body)
    assert (got, answer["error"]) == (status, error)


async def test_test_events_need_a_known_operation_and_a_subscription(
    emulator: QBOEmulator,
) -> None:
    """An operation Intuit does not send is 400; without a subscription, 409."""
    realm = emulator.realm_ids[0]
    event = {"realm_id": realm, "entity": "Customer", "entity_id": "1", "operation": "Merge"}
    status, answer = await call(emulator, "POST", "/webhooks/events", event)
    assert (status, answer["error"]) == (409, "no_subscription")
    await call(emulator, "PUT", "/webhooks", {"url": URL, "verifier_token": VERIFIER})
    status, answer = await call(emulator, "POST", "/webhooks/events", event | {"operation": "X"})
    assert (status, answer["error"]) == (400, "invalid_parameter")


async def test_state_summarises_the_subscription(emulator: QBOEmulator) -> None:
    """GET /state says whether webhooks are subscribed and how many events wait."""
    await call(emulator, "PUT", "/webhooks", {"url": URL, "verifier_token": VERIFIER})
    _status, state = await call(emulator, "GET", "/state")
    assert state["webhooks"]["subscription"]["verifier_token"] == "***"
    assert state["webhooks"]["unacknowledged_events"] == 0
    assert "webhook_retry_schedule" in state["settings"]
