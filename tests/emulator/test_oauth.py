"""The emulator's OAuth 2.0 server: authorize, token, rotation, revoke, userinfo, bearer checks.

Most tests drive `OAuthServer` directly through `RequestContext`s on a small host (the
emulator's settings, a `FakeClock`, a base URL and realm ids), so they stand on their own;
the last ones go through `QBOEmulator.handle` to hold the wiring and the rendered 401.
"""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs
import pytest

from qbo_adapters.emulator.context import RequestContext
from qbo_adapters.emulator.faults import GatewayFault, gateway_json
from qbo_adapters.emulator.oauth import ACCOUNTING_SCOPE, OAuthServer
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.memory.clock import FakeClock
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.ports.clock import Clock

BASE = "http://emulator.invalid"
REDIRECT = "http://localhost:8765/callback"
REALMS = ["9130000000000001", "9130000000000002"]
SECRET = "s3cret-value-do-not-leak"
CLIENT = "test-client"

#: The keys of the gateway 401 body recorded from the sandbox (minimul/qbo_api error/401.yml).
RECORDED_401_KEYS = [
    "warnings",
    "intuitObject",
    "fault",
    "report",
    "queryResponse",
    "batchItemResponse",
    "attachableResponse",
    "syncErrorResponse",
    "requestId",
    "time",
    "status",
    "cdcresponse",
]


@attrs.define
class Host:
    """The part of the emulator the OAuth server reads."""

    settings: EmulatorSettings
    clock: Clock
    base_url: str = BASE
    realms: list[str] = attrs.field(factory=lambda: list(REALMS))

    @property
    def realm_ids(self) -> list[str]:
        return list(self.realms)


class Harness:
    """An `OAuthServer` on a fake clock, with helpers that speak its HTTP."""

    def __init__(self, **overrides: Any) -> None:
        values: dict[str, Any] = {"client_id": CLIENT, "client_secret": SECRET}
        values.update(overrides)
        self.clock = FakeClock(auto_advance=False)
        self.host = Host(settings=EmulatorSettings(**values), clock=self.clock)
        self.server = OAuthServer(self.host)
        self._tids = itertools.count(1)

    def ctx(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> RequestContext:
        url = f"{self.host.base_url}{path}" + (f"?{urlencode(query)}" if query else "")
        request = HttpRequest(method=method, url=url, headers=headers or [], body=body)
        tid = f"1-{next(self._tids):08x}-{0:024x}"
        return RequestContext.build(request, now=self.clock.now(), tid=tid, zone=UTC)

    def send(self, method: str, path: str, **kwargs: Any) -> HttpResponse:
        response = self.server.handle(self.ctx(method, path, **kwargs))
        assert response is not None
        return response

    def authorize(self, **params: str) -> HttpResponse:
        query = {
            "client_id": CLIENT,
            "response_type": "code",
            "scope": ACCOUNTING_SCOPE,
            "redirect_uri": REDIRECT,
            "state": "st-1",
        }
        query.update(params)
        return self.send("GET", "/connect/oauth2", query=query)

    def post_consent(self, **fields: str) -> HttpResponse:
        form = {
            "client_id": CLIENT,
            "response_type": "code",
            "scope": ACCOUNTING_SCOPE,
            "redirect_uri": REDIRECT,
            "state": "st-1",
            "realmId": REALMS[0],
            "decision": "connect",
        }
        form.update(fields)
        return self.send(
            "POST",
            "/connect/oauth2",
            headers=[("Content-Type", "application/x-www-form-urlencoded")],
            body=urlencode(form).encode(),
        )

    def code(self, realm: str = REALMS[0], **params: str) -> str:
        response = self.authorize(realmId=realm, **params)
        assert response.status == 302
        return redirect_params(response)["code"]

    def token(
        self,
        form: dict[str, str],
        *,
        auth: str = "basic",
        secret: str = SECRET,
        headers: list[tuple[str, str]] | None = None,
    ) -> HttpResponse:
        all_headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
            *(headers or []),
        ]
        body = dict(form)
        if auth == "basic":
            all_headers.append(("Authorization", basic(CLIENT, secret)))
        elif auth == "post":
            body.update({"client_id": CLIENT, "client_secret": secret})
        return self.send(
            "POST", "/oauth2/v1/tokens/bearer", headers=all_headers, body=urlencode(body).encode()
        )

    def exchange(self, code: str, **extra: Any) -> HttpResponse:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        return self.token(form, **extra)

    def refresh(self, refresh_token: str, **extra: Any) -> HttpResponse:
        return self.token({"grant_type": "refresh_token", "refresh_token": refresh_token}, **extra)

    def connect(self, realm: str = REALMS[0], **params: str) -> dict[str, Any]:
        response = self.exchange(self.code(realm, **params))
        assert response.status == 200, response.body
        tokens: dict[str, Any] = body_json(response)
        return tokens

    def authenticate(self, access_token: str, realm: str = REALMS[0]) -> str:
        ctx = self.ctx(
            "GET",
            f"/v3/company/{realm}/customer/1",
            headers=[("Authorization", f"Bearer {access_token}")],
        )
        return self.server.authenticate(ctx, realm)

    def revoke(self, token: str, *, secret: str = SECRET) -> HttpResponse:
        return self.send(
            "POST",
            "/v2/oauth2/tokens/revoke",
            headers=[
                ("Content-Type", "application/json"),
                ("Authorization", basic(CLIENT, secret)),
            ],
            body=json.dumps({"token": token}).encode(),
        )

    def userinfo(self, access_token: str) -> HttpResponse:
        return self.send(
            "GET",
            "/v1/openid_connect/userinfo",
            headers=[("Authorization", f"Bearer {access_token}")],
        )


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def body_json(response: HttpResponse) -> Any:
    return json.loads(response.body)


