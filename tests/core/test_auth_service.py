"""`QBOAuthService` against the in-process emulator, on a fake clock and the memory adapters.

Every count of token-endpoint calls comes from the emulator's own request log.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
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
    FakeTransport,
    MemoryStateStore,
    MemoryTokenStore,
)
from qbo_core import events
from qbo_core.config import QBOConfig
from qbo_core.dtos import (
    ConnectionState,
    ConnectionStatus,
    IntegrationStatus,
    QBOEvent,
    QBOIntegrationDTO,
    TokenSet,
    VersionedTokenSet,
)
from qbo_core.errors import (
    AuthorizationCallbackError,
    ConflictError,
    DecodeError,
    QBOError,
    ReadTimeoutError,
    ReauthorizationRequiredError,
    ServerError,
    TokenRevokedError,
)
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.ports.lock import Lease
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


Action = Callable[[], Awaitable[object]]


class EventLog:
    """An `EventSink` keeping each event exactly as the service emitted it.

    Unlike the library's sinks it scrubs nothing, so a test sees the service's own fields,
    and a token the service put in an event would show.
    """

    def __init__(self) -> None:
        self.events: list[QBOEvent] = []

    def emit(self, event: QBOEvent) -> None:
        self.events.append(event)

    def of_kind(self, kind: str) -> list[QBOEvent]:
        return [event for event in self.events if event.kind == kind]


class RacingTokenStore(MemoryTokenStore):
    """A `MemoryTokenStore` where another writer can act just before the next write.

    `before_next_write(action)` runs `action` once, before the next `save` or `delete` is
    checked: as another worker (a lost lease, a disconnect, a reconnect) would in between
    the service's read and its compare-and-set.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pending: list[Action] = []

    def before_next_write(self, action: Action) -> None:
        self._pending.append(action)

    async def save(
        self, realm_id: str, tokens: TokenSet, *, expected_version: int | None
    ) -> VersionedTokenSet:
        await self._run_pending()
        return await super().save(realm_id, tokens, expected_version=expected_version)

    async def delete(self, realm_id: str, *, expected_version: int | None = None) -> bool:
        await self._run_pending()
        return await super().delete(realm_id, expected_version=expected_version)

    async def _run_pending(self) -> None:
        if self._pending:
            await self._pending.pop(0)()


class RecordingLock(AsyncioLock):
    """An `AsyncioLock` that records each acquire's name, lease and wait, and can let another
    worker act (`on_next_acquire`) just before the lock is granted."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.acquired: list[tuple[str, float, float]] = []
        self._pending: list[Action] = []

    def on_next_acquire(self, action: Action) -> None:
        self._pending.append(action)

    async def acquire(self, name: str, *, lease: float, wait: float) -> Lease:
        self.acquired.append((name, lease, wait))
        if self._pending:
            await self._pending.pop(0)()
        return await super().acquire(name, lease=lease, wait=wait)


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
        self.tokens = RacingTokenStore()
        self.lock = RecordingLock(self.clock)
        self.states = MemoryStateStore(self.clock)
        self.events = EventLog()
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


# ------------------------------------------------------------------ scripted Intuit
#
# The tests below answer the token, revoke and discovery endpoints from a script
# (`FakeTransport`), so each can say exactly what Intuit answered and check exactly what
# the service sent, stored, raised and emitted.

LIFETIME = 3600
ROLLING = 8_726_400


def minted(
    world: World,
    n: int,
    *,
    access_in: float = LIFETIME,
    refresh_in: float = ROLLING,
    hard_in: float | None = None,
    **changes: Any,
) -> TokenSet:
    """Tokens `access-<n>` / `refresh-<n>` issued now, as a completed connection stores them."""
    now = world.clock.now()
    return TokenSet(
        access_token=f"access-{n}",
        refresh_token=f"refresh-{n}",
        access_token_expires_at=now + timedelta(seconds=access_in),
        refresh_token_expires_at=now + timedelta(seconds=refresh_in),
        refresh_token_hard_expires_at=None if hard_in is None else now + timedelta(seconds=hard_in),
        realm_id=world.realm,
        **changes,
    )


async def store(world: World, tokens: TokenSet) -> VersionedTokenSet:
    """Save `tokens` over whatever the realm holds, as another worker's write would (past
    `RacingTokenStore`'s hooks, so that it never sets one off)."""
    current = await MemoryTokenStore.load(world.tokens, world.realm)
    return await MemoryTokenStore.save(
        world.tokens,
        world.realm,
        tokens,
        expected_version=None if current is None else current.version,
    )


def answer(n: int, *, refresh: str | None = None, **fields: object) -> HttpResponse:
    """The token endpoint's 200 with `access-<n>` and `refresh-<n>` (or `refresh`); `fields`
    add or (as `None`) leave out the lifetimes."""
    body: dict[str, object] = {
        "access_token": f"access-{n}",
        "refresh_token": refresh or f"refresh-{n}",
        "token_type": "bearer",
        "expires_in": LIFETIME,
        "x_refresh_token_expires_in": ROLLING,
    }
    body.update(fields)
    return HttpResponse(
        status=200, body=json.dumps({k: v for k, v in body.items() if v is not None}).encode()
    )


def refused(error: str = "invalid_grant", status: int = 400) -> HttpResponse:
    return HttpResponse(status=status, body=json.dumps({"error": error}).encode())


def sent(request: HttpRequest) -> dict[str, str]:
    """The form (token endpoint) or JSON (revoke) fields of a request the service sent."""
    text = (request.body or b"").decode()
    if text.startswith("{"):
        return dict(json.loads(text))
    return {key: values[0] for key, values in parse_qs(text).items()}


def scripted(
    world: World, *answers: HttpResponse, **options: Any
) -> tuple[QBOAuthService, FakeTransport]:
    transport = FakeTransport.from_responses(answers)
    return world.service(transport=transport, **options), transport


