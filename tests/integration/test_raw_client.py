"""QBORawClient end to end against the emulator: every operation, one HTTP call each."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import attrs
import pytest

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.event_sinks import RecordingEventSink
from qbo_adapters.memory.fake_transport import FakeTransport
from qbo_core.config import QBOConfig
from qbo_core.dtos import RealmAuth
from qbo_core.entities import (
    CompanyInfo,
    Customer,
    Invoice,
    Payment,
    RawEntity,
    Ref,
    SalesItemLine,
    SalesItemLineDetail,
)
from qbo_core.errors import (
    AccessTokenInvalidError,
    ConnectionLostError,
    DuplicateNameError,
    ObjectNotFoundError,
    PermissionDeniedError,
    QueryValidationError,
    StaleObjectError,
    ThrottledError,
    ValidationError,
)
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.query import Field, Query
from qbo_core.results import BatchItem
from qbo_core.services import QBORawClient


class World:
    """An emulator company, a client on the in-process door, and the events it emitted."""

    def __init__(self, **settings: object) -> None:
        self.clock = FakeClock()
        self.emulator = QBOEmulator(
            EmulatorSettings(seed=21, size="small", **settings),  # type: ignore[arg-type]
            clock=self.clock,
        )
        self.transport = EmulatorTransport(self.emulator)
        self.events = RecordingEventSink()
        self.client = QBORawClient(
            self.transport, QBOConfig(), events=self.events, clock=self.clock
        )
        self.realm = self.emulator.realm_ids[0]
        self.token = self.emulator.oauth.mint_tokens(self.realm)["access_token"]
        self.auth = RealmAuth(realm_id=self.realm, access_token=self.token)

    @property
    def calls(self) -> int:
        return len(self.emulator.request_log)


@pytest.fixture
def world() -> World:
    return World()


async def test_read_returns_a_typed_customer_in_one_call(world: World) -> None:
    """read() decodes the stored customer into a typed Customer with one HTTP request."""
    customer = await world.client.read(world.auth, "Customer", "1")
    assert isinstance(customer, Customer)
    assert customer.id == "1"
    assert customer.display_name
    assert world.calls == 1


async def test_create_update_sparse_update_and_stale_sync_token(world: World) -> None:
    """A customer can be created, fully and sparsely updated; an old SyncToken gets 5010."""
    created = await world.client.create(world.auth, Customer(display_name="Raw Client Ltd"))
    assert isinstance(created, Customer)
    assert created.sync_token == "0"
    assert created.balance == Decimal("0")
    renamed = await world.client.sparse_update(
        world.auth, "Customer", str(created.id), "0", {"CompanyName": "Raw Client Holdings"}
    )
    assert isinstance(renamed, Customer)
    assert renamed.company_name == "Raw Client Holdings"
    assert renamed.display_name == "Raw Client Ltd"
    assert renamed.sync_token == "1"
    with pytest.raises(StaleObjectError) as stale:
        await world.client.sparse_update(
            world.auth, "Customer", str(created.id), "0", {"CompanyName": "Too Late"}
        )
    assert stale.value.code == "5010"
    assert stale.value.realm_id == world.realm
    assert stale.value.intuit_tid
    full = await world.client.update(world.auth, attrs.evolve(renamed, notes="Full update"))
    assert isinstance(full, Customer)
    assert full.sync_token == "2"
    assert full.notes == "Full update"


async def test_duplicate_display_name_is_a_typed_error(world: World) -> None:
    """Creating a second customer with an existing DisplayName raises DuplicateNameError."""
    existing = await world.client.read(world.auth, "Customer", "1")
    assert isinstance(existing, Customer)
    with pytest.raises(DuplicateNameError):
        await world.client.create(world.auth, Customer(display_name=existing.display_name))


async def test_invoice_payment_void_and_delete_keep_balances_consistent(world: World) -> None:
    """A payment lowers its invoice's balance; voiding restores it; both can then be deleted."""
    item = (
        await world.client.query(world.auth, "SELECT * FROM Item WHERE Type = 'Service'")
    ).items[0]
    customer = await world.client.create(world.auth, Customer(display_name="Balance Check Co"))
    invoice = await world.client.create(
        world.auth,
        Invoice(
            customer_ref=Ref(value=str(customer.id)),
            line=(
                SalesItemLine(
                    amount=Decimal("250.00"),
                    detail=SalesItemLineDetail(
                        item_ref=Ref(value=str(item.id)),
                        qty=Decimal("2"),
                        unit_price=Decimal("125"),
                    ),
                ),
            ),
        ),
    )
    assert isinstance(invoice, Invoice)
    assert invoice.total_amt == Decimal("250.00")
    assert invoice.balance == Decimal("250.00")
    payment = await world.client.create(
        world.auth,
        Payment(
            customer_ref=Ref(value=str(customer.id)),
            total_amt=Decimal("100.00"),
            line=(_payment_line(str(invoice.id), Decimal("100.00")),),
        ),
    )
    paid = await world.client.read(world.auth, "Invoice", str(invoice.id))
    assert isinstance(paid, Invoice)
    assert paid.balance == Decimal("150.00")
    voided = await world.client.void(
        world.auth, "Payment", str(payment.id), str(payment.sync_token)
    )
    assert isinstance(voided, Payment)
    assert voided.total_amt == Decimal("0")
    restored = await world.client.read(world.auth, "Invoice", str(invoice.id))
    assert isinstance(restored, Invoice)
    assert restored.balance == Decimal("250.00")
    await world.client.delete(world.auth, "Payment", str(voided.id), str(voided.sync_token))
    gone = await world.client.delete(
        world.auth, "Invoice", str(restored.id), str(restored.sync_token)
    )
    assert (gone.entity_type, gone.id) == ("Invoice", invoice.id)
    with pytest.raises(ObjectNotFoundError):
        await world.client.read(world.auth, "Invoice", str(invoice.id))


