"""The emulator's webhooks, in process: every change kind becomes an event, deliveries are
signed, retried on Intuit's schedule on the emulator's clock, held behind an
unacknowledged one, capped at 100 events, and the verifier never shows."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.control import ControlError
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.emulator.webhook_payloads import utc_text, webhook_signature
from qbo_adapters.emulator.webhooks import (
    NoWebhookTransportError,
    WebhookDispatcher,
    WebhookSubscription,
)
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.fake_transport import FakeTransport
from qbo_core.errors import ConnectError, ReadTimeoutError, TransportError
from qbo_core.http import HttpRequest, HttpResponse
from tests.emulator.harness import DataClient

VERIFIER = "verifier-token-do-not-leak-7d1c"
URL = "https://receiver.example/webhooks"


class Receiver:
    """A webhook endpoint behind a `FakeTransport`: answers from `script` (a status or a
    `TransportError`; 200 once the script is used up) and notes each arrival's time."""

    def __init__(self, clock: FakeClock, script: Sequence[int | TransportError] = ()) -> None:
        self.clock = clock
        self.script = list(script)
        self.times: list[float] = []
        self.arrived = asyncio.Event()
        self.transport = FakeTransport(self._answer)

    def _answer(self, request: HttpRequest) -> HttpResponse:
        self.times.append(self.clock.elapsed)
        self.arrived.set()
        answer = self.script.pop(0) if self.script else 200
        if isinstance(answer, TransportError):
            raise answer
        return HttpResponse(status=answer, headers=[], body=b"")

    @property
    def requests(self) -> list[HttpRequest]:
        return self.transport.requests

    def bodies(self) -> list[Any]:
        return [json.loads(request.body) for request in self.requests]


def subscribed(
    fmt: str = "legacy", script: Sequence[int | TransportError] = (), **settings: Any
) -> tuple[DataClient, Receiver]:
    client = DataClient(EmulatorSettings(throttle=False, size="empty", **settings))
    receiver = Receiver(client.clock, script)
    client.emulator.webhooks.transport = receiver.transport
    client.emulator.webhooks.subscribe(
        WebhookSubscription(url=URL, verifier_token=VERIFIER, format=fmt)  # type: ignore[arg-type]
    )
    return client, receiver


def entities(body: Any) -> list[tuple[str, str, str]]:
    """(name, id, operation) of every entity of a legacy body."""
    return [
        (e["name"], e["id"], e["operation"])
        for notification in body["eventNotifications"]
        for e in notification["dataChangeEvent"]["entities"]
    ]


def types(body: Any) -> list[tuple[str, str]]:
    """(type, entity id) of every event of a CloudEvents body."""
    return [(e["type"], e["intuitentityid"]) for e in body]


def delivered(receiver: Receiver, fmt: str) -> list[tuple[str, str, str]]:
    """(entity, id, operation) of everything delivered, in both formats."""
    words = {"created": "Create", "updated": "Update", "deleted": "Delete", "voided": "Void"}
    words |= {"merged": "Merge", "emailed": "Emailed"}
    out: list[tuple[str, str, str]] = []
    for body in receiver.bodies():
        if fmt == "legacy":
            out += entities(body)
        else:
            for kind, entity_id in types(body):
                _, name, word, _ = kind.split(".")
                out.append((name, entity_id, words[word]))
    return out


def lowered(items: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return [(name.lower(), entity_id, op) for name, entity_id, op in items]


async def an_item(client: DataClient) -> dict[str, Any]:
    income = next(a for a in client.company.all("Account") if a["AccountType"] == "Income")
    return await client.create(
        "Item",
        {"Name": "Work", "Type": "Service", "IncomeAccountRef": {"value": income["Id"]}},
    )


def sale(item_id: str, amount: float) -> dict[str, Any]:
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {"ItemRef": {"value": item_id}, "Qty": 1, "UnitPrice": amount},
    }


