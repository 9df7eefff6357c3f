"""No answer, however broken, makes a decoder raise anything but a `QBOError`.

Hypothesis throws arbitrary bytes, arbitrary JSON (with QBO's envelope and fault keys
sprinkled in), XML-ish text and arbitrary headers (any names and values; `Retry-After`,
`Date`, `Content-Type`, `intuit_tid`, `Content-Length` among them, holding numbers and
dates far out of range) at every decoder in `qbo_core.wire.responses`, with any status
from 100 to 599. Each decoder must return its DTO or raise a `QBOError`; and when the answer is a
fault, every decoder raises that same fault.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from qbo_core.entities import ENTITY_CLASSES, RawEntity
from qbo_core.errors import QBOError
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

ENTITY_TYPES = ["Customer", "Invoice", "SalesReceipt", "Payment", "Estimate", "Attachable"]

Check = Callable[[object], None]


def check_entity(value: object) -> None:
    assert isinstance(value, (RawEntity, *ENTITY_CLASSES.values()))


def check_tuple_of(cls: type) -> Check:
    def check(value: object) -> None:
        assert isinstance(value, tuple)
        assert all(isinstance(item, cls) for item in value)

    return check


def check_report(value: object) -> None:
    assert isinstance(value, Report)
    for row in value.rows:  # the typed walk copes with whatever the report holds
        assert row.kind in ("Header", "Data", "Summary")
        row.value(0)


def check_is(cls: type) -> Check:
    def check(value: object) -> None:
        assert isinstance(value, cls)
        assert not isinstance(value, bool)

    return check


def decoders(entity_type: str) -> dict[str, tuple[Callable[[HttpResponse], object], Check]]:
    """Every decoder, with a check of what it returns."""
    return {
        "entity": (
            lambda r: responses.decode_entity_response(r, entity_type, realm_id="1"),
            check_entity,
        ),
        "deleted": (lambda r: responses.decode_deleted(r, entity_type), check_is(DeletedEntity)),
        "query": (responses.decode_query, check_is(QueryPage)),
        "count": (responses.decode_count, check_is(int)),
        "cdc": (responses.decode_cdc, check_is(ChangeSet)),
        "batch": (responses.decode_batch, check_tuple_of(BatchItemResult)),
        "report": (responses.decode_report, check_report),
        "upload": (responses.decode_upload, check_tuple_of(UploadResult)),
        "download_url": (responses.decode_download_url, check_is(str)),
        "pdf": (responses.decode_pdf, check_is(bytes)),
    }


def outcome(decode: Callable[[HttpResponse], object], response: HttpResponse) -> object:
    """What `decode` returns, or the `QBOError` it raises (any other exception escapes)."""
    try:
        return decode(response)
    except QBOError as error:
        return error


def assert_only_qbo_errors(response: HttpResponse, entity_type: str = "Customer") -> None:
    """Every decoder returns its DTO or raises a `QBOError`; a fault raises the same everywhere."""
    fault = outcome(lambda r: responses.raise_for_fault(r, realm_id="1"), response)
    assert fault is None or isinstance(fault, QBOError)
    for name, (decode, check) in decoders(entity_type).items():
        value = outcome(decode, response)
        if isinstance(fault, QBOError):
            assert type(value) is type(fault), name
            assert isinstance(value, QBOError)
            assert value.codes == fault.codes, name
        elif not isinstance(value, QBOError):
            check(value)


# --------------------------------------------------------------------- strategies


STATUSES = st.one_of(
    st.sampled_from([200, 201, 204, 400, 401, 403, 404, 429, 500, 502, 503, 504]),
    st.integers(min_value=100, max_value=599),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "",
        "application/json",
        "application/json;charset=utf-8",
        "application/text",
        "text/plain",
        "text/html; charset=iso-8859-1",
        "application/xml",
        "text/xml",
        "application/pdf",
        "multipart/form-data; boundary=x",
    ]
)
#: Integers a header's date or number may hold: plausible ones, and any at all (overflow).
ANY_INT = st.integers(0, 99) | st.integers(-(10**20), 10**20)
ZONES = st.one_of(
    st.sampled_from(["GMT", "UTC", "+0000", "-0000", "+0230", "-0800", "EST", "", "+9999"]),
    ANY_INT.map(lambda n: f"{n:+d}"),  # "+99999999999999" overflows a C int
)
HTTP_DATES = st.builds(
    lambda weekday, day, month, year, hour, minute, second, zone: (
        f"{weekday}, {day} {month} {year} {hour}:{minute}:{second} {zone}".strip()
    ),
    st.sampled_from(["Wed", "Sun", ""]),
    ANY_INT,
    st.sampled_from(["Oct", "Jan", "Feb", "Foo"]),
    st.integers(1, 9999) | ANY_INT,
    ANY_INT,  # an hour of 99999999999 overflows
    ANY_INT,
    ANY_INT,
    ZONES,
)
RETRY_AFTER = st.one_of(
    st.integers(-100, 10**6).map(str),
    ANY_INT.map(str),
    st.integers(min_value=10**20, max_value=10**400).map(str),
    st.floats().map(str),
    st.sampled_from(["inf", "-inf", "nan", "1e999", "1e300", "0x10", "1_000"]),
    HTTP_DATES,
    st.text(max_size=12),
)
HEADER_NAMES = st.sampled_from(
    [
        "Retry-After",
        "retry-after",
        "Date",
        "DATE",
        "Content-Type",
        "content-type",
        "Content-Length",
        "Content-Encoding",
        "Transfer-Encoding",
        "intuit_tid",
        "Intuit-Tid",
        "Set-Cookie",
        "Authorization",
    ]
)
HEADER_VALUES = st.one_of(
    RETRY_AFTER,
    HTTP_DATES,
    CONTENT_TYPES.filter(lambda value: value is not None),
    st.text(),
)


@st.composite
def headers(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A typical set of QBO headers, any of them odd, with arbitrary fields slipped in.

    Names may repeat (a decoder reads the first); values may be any text.
    """
    fields: list[tuple[str, str]] = []
    content_type = draw(CONTENT_TYPES)
    if content_type is not None:
        fields.append(("Content-Type", content_type))
    if draw(st.booleans()):
        fields.append((draw(st.sampled_from(["intuit_tid", "Intuit-Tid"])), draw(st.text())))
    if draw(st.booleans()):
        fields.append(("Retry-After", draw(RETRY_AFTER)))
    if draw(st.booleans()):
        fields.append(("Date", draw(HTTP_DATES | st.text(max_size=12))))
    extra = draw(
        st.lists(st.tuples(HEADER_NAMES | st.text(max_size=12), HEADER_VALUES), max_size=6)
    )
    at = draw(st.integers(0, len(fields)))
    return [*fields[:at], *extra, *fields[at:]]


