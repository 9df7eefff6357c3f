"""`qbo_core.wire.oauth`: requests as Intuit documents them, every answer a value or a QBOError."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.memory import FakeClock
from qbo_core.config import QBOConfig
from qbo_core.errors import (
    ConfigurationError,
    DecodeError,
    InvalidClientError,
    QBOError,
    ReauthorizationRequiredError,
    ServerError,
    ThrottledError,
    ValidationError,
)
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.wire import oauth

NOW = datetime(2026, 1, 1, tzinfo=UTC)
BASE = "http://emulator.invalid"
CONFIG = QBOConfig(
    client_id="wire-client",
    client_secret="wire-secret-value",
    redirect_uri="http://localhost:8765/callback",
    token_endpoint=f"{BASE}/oauth2/v1/tokens/bearer",
    revocation_endpoint=f"{BASE}/v2/oauth2/tokens/revoke",
    authorization_endpoint=f"{BASE}/connect/oauth2",
)


def answer(status: int, body: Any, **headers: str) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status=status, body=raw, headers=headers)


def test_authorization_url_carries_every_parameter() -> None:
    """client_id, space-joined scopes, redirect_uri, response_type=code and the state."""
    url = oauth.build_authorization_url(CONFIG, state="s" * 32, scopes=("openid", "email"))
    assert url.startswith(f"{BASE}/connect/oauth2?")
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "client_id": ["wire-client"],
        "scope": ["openid email"],
        "redirect_uri": ["http://localhost:8765/callback"],
        "response_type": ["code"],
        "state": ["s" * 32],
    }


def test_a_short_or_odd_state_is_refused() -> None:
    """A state that is short or not URL-safe is a programming error, refused at once."""
    with pytest.raises(ValueError, match="state"):
        oauth.build_authorization_url(CONFIG, state="short")


def test_token_requests_use_basic_auth_a_form_and_the_hard_expiry_header() -> None:
    """Code exchange and refresh: POST form, Basic client auth, Intuit's opt-in header."""
    exchange = oauth.build_code_exchange(CONFIG, code="AB1code")
    refresh = oauth.build_refresh(CONFIG, refresh_token="AB1refresh")
    expected = "Basic " + base64.b64encode(b"wire-client:wire-secret-value").decode()
    for request in (exchange, refresh):
        assert request.method == "POST"
        assert request.url == f"{BASE}/oauth2/v1/tokens/bearer"
        assert request.headers.get("authorization") == expected
        assert request.headers.get("content-type") == "application/x-www-form-urlencoded"
        assert request.headers.get(oauth.HARD_EXPIRY_HEADER) == "true"
    assert parse_qs(exchange.body.decode()) == {
        "grant_type": ["authorization_code"],
        "code": ["AB1code"],
        "redirect_uri": ["http://localhost:8765/callback"],
    }
    assert parse_qs(refresh.body.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["AB1refresh"],
    }
    quiet = QBOConfig(client_id="a", client_secret="b", request_hard_expiry=False)
    assert oauth.HARD_EXPIRY_HEADER not in oauth.build_refresh(quiet, refresh_token="x").headers


def test_missing_credentials_are_a_configuration_error() -> None:
    """Without client credentials no token request is built."""
    with pytest.raises(ConfigurationError):
        oauth.build_refresh(QBOConfig(), refresh_token="x")


def test_revoke_is_json_with_basic_auth() -> None:
    """Revoke posts `{"token": ...}` as JSON with Basic auth."""
    request = oauth.build_revoke(CONFIG, token="AB1refresh")
    assert request.url == f"{BASE}/v2/oauth2/tokens/revoke"
    assert json.loads(request.body) == {"token": "AB1refresh"}
    assert request.headers.get("content-type") == "application/json"


