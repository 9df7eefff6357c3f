"""Attachments: uploads, Attachable objects, and the temporary download links.

Routes (under `/v3/company/{realm}`, wired in `data_api.py`):

    POST /upload                       multipart/form-data: `file_metadata_NN` (Attachable
                                       JSON) and `file_content_NN` (the bytes) per file
    GET  /attachable/{id}              read
    POST /attachable                   create (a note, or metadata only), full or sparse update
    POST /attachable?operation=delete  delete (`{"Id"}`; a SyncToken, when sent, must be current)
    GET  /download/{id}                the file's temporary URL, as `text/plain`

and, outside the data API (answered from the control API's dispatch, no token needed, as
a pre-signed S3 URL needs none):

    GET  /_emulator/files/{token}      the file's bytes while the link lives

An upload answers HTTP 200 with `{"AttachableResponse": [...], "time": ...}`: one entry per
file, in the order of their `NN`, each `{"Attachable": {...}}` or, when that file is
refused, `{"Fault": {...}}` (the others are stored: `attachment/error_estimate.json`, where
linking a missing Estimate is code 6000). A stored file's Attachable carries `FileName`,
`FileAccessUri` (`/v3/company/{realm}/download/{id}`), `TempDownloadUri`, `Size`,
`ContentType` and the normalised `AttachableRef` (`{"EntityRef": {"value", "type"},
"IncludeOnSend": false}`), as recorded (`attachment/create_for_invoice.json`). Attachable
Ids count up from 5000000000000000001 (QBO's are that long).

The multipart body is parsed here (RFC 2046 boundaries; part headers through
`email.message`): a part's `Content-Transfer-Encoding` may be binary, 8bit, 7bit, base64
(python-quickbooks sends base64) or quoted-printable. A file's name is the metadata's
`FileName`, else the part's filename; its type the metadata's `ContentType`, else the
part's Content-Type, else a guess from the name.

Links: `TempDownloadUri` and the `/download` answer point at the emulator itself,
`{base_url}/_emulator/files/{token}`, and expire 15 minutes (`LINK_LIFETIME`) later on
the emulator's clock; every read of the Attachable mints a fresh one, as QBO does. A
link's token is `secrets.token_urlsafe` (256 random bits, not derived from the seed, the
time or the Id): like a pre-signed S3 URL, holding the link is the only credential. The
in-process door (`EmulatorTransport`) fetches these links too: any URL it is given goes to
the emulator.

Choices where QBO's answer is UNCONFIRMED:

- a request over 100 MB (`MAX_UPLOAD_BYTES`): HTTP 413, code 413 "Request Entity Too Large";
- a body that is not multipart/form-data: 415 (`unsupported_media_type`); no boundary or a
  broken body: 400 code 2010; no `file_content_NN` part at all: 400 code 2020;
- per file: metadata that is not a JSON object, or has an unknown property, is a 2010
  Fault entry; metadata without its content part is 2020 naming `file_content_NN`; a
  missing name is 2020 `FileName`; a link to an object that does not exist is 6000;
- a `ContentType` with a control character (CR, LF, ...) is 2010: it could never be sent
  back as a header;
- parts named otherwise are ignored; file types are not restricted;
- an expired link answers 403 and an unknown one 404, with S3's XML error bodies.
"""

from __future__ import annotations

import base64
import binascii
import copy
import mimetypes
import quopri
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any, Final
from xml.sax.saxutils import escape

import attrs

from qbo_adapters.emulator.context import RequestContext, meta_time
from qbo_adapters.emulator.entities import ATTACHABLE_FIELDS, spec_for_name
from qbo_adapters.emulator.faults import (
    QBOFault,
    business_validation,
    invalid_id,
    invalid_property,
    not_found,
    required_param,
    stale_object,
    unsupported_media_type,
)
from qbo_adapters.emulator.jsonbody import loads_bounded
from qbo_adapters.emulator.store import Company
from qbo_core.http import Headers, HttpResponse

__all__ = [
    "FIRST_ID",
    "LINK_LIFETIME",
    "MAX_UPLOAD_BYTES",
    "Part",
    "delete",
    "download_url",
    "parse_multipart",
    "read",
    "save",
    "serve_file",
    "store_attachable",
    "upload",
]

#: The largest upload request QBO takes (Intuit: "maximum file size is 100 MB").
MAX_UPLOAD_BYTES: Final = 100 * 1024 * 1024
#: How long a temporary download link lives (Intuit: 15 minutes).
LINK_LIFETIME: Final = timedelta(minutes=15)
#: The first Attachable Id the emulator hands out.
FIRST_ID: Final = 5_000_000_000_000_000_001
FILES_PREFIX: Final = "/_emulator/files/"
#: Random bytes in a download link's token (`secrets.token_urlsafe`: 256 bits).
LINK_TOKEN_BYTES: Final = 32

