"""`WebhookReceiver` (statuses, de-duplication, the realm check, events) and `reconcile`
(against the emulator, through `SmartSyncService`)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from qbo_adapters.memory import FakeClock, MemoryStateStore, MemoryTokenStore, RecordingEventSink
from qbo_core import events as kinds
from qbo_core.dtos import TokenSet, WebhookEvent, WebhookFormat
from qbo_core.entities import Customer
from qbo_core.errors import QBOError, StoreUnavailableError
from qbo_core.query import Query
from qbo_core.services import QBORawClient
from qbo_core.services.webhooks import (
    DEFAULT_DEDUPE_TTL,
    WebhookReceipt,
    WebhookReceiver,
    reconcile,
)
from tests.core.sync_world import SyncWorld
from tests.core.test_webhooks import VECTOR_BODY, VECTOR_SIGNATURE, VECTOR_TOKEN, sign

REALM = "1269959970"
TOKEN = VECTOR_TOKEN


def tokens(clock: FakeClock, **changes: Any) -> TokenSet:
    now = clock.now()
    values: dict[str, Any] = {
        "access_token": "access-token-value",
        "refresh_token": "refresh-token-value",
        "access_token_expires_at": now + timedelta(hours=1),
        "refresh_token_expires_at": now + timedelta(days=100),
    }
    values.update(changes)
    return TokenSet(**values)


class Receiving:
    """A receiver on memory adapters, with the vector's realm connected."""

    def __init__(self, **options: Any) -> None:
        self.clock = FakeClock(auto_advance=False)
        given = options.pop("state_store", None)
        self.store = given if given is not None else MemoryStateStore(self.clock)
        self.tokens = MemoryTokenStore()
        self.events = RecordingEventSink()
        self.receiver = WebhookReceiver(
            verifier_token=TOKEN,
            state_store=self.store,
            is_connected=options.pop("is_connected", self.tokens),
            events=self.events,
            clock=self.clock,
            **options,
        )

    async def connect(self, realm_id: str = REALM, **changes: Any) -> None:
        await self.tokens.save(realm_id, tokens(self.clock, **changes), expected_version=None)

    def reasons(self, receipt: WebhookReceipt) -> list[str]:
        return [reason for _, reason in receipt.refused]


@pytest.fixture
async def receiving() -> Receiving:
    world = Receiving()
    await world.connect()
    return world


async def test_a_signed_delivery_of_a_connected_realm_is_accepted(receiving: Receiving) -> None:
    """Both events of the vector are accepted, 200, each reported as webhook.received."""
    receipt = await receiving.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    assert receipt.status == 200
    assert [(event.entity_type, event.entity_id) for event in receipt.accepted] == [
        ("Vendor", "40"),
        ("Customer", "43"),
    ]
    assert receipt.refused == ()
    received = receiving.events.of_kind(kinds.WEBHOOK_RECEIVED)
    assert [event.attributes["entity_id"] for event in received] == ["40", "43"]
    assert {event.realm_id for event in received} == {REALM}


async def test_a_redelivery_is_refused_as_duplicate(receiving: Receiving) -> None:
    """The same delivery again (an Intuit retry) is acknowledged, and nothing is accepted."""
    await receiving.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    receipt = await receiving.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    assert receipt.status == 200
    assert receipt.accepted == ()
    assert receiving.reasons(receipt) == ["duplicate", "duplicate"]
    refused = receiving.events.of_kind(kinds.WEBHOOK_REFUSED)
    assert [event.attributes["reason"] for event in refused] == ["duplicate", "duplicate"]
    first_refused = receipt.refused[0][0]
    assert first_refused is not None
    assert refused[0].attributes["event_id"] == first_refused.event_id


async def test_two_receivers_sharing_a_store_accept_an_event_once() -> None:
    """Two workers on one state store: the second to receive a delivery refuses it."""
    first = Receiving()
    await first.connect()
    second = Receiving(state_store=first.store)
    await second.connect()
    assert len((await first.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)).accepted) == 2
    assert (await second.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)).accepted == ()


