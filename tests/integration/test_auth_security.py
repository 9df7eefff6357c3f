"""Security proof of the connection lifecycle: no credential ever leaves in text, state is
single-use, expiring and bound, and tokens at rest are ciphertext.

One run goes connect → refreshes with rotation → invalid_grant → reconnect → revoke →
disconnect through `QBOSetupService` and `QBOAuthService` against the emulator, over an
`EncryptedTokenStore` on a real SQLite file, with every log record (root logger, DEBUG:
SQLAlchemy's statement logging included), every event as the services emitted it, every
error raised on purpose (str, repr, detail, traceback) and the repr of every object
involved captured. Every token, code and secret the emulator issued (read from its
answers on the wire, and from its own records) is then searched for in all of it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import traceback
from collections.abc import Awaitable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from qbo_adapters.crypto import EncryptedTokenStore
from qbo_adapters.memory import (
    FakeTransport,
    FanOutEventSink,
    LoggingEventSink,
    RecordingEventSink,
)
from qbo_adapters.sql import SqlTokenStore
from qbo_core.dtos import QBOEvent, RealmAuth
from qbo_core.errors import (
    AuthorizationCallbackError,
    AuthorizationDeniedError,
    QBOError,
    ReauthorizationRequiredError,
    ServerError,
    TokenRevokedError,
)
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.services.raw_client import QBORawClient
from tests.adapters.sql_databases import disposing, sqlite_engine
from tests.core.setup_world import SECRET, TOKEN_PATH, SetupWorld

REFRESHES = 4


class _RawSink:
    """Keeps events exactly as the services emitted them (the recorder scrubs; this not)."""

    def __init__(self) -> None:
        self.events: list[QBOEvent] = []

    def emit(self, event: QBOEvent) -> None:
        self.events.append(event)


class _Everything(logging.Handler):
    """Every record: formatted (with its traceback) and its whole `__dict__`."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.texts.append(repr(vars(record)))


@pytest.fixture
def root_debug() -> Iterator[_Everything]:
    handler = _Everything()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


class _Wire:
    """The emulator behind a transport that notes every credential it hands out."""

    def __init__(self, world: SetupWorld) -> None:
        self.world = world
        self.secrets: set[str] = set()
        self.refresh_tokens: list[str] = []
        self.transport = FakeTransport(self._send)

    async def _send(self, request: HttpRequest) -> HttpResponse:
        answer = await self.world.emulator.handle(request)
        self.note(answer)
        return answer

    def note(self, answer: HttpResponse) -> None:
        if answer.status == 302:
            query = parse_qs(urlsplit(answer.headers.get("location") or "").query)
            self.secrets.update(query.get("code", []))
        if answer.status == 200 and answer.body.startswith(b"{"):
            body = json.loads(answer.body)
            for key in ("access_token", "refresh_token", "id_token"):
                if isinstance(body.get(key), str):
                    self.secrets.add(body[key])
            if isinstance(body.get("refresh_token"), str):
                self.refresh_tokens.append(body["refresh_token"])