async def test_realm_ids_that_are_not_qbo_company_ids_are_refused(world: World) -> None:
    """Every realm-taking call refuses a realm id that is not a QBO company id, by name,
    before it touches the store or Intuit."""
    service, transport = scripted(world)
    calls: list[Callable[[str], Awaitable[object]]] = [
        service.access_token,
        service.refresh,
        service.revoke,
        service.disconnect,
        service.status,
        lambda realm: service.authorization_url("business-1", realm_id=realm),
    ]
    for call in calls:
        for bad in ("not-a-realm", "", "12a"):
            with pytest.raises(ValueError, match=r"^realm_id must be the numeric QBO company id$"):
                await call(bad)
    assert transport.requests == []


@pytest.mark.parametrize(
    ("mark", "error", "message", "codes"),
    [
        (
            None,
            ReauthorizationRequiredError,
            "no tokens are stored for QBO company {}: connect it first",
            (),
        ),
        (
            "revoked_at",
            TokenRevokedError,
            "the connection to QBO company {} was revoked: the user must connect again",
            (),
        ),
        (
            "reauthorization_required_at",
            ReauthorizationRequiredError,
            "the connection to QBO company {} needs the user to connect again",
            ("invalid_grant",),
        ),
    ],
)
async def test_unusable_connections_are_refused_naming_the_realm(
    world: World,
    mark: str | None,
    error: type[QBOError],
    message: str,
    codes: tuple[str, ...],
) -> None:
    """Nothing stored, revoked, or marked as needing the user: the typed error names the
    realm (in its message and `realm_id`), and Intuit is not asked."""
    if mark is not None:
        marks: dict[str, Any] = {mark: world.clock.now()}
        await store(world, minted(world, 1, **marks))
    service, transport = scripted(world)
    with pytest.raises(error) as caught:
        await service.access_token(world.realm)
    assert type(caught.value) is error
    assert caught.value.message == message.format(world.realm)
    assert caught.value.realm_id == world.realm
    assert caught.value.codes == codes
    assert transport.requests == []


async def test_tokens_marked_dead_while_waiting_for_the_lock_are_refused_naming_the_realm(
    world: World,
) -> None:
    """The store is read again under the lock: when another worker marked the connection
    meanwhile, the error (read there) still names the realm, and Intuit is not asked."""
    await store(world, minted(world, 1))
    world.expire_access()
    marked = minted(world, 1, reauthorization_required_at=world.clock.now())
    world.lock.on_next_acquire(lambda: store(world, marked))
    service, transport = scripted(world)
    with pytest.raises(ReauthorizationRequiredError) as caught:
        await service.access_token(world.realm)
    assert caught.value.realm_id == world.realm
    assert str(world.realm) in caught.value.message
    assert transport.requests == []


async def test_the_access_token_is_refreshed_from_exactly_the_margin_before_its_expiry(
    world: World,
) -> None:
    """`refresh_margin` (300 s) is inclusive: a microsecond before the edge the stored token
    is returned; at the edge it is refreshed first."""
    tokens = minted(world, 1)
    await store(world, tokens)
    service, transport = scripted(world, answer(2))
    edge = tokens.access_token_expires_at - timedelta(seconds=300)
    world.clock.set_now(edge - timedelta(microseconds=1))
    assert await service.access_token(world.realm) == "access-1"
    assert transport.requests == []
    world.clock.set_now(edge)
    assert world.clock.now() == edge
    assert await service.access_token(world.realm) == "access-2"
    assert len(transport.requests) == 1


async def test_a_refresh_sends_the_stored_refresh_token_and_emits_the_new_expiries(
    world: World,
) -> None:
    """A refresh posts `grant_type=refresh_token` with the stored refresh token, saves the
    answer (with the realm) over the version read, and emits `token.refreshed` with the
    grant, the new version, whether Intuit rotated the refresh token, and the expiries."""
    await store(world, minted(world, 1))
    world.expire_access()
    service, transport = scripted(world, answer(2))
    assert await service.access_token(world.realm) == "access-2"
    assert sent(transport.last_request) == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh-1",
    }
    now = world.clock.now()
    stored = await world.tokens.load(world.realm)
    assert stored == VersionedTokenSet(
        tokens=TokenSet(
            access_token="access-2",
            refresh_token="refresh-2",
            access_token_expires_at=now + timedelta(seconds=LIFETIME),
            refresh_token_expires_at=now + timedelta(seconds=ROLLING),
            realm_id=world.realm,
        ),
        version=2,
    )
    assert world.events.events == [
        QBOEvent(
            kind=events.TOKEN_REFRESHED,
            at=now,
            realm_id=world.realm,
            attributes={
                "grant": "refresh_token",
                "version": 2,
                "rotated": True,
                "access_token_expires_at": (now + timedelta(seconds=LIFETIME)).isoformat(),
                "refresh_token_expires_at": (now + timedelta(seconds=ROLLING)).isoformat(),
            },
        )
    ]


async def test_a_refresh_that_keeps_the_refresh_token_says_it_did_not_rotate(
    world: World,
) -> None:
    """Within Intuit's rotation window the same refresh token comes back: `rotated` is False."""
    await store(world, minted(world, 1))
    world.expire_access()
    service, _ = scripted(world, answer(2, refresh="refresh-1"))
    await service.access_token(world.realm)
    (event,) = world.events.of_kind(events.TOKEN_REFRESHED)
    assert event.attributes["rotated"] is False


async def test_lifetimes_missing_from_intuits_answers_are_the_configured_ones(
    world: World,
) -> None:
    """A token answer without `expires_in` / `x_refresh_token_expires_in` (a code exchange or
    a refresh) gets the configured lifetimes, and the stored tokens carry the realm."""
    config = make_config(access_token_lifetime=1800, refresh_token_lifetime=86_400)
    bare = answer(2, expires_in=None, x_refresh_token_expires_in=None)
    service, _ = scripted(world, bare, bare, config=config)
    _, state = await service.authorization_url("business-1")
    connection = await service.exchange_code("code-1", state, world.realm)
    now = world.clock.now()
    assert connection.access_token_expires_at == now + timedelta(seconds=1800)
    assert connection.refresh_token_expires_at == now + timedelta(seconds=86_400)
    world.clock.advance(1800)
    await service.access_token(world.realm)
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    now = world.clock.now()
    assert stored.tokens.access_token_expires_at == now + timedelta(seconds=1800)
    assert stored.tokens.refresh_token_expires_at == now + timedelta(seconds=86_400)
    assert stored.tokens.realm_id == world.realm


