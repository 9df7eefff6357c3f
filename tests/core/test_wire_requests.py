"""The request builders: URL shapes, parameters, headers and bodies for every QBO operation.

Each builder is a pure function of the config, the realm credentials and its arguments.
The tests read the built request back the way a server would (the URL through
`urllib.parse`, JSON through the exact-decimal parser, multipart through the standard
`email` parser) and check that no caller-supplied identifier can change which resource
is addressed, and that the access token never shows in a repr.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from qbo_core.config import QBOConfig
from qbo_core.dtos import RealmAuth
from qbo_core.entities import Customer, RawEntity
from qbo_core.http import HttpRequest
from qbo_core.results import BatchItem
from qbo_core.wire import requests as build
from qbo_core.wire.entities import decode_entity
from qbo_core.wire.jsonio import loads

CONFIG = QBOConfig(api_base_url="https://example.test")
AUTH = RealmAuth(realm_id="123", access_token="tok")
BASE = "/v3/company/123"


def parts(request: HttpRequest) -> tuple[str, str, list[tuple[str, str]]]:
    """The URL's origin, path and query parameters (decoded, in order)."""
    url = urlsplit(request.url)
    return (
        f"{url.scheme}://{url.netloc}",
        url.path,
        parse_qsl(url.query, keep_blank_values=True, strict_parsing=True),
    )


def params(request: HttpRequest) -> dict[str, str]:
    found = parts(request)[2]
    assert len({name for name, _ in found}) == len(found), "a parameter is repeated"
    return dict(found)


def body_json(request: HttpRequest) -> Any:
    return loads(request.body)


INVOICE = decode_entity(
    "Invoice",
    {
        "Line": [
            {
                "Amount": Decimal("100.00"),
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "1", "name": "Services"},
                    "UnitPrice": Decimal("33.333333333333333333"),
                    "Qty": Decimal("3.0000"),
                },
            }
        ],
        "CustomerRef": {"value": "1"},
    },
)
CUSTOMER = Customer(id="68", sync_token="0", display_name="Jack Moe")


#: Every builder, called with ordinary arguments: name → (request, method, path, params).
def every_request(
    config: QBOConfig = CONFIG, auth: RealmAuth = AUTH
) -> dict[str, tuple[HttpRequest, str, str, list[tuple[str, str]]]]:
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-7)))
    return {
        "read": (build.build_read(config, auth, "Customer", "5"), "GET", "/customer/5", []),
        "create": (
            build.build_create(config, auth, Customer(display_name="Doe5, Jane")),
            "POST",
            "/customer",
            [],
        ),
        "update": (build.build_update(config, auth, CUSTOMER), "POST", "/customer", []),
        "sparse_update": (
            build.build_sparse_update(config, auth, "Customer", "68", "0", {"Active": False}),
            "POST",
            "/customer",
            [],
        ),
        "delete": (
            build.build_delete(config, auth, "Invoice", "266", "0"),
            "POST",
            "/invoice",
            [("operation", "delete")],
        ),
        "void_invoice": (
            build.build_void(config, auth, "Invoice", "264", "0"),
            "POST",
            "/invoice",
            [("operation", "void")],
        ),
        "void_payment": (
            build.build_void(config, auth, "Payment", "7", "2"),
            "POST",
            "/payment",
            [("operation", "update"), ("include", "void")],
        ),
        "query": (
            build.build_query(config, auth, "SELECT * FROM Customer"),
            "POST",
            "/query",
            [],
        ),
        "cdc": (
            build.build_cdc(config, auth, ["Customer", "Estimate"], when),
            "GET",
            "/cdc",
            [("entities", "Customer,Estimate"), ("changedSince", "2025-01-02T03:04:05-07:00")],
        ),
        "batch": (
            build.build_batch(config, auth, [BatchItem.select("b1", "SELECT * FROM Item")]),
            "POST",
            "/batch",
            [],
        ),
        "company_info": (
            build.build_company_info(config, auth),
            "GET",
            f"/companyinfo/{auth.realm_id}",
            [],
        ),
        "preferences": (build.build_preferences(config, auth), "GET", "/preferences", []),
        "report": (
            build.build_report(config, auth, "ProfitAndLoss", {"start_date": date(2015, 1, 1)}),
            "GET",
            "/reports/ProfitAndLoss",
            [("start_date", "2015-01-01")],
        ),
        "download_url": (
            build.build_download_url(config, auth, "5000000000000503624"),
            "GET",
            "/download/5000000000000503624",
            [],
        ),
        "pdf": (build.build_pdf(config, auth, "Invoice", "130"), "GET", "/invoice/130/pdf", []),
        "upload": (
            build.build_upload(
                config, auth, [({"FileName": "a.txt", "ContentType": "text/plain"}, b"hi")]
            ),
            "POST",
            "/upload",
            [],
        ),
    }


OPERATIONS = sorted(every_request())


# --------------------------------------------------------------------- URL shapes


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_operation_has_its_url_shape(operation: str) -> None:
    """Each builder addresses `{base}/v3/company/{realm}/...` with its method and parameters."""
    request, method, path, expected = every_request()[operation]
    origin, found_path, found = parts(request)
    assert request.method == method
    assert origin == "https://example.test"
    assert found_path == BASE + path
    assert found == [*expected, ("minorversion", "75")]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_minorversion_follows_the_config(operation: str) -> None:
    """Every request carries the configured `minorversion`, once."""
    config = QBOConfig(api_base_url="https://example.test", minor_version=80)
    request = every_request(config)[operation][0]
    assert [value for name, value in parts(request)[2] if name == "minorversion"] == ["80"]


