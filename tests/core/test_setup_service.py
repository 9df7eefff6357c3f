"""QBOSetupService against the emulator: begin, complete, reconnect, disconnect, status,
and every bad callback or fault refused with one typed error and nothing stored lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest

from qbo_adapters.memory import FakeTransport
from qbo_core import events
from qbo_core.dtos import ConnectionState, IntegrationStatus, TokenSet, VersionedTokenSet
from qbo_core.errors import (
    AuthorizationCallbackError,
    AuthorizationDeniedError,
    ConnectError,
    DecodeError,
    QBOError,
    ReadTimeoutError,
    ReauthorizationRequiredError,
    ServerError,
    TokenRevokedError,
)
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.setup import QBOSetupService
from qbo_core.wire import oauth
from tests.core.setup_world import REVOKE_PATH, TOKEN_PATH, SetupWorld
from tests.core.sync_world import CountingPermits


@pytest.fixture
def world() -> SetupWorld:
    return SetupWorld()


async def stored(world: SetupWorld) -> dict[str, VersionedTokenSet | None]:
    """What the token store holds for both companies (compared before and after a fault)."""
    return {realm: await world.tokens.load(realm) for realm in (world.realm, world.other_realm)}


async def connected(world: SetupWorld, realm: str | None = None) -> TokenSet:
    """Connect `realm` (default: the first company) through begin and complete."""
    setup = world.setup()
    request = await setup.begin("biz-1")
    await setup.complete("biz-1", await world.consent(request.authorization_url, realm_id=realm))
    loaded = await world.tokens.load(realm or world.realm)
    assert loaded is not None
    return loaded.tokens


def token_fault(world: SetupWorld, effect: dict[str, Any]) -> None:
    world.emulator.control.add_fault(
        {"route": {"path": TOKEN_PATH}, "trigger": {"next": 1}, "effect": effect}
    )


# --------------------------------------------------------------------- the happy paths


async def test_begin_then_complete_stores_tokens_and_names_the_company(world: SetupWorld) -> None:
    """begin → consent → complete: tokens stored, CONNECTED with the company's name, events."""
    setup = world.setup()
    request = await setup.begin("biz-1")
    assert request.business_id == "biz-1"
    assert request.realm_id is None
    assert request.expires_at == world.clock.now() + timedelta(seconds=600)
    assert parse_qs(urlsplit(request.authorization_url).query)["state"] == [request.state]

    connection = await setup.complete("biz-1", await world.consent(request.authorization_url))

    assert connection.status is IntegrationStatus.CONNECTED
    assert connection.business_id == "biz-1"
    assert connection.realm_id == world.realm
    company = world.emulator.companies[world.realm].company_info
    assert connection.company_name == company["CompanyName"]
    assert connection.access_token is None
    assert connection.refresh_token is None
    loaded = await world.tokens.load(world.realm)
    assert loaded is not None
    assert connection.refresh_token_expires_at == loaded.tokens.refresh_token_expires_at
    completed = world.events.of_kind(events.CONNECTION_COMPLETED)
    assert [(e.business_id, e.realm_id) for e in completed] == [("biz-1", world.realm)]
    assert completed[0].attributes == {"reconnect": False, "company_info": "fetched"}
    assert len(world.events.of_kind(events.CONNECTION_STARTED)) == 1


async def test_company_info_failure_still_connects_without_a_name(world: SetupWorld) -> None:
    """CompanyInfo failing after the exchange: CONNECTED, company_name None, tokens kept."""
    setup = world.setup()
    request = await setup.begin("biz-1")
    params = await world.consent(request.authorization_url)
    world.emulator.control.add_fault(
        {"route": {"path": "/v3/company/*/companyinfo/*"}, "effect": {"kind": "status"}}
    )
    connection = await setup.complete("biz-1", params)
    assert connection.status is IntegrationStatus.CONNECTED
    assert connection.company_name is None
    assert await world.tokens.load(world.realm) is not None
    (completed,) = world.events.of_kind(events.CONNECTION_COMPLETED)
    assert completed.attributes["company_info"] == "ServerError"