def redirect_params(response: HttpResponse) -> dict[str, str]:
    location = response.headers.get("Location")
    assert location is not None
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def assert_invalid_grant(response: HttpResponse) -> None:
    assert response.status == 400
    assert body_json(response)["error"] == "invalid_grant"


# -- discovery, JWKS, routing -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/openid_configuration",
        "/.well-known/openid_configuration/",
        "/.well-known/openid_sandbox_configuration",
        "/.well-known/openid_sandbox_configuration/",
    ],
)
def test_discovery_documents_point_at_the_current_base_url(path: str) -> None:
    """Both discovery documents list every endpoint under the base URL current at request time."""
    harness = Harness()
    harness.host.base_url = "http://127.0.0.1:9999"
    document = body_json(harness.send("GET", path))
    assert document["issuer"] == "http://127.0.0.1:9999/op/v1"
    assert document["authorization_endpoint"] == "http://127.0.0.1:9999/connect/oauth2"
    assert document["token_endpoint"] == "http://127.0.0.1:9999/oauth2/v1/tokens/bearer"
    assert document["revocation_endpoint"] == "http://127.0.0.1:9999/v2/oauth2/tokens/revoke"
    assert document["userinfo_endpoint"] == "http://127.0.0.1:9999/v1/openid_connect/userinfo"
    assert document["jwks_uri"] == "http://127.0.0.1:9999/op/v1/jwks"
    assert document["response_types_supported"] == ["code"]
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_post",
        "client_secret_basic",
    ]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "openid" in document["scopes_supported"]
    assert "realmid" in document["claims_supported"]


