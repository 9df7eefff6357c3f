"""`QBORawClient` call by call: the request each call sends, the `http.request` event it
emits, and how an error keeps the realm, status and tid. The emulator answers through a
`FakeTransport`, which keeps every request; scripted answers cover the failures."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.event_sinks import RecordingEventSink
from qbo_adapters.memory.fake_transport import FakeTransport
from qbo_core.config import QBOConfig
from qbo_core.dtos import QBOEvent, RealmAuth
from qbo_core.entities import Customer, Invoice, RawEntity, Ref, SalesItemLine, SalesItemLineDetail
from qbo_core.errors import (
    ConnectError,
    DecodeError,
    ObjectNotFoundError,
    ResponseTooLargeError,
    ValidationError,
)
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.query import Query
from qbo_core.results import BatchItem
from qbo_core.services import QBORawClient
from qbo_core.wire import responses

BASE = "https://sandbox-quickbooks.api.intuit.com"
AUTH = RealmAuth(realm_id="9130", access_token="not-a-real-token")


class Recorded:
    """A client on an emulator company, through a transport that keeps each request."""

    def __init__(self, config: QBOConfig | None = None) -> None:
        self.clock = FakeClock()
        self.emulator = QBOEmulator(EmulatorSettings(seed=21, size="small"), clock=self.clock)
        self.transport = FakeTransport(self.answer)
        self.events = RecordingEventSink()
        self.config = config if config is not None else QBOConfig()
        self.client = QBORawClient(
            self.transport, self.config, events=self.events, clock=self.clock
        )
        self.realm = self.emulator.realm_ids[0]
        token = self.emulator.oauth.mint_tokens(self.realm)["access_token"]
        self.auth = RealmAuth(realm_id=self.realm, access_token=token)

    async def answer(self, request: HttpRequest) -> HttpResponse:
        self.clock.advance(1)  # one request a second: within QBO's throttle
        return await self.emulator.handle(request)

    def requests(self) -> list[HttpRequest]:
        return list(self.transport.requests)

    def sent(self) -> list[tuple[str, str, str, int | None, str | None]]:
        """(operation, method, path, status, error) of each event, in order."""
        return [
            (
                str(event.attributes["operation"]),
                str(event.attributes["method"]),
                str(event.attributes["path"]),
                _status(event),
                _error(event),
            )
            for event in self.events.of_kind("http.request")
        ]


def _status(event: QBOEvent) -> int | None:
    status = event.attributes["status"]
    assert status is None or isinstance(status, int)
    return status


def _error(event: QBOEvent) -> str | None:
    error = event.attributes["error"]
    assert error is None or isinstance(error, str)
    return error


def query_of(request: HttpRequest) -> dict[str, str]:
    return dict(parse_qsl(request.url.partition("?")[2]))


@pytest.fixture
def world() -> Recorded:
    return Recorded()


async def _new_invoice(world: Recorded) -> Invoice:
    item = (await world.client.query(world.auth, Query.select("Item").max_results(1))).items[0]
    return await world.client.create(
        world.auth,
        Invoice(
            customer_ref=Ref(value="1"),
            line=(
                SalesItemLine(
                    amount=Decimal("10"),
                    detail=SalesItemLineDetail(item_ref=Ref(value=str(item.id))),
                ),
            ),
        ),
    )


# --------------------------------------------------------------------- one event per call


async def test_every_call_reports_its_operation_method_and_path(world: Recorded) -> None:
    """Each call sends one request and emits one `http.request` event naming the call's
    operation, the HTTP method and the path below the API host (no query string)."""
    company = f"/v3/company/{world.realm}"
    await world.client.read(world.auth, Customer, "1")
    await world.client.read_with_body(world.auth, "Customer", "1")
    made = await world.client.create(world.auth, Customer(display_name="Evented Co"))
    made = await world.client.update(world.auth, made)
    await world.client.sparse_update(
        world.auth, Customer, str(made.id), str(made.sync_token), {"Notes": "n"}
    )
    await world.client.query(world.auth, Query.select(Customer).max_results(1))
    await world.client.count(world.auth, Query.count(Customer))
    await world.client.cdc(world.auth, [Customer], world.clock.now() - timedelta(days=1))
    await world.client.batch(world.auth, [BatchItem.select("q", "SELECT * FROM Vendor")])
    await world.client.company_info(world.auth)
    await world.client.preferences(world.auth)
    await world.client.report(world.auth, "ProfitAndLoss")
    invoice = await _new_invoice(world)
    await world.client.pdf(world.auth, Invoice, str(invoice.id))
    await world.client.void(world.auth, Invoice, str(invoice.id), str(invoice.sync_token))
    voided = await world.client.read(world.auth, Invoice, str(invoice.id))
    await world.client.delete(world.auth, Invoice, str(voided.id), str(voided.sync_token))
    (uploaded,) = await world.client.upload(
        world.auth, [({"FileName": "a.txt", "ContentType": "text/plain"}, b"hello")]
    )
    attachable = uploaded.attachable
    assert attachable is not None
    await world.client.download_url(world.auth, str(attachable.id))
    await world.client.delete_attachment(world.auth, str(attachable.id), "0")
    assert world.sent() == [
        ("read", "GET", f"{company}/customer/1", 200, None),
        ("read", "GET", f"{company}/customer/1", 200, None),
        ("create", "POST", f"{company}/customer", 200, None),
        ("update", "POST", f"{company}/customer", 200, None),
        ("sparse_update", "POST", f"{company}/customer", 200, None),
        ("query", "POST", f"{company}/query", 200, None),
        ("count", "POST", f"{company}/query", 200, None),
        ("cdc", "GET", f"{company}/cdc", 200, None),
        ("batch", "POST", f"{company}/batch", 200, None),
        ("company_info", "GET", f"{company}/companyinfo/{world.realm}", 200, None),
        ("preferences", "GET", f"{company}/preferences", 200, None),
        ("report", "GET", f"{company}/reports/ProfitAndLoss", 200, None),
        ("query", "POST", f"{company}/query", 200, None),
        ("create", "POST", f"{company}/invoice", 200, None),
        ("pdf", "GET", f"{company}/invoice/{invoice.id}/pdf", 200, None),
        ("void", "POST", f"{company}/invoice", 200, None),
        ("read", "GET", f"{company}/invoice/{invoice.id}", 200, None),
        ("delete", "POST", f"{company}/invoice", 200, None),
        ("upload", "POST", f"{company}/upload", 200, None),
        ("download_url", "GET", f"{company}/download/{attachable.id}", 200, None),
        ("delete", "POST", f"{company}/attachable", 200, None),
    ]
    assert len(world.requests()) == len(world.sent())


async def test_the_event_times_the_call_and_names_realm_tid_and_moment() -> None:
    """The event carries the realm, the answer's intuit_tid, `error` None on success and
    the call's duration in milliseconds (three decimals) on the client's clock, stamped
    with the clock's time when the answer came."""
    clock = FakeClock(auto_advance=False)

    def answer(_: HttpRequest) -> HttpResponse:
        clock.advance(0.0123456)
        return HttpResponse(
            status=200,
            headers={"intuit_tid": "tid-42"},
            body=b'{"Customer": {"Id": "1", "DisplayName": "Timed"}}',
        )

    events = RecordingEventSink()
    client = QBORawClient(FakeTransport(answer), QBOConfig(), events=events, clock=clock)
    await client.read(AUTH, "Customer", "1")
    (event,) = events.of_kind("http.request")
    assert event.realm_id == AUTH.realm_id
    assert event.at == clock.now()
    assert dict(event.attributes) == {
        "operation": "read",
        "method": "GET",
        "path": f"/v3/company/{AUTH.realm_id}/customer/1",
        "status": 200,
        "intuit_tid": "tid-42",
        "error": None,
        "duration_ms": 12.346,
    }


