"""Every fault dialect and malformed answer QBO (or a proxy in front of it) sends, decoded.

The capitalised data-service `Fault`, the gateway's lower-case `fault`, XML
`IntuitResponse` faults (with and without namespaces), HTML and plain-text pages, empty
and truncated bodies, and faults inside a 200: each becomes the most specific `QBOError`,
carrying status, codes, `intuit_tid`, realm and `retry_after`. Well-formed JSON of the
wrong shape becomes a `DecodeError` naming the path. (The exact-decimal JSON codec's
tests are in `test_wire_jsonio.py`.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from qbo_core import errors
from qbo_core.entities import Customer, RawEntity
from qbo_core.http import MAX_RESPONSE_BYTES, HttpResponse
from qbo_core.results import DeletedEntity
from qbo_core.wire import faults, responses
from qbo_core.wire.jsonio import loads

TID = "1-5f733d9a-1d4e21aa217ba43177113df4"
REALM = "4620816365037572746"
JSON = "application/json"


def answer(
    status: int, body: bytes | str | Any, content_type: str | None = JSON, **headers: str
) -> HttpResponse:
    """A response with `body` (JSON-encoded when it is not text), an intuit_tid and `headers`."""
    if isinstance(body, str):
        raw = body.encode()
    elif isinstance(body, bytes):
        raw = body
    else:
        raw = json.dumps(body).encode()
    fields = [("intuit_tid", TID)]
    if content_type is not None:
        fields.append(("Content-Type", content_type))
    fields += [(name.replace("_", "-"), value) for name, value in headers.items()]
    return HttpResponse(status=status, headers=fields, body=raw)


def error_of(response: HttpResponse) -> errors.QBOError:
    """The error `response` stands for (it must stand for one)."""
    error = faults.error_from_response(response, realm_id=REALM)
    assert error is not None
    return error


def data_fault(*details: tuple[str | None, str], fault_type: str = "ValidationFault") -> Any:
    """A capitalised data-service fault with `(code, message)` errors."""
    return {
        "Fault": {
            "Error": [
                {"Message": message, "Detail": f"{message} detail", "code": code, "element": ""}
                if code is not None
                else {"Message": message, "Detail": f"{message} detail"}
                for code, message in details
            ],
            "type": fault_type,
        },
        "time": "2020-09-29T06:58:50.262-07:00",
    }


def gateway_fault(status: int, code: str, message: str, detail: str, fault_type: str) -> Any:
    """The gateway's lower-case fault, as QBO sends it at 401 / 403."""
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [{"message": message, "detail": detail, "code": code, "element": None}],
            "type": fault_type,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": 1601391072830,
        "status": None,
        "cdcresponse": [],
    }


THROTTLE_XML = (
    '<IntuitResponse time="2017-07-30T22:45:22.933-07:00" '
    'xmlns="http://schema.intuit.com/finance/v3"><Fault type="SERVICE"><Error code="3001">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "<Detail>The request limit was reached.  Try again later</Detail></Error></Fault>"
    "</IntuitResponse>"
)


# --------------------------------------------------------------------- the capitalised Fault


def test_several_errors_take_the_class_of_the_first_known_code_and_keep_every_code() -> None:
    """With several errors, the first code with a branch picks the class; all codes are kept."""
    body = data_fault(("6000", "Business"), ("6240", "Duplicate"), ("610", "Not found"))
    error = error_of(answer(400, body))
    assert type(error) is errors.DuplicateNameError
    assert error.codes == ("6000", "6240", "610")
    assert error.code == "6000"
    assert error.message == "Business"
    assert error.detail == "Business detail; Duplicate detail; Not found detail"
    assert (error.status, error.intuit_tid, error.realm_id) == (400, TID, REALM)


def test_the_first_of_two_known_codes_wins() -> None:
    """Two known codes: the earlier one's class is chosen."""
    error = error_of(answer(400, data_fault(("610", "Gone"), ("5010", "Stale"))))
    assert type(error) is errors.ObjectNotFoundError
    assert error.codes == ("610", "5010")


def test_errors_without_codes_are_kept_but_add_no_code() -> None:
    """An error without a code contributes its message and detail, not a code."""
    error = error_of(answer(400, data_fault((None, "First"), ("2010", "Bad property"))))
    assert type(error) is errors.InvalidPropertyError
    assert error.codes == ("2010",)
    assert error.message == "First"
    assert error.detail == "First detail; Bad property detail"


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "5010", errors.StaleObjectError),
        (400, "610", errors.ObjectNotFoundError),
        (400, "6240", errors.DuplicateNameError),
        (400, "2010", errors.InvalidPropertyError),
        (400, "500", errors.UnsupportedOperationError),
        (400, "1040", errors.RequestLimitError),
        (400, "4000", errors.QueryParseError),
        (400, "4001", errors.QueryValidationError),
        (400, "4002", errors.QueryProcessingError),
        (400, "10000", errors.ServerError),
        (401, "100", errors.AccessTokenInvalidError),
        (401, "3200", errors.AccessTokenInvalidError),
        (401, "120", errors.ReauthorizationRequiredError),
        (401, "130", errors.PermissionDeniedError),
        (403, "3100", errors.PermissionDeniedError),
        (429, "3001", errors.ThrottledError),
    ],
)
def test_each_known_code_maps_to_its_branch(
    status: int, code: str, cls: type[errors.QBOError]
) -> None:
    """Each QBO code with a branch of its own gives exactly that class."""
    error = error_of(answer(status, data_fault((code, "Something"))))
    assert type(error) is cls
    assert error.codes == (code,)
    assert error.status == status


def test_codes_with_leading_zeros_are_recognised() -> None:
    """`003200` (as QBO writes codes inside its messages) is code 3200."""
    error = error_of(answer(401, data_fault(("003200", "Auth"), fault_type="AuthenticationFault")))
    assert type(error) is errors.AccessTokenInvalidError
    assert error.codes == ("003200",)


def test_numeric_codes_are_read_as_strings() -> None:
    """A code sent as a JSON number is still recognised and kept as a string."""
    body = {"Fault": {"Error": [{"Message": "Stale", "code": 5010}], "type": "ValidationFault"}}
    error = error_of(answer(400, body))
    assert type(error) is errors.StaleObjectError
    assert error.codes == ("5010",)


