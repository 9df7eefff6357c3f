"""What each decoder of `qbo_core.wire.responses` gives back, and what it raises.

Each way a success answer can fail to be what was asked for raises a `DecodeError` (or
its `IncompleteResponseError` branch) whose message names where and what, carrying the
realm, status, `intuit_tid` and an excerpt of the body. Pages, change sets, batch and
upload answers keep every item, whatever sits before it; reports read their defaults.
Faults and malformed answers in general: `test_wire_faults.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from qbo_core import errors
from qbo_core.entities import Customer, RawEntity
from qbo_core.http import HttpResponse
from qbo_core.results import DeletedEntity
from qbo_core.wire import faults, responses
from tests.core.test_wire_faults import JSON, REALM, TID, answer, data_fault

Decoder = Callable[[HttpResponse], object]


def entity(response: HttpResponse) -> object:
    """A Customer answer, decoded by name with the realm given."""
    return responses.decode_entity_response(response, "Customer", realm_id=REALM)


def typed_query(response: HttpResponse) -> object:
    """A query page of `Customer` rows, decoded into that class with the realm given."""
    return responses.decode_query(response, Customer, realm_id=REALM)


def realm(decode: Callable[..., object]) -> Decoder:
    """`decode` with the realm given, as every service calls the decoders."""
    return lambda response: decode(response, realm_id=REALM)


NESTED = b"[" * 100_000 + b"]" * 100_000
TOO_DEEP_ESTIMATE = b'{"Estimate":{"Id":"1","X":' + b"[" * 700 + b"]" * 700 + b"}}"

# (decoder, body, content type, the error's class, its message)
FAILURES: dict[str, tuple[Decoder, Any, str | None, type[errors.DecodeError], str]] = {
    "not JSON": (
        entity,
        "<html/>",
        "text/html",
        errors.DecodeError,
        "expected JSON, got text/html",
    ),
    "nested too deeply": (
        entity,
        NESTED,
        JSON,
        errors.DecodeError,
        "JSON nested too deeply in a 200 answer",
    ),
    "truncated": (
        entity,
        b'{"Customer":{',
        JSON,
        errors.IncompleteResponseError,
        "malformed or truncated JSON in a 200 answer",
    ),
    "empty": (entity, b" ", JSON, errors.IncompleteResponseError, "empty body in a 200 answer"),
    "not an object": (
        entity,
        [1],
        JSON,
        errors.DecodeError,
        "expected a JSON object, got a JSON list",
    ),
    "no envelope": (
        entity,
        {"Vendor": {}},
        JSON,
        errors.DecodeError,
        "expected a Customer envelope, got an object with keys Vendor",
    ),
    "entity not an object": (
        entity,
        {"Customer": []},
        JSON,
        errors.DecodeError,
        "Customer: expected a Customer object, got a JSON list",
    ),
    "entity nested too deeply": (
        lambda r: responses.decode_entity_response(r, "Estimate", realm_id=REALM),
        TOO_DEEP_ESTIMATE,
        JSON,
        errors.DecodeError,
        "Estimate: the Estimate object is nested too deeply",
    ),
    "entity field of the wrong type": (
        entity,
        {"Customer": {"Balance": "x"}},
        JSON,
        errors.DecodeError,
        "Customer: cannot read Customer: expected a number, got the string 'x' @ $.Balance",
    ),
    "not deleted": (
        lambda r: responses.decode_deleted(r, "Invoice", realm_id=REALM),
        {"Invoice": {"Id": "1"}},
        JSON,
        errors.DecodeError,
        "expected a deleted Invoice, got an object with keys Invoice",
    ),
    "page not an object": (
        realm(responses.decode_query),
        {"QueryResponse": []},
        JSON,
        errors.DecodeError,
        "QueryResponse: expected a QueryResponse object, got a JSON list",
    ),
    "page of two lists": (
        realm(responses.decode_query),
        {"QueryResponse": {"Customer": [], "Vendor": []}},
        JSON,
        errors.DecodeError,
        "QueryResponse: a QueryResponse holds one entity list, got ['Customer', 'Vendor']",
    ),
    "page of another entity": (
        typed_query,
        {"QueryResponse": {"Vendor": [{"Id": "1"}]}},
        JSON,
        errors.DecodeError,
        "QueryResponse: a query of Customer answered with Vendor rows",
    ),
    "page row not an object": (
        realm(responses.decode_query),
        {"QueryResponse": {"Customer": [{"Id": "1"}, "x"]}},
        JSON,
        errors.DecodeError,
        "QueryResponse.Customer[1]: expected a Customer object, got a JSON str",
    ),
    "no count": (
        realm(responses.decode_count),
        {"QueryResponse": {}},
        JSON,
        errors.DecodeError,
        "expected QueryResponse.totalCount",
    ),
    "cdc not a list": (
        realm(responses.decode_cdc),
        {"CDCResponse": {}},
        JSON,
        errors.DecodeError,
        "expected a CDCResponse list",
    ),
    "cdc group without a list": (
        realm(responses.decode_cdc),
        {"CDCResponse": [{"QueryResponse": []}, {}]},
        JSON,
        errors.DecodeError,
        "CDCResponse[1]: expected a QueryResponse list",
    ),
    "cdc response not an object": (
        realm(responses.decode_cdc),
        {"CDCResponse": [{"QueryResponse": [{}, []]}]},
        JSON,
        errors.DecodeError,
        "CDCResponse[0].QueryResponse[1]: expected an object",
    ),
    "cdc row not an object": (
        realm(responses.decode_cdc),
        {"CDCResponse": [{"QueryResponse": [{"Customer": [{"Id": "1"}, 5]}]}]},
        JSON,
        errors.DecodeError,
        "CDCResponse[0].QueryResponse[0].Customer[1]: expected a Customer object, got a JSON int",
    ),
    "batch not a list": (
        realm(responses.decode_batch),
        {"BatchItemResponse": {}},
        JSON,
        errors.DecodeError,
        "expected a BatchItemResponse list",
    ),
    "batch item without a bId": (
        realm(responses.decode_batch),
        {"BatchItemResponse": [{"bId": "a", "Vendor": {}}, {"Vendor": {}}]},
        JSON,
        errors.DecodeError,
        "BatchItemResponse[1]: expected an object with a bId",
    ),
    "batch item of two entities": (
        realm(responses.decode_batch),
        {"BatchItemResponse": [{"bId": "a", "Vendor": {}, "Bill": {}}]},
        JSON,
        errors.DecodeError,
        "BatchItemResponse[0]: expected one entity, a Fault or a QueryResponse,"
        " got ['Vendor', 'Bill']",
    ),
    "batch page not an object": (
        realm(responses.decode_batch),
        {"BatchItemResponse": [{"bId": "a", "QueryResponse": 1}]},
        JSON,
        errors.DecodeError,
        "BatchItemResponse[0].QueryResponse: expected a QueryResponse object, got a JSON int",
    ),
    "batch entity not an object": (
        realm(responses.decode_batch),
        {"BatchItemResponse": [{"bId": "a", "Customer": []}]},
        JSON,
        errors.DecodeError,
        "BatchItemResponse[0].Customer: expected a Customer object, got a JSON list",
    ),
    "report without a header": (
        realm(responses.decode_report),
        {"Columns": {"Column": []}},
        JSON,
        errors.DecodeError,
        "expected a report with Header and Columns",
    ),
    "report columns not a list": (
        realm(responses.decode_report),
        {"Header": {}, "Columns": {"Column": {}}},
        JSON,
        errors.DecodeError,
        "expected Columns.Column to be a list",
    ),
    "report column not an object": (
        realm(responses.decode_report),
        {"Header": {}, "Columns": {"Column": [{}, 1]}},
        JSON,
        errors.DecodeError,
        "a report column is not an object",
    ),
    "upload not a list": (
        realm(responses.decode_upload),
        {"AttachableResponse": {}},
        JSON,
        errors.DecodeError,
        "expected an AttachableResponse list",
    ),
    "upload item of neither kind": (
        realm(responses.decode_upload),
        {"AttachableResponse": [{"Attachable": {}}, {"Other": {}}]},
        JSON,
        errors.DecodeError,
        "AttachableResponse[1]: expected an Attachable or a Fault",
    ),
    "upload attachable not an object": (
        realm(responses.decode_upload),
        {"AttachableResponse": [{"Attachable": []}]},
        JSON,
        errors.DecodeError,
        "AttachableResponse[0]: expected a Attachable object, got a JSON list",
    ),
    "download URL not UTF-8": (
        realm(responses.decode_download_url),
        b"https://\xff",
        "text/plain",
        errors.DecodeError,
        "the download URL is not UTF-8 text",
    ),
    "download URL not a URL": (
        realm(responses.decode_download_url),
        b"ftp://x",
        "text/plain",
        errors.DecodeError,
        "expected a download URL",
    ),
    "PDF of another type": (
        realm(responses.decode_pdf),
        b"<html/>",
        "text/html",
        errors.DecodeError,
        "expected a PDF, got text/html",
    ),
    "PDF untyped": (
        realm(responses.decode_pdf),
        b"PDF?",
        None,
        errors.DecodeError,
        "expected a PDF, got an untyped body",
    ),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_each_decode_failure_names_what_and_keeps_the_realm_status_tid_and_body(
    case: str,
) -> None:
    """Every way a 200 answer can be the wrong shape raises its own message, with the
    realm asked about, the status, the `intuit_tid` and the start of the body."""
    decode, body, content_type, cls, message = FAILURES[case]
    response = answer(200, body, content_type)
    with pytest.raises(errors.DecodeError) as caught:
        decode(response)
    error = caught.value
    assert type(error) is cls
    assert error.message == message
    assert (error.realm_id, error.status, error.intuit_tid) == (REALM, 200, TID)
    assert error.body_excerpt == response.body[: faults.EXCERPT_BYTES].decode("utf-8", "replace")


def test_rows_nested_too_deeply_for_the_walk_are_a_decode_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A report whose rows are too deep to walk is a `DecodeError`, not a RecursionError."""

    def too_deep(rows: object) -> tuple[()]:
        raise RecursionError

    monkeypatch.setattr(responses, "report_rows", too_deep)
    with pytest.raises(errors.DecodeError) as caught:
        responses.decode_report(
            answer(200, {"Header": {}, "Columns": {"Column": []}}), realm_id=REALM
        )
    assert caught.value.message == "the report's rows are nested too deeply"
    assert caught.value.realm_id == REALM
    assert isinstance(caught.value.__cause__, RecursionError)