# -- every change kind ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
async def test_every_change_kind_becomes_its_event(fmt: str) -> None:
    """Create, update, delete and void through the data API, a Preferences update, and
    Merge / Emailed queued by hand each reach the receiver as their own event."""
    client, receiver = subscribed(fmt)
    customer = await client.create("Customer", {"DisplayName": "Hook"})
    await client.post(
        "/customer",
        {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "Hooks Ltd"},
    )
    item = await an_item(client)
    invoice = await client.create(
        "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [sale(item["Id"], 50)]}
    )
    other = await client.create(
        "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [sale(item["Id"], 20)]}
    )
    payment = await client.create(
        "Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 5}
    )
    assert (
        await client.post("/invoice?operation=void", {"Id": invoice["Id"], "SyncToken": "0"})
    ).status == 200
    assert (
        await client.post("/invoice?operation=delete", {"Id": other["Id"], "SyncToken": "0"})
    ).status == 200
    assert (
        await client.post(
            "/payment?operation=update&include=void",
            {"Id": payment["Id"], "SyncToken": "0", "sparse": True},
        )
    ).status == 200
    prefs = client.company.preferences
    assert (
        await client.post(
            "/preferences",
            {"SyncToken": prefs["SyncToken"], "sparse": True, "EmailMessagesPrefs": {}},
        )
    ).status == 200
    client.emulator.webhooks.emit(
        realm_id=client.realm, entity="Customer", entity_id=customer["Id"], operation="Merge"
    )
    client.emulator.webhooks.emit(
        realm_id=client.realm, entity="Invoice", entity_id=invoice["Id"], operation="Emailed"
    )
    assert await client.emulator.webhooks.deliver_due() == 1
    got = lowered(delivered(receiver, fmt))
    expected = [
        ("customer", customer["Id"], "Create"),
        ("customer", customer["Id"], "Update"),
        ("item", item["Id"], "Create"),
        ("invoice", invoice["Id"], "Create"),
        ("invoice", other["Id"], "Create"),
        ("payment", payment["Id"], "Create"),
        ("invoice", invoice["Id"], "Void"),
        ("invoice", other["Id"], "Delete"),
        ("payment", payment["Id"], "Void"),
        ("customer", customer["Id"], "Merge"),
        ("invoice", invoice["Id"], "Emailed"),
    ]
    for wanted in expected:
        assert wanted in got, (wanted, got)
    # in the order they happened
    assert [got.index(w) for w in expected] == sorted(got.index(w) for w in expected)
    # a balance moved by a write is an update of the customer too, as CDC sees it
    assert got.count(("customer", customer["Id"], "Update")) >= 2
    assert any(name == "preferences" and op == "Update" for name, _, op in got)


async def test_event_times_and_realm_are_the_changes() -> None:
    """lastUpdated is the change's time (UTC, ms) and realmId the company's."""
    client, receiver = subscribed()
    client.advance(12.5)
    created = await client.create("Customer", {"DisplayName": "When"})
    await client.emulator.webhooks.deliver_due()
    (notification,) = receiver.bodies()[0]["eventNotifications"]
    assert notification["realmId"] == client.realm
    entity = notification["dataChangeEvent"]["entities"][0]
    assert entity["id"] == created["Id"]
    assert entity["lastUpdated"] == utc_text(client.clock.now())
    assert entity["lastUpdated"].endswith(".500Z")


async def test_cloudevents_carry_realm_entity_and_unique_ids() -> None:
    """Each CloudEvent names the realm and the entity and has its own UUID id."""
    client, receiver = subscribed("cloudevents")
    first = await client.create("Customer", {"DisplayName": "One"})
    second = await client.create("Customer", {"DisplayName": "Two"})
    await client.emulator.webhooks.deliver_due()
    body = receiver.bodies()[0]
    assert [(e["intuitaccountid"], e["intuitentityid"]) for e in body] == [
        (client.realm, first["Id"]),
        (client.realm, second["Id"]),
    ]
    assert len({e["id"] for e in body}) == 2
    assert all(e["specversion"] == "1.0" and e["data"] == {} for e in body)
    assert body[0]["source"].startswith("intuit.")