@pytest.mark.parametrize(
    ("status", "fault_type", "cls"),
    [
        (400, "ValidationFault", errors.ValidationError),
        (500, "ValidationFault", errors.ServerError),
        (400, "SystemFault", errors.ServerError),
        (500, "SystemFault", errors.ServerError),
        (400, "AuthenticationFault", errors.AccessTokenInvalidError),
        (400, "AuthorizationFault", errors.PermissionDeniedError),
        (400, "SomethingNew", errors.ValidationError),
        (404, "SomethingNew", errors.ValidationError),
        (502, "SomethingNew", errors.ServerError),
    ],
)
def test_unknown_codes_fall_back_to_the_fault_type_then_the_status(
    status: int, fault_type: str, cls: type[errors.QBOError]
) -> None:
    """A code without a branch is classed by fault type, then by HTTP status."""
    error = error_of(answer(status, data_fault(("9999", "Odd"), fault_type=fault_type)))
    assert type(error) is cls
    assert error.codes == ("9999",)


def test_code_10000_is_a_server_error_whatever_the_status() -> None:
    """10000 "An application error has occurred" is QBO failing, even when sent with 400."""
    body = data_fault(("10000", "An application error has occurred"), fault_type="SystemFault")
    error = error_of(answer(400, body))
    assert type(error) is errors.ServerError
    assert error.retryable


def test_a_fault_inside_a_200_is_an_error() -> None:
    """QBO sometimes sends a `Fault` with 200: it is an error, classed by its code."""
    response = answer(200, data_fault(("6240", "Duplicate Name Exists Error")))
    with pytest.raises(errors.DuplicateNameError) as caught:
        responses.decode_entity_response(response, "Customer", realm_id=REALM)
    assert caught.value.status == 200
    assert caught.value.intuit_tid == TID


def test_a_200_fault_without_code_or_known_type_is_a_server_error() -> None:
    """A bare fault in a success answer means QBO failed to do the work."""
    body = {"Fault": {"Error": [{"Message": "Something failed"}], "type": "SystemFault"}}
    error = error_of(answer(200, body))
    assert type(error) is errors.ServerError
    assert error.message == "Something failed"
    bare: Any = {"Fault": {"Error": [], "type": None}}
    assert type(error_of(answer(200, bare))) is errors.ServerError


def test_a_success_without_fault_is_no_error() -> None:
    """A 2xx answer without a fault stands for no error, whatever its body."""
    assert faults.error_from_response(answer(200, {"Customer": {}})) is None
    assert faults.error_from_response(answer(204, b"", content_type=None)) is None
    assert faults.error_from_response(answer(200, b"%PDF-1.4", "application/pdf")) is None


# --------------------------------------------------------------------- the gateway's fault


def test_gateway_401_is_an_expired_access_token_without_the_token() -> None:
    """The lower-case 401 fault is `AccessTokenInvalidError`, with the echoed token redacted."""
    fragment = "AB01601390262kxzxOlnHYdhtEVRXISU7piPqQrCmmbDN35Yjd"
    body = gateway_fault(
        401,
        "3200",
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        f"Token expired: {fragment}",
        "AUTHENTICATION",
    )
    error = error_of(answer(401, body, WWW_Authenticate='Bearer realm="Intuit"'))
    assert type(error) is errors.AccessTokenInvalidError
    assert error.codes == ("3200",)
    assert error.message == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert error.detail is not None
    assert error.detail.startswith("Token expired: ")
    for shown in (str(error), repr(error), error.detail, error.message):
        assert fragment not in shown
        assert fragment[:10] not in shown


def test_gateway_403_authorization_failed_is_permission_denied() -> None:
    """403 with code 3100 (ApplicationAuthorizationFailed, type SERVICE) is a permission problem."""
    body = gateway_fault(
        403,
        "3100",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        "The access token does not have sufficient scope",
        "SERVICE",
    )
    error = error_of(answer(403, body))
    assert type(error) is errors.PermissionDeniedError
    assert error.codes == ("3100",)
    assert error.detail == "The access token does not have sufficient scope"
    assert not error.retryable


def test_an_authentication_code_under_403_is_permission_denied() -> None:
    """A 3200-style code sent with 403 is about permission, not an expired token."""
    body = gateway_fault(403, "3200", "AuthenticationFailed", "no", "AUTHENTICATION")
    assert type(error_of(answer(403, body))) is errors.PermissionDeniedError


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, errors.AccessTokenInvalidError),
        (403, errors.PermissionDeniedError),
        (429, errors.ThrottledError),
    ],
)
def test_gateway_statuses_without_codes_follow_the_status(
    status: int, cls: type[errors.QBOError]
) -> None:
    """A lower-case fault without a code is classed by its HTTP status."""
    body = {"fault": {"error": [{"message": "nope"}], "type": "SERVICE"}, "time": 1601391072830}
    error = error_of(answer(status, body))
    assert type(error) is cls
    assert error.codes == ()
    assert error.message == "nope"


# --------------------------------------------------------------------- XML faults


def test_xml_throttle_at_429_is_throttled() -> None:
    """The XML `IntuitResponse` throttle fault (namespaced) at 429 is a `ThrottledError`."""
    error = error_of(answer(429, THROTTLE_XML, "application/xml"))
    assert type(error) is errors.ThrottledError
    assert error.codes == ("3001",)
    assert error.message == "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    assert error.detail == "The request limit was reached.  Try again later"
    assert error.retryable
    assert error.retry_after is None  # Intuit sends no Retry-After; the policy decides


def test_xml_throttle_at_403_as_in_2016_is_throttled_because_the_code_wins() -> None:
    """In 2016 QBO sent the 3001 throttle fault with 403: code 3001 beats the status."""
    body = THROTTLE_XML.replace("statusCode=429", "statusCode=403")
    error = error_of(answer(403, body, "text/xml"))
    assert type(error) is errors.ThrottledError
    assert error.status == 403


def test_xml_despite_json_accept_is_read() -> None:
    """An XML fault labelled application/json (as the gateway has sent) is still read."""
    error = error_of(answer(429, THROTTLE_XML, JSON))
    assert type(error) is errors.ThrottledError