async def test_no_credential_reaches_logs_events_errors_or_reprs(
    root_debug: _Everything, tmp_path: Path
) -> None:
    """The whole lifecycle, errors provoked on the way: not one issued token, code or the
    client secret appears in any log record, event, error or repr; the file holds only
    ciphertext."""
    database = tmp_path / "tokens.sqlite3"
    engine = sqlite_engine(database)
    async with disposing(engine):
        inner = SqlTokenStore(engine)
        store = EncryptedTokenStore(inner, keys=[EncryptedTokenStore.generate_key()])
        world = SetupWorld(token_store=store, rotation_window=0.0)
        wire = _Wire(world)
        raw_events = _RawSink()
        recorder = RecordingEventSink()
        sink = FanOutEventSink(recorder, LoggingEventSink(level=logging.DEBUG), raw_events)
        setup = world.setup(transport=wire.transport, events=sink)
        auth = world.auth(transport=wire.transport, events=sink)
        raw = QBORawClient(wire.transport, world.config, events=sink, clock=world.clock)
        errors: list[BaseException] = []

        async def consent(url: str, realm: str | None = None) -> dict[str, str]:
            chosen = realm or world.realm
            answer = await wire.transport.send(
                HttpRequest(method="GET", url=f"{url}&realmId={chosen}")
            )
            location = answer.headers.get("location") or ""
            return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

        async def refused(kind: type[QBOError], call: Awaitable[object]) -> None:
            with pytest.raises(kind) as caught:
                await call
            errors.append(caught.value)

        # Connect.
        request = await setup.begin("biz-1")
        first = await consent(request.authorization_url)
        connection = await setup.complete("biz-1", first)
        assert connection.company_name
        # Replayed callback, foreign business, tampered and expired state.
        await refused(AuthorizationCallbackError, setup.complete("biz-1", first))
        other = await setup.begin("biz-2")
        await refused(
            AuthorizationCallbackError,
            setup.complete("biz-1", await consent(other.authorization_url)),
        )
        tampered = await setup.begin("biz-1")
        params = await consent(tampered.authorization_url)
        params["state"] = params["state"][::-1]
        await refused(AuthorizationCallbackError, setup.complete("biz-1", params))
        late = await setup.begin("biz-1")
        late_params = await consent(late.authorization_url)
        world.clock.advance(601)
        await refused(AuthorizationCallbackError, setup.complete("biz-1", late_params))
        # Refreshes, each rotating the refresh token; one data call with each access token.
        for _ in range(REFRESHES):
            world.clock.advance(3600)
            token = await auth.access_token(world.realm)
            await raw.company_info(RealmAuth(realm_id=world.realm, access_token=token))
        assert len(set(wire.refresh_tokens)) == len(wire.refresh_tokens) == 1 + REFRESHES
        # A token endpoint answering HTML; then the user disconnects in QBO: invalid_grant.
        world.emulator.control.add_fault(
            {"route": {"path": TOKEN_PATH}, "trigger": {"next": 1}, "effect": {"kind": "html"}}
        )
        world.clock.advance(3600)
        await refused(ServerError, auth.access_token(world.realm))
        world.emulator.control.revoke_tokens(realm_id=world.realm)
        await refused(ReauthorizationRequiredError, auth.access_token(world.realm))
        # A reconnect declined once, then completed; a wrong-company callback on the way.
        reconnect = await setup.reconnect_url("biz-1", world.realm)
        assert reconnect is not None
        await refused(
            AuthorizationCallbackError,
            setup.complete("biz-1", await consent(reconnect.authorization_url, world.other_realm)),
        )
        declined = await setup.begin("biz-1", realm_id=world.realm)
        await refused(
            AuthorizationDeniedError,
            setup.complete("biz-1", {"error": "access_denied", "state": declined.state}),
        )
        again = await setup.reconnect_url("biz-1", world.realm)
        assert again is not None
        await setup.complete("biz-1", await consent(again.authorization_url))
        world.clock.advance(3600)
        await auth.access_token(world.realm)
        # Revoke, refused use, disconnect.
        assert await auth.revoke(world.realm) is True
        await refused(TokenRevokedError, auth.access_token(world.realm))
        status = await setup.status("biz-1", world.realm)
        before_disconnect = await store.load(world.realm)
        assert await setup.disconnect(world.realm) is True
        assert await store.load(world.realm) is None

        # Everything the emulator issued, from the wire and from its own records.
        issued = set(wire.secrets)
        issued |= set(world.emulator.oauth._access_tokens)
        issued |= set(world.emulator.oauth._refresh_tokens)
        issued |= set(world.emulator.oauth._codes)
        issued.add(SECRET)
        assert len(issued) >= 2 * (1 + REFRESHES) + 2  # codes, access and refresh tokens
        assert all(len(secret) >= 20 for secret in issued)

        texts = list(root_debug.texts)
        texts += [repr(event) for event in raw_events.events]
        texts += [json.dumps(dict(event.attributes), default=str) for event in raw_events.events]
        texts += [repr(event) for event in recorder.events]
        for error in errors:
            texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
            if isinstance(error, QBOError):
                texts += [str(error.detail), str(getattr(error, "body_excerpt", ""))]
        texts += [
            repr(item)
            for item in (
                setup,
                auth,
                raw,
                store,
                inner,
                world.config,
                world.states,
                world.lock,
                connection,
                request,
                reconnect,
                status,
                before_disconnect,
                await auth.status(world.realm),
            )
        ]
        blob = "\n".join(texts)
        assert "connection.completed" in blob  # the capture did capture
        assert "qbo_tokens" in blob  # SQLAlchemy's statements were logged at DEBUG
        # The whole value, or its random tail (a truncated copy still gives it away).
        leaked = sorted(
            secret[:8] + "..." for secret in issued if secret in blob or secret[-16:] in blob
        )
        assert leaked == []

        # At rest: connected again, the rows and the file's bytes hold ciphertext only.
        request = await setup.begin("biz-1")
        await setup.complete("biz-1", await consent(request.authorization_url))
        loaded = await store.load(world.realm)
        assert loaded is not None
        every = issued | {loaded.tokens.access_token, loaded.tokens.refresh_token}
        with sqlite3.connect(database) as db:
            rows = db.execute("SELECT access_token, refresh_token FROM qbo_tokens").fetchall()
        assert len(rows) == 1
        for cell in rows[0]:
            assert cell
            assert not any(secret in cell for secret in every)
        files = [path for path in database.parent.iterdir() if path.is_file()]
        at_rest = b"".join(path.read_bytes() for path in files)
        assert not [secret[:8] for secret in every if secret.encode() in at_rest]
