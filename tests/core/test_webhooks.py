"""`qbo_core.webhooks`: the signature check and the parser of both payload formats."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import inspect
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_core import webhooks
from qbo_core.converter import structure, unstructure
from qbo_core.dtos import WebhookEvent, WebhookFormat
from qbo_core.errors import DecodeError, WebhookPayloadError
from qbo_core.webhooks import parse_webhook, verify_signature

# The verified test vector of the facts file (Intuit's .NET SDK test, recomputed locally).
VECTOR_TOKEN = "00faeec4-08d0-4996-bb37-698ae19f0149"
VECTOR_BODY = (
    b'{"eventNotifications":[{"realmId":"1269959970","dataChangeEvent":{"entities":['
    b'{"name":"Vendor","id":"40","operation":"Update","lastUpdated":"2016-10-05T03:09:04.000Z"},'
    b'{"name":"Customer","id":"43","operation":"Create","lastUpdated":"2016-10-05T03:07:04.000Z"}'
    b"]}}]}"
)
VECTOR_SIGNATURE = "6q+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sneKTxLWM="

CLOUD_EVENT = {
    "specversion": "1.0",
    "id": "88cd52aa-33b6-4351-9aa4-47572edbd068",
    "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
    "type": "qbo.account.created.v1",
    "datacontenttype": "application/json",
    "time": "2025-09-10T21:31:25.179851517Z",
    "intuitentityid": "1234",
    "intuitaccountid": "310687",
    "data": {},
}


def sign(body: bytes, token: str) -> str:
    return base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()


def cloud(**changes: Any) -> dict[str, Any]:
    event = dict(CLOUD_EVENT)
    event.update(changes)
    return {key: value for key, value in event.items() if value is not None}


def body_of(document: object) -> bytes:
    return json.dumps(document).encode()


# --------------------------------------------------------------------- the signature


def test_the_facts_test_vector_verifies() -> None:
    """Intuit's own test vector (token, body, signature) is accepted."""
    assert verify_signature(VECTOR_BODY, VECTOR_SIGNATURE, VECTOR_TOKEN) is True


@pytest.mark.parametrize(
    ("body", "signature", "token"),
    [
        pytest.param(
            VECTOR_BODY.replace(b'"40"', b'"41"'), VECTOR_SIGNATURE, VECTOR_TOKEN, id="body"
        ),
        pytest.param(VECTOR_BODY, VECTOR_SIGNATURE, VECTOR_TOKEN[:-1] + "0", id="token"),
        pytest.param(VECTOR_BODY, None, VECTOR_TOKEN, id="missing"),
        pytest.param(VECTOR_BODY, "", VECTOR_TOKEN, id="empty"),
        pytest.param(VECTOR_BODY, VECTOR_SIGNATURE + " ", VECTOR_TOKEN, id="trailing-space"),
        pytest.param(VECTOR_BODY, VECTOR_SIGNATURE.rstrip("="), VECTOR_TOKEN, id="unpadded"),
        pytest.param(VECTOR_BODY, "é" + VECTOR_SIGNATURE[1:], VECTOR_TOKEN, id="non-ascii"),
        pytest.param(VECTOR_BODY, "not base64 at all!", VECTOR_TOKEN, id="garbage"),
        pytest.param(VECTOR_BODY, VECTOR_SIGNATURE, "", id="empty-token"),
        pytest.param(VECTOR_BODY + b"\n", VECTOR_SIGNATURE, VECTOR_TOKEN, id="extra-byte"),
    ],
)
def test_anything_but_the_exact_signature_is_refused(
    body: bytes, signature: str | None, token: str
) -> None:
    """A changed body or token, a missing, padded, non-ASCII or garbage signature: False."""
    assert verify_signature(body, signature, token) is False