def test_company_info_names_the_realm_twice() -> None:
    """`GET /companyinfo/{realm}` sits under the same realm: the id appears twice."""
    auth = RealmAuth(realm_id="4620816365037572746", access_token="tok")
    request = build.build_company_info(CONFIG, auth)
    path = parts(request)[1]
    assert path == "/v3/company/4620816365037572746/companyinfo/4620816365037572746"


def test_base_url_override_and_default() -> None:
    """The configured base URL is used without doubled slashes; unset, the sandbox host is."""
    with_slash = QBOConfig(api_base_url="https://example.test/qbo/")
    request = build.build_read(with_slash, AUTH, "Customer", "5")
    assert request.url.startswith("https://example.test/qbo/v3/company/123/customer/5?")
    default = build.build_read(QBOConfig(), AUTH, "Customer", "5")
    assert default.url.startswith("https://sandbox-quickbooks.api.intuit.com/v3/company/123/")
    production = build.build_read(QBOConfig(environment="production"), AUTH, "Customer", "5")
    assert production.url.startswith("https://quickbooks.api.intuit.com/v3/company/123/")


def test_entity_types_are_lower_cased_in_paths() -> None:
    """Entity names become QBO's lower-case path segments."""
    request = build.build_read(CONFIG, AUTH, "SalesReceipt", "17")
    assert parts(request)[1] == f"{BASE}/salesreceipt/17"
    request = build.build_pdf(CONFIG, AUTH, "SalesReceipt", "17")
    assert parts(request)[1] == f"{BASE}/salesreceipt/17/pdf"


# --------------------------------------------------------------------- requestid


WRITES: dict[str, Callable[[str | None], HttpRequest]] = {
    "create": lambda rid: build.build_create(CONFIG, AUTH, CUSTOMER, request_id=rid),
    "update": lambda rid: build.build_update(CONFIG, AUTH, CUSTOMER, request_id=rid),
    "sparse_update": lambda rid: build.build_sparse_update(
        CONFIG, AUTH, "Customer", "68", "0", {"Notes": "x"}, request_id=rid
    ),
    "delete": lambda rid: build.build_delete(CONFIG, AUTH, "Invoice", "1", "0", request_id=rid),
    "void": lambda rid: build.build_void(CONFIG, AUTH, "Invoice", "1", "0", request_id=rid),
    "upload": lambda rid: build.build_upload(
        CONFIG, AUTH, [({"FileName": "a", "ContentType": "text/plain"}, b"x")], request_id=rid
    ),
}


@pytest.mark.parametrize("operation", sorted(WRITES))
def test_requestid_is_a_query_parameter_of_writes(operation: str) -> None:
    """A write's `requestid` is a query parameter before `minorversion`; absent if not given."""
    rid = "a90bfae9-9c6b-4179-9c7e-d8f538d09f6f"
    found = parts(WRITES[operation](rid))[2]
    assert found[-2:] == [("requestid", rid), ("minorversion", "75")]
    assert "requestid" not in params(WRITES[operation](None))
    assert "requestid" not in WRITES[operation](rid).body.decode("latin-1")


@pytest.mark.parametrize("operation", sorted(WRITES))
def test_requestid_is_at_most_50_characters(operation: str) -> None:
    """QBO allows requestids of at most 50 characters."""
    assert params(WRITES[operation]("r" * 50))["requestid"] == "r" * 50
    with pytest.raises(ValueError, match="50"):
        WRITES[operation]("r" * 51)


@pytest.mark.parametrize("rid", ["", "a b", "a&b=c", "a/b", "caf\u00e9", "a\nb", "a#b", "a?b"])
def test_requestid_with_unsafe_characters_is_refused(rid: str) -> None:
    """A requestid that is empty or holds characters outside `[A-Za-z0-9._:-]` is refused."""
    for operation in WRITES.values():
        with pytest.raises(ValueError, match="requestid"):
            operation(rid)


def test_batch_requestid_is_at_most_36_characters() -> None:
    """A batch's requestid is limited to 36 characters."""
    items = [BatchItem.select("b1", "SELECT * FROM Item")]
    request = build.build_batch(CONFIG, AUTH, items, request_id="x" * 36)
    assert params(request)["requestid"] == "x" * 36
    with pytest.raises(ValueError, match="36"):
        build.build_batch(CONFIG, AUTH, items, request_id="x" * 37)


def test_bids_are_at_most_10_characters_with_a_requestid() -> None:
    """With a requestid, QBO allows bIds of at most 10 characters; without, 36."""
    long_bid = [BatchItem.select("b" * 11, "SELECT * FROM Item")]
    with pytest.raises(ValueError, match="10"):
        build.build_batch(CONFIG, AUTH, long_bid, request_id="r1")
    build.build_batch(CONFIG, AUTH, long_bid)
    ten = [BatchItem.select("b" * 10, "SELECT * FROM Item")]
    assert params(build.build_batch(CONFIG, AUTH, ten, request_id="r1"))["requestid"] == "r1"
    build.build_batch(CONFIG, AUTH, [BatchItem.select("b" * 36, "SELECT 1")])
    with pytest.raises(ValueError, match="bId"):
        build.build_batch(CONFIG, AUTH, [BatchItem.select("b" * 37, "SELECT 1")])


# --------------------------------------------------------------------- write bodies