def test_events_without_a_clock_are_refused() -> None:
    """An event sink needs a clock to time the calls: a `ValueError` that says so."""
    transport = FakeTransport(lambda _: HttpResponse(status=200))
    with pytest.raises(
        ValueError, match=r"^QBORawClient needs a clock to time the events it emits$"
    ):
        QBORawClient(transport, QBOConfig(), events=RecordingEventSink())


async def test_a_client_with_a_clock_but_no_events_answers_and_emits_nothing() -> None:
    """Events are optional: with a clock and no sink, a call simply answers."""
    body = b'{"Customer": {"Id": "1", "DisplayName": "Quiet"}}'
    client = QBORawClient(
        FakeTransport(lambda _: HttpResponse(status=200, body=body)),
        QBOConfig(),
        clock=FakeClock(),
    )
    customer = await client.read(AUTH, Customer, "1")
    assert customer.display_name == "Quiet"
    assert client.config == QBOConfig()


# --------------------------------------------------------------------- what is sent


async def test_writes_send_their_request_id_and_every_call_the_minor_version(
    world: Recorded,
) -> None:
    """A `request_id` given to a write goes out as `requestid` (so QBO can recognise a
    retry), beside the configured `minorversion`."""
    made = await world.client.create(
        world.auth, Customer(display_name="Idempotent Co"), request_id="rq-create"
    )
    made = await world.client.update(world.auth, made, request_id="rq-update")
    await world.client.sparse_update(
        world.auth, "Customer", str(made.id), str(made.sync_token), {}, request_id="rq-sparse"
    )
    invoice = await _new_invoice(world)
    voided = await world.client.void(
        world.auth, "Invoice", str(invoice.id), str(invoice.sync_token), request_id="rq-void"
    )
    await world.client.delete(
        world.auth, "Invoice", str(voided.id), str(voided.sync_token), request_id="rq-delete"
    )
    await world.client.batch(
        world.auth, [BatchItem.select("q", "SELECT * FROM Vendor")], request_id="rq-batch"
    )
    await world.client.upload(
        world.auth,
        [({"FileName": "a.txt", "ContentType": "text/plain"}, b"hello")],
        request_id="rq-upload",
    )
    sent = [query_of(request) for request in world.requests()]
    assert [query.get("requestid") for query in sent] == [
        "rq-create",
        "rq-update",
        "rq-sparse",
        None,  # the item query of _new_invoice
        None,  # its create
        "rq-void",
        "rq-delete",
        "rq-batch",
        "rq-upload",
    ]
    assert {query["minorversion"] for query in sent} == {str(world.config.minor_version)}


