"""Intuit's OAuth 2.0, sans I/O: build the requests, decode every answer.

Builders return an `HttpRequest` (or, for the authorize step, a URL) and never touch the
network; decoders take an `HttpResponse` and return a value or raise a `QBOError`, whatever
the bytes: an OAuth error becomes the most specific error (`invalid_grant` →
`ReauthorizationRequiredError`, `invalid_client` → `InvalidClientError`), a 5xx a
`ServerError`, a 429 a `ThrottledError`, anything else that cannot be understood (HTML, a
truncated body, missing or malformed fields) a `DecodeError`.

No decoder ever puts a response body in an error: a token response holds credentials, so
only its shape is described.

Facts (see `reference/qbo-api-facts.md` section 9): the token endpoint takes a form body
with HTTP Basic client authentication; `expires_in` is the access token's lifetime,
`x_refresh_token_expires_in` the refresh token's rolling lifetime, and
`x_refresh_token_hard_expires_in` (only when the request sends
`x-include-refresh-token-hard-expires-in: true`) the seconds left of the 5-year cap.
Revoke takes JSON `{"token": ...}` with Basic auth; 200 is success.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs

from qbo_core.config import QBOConfig
from qbo_core.dtos import TokenSet
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
from qbo_core.http import Headers, HttpRequest, HttpResponse
from qbo_core.wire import jsonio

__all__ = [
    "HARD_EXPIRY_HEADER",
    "MAX_OAUTH_RESPONSE_BYTES",
    "OAuthEndpoints",
    "build_authorization_url",
    "build_code_exchange",
    "build_discovery",
    "build_refresh",
    "build_revoke",
    "decode_discovery",
    "decode_oauth_error",
    "decode_revoke",
    "decode_token_response",
]

#: The opt-in request header that makes Intuit report the refresh token's 5-year cap.
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"

#: OAuth answers are small; anything larger is not one.
MAX_OAUTH_RESPONSE_BYTES = 1024 * 1024

#: The longest lifetime a token response may report (100 years): more is not a lifetime.
_MAX_SECONDS = 100 * 366 * 86_400

_TOKEN = re.compile(r"[\x21-\x7e]{1,8192}")
_STATE = re.compile(r"[A-Za-z0-9._~-]{16,512}")


@attrs.frozen(kw_only=True)
class OAuthEndpoints:
    """Where the OAuth steps happen: from the configuration, or a discovery document."""

    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str
    userinfo_endpoint: str | None = None
    issuer: str | None = None
    jwks_uri: str | None = None

    @classmethod
    def from_config(cls, config: QBOConfig) -> OAuthEndpoints:
        """The endpoints `config` names (its overrides, else the environment's defaults)."""
        return cls(
            authorization_endpoint=config.authorization_endpoint,
            token_endpoint=config.token_endpoint,
            revocation_endpoint=config.revocation_endpoint,
            userinfo_endpoint=config.userinfo_endpoint,
        )


# --------------------------------------------------------------------- builders


def _basic(config: QBOConfig) -> str:
    client_id, client_secret = config.require_credentials()
    raw = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _redirect_uri(config: QBOConfig) -> str:
    if config.redirect_uri is None:
        raise ConfigurationError(
            "redirect_uri is not configured; Intuit needs it to send the user back",
            field="redirect_uri",
        )
    return config.redirect_uri


def _check_token(value: str, what: str) -> str:
    if not isinstance(value, str) or _TOKEN.fullmatch(value) is None:
        raise ValueError(f"{what} must be a non-empty string of visible ASCII characters")
    return value


def build_authorization_url(
    config: QBOConfig,
    *,
    state: str,
    scopes: tuple[str, ...] | None = None,
    endpoints: OAuthEndpoints | None = None,
) -> str:
    """The URL to send the user to, with `client_id`, `scope`, `redirect_uri`, `state`.

    `response_type` is always `code`.

    `scopes` defaults to `config.scopes`. `state` must be 16 to 512 URL-safe characters
    (`ValueError`). `ConfigurationError` when the client id or redirect URI is missing.
    """
    if not isinstance(state, str) or _STATE.fullmatch(state) is None:
        raise ValueError("state must be 16 to 512 URL-safe characters")
    client_id, _ = config.require_credentials()
    chosen = config.scopes if scopes is None else scopes
    if not chosen or any(not scope or " " in scope for scope in chosen):
        raise ValueError("scopes must be non-empty scope names without spaces")
    where = (endpoints or OAuthEndpoints.from_config(config)).authorization_endpoint
    query = urlencode(
        [
            ("client_id", client_id),
            ("scope", " ".join(chosen)),
            ("redirect_uri", _redirect_uri(config)),
            ("response_type", "code"),
            ("state", state),
        ]
    )
    separator = "&" if urlsplit(where).query else "?"
    return f"{where}{separator}{query}"


def _token_request(
    config: QBOConfig, form: list[tuple[str, str]], endpoints: OAuthEndpoints | None
) -> HttpRequest:
    headers = [
        ("Authorization", _basic(config)),
        ("Accept", "application/json"),
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("User-Agent", config.user_agent),
    ]
    if config.request_hard_expiry:
        headers.append((HARD_EXPIRY_HEADER, "true"))
    return HttpRequest(
        method="POST",
        url=(endpoints or OAuthEndpoints.from_config(config)).token_endpoint,
        headers=headers,
        body=urlencode(form).encode("ascii"),
        timeout=config.total_timeout,
    )


def build_code_exchange(
    config: QBOConfig, *, code: str, endpoints: OAuthEndpoints | None = None
) -> HttpRequest:
    """The token request that trades an authorization `code` for tokens."""
    _check_token(code, "code")
    form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", _redirect_uri(config)),
    ]
    return _token_request(config, form, endpoints)


