"""The core HTTP value types: case-insensitive headers, requests, responses, safe reprs."""

from __future__ import annotations

import string

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_core.http import Headers, HttpRequest, HttpResponse

SECRETS = st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=24, max_size=200)


# --------------------------------------------------------------------- Headers


@pytest.mark.parametrize("name", ["intuit_tid", "INTUIT_TID", "Intuit_Tid"])
def test_headers_get_ignores_case(name: str) -> None:
    """A header is found whatever the case of the name asked for."""
    headers = Headers({"Intuit_Tid": "1-5f733d9a-1d4e21aa217ba43177113df4"})
    assert headers.get(name) == "1-5f733d9a-1d4e21aa217ba43177113df4"


def test_headers_get_returns_the_default_when_absent() -> None:
    """An absent header gives the default (None unless one is passed)."""
    headers = Headers({"Accept": "application/json"})
    assert headers.get("Retry-After") is None
    assert headers.get("Retry-After", "60") == "60"


def test_headers_get_returns_the_first_of_repeated_fields() -> None:
    """With a repeated name, get returns the first value and get_all every value in order."""
    headers = Headers([("Set-Cookie", "a=1"), ("Accept", "*/*"), ("set-cookie", "b=2")])
    assert headers.get("SET-COOKIE") == "a=1"
    assert headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert headers.get_all("Missing") == []


def test_headers_contains_ignores_case_and_rejects_non_strings() -> None:
    """Membership ignores case, and a non-string is never a member."""
    headers = Headers({"Content-Type": "application/json"})
    assert "content-type" in headers
    assert "CONTENT-TYPE" in headers
    assert "Accept" not in headers
    assert 5 not in headers


def test_headers_with_header_replaces_every_field_of_that_name() -> None:
    """with_header drops all fields of the name (any case) and appends the new one."""
    headers = Headers([("Accept", "a"), ("X-Other", "o"), ("ACCEPT", "b")])
    changed = headers.with_header("accept", "application/json")
    assert list(changed) == [("X-Other", "o"), ("accept", "application/json")]
    assert headers.get_all("accept") == ["a", "b"], "the original is unchanged"


def test_headers_keep_original_names_and_order() -> None:
    """Iteration yields the fields as given, with their original spelling and order."""
    pairs = [("Accept", "application/json"), ("intuit_tid", "t"), ("QBO-Version", "1944.190")]
    headers = Headers(pairs)
    assert list(headers) == pairs
    assert len(headers) == 3


def test_headers_accept_mappings_pairs_and_headers() -> None:
    """Headers can be built from a mapping, a list of pairs, or another Headers (equal results)."""
    from_mapping = Headers({"Accept": "application/json"})
    from_pairs = Headers([("Accept", "application/json")])
    assert from_mapping == from_pairs == Headers(from_pairs)
    assert Headers() == Headers([])


@pytest.mark.parametrize("name", ["Authorization", "authorization", "Cookie", "Set-Cookie"])
@given(secret=SECRETS)
def test_headers_repr_hides_credential_headers(name: str, secret: str) -> None:
    """Authorization and cookie values never appear in the repr; other values do."""
    headers = Headers({name: f"Bearer {secret}", "Accept": "application/json"})
    shown = repr(headers)
    assert secret not in shown
    assert "<redacted>" in shown
    assert "application/json" in shown


def test_headers_are_immutable() -> None:
    """A Headers value cannot be modified in place."""
    headers = Headers({"Accept": "application/json"})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        headers.items = ()  # type: ignore[misc]


# --------------------------------------------------------------------- HttpRequest


@pytest.mark.parametrize("method", ["get", "Post", "DELETE"])
def test_request_method_is_upper_cased(method: str) -> None:
    """The method is stored upper-case whatever case it was given in."""
    assert HttpRequest(method=method, url="https://x.test/").method == method.upper()


def test_request_headers_are_converted_to_headers() -> None:
    """A plain mapping of headers becomes a case-insensitive Headers value."""
    request = HttpRequest(method="GET", url="https://x.test/", headers={"Accept": "text/plain"})
    assert isinstance(request.headers, Headers)
    assert request.headers.get("accept") == "text/plain"