def test_xml_with_prefixed_namespaces_is_read() -> None:
    """Namespace prefixes on every element do not hide the fault."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<i:IntuitResponse xmlns:i="http://schema.intuit.com/finance/v3" time="2020-01-01">'
        '<i:Fault type="AuthenticationFault"><i:Error code="100">'
        "<i:Message>General Authentication Error</i:Message>"
        "<i:Detail>AuthenticationErrorGeneral: SRV-110-Authentication Failure</i:Detail>"
        "</i:Error></i:Fault></i:IntuitResponse>"
    )
    error = error_of(answer(401, body, "application/xml"))
    assert type(error) is errors.AccessTokenInvalidError
    assert error.codes == ("100",)
    assert error.message == "General Authentication Error"
    assert error.detail == "AuthenticationErrorGeneral: SRV-110-Authentication Failure"


def test_xml_wrong_cluster_is_permission_denied() -> None:
    """XML code 130 "Accessing Wrong Cluster" (production keys on sandbox) is a permission error."""
    body = (
        '<IntuitResponse><Fault type="AuthenticationFault"><Error code="130">'
        "<Message>Accessing Wrong Cluster</Message></Error></Fault></IntuitResponse>"
    )
    error = error_of(answer(401, body, "application/xml"))
    assert type(error) is errors.PermissionDeniedError
    assert error.codes == ("130",)


def test_xml_with_several_errors_keeps_every_code() -> None:
    """Every `<Error>` of an XML fault is kept, and the first known code picks the class."""
    body = (
        '<IntuitResponse><Fault type="ValidationFault">'
        '<Error code="6000"><Message>Business</Message></Error>'
        '<Error code="5010" element="SyncToken"><Message>Stale</Message></Error>'
        "</Fault></IntuitResponse>"
    )
    error = error_of(answer(400, body, "application/xml"))
    assert type(error) is errors.StaleObjectError
    assert error.codes == ("6000", "5010")


def test_empty_batch_xml_fault_is_a_validation_error() -> None:
    """The XML "Batch Request is Empty" fault (code 400, an unknown code) is a validation error."""
    body = (
        '<IntuitResponse><Fault type="ValidationFault"><Error code="400">'
        "<Message>MalformedRequest</Message><Detail>Batch Request is Empty</Detail>"
        "</Error></Fault></IntuitResponse>"
    )
    error = error_of(answer(400, body, "application/xml"))
    assert type(error) is errors.ValidationError
    assert error.detail == "Batch Request is Empty"


def test_malformed_xml_falls_back_to_the_status() -> None:
    """An XML body that does not parse is classed by status, with an excerpt."""
    body = "<IntuitResponse><Fault><Error code='3001'>"
    error = error_of(answer(429, body, "application/xml"))
    assert type(error) is errors.ThrottledError
    assert error.codes == ()
    assert error.detail == body


def test_xml_declaring_an_unknown_encoding_is_classed_by_status() -> None:
    """An XML fault declaring an encoding Python lacks is read by status, not a LookupError."""
    body = (
        '<?xml version="1.0" encoding="x-no-such-charset"?>'
        '<IntuitResponse><Fault type="SystemFault"><Error code="10000">'
        "<Message>An application error has occurred</Message></Error></Fault></IntuitResponse>"
    )
    error = error_of(answer(500, body, "application/xml"))
    assert isinstance(error, errors.ServerError)


# --------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120.0), ("0", 0.0), (" 7 ", 7.0), ("1.5", 1.5), ("-5", 0.0)],
)
def test_retry_after_in_seconds_is_read(value: str, seconds: float) -> None:
    """`Retry-After` as delta-seconds gives that many seconds (never negative)."""
    error = error_of(answer(429, THROTTLE_XML, "application/xml", Retry_After=value))
    assert error.retry_after == seconds
    assert f"retry_after={seconds}" in str(error)


@pytest.mark.parametrize("value", ["soon", "", "inf", "nan", "1e999", "Wed, 99 Foo 2015"])
def test_unreadable_retry_after_is_none(value: str) -> None:
    """A `Retry-After` that is neither finite seconds nor an HTTP date is ignored."""
    error = error_of(answer(429, b"", None, Retry_After=value))
    assert type(error) is errors.ThrottledError
    assert error.retry_after is None


def test_retry_after_as_an_http_date_counts_from_the_date_header() -> None:
    """`Retry-After` as an HTTP date is measured from the response's `Date`."""
    response = answer(
        503,
        b"",
        None,
        Retry_After="Wed, 21 Oct 2015 07:28:00 GMT",
        Date="Wed, 21 Oct 2015 07:26:30 GMT",
    )
    error = error_of(response)
    assert type(error) is errors.ServerError
    assert error.retry_after == 90.0


def test_retry_after_date_in_the_past_is_zero() -> None:
    """A `Retry-After` date before the response's `Date` means retry now."""
    response = answer(
        429,
        b"",
        None,
        Retry_After="Wed, 21 Oct 2015 07:20:00 GMT",
        Date="Wed, 21 Oct 2015 07:26:30 GMT",
    )
    assert error_of(response).retry_after == 0.0


def test_retry_after_date_without_a_date_header_is_none() -> None:
    """Without a `Date` there is no clock to measure an HTTP date against (no I/O, no time)."""
    response = answer(429, b"", None, Retry_After="Wed, 21 Oct 2015 07:28:00 GMT")
    assert error_of(response).retry_after is None


def test_retry_after_date_with_minus_zero_zone_is_read() -> None:
    """A `-0000` zone (RFC 5322 "UTC, origin unknown") still gives seconds, not a TypeError."""
    response = answer(
        429,
        b"",
        None,
        Retry_After="Wed, 21 Oct 2015 07:28:00 -0000",
        Date="Wed, 21 Oct 2015 07:27:00 GMT",
    )
    assert error_of(response).retry_after == 60.0


# --------------------------------------------------------------------- pages from proxies


@pytest.mark.parametrize("status", [502, 503, 504])
def test_html_gateway_pages_are_server_errors_with_an_excerpt(status: int) -> None:
    """An HTML error page from a load balancer is a `ServerError` keeping the page's start."""
    page = (
        "<html><head><title>"
        + f"{status} Gateway"
        + "</title></head><body>"
        + "<center><h1>Bad Gateway</h1></center>" * 20
        + "</body></html>"
    )
    response = answer(status, page, "text/html; charset=utf-8")
    error = error_of(response)
    assert type(error) is errors.ServerError
    assert error.retryable
    assert error.codes == ()
    assert f"HTTP {status}" in error.message
    assert "text/html" in error.message
    assert error.detail == page[: faults.EXCERPT_BYTES]
    assert len(page) > faults.EXCERPT_BYTES
    with pytest.raises(errors.ServerError):
        responses.decode_query(response)


@pytest.mark.parametrize("status", [500, 503])
def test_empty_server_error_bodies_are_server_errors(status: int) -> None:
    """An empty 500/503 is a `ServerError` saying the body was empty."""
    error = error_of(answer(status, b"", None, Content_Length="0"))
    assert type(error) is errors.ServerError
    assert "empty body" in error.message
    assert error.detail is None
    assert error.intuit_tid == TID


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.ValidationError),
        (401, errors.AccessTokenInvalidError),
        (404, errors.ValidationError),
        (500, errors.ServerError),
    ],
)
def test_plain_text_errors_are_classed_by_status(status: int, cls: type[errors.QBOError]) -> None:
    """A text/plain error body is classed by status and kept as the detail."""
    error = error_of(answer(status, "Something went wrong upstream", "text/plain"))
    assert type(error) is cls
    assert error.detail == "Something went wrong upstream"
    assert "text/plain" in error.message