EVERY_DECODER: dict[str, Decoder] = {
    "entity by name": entity,
    "entity by class": lambda r: responses.decode_entity_response(r, Customer, realm_id=REALM),
    "entity as a class": lambda r: responses.decode_entity_response_as(
        r, Customer, "Customer", realm_id=REALM
    ),
    "entity and its key": lambda r: responses.decode_entity_response_keyed(
        r, "Customer", realm_id=REALM
    ),
    "deleted": lambda r: responses.decode_deleted(r, "Invoice", realm_id=REALM),
    "query": realm(responses.decode_query),
    "count": realm(responses.decode_count),
    "cdc": realm(responses.decode_cdc),
    "batch": realm(responses.decode_batch),
    "report": realm(responses.decode_report),
    "upload": realm(responses.decode_upload),
    "download URL": realm(responses.decode_download_url),
    "PDF": realm(responses.decode_pdf),
    "raise_for_fault": realm(responses.raise_for_fault),
}


@pytest.mark.parametrize("decoder", sorted(EVERY_DECODER))
def test_a_fault_raised_by_any_decoder_keeps_the_realm(decoder: str) -> None:
    """A fault answer raises its error through every decoder, with the realm asked about."""
    response = answer(400, data_fault(("610", "Object Not Found")))
    with pytest.raises(errors.ObjectNotFoundError) as caught:
        EVERY_DECODER[decoder](response)
    assert caught.value.realm_id == REALM