@pytest.mark.parametrize(
    ("before", "reported", "after"),
    [
        (5 * 365 * 86_400, None, 5 * 365 * 86_400),  # not reported: the known cap is kept
        (5 * 365 * 86_400, 1_000_000, 1_000_000),  # reported: Intuit's figure wins
        (None, None, None),  # never known: still unknown
        (None, 1_000_000, 1_000_000),
    ],
)
async def test_a_refresh_keeps_the_hard_expiry_intuit_did_not_report_again(
    world: World, before: int | None, reported: int | None, after: int | None
) -> None:
    """The 5-year hard expiry is reported only when asked: a refresh whose answer leaves it
    out keeps the one stored; one that reports it stores Intuit's (seconds from now)."""
    start = world.clock.now()
    await store(world, minted(world, 1, hard_in=before))
    world.expire_access()
    service, _ = scripted(world, answer(2, x_refresh_token_hard_expires_in=reported))
    await service.access_token(world.realm)
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    expected = {
        None: None,
        5 * 365 * 86_400: start + timedelta(seconds=5 * 365 * 86_400),
        1_000_000: world.clock.now() + timedelta(seconds=1_000_000),
    }[after]
    assert stored.tokens.refresh_token_hard_expires_at == expected


async def test_a_failed_refresh_emits_the_error_and_status_and_keeps_the_tokens(
    world: World,
) -> None:
    """A 503 from the token endpoint: `ServerError` raised, the store untouched, and
    `token.refresh_failed` names the error, the HTTP status and the version read."""
    stored = await store(world, minted(world, 1))
    world.expire_access()
    service, _ = scripted(world, refused("temporarily_unavailable", status=503))
    with pytest.raises(ServerError):
        await service.access_token(world.realm)
    assert await world.tokens.load(world.realm) == stored
    assert world.events.events == [
        QBOEvent(
            kind=events.TOKEN_REFRESH_FAILED,
            at=world.clock.now(),
            realm_id=world.realm,
            attributes={"error": "ServerError", "status": 503, "version": 1},
        )
    ]


async def test_invalid_grant_marks_the_tokens_and_says_why_naming_the_realm(
    world: World,
) -> None:
    """`invalid_grant` with nothing newer stored: the tokens are kept and marked (now, by
    compare-and-set), the error says Intuit refused the refresh token and names the realm
    and the code, and `token.refresh_failed` says why."""
    tokens = minted(world, 1)
    await store(world, tokens)
    world.expire_access()
    service, transport = scripted(world, refused())
    with pytest.raises(ReauthorizationRequiredError) as caught:
        await service.access_token(world.realm)
    now = world.clock.now()
    assert caught.value.message == (
        "Intuit refused the refresh token (invalid_grant): the connection to QBO company "
        f"{world.realm} needs the user to connect again"
    )
    assert caught.value.realm_id == world.realm
    assert caught.value.codes == ("invalid_grant",)
    assert await world.tokens.load(world.realm) == VersionedTokenSet(
        tokens=attrs.evolve(tokens, reauthorization_required_at=now), version=2
    )
    assert world.events.events == [
        QBOEvent(
            kind=events.TOKEN_REFRESH_FAILED,
            at=now,
            realm_id=world.realm,
            attributes={
                "error": "ReauthorizationRequiredError",
                "reason": "invalid_grant",
                "version": 1,
            },
        )
    ]
    assert len(transport.requests) == 1


@pytest.mark.parametrize("which", ["rolling", "hard"])
async def test_an_expired_refresh_token_is_marked_without_asking_intuit(
    world: World, which: str
) -> None:
    """A refresh token past its rolling or hard expiry is never sent: the tokens are marked
    (now), and the error says it expired, naming the realm and `invalid_grant`."""
    if which == "rolling":
        tokens = minted(world, 1, refresh_in=LIFETIME * 2)
    else:
        tokens = minted(world, 1, hard_in=LIFETIME * 2)
    await store(world, tokens)
    world.clock.advance(LIFETIME * 2)
    service, transport = scripted(world)
    with pytest.raises(ReauthorizationRequiredError) as caught:
        await service.access_token(world.realm)
    assert caught.value.message == (
        "the refresh token has expired: the connection to QBO company "
        f"{world.realm} needs the user to connect again"
    )
    assert caught.value.realm_id == world.realm
    assert caught.value.codes == ("invalid_grant",)
    assert await world.tokens.load(world.realm) == VersionedTokenSet(
        tokens=attrs.evolve(tokens, reauthorization_required_at=world.clock.now()), version=2
    )
    assert transport.requests == []


async def test_invalid_grant_after_a_rotation_refreshes_once_with_the_newer_refresh_token(
    world: World,
) -> None:
    """Refused because another worker rotated meanwhile, and its access token is within the
    margin too: the newer refresh token is refreshed (once), and that answer is used."""
    await store(world, minted(world, 1))
    world.expire_access()

    async def intuit(request: HttpRequest) -> HttpResponse:
        if sent(request)["refresh_token"] == "refresh-1":
            await store(world, minted(world, 2, access_in=60))  # the other worker's rotation
            return refused()
        return answer(3)

    transport = FakeTransport(intuit)
    service = world.service(transport=transport)
    assert await service.access_token(world.realm) == "access-3"
    assert [sent(r)["refresh_token"] for r in transport.requests] == ["refresh-1", "refresh-2"]
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    assert (stored.tokens.access_token, stored.version) == ("access-3", 3)
    assert [event.kind for event in world.events.events] == [events.TOKEN_REFRESHED]