def test_jwks_serves_one_rs256_key() -> None:
    """The JWKS endpoint serves a static RSA signing key set."""
    keys = body_json(Harness().send("GET", "/op/v1/jwks"))["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["alg"] == "RS256"
    assert keys[0]["e"] == "AQAB"
    assert len(keys[0]["n"]) > 300


def test_paths_that_are_not_oauth_are_left_to_the_app() -> None:
    """`handle` returns None for data-API and unknown paths."""
    harness = Harness()
    assert harness.server.handle(harness.ctx("GET", "/v3/company/1/customer/1")) is None
    assert harness.server.handle(harness.ctx("GET", "/nothing/here")) is None


def test_wrong_method_on_an_oauth_route_is_405() -> None:
    """A GET on the token endpoint is refused with 405 and an Allow header."""
    response = Harness().send("GET", "/oauth2/v1/tokens/bearer")
    assert response.status == 405
    assert response.headers.get("Allow") == "POST"


# -- authorize --------------------------------------------------------------------------------


def test_consent_page_lists_realms_with_a_form_posting_back() -> None:
    """Without auto-consent, authorize answers a consent page with a radio per realm."""
    response = Harness().authorize()
    page = response.body.decode()
    assert response.status == 200
    assert response.content_type == "text/html"
    assert '<form method="post" action="/connect/oauth2">' in page
    for realm in REALMS:
        assert f'<input type="radio" name="realmId" value="{realm}"' in page
    assert 'value="connect">Connect</button>' in page
    assert 'value="cancel">Cancel</button>' in page
    assert '<input type="hidden" name="state" value="st-1">' in page
    assert response.headers.get("X-Frame-Options") == "DENY"


def test_consent_page_escapes_hostile_parameters() -> None:
    """Hostile state and scope values appear HTML-escaped in the consent page, never raw."""
    hostile = '"><script>alert(1)</script>'
    response = Harness().authorize(state=hostile)
    page = response.body.decode()
    assert "<script>" not in page
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page


def test_full_flow_through_the_consent_form() -> None:
    """Consenting for the second realm redirects with code, state and realmId; the code buys
    tokens that authenticate for that realm."""
    harness = Harness()
    assert harness.authorize().status == 200
    response = harness.post_consent(realmId=REALMS[1])
    assert response.status == 302
    params = redirect_params(response)
    assert (response.headers.get("Location") or "").startswith(REDIRECT + "?code=")
    assert params["state"] == "st-1"
    assert params["realmId"] == REALMS[1]
    assert len(params["code"]) == 50
    tokens = body_json(harness.exchange(params["code"]))
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["x_refresh_token_expires_in"] == 8_726_400
    assert "id_token" not in tokens
    assert "x_refresh_token_hard_expires_in" not in tokens
    assert harness.authenticate(tokens["access_token"], REALMS[1]) == CLIENT


def test_consent_cancel_redirects_with_access_denied_and_state() -> None:
    """Cancel on the consent page redirects with error=access_denied and the state."""
    response = Harness().post_consent(decision="cancel")
    assert response.status == 302
    assert redirect_params(response) == {"error": "access_denied", "state": "st-1"}


def test_consent_post_with_an_unknown_realm_is_an_error_redirect() -> None:
    """A consent form naming a realm the user does not have redirects with invalid_request."""
    response = Harness().post_consent(realmId="123")
    assert redirect_params(response) == {"error": "invalid_request", "state": "st-1"}


def test_consent_post_revalidates_the_redirect_uri() -> None:
    """A tampered redirect_uri in the consent form gets an error page, never a redirect."""
    response = Harness().post_consent(redirect_uri="https://evil.example/steal")
    assert response.status == 400
    assert response.headers.get("Location") is None


def test_auto_consent_redirects_straight_to_the_first_realm() -> None:
    """With auto_consent the authorize request redirects at once, for the first realm."""
    response = Harness(auto_consent=True).authorize()
    assert response.status == 302
    params = redirect_params(response)
    assert params["realmId"] == REALMS[0]
    assert params["state"] == "st-1"
    assert list(params) == ["code", "state", "realmId"]


def test_realm_hint_skips_consent_and_picks_that_realm() -> None:
    """A realmId hint on authorize skips the page and consents for that realm."""
    response = Harness().authorize(realmId=REALMS[1])
    assert response.status == 302
    assert redirect_params(response)["realmId"] == REALMS[1]


def test_openid_only_consent_has_no_realm() -> None:
    """A consent without an accounting or payments scope redirects without realmId."""
    response = Harness(auto_consent=True).authorize(scope="openid email")
    params = redirect_params(response)
    assert "realmId" not in params
    assert "code" in params


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "http://127.0.0.1.evil.example/cb",
        "http://localhost@evil.example/cb",
        "ftp://localhost/cb",
        "http://localhost/cb#fragment",
        "http://localhost:99999/cb",
    ],
)
def test_authorize_refuses_unregistered_non_loopback_redirects(redirect_uri: str) -> None:
    """A redirect URI that is neither registered nor loopback gets an HTML page, no redirect."""
    response = Harness(auto_consent=True).authorize(redirect_uri=redirect_uri)
    assert response.status == 400
    assert response.content_type == "text/html"
    assert response.headers.get("Location") is None


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://127.0.0.1:5000/cb", "http://localhost/cb?x=1", "http://[::1]:8080/cb"],
)
def test_authorize_accepts_loopback_redirects(redirect_uri: str) -> None:
    """Any loopback http URI is accepted while allow_any_loopback_redirect is on."""
    response = Harness(auto_consent=True).authorize(redirect_uri=redirect_uri)
    assert response.status == 302
    location = response.headers.get("Location") or ""
    assert location.startswith(redirect_uri)
    assert "code=" in location


def test_loopback_redirects_need_registration_when_not_allowed() -> None:
    """With loopback allowance off, only a registered redirect URI is accepted."""
    harness = Harness(
        auto_consent=True,
        allow_any_loopback_redirect=False,
        redirect_uris=("https://app.example/cb",),
    )
    assert harness.authorize().status == 400
    assert harness.authorize(redirect_uri="https://app.example/cb").status == 302


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://evil.example\\@127.0.0.1/cb",  # Python: 127.0.0.1; a browser: evil.example
        "http://127.0.0.1\\@evil.example/cb",
        "http://user@127.0.0.1/cb",
        "http://127.0.0.1:5000\\cb",
        "http://127.1/cb",
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1/c b",
        "http://127.0.0.1/cb#frag",
        "http://127.0.0.1.evil.example/cb",
        "javascript://127.0.0.1/%0aalert(1)",
    ],
)
def test_authorize_refuses_ambiguous_loopback_redirects(redirect_uri: str) -> None:
    """A URI that only looks like loopback to one parser (backslash, user info, odd host or
    port, whitespace, fragment) gets the error page, never a redirect with the code."""
    response = Harness(auto_consent=True).authorize(redirect_uri=redirect_uri)
    assert response.status == 400
    assert response.headers.get("Location") is None


