"""A connected world for the setup tests: one emulator, shared stores, the two services.

`SetupWorld.setup()` builds a `QBOSetupService` over a `QBOAuthService` on the emulator's
in-process door; `consent()` plays the user on Intuit's screen (GET with a `realmId`
hint, or the consent form's Cancel) and returns the callback's query parameters.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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
from qbo_core.config import QBOConfig
from qbo_core.http import HttpRequest
from qbo_core.ports.event_sink import EventSink
from qbo_core.ports.http_transport import HttpTransport
from qbo_core.ports.token_store import TokenStore
from qbo_core.services.auth import QBOAuthService
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.setup import QBOSetupService
from tests.emulator_config import emulator_config

BASE = "http://emulator.invalid"
REDIRECT = "http://localhost:8765/callback"
CLIENT = "setup-test-client"
SECRET = "setup-test-secret-value-0123456789"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
AUTHORIZE_PATH = "/connect/oauth2"


def make_config() -> QBOConfig:
    return emulator_config(BASE, client_id=CLIENT, client_secret=SECRET, redirect_uri=REDIRECT)


class SetupWorld:
    """One emulator (two companies), shared stores, and services made on them."""

    def __init__(self, *, token_store: TokenStore | None = None, **settings: Any) -> None:
        self.clock = FakeClock()
        values: dict[str, Any] = {
            "client_id": CLIENT,
            "client_secret": SECRET,
            "redirect_uris": (REDIRECT,),
            "throttle": False,
            "realms": 2,
        }
        values.update(settings)
        self.emulator = QBOEmulator(EmulatorSettings(**values), clock=self.clock, base_url=BASE)
        self.transport = EmulatorTransport(self.emulator)
        self.config = make_config()
        self.tokens: TokenStore = token_store if token_store is not None else MemoryTokenStore()
        self.lock = AsyncioLock(self.clock)
        self.states = MemoryStateStore(self.clock)
        self.events = RecordingEventSink()
        self.realm, self.other_realm = self.emulator.realm_ids[:2]

    def auth(
        self,
        *,
        transport: HttpTransport | None = None,
        events: EventSink | None = None,
        **options: Any,
    ) -> QBOAuthService:
        return QBOAuthService(
            transport=transport or self.transport,
            config=self.config,
            token_store=self.tokens,
            lock=self.lock,
            state_store=self.states,
            clock=self.clock,
            events=events or self.events,
            **options,
        )

    def setup(
        self,
        *,
        transport: HttpTransport | None = None,
        events: EventSink | None = None,
        **options: Any,
    ) -> QBOSetupService:
        sink = events or self.events
        raw = QBORawClient(transport or self.transport, self.config, events=sink, clock=self.clock)
        limiter = options.pop("limiter", None)
        return QBOSetupService(
            auth=self.auth(transport=transport, events=sink, **options),
            raw_client=raw,
            clock=self.clock,
            events=sink,
            limiter=limiter,
        )

    def calls(self, path: str) -> int:
        return sum(1 for entry in self.emulator.request_log if entry.path == path)

    async def consent(self, url: str, *, realm_id: str | None = None) -> dict[str, str]:
        """The callback's query parameters after the user picks `realm_id` and connects."""
        chosen = realm_id or self.realm
        answer = await self.transport.send(HttpRequest(method="GET", url=f"{url}&realmId={chosen}"))
        assert answer.status == 302, answer.status
        return _callback_params(answer.headers.get("location") or "")

    async def decline(self, url: str) -> dict[str, str]:
        """The callback's query parameters after the user presses Cancel on the consent form."""
        query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
        query["decision"] = "cancel"
        answer = await self.transport.send(
            HttpRequest(
                method="POST",
                url=f"{BASE}{AUTHORIZE_PATH}",
                headers=[("Content-Type", "application/x-www-form-urlencoded")],
                body=urlencode(query).encode(),
            )
        )
        assert answer.status == 302, answer.status
        return _callback_params(answer.headers.get("location") or "")


def _callback_params(location: str) -> dict[str, str]:
    assert location.startswith(REDIRECT), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
