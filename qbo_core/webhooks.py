"""QBO webhooks, sans-I/O: check a delivery's signature, read its events.

Intuit POSTs a change notification to the app's webhook URL with the header
`intuit-signature`: base64 of HMAC-SHA256 over the raw body, keyed with the app's
verifier token. `verify_signature` checks it (in constant time); `parse_webhook` reads
the body, in either of Intuit's formats, into `WebhookEvent`s:

- legacy: `{"eventNotifications": [{"realmId": ..., "dataChangeEvent": {"entities":
  [{"name", "id", "operation", "lastUpdated", "deletedId"?}]}}]}`;
- CloudEvents: `[{"specversion": "1.0", "id", "type": "qbo.<entity>.<verb>.v1", "time",
  "intuitentityid", "intuitaccountid", ...}]`.

Both are pure functions: no I/O, no clock. `qbo_core.services.webhooks.WebhookReceiver`
puts them together with de-duplication and the realm check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

from qbo_core.dtos import WebhookEvent, WebhookFormat
from qbo_core.entities import ENTITY_CLASSES
from qbo_core.errors import WebhookPayloadError

__all__ = ["parse_webhook", "verify_signature"]

#: Entity names webhooks notify (Intuit's support table) beyond the typed ones, in QBO's
#: casing: how a CloudEvents `type` (all lower case) is mapped back to the QBO name.
_WEBHOOK_ENTITIES: Final = (
    "Attachable",
    "Budget",
    "Class",
    "CreditMemo",
    "Currency",
    "Department",
    "Deposit",
    "Estimate",
    "JournalCode",
    "PaymentMethod",
    "Preferences",
    "Purchase",
    "PurchaseOrder",
    "RefundReceipt",
    "TaxAgency",
    "TaxCode",
    "TaxRate",
    "Term",
    "TimeActivity",
    "Transfer",
    "VendorCredit",
)

#: Lower-cased QBO entity name -> QBO's casing.
_ENTITY_NAMES: Mapping[str, str] = MappingProxyType(
    {name.lower(): name for name in (*ENTITY_CLASSES, *_WEBHOOK_ENTITIES)}
)

#: CloudEvents verb (`qbo.customer.<verb>.v1`) -> the legacy operation name.
_OPERATIONS: Mapping[str, str] = MappingProxyType(
    {
        "created": "Create",
        "updated": "Update",
        "deleted": "Delete",
        "merged": "Merge",
        "voided": "Void",
        "void": "Void",
        "emailed": "Emailed",
    }
)


def verify_signature(body: bytes, signature: str | None, verifier_token: str) -> bool:
    """Whether `signature` (the `intuit-signature` header) signs `body` with `verifier_token`.

    The signature is base64(HMAC-SHA256(key=verifier token, message=raw body)), compared
    with `hmac.compare_digest` so the time taken says nothing about how much matched.
    A missing, empty, non-ASCII or otherwise malformed signature, or an empty verifier
    token, is simply `False`: this never raises.
    """
    if not isinstance(signature, str) or not signature or not isinstance(verifier_token, str):
        return False
    if not verifier_token or not isinstance(body, bytes | bytearray | memoryview):
        return False
    try:
        given = signature.encode("ascii")
    except UnicodeEncodeError:
        return False
    digest = hmac.new(verifier_token.encode("utf-8"), bytes(body), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), given)


def parse_webhook(body: bytes) -> tuple[WebhookEvent, ...]:
    """The events of a webhook body, in the order they came, in either of Intuit's formats.

    A legacy delivery carries no event id: each event gets `"legacy:"` and the SHA-256 of
    its realm, entity name, id, operation, time and `deletedId`, so a redelivery of the
    same change has the same id. CloudEvents `type`s map back to QBO's names
    (`qbo.journalentry.created.v1` -> `JournalEntry`, `Create`); an entity this package
    does not know is capitalised (`qbo.widget...` -> `Widget`), and so is an unknown verb.

    Raises `WebhookPayloadError` (its `reason` says what was wrong) for anything else:
    not UTF-8, not JSON, neither format, a missing or non-string field, a bad time.
    Never any other exception, whatever the bytes.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise _error("the body is not bytes")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise _error("the body is not UTF-8") from None
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise _error("the body is not JSON") from None
    if isinstance(document, dict) and "eventNotifications" in document:
        return _legacy(document["eventNotifications"])
    if isinstance(document, list):
        return tuple(_cloud_event(item, index) for index, item in enumerate(document))
    raise _error("neither an eventNotifications object nor a CloudEvents array")