def test_registered_redirect_uris_are_compared_exactly() -> None:
    """A registered URI matches only character for character, as QBO compares them."""
    harness = Harness(
        auto_consent=True,
        allow_any_loopback_redirect=False,
        redirect_uris=("https://app.example/cb",),
    )
    for near_miss in (
        "https://app.example/cb/",
        "https://APP.example/cb",
        "https://app.example/cb?x=1",
        "https://evil.example\\@app.example/cb",
    ):
        assert harness.authorize(redirect_uri=near_miss).status == 400, near_miss


def test_authorize_with_unknown_client_gets_an_error_page() -> None:
    """An unknown client_id gets an HTML error page even with a valid redirect URI."""
    response = Harness(auto_consent=True).authorize(client_id="someone-else")
    assert response.status == 400
    assert response.headers.get("Location") is None


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": ""}, "invalid_request"),
        ({"scope": "com.intuit.quickbooks.nonsense"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
        ({"realmId": "42"}, "invalid_request"),
    ],
)
def test_other_authorize_errors_redirect_with_error_and_state(
    params: dict[str, str], error: str
) -> None:
    """Errors after the client and redirect URI check out redirect with error and state."""
    response = Harness(auto_consent=True).authorize(**params)
    assert response.status == 302
    assert redirect_params(response) == {"error": error, "state": "st-1"}


# -- token endpoint: codes and clients --------------------------------------------------------


def test_client_secret_post_authenticates_the_client() -> None:
    """Client credentials in the form body (client_secret_post) are accepted."""
    harness = Harness()
    response = harness.exchange(harness.code(), auth="post")
    assert response.status == 200
    assert body_json(response)["access_token"]


@pytest.mark.parametrize(
    ("auth", "secret"),
    [("basic", "wrong"), ("post", "wrong"), ("none", SECRET)],
)
def test_bad_or_missing_client_credentials_are_invalid_client(auth: str, secret: str) -> None:
    """Wrong or absent client credentials get 401 invalid_client without echoing secrets."""
    harness = Harness()
    response = harness.exchange(harness.code(), auth=auth, secret=secret)
    assert response.status == 401
    assert body_json(response) == {"error": "invalid_client"}
    assert SECRET.encode() not in response.body


def test_a_garbled_basic_header_is_invalid_client() -> None:
    """A Basic header that is not base64 of id:secret gets 401 invalid_client."""
    harness = Harness()
    response = harness.send(
        "POST",
        "/oauth2/v1/tokens/bearer",
        headers=[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", "Basic !!!not-base64"),
        ],
        body=b"grant_type=refresh_token&refresh_token=x",
    )
    assert response.status == 401
    assert body_json(response) == {"error": "invalid_client"}


def test_reusing_a_code_is_invalid_grant_and_revokes_the_grant() -> None:
    """A second exchange of a code fails and kills the tokens the first one produced."""
    harness = Harness()
    code = harness.code()
    first = body_json(harness.exchange(code))
    assert_invalid_grant(harness.exchange(code))
    with pytest.raises(GatewayFault) as caught:
        harness.authenticate(first["access_token"])
    assert caught.value.status == 401
    assert caught.value.detail == "Token invalid"
    assert_invalid_grant(harness.refresh(first["refresh_token"]))


def test_redirect_uri_must_match_the_one_authorized() -> None:
    """A code exchanged with another redirect_uri is invalid_grant, and stays usable."""
    harness = Harness()
    code = harness.code()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT + "x"}
    assert_invalid_grant(harness.token(form))
    assert harness.exchange(code).status == 200


def test_codes_expire() -> None:
    """A code older than authorization_code_lifetime is invalid_grant."""
    harness = Harness(authorization_code_lifetime=600.0)
    code = harness.code()
    harness.clock.advance(600)
    assert_invalid_grant(harness.exchange(code))


def test_unknown_code_is_invalid_grant() -> None:
    """A code the server never issued is invalid_grant."""
    assert_invalid_grant(Harness().exchange("AB1" + "0" * 47))


def test_unsupported_and_missing_grant_types() -> None:
    """An unknown grant_type is unsupported_grant_type; a missing one invalid_request."""
    harness = Harness()
    unknown = harness.token({"grant_type": "password"})
    assert unknown.status == 400
    assert body_json(unknown) == {"error": "unsupported_grant_type"}
    missing = harness.token({})
    assert missing.status == 400
    assert body_json(missing)["error"] == "invalid_request"


