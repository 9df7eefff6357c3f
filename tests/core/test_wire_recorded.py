"""Every recorded QBO answer decodes, through the decoder its request picks, to exactly its facts.

`../shared/fixtures/qbo-recorded/` holds real sandbox traffic. Each interaction is one test
(`batch/basic#0`): the response becomes an `HttpResponse`, the request picks the decoder
(as the raw client would), and the outcome is checked against the facts of the recording:
the DTO and its key values, or the exact error class with its codes, status and
`intuit_tid`. Every entity decoded on the way must encode back to the very JSON it came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest

from qbo_core import errors
from qbo_core.entities import (
    ENTITY_CLASSES,
    Account,
    Customer,
    Employee,
    Invoice,
    QBOEntity,
    RawEntity,
    SalesReceipt,
    TelephoneNumber,
    Vendor,
)
from qbo_core.http import HttpResponse
from qbo_core.results import (
    BatchItemResult,
    ChangeSet,
    DeletedEntity,
    QueryPage,
    Report,
    UploadResult,
)
from qbo_core.wire import responses
from qbo_core.wire.entities import encode_entity
from qbo_core.wire.jsonio import loads
from tests.shared_fixtures import RECORDED

REALM = "123"

#: Lower-case URL segment → QBO's entity name (the recordings use Attachable and Estimate too).
ENDPOINTS = {name.lower(): name for name in [*ENTITY_CLASSES, "Attachable", "Estimate"]}


# --------------------------------------------------------------------- the recordings


@dataclass(frozen=True)
class Interaction:
    """One recorded request and its answer."""

    key: str
    method: str
    uri: str
    status: int
    headers: dict[str, list[str]]
    body: str

    def response(self) -> HttpResponse:
        """The answer as the transport port hands it over (first value of each header)."""
        return HttpResponse(
            status=self.status,
            headers=[(name, values[0]) for name, values in self.headers.items() if values],
            body=self.body.encode(),
        )

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, values in self.headers.items():
            if key.lower() == wanted and values:
                return values[0]
        return None


def load_interactions() -> list[Interaction]:
    found: list[Interaction] = []
    for path in sorted(RECORDED.rglob("*.json")):
        name = path.relative_to(RECORDED).with_suffix("").as_posix()
        for index, raw in enumerate(json.loads(path.read_text())["interactions"]):
            request, response = raw["request"], raw["response"]
            found.append(
                Interaction(
                    key=f"{name}#{index}",
                    method=request["method"].upper(),
                    uri=request["uri"],
                    status=int(response["status"]),
                    headers=response["headers"],
                    body=response.get("body") or "",
                )
            )
    return found


def interaction_params() -> list[Any]:
    if not RECORDED.is_dir():
        reason = f"recorded QBO traffic not found at {RECORDED} (../shared is absent)"
        return [pytest.param(None, id="no-recordings", marks=pytest.mark.skip(reason=reason))]
    return [pytest.param(item, id=item.key) for item in load_interactions()]


INTERACTIONS = interaction_params()


# --------------------------------------------------------------------- picking the decoder


Decoder = Callable[[HttpResponse], object]


def route(method: str, uri: str) -> list[str]:
    """The path segments after `/v3` and `/company/<realm>` (scrubbing dropped some realms)."""
    segments = [part for part in urlsplit(uri).path.split("/") if part]
    if segments[:1] == ["v3"]:
        segments = segments[1:]
    if segments[:1] == ["company"]:
        segments = segments[2:]
    return segments


def decoder_for(method: str, uri: str) -> tuple[str, Decoder]:
    """The decoder the raw client would use for this request, and its name."""
    segments = route(method, uri)
    params = parse_qs(urlsplit(uri).query)
    head = segments[0]
    if head == "query":
        statement = params.get("query", [""])[0].lower().replace(" ", "")
        if "count(*)" in statement:
            return "count", lambda r: responses.decode_count(r, realm_id=REALM)
        return "query", lambda r: responses.decode_query(r, realm_id=REALM)
    if head == "batch":
        return "batch", lambda r: responses.decode_batch(r, realm_id=REALM)
    if head == "cdc":
        return "cdc", lambda r: responses.decode_cdc(r, realm_id=REALM)
    if head == "upload":
        return "upload", lambda r: responses.decode_upload(r, realm_id=REALM)
    if head == "reports":
        return "report", lambda r: responses.decode_report(r, realm_id=REALM)
    entity_type = ENDPOINTS[head]
    if len(segments) == 3 and segments[2] == "pdf":
        return "pdf", lambda r: responses.decode_pdf(r, realm_id=REALM)
    if method == "POST" and params.get("operation") == ["delete"]:
        return "deleted", lambda r: responses.decode_deleted(r, entity_type, realm_id=REALM)
    return "entity", lambda r: responses.decode_entity_response(r, entity_type, realm_id=REALM)


# --------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Count:
    total: int


@dataclass(frozen=True)
class Entity:
    cls: type[Any]
    id: str
    sync_token: str
    facts: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    entity_type: str | None
    ids: tuple[str, ...]
    start_position: int | None
    max_results: int


@dataclass(frozen=True)
class Deleted:
    entity_type: str
    id: str


@dataclass(frozen=True)
class Fails:
    cls: type[errors.QBOError]
    status: int
    codes: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Special:
    """Checked by a dedicated function below (batch, CDC, upload, reports, PDF)."""

    name: str


def ids(text: str) -> tuple[str, ...]:
    return tuple(text.split())


CUSTOMERS_ALL = ids(
    "1 67 2 3 4 62 64 63 69 70 5 6 7 8 9 10 11 60 68 58 12 59 13 14 16 17 18 15 19 20 21 22 23"
    " 24 25 65 66 26 27 28 29"
)
VENDORS_ALL = ids(
    "56 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 48 47 49 61 57 50 51 52 53"
)

EXPECTED: dict[str, Count | Entity | Page | Deleted | Fails | Special] = {
    "all/alt_select#0": Count(6),
    "all/alt_select#1": Page("Customer", ids("5 6"), 1, 2),
    "all/alt_select#2": Page("Customer", ids("7 8"), 3, 2),
    "all/alt_select#3": Page("Customer", ids("9 10"), 5, 2),
    "all/alt_select#4": Page(None, (), None, 0),
    "all/customers#0": Count(41),
    "all/customers#1": Page("Customer", CUSTOMERS_ALL, 1, 41),
    "all/employees_including_active#0": Count(2),
    "all/employees_including_active#1": Page("Employee", ids("55 54"), 1, 2),
    "all/sales_receipts#0": Page("SalesReceipt", ids("17 11 47 38"), 1, 4),
    "all/vendors_by_5#0": Count(26),
    "all/vendors_by_5#1": Page("Vendor", VENDORS_ALL[0:5], 1, 5),
    "all/vendors_by_5#2": Page("Vendor", VENDORS_ALL[5:10], 6, 5),
    "all/vendors_by_5#3": Page("Vendor", VENDORS_ALL[10:15], 11, 5),
    "all/vendors_by_5#4": Page("Vendor", VENDORS_ALL[15:20], 16, 5),
    "all/vendors_by_5#5": Page("Vendor", VENDORS_ALL[20:25], 21, 5),
    "all/vendors_by_5#6": Page("Vendor", VENDORS_ALL[25:26], 26, 1),
    "attachment/create_for_invoice#0": Special("upload_ok"),
    "attachment/delete_attachment#0": Deleted("Attachable", "5000000000000503624"),
    "attachment/error_estimate#0": Special("upload_fault"),
    "attachment/read_attachment#0": Entity(
        RawEntity,
        "5000000000000503624",
        "0",
        {"FileName": "no_detail.xml", "Size": 538, "ContentType": "text/xml"},
    ),
    "batch/basic#0": Special("batch"),
    "cdc/basic#0": Special("cdc"),
    "create/customer#0": Entity(Customer, "70", "0", {"display_name": "Doe5, Jane"}),
    "create/invoice#0": Entity(
        Invoice, "266", "0", {"doc_number": "1043", "total_amt": Decimal("100.00")}
    ),
    "deactivate/account#0": Entity(
        Account, "5", "1", {"name": "Fees Billed (deleted)", "active": False}
    ),
    "deactivate/account#1": Entity(
        Account, "5", "1", {"name": "Fees Billed (deleted)", "active": False}
    ),
    "deactivate/employee#0": Entity(
        Employee, "55", "1", {"display_name": "Emily Platt (deleted)", "active": False}
    ),
    "deactivate/employee#1": Entity(
        Employee, "55", "1", {"display_name": "Emily Platt (deleted)", "active": False}
    ),
    "delete/invoice#0": Entity(Invoice, "266", "0", {"doc_number": "1043"}),
    "delete/invoice#1": Deleted("Invoice", "266"),
    "error/400#0": Page("Customer", CUSTOMERS_ALL, 1, 41),
    "error/400#1": Fails(errors.QueryValidationError, 400, ("4001",), "Invalid query"),
    "error/400_json#0": Fails(
        errors.InvalidPropertyError,
        400,
        ("2010",),
        "Request has invalid or unsupported property",
    ),
    "error/401#0": Fails(
        errors.AccessTokenInvalidError,
        401,
        ("3200",),
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
    ),
    "error/500#0": Fails(errors.UnsupportedOperationError, 400, ("500",), "Unsupported Operation"),
    "error/500#1": Fails(errors.ValidationError, 400, ("2030",), "Invalid ID"),
    "error/validation#0": Fails(
        errors.DuplicateNameError, 400, ("6240",), "Duplicate Name Exists Error"
    ),
    "get/display_name#0": Page("Customer", ids("1"), 1, 1),
    "get/id#0": Entity(Customer, "5", "1", {"display_name": "Dukes Basketball Camp"}),
    "get/inactive_vendors#0": Page("Vendor", VENDORS_ALL, 1, 27),
    "get_pdf/invoice#0": Special("pdf"),
    "misc/ampersand#0": Page("Vendor", ids("49"), 1, 1),
    "reports/gl#0": Special("general_ledger"),
    "reports/profit_and_loss#0": Special("profit_and_loss"),
    "update/customer#0": Entity(Customer, "68", "0", {"display_name": "Doe2, Jane"}),
    "update/customer#1": Entity(
        Customer,
        "68",
        "1",
        {
            "display_name": "Jack Moe",
            "primary_phone": TelephoneNumber(free_form_number="(415) 444-1234"),
        },
    ),
    "update/sales_receipt#0": Entity(
        SalesReceipt, "17", "4", {"doc_number": "1008", "total_amt": Decimal("337.50")}
    ),
    "update/sales_receipt#1": Entity(
        SalesReceipt, "17", "5", {"doc_number": "1008", "total_amt": Decimal("337.50")}
    ),
    "void/invoice#0": Entity(
        Invoice, "264", "0", {"doc_number": "1041", "total_amt": Decimal("100.00")}
    ),
    "void/invoice#1": Entity(
        Invoice, "264", "1", {"total_amt": Decimal("0"), "private_note": "Voided"}
    ),
}

# --------------------------------------------------------------------- exact JSON comparison


def exact(value: Any) -> Any:
    """`value` as the JSON text it stands for: numbers by their digits (`0` from an int or a
    `Decimal` alike, but `100.00` is not `100.0`), `true` apart from `1`, keys unordered."""
    if isinstance(value, Mapping):
        return {key: exact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [exact(item) for item in value]
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, int | Decimal):
        return ("number", str(value))
    if isinstance(value, str):
        return ("string", value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def pairs(outcome: object, body: Any) -> Iterator[tuple[QBOEntity, Any]]:
    """Every entity in a decoded outcome, with the JSON object of the body it came from."""
    if isinstance(outcome, QueryPage):
        rows = body["QueryResponse"].get(outcome.entity_type, [])
        assert len(rows) == len(outcome.items)
        yield from zip(outcome.items, rows, strict=True)
    elif isinstance(outcome, ChangeSet):
        live: dict[str, list[Any]] = {}
        for group in body["CDCResponse"]:
            for inner in group["QueryResponse"]:
                for name, rows in inner.items():
                    if isinstance(rows, list):
                        kept = [row for row in rows if row.get("status") != "Deleted"]
                        live.setdefault(name, []).extend(kept)
        assert set(live) == set(outcome.changed)
        for name, entities in outcome.changed.items():
            yield from zip(entities, live[name], strict=True)
    elif isinstance(outcome, tuple) and outcome and isinstance(outcome[0], BatchItemResult):
        for result, item in zip(outcome, body["BatchItemResponse"], strict=True):
            if result.entity is not None:
                (key,) = (key for key in item if key != "bId")
                yield result.entity, item[key]
            if result.page is not None:
                yield from pairs(result.page, item)
    elif isinstance(outcome, tuple) and outcome and isinstance(outcome[0], UploadResult):
        for upload, item in zip(outcome, body["AttachableResponse"], strict=True):
            if upload.attachable is not None:
                yield upload.attachable, item["Attachable"]
    elif isinstance(outcome, (RawEntity, *ENTITY_CLASSES.values())):
        (key,) = (key for key in body if key != "time")
        yield cast(QBOEntity, outcome), body[key]


# --------------------------------------------------------------------- special checks


def check_batch(outcome: object, item: Interaction) -> None:
    assert isinstance(outcome, tuple)
    assert [result.bid for result in outcome] == ["bid1", "bid2", "bid3", "bid4"]
    created, missing, stale, selected = outcome
    assert created.ok
    assert isinstance(created.entity, Vendor)
    assert (created.entity.id, created.entity.display_name) == ("71", "Boraski Family Store")
    for result, cls, code in (
        (missing, errors.ObjectNotFoundError, "610"),
        (stale, errors.StaleObjectError, "5010"),
    ):
        assert not result.ok
        assert result.entity is None
        assert result.page is None
        assert type(result.error) is cls
        assert result.error.codes == (code,)
        assert result.error.intuit_tid == item.header("Intuit-Tid")
        assert result.error.realm_id == REALM
    assert selected.ok
    assert selected.page is not None
    assert selected.page.entity_type == "SalesReceipt"
    assert [entity.id for entity in selected.page] == ["17", "11"]
    assert all(type(entity) is SalesReceipt for entity in selected.page)
    assert (selected.page.start_position, selected.page.max_results) == (1, 2)


def check_cdc(outcome: object, item: Interaction) -> None:
    assert isinstance(outcome, ChangeSet)
    assert list(outcome.changed) == ["Estimate"]
    estimates = outcome.changed["Estimate"]
    assert [entity.id for entity in estimates] == ["48", "46", "41", "100"]
    assert all(type(entity) is RawEntity for entity in estimates)
    assert dict(outcome.deleted) == {}
    assert outcome.total == 4
    assert outcome.capped is False


def check_upload_ok(outcome: object, item: Interaction) -> None:
    assert isinstance(outcome, tuple)
    (upload,) = outcome
    assert upload.error is None
    assert isinstance(upload.attachable, RawEntity)
    assert upload.attachable.entity_type == "Attachable"
    assert upload.attachable.id == "5000000000000503624"
    assert upload.attachable.data["FileName"] == "no_detail.xml"


def check_upload_fault(outcome: object, item: Interaction) -> None:
    assert isinstance(outcome, tuple)
    (upload,) = outcome
    assert upload.attachable is None
    assert type(upload.error) is errors.ValidationError  # 6000 has no branch of its own
    assert upload.error.codes == ("6000",)
    assert upload.error.intuit_tid == item.header("Intuit-Tid")
    assert upload.error.detail is not None
    assert "Estimate 75" in upload.error.detail


def check_pdf(outcome: object, item: Interaction) -> None:
    assert outcome == item.body.encode()
    assert isinstance(outcome, bytes)
    assert outcome.startswith(b"%PDF-1.4")


def check_general_ledger(outcome: object, item: Interaction) -> None:
    assert isinstance(outcome, Report)
    assert outcome.name == "GeneralLedger"
    assert (outcome.start_period, outcome.end_period, outcome.currency) == (
        "2020-09-01",
        "2020-09-29",
        "USD",
    )
    assert dict(outcome.options) == {"NoReportData": "false"}
    assert [column.title for column in outcome.columns] == [
        "Date",
        "Transaction Type",
        "Num",
        "Name",
        "Memo/Description",
        "Split",
        "Amount",
        "Balance",
    ]
    assert outcome.columns[6].type == "subt_nat_amount"
    rows = list(outcome.rows)
    assert len(rows) == 59
    assert [row.kind for row in rows].count("Data") == 21
    invoices = [row for row in outcome.data_rows() if row.value(1) == "Invoice"]
    assert [(row.value(2), row.path) for row in invoices] == [
        ("1041", ("Accounts Receivable (A/R)",)),
        ("1042", ("Accounts Receivable (A/R)",)),
        ("1041", ("Services",)),
        ("1042", ("Services",)),
    ]
    first = invoices[0]
    assert [cell.value for cell in first.cells] == [
        "2020-09-29",
        "Invoice",
        "1041",
        "Amy's Bird Sanctuary",
        "",
        "Services",
        "100.00",
        "5104.02",
    ]
    assert (first.cells[1].id, first.cells[3].id) == ("264", "1")
    nested = [row for row in rows if row.path == ("Truck", "Original Cost")]
    assert [row.kind for row in nested] == ["Header", "Data", "Summary"]
    assert nested[1].value(7) == "13495.00"
    totals = [row for row in rows if row.kind == "Summary" and row.path == ("Services",)]
    assert [row.value(6) for row in totals] == ["200.00"]


def check_profit_and_loss(outcome: object, item: Interaction) -> None:
    assert isinstance(outcome, Report)
    assert outcome.name == "ProfitAndLoss"
    assert (outcome.start_period, outcome.end_period) == ("2015-01-01", "2015-07-31")
    assert dict(outcome.options) == {"AccountingStandard": "GAAP", "NoReportData": "true"}
    assert [(c.title, c.type, dict(c.metadata)) for c in outcome.columns] == [
        ("", "Account", {"ColKey": "account"}),
        ("TOTAL", "Money", {"ColKey": "total"}),
    ]
    assert outcome.data_rows() == []
    assert [(row.kind, row.group) for row in outcome.rows] == [
        ("Header", "Income"),
        ("Summary", "Income"),
        ("Summary", "GrossProfit"),
        ("Header", "Expenses"),
        ("Summary", "Expenses"),
        ("Summary", "NetOperatingIncome"),
        ("Summary", "NetIncome"),
    ]
    net = outcome.summary("NetIncome")
    assert net is not None
    assert [cell.value for cell in net.cells] == ["Net Income", ""]
    assert outcome.summary("NoSuchGroup") is None


SPECIAL: dict[str, Callable[[object, Interaction], None]] = {
    "batch": check_batch,
    "cdc": check_cdc,
    "upload_ok": check_upload_ok,
    "upload_fault": check_upload_fault,
    "pdf": check_pdf,
    "general_ledger": check_general_ledger,
    "profit_and_loss": check_profit_and_loss,
}


# --------------------------------------------------------------------- the tests


def check_error(error: errors.QBOError, expected: Fails, item: Interaction) -> None:
    assert type(error) is expected.cls, repr(error)
    assert error.status == expected.status
    assert error.codes == expected.codes
    assert error.message == expected.message
    assert error.intuit_tid is not None
    assert error.intuit_tid == item.header("Intuit-Tid")
    assert error.realm_id == REALM
    assert error.intuit_tid in str(error)


@pytest.mark.fixtures
@pytest.mark.parametrize("item", INTERACTIONS)
def test_recorded_answer_decodes_to_its_facts(item: Interaction) -> None:
    """Each recorded answer decodes, through the decoder its request picks, to its exact facts."""
    expected = EXPECTED.get(item.key)
    assert expected is not None, f"no expectation written for {item.key}"
    kind, decode = decoder_for(item.method, item.uri)
    response = item.response()
    if isinstance(expected, Fails):
        with pytest.raises(errors.QBOError) as caught:
            decode(response)
        check_error(caught.value, expected, item)
        return
    outcome = decode(response)
    if isinstance(expected, Count):
        assert kind == "count"
        assert outcome == expected.total
        assert type(outcome) is int
    elif isinstance(expected, Page):
        assert kind == "query"
        assert isinstance(outcome, QueryPage)
        assert outcome.entity_type == expected.entity_type
        assert tuple(entity.id for entity in outcome) == expected.ids
        assert (outcome.start_position, outcome.max_results) == (
            expected.start_position,
            expected.max_results,
        )
        assert outcome.total_count is None
        cls = ENTITY_CLASSES.get(expected.entity_type or "", RawEntity)
        assert all(type(entity) is cls for entity in outcome)
    elif isinstance(expected, Entity):
        assert kind == "entity"
        assert type(outcome) is expected.cls
        assert (outcome.id, outcome.sync_token) == (  # type: ignore[attr-defined]
            expected.id,
            expected.sync_token,
        )
        for name, value in expected.facts.items():
            if isinstance(outcome, RawEntity):
                assert outcome.data[name] == value
            else:
                found = getattr(outcome, name)
                assert found == value, name
                assert type(found) is type(value), name
    elif isinstance(expected, Deleted):
        assert kind == "deleted"
        assert outcome == DeletedEntity(entity_type=expected.entity_type, id=expected.id)
    else:
        SPECIAL[expected.name](outcome, item)


def carries_entities(param: Any) -> bool:
    """Whether an interaction's answer can hold entities (not a fault, count, report, PDF...)."""
    item = param.values[0]
    if item is None:
        return True  # the skipped placeholder
    kind, _ = decoder_for(item.method, item.uri)
    failed = isinstance(EXPECTED.get(item.key), Fails)
    return not failed and kind in {"batch", "cdc", "entity", "query", "upload"}


