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


@pytest.mark.parametrize(
    ("body", "signature", "token"),
    [
        pytest.param(VECTOR_BODY, 12345, VECTOR_TOKEN, id="signature-not-str"),
        pytest.param(VECTOR_BODY, VECTOR_SIGNATURE, 12345, id="token-not-str"),
        pytest.param(VECTOR_BODY.decode(), VECTOR_SIGNATURE, VECTOR_TOKEN, id="body-not-bytes"),
        pytest.param(VECTOR_BODY, sign(VECTOR_BODY, ""), "", id="signed-with-empty-token"),
    ],
)
def test_arguments_of_the_wrong_kind_are_refused_without_raising(
    body: Any, signature: Any, token: Any
) -> None:
    """A non-str signature or token, a body that is not bytes, or an empty verifier token
    (even with the signature an empty key gives) is `False`, never an exception."""
    assert verify_signature(body, signature, token) is False


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
    assert vendor.occurred_at.tzinfo is UTC
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


def test_legacy_event_ids_are_the_sha256_of_the_change() -> None:
    """A legacy event's id is `legacy:` and the SHA-256 of realm, entity, id, operation,
    UTC time and deletedId joined by U+001F: the same in every release, so a redelivery
    after an upgrade is still a duplicate of what the store remembers."""
    vendor, customer = parse_webhook(VECTOR_BODY)
    assert (
        vendor.event_id
        == "legacy:"
        + hashlib.sha256(
            "\x1f".join(
                ("1269959970", "Vendor", "40", "Update", "2016-10-05T03:09:04+00:00", "")
            ).encode()
        ).hexdigest()
    )
    assert vendor.event_id == (
        "legacy:e08c938dfadff43475d2189b21355b4556e5b07df0a00823fe0e503931d06e1d"
    )
    assert customer.event_id == (
        "legacy:8b8ca8417d80e77404d222c48ac9ecebe131be5c40697fff57ad7096aa7e0685"
    )
    (merge,) = parse_webhook(
        legacy(entity={**LEGACY_ENTITY, "id": "7", "operation": "Merge", "deletedId": "8"})
    )
    assert (
        merge.event_id
        == "legacy:"
        + hashlib.sha256(
            "\x1f".join(("1", "Customer", "7", "Merge", "2025-01-01T00:00:00+00:00", "8")).encode()
        ).hexdigest()
    )


def test_a_lone_surrogate_in_a_field_still_gives_an_event() -> None:
    """JSON may escape a lone surrogate (`\\ud800`): the field keeps it, and the event
    id is still computed (the parser raises nothing but its typed error)."""
    (event,) = parse_webhook(legacy(realm="\ud800"))
    assert event.realm_id == "\ud800"
    assert (
        event.event_id
        == "legacy:"
        + hashlib.sha256(
            "\x1f".join(
                ("\ud800", "Customer", "1", "Create", "2025-01-01T00:00:00+00:00", "")
            ).encode("utf-8", "surrogatepass")
        ).hexdigest()
    )


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
    assert merge.occurred_at.tzinfo is UTC
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
        ("qbo.customer.created", "Customer", "Create"),
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


def without(entity: dict[str, str], key: str) -> dict[str, str]:
    return {name: value for name, value in entity.items() if name != key}