# --------------------------------------------------------------------- the two formats


def _legacy(notifications: Any) -> tuple[WebhookEvent, ...]:
    if not isinstance(notifications, list):
        raise _error("eventNotifications is not an array")
    events: list[WebhookEvent] = []
    for n, notification in enumerate(notifications):
        where = f"eventNotifications[{n}]"
        notification = _object(notification, where)
        realm_id = _text(notification, "realmId", where)
        change = _object(notification.get("dataChangeEvent"), f"{where}.dataChangeEvent")
        entities = change.get("entities")
        if not isinstance(entities, list):
            raise _error(f"{where}.dataChangeEvent.entities is not an array")
        for e, entity in enumerate(entities):
            at = f"{where}.dataChangeEvent.entities[{e}]"
            entity = _object(entity, at)
            name = _text(entity, "name", at)
            entity_id = _text(entity, "id", at)
            operation = _text(entity, "operation", at)
            occurred_at = _time(_text(entity, "lastUpdated", at), f"{at}.lastUpdated")
            deleted_id = entity.get("deletedId")
            if deleted_id is not None and (not isinstance(deleted_id, str) or not deleted_id):
                raise _error(f"{at}.deletedId is not a non-empty string")
            digest = hashlib.sha256(
                "\x1f".join(
                    (
                        realm_id,
                        name,
                        entity_id,
                        operation,
                        occurred_at.isoformat(),
                        deleted_id or "",
                    )
                ).encode("utf-8", "surrogatepass")
            ).hexdigest()
            events.append(
                WebhookEvent(
                    event_id=f"legacy:{digest}",
                    realm_id=realm_id,
                    entity_type=name,
                    entity_id=entity_id,
                    operation=operation,
                    occurred_at=occurred_at,
                    deleted_id=deleted_id,
                    format=WebhookFormat.LEGACY,
                )
            )
    return tuple(events)


def _cloud_event(item: Any, index: int) -> WebhookEvent:
    where = f"[{index}]"
    event = _object(item, where)
    _text(event, "specversion", where)
    kind = _text(event, "type", where)
    parts = kind.split(".")
    if len(parts) < 3 or parts[0] != "qbo" or not parts[1] or not parts[2]:
        raise _error(f"{where}.type is not qbo.<entity>.<verb>.v1")
    return WebhookEvent(
        event_id=_text(event, "id", where),
        realm_id=_text(event, "intuitaccountid", where),
        entity_type=_ENTITY_NAMES.get(parts[1].lower(), parts[1][:1].upper() + parts[1][1:]),
        entity_id=_text(event, "intuitentityid", where),
        operation=_OPERATIONS.get(parts[2].lower(), parts[2][:1].upper() + parts[2][1:]),
        occurred_at=_time(_text(event, "time", where), f"{where}.time"),
        format=WebhookFormat.CLOUDEVENTS,
    )


# --------------------------------------------------------------------- fields


def _error(reason: str) -> WebhookPayloadError:
    return WebhookPayloadError(f"malformed webhook payload: {reason}", reason=reason)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _error(f"{where} is not an object")
    return value


def _text(holder: dict[str, Any], key: str, where: str) -> str:
    value = holder.get(key)
    if not isinstance(value, str) or not value:
        problem = "missing" if value is None else "not a non-empty string"
        raise _error(f"{where}.{key} is {problem}")
    return value


def _time(text: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
        if moment.utcoffset() is not None:  # None for a naive time
            return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise _error(f"{where} is not an ISO 8601 time with an offset")