KEYS = st.sampled_from(
    [
        "Fault",
        "fault",
        "Error",
        "error",
        "code",
        "type",
        "Message",
        "message",
        "Detail",
        "detail",
        "element",
        "time",
        "QueryResponse",
        "BatchItemResponse",
        "CDCResponse",
        "AttachableResponse",
        "Attachable",
        "bId",
        "Customer",
        "Invoice",
        "SalesReceipt",
        "Payment",
        "Estimate",
        "Header",
        "Columns",
        "Column",
        "ColTitle",
        "ColType",
        "MetaData",
        "Option",
        "Name",
        "Value",
        "Rows",
        "Row",
        "ColData",
        "Summary",
        "group",
        "value",
        "id",
        "status",
        "Id",
        "SyncToken",
        "LastUpdatedTime",
        "CreateTime",
        "totalCount",
        "maxResults",
        "startPosition",
        "Line",
        "DetailType",
        "SalesItemLineDetail",
        "LinkedTxn",
        "Amount",
        "TotalAmt",
        "TxnDate",
        "DisplayName",
        "CustomerRef",
        "ReportName",
        "StartPeriod",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities too: `json.dumps` writes them as NaN / Infinity
    st.sampled_from(
        [
            "Deleted",
            "3001",
            "610",
            "5010",
            "6240",
            "3200",
            "ValidationFault",
            "SystemFault",
            "AUTHENTICATION",
            "SalesItemLineDetail",
            "2015-12-23T12:55:50-08:00",
            "2015-12-23",
            "https://example.test/file",
            "",
        ]
    ),
    st.text(max_size=10),
)


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5)
        ),
        max_leaves=25,
    )