async def test_an_event_is_remembered_for_the_dedupe_ttl_and_no_longer(
    receiving: Receiving,
) -> None:
    """Within the TTL (7 days by default) a redelivery is a duplicate; after it, new."""
    assert receiving.receiver.dedupe_ttl == DEFAULT_DEDUPE_TTL == 7 * 24 * 3600
    await receiving.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    receiving.clock.advance(DEFAULT_DEDUPE_TTL - 1)
    assert (await receiving.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)).accepted == ()
    receiving.clock.advance(1)
    assert len((await receiving.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)).accepted) == 2


async def test_forget_lets_a_redelivery_through(receiving: Receiving) -> None:
    """After `forget(event_id)`, that event is accepted again; the others stay claimed."""
    receipt = await receiving.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    await receiving.receiver.forget(receipt.accepted[1].event_id)
    again = await receiving.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    assert again.accepted == (receipt.accepted[1],)
    await receiving.receiver.forget("never-seen")


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        pytest.param(VECTOR_BODY.replace(b'"40"', b'"41"'), VECTOR_SIGNATURE, id="tampered"),
        pytest.param(VECTOR_BODY, sign(VECTOR_BODY, "another-token"), id="other-token"),
        pytest.param(VECTOR_BODY, None, id="missing"),
        pytest.param(VECTOR_BODY, "garbage", id="garbage"),
    ],
)
async def test_a_bad_signature_is_401_and_nothing_is_parsed_or_claimed(
    receiving: Receiving, body: bytes, signature: str | None
) -> None:
    """Refused whole before parsing: no event, no claim in the store."""
    receipt = await receiving.receiver.receive(body, signature)
    assert receipt == WebhookReceipt(status=401, refused=((None, "bad_signature"),))
    assert len(receiving.store) == 0
    (refused,) = receiving.events.of_kind(kinds.WEBHOOK_REFUSED)
    assert dict(refused.attributes) == {"reason": "bad_signature"}


async def test_an_oversized_body_is_413_even_when_signed() -> None:
    """A body over `max_body_bytes` is refused before its signature is even checked."""
    world = Receiving(max_body_bytes=len(VECTOR_BODY) - 1)
    await world.connect()
    receipt = await world.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    assert receipt == WebhookReceipt(status=413, refused=((None, "too_large"),))
    exact = Receiving(max_body_bytes=len(VECTOR_BODY))
    await exact.connect()
    assert (await exact.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)).status == 200


@pytest.mark.parametrize("body", [b"not json", b'{"hello": 1}', b"\xff", b"[1]"])
async def test_a_signed_but_malformed_body_is_acknowledged(
    receiving: Receiving, body: bytes
) -> None:
    """Intuit signed it: answering anything but 200 would make it resend it forever."""
    receipt = await receiving.receiver.receive(body, sign(body, TOKEN))
    assert receipt == WebhookReceipt(status=200, refused=((None, "malformed"),))


async def test_events_of_a_realm_not_connected_are_refused_and_never_claimed() -> None:
    """No tokens, or tokens marked revoked or needing reauthorization: not our realm."""
    world = Receiving()
    receipt = await world.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    assert receipt.status == 200
    assert receipt.accepted == ()
    assert world.reasons(receipt) == ["realm_not_connected"] * 2
    assert len(world.store) == 0
    await world.connect(revoked_at=world.clock.now())
    assert (await world.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)).accepted == ()
    refused = world.events.of_kind(kinds.WEBHOOK_REFUSED)
    assert {event.realm_id for event in refused} == {REALM}


async def test_a_callable_decides_which_realms_are_connected() -> None:
    """`is_connected` may be the host's own async predicate instead of a token store."""
    asked: list[str] = []

    async def is_connected(realm_id: str) -> bool:
        asked.append(realm_id)
        return realm_id == REALM

    world = Receiving(is_connected=is_connected)
    receipt = await world.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    assert len(receipt.accepted) == 2
    assert asked == [REALM]  # asked once per realm and delivery