@pytest.mark.fixtures
@pytest.mark.parametrize("item", [param for param in INTERACTIONS if carries_entities(param)])
def test_recorded_entities_encode_back_to_their_json(item: Interaction) -> None:
    """Every entity decoded from a recorded answer encodes to exactly its JSON object."""
    _, decode = decoder_for(item.method, item.uri)
    outcome = decode(item.response())
    body = loads(item.body)
    found = list(pairs(outcome, body))
    for entity, raw in found:
        assert exact(encode_entity(entity)) == exact(raw)
    key_counts = {
        "all/alt_select#4": 0,
        "attachment/error_estimate#0": 0,
        "batch/basic#0": 3,
        "cdc/basic#0": 4,
    }
    assert len(found) == key_counts.get(item.key, len(found))
    if item.key not in key_counts:
        assert found, "an answer with entities yielded none to compare"


@pytest.mark.fixtures
def test_the_recorded_401_never_leaks_its_token_fragment() -> None:
    """The token fragment QBO echoes in its 401 ("Token expired: AB01...") is in no part of
    the error: not its str, repr, message or detail."""
    if not RECORDED.is_dir():
        pytest.skip(f"recorded QBO traffic not found at {RECORDED} (../shared is absent)")
    (item,) = (i for i in load_interactions() if i.key == "error/401#0")
    detail = json.loads(item.body)["fault"]["error"][0]["detail"]
    prefix, fragment = detail.split(": ", 1)
    assert prefix == "Token expired"
    assert fragment.startswith("AB01")
    assert len(fragment) > 20
    with pytest.raises(errors.AccessTokenInvalidError) as caught:
        responses.decode_entity_response(item.response(), "Customer", realm_id=REALM)
    error = caught.value
    assert error.detail is not None
    assert error.detail.startswith("Token expired")
    for shown in (str(error), repr(error), error.message, error.detail, str(error.args)):
        assert fragment not in shown
        assert fragment[:8] not in shown


@pytest.mark.fixtures
def test_every_interaction_has_an_expectation() -> None:
    """Each recorded interaction has written expectations, and no expectation is stale."""
    if not RECORDED.is_dir():
        pytest.skip(f"recorded QBO traffic not found at {RECORDED} (../shared is absent)")
    keys = [item.key for item in load_interactions()]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(EXPECTED)


@pytest.mark.fixtures
def test_the_recordings_reach_every_decoder_they_can() -> None:
    """The recordings exercise every decoder kind, so the table covers each code path."""
    if not RECORDED.is_dir():
        pytest.skip(f"recorded QBO traffic not found at {RECORDED} (../shared is absent)")
    kinds = {decoder_for(item.method, item.uri)[0] for item in load_interactions()}
    assert kinds == {
        "batch",
        "cdc",
        "count",
        "deleted",
        "entity",
        "pdf",
        "query",
        "report",
        "upload",
    }