def _payment_line(invoice_id: str, amount: Decimal):  # type: ignore[no-untyped-def]
    from qbo_core.entities import LinkedTxn, LinkedTxnLine

    return LinkedTxnLine(
        amount=amount, linked_txn=(LinkedTxn(txn_id=invoice_id, txn_type="Invoice"),)
    )


async def test_query_with_the_builder_and_count(world: World) -> None:
    """A built query returns a typed page; COUNT(*) returns QBO's totalCount."""
    total = await world.client.count(world.auth, Query.count("Customer"))
    page = await world.client.query(
        world.auth, Query.select("Customer").order_by("DisplayName").max_results(5)
    )
    assert total > 5
    assert page.entity_type == "Customer"
    assert len(page) == 5 == page.max_results
    assert page.start_position == 1
    names = [c.display_name for c in page if isinstance(c, Customer)]
    assert len(names) == 5
    hostile = await world.client.query(
        world.auth,
        Query.select("Customer").where(Field("DisplayName") == "x' OR DisplayName LIKE '%"),
    )
    assert len(hostile) == 0
    assert hostile.start_position is None


async def test_bad_query_is_a_query_validation_error(world: World) -> None:
    """An unknown entity in a query is QBO's 4001, as QueryValidationError."""
    with pytest.raises(QueryValidationError):
        await world.client.query(world.auth, "SELECT * FROM Custmoer")


async def test_batch_mixes_results_and_per_item_errors(world: World) -> None:
    """A batch answers each item on its own: created, not found, and a query page."""
    results = await world.client.batch(
        world.auth,
        [
            BatchItem.create("b1", Customer(display_name="Batch Made")),
            BatchItem.delete("b2", "Invoice", "999999", "0"),
            BatchItem.select("b3", "SELECT * FROM Vendor MAXRESULTS 2"),
        ],
    )
    by_bid = {r.bid: r for r in results}
    assert isinstance(by_bid["b1"].entity, Customer)
    assert isinstance(by_bid["b2"].error, ObjectNotFoundError)
    assert by_bid["b3"].page is not None
    assert len(by_bid["b3"].page) == 2
    assert world.calls == 1


async def test_cdc_reports_changes_and_deletions(world: World) -> None:
    """CDC returns what changed since a moment, with deletions as tombstones."""
    since = world.clock.now()
    world.clock.advance(60)
    created = await world.client.create(world.auth, Customer(display_name="Changed Lately"))
    changes = await world.client.cdc(
        world.auth, ["Customer", "Invoice"], since - timedelta(seconds=1)
    )
    ids = [c.id for c in changes.changed.get("Customer", ())]
    assert created.id in ids
    assert not changes.capped


async def test_company_info_and_preferences(world: World) -> None:
    """CompanyInfo (realm twice in the URL) and Preferences decode."""
    info = await world.client.company_info(world.auth)
    prefs = await world.client.preferences(world.auth)
    assert info.id == "1"
    assert prefs.id is not None


