"""python-quickbooks, the most used Python client for QBO, against the emulator over HTTP.

The user story of issue 8: a new user points python-quickbooks at `qbo emulator` and
creates a customer, an invoice and a batch of customers, lists items, reads an object
back, updates, voids and deletes it, all through python-quickbooks' own objects, and
the emulator answers each call as QBO does (and refuses what QBO refuses, with QBO's
fault, which python-quickbooks turns into its own exceptions).

How the client is pointed at the emulator, as a user would do it:

- intuit-oauth's `AuthClient` takes a discovery-document URL as its `environment` (its
  documented alternative to "sandbox"/"production"): the emulator's
  `/.well-known/openid_sandbox_configuration` names its own token endpoint, so a token
  refresh goes to the emulator too. The tokens are minted in-process
  (`emulator.control.mint_tokens`), as if the user had consented.
- python-quickbooks takes its API base from the `api_url_v3` attribute (a class
  attribute holding Intuit's URL): it is set on the client instance, the one override.
- requests-oauthlib refuses plain-HTTP URLs unless `OAUTHLIB_INSECURE_TRANSPORT` is set
  (oauthlib's documented switch for local testing); the emulator listens on loopback
  over HTTP, so the tests set it.

python-quickbooks is synchronous (requests): the emulator's HTTP door runs on an event
loop in a background thread. Throttling is off: python-quickbooks does not retry a 429,
and a test runs more than QBO's 10 requests a second. Every socket the tests open is
checked to connect to loopback, so nothing here reaches Intuit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from intuitlib.client import AuthClient
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.exceptions import (
    AuthorizationException,
    ObjectNotFoundException,
    QuickbooksException,
    ValidationException,
)
from quickbooks.objects.account import Account
from quickbooks.objects.base import LinkedTxn
from quickbooks.objects.company_info import CompanyInfo
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine

from qbo_adapters.emulator import EmulatorSettings, QBOEmulator, serve_emulator

SETTINGS = EmulatorSettings(seed=8, throttle=False)
MINOR_VERSION = 75


@attrs.frozen
class Served:
    """The emulator behind its HTTP door, and every address a socket connected to."""

    emulator: QBOEmulator
    base_url: str
    realm: str
    connected: list[str]


def _loopback_only(connected: list[str]) -> Any:
    """A `socket.connect` that records each address and refuses any but loopback."""
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            connected.append(host)
            if not ipaddress.ip_address(host).is_loopback:
                raise AssertionError(f"a test tried to connect to {host}, off loopback")
        real_connect(sock, address)

    return connect


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    connected: list[str] = []
    monkeypatch.setattr(socket.socket, "connect", _loopback_only(connected))
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="qbo-emulator-http", daemon=True)
    thread.start()
    try:
        emulator = QBOEmulator(SETTINGS)
        server = asyncio.run_coroutine_threadsafe(serve_emulator(emulator, port=0), loop).result(
            timeout=60
        )
        try:
            yield Served(emulator, server.base_url, emulator.realm_ids[0], connected)
        finally:
            asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=60)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=60)
        loop.close()
    assert all(ipaddress.ip_address(host).is_loopback for host in connected)


def auth_client_for(served: Served) -> AuthClient:
    """intuit-oauth's client, its endpoints read from the emulator's discovery document."""
    tokens = served.emulator.control.mint_tokens(served.realm)
    return AuthClient(
        client_id=SETTINGS.client_id,
        client_secret=SETTINGS.client_secret,
        redirect_uri="http://localhost:8000/callback",
        environment=f"{served.base_url}/.well-known/openid_sandbox_configuration",
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        realm_id=served.realm,
    )


def quickbooks_for(served: Served, auth: AuthClient) -> QuickBooks:
    """python-quickbooks' client on the emulator: Intuit's API base swapped for its own."""
    client = QuickBooks(
        auth_client=auth,
        refresh_token=auth.refresh_token,
        company_id=served.realm,
        minorversion=MINOR_VERSION,
    )
    client.api_url_v3 = f"{served.base_url}/v3"
    return client


@pytest.fixture
def client(served: Served) -> Iterator[QuickBooks]:
    auth = auth_client_for(served)
    qb = quickbooks_for(served, auth)
    try:
        yield qb
    finally:
        qb.session.close()
        auth.close()


def _code(error: QuickbooksException) -> int:
    code: int = error.error_code
    return code


def _invoice(customer: Customer, item: Item, amount: float) -> Invoice:
    """An invoice as python-quickbooks' README builds one: a SalesItemLine with an Amount
    and an ItemRef (python-quickbooks sends Qty 0 and UnitPrice 0 for it)."""
    line = SalesItemLine()
    line.Amount = amount
    line.Description = "Compat check"
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    invoice = Invoice()
    invoice.Line.append(line)
    invoice.CustomerRef = customer.to_ref()
    return invoice


def _service_item(client: QuickBooks) -> Item:
    item: Item = Item.filter(Type="Service", max_results=1, qb=client)[0]
    return item


def test_create_a_customer_read_it_back_and_update_it(client: QuickBooks) -> None:
    """`Customer().save()` creates (python-quickbooks sends `""` dates and amounts and a
    numeric SyncToken); `save()` again is a full update; a stale SyncToken is QBO's 5010."""
    customer = Customer()
    customer.DisplayName = "Compat Corner Shop"
    created = customer.save(qb=client)
    assert created.Id
    assert customer.Id == created.Id
    assert created.SyncToken == "0"

    read = Customer.get(created.Id, qb=client)
    assert read.DisplayName == "Compat Corner Shop"
    read.CompanyName = "Compat Corner Holdings"
    updated = read.save(qb=client)
    assert (updated.SyncToken, updated.CompanyName) == ("1", "Compat Corner Holdings")

    with pytest.raises(QuickbooksException) as stale:
        read.save(qb=client)  # `read` still carries SyncToken "0"
    assert _code(stale.value) == 5010

    found = Customer.filter(DisplayName="Compat Corner Shop", qb=client)
    assert [(c.Id, c.CompanyName) for c in found] == [(created.Id, "Compat Corner Holdings")]

    duplicate = Customer()
    duplicate.DisplayName = "Compat Corner Shop"
    with pytest.raises(QuickbooksException) as refused:
        duplicate.save(qb=client)
    assert _code(refused.value) == 6240