async def test_reconnect_completes_only_for_the_bound_company(world: SetupWorld) -> None:
    """begin(realm_id=) binds the state: the same company's callback replaces its tokens."""
    before = await connected(world)
    setup = world.setup()
    request = await setup.begin("biz-1", realm_id=world.realm)
    assert request.realm_id == world.realm
    connection = await setup.complete("biz-1", await world.consent(request.authorization_url))
    assert connection.realm_id == world.realm
    after = await world.tokens.load(world.realm)
    assert after is not None
    assert after.version == 2
    assert after.tokens.refresh_token != before.refresh_token
    completed = world.events.of_kind(events.CONNECTION_COMPLETED)
    assert completed[-1].attributes["reconnect"] is True


# --------------------------------------------------------------------- bad callbacks


async def test_the_company_info_read_that_completes_a_connection_takes_a_permit(
    world: SetupWorld,
) -> None:
    """The CompanyInfo read at the end of `complete` goes through the rate limiter like
    any request (a sync started right after it is then not throttled by it)."""
    permits = CountingPermits(world.clock)
    setup = world.setup(limiter=permits)
    request = await setup.begin("biz-1")
    connection = await setup.complete("biz-1", await world.consent(request.authorization_url))
    assert connection.company_name is not None
    assert permits.granted == 1
    assert permits.in_flight == 0


async def test_a_callback_without_state_is_refused(world: SetupWorld) -> None:
    """No state: refused as not from one of our URLs; no exchange, nothing stored changes."""
    await connected(world)
    setup = world.setup()
    request = await setup.begin("biz-1", realm_id=world.realm)
    params = await world.consent(request.authorization_url)
    before, exchanges = await stored(world), world.calls(TOKEN_PATH)
    with pytest.raises(AuthorizationCallbackError, match=r"no state.*begin") as caught:
        await setup.complete("biz-1", {key: v for key, v in params.items() if key != "state"})
    assert type(caught.value) is AuthorizationCallbackError
    assert await stored(world) == before
    assert world.calls(TOKEN_PATH) == exchanges
    failed = world.events.of_kind(events.CONNECTION_FAILED)
    assert failed[-1].attributes["error"] == "AuthorizationCallbackError"


async def test_a_reused_state_is_refused(world: SetupWorld) -> None:
    """A callback replayed after it completed: refused, the connection it made unchanged."""
    setup = world.setup()
    request = await setup.begin("biz-1")
    params = await world.consent(request.authorization_url)
    await setup.complete("biz-1", params)
    before, exchanges = await stored(world), world.calls(TOKEN_PATH)
    with pytest.raises(AuthorizationCallbackError, match="already used or expired"):
        await setup.complete("biz-1", params)
    assert await stored(world) == before
    assert world.calls(TOKEN_PATH) == exchanges


async def test_an_expired_state_is_refused(world: SetupWorld) -> None:
    """A callback after the state's TTL: refused, nothing exchanged or stored."""
    setup = world.setup(state_ttl=60.0)
    request = await setup.begin("biz-1")
    assert request.expires_at == world.clock.now() + timedelta(seconds=60)
    params = await world.consent(request.authorization_url)
    world.clock.advance(61)
    with pytest.raises(AuthorizationCallbackError, match=r"expired.*new authorization URL"):
        await setup.complete("biz-1", params)
    assert await stored(world) == {world.realm: None, world.other_realm: None}
    assert world.calls(TOKEN_PATH) == 0


async def test_a_state_issued_for_another_business_is_refused(world: SetupWorld) -> None:
    """A callback completed by another business than the one that began: refused."""
    await connected(world)
    setup = world.setup()
    request = await setup.begin("biz-1")
    params = await world.consent(request.authorization_url)
    before, exchanges = await stored(world), world.calls(TOKEN_PATH)
    with pytest.raises(AuthorizationCallbackError, match="another business"):
        await setup.complete("biz-2", params)
    assert await stored(world) == before
    assert world.calls(TOKEN_PATH) == exchanges