def test_create_posts_the_encoded_entity() -> None:
    """Create posts the entity as QBO JSON."""
    request = build.build_create(CONFIG, AUTH, Customer(display_name="Doe5, Jane"))
    assert body_json(request) == {"DisplayName": "Doe5, Jane"}


def test_full_update_needs_id_and_synctoken_and_drops_a_false_sparse() -> None:
    """A full update sends Id and SyncToken, no `sparse: false`, and refuses an entity
    without them."""
    entity = Customer(id="68", sync_token="0", display_name="Jack Moe", sparse=False)
    assert body_json(build.build_update(CONFIG, AUTH, entity)) == {
        "Id": "68",
        "SyncToken": "0",
        "DisplayName": "Jack Moe",
    }
    for incomplete in (Customer(sync_token="0"), Customer(id="68")):
        with pytest.raises(ValueError, match="Id and SyncToken"):
            build.build_update(CONFIG, AUTH, incomplete)


def test_update_of_an_entity_qbo_returned_sparse_stays_sparse() -> None:
    """An entity read through a projection (`sparse: true`) is written back sparse, so the
    fields the projection left out are kept, not cleared."""
    entity = Customer(id="68", sync_token="0", display_name="Jack Moe", sparse=True)
    assert body_json(build.build_update(CONFIG, AUTH, entity)) == {
        "Id": "68",
        "SyncToken": "0",
        "DisplayName": "Jack Moe",
        "sparse": True,
    }


def test_sparse_update_sends_only_the_changes() -> None:
    """A sparse update sends the changes, Id, SyncToken and `sparse: true`."""
    changes = {"PrimaryPhone": {"FreeFormNumber": "(415) 444-1234"}, "Balance": Decimal("1.10")}
    request = build.build_sparse_update(CONFIG, AUTH, "Customer", "68", "0", changes)
    assert body_json(request) == {**changes, "Id": "68", "SyncToken": "0", "sparse": True}
    assert b'"Balance":1.10' in request.body


@pytest.mark.parametrize("key", ["Id", "SyncToken", "sparse"])
def test_sparse_update_refuses_reserved_keys_in_changes(key: str) -> None:
    """Id, SyncToken and sparse are arguments, not changes."""
    with pytest.raises(ValueError, match=key):
        build.build_sparse_update(CONFIG, AUTH, "Customer", "68", "0", {key: "9"})


def test_delete_posts_id_and_synctoken() -> None:
    """Delete is `?operation=delete` with exactly `{"Id","SyncToken"}`."""
    request = build.build_delete(CONFIG, AUTH, "Invoice", "266", "0")
    assert body_json(request) == {"Id": "266", "SyncToken": "0"}


@pytest.mark.parametrize("entity_type", ["Invoice", "Bill", "Estimate"])
def test_invoice_style_void_is_an_operation(entity_type: str) -> None:
    """Invoices (and the rest) are voided with `?operation=void` and `{"Id","SyncToken"}`."""
    request = build.build_void(CONFIG, AUTH, entity_type, "264", "0")
    assert parts(request)[2] == [("operation", "void"), ("minorversion", "75")]
    assert body_json(request) == {"Id": "264", "SyncToken": "0"}


@pytest.mark.parametrize("entity_type", ["Payment", "SalesReceipt", "BillPayment"])
def test_payment_style_void_is_a_sparse_update(entity_type: str) -> None:
    """Payment, SalesReceipt and BillPayment are voided by a sparse update with `include=void`."""
    request = build.build_void(CONFIG, AUTH, entity_type, "7", "2")
    assert parts(request)[1] == f"{BASE}/{entity_type.lower()}"
    assert parts(request)[2] == [
        ("operation", "update"),
        ("include", "void"),
        ("minorversion", "75"),
    ]
    assert body_json(request) == {"Id": "7", "SyncToken": "2", "sparse": True}


def test_decimals_are_written_with_their_exact_digits() -> None:
    """Money and quantities are written as the exact decimal digits, never through a float."""
    request = build.build_create(CONFIG, AUTH, INVOICE)
    assert b'"Amount":100.00' in request.body
    assert b'"UnitPrice":33.333333333333333333' in request.body
    assert b'"Qty":3.0000' in request.body
    detail = body_json(request)["Line"][0]["SalesItemLineDetail"]
    assert str(detail["UnitPrice"]) == "33.333333333333333333"
    assert json.loads(request.body)["Line"][0]["Amount"] == 100  # valid for any JSON parser


def test_raw_entities_are_posted_as_they_are() -> None:
    """An entity without a typed class is posted as its JSON, to its own path."""
    estimate = RawEntity(entity_type="Estimate", data={"TotalAmt": Decimal("5.50"), "X": [1]})
    request = build.build_create(CONFIG, AUTH, estimate)
    assert parts(request)[1] == f"{BASE}/estimate"
    assert request.body == b'{"TotalAmt":5.50,"X":[1]}'


# --------------------------------------------------------------------- query, CDC, reports


def test_query_is_posted_as_application_text() -> None:
    """A query is a POST whose body is the statement itself, as application/text UTF-8."""
    statement = "SELECT * FROM Customer WHERE DisplayName = 'Caf\u00e9 & Co' MAXRESULTS 1000"
    request = build.build_query(CONFIG, AUTH, statement)
    assert request.method == "POST"
    assert request.headers.get("Content-Type") == "application/text"
    assert request.body == statement.encode("utf-8")
    assert params(request) == {"minorversion": "75"}