async def test_a_failed_write_sends_nothing() -> None:
    """A write QBO refuses (stale SyncToken) changes nothing and so notifies nothing."""
    client, receiver = subscribed()
    customer = await client.create("Customer", {"DisplayName": "Stale"})
    await client.emulator.webhooks.deliver_due()
    reply = await client.post(
        "/customer", {"Id": customer["Id"], "SyncToken": "7", "sparse": True, "Notes": "x"}
    )
    assert reply.status == 400
    assert await client.emulator.webhooks.deliver_due() == 0
    assert len(receiver.requests) == 1


async def test_batch_writes_are_notified_too() -> None:
    """Creates inside a batch go through the same change log and are notified."""
    client, receiver = subscribed()
    reply = await client.post(
        "/batch",
        {
            "BatchItemRequest": [
                {"bId": "1", "operation": "create", "Customer": {"DisplayName": "B1"}},
                {"bId": "2", "operation": "create", "Customer": {"DisplayName": "B2"}},
            ]
        },
    )
    assert reply.status == 200
    await client.emulator.webhooks.deliver_due()
    assert [op for name, _, op in entities(receiver.bodies()[0]) if name == "Customer"] == [
        "Create",
        "Create",
    ]


# -- signing --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
async def test_deliveries_are_signed_over_the_exact_body(fmt: str) -> None:
    """intuit-signature is base64(HMAC-SHA256(verifier, body)); Content-Type is JSON; the
    request carries the 3-second timeout."""
    client, receiver = subscribed(fmt)
    await client.create("Customer", {"DisplayName": "Signed"})
    await client.emulator.webhooks.deliver_due()
    request = receiver.requests[0]
    expected = base64.b64encode(
        hmac.new(VERIFIER.encode(), request.body, hashlib.sha256).digest()
    ).decode()
    assert request.headers.get("intuit-signature") == expected
    assert request.headers.get("content-type") == "application/json"
    assert (request.method, request.url, request.timeout) == ("POST", URL, 3.0)


# -- retries and holding ---------------------------------------------------------------------


async def test_retries_follow_intuits_schedule_on_the_fake_clock() -> None:
    """A receiver failing 9 times is tried at +0, 10, 20, 30 s, 5, 20 min, 2, 4, 6 h and
    then 6 h again after each failure; `run()` sleeps on the emulator's clock."""
    failures: list[int | TransportError] = [500] * 9
    client, receiver = subscribed(script=failures)
    start = client.clock.elapsed
    await client.create("Customer", {"DisplayName": "Retry"})
    runner = asyncio.create_task(client.emulator.webhooks.run())
    try:
        while len(receiver.times) < 10:
            receiver.arrived.clear()
            await receiver.arrived.wait()
        await asyncio.sleep(0)
    finally:
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
    gaps = [b - a for a, b in zip(receiver.times, receiver.times[1:], strict=False)]
    assert receiver.times[0] == start
    assert gaps == [10, 20, 30, 300, 1200, 7200, 14400, 21600, 21600]
    log = list(client.emulator.webhooks.log)
    assert [a.attempt for a in log] == list(range(1, 11))
    assert [a.ok for a in log] == [False] * 9 + [True]
    assert len({a.event_ids for a in log}) == 1
    assert client.emulator.webhooks.pending is None


async def test_retry_is_not_sent_before_it_is_due() -> None:
    """After a failure nothing goes out until the schedule's wait has passed exactly."""
    client, receiver = subscribed(script=[500, 500])
    webhooks = client.emulator.webhooks
    await client.create("Customer", {"DisplayName": "Wait"})
    assert await webhooks.deliver_due() == 1
    client.advance(9.999)
    assert await webhooks.deliver_due() == 0
    client.advance(0.001)
    assert await webhooks.deliver_due() == 1
    pending = webhooks.pending
    assert pending is not None
    assert pending.failures == 2
    assert pending.due == client.clock.now() + timedelta(seconds=20)
    client.advance(20)
    assert await webhooks.deliver_due() == 1
    assert webhooks.pending is None
    assert len(receiver.requests) == 3