def build_refresh(
    config: QBOConfig, *, refresh_token: str, endpoints: OAuthEndpoints | None = None
) -> HttpRequest:
    """The token request that trades a refresh token for new tokens."""
    _check_token(refresh_token, "refresh_token")
    form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)]
    return _token_request(config, form, endpoints)


def build_revoke(
    config: QBOConfig, *, token: str, endpoints: OAuthEndpoints | None = None
) -> HttpRequest:
    """The request that revokes the grant behind `token` (refresh or access token)."""
    _check_token(token, "token")
    return HttpRequest(
        method="POST",
        url=(endpoints or OAuthEndpoints.from_config(config)).revocation_endpoint,
        headers=[
            ("Authorization", _basic(config)),
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
            ("User-Agent", config.user_agent),
        ],
        body=jsonio.dumps({"token": token}),
        timeout=config.total_timeout,
    )


def build_discovery(config: QBOConfig) -> HttpRequest:
    """The GET of the environment's OpenID discovery document."""
    return HttpRequest(
        method="GET",
        url=config.discovery_url,
        headers=[("Accept", "application/json"), ("User-Agent", config.user_agent)],
        timeout=config.total_timeout,
    )


# --------------------------------------------------------------------- decoders


def _tid(headers: Headers) -> str | None:
    return headers.get("intuit_tid") or headers.get("intuit-tid")