ENTITY: Final = "Attachable"
_SERVER_OWNED: Final = frozenset(
    {
        "FileAccessUri",
        "TempDownloadUri",
        "Size",
        "ThumbnailFileAccessUri",
        "ThumbnailTempDownloadUri",
    }
)
_ENVELOPE: Final = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})
_PART_NAME: Final = re.compile(r"^file_(metadata|content)_(\w+)$", re.IGNORECASE)
_MAX_LINKS: Final = 10_000
_CONTROL_CHARS: Final = re.compile(r"[\x00-\x1f\x7f]")


# --------------------------------------------------------------------------- faults


def _bad_body(detail: str) -> QBOFault:
    return QBOFault.single(
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:{detail} specified is unsupported or invalid",
    )


def too_large(size: int) -> QBOFault:
    """An upload request over `MAX_UPLOAD_BYTES` (status and code UNCONFIRMED)."""
    return QBOFault.single(
        "413",
        "Request Entity Too Large",
        f"The request is {size} bytes; an upload may be at most {MAX_UPLOAD_BYTES} bytes",
        status=413,
    )


def _missing_link(entity: str, value: str) -> QBOFault:
    """6000, worded as recorded (`attachment/error_estimate.json`)."""
    return business_validation(
        f"The entity {entity} {value} that you are trying to link does not exist. {entity} {value}"
    )


# --------------------------------------------------------------------------- multipart


