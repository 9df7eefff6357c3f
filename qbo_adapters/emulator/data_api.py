"""`DataAPI`: everything under `/v3/company/{realm}` once the caller is authenticated.

Routes (paths are matched case-insensitively, as QBO does):

    GET  /{entity}/{id}                      read
    POST /{entity}                           create, full update, sparse update ("sparse":true)
    POST /{entity}?operation=delete          delete (transactions only)
    POST /{entity}?operation=void            void (Invoice, SalesReceipt, Payment, BillPayment)
    POST /{entity}?operation=update&include=void      the same void, as documented for
                                             Payment, SalesReceipt and BillPayment
    GET  /query?query=<statement>            query; also POST /query, statement as the body
    GET  /cdc?entities=A,B&changedSince=...  change data capture (`cdc.py`)
    POST /batch                              batch (`batch.py`)
    GET  /companyinfo/{realmId}              CompanyInfo
    GET  /preferences, POST /preferences     Preferences (a POST merges the sections sent)
    GET  /reports/{Name}                     reports (`reports.py`)
    POST /upload, GET /download/{id}         attachments (`attachments.py`), and
    GET|POST /attachable[/{id}]              the Attachable entity
    GET  /{entity}/{id}/pdf                  a sales form as PDF (`pdf.py`)

Anything else is 400 code 500 "Unsupported Operation" naming the relative path
(`error/500.json`). Every success is `{"<Entity>": {...}, "time": "<ms + offset>"}`.

Request rules, and the choices made where QBO's behaviour is UNCONFIRMED:

- `requestid` (at most 50 characters, 36 on `/batch`; longer is 400 code 2050 "Invalid
  String"): with `requestid_mode="replay"` a repeated id returns the first response
  byte for byte (status, headers, body; only `intuit_tid` is the new request's), faults
  included, whatever the repeat asks. `"ignore"` runs every request.
- `minorversion`: missing, below 75 or above is served as 75 (the live minimum since
  2025-08-01); a non-numeric value is 400 code 2050 (element `minorversion`).
- bodies of entity writes and batches must be sent as `application/json` (any charset);
  another or no Content-Type is HTTP 415 (the lead's `unsupported_media_type`). A query
  body is taken as `application/text` or `text/plain`; JSON there is 415 too.
- a body that is not JSON (or not UTF-8, or nested beyond reason) is 400 code 2010, the
  way QBO's JSON reader reports it; JSON of the wrong shape is 2010 naming the property.
- a read of a non-numeric Id is 400 code 2030 without a `time` field, exactly as
  recorded (`error/500.json`); an unknown Id is 610.
- a query naming an entity QBO does not have is 4001 "invalid context declaration"
  (`error/400.json`); one QBO has but the emulator holds none of (Budget,
  CustomerType...) answers an empty page. CompanyInfo and Preferences are queryable;
  CompanyInfo is read-only here (a POST is code 500).
- successes are always JSON (an `Accept: application/xml` only turns faults into XML).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Final, Protocol

from qbo_adapters.emulator import attachments
from qbo_adapters.emulator.batch import run_batch
from qbo_adapters.emulator.cdc import run_cdc
from qbo_adapters.emulator.context import RequestContext, json_response, text_response
from qbo_adapters.emulator.entities import other_entity, spec_for_name, spec_for_url
from qbo_adapters.emulator.faults import (
    QBOFault,
    invalid_id,
    invalid_value,
    malformed_json,
    not_found,
    unsupported_media_type,
    unsupported_operation,
)
from qbo_adapters.emulator.jsonbody import loads_bounded
from qbo_adapters.emulator.pdf import render_pdf
from qbo_adapters.emulator.query import (
    QueryFault,
    default_order_for,
    execute,
    hides_inactive,
    parse,
    to_response,
)
from qbo_adapters.emulator.reports import run_report
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.store import Company, operation_not_supported
from qbo_core.http import HttpResponse

__all__ = ["DataAPI", "EmulatorLike", "decode_json", "invalid_context", "query_fault", "run_query"]

#: The minor version every request is served at.
SERVED_MINOR_VERSION: Final = 75

_JSON_TYPES: Final = frozenset({"application/json"})
_QUERY_TYPES: Final = frozenset({"application/text", "text/plain"})
_SINGLETONS: Final = frozenset({"CompanyInfo", "Preferences"})


class EmulatorLike(Protocol):
    """What `DataAPI` needs of the emulator: its settings and its fault renderer."""

    @property
    def settings(self) -> EmulatorSettings: ...

    @property
    def base_url(self) -> str: ...

    def render_fault(self, ctx: RequestContext, fault: QBOFault) -> HttpResponse: ...


def query_fault(fault: QueryFault) -> QBOFault:
    """A query module fault as QBO sends it: 400, no `element` (`error/400.json`)."""
    return QBOFault.single(fault.code, fault.message, fault.detail)


def invalid_context(entity: str) -> QBOFault:
    """4001 for a query (or CDC) naming an entity QBO does not have (`error/400.json`)."""
    return QBOFault.single(
        "4001", "Invalid query", f"QueryValidationError: invalid context declaration: {entity}"
    )


def decode_json(body: bytes) -> Any:
    """The request body as JSON (floats as `Decimal`), or 2010 in QBO's words."""
    if not body.strip():
        raise malformed_json("No content to map due to end-of-input")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise malformed_json("Invalid UTF-8 start byte") from exc
    try:
        return loads_bounded(text, parse_float=Decimal, parse_constant=_reject_constant)
    except ValueError as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise malformed_json(f"Unexpected character ({reason})") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Non-standard token '{name}'")