def test_truncated_fault_json_is_classed_by_status_with_an_excerpt() -> None:
    """A 400 whose fault JSON was cut off is a `ValidationError` keeping what arrived."""
    text = json.dumps(data_fault(("6240", "Duplicate")))[:60]
    error = error_of(answer(400, text))
    assert type(error) is errors.ValidationError
    assert error.codes == ()
    assert error.detail == text


def test_bearer_tokens_in_error_pages_are_redacted() -> None:
    """A proxy echoing the Authorization header never puts the token into the error."""
    error = error_of(
        answer(502, "upstream said: Authorization: Bearer abcdefghijklmnop1234", "text/plain")
    )
    assert "abcdefghijklmnop1234" not in str(error)
    assert "abcdefghijklmnop1234" not in repr(error)


def test_intuit_tid_is_read_under_either_spelling() -> None:
    """`intuit_tid` and `Intuit-Tid` both give the transaction id."""
    for name in ("intuit_tid", "Intuit-Tid", "INTUIT_TID"):
        response = HttpResponse(status=500, headers={name: "tid-1"}, body=b"")
        assert faults.intuit_tid(response) == "tid-1"
        assert error_of(response).intuit_tid == "tid-1"
    assert faults.intuit_tid(HttpResponse(status=500)) is None


# --------------------------------------------------------------------- not a JSON object


DECODERS: dict[str, Callable[[HttpResponse], object]] = {
    "entity": lambda r: responses.decode_entity_response(r, "Customer"),
    "deleted": lambda r: responses.decode_deleted(r, "Invoice"),
    "query": responses.decode_query,
    "count": responses.decode_count,
    "cdc": responses.decode_cdc,
    "batch": responses.decode_batch,
    "report": responses.decode_report,
    "upload": responses.decode_upload,
}


EVERY_DECODER: dict[str, Callable[[HttpResponse], object]] = {
    **DECODERS,
    "raise_for_fault": responses.raise_for_fault,
    "download_url": responses.decode_download_url,
    "pdf": responses.decode_pdf,
}

# --------------------------------------------------------------------- Retry-After overflow

OVERFLOWING_DATES = [
    "Wed, 21 Oct 2015 07:28:00 +99999999999999",  # a zone past any C int
    "Wed, 21 Oct 2015 99999999999:28:00 GMT",  # an hour past any C int
    "Wed, 21 Oct 99999999999999999999 07:28:00 GMT",  # a year past any C int
    "Wed, 21 Oct 2015 07:28:00 +9999",  # a zone of 99 hours: out of timezone's range
]


@pytest.mark.parametrize("header", ["Retry-After", "Date"])
@pytest.mark.parametrize("value", OVERFLOWING_DATES)
@pytest.mark.parametrize("decoder", sorted(EVERY_DECODER))
def test_overflowing_http_dates_give_a_throttle_without_a_wait(
    header: str, value: str, decoder: str
) -> None:
    """An HTTP date that overflows, in `Retry-After` or `Date`, is unreadable: no wait, no crash."""
    dates = {
        "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT",
        "Date": "Wed, 21 Oct 2015 07:27:00 GMT",
    }
    dates[header] = value
    response = HttpResponse(status=429, headers=dates, body=b"")
    with pytest.raises(errors.ThrottledError) as caught:
        EVERY_DECODER[decoder](response)
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    "value",
    ["99999999999999", "1e300", "Fri, 31 Dec 9999 23:59:59 GMT"],
)
def test_absurdly_long_retry_after_is_capped(value: str) -> None:
    """A readable but absurd wait (delta or far-future date) is capped at `MAX_RETRY_AFTER`."""
    response = answer(429, b"", None, Retry_After=value, Date="Mon, 01 Jan 0001 00:00:00 GMT")
    assert error_of(response).retry_after == faults.MAX_RETRY_AFTER


def test_retry_after_up_to_the_cap_is_kept() -> None:
    """A wait at or under the cap is taken as the server sent it."""
    response = answer(429, b"", None, Retry_After=str(int(faults.MAX_RETRY_AFTER)))
    assert error_of(response).retry_after == faults.MAX_RETRY_AFTER


# --------------------------------------------------------------------- size: checked before parsing


BIG_TEXT = "D" * 100_000
BIG_FAULTS = {
    "json": (
        json.dumps(
            {"Fault": {"Error": [{"Message": BIG_TEXT, "Detail": BIG_TEXT, "code": "6240"}]}}
        ),
        JSON,
    ),
    "xml": (
        '<IntuitResponse><Fault type="ValidationFault"><Error code="6240">'
        f"<Message>{BIG_TEXT}</Message><Detail>{BIG_TEXT}</Detail>"
        "</Error></Fault></IntuitResponse>",
        "application/xml",
    ),
    "html": (f"<html><body>{BIG_TEXT}</body></html>", "text/html"),
}


@pytest.mark.parametrize("shape", sorted(BIG_FAULTS))
@pytest.mark.parametrize("status", [200, 400, 401, 429, 500])
def test_a_body_over_the_limit_is_refused_before_parsing(shape: str, status: int) -> None:
    """Over the limit, any body at any status is `ResponseTooLargeError`, its fault unread."""
    body, content_type = BIG_FAULTS[shape]
    response = answer(status, body, content_type)
    limit = len(response.body) - 1
    error = faults.error_from_response(response, realm_id=REALM, max_bytes=limit)
    assert isinstance(error, errors.ResponseTooLargeError)
    assert isinstance(error, errors.DecodeError)
    assert not error.retryable
    assert (error.max_bytes, error.status, error.intuit_tid) == (limit, status, TID)
    assert error.codes == ()  # the 6240 inside was never read
    assert error.detail is None
    assert error.body_excerpt == body[: faults.EXCERPT_BYTES]
    with pytest.raises(errors.ResponseTooLargeError):
        responses.raise_for_fault(response, max_bytes=limit)
    # At the limit exactly, the same body is read as usual.
    at_limit = faults.error_from_response(response, realm_id=REALM, max_bytes=limit + 1)
    assert not isinstance(at_limit, errors.ResponseTooLargeError)


