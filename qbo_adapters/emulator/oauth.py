"""`OAuthServer`: the emulator's Intuit OAuth 2.0 / OpenID Connect server.

Routes (all under the emulator's base URL, which is read at request time):

- `GET /.well-known/openid_configuration` and `.../openid_sandbox_configuration`:
  the discovery document, every endpoint pointing at the emulator;
- `GET /connect/oauth2`: authorize. An unknown client or a redirect URI that is neither
  registered (compared exactly) nor (when allowed) an unambiguous loopback URI
  (`redirect_uri.py`) gets an HTML error page, never a redirect. Other errors redirect
  with `error=...&state=...`. Without auto-consent the user sees a consent page whose
  form `POST`s back to `/connect/oauth2`; with
  `settings.auto_consent`, or a `realmId` hint (an emulator extension for tests), the
  answer is a 302 straight to the redirect URI with `code`, `state` and `realmId`;
- `POST /oauth2/v1/tokens/bearer`: the token endpoint (client authentication by HTTP
  Basic or `client_secret_post`; grants `authorization_code` and `refresh_token`);
- `POST /v2/oauth2/tokens/revoke`: revoke a grant through any of its tokens;
- `GET /v1/openid_connect/userinfo`: OpenID claims (camelCase, as Intuit sends them);
- `GET /op/v1/jwks`: a static key set.

`authenticate` checks the bearer token of every data-API request and raises the
gateway's 401 (code 3200) and 403 (code 3100) faults.

Decisions where the sources are silent or conflict:

- Rotation: a refresh within `rotation_window` of the refresh token's issue returns the
  same refresh token with `x_refresh_token_expires_in` counting down; after it, a new
  refresh token with the full lifetime (never past the grant's hard expiry). The old one
  then keeps working for `old_refresh_token_grace` seconds (default 0: `invalid_grant` at
  once); used during that grace it answers with the grant's current refresh token.
- Access tokens: every refresh issues a new one, and earlier ones stay valid until they
  expire (Intuit's are self-contained JWE tokens; nothing says a refresh recalls them).
  Revoking the grant invalidates all of them.
- Revoke: an unknown token still gets 200 (RFC 7009 section 2.2); the success body is
  empty (Intuit's is unconfirmed). A request without valid client credentials gets a 401
  with an empty body, as seen from Intuit (LedgerSync/ledger_sync issue #126).
- Reusing an authorization code answers `invalid_grant` and revokes the grant the code
  produced (Intuit staff, intuit/oauth-jsclient issue #173). Used codes are remembered
  until they would have expired.
- `id_token` (only with the `openid` scope) is JWT-shaped, with an RS256 header and the
  claims Intuit sends, but its signature is random bytes: it does not verify against the
  JWKS, which is equally a placeholder key.
- Userinfo sends only the claims the granted scopes cover (OpenID Connect's rule); a
  token without `openid` gets the gateway's 403, a bad one its 401.

Tokens look like Intuit's: access tokens are JWE-shaped
(`eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..<iv>.<ciphertext>.<tag>`), refresh
tokens and codes are 50 characters, `AB1` + their expiry in epoch seconds + random
letters. They come from a `random.Random` seeded from the emulator's seed: the same
seed and the same requests give the same tokens. No token, code or secret appears in a
repr or a message of this module; the one exception is QBO's own "Token expired: <first
50 characters>" 401 detail, which the client side redacts.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import html
import json
import random
import string
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs

from qbo_adapters.emulator.context import RequestContext
from qbo_adapters.emulator.faults import GatewayFault
from qbo_adapters.emulator.jsonbody import loads_bounded
from qbo_adapters.emulator.redirect_uri import redirect_allowed
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_core.http import Headers, HttpResponse
from qbo_core.ports.clock import Clock

__all__ = ["ACCOUNTING_SCOPE", "KNOWN_SCOPES", "OAuthHost", "OAuthServer"]

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
PAYMENT_SCOPE = "com.intuit.quickbooks.payment"
OPENID_SCOPE = "openid"

#: Scopes that select a company, so the redirect back carries `realmId`.
REALM_SCOPES = frozenset({ACCOUNTING_SCOPE, PAYMENT_SCOPE})

#: Every scope the authorize endpoint accepts (Intuit's SDK enums and docs).
KNOWN_SCOPES = frozenset(
    {
        ACCOUNTING_SCOPE,
        PAYMENT_SCOPE,
        "com.intuit.quickbooks.payroll",
        "com.intuit.quickbooks.payroll.timetracking",
        "com.intuit.quickbooks.payroll.benefits",
        "project-management.project",
        "app-foundations.custom-field-definitions",
        "app-foundations.custom-field-definitions.read",
        "payroll.compensation.read",
        "indirect-tax.tax-calculation.quickbooks",
        "time-tracking.time-entry",
        "app-foundations.custom-dimensions.read",
        "intuit_name",
        OPENID_SCOPE,
        "profile",
        "email",
        "phone",
        "address",
    }
)

AUTHORIZE_PATH = "/connect/oauth2"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"  # noqa: S105 - a URL path
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
USERINFO_PATH = "/v1/openid_connect/userinfo"
JWKS_PATH = "/op/v1/jwks"
DISCOVERY_PATHS = frozenset(
    {"/.well-known/openid_configuration", "/.well-known/openid_sandbox_configuration"}
)

#: The protected header of Intuit's access tokens, base64url: {"enc":"A128CBC-HS256","alg":"dir"}.
_JWE_HEADER = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0"
_JWKS_KID = "emulator-rs256-1"
_ALPHANUMERIC = string.ascii_letters + string.digits
#: Bearer tokens outside these lengths get QBO's "Malformed bearer token" 401.
_MIN_TOKEN_LENGTH = 32
_MAX_TOKEN_LENGTH = 4096
#: QBO echoes this many leading characters of an expired token in its 401 detail.
_ECHOED_TOKEN_CHARS = 50
#: Expired access tokens are remembered this long (for "Token expired"), then forgotten.
_EXPIRED_TOKEN_MEMORY = timedelta(days=1)
_SWEEP_EVERY = timedelta(minutes=1)

_AUTH_FAILED = "message=AuthenticationFailed; errorCode=003200; statusCode=401"
_APP_AUTHZ_FAILED = "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403"
_AUTHZ_FAILED = "message=AuthorizationFailed; errorCode=003100; statusCode=403"
_INVALID_TOKEN_CHALLENGE = ("WWW-Authenticate", 'Bearer realm="Intuit", error="invalid_token"')


class OAuthHost(Protocol):
    """What the OAuth server needs from the emulator (`QBOEmulator` is one)."""

    settings: EmulatorSettings
    clock: Clock
    base_url: str

    @property
    def realm_ids(self) -> list[str]: ...


# -- state -------------------------------------------------------------------------


@attrs.define(kw_only=True, eq=False)
class _Grant:
    """One consent: a client allowed into a realm with some scopes, until revoked."""

    number: int
    client_id: str
    realm_id: str | None
    scopes: tuple[str, ...]
    created: datetime
    hard_expiry: datetime
    revoked: bool = False
    #: The refresh token a refresh hands out now (a key of `_refresh_tokens`).
    current_refresh: str = attrs.field(default="", repr=False)


@attrs.define(kw_only=True, eq=False)
class _AccessToken:
    grant: _Grant
    expires: datetime


@attrs.define(kw_only=True, eq=False)
class _RefreshToken:
    grant: _Grant
    issued: datetime
    expires: datetime
    superseded: bool = False


@attrs.define(kw_only=True, eq=False)
class _AuthorizationCode:
    client_id: str
    redirect_uri: str
    realm_id: str | None
    scopes: tuple[str, ...]
    expires: datetime
    #: The grant the code was exchanged for; set once used.
    grant: _Grant | None = None


@attrs.frozen(kw_only=True)
class _User:
    """The one emulated Intuit user, who owns every company."""

    sub: str
    given_name: str
    family_name: str
    email: str
    phone: str
    address: Mapping[str, str]


class _OAuthError(Exception):
    """A JSON OAuth error from the token or revoke endpoint."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str | None = None,
        *,
        headers: tuple[tuple[str, str], ...] = (),
        empty_body: bool = False,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers
        self.empty_body = empty_body