def test_create_an_invoice_update_void_and_delete_it(client: QuickBooks) -> None:
    """An invoice with a SalesItemLine is created, updated with a priced line, voided
    (`operation=void`: amounts to 0, "Voided") and deleted; then it is not found."""
    customer = Customer.all(max_results=1, qb=client)[0]
    created = _invoice(customer, _service_item(client), 100).save(qb=client)
    assert (created.TotalAmt, created.Balance) == (100, 100)
    assert created.Line[0].Amount == 100
    assert created.CustomerRef.value == customer.Id

    read = Invoice.get(created.Id, qb=client)
    detail = read.Line[0].SalesItemLineDetail
    detail.Qty, detail.UnitPrice = 2, 75
    read.Line[0].Amount = 150
    updated = read.save(qb=client)
    assert (updated.SyncToken, updated.TotalAmt, updated.Balance) == ("1", 150, 150)

    voided = updated.void(qb=client)["Invoice"]
    assert (voided["TotalAmt"], voided["Balance"], voided["PrivateNote"]) == (0, 0, "Voided")

    current = Invoice.get(created.Id, qb=client)
    assert current.SyncToken == "2"
    deleted = current.delete(qb=client)["Invoice"]
    assert (deleted["Id"], deleted["status"]) == (created.Id, "Deleted")
    assert Invoice.filter(Id=created.Id, qb=client) == []
    with pytest.raises(ObjectNotFoundException) as gone:
        Invoice.get(created.Id, qb=client)
    assert _code(gone.value) == 610


def test_pay_an_invoice_then_delete_the_payment(client: QuickBooks) -> None:
    """A Payment linked to the invoice closes it; deleting the payment reopens it."""
    customer = Customer.all(max_results=1, qb=client)[0]
    invoice = _invoice(customer, _service_item(client), 80).save(qb=client)
    link = LinkedTxn()
    link.TxnId, link.TxnType = invoice.Id, "Invoice"
    line = PaymentLine()
    line.Amount = 80
    line.LinkedTxn.append(link)
    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = 80
    payment.Line.append(line)
    paid = payment.save(qb=client)
    assert paid.TotalAmt == 80
    assert Invoice.get(invoice.Id, qb=client).Balance == 0

    Payment.get(paid.Id, qb=client).delete(qb=client)
    assert Invoice.get(invoice.Id, qb=client).Balance == 80