def test_decodes_a_token_response_with_every_expiry() -> None:
    """expires_in, x_refresh_token_expires_in and the hard expiry become instants from `now`."""
    body = {
        "token_type": "bearer",
        "expires_in": 3600,
        "refresh_token": "AB1refresh",
        "x_refresh_token_expires_in": 8726400,
        "x_refresh_token_hard_expires_in": 157680000,
        "access_token": "eyJaccess",
    }
    tokens = oauth.decode_token_response(answer(200, body), now=NOW, config=CONFIG, realm_id="1")
    assert tokens.access_token_expires_at == NOW + timedelta(seconds=3600)
    assert tokens.refresh_token_expires_at == NOW + timedelta(seconds=8726400)
    assert tokens.refresh_token_hard_expires_at == NOW + timedelta(seconds=157680000)
    assert tokens.realm_id == "1"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"error": "invalid_grant", "error_description": "Token invalid"}, None),
        (401, {"error": "invalid_client"}, InvalidClientError),
        (401, b"", InvalidClientError),
        (400, {"error": "unsupported_grant_type"}, ValidationError),
        (429, b"slow down", ThrottledError),
        (502, b"<html>Bad Gateway</html>", ServerError),
        (400, b"<html>oops</html>", DecodeError),
        (200, b"<html>a login page</html>", DecodeError),
        (200, {"access_token": "a"}, DecodeError),
        (200, {"access_token": "a", "refresh_token": "b", "expires_in": -1}, DecodeError),
        (200, {"access_token": "a b", "refresh_token": "b"}, DecodeError),
    ],
)
def test_every_failure_is_typed(status: int, body: Any, error: type[QBOError] | None) -> None:
    """invalid_grant → reauthorization, invalid_client, throttling, 5xx, and junk → DecodeError."""
    expected = error or ReauthorizationRequiredError
    with pytest.raises(expected) as caught:
        oauth.decode_token_response(answer(status, body), now=NOW, config=CONFIG)
    if error is None:
        assert caught.value.codes == ("invalid_grant",)


def test_a_decode_error_never_quotes_the_tokens() -> None:
    """A malformed token response is described by shape, never by its content."""
    body = {"access_token": "secret-access-1234567890", "refresh_token": "", "expires_in": 1}
    with pytest.raises(DecodeError) as caught:
        oauth.decode_token_response(answer(200, body), now=NOW, config=CONFIG)
    assert "secret-access" not in repr(caught.value) + str(caught.value.body_excerpt)


async def test_decodes_the_emulators_real_answers() -> None:
    """The emulator's discovery document, minted tokens and invalid_grant decode as expected."""
    clock = FakeClock()
    emulator = QBOEmulator(
        EmulatorSettings(client_id="wire-client", client_secret="wire-secret-value"),
        clock=clock,
        base_url=BASE,
    )
    discovered = oauth.decode_discovery(
        await emulator.handle(
            HttpRequest(method="GET", url=f"{BASE}/.well-known/openid_configuration")
        )
    )
    assert discovered.token_endpoint == CONFIG.token_endpoint
    assert discovered.revocation_endpoint == CONFIG.revocation_endpoint
    payload = emulator.control.mint_tokens(emulator.realm_ids[0])
    refresh = oauth.build_refresh(CONFIG, refresh_token=payload["refresh_token"])
    tokens = oauth.decode_token_response(
        await emulator.handle(refresh), now=clock.now(), config=CONFIG
    )
    assert tokens.refresh_token_hard_expires_at is not None
    emulator.control.revoke_tokens()
    again = oauth.build_refresh(CONFIG, refresh_token=tokens.refresh_token)
    with pytest.raises(ReauthorizationRequiredError):
        oauth.decode_token_response(await emulator.handle(again), now=clock.now(), config=CONFIG)
    revoke = oauth.build_revoke(CONFIG, token=tokens.refresh_token)
    oauth.decode_revoke(await emulator.handle(revoke))


OAUTH_KEYS = [
    "access_token",
    "refresh_token",
    "expires_in",
    "x_refresh_token_expires_in",
    "x_refresh_token_hard_expires_in",
    "token_type",
    "scope",
    "error",
    "error_description",
    "authorization_endpoint",
    "token_endpoint",
    "revocation_endpoint",
    "userinfo_endpoint",
    "issuer",
    "jwks_uri",
]
VALUES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
JSONISH = st.dictionaries(st.sampled_from(OAUTH_KEYS) | st.text(max_size=5), VALUES, max_size=8)
BODIES = st.binary(max_size=200) | JSONISH.map(lambda d: json.dumps(d).encode()) | st.just(b"[]")
RESPONSES = st.builds(
    HttpResponse,
    status=st.integers(min_value=100, max_value=599) | st.just(200),
    body=BODIES,
    headers=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3),
)


@given(response=RESPONSES)
def test_every_decoder_returns_a_value_or_a_qbo_error(response: HttpResponse) -> None:
    """Whatever comes back, the decoders give their value or raise a QBOError, nothing else."""
    for decode in (
        lambda: oauth.decode_token_response(response, now=NOW, config=CONFIG),
        lambda: oauth.decode_discovery(response),
        lambda: oauth.decode_revoke(response),
    ):
        with contextlib.suppress(QBOError):
            decode()
    assert isinstance(oauth.decode_oauth_error(response), QBOError)


# --------------------------------------------------------------------- exact wire forms


