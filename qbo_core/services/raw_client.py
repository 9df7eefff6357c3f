"""`QBORawClient`: one HTTP call per method, every answer a DTO or a typed error.

No retries, no cache, no token refresh: the resilient layer (`SmartSyncService`) adds
those. The realm and the access token come in with each call (`RealmAuth`), so one
client serves every company; nothing is looked up from a host's database.

Calls are typed for hosts: name an entity by its class and the answer is that class
(`read(auth, Customer, "5")` is a `Customer`, `query(auth, Query.select(Invoice))` a
`QueryPage[Invoice]`); name it by a string and the answer is a `QBOEntity` (the typed
class where one exists, else a `RawEntity`). `create` and `update` answer with the class
they were given. Each answer is decoded into the class asked for or raises `DecodeError`,
so a typed answer is never another class at run time.

What a caller should do with each error is in docs/client.md; in short:
`AccessTokenInvalidError` → refresh and try once more; `ReauthorizationRequiredError`
→ the user must reconnect; `ThrottledError` → wait; `StaleObjectError` → read again,
reapply, retry; other `ValidationError`s → fix the request; `ServerError` and
`TransportError` → retry later (writes with the same `request_id`); `DecodeError` →
report it (the answer was not what QBO documents).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar, overload

from qbo_core.config import QBOConfig
from qbo_core.dtos import QBOEvent, RealmAuth
from qbo_core.entities import (
    CompanyInfo,
    EntityBase,
    QBOEntity,
    RawEntity,
    TypedEntity,
    entity_name,
    entity_type_of,
)
from qbo_core.errors import QBOError
from qbo_core.events import HTTP_REQUEST
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.ports.clock import Clock
from qbo_core.ports.event_sink import EventSink
from qbo_core.ports.http_transport import HttpTransport
from qbo_core.query import Query
from qbo_core.results import (
    BatchItem,
    BatchItemResult,
    ChangeSet,
    DeletedEntity,
    QueryPage,
    Report,
    UploadResult,
)
from qbo_core.wire import requests as build
from qbo_core.wire import responses as decode
from qbo_core.wire.faults import intuit_tid, oversized_error

__all__ = ["QBORawClient"]

R = TypeVar("R")
#: An entity given to `create` / `update`: the answer has its class.
E = TypeVar("E", bound=QBOEntity)
#: A typed entity class named by a call: the answer is an instance of it.
T = TypeVar("T", bound=TypedEntity)


class QBORawClient:
    """The QBO data API, one request per call.

    `transport` sends the bytes; `config` supplies the base URL, minor version,
    timeouts and limits; `events` (optional) receives one `http.request` event per
    call (method, path without query, status, duration, intuit_tid — never a token);
    `clock` (optional) times the calls.
    """

    def __init__(
        self,
        transport: HttpTransport,
        config: QBOConfig,
        *,
        events: EventSink | None = None,
        clock: Clock | None = None,
    ) -> None:
        if events is not None and clock is None:
            raise ValueError("QBORawClient needs a clock to time the events it emits")
        self._transport = transport
        self._config = config
        self._events = events
        self._clock = clock

    @property
    def config(self) -> QBOConfig:
        return self._config

    async def _call(
        self,
        auth: RealmAuth,
        request: HttpRequest,
        decoder: Callable[[HttpResponse], R],
        operation: str,
    ) -> R:
        started = self._clock.monotonic() if self._clock is not None else None
        status: int | None = None
        tid: str | None = None
        failure: str | None = None
        try:
            response = await self._transport.send(request)
            status, tid = response.status, intuit_tid(response)
            # The transport caps the body as it streams; whatever the transport, nothing
            # over the configured limit is parsed.
            too_large = oversized_error(response, max_bytes=self._config.max_response_bytes)
            if too_large is not None:
                raise too_large
            return decoder(response)
        except QBOError as error:
            failure = type(error).__name__
            # An answer the transport refused (too large) still had a status and a tid.
            status = status if status is not None else error.status
            tid = tid or error.intuit_tid
            # The one place a raised error is given its realm: decoders are not told it
            # (only batch and upload, whose item errors are answers, not raised).
            if error.realm_id is None:
                error.realm_id = auth.realm_id
            raise
        except BaseException as error:
            # Decoders and transports raise only `QBOError`s; anything else is a bug (or a
            # cancellation), and the event still names it rather than looking like a success.
            failure = type(error).__name__
            raise
        finally:
            self._emit(auth, request, operation, status, tid, failure, started)

    def _emit(
        self,
        auth: RealmAuth,
        request: HttpRequest,
        operation: str,
        status: int | None,
        tid: str | None,
        failure: str | None,
        started: float | None,
    ) -> None:
        clock = self._clock
        if self._events is None or clock is None:
            return
        attributes: dict[str, object] = {
            "operation": operation,
            "method": request.method,
            "path": request.url.partition("?")[0].removeprefix(self._config.api_base_url),
            "status": status,
            "intuit_tid": tid,
            "error": failure,
        }
        if started is not None:
            attributes["duration_ms"] = round((clock.monotonic() - started) * 1000, 3)
        self._events.emit(
            QBOEvent(
                kind=HTTP_REQUEST,
                at=clock.now(),
                realm_id=auth.realm_id,
                attributes=attributes,
            )
        )

    async def _entity_call(
        self, auth: RealmAuth, request: HttpRequest, kind: str | type[T], operation: str
    ) -> QBOEntity:
        """One call whose answer is a `{"<entity>": {...}}` envelope: decoded into `kind`
        when it is a typed class, else into whichever class models the entity."""
        return await self._call(
            auth,
            request,
            lambda r: decode.decode_entity_response(r, kind),
            operation,
        )

    async def _typed_call(
        self, auth: RealmAuth, request: HttpRequest, kind: type[T], operation: str
    ) -> T:
        """One call whose answer is a `{"<entity>": {...}}` envelope, decoded into `kind`."""
        return await self._call(
            auth,
            request,
            lambda r: decode.decode_entity_response(r, kind),
            operation,
        )

    async def _same_class_call(
        self, auth: RealmAuth, request: HttpRequest, sent: E, operation: str
    ) -> E:
        """One call whose answer is the entity `sent`, decoded into the class it had."""
        entity_type, cls = entity_type_of(sent), type(sent)
        return await self._call(
            auth,
            request,
            lambda r: decode.decode_entity_response_as(r, cls, entity_type),
            operation,
        )

    # -- single entities -----------------------------------------------------------

    @overload
    async def read(self, auth: RealmAuth, entity_type: type[T], entity_id: str) -> T: ...
    @overload
    async def read(self, auth: RealmAuth, entity_type: str, entity_id: str) -> QBOEntity: ...
    async def read(self, auth: RealmAuth, entity_type: str | type[T], entity_id: str) -> QBOEntity:
        """The entity with `entity_id`: an instance of `entity_type` when it is a typed
        class (`Customer`), else a `QBOEntity`. `ObjectNotFoundError` if there is none."""
        request = build.build_read(self._config, auth, entity_name(entity_type), entity_id)
        return await self._entity_call(auth, request, entity_type, "read")

    async def read_with_body(
        self, auth: RealmAuth, entity_type: str | type[T], entity_id: str
    ) -> tuple[QBOEntity, str, bytes]:
        """As `read`, with the envelope's key and the response body the entity was decoded
        from: `(entity, "Customer", b'{"Customer":{...},"time":...}')`. For
        `SmartSyncService`, which caches the body as it came instead of encoding the
        entity again; the request, its event and its errors are those of `read`."""
        request = build.build_read(self._config, auth, entity_name(entity_type), entity_id)

        def decoder(response: HttpResponse) -> tuple[QBOEntity, str, bytes]:
            entity, key = decode.decode_entity_response_keyed(response, entity_type)
            return entity, key, response.body

        return await self._call(auth, request, decoder, "read")

    async def create(self, auth: RealmAuth, entity: E, *, request_id: str | None = None) -> E:
        """Create `entity`; returns it as QBO stored it (Id, SyncToken "0", defaults), in
        the class it was given (a `RawEntity` stays raw)."""
        request = build.build_create(self._config, auth, entity, request_id=request_id)
        return await self._same_class_call(auth, request, entity, "create")

    async def update(self, auth: RealmAuth, entity: E, *, request_id: str | None = None) -> E:
        """Full update: every writable field is replaced; omitted ones are cleared by QBO.

        Returns the entity as stored, in the class it was given. `StaleObjectError` when
        `entity.sync_token` is not QBO's current one.
        """
        request = build.build_update(self._config, auth, entity, request_id=request_id)
        return await self._same_class_call(auth, request, entity, "update")

    @overload
    async def sparse_update(
        self,
        auth: RealmAuth,
        entity_type: type[T],
        entity_id: str,
        sync_token: str,
        changes: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> T: ...
    @overload
    async def sparse_update(
        self,
        auth: RealmAuth,
        entity_type: str,
        entity_id: str,
        sync_token: str,
        changes: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> QBOEntity: ...
    async def sparse_update(
        self,
        auth: RealmAuth,
        entity_type: str | type[T],
        entity_id: str,
        sync_token: str,
        changes: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> QBOEntity:
        """Change only the fields in `changes` (QBO's names: `{"Active": False}`)."""
        request = build.build_sparse_update(
            self._config,
            auth,
            entity_name(entity_type),
            entity_id,
            sync_token,
            changes,
            request_id=request_id,
        )
        return await self._entity_call(auth, request, entity_type, "sparse_update")

    async def delete(
        self,
        auth: RealmAuth,
        entity_type: str | type[EntityBase],
        entity_id: str,
        sync_token: str,
        *,
        request_id: str | None = None,
    ) -> DeletedEntity:
        """Delete a transaction (`entity_type`: a typed class or a name). Name-list entities
        cannot be deleted: deactivate them with `sparse_update(..., {"Active": False})`."""
        name = entity_name(entity_type)
        request = build.build_delete(
            self._config, auth, name, entity_id, sync_token, request_id=request_id
        )
        return await self._call(
            auth,
            request,
            lambda r: decode.decode_deleted(r, name),
            "delete",
        )

    @overload
    async def void(
        self,
        auth: RealmAuth,
        entity_type: type[T],
        entity_id: str,
        sync_token: str,
        *,
        request_id: str | None = None,
    ) -> T: ...
    @overload
    async def void(
        self,
        auth: RealmAuth,
        entity_type: str,
        entity_id: str,
        sync_token: str,
        *,
        request_id: str | None = None,
    ) -> QBOEntity: ...
    async def void(
        self,
        auth: RealmAuth,
        entity_type: str | type[T],
        entity_id: str,
        sync_token: str,
        *,
        request_id: str | None = None,
    ) -> QBOEntity:
        """Void a transaction, in whichever of QBO's two styles the entity takes."""
        request = build.build_void(
            self._config,
            auth,
            entity_name(entity_type),
            entity_id,
            sync_token,
            request_id=request_id,
        )
        return await self._entity_call(auth, request, entity_type, "void")

    # -- queries and change data ---------------------------------------------------

    @overload
    async def query(self, auth: RealmAuth, statement: Query[T]) -> QueryPage[T]: ...
    @overload
    async def query(
        self, auth: RealmAuth, statement: str | Query[QBOEntity]
    ) -> QueryPage[QBOEntity]: ...
    async def query(
        self, auth: RealmAuth, statement: str | Query[QBOEntity]
    ) -> QueryPage[QBOEntity]:
        """One page of `statement`: a string, or a `Query`. A query built from a typed
        class (`Query.select(Customer)`) gives a page of that class."""
        text, cls = _statement(statement, counting=False)
        request = build.build_query(self._config, auth, text)
        return await self._call(auth, request, lambda r: decode.decode_query(r, cls), "query")

    async def count(self, auth: RealmAuth, statement: str | Query[QBOEntity]) -> int:
        """The `totalCount` of a `SELECT COUNT(*) ...` statement (a string or a `Query`)."""
        text, _ = _statement(statement, counting=True)
        request = build.build_query(self._config, auth, text)
        return await self._call(auth, request, decode.decode_count, "count")

    async def cdc(
        self,
        auth: RealmAuth,
        entity_types: Sequence[str | type[EntityBase]],
        changed_since: date | datetime,
    ) -> ChangeSet:
        """Everything of `entity_types` (typed classes or names) changed since
        `changed_since` (at most 30 days back).

        `ChangeSet.capped` is true when QBO's 1,000-object cap was reached.
        """
        names = [entity_name(kind) for kind in entity_types]
        request = build.build_cdc(self._config, auth, names, changed_since)
        cap = self._config.cdc_max_objects
        return await self._call(auth, request, lambda r: decode.decode_cdc(r, cap=cap), "cdc")

    async def batch(
        self, auth: RealmAuth, items: Sequence[BatchItem], *, request_id: str | None = None
    ) -> tuple[BatchItemResult, ...]:
        """Up to 30 operations in one request; each result carries its own error, if any."""
        request = build.build_batch(self._config, auth, items, request_id=request_id)
        return await self._call(
            auth, request, lambda r: decode.decode_batch(r, realm_id=auth.realm_id), "batch"
        )

    # -- company, reports, attachments, PDF ----------------------------------------

    async def company_info(self, auth: RealmAuth) -> CompanyInfo:
        request = build.build_company_info(self._config, auth)
        return await self._typed_call(auth, request, CompanyInfo, "company_info")

    async def preferences(self, auth: RealmAuth) -> RawEntity:
        """The company's Preferences (no typed class: a `RawEntity` holding its JSON)."""
        request = build.build_preferences(self._config, auth)
        return await self._call(
            auth,
            request,
            lambda r: decode.decode_entity_response_as(r, RawEntity, "Preferences"),
            "preferences",
        )

    async def report(
        self, auth: RealmAuth, name: str, params: Mapping[str, object] | None = None
    ) -> Report:
        """A report such as `ProfitAndLoss` with parameters like `start_date`, `end_date`."""
        request = build.build_report(self._config, auth, name, params)
        return await self._call(auth, request, decode.decode_report, "report")

    async def upload(
        self,
        auth: RealmAuth,
        files: Sequence[tuple[Mapping[str, Any], bytes]],
        *,
        request_id: str | None = None,
    ) -> tuple[UploadResult, ...]:
        """Upload files as Attachables: each is (Attachable metadata with FileName and
        ContentType, and optionally AttachableRef; the bytes)."""
        request = build.build_upload(self._config, auth, files, request_id=request_id)
        return await self._call(
            auth, request, lambda r: decode.decode_upload(r, realm_id=auth.realm_id), "upload"
        )

    async def download_url(self, auth: RealmAuth, attachable_id: str) -> str:
        """A temporary URL (about 15 minutes) to fetch an attachment's bytes."""
        request = build.build_download_url(self._config, auth, attachable_id)
        return await self._call(
            auth,
            request,
            decode.decode_download_url,
            "download_url",
        )

    async def delete_attachment(
        self, auth: RealmAuth, attachable_id: str, sync_token: str
    ) -> DeletedEntity:
        return await self.delete(auth, "Attachable", attachable_id, sync_token)

    async def pdf(
        self, auth: RealmAuth, entity_type: str | type[EntityBase], entity_id: str
    ) -> bytes:
        """The PDF of an invoice, estimate, sales receipt or credit memo (a class or a name)."""
        request = build.build_pdf(self._config, auth, entity_name(entity_type), entity_id)
        return await self._call(auth, request, decode.decode_pdf, "pdf")


_COUNT = re.compile(r"\s*select\s+count\s*\(\s*\*\s*\)", re.IGNORECASE)


def _statement(
    statement: str | Query[QBOEntity], *, counting: bool
) -> tuple[str, type[TypedEntity] | None]:
    """The text of a query and the typed class its rows decode into, if any.

    `count` takes only `SELECT COUNT(*)` statements and `query` only the others, so a
    mix-up is a `ValueError` before anything is sent rather than a `DecodeError` after.
    """
    if isinstance(statement, Query):
        text, is_count = statement.build(), statement.count_only
        cls = statement.entity_class
        typed = cls if cls is not None and issubclass(cls, EntityBase) else None
    elif isinstance(statement, str):
        text, is_count, typed = statement, _COUNT.match(statement) is not None, None
    else:
        raise TypeError(f"a query is a str or a Query, got {type(statement).__name__}")
    if is_count and not counting:
        raise ValueError("a SELECT COUNT(*) statement answers with a number: use count()")
    if counting and not is_count:
        raise ValueError("count() takes a SELECT COUNT(*) statement (Query.count(...))")
    return text, typed