def test_batch_create_customers(client: QuickBooks) -> None:
    """`batch_create` sends one batch; each new customer comes back with an Id, and a
    duplicate name is that item's 6240 fault, the others still created."""
    existing = Customer.all(max_results=1, qb=client)[0].DisplayName
    names = [f"Batch Customer {n}" for n in range(3)]
    customers = []
    for name in [*names, existing]:
        customer = Customer()
        customer.DisplayName = name
        customers.append(customer)

    result = batch_create(customers, qb=client)

    assert sorted(c.DisplayName for c in result.successes) == names
    assert all(c.Id for c in result.successes)
    assert [(f.original_object.DisplayName, f.Error[0].code) for f in result.faults] == [
        (existing, "6240")
    ]
    created = Customer.choose([c.Id for c in result.successes], qb=client)
    assert sorted(c.DisplayName for c in created) == names


def test_list_filter_and_query_items(client: QuickBooks) -> None:
    """`Item.all()` (python-quickbooks asks `SELECT *, Sku FROM Item`) lists every item
    with its Sku, which `SELECT *` leaves out; `filter`, `where`, `choose`, `count` and a
    raw `query` answer like QBO."""
    income = Account.filter(AccountType="Income", max_results=1, qb=client)[0]
    widget = Item()
    widget.Name, widget.Type, widget.Sku = "Compat Widget", "Service", "CW-001"
    widget.IncomeAccountRef = income.to_ref()
    created = widget.save(qb=client)

    items = Item.all(qb=client)
    assert len(items) == Item.count(qb=client) > 1
    assert all(isinstance(item, Item) and item.Name for item in items)
    assert [item.Sku for item in items if item.Id == created.Id] == ["CW-001"]
    plain = Item.where(f"Id = '{created.Id}'", qb=client)
    assert [item.Sku for item in plain] == [None]  # python-quickbooks' default: not sent

    services = Item.filter(Type="Service", qb=client)
    assert services
    assert all(item.Type == "Service" for item in services)
    assert {item.Id for item in services} <= {item.Id for item in items}

    first_two = Item.where("Active = true", order_by="Name", max_results=2, qb=client)
    assert [item.Name for item in first_two] == sorted(item.Name for item in items)[:2]

    chosen = Item.choose([items[0].Id, items[-1].Id], qb=client)
    assert {item.Id for item in chosen} == {items[0].Id, items[-1].Id}

    queried = Item.query("SELECT * FROM Item WHERE Type = 'Service' MAXRESULTS 1", qb=client)
    assert len(queried) == 1

    with pytest.raises(ValidationException) as bad:  # an unescaped quote: QBO's parse error
        Item.query("SELECT * FROM Item WHERE Name = 'Bob's Bits'", qb=client)
    assert _code(bad.value) == 4000


def test_an_expired_token_is_refreshed_through_the_emulator(served: Served) -> None:
    """An expired access token is python-quickbooks' AuthorizationException (401);
    intuit-oauth's `refresh()` goes to the token endpoint the emulator's discovery
    document names, and a client built on the new token reads the company."""
    auth = auth_client_for(served)
    client = quickbooks_for(served, auth)
    try:
        assert served.emulator.control.expire_tokens("access", realm_id=served.realm) >= 1
        with pytest.raises(AuthorizationException) as expired:
            Customer.all(max_results=1, qb=client)
        assert _code(expired.value) == 401

        old_access = auth.access_token
        auth.refresh()
        assert auth.access_token != old_access
        refreshed = quickbooks_for(served, auth)
        try:
            info = CompanyInfo.get(served.realm, qb=refreshed)
            assert info.CompanyName
        finally:
            refreshed.session.close()
    finally:
        client.session.close()
        auth.close()


def test_no_request_leaves_loopback(served: Served, client: QuickBooks) -> None:
    """Discovery, the data API and the requestid replay all went to the emulator."""
    request_id = str(uuid.uuid4())
    first = Customer()
    first.DisplayName = "Idempotent Customer"
    once = first.save(qb=client, request_id=request_id)
    again = Customer()
    again.DisplayName = "Idempotent Customer"
    twice = again.save(qb=client, request_id=request_id)
    assert once.Id == twice.Id  # QBO replays the first answer for a repeated requestid

    assert served.connected
    assert set(served.connected) == {"127.0.0.1"}