@pytest.mark.parametrize("forge", ["made_up", "tampered"])
async def test_a_made_up_or_tampered_state_is_refused(world: SetupWorld, forge: str) -> None:
    """A state never issued, or an issued one with one character changed: refused."""
    await connected(world)
    setup = world.setup()
    request = await setup.begin("biz-1")
    params = await world.consent(request.authorization_url)
    state = params["state"]
    flipped = ("A" if state[0] != "A" else "B") + state[1:]
    params["state"] = "x" * 43 if forge == "made_up" else flipped
    before, exchanges = await stored(world), world.calls(TOKEN_PATH)
    with pytest.raises(AuthorizationCallbackError, match="unknown"):
        await setup.complete("biz-1", params)
    assert await stored(world) == before
    assert world.calls(TOKEN_PATH) == exchanges


async def test_a_callback_for_another_company_than_the_bound_one_is_refused(
    world: SetupWorld,
) -> None:
    """A reconnect of company A answered for company B: refused, neither store entry
    changes, and the state is spent (the matching callback after it is refused too)."""
    await connected(world)
    setup = world.setup()
    request = await setup.begin("biz-1", realm_id=world.realm)
    wrong = await world.consent(request.authorization_url, realm_id=world.other_realm)
    before, exchanges = await stored(world), world.calls(TOKEN_PATH)
    with pytest.raises(AuthorizationCallbackError, match="started to reconnect") as caught:
        await setup.complete("biz-1", wrong)
    assert caught.value.realm_id == world.realm
    assert world.other_realm in str(caught.value)
    assert await stored(world) == before
    assert world.calls(TOKEN_PATH) == exchanges
    right = await world.consent(request.authorization_url)
    with pytest.raises(AuthorizationCallbackError, match="already used"):
        await setup.complete("biz-1", right)


@pytest.mark.parametrize("realm", ["", "12ab", "../9130", "1" * 40, None])
async def test_a_malformed_or_missing_realm_id_is_refused_with_the_state_left_live(
    world: SetupWorld, realm: str | None
) -> None:
    """A realmId that is not a company id: refused before the state is spent."""
    setup = world.setup()
    request = await setup.begin("biz-1")
    params = await world.consent(request.authorization_url)
    bad = dict(params)
    if realm is None:
        del bad["realmId"]
    else:
        bad["realmId"] = realm
    with pytest.raises(AuthorizationCallbackError, match="realmId"):
        await setup.complete("biz-1", bad)
    assert world.calls(TOKEN_PATH) == 0
    assert await stored(world) == {world.realm: None, world.other_realm: None}
    assert (await setup.complete("biz-1", params)).status is IntegrationStatus.CONNECTED


async def test_the_user_declining_raises_denied_and_spends_the_state(world: SetupWorld) -> None:
    """Cancel on Intuit's screen (error=access_denied): AuthorizationDeniedError with the
    code, the state spent, nothing stored or exchanged."""
    before_tokens = await connected(world)
    setup = world.setup()
    request = await setup.begin("biz-1", realm_id=world.realm)
    params = await world.decline(request.authorization_url)
    assert params == {"error": "access_denied", "state": request.state}
    before, exchanges = await stored(world), world.calls(TOKEN_PATH)
    with pytest.raises(AuthorizationDeniedError, match=r"declined.*start again") as caught:
        await setup.complete("biz-1", params)
    assert caught.value.code == "access_denied"
    assert await stored(world) == before
    assert world.calls(TOKEN_PATH) == exchanges
    loaded = await world.tokens.load(world.realm)
    assert loaded is not None
    assert loaded.tokens == before_tokens
    replay = await world.consent(request.authorization_url)  # a code for the same state
    with pytest.raises(AuthorizationCallbackError, match="already used"):
        await setup.complete("biz-1", replay)
    failed = world.events.of_kind(events.CONNECTION_FAILED)
    assert failed[-2].attributes == {"error": "AuthorizationDeniedError", "code": "access_denied"}