class FailingStore(MemoryStateStore):
    """A memory store whose claims fail after `good` successes."""

    def __init__(self, clock: FakeClock, good: int) -> None:
        super().__init__(clock)
        self.good = good

    async def claim(self, key: str, *, ttl: float) -> bool:
        if self.good <= 0:
            raise StoreUnavailableError("down", backend="memory")
        self.good -= 1
        return await super().claim(key, ttl=ttl)


async def test_a_failing_store_is_503_and_releases_the_claims_made() -> None:
    """The store fails mid-delivery: 503 (Intuit retries), nothing accepted, and the one
    claim made is released, so the retry is accepted whole."""
    clock = FakeClock(auto_advance=False)
    store = FailingStore(clock, good=1)
    world = Receiving(state_store=store)
    await world.connect()
    receipt = await world.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    assert receipt == WebhookReceipt(status=503, refused=((None, "unavailable"),))
    assert world.events.of_kind(kinds.WEBHOOK_RECEIVED) == []
    store.good = 10
    assert len((await world.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)).accepted) == 2


async def test_a_failing_predicate_propagates_and_releases_the_claims_made() -> None:
    """The host's predicate fails for the second realm: the error propagates, and the
    first realm's claimed event is released, so Intuit's retry is accepted."""
    calls: list[str] = []

    async def is_connected(realm_id: str) -> bool:
        calls.append(realm_id)
        if realm_id == "2" and len(calls) < 3:
            raise RuntimeError("host database down")
        return True

    world = Receiving(is_connected=is_connected)
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": realm,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Customer",
                                "id": "1",
                                "operation": "Update",
                                "lastUpdated": "2025-01-01T00:00:00Z",
                            }
                        ]
                    },
                }
                for realm in ("1", "2")
            ]
        }
    ).encode()
    with pytest.raises(RuntimeError, match="host database down"):
        await world.receiver.receive(body, sign(body, TOKEN))
    receipt = await world.receiver.receive(body, sign(body, TOKEN))
    assert [event.realm_id for event in receipt.accepted] == ["1", "2"]


async def test_no_event_and_no_repr_holds_the_token_or_the_body(receiving: Receiving) -> None:
    """Events carry ids and reasons only; the receiver's repr hides the verifier token."""
    await receiving.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    await receiving.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    await receiving.receiver.receive(b"secret body text", sign(b"secret body text", TOKEN))
    await receiving.receiver.receive(VECTOR_BODY, "wrong")
    shown = repr(receiving.events.events) + repr(receiving.receiver)
    assert TOKEN not in shown
    assert "secret body text" not in shown
    assert "eventNotifications" not in shown
    assert VECTOR_SIGNATURE not in shown


@pytest.mark.parametrize(
    "options",
    [
        {"verifier_token": ""},
        {"dedupe_ttl": 0},
        {"dedupe_ttl": float("inf")},
        {"max_body_bytes": 0},
        {"max_body_bytes": True},
    ],
)
def test_invalid_settings_are_refused(options: dict[str, Any]) -> None:
    clock = FakeClock()
    values: dict[str, Any] = {
        "verifier_token": TOKEN,
        "state_store": MemoryStateStore(clock),
        "is_connected": MemoryTokenStore(),
        "events": RecordingEventSink(),
        "clock": clock,
    }
    values.update(options)
    with pytest.raises(ValueError, match=r"verifier_token|dedupe_ttl|max_body_bytes"):
        WebhookReceiver(**values)


# --------------------------------------------------------------------- reconcile


@pytest.fixture
async def world() -> SyncWorld:
    world = SyncWorld()
    await world.connect()
    return world


def event(
    world: SyncWorld, entity_id: str, operation: str = "Update", **changes: Any
) -> WebhookEvent:
    values: dict[str, Any] = {
        "event_id": f"{entity_id}:{operation}",
        "realm_id": world.realm,
        "entity_type": "Customer",
        "entity_id": entity_id,
        "operation": operation,
        "occurred_at": world.clock.now(),
        "format": WebhookFormat.CLOUDEVENTS,
    }
    values.update(changes)
    return WebhookEvent(**values)


