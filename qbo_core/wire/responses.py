"""Decoding every QBO answer into a DTO, or raising the right `QBOError`: pure functions.

Each `decode_*` first refuses a body over `MAX_RESPONSE_BYTES` (`ResponseTooLargeError`,
before anything is parsed), then turns a fault (in any dialect, at any status) into its
error, then checks the body is the envelope it should be. Anything else — HTML where
JSON was asked for, a truncated body, a list where an object belongs, a missing key —
raises `DecodeError` with an excerpt of the body. No other exception escapes, whatever
the headers hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar, overload

import attrs

from qbo_core.entities import QBOEntity, RawEntity, TypedEntity, entity_name
from qbo_core.errors import DecodeError, IncompleteResponseError, QBOError
from qbo_core.http import MAX_RESPONSE_BYTES, HttpResponse
from qbo_core.results import (
    BatchItemResult,
    ChangeSet,
    DeletedEntity,
    QueryPage,
    Report,
    ReportColumn,
    UploadResult,
)
from qbo_core.wire.entities import decode_entity, decode_entity_as
from qbo_core.wire.faults import (
    EXCERPT_BYTES,
    decode_error,
    describe,
    error_from_fault,
    error_from_response,
    fault_from_json,
    intuit_tid,
)
from qbo_core.wire.jsonio import loads
from qbo_core.wire.reports import report_rows

__all__ = [
    "decode_batch",
    "decode_cdc",
    "decode_count",
    "decode_deleted",
    "decode_download_url",
    "decode_entity_response",
    "decode_entity_response_as",
    "decode_entity_response_keyed",
    "decode_pdf",
    "decode_query",
    "decode_report",
    "decode_upload",
    "raise_for_fault",
    "server_time",
]

E = TypeVar("E", bound=QBOEntity)
T = TypeVar("T", bound=TypedEntity)


def raise_for_fault(
    response: HttpResponse, *, realm_id: str | None = None, max_bytes: int = MAX_RESPONSE_BYTES
) -> None:
    """Raise the error `response` stands for; return if it is a success.

    Every decoder starts here, so none parses a body over `max_bytes`
    (`ResponseTooLargeError`, whatever the status).
    """
    error = error_from_response(response, realm_id=realm_id, max_bytes=max_bytes)
    if error is not None:
        raise error


def _json_object(response: HttpResponse, realm_id: str | None) -> Mapping[str, Any]:
    raise_for_fault(response, realm_id=realm_id)
    kind = response.content_type
    if kind and "json" not in kind and kind not in ("text/plain", "application/text"):
        raise decode_error(f"expected JSON, got {kind}", response, realm_id=realm_id)
    try:
        payload = loads(response.body)
    except RecursionError as exc:
        raise decode_error(
            f"JSON nested too deeply in a {response.status} answer", response, realm_id=realm_id
        ) from exc
    except ValueError as exc:
        # A success whose body does not parse was damaged on the way (cut short, emptied):
        # the request may have been applied, so it is retryable like a lost answer.
        problem = "empty body" if not response.body.strip() else "malformed or truncated JSON"
        raise IncompleteResponseError(
            f"{problem} in a {response.status} answer",
            body_excerpt=response.body[:EXCERPT_BYTES].decode("utf-8", "replace"),
            status=response.status,
            intuit_tid=intuit_tid(response),
            realm_id=realm_id,
        ) from exc
    if not isinstance(payload, Mapping):
        raise decode_error(
            f"expected a JSON object, got {describe(payload)}", response, realm_id=realm_id
        )
    return payload


@overload
def _entity(
    entity_type: str,
    data: object,
    response: HttpResponse,
    realm_id: str | None,
    where: str,
    cls: None = None,
) -> QBOEntity: ...
@overload
def _entity(
    entity_type: str,
    data: object,
    response: HttpResponse,
    realm_id: str | None,
    where: str,
    cls: type[E],
) -> E: ...
def _entity(
    entity_type: str,
    data: object,
    response: HttpResponse,
    realm_id: str | None,
    where: str,
    cls: type[E] | None = None,
) -> QBOEntity:
    """The entity `data` holds: an instance of `cls` exactly when `cls` is given."""
    if not isinstance(data, Mapping):
        raise decode_error(
            f"{where}: expected a {entity_type} object, got {describe(data)}",
            response,
            realm_id=realm_id,
        )
    try:
        if cls is None:
            return decode_entity(entity_type, data)
        return decode_entity_as(cls, entity_type, data)
    except RecursionError as exc:
        raise decode_error(
            f"{where}: the {entity_type} object is nested too deeply", response, realm_id=realm_id
        ) from exc
    except DecodeError as exc:
        raise decode_error(f"{where}: {exc.message}", response, realm_id=realm_id) from exc


def _entity_key(payload: Mapping[str, Any], entity_type: str) -> str | None:
    if entity_type in payload:
        return entity_type
    wanted = entity_type.lower()
    return next((key for key in payload if key.lower() == wanted), None)


@overload
def decode_entity_response(
    response: HttpResponse, entity_type: type[T], *, realm_id: str | None = None
) -> T: ...
@overload
def decode_entity_response(
    response: HttpResponse, entity_type: str, *, realm_id: str | None = None
) -> QBOEntity: ...
def decode_entity_response(
    response: HttpResponse, entity_type: str | type[T], *, realm_id: str | None = None
) -> QBOEntity:
    """`{"<Entity>":{...},"time":...}` → the entity (typed where we model it).

    Given a typed class (`Customer`), the answer must be that entity and decodes into
    that class; given a name, into whichever class models it, else a `RawEntity`.
    """
    if isinstance(entity_type, str):
        return _envelope(response, entity_type, None, realm_id)
    return _envelope(response, entity_name(entity_type), entity_type, realm_id)


def decode_entity_response_as(
    response: HttpResponse, cls: type[E], entity_type: str, *, realm_id: str | None = None
) -> E:
    """`{"<entity_type>":{...}}` → an instance of `cls` exactly (a typed class or `RawEntity`).

    What `create` and `update` decode with: the answer has the class of what was sent.
    """
    return _envelope(response, entity_type, cls, realm_id)


@overload
def _envelope(
    response: HttpResponse, entity_type: str, cls: type[E], realm_id: str | None
) -> E: ...
@overload
def _envelope(
    response: HttpResponse, entity_type: str, cls: None, realm_id: str | None
) -> QBOEntity: ...
def _envelope(
    response: HttpResponse, entity_type: str, cls: type[E] | None, realm_id: str | None
) -> QBOEntity:
    return _envelope_keyed(response, entity_type, cls, realm_id)[0]


def _envelope_keyed(
    response: HttpResponse, entity_type: str, cls: type[E] | None, realm_id: str | None
) -> tuple[QBOEntity, str]:
    payload = _json_object(response, realm_id)
    key = _entity_key(payload, entity_type)
    if key is None:
        raise decode_error(
            f"expected a {entity_type} envelope, got {describe(payload)}",
            response,
            realm_id=realm_id,
        )
    # A typed answer is decoded by the name asked for (the key may differ in case only).
    name = key if cls is None or cls is RawEntity else entity_type
    return _entity(name, payload[key], response, realm_id, key, cls), key


def decode_entity_response_keyed(
    response: HttpResponse, entity_type: str | type[T], *, realm_id: str | None = None
) -> tuple[QBOEntity, str]:
    """As `decode_entity_response`, with the key of the envelope the entity was under
    (`"Customer"`): what `SmartSyncService` needs to cache the body as it came."""
    if isinstance(entity_type, str):
        return _envelope_keyed(response, entity_type, None, realm_id)
    return _envelope_keyed(response, entity_name(entity_type), entity_type, realm_id)


def _deleted(entity_type: str, data: object) -> DeletedEntity | None:
    if not isinstance(data, Mapping) or str(data.get("status", "")).lower() != "deleted":
        return None
    entity_id = data.get("Id")
    if not isinstance(entity_id, str):
        return None
    meta = data.get("MetaData")
    updated = meta.get("LastUpdatedTime") if isinstance(meta, Mapping) else None
    when: datetime | None = None
    if isinstance(updated, str):
        try:
            when = datetime.fromisoformat(updated)
        except ValueError:
            when = None
    return DeletedEntity(entity_type=entity_type, id=entity_id, last_updated=when)


def decode_deleted(
    response: HttpResponse, entity_type: str, *, realm_id: str | None = None
) -> DeletedEntity:
    """`{"<Entity>":{"status":"Deleted","Id":..}}` → `DeletedEntity`."""
    payload = _json_object(response, realm_id)
    key = _entity_key(payload, entity_type)
    deleted = _deleted(key, payload[key]) if key is not None else None
    if deleted is None:
        raise decode_error(
            f"expected a deleted {entity_type}, got {describe(payload)}",
            response,
            realm_id=realm_id,
        )
    return deleted


def server_time(payload: Mapping[str, Any]) -> datetime | None:
    """QBO's clock when it answered: the envelope's `time` (`2020-09-29T08:13:18.783-07:00`).

    `None` when absent or not an ISO datetime with an offset (a gateway fault's `time` is
    a number; a naive time would be read in whatever zone the reader runs).
    """
    text = payload.get("time")
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@overload
def _page(
    inner: object, response: HttpResponse, realm_id: str | None, where: str, cls: None = None
) -> QueryPage[QBOEntity]: ...
@overload
def _page(
    inner: object, response: HttpResponse, realm_id: str | None, where: str, cls: type[T]
) -> QueryPage[T]: ...
def _page(
    inner: object,
    response: HttpResponse,
    realm_id: str | None,
    where: str,
    cls: type[T] | None = None,
) -> QueryPage[QBOEntity]:
    if not isinstance(inner, Mapping):
        raise decode_error(
            f"{where}: expected a QueryResponse object, got {describe(inner)}",
            response,
            realm_id=realm_id,
        )
    lists = [(key, value) for key, value in inner.items() if isinstance(value, list)]
    if len(lists) > 1:
        raise decode_error(
            f"{where}: a QueryResponse holds one entity list, got {[k for k, _ in lists]}",
            response,
            realm_id=realm_id,
        )
    entity_type, rows = lists[0] if lists else (None, [])
    if cls is not None and entity_type is not None:
        if entity_type.lower() != entity_name(cls).lower():
            raise decode_error(
                f"{where}: a query of {entity_name(cls)} answered with {entity_type} rows",
                response,
                realm_id=realm_id,
            )
        entity_type = entity_name(cls)
    items = tuple(
        _entity(entity_type, row, response, realm_id, f"{where}.{entity_type}[{i}]", cls)
        for i, row in enumerate(rows)
        if entity_type is not None
    )
    returned = _int(inner.get("maxResults"))
    return QueryPage(
        entity_type=entity_type,
        items=items,
        start_position=_int(inner.get("startPosition")),
        max_results=returned if returned is not None else len(items),
        total_count=_int(inner.get("totalCount")),
    )


@overload
def decode_query(
    response: HttpResponse, cls: None = None, *, realm_id: str | None = None
) -> QueryPage[QBOEntity]: ...
@overload
def decode_query(
    response: HttpResponse, cls: type[T], *, realm_id: str | None = None
) -> QueryPage[T]: ...
def decode_query(
    response: HttpResponse, cls: type[T] | None = None, *, realm_id: str | None = None
) -> QueryPage[QBOEntity]:
    """`{"QueryResponse":{"<Entity>":[...],"startPosition":1,"maxResults":n}}` → `QueryPage`.

    An empty page (`{"QueryResponse":{}}`) has no entity type and no start position.
    With `cls` (a typed entity class) the rows must be that entity and are decoded into
    `cls`: a page of anything else raises `DecodeError`.
    """
    payload = _json_object(response, realm_id)
    page = _page(payload.get("QueryResponse"), response, realm_id, "QueryResponse", cls)
    return attrs.evolve(page, time=server_time(payload))


def decode_count(response: HttpResponse, *, realm_id: str | None = None) -> int:
    """`{"QueryResponse":{"totalCount":n}}` → n."""
    payload = _json_object(response, realm_id)
    inner = payload.get("QueryResponse")
    total = _int(inner.get("totalCount")) if isinstance(inner, Mapping) else None
    if total is None:
        raise decode_error("expected QueryResponse.totalCount", response, realm_id=realm_id)
    return total


def decode_cdc(
    response: HttpResponse, *, realm_id: str | None = None, cap: int = 1000
) -> ChangeSet:
    """`{"CDCResponse":[{"QueryResponse":[{"<Entity>":[...]},...]}]}` → `ChangeSet`."""
    payload = _json_object(response, realm_id)
    groups = payload.get("CDCResponse")
    if not isinstance(groups, list):
        raise decode_error("expected a CDCResponse list", response, realm_id=realm_id)
    changed: dict[str, list[QBOEntity]] = {}
    deleted: dict[str, list[DeletedEntity]] = {}
    for g, group in enumerate(groups):
        responses = group.get("QueryResponse") if isinstance(group, Mapping) else None
        if not isinstance(responses, list):
            raise decode_error(
                f"CDCResponse[{g}]: expected a QueryResponse list", response, realm_id=realm_id
            )
        for r, inner in enumerate(responses):
            if not isinstance(inner, Mapping):
                raise decode_error(
                    f"CDCResponse[{g}].QueryResponse[{r}]: expected an object",
                    response,
                    realm_id=realm_id,
                )
            for entity_type, rows in inner.items():
                if not isinstance(rows, list):
                    continue
                for i, row in enumerate(rows):
                    tombstone = _deleted(entity_type, row)
                    if tombstone is not None:
                        deleted.setdefault(entity_type, []).append(tombstone)
                        continue
                    where = f"CDCResponse[{g}].QueryResponse[{r}].{entity_type}[{i}]"
                    changed.setdefault(entity_type, []).append(
                        _entity(entity_type, row, response, realm_id, where)
                    )
    total = sum(map(len, changed.values())) + sum(map(len, deleted.values()))
    return ChangeSet(
        changed=changed, deleted=deleted, capped=total >= cap, time=server_time(payload)
    )


def _item_error(fault: object, response: HttpResponse, realm_id: str | None) -> QBOError:
    """The error of one batch item or uploaded file (its `Fault`, as in a 400 answer)."""
    parsed = fault_from_json({"Fault": fault})
    return error_from_fault(parsed, status=400, realm_id=realm_id, tid=intuit_tid(response))


def decode_batch(
    response: HttpResponse, *, realm_id: str | None = None
) -> tuple[BatchItemResult, ...]:
    """`{"BatchItemResponse":[...]}` → one result per item, each ok or with its own error."""
    payload = _json_object(response, realm_id)
    items = payload.get("BatchItemResponse")
    if not isinstance(items, list):
        raise decode_error("expected a BatchItemResponse list", response, realm_id=realm_id)
    results: list[BatchItemResult] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("bId"), str):
            raise decode_error(
                f"BatchItemResponse[{i}]: expected an object with a bId",
                response,
                realm_id=realm_id,
            )
        bid = item["bId"]
        where = f"BatchItemResponse[{i}]"
        if "Fault" in item:
            results.append(
                BatchItemResult(bid=bid, error=_item_error(item["Fault"], response, realm_id))
            )
            continue
        if "QueryResponse" in item:
            page = _page(item["QueryResponse"], response, realm_id, f"{where}.QueryResponse")
            results.append(BatchItemResult(bid=bid, page=page))
            continue
        keys = [key for key in item if key != "bId"]
        if len(keys) != 1:
            raise decode_error(
                f"{where}: expected one entity, a Fault or a QueryResponse, got {keys}",
                response,
                realm_id=realm_id,
            )
        entity_type = keys[0]
        tombstone = _deleted(entity_type, item[entity_type])
        if tombstone is not None:
            results.append(BatchItemResult(bid=bid, deleted=tombstone))
        else:
            entity = _entity(
                entity_type, item[entity_type], response, realm_id, f"{where}.{entity_type}"
            )
            results.append(BatchItemResult(bid=bid, entity=entity))
    return tuple(results)


def decode_report(response: HttpResponse, *, realm_id: str | None = None) -> Report:
    """A report (`{"Header","Columns","Rows"}`, no `time`) → `Report` with a typed walker."""
    payload = _json_object(response, realm_id)
    header = payload.get("Header")
    columns = payload.get("Columns")
    if not isinstance(header, Mapping) or not isinstance(columns, Mapping):
        raise decode_error("expected a report with Header and Columns", response, realm_id=realm_id)
    column_list = columns.get("Column")
    if not isinstance(column_list, list):
        raise decode_error("expected Columns.Column to be a list", response, realm_id=realm_id)
    decoded_columns = []
    for column in column_list:
        if not isinstance(column, Mapping):
            raise decode_error("a report column is not an object", response, realm_id=realm_id)
        metadata = column.get("MetaData")
        decoded_columns.append(
            ReportColumn(
                title=str(column.get("ColTitle", "")),
                type=str(column.get("ColType", "")),
                metadata={
                    str(m.get("Name")): str(m.get("Value"))
                    for m in (metadata if isinstance(metadata, list) else [])
                    if isinstance(m, Mapping)
                },
            )
        )
    options = header.get("Option")
    try:
        rows = report_rows(payload.get("Rows"))
    except RecursionError as exc:
        raise decode_error(
            "the report's rows are nested too deeply", response, realm_id=realm_id
        ) from exc
    return Report(
        name=str(header.get("ReportName", "")),
        raw=payload,
        columns=tuple(decoded_columns),
        rows=rows,
        options={
            str(o.get("Name")): str(o.get("Value"))
            for o in (options if isinstance(options, list) else [])
            if isinstance(o, Mapping)
        },
        start_period=_text(header.get("StartPeriod")),
        end_period=_text(header.get("EndPeriod")),
        currency=_text(header.get("Currency")),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def decode_upload(
    response: HttpResponse, *, realm_id: str | None = None
) -> tuple[UploadResult, ...]:
    """`{"AttachableResponse":[{"Attachable":{...}} | {"Fault":{...}}]}` → one result per file."""
    payload = _json_object(response, realm_id)
    items = payload.get("AttachableResponse")
    if not isinstance(items, list):
        raise decode_error("expected an AttachableResponse list", response, realm_id=realm_id)
    results: list[UploadResult] = []
    for i, item in enumerate(items):
        if isinstance(item, Mapping) and "Fault" in item:
            results.append(UploadResult(error=_item_error(item["Fault"], response, realm_id)))
        elif isinstance(item, Mapping) and "Attachable" in item:
            results.append(
                UploadResult(
                    attachable=_entity(
                        "Attachable",
                        item["Attachable"],
                        response,
                        realm_id,
                        f"AttachableResponse[{i}]",
                    )
                )
            )
        else:
            raise decode_error(
                f"AttachableResponse[{i}]: expected an Attachable or a Fault",
                response,
                realm_id=realm_id,
            )
    return tuple(results)


def decode_download_url(response: HttpResponse, *, realm_id: str | None = None) -> str:
    """The temporary download URL QBO sends as text/plain (valid about 15 minutes)."""
    raise_for_fault(response, realm_id=realm_id)
    try:
        url = response.body.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise decode_error(
            "the download URL is not UTF-8 text", response, realm_id=realm_id
        ) from exc
    if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        raise decode_error("expected a download URL", response, realm_id=realm_id)
    return url


def decode_pdf(response: HttpResponse, *, realm_id: str | None = None) -> bytes:
    """The PDF bytes; a fault or anything that is not a PDF raises."""
    raise_for_fault(response, realm_id=realm_id)
    if not response.body.startswith(b"%PDF-"):
        raise decode_error(
            f"expected a PDF, got {response.content_type or 'an untyped body'}",
            response,
            realm_id=realm_id,
        )
    return response.body
