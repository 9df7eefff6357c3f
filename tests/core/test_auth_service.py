"""`QBOAuthService` against the in-process emulator, on a fake clock and the memory adapters.

Every count of token-endpoint calls comes from the emulator's own request log.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory import (
    AsyncioLock,
    FakeClock,
    MemoryStateStore,
    MemoryTokenStore,
    RecordingEventSink,
)
from qbo_core import events
from qbo_core.config import QBOConfig
from qbo_core.dtos import ConnectionState, TokenSet
from qbo_core.errors import (
    AuthorizationCallbackError,
    DecodeError,
    QBOError,
    ReadTimeoutError,
    ReauthorizationRequiredError,
    ServerError,
    TokenRevokedError,
)
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.services.auth import QBOAuthService
from qbo_core.wire import oauth
from tests.emulator_config import emulator_config

BASE = "http://emulator.invalid"
REDIRECT = "http://localhost:8765/callback"
CLIENT = "auth-test-client"
SECRET = "auth-test-secret-value-xyz"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"


def make_config(**changes: Any) -> QBOConfig:
    return emulator_config(
        BASE, client_id=CLIENT, client_secret=SECRET, **{"redirect_uri": REDIRECT, **changes}
    )


class World:
    """One emulator and one set of shared stores; `service()` makes a worker on them."""

    def __init__(self, **settings: Any) -> None:
        self.clock = FakeClock()
        values: dict[str, Any] = {
            "client_id": CLIENT,
            "client_secret": SECRET,
            "redirect_uris": (REDIRECT,),
            "rotation_window": 0.0,  # every refresh rotates, and the old token dies at once
            "throttle": False,
        }
        values.update(settings)
        self.emulator = QBOEmulator(EmulatorSettings(**values), clock=self.clock, base_url=BASE)
        self.transport = EmulatorTransport(self.emulator)
        self.config = make_config()
        self.tokens = MemoryTokenStore()
        self.lock = AsyncioLock(self.clock)
        self.states = MemoryStateStore(self.clock)
        self.events = RecordingEventSink()
        self.realm = self.emulator.realm_ids[0]
        self.issued: list[str] = []

    def service(self, **options: Any) -> QBOAuthService:
        return QBOAuthService(
            transport=options.pop("transport", self.transport),
            config=options.pop("config", self.config),
            token_store=self.tokens,
            lock=options.pop("lock", self.lock),
            state_store=self.states,
            clock=self.clock,
            events=self.events,
            **options,
        )

    def token_calls(self) -> int:
        return sum(1 for entry in self.emulator.request_log if entry.path == TOKEN_PATH)

    async def connect(self) -> TokenSet:
        """Store freshly minted tokens for the realm, as a completed connection would."""
        payload = self.emulator.control.mint_tokens(self.realm)
        self.issued += [payload["access_token"], payload["refresh_token"]]
        response = HttpResponse(status=200, body=json.dumps(payload).encode())
        tokens = oauth.decode_token_response(
            response, now=self.clock.now(), config=self.config, realm_id=self.realm
        )
        await self.tokens.save(self.realm, tokens, expected_version=None)
        return tokens

    def expire_access(self) -> None:
        self.clock.advance(3600 + 1)


@pytest.fixture
def world() -> World:
    return World()


async def test_a_fresh_token_is_returned_without_asking_intuit(world: World) -> None:
    """Within its lifetime minus the margin, the stored access token is returned as is."""
    tokens = await world.connect()
    assert await world.service().access_token(world.realm) == tokens.access_token
    assert world.token_calls() == 0


async def test_refreshes_proactively_inside_the_margin(world: World) -> None:
    """An access token within `refresh_margin` of expiry is refreshed before it is returned."""
    tokens = await world.connect()
    world.clock.advance(3600 - 200)  # 200 s left, margin 300 s
    token = await world.service().access_token(world.realm)
    assert token != tokens.access_token
    assert world.token_calls() == 1
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    assert stored.version == 2
    assert stored.tokens.access_token == token
    assert stored.tokens.refresh_token_hard_expires_at is not None  # asked for and kept


async def test_fifty_concurrent_callers_cause_exactly_one_refresh(world: World) -> None:
    """50 callers with an expired token: one token-endpoint call, every caller gets its result."""
    await world.connect()
    world.expire_access()
    service = world.service()
    results = await asyncio.gather(*(service.access_token(world.realm) for _ in range(50)))
    assert world.token_calls() == 1
    assert len(set(results)) == 1
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    assert stored.tokens.access_token == results[0]
    assert len(world.events.of_kind(events.TOKEN_REFRESHED)) == 1


async def test_two_workers_sharing_stores_refresh_once(world: World) -> None:
    """Two services on one store and lock (two workers): the second re-reads, no refresh."""
    await world.connect()
    world.expire_access()
    one, two = world.service(), world.service()
    calls = [one.access_token(world.realm) for _ in range(25)]
    calls += [two.access_token(world.realm) for _ in range(25)]
    results = await asyncio.gather(*calls)
    assert world.token_calls() == 1
    assert len(set(results)) == 1


async def test_invalid_grant_after_another_worker_rotated_uses_the_newer_tokens(
    world: World,
) -> None:
    """A refresh refused because another worker rotated first picks up that worker's tokens."""
    await world.connect()
    world.expire_access()
    other = world.service(lock=AsyncioLock(world.clock))  # a worker that does not share the lock

    async def racing(request: HttpRequest) -> HttpResponse:
        if request.url.endswith(TOKEN_PATH) and world.token_calls() == 0:
            await other.access_token(world.realm)  # rotates and saves before ours arrives
        return await world.emulator.handle(request)

    service = world.service(transport=EmulatorTransport(racing))
    token = await service.access_token(world.realm)
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    assert stored.tokens.access_token == token
    assert stored.tokens.usable
    assert world.token_calls() == 2  # the other worker's refresh, and our refused one