async def customers(world: SyncWorld, count: int) -> list[Customer]:
    page = await world.raw.query(await world.raw_auth(), Query.select(Customer).max_results(count))
    return list(page.items)


async def test_reconcile_reads_changed_entities_past_a_stale_cache(world: SyncWorld) -> None:
    """A customer cached before it changed elsewhere is read again from QBO."""
    sync = world.sync()
    (customer,) = await customers(world, 1)
    assert customer.id is not None
    await sync.read(Customer, customer.id)  # now cached
    await world.raw.sparse_update(
        await world.raw_auth(), Customer, customer.id, customer.sync_token or "", {"Notes": "new"}
    )
    result = await reconcile([event(world, customer.id)], lambda realm: sync)
    (fresh,) = result.entities
    assert isinstance(fresh, Customer)
    assert fresh.notes == "new"
    assert result.deleted == ()
    assert result.failed == ()


async def test_reconcile_reports_deletions_without_reading_and_missing_ones_as_deleted(
    world: SyncWorld,
) -> None:
    """A Delete is reported without a request; a read answered 'not found' is a deletion;
    a merge's deleted id is reported too; one entity named twice is read once."""
    sync = world.sync()
    first, second = await customers(world, 2)
    assert first.id is not None
    assert second.id is not None
    before = len(world.data_requests("/customer/"))
    later = world.clock.now() + timedelta(seconds=1)
    result = await reconcile(
        [
            event(world, "999999", "Delete"),
            event(world, "888888", "Update"),
            event(world, first.id, "Update"),
            event(world, first.id, "Merge", deleted_id="777777", occurred_at=later),
            event(world, second.id, "Emailed"),
        ],
        lambda realm: sync,
    )
    assert [entity.id for entity in result.entities] == [first.id, second.id]
    assert set(result.deleted) == {
        ("Customer", "999999"),
        ("Customer", "888888"),
        ("Customer", "777777"),
    }
    assert len(world.data_requests("/customer/")) - before == 3


async def test_reconcile_uses_cdc_past_the_threshold(world: SyncWorld) -> None:
    """More events than the threshold for a realm: one CDC call instead of reads."""
    sync = world.sync()
    (customer,) = await customers(world, 1)
    assert customer.id is not None
    await world.raw.sparse_update(
        await world.raw_auth(), Customer, customer.id, customer.sync_token or "", {"Notes": "cdc"}
    )
    reads = len(world.data_requests("/customer/"))
    result = await reconcile(
        [event(world, customer.id), event(world, "424242", "Delete")],
        lambda realm: sync,
        cdc_threshold=1,
    )
    assert result.via_cdc == (world.realm,)
    assert len(world.data_requests("/cdc")) == 1
    assert len(world.data_requests("/customer/")) == reads
    assert customer.id in {entity.id for entity in result.entities}
    assert ("Customer", "424242") in result.deleted


async def test_a_realm_that_fails_goes_to_failed_and_the_others_go_on(world: SyncWorld) -> None:
    """A realm whose connection is gone: its events fail with the error; the rest is read."""
    (customer,) = await customers(world, 1)
    assert customer.id is not None
    good = world.sync()
    other = world.emulator.realm_ids[1] if len(world.emulator.realm_ids) > 1 else "123"
    broken = world.sync(realm_id=other)
    lost = event(world, "1", realm_id=other)
    result = await reconcile(
        [lost, event(world, customer.id)],
        lambda realm: good if realm == world.realm else broken,
    )
    assert [entity.id for entity in result.entities] == [customer.id]
    ((failed_event, error),) = result.failed
    assert failed_event == lost
    assert isinstance(error, QBOError)