def legacy(entity: object = LEGACY_ENTITY, realm: object = "1") -> bytes:
    return body_of(
        {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": [entity]}}]}
    )


ENTITY_0 = "eventNotifications[0].dataChangeEvent.entities[0]"
NOT_A_TIME = "is not an ISO 8601 time with an offset"
NOT_TEXT = "is not a non-empty string"
NOT_A_TYPE = "[0].type is not qbo.<entity>.<verb>.v1"
NEITHER = "neither an eventNotifications object nor a CloudEvents array"

#: Each malformed body, and the reason its error gives: where it is wrong, and how.
MALFORMED: dict[str, tuple[bytes, str]] = {
    "not-utf8": (b"\xff\xfe{}", "the body is not UTF-8"),
    "not-json": (b"<html>", "the body is not JSON"),
    "empty": (b"", "the body is not JSON"),
    "nan": (b'[{"specversion": NaN}]', "the body is not JSON"),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "the body is not JSON"),
    "scalar": (b"42", NEITHER),
    "other-object": (b'{"hello": "world"}', NEITHER),
    "notifications-not-array": (
        b'{"eventNotifications": {}}',
        "eventNotifications is not an array",
    ),
    "notification-not-object": (
        b'{"eventNotifications": [1]}',
        "eventNotifications[0] is not an object",
    ),
    "no-realm": (legacy(realm=None), "eventNotifications[0].realmId is missing"),
    "numeric-realm": (legacy(realm=1269959970), f"eventNotifications[0].realmId {NOT_TEXT}"),
    "empty-realm": (legacy(realm=""), f"eventNotifications[0].realmId {NOT_TEXT}"),
    "no-change-event": (
        b'{"eventNotifications": [{"realmId": "1"}]}',
        "eventNotifications[0].dataChangeEvent is not an object",
    ),
    "entities-not-array": (
        b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {}}]}',
        "eventNotifications[0].dataChangeEvent.entities is not an array",
    ),
    "entity-not-object": (legacy(entity="Customer"), f"{ENTITY_0} is not an object"),
    "numeric-id": (legacy(entity={**LEGACY_ENTITY, "id": 1}), f"{ENTITY_0}.id {NOT_TEXT}"),
    "no-name": (legacy(entity=without(LEGACY_ENTITY, "name")), f"{ENTITY_0}.name is missing"),
    "no-operation": (
        legacy(entity=without(LEGACY_ENTITY, "operation")),
        f"{ENTITY_0}.operation is missing",
    ),
    "no-last-updated": (
        legacy(entity=without(LEGACY_ENTITY, "lastUpdated")),
        f"{ENTITY_0}.lastUpdated is missing",
    ),
    "naive-time": (
        legacy(entity={**LEGACY_ENTITY, "lastUpdated": "2025-01-01T00:00:00"}),
        f"{ENTITY_0}.lastUpdated {NOT_A_TIME}",
    ),
    "bad-time": (
        legacy(entity={**LEGACY_ENTITY, "lastUpdated": "yesterday"}),
        f"{ENTITY_0}.lastUpdated {NOT_A_TIME}",
    ),
    "overflowing-time": (
        legacy(entity={**LEGACY_ENTITY, "lastUpdated": "0001-01-01T00:00:00+01:00"}),
        f"{ENTITY_0}.lastUpdated {NOT_A_TIME}",
    ),
    "numeric-deleted-id": (
        legacy(entity={**LEGACY_ENTITY, "deletedId": 5}),
        f"{ENTITY_0}.deletedId {NOT_TEXT}",
    ),
    "second-notification-no-realm": (
        body_of(
            {
                "eventNotifications": [
                    {"realmId": "1", "dataChangeEvent": {"entities": [LEGACY_ENTITY]}},
                    {"dataChangeEvent": {"entities": []}},
                ]
            }
        ),
        "eventNotifications[1].realmId is missing",
    ),
    "second-entity-no-id": (
        body_of(
            {
                "eventNotifications": [
                    {
                        "realmId": "1",
                        "dataChangeEvent": {
                            "entities": [LEGACY_ENTITY, without(LEGACY_ENTITY, "id")]
                        },
                    }
                ]
            }
        ),
        "eventNotifications[0].dataChangeEvent.entities[1].id is missing",
    ),
    "cloud-not-object": (b"[1]", "[0] is not an object"),
    "cloud-no-id": (body_of([cloud(id=None)]), "[0].id is missing"),
    "cloud-no-specversion": (body_of([cloud(specversion=None)]), "[0].specversion is missing"),
    "cloud-no-type": (body_of([cloud(type=None)]), "[0].type is missing"),
    "cloud-no-entity-id": (body_of([cloud(intuitentityid=None)]), "[0].intuitentityid is missing"),
    "cloud-no-time": (body_of([cloud(time=None)]), "[0].time is missing"),
    "cloud-numeric-realm": (
        body_of([cloud(intuitaccountid=310687)]),
        f"[0].intuitaccountid {NOT_TEXT}",
    ),
    "cloud-foreign-type": (body_of([cloud(type="com.example.created")]), NOT_A_TYPE),
    "cloud-short-type": (body_of([cloud(type="qbo.account")]), NOT_A_TYPE),
    "cloud-empty-entity": (body_of([cloud(type="qbo..created.v1")]), NOT_A_TYPE),
    "cloud-empty-verb": (body_of([cloud(type="qbo.account..v1")]), NOT_A_TYPE),
    "cloud-bad-time": (
        body_of([cloud(time="2025-13-01T00:00:00Z")]),
        f"[0].time {NOT_A_TIME}",
    ),
    "cloud-second-no-id": (body_of([CLOUD_EVENT, cloud(id=None)]), "[1].id is missing"),
}


@pytest.mark.parametrize(("body", "reason"), list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_bodies_raise_the_typed_error_with_a_reason(body: bytes, reason: str) -> None:
    """Every malformed body raises WebhookPayloadError (a DecodeError) whose reason says
    where the body is wrong and how, and whose message leads with it."""
    with pytest.raises(WebhookPayloadError) as caught:
        parse_webhook(body)
    assert isinstance(caught.value, DecodeError)
    assert caught.value.reason == reason
    assert caught.value.message == f"malformed webhook payload: {reason}"
    assert caught.value.body_excerpt is None


def test_a_body_that_is_not_bytes_is_the_typed_error() -> None:
    """Text (or anything else) where bytes belong is refused with the typed error too."""
    with pytest.raises(WebhookPayloadError) as caught:
        parse_webhook("[]")  # type: ignore[arg-type]
    assert caught.value.reason == "the body is not bytes"


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