async def test_requestid_makes_a_retried_create_happen_once(world: World) -> None:
    """The same request_id sent twice creates one customer and returns the same answer."""
    first = await world.client.create(
        world.auth, Customer(display_name="Once Only"), request_id="req-once-1"
    )
    again = await world.client.create(
        world.auth, Customer(display_name="Once Only"), request_id="req-once-1"
    )
    assert first == again
    page = await world.client.query(
        world.auth, Query.select("Customer").where(Field("DisplayName") == "Once Only")
    )
    assert len(page) == 1


async def test_expired_token_and_wrong_realm_are_auth_errors(world: World) -> None:
    """An expired access token is AccessTokenInvalidError; another realm's is PermissionDenied."""
    other = World(realms=2)
    wrong = RealmAuth(realm_id=other.emulator.realm_ids[1], access_token=other.token)
    with pytest.raises(PermissionDeniedError):
        await other.client.read(wrong, "Customer", "1")
    world.clock.advance(3601)
    with pytest.raises(AccessTokenInvalidError) as expired:
        await world.client.read(world.auth, "Customer", "1")
    assert world.token not in str(expired.value)
    assert world.token[:20] not in repr(expired.value)


async def test_throttling_is_a_throttled_error(world: World) -> None:
    """The 11th request in one second is refused with ThrottledError (3001)."""
    for _ in range(10):
        await world.client.read(world.auth, "Customer", "1")
    with pytest.raises(ThrottledError) as throttled:
        await world.client.read(world.auth, "Customer", "1")
    assert throttled.value.code == "3001"


async def test_injected_reset_is_an_outcome_unknown_transport_error(world: World) -> None:
    """A connection reset surfaces as ConnectionLostError, which says it may have applied."""
    world.emulator.control.add_fault(
        {"route": {"method": "POST"}, "trigger": {"next": 1}, "effect": "reset"}
    )
    with pytest.raises(ConnectionLostError) as lost:
        await world.client.create(world.auth, Customer(display_name="Maybe Applied"))
    assert lost.value.maybe_applied


async def test_events_name_each_call_and_never_the_token(world: World) -> None:
    """Each call emits one http.request event with status and tid, and no credential."""
    await world.client.read(world.auth, "Customer", "1")
    with pytest.raises(ObjectNotFoundError):
        await world.client.read(world.auth, "Customer", "999999")
    events = world.events.of_kind("http.request")
    assert [e.attributes["status"] for e in events] == [200, 400]
    assert events[1].attributes["error"] == "ObjectNotFoundError"
    assert all(e.attributes["intuit_tid"] for e in events)
    assert world.token not in repr(events)


async def test_html_answer_with_200_is_a_decode_error() -> None:
    """A 200 carrying an HTML page (a proxy's) is a DecodeError, not a crash or a DTO."""
    from qbo_core.errors import DecodeError

    def proxy(_: HttpRequest) -> HttpResponse:
        return HttpResponse(
            status=200, headers={"Content-Type": "text/html"}, body=b"<html>maintenance</html>"
        )

    client = QBORawClient(FakeTransport(proxy), QBOConfig())
    with pytest.raises(DecodeError) as caught:
        await client.read(RealmAuth(realm_id="1", access_token="t"), "Customer", "1")
    assert caught.value.body_excerpt == "<html>maintenance</html>"
    assert caught.value.realm_id == "1"


async def test_bad_identifiers_never_reach_the_wire(world: World) -> None:
    """An id that would change the URL path is refused before any request is sent."""
    with pytest.raises(ValueError, match="invalid id"):
        await world.client.read(world.auth, "Customer", "1/../2")
    with pytest.raises(ValueError, match="invalid entity type"):
        await world.client.read(world.auth, "Customer/1", "1")
    assert world.calls == 0


async def test_validation_error_for_missing_required_fields(world: World) -> None:
    """An invoice without a customer is refused by QBO as a ValidationError."""
    with pytest.raises(ValidationError):
        await world.client.create(world.auth, Invoice(line=()))


async def test_report_decodes_with_a_walkable_structure(world: World) -> None:
    """A ProfitAndLoss report decodes; its rows walk and its NetIncome summary is present."""
    report = await world.client.report(
        world.auth,
        "ProfitAndLoss",
        {"start_date": date(2025, 1, 1), "end_date": date(2025, 12, 31)},
    )
    assert report.name == "ProfitAndLoss"
    assert report.columns
    assert report.data_rows()
    net = report.summary("NetIncome")
    assert net is not None
    assert net.cells[0].value.replace(" ", "").lower() == "netincome"


