"""`qbo_core.wire.oauth`: requests as Intuit documents them, every answer a value or a QBOError."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