@pytest.mark.parametrize(
    ("error", "code", "says"),
    [
        ("invalid_scope", "invalid_scope", "scopes"),
        ("server_error", "server_error", "try again later"),
        ("<script>", "unknown_error", "answered the authorization with an error"),
    ],
)
async def test_other_oauth_errors_are_typed_with_their_code(
    world: SetupWorld, error: str, code: str, says: str
) -> None:
    """Any other error=: AuthorizationCallbackError (not denied) naming the code; state spent."""
    setup = world.setup()
    request = await setup.begin("biz-1")
    params = {"error": error, "error_description": "x" * 5000, "state": request.state}
    with pytest.raises(AuthorizationCallbackError, match=says) as caught:
        await setup.complete("biz-1", params)
    assert type(caught.value) is AuthorizationCallbackError
    assert caught.value.code == code
    assert caught.value.detail is not None
    assert len(caught.value.detail) == 200
    assert await world.auth().abandon(request.state) is False  # already spent


# --------------------------------------------------------------------- token endpoint faults


HTML_200 = HttpResponse(
    status=200,
    headers=[("Content-Type", "text/html; charset=utf-8")],
    body=b"<!DOCTYPE html><html><body>Sign in to Intuit</body></html>",
)


def html_200(world: SetupWorld) -> FakeTransport:
    """The emulator, except that the token endpoint answers a 200 HTML page (a proxy's
    login page, a captive portal)."""

    async def handler(request: HttpRequest) -> HttpResponse:
        if urlsplit(request.url).path == TOKEN_PATH:
            return HTML_200
        return await world.emulator.handle(request)

    return FakeTransport(handler)


@pytest.mark.parametrize(
    ("fault", "error"), [(200, DecodeError), (502, ServerError), (503, ServerError)]
)
async def test_html_from_the_token_endpoint_on_complete_loses_nothing(
    world: SetupWorld, fault: int, error: type[QBOError]
) -> None:
    """HTML instead of tokens during a reconnect (200 or 5xx): typed error, the old
    tokens unchanged, the connection still working."""
    await connected(world)
    if fault == 200:
        setup = world.setup(transport=html_200(world))
    else:
        setup = world.setup()
        token_fault(world, {"kind": "html", "status": fault})
    request = await setup.begin("biz-1", realm_id=world.realm)
    params = await world.consent(request.authorization_url)
    before = await stored(world)
    with pytest.raises(error, match=r"HTTP|not a JSON object"):
        await setup.complete("biz-1", params)
    assert await stored(world) == before
    assert (await world.setup().status("biz-1", world.realm)).status is (
        IntegrationStatus.CONNECTED
    )


async def timing_out(world: SetupWorld) -> FakeTransport:
    """The emulator, except that the token endpoint times out as aiohttp's transport would."""

    async def handler(request: HttpRequest) -> HttpResponse:
        if urlsplit(request.url).path == TOKEN_PATH:
            raise ReadTimeoutError("the read timed out", status=None)
        return await world.emulator.handle(request)

    return FakeTransport(handler)


async def test_a_token_endpoint_timeout_on_complete_loses_nothing(world: SetupWorld) -> None:
    """The exchange times out (outcome unknown): ReadTimeoutError, old tokens unchanged."""
    await connected(world)
    setup = world.setup(transport=await timing_out(world))
    request = await setup.begin("biz-1", realm_id=world.realm)
    params = await world.consent(request.authorization_url)
    before = await stored(world)
    with pytest.raises(ReadTimeoutError):
        await setup.complete("biz-1", params)
    assert await stored(world) == before


@pytest.mark.parametrize("fault", ["html-200", "html-500", "timeout"])
async def test_refresh_faults_leave_the_stored_tokens_unchanged(
    world: SetupWorld, fault: str
) -> None:
    """access_token() whose refresh gets HTML or times out: typed error, store unchanged,
    and the stored refresh token still works afterwards."""
    await connected(world)
    world.clock.advance(3600)
    before = await stored(world)
    expected: type[QBOError]
    if fault == "timeout":
        auth, expected = world.auth(transport=await timing_out(world)), ReadTimeoutError
    elif fault == "html-200":
        auth, expected = world.auth(transport=html_200(world)), DecodeError
    else:
        token_fault(world, {"kind": "html", "status": 500})
        auth, expected = world.auth(), ServerError
    with pytest.raises(expected):
        await auth.access_token(world.realm)
    assert await stored(world) == before
    assert await world.auth().access_token(world.realm)