async def test_upload_download_url_and_delete_an_attachment(world: World) -> None:
    """A file uploads against an invoice, its temporary URL is served, and it can be deleted."""
    content = bytes(range(256)) * 4
    invoice = (await world.client.query(world.auth, "SELECT * FROM Invoice MAXRESULTS 1")).items[0]
    (result,) = await world.client.upload(
        world.auth,
        [
            (
                {
                    "FileName": "receipt.bin",
                    "ContentType": "application/octet-stream",
                    "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": invoice.id}}],
                },
                content,
            )
        ],
    )
    assert result.error is None
    attachable = result.attachable
    assert attachable is not None
    url = await world.client.download_url(world.auth, str(attachable.id))
    fetched = await world.transport.send(HttpRequest(method="GET", url=url))
    assert fetched.body == content
    gone = await world.client.delete_attachment(
        world.auth, str(attachable.id), str(attachable.sync_token)
    )
    assert gone.id == attachable.id


async def test_pdf_of_an_invoice(world: World) -> None:
    """pdf() returns the invoice as PDF bytes; a missing invoice is ObjectNotFoundError."""
    invoice = (await world.client.query(world.auth, "SELECT * FROM Invoice MAXRESULTS 1")).items[0]
    document = await world.client.pdf(world.auth, "Invoice", str(invoice.id))
    assert document.startswith(b"%PDF-1.4")
    with pytest.raises(ObjectNotFoundError):
        await world.client.pdf(world.auth, "Invoice", "999999")


# --------------------------------------------------------------------- typed calls


async def _new_invoice(world: World) -> Invoice:
    """A fresh invoice for a fresh customer, nothing applied to it."""
    item = (await world.client.query(world.auth, Query.select("Item").max_results(1))).items[0]
    customer = await world.client.create(world.auth, Customer(display_name="Typed Invoice Co"))
    return await world.client.create(
        world.auth,
        Invoice(
            customer_ref=Ref(value=str(customer.id)),
            line=(
                SalesItemLine(
                    amount=Decimal("10.00"),
                    detail=SalesItemLineDetail(item_ref=Ref(value=str(item.id))),
                ),
            ),
        ),
    )


async def test_a_class_named_call_answers_with_that_class(world: World) -> None:
    """read, sparse_update and void given a class answer with an instance of it exactly;
    the name form of read answers with the same typed object."""
    customer = await world.client.read(world.auth, Customer, "1")
    assert type(customer) is Customer
    assert customer == await world.client.read(world.auth, "Customer", "1")
    renamed = await world.client.sparse_update(
        world.auth, Customer, "1", str(customer.sync_token), {"CompanyName": "Typed Co"}
    )
    assert type(renamed) is Customer
    assert renamed.company_name == "Typed Co"
    invoice = await _new_invoice(world)
    voided = await world.client.void(world.auth, Invoice, str(invoice.id), str(invoice.sync_token))
    assert type(voided) is Invoice
    assert voided.id == invoice.id


async def test_a_query_built_from_a_class_gives_a_page_of_that_class(world: World) -> None:
    """Query.select(Customer) pages hold Customers; the same statement as a string gives
    the same items; count takes a typed query too."""
    typed = await world.client.query(
        world.auth, Query.select(Customer).order_by("DisplayName").max_results(5)
    )
    assert [type(item) for item in typed] == [Customer] * 5
    names = [customer.display_name for customer in typed]
    by_text = await world.client.query(
        world.auth, "SELECT * FROM Customer ORDERBY DisplayName ASC MAXRESULTS 5"
    )
    assert by_text.items == typed.items
    assert all(names)
    assert await world.client.count(world.auth, Query.count(Customer)) == await world.client.count(
        world.auth, "SELECT COUNT(*) FROM Customer"
    )


async def test_create_and_update_answer_in_the_class_they_were_given(world: World) -> None:
    """A RawEntity sent stays raw in the answer even for an entity with a typed class; a
    typed entity comes back typed."""
    raw = await world.client.create(
        world.auth, RawEntity(entity_type="Customer", data={"DisplayName": "Raw Made"})
    )
    assert type(raw) is RawEntity
    assert raw.entity_type == "Customer"
    assert raw.data["DisplayName"] == "Raw Made"
    typed = await world.client.read(world.auth, Customer, str(raw.id))
    updated = await world.client.update(world.auth, attrs.evolve(typed, notes="typed"))
    assert type(updated) is Customer
    assert updated.notes == "typed"