@pytest.mark.parametrize("statement", ["", "   ", "\n\t"])
def test_empty_query_is_refused(statement: str) -> None:
    """An empty statement is refused before it is sent."""
    with pytest.raises(ValueError, match="empty"):
        build.build_query(CONFIG, AUTH, statement)


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        (date(2015, 11, 28), "2015-11-28"),
        (
            datetime(2011, 10, 10, 9, 0, tzinfo=timezone(timedelta(hours=-7))),
            "2011-10-10T09:00:00-07:00",
        ),
        (
            datetime(2025, 1, 2, 3, 4, 5, 678, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            "2025-01-02T03:04:05+05:30",
        ),
        (datetime(2025, 1, 2, tzinfo=UTC), "2025-01-02T00:00:00+00:00"),
    ],
)
def test_cdc_changed_since_is_iso_with_its_offset(since: date, expected: str) -> None:
    """`changedSince` is a date or an aware datetime to the second; a `+` offset survives."""
    request = build.build_cdc(CONFIG, AUTH, ["Customer"], since)
    assert params(request)["changedSince"] == expected
    assert "+" not in urlsplit(request.url).query  # a bare "+" would be read as a space


def test_cdc_refuses_naive_datetimes_and_odd_entity_lists() -> None:
    """A naive datetime, an empty list, a bare string or a hostile name is refused."""
    with pytest.raises(ValueError, match="timezone"):
        build.build_cdc(CONFIG, AUTH, ["Customer"], datetime(2025, 1, 2))
    for entity_types in ([], "Customer", ["Customer", "Invoice&x=1"], ["Customer,Invoice"]):
        with pytest.raises(ValueError, match="entity"):
            build.build_cdc(CONFIG, AUTH, entity_types, date(2025, 1, 2))


def test_report_parameters_are_written_as_qbo_reads_them() -> None:
    """Dates as YYYY-MM-DD, lists comma-joined, booleans lower-case, `None` left out."""
    request = build.build_report(
        CONFIG,
        AUTH,
        "ProfitAndLoss",
        {
            "start_date": date(2015, 1, 1),
            "end_date": datetime(2015, 7, 31, 23, 59, tzinfo=UTC),
            "customer": ["1", "2", 3],
            "summarize_column_by": "Customers",
            "adjusted_gain_loss": True,
            "columns": ("tx_date", "subt_nat_amount"),
            "sort_order": None,
            "minimal": False,
            "memo": "A&B=C #1",
        },
    )
    assert parts(request)[1] == f"{BASE}/reports/ProfitAndLoss"
    assert parts(request)[2] == [
        ("start_date", "2015-01-01"),
        ("end_date", "2015-07-31"),
        ("customer", "1,2,3"),
        ("summarize_column_by", "Customers"),
        ("adjusted_gain_loss", "true"),
        ("columns", "tx_date,subt_nat_amount"),
        ("minimal", "false"),
        ("memo", "A&B=C #1"),
        ("minorversion", "75"),
    ]


@pytest.mark.parametrize("name", ["Start Date", "start-date", "a&b", "StartDate", "", "x=y"])
def test_report_parameter_names_are_checked(name: str) -> None:
    """Report parameter names are lower-case identifiers; anything else is refused."""
    with pytest.raises(ValueError, match="parameter"):
        build.build_report(CONFIG, AUTH, "ProfitAndLoss", {name: "1"})


@pytest.mark.parametrize("name", ["ProfitAndLoss/../x", "Profit And Loss", "", "P&L", "1099"])
def test_report_names_are_checked(name: str) -> None:
    """A report name that is not a plain identifier is refused."""
    with pytest.raises(ValueError, match="report name"):
        build.build_report(CONFIG, AUTH, name)


# --------------------------------------------------------------------- headers


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_request_carries_bearer_accept_and_user_agent(operation: str) -> None:
    """Each request has the bearer token, an Accept and our User-Agent, and the total timeout."""
    config = QBOConfig(api_base_url="https://example.test", user_agent="host-app/2.0")
    request = every_request(config)[operation][0]
    assert request.headers.get_all("Authorization") == ["Bearer tok"]
    assert request.headers.get_all("User-Agent") == ["host-app/2.0"]
    assert len(request.headers.get_all("Accept")) == 1
    assert request.timeout == config.total_timeout


@pytest.mark.parametrize(
    ("operation", "accept", "content_type"),
    [
        ("read", "application/json", None),
        ("company_info", "application/json", None),
        ("cdc", "application/json", None),
        ("report", "application/json", None),
        ("create", "application/json", "application/json"),
        ("update", "application/json", "application/json"),
        ("delete", "application/json", "application/json"),
        ("void_payment", "application/json", "application/json"),
        ("batch", "application/json", "application/json"),
        ("query", "application/json", "application/text"),
        ("pdf", "application/pdf", None),
        ("download_url", "text/plain", None),
    ],
)
def test_accept_and_content_type_fit_the_operation(
    operation: str, accept: str, content_type: str | None
) -> None:
    """JSON by default, a PDF for `/pdf`, text for download URLs; a body type only on POSTs."""
    request = every_request()[operation][0]
    assert request.headers.get("Accept") == accept
    assert request.headers.get("Content-Type") == content_type
    assert bool(request.body) == (content_type is not None)


# --------------------------------------------------------------------- hostile identifiers