PLAIN_JSON = json_values(st.text(max_size=8))
SPRINKLED_JSON = json_values(KEYS | st.text(max_size=4))

FAULT_LIKE = st.fixed_dictionaries(
    {
        "Fault": st.fixed_dictionaries(
            {
                "Error": st.lists(
                    st.dictionaries(KEYS, SCALARS | SPRINKLED_JSON, max_size=4), max_size=3
                )
                | SPRINKLED_JSON,
                "type": SCALARS,
            }
        )
        | SPRINKLED_JSON
    }
)


@st.composite
def envelopes(draw: st.DrawFn) -> Any:
    """Well-formed-looking QBO envelopes with random insides."""
    rows = st.lists(st.dictionaries(KEYS, SCALARS | SPRINKLED_JSON, max_size=6), max_size=3)
    entity = draw(st.sampled_from(ENTITY_TYPES))
    shapes = [
        {entity: draw(st.dictionaries(KEYS, SCALARS | SPRINKLED_JSON, max_size=6))},
        {"QueryResponse": {entity: draw(rows), "startPosition": draw(SCALARS)}},
        {"CDCResponse": [{"QueryResponse": [{entity: draw(rows)}]}]},
        {"BatchItemResponse": [{"bId": draw(st.text(max_size=3)), entity: draw(SPRINKLED_JSON)}]},
        {"AttachableResponse": [{"Attachable": draw(SPRINKLED_JSON)}]},
        {
            "Header": draw(st.dictionaries(KEYS, SCALARS | SPRINKLED_JSON, max_size=4)),
            "Columns": {"Column": draw(st.lists(SPRINKLED_JSON, max_size=3))},
            "Rows": {"Row": draw(st.lists(SPRINKLED_JSON, max_size=3))},
        },
        {entity: {"status": "Deleted", "Id": draw(SCALARS), "MetaData": draw(SPRINKLED_JSON)}},
    ]
    return draw(st.sampled_from(shapes))


XML_PIECES = st.sampled_from(
    [
        "<",
        ">",
        "</",
        "/>",
        "<?xml version='1.0'?>",
        "<?xml version='1.0' encoding='utf-8'?>",
        "<?xml version='1.0' encoding='iso-8859-1'?>",
        "<?xml version='1.0' encoding='x-unknown'?>",
        "IntuitResponse",
        '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3">',
        "</IntuitResponse>",
        "<Fault",
        '<Fault type="SERVICE">',
        "</Fault>",
        '<Error code="3001">',
        "<Error code='610' element='Id'>",
        "<Error>",
        "</Error>",
        "<Message>",
        "</Message>",
        "<Detail>",
        "</Detail>",
        '<ns:Fault xmlns:ns="urn:x">',
        "&amp;",
        "&#0;",
        "&undefined;",
        "<![CDATA[",
        "]]>",
        '<!DOCTYPE x [<!ENTITY e "Fault">]>',
        "&e;",
        "<html><body>",
        "Fault",
    ]
)
XML_NOISE = st.lists(XML_PIECES | st.text(max_size=6), max_size=25).map("".join)