class _PageError(Exception):
    """An authorize request that must not be redirected: the user sees an HTML page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@attrs.frozen(kw_only=True)
class _AuthorizeRequest:
    """An authorize request whose client and redirect URI were checked."""

    client_id: str
    redirect_uri: str
    state: str | None
    response_type: str | None
    scope: str | None


# -- the server ---------------------------------------------------------------------


class OAuthServer:
    """The emulator's OAuth 2.0 server. See the module docstring for the routes."""

    def __init__(self, emulator: OAuthHost) -> None:
        self._host = emulator
        seed = emulator.settings.seed
        self._rng = random.Random(f"oauth:{seed}")
        self._user = _make_user(random.Random(f"oauth-user:{seed}"))
        self._jwks_modulus = _b64url(
            (random.Random(f"oauth-jwks:{seed}").getrandbits(2048) | (1 << 2047) | 1).to_bytes(
                256, "big"
            )
        )
        self._grants: list[_Grant] = []
        self._codes: dict[str, _AuthorizationCode] = {}
        self._access_tokens: dict[str, _AccessToken] = {}
        self._refresh_tokens: dict[str, _RefreshToken] = {}
        self._next_sweep: datetime | None = None

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.snapshot().items())
        return f"OAuthServer({counts})"

    @property
    def _settings(self) -> EmulatorSettings:
        return self._host.settings

    # -- routing ------------------------------------------------------------------

    def handle(self, ctx: RequestContext) -> HttpResponse | None:
        """Answer an OAuth or discovery request; `None` when the path is not one of ours.

        Raises `GatewayFault` for userinfo with a bad token (rendered by the app).
        """
        route = ctx.path.rstrip("/") or "/"
        method = ctx.method
        if route in DISCOVERY_PATHS:
            return self._discovery(ctx) if method == "GET" else _not_allowed(ctx, "GET")
        if route == AUTHORIZE_PATH:
            if method not in ("GET", "POST"):
                return _not_allowed(ctx, "GET, POST")
            return self._authorize(ctx)
        if route == TOKEN_PATH:
            if method != "POST":
                return _not_allowed(ctx, "POST")
            return self._guard(ctx, self._token)
        if route == REVOKE_PATH:
            if method != "POST":
                return _not_allowed(ctx, "POST")
            return self._guard(ctx, self._revoke)
        if route == USERINFO_PATH:
            return self._userinfo(ctx) if method == "GET" else _not_allowed(ctx, "GET")
        if route == JWKS_PATH:
            return self._jwks(ctx) if method == "GET" else _not_allowed(ctx, "GET")
        return None

    @staticmethod
    def _guard(
        ctx: RequestContext, endpoint: Callable[[RequestContext], HttpResponse]
    ) -> HttpResponse:
        try:
            response = endpoint(ctx)
        except _OAuthError as exc:
            if exc.empty_body:
                return _oauth_response(ctx, b"", status=exc.status, extra=exc.headers)
            payload = {"error": exc.error}
            if exc.description is not None:
                payload["error_description"] = exc.description
            return _oauth_json(ctx, payload, status=exc.status, extra=exc.headers)
        return response

    # -- discovery and keys -----------------------------------------------------------

    def discovery_document(self) -> dict[str, Any]:
        """The OpenID discovery document, every URL under the current base URL."""
        base = self._host.base_url
        return {
            "issuer": f"{base}/op/v1",
            "authorization_endpoint": f"{base}{AUTHORIZE_PATH}",
            "token_endpoint": f"{base}{TOKEN_PATH}",
            "userinfo_endpoint": f"{base}{USERINFO_PATH}",
            "revocation_endpoint": f"{base}{REVOKE_PATH}",
            "jwks_uri": f"{base}{JWKS_PATH}",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "address", "phone"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        }

    def _discovery(self, ctx: RequestContext) -> HttpResponse:
        return _oauth_json(ctx, self.discovery_document(), cache="max-age=3600")

    def _jwks(self, ctx: RequestContext) -> HttpResponse:
        key = {
            "kty": "RSA",
            "e": "AQAB",
            "use": "sig",
            "kid": _JWKS_KID,
            "alg": "RS256",
            "n": self._jwks_modulus,
        }
        return _oauth_json(ctx, {"keys": [key]}, cache="max-age=3600")

    # -- authorize ------------------------------------------------------------------

    def _authorize(self, ctx: RequestContext) -> HttpResponse:
        if ctx.method == "POST":
            try:
                params = _form(ctx)
            except _OAuthError as exc:
                return _html_page(ctx, "Bad request", exc.description or exc.error, status=400)
        else:
            params = {key: values[0] for key, values in ctx.query.items() if values}
        try:
            request = self._checked_client(params)
        except _PageError as exc:
            return _html_page(ctx, "This app can't connect", exc.message, status=400)

        def fail(error: str) -> HttpResponse:
            return _redirect(ctx, request.redirect_uri, [("error", error)], request.state)

        if not request.response_type:
            return fail("invalid_request")
        if request.response_type != "code":
            return fail("unsupported_response_type")
        scopes = tuple(dict.fromkeys((request.scope or "").split()))
        if not scopes or any(scope not in KNOWN_SCOPES for scope in scopes):
            return fail("invalid_scope")
        needs_realm = not REALM_SCOPES.isdisjoint(scopes)
        realms = self._host.realm_ids
        if needs_realm and not realms:
            return fail("access_denied")

        if ctx.method == "GET":
            hint = params.get("realmId")
            if hint is not None and hint not in realms:
                return fail("invalid_request")
            if not (self._settings.auto_consent or hint is not None):
                return self._consent_page(ctx, request, scopes, realms if needs_realm else [])
            chosen = hint if hint is not None else realms[0]
        else:
            decision = params.get("decision")
            if decision == "cancel":
                return fail("access_denied")
            if decision != "connect":
                return fail("invalid_request")
            chosen = params.get("realmId") or ""
            if needs_realm and chosen not in realms:
                return fail("invalid_request")

        realm_id = chosen if needs_realm else None
        code = self._issue_code(request, realm_id, scopes, ctx.now)
        back = [("code", code)]
        return _redirect(
            ctx,
            request.redirect_uri,
            back,
            request.state,
            after=[("realmId", realm_id)] if realm_id else [],
        )

    def _checked_client(self, params: Mapping[str, str]) -> _AuthorizeRequest:
        client_id = params.get("client_id")
        if not client_id or not hmac.compare_digest(
            client_id.encode(), self._settings.client_id.encode()
        ):
            raise _PageError(
                "The client_id is missing or unknown (invalid_client). Check the app's client ID."
            )
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri or not self._redirect_allowed(redirect_uri):
            raise _PageError(
                "The redirect_uri is missing or not registered for this app (invalid "
                "redirect_uri). Register it, or use a loopback URI when those are allowed."
            )
        return _AuthorizeRequest(
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=params.get("state"),
            response_type=params.get("response_type"),
            scope=params.get("scope"),
        )

    def _redirect_allowed(self, uri: str) -> bool:
        return redirect_allowed(
            uri,
            self._settings.redirect_uris,
            any_loopback=self._settings.allow_any_loopback_redirect,
        )

    def _consent_page(
        self,
        ctx: RequestContext,
        request: _AuthorizeRequest,
        scopes: tuple[str, ...],
        realms: list[str],
    ) -> HttpResponse:
        esc = html.escape
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{esc(value)}">'
            for name, value in (
                ("client_id", request.client_id),
                ("response_type", request.response_type or ""),
                ("scope", request.scope or ""),
                ("redirect_uri", request.redirect_uri),
                ("state", request.state),
            )
            if value is not None
        )
        scope_items = "".join(f"<li>{esc(scope)}</li>" for scope in scopes)
        radios = "".join(
            f'<p><label><input type="radio" name="realmId" value="{esc(realm)}"'
            f"{' checked' if index == 0 else ''}> Sandbox company {esc(realm)}</label></p>"
            for index, realm in enumerate(realms)
        )
        realm_block = (
            f"<fieldset><legend>Choose a company</legend>{radios}</fieldset>" if realms else ""
        )
        body = (
            f"<p>The app <strong>{esc(request.client_id)}</strong> would like to connect "
            f"and asks for:</p><ul>{scope_items}</ul>"
            f'<form method="post" action="{AUTHORIZE_PATH}">{hidden}{realm_block}'
            '<button type="submit" name="decision" value="connect">Connect</button> '
            '<button type="submit" name="decision" value="cancel">Cancel</button>'
            "</form>"
        )
        return _html_page(ctx, "Connect to QuickBooks (emulator)", body, status=200, raw=True)

    def _issue_code(
        self,
        request: _AuthorizeRequest,
        realm_id: str | None,
        scopes: tuple[str, ...],
        now: datetime,
    ) -> str:
        for code, record in list(self._codes.items()):
            if record.expires <= now:
                del self._codes[code]
        expires = now + timedelta(seconds=self._settings.authorization_code_lifetime)
        code = self._unique(lambda: self._ab_token(expires), self._codes)
        self._codes[code] = _AuthorizationCode(
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            realm_id=realm_id,
            scopes=scopes,
            expires=expires,
        )
        return code

    # -- token endpoint -----------------------------------------------------------------

    def _token(self, ctx: RequestContext) -> HttpResponse:
        form = _form(ctx)
        client_id = self._client(ctx, form, json_errors=True)
        grant_type = form.get("grant_type")
        include_hard = (
            ctx.request.headers.get("x-include-refresh-token-hard-expires-in") or ""
        ).strip().lower() == "true"
        if not grant_type:
            raise _OAuthError(400, "invalid_request", "grant_type is required")
        if grant_type == "authorization_code":
            payload = self._exchange_code(ctx, form, client_id, include_hard)
        elif grant_type == "refresh_token":
            payload = self._refresh(ctx, form, client_id, include_hard)
        else:
            raise _OAuthError(400, "unsupported_grant_type")
        return _oauth_json(ctx, payload)

    def _client(self, ctx: RequestContext, params: Mapping[str, str], *, json_errors: bool) -> str:
        """The authenticated client id (HTTP Basic, else `client_secret_post`)."""
        authorization = ctx.request.headers.get("authorization")
        settings = self._settings
        if authorization is not None:
            scheme, _, credentials = authorization.strip().partition(" ")
            challenge = (("WWW-Authenticate", 'Basic realm="Intuit"'),)
            if scheme.lower() != "basic":
                raise _invalid_client(challenge, json_errors=json_errors)
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise _invalid_client(challenge, json_errors=json_errors) from None
            client_id, sep, secret = decoded.partition(":")
            if not sep or not _client_matches(settings, client_id, secret):
                raise _invalid_client(challenge, json_errors=json_errors)
            return client_id
        client_id = params.get("client_id") or ""
        secret = params.get("client_secret") or ""
        if not client_id or not secret or not _client_matches(settings, client_id, secret):
            raise _invalid_client((), json_errors=json_errors)
        return client_id

    def _exchange_code(
        self, ctx: RequestContext, form: Mapping[str, str], client_id: str, include_hard: bool
    ) -> dict[str, Any]:
        code = form.get("code")
        if not code:
            raise _OAuthError(400, "invalid_request", "code is required")
        record = self._codes.get(code)
        now = ctx.now
        if record is None or record.client_id != client_id:
            raise _OAuthError(400, "invalid_grant")
        if record.grant is not None:  # a second use poisons what the first produced
            self._revoke_grant(record.grant)
            raise _OAuthError(400, "invalid_grant")
        if now >= record.expires:
            del self._codes[code]
            raise _OAuthError(400, "invalid_grant")
        if form.get("redirect_uri") != record.redirect_uri:
            raise _OAuthError(400, "invalid_grant")
        grant = self._new_grant(client_id, record.realm_id, record.scopes, now)
        record.grant = grant
        return self._token_payload(grant, now, include_hard=include_hard)

    def _refresh(
        self, ctx: RequestContext, form: Mapping[str, str], client_id: str, include_hard: bool
    ) -> dict[str, Any]:
        token = form.get("refresh_token")
        if not token:
            raise _OAuthError(400, "invalid_request", "refresh_token is required")
        now = ctx.now
        record = self._live_refresh(token, now)
        if record is None or record.grant.client_id != client_id:
            raise _OAuthError(400, "invalid_grant", "Token invalid")
        grant = record.grant
        current = self._refresh_tokens.get(grant.current_refresh)
        if current is None or now >= current.expires:
            raise _OAuthError(400, "invalid_grant", "Token invalid")
        rotate = now - current.issued >= timedelta(seconds=self._settings.rotation_window)
        if rotate:
            self._supersede(grant.current_refresh, current, now)
            self._new_refresh(grant, now)
        return self._token_payload(grant, now, include_hard=include_hard)

    def _live_refresh(self, token: str, now: datetime) -> _RefreshToken | None:
        record = self._refresh_tokens.get(token)
        if record is None:
            return None
        grant = record.grant
        if grant.revoked or now >= grant.hard_expiry or now >= record.expires:
            if record.superseded:
                del self._refresh_tokens[token]
            return None
        return record

    def _supersede(self, token: str, record: _RefreshToken, now: datetime) -> None:
        grace = self._settings.old_refresh_token_grace
        if grace <= 0:
            del self._refresh_tokens[token]
            return
        record.superseded = True
        record.expires = min(record.expires, now + timedelta(seconds=grace))

    # -- issuing --------------------------------------------------------------------

    def _new_grant(
        self, client_id: str, realm_id: str | None, scopes: tuple[str, ...], now: datetime
    ) -> _Grant:
        grant = _Grant(
            number=len(self._grants) + 1,
            client_id=client_id,
            realm_id=realm_id,
            scopes=scopes,
            created=now,
            hard_expiry=now + timedelta(seconds=self._settings.refresh_token_hard_lifetime),
        )
        self._grants.append(grant)
        self._new_refresh(grant, now)
        return grant

    def _new_refresh(self, grant: _Grant, now: datetime) -> None:
        expires = min(
            now + timedelta(seconds=self._settings.refresh_token_lifetime), grant.hard_expiry
        )
        token = self._unique(lambda: self._ab_token(expires), self._refresh_tokens)
        self._refresh_tokens[token] = _RefreshToken(grant=grant, issued=now, expires=expires)
        grant.current_refresh = token

    def _new_access(self, grant: _Grant, now: datetime) -> str:
        self._sweep(now)
        token = self._unique(self._jwe_token, self._access_tokens)
        expires = now + timedelta(seconds=self._settings.access_token_lifetime)
        self._access_tokens[token] = _AccessToken(grant=grant, expires=expires)
        return token

    def _token_payload(self, grant: _Grant, now: datetime, *, include_hard: bool) -> dict[str, Any]:
        """A fresh access token plus the grant's current refresh token, as Intuit sends them."""
        refresh = self._refresh_tokens[grant.current_refresh]
        payload: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": int(self._settings.access_token_lifetime),
            "refresh_token": grant.current_refresh,
            "x_refresh_token_expires_in": _seconds_until(refresh.expires, now),
            "access_token": self._new_access(grant, now),
        }
        if include_hard:
            payload["x_refresh_token_hard_expires_in"] = _seconds_until(grant.hard_expiry, now)
        if OPENID_SCOPE in grant.scopes:
            payload["id_token"] = self._id_token(grant, now)
        return payload

    def _id_token(self, grant: _Grant, now: datetime) -> str:
        header = {"kid": _JWKS_KID, "alg": "RS256"}
        claims: dict[str, Any] = {"sub": self._user.sub, "aud": [grant.client_id]}
        if grant.realm_id is not None:
            claims["realmid"] = grant.realm_id
        claims.update(
            {
                "auth_time": int(grant.created.timestamp()),
                "iss": f"{self._host.base_url}/op/v1",
                "exp": int(now.timestamp() + self._settings.access_token_lifetime),
                "iat": int(now.timestamp()),
            }
        )
        return ".".join(
            (
                _b64url(json.dumps(header, separators=(",", ":")).encode()),
                _b64url(json.dumps(claims, separators=(",", ":")).encode()),
                _b64url(self._rng.randbytes(256)),  # not a real signature: see module doc
            )
        )

    def _jwe_token(self) -> str:
        iv = _b64url(self._rng.randbytes(16))
        ciphertext = _b64url(self._rng.randbytes(640))
        tag = _b64url(self._rng.randbytes(16))
        return f"{_JWE_HEADER}..{iv}.{ciphertext}.{tag}"

    def _ab_token(self, expires: datetime) -> str:
        prefix = f"AB1{int(expires.timestamp())}"
        tail = "".join(self._rng.choice(_ALPHANUMERIC) for _ in range(50 - len(prefix)))
        return prefix + tail

    @staticmethod
    def _unique(make: Callable[[], str], taken: Mapping[str, object]) -> str:
        while True:
            candidate = make()
            if candidate not in taken:
                return candidate

    def _sweep(self, now: datetime) -> None:
        """Forget long-expired access tokens and every token of a dead grant."""
        if self._next_sweep is not None and now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_EVERY
        forget_before = now - _EXPIRED_TOKEN_MEMORY
        for token, access in list(self._access_tokens.items()):
            if access.grant.revoked or access.expires <= forget_before:
                del self._access_tokens[token]
        for token, refresh in list(self._refresh_tokens.items()):
            grant = refresh.grant
            if grant.revoked or refresh.expires <= now or grant.hard_expiry <= now:
                del self._refresh_tokens[token]

    # -- revoke -----------------------------------------------------------------------

    def _revoke(self, ctx: RequestContext) -> HttpResponse:
        params = _revoke_params(ctx)
        client_id = self._client(ctx, params, json_errors=False)
        token = params.get("token")
        if not token:
            raise _OAuthError(400, "invalid_request", "token is required")
        grant = self._grant_of(token)
        if grant is not None and grant.client_id == client_id:
            self._revoke_grant(grant)
        return _oauth_response(ctx, b"", status=200)

    def _grant_of(self, token: str) -> _Grant | None:
        access = self._access_tokens.get(token)
        if access is not None:
            return access.grant
        refresh = self._refresh_tokens.get(token)
        return refresh.grant if refresh is not None else None

    def _revoke_grant(self, grant: _Grant) -> bool:
        if grant.revoked:
            return False
        grant.revoked = True
        for token in [t for t, r in self._refresh_tokens.items() if r.grant is grant]:
            del self._refresh_tokens[token]
        return True

    # -- bearer tokens --------------------------------------------------------------------

    def _access_grant(self, ctx: RequestContext) -> _Grant:
        """The grant behind the request's bearer token, or the gateway's 401."""
        authorization = (ctx.request.headers.get("authorization") or "").strip()
        scheme, _, rest = authorization.partition(" ")
        token = rest.strip() if scheme.lower() == "bearer" else ""
        if not _MIN_TOKEN_LENGTH <= len(token) <= _MAX_TOKEN_LENGTH:
            raise _unauthenticated("Malformed bearer token: too short or too long")
        access = self._access_tokens.get(token)
        if access is None or access.grant.revoked:
            raise _unauthenticated("Token invalid")
        if ctx.now >= access.expires:
            # What QBO does: echo the token's first characters. Clients redact it.
            raise _unauthenticated(f"Token expired: {token[:_ECHOED_TOKEN_CHARS]}")
        return access.grant

    def authenticate(self, ctx: RequestContext, realm_id: str) -> str:
        """The client id behind the request's bearer token, if it may use `realm_id`.

        Raises `GatewayFault` 401 (code 3200, with `WWW-Authenticate`) when the token is
        missing, malformed, unknown, expired or its grant revoked; 403 (code 3100) when the
        token lacks the accounting scope or belongs to another realm.
        """
        grant = self._access_grant(ctx)
        if ACCOUNTING_SCOPE not in grant.scopes:
            raise _insufficient_scope()
        if grant.realm_id != realm_id:
            raise GatewayFault(403, "3100", _APP_AUTHZ_FAILED, "", "SERVICE")
        return grant.client_id

    # -- userinfo -----------------------------------------------------------------------

    def _userinfo(self, ctx: RequestContext) -> HttpResponse:
        grant = self._access_grant(ctx)
        if OPENID_SCOPE not in grant.scopes:
            raise _insufficient_scope()
        user = self._user
        claims: dict[str, Any] = {"sub": user.sub}
        if "email" in grant.scopes:
            claims.update({"email": user.email, "emailVerified": True})
        if "profile" in grant.scopes:
            claims.update({"givenName": user.given_name, "familyName": user.family_name})
        if "phone" in grant.scopes:
            claims.update({"phoneNumber": user.phone, "phoneNumberVerified": True})
        if "address" in grant.scopes:
            claims["address"] = dict(user.address)
        return _oauth_json(ctx, claims)

    # -- control (Python API for the control routes and tests) ---------------------------

    def mint_tokens(
        self,
        realm_id: str,
        *,
        scopes: Iterable[str] = (ACCOUNTING_SCOPE,),
        hard_expiry: bool = False,
    ) -> dict[str, Any]:
        """Create a grant as if the user had consented and return the token response.

        `hard_expiry=True` adds `x_refresh_token_hard_expires_in`, as when the client sends
        `x-include-refresh-token-hard-expires-in: true`. The realm is kept only when a
        scope selects a company (accounting or payments), as at consent.
        Raises `ValueError` for an unknown realm or scope.
        """
        wanted = tuple(dict.fromkeys(scopes))
        if not wanted or any(scope not in KNOWN_SCOPES for scope in wanted):
            raise ValueError(f"unknown or missing scopes: {sorted(wanted)}")
        if realm_id not in self._host.realm_ids:
            raise ValueError(f"unknown realm {realm_id!r}")
        now = self._host.clock.now()
        needs_realm = not REALM_SCOPES.isdisjoint(wanted)
        grant = self._new_grant(
            self._settings.client_id, realm_id if needs_realm else None, wanted, now
        )
        return self._token_payload(grant, now, include_hard=hard_expiry)

    def expire_access_tokens(self, realm_id: str | None = None) -> int:
        """Expire every live access token (of `realm_id`, or all); returns how many."""
        now = self._host.clock.now()
        count = 0
        for access in self._access_tokens.values():
            if _matches(access.grant, realm_id) and access.expires > now:
                access.expires = now
                count += 1
        return count

    def expire_refresh_tokens(self, realm_id: str | None = None) -> int:
        """Expire every live refresh token (of `realm_id`, or all); returns how many."""
        now = self._host.clock.now()
        count = 0
        for refresh in self._refresh_tokens.values():
            if _matches(refresh.grant, realm_id) and refresh.expires > now:
                refresh.expires = now
                count += 1
        return count

    def revoke_grants(self, realm_id: str | None = None) -> int:
        """Revoke every grant (of `realm_id`, or all) as a disconnect would; returns how many."""
        return sum(
            self._revoke_grant(grant) for grant in list(self._grants) if _matches(grant, realm_id)
        )

    def snapshot(self) -> dict[str, int]:
        """Counts of grants, tokens and codes: never a token value."""
        now = self._host.clock.now()
        live_access = sum(
            1 for a in self._access_tokens.values() if not a.grant.revoked and a.expires > now
        )
        live_refresh = [
            r
            for r in self._refresh_tokens.values()
            if not r.grant.revoked and r.expires > now and r.grant.hard_expiry > now
        ]
        return {
            "grants": sum(1 for g in self._grants if not g.revoked),
            "revoked_grants": sum(1 for g in self._grants if g.revoked),
            "access_tokens": live_access,
            "refresh_tokens": sum(1 for r in live_refresh if not r.superseded),
            "superseded_refresh_tokens": sum(1 for r in live_refresh if r.superseded),
            "authorization_codes": sum(
                1 for c in self._codes.values() if c.grant is None and c.expires > now
            ),
        }