HOSTILE_IDS = [
    "1/../2",
    "1?x=y",
    "Customer/1",
    "",
    "\u0661\u0662\u0663",  # Arabic-Indic digits: str.isdigit() says yes, QBO says no
    "\uff11",  # a full-width 1
    "\u00b2",  # a superscript 2
    "1 ",
    "1\n",
    "-1",
    "1.5",
    "%31",
    "1#x",
    "1;2",
]
HOSTILE_TYPES = [
    "Customer/1",
    "customer?x=y",
    "",
    "../invoice",
    "1Customer",
    "Cust omer",
    "\uff23ustomer",  # a full-width C
    "Customer\n",
    "Invoice#",
]


@pytest.mark.parametrize("entity_id", HOSTILE_IDS)
def test_hostile_ids_are_refused(entity_id: str) -> None:
    """An id that is not plain ASCII digits never reaches a URL or a body."""
    attempts: list[Callable[[], object]] = [
        lambda: build.build_read(CONFIG, AUTH, "Customer", entity_id),
        lambda: build.build_pdf(CONFIG, AUTH, "Invoice", entity_id),
        lambda: build.build_delete(CONFIG, AUTH, "Invoice", entity_id, "0"),
        lambda: build.build_void(CONFIG, AUTH, "Invoice", entity_id, "0"),
        lambda: build.build_void(CONFIG, AUTH, "Payment", entity_id, "0"),
        lambda: build.build_sparse_update(CONFIG, AUTH, "Customer", entity_id, "0", {}),
        lambda: build.build_download_url(CONFIG, AUTH, entity_id),
    ]
    for attempt in attempts:
        with pytest.raises(ValueError, match="id"):
            attempt()


@pytest.mark.parametrize("entity_type", HOSTILE_TYPES)
def test_hostile_entity_types_are_refused(entity_type: str) -> None:
    """An entity type that is not a plain identifier never reaches a URL or a body."""
    attempts: list[Callable[[], object]] = [
        lambda: build.build_read(CONFIG, AUTH, entity_type, "1"),
        lambda: build.build_pdf(CONFIG, AUTH, entity_type, "1"),
        lambda: build.build_delete(CONFIG, AUTH, entity_type, "1", "0"),
        lambda: build.build_void(CONFIG, AUTH, entity_type, "1", "0"),
        lambda: build.build_sparse_update(CONFIG, AUTH, entity_type, "1", "0", {}),
        lambda: build.build_create(CONFIG, AUTH, RawEntity(entity_type=entity_type, data={})),
        lambda: build.build_batch(CONFIG, AUTH, [BatchItem.delete("b1", entity_type, "1", "0")]),
    ]
    for attempt in attempts:
        with pytest.raises(ValueError, match="entity type"):
            attempt()


@pytest.mark.parametrize(
    "realm_id", ["", "12a", "1/2", "1 2", "\u0661\u0662\u0663", "\u00b2", "1" * 33]
)
def test_hostile_realm_ids_are_refused(realm_id: str) -> None:
    """A realm id that is not 1-32 ASCII digits cannot be used to build any URL."""
    with pytest.raises(ValueError, match="realm_id"):
        RealmAuth(realm_id=realm_id, access_token="tok")


def test_an_empty_access_token_is_refused() -> None:
    """Realm credentials need a token."""
    with pytest.raises(ValueError, match="access_token"):
        RealmAuth(realm_id="1", access_token="")


# --------------------------------------------------------------------- batch


def test_batch_body_holds_each_operation_in_qbo_form() -> None:
    """Create, update, delete, void and query items are written as QBO's batch items."""
    items = [
        BatchItem.create("bid1", Customer(display_name="Boraski Family Store")),
        BatchItem.delete("bid2", "Invoice", "129", "0"),
        BatchItem.sparse_update(
            "bid3", "SalesReceipt", "11", "0", {"PrivateNote": "A private note."}
        ),
        BatchItem.select("bid4", "select * from SalesReceipt where TotalAmt > '300.00'"),
        BatchItem.void("bid5", "Invoice", "264", "1"),
        BatchItem.update("bid6", CUSTOMER),
        BatchItem.create("bid7", INVOICE),
    ]
    request = build.build_batch(CONFIG, AUTH, items, request_id="batch-1")
    assert request.headers.get("Content-Type") == "application/json"
    entries = body_json(request)["BatchItemRequest"]
    assert entries[:6] == [
        {"bId": "bid1", "operation": "create", "Customer": {"DisplayName": "Boraski Family Store"}},
        {"bId": "bid2", "operation": "delete", "Invoice": {"Id": "129", "SyncToken": "0"}},
        {
            "bId": "bid3",
            "operation": "update",
            "SalesReceipt": {
                "PrivateNote": "A private note.",
                "Id": "11",
                "SyncToken": "0",
                "sparse": True,
            },
        },
        {"bId": "bid4", "Query": "select * from SalesReceipt where TotalAmt > '300.00'"},
        {
            "bId": "bid5",
            "operation": "update",
            "optionsData": "void",
            "Invoice": {"Id": "264", "SyncToken": "1", "sparse": True},
        },
        {
            "bId": "bid6",
            "operation": "update",
            "Customer": {"Id": "68", "SyncToken": "0", "DisplayName": "Jack Moe"},
        },
    ]
    assert b'"Amount":100.00' in request.body
    assert "operation" not in entries[3]


@pytest.mark.parametrize("count", [0, 31, 100])
def test_batch_size_limits(count: int) -> None:
    """A batch holds 1 to 30 items by default; 0 or more than 30 is refused."""
    items = [BatchItem.select(f"b{i}", "SELECT * FROM Item") for i in range(count)]
    with pytest.raises(ValueError, match=r"at least one|at most 30"):
        build.build_batch(CONFIG, AUTH, items)