@st.composite
def xml_faults(draw: st.DrawFn) -> str:
    """An `IntuitResponse` fault with random declaration, namespaces, errors and noise."""
    declaration = draw(
        st.sampled_from(
            [
                "",
                "<?xml version='1.0'?>",
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
                "<?xml version='1.0' encoding='iso-8859-1'?>",
                "<?xml version='1.0' encoding='utf-16'?>",
                "<?xml version='1.0' encoding='x-unknown-charset'?>",
            ]
        )
    )
    prefix = draw(st.sampled_from(["", "i:"]))
    namespace = draw(
        st.sampled_from(["", ' xmlns="http://schema.intuit.com/finance/v3"', ' xmlns:i="urn:x"'])
    )
    text = st.text(max_size=12).map(
        lambda t: t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    )
    errors = []
    for _ in range(draw(st.integers(0, 3))):
        code = draw(st.sampled_from(["3001", "610", "100", "130", "3200", "", "abc"]) | text)
        attribute = draw(st.sampled_from(["code", "Code", "element"]))
        message = draw(text)
        detail = draw(text | st.sampled_from(["<![CDATA[x]]>", "<b>x</b>", ""]))
        errors.append(
            f'<{prefix}Error {attribute}="{code}"><{prefix}Message>{message}</{prefix}Message>'
            f"<{prefix}Detail>{detail}</{prefix}Detail></{prefix}Error>"
        )
    fault_type = draw(st.sampled_from(["SERVICE", "ValidationFault", "SystemFault", ""]))
    body = (
        f"{declaration}<{prefix}IntuitResponse{namespace}>"
        f'<{prefix}Fault type="{fault_type}">{"".join(errors)}</{prefix}Fault>'
        f"</{prefix}IntuitResponse>"
    )
    cut = draw(st.integers(0, len(body)) | st.just(len(body)))
    return body[:cut] + draw(st.sampled_from(["", "trailing", "<extra/>"]) | XML_NOISE)


XML_TEXT = xml_faults() | XML_NOISE


# --------------------------------------------------------------------- properties


@given(status=STATUSES, fields=headers(), body=st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_qbo_errors(
    status: int, fields: list[tuple[str, str]], body: bytes
) -> None:
    """Any bytes, with any status and headers, give a DTO or a `QBOError`."""
    assert_only_qbo_errors(HttpResponse(status=status, headers=fields, body=body))


@given(status=STATUSES, fields=headers(), value=PLAIN_JSON, cut=st.integers(0, 400))
def test_arbitrary_json_raises_only_qbo_errors(
    status: int, fields: list[tuple[str, str]], value: Any, cut: int
) -> None:
    """Any JSON value, whole or truncated, gives a DTO or a `QBOError`."""
    body = json.dumps(value).encode()
    assert_only_qbo_errors(HttpResponse(status=status, headers=fields, body=body))
    assert_only_qbo_errors(HttpResponse(status=status, headers=fields, body=body[:cut]))


@given(
    status=STATUSES,
    fields=headers(),
    value=SPRINKLED_JSON | FAULT_LIKE | envelopes(),
    entity_type=st.sampled_from(ENTITY_TYPES),
)
def test_json_with_qbo_keys_raises_only_qbo_errors(
    status: int, fields: list[tuple[str, str]], value: Any, entity_type: str
) -> None:
    """JSON built from QBO's own keys and envelopes gives a DTO or a `QBOError`."""
    body = json.dumps(value).encode()
    assert_only_qbo_errors(HttpResponse(status=status, headers=fields, body=body), entity_type)


@given(status=STATUSES, fields=headers(), text=XML_TEXT)
def test_xml_ish_text_raises_only_qbo_errors(
    status: int, fields: list[tuple[str, str]], text: str
) -> None:
    """XML-ish text, well-formed or not, gives a DTO or a `QBOError`."""
    assert_only_qbo_errors(HttpResponse(status=status, headers=fields, body=text.encode()))


@given(
    depth=st.integers(min_value=0, max_value=1500),
    bracket=st.sampled_from([("[", "]"), ('{"a":', "}")]),
    entity_type=st.sampled_from(ENTITY_TYPES),
)
def test_deeply_nested_json_raises_only_qbo_errors(
    depth: int, bracket: tuple[str, str], entity_type: str
) -> None:
    """Nesting of any depth inside an entity gives a DTO or a `QBOError`, never a RecursionError."""
    opening, closing = bracket
    inner = opening * depth + "1" + closing * depth
    for text in (
        f'{{"{entity_type}":{{"Id":"1","X":{inner}}}}}',
        f'{{"QueryResponse":{{"{entity_type}":[{{"X":{inner}}}]}}}}',
        f'{{"Fault":{{"Error":[{{"Message":{inner}}}]}}}}',
    ):
        response = HttpResponse(
            status=200, headers={"Content-Type": "application/json"}, body=text.encode()
        )
        assert_only_qbo_errors(response, entity_type)
