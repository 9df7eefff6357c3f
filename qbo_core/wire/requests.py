"""Building the HTTP request for every QBO operation: pure functions, no I/O.

Every request goes to `{api_base_url}/v3/company/{realm}/...` with `minorversion`
set, `Accept: application/json` (PDF: `application/pdf`), the bearer token and our
User-Agent. Writes may carry a `requestid` so that QBO can recognise a retry.
Identifiers that end up in the URL path (realm, entity type, id, report name) are
checked, so that no caller-supplied value can change which resource is addressed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from qbo_core.config import QBOConfig
from qbo_core.dtos import RealmAuth
from qbo_core.entities import QBOEntity, entity_type_of
from qbo_core.http import HttpRequest
from qbo_core.results import BatchItem
from qbo_core.wire.entities import encode_entity
from qbo_core.wire.jsonio import dumps

__all__ = [
    "VOID_BY_UPDATE",
    "build_batch",
    "build_cdc",
    "build_company_info",
    "build_create",
    "build_delete",
    "build_download_url",
    "build_pdf",
    "build_preferences",
    "build_query",
    "build_read",
    "build_report",
    "build_sparse_update",
    "build_update",
    "build_upload",
    "build_void",
]

#: Entities voided with a sparse update and `include=void`; the others with `operation=void`.
VOID_BY_UPDATE = frozenset({"Payment", "SalesReceipt", "BillPayment"})

REQUEST_ID_MAX = 50
BATCH_REQUEST_ID_MAX = 36
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")
_ID = re.compile(r"[0-9]{1,32}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]+")
_PARAM = re.compile(r"[a-z][a-z0-9_]{0,63}")
_BID = re.compile(r"[A-Za-z0-9._:-]{1,36}")


def _check(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise ValueError(f"invalid {what}: {value!r}")
    return value


def _request_id(request_id: str | None, limit: int) -> str | None:
    if request_id is None:
        return None
    _check(_REQUEST_ID, request_id, "requestid (letters, digits and ._:- only)")
    if len(request_id) > limit:
        raise ValueError(f"requestid is {len(request_id)} characters; QBO allows at most {limit}")
    return request_id


def _url(
    config: QBOConfig,
    auth: RealmAuth,
    path: str,
    params: Sequence[tuple[str, str]] = (),
    *,
    request_id: str | None = None,
) -> str:
    query: list[tuple[str, str]] = [*params]
    if request_id is not None:
        query.append(("requestid", request_id))
    query.append(("minorversion", str(config.minor_version)))
    base = f"{config.api_base_url}/v3/company/{auth.realm_id}{path}"
    return f"{base}?{urlencode(query, quote_via=quote)}"


def _headers(
    config: QBOConfig, auth: RealmAuth, *, content_type: str | None, accept: str
) -> list[tuple[str, str]]:
    headers = [
        ("Authorization", f"Bearer {auth.access_token}"),
        ("Accept", accept),
        ("User-Agent", config.user_agent),
    ]
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    return headers


def _get(
    config: QBOConfig,
    auth: RealmAuth,
    path: str,
    params: Sequence[tuple[str, str]] = (),
    *,
    accept: str = "application/json",
) -> HttpRequest:
    return HttpRequest(
        method="GET",
        url=_url(config, auth, path, params),
        headers=_headers(config, auth, content_type=None, accept=accept),
        timeout=config.total_timeout,
    )


def _post_json(
    config: QBOConfig,
    auth: RealmAuth,
    path: str,
    payload: Any,
    params: Sequence[tuple[str, str]] = (),
    *,
    request_id: str | None = None,
) -> HttpRequest:
    return HttpRequest(
        method="POST",
        url=_url(config, auth, path, params, request_id=request_id),
        headers=_headers(config, auth, content_type="application/json", accept="application/json"),
        body=dumps(payload),
        timeout=config.total_timeout,
    )


def _entity_path(entity_type: str) -> str:
    return "/" + _check(_NAME, entity_type, "entity type").lower()


# -- single entities ------------------------------------------------------------------


def build_read(config: QBOConfig, auth: RealmAuth, entity_type: str, entity_id: str) -> HttpRequest:
    """`GET /{entity}/{id}`."""
    return _get(config, auth, f"{_entity_path(entity_type)}/{_check(_ID, entity_id, 'id')}")


def build_create(
    config: QBOConfig, auth: RealmAuth, entity: QBOEntity, *, request_id: str | None = None
) -> HttpRequest:
    """`POST /{entity}` with the entity as body (no Id, no SyncToken needed)."""
    return _post_json(
        config,
        auth,
        _entity_path(entity_type_of(entity)),
        encode_entity(entity),
        request_id=_request_id(request_id, REQUEST_ID_MAX),
    )


def build_update(
    config: QBOConfig, auth: RealmAuth, entity: QBOEntity, *, request_id: str | None = None
) -> HttpRequest:
    """A full update: `POST /{entity}` with every writable field (omitted ones are cleared).

    An entity QBO returned sparse (`"sparse": true`: read by a query with `.fields(...)`)
    is written back sparse, so that only the fields it holds change: a full update of it
    would clear every field the projection left out.
    """
    payload = encode_entity(entity)
    if not payload.get("Id") or payload.get("SyncToken") is None:
        raise ValueError("a full update needs the entity's Id and SyncToken")
    if payload.get("sparse") is not True:
        payload.pop("sparse", None)
    return _post_json(
        config,
        auth,
        _entity_path(entity_type_of(entity)),
        payload,
        request_id=_request_id(request_id, REQUEST_ID_MAX),
    )


def build_sparse_update(
    config: QBOConfig,
    auth: RealmAuth,
    entity_type: str,
    entity_id: str,
    sync_token: str,
    changes: Mapping[str, Any],
    *,
    request_id: str | None = None,
) -> HttpRequest:
    """A sparse update: only the fields in `changes` (QBO names, e.g. `PrimaryPhone`) change."""
    reserved = {"Id", "SyncToken", "sparse"} & set(changes)
    if reserved:
        raise ValueError(f"changes must not set {sorted(reserved)}; pass them as arguments")
    payload = {
        **changes,
        "Id": _check(_ID, entity_id, "id"),
        "SyncToken": sync_token,
        "sparse": True,
    }
    return _post_json(
        config,
        auth,
        _entity_path(entity_type),
        payload,
        request_id=_request_id(request_id, REQUEST_ID_MAX),
    )


def build_delete(
    config: QBOConfig,
    auth: RealmAuth,
    entity_type: str,
    entity_id: str,
    sync_token: str,
    *,
    request_id: str | None = None,
) -> HttpRequest:
    """`POST /{entity}?operation=delete` with `{"Id","SyncToken"}` (transactions only)."""
    return _post_json(
        config,
        auth,
        _entity_path(entity_type),
        {"Id": _check(_ID, entity_id, "id"), "SyncToken": sync_token},
        [("operation", "delete")],
        request_id=_request_id(request_id, REQUEST_ID_MAX),
    )


def build_void(
    config: QBOConfig,
    auth: RealmAuth,
    entity_type: str,
    entity_id: str,
    sync_token: str,
    *,
    request_id: str | None = None,
) -> HttpRequest:
    """Void, in the style QBO uses for the entity.

    Invoice (and others): `?operation=void`; Payment, SalesReceipt, BillPayment: a sparse
    update with `?operation=update&include=void`.
    """
    identity = {"Id": _check(_ID, entity_id, "id"), "SyncToken": sync_token}
    if entity_type in VOID_BY_UPDATE:
        params = [("operation", "update"), ("include", "void")]
        payload: dict[str, Any] = {**identity, "sparse": True}
    else:
        params = [("operation", "void")]
        payload = identity
    return _post_json(
        config,
        auth,
        _entity_path(entity_type),
        payload,
        params,
        request_id=_request_id(request_id, REQUEST_ID_MAX),
    )


# -- queries and change data ----------------------------------------------------------


def build_query(config: QBOConfig, auth: RealmAuth, statement: str) -> HttpRequest:
    """`POST /query` with the statement as an `application/text` body (no URL length limit)."""
    text = str(statement)
    if not text.strip():
        raise ValueError("the query statement is empty")
    return HttpRequest(
        method="POST",
        url=_url(config, auth, "/query"),
        headers=_headers(config, auth, content_type="application/text", accept="application/json"),
        body=text.encode(),
        timeout=config.total_timeout,
    )


def _when(value: date | datetime) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("changed_since must be timezone-aware")
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def build_cdc(
    config: QBOConfig,
    auth: RealmAuth,
    entity_types: Sequence[str],
    changed_since: date | datetime,
) -> HttpRequest:
    """`GET /cdc?entities=A,B&changedSince=...`."""
    if isinstance(entity_types, str) or not entity_types:
        raise ValueError("entity_types must be a non-empty sequence of entity names")
    names = ",".join(_check(_NAME, name, "entity type") for name in entity_types)
    return _get(config, auth, "/cdc", [("entities", names), ("changedSince", _when(changed_since))])


def build_batch(
    config: QBOConfig,
    auth: RealmAuth,
    items: Sequence[BatchItem],
    *,
    request_id: str | None = None,
) -> HttpRequest:
    """`POST /batch` with up to `config.batch_max_items` items, bIds unique."""
    if not items:
        raise ValueError("a batch needs at least one item")
    if len(items) > config.batch_max_items:
        raise ValueError(
            f"a batch holds at most {config.batch_max_items} items; got {len(items)} (split it)"
        )
    seen: set[str] = set()
    entries: list[dict[str, Any]] = []
    for item in items:
        _check(_BID, item.bid, "bId (1-36 letters, digits or ._:-)")
        if request_id is not None and len(item.bid) > 10:
            raise ValueError("with a requestid, QBO allows bIds of at most 10 characters")
        if item.bid in seen:
            raise ValueError(f"duplicate bId {item.bid!r}")
        seen.add(item.bid)
        entries.append(_batch_entry(item))
    return _post_json(
        config,
        auth,
        "/batch",
        {"BatchItemRequest": entries},
        request_id=_request_id(request_id, BATCH_REQUEST_ID_MAX),
    )


def _batch_entry(item: BatchItem) -> dict[str, Any]:
    if item.operation == "query":
        if not item.query:
            raise ValueError(f"batch item {item.bid!r}: a query item needs a statement")
        return {"bId": item.bid, "Query": item.query}
    if item.entity is not None:
        entity_type, payload = entity_type_of(item.entity), encode_entity(item.entity)
    elif item.entity_type is not None and item.payload is not None:
        entity_type, payload = item.entity_type, dict(item.payload)
    else:
        raise ValueError(f"batch item {item.bid!r}: {item.operation} needs an entity")
    entity_type = _check(_NAME, entity_type, "entity type")
    entry: dict[str, Any] = {"bId": item.bid, entity_type: payload}
    if item.operation == "void":
        entry["operation"] = "update"
        entry["optionsData"] = "void"
    else:
        entry["operation"] = item.operation
    return entry


# -- company, reports, attachments, PDF ------------------------------------------------


def build_company_info(config: QBOConfig, auth: RealmAuth) -> HttpRequest:
    """`GET /companyinfo/{realm}` (the realm appears twice)."""
    return _get(config, auth, f"/companyinfo/{auth.realm_id}")


def build_preferences(config: QBOConfig, auth: RealmAuth) -> HttpRequest:
    """`GET /preferences`."""
    return _get(config, auth, "/preferences")


def _report_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ",".join(_report_value(v) for v in value)
    return str(value)


def build_report(
    config: QBOConfig, auth: RealmAuth, name: str, params: Mapping[str, object] | None = None
) -> HttpRequest:
    """`GET /reports/{Name}?start_date=...` (dates as YYYY-MM-DD, lists comma-joined)."""
    pairs = [
        (_check(_PARAM, key, "report parameter name"), _report_value(value))
        for key, value in (params or {}).items()
        if value is not None
    ]
    return _get(config, auth, f"/reports/{_check(_NAME, name, 'report name')}", pairs)


def build_download_url(config: QBOConfig, auth: RealmAuth, attachable_id: str) -> HttpRequest:
    """`GET /download/{id}`: QBO answers with a temporary URL as text/plain."""
    return _get(
        config,
        auth,
        f"/download/{_check(_ID, attachable_id, 'attachable id')}",
        accept="text/plain",
    )


def build_pdf(config: QBOConfig, auth: RealmAuth, entity_type: str, entity_id: str) -> HttpRequest:
    """`GET /{entity}/{id}/pdf` with `Accept: application/pdf`."""
    path = f"{_entity_path(entity_type)}/{_check(_ID, entity_id, 'id')}/pdf"
    return _get(config, auth, path, accept="application/pdf")


def _header_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


def build_upload(
    config: QBOConfig,
    auth: RealmAuth,
    files: Sequence[tuple[Mapping[str, Any], bytes]],
    *,
    request_id: str | None = None,
    boundary: str | None = None,
) -> HttpRequest:
    """`POST /upload`, multipart: per file a `file_metadata_NN` Attachable JSON part (with
    `FileName` and `ContentType`) and a `file_content_NN` part with the bytes."""
    if not files:
        raise ValueError("an upload needs at least one file")
    boundary = boundary or f"qbo-infra-{secrets.token_hex(16)}"
    dash = f"--{boundary}".encode()
    chunks: list[bytes] = []
    for index, (metadata, content) in enumerate(files, start=1):
        name = metadata.get("FileName")
        content_type = metadata.get("ContentType")
        if not isinstance(name, str) or not name:
            raise ValueError(f"file {index}: the Attachable metadata needs a FileName")
        if not isinstance(content_type, str) or "/" not in content_type:
            raise ValueError(f"file {index}: the Attachable metadata needs a ContentType")
        if boundary.encode() in content:
            raise ValueError("the multipart boundary occurs in the file content; pick another")
        number = f"{index:02d}"
        chunks += [
            dash,
            (
                f'Content-Disposition: form-data; name="file_metadata_{number}"; '
                f'filename="attachment_{number}.json"'
            ).encode(),
            b"Content-Type: application/json",
            b"",
            dumps(dict(metadata)),
            dash,
            (
                f'Content-Disposition: form-data; name="file_content_{number}"; '
                f'filename="{_header_value(name)}"'
            ).encode(),
            f"Content-Type: {_header_value(content_type)}".encode(),
            b"",
            content,
        ]
    chunks += [f"--{boundary}--".encode(), b""]
    return HttpRequest(
        method="POST",
        url=_url(config, auth, "/upload", request_id=_request_id(request_id, REQUEST_ID_MAX)),
        headers=_headers(
            config,
            auth,
            content_type=f"multipart/form-data; boundary={boundary}",
            accept="application/json",
        ),
        body=b"\r\n".join(chunks),
        timeout=config.total_timeout,
    )