# -- helpers --------------------------------------------------------------------------


def _matches(grant: _Grant, realm_id: str | None) -> bool:
    return realm_id is None or grant.realm_id == realm_id


def _client_matches(settings: EmulatorSettings, client_id: str, secret: str) -> bool:
    id_ok = hmac.compare_digest(client_id.encode(), settings.client_id.encode())
    secret_ok = hmac.compare_digest(secret.encode(), settings.client_secret.encode())
    return id_ok and secret_ok


def _invalid_client(headers: tuple[tuple[str, str], ...], *, json_errors: bool) -> _OAuthError:
    return _OAuthError(401, "invalid_client", headers=headers, empty_body=not json_errors)


def _unauthenticated(detail: str) -> GatewayFault:
    return GatewayFault(
        401, "3200", _AUTH_FAILED, detail, "AUTHENTICATION", headers=[_INVALID_TOKEN_CHALLENGE]
    )


def _insufficient_scope() -> GatewayFault:
    return GatewayFault(
        403, "3100", _AUTHZ_FAILED, "The access token does not have sufficient scope", "SERVICE"
    )


def _seconds_until(when: datetime, now: datetime) -> int:
    return max(0, int((when - now).total_seconds()))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _make_user(rng: random.Random) -> _User:
    given = rng.choice(["Alex", "Jordan", "Sam", "Taylor", "Morgan", "Casey"])
    family = rng.choice(["Rivera", "Chen", "Okafor", "Novak", "Larsen", "Patel"])
    return _User(
        sub=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        given_name=given,
        family_name=family,
        email=f"{given.lower()}.{family.lower()}@example.com",
        phone=f"+1 555-01{rng.randrange(100):02d}",
        address={
            "streetAddress": f"{rng.randrange(100, 9999)} Market Street",
            "locality": "Mountain View",
            "region": "CA",
            "postalCode": "94043",
            "country": "US",
        },
    )