def test_request_defaults() -> None:
    """A request defaults to no headers, an empty body and the transport's timeout."""
    request = HttpRequest(method="GET", url="https://x.test/")
    assert (len(request.headers), request.body, request.timeout) == (0, b"", None)


@pytest.mark.parametrize("timeout", [0, -1, -0.001, float("nan")])
def test_request_rejects_non_positive_timeouts(timeout: float) -> None:
    """A timeout must be positive seconds (or None)."""
    with pytest.raises(ValueError, match="timeout must be positive"):
        HttpRequest(method="GET", url="https://x.test/", timeout=timeout)


def test_request_accepts_a_positive_timeout() -> None:
    """A positive timeout is kept as given."""
    assert HttpRequest(method="GET", url="https://x.test/", timeout=0.5).timeout == 0.5


@given(secret=SECRETS)
def test_request_repr_hides_body_and_credentials(secret: str) -> None:
    """The repr shows method, URL and body size, never the body or the Authorization header."""
    body = f"grant_type=refresh_token&refresh_token={secret}".encode()
    request = HttpRequest(
        method="post",
        url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        headers={"Authorization": f"Basic {secret}"},
        body=body,
    )
    shown = repr(request)
    assert secret not in shown
    assert shown == (
        "HttpRequest(POST https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer, "
        f"{len(body)} bytes)"
    )


# --------------------------------------------------------------------- HttpResponse


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/json", "application/json"),
        ("application/json;charset=UTF-8", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        ("  text/html ; charset=ISO-8859-1", "text/html"),
        ("application/xml", "application/xml"),
        ("", ""),
    ],
)
def test_response_content_type_is_the_bare_lower_case_media_type(
    header: str, expected: str
) -> None:
    """content_type drops parameters and case, whatever the header's spelling."""
    response = HttpResponse(status=200, headers={"Content-Type": header})
    assert response.content_type == expected


def test_response_content_type_is_empty_when_absent() -> None:
    """A response with no Content-Type header has an empty content_type."""
    assert HttpResponse(status=204).content_type == ""


def test_response_content_type_header_name_is_case_insensitive() -> None:
    """The Content-Type header is found whatever its spelling."""
    response = HttpResponse(status=200, headers=[("content-TYPE", "text/plain")])
    assert response.content_type == "text/plain"


@given(secret=SECRETS)
def test_response_repr_hides_the_body(secret: str) -> None:
    """The repr shows status, type and size but never the body (which may hold tokens)."""
    body = f'{{"access_token":"{secret}"}}'.encode()
    response = HttpResponse(status=200, headers={"Content-Type": "application/json"}, body=body)
    shown = repr(response)
    assert secret not in shown
    assert shown == f"HttpResponse(200, application/json, {len(body)} bytes)"


def test_response_repr_without_a_type() -> None:
    """A response without a content type says so in its repr."""
    assert repr(HttpResponse(status=502)) == "HttpResponse(502, no type, 0 bytes)"


def test_requests_and_responses_are_values() -> None:
    """Equal fields make equal requests and responses, so fakes can compare what they saw."""
    first = HttpRequest(method="get", url="https://x.test/", headers={"A": "1"})
    assert first == HttpRequest(method="GET", url="https://x.test/", headers=[("A", "1")])
    assert HttpResponse(status=200, body=b"x") == HttpResponse(status=200, body=b"x")
    assert HttpResponse(status=200, body=b"x") != HttpResponse(status=200, body=b"y")


def test_headers_repr_lists_every_field_in_order() -> None:
    """The repr shows each field as `'Name': 'value'`, in order, credentials as <redacted>."""
    headers = Headers([("Accept", "application/json"), ("Authorization", "Bearer abc")])
    assert repr(headers) == "Headers({'Accept': 'application/json', 'Authorization': <redacted>})"
    assert repr(Headers()) == "Headers({})"


def test_a_request_built_from_headers_keeps_them() -> None:
    """A Headers value passed to a request or response is kept equal, repeats and order too."""
    headers = Headers([("Accept", "a"), ("accept", "b"), ("X-Other", "o")])
    assert HttpRequest(method="GET", url="https://x.test/", headers=headers).headers == headers
    assert HttpResponse(status=200, headers=headers).headers.get_all("ACCEPT") == ["a", "b"]