def _json_object(response: HttpResponse) -> Mapping[str, Any] | None:
    """The body as a JSON object, or `None` when it is not one."""
    if len(response.body) > MAX_OAUTH_RESPONSE_BYTES:
        return None
    try:
        value = jsonio.loads(response.body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _retry_after(headers: Headers) -> float | None:
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 86_400 else None


def _text(value: object, limit: int = 200) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def decode_oauth_error(response: HttpResponse) -> QBOError:
    """The error an unsuccessful OAuth answer stands for (returned, not raised).

    `invalid_grant` → `ReauthorizationRequiredError` (code `invalid_grant`);
    `invalid_client` or any 401 → `InvalidClientError`; 429 → `ThrottledError`;
    5xx → `ServerError`; any other OAuth error code → `ValidationError` naming it;
    a body that is not an OAuth error → `DecodeError`.
    """
    status = response.status
    tid = _tid(response.headers)
    body = _json_object(response)
    error = _text(body.get("error")) if body is not None else None
    description = _text(body.get("error_description")) if body is not None else None
    codes = (error,) if error else ()
    if error == "invalid_grant":
        return ReauthorizationRequiredError(
            "Intuit refused the grant (invalid_grant): the refresh token or code is no longer "
            "valid; the user must connect the company again",
            status=status,
            codes=codes,
            intuit_tid=tid,
            detail=description,
        )
    if error == "invalid_client" or status == 401:
        return InvalidClientError(
            "Intuit refused the app's credentials (invalid_client): check client_id and "
            "client_secret",
            status=status,
            codes=codes,
            intuit_tid=tid,
            detail=description,
        )
    if status == 429:
        return ThrottledError(
            "Intuit's OAuth endpoint is throttling: wait and try again",
            status=status,
            codes=codes,
            intuit_tid=tid,
            retry_after=_retry_after(response.headers),
        )
    if status >= 500:
        return ServerError(
            f"Intuit's OAuth endpoint failed with HTTP {status}: try again later",
            status=status,
            codes=codes,
            intuit_tid=tid,
            detail=description,
        )
    if error is not None:
        return ValidationError(
            f"Intuit refused the OAuth request ({error})",
            status=status,
            codes=codes,
            intuit_tid=tid,
            detail=description,
        )
    return DecodeError(
        f"the OAuth endpoint answered HTTP {status} with a body that is not an OAuth answer",
        status=status,
        intuit_tid=tid,
    )


def _seconds(body: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        raise ValueError(key)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, Decimal) and value.is_finite():
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= _MAX_SECONDS:
        raise ValueError(key)
    return value


def decode_token_response(
    response: HttpResponse, *, now: datetime, config: QBOConfig, realm_id: str | None = None
) -> TokenSet:
    """The `TokenSet` a token endpoint answer holds, its expiries counted from `now`.

    Missing `expires_in` / `x_refresh_token_expires_in` fall back to the configured
    lifetimes; `x_refresh_token_hard_expires_in`, when present, sets
    `refresh_token_hard_expires_at`. A non-200 answer raises `decode_oauth_error`'s
    error; a 200 that is not a token response raises `DecodeError` (never quoting it).
    """
    if response.status != 200:
        raise decode_oauth_error(response)
    tid = _tid(response.headers)
    body = _json_object(response)
    if body is None:
        raise DecodeError(
            "the token endpoint answered 200 with a body that is not a JSON object",
            status=200,
            intuit_tid=tid,
        )
    if "error" in body:
        raise decode_oauth_error(attrs.evolve(response, status=400))
    try:
        access = body.get("access_token")
        refresh = body.get("refresh_token")
        if not isinstance(access, str) or _TOKEN.fullmatch(access) is None:
            raise ValueError("access_token")
        if not isinstance(refresh, str) or _TOKEN.fullmatch(refresh) is None:
            raise ValueError("refresh_token")
        token_type = body.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise ValueError("token_type")
        expires_in = _seconds(body, "expires_in", None) or config.access_token_lifetime
        refresh_in = (
            _seconds(body, "x_refresh_token_expires_in", None) or config.refresh_token_lifetime
        )
        hard_in = _seconds(body, "x_refresh_token_hard_expires_in", None)
        scope = body.get("scope")
        return TokenSet(
            access_token=access,
            refresh_token=refresh,
            access_token_expires_at=now + timedelta(seconds=expires_in),
            refresh_token_expires_at=now + timedelta(seconds=refresh_in),
            refresh_token_hard_expires_at=(
                None if hard_in is None else now + timedelta(seconds=hard_in)
            ),
            scope=scope if isinstance(scope, str) and scope else None,
            realm_id=realm_id,
        )
    except (ValueError, OverflowError) as exc:
        field = str(exc) if isinstance(exc, ValueError) and str(exc).isidentifier() else "a field"
        raise DecodeError(
            f"the token endpoint's answer has a missing or malformed {field}",
            status=200,
            intuit_tid=tid,
        ) from None


def decode_revoke(response: HttpResponse) -> None:
    """Return when the revoke succeeded (HTTP 200, any body); raise the OAuth error otherwise."""
    if response.status != 200:
        raise decode_oauth_error(response)


def _url(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise ValueError(key)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError(key)
    return value


def _optional_url(body: Mapping[str, Any], key: str) -> str | None:
    return None if body.get(key) is None else _url(body, key)


def decode_discovery(response: HttpResponse) -> OAuthEndpoints:
    """The endpoints an OpenID discovery document names.

    `authorization_endpoint`, `token_endpoint` and `revocation_endpoint` are required
    absolute http(s) URLs; `userinfo_endpoint`, `issuer` and `jwks_uri` optional.
    """
    if response.status != 200:
        raise decode_oauth_error(response)
    tid = _tid(response.headers)
    body = _json_object(response)
    if body is None:
        raise DecodeError("the discovery document is not a JSON object", status=200, intuit_tid=tid)
    try:
        return OAuthEndpoints(
            authorization_endpoint=_url(body, "authorization_endpoint"),
            token_endpoint=_url(body, "token_endpoint"),
            revocation_endpoint=_url(body, "revocation_endpoint"),
            userinfo_endpoint=_optional_url(body, "userinfo_endpoint"),
            issuer=_optional_url(body, "issuer"),
            jwks_uri=_optional_url(body, "jwks_uri"),
        )
    except ValueError as exc:
        raise DecodeError(
            f"the discovery document has a missing or malformed {exc}",
            status=200,
            intuit_tid=tid,
        ) from None