async def test_later_events_are_held_until_the_first_is_acknowledged() -> None:
    """While the first delivery is unacknowledged, later events are queued, not sent;
    after its retry succeeds they go out, in order."""
    client, receiver = subscribed(script=[500])
    webhooks = client.emulator.webhooks
    first = await client.create("Customer", {"DisplayName": "First"})
    assert await webhooks.deliver_due() == 1
    client.advance(1)
    second = await client.create("Customer", {"DisplayName": "Second"})
    client.advance(1)
    third = await client.create("Customer", {"DisplayName": "Third"})
    assert await webhooks.deliver_due() == 0
    assert len(receiver.requests) == 1
    assert [e.entity_id for e in webhooks.queued] == [second["Id"], third["Id"]]
    client.advance(8)
    assert await webhooks.deliver_due() == 2
    ids = [[e[1] for e in entities(body)] for body in receiver.bodies()]
    assert ids == [[first["Id"]], [first["Id"]], [second["Id"], third["Id"]]]
    assert webhooks.queued == []
    assert webhooks.pending is None


@pytest.mark.parametrize(
    "answer",
    [202, 204, 301, 400, 500, 503, ReadTimeoutError("too slow"), ConnectError("refused")],
    ids=str,
)
async def test_anything_but_200_is_a_failure(answer: int | TransportError) -> None:
    """A 2xx other than 200, a redirect, an error status, a timeout or a refused
    connection all leave the delivery pending for a retry in 10 s."""
    client, _receiver = subscribed(script=[answer])
    webhooks = client.emulator.webhooks
    await client.create("Customer", {"DisplayName": "Fail"})
    await webhooks.deliver_due()
    (attempt,) = webhooks.log
    assert not attempt.ok
    if isinstance(answer, int):
        assert (attempt.status, attempt.error) == (answer, None)
    else:
        assert attempt.status is None
        assert attempt.error is not None
        assert type(answer).__name__ in attempt.error
    pending = webhooks.pending
    assert pending is not None
    assert pending.failures == 1
    assert pending.due == client.clock.now() + timedelta(seconds=10)


async def test_retry_schedule_is_a_setting() -> None:
    """`webhook_retry_schedule` replaces Intuit's waits (the last step repeats)."""
    client, _receiver = subscribed(script=[500, 500, 500], webhook_retry_schedule=(1.0, 2.0))
    webhooks = client.emulator.webhooks
    await client.create("Customer", {"DisplayName": "Quick"})
    await webhooks.deliver_due()
    for wait in (1, 2, 2):
        client.advance(wait)
        assert await webhooks.deliver_due() == 1
    assert [a.ok for a in webhooks.log] == [False, False, False, True]


async def test_deliver_now_skips_the_retry_wait() -> None:
    """`deliver_now` sends a pending delivery at once, whatever its retry time."""
    client, _receiver = subscribed(script=[500])
    await client.create("Customer", {"DisplayName": "Now"})
    await client.emulator.webhooks.deliver_due()
    assert await client.emulator.webhooks.deliver_now() == 1
    assert [a.ok for a in client.emulator.webhooks.log] == [False, True]


# -- batching ----------------------------------------------------------------------------------


async def test_cloudevents_deliveries_hold_at_most_100_events() -> None:
    """150 changes go out as 100 then 50 events, in order."""
    client, receiver = subscribed("cloudevents")
    made = [await client.create("Customer", {"DisplayName": f"C{n}"}) for n in range(150)]
    assert await client.emulator.webhooks.deliver_due() == 2
    sizes = [len(body) for body in receiver.bodies()]
    assert sizes == [100, 50]
    sent = [e["intuitentityid"] for body in receiver.bodies() for e in body]
    assert sent == [c["Id"] for c in made]


async def test_legacy_deliveries_hold_one_realm_at_a_time() -> None:
    """Legacy deliveries carry one realm each: changes in realms A, A, B, A go out as
    three deliveries (A A), (B), (A)."""
    client, receiver = subscribed(realms=2)
    other_realm = client.emulator.realm_ids[1]
    other = DataClient.__new__(DataClient)
    other.__dict__.update(client.__dict__)
    other.realm = other_realm
    other.token = str(client.emulator.oauth.mint_tokens(other_realm)["access_token"])
    await client.create("Customer", {"DisplayName": "A1"})
    await client.create("Customer", {"DisplayName": "A2"})
    await other.create("Customer", {"DisplayName": "B1"})
    await client.create("Customer", {"DisplayName": "A3"})
    assert await client.emulator.webhooks.deliver_due() == 3
    realms = [[n["realmId"] for n in body["eventNotifications"]] for body in receiver.bodies()]
    assert realms == [[client.realm], [other_realm], [client.realm]]
    assert [len(entities(body)) for body in receiver.bodies()] == [2, 1, 1]