def test_token_endpoint_wants_a_form_body() -> None:
    """A JSON body on the token endpoint is invalid_request."""
    harness = Harness()
    response = harness.send(
        "POST",
        "/oauth2/v1/tokens/bearer",
        headers=[("Content-Type", "application/json"), ("Authorization", basic(CLIENT, SECRET))],
        body=b'{"grant_type":"refresh_token"}',
    )
    assert response.status == 400
    assert body_json(response)["error"] == "invalid_request"


def test_token_responses_carry_tid_and_no_store() -> None:
    """Token responses, successes and errors alike, carry intuit_tid and Cache-Control no-store."""
    harness = Harness()
    ok = harness.exchange(harness.code())
    error = harness.refresh("unknown-refresh-token")
    for response in (ok, error):
        assert (response.headers.get("intuit_tid") or "").startswith("1-")
        assert "no-store" in (response.headers.get("Cache-Control") or "")
        assert response.content_type == "application/json"


def test_id_token_only_with_the_openid_scope() -> None:
    """An openid grant gets a JWT-shaped id_token with Intuit's claims; others get none."""
    harness = Harness()
    tokens = harness.connect(scope=f"{ACCOUNTING_SCOPE} openid email")
    header, claims, signature = tokens["id_token"].split(".")
    pad = "=" * (-len(claims) % 4)
    decoded = json.loads(base64.urlsafe_b64decode(claims + pad))
    assert decoded["aud"] == [CLIENT]
    assert decoded["realmid"] == REALMS[0]
    assert decoded["iss"] == f"{BASE}/op/v1"
    assert decoded["exp"] - decoded["iat"] == 3600
    assert header
    assert signature
    assert "id_token" not in harness.connect()


# -- refresh and rotation ---------------------------------------------------------------------


def test_refresh_within_the_window_returns_the_same_token_counting_down() -> None:
    """Inside the rotation window the refresh token is returned unchanged, its lifetime
    counting down rather than reset."""
    harness = Harness()
    tokens = harness.connect()
    harness.clock.advance(5015)
    again = body_json(harness.refresh(tokens["refresh_token"]))
    assert again["refresh_token"] == tokens["refresh_token"]
    assert again["x_refresh_token_expires_in"] == 8_721_385
    assert again["access_token"] != tokens["access_token"]


def test_refresh_after_the_window_rotates_and_the_old_token_dies_without_grace() -> None:
    """After the rotation window a new refresh token is issued with the full lifetime, and
    the old one is invalid_grant at once when the grace is 0."""
    harness = Harness(rotation_window=86_400.0, old_refresh_token_grace=0.0)
    tokens = harness.connect()
    harness.clock.advance(86_400)
    rotated = body_json(harness.refresh(tokens["refresh_token"]))
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert rotated["refresh_token"].startswith("AB1")
    assert rotated["x_refresh_token_expires_in"] == 8_726_400
    assert_invalid_grant(harness.refresh(tokens["refresh_token"]))
    assert harness.refresh(rotated["refresh_token"]).status == 200


def test_old_refresh_token_works_during_the_grace_then_dies() -> None:
    """With a grace period, the replaced refresh token still works (answering with the current
    one) until the grace ends."""
    harness = Harness(rotation_window=3600.0, old_refresh_token_grace=1800.0)
    tokens = harness.connect()
    harness.clock.advance(3600)
    rotated = body_json(harness.refresh(tokens["refresh_token"]))["refresh_token"]
    harness.clock.advance(1799)
    during = harness.refresh(tokens["refresh_token"])
    assert during.status == 200
    assert body_json(during)["refresh_token"] == rotated
    harness.clock.advance(1)
    assert_invalid_grant(harness.refresh(tokens["refresh_token"]))
    assert harness.refresh(rotated).status == 200


def test_earlier_access_tokens_stay_valid_until_they_expire() -> None:
    """A refresh issues a new access token; the previous one keeps working until its expiry."""
    harness = Harness()
    tokens = harness.connect()
    harness.clock.advance(1800)
    fresh = body_json(harness.refresh(tokens["refresh_token"]))["access_token"]
    assert harness.authenticate(tokens["access_token"]) == CLIENT
    harness.clock.advance(1800)
    with pytest.raises(GatewayFault):
        harness.authenticate(tokens["access_token"])
    assert harness.authenticate(fresh) == CLIENT


def test_refresh_tokens_expire_after_their_lifetime() -> None:
    """A refresh token unused for refresh_token_lifetime is invalid_grant."""
    harness = Harness()
    tokens = harness.connect()
    harness.clock.advance(8_726_400)
    assert_invalid_grant(harness.refresh(tokens["refresh_token"]))