@attrs.frozen
class Part:
    """One multipart/form-data part, its content decoded."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def _param(message: Message, name: str, header: str) -> str | None:
    value = message.get_param(name, header=header)
    if value is None:
        return None
    return collapse_rfc2231_value(value)


def _parse_part(raw: bytes) -> Part:
    if raw.startswith(b"\r\n"):
        head, data = b"", raw[2:]
    else:
        split = raw.find(b"\r\n\r\n")
        if split < 0:
            raise _bad_body("Can not parse the multipart body: a part has no header end")
        head, data = raw[:split], raw[split + 4 :]
    message = Message()
    for line in head.decode("latin-1").split("\r\n"):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise _bad_body(f"Can not parse the multipart body: bad part header {line[:60]!r}")
        message[key.strip()] = value.strip()
    name = _param(message, "name", "content-disposition")
    if name is None:
        raise _bad_body("Can not parse the multipart body: a part has no form-data name")
    filename = message.get_filename()
    content_type = message.get("Content-Type")
    encoding = str(message.get("Content-Transfer-Encoding", "binary")).strip().lower()
    if encoding == "base64":
        try:
            data = base64.b64decode(b"".join(data.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _bad_body(f"Can not decode part {name[:40]} as base64 ({exc})") from None
    elif encoding == "quoted-printable":
        data = quopri.decodestring(data)
    elif encoding not in ("binary", "8bit", "7bit"):
        raise _bad_body(f"Content-Transfer-Encoding {encoding[:40]} of part {name[:40]}")
    return Part(
        name=name,
        filename=filename,
        content_type=str(content_type).strip() if content_type is not None else None,
        data=data,
    )


def parse_multipart(content_type: str, body: bytes) -> list[Part]:
    """The parts of a multipart/form-data `body`; `QBOFault` 415/2010 when it is not one."""
    header = Message()
    header["Content-Type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        raise unsupported_media_type(header.get_content_type() if content_type else "")
    boundary = header.get_boundary()
    if not boundary:
        raise _bad_body("Can not parse the multipart body: the Content-Type names no boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    position = body.find(delimiter)
    if position < 0 or (position > 0 and body[position - 2 : position] != b"\r\n"):
        raise _bad_body("Can not parse the multipart body: no boundary found")
    parts: list[Part] = []
    while True:
        position += len(delimiter)
        if body[position : position + 2] == b"--":
            return parts
        line_end = body.find(b"\r\n", position)
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise _bad_body("Can not parse the multipart body: a boundary line is broken")
        start = line_end + 2
        following = body.find(b"\r\n" + delimiter, start)
        if following < 0:
            raise _bad_body("Can not parse the multipart body: it ends before the last boundary")
        parts.append(_parse_part(body[start:following]))
        position = following + 2


# --------------------------------------------------------------------------- objects


def _next_id(company: Company) -> str:
    used = [
        int(obj_id)
        for obj_id in (*company.objects.get(ENTITY, {}), *company.tombstones.get(ENTITY, {}))
        if obj_id.isdigit()
    ]
    return str(max([FIRST_ID - 1, *used]) + 1)


def _clean(body: Any, company: Company) -> dict[str, Any]:
    """Attachable JSON checked: an object of known properties, links to existing objects."""
    if not isinstance(body, Mapping):
        raise _bad_body(f"Can not construct instance of Attachable from {type(body).__name__}")
    for key in body:
        if key not in ATTACHABLE_FIELDS:
            raise invalid_property(ENTITY, str(key), ATTACHABLE_FIELDS)
    clean = {str(k): copy.deepcopy(v) for k, v in body.items()}
    if "AttachableRef" in clean and clean["AttachableRef"] is not None:
        clean["AttachableRef"] = _links(clean["AttachableRef"], company)
    for key in ("FileName", "Note", "ContentType", "Category"):
        value = clean.get(key)
        if value is not None and not isinstance(value, str):
            raise _bad_body(f"Can not construct instance of String from {value!r} ({key})")
    _check_content_type(clean.get("ContentType"))
    return clean


def _check_content_type(kind: str | None) -> None:
    """A `ContentType` becomes a response header when the file is downloaded, so one
    holding a control character (CR, LF, ...) is refused (2010) rather than stored."""
    if kind is not None and _CONTROL_CHARS.search(kind):
        raise _bad_body(f"ContentType {kind!r} holds a control character (ContentType)")


def _links(value: Any, company: Company) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _bad_body("Can not deserialize instance of ArrayList out of a value (AttachableRef)")
    links: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, Mapping):
            raise _bad_body("Can not construct instance of AttachableRef from a value")
        ref = item.get("EntityRef")
        if not isinstance(ref, Mapping):
            raise required_param("AttachableRef.EntityRef")
        kind, ref_id = ref.get("type"), ref.get("value")
        if (
            not isinstance(kind, str)
            or not isinstance(ref_id, str | int)
            or isinstance(ref_id, bool)
        ):
            raise _bad_body("EntityRef needs a string type and value (AttachableRef.EntityRef)")
        spec = spec_for_name(kind)
        canonical = spec.name if spec is not None else kind
        if spec is None or company.get(spec.name, str(ref_id)) is None:
            raise _missing_link(canonical, str(ref_id))
        link: dict[str, Any] = {
            "EntityRef": {"value": str(ref_id), "type": canonical},
            "IncludeOnSend": item.get("IncludeOnSend") is True,
        }
        for key in ("LineInfo", "NoRefOnly", "Inactive", "CustomField"):
            if key in item:
                link[key] = copy.deepcopy(item[key])
        links.append(link)
    return links


def _shaped(fields: Mapping[str, Any], envelope: Mapping[str, Any]) -> dict[str, Any]:
    """An Attachable in QBO's key order: file fields, the rest, envelope, AttachableRef."""
    first = ("FileName", "FileAccessUri", "TempDownloadUri", "Size", "ContentType")
    obj: dict[str, Any] = {k: fields[k] for k in first if fields.get(k) is not None}
    for key, value in fields.items():
        if key not in obj and key != "AttachableRef" and value is not None:
            obj[key] = value
    obj.update(envelope)
    if fields.get("AttachableRef") is not None:
        obj["AttachableRef"] = fields["AttachableRef"]
    return obj


def store_attachable(company: Company, obj: Mapping[str, Any], content: bytes | None) -> None:
    """Put an Attachable (as QBO holds it) and its file bytes in `company`.

    For uploads here, and for tests that seed a recorded Attachable.
    """
    stored = copy.deepcopy(dict(obj))
    company.load(ENTITY, stored)
    if content is not None:
        company.attachment_files[str(stored["Id"])] = bytes(content)
    else:
        company.attachment_files.pop(str(stored["Id"]), None)


def _mint_link(company: Company, attachable_id: str, now: datetime, base_url: str) -> str:
    """A new temporary URL for the file of `attachable_id`, valid `LINK_LIFETIME`."""
    links = company.download_links
    for token in [t for t, (_, expires) in links.items() if expires <= now]:
        del links[token]
    while len(links) >= _MAX_LINKS:
        del links[next(iter(links))]
    token = secrets.token_urlsafe(LINK_TOKEN_BYTES)  # unguessable: the link is the credential
    while token in links:
        token = secrets.token_urlsafe(LINK_TOKEN_BYTES)
    links[token] = (attachable_id, now + LINK_LIFETIME)
    return f"{base_url}{FILES_PREFIX}{token}"