def test_thirty_items_fit_and_the_limit_follows_the_config() -> None:
    """Exactly 30 items fit; a lower configured limit is enforced."""
    items = [BatchItem.select(f"b{i}", "SELECT * FROM Item") for i in range(30)]
    assert len(body_json(build.build_batch(CONFIG, AUTH, items))["BatchItemRequest"]) == 30
    small = QBOConfig(api_base_url="https://example.test", batch_max_items=5)
    build.build_batch(small, AUTH, items[:5])
    with pytest.raises(ValueError, match="at most 5"):
        build.build_batch(small, AUTH, items[:6])


def test_duplicate_bids_are_refused() -> None:
    """Every bId of a batch must be unique."""
    items = [BatchItem.select("same", "SELECT 1"), BatchItem.select("same", "SELECT 2")]
    with pytest.raises(ValueError, match="duplicate"):
        build.build_batch(CONFIG, AUTH, items)


@pytest.mark.parametrize("bid", ["", "a b", "a/b", "caf\u00e9", "a\n"])
def test_odd_bids_are_refused(bid: str) -> None:
    """bIds are 1-36 letters, digits or `._:-`."""
    with pytest.raises(ValueError, match="bId"):
        build.build_batch(CONFIG, AUTH, [BatchItem.select(bid, "SELECT 1")])


def test_batch_items_need_their_payload() -> None:
    """A query item needs a statement and an entity item its entity."""
    with pytest.raises(ValueError, match="statement"):
        build.build_batch(CONFIG, AUTH, [BatchItem.select("b1", "")])
    with pytest.raises(ValueError, match="needs an entity"):
        build.build_batch(CONFIG, AUTH, [BatchItem(bid="b1", operation="create")])


# --------------------------------------------------------------------- upload


def parse_multipart(request: HttpRequest) -> list[Message]:
    """The parts of a multipart request, as the standard library's `email` parser reads them."""
    content_type = request.headers.get("Content-Type")
    assert content_type is not None
    assert content_type.startswith("multipart/form-data; boundary=")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body
    )
    assert message.is_multipart()
    assert not message.defects
    payload = message.get_payload()
    assert isinstance(payload, list)
    found = [part for part in payload if isinstance(part, Message)]
    assert len(found) == len(payload)
    return found


def content_of(part: Message) -> bytes:
    """A part's body bytes, transfer decoding undone."""
    content = part.get_payload(decode=True)
    assert isinstance(content, bytes)
    return content


def test_upload_parts_parse_back_intact() -> None:
    """Each file becomes a metadata part and a content part whose bytes arrive intact."""
    binary = bytes(range(256)) * 3 + b"\r\n--not-a-boundary\r\n\r\n"
    text = b"line one\nline two\r\n"
    metadata_1 = {
        "FileName": "receipt.bin",
        "ContentType": "application/octet-stream",
        "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": "95"}}],
        "Note": "Amount 12.50",
        "Size": Decimal("787"),
    }
    metadata_2 = {"FileName": "notes.txt", "ContentType": "text/plain"}
    request = build.build_upload(
        CONFIG, AUTH, [(metadata_1, binary), (metadata_2, text)], request_id="up-1"
    )
    assert params(request) == {"requestid": "up-1", "minorversion": "75"}
    found = parse_multipart(request)
    assert [part.get_param("name", header="content-disposition") for part in found] == [
        "file_metadata_01",
        "file_content_01",
        "file_metadata_02",
        "file_content_02",
    ]
    assert [part.get_filename() for part in found] == [
        "attachment_01.json",
        "receipt.bin",
        "attachment_02.json",
        "notes.txt",
    ]
    assert [part.get_content_type() for part in found] == [
        "application/json",
        "application/octet-stream",
        "application/json",
        "text/plain",
    ]
    contents = [content_of(part) for part in found]
    assert loads(contents[0]) == metadata_1
    assert contents[1] == binary
    assert loads(contents[2]) == metadata_2
    assert contents[3] == text


@pytest.mark.parametrize(
    "name",
    [
        'evil"; name="file_content_99"\r\nX-Injected: yes.txt',
        "ends in a backslash\\",
        'quote\\"; x=".txt',
    ],
)
def test_upload_file_names_cannot_inject_headers(name: str) -> None:
    """Quotes, backslashes and line breaks in a file name stay inside the filename."""
    files = [({"FileName": name, "ContentType": "text/plain"}, b"x")]
    content = parse_multipart(build.build_upload(CONFIG, AUTH, files))[1]
    assert content.get_param("name", header="content-disposition") == "file_content_01"
    assert content["X-Injected"] is None
    assert content.get_filename() == name.replace("\r", " ").replace("\n", " ")
    assert content_of(content) == b"x"


def test_upload_refuses_what_it_cannot_send() -> None:
    """No files, a missing FileName or ContentType, or the boundary inside a file is refused."""
    with pytest.raises(ValueError, match="at least one file"):
        build.build_upload(CONFIG, AUTH, [])
    with pytest.raises(ValueError, match="FileName"):
        build.build_upload(CONFIG, AUTH, [({"ContentType": "text/plain"}, b"x")])
    with pytest.raises(ValueError, match="ContentType"):
        build.build_upload(CONFIG, AUTH, [({"FileName": "a", "ContentType": "plain"}, b"x")])
    with pytest.raises(ValueError, match="boundary"):
        build.build_upload(
            CONFIG,
            AUTH,
            [({"FileName": "a", "ContentType": "text/plain"}, b"x--fixed-boundary-x")],
            boundary="fixed-boundary",
        )