async def test_a_report_sends_its_parameters(world: Recorded) -> None:
    """`report(name, params)` puts each parameter in the query string."""
    await world.client.report(
        world.auth, "ProfitAndLoss", {"start_date": "2025-01-01", "accounting_method": "Cash"}
    )
    sent = query_of(world.transport.last_request)
    assert (sent["start_date"], sent["accounting_method"]) == ("2025-01-01", "Cash")


async def test_delete_attachment_deletes_the_attachable_with_its_sync_token(
    world: Recorded,
) -> None:
    """`delete_attachment(id, sync_token)` is a delete of that Attachable: the body names
    its id and sync token, and the answer says an Attachable was deleted."""
    (uploaded,) = await world.client.upload(
        world.auth, [({"FileName": "a.txt", "ContentType": "text/plain"}, b"hello")]
    )
    attachable = uploaded.attachable
    assert attachable is not None
    gone = await world.client.delete_attachment(
        world.auth, str(attachable.id), str(attachable.sync_token)
    )
    assert (gone.entity_type, gone.id) == ("Attachable", attachable.id)
    request = world.transport.last_request
    assert query_of(request)["operation"] == "delete"
    assert json.loads(request.body) == {"Id": attachable.id, "SyncToken": attachable.sync_token}


# --------------------------------------------------------------------- answers


async def test_read_with_body_gives_the_entity_its_key_and_the_body_as_received(
    world: Recorded,
) -> None:
    """`read_with_body` answers as `read` does, plus the envelope's key and the very bytes
    the entity was decoded from; a missing entity is `ObjectNotFoundError`."""
    entity, key, body = await world.client.read_with_body(world.auth, Customer, "1")
    assert isinstance(entity, Customer)
    assert entity == await world.client.read(world.auth, Customer, "1")
    assert key == "Customer"
    assert json.loads(body)["Customer"]["Id"] == "1"
    assert world.transport.requests[0].url.split("?")[0].endswith("/customer/1")
    with pytest.raises(ObjectNotFoundError) as missing:
        await world.client.read_with_body(world.auth, "Customer", "999999")
    assert missing.value.realm_id == world.realm