def test_batch_and_upload_item_faults_keep_the_realm() -> None:
    """The error of a failed batch item or uploaded file carries the realm and the tid."""
    fault = data_fault(("6240", "Duplicate"))["Fault"]
    (item,) = responses.decode_batch(
        answer(200, {"BatchItemResponse": [{"bId": "a", "Fault": fault}]}), realm_id=REALM
    )
    (upload,) = responses.decode_upload(
        answer(200, {"AttachableResponse": [{"Fault": fault}]}), realm_id=REALM
    )
    for error in (item.error, upload.error):
        assert type(error) is errors.DuplicateNameError
        assert (error.realm_id, error.intuit_tid, error.status) == (REALM, TID, 400)


# --------------------------------------------------------------------- what is kept


@pytest.mark.parametrize("content_type", ["text/plain", "application/text", None])
def test_json_labelled_as_text_or_untyped_is_read(content_type: str | None) -> None:
    """QBO labels some JSON answers `text/plain` or `application/text`, or sends no type."""
    body = {"Customer": {"Id": "7", "DisplayName": "Amy"}}
    decoded = responses.decode_entity_response(answer(200, body, content_type), "Customer")
    assert isinstance(decoded, Customer)
    assert decoded.id == "7"


def test_a_page_keeps_max_results_as_qbo_sent_it() -> None:
    """`maxResults` is the page size QBO used, not the rows counted; absent, it is the count."""
    rows = [{"Id": "1"}, {"Id": "2"}]
    sent = {"QueryResponse": {"Customer": rows, "startPosition": 1, "maxResults": 1000}}
    assert responses.decode_query(answer(200, sent)).max_results == 1000
    unsent = {"QueryResponse": {"Customer": rows}}
    assert responses.decode_query(answer(200, unsent)).max_results == 2