@given(body=st.binary(max_size=256), token=st.text(min_size=1, max_size=40))
def test_a_signed_body_verifies_and_any_one_byte_change_does_not(body: bytes, token: str) -> None:
    """The signature of a body verifies; flipping any byte of the body, or any character of
    the signature, makes it fail."""
    signature = sign(body, token)
    assert verify_signature(body, signature, token)
    for index in range(len(body)):
        changed = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
        assert not verify_signature(changed, signature, token)
    for index, char in enumerate(signature):
        other = "A" if char != "A" else "B"
        assert not verify_signature(body, signature[:index] + other + signature[index + 1 :], token)


@given(
    body=st.binary(max_size=128),
    signature=st.none() | st.text(max_size=60),
    token=st.text(max_size=40),
)
def test_arbitrary_signatures_never_verify_and_never_raise(
    body: bytes, signature: str | None, token: str
) -> None:
    """Whatever the body, header and token, the check answers a bool: True only for the
    signature of that very body."""
    result = verify_signature(body, signature, token)
    assert result is (bool(token) and signature == sign(body, token))


def test_the_comparison_is_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The signature is compared in constant time (`hmac.compare_digest`, on bytes), and
    the function's source compares nothing with `==`."""
    calls: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert verify_signature(VECTOR_BODY, VECTOR_SIGNATURE, VECTOR_TOKEN)
    assert not verify_signature(VECTOR_BODY, "A" + VECTOR_SIGNATURE[1:], VECTOR_TOKEN)
    assert len(calls) == 2
    assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)
    source = inspect.getsource(webhooks.verify_signature)
    assert "==" not in source
    assert "!=" not in source


# --------------------------------------------------------------------- the legacy format


def test_the_legacy_format_gives_one_event_per_entity() -> None:
    """Every entity of every notification is an event, with QBO's names and UTC times."""
    vendor, customer = parse_webhook(VECTOR_BODY)
    assert (vendor.realm_id, vendor.entity_type, vendor.entity_id, vendor.operation) == (
        "1269959970",
        "Vendor",
        "40",
        "Update",
    )
    assert vendor.occurred_at == datetime(2016, 10, 5, 3, 9, 4, tzinfo=UTC)
    assert vendor.format is WebhookFormat.LEGACY
    assert vendor.deleted_id is None
    assert (customer.entity_type, customer.entity_id, customer.operation) == (
        "Customer",
        "43",
        "Create",
    )


def test_legacy_event_ids_are_stable_and_distinct() -> None:
    """A redelivery gives the same ids (so it de-duplicates); different changes differ."""
    first = parse_webhook(VECTOR_BODY)
    again = parse_webhook(VECTOR_BODY.replace(b"03:09:04.000Z", b"03:09:04Z"))
    assert [event.event_id for event in first] == [event.event_id for event in again]
    assert all(event.event_id.startswith("legacy:") for event in first)
    assert first[0].event_id != first[1].event_id
    later = parse_webhook(VECTOR_BODY.replace(b"03:09:04.000Z", b"03:09:05.000Z"))
    assert later[0].event_id != first[0].event_id


def test_a_merge_keeps_the_deleted_id_and_notifications_span_realms() -> None:
    """`deletedId` is kept; each notification's realm goes to its own events."""
    body = body_of(
        {
            "eventNotifications": [
                {
                    "realmId": "1",
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Customer",
                                "id": "7",
                                "operation": "Merge",
                                "lastUpdated": "2025-01-01T00:00:00-05:00",
                                "deletedId": "8",
                            }
                        ]
                    },
                },
                {"realmId": "2", "dataChangeEvent": {"entities": []}},
                {
                    "realmId": "3",
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Invoice",
                                "id": "9",
                                "operation": "Void",
                                "lastUpdated": "2025-01-01T00:00:00Z",
                            }
                        ]
                    },
                },
            ]
        }
    )
    merge, void = parse_webhook(body)
    assert (merge.realm_id, merge.deleted_id, merge.operation) == ("1", "8", "Merge")
    assert merge.occurred_at == datetime(2025, 1, 1, 5, tzinfo=UTC)
    assert (void.realm_id, void.entity_type, void.operation) == ("3", "Invoice", "Void")