# --------------------------------------------------------------------- disconnect


async def test_disconnect_revokes_at_intuit_and_deletes(world: SetupWorld) -> None:
    """disconnect: the grant is revoked at Intuit, the tokens deleted, an event emitted."""
    tokens = await connected(world)
    setup = world.setup()
    assert await setup.disconnect(world.realm) is True
    assert await world.tokens.load(world.realm) is None
    assert world.emulator.oauth.snapshot()["grants"] == 0
    assert world.calls(REVOKE_PATH) == 1
    (event,) = world.events.of_kind(events.DISCONNECTED)
    assert event.realm_id == world.realm
    assert (await setup.status("biz-1", world.realm)).status is IntegrationStatus.DISCONNECTED
    # The refresh token is dead at Intuit too.
    refused = await world.transport.send(
        oauth.build_refresh(world.config, refresh_token=tokens.refresh_token)
    )
    assert refused.status == 400
    assert await setup.disconnect(world.realm) is False


async def test_disconnect_of_a_grant_intuit_no_longer_knows_still_deletes(
    world: SetupWorld,
) -> None:
    """Already revoked at Intuit (the user disconnected in QBO): 200 anyway, tokens deleted."""
    await connected(world)
    assert world.emulator.control.revoke_tokens(realm_id=world.realm) == 1
    assert await world.setup().disconnect(world.realm) is True
    assert await world.tokens.load(world.realm) is None


async def test_disconnect_after_a_local_revoke_does_not_call_intuit_again(
    world: SetupWorld,
) -> None:
    """Tokens already marked revoked: deleted without another revoke request."""
    await connected(world)
    await world.auth().revoke(world.realm)
    revokes = world.calls(REVOKE_PATH)
    assert await world.setup().disconnect(world.realm) is True
    assert world.calls(REVOKE_PATH) == revokes
    assert await world.tokens.load(world.realm) is None


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (ConnectError("connection refused"), ConnectError),
        (HttpResponse(status=503, body=b"<html>down</html>"), ServerError),
    ],
)
async def test_a_failed_revoke_deletes_nothing(
    world: SetupWorld, answer: ConnectError | HttpResponse, error: type[QBOError]
) -> None:
    """Revoke not confirmed (network, 5xx): the error is raised and nothing is deleted."""
    await connected(world)
    before = await stored(world)

    async def handler(request: HttpRequest) -> HttpResponse:
        if urlsplit(request.url).path == REVOKE_PATH:
            if isinstance(answer, ConnectError):
                raise answer
            return answer
        return await world.emulator.handle(request)

    with pytest.raises(error):
        await world.setup(transport=FakeTransport(handler)).disconnect(world.realm)
    assert await stored(world) == before
    assert world.events.of_kind(events.DISCONNECTED) == []


async def test_disconnect_revokes_tokens_stored_meanwhile_too(world: SetupWorld) -> None:
    """A refresh saved between the load and the delete: its tokens are revoked and deleted."""
    await connected(world)
    world.clock.advance(3600)
    other = world.auth()

    async def handler(request: HttpRequest) -> HttpResponse:
        answer = await world.emulator.handle(request)
        if urlsplit(request.url).path == REVOKE_PATH and world.calls(REVOKE_PATH) == 1:
            loaded = await world.tokens.load(world.realm)
            assert loaded is not None
            fresh = attrs.evolve(loaded.tokens, access_token="another-" + "a" * 40)
            await world.tokens.save(world.realm, fresh, expected_version=loaded.version)
        return answer

    assert await world.setup(transport=FakeTransport(handler)).disconnect(world.realm) is True
    assert await world.tokens.load(world.realm) is None
    assert world.calls(REVOKE_PATH) == 2
    with pytest.raises(ReauthorizationRequiredError):
        await other.access_token(world.realm)


