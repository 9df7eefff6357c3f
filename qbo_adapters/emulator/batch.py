"""Batch: `POST /batch` with `{"BatchItemRequest": [item, ...]}`.

Each item has a `bId` and either `operation` (`create`, `update`, `delete`) with one
entity keyed by its name, `operation: "update"` with `optionsData: "void"` (a void), or a
`Query` statement. Items run in request order, independently: one failing does not stop
the next. The answer (HTTP 200) lists, in request order, `{"<Entity>": {...}, "bId"}`,
`{"Fault": {...}, "bId"}` or `{"QueryResponse": {...}, "bId"}` (`batch/basic.json`).

Whole-request faults (HTTP 400): a body that is not `{"BatchItemRequest": [...]}` or an
empty list: code 400 "MalformedRequest" ("Batch Request is Empty", as Intuit answers);
more than `settings.batch_max_items` (30) items: 1040 "Batch size exceeds allowed limit"
(HTTP status UNCONFIRMED); an item without a `bId`, or two items with the same one: 400
"MalformedRequest" (UNCONFIRMED: QBO documents bIds as required and unique).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from qbo_adapters.emulator.entities import spec_for_name
from qbo_adapters.emulator.faults import QBOFault, invalid_property, required_param
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.store import Company, operation_not_supported

__all__ = ["batch_too_large", "malformed_request", "run_batch"]

_ITEM_KEYS: Final = frozenset({"bId", "operation", "optionsData", "Query"})


def malformed_request(detail: str) -> QBOFault:
    """QBO's "MalformedRequest" (code 400), e.g. for an empty batch."""
    return QBOFault.single("400", "MalformedRequest", detail)


def batch_too_large(count: int, limit: int) -> QBOFault:
    """1040: more items than a batch may hold."""
    return QBOFault.single(
        "1040",
        "Batch size exceeds allowed limit",
        f"Batch size exceeds allowed limit: {count} items sent, at most {limit} are allowed",
    )


def run_batch(
    company: Company,
    body: Any,
    *,
    now: datetime,
    settings: EmulatorSettings,
    query: Callable[[str], dict[str, Any]],
) -> list[dict[str, Any]]:
    """The `BatchItemResponse` list; `query` answers a Query item (or raises QBOFault)."""
    if not isinstance(body, Mapping):
        raise malformed_request("Batch Request is Empty")
    for key in body:
        if key != "BatchItemRequest":
            raise invalid_property("IntuitBatchRequest", str(key), ["BatchItemRequest"])
    items = body.get("BatchItemRequest")
    if not items:
        raise malformed_request("Batch Request is Empty")
    if not isinstance(items, list):
        raise malformed_request("BatchItemRequest must be a list of batch items")
    if len(items) > settings.batch_max_items:
        raise batch_too_large(len(items), settings.batch_max_items)
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, Mapping):
            raise malformed_request("Each BatchItemRequest must be an object")
        bid = item.get("bId")
        if isinstance(bid, int) and not isinstance(bid, bool):
            bid = str(bid)
        if not isinstance(bid, str) or not bid:
            raise malformed_request("Each BatchItemRequest needs a bId")
        if bid in seen:
            raise malformed_request(f"Duplicate bId: {bid[:40]}")
        seen.add(bid)
    results: list[dict[str, Any]] = []
    for item in items:
        bid = str(item["bId"])
        try:
            results.append({**_run_item(company, item, now, query), "bId": bid})
        except QBOFault as fault:
            results.append({"Fault": fault.body(), "bId": bid})
    return results


def _run_item(
    company: Company,
    item: Mapping[str, Any],
    now: datetime,
    query: Callable[[str], dict[str, Any]],
) -> dict[str, Any]:
    entity_keys = [key for key in item if key not in _ITEM_KEYS]
    if "Query" in item:
        text = item["Query"]
        if entity_keys or "operation" in item or not isinstance(text, str):
            raise malformed_request("A Query item carries a query string and nothing else")
        return {"QueryResponse": query(text)}
    if len(entity_keys) != 1:
        raise malformed_request("A batch item carries exactly one entity or a Query")
    written = str(entity_keys[0])
    spec = spec_for_name(written)
    if spec is None:
        raise invalid_property("BatchItemRequest", written, sorted(_ITEM_KEYS))
    operation = item.get("operation")
    if not isinstance(operation, str) or not operation:
        raise required_param("operation")
    body = item[written]
    operation = operation.lower()
    if operation == "create":
        if isinstance(body, Mapping):
            body = {k: v for k, v in body.items() if k not in ("Id", "SyncToken")}
        result = company.save(spec.name, body, now)
    elif operation == "update":
        if not isinstance(body, Mapping) or not body.get("Id"):
            raise required_param("Id")
        if str(item.get("optionsData", "")).lower() == "void":
            result = company.void(spec.name, body, now)
        else:
            result = company.save(spec.name, body, now)
    elif operation == "delete":
        result = company.delete(spec.name, body, now)
    else:
        raise operation_not_supported(operation[:40])
    return {spec.name: result}