async def test_invalid_grant_is_retried_with_newer_tokens_only_once(world: World) -> None:
    """When the newer refresh token is refused too, the service gives up (reauthorization),
    even though yet newer tokens were stored meanwhile: one retry, never a loop."""
    await store(world, minted(world, 1))
    world.expire_access()
    rotations = iter([2, 3])

    async def intuit(request: HttpRequest) -> HttpResponse:
        await store(world, minted(world, next(rotations, 9), access_in=60))
        return refused()

    transport = FakeTransport(intuit)
    with pytest.raises(ReauthorizationRequiredError):
        await world.service(transport=transport).access_token(world.realm)
    assert [sent(r)["refresh_token"] for r in transport.requests] == ["refresh-1", "refresh-2"]
    (failed,) = world.events.of_kind(events.TOKEN_REFRESH_FAILED)
    assert failed.attributes["version"] == 2


async def test_invalid_grant_when_another_worker_already_marked_the_connection_is_final(
    world: World,
) -> None:
    """Refused, and what is stored now is marked dead (another worker's verdict on its newer
    refresh token): those tokens are not tried; reauthorization is required."""
    await store(world, minted(world, 1))
    world.expire_access()

    async def intuit(request: HttpRequest) -> HttpResponse:
        dead = minted(world, 2, reauthorization_required_at=world.clock.now())
        await store(world, dead)
        return refused()

    transport = FakeTransport(intuit)
    with pytest.raises(ReauthorizationRequiredError):
        await world.service(transport=transport).access_token(world.realm)
    assert len(transport.requests) == 1


async def test_invalid_grant_after_a_disconnect_does_not_bring_the_tokens_back(
    world: World,
) -> None:
    """Refused because the connection was disconnected meanwhile (nothing stored now):
    reauthorization is required, and nothing is stored again."""
    await store(world, minted(world, 1))
    world.expire_access()

    async def intuit(request: HttpRequest) -> HttpResponse:
        await world.tokens.delete(world.realm)
        return refused()

    with pytest.raises(ReauthorizationRequiredError):
        await world.service(transport=FakeTransport(intuit)).access_token(world.realm)
    assert await world.tokens.load(world.realm) is None


async def test_marking_tokens_dead_yields_to_tokens_stored_meanwhile(world: World) -> None:
    """When another worker stores new tokens between the refusal and the mark, the mark
    loses its compare-and-set silently: their tokens stay usable, this caller is told to
    reauthorize."""
    await store(world, minted(world, 1))
    world.expire_access()
    service, _ = scripted(world, refused())
    newer = minted(world, 2)
    world.tokens.before_next_write(lambda: store(world, newer))
    with pytest.raises(ReauthorizationRequiredError):
        await service.access_token(world.realm)
    assert await world.tokens.load(world.realm) == VersionedTokenSet(tokens=newer, version=2)


async def test_refreshed_tokens_win_over_a_write_made_while_intuit_answered(world: World) -> None:
    """Another writer (a worker whose lease ran out) stores other tokens while Intuit answers:
    the tokens just issued are the newest of the grant, so they are saved over theirs."""
    await store(world, minted(world, 1))
    world.expire_access()
    service, _ = scripted(world, answer(3))
    world.tokens.before_next_write(lambda: store(world, minted(world, 2)))
    assert await service.access_token(world.realm) == "access-3"
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    assert (stored.tokens.access_token, stored.version) == ("access-3", 3)
    (event,) = world.events.of_kind(events.TOKEN_REFRESHED)
    assert event.attributes["version"] == 3


async def test_refreshed_tokens_another_worker_already_saved_are_not_saved_twice(
    world: World,
) -> None:
    """When the write that beat ours stored these very tokens, they are used as stored."""
    await store(world, minted(world, 1))
    world.expire_access()
    service, _ = scripted(world, answer(2))
    now = world.clock.now()
    same = minted(world, 2)
    assert same.access_token_expires_at == now + timedelta(seconds=LIFETIME)
    world.tokens.before_next_write(lambda: store(world, same))
    assert await service.access_token(world.realm) == "access-2"
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    assert stored.version == 2
    (event,) = world.events.of_kind(events.TOKEN_REFRESHED)
    assert event.attributes["version"] == 2


async def test_refreshed_tokens_are_not_saved_over_a_disconnect(world: World) -> None:
    """Disconnected while Intuit answered: `ConflictError`, and nothing is stored again."""
    await store(world, minted(world, 1))
    world.expire_access()
    service, _ = scripted(world, answer(2))
    world.tokens.before_next_write(lambda: world.tokens.delete(world.realm))
    with pytest.raises(ConflictError):
        await service.access_token(world.realm)
    assert await world.tokens.load(world.realm) is None
    assert world.events.of_kind(events.TOKEN_REFRESHED) == []


async def test_refreshed_tokens_are_not_saved_over_a_reconnect(world: World) -> None:
    """Disconnected and connected again while Intuit answered (the store's version went
    back): `ConflictError`, and the new grant's tokens are kept."""
    await store(world, minted(world, 1))
    await store(world, minted(world, 1))  # version 2
    world.expire_access()
    service, _ = scripted(world, answer(2))
    grant = minted(world, 7)

    async def reconnect() -> None:
        await world.tokens.delete(world.realm)
        await store(world, grant)

    world.tokens.before_next_write(reconnect)
    with pytest.raises(ConflictError):
        await service.access_token(world.realm)
    assert await world.tokens.load(world.realm) == VersionedTokenSet(tokens=grant, version=1)