async def test_the_cap_is_a_setting_and_applies_to_legacy_too() -> None:
    """`webhook_max_events` bounds every delivery."""
    client, receiver = subscribed(webhook_max_events=2)
    for n in range(5):
        await client.create("Customer", {"DisplayName": f"L{n}"})
    assert await client.emulator.webhooks.deliver_due() == 3
    assert [len(entities(body)) for body in receiver.bodies()] == [2, 2, 1]


# -- the subscription ---------------------------------------------------------------------------


async def test_without_a_subscription_nothing_is_kept() -> None:
    """Changes made while unsubscribed are not queued; removing the subscription drops
    what was queued."""
    client = DataClient(EmulatorSettings(throttle=False, size="empty"))
    webhooks = client.emulator.webhooks
    await client.create("Customer", {"DisplayName": "Unheard"})
    assert webhooks.queued_count == 0
    assert webhooks.next_due() is None
    assert await webhooks.deliver_due() == 0
    webhooks.subscribe(WebhookSubscription(url=URL, verifier_token=VERIFIER))
    await client.create("Customer", {"DisplayName": "Heard"})
    assert webhooks.queued_count == 1
    assert webhooks.unsubscribe() == 1
    assert webhooks.queued_count == 0


async def test_a_realm_filter_keeps_other_realms_out() -> None:
    """A subscription naming realms hears only those."""
    client, _receiver = subscribed()
    client.emulator.webhooks.subscribe(
        WebhookSubscription(url=URL, verifier_token=VERIFIER, realm_ids=["elsewhere"])
    )
    await client.create("Customer", {"DisplayName": "Filtered"})
    assert client.emulator.webhooks.queued_count == 0


async def test_reset_keeps_the_subscription_and_forgets_the_queue() -> None:
    """`reset` regenerates data and forgets queued events and the log; the subscription
    stays and hears the new companies."""
    client, _receiver = subscribed(script=[500])
    await client.create("Customer", {"DisplayName": "Before"})
    await client.emulator.webhooks.deliver_due()
    client.emulator.reset()
    webhooks = client.emulator.webhooks
    assert webhooks.subscription is not None
    assert (webhooks.queued_count, len(webhooks.log)) == (0, 0)
    client.token = str(client.emulator.oauth.mint_tokens(client.realm)["access_token"])
    await client.create("Customer", {"DisplayName": "After"})
    assert webhooks.queued_count == 1


async def test_a_due_delivery_without_transport_is_an_error() -> None:
    """With no transport a due delivery raises `NoWebhookTransportError`; the control
    API answers 409."""
    client = DataClient(EmulatorSettings(throttle=False, size="empty"))
    client.emulator.webhooks.subscribe(WebhookSubscription(url=URL, verifier_token=VERIFIER))
    await client.create("Customer", {"DisplayName": "Stuck"})
    with pytest.raises(NoWebhookTransportError):
        await client.emulator.webhooks.deliver_due()
    with pytest.raises(ControlError) as raised:
        await client.emulator.control.deliver_webhooks()
    assert (raised.value.status, raised.value.error) == (409, "no_webhook_transport")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "ftp://x"}, "http"),
        ({"verifier_token": ""}, "empty"),
        ({"format": "xml"}, "legacy"),
    ],
)
def test_a_bad_subscription_is_refused(changes: dict[str, Any], message: str) -> None:
    """A url that is not HTTP(S), an empty verifier or an unknown format is refused."""
    fields: dict[str, Any] = {"url": URL, "verifier_token": VERIFIER} | changes
    with pytest.raises(ValueError, match=message):
        WebhookSubscription(**fields)