@pytest.mark.parametrize("shape", ["json", "xml"])
def test_a_large_fault_under_the_limit_gives_a_bounded_error(shape: str) -> None:
    """A fault under the limit is read, but its message and detail are cut with a marker."""
    body, content_type = BIG_FAULTS[shape]
    error = error_of(answer(400, body, content_type))
    assert type(error) is errors.DuplicateNameError
    for text in (error.message, error.detail or ""):
        assert text.startswith("D" * errors.MAX_TEXT_CHARS)
        assert text.endswith(f"…[truncated: {len(BIG_TEXT)} characters]")
        assert len(text) < errors.MAX_TEXT_CHARS + 50
    assert len(str(error)) < 3 * errors.MAX_TEXT_CHARS


@pytest.fixture(scope="module")
def over_the_default_limit() -> HttpResponse:
    """A JSON fault one byte over `MAX_RESPONSE_BYTES` (200 MiB, built once for the module)."""
    head, tail = b'{"Fault":{"Error":[{"code":"6240"}]}', b"}"
    padding = b" " * (MAX_RESPONSE_BYTES - len(head) - len(tail) + 1)
    return HttpResponse(status=400, headers={"intuit_tid": TID}, body=head + padding + tail)


@pytest.mark.parametrize("decoder", sorted(EVERY_DECODER))
def test_every_decoder_refuses_a_body_over_the_default_limit(
    decoder: str, over_the_default_limit: HttpResponse
) -> None:
    """Every decoder refuses a body over `MAX_RESPONSE_BYTES` unparsed (its 6240 unread)."""
    assert len(over_the_default_limit.body) == MAX_RESPONSE_BYTES + 1
    with pytest.raises(errors.ResponseTooLargeError) as caught:
        EVERY_DECODER[decoder](over_the_default_limit)
    assert caught.value.max_bytes == MAX_RESPONSE_BYTES
    assert caught.value.codes == ()


@pytest.mark.parametrize("decoder", sorted(DECODERS))
@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b'{"QueryResponse":{"Customer":[{"Id":"1","Displ', JSON, "truncated JSON"),
        (b"", JSON, "empty body"),
        (b"[1, 2, 3]", JSON, "got a JSON list"),
        (b'"just a string"', JSON, "got a JSON str"),
        (b"42", JSON, "got a JSON int"),
        (b"null", JSON, "got a JSON NoneType"),
        (b"<html><body>Maintenance</body></html>", "text/html", "expected JSON, got text/html"),
        (b'{"a":1}', "application/pdf", "expected JSON, got application/pdf"),
        (b"\xff\xfe\x00garbage", JSON, "malformed"),
    ],
)
def test_a_200_that_is_not_a_json_object_is_a_decode_error(
    decoder: str, body: bytes, content_type: str, problem: str
) -> None:
    """Truncated, empty, non-object or non-JSON 200 bodies raise `DecodeError` with an excerpt;
    only the damaged ones (`IncompleteResponseError`) are retryable."""
    response = answer(200, body, content_type)
    with pytest.raises(errors.DecodeError) as caught:
        DECODERS[decoder](response)
    error = caught.value
    assert problem in error.message
    assert error.status == 200
    assert error.intuit_tid == TID
    assert error.body_excerpt == body[: faults.EXCERPT_BYTES].decode("utf-8", "replace")
    # A body that does not parse was damaged on the way (retryable, like a lost answer);
    # one that parses into the wrong shape would fail the same way again.
    damaged = problem in ("truncated JSON", "empty body", "malformed")
    assert isinstance(error, errors.IncompleteResponseError) is damaged
    assert error.retryable is damaged


def test_text_plain_json_is_accepted() -> None:
    """CDC is documented as text/plain: a JSON body under that type is read."""
    response = answer(200, {"QueryResponse": {"totalCount": 3}}, "text/plain")
    assert responses.decode_count(response) == 3
    assert responses.decode_count(answer(200, {"QueryResponse": {"totalCount": 4}}, None)) == 4


# --------------------------------------------------------------------- unexpected envelopes


def decode_error_of(decode: Callable[[HttpResponse], object], body: Any) -> errors.DecodeError:
    with pytest.raises(errors.DecodeError) as caught:
        decode(answer(200, body))
    assert caught.value.status == 200
    return caught.value


def test_query_response_with_two_lists_names_both() -> None:
    """A QueryResponse holding two entity lists is refused, naming them."""
    body = {"QueryResponse": {"Customer": [], "Vendor": [], "startPosition": 1}}
    error = decode_error_of(responses.decode_query, body)
    assert "QueryResponse" in error.message
    assert "'Customer'" in error.message
    assert "'Vendor'" in error.message


@pytest.mark.parametrize("inner", [None, [], "x", 3])
def test_query_response_that_is_not_an_object_is_refused(inner: Any) -> None:
    """A missing or non-object QueryResponse is a `DecodeError` naming it."""
    body: dict[str, Any] = {"time": "x"} if inner is None else {"QueryResponse": inner}
    error = decode_error_of(responses.decode_query, body)
    assert error.message.startswith("QueryResponse: expected a QueryResponse object")


def test_a_query_row_that_is_not_an_object_names_its_index() -> None:
    """A non-object row is refused with its path."""
    body = {"QueryResponse": {"Customer": [{"Id": "1"}, "oops"], "startPosition": 1}}
    error = decode_error_of(responses.decode_query, body)
    assert error.message.startswith("QueryResponse.Customer[1]: expected a Customer object")


def test_a_badly_typed_entity_field_names_the_full_path() -> None:
    """A wrongly typed field names both the envelope path and the field path."""
    body = {"QueryResponse": {"Customer": [{"Id": "1", "Balance": "lots"}], "maxResults": 1}}
    error = decode_error_of(responses.decode_query, body)
    assert error.message.startswith("QueryResponse.Customer[0]: ")
    assert "$.Balance" in error.message


def test_an_empty_query_page_has_no_type_and_no_start() -> None:
    """`{"QueryResponse":{}}` is an empty page, not an error."""
    page = responses.decode_query(answer(200, {"QueryResponse": {}, "time": "x"}))
    assert (page.entity_type, page.items, page.start_position, page.max_results) == (
        None,
        (),
        None,
        0,
    )


def test_paging_counters_are_read_and_booleans_are_not_numbers() -> None:
    """startPosition, maxResults and totalCount are read; a boolean is not taken for a count."""
    body = {
        "QueryResponse": {
            "Customer": [{"Id": "3"}],
            "startPosition": 7,
            "maxResults": 1,
            "totalCount": 12,
        }
    }
    page = responses.decode_query(answer(200, body))
    assert (page.start_position, page.max_results, page.total_count) == (7, 1, 12)
    assert isinstance(page.items[0], Customer)
    odd = {"QueryResponse": {"Customer": [{"Id": "3"}], "maxResults": True}}
    assert responses.decode_query(answer(200, odd)).max_results == 1