# --------------------------------------------------------------------- reconnect, status


async def test_reconnect_url_is_none_for_a_healthy_connection(world: SetupWorld) -> None:
    """Refresh token good for more than reconnect_within: no reconnect offered."""
    await connected(world)
    assert await world.setup().reconnect_url("biz-1", world.realm) is None


async def test_reconnect_url_when_the_hard_expiry_nears(world: SetupWorld) -> None:
    """Within 30 days of the 5-year cap: a request bound to the business and company."""
    tokens = await connected(world)
    assert tokens.refresh_token_hard_expires_at is not None
    world.clock.set_now(tokens.refresh_token_hard_expires_at - timedelta(days=29))
    loaded = await world.tokens.load(world.realm)
    assert loaded is not None
    rolled = attrs.evolve(
        loaded.tokens, refresh_token_expires_at=world.clock.now() + timedelta(days=100)
    )
    await world.tokens.save(world.realm, rolled, expected_version=loaded.version)
    setup = world.setup()
    request = await setup.reconnect_url("biz-1", world.realm)
    assert request is not None
    assert (request.business_id, request.realm_id) == ("biz-1", world.realm)
    connection = await setup.complete("biz-1", await world.consent(request.authorization_url))
    assert connection.realm_id == world.realm
    assert await setup.reconnect_url("biz-1", world.realm) is None


async def test_reconnect_url_when_the_connection_needs_the_user(world: SetupWorld) -> None:
    """After invalid_grant (and for a company with nothing stored): a reconnect request."""
    await connected(world)
    world.clock.advance(3600)
    world.emulator.control.expire_tokens("refresh", realm_id=world.realm)
    setup = world.setup()
    with pytest.raises(ReauthorizationRequiredError):
        await world.auth().access_token(world.realm)
    status = await setup.status("biz-1", world.realm)
    assert status.status is IntegrationStatus.NEEDS_REAUTHORIZATION
    assert status.updated_at == world.clock.now()
    request = await setup.reconnect_url("biz-1", world.realm)
    assert request is not None
    assert request.realm_id == world.realm
    assert await setup.reconnect_url("biz-1", world.other_realm) is not None


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        (None, IntegrationStatus.CONNECTED),
        ("reauthorization_required_at", IntegrationStatus.NEEDS_REAUTHORIZATION),
        ("revoked_at", IntegrationStatus.DISCONNECTED),
    ],
)
async def test_status_maps_the_connection_state(
    world: SetupWorld, mark: str | None, expected: IntegrationStatus
) -> None:
    """status(): working → CONNECTED, dead → NEEDS_REAUTHORIZATION, revoked → DISCONNECTED;
    the refresh expiry reported is the earlier of the rolling and the hard one."""
    tokens = await connected(world)
    if mark is not None:
        changes: dict[str, Any] = {mark: world.clock.now()}
        await world.tokens.save(world.realm, attrs.evolve(tokens, **changes), expected_version=1)
    status = await world.setup().status("biz-1", world.realm)
    assert status.status is expected
    assert status.realm_id == world.realm
    assert status.refresh_token_expires_at == tokens.refresh_token_expires_at
    assert status.access_token is None


async def test_a_revoked_connection_refuses_tokens_until_reconnected(world: SetupWorld) -> None:
    """Revoked through the auth service: access_token refuses; a reconnect restores it."""
    await connected(world)
    await world.auth().revoke(world.realm)
    with pytest.raises(TokenRevokedError):
        await world.auth().access_token(world.realm)
    setup = world.setup()
    request = await setup.reconnect_url("biz-1", world.realm)
    assert request is not None
    await setup.complete("biz-1", await world.consent(request.authorization_url))
    assert (await world.auth().status(world.realm)).state is ConnectionState.CONNECTED