async def test_the_in_process_door_starts_no_task() -> None:
    """Writes through `EmulatorTransport` queue events but start nothing: no delivery
    happens until the test asks."""
    client, receiver = subscribed()
    transport = EmulatorTransport(client.emulator)
    before = asyncio.all_tasks()
    response = await transport.send(
        HttpRequest(
            method="POST",
            url=f"http://emulator.invalid/v3/company/{client.realm}/customer",
            headers={
                "Authorization": f"Bearer {client.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            body=b'{"DisplayName": "Door"}',
        )
    )
    assert response.status == 200
    for _ in range(5):
        await asyncio.sleep(0)
    assert asyncio.all_tasks() == before
    assert receiver.requests == []
    assert client.emulator.webhooks.queued_count == 1


# -- secrets ------------------------------------------------------------------------------------


async def test_the_verifier_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    """The verifier token is in no repr, no log line (any level) and no control answer."""
    caplog.set_level(logging.DEBUG)
    client, receiver = subscribed(script=[500, ConnectError("refused")])
    webhooks = client.emulator.webhooks
    await client.create("Customer", {"DisplayName": "Secret"})
    await webhooks.deliver_due()
    await webhooks.deliver_now()
    await webhooks.deliver_now()
    subscription = webhooks.subscription
    shown: list[Callable[[], object]] = [
        lambda: repr(subscription),
        lambda: str(subscription),
        lambda: repr(webhooks),
        lambda: json.dumps(client.emulator.control.webhooks()),
        lambda: json.dumps(client.emulator.control.state()),
        lambda: json.dumps(client.emulator.control.webhook_deliveries()),
        lambda: repr(list(webhooks.log)),
        lambda: repr(receiver.requests),
    ]
    for show in shown:
        assert VERIFIER not in str(show())
    assert caplog.records, "the dispatcher logs its deliveries"
    assert all(VERIFIER not in record.getMessage() for record in caplog.records)
    assert VERIFIER not in caplog.text
    assert client.emulator.control.webhooks()["subscription"]["verifier_token"] == "***"


def test_dispatcher_repr_names_only_the_url() -> None:
    """The dispatcher's repr shows where it sends and how much waits."""
    dispatcher = WebhookDispatcher(clock=FakeClock(), settings=EmulatorSettings())
    assert repr(dispatcher) == "WebhookDispatcher(unsubscribed, queued=0)"
    emulator = QBOEmulator(EmulatorSettings(size="empty"), clock=FakeClock())
    emulator.webhooks.subscribe(WebhookSubscription(url=URL, verifier_token=VERIFIER))
    assert repr(emulator.webhooks) == f"WebhookDispatcher({URL}, queued=0)"


async def test_replacing_the_subscription_keeps_the_queue_in_the_new_format() -> None:
    """Events queued before the subscription is replaced go out with the new format,
    url and verifier."""
    client, receiver = subscribed()
    await client.create("Customer", {"DisplayName": "Switch"})
    client.emulator.webhooks.subscribe(
        WebhookSubscription(url=URL + "/v2", verifier_token="other", format="cloudevents")
    )
    await client.emulator.webhooks.deliver_due()
    request = receiver.requests[0]
    assert request.url == URL + "/v2"
    assert request.headers.get("intuit-signature") == webhook_signature(request.body, "other")
    assert json.loads(request.body)[0]["type"] == "qbo.customer.created.v1"


async def test_unsubscribing_while_a_delivery_is_out_forgets_it() -> None:
    """A delivery whose subscription is removed while it is being sent is not retried,
    even after a new subscription."""
    client = DataClient(EmulatorSettings(throttle=False, size="empty"))
    webhooks = client.emulator.webhooks

    def failing_after_unsubscribe(request: HttpRequest) -> HttpResponse:
        webhooks.unsubscribe()
        return HttpResponse(status=500, headers=[], body=b"")

    transport = FakeTransport(failing_after_unsubscribe)
    webhooks.transport = transport
    webhooks.subscribe(WebhookSubscription(url=URL, verifier_token=VERIFIER))
    await client.create("Customer", {"DisplayName": "Gone"})
    assert await webhooks.deliver_due() == 1
    assert webhooks.pending is None
    webhooks.subscribe(WebhookSubscription(url=URL, verifier_token=VERIFIER))
    client.advance(60)
    assert await webhooks.deliver_due() == 0
    assert len(transport.requests) == 1