@pytest.mark.parametrize(
    "inner", [{}, {"totalCount": "6"}, {"totalCount": True}, {"totalCount": 1.5}, []]
)
def test_count_needs_an_integer_total(inner: Any) -> None:
    """`decode_count` refuses a missing or non-integer totalCount, naming it."""
    error = decode_error_of(responses.decode_count, {"QueryResponse": inner})
    assert "QueryResponse.totalCount" in error.message


def test_entity_envelope_of_another_type_is_refused() -> None:
    """A body enveloping another entity than asked for is refused."""
    error = decode_error_of(
        lambda r: responses.decode_entity_response(r, "Customer"), {"Vendor": {"Id": "1"}}
    )
    assert "expected a Customer envelope" in error.message
    assert "Vendor" in error.message


def test_entity_envelope_holding_a_list_is_refused() -> None:
    """An entity envelope whose value is not an object names the envelope."""
    error = decode_error_of(
        lambda r: responses.decode_entity_response(r, "Customer"), {"Customer": [{"Id": "1"}]}
    )
    assert error.message.startswith("Customer: expected a Customer object")


def test_entity_envelope_key_is_matched_without_case() -> None:
    """The envelope key is found whatever its case; the entity keeps QBO's spelling."""
    entity = responses.decode_entity_response(
        answer(200, {"estimate": {"Id": "9"}, "time": "x"}), "Estimate"
    )
    assert isinstance(entity, RawEntity)
    assert entity.id == "9"


def test_deleted_needs_a_deleted_status_and_an_id() -> None:
    """`decode_deleted` refuses a live entity or a tombstone without an Id."""

    def decode(response: HttpResponse) -> DeletedEntity:
        return responses.decode_deleted(response, "Invoice")

    decode_error_of(decode, {"Invoice": {"Id": "1", "SyncToken": "0"}})
    decode_error_of(decode, {"Invoice": {"status": "Deleted"}})
    decode_error_of(decode, {"Invoice": {"status": "Deleted", "Id": 266}})
    deleted = decode(
        answer(
            200,
            {
                "Invoice": {
                    "status": "Deleted",
                    "Id": "266",
                    "MetaData": {"LastUpdatedTime": "2015-12-23T12:55:50-08:00"},
                }
            },
        )
    )
    assert isinstance(deleted, DeletedEntity)
    assert deleted.id == "266"
    assert deleted.last_updated is not None
    assert deleted.last_updated.isoformat() == "2015-12-23T12:55:50-08:00"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"BatchItemResponse": {"bId": "1"}}, "BatchItemResponse list"),
        ({"time": "x"}, "BatchItemResponse list"),
        (
            {"BatchItemResponse": [{"bId": "1", "Vendor": {}}, {"Vendor": {}}]},
            "BatchItemResponse[1]",
        ),
        ({"BatchItemResponse": [{"bId": 1, "Vendor": {}}]}, "BatchItemResponse[0]"),
        ({"BatchItemResponse": ["bid1"]}, "BatchItemResponse[0]"),
        ({"BatchItemResponse": [{"bId": "b", "Vendor": {}, "Bill": {}}]}, "BatchItemResponse[0]"),
        ({"BatchItemResponse": [{"bId": "b"}]}, "BatchItemResponse[0]"),
        (
            {"BatchItemResponse": [{"bId": "b", "QueryResponse": []}]},
            "BatchItemResponse[0].QueryResponse",
        ),
        (
            {"BatchItemResponse": [{"bId": "b", "Customer": {"Balance": "x"}}]},
            "BatchItemResponse[0].Customer",
        ),
    ],
)
def test_unexpected_batch_envelopes_name_the_path(body: Any, path: str) -> None:
    """A batch answer of the wrong shape is a `DecodeError` naming where."""
    error = decode_error_of(responses.decode_batch, body)
    assert path in error.message


def test_batch_items_keep_their_own_errors_and_tombstones() -> None:
    """Batch items decode independently: a fault, a deleted entity and an entity side by side."""
    body = {
        "BatchItemResponse": [
            {"bId": "a", "Fault": data_fault(("5010", "Stale"))["Fault"]},
            {"bId": "b", "Invoice": {"domain": "QBO", "status": "Deleted", "Id": "119"}},
            {"bId": "c", "Customer": {"Id": "5", "DisplayName": "Dukes"}},
            {"bId": "d", "Fault": "not an object"},
        ]
    }
    a, b, c, d = responses.decode_batch(answer(200, body))
    assert type(a.error) is errors.StaleObjectError
    assert a.error.status == 400
    assert a.error.intuit_tid == TID
    assert b.deleted == DeletedEntity(entity_type="Invoice", id="119")
    assert isinstance(c.entity, Customer)
    assert c.entity.display_name == "Dukes"
    assert type(d.error) is errors.ValidationError
    assert [item.ok for item in (a, b, c, d)] == [False, True, True, False]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"CDCResponse": {"QueryResponse": []}}, "CDCResponse list"),
        ({"time": "x"}, "CDCResponse list"),
        ({"CDCResponse": [{"QueryResponse": {}}]}, "CDCResponse[0]: expected a QueryResponse list"),
        ({"CDCResponse": [{"QueryResponse": []}, 7]}, "CDCResponse[1]"),
        ({"CDCResponse": [{"QueryResponse": [{}, "x"]}]}, "CDCResponse[0].QueryResponse[1]"),
        (
            {"CDCResponse": [{"QueryResponse": [{"Customer": [{"Id": "1"}, {"Balance": []}]}]}]},
            "CDCResponse[0].QueryResponse[0].Customer[1]",
        ),
    ],
)
def test_unexpected_cdc_envelopes_name_the_path(body: Any, path: str) -> None:
    """A CDC answer of the wrong shape is a `DecodeError` naming where."""
    error = decode_error_of(responses.decode_cdc, body)
    assert path in error.message