async def test_the_refresh_lock_is_named_for_the_realm_with_the_configured_timing(
    world: World,
) -> None:
    """The refresh runs under `qbo-auth-refresh:<realm>`, leased for the total timeout plus
    30 s and waited for 5 s more, unless `lock_lease` / `lock_wait` say otherwise."""
    assert world.config.total_timeout == 120.0
    for options, lease, wait in [
        ({}, 150.0, 155.0),
        ({"lock_lease": 7.0, "lock_wait": 3.0}, 7.0, 3.0),
    ]:
        world.lock.acquired.clear()
        await store(world, minted(world, 1))
        world.expire_access()
        service, _ = scripted(world, answer(2), **options)
        await service.access_token(world.realm)
        assert world.lock.acquired == [(f"qbo-auth-refresh:{world.realm}", lease, wait)]


async def test_concurrent_callers_in_one_process_take_the_lock_once(world: World) -> None:
    """Callers of one service share the realm's refresh task: one lock acquire, one refresh."""
    await store(world, minted(world, 1))
    world.expire_access()
    service, transport = scripted(world, answer(2))
    tokens = await asyncio.gather(*(service.access_token(world.realm) for _ in range(5)))
    assert tokens == ["access-2"] * 5
    assert len(world.lock.acquired) == 1
    assert len(transport.requests) == 1


# ------------------------------------------------------------------ authorize and callback


async def test_an_authorization_state_is_256_random_bits_bound_to_the_business(
    world: World,
) -> None:
    """`state` is 43 URL-safe characters (32 random bytes), in the URL, and stored for the
    business with when it was issued (and, for a reconnect, the company)."""
    service, _ = scripted(world)
    url, state = await service.authorization_url("business-1")
    _, again = await service.authorization_url("business-1", realm_id=world.realm)
    assert len(state) == 43 == len(again)
    assert state != again
    assert parse_qs(urlsplit(url).query)["state"] == [state]
    issued = world.clock.now().isoformat()
    assert json.loads(await world.states.take(f"qbo-auth-state:{state}") or b"") == {
        "business_id": "business-1",
        "issued_at": issued,
    }
    assert json.loads(await world.states.take(f"qbo-auth-state:{again}") or b"") == {
        "business_id": "business-1",
        "issued_at": issued,
        "realm_id": world.realm,
    }


async def test_an_authorization_url_asks_for_the_scopes_given(world: World) -> None:
    """`scopes` replace the configured ones in the URL; without them the configured ones."""
    service, _ = scripted(world)
    url, _ = await service.authorization_url("business-1", scopes=("openid", "email"))
    assert parse_qs(urlsplit(url).query)["scope"] == ["openid email"]
    url, _ = await service.authorization_url("business-1")
    assert parse_qs(urlsplit(url).query)["scope"] == [" ".join(world.config.scopes)]


async def test_an_authorization_url_needs_a_business(world: World) -> None:
    """An empty `business_id` is refused by name, and no state is stored."""
    service, _ = scripted(world)
    with pytest.raises(ValueError, match=r"^business_id must be a non-empty string$"):
        await service.authorization_url("")
    assert len(world.states) == 0


async def test_a_state_lives_for_exactly_state_ttl_seconds(world: World) -> None:
    """`state_ttl` defaults to 600 s: a state is live a microsecond before, spent at 600 s."""
    service, _ = scripted(world)
    assert service.state_ttl == 600.0
    _, early = await service.authorization_url("business-1")
    _, late = await service.authorization_url("business-1")
    world.clock.advance(600 - 0.000_001)
    assert await service.abandon(early) is True
    world.clock.advance(0.000_001)
    assert await service.abandon(late) is False


async def test_exchange_code_returns_the_connection_and_emits_the_grant(world: World) -> None:
    """A good callback: the connection (no tokens in it, its expiries, connected now), the
    tokens stored with the realm, and `token.refreshed` for the business's
    `authorization_code` grant with the stored version."""
    service, transport = scripted(world, answer(1))
    _, state = await service.authorization_url("business-1")
    connection = await service.exchange_code("code-1", state, world.realm)
    now = world.clock.now()
    assert sent(transport.last_request) == {
        "grant_type": "authorization_code",
        "code": "code-1",
        "redirect_uri": REDIRECT,
    }
    assert connection == QBOIntegrationDTO(
        business_id="business-1",
        status=IntegrationStatus.CONNECTED,
        realm_id=world.realm,
        access_token_expires_at=now + timedelta(seconds=LIFETIME),
        refresh_token_expires_at=now + timedelta(seconds=ROLLING),
        connected_at=now,
        updated_at=now,
    )
    assert await world.tokens.load(world.realm) == VersionedTokenSet(
        tokens=minted(world, 1), version=1
    )
    assert world.events.events == [
        QBOEvent(
            kind=events.TOKEN_REFRESHED,
            at=now,
            realm_id=world.realm,
            business_id="business-1",
            attributes={"grant": "authorization_code", "version": 1},
        )
    ]


async def test_exchange_code_replaces_tokens_written_meanwhile(world: World) -> None:
    """A reconnect's new grant replaces whatever the realm holds, even tokens another writer
    stored between the read and the compare-and-set."""
    await store(world, minted(world, 1))
    service, _ = scripted(world, answer(5))
    _, state = await service.authorization_url("business-1")
    world.tokens.before_next_write(lambda: store(world, minted(world, 2)))
    await service.exchange_code("code-1", state, world.realm)
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    assert (stored.tokens.access_token, stored.version) == ("access-5", 3)


async def test_malformed_callbacks_are_refused_with_the_state_left_live(world: World) -> None:
    """A `realmId` that is not a company id, or a missing or malformed `code`: refused, saying
    which and what to do, before the state is taken (the proper callback still works)."""
    service, transport = scripted(world, answer(1))
    _, state = await service.authorization_url("business-1")
    with pytest.raises(AuthorizationCallbackError) as caught:
        await service.exchange_code("code-1", state, "not-a-realm")
    assert caught.value.message == (
        "the callback's realmId is not a QBO company id; start the connection again"
    )
    assert caught.value.realm_id is None
    for code in ("", "bad code", "x" * 513):
        with pytest.raises(AuthorizationCallbackError) as caught:
            await service.exchange_code(code, state, world.realm)
        assert caught.value.message == (
            "the callback's code is missing or malformed; start the connection again"
        )
        assert caught.value.realm_id == world.realm
    assert transport.requests == []
    await service.exchange_code("x" * 512, state, world.realm)
    assert sent(transport.last_request)["code"] == "x" * 512