def _fresh(company: Company, obj: dict[str, Any], now: datetime, base_url: str) -> dict[str, Any]:
    """The stored Attachable with a freshly minted `TempDownloadUri` when it has a file."""
    obj_id = str(obj["Id"])
    if obj_id in company.attachment_files:
        obj["TempDownloadUri"] = _mint_link(company, obj_id, now, base_url)
    return obj


def _current(company: Company, raw_id: str) -> dict[str, Any]:
    if not raw_id.isdigit():
        raise invalid_id(raw_id)
    obj = company.get(ENTITY, raw_id.lstrip("0") or "0")
    if obj is None:
        raise not_found()
    return obj


# --------------------------------------------------------------------------- operations


def _file_entry(
    ctx: RequestContext,
    company: Company,
    index: str,
    metadata: Part | None,
    content: Part | None,
    base_url: str,
) -> dict[str, Any]:
    """Store one uploaded file; its `AttachableResponse` entry, a Fault when refused."""
    try:
        fields: dict[str, Any] = {}
        if metadata is not None:
            try:
                decoded = loads_bounded(metadata.data.decode("utf-8"))
            except ValueError as exc:
                raise _bad_body(f"Can not parse file_metadata_{index}: {exc}") from None
            fields = {k: v for k, v in _clean(decoded, company).items() if k not in _ENVELOPE}
        if content is None:
            raise required_param(f"file_content_{index}")
        name = fields.get("FileName") or content.filename
        if not name:
            raise required_param("FileName")
        kind = (
            fields.get("ContentType")
            or (content.content_type or "").split(";", 1)[0].strip()
            or mimetypes.guess_type(name)[0]
            or "application/octet-stream"
        )
        _check_content_type(kind)
        obj_id = _next_id(company)
        stamp = meta_time(ctx.now, ctx.zone)
        file_fields = {
            **{k: v for k, v in fields.items() if k not in _SERVER_OWNED},
            "FileName": name,
            "FileAccessUri": f"/v3/company/{company.realm_id}/download/{obj_id}",
            "TempDownloadUri": "",
            "Size": len(content.data),
            "ContentType": kind,
        }
        envelope = {
            "domain": "QBO",
            "sparse": False,
            "Id": obj_id,
            "SyncToken": "0",
            "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
        }
        obj = _shaped(file_fields, envelope)
        store_attachable(company, obj, content.data)
        stored = company.get(ENTITY, obj_id)
        assert stored is not None
        return {ENTITY: _fresh(company, stored, ctx.now, base_url)}
    except QBOFault as fault:
        return {"Fault": fault.body()}


def _index_key(index: str) -> tuple[int, int, str]:
    return (0, int(index), index) if index.isdigit() else (1, 0, index)


def upload(ctx: RequestContext, company: Company, base_url: str) -> list[dict[str, Any]]:
    """`POST /upload`: the `AttachableResponse` list (see the module docstring)."""
    body = ctx.request.body
    if len(body) > MAX_UPLOAD_BYTES:
        raise too_large(len(body))
    parts = parse_multipart(ctx.request.headers.get("content-type") or "", body)
    files: dict[str, dict[str, Part]] = {}
    for part in parts:
        match = _PART_NAME.match(part.name)
        if match is None:
            continue
        slot = files.setdefault(match[2], {})
        slot.setdefault(match[1].lower(), part)
    if not any("content" in slot for slot in files.values()):
        first = min(files, key=_index_key) if files else "01"
        raise required_param(f"file_content_{first}")
    return [
        _file_entry(
            ctx, company, index, files[index].get("metadata"), files[index].get("content"), base_url
        )
        for index in sorted(files, key=_index_key)
    ]


def read(ctx: RequestContext, company: Company, raw_id: str, base_url: str) -> dict[str, Any]:
    """`GET /attachable/{id}`: the Attachable with a fresh `TempDownloadUri`."""
    return _fresh(company, _current(company, raw_id), ctx.now, base_url)


def delete(ctx: RequestContext, company: Company, body: Any) -> dict[str, Any]:
    """`POST /attachable?operation=delete`: `{"domain","status":"Deleted","Id"}`."""
    if not isinstance(body, Mapping):
        raise _bad_body("Can not construct instance of Attachable from a value")
    raw_id = body.get("Id")
    if raw_id is None or raw_id == "":
        raise required_param("Id")
    current = _current(company, str(raw_id))
    token = body.get("SyncToken")
    if token not in (None, "") and str(token) != str(current.get("SyncToken")):
        raise stale_object()
    obj_id = str(current["Id"])
    company.unload(ENTITY, obj_id, ctx.now)
    company.attachment_files.pop(obj_id, None)
    return {"domain": "QBO", "status": "Deleted", "Id": obj_id}