async def test_preferences_are_a_raw_entity_named_preferences(world: Recorded) -> None:
    """Preferences have no typed class: the answer is a `RawEntity` of `Preferences`."""
    preferences = await world.client.preferences(world.auth)
    assert type(preferences) is RawEntity
    assert preferences.entity_type == "Preferences"


async def test_an_answer_of_the_wrong_shape_names_the_entity_expected() -> None:
    """A 200 whose body is not the expected envelope is a `DecodeError` naming the entity
    the call expected: `Preferences`, or the `Attachable` that `delete_attachment` deletes."""
    client = QBORawClient(
        FakeTransport(lambda _: HttpResponse(status=200, body=b"{}")), QBOConfig()
    )
    with pytest.raises(DecodeError, match="expected a Preferences envelope"):
        await client.preferences(AUTH)
    with pytest.raises(DecodeError, match="expected a deleted Attachable"):
        await client.delete_attachment(AUTH, "7", "0")


async def test_a_typed_query_answered_with_other_rows_is_a_decode_error() -> None:
    """A query built from `Customer` decodes its rows as Customers: rows of another
    entity are a `DecodeError`, not a page of the wrong class."""
    body = b'{"QueryResponse": {"Vendor": [{"Id": "1", "DisplayName": "V"}], "maxResults": 1}}'
    client = QBORawClient(FakeTransport(lambda _: HttpResponse(status=200, body=body)), QBOConfig())
    with pytest.raises(DecodeError, match="a query of Customer answered with Vendor rows"):
        await client.query(AUTH, Query.select(Customer))
    page = await client.query(AUTH, Query.select("Vendor"))
    assert [item.id for item in page] == ["1"]


async def test_cdc_is_capped_at_the_configured_number_of_objects() -> None:
    """`ChangeSet.capped` compares the answer with `QBOConfig.cdc_max_objects`."""
    world = Recorded(QBOConfig(cdc_max_objects=1))
    since = world.clock.now()
    world.clock.advance(60)
    await world.client.create(world.auth, Customer(display_name="Only Change"))
    changes = await world.client.cdc(world.auth, ["Customer"], since)
    assert sum(map(len, changes.changed.values())) == 1
    assert changes.capped


async def test_batch_and_upload_item_errors_name_the_realm(world: Recorded) -> None:
    """An error inside a batch or upload answer (not raised) still names its realm."""
    (result,) = await world.client.batch(
        world.auth, [BatchItem.delete("d", "Invoice", "999999", "0")]
    )
    assert isinstance(result.error, ObjectNotFoundError)
    assert result.error.realm_id == world.realm
    fault = {"Error": [{"Message": "bad file", "code": "6000", "Detail": "x"}], "type": "Valid"}
    body = json.dumps({"AttachableResponse": [{"Fault": fault}]}).encode()
    client = QBORawClient(FakeTransport(lambda _: HttpResponse(status=200, body=body)), QBOConfig())
    (failed,) = await client.upload(AUTH, [({"FileName": "a", "ContentType": "text/plain"}, b"x")])
    assert failed.error is not None
    assert failed.error.realm_id == AUTH.realm_id


# --------------------------------------------------------------------- errors


async def test_a_body_over_the_configured_cap_is_refused_unparsed() -> None:
    """Whatever the transport, a body over `max_response_bytes` is `ResponseTooLargeError`
    naming the cap and the realm; the event keeps the answer's status and tid."""
    body = json.dumps({"Customer": {"Id": "1", "DisplayName": "x" * 200}}).encode()
    events = RecordingEventSink()
    client = QBORawClient(
        FakeTransport(
            lambda _: HttpResponse(status=200, headers={"intuit_tid": "tid-big"}, body=body)
        ),
        QBOConfig(max_response_bytes=100),
        events=events,
        clock=FakeClock(),
    )
    with pytest.raises(ResponseTooLargeError) as caught:
        await client.read(AUTH, "Customer", "1")
    assert (caught.value.max_bytes, caught.value.realm_id) == (100, AUTH.realm_id)
    (event,) = events.of_kind("http.request")
    assert (_status(event), event.attributes["intuit_tid"], _error(event)) == (
        200,
        "tid-big",
        "ResponseTooLargeError",
    )