def test_upload_boundaries_are_fresh() -> None:
    """Without a chosen boundary, each upload gets a new random one."""
    files = [({"FileName": "a", "ContentType": "text/plain"}, b"x")]
    first = build.build_upload(CONFIG, AUTH, files).headers.get("Content-Type")
    second = build.build_upload(CONFIG, AUTH, files).headers.get("Content-Type")
    assert first != second


# --------------------------------------------------------------------- secrets


def test_no_request_repr_shows_the_token() -> None:
    """Neither a request's repr, its headers' repr nor the credentials' repr holds the token."""
    token = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..s3cr3t-access-token-value"
    auth = RealmAuth(realm_id="123", access_token=token)
    assert token not in repr(auth)
    for operation, (request, *_) in every_request(CONFIG, auth).items():
        assert request.headers.get("Authorization") == f"Bearer {token}", operation
        for shown in (repr(request), str(request), repr(request.headers), request.url):
            assert token not in shown, operation
            assert "s3cr3t" not in shown, operation


@pytest.mark.parametrize("token", ["abc\r\nX-Injected: 1", "has space", "", "tab\there", "é"])
def test_tokens_that_could_break_the_authorization_header_are_refused(token: str) -> None:
    """An access token with control characters, spaces or non-ASCII never reaches a header."""
    with pytest.raises(ValueError, match="access_token"):
        RealmAuth(realm_id="123", access_token=token)


# --------------------------------------------------------------------- exact wire forms


@pytest.mark.parametrize(
    ("operation", "content_type", "accept"),
    [
        ("read", None, "application/json"),
        ("create", "application/json", "application/json"),
        ("query", "application/text", "application/json"),
        ("pdf", None, "application/pdf"),
        ("download_url", None, "text/plain"),
        ("upload", "multipart/form-data; boundary=b-1", "application/json"),
    ],
)
def test_headers_are_sent_exactly_in_this_form(
    operation: str, content_type: str | None, accept: str
) -> None:
    """Authorization, Accept, User-Agent, then Content-Type on a body: names as spelt here."""
    requests = {
        **{name: request for name, (request, *_) in every_request().items()},
        "upload": build.build_upload(
            CONFIG, AUTH, [({"FileName": "a", "ContentType": "text/plain"}, b"x")], boundary="b-1"
        ),
    }
    expected = [
        ("Authorization", "Bearer tok"),
        ("Accept", accept),
        ("User-Agent", CONFIG.user_agent),
    ]
    if content_type is not None:
        expected.append(("Content-Type", content_type))
    assert list(requests[operation].headers) == expected


def test_query_values_are_percent_encoded_with_20_for_a_space() -> None:
    """Parameter values are percent-encoded (`%20` for a space, `%2C` and `%2F` too)."""
    request = build.build_report(
        CONFIG, AUTH, "ProfitAndLoss", {"summarize_column_by": "Total Only", "x": "a/b,c"}
    )
    assert request.url == (
        "https://example.test/v3/company/123/reports/ProfitAndLoss"
        "?summarize_column_by=Total%20Only&x=a%2Fb%2Cc&minorversion=75"
    )


def test_an_upload_body_is_exactly_this_multipart_form() -> None:
    """Parts are separated by `--boundary` lines, each a Content-Disposition and Content-Type
    header, an empty line and the content, with CRLF line ends; `--boundary--` and a CRLF
    close it."""
    request = build.build_upload(
        CONFIG,
        AUTH,
        [({"FileName": "a.txt", "ContentType": "text/plain"}, b"hi")],
        boundary="b-1",
    )
    assert request.body == (
        b"--b-1\r\n"
        b'Content-Disposition: form-data; name="file_metadata_01"; '
        b'filename="attachment_01.json"\r\n'
        b"Content-Type: application/json\r\n"
        b"\r\n"
        b'{"FileName":"a.txt","ContentType":"text/plain"}\r\n'
        b"--b-1\r\n"
        b'Content-Disposition: form-data; name="file_content_01"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n"
        b"\r\n"
        b"hi\r\n"
        b"--b-1--\r\n"
    )


def test_a_fresh_boundary_is_ours_with_32_hex_digits() -> None:
    """An upload without a chosen boundary gets `qbo-infra-` and 32 random hex digits (42
    characters, inside the 70 that RFC 2046 allows)."""
    request = build.build_upload(CONFIG, AUTH, [({"FileName": "a", "ContentType": "t/p"}, b"x")])
    content_type = request.headers.get("Content-Type")
    assert content_type is not None
    assert re.fullmatch(r"multipart/form-data; boundary=qbo-infra-[0-9a-f]{32}", content_type)


@pytest.mark.parametrize("name", [7, "", None, b"a.txt"])
def test_an_upload_file_name_must_be_text(name: object) -> None:
    """A FileName that is missing, empty or not a string is refused, naming the file."""
    files: list[tuple[dict[str, object], bytes]] = [
        ({"FileName": "ok", "ContentType": "text/plain"}, b"x"),
        ({"FileName": name, "ContentType": "text/plain"}, b"y"),
    ]
    with pytest.raises(ValueError, match=r"^file 2: the Attachable metadata needs a FileName$"):
        build.build_upload(CONFIG, AUTH, files)