def test_cdc_separates_tombstones_and_flags_a_full_answer() -> None:
    """CDC deletions become `DeletedEntity`s, and an answer at the cap is flagged."""
    body = {
        "CDCResponse": [
            {
                "QueryResponse": [
                    {"Customer": [{"Id": "63"}, {"Id": "99"}], "startPosition": 1, "maxResults": 2},
                    {
                        "Estimate": [
                            {"Id": "34"},
                            {
                                "status": "Deleted",
                                "domain": "QBO",
                                "Id": "979",
                                "MetaData": {"LastUpdatedTime": "2015-12-23T12:55:50-08:00"},
                            },
                        ],
                        "startPosition": 1,
                        "maxResults": 2,
                    },
                ]
            }
        ],
        "time": "2015-12-23T12:56:06.196-08:00",
    }
    changes = responses.decode_cdc(answer(200, body))
    assert [e.id for e in changes.changed["Customer"]] == ["63", "99"]
    assert [e.id for e in changes.changed["Estimate"]] == ["34"]
    (tombstone,) = changes.deleted["Estimate"]
    assert (tombstone.entity_type, tombstone.id) == ("Estimate", "979")
    assert changes.total == 4
    assert not changes.capped
    assert responses.decode_cdc(answer(200, body), cap=4).capped


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Columns": {"Column": []}}, "Header and Columns"),
        ({"Header": {}, "Columns": []}, "Header and Columns"),
        ({"Header": {}, "Columns": {"Column": {}}}, "Columns.Column"),
        ({"Header": {}, "Columns": {"Column": ["x"]}}, "column is not an object"),
    ],
)
def test_unexpected_report_envelopes_are_refused(body: Any, message: str) -> None:
    """A report without Header and a Column list is a `DecodeError` naming what is missing."""
    error = decode_error_of(responses.decode_report, body)
    assert message in error.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"AttachableResponse": {}}, "AttachableResponse list"),
        ({"AttachableResponse": [{"Attachable": {}}, {"Other": {}}]}, "AttachableResponse[1]"),
        ({"AttachableResponse": [{"Attachable": []}]}, "AttachableResponse[0]"),
    ],
)
def test_unexpected_upload_envelopes_name_the_path(body: Any, message: str) -> None:
    """An upload answer of the wrong shape is a `DecodeError` naming where."""
    error = decode_error_of(responses.decode_upload, body)
    assert message in error.message


def test_pdf_needs_pdf_bytes_and_raises_faults() -> None:
    """`decode_pdf` returns PDF bytes, refuses anything else and raises faults."""
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    assert responses.decode_pdf(answer(200, pdf, "application/pdf")) == pdf
    with pytest.raises(errors.DecodeError) as caught:
        responses.decode_pdf(answer(200, {"Invoice": {}}))
    assert "application/json" in caught.value.message
    with pytest.raises(errors.ObjectNotFoundError):
        responses.decode_pdf(answer(400, data_fault(("610", "Object Not Found"))))


def test_download_url_is_text_and_checked() -> None:
    """The download URL arrives as text; anything but one URL is a `DecodeError`."""
    url = "https://intuit-qbo-prod-23.s3.amazonaws.com/x/attachments/a.xml?X-Amz-Expires=900"
    assert responses.decode_download_url(answer(200, url + "\n", "text/plain")) == url
    for bad in (b"not a url", b"https://a b", b"\xff\xfe", b""):
        with pytest.raises(errors.DecodeError):
            responses.decode_download_url(answer(200, bad, "text/plain"))
    with pytest.raises(errors.ObjectNotFoundError):
        responses.decode_download_url(answer(400, data_fault(("610", "Object Not Found"))))


def test_deeply_nested_raw_entities_are_a_decode_error() -> None:
    """An entity nested deeper than Python can copy is a `DecodeError`, not a RecursionError."""
    depth = 700  # below the JSON parser's own limit, above what a recursive copy survives
    body = b'{"Estimate":{"Id":"1","X":' + b"[" * depth + b"]" * depth + b"}}"
    loads(body)  # the JSON parser itself copes with this depth
    with pytest.raises(errors.DecodeError):
        responses.decode_entity_response(answer(200, body), "Estimate")


# --------------------------------------------------------------------- what a fault holds


def test_a_non_object_error_entry_hides_no_error_after_it() -> None:
    """An entry of `Error[]` that is not an object is skipped; the errors after it still count."""
    upper = {"Fault": {"Error": ["junk", {"Message": "Stale", "code": "5010"}]}}
    lower = {"fault": {"error": [7, {"message": "Gone", "code": "610"}]}}
    error = error_of(answer(400, upper))
    assert type(error) is errors.StaleObjectError
    assert (error.codes, error.message) == (("5010",), "Stale")
    error = error_of(answer(400, lower))
    assert type(error) is errors.ObjectNotFoundError
    assert (error.codes, error.message) == (("610",), "Gone")


def test_json_faults_keep_every_field_of_every_error() -> None:
    """Both JSON dialects give each error's code, message, detail and element (the field
    QBO blames), and the fault's type; a missing message is empty, an empty element None."""
    upper = {
        "Fault": {
            "Error": [
                {"Message": "Stale", "Detail": "d", "code": "5010", "element": "SyncToken"},
                {"code": 6000, "element": ""},
            ],
            "type": "ValidationFault",
        }
    }
    assert faults.parse_fault(answer(400, upper)) == faults.ParsedFault(
        errors=(
            faults.FaultDetail(code="5010", message="Stale", detail="d", element="SyncToken"),
            faults.FaultDetail(code="6000", message=""),
        ),
        fault_type="ValidationFault",
    )
    lower = {
        "fault": {
            "error": [{"message": "m", "detail": "d", "code": "3200", "element": "token"}],
            "type": "AUTHENTICATION",
        }
    }
    assert faults.parse_fault(answer(401, lower)) == faults.ParsedFault(
        errors=(faults.FaultDetail(code="3200", message="m", detail="d", element="token"),),
        fault_type="AUTHENTICATION",
    )


def test_xml_faults_keep_every_field_of_every_error() -> None:
    """An XML fault gives each error's code, message, detail and element, and its type;
    an empty or missing `<Message>` is an empty message, an empty element None."""
    body = (
        '<IntuitResponse><Fault type="ValidationFault">'
        '<Error code="5010" element="SyncToken"><Message>Stale</Message><Detail>d</Detail></Error>'
        '<Error code="6000" element=""><Message/></Error>'
        '<Error code="2010"><Detail>only a detail</Detail></Error>'
        "</Fault></IntuitResponse>"
    )
    assert faults.parse_fault(answer(400, body, "application/xml")) == faults.ParsedFault(
        errors=(
            faults.FaultDetail(code="5010", message="Stale", detail="d", element="SyncToken"),
            faults.FaultDetail(code="6000", message=""),
            faults.FaultDetail(code="2010", message="", detail="only a detail"),
        ),
        fault_type="ValidationFault",
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ({"fault": {"error": [{"message": "no"}], "type": "AUTHENTICATION"}}, JSON),
        (
            '<IntuitResponse><Fault type="AuthenticationFault"><Error code="9999">'
            "<Message>no</Message></Error></Fault></IntuitResponse>",
            "application/xml",
        ),
    ],
)
def test_the_gateway_and_xml_fault_type_picks_the_class(body: Any, content_type: str) -> None:
    """Without a known code, at a status that says nothing more (400), the gateway's or the
    XML fault's `type` decides: an authentication fault is an expired access token."""
    error = error_of(answer(400, body, content_type))
    assert type(error) is errors.AccessTokenInvalidError
    assert error.message == "no"