# --------------------------------------------------------------------- CloudEvents


def test_the_cloudevents_format_maps_back_to_qbo_names() -> None:
    """Id, realm, entity and time come from the CloudEvents fields; the time in UTC."""
    (event,) = parse_webhook(body_of([CLOUD_EVENT]))
    assert event == WebhookEvent(
        event_id="88cd52aa-33b6-4351-9aa4-47572edbd068",
        realm_id="310687",
        entity_type="Account",
        entity_id="1234",
        operation="Create",
        occurred_at=datetime(2025, 9, 10, 21, 31, 25, 179851, tzinfo=UTC),
        format=WebhookFormat.CLOUDEVENTS,
    )


@pytest.mark.parametrize(
    ("kind", "entity_type", "operation"),
    [
        ("qbo.customer.created.v1", "Customer", "Create"),
        ("qbo.journalentry.updated.v1", "JournalEntry", "Update"),
        ("qbo.purchaseorder.deleted.v1", "PurchaseOrder", "Delete"),
        ("qbo.billpayment.merged.v1", "BillPayment", "Merge"),
        ("qbo.invoice.voided.v1", "Invoice", "Void"),
        ("qbo.salesreceipt.emailed.v1", "SalesReceipt", "Emailed"),
        ("qbo.vendorcredit.created.v2", "VendorCredit", "Create"),
        ("qbo.widget.created.v1", "Widget", "Create"),
        ("qbo.customer.restored.v1", "Customer", "Restored"),
        ("qbo.Customer.Created.v1", "Customer", "Create"),
    ],
)
def test_cloudevents_types_give_qbo_casing(kind: str, entity_type: str, operation: str) -> None:
    """The lower-case entity maps to QBO's casing through the entity registry, else it is
    capitalised; verbs map to legacy operations, an unknown one capitalised."""
    (event,) = parse_webhook(body_of([cloud(type=kind)]))
    assert (event.entity_type, event.operation) == (entity_type, operation)


def test_an_empty_cloudevents_array_has_no_events() -> None:
    assert parse_webhook(b"[]") == ()


# --------------------------------------------------------------------- malformed


LEGACY_ENTITY = {
    "name": "Customer",
    "id": "1",
    "operation": "Create",
    "lastUpdated": "2025-01-01T00:00:00Z",
}


def legacy(entity: object = LEGACY_ENTITY, realm: object = "1") -> bytes:
    return body_of(
        {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": [entity]}}]}
    )


MALFORMED = {
    "not-utf8": b"\xff\xfe{}",
    "not-json": b"<html>",
    "empty": b"",
    "nan": b'[{"specversion": NaN}]',
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "scalar": b"42",
    "other-object": b'{"hello": "world"}',
    "notifications-not-array": b'{"eventNotifications": {}}',
    "notification-not-object": b'{"eventNotifications": [1]}',
    "no-realm": legacy(realm=None),
    "numeric-realm": legacy(realm=1269959970),
    "empty-realm": legacy(realm=""),
    "no-change-event": b'{"eventNotifications": [{"realmId": "1"}]}',
    "entities-not-array": b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {}}]}',
    "entity-not-object": legacy(entity="Customer"),
    "numeric-id": legacy(entity={**LEGACY_ENTITY, "id": 1}),
    "no-name": legacy(entity={k: v for k, v in LEGACY_ENTITY.items() if k != "name"}),
    "naive-time": legacy(entity={**LEGACY_ENTITY, "lastUpdated": "2025-01-01T00:00:00"}),
    "bad-time": legacy(entity={**LEGACY_ENTITY, "lastUpdated": "yesterday"}),
    "overflowing-time": legacy(
        entity={**LEGACY_ENTITY, "lastUpdated": "0001-01-01T00:00:00+01:00"}
    ),
    "numeric-deleted-id": legacy(entity={**LEGACY_ENTITY, "deletedId": 5}),
    "cloud-not-object": b"[1]",
    "cloud-no-id": body_of([cloud(id=None)]),
    "cloud-no-specversion": body_of([cloud(specversion=None)]),
    "cloud-numeric-realm": body_of([cloud(intuitaccountid=310687)]),
    "cloud-foreign-type": body_of([cloud(type="com.example.created")]),
    "cloud-short-type": body_of([cloud(type="qbo.account")]),
    "cloud-empty-entity": body_of([cloud(type="qbo..created.v1")]),
    "cloud-bad-time": body_of([cloud(time="2025-13-01T00:00:00Z")]),
}