@pytest.mark.parametrize("state", ["", "x" * 43, None, ["a-state"]])
async def test_a_callback_with_an_unknown_state_is_refused(world: World, state: Any) -> None:
    """A missing, made-up or non-string `state` (a repeated query parameter): refused as
    unknown, naming the realm, before any exchange."""
    service, transport = scripted(world)
    with pytest.raises(AuthorizationCallbackError) as caught:
        await service.exchange_code("code-1", state, world.realm)
    assert caught.value.message == (
        "the callback's state is unknown, already used or expired; start the connection "
        "again from a new authorization URL"
    )
    assert caught.value.realm_id == world.realm
    assert transport.requests == []


async def test_a_callback_for_another_business_is_refused_and_spends_the_state(
    world: World,
) -> None:
    """A state issued for another business: refused (naming the realm), nothing exchanged,
    and the state is spent."""
    service, transport = scripted(world)
    _, state = await service.authorization_url("business-1")
    with pytest.raises(AuthorizationCallbackError) as caught:
        await service.exchange_code("code-1", state, world.realm, business_id="business-2")
    assert caught.value.message == (
        "the callback's state was issued for another business; start the connection again "
        "from a new authorization URL"
    )
    assert caught.value.realm_id == world.realm
    assert transport.requests == []
    assert await service.abandon(state) is False


async def test_a_reconnect_must_come_back_for_the_company_it_was_started_for(
    world: World,
) -> None:
    """A state bound to a company: a callback for another one is refused, naming both and
    what to choose, with the bound company as `realm_id`; the state is spent. A callback
    for the bound company is exchanged."""
    service, transport = scripted(world, answer(1))
    other = "4620816365000000001"
    _, state = await service.authorization_url("business-1", realm_id=world.realm)
    with pytest.raises(AuthorizationCallbackError) as caught:
        await service.exchange_code("code-1", state, other)
    assert caught.value.message == (
        f"the callback is for QBO company {other}, but this authorization was started to "
        f"reconnect QBO company {world.realm}; nothing was exchanged: start again and choose "
        f"company {world.realm} on Intuit's screen"
    )
    assert caught.value.realm_id == world.realm
    assert transport.requests == []
    assert await service.abandon(state) is False
    _, state = await service.authorization_url("business-1", realm_id=world.realm)
    connection = await service.exchange_code("code-1", state, world.realm)
    assert connection.realm_id == world.realm


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1]", b"{}", b'{"business_id": 5}', b'{"business_id": ""}'],
)
async def test_a_stored_state_without_a_business_is_refused(world: World, raw: bytes) -> None:
    """A stored state that does not name a business (not JSON, not an object, an empty or
    non-string business) counts as unknown: nothing is exchanged."""
    service, transport = scripted(world)
    await world.states.put("qbo-auth-state:" + "s" * 43, raw, ttl=60)
    with pytest.raises(AuthorizationCallbackError, match="unknown"):
        await service.exchange_code("code-1", "s" * 43, world.realm)
    assert transport.requests == []


@pytest.mark.parametrize("realm", ['""', "7", "null"])
async def test_a_stored_state_without_a_company_binds_none(world: World, realm: str) -> None:
    """A stored state whose company is empty or not a string is bound to no company: the
    callback is exchanged for the company it names."""
    service, _ = scripted(world, answer(1))
    raw = f'{{"business_id": "business-9", "realm_id": {realm}}}'.encode()
    await world.states.put("qbo-auth-state:" + "s" * 43, raw, ttl=60)
    connection = await service.exchange_code("code-1", "s" * 43, world.realm)
    assert (connection.business_id, connection.realm_id) == ("business-9", world.realm)


async def test_abandon_spends_a_live_state_once(world: World) -> None:
    """`abandon` (a callback with `error=`): True for a live state, which is then spent (a
    later callback with it is refused); False the second time. Intuit is not asked."""
    service, transport = scripted(world)
    _, state = await service.authorization_url("business-1")
    assert await service.abandon(state) is True
    assert await service.abandon(state) is False
    with pytest.raises(AuthorizationCallbackError, match="already used"):
        await service.exchange_code("code-1", state, world.realm)
    assert transport.requests == []


async def test_abandon_checks_the_business_but_spends_the_state_anyway(world: World) -> None:
    """With `business_id`, True only for the business the state was issued for; a state
    abandoned for another business is spent all the same."""
    service, _ = scripted(world)
    _, mine = await service.authorization_url("business-1", realm_id=world.realm)
    _, theirs = await service.authorization_url("business-1")
    assert await service.abandon(mine, business_id="business-1") is True
    assert await service.abandon(theirs, business_id="business-2") is False
    assert await service.abandon(theirs) is False


@pytest.mark.parametrize("state", ["", "x" * 43, None, ["a-state"]])
async def test_abandon_of_no_live_state_is_false(world: World, state: Any) -> None:
    """An empty, unknown or non-string state (a repeated query parameter): False."""
    service, _ = scripted(world)
    assert await service.abandon(state) is False


# ------------------------------------------------------------------ endpoints


def discovery(prefix: str) -> HttpResponse:
    document = {
        "authorization_endpoint": f"{prefix}/authorize",
        "token_endpoint": f"{prefix}/token",
        "revocation_endpoint": f"{prefix}/revoke",
    }
    return HttpResponse(status=200, body=json.dumps(document).encode())