def test_authorization_url_is_exactly_intuits_form() -> None:
    """The query is form-encoded in the documented order: a space between scopes is `+`,
    the redirect URI percent-encoded, `response_type=code`, then the state."""
    url = oauth.build_authorization_url(CONFIG, state="s" * 16, scopes=("openid", "email"))
    assert url == (
        f"{BASE}/connect/oauth2?client_id=wire-client&scope=openid+email"
        "&redirect_uri=http%3A%2F%2Flocalhost%3A8765%2Fcallback&response_type=code"
        "&state=ssssssssssssssss"
    )


def test_authorization_url_defaults_to_the_configured_scopes() -> None:
    """Without `scopes`, the configuration's scopes are asked for."""
    config = attrs.evolve(CONFIG, scopes=("com.intuit.quickbooks.accounting", "openid"))
    query = parse_qs(urlsplit(oauth.build_authorization_url(config, state="s" * 16)).query)
    assert query["scope"] == ["com.intuit.quickbooks.accounting openid"]


def test_authorization_url_keeps_an_endpoints_own_query() -> None:
    """An authorization endpoint that has a query already gets ours after an `&`; the
    endpoints given are used rather than the configuration's."""
    endpoints = oauth.OAuthEndpoints(
        authorization_endpoint="https://auth.example/authorize?tenant=1",
        token_endpoint="https://auth.example/token",
        revocation_endpoint="https://auth.example/revoke",
    )
    url = oauth.build_authorization_url(CONFIG, state="s" * 16, endpoints=endpoints)
    assert url.startswith("https://auth.example/authorize?tenant=1&client_id=wire-client&")


@pytest.mark.parametrize("state", ["a" * 16, "a" * 512, "AZaz09._~-" * 2])
def test_a_state_of_16_to_512_url_safe_characters_is_taken(state: str) -> None:
    """16 and 512 characters, letters, digits and `._~-` are all allowed."""
    url = oauth.build_authorization_url(CONFIG, state=state)
    assert parse_qs(urlsplit(url).query)["state"] == [state]


@pytest.mark.parametrize("state", ["a" * 15, "a" * 513, "a" * 15 + "/", "a" * 15 + " ", ""])
def test_a_state_outside_16_to_512_url_safe_characters_is_refused(state: object) -> None:
    """15 or 513 characters, or any character outside `[A-Za-z0-9._~-]`, is refused."""
    with pytest.raises(ValueError, match=r"^state must be 16 to 512 URL-safe characters$"):
        oauth.build_authorization_url(CONFIG, state=state)  # type: ignore[arg-type]


def test_a_state_that_is_not_text_is_refused() -> None:
    """A state that is not a string is refused as a `ValueError`, not a `TypeError`."""
    with pytest.raises(ValueError, match=r"^state must"):
        oauth.build_authorization_url(CONFIG, state=12345678901234567)  # type: ignore[arg-type]


@pytest.mark.parametrize("scopes", [(), ("openid", ""), ("openid email",)])
def test_empty_or_spaced_scopes_are_refused(scopes: tuple[str, ...]) -> None:
    """No scopes, an empty scope or a scope holding a space is refused."""
    with pytest.raises(ValueError, match=r"^scopes must be non-empty scope names without spaces$"):
        oauth.build_authorization_url(CONFIG, state="s" * 16, scopes=scopes)


def test_authorization_url_needs_a_client_id_and_a_redirect_uri() -> None:
    """A missing client id or redirect URI is a `ConfigurationError` naming the field."""
    with pytest.raises(ConfigurationError) as caught:
        oauth.build_authorization_url(attrs.evolve(CONFIG, client_id=None), state="s" * 16)
    assert caught.value.field == "client_id"
    with pytest.raises(ConfigurationError) as caught:
        oauth.build_authorization_url(attrs.evolve(CONFIG, redirect_uri=None), state="s" * 16)
    assert caught.value.field == "redirect_uri"
    assert caught.value.message == (
        "redirect_uri is not configured; Intuit needs it to send the user back"
    )
    with pytest.raises(ConfigurationError) as caught:
        oauth.build_code_exchange(attrs.evolve(CONFIG, redirect_uri=None), code="c")
    assert caught.value.field == "redirect_uri"