def test_webhook_event_times_are_aware() -> None:
    """A naive occurred_at is refused at construction."""
    with pytest.raises(ValueError, match="occurred_at"):
        WebhookEvent(
            event_id="e",
            realm_id="1",
            entity_type="Customer",
            entity_id="1",
            operation="Create",
            occurred_at=datetime(2025, 1, 1),
            format=WebhookFormat.LEGACY,
        )


# --------------------------------------------------------------------- receiver details


async def test_an_accepted_event_is_reported_with_its_identity_and_the_time(
    receiving: Receiving,
) -> None:
    """`webhook.received` names the event (id, entity, operation, format) and its realm,
    stamped with the receiver's clock."""
    receipt = await receiving.receiver.receive(VECTOR_BODY, VECTOR_SIGNATURE)
    vendor = receipt.accepted[0]
    first = receiving.events.of_kind(kinds.WEBHOOK_RECEIVED)[0]
    assert (first.realm_id, first.at) == (REALM, receiving.clock.now())
    assert dict(first.attributes) == {
        "event_id": vendor.event_id,
        "entity_type": "Vendor",
        "entity_id": "40",
        "operation": "Update",
        "format": "legacy",
    }


def _three_events() -> bytes:
    return json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": REALM,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Customer",
                                "id": entity_id,
                                "operation": "Update",
                                "lastUpdated": "2025-01-01T00:00:00Z",
                            }
                            for entity_id in ("1", "2", "3")
                        ]
                    },
                }
            ]
        }
    ).encode()


class FlakyTakeStore(FailingStore):
    """A failing store whose first `take` fails too (the others succeed)."""

    def __init__(self, clock: FakeClock, good: int) -> None:
        super().__init__(clock, good)
        self.failed_takes = 0

    async def take(self, key: str) -> bytes | None:
        if self.failed_takes == 0:
            self.failed_takes += 1
            raise StoreUnavailableError("down", backend="memory")
        return await super().take(key)


async def test_releasing_goes_on_past_a_claim_that_cannot_be_released() -> None:
    """Two claims made, the third fails: releasing the first fails as well, and the
    second is still released, so Intuit's retry is accepted for all but the first."""
    clock = FakeClock(auto_advance=False)
    store = FlakyTakeStore(clock, good=2)
    world = Receiving(state_store=store)
    await world.connect()
    body = _three_events()
    receipt = await world.receiver.receive(body, sign(body, TOKEN))
    assert receipt.status == 503
    store.good = 10
    again = await world.receiver.receive(body, sign(body, TOKEN))
    assert [event.entity_id for event in again.accepted] == ["2", "3"]
    assert world.reasons(again) == ["duplicate"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"verifier_token": ""}, "^verifier_token must be a non-empty string$"),
        ({"dedupe_ttl": 0}, "^dedupe_ttl must be positive and finite, got 0$"),
        ({"max_body_bytes": 0}, "^max_body_bytes must be at least 1, got 0$"),
        ({"max_body_bytes": 1.5}, r"^max_body_bytes must be an int, got 1\.5$"),
    ],
)
def test_invalid_settings_say_what_is_wrong(options: dict[str, Any], message: str) -> None:
    """Each refused setting is named, with the value given."""
    clock = FakeClock()
    values: dict[str, Any] = {
        "verifier_token": TOKEN,
        "state_store": MemoryStateStore(clock),
        "is_connected": MemoryTokenStore(),
        "events": RecordingEventSink(),
        "clock": clock,
    }
    values.update(options)
    with pytest.raises(ValueError, match=message):
        WebhookReceiver(**values)


async def test_the_smallest_settings_are_allowed() -> None:
    """A fraction of a second of de-duplication and a one-byte body limit are valid."""
    world = Receiving(dedupe_ttl=0.5, max_body_bytes=1)
    assert (world.receiver.dedupe_ttl, world.receiver.max_body_bytes) == (0.5, 1)
    assert (await world.receiver.receive(b"[", None)).status == 401
    assert (await world.receiver.receive(b"[]", None)).status == 413


# --------------------------------------------------------------------- reconcile details