def run_query(company: Company, text: str, today: date) -> dict[str, Any]:
    """The `QueryResponse` object for `text`, or a `QBOFault` (4000/4001/4002)."""
    try:
        query = parse(text)
    except QueryFault as fault:
        raise query_fault(fault) from None
    entity, items, known = _query_source(company, query.entity)
    try:
        result = execute(
            query,
            items,
            known_fields=known,
            entity_name=entity,
            default_order=default_order_for(entity),
            hide_inactive=hides_inactive(entity),
            today=today,
        )
    except QueryFault as fault:
        raise query_fault(fault) from None
    return to_response(query, result, entity)


def _query_source(company: Company, written: str) -> tuple[str, Iterable[Any], set[str] | None]:
    spec = spec_for_name(written)
    if spec is not None and spec.name in _SINGLETONS:
        obj = company.company_info if spec.name == "CompanyInfo" else company.preferences
        return spec.name, [obj], set(spec.known) | set(obj)
    names = {name.lower(): name for name in company.entity_names()}
    entity = names.get(written.lower())
    if entity is None:
        other = other_entity(written)
        if other is None:
            raise invalid_context(written)
        return other, [], None
    return entity, company.all(entity), company.known_fields(entity)


class DataAPI:
    """Serves the data API of one emulator; see the module docstring for the rules."""

    def __init__(self, emulator: EmulatorLike) -> None:
        self.emulator = emulator

    def handle(self, ctx: RequestContext, company: Company, rest: str) -> HttpResponse:
        """Answer one data request for `company`; `rest` is the path after the realm.

        Every `QBOFault` is rendered here, so a replayed requestid returns faults too.
        """
        settings = self.emulator.settings
        segments = [part for part in rest.split("/") if part]
        is_batch = [part.lower() for part in segments] == ["batch"]
        request_id = ctx.param("requestid") or ""
        if request_id:
            limit = (
                settings.batch_requestid_max_length if is_batch else settings.requestid_max_length
            )
            if len(request_id) > limit:
                return self._render(
                    ctx,
                    invalid_value(
                        "requestid",
                        f"RequestId is {len(request_id)} characters long; at most {limit} "
                        "are allowed",
                    ),
                )
            if settings.requestid_mode == "replay":
                remembered = company.replay.get(request_id)
                if remembered is not None:
                    return HttpResponse(
                        status=remembered.status,
                        headers=remembered.headers.with_header("intuit_tid", ctx.tid),
                        body=remembered.body,
                    )
        try:
            self._check_minor_version(ctx)
            response = self._route(ctx, company, segments)
        except QBOFault as fault:
            response = self._render(ctx, fault)
        if request_id and settings.requestid_mode == "replay":
            company.replay.remember(request_id, response)
        return response

    # -- plumbing ---------------------------------------------------------------

    def _render(self, ctx: RequestContext, fault: QBOFault) -> HttpResponse:
        if fault.errors and fault.errors[0].code == "2030" and not ctx.wants_xml():
            # QBO sends this one without `time` (error/500.json, second interaction).
            return json_response(
                ctx, {"Fault": fault.body()}, status=fault.status, content_type="application/json"
            )
        return self.emulator.render_fault(ctx, fault)

    @staticmethod
    def _check_minor_version(ctx: RequestContext) -> None:
        raw = ctx.param("minorversion")
        if raw is None or raw.strip() == "":
            return
        if not raw.strip().isdigit():
            raise invalid_value(
                "minorversion", f"minorversion must be a number; supplied value:{raw[:20]}"
            )

    @staticmethod
    def _media_type(ctx: RequestContext) -> str:
        raw = ctx.request.headers.get("content-type") or ""
        return raw.split(";", 1)[0].strip().lower()

    def _json_body(self, ctx: RequestContext) -> Any:
        media = self._media_type(ctx)
        if media not in _JSON_TYPES:
            raise unsupported_media_type(media)
        return decode_json(ctx.request.body)

    @staticmethod
    def _today(ctx: RequestContext) -> date:
        return ctx.now.astimezone(ctx.zone).date()

    def _ok(self, ctx: RequestContext, key: str, value: Any) -> HttpResponse:
        return json_response(ctx, {key: value, "time": ctx.time_text()})

    # -- routes -----------------------------------------------------------------

    def _route(self, ctx: RequestContext, company: Company, segments: list[str]) -> HttpResponse:
        method = ctx.method
        if not segments:
            raise unsupported_operation(ctx.path)
        head = segments[0].lower()
        handlers: dict[tuple[str, int], Callable[[], HttpResponse]] = {
            ("query", 1): lambda: self._query(ctx, company),
            ("cdc", 1): lambda: self._cdc(ctx, company),
            ("batch", 1): lambda: self._batch(ctx, company),
            ("companyinfo", 2): lambda: self._company_info(ctx, company, segments[1]),
            ("preferences", 1): lambda: self._preferences(ctx, company),
        }
        handler = handlers.get((head, len(segments)))
        if handler is not None:
            return handler()
        extension = self._extension(ctx, company, segments)
        if extension is not None:
            return extension
        spec = spec_for_url(head)
        if spec is None or spec.name in _SINGLETONS:
            raise unsupported_operation(ctx.path)
        if method == "GET" and len(segments) == 2:
            return self._read(ctx, company, spec.name, segments[1])
        if method == "POST" and len(segments) == 1:
            return self._write(ctx, company, spec.name)
        raise unsupported_operation(ctx.path)

    # -- reports, attachments and PDFs (`reports.py`, `attachments.py`, `pdf.py`) ----

    def _extension(
        self, ctx: RequestContext, company: Company, segments: list[str]
    ) -> HttpResponse | None:
        """`/reports/{Name}`, `/upload`, `/download/{id}`, `/attachable[/{id}]` and
        `/{entity}/{id}/pdf`; None for any other path."""
        head, count, method = segments[0].lower(), len(segments), ctx.method
        base_url = self.emulator.base_url
        if head == "reports" and count == 2:
            return json_response(ctx, run_report(ctx, company, segments[1]))
        if head == "upload" and count == 1 and method == "POST":
            return self._ok(ctx, "AttachableResponse", attachments.upload(ctx, company, base_url))
        if head == "download" and count == 2 and method == "GET":
            url = attachments.download_url(ctx, company, segments[1], base_url)
            return text_response(ctx, url.encode(), status=200, content_type="text/plain")
        if head == "attachable" and count == 2 and method == "GET":
            found = attachments.read(ctx, company, segments[1], base_url)
            return self._ok(ctx, "Attachable", found)
        if head == "attachable" and count == 1 and method == "POST":
            operation = (ctx.param("operation") or "").lower()
            if operation not in ("", "create", "update", "delete"):
                raise operation_not_supported(operation[:40])
            body = self._json_body(ctx)
            if operation == "delete":
                return self._ok(ctx, "Attachable", attachments.delete(ctx, company, body))
            return self._ok(ctx, "Attachable", attachments.save(ctx, company, body, base_url))
        if count == 3 and segments[2].lower() == "pdf":
            return render_pdf(ctx, company, segments[0], segments[1])
        return None

    def _read(
        self, ctx: RequestContext, company: Company, entity: str, raw_id: str
    ) -> HttpResponse:
        if not raw_id.isdigit():
            raise invalid_id(raw_id)
        obj = company.get(entity, raw_id.lstrip("0") or "0")
        if obj is None:
            raise not_found()
        return self._ok(ctx, entity, obj)

    def _write(self, ctx: RequestContext, company: Company, entity: str) -> HttpResponse:
        operation = (ctx.param("operation") or "").lower()
        include = (ctx.param("include") or "").lower()
        if operation not in ("", "create", "update", "delete", "void"):
            raise operation_not_supported(operation[:40])
        body = self._json_body(ctx)
        if operation == "delete":
            result = company.delete(entity, body, ctx.now)
        elif operation == "void" or (operation == "update" and "void" in include.split(",")):
            result = company.void(entity, body, ctx.now)
        else:
            result = company.save(entity, body, ctx.now)
        return self._ok(ctx, entity, result)

    def _query(self, ctx: RequestContext, company: Company) -> HttpResponse:
        if ctx.method == "GET":
            text = ctx.param("query") or ""
        elif ctx.method == "POST":
            media = self._media_type(ctx)
            if media not in _QUERY_TYPES:
                raise unsupported_media_type(media)
            try:
                text = ctx.request.body.decode("utf-8")
            except UnicodeDecodeError:
                raise query_fault(
                    QueryFault.parse_error("Lexical error: the statement is not UTF-8")
                ) from None
            if not text.strip():
                text = ctx.param("query") or ""
        else:
            raise unsupported_operation(ctx.path)
        return self._ok(ctx, "QueryResponse", run_query(company, text, self._today(ctx)))

    def _cdc(self, ctx: RequestContext, company: Company) -> HttpResponse:
        if ctx.method != "GET":
            raise unsupported_operation(ctx.path)
        groups = run_cdc(
            company,
            entities=ctx.param("entities"),
            changed_since=ctx.param("changedSince"),
            now=ctx.now,
            settings=self.emulator.settings,
        )
        return self._ok(ctx, "CDCResponse", groups)

    def _batch(self, ctx: RequestContext, company: Company) -> HttpResponse:
        if ctx.method != "POST":
            raise unsupported_operation(ctx.path)
        body = self._json_body(ctx)
        today = self._today(ctx)
        items = run_batch(
            company,
            body,
            now=ctx.now,
            settings=self.emulator.settings,
            query=lambda text: run_query(company, text, today),
        )
        return self._ok(ctx, "BatchItemResponse", items)

    def _company_info(self, ctx: RequestContext, company: Company, raw_id: str) -> HttpResponse:
        if ctx.method != "GET":
            raise unsupported_operation(ctx.path)
        if raw_id not in (company.realm_id, str(company.company_info.get("Id"))):
            raise not_found()
        return self._ok(ctx, "CompanyInfo", company.company_info)

    def _preferences(self, ctx: RequestContext, company: Company) -> HttpResponse:
        if ctx.method == "GET":
            return self._ok(ctx, "Preferences", company.preferences)
        if ctx.method == "POST":
            body = self._json_body(ctx)
            return self._ok(ctx, "Preferences", company.update_preferences(body, ctx.now))
        raise unsupported_operation(ctx.path)