async def test_company_info_is_typed_and_classes_name_entities_everywhere(world: World) -> None:
    """company_info answers a CompanyInfo; cdc, delete and pdf take classes as names."""
    assert type(await world.client.company_info(world.auth)) is CompanyInfo
    since = world.clock.now()
    world.clock.advance(60)
    created = await world.client.create(world.auth, Customer(display_name="Class Named"))
    changes = await world.client.cdc(world.auth, [Customer], since - timedelta(seconds=1))
    assert created.id in [entity.id for entity in changes.changed["Customer"]]
    invoice = await _new_invoice(world)
    assert (await world.client.pdf(world.auth, Invoice, str(invoice.id))).startswith(b"%PDF-")
    gone = await world.client.delete(world.auth, Invoice, str(invoice.id), str(invoice.sync_token))
    assert (gone.entity_type, gone.id) == ("Invoice", invoice.id)


async def test_classes_that_do_not_name_a_typed_entity_are_refused_before_sending(
    world: World,
) -> None:
    """A class that is not one of the typed entities (a part, a subclass) and a statement
    that is neither a str nor a Query raise TypeError; nothing is sent."""

    class Special(Customer):  # type: ignore[misc]  # Customer is final: a host cannot
        pass

    with pytest.raises(TypeError, match="not a typed QBO entity class"):
        await world.client.read(world.auth, Ref, "1")  # type: ignore[type-var]
    with pytest.raises(TypeError, match="not a typed QBO entity class"):
        await world.client.read(world.auth, Special, "1")
    with pytest.raises(TypeError, match="a query is a str or a Query"):
        await world.client.query(world.auth, 42)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="not a QBO entity"):
        await world.client.create(world.auth, Special(display_name="Sub"))
    assert world.calls == 0


async def test_updating_an_entity_read_through_a_projection_keeps_what_it_left_out(
    world: World,
) -> None:
    """A customer read with `.fields(...)` comes back sparse; updating it changes the field
    it holds and keeps every other one (a full update would clear its address)."""
    whole = await world.client.read(world.auth, Customer, "1")
    assert whole.bill_addr is not None
    page = await world.client.query(
        world.auth,
        Query.select(Customer).fields("Id", "SyncToken", "DisplayName").where(Field("Id") == "1"),
    )
    projected = page.items[0]
    assert projected.sparse is True
    assert projected.bill_addr is None
    await world.client.update(world.auth, attrs.evolve(projected, display_name="Renamed Co"))
    after = await world.client.read(world.auth, Customer, "1")
    assert after.display_name == "Renamed Co"
    assert after.bill_addr == whole.bill_addr
    assert after.primary_email_addr == whole.primary_email_addr


async def test_count_and_query_refuse_each_other_s_statements_before_sending(
    world: World,
) -> None:
    """`query` with a COUNT(*) statement, or `count` with a SELECT *, is a ValueError
    naming the right call, and nothing reaches the wire."""
    for counting in (Query.count(Customer), "select  COUNT( * ) from Customer"):
        with pytest.raises(ValueError, match="use count"):
            await world.client.query(world.auth, counting)
    for selecting in (Query.select(Customer), "SELECT * FROM Customer"):
        with pytest.raises(ValueError, match="COUNT"):
            await world.client.count(world.auth, selecting)
    assert world.calls == 0
    assert await world.client.count(world.auth, "select count(*) from Customer") > 0


async def test_batch_items_name_entities_by_class_too(world: World) -> None:
    """BatchItem's delete, void and sparse update take a typed class as well as a name."""
    item = (
        await world.client.query(world.auth, "SELECT * FROM Item WHERE Type = 'Service'")
    ).items[0]
    invoice = await world.client.create(
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
    assert invoice.id is not None
    assert invoice.sync_token is not None
    by_class = BatchItem.void("v", Invoice, invoice.id, invoice.sync_token)
    assert by_class == BatchItem.void("v", "Invoice", invoice.id, invoice.sync_token)
    assert BatchItem.delete("d", Invoice, "1", "0").entity_type == "Invoice"
    assert BatchItem.sparse_update("s", Customer, "1", "0", {}).entity_type == "Customer"
    (result,) = await world.client.batch(world.auth, [by_class])
    assert result.error is None
    assert isinstance(result.entity, Invoice)
    assert result.entity.total_amt == Decimal("0")
    with pytest.raises(TypeError):
        BatchItem.delete("d", attrs.evolve, "1", "0")  # type: ignore[arg-type]