def test_token_requests_have_exactly_intuits_headers_and_form_body() -> None:
    """A refresh is a POST of `grant_type=refresh_token&refresh_token=...` (form-encoded)
    with Basic auth, JSON accepted, the form content type, our User-Agent and the opt-in
    hard-expiry header, in the configured total timeout."""
    config = attrs.evolve(CONFIG, user_agent="host-app/2.0", total_timeout=115.0)
    request = oauth.build_refresh(config, refresh_token="AB1/re+fresh=")
    assert request.method == "POST"
    assert request.url == f"{BASE}/oauth2/v1/tokens/bearer"
    assert list(request.headers) == [
        ("Authorization", "Basic d2lyZS1jbGllbnQ6d2lyZS1zZWNyZXQtdmFsdWU="),
        ("Accept", "application/json"),
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("User-Agent", "host-app/2.0"),
        ("x-include-refresh-token-hard-expires-in", "true"),
    ]
    assert request.body == b"grant_type=refresh_token&refresh_token=AB1%2Fre%2Bfresh%3D"
    assert request.timeout == 115.0
    exchange = oauth.build_code_exchange(config, code="AB1code")
    assert exchange.body == (
        b"grant_type=authorization_code&code=AB1code"
        b"&redirect_uri=http%3A%2F%2Flocalhost%3A8765%2Fcallback"
    )
    assert list(exchange.headers) == list(request.headers)
    assert exchange.timeout == 115.0


def test_token_requests_go_to_the_endpoints_given() -> None:
    """With discovered endpoints, token and revoke requests go there, not to the config's."""
    endpoints = oauth.OAuthEndpoints(
        authorization_endpoint="https://auth.example/authorize",
        token_endpoint="https://auth.example/token",
        revocation_endpoint="https://auth.example/revoke",
    )
    assert oauth.build_refresh(CONFIG, refresh_token="r", endpoints=endpoints).url == (
        "https://auth.example/token"
    )
    assert oauth.build_code_exchange(CONFIG, code="c", endpoints=endpoints).url == (
        "https://auth.example/token"
    )
    assert oauth.build_revoke(CONFIG, token="t", endpoints=endpoints).url == (
        "https://auth.example/revoke"
    )


def test_endpoints_from_config_are_the_configured_ones() -> None:
    """`OAuthEndpoints.from_config` takes the four endpoints the configuration names."""
    config = attrs.evolve(CONFIG, userinfo_endpoint=f"{BASE}/userinfo")
    assert oauth.OAuthEndpoints.from_config(config) == oauth.OAuthEndpoints(
        authorization_endpoint=f"{BASE}/connect/oauth2",
        token_endpoint=f"{BASE}/oauth2/v1/tokens/bearer",
        revocation_endpoint=f"{BASE}/v2/oauth2/tokens/revoke",
        userinfo_endpoint=f"{BASE}/userinfo",
    )


def test_revoke_is_exactly_a_json_token_with_basic_auth() -> None:
    """Revoke posts the compact JSON `{"token": ...}` with Basic auth and JSON headers."""
    config = attrs.evolve(CONFIG, user_agent="host-app/2.0", total_timeout=115.0)
    request = oauth.build_revoke(config, token="AB1refresh")
    assert request.method == "POST"
    assert request.body == b'{"token":"AB1refresh"}'
    assert list(request.headers) == [
        ("Authorization", "Basic d2lyZS1jbGllbnQ6d2lyZS1zZWNyZXQtdmFsdWU="),
        ("Accept", "application/json"),
        ("Content-Type", "application/json"),
        ("User-Agent", "host-app/2.0"),
    ]
    assert request.timeout == 115.0


def test_revoke_needs_the_client_secret() -> None:
    """Without a client secret no revoke is built: `ConfigurationError` naming the field."""
    with pytest.raises(ConfigurationError) as caught:
        oauth.build_revoke(attrs.evolve(CONFIG, client_secret=None), token="t")
    assert caught.value.field == "client_secret"


def test_discovery_is_a_plain_get_of_the_configured_document() -> None:
    """The discovery request GETs the configured URL, accepting JSON, with our User-Agent."""
    config = attrs.evolve(
        CONFIG, discovery_url=f"{BASE}/.well-known/openid", user_agent="ua/1", total_timeout=115.0
    )
    request = oauth.build_discovery(config)
    assert (request.method, request.url, request.body) == (
        "GET",
        f"{BASE}/.well-known/openid",
        b"",
    )
    assert list(request.headers) == [("Accept", "application/json"), ("User-Agent", "ua/1")]
    assert request.timeout == 115.0