@pytest.mark.parametrize("content_type", [None, "plain", 5])
def test_an_upload_content_type_must_be_a_media_type(content_type: object) -> None:
    """A ContentType that is missing, not text or without a `/` is refused, naming the file."""
    files = [({"FileName": "a", "ContentType": content_type}, b"x")]
    with pytest.raises(ValueError, match=r"^file 1: the Attachable metadata needs a ContentType$"):
        build.build_upload(CONFIG, AUTH, files)


def _refusal(attempt: Callable[[], object]) -> str:
    with pytest.raises(ValueError) as caught:  # noqa: PT011 - the message is compared below
        attempt()
    return str(caught.value)


def test_refusals_name_what_is_wrong_and_quote_it() -> None:
    """Each refused identifier is named (`invalid id`, `invalid entity type`...) and quoted."""
    item = BatchItem.select
    expected: dict[str, Callable[[], object]] = {
        "invalid id: '1/2'": lambda: build.build_read(CONFIG, AUTH, "Customer", "1/2"),
        "invalid id: '1/3'": lambda: build.build_pdf(CONFIG, AUTH, "Invoice", "1/3"),
        "invalid id: '1/4'": lambda: build.build_delete(CONFIG, AUTH, "Invoice", "1/4", "0"),
        "invalid id: '1/5'": lambda: build.build_void(CONFIG, AUTH, "Invoice", "1/5", "0"),
        "invalid id: '1/6'": lambda: build.build_sparse_update(
            CONFIG, AUTH, "Customer", "1/6", "0", {}
        ),
        "invalid attachable id: '1/7'": lambda: build.build_download_url(CONFIG, AUTH, "1/7"),
        "invalid entity type: 'a/b'": lambda: build.build_read(CONFIG, AUTH, "a/b", "1"),
        "invalid entity type: 'c/d'": lambda: build.build_cdc(CONFIG, AUTH, ["c/d"], date.today()),
        "invalid entity type: 'e/f'": lambda: build.build_batch(
            CONFIG, AUTH, [BatchItem.delete("b1", "e/f", "1", "0")]
        ),
        "invalid report name: 'P&L'": lambda: build.build_report(CONFIG, AUTH, "P&L"),
        "invalid report parameter name: 'A'": lambda: build.build_report(
            CONFIG, AUTH, "ProfitAndLoss", {"A": 1}
        ),
        "invalid requestid (letters, digits and ._:- only): 'a b'": lambda: build.build_create(
            CONFIG, AUTH, CUSTOMER, request_id="a b"
        ),
        "requestid is 51 characters; QBO allows at most 50": lambda: build.build_create(
            CONFIG, AUTH, CUSTOMER, request_id="r" * 51
        ),
        "invalid bId (1-36 letters, digits or ._:-): 'a b'": lambda: build.build_batch(
            CONFIG, AUTH, [item("a b", "SELECT 1")]
        ),
        "with a requestid, QBO allows bIds of at most 10 characters": lambda: build.build_batch(
            CONFIG, AUTH, [item("b" * 11, "SELECT 1")], request_id="r"
        ),
        "duplicate bId 'b1'": lambda: build.build_batch(
            CONFIG, AUTH, [item("b1", "SELECT 1"), item("b1", "SELECT 2")]
        ),
        "a batch needs at least one item": lambda: build.build_batch(CONFIG, AUTH, []),
        "a batch holds at most 30 items; got 31 (split it)": lambda: build.build_batch(
            CONFIG, AUTH, [item(f"b{i}", "SELECT 1") for i in range(31)]
        ),
        "batch item 'b1': a query item needs a statement": lambda: build.build_batch(
            CONFIG, AUTH, [item("b1", "")]
        ),
        "batch item 'b2': delete needs an entity": lambda: build.build_batch(
            CONFIG, AUTH, [BatchItem(bid="b2", operation="delete", entity_type="Invoice")]
        ),
        "batch item 'b3': update needs an entity": lambda: build.build_batch(
            CONFIG, AUTH, [BatchItem(bid="b3", operation="update", payload={"Id": "1"})]
        ),
        "entity_types must be a non-empty sequence of entity names": lambda: build.build_cdc(
            CONFIG, AUTH, [], date.today()
        ),
        "the query statement is empty": lambda: build.build_query(CONFIG, AUTH, " \n"),
        "a full update needs the entity's Id and SyncToken": lambda: build.build_update(
            CONFIG, AUTH, Customer(id="1")
        ),
        "changes must not set ['Id', 'sparse']; pass them as arguments": lambda: (
            build.build_sparse_update(CONFIG, AUTH, "Customer", "1", "0", {"sparse": 1, "Id": 2})
        ),
        "an upload needs at least one file": lambda: build.build_upload(CONFIG, AUTH, []),
        "the multipart boundary occurs in the file content; pick another": lambda: (
            build.build_upload(
                CONFIG, AUTH, [({"FileName": "a", "ContentType": "t/p"}, b"-b-")], boundary="b"
            )
        ),
    }
    assert {_refusal(attempt): message for message, attempt in expected.items()} == {
        message: message for message in expected
    }


class _NoOffset(tzinfo):
    """A time zone that does not know its offset: `utcoffset` is `None`."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None


@pytest.mark.parametrize("when", [datetime(2025, 1, 2), datetime(2025, 1, 2, tzinfo=_NoOffset())])
def test_cdc_refuses_a_time_without_an_offset(when: datetime) -> None:
    """A naive time, or one whose time zone gives no offset, cannot say when: refused."""
    with pytest.raises(ValueError, match=r"^changed_since must be timezone-aware$"):
        build.build_cdc(CONFIG, AUTH, ["Customer"], when)