async def test_invalid_grant_with_nothing_newer_needs_reauthorization(world: World) -> None:
    """A dead refresh token: typed error, status says so, tokens kept, Intuit not asked again."""
    tokens = await world.connect()
    world.expire_access()
    world.emulator.control.expire_tokens("refresh", realm_id=world.realm)
    service = world.service()
    with pytest.raises(ReauthorizationRequiredError, match="connect again") as caught:
        await service.access_token(world.realm)
    assert caught.value.realm_id == world.realm
    status = await service.status(world.realm)
    assert status.state is ConnectionState.NEEDS_REAUTHORIZATION
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    assert stored.tokens.refresh_token == tokens.refresh_token  # kept, only marked
    assert stored.tokens.reauthorization_required_at is not None
    calls = world.token_calls()
    with pytest.raises(ReauthorizationRequiredError):
        await service.access_token(world.realm)
    assert world.token_calls() == calls
    assert len(world.events.of_kind(events.TOKEN_REFRESH_FAILED)) == 1


@pytest.mark.parametrize(
    ("effect", "error"),
    [("html", ServerError), ("timeout", ReadTimeoutError), ("truncate", DecodeError)],
)
async def test_token_endpoint_faults_are_typed_and_lose_nothing(
    world: World, effect: str, error: type[QBOError]
) -> None:
    """HTML, a timeout or a cut body from the token endpoint: typed error, store untouched."""
    await world.connect()
    world.expire_access()
    before = await world.tokens.load(world.realm)
    world.emulator.control.add_fault(
        {"route": {"path": TOKEN_PATH}, "trigger": {"next": 1}, "effect": {"kind": effect}}
    )
    service = world.service()
    with pytest.raises(error):
        await service.access_token(world.realm)
    assert await world.tokens.load(world.realm) == before
    if effect == "html":  # refused before Intuit acted: the stored refresh token still works
        assert await service.access_token(world.realm)


async def test_authorize_and_exchange_code_stores_tokens(world: World) -> None:
    """The full connect: URL with state, emulator consent, callback, tokens stored, state spent."""
    service = world.service()
    url, state = await service.authorization_url("business-1")
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == [CLIENT]
    assert query["response_type"] == ["code"]
    assert query["state"] == [state]
    code, realm = await consent(world, url)
    connection = await service.exchange_code(code, state, realm, business_id="business-1")
    assert connection.business_id == "business-1"
    assert connection.realm_id == realm
    assert connection.access_token is None
    stored = await world.tokens.load(realm)
    assert stored is not None
    assert (await service.status(realm)).state is ConnectionState.CONNECTED
    with pytest.raises(AuthorizationCallbackError, match="already used"):
        await service.exchange_code(code, state, realm)


async def consent(world: World, url: str) -> tuple[str, str]:
    answer = await world.transport.send(
        HttpRequest(method="GET", url=f"{url}&realmId={world.realm}")
    )
    assert answer.status == 302
    back = parse_qs(urlsplit(answer.headers.get("location") or "").query)
    return back["code"][0], back["realmId"][0]


async def test_state_expires(world: World) -> None:
    """A state older than its TTL is refused, and nothing is exchanged."""
    service = world.service(state_ttl=60.0)
    url, state = await service.authorization_url("business-1")
    code, realm = await consent(world, url)
    world.clock.advance(61)
    with pytest.raises(AuthorizationCallbackError):
        await service.exchange_code(code, state, realm)
    assert world.token_calls() == 0
    assert await world.tokens.load(realm) is None


async def test_foreign_and_made_up_states_are_refused(world: World) -> None:
    """A state issued for another business, or never issued, is refused before any exchange."""
    service = world.service()
    url, state = await service.authorization_url("business-1")
    code, realm = await consent(world, url)
    with pytest.raises(AuthorizationCallbackError, match="another business"):
        await service.exchange_code(code, state, realm, business_id="business-2")
    with pytest.raises(AuthorizationCallbackError):
        await service.exchange_code(code, "x" * 43, realm)
    with pytest.raises(AuthorizationCallbackError, match="realmId"):
        await service.exchange_code(code, state, "not-a-realm")
    with pytest.raises(AuthorizationCallbackError, match="code"):
        await service.exchange_code("bad code", state, realm)
    assert world.token_calls() == 0