@pytest.mark.parametrize("token", ["!", "~" * 8192, "eyJ.a-b_c/d+e="])
def test_tokens_of_1_to_8192_visible_ascii_characters_are_sent(token: str) -> None:
    """A code, refresh token or token to revoke may be 1 to 8192 visible ASCII characters."""
    assert parse_qs(oauth.build_refresh(CONFIG, refresh_token=token).body.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [token],
    }
    assert parse_qs(oauth.build_code_exchange(CONFIG, code=token).body.decode())["code"] == [token]
    assert json.loads(oauth.build_revoke(CONFIG, token=token).body) == {"token": token}


@pytest.mark.parametrize("token", ["", "a" * 8193, "a b", "a\x7f", "caf\u00e9", "a\n", None])
def test_tokens_that_are_not_visible_ascii_are_refused(token: object) -> None:
    """An empty, over-long or non-visible-ASCII token is refused, naming the argument."""
    message = "must be a non-empty string of visible ASCII characters$"
    with pytest.raises(ValueError, match=f"^refresh_token {message}"):
        oauth.build_refresh(CONFIG, refresh_token=token)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"^code {message}"):
        oauth.build_code_exchange(CONFIG, code=token)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"^token {message}"):
        oauth.build_revoke(CONFIG, token=token)  # type: ignore[arg-type]


# --------------------------------------------------------------------- OAuth errors


def test_invalid_grant_is_reauthorization_with_its_description_and_tid() -> None:
    """invalid_grant, whatever the status, asks for a new connection, keeping the code,
    the description and Intuit's transaction id."""
    response = answer(
        401, {"error": "invalid_grant", "error_description": "Token invalid"}, intuit_tid="t-1"
    )
    error = oauth.decode_oauth_error(response)
    assert type(error) is ReauthorizationRequiredError
    assert error.message == (
        "Intuit refused the grant (invalid_grant): the refresh token or code is no longer "
        "valid; the user must connect the company again"
    )
    assert (error.status, error.codes, error.intuit_tid, error.detail) == (
        401,
        ("invalid_grant",),
        "t-1",
        "Token invalid",
    )


@pytest.mark.parametrize(
    ("status", "body", "codes"),
    [(400, {"error": "invalid_client"}, ("invalid_client",)), (401, b"", ()), (401, [1], ())],
)
def test_invalid_client_or_any_401_is_an_invalid_client_error(
    status: int, body: Any, codes: tuple[str, ...]
) -> None:
    """invalid_client (any status) or a 401 without invalid_grant names the app's credentials."""
    error = oauth.decode_oauth_error(answer(status, body, **{"intuit-tid": "t-2"}))
    assert type(error) is InvalidClientError
    assert error.message == (
        "Intuit refused the app's credentials (invalid_client): check client_id and client_secret"
    )
    assert (error.status, error.codes, error.intuit_tid) == (status, codes, "t-2")


def test_invalid_client_keeps_its_description() -> None:
    """The error description Intuit gives with invalid_client is the error's detail."""
    body = {"error": "invalid_client", "error_description": "bad secret"}
    assert oauth.decode_oauth_error(answer(401, body)).detail == "bad secret"


@pytest.mark.parametrize(
    ("retry_after", "seconds"),
    [
        ("0", 0.0),
        ("2.5", 2.5),
        ("86400", 86_400.0),
        ("86400.5", None),
        ("-1", None),
        ("soon", None),
        ("nan", None),
        (None, None),
    ],
)
def test_a_429_is_throttling_with_a_sane_retry_after(
    retry_after: str | None, seconds: float | None
) -> None:
    """A 429 is a `ThrottledError`; a Retry-After of 0 to 86400 seconds is kept, else `None`."""
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    error = oauth.decode_oauth_error(
        answer(429, {"error": "slow_down"}, intuit_tid="t-429", **headers)
    )
    assert type(error) is ThrottledError
    assert error.message == "Intuit's OAuth endpoint is throttling: wait and try again"
    assert (error.status, error.codes, error.retry_after) == (429, ("slow_down",), seconds)
    assert error.intuit_tid == "t-429"


@pytest.mark.parametrize("status", [500, 503, 599])
def test_a_5xx_is_a_server_error_naming_the_status(status: int) -> None:
    """HTTP 500 and above is a `ServerError` saying which status, with any OAuth code."""
    body = {"error": "temporarily_unavailable", "error_description": "busy"}
    error = oauth.decode_oauth_error(answer(status, body, intuit_tid="t-3"))
    assert type(error) is ServerError
    assert error.message == f"Intuit's OAuth endpoint failed with HTTP {status}: try again later"
    assert (error.status, error.codes, error.intuit_tid, error.detail) == (
        status,
        ("temporarily_unavailable",),
        "t-3",
        "busy",
    )