async def test_discovered_endpoints_are_used_for_every_step(world: World) -> None:
    """With `discover=True`, the authorization URL, the code exchange, the refresh, the revoke
    and the disconnect's revoke all go where the discovery document says, not to the
    configured endpoints."""
    found = "http://found.invalid"
    ok = HttpResponse(status=200)
    service, transport = scripted(
        world, discovery(found), answer(1), answer(2), ok, ok, discover=True
    )
    url, state = await service.authorization_url("business-1")
    assert url.startswith(f"{found}/authorize?")
    await service.exchange_code("code-1", state, world.realm)
    await service.access_token(world.realm, rejected="access-1")
    await service.revoke(world.realm)
    await store(world, minted(world, 3))
    await service.disconnect(world.realm)
    assert [request.url for request in transport.requests] == [
        world.config.discovery_url,
        f"{found}/token",
        f"{found}/token",
        f"{found}/revoke",
        f"{found}/revoke",
    ]


async def test_without_discovery_the_endpoints_are_the_configured_ones(world: World) -> None:
    """By default nothing is discovered: `endpoints()` are the configuration's, no request."""
    service, transport = scripted(world)
    assert await service.endpoints() == oauth.OAuthEndpoints.from_config(world.config)
    await service.authorization_url("business-1")
    assert transport.requests == []


async def test_a_failed_discovery_is_fetched_again_next_time(world: World) -> None:
    """A discovery fetch that fails raises its error, and the next call fetches again."""
    service, transport = scripted(
        world, HttpResponse(status=503), discovery("http://found.invalid"), discover=True
    )
    with pytest.raises(ServerError):
        await service.endpoints()
    assert (await service.endpoints()).token_endpoint == "http://found.invalid/token"
    assert len(transport.requests) == 2


async def test_a_cancelled_first_caller_leaves_the_discovery_running_for_the_others(
    world: World,
) -> None:
    """The first caller cancelled while the document is on its way: the fetch goes on, and
    the next caller shares it rather than starting another."""
    answered = asyncio.Event()

    async def intuit(request: HttpRequest) -> HttpResponse:
        await answered.wait()
        return discovery("http://found.invalid")

    async def settle() -> None:  # let every ready task run (no time passes)
        for _ in range(20):
            await asyncio.sleep(0)

    transport = FakeTransport(intuit)
    service = world.service(transport=transport, discover=True)
    first = asyncio.ensure_future(service.endpoints())
    await settle()
    assert len(transport.requests) == 1  # on its way
    first.cancel()
    await settle()
    assert first.cancelled()
    second = asyncio.ensure_future(service.endpoints())
    await settle()
    answered.set()
    assert (await second).token_endpoint == "http://found.invalid/token"
    assert len(transport.requests) == 1


# ------------------------------------------------------------------ refresh, revoke, status


async def test_refresh_renews_fresh_tokens_and_reports_the_status(world: World) -> None:
    """`refresh` refreshes even a fresh access token (with the stored refresh token), and
    returns the connection's status afterwards."""
    await store(world, minted(world, 1))
    service, transport = scripted(world, answer(2))
    status = await service.refresh(world.realm)
    now = world.clock.now()
    assert [sent(request)["refresh_token"] for request in transport.requests] == ["refresh-1"]
    assert status == ConnectionStatus(
        realm_id=world.realm,
        state=ConnectionState.CONNECTED,
        access_token_expires_at=now + timedelta(seconds=LIFETIME),
        refresh_token_expires_at=now + timedelta(seconds=ROLLING),
    )


async def test_refresh_of_nothing_stored_names_the_realm(world: World) -> None:
    """Nothing stored: `ReauthorizationRequiredError` naming the realm; Intuit not asked."""
    service, transport = scripted(world)
    with pytest.raises(ReauthorizationRequiredError, match="connect it first") as caught:
        await service.refresh(world.realm)
    assert caught.value.realm_id == world.realm
    assert transport.requests == []


async def test_refresh_counts_another_workers_refresh_made_meanwhile(world: World) -> None:
    """When another worker has stored new tokens by the time the lock is held, they are the
    refresh: Intuit is not called, and the status reports them."""
    await store(world, minted(world, 1))
    service, transport = scripted(world)
    theirs = minted(world, 2, access_in=LIFETIME * 2)
    world.lock.on_next_acquire(lambda: store(world, theirs))
    status = await service.refresh(world.realm)
    assert transport.requests == []
    assert status.access_token_expires_at == theirs.access_token_expires_at


async def test_refresh_joins_a_refresh_in_flight(world: World) -> None:
    """A `refresh` while `access_token` is refreshing the realm joins it: one call."""
    await store(world, minted(world, 1))
    world.expire_access()
    service, transport = scripted(world, answer(2))
    token, status = await asyncio.gather(
        service.access_token(world.realm), service.refresh(world.realm)
    )
    assert token == "access-2"
    assert status.state is ConnectionState.CONNECTED
    assert len(transport.requests) == 1


async def test_revoke_sends_the_refresh_token_and_marks_the_tokens_revoked(world: World) -> None:
    """`revoke` posts the stored refresh token to Intuit, then keeps the tokens marked
    `revoked_at` now; the status says REVOKED since then."""
    tokens = minted(world, 1)
    await store(world, tokens)
    service, transport = scripted(world, HttpResponse(status=200))
    assert await service.revoke(world.realm) is True
    now = world.clock.now()
    assert transport.last_request.url == world.config.revocation_endpoint
    assert sent(transport.last_request) == {"token": "refresh-1"}
    assert await world.tokens.load(world.realm) == VersionedTokenSet(
        tokens=attrs.evolve(tokens, revoked_at=now), version=2
    )
    status = await service.status(world.realm)
    assert (status.state, status.since) == (ConnectionState.REVOKED, now)


async def test_revoke_marks_tokens_stored_while_intuit_answered(world: World) -> None:
    """Revoking ends the whole grant: tokens another worker stored meanwhile (a refresh) are
    the ones marked revoked."""
    await store(world, minted(world, 1))
    service, _ = scripted(world, HttpResponse(status=200))
    newer = minted(world, 2)
    world.tokens.before_next_write(lambda: store(world, newer))
    assert await service.revoke(world.realm) is True
    assert await world.tokens.load(world.realm) == VersionedTokenSet(
        tokens=attrs.evolve(newer, revoked_at=world.clock.now()), version=3
    )


