"""A connected world for the smart sync tests: one emulator on a fake clock, the memory
adapters, the raw client and auth service on the emulator's in-process door, and
`SmartSyncService`s made on them.

`CountingPermits` is the test's `Permits`: it grants at once (holding a realm back after
`throttled`, like `UnlimitedPermits`) and counts what it granted, what is in flight and
every `throttled` call, so tests assert on what the limiter saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from qbo_adapters.emulator.app import LoggedRequest, QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory import (
    AsyncioLock,
    FakeClock,
    MemoryCache,
    MemoryStateStore,
    MemoryTokenStore,
    RecordingEventSink,
)
from qbo_core.config import QBOConfig
from qbo_core.dtos import RealmAuth, TokenSet
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.ports.cache import Cache
from qbo_core.ports.http_transport import HttpTransport
from qbo_core.services.auth import QBOAuthService
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.smart_sync import ReadCoalescer, SmartSyncService, UnlimitedPermits
from qbo_core.wire import oauth
from tests.emulator_config import emulator_config

BASE = "http://emulator.invalid"
REDIRECT = "http://localhost:8765/callback"
CLIENT = "sync-test-client"
SECRET = "sync-test-secret-value-0123456789"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"


def make_config() -> QBOConfig:
    return emulator_config(BASE, client_id=CLIENT, client_secret=SECRET, redirect_uri=REDIRECT)


class CountingPermits:
    """A `Permits` that grants at once and counts (see the module docstring)."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self._inner = UnlimitedPermits(clock)
        self.granted = 0
        self.batch_granted = 0
        self.in_flight = 0
        self.peak = 0
        self.throttles: list[tuple[str, float | None, float]] = []

    @contextlib.asynccontextmanager
    async def permit(self, realm_id: str, *, batch: bool = False) -> AsyncIterator[None]:
        async with self._inner.permit(realm_id, batch=batch):
            self.granted += 1
            self.batch_granted += int(batch)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            try:
                yield
            finally:
                self.in_flight -= 1

    async def throttled(self, realm_id: str, *, retry_after: float | None) -> None:
        self.throttles.append((realm_id, retry_after, self._clock.monotonic()))
        await self._inner.throttled(realm_id, retry_after=retry_after)


class Door:
    """An `HttpTransport` in front of the emulator: `answer(request)` may replace a data
    request's answer (return a response) or let it through (return `None`)."""

    def __init__(
        self,
        inner: HttpTransport,
        answer: Callable[[HttpRequest], HttpResponse | None],
    ) -> None:
        self._inner = inner
        self._answer = answer

    async def send(self, request: HttpRequest) -> HttpResponse:
        replaced = self._answer(request)
        return replaced if replaced is not None else await self._inner.send(request)


class SyncWorld:
    """One emulator (throttling off unless asked) and the services of one worker."""

    def __init__(self, **settings: Any) -> None:
        self.clock = FakeClock()
        values: dict[str, Any] = {
            "client_id": CLIENT,
            "client_secret": SECRET,
            "redirect_uris": (REDIRECT,),
            "throttle": False,
        }
        values.update(settings)
        self.emulator = QBOEmulator(EmulatorSettings(**values), clock=self.clock, base_url=BASE)
        self.transport: HttpTransport = EmulatorTransport(self.emulator)
        self.config = make_config()
        self.tokens = MemoryTokenStore()
        self.events = RecordingEventSink()
        self.cache: Cache = MemoryCache(self.clock)
        self.permits = CountingPermits(self.clock)
        self.coalescer = ReadCoalescer()
        self.realm = self.emulator.realm_ids[0]
        self.lock = AsyncioLock(self.clock)
        self.states = MemoryStateStore(self.clock)
        self.auth = self.auth_service()
        self.raw = QBORawClient(self.transport, self.config, events=self.events, clock=self.clock)

    def auth_service(self, cls: type[QBOAuthService] = QBOAuthService) -> QBOAuthService:
        return cls(
            transport=self.transport,
            config=self.config,
            token_store=self.tokens,
            lock=self.lock,
            state_store=self.states,
            clock=self.clock,
            events=self.events,
        )

    def sync(self, **options: Any) -> SmartSyncService:
        return SmartSyncService(
            "business-1",
            options.pop("realm_id", self.realm),
            raw_client=options.pop("raw_client", self.raw),
            auth=options.pop("auth", self.auth),
            limiter=options.pop("limiter", self.permits),
            cache=options.pop("cache", self.cache),
            clock=self.clock,
            events=self.events,
            config=self.config,
            coalescer=options.pop("coalescer", self.coalescer),
            **options,
        )

    def through(self, answer: Callable[[HttpRequest], HttpResponse | None]) -> QBORawClient:
        """A raw client whose data requests pass `answer` first (see `Door`)."""
        return QBORawClient(
            Door(self.transport, answer), self.config, events=self.events, clock=self.clock
        )

    async def connect(self) -> TokenSet:
        """Store freshly minted tokens for the realm, as a completed connection would."""
        payload = self.emulator.control.mint_tokens(self.realm)
        response = HttpResponse(status=200, body=json.dumps(payload).encode())
        tokens = oauth.decode_token_response(
            response, now=self.clock.now(), config=self.config, realm_id=self.realm
        )
        await self.tokens.save(self.realm, tokens, expected_version=None)
        return tokens

    async def raw_auth(self) -> RealmAuth:
        """The realm and its current access token, for checking state with the raw client."""
        return RealmAuth(realm_id=self.realm, access_token=await self.auth.access_token(self.realm))

    def data_requests(self, contains: str = "") -> list[LoggedRequest]:
        """The emulator's log of data-API requests whose path contains `contains`."""
        return [
            entry
            for entry in self.emulator.request_log
            if entry.path.startswith("/v3/company/") and contains in entry.path
        ]

    def token_calls(self) -> int:
        return sum(1 for entry in self.emulator.request_log if entry.path == TOKEN_PATH)


async def eventually(predicate: Callable[[], bool], *, turns: int = 200) -> None:
    """Let the loop run until `predicate()` holds."""
    for _ in range(turns):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")