def test_another_oauth_error_code_is_a_validation_error_naming_it() -> None:
    """An OAuth error other than the above (HTTP 499 included) is a `ValidationError`."""
    body = {"error": "unsupported_grant_type", "error_description": "no"}
    error = oauth.decode_oauth_error(answer(499, body, intuit_tid="t-4"))
    assert type(error) is ValidationError
    assert error.message == "Intuit refused the OAuth request (unsupported_grant_type)"
    assert (error.status, error.codes, error.intuit_tid, error.detail) == (
        499,
        ("unsupported_grant_type",),
        "t-4",
        "no",
    )


@pytest.mark.parametrize(
    "body", [b"<html>oops</html>", {"error": ""}, {"error": 7}, {"error_description": "x"}]
)
def test_a_body_that_is_no_oauth_error_is_a_decode_error(body: Any) -> None:
    """No error code (none, empty, not text, not JSON) under 500 is a `DecodeError`."""
    error = oauth.decode_oauth_error(answer(400, body, intuit_tid="t-5"))
    assert type(error) is DecodeError
    assert error.message == (
        "the OAuth endpoint answered HTTP 400 with a body that is not an OAuth answer"
    )
    assert (error.status, error.intuit_tid, error.codes) == (400, "t-5", ())


def test_error_codes_and_descriptions_are_cut_at_200_characters() -> None:
    """An OAuth error code or description is kept to its first 200 characters."""
    body = {"error": "e" * 250, "error_description": "d" * 250}
    error = oauth.decode_oauth_error(answer(400, body))
    assert error.codes == ("e" * 200,)
    assert error.detail == "d" * 200


def test_an_error_body_up_to_one_mebibyte_is_read() -> None:
    """A body of exactly `MAX_OAUTH_RESPONSE_BYTES` is read; one byte more is not an answer."""
    head = b'{"error":"invalid_grant","pad":"'
    exact = head + b"x" * (oauth.MAX_OAUTH_RESPONSE_BYTES - len(head) - 2) + b'"}'
    assert len(exact) == oauth.MAX_OAUTH_RESPONSE_BYTES == 1024 * 1024
    assert type(oauth.decode_oauth_error(answer(400, exact))) is ReauthorizationRequiredError
    over = exact[:-2] + b'x"}'
    assert type(oauth.decode_oauth_error(answer(400, over))) is DecodeError


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"error":"\xff"}'])
def test_a_body_that_cannot_be_parsed_is_not_an_oauth_answer(body: bytes) -> None:
    """Nesting too deep for the parser, or bytes that are not UTF-8, read as no answer."""
    assert type(oauth.decode_oauth_error(answer(400, body))) is DecodeError


# --------------------------------------------------------------------- token responses


def token_body(**fields: Any) -> dict[str, Any]:
    return {"access_token": "eyJaccess", "refresh_token": "AB1refresh", **fields}


def test_a_minimal_token_response_falls_back_to_the_configured_lifetimes() -> None:
    """Without lifetimes (or with 0), the configured ones count from `now`; no hard expiry,
    no scope, type bearer, the realm given."""
    config = attrs.evolve(CONFIG, access_token_lifetime=1800, refresh_token_lifetime=86_400)
    for fields in ({}, {"expires_in": 0, "x_refresh_token_expires_in": 0, "scope": ""}):
        tokens = oauth.decode_token_response(
            answer(200, token_body(**fields)), now=NOW, config=config, realm_id="9"
        )
        assert tokens.access_token == "eyJaccess"
        assert tokens.refresh_token == "AB1refresh"
        assert tokens.access_token_expires_at == NOW + timedelta(seconds=1800)
        assert tokens.refresh_token_expires_at == NOW + timedelta(seconds=86_400)
        assert tokens.refresh_token_hard_expires_at is None
        assert (tokens.token_type, tokens.scope, tokens.realm_id) == ("bearer", None, "9")


def test_token_response_lifetimes_may_be_text_or_exact_numbers() -> None:
    """Lifetimes as digit strings (spaces trimmed) or integral JSON numbers are read; a hard
    expiry of 0 is now; a scope is kept; `Bearer` in any case is the type."""
    body = (
        b'{"access_token":"a","refresh_token":"r","token_type":"Bearer","scope":"openid",'
        b'"expires_in":" 60 ","x_refresh_token_expires_in":120.0,'
        b'"x_refresh_token_hard_expires_in":0}'
    )
    tokens = oauth.decode_token_response(answer(200, body), now=NOW, config=CONFIG)
    assert tokens.access_token_expires_at == NOW + timedelta(seconds=60)
    assert tokens.refresh_token_expires_at == NOW + timedelta(seconds=120)
    assert tokens.refresh_token_hard_expires_at == NOW
    assert (tokens.token_type, tokens.scope, tokens.realm_id) == ("bearer", "openid", None)