def save(ctx: RequestContext, company: Company, body: Any, base_url: str) -> dict[str, Any]:
    """`POST /attachable`: create a note (or metadata-only Attachable), or update one
    (full, or sparse with `"sparse": true`); server-owned file fields are kept."""
    clean = _clean(body, company)
    raw_id = clean.get("Id")
    fields = {k: v for k, v in clean.items() if k not in _ENVELOPE and k not in _SERVER_OWNED}
    stamp = meta_time(ctx.now, ctx.zone)
    if raw_id is None or raw_id == "":
        if not fields.get("Note") and not fields.get("FileName"):
            raise required_param("Note")
        obj_id = _next_id(company)
        envelope = {
            "domain": "QBO",
            "sparse": False,
            "Id": obj_id,
            "SyncToken": "0",
            "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
        }
        store_attachable(company, _shaped(fields, envelope), None)
    else:
        previous = _current(company, str(raw_id))
        token = clean.get("SyncToken")
        if token is None or token == "":
            raise required_param("SyncToken")
        if str(token) != str(previous.get("SyncToken")):
            raise stale_object()
        obj_id = str(previous["Id"])
        kept = {k: v for k, v in previous.items() if k in _SERVER_OWNED}
        if clean.get("sparse") is True:
            base = {k: v for k, v in previous.items() if k not in _ENVELOPE}
            merged = {**base, **fields, **kept}
        else:
            merged = {**fields, **kept}
        before = {k: v for k, v in previous.items() if k not in _ENVELOPE}
        if {k: v for k, v in merged.items() if v is not None} != before:
            envelope = {
                "domain": "QBO",
                "sparse": False,
                "Id": obj_id,
                "SyncToken": str(int(str(previous.get("SyncToken", "0"))) + 1),
                "MetaData": {**(previous.get("MetaData") or {}), "LastUpdatedTime": stamp},
            }
            content = company.attachment_files.get(obj_id)
            store_attachable(company, _shaped(merged, envelope), content)
    stored = company.get(ENTITY, obj_id)
    assert stored is not None
    return _fresh(company, stored, ctx.now, base_url)


def download_url(ctx: RequestContext, company: Company, raw_id: str, base_url: str) -> str:
    """`GET /download/{id}`: a temporary URL of the file (610 when there is no file)."""
    obj = _current(company, raw_id)
    obj_id = str(obj["Id"])
    if obj_id not in company.attachment_files:
        raise not_found()
    return _mint_link(company, obj_id, ctx.now, base_url)


# --------------------------------------------------------------------------- file links


def _s3_error(ctx: RequestContext, status: int, code: str, message: str) -> HttpResponse:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{escape(ctx.tid)}</RequestId></Error>"
    ).encode()
    return HttpResponse(
        status=status,
        headers=Headers([("Content-Type", "application/xml"), ("Server", "AmazonS3")]),
        body=body,
    )


def serve_file(ctx: RequestContext, companies: Iterable[Company]) -> HttpResponse:
    """`GET /_emulator/files/{token}`: the bytes a live link points at, as S3 would serve
    them (404 NoSuchKey when unknown or deleted, 403 AccessDenied once expired)."""
    token = ctx.path.split(FILES_PREFIX, 1)[-1].strip("/")
    if ctx.method not in ("GET", "HEAD"):
        return _s3_error(ctx, 405, "MethodNotAllowed", "The specified method is not allowed")
    for company in companies:
        found = company.download_links.get(token)
        if found is None:
            continue
        obj_id, expires = found
        if ctx.now >= expires:
            return _s3_error(ctx, 403, "AccessDenied", "Request has expired")
        content = company.attachment_files.get(obj_id)
        obj = company.get(ENTITY, obj_id)
        if content is None or obj is None:
            break
        name = re.sub(r'["\r\n\\]', "", str(obj.get("FileName") or obj_id))
        return HttpResponse(
            status=200,
            headers=Headers(
                [
                    ("Content-Type", str(obj.get("ContentType") or "application/octet-stream")),
                    ("Content-Length", str(len(content))),
                    ("Content-Disposition", f'attachment; filename="{name}"'),
                    ("Server", "AmazonS3"),
                ]
            ),
            body=b"" if ctx.method == "HEAD" else content,
        )
    return _s3_error(ctx, 404, "NoSuchKey", "The specified key does not exist.")