async def test_a_transport_error_gets_the_realm_and_keeps_its_status_and_tid() -> None:
    """An error the transport raised (a body it refused, a failed connection) is given
    the call's realm; its status and tid, when it has them, go into the event."""
    refused = ResponseTooLargeError("too big", max_bytes=10, status=200, intuit_tid="tid-transport")
    events = RecordingEventSink()

    def failing(request: HttpRequest) -> HttpResponse:
        raise refused if "customer" in request.url else ConnectError("no route")

    client = QBORawClient(FakeTransport(failing), QBOConfig(), events=events, clock=FakeClock())
    with pytest.raises(ResponseTooLargeError) as too_large:
        await client.read(AUTH, "Customer", "1")
    assert too_large.value.realm_id == AUTH.realm_id
    with pytest.raises(ConnectError) as unreachable:
        await client.read(AUTH, "Invoice", "1")
    assert unreachable.value.realm_id == AUTH.realm_id
    first, second = events.of_kind("http.request")
    assert (_status(first), first.attributes["intuit_tid"], _error(first)) == (
        200,
        "tid-transport",
        "ResponseTooLargeError",
    )
    assert (_status(second), second.attributes["intuit_tid"], _error(second)) == (
        None,
        None,
        "ConnectError",
    )


async def test_an_error_naming_another_realm_keeps_it() -> None:
    """The realm is filled in only where the error names none."""

    def failing(_: HttpRequest) -> HttpResponse:
        raise ConnectError("no route", realm_id="other-realm")

    client = QBORawClient(FakeTransport(failing), QBOConfig())
    with pytest.raises(ConnectError) as caught:
        await client.read(AUTH, "Customer", "1")
    assert caught.value.realm_id == "other-realm"


async def test_an_error_raised_after_an_answer_reports_the_answer_s_status_and_tid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The event's status and tid are the answer's, even when the error raised while
    decoding it carries others (or none)."""

    def strict(response: HttpResponse, entity_type: str, *, realm_id: str | None = None) -> None:
        raise ValidationError("refused by a decoder", status=400, intuit_tid="tid-decoder")

    monkeypatch.setattr(responses, "decode_entity_response", strict)
    answer = HttpResponse(status=200, headers={"intuit_tid": "tid-answer"}, body=b"{}")
    events = RecordingEventSink()
    client = QBORawClient(
        FakeTransport(lambda _: answer), QBOConfig(), events=events, clock=FakeClock()
    )
    with pytest.raises(ValidationError):
        await client.read(AUTH, "Customer", "1")
    (event,) = events.of_kind("http.request")
    assert (_status(event), event.attributes["intuit_tid"], _error(event)) == (
        200,
        "tid-answer",
        "ValidationError",
    )


async def test_a_bug_below_the_client_is_named_in_the_event_without_status_or_tid() -> None:
    """A non-QBO exception out of the transport (a bug) propagates, and the event names
    its class, with no status and no tid."""

    def broken(_: HttpRequest) -> HttpResponse:
        raise RuntimeError("handler bug")

    events = RecordingEventSink()
    client = QBORawClient(FakeTransport(broken), QBOConfig(), events=events, clock=FakeClock())
    with pytest.raises(RuntimeError):
        await client.read(AUTH, "Customer", "1")
    (event,) = events.of_kind("http.request")
    assert (_status(event), event.attributes["intuit_tid"], _error(event)) == (
        None,
        None,
        "RuntimeError",
    )


async def test_statements_of_the_wrong_kind_are_refused_with_what_to_do() -> None:
    """`query` with a COUNT(*), `count` with a SELECT and a statement that is neither a
    str nor a Query are refused before sending, each with a message that says why."""
    transport = FakeTransport(lambda _: HttpResponse(status=200))
    client = QBORawClient(transport, QBOConfig())
    with pytest.raises(
        ValueError,
        match="^"
        + re.escape("a SELECT COUNT(*) statement answers with a number: use count()")
        + "$",
    ):
        await client.query(AUTH, "SELECT COUNT(*) FROM Customer")
    with pytest.raises(
        ValueError,
        match="^" + re.escape("count() takes a SELECT COUNT(*) statement (Query.count(...))") + "$",
    ):
        await client.count(AUTH, Query.select(Customer))
    with pytest.raises(TypeError, match=r"^a query is a str or a Query, got int$"):
        await client.query(AUTH, 42)  # type: ignore[call-overload]
    assert transport.requests == []