def test_cdc_keeps_the_rows_after_a_tombstone_and_after_a_non_list_value() -> None:
    """In a CDC answer, the rows after a deleted one, and the lists after `startPosition`,
    are all kept."""
    tombstone = {"status": "Deleted", "Id": "9"}
    body = {
        "CDCResponse": [
            {
                "QueryResponse": [
                    {"startPosition": 1, "Customer": [tombstone, {"Id": "1"}, {"Id": "2"}]},
                    {"maxResults": 1, "Vendor": [{"Id": "3"}]},
                ]
            }
        ]
    }
    changes = responses.decode_cdc(answer(200, body))
    assert [e.id for e in changes.changed["Customer"]] == ["1", "2"]
    assert [e.id for e in changes.changed["Vendor"]] == ["3"]
    assert changes.deleted["Customer"] == (DeletedEntity(entity_type="Customer", id="9"),)


@pytest.mark.parametrize(("rows", "capped"), [(999, False), (1000, True)])
def test_cdc_is_capped_at_1000_entities_by_default(rows: int, capped: bool) -> None:
    """QBO's CDC answers at most 1,000 entities: an answer that holds 1,000 may be cut."""
    body = {"CDCResponse": [{"QueryResponse": [{"Customer": [{"Id": "1"}] * rows}]}]}
    changes = responses.decode_cdc(answer(200, body))
    assert changes.total == rows
    assert changes.capped is capped


def test_batch_items_after_a_fault_are_kept() -> None:
    """A failed batch item does not hide the items after it; each keeps its `bId`."""
    body = {
        "BatchItemResponse": [
            {"bId": "a", "Fault": data_fault(("610", "Gone"))["Fault"]},
            {"bId": "b", "QueryResponse": {"Customer": [{"Id": "1"}]}},
            {"bId": "c", "Customer": {"Id": "2"}},
            {"bId": "d", "Invoice": {"status": "Deleted", "Id": "5"}},
        ]
    }
    a, b, c, d = responses.decode_batch(answer(200, body))
    assert (a.bid, b.bid, c.bid, d.bid) == ("a", "b", "c", "d")
    assert d.deleted == DeletedEntity(entity_type="Invoice", id="5")
    assert b.page is not None
    assert [e.id for e in b.page.items] == ["1"]
    assert c.entity is not None
    assert c.entity.id == "2"