@pytest.mark.parametrize(("business", "realm"), [("", None), ("biz-1", "12ab"), ("biz-1", "")])
async def test_begin_refuses_bad_input_and_stores_no_state(
    world: SetupWorld, business: str, realm: str | None
) -> None:
    """An empty business id or a realm id that is not a company id: ValueError, no state."""
    setup = world.setup()
    with pytest.raises(ValueError, match=r"business_id|realm_id"):
        await setup.begin(business, realm_id=realm)
    assert world.events.of_kind(events.CONNECTION_STARTED) == []
    assert len(world.states) == 0


# --------------------------------------------------------------------- what callers read


def setup_with(world: SetupWorld, reconnect_within: timedelta) -> QBOSetupService:
    """A setup service on the world with the given `reconnect_within`."""
    return QBOSetupService(
        auth=world.auth(),
        raw_client=QBORawClient(
            world.transport, world.config, events=world.events, clock=world.clock
        ),
        clock=world.clock,
        events=world.events,
        reconnect_within=reconnect_within,
    )


async def test_begin_reports_the_start_with_its_expiry_and_whether_it_reconnects(
    world: SetupWorld,
) -> None:
    """`connection.started` names the business and (for a reconnect) the company, when,
    whether it is a reconnect, and when the request's state expires."""
    setup = world.setup()
    fresh = await setup.begin("biz-1")
    again = await setup.begin("biz-1", realm_id=world.realm)
    started = world.events.of_kind(events.CONNECTION_STARTED)
    assert [(e.business_id, e.realm_id, e.at) for e in started] == [
        ("biz-1", None, world.clock.now()),
        ("biz-1", world.realm, world.clock.now()),
    ]
    assert [e.attributes for e in started] == [
        {"reconnect": False, "expires_at": fresh.expires_at.isoformat()},
        {"reconnect": True, "expires_at": again.expires_at.isoformat()},
    ]


async def test_begin_asks_for_the_scopes_given(world: SetupWorld) -> None:
    """`begin(scopes=...)` puts those scopes in the authorization URL."""
    request = await world.setup().begin(
        "biz-1", scopes=("com.intuit.quickbooks.accounting", "openid")
    )
    query = parse_qs(urlsplit(request.authorization_url).query)
    assert query["scope"] == ["com.intuit.quickbooks.accounting openid"]


async def test_complete_returns_the_stored_expiries_and_when_it_connected(
    world: SetupWorld,
) -> None:
    """The connection `complete` returns carries the stored access token's expiry and
    the moment it was connected (also its last update)."""
    setup = world.setup()
    request = await setup.begin("biz-1")
    connection = await setup.complete("biz-1", await world.consent(request.authorization_url))
    loaded = await world.tokens.load(world.realm)
    assert loaded is not None
    assert connection.access_token_expires_at == loaded.tokens.access_token_expires_at
    assert connection.connected_at == world.clock.now()
    assert connection.updated_at == world.clock.now()


async def test_status_reports_the_access_tokens_expiry(world: SetupWorld) -> None:
    """`status` carries the stored access token's expiry."""
    tokens = await connected(world)
    status = await world.setup().status("biz-1", world.realm)
    assert status.access_token_expires_at == tokens.access_token_expires_at


@pytest.mark.parametrize("business_id", ["", None])
async def test_complete_and_status_name_a_missing_business(
    world: SetupWorld, business_id: Any
) -> None:
    """An empty or non-string business id is a `ValueError` that names `business_id`."""
    setup = world.setup()
    message = r"^business_id must be a non-empty string$"
    with pytest.raises(ValueError, match=message):
        await setup.complete(business_id, {})
    with pytest.raises(ValueError, match=message):
        await setup.status(business_id, world.realm)


def test_reconnect_within_may_be_zero_but_not_negative(world: SetupWorld) -> None:
    """`reconnect_within=0` is allowed (offer a reconnect only once the token has ended);
    a negative one is a `ValueError` that says so."""
    setup_with(world, timedelta(0))
    with pytest.raises(ValueError, match=r"^reconnect_within must not be negative$"):
        setup_with(world, timedelta(seconds=-1))