@pytest.mark.parametrize("status", [200, 502])
def test_xml_that_mentions_fault_without_a_fault_element_holds_no_fault(status: int) -> None:
    """An XML or HTML page that says "Fault" with no `<Fault>` element is no fault: a 200 is
    a success, an error status is classed by status with the page as the detail."""
    page = "<html><body>Fault tolerance is our business</body></html>"
    response = answer(status, page, "text/html")
    assert faults.parse_fault(response) is None
    error = faults.error_from_response(response, realm_id=REALM)
    if status == 200:
        assert error is None
    else:
        assert type(error) is errors.ServerError
        assert error.detail == page


def test_only_the_first_4_kib_are_searched_for_a_fault() -> None:
    """An XML body is parsed for a fault only when "Fault" appears in its first 4,096 bytes:
    a long page that mentions it later is classed by status, unparsed."""
    fault = '<Fault type="SystemFault"><Error code="6240"><Message>Dup</Message></Error></Fault>'

    def page(padding: int) -> str:
        return "<r>" + " " * padding + fault + "</r>"

    ends_at_4096 = page(4096 - len("<r>") - len("<Fault"))
    assert ends_at_4096.index("Fault") + len("Fault") == 4096
    error = error_of(answer(400, ends_at_4096, "application/xml"))
    assert type(error) is errors.DuplicateNameError
    one_byte_later = page(4096 - len("<r>") - len("<Fault") + 1)
    error = error_of(answer(400, one_byte_later, "application/xml"))
    assert type(error) is errors.ValidationError
    assert error.codes == ()


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("006240", errors.DuplicateNameError),
        ("0610", errors.ObjectNotFoundError),
        ("X610", errors.ValidationError),
        ("000", errors.ValidationError),
    ],
)
def test_codes_are_read_without_their_leading_zeros_only(
    code: str, cls: type[errors.QBOError]
) -> None:
    """`006240` is code 6240 (zeros dropped, nothing else): `X610` is no 610, and a code of
    zeros is no code with a branch; the code is kept as QBO wrote it."""
    error = error_of(answer(400, data_fault((code, "Something"))))
    assert type(error) is cls
    assert error.codes == (code,)


@pytest.mark.parametrize("status", [300, 304, 199])
def test_a_status_outside_2xx_is_never_a_success(status: int) -> None:
    """Only 2xx answers are successes: a 3xx (or 1xx) with any body is a `ServerError`."""
    error = error_of(answer(status, {"Customer": {"Id": "1"}}))
    assert type(error) is errors.ServerError
    assert error.message == f"QuickBooks Online answered HTTP {status} with application/json"


def test_retry_after_dates_with_other_offsets_are_compared_as_instants() -> None:
    """A `Retry-After` or `Date` in another zone than GMT is read with its offset."""
    response = answer(
        429,
        b"",
        None,
        Retry_After="Wed, 21 Oct 2015 09:28:00 +0200",
        Date="Wed, 21 Oct 2015 02:26:30 -0500",
    )
    assert error_of(response).retry_after == 90.0


def test_the_fallback_message_says_what_came_instead_of_a_fault() -> None:
    """Without a fault, the message names the status and the content type (or its absence),
    or says the body was empty."""
    assert error_of(answer(502, "oops", None)).message == (
        "QuickBooks Online answered HTTP 502 with no content type"
    )
    assert error_of(answer(500, b"  ", "text/plain")).message == (
        "QuickBooks Online answered HTTP 500 with an empty body"
    )
    assert error_of(answer(503, "down", "text/plain; charset=utf-8")).message == (
        "QuickBooks Online answered HTTP 503 with text/plain"
    )


def test_an_oversized_answer_names_its_size_the_limit_and_the_realm() -> None:
    """`ResponseTooLargeError` says how big the body was and the limit, and keeps the realm."""
    response = answer(200, b"x" * 11, "text/plain")
    error = faults.error_from_response(response, realm_id=REALM, max_bytes=10)
    assert isinstance(error, errors.ResponseTooLargeError)
    assert error.message == (
        "the 200 answer's body is 11 bytes, over the 10-byte limit; it was not parsed"
    )
    assert error.realm_id == REALM
    with pytest.raises(errors.ResponseTooLargeError) as caught:
        responses.raise_for_fault(response, realm_id=REALM, max_bytes=10)
    assert caught.value.realm_id == REALM


def test_a_decode_error_keeps_the_realm_the_status_and_the_tid() -> None:
    """`decode_error` makes a `DecodeError` carrying the realm, status, tid and an excerpt."""
    response = answer(200, b"[1]")
    error = faults.decode_error("expected an object", response, realm_id=REALM)
    assert (error.message, error.realm_id, error.status, error.intuit_tid) == (
        "expected an object",
        REALM,
        200,
        TID,
    )
    assert error.body_excerpt == "[1]"


@pytest.mark.parametrize(
    ("payload", "description"),
    [
        ({}, "an empty object"),
        ({"a": 1}, "an object with keys a"),
        (dict.fromkeys("abcdef", 1), "an object with keys a, b, c, d, e"),
        ([], "a JSON list"),
    ],
)
def test_describe_names_at_most_five_keys(payload: Any, description: str) -> None:
    """An unexpected value is described by its first five keys, or its JSON type."""
    assert faults.describe(payload) == description


@pytest.fixture(scope="module")
def fault_of_the_largest_size() -> HttpResponse:
    """A JSON fault of exactly `MAX_RESPONSE_BYTES` (200 MiB, built once for the module)."""
    head, tail = b'{"Fault":{"Error":[{"code":"6240"}]}', b"}"
    padding = b" " * (MAX_RESPONSE_BYTES - len(head) - len(tail))
    return HttpResponse(status=400, headers={"intuit_tid": TID}, body=head + padding + tail)


def test_a_fault_of_exactly_the_largest_size_is_read(
    fault_of_the_largest_size: HttpResponse,
) -> None:
    """`parse_fault` reads a body of exactly `MAX_RESPONSE_BYTES`: the limit is inclusive."""
    assert len(fault_of_the_largest_size.body) == MAX_RESPONSE_BYTES
    parsed = faults.parse_fault(fault_of_the_largest_size)
    assert parsed is not None
    assert [detail.code for detail in parsed.errors] == ["6240"]