async def test_the_latest_event_of_an_entity_decides_whatever_the_order(
    world: SyncWorld,
) -> None:
    """Events arrive out of order: the one with the latest time decides (a Delete after
    an Update: no read); of two at the same time, the one that came last decides."""
    sync = world.sync()
    (customer,) = await customers(world, 1)
    assert customer.id is not None
    now = world.clock.now()
    before = len(world.data_requests("/customer/"))
    result = await reconcile(
        [
            event(world, customer.id, "Delete", occurred_at=now + timedelta(seconds=1)),
            event(world, customer.id, "Update", occurred_at=now),
        ],
        lambda realm: sync,
    )
    assert (result.entities, result.deleted) == ((), (("Customer", customer.id),))
    tied = await reconcile(
        [event(world, customer.id, "Update"), event(world, customer.id, "Delete")],
        lambda realm: sync,
    )
    assert (tied.entities, tied.deleted) == ((), (("Customer", customer.id),))
    assert len(world.data_requests("/customer/")) == before


async def test_deletions_alone_leave_the_cache_alone(world: SyncWorld) -> None:
    """Only Delete events: nothing is read, so the realm's cache is not dropped and a
    cached entity is still served without a request."""
    sync = world.sync()
    (customer,) = await customers(world, 1)
    assert customer.id is not None
    await sync.read(Customer, customer.id)
    reads = len(world.data_requests("/customer/"))
    await reconcile([event(world, "999999", "Delete")], lambda realm: sync)
    await sync.read(Customer, customer.id)
    assert len(world.data_requests("/customer/")) == reads


async def test_cdc_is_used_only_past_the_threshold(world: SyncWorld) -> None:
    """As many events as the threshold are read one by one; one more, and one CDC call
    (even for a single event, with a threshold of 0)."""
    sync = world.sync()
    (customer,) = await customers(world, 1)
    assert customer.id is not None
    at_threshold = await reconcile([event(world, customer.id)], lambda realm: sync, cdc_threshold=1)
    assert at_threshold.via_cdc == ()
    assert world.data_requests("/cdc") == []
    past = await reconcile([event(world, customer.id)], lambda realm: sync, cdc_threshold=0)
    assert past.via_cdc == (world.realm,)
    assert len(world.data_requests("/cdc")) == 1


async def test_cdc_reconciliation_reports_merges_and_caps(world: SyncWorld) -> None:
    """By CDC, a merge's deleted id is reported deleted, and a realm whose CDC answer hit
    the object cap is named in `capped_realms`."""
    capped_raw = QBORawClient(
        world.transport,
        attrs.evolve(world.config, cdc_max_objects=1),
        events=world.events,
        clock=world.clock,
    )
    sync = world.sync(raw_client=capped_raw)
    (customer,) = await customers(world, 1)
    assert customer.id is not None
    await world.raw.sparse_update(
        await world.raw_auth(), Customer, customer.id, customer.sync_token or "", {"Notes": "m"}
    )
    result = await reconcile(
        [event(world, customer.id, "Merge", deleted_id="777777")],
        lambda realm: sync,
        cdc_threshold=0,
    )
    assert ("Customer", "777777") in result.deleted
    assert result.capped_realms == (world.realm,)
    uncapped = await reconcile(
        [event(world, customer.id)], lambda realm: world.sync(), cdc_threshold=0
    )
    assert uncapped.capped_realms == ()


async def test_a_cdc_that_fails_fails_every_event_of_its_realm(world: SyncWorld) -> None:
    """The one CDC call of a realm fails: each of its events is in `failed`, with the error."""
    other = world.emulator.realm_ids[1] if len(world.emulator.realm_ids) > 1 else "123"
    broken = world.sync(realm_id=other)
    events = [event(world, "1", realm_id=other), event(world, "2", realm_id=other)]
    result = await reconcile(events, lambda realm: broken, cdc_threshold=1)
    assert [failed for failed, _ in result.failed] == events
    assert all(isinstance(error, QBOError) for _, error in result.failed)
    assert result.failed[0][1] is result.failed[1][1]
