"""The webhook wire format, as pure functions: bodies, the signature, the retry schedule."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from qbo_adapters.emulator.webhook_payloads import (
    DEFAULT_RETRY_SCHEDULE,
    OPERATIONS,
    WebhookEvent,
    cloudevent_type,
    cloudevents_body,
    legacy_body,
    retry_delay,
    utc_text,
    webhook_signature,
)

# The verified test vector of the facts file (section 8, from Intuit's .NET SDK tests).
VECTOR_TOKEN = "00faeec4-08d0-4996-bb37-698ae19f0149"
VECTOR_BODY = (
    b'{"eventNotifications":[{"realmId":"1269959970","dataChangeEvent":{"entities":['
    b'{"name":"Vendor","id":"40","operation":"Update","lastUpdated":"2016-10-05T03:09:04.000Z"},'
    b'{"name":"Customer","id":"43","operation":"Create","lastUpdated":"2016-10-05T03:07:04.000Z"}'
    b"]}}]}"
)
VECTOR_SIGNATURE = "6q+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sneKTxLWM="


def event(
    entity: str, entity_id: str, operation: str, at: datetime, realm: str = "1269959970"
) -> WebhookEvent:
    return WebhookEvent(
        id=f"id-{entity}-{entity_id}",
        realm_id=realm,
        entity=entity,
        entity_id=entity_id,
        operation=operation,  # type: ignore[arg-type]
        at=at,
    )


def test_signature_matches_the_test_vector() -> None:
    """base64(HMAC-SHA256(verifier, body)) of the vector's body is the vector's signature."""
    assert webhook_signature(VECTOR_BODY, VECTOR_TOKEN) == VECTOR_SIGNATURE


def test_signature_depends_on_every_byte_and_the_token() -> None:
    """One byte more, or another token, gives another signature."""
    assert webhook_signature(VECTOR_BODY + b" ", VECTOR_TOKEN) != VECTOR_SIGNATURE
    assert webhook_signature(VECTOR_BODY, VECTOR_TOKEN + "x") != VECTOR_SIGNATURE


def test_legacy_body_of_the_vector_events_is_the_vector_body_byte_for_byte() -> None:
    """The legacy body of the vector's two events is exactly the vector's bytes, so the
    emulator's own deliveries sign as Intuit's do."""
    body = legacy_body(
        [
            event("Vendor", "40", "Update", datetime(2016, 10, 5, 3, 9, 4, tzinfo=UTC)),
            event("Customer", "43", "Create", datetime(2016, 10, 5, 3, 7, 4, tzinfo=UTC)),
        ]
    )
    assert body == VECTOR_BODY
    assert webhook_signature(body, VECTOR_TOKEN) == VECTOR_SIGNATURE


def test_legacy_body_groups_by_realm_in_order() -> None:
    """Events of two realms give one notification per realm, realms in first-seen order."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    body = json.loads(
        legacy_body(
            [
                event("Customer", "1", "Create", at, realm="B"),
                event("Invoice", "2", "Delete", at, realm="A"),
                event("Customer", "1", "Update", at, realm="B"),
            ]
        )
    )
    realms = [(n["realmId"], n["dataChangeEvent"]["entities"]) for n in body["eventNotifications"]]
    assert [r for r, _ in realms] == ["B", "A"]
    assert [e["operation"] for e in realms[0][1]] == ["Create", "Update"]


def test_cloudevents_body_has_every_cloudevents_field() -> None:
    """A CloudEvents body is an array of CloudEvents 1.0 objects as Intuit sends them."""
    at = datetime(2025, 9, 10, 21, 31, 25, 179851, tzinfo=UTC)
    body = json.loads(cloudevents_body([event("Account", "1234", "Create", at)], source="src"))
    assert body == [
        {
            "specversion": "1.0",
            "id": "id-Account-1234",
            "source": "src",
            "type": "qbo.account.created.v1",
            "datacontenttype": "application/json",
            "time": "2025-09-10T21:31:25.179Z",
            "intuitentityid": "1234",
            "intuitaccountid": "1269959970",
            "data": {},
        }
    ]


@pytest.mark.parametrize(
    ("operation", "word"),
    [
        ("Create", "created"),
        ("Update", "updated"),
        ("Delete", "deleted"),
        ("Merge", "merged"),
        ("Void", "voided"),
        ("Emailed", "emailed"),
    ],
)
def test_cloudevent_type_words(operation: str, word: str) -> None:
    """Each operation has its CloudEvents type word; the entity is lower-cased."""
    assert cloudevent_type("SalesReceipt", operation) == f"qbo.salesreceipt.{word}.v1"
    assert operation in OPERATIONS


def test_utc_text_converts_to_utc_with_milliseconds() -> None:
    """Times are written in UTC with milliseconds and a Z, whatever the offset given."""
    from zoneinfo import ZoneInfo

    at = datetime(2026, 1, 1, 8, 0, 0, 123456, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert utc_text(at) == "2026-01-01T16:00:00.123Z"


def test_retry_schedule_is_intuits_and_repeats_its_last_step() -> None:
    """10 s, 20 s, 30 s, 5 min, 20 min, 2 h, 4 h, 6 h, then every 6 h."""
    waits = [retry_delay(DEFAULT_RETRY_SCHEDULE, n) for n in range(1, 12)]
    assert waits == [10, 20, 30, 300, 1200, 7200, 14400, 21600, 21600, 21600, 21600]
    with pytest.raises(ValueError, match="from 1"):
        retry_delay(DEFAULT_RETRY_SCHEDULE, 0)
    with pytest.raises(ValueError, match="empty"):
        retry_delay((), 1)