def test_a_lifetime_of_100_years_is_the_most_taken() -> None:
    """A lifetime of 100 * 366 days is read; a second more is malformed."""
    most = 100 * 366 * 86_400
    tokens = oauth.decode_token_response(
        answer(200, token_body(x_refresh_token_hard_expires_in=most)), now=NOW, config=CONFIG
    )
    assert tokens.refresh_token_hard_expires_at == NOW + timedelta(seconds=most)
    with pytest.raises(DecodeError) as caught:
        oauth.decode_token_response(
            answer(200, token_body(x_refresh_token_hard_expires_in=most + 1)),
            now=NOW,
            config=CONFIG,
        )
    assert caught.value.message.endswith("malformed x_refresh_token_hard_expires_in")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"access_token": None}, "access_token"),
        ({"access_token": 5}, "access_token"),
        ({"access_token": "a b"}, "access_token"),
        ({"refresh_token": None}, "refresh_token"),
        ({"refresh_token": ""}, "refresh_token"),
        ({"refresh_token": ["r"]}, "refresh_token"),
        ({"token_type": "mac"}, "token_type"),
        ({"token_type": 1}, "token_type"),
        ({"expires_in": -1}, "expires_in"),
        ({"expires_in": True}, "expires_in"),
        ({"expires_in": "60.5"}, "expires_in"),
        ({"expires_in": "60s"}, "expires_in"),
        ({"x_refresh_token_expires_in": False}, "x_refresh_token_expires_in"),
        ({"x_refresh_token_expires_in": "-5"}, "x_refresh_token_expires_in"),
        ({"x_refresh_token_hard_expires_in": []}, "x_refresh_token_hard_expires_in"),
    ],
)
def test_a_malformed_token_response_names_the_field(fields: dict[str, Any], field: str) -> None:
    """A token, type or lifetime of the wrong shape is a `DecodeError` naming the field
    (never its value), with status 200 and Intuit's transaction id."""
    response = answer(200, token_body(**fields), intuit_tid="t-6")
    with pytest.raises(DecodeError) as caught:
        oauth.decode_token_response(response, now=NOW, config=CONFIG)
    assert caught.value.message == f"the token endpoint's answer has a missing or malformed {field}"
    assert (caught.value.status, caught.value.intuit_tid) == (200, "t-6")
    assert caught.value.__cause__ is None


def test_a_lifetime_that_fails_to_parse_is_described_without_quoting_it() -> None:
    """A lifetime whose digits Python will not read as an integer (a superscript two) is
    malformed; the parser's message, which quotes the value, is not passed on."""
    with pytest.raises(DecodeError) as caught:
        oauth.decode_token_response(
            answer(200, token_body(expires_in="\u00b2")), now=NOW, config=CONFIG
        )
    assert caught.value.message == "the token endpoint's answer has a missing or malformed a field"


def test_a_lifetime_past_the_calendar_is_a_malformed_field() -> None:
    """A lifetime that would end after the year 9999 is malformed, without a field name."""
    late = datetime(9999, 12, 1, tzinfo=UTC)
    with pytest.raises(DecodeError) as caught:
        oauth.decode_token_response(
            answer(200, token_body(expires_in=100 * 86_400)), now=late, config=CONFIG
        )
    assert caught.value.message == "the token endpoint's answer has a missing or malformed a field"


@pytest.mark.parametrize("body", [b"[]", b"<html>login</html>", b'"text"'])
def test_a_200_that_is_not_a_json_object_is_a_decode_error(body: bytes) -> None:
    """A 200 whose body is not a JSON object is a `DecodeError` saying so, with the tid."""
    with pytest.raises(DecodeError) as caught:
        oauth.decode_token_response(answer(200, body, intuit_tid="t-7"), now=NOW, config=CONFIG)
    assert caught.value.message == (
        "the token endpoint answered 200 with a body that is not a JSON object"
    )
    assert (caught.value.status, caught.value.intuit_tid) == (200, "t-7")


@pytest.mark.parametrize(
    ("error", "expected"),
    [("invalid_grant", ReauthorizationRequiredError), ("access_denied", ValidationError)],
)
def test_a_200_holding_an_oauth_error_is_that_error(error: str, expected: type[QBOError]) -> None:
    """A 200 whose body is an OAuth error is decoded as that error, as if sent with HTTP 400."""
    body = {"error": error, "access_token": "a", "refresh_token": "r"}
    with pytest.raises(expected) as caught:
        oauth.decode_token_response(answer(200, body), now=NOW, config=CONFIG)
    assert type(caught.value) is expected
    assert (caught.value.status, caught.value.codes) == (400, (error,))