async def test_revoke_racing_a_disconnect_does_not_bring_the_tokens_back(world: World) -> None:
    """Tokens deleted while Intuit answered the revoke: True, and nothing is stored again."""
    await store(world, minted(world, 1))
    service, _ = scripted(world, HttpResponse(status=200))
    world.tokens.before_next_write(lambda: world.tokens.delete(world.realm))
    assert await service.revoke(world.realm) is True
    assert await world.tokens.load(world.realm) is None


async def test_disconnect_revokes_the_grant_then_deletes_the_tokens(world: World) -> None:
    """`disconnect` revokes the stored refresh token at Intuit (while still stored), then
    deletes the tokens: True. With nothing stored: False, Intuit not asked."""
    await store(world, minted(world, 1))
    held: list[bool] = []

    async def intuit(request: HttpRequest) -> HttpResponse:
        held.append(await world.tokens.load(world.realm) is not None)
        return HttpResponse(status=200)

    transport = FakeTransport(intuit)
    service = world.service(transport=transport)
    assert await service.disconnect(world.realm) is True
    assert [(r.url, sent(r)) for r in transport.requests] == [
        (world.config.revocation_endpoint, {"token": "refresh-1"})
    ]
    assert held == [True]
    assert await world.tokens.load(world.realm) is None
    assert await service.disconnect(world.realm) is False
    assert len(transport.requests) == 1


async def test_disconnect_of_revoked_tokens_deletes_without_asking_intuit(world: World) -> None:
    """Tokens already marked revoked are deleted without another revoke."""
    await store(world, minted(world, 1, revoked_at=world.clock.now()))
    service, transport = scripted(world)
    assert await service.disconnect(world.realm) is True
    assert transport.requests == []
    assert await world.tokens.load(world.realm) is None


async def test_disconnect_of_a_grant_intuit_refuses_as_dead_still_deletes(world: World) -> None:
    """Intuit answering the revoke with `invalid_grant` (the grant is dead already): the
    tokens are deleted all the same."""
    await store(world, minted(world, 1))
    service, _ = scripted(world, refused())
    assert await service.disconnect(world.realm) is True
    assert await world.tokens.load(world.realm) is None


async def test_disconnect_keeps_the_tokens_when_the_revoke_fails(world: World) -> None:
    """Any other revoke failure (here a 503) is raised, and nothing is deleted."""
    stored = await store(world, minted(world, 1))
    service, _ = scripted(world, refused("server_error", status=503))
    with pytest.raises(ServerError):
        await service.disconnect(world.realm)
    assert await world.tokens.load(world.realm) == stored


async def test_disconnect_revokes_and_deletes_tokens_stored_meanwhile(world: World) -> None:
    """A new grant stored between the revoke and the delete (a reconnect, a refresh) is
    revoked and deleted too: no grant outlives the disconnect."""
    await store(world, minted(world, 1))
    ok = HttpResponse(status=200)
    service, transport = scripted(world, ok, ok)
    world.tokens.before_next_write(lambda: store(world, minted(world, 2)))
    assert await service.disconnect(world.realm) is True
    assert [sent(r)["token"] for r in transport.requests] == ["refresh-1", "refresh-2"]
    assert await world.tokens.load(world.realm) is None


async def test_status_reports_each_state_with_its_expiries(world: World) -> None:
    """`status` from the store alone: DISCONNECTED (nothing stored), CONNECTED with the three
    expiries, NEEDS_REAUTHORIZATION past the refresh token's expiry (no `since`) or when
    marked (since the mark), REVOKED since the revoke."""
    service, transport = scripted(world)
    assert await service.status(world.realm) == ConnectionStatus(
        realm_id=world.realm, state=ConnectionState.DISCONNECTED
    )
    tokens = minted(world, 1, refresh_in=100 * 86_400, hard_in=200 * 86_400)
    await store(world, tokens)
    expiries = {
        "access_token_expires_at": tokens.access_token_expires_at,
        "refresh_token_expires_at": tokens.refresh_token_expires_at,
        "refresh_token_hard_expires_at": tokens.refresh_token_hard_expires_at,
    }
    assert await service.status(world.realm) == ConnectionStatus(
        realm_id=world.realm, state=ConnectionState.CONNECTED, **expiries
    )
    world.clock.set_now(tokens.refresh_token_expires_at)
    assert await service.status(world.realm) == ConnectionStatus(
        realm_id=world.realm, state=ConnectionState.NEEDS_REAUTHORIZATION, **expiries
    )
    marked_at = world.clock.now() - timedelta(days=1)
    await store(world, attrs.evolve(tokens, reauthorization_required_at=marked_at))
    assert await service.status(world.realm) == ConnectionStatus(
        realm_id=world.realm,
        state=ConnectionState.NEEDS_REAUTHORIZATION,
        since=marked_at,
        **expiries,
    )
    await store(
        world, attrs.evolve(tokens, revoked_at=marked_at, reauthorization_required_at=marked_at)
    )
    assert (await service.status(world.realm)).state is ConnectionState.REVOKED
    assert transport.requests == []


async def test_status_reads_expiring_from_exactly_expiring_within_before_the_expiry(
    world: World,
) -> None:
    """EXPIRING once the refresh token's expiry is `expiring_within` away or nearer
    (inclusive); CONNECTED a microsecond earlier."""
    tokens = minted(world, 1)
    await store(world, tokens)
    service, _ = scripted(world, expiring_within=timedelta(days=10))
    edge = tokens.refresh_token_expires_at - timedelta(days=10)
    world.clock.set_now(edge - timedelta(microseconds=1))
    assert (await service.status(world.realm)).state is ConnectionState.CONNECTED
    world.clock.set_now(edge)
    assert (await service.status(world.realm)).state is ConnectionState.EXPIRING