def test_refresh_tokens_never_outlive_the_hard_expiry() -> None:
    """Rotation never extends a refresh token past the grant's hard expiry, after which
    refreshing is invalid_grant."""
    day = 86_400.0
    harness = Harness(refresh_token_hard_lifetime=150 * day)
    tokens = harness.connect()
    harness.clock.advance(100 * day)
    rotated = body_json(harness.refresh(tokens["refresh_token"]))
    assert rotated["x_refresh_token_expires_in"] == int(50 * day)
    harness.clock.advance(50 * day)
    assert_invalid_grant(harness.refresh(rotated["refresh_token"]))


def test_hard_expiry_is_reported_only_when_asked() -> None:
    """x_refresh_token_hard_expires_in appears only with the opt-in header, counting down."""
    harness = Harness()
    header = [("x-include-refresh-token-hard-expires-in", "true")]
    first = body_json(harness.exchange(harness.code(), headers=header))
    assert first["x_refresh_token_hard_expires_in"] == 5 * 365 * 86_400
    harness.clock.advance(10)
    plain = body_json(harness.refresh(first["refresh_token"]))
    assert "x_refresh_token_hard_expires_in" not in plain
    asked = body_json(harness.refresh(first["refresh_token"], headers=header))
    assert asked["x_refresh_token_hard_expires_in"] == 5 * 365 * 86_400 - 10


def test_refresh_by_another_client_is_rejected() -> None:
    """Refreshing needs the refresh token's own client credentials."""
    harness = Harness()
    tokens = harness.connect()
    assert harness.refresh(tokens["refresh_token"], secret="nope").status == 401


# -- bearer tokens on the data API ------------------------------------------------------------


def test_expired_access_token_is_the_recorded_401() -> None:
    """An expired access token raises QBO's 401 3200 with WWW-Authenticate, the token's first
    50 characters, and renders to the recorded envelope keys."""
    harness = Harness()
    access = harness.connect()["access_token"]
    harness.clock.advance(3600)
    with pytest.raises(GatewayFault) as caught:
        harness.authenticate(access)
    fault = caught.value
    assert fault.status == 401
    assert fault.code == "3200"
    assert fault.message == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert fault.fault_type == "AUTHENTICATION"
    assert fault.detail == f"Token expired: {access[:50]}"
    assert fault.headers == (("WWW-Authenticate", 'Bearer realm="Intuit", error="invalid_token"'),)
    assert list(gateway_json(fault, 0)) == RECORDED_401_KEYS


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "Malformed bearer token: too short or too long"),
        ("Bearer short", "Malformed bearer token: too short or too long"),
        ("Bearer " + "x" * 5000, "Malformed bearer token: too short or too long"),
        ("Basic " + "x" * 60, "Malformed bearer token: too short or too long"),
        ("Bearer " + "x" * 60, "Token invalid"),
    ],
)
def test_missing_malformed_and_unknown_tokens_are_401(
    authorization: str | None, detail: str
) -> None:
    """Missing, malformed and unknown bearer tokens raise 401 3200 with QBO's detail texts."""
    harness = Harness()
    headers = [("Authorization", authorization)] if authorization else []
    ctx = harness.ctx("GET", "/v3/company/1/customer/1", headers=headers)
    with pytest.raises(GatewayFault) as caught:
        harness.server.authenticate(ctx, REALMS[0])
    assert caught.value.status == 401
    assert caught.value.code == "3200"
    assert caught.value.detail == detail


def test_token_of_another_realm_is_403_3100() -> None:
    """A valid token used on another realm raises the 403 ApplicationAuthorizationFailed."""
    harness = Harness()
    access = harness.connect(REALMS[0])["access_token"]
    with pytest.raises(GatewayFault) as caught:
        harness.authenticate(access, REALMS[1])
    fault = caught.value
    assert (fault.status, fault.code, fault.fault_type) == (403, "3100", "SERVICE")
    assert fault.message == (
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403"
    )


def test_token_without_the_accounting_scope_is_403() -> None:
    """A payments-only token on the accounting API raises 403 for insufficient scope."""
    harness = Harness()
    access = harness.server.mint_tokens(REALMS[0], scopes=["com.intuit.quickbooks.payment"])[
        "access_token"
    ]
    with pytest.raises(GatewayFault) as caught:
        harness.authenticate(access)
    assert caught.value.status == 403
    assert caught.value.detail == "The access token does not have sufficient scope"


# -- revoke -----------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["refresh_token", "access_token"])
def test_revoke_kills_every_token_of_the_grant(which: str) -> None:
    """Revoking either token answers 200 and invalidates the grant's access and refresh tokens."""
    harness = Harness()
    tokens = harness.connect()
    other = harness.connect(REALMS[1])
    response = harness.revoke(tokens[which])
    assert response.status == 200
    with pytest.raises(GatewayFault) as caught:
        harness.authenticate(tokens["access_token"])
    assert caught.value.status == 401
    assert_invalid_grant(harness.refresh(tokens["refresh_token"]))
    assert harness.authenticate(other["access_token"], REALMS[1]) == CLIENT