def test_a_non_200_token_answer_raises_its_oauth_error() -> None:
    """A token answer other than 200 (a 201 too) raises `decode_oauth_error`'s error."""
    with pytest.raises(ValidationError) as caught:
        oauth.decode_token_response(
            answer(201, {"error": "invalid_request", **token_body()}), now=NOW, config=CONFIG
        )
    assert (caught.value.status, caught.value.codes) == (201, ("invalid_request",))


# --------------------------------------------------------------------- revoke, discovery


def test_revoke_succeeds_on_200_whatever_the_body() -> None:
    """A 200 is a done revoke, any body; any other status raises the OAuth error."""
    oauth.decode_revoke(answer(200, b"<html/>"))  # returns: the revoke is done
    with pytest.raises(InvalidClientError):
        oauth.decode_revoke(answer(401, b""))
    with pytest.raises(ValidationError, match="invalid_request"):
        oauth.decode_revoke(answer(204, {"error": "invalid_request"}))


DISCOVERY = {
    "issuer": "https://oauth.platform.intuit.com/op/v1",
    "authorization_endpoint": "https://appcenter.intuit.com/connect/oauth2",
    "token_endpoint": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    "userinfo_endpoint": "https://accounts.platform.intuit.com/v1/openid_connect/userinfo",
    "revocation_endpoint": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    "jwks_uri": "https://oauth.platform.intuit.com/op/v1/jwks",
}


def test_a_discovery_document_names_every_endpoint() -> None:
    """Each endpoint the document names is read into its field."""
    assert oauth.decode_discovery(answer(200, DISCOVERY)) == oauth.OAuthEndpoints(**DISCOVERY)


def test_optional_discovery_endpoints_may_be_absent_or_null() -> None:
    """`userinfo_endpoint`, `issuer` and `jwks_uri` may be missing or null: `None`."""
    required = {
        key: DISCOVERY[key]
        for key in ("authorization_endpoint", "token_endpoint", "revocation_endpoint")
    }
    found = oauth.decode_discovery(answer(200, {**required, "issuer": None}))
    assert found == oauth.OAuthEndpoints(**required)
    assert (found.userinfo_endpoint, found.issuer, found.jwks_uri) == (None, None, None)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("authorization_endpoint", None),
        ("token_endpoint", None),
        ("revocation_endpoint", None),
        ("token_endpoint", 7),
        ("token_endpoint", "ftp://oauth.example/token"),
        ("token_endpoint", "https:///token"),
        ("token_endpoint", "/oauth2/token"),
        ("token_endpoint", "https://oauth.example/a b"),
        ("revocation_endpoint", "https://oauth.example/\trevoke"),
        ("userinfo_endpoint", "javascript:alert(1)"),
        ("issuer", 1),
        ("jwks_uri", "file:///etc/passwd"),
    ],
)
def test_a_missing_or_odd_endpoint_is_a_decode_error_naming_it(key: str, value: object) -> None:
    """A required endpoint missing, or any endpoint not an absolute http(s) URL without
    spaces, is a `DecodeError` naming the key, with status 200 and the tid."""
    body = {**DISCOVERY, key: value}
    with pytest.raises(DecodeError) as caught:
        oauth.decode_discovery(answer(200, body, intuit_tid="t-8"))
    assert caught.value.message == f"the discovery document has a missing or malformed {key}"
    assert (caught.value.status, caught.value.intuit_tid) == (200, "t-8")


def test_plain_http_endpoints_are_taken() -> None:
    """An http endpoint (a local emulator's) is as good as an https one."""
    body = {**DISCOVERY, "token_endpoint": "http://localhost:8080/token"}
    assert oauth.decode_discovery(answer(200, body)).token_endpoint == "http://localhost:8080/token"


def test_a_discovery_answer_that_is_not_a_json_object_or_not_200_is_an_error() -> None:
    """A 200 that is not a JSON object is a `DecodeError`; another status, its OAuth error."""
    with pytest.raises(DecodeError) as caught:
        oauth.decode_discovery(answer(200, b"[]", intuit_tid="t-9"))
    assert caught.value.message == "the discovery document is not a JSON object"
    assert (caught.value.status, caught.value.intuit_tid) == (200, "t-9")
    with pytest.raises(ServerError):
        oauth.decode_discovery(answer(503, b""))