async def test_revoke_marks_the_connection_revoked(world: World) -> None:
    """Revoke: Intuit revokes the grant, the stored tokens are marked, access_token refuses."""
    await world.connect()
    service = world.service()
    assert await service.revoke(world.realm) is True
    assert (await service.status(world.realm)).state is ConnectionState.REVOKED
    with pytest.raises(TokenRevokedError):
        await service.access_token(world.realm)
    assert await service.revoke("42") is False
    assert (await service.status("42")).state is ConnectionState.DISCONNECTED


async def test_status_reports_expiring_when_the_hard_expiry_nears(world: World) -> None:
    """Within 30 days of the refresh token's hard expiry the connection reads EXPIRING."""
    tokens = await world.connect()
    near = world.clock.now() + (tokens.refresh_token_expires_at - world.clock.now()) / 2
    await world.tokens.save(
        world.realm,
        attrs.evolve(tokens, refresh_token_hard_expires_at=near),
        expected_version=1,
    )
    world.clock.set_now(near - (tokens.access_token_expires_at - world.clock.now()) * 24 * 10)
    assert (await world.service().status(world.realm)).state is ConnectionState.EXPIRING


async def test_discovery_is_fetched_once_and_cached(world: World) -> None:
    """With `discover=True` the endpoints come from one discovery fetch, shared by all."""
    service = world.service(discover=True)
    found = await asyncio.gather(*(service.endpoints() for _ in range(5)))
    assert found[0].token_endpoint == f"{BASE}{TOKEN_PATH}"
    discovery_calls = [e for e in world.emulator.request_log if "well-known" in e.path]
    assert len(discovery_calls) == 1


async def test_no_token_ever_reaches_events_reprs_or_errors(world: World) -> None:
    """Connect, refresh, fail and revoke: no token issued shows in events, reprs or messages."""
    service = world.service()
    url, state = await service.authorization_url("business-1")
    code, realm = await consent(world, url)
    await service.exchange_code(code, state, realm)
    world.expire_access()
    await service.access_token(realm)
    texts = [repr(service), repr(await service.status(realm))]
    stored = await world.tokens.load(realm)
    assert stored is not None
    texts.append(repr(stored))
    secrets = [code, stored.tokens.access_token, stored.tokens.refresh_token]
    world.expire_access()
    world.emulator.control.expire_tokens("refresh", realm_id=realm)
    with pytest.raises(ReauthorizationRequiredError) as caught:
        await service.access_token(realm)
    texts += [str(caught.value), repr(caught.value), str(caught.value.detail)]
    texts += [repr(event) for event in world.events.events]
    blob = "\n".join(texts)
    for secret in secrets:
        assert secret not in blob


async def test_a_realm_never_connected_needs_authorization(world: World) -> None:
    """Nothing stored: access_token raises the reauthorization error, status DISCONNECTED."""
    service = world.service()
    with pytest.raises(ReauthorizationRequiredError, match="connect it first"):
        await service.access_token(world.realm)
    assert (await service.status(world.realm)).state is ConnectionState.DISCONNECTED
    assert world.token_calls() == 0


async def test_reconnecting_replaces_dead_tokens(world: World) -> None:
    """After invalid_grant, a new consent stores working tokens over the marked ones."""
    await world.connect()
    world.expire_access()
    world.emulator.control.expire_tokens("refresh", realm_id=world.realm)
    service = world.service()
    with pytest.raises(ReauthorizationRequiredError):
        await service.access_token(world.realm)
    url, state = await service.authorization_url("business-1")
    code, realm = await consent(world, url)
    await service.exchange_code(code, state, realm)
    assert (await service.status(realm)).state is ConnectionState.CONNECTED
    assert await service.access_token(realm)


async def test_a_rejected_token_is_refreshed_even_when_it_looks_fresh(world: World) -> None:
    """`rejected=` the stored access token (QBO answered 401 to it): one refresh, though
    the token is far from its local expiry, and the new token is stored and returned."""
    tokens = await world.connect()
    service = world.service()
    token = await service.access_token(world.realm, rejected=tokens.access_token)
    assert token != tokens.access_token
    assert world.token_calls() == 1
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    assert stored.tokens.access_token == token


async def test_a_rejected_token_already_replaced_by_another_worker_is_not_refreshed_again(
    world: World,
) -> None:
    """When the stored token is no longer the rejected one (another worker refreshed after
    the same 401), it is returned as is and Intuit is not called."""
    old = await world.connect()
    first = await world.service().access_token(world.realm, rejected=old.access_token)
    second = await world.service().access_token(world.realm, rejected=old.access_token)
    assert second == first
    assert world.token_calls() == 1


async def test_concurrent_callers_with_the_same_rejected_token_share_one_refresh(
    world: World,
) -> None:
    """Ten workers of one process all refused with the same token: one refresh, one token."""
    old = await world.connect()
    service = world.service()
    tokens = await asyncio.gather(
        *(service.access_token(world.realm, rejected=old.access_token) for _ in range(10))
    )
    assert len(set(tokens)) == 1
    assert world.token_calls() == 1
