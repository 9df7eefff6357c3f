"""Hypothesis fuzzing of the emulator's handler: whatever arrives, a well-formed answer leaves."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

from hypothesis import event, given, settings
from hypothesis import strategies as st

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.memory.clock import FakeClock
from qbo_core.http import HttpRequest, HttpResponse

BASE = "http://emulator.invalid"

_EMULATOR = QBOEmulator(EmulatorSettings(seed=11, size="small", throttle=False), clock=FakeClock())
_REALM = _EMULATOR.realm_ids[0]
_TOKEN = _EMULATOR.oauth.mint_tokens(_REALM)["access_token"]

_SEGMENTS = st.sampled_from(
    [
        "customer",
        "invoice",
        "vendor",
        "payment",
        "query",
        "cdc",
        "batch",
        "companyinfo",
        "preferences",
        "Customer",
        "1",
        "2",
        "999999",
        "abc",
        "1.5",
        "-1",
        "",
        "..",
        "%00",
        "reports",
        "upload",
        "pdf",
        _REALM,
        "salesreceipt",
        "account",
        "taxcode",
    ]
)
_TEXT = st.text(max_size=40)
_QUERY_PARAMS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "query",
                "operation",
                "minorversion",
                "requestid",
                "entities",
                "changedSince",
                "include",
                "x",
            ]
        ),
        st.one_of(
            _TEXT, st.sampled_from(["delete", "void", "update", "75", "select * from Customer"])
        ),
    ),
    max_size=4,
)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.one_of(
                _TEXT,
                st.sampled_from(
                    [
                        "Id",
                        "SyncToken",
                        "sparse",
                        "DisplayName",
                        "Line",
                        "CustomerRef",
                        "BatchItemRequest",
                        "bId",
                        "operation",
                        "Query",
                        "Active",
                    ]
                ),
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)
_BODIES = st.one_of(
    st.binary(max_size=200),
    _TEXT.map(str.encode),
    _JSON_VALUES.map(lambda v: json.dumps(v).encode()),
)
_HEADERS = st.lists(
    st.tuples(
        st.sampled_from(["Content-Type", "Accept", "Authorization", "X-Junk", "Content-Length"]),
        st.one_of(
            st.sampled_from(
                [
                    "application/json",
                    "application/text",
                    "text/plain",
                    "application/xml",
                    f"Bearer {_TOKEN}",
                    "Bearer junk",
                    "Basic abc",
                    "",
                ]
            ),
            st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
        ),
    ),
    max_size=4,
)


@st.composite
def requests(draw: st.DrawFn) -> HttpRequest:
    segments = draw(st.lists(_SEGMENTS, min_size=1, max_size=3))
    prefix = draw(
        st.sampled_from(
            [
                f"/v3/company/{_REALM}",
                "/v3/company/123",
                "/v3",
                "",
                "/oauth2/v1/tokens/bearer",
                "/connect/oauth2",
                "/_emulator",
            ]
        )
    )
    path = prefix + "".join("/" + quote(s, safe="%") for s in segments)
    params = "&".join(f"{quote(k)}={quote(v)}" for k, v in draw(_QUERY_PARAMS))
    headers = draw(_HEADERS)
    if draw(st.integers(0, 3)) > 0:
        headers.insert(0, ("Authorization", f"Bearer {_TOKEN}"))
    return HttpRequest(
        method=draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])),
        url=f"{BASE}{path or '/'}" + (f"?{params}" if params else ""),
        headers=headers,
        body=draw(_BODIES),
    )


def _assert_well_formed(response: HttpResponse) -> None:
    assert 100 <= response.status <= 599
    if response.content_type == "application/json" and response.body:
        payload = json.loads(response.body)
        if response.status >= 400 and isinstance(payload, dict):
            assert "Fault" in payload or "fault" in payload or "error" in payload, payload


@settings(max_examples=400)
@given(requests())
def test_any_request_gets_a_well_formed_response_and_no_internal_error(
    request: HttpRequest,
) -> None:
    """Arbitrary methods, paths, headers, bodies and query strings never crash the handler."""
    response = asyncio.run(_EMULATOR.handle(request))
    event(f"status {response.status}")
    _assert_well_formed(response)
    assert not _EMULATOR.internal_errors, list(_EMULATOR.internal_errors)


_SELECT_WORDS = st.sampled_from(
    [
        "SELECT",
        "*",
        "COUNT(*)",
        "FROM",
        "Customer",
        "Invoice",
        "WHERE",
        "DisplayName",
        "=",
        "'a'",
        "'it\\'s'",
        "LIKE",
        "'%x%'",
        "IN",
        "('1','2')",
        "AND",
        "ORDERBY",
        "DESC",
        "STARTPOSITION",
        "MAXRESULTS",
        "5",
        "1001",
        "Id",
        ">",
        "MetaData.LastUpdatedTime",
        "'2026-01-01'",
        "Balance",
        "'100'",
        "(",
        ")",
        "OR",
        ",",
    ]
)


@st.composite
def data_requests(draw: st.DrawFn) -> HttpRequest:
    """Authenticated requests aimed at real data-API operations, with hostile details."""
    target = draw(
        st.sampled_from(
            [
                "/customer/1",
                "/invoice/1",
                "/vendor/2",
                "/customer",
                "/invoice",
                "/payment",
                "/salesreceipt",
                "/query",
                "/cdc",
                "/batch",
                f"/companyinfo/{_REALM}",
                "/preferences",
                "/account/1",
                "/employee",
            ]
        )
    )
    params: list[tuple[str, str]] = draw(_QUERY_PARAMS)
    if target == "/query" or draw(st.integers(0, 5)) == 0:
        statement = " ".join(draw(st.lists(_SELECT_WORDS, min_size=3, max_size=12)))
        params.append(("query", statement))
    if target == "/cdc":
        params.append(
            ("entities", draw(st.sampled_from(["Customer", "Invoice,Payment", "TaxCode", ""])))
        )
        params.append(
            ("changedSince", draw(st.sampled_from(["2025-12-20", "2020-01-01", "x", ""])))
        )
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in params)
    body = draw(_BODIES)
    if target in ("/customer", "/invoice", "/payment", "/salesreceipt", "/employee", "/batch"):
        body = json.dumps(draw(_JSON_VALUES)).encode()
    return HttpRequest(
        method=draw(st.sampled_from(["GET", "POST"])),
        url=f"{BASE}/v3/company/{_REALM}{target}" + (f"?{query}" if query else ""),
        headers=[
            ("Authorization", f"Bearer {_TOKEN}"),
            (
                "Content-Type",
                draw(st.sampled_from(["application/json", "application/text", "text/plain"])),
            ),
            ("Accept", "application/json"),
        ],
        body=body,
    )


@settings(max_examples=400)
@given(data_requests())
def test_hostile_data_api_requests_get_qbo_shaped_answers(request: HttpRequest) -> None:
    """Authenticated requests with junk bodies, queries and params get QBO faults, not crashes."""
    response = asyncio.run(_EMULATOR.handle(request))
    event(f"status {response.status}")
    _assert_well_formed(response)
    assert response.status in (200, 400, 405, 415), response.body[:300]
    assert not _EMULATOR.internal_errors, list(_EMULATOR.internal_errors)