@pytest.mark.parametrize("body", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_bodies_raise_the_typed_error_with_a_reason(body: bytes) -> None:
    """Every malformed body raises WebhookPayloadError (a DecodeError) with a reason."""
    with pytest.raises(WebhookPayloadError) as caught:
        parse_webhook(body)
    assert isinstance(caught.value, DecodeError)
    assert caught.value.reason
    assert caught.value.body_excerpt is None


def test_the_error_never_quotes_the_body() -> None:
    """A field's value never appears in the error, only where it was."""
    with pytest.raises(WebhookPayloadError) as caught:
        parse_webhook(legacy(entity={**LEGACY_ENTITY, "lastUpdated": "secret-looking-value"}))
    assert "secret-looking-value" not in str(caught.value)
    assert "lastUpdated" in caught.value.reason


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELD = (
    st.none() | st.integers() | st.text(max_size=30) | st.sampled_from(["", "2025-01-01T00:00:00Z"])
)


@given(st.binary(max_size=512))
def test_arbitrary_bytes_raise_nothing_but_the_typed_error(body: bytes) -> None:
    """Whatever the bytes, parsing returns events or raises WebhookPayloadError."""
    with contextlib.suppress(WebhookPayloadError):
        parse_webhook(body)


@given(JSON)
def test_arbitrary_json_raises_nothing_but_the_typed_error(document: object) -> None:
    """Any JSON document: events or WebhookPayloadError, nothing else."""
    with contextlib.suppress(WebhookPayloadError):
        parse_webhook(json.dumps(document).encode())


@given(
    legacy_entity=st.dictionaries(
        st.sampled_from(["name", "id", "operation", "lastUpdated", "deletedId"]), FIELD | JSON
    ),
    realm=FIELD,
    cloud_event=st.dictionaries(
        st.sampled_from(["specversion", "id", "type", "time", "intuitentityid", "intuitaccountid"]),
        FIELD | st.sampled_from(["qbo.customer.updated.v1", "qbo.x", "qbo.a.b"]),
    ),
)
def test_near_valid_shapes_raise_nothing_but_the_typed_error(
    legacy_entity: dict[str, object], realm: object, cloud_event: dict[str, object]
) -> None:
    """Both formats' shapes with fields missing or of any type: events or the typed error."""
    for body in (legacy(entity=legacy_entity, realm=realm), body_of([cloud_event])):
        try:
            events = parse_webhook(body)
        except WebhookPayloadError:
            continue
        for event in events:
            assert event.occurred_at.tzinfo is UTC


@given(
    st.builds(
        WebhookEvent,
        event_id=st.text(min_size=1),
        realm_id=st.text(min_size=1),
        entity_type=st.text(min_size=1),
        entity_id=st.text(min_size=1),
        operation=st.text(min_size=1),
        occurred_at=st.datetimes(timezones=st.just(UTC)),
        deleted_id=st.none() | st.text(min_size=1),
        format=st.sampled_from(WebhookFormat),
    )
)
def test_webhook_event_round_trips_through_json(event: WebhookEvent) -> None:
    """A WebhookEvent survives the converter and JSON unchanged (a host may queue it)."""
    back = structure(json.loads(json.dumps(unstructure(event))), WebhookEvent)
    assert back == event