def test_revoke_of_an_unknown_token_is_200() -> None:
    """Revoking a token the server does not know still answers 200 (RFC 7009)."""
    assert Harness().revoke("AB1" + "z" * 47).status == 200


def test_revoke_needs_client_credentials() -> None:
    """Revoke with a wrong client secret is 401 and revokes nothing."""
    harness = Harness()
    tokens = harness.connect()
    assert harness.revoke(tokens["refresh_token"], secret="wrong").status == 401
    assert harness.authenticate(tokens["access_token"]) == CLIENT


def test_revoke_without_a_token_is_invalid_request() -> None:
    """A revoke body without `token` is 400 invalid_request."""
    response = Harness().revoke("")
    assert response.status == 400
    assert body_json(response)["error"] == "invalid_request"


# -- userinfo ---------------------------------------------------------------------------------


def test_userinfo_returns_camel_case_claims_of_the_granted_scopes() -> None:
    """Userinfo answers Intuit's camelCase claims for the openid scopes granted."""
    harness = Harness()
    tokens = harness.connect(scope="openid profile email phone address")
    response = harness.userinfo(tokens["access_token"])
    assert response.status == 200
    claims = body_json(response)
    assert set(claims) == {
        "sub",
        "email",
        "emailVerified",
        "givenName",
        "familyName",
        "phoneNumber",
        "phoneNumberVerified",
        "address",
    }
    assert set(claims["address"]) == {
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "country",
    }
    email_only = body_json(harness.userinfo(harness.connect(scope="openid email")["access_token"]))
    assert set(email_only) == {"sub", "email", "emailVerified"}
    assert email_only["sub"] == claims["sub"]


def test_userinfo_needs_the_openid_scope_and_a_valid_token() -> None:
    """Userinfo without openid raises 403; with an unknown token 401."""
    harness = Harness()
    accounting_only = harness.connect()["access_token"]
    with pytest.raises(GatewayFault) as forbidden:
        harness.userinfo(accounting_only)
    assert forbidden.value.status == 403
    with pytest.raises(GatewayFault) as unauthenticated:
        harness.userinfo("y" * 64)
    assert unauthenticated.value.status == 401


# -- control methods --------------------------------------------------------------------------


def test_mint_tokens_gives_a_working_bearer_token() -> None:
    """mint_tokens creates a grant and returns a token response usable at once."""
    harness = Harness()
    tokens = harness.server.mint_tokens(REALMS[1], hard_expiry=True)
    assert tokens["x_refresh_token_hard_expires_in"] == 5 * 365 * 86_400
    assert harness.authenticate(tokens["access_token"], REALMS[1]) == CLIENT
    assert harness.refresh(tokens["refresh_token"]).status == 200


def test_mint_tokens_rejects_an_unknown_realm_or_scope() -> None:
    """mint_tokens refuses a realm or a scope the emulator does not know."""
    server = Harness().server
    with pytest.raises(ValueError, match="realm"):
        server.mint_tokens("123")
    with pytest.raises(ValueError, match="scope"):
        server.mint_tokens(REALMS[0], scopes=["bogus"])


def test_expire_access_tokens_by_realm() -> None:
    """expire_access_tokens expires the live tokens of one realm and counts them."""
    harness = Harness()
    first = harness.server.mint_tokens(REALMS[0])
    second = harness.server.mint_tokens(REALMS[1])
    assert harness.server.expire_access_tokens(REALMS[0]) == 1
    assert harness.server.expire_access_tokens(REALMS[0]) == 0
    with pytest.raises(GatewayFault) as caught:
        harness.authenticate(first["access_token"])
    assert caught.value.detail.startswith("Token expired: ")
    assert harness.authenticate(second["access_token"], REALMS[1]) == CLIENT


def test_expire_refresh_tokens_and_revoke_grants() -> None:
    """expire_refresh_tokens kills refreshing; revoke_grants kills everything; both count."""
    harness = Harness()
    first = harness.server.mint_tokens(REALMS[0])
    second = harness.server.mint_tokens(REALMS[1])
    assert harness.server.expire_refresh_tokens() == 2
    assert_invalid_grant(harness.refresh(first["refresh_token"]))
    assert harness.authenticate(first["access_token"]) == CLIENT
    assert harness.server.revoke_grants(REALMS[1]) == 1
    assert harness.server.revoke_grants(REALMS[1]) == 0
    with pytest.raises(GatewayFault):
        harness.authenticate(second["access_token"], REALMS[1])