def _media_type(ctx: RequestContext) -> str:
    raw = ctx.request.headers.get("content-type") or ""
    return raw.split(";", 1)[0].strip().lower()


def _form(ctx: RequestContext) -> dict[str, str]:
    """The form-urlencoded body; repeated or undecodable parameters are refused."""
    if _media_type(ctx) != "application/x-www-form-urlencoded":
        raise _OAuthError(
            400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
        )
    try:
        text = ctx.request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise _OAuthError(400, "invalid_request", "the body is not UTF-8") from None
    params: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key in params:
            raise _OAuthError(400, "invalid_request", f"parameter {key!r} is repeated")
        params[key] = value
    return params


def _revoke_params(ctx: RequestContext) -> dict[str, str]:
    """Revoke takes JSON `{"token": ...}` (Intuit) or a form body (RFC 7009)."""
    if _media_type(ctx) == "application/x-www-form-urlencoded":
        return _form(ctx)
    try:
        payload = loads_bounded(ctx.request.body or b"{}")
    except ValueError:
        raise _OAuthError(400, "invalid_request", "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise _OAuthError(400, "invalid_request", "the body must be a JSON object")
    return {key: value for key, value in payload.items() if isinstance(value, str)}


def _oauth_response(
    ctx: RequestContext,
    body: bytes,
    *,
    status: int,
    content_type: str | None = None,
    cache: str = "no-cache, no-store",
    extra: Iterable[tuple[str, str]] = (),
) -> HttpResponse:
    headers = [
        ("Server", "nginx"),
        ("Strict-Transport-Security", "max-age=15552000"),
        ("intuit_tid", ctx.tid),
        ("Cache-Control", cache),
    ]
    if "no-store" in cache:
        headers.append(("Pragma", "no-cache"))
    if content_type is not None:
        headers.insert(0, ("Content-Type", content_type))
    return HttpResponse(status=status, headers=Headers([*headers, *extra]), body=body)


def _oauth_json(
    ctx: RequestContext,
    payload: Any,
    *,
    status: int = 200,
    cache: str = "no-cache, no-store",
    extra: Iterable[tuple[str, str]] = (),
) -> HttpResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return _oauth_response(
        ctx,
        body,
        status=status,
        content_type="application/json;charset=UTF-8",
        cache=cache,
        extra=extra,
    )


def _html_page(
    ctx: RequestContext, title: str, content: str, *, status: int, raw: bool = False
) -> HttpResponse:
    """An HTML page; `content` is escaped unless `raw` (already-built, escaped markup)."""
    inner = content if raw else f"<p>{html.escape(content)}</p>"
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{inner}</body></html>"
    )
    return _oauth_response(
        ctx,
        page.encode(),
        status=status,
        content_type="text/html;charset=utf-8",
        extra=(
            ("X-Frame-Options", "DENY"),
            (
                "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ),
    )


def _redirect(
    ctx: RequestContext,
    redirect_uri: str,
    params: list[tuple[str, str]],
    state: str | None,
    *,
    after: list[tuple[str, str]] | None = None,
) -> HttpResponse:
    """A 302 to a validated redirect URI with `params`, `state` and `after` appended."""
    pairs = [*params]
    if state is not None:
        pairs.append(("state", state))
    pairs.extend(after or [])
    parts = urlsplit(redirect_uri)
    query = f"{parts.query}&{urlencode(pairs)}" if parts.query else urlencode(pairs)
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return _oauth_response(ctx, b"", status=302, extra=(("Location", location),))


def _not_allowed(ctx: RequestContext, allow: str) -> HttpResponse:
    return _oauth_json(ctx, {"error": "invalid_request"}, status=405, extra=(("Allow", allow),))