def test_a_report_reads_its_columns_options_and_defaults() -> None:
    """A report keeps its name, columns (title, type, metadata) and options; a missing
    name, title or type is empty, a missing `Option` or `MetaData` is no entries."""
    body = {
        "Header": {
            "ReportName": "ProfitAndLoss",
            "Option": [{"Name": "NoReportData", "Value": "false"}, "junk"],
            "StartPeriod": "2026-01-01",
            "EndPeriod": "2026-01-31",
            "Currency": "USD",
        },
        "Columns": {
            "Column": [
                {
                    "ColTitle": "Total",
                    "ColType": "Money",
                    "MetaData": [{"Name": "ColKey", "Value": "total"}, 3],
                },
                {},
            ]
        },
        "Rows": {"Row": [{"ColData": [{"value": "Income"}, {"value": "10.00"}]}]},
    }
    report = responses.decode_report(answer(200, body))
    assert report.name == "ProfitAndLoss"
    assert report.options == {"NoReportData": "false"}
    assert (report.start_period, report.end_period, report.currency) == (
        "2026-01-01",
        "2026-01-31",
        "USD",
    )
    first, second = report.columns
    assert (first.title, first.type, dict(first.metadata)) == (
        "Total",
        "Money",
        {"ColKey": "total"},
    )
    assert (second.title, second.type, dict(second.metadata)) == ("", "", {})
    assert [row.value(1) for row in report.data_rows()] == ["10.00"]
    bare = responses.decode_report(answer(200, {"Header": {}, "Columns": {"Column": []}}))
    assert (bare.name, dict(bare.options), bare.columns, bare.rows) == ("", {}, (), ())
    assert (bare.start_period, bare.end_period, bare.currency) == (None, None, None)


def test_the_keyed_decoder_says_which_envelope_the_entity_came_in() -> None:
    """`decode_entity_response_keyed` gives the entity and its envelope's key as QBO spelt
    it, by name or by typed class."""
    response = answer(200, {"customer": {"Id": "4"}, "time": "2026-01-01T00:00:00-08:00"})
    by_name, key = responses.decode_entity_response_keyed(response, "Customer")
    assert key == "customer"
    assert isinstance(by_name, RawEntity)
    typed, typed_key = responses.decode_entity_response_keyed(response, Customer)
    assert typed_key == "customer"
    assert isinstance(typed, Customer)
    assert typed.id == "4"
    for kind in ("Customer", Customer):
        with pytest.raises(errors.DecodeError) as caught:
            responses.decode_entity_response_keyed(answer(200, {}), kind, realm_id=REALM)
        assert caught.value.message == "expected a Customer envelope, got an empty object"
        assert caught.value.realm_id == REALM


def test_a_tombstone_with_an_unreadable_time_has_none() -> None:
    """A deleted entity whose `LastUpdatedTime` is not an ISO time has no `last_updated`."""
    body = {"Invoice": {"status": "Deleted", "Id": "3", "MetaData": {"LastUpdatedTime": "x"}}}
    deleted = responses.decode_deleted(answer(200, body), "Invoice")
    assert deleted == DeletedEntity(entity_type="Invoice", id="3")
    assert deleted.last_updated is None


def test_a_report_keeps_its_raw_body_and_only_text_periods() -> None:
    """`Report.raw` is the whole answer; a period or currency that is not text is `None`."""
    body = {
        "Header": {"StartPeriod": 2026, "EndPeriod": None, "Currency": ["USD"]},
        "Columns": {"Column": []},
    }
    report = responses.decode_report(answer(200, body))
    assert report.raw == body
    assert (report.start_period, report.end_period, report.currency) == (None, None, None)


@pytest.mark.parametrize("url", ["https://a.example/x?y=1", "http://a.example/x"])
def test_a_download_url_may_be_https_or_http(url: str) -> None:
    """The download URL QBO sends is taken over HTTPS or plain HTTP, trimmed."""
    assert responses.decode_download_url(answer(200, f" {url}\n", "text/plain")) == url