def test_snapshot_counts_without_token_values() -> None:
    """snapshot and repr report counts and never a token or the client secret."""
    harness = Harness()
    tokens = harness.connect()
    harness.code()
    snapshot = harness.server.snapshot()
    assert snapshot == {
        "grants": 1,
        "revoked_grants": 0,
        "access_tokens": 1,
        "refresh_tokens": 1,
        "superseded_refresh_tokens": 0,
        "authorization_codes": 1,
    }
    shown = repr(harness.server) + json.dumps(snapshot)
    for secret in (tokens["access_token"], tokens["refresh_token"], SECRET):
        assert secret not in shown


def test_tokens_look_like_intuits_and_follow_the_seed() -> None:
    """Access tokens are JWE-shaped, refresh tokens AB1-prefixed, and both repeat per seed."""
    one = Harness(seed=7).server.mint_tokens(REALMS[0])
    two = Harness(seed=7).server.mint_tokens(REALMS[0])
    other = Harness(seed=8).server.mint_tokens(REALMS[0])
    assert one == two
    assert one["access_token"] != other["access_token"]
    assert one["access_token"].startswith("eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..")
    assert len(one["access_token"].split(".")) == 5
    assert len(one["refresh_token"]) == 50
    assert one["refresh_token"].startswith("AB1")


# -- through the emulator ---------------------------------------------------------------------


async def test_through_the_emulator_an_expired_token_renders_the_recorded_401() -> None:
    """Through QBOEmulator.handle, discovery follows set_base_url and an expired token gets
    the recorded 401 body and WWW-Authenticate header."""
    from qbo_adapters.emulator.app import QBOEmulator

    clock = FakeClock(auto_advance=False)
    emulator = QBOEmulator(EmulatorSettings(auto_consent=True), clock=clock)
    emulator.set_base_url("http://127.0.0.1:7000/")
    discovery = await emulator.handle(
        HttpRequest(method="GET", url="http://x/.well-known/openid_sandbox_configuration")
    )
    assert json.loads(discovery.body)["token_endpoint"] == (
        "http://127.0.0.1:7000/oauth2/v1/tokens/bearer"
    )
    realm = emulator.realm_ids[0]
    access = emulator.oauth.mint_tokens(realm)["access_token"]
    clock.advance(3600)
    response = await emulator.handle(
        HttpRequest(
            method="GET",
            url=f"http://x/v3/company/{realm}/customer/1",
            headers={"Authorization": f"Bearer {access}", "Accept": "application/json"},
        )
    )
    assert response.status == 401
    assert response.headers.get("WWW-Authenticate") == (
        'Bearer realm="Intuit", error="invalid_token"'
    )
    body = json.loads(response.body)
    assert list(body) == RECORDED_401_KEYS
    assert body["fault"]["error"][0]["detail"] == f"Token expired: {access[:50]}"
    assert not emulator.internal_errors


async def test_through_the_emulator_the_code_flow_yields_a_token_that_is_realm_bound() -> None:
    """Through QBOEmulator.handle, auto-consent plus a code exchange gives a bearer token that
    another realm refuses with the 403 3100 gateway fault."""
    from qbo_adapters.emulator.app import QBOEmulator

    settings = EmulatorSettings(auto_consent=True, realms=2)
    emulator = QBOEmulator(settings, clock=FakeClock(auto_advance=False))
    query = urlencode(
        {
            "client_id": settings.client_id,
            "response_type": "code",
            "scope": ACCOUNTING_SCOPE,
            "redirect_uri": REDIRECT,
            "state": "s",
        }
    )
    authorized = await emulator.handle(
        HttpRequest(method="GET", url=f"http://x/connect/oauth2?{query}")
    )
    params = redirect_params(authorized)
    assert params["realmId"] == emulator.realm_ids[0]
    exchanged = await emulator.handle(
        HttpRequest(
            method="POST",
            url="http://x/oauth2/v1/tokens/bearer",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": basic(settings.client_id, settings.client_secret),
            },
            body=urlencode(
                {
                    "grant_type": "authorization_code",
                    "code": params["code"],
                    "redirect_uri": REDIRECT,
                }
            ).encode(),
        )
    )
    assert exchanged.status == 200
    access = json.loads(exchanged.body)["access_token"]
    other = emulator.realm_ids[1]
    refused = await emulator.handle(
        HttpRequest(
            method="GET",
            url=f"http://x/v3/company/{other}/customer/1",
            headers={"Authorization": f"Bearer {access}", "Accept": "application/json"},
        )
    )
    assert refused.status == 403
    error = json.loads(refused.body)["fault"]["error"][0]
    assert error["code"] == "3100"
    assert not emulator.internal_errors