async def test_a_refresh_token_ending_exactly_at_the_horizon_is_offered_a_reconnect(
    world: SetupWorld,
) -> None:
    """The horizon is inclusive: a refresh token whose end is exactly `reconnect_within`
    away gets a reconnect URL."""
    tokens = await connected(world)
    within = tokens.refresh_token_expires_at - world.clock.now()
    if tokens.refresh_token_hard_expires_at is not None:
        within = min(within, tokens.refresh_token_hard_expires_at - world.clock.now())
    setup = setup_with(world, within)
    assert await setup.reconnect_url("biz-1", world.realm) is not None


async def test_the_callback_errors_say_what_happened_and_what_to_do(world: SetupWorld) -> None:
    """The messages a host may show: no state, a bad realmId, a declined consent (with
    Intuit's description kept as the detail), and an error code this service does not know."""
    setup = world.setup()
    with pytest.raises(AuthorizationCallbackError) as no_state:
        await setup.complete("biz-1", {"state": "", "code": "c", "realmId": world.realm})
    assert no_state.value.message == (
        "the callback has no state: it did not come from an authorization URL this "
        "service made; start the connection again with begin()"
    )
    request = await setup.begin("biz-1")
    with pytest.raises(AuthorizationCallbackError) as bad_realm:
        await setup.complete("biz-1", {"state": request.state, "code": "c", "realmId": "x"})
    assert bad_realm.value.message == (
        "the callback's realmId is missing or not a QBO company id (was the "
        "accounting scope asked for?); start the connection again with begin()"
    )
    declined = {"state": request.state, "error": "access_denied", "error_description": "no"}
    with pytest.raises(AuthorizationDeniedError) as denied:
        await setup.complete("biz-1", declined)
    assert denied.value.message == (
        "the user declined to connect the QBO company on Intuit's consent screen "
        "(access_denied); nothing was stored: offer to start again with begin()"
    )
    assert denied.value.detail == "no"
    with pytest.raises(AuthorizationCallbackError) as unknown:
        await setup.complete("biz-1", {"error": "mystery_error"})
    assert unknown.value.message == (
        "Intuit answered the authorization with an error (mystery_error); nothing was "
        "stored: start the connection again with begin()"
    )
    assert unknown.value.codes == ("mystery_error",)


async def test_a_callback_without_a_code_leaves_its_state_usable(world: SetupWorld) -> None:
    """A callback with no `code` is refused before the state is spent: the proper
    callback for the same state still completes."""
    setup = world.setup()
    request = await setup.begin("biz-1")
    params = await world.consent(request.authorization_url)
    without_code = {key: value for key, value in params.items() if key != "code"}
    with pytest.raises(AuthorizationCallbackError, match="code is missing or malformed"):
        await setup.complete("biz-1", without_code)
    connection = await setup.complete("biz-1", params)
    assert connection.status is IntegrationStatus.CONNECTED


async def test_a_failed_completion_is_reported_with_the_business_and_company(
    world: SetupWorld,
) -> None:
    """`connection.failed` names the business and the company the error names."""
    setup = world.setup()
    request = await setup.begin("biz-1", realm_id=world.realm)
    params = await world.consent(request.authorization_url, realm_id=world.other_realm)
    with pytest.raises(AuthorizationCallbackError):
        await setup.complete("biz-1", params)
    (failed,) = world.events.of_kind(events.CONNECTION_FAILED)
    assert (failed.business_id, failed.realm_id) == ("biz-1", world.realm)


async def test_the_company_info_read_waits_for_the_companys_permit(world: SetupWorld) -> None:
    """The CompanyInfo read asks the limiter for the connected company: a company held
    back 30 s (a 429 elsewhere) completes 30 s later."""
    permits = CountingPermits(world.clock)
    setup = world.setup(limiter=permits)
    request = await setup.begin("biz-1")
    params = await world.consent(request.authorization_url)
    await permits.throttled(world.realm, retry_after=30)
    started = world.clock.monotonic()
    await setup.complete("biz-1", params)
    assert world.clock.monotonic() - started == pytest.approx(30)
