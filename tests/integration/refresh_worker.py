"""A worker process for the multi-process refresh tests (`python -m` this module, SPEC).

SPEC is one JSON object (see `procs.worker_spec`). The worker builds its own
`QBOAuthService` over the shared backend named in it (SQLite file, Redis or PostgreSQL
token store; file or Redis lock), a real `AiohttpTransport` to the emulator's HTTP door
and a `QBORawClient`, prints `{"ready": true}` and then talks with the parent in JSON
lines, one object per line, on stdin / stdout:

- role `many`: for each `{"go": n}` it makes `calls` concurrent calls, each
  `access_token(realm)` then a CompanyInfo read with that token, and answers
  `{"round": n, "ok": <successes>, "errors": [<error names>]}`; `{"exit": true}` or the
  end of stdin ends it.
- role `crash`: after `{"go": 0, "pause": <bool>}` it refreshes and reads CompanyInfo in a loop (the
  emulator's short access tokens make every `access_token` call a refresh), reporting
  checkpoints as it goes: `send` (a refresh is about to be sent), `answered` (Intuit's
  answer arrived, not saved yet), `saving` (the save is starting), `saved`, `ok` (the
  data request with the new token succeeded). With `pause` it waits for a line from the
  parent after each checkpoint, so the parent can kill it exactly there. It never ends
  by itself before `max_refreshes` (the parent kills it).

Refresh tokens never cross the pipe: checkpoints carry a short SHA-256 prefix of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.file.lock import FileLock
from qbo_adapters.memory.clock import SystemClock
from qbo_adapters.memory.event_sinks import RecordingEventSink
from qbo_adapters.memory.state_store import MemoryStateStore
from qbo_adapters.sql.token_store import SqlTokenStore
from qbo_core.config import QBOConfig
from qbo_core.dtos import RealmAuth, TokenSet, VersionedTokenSet
from qbo_core.errors import QBOError
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.ports.http_transport import HttpTransport
from qbo_core.ports.lock import Lock
from qbo_core.ports.token_store import TokenStore
from qbo_core.services import QBOAuthService, QBORawClient
from tests.emulator_config import emulator_config

__all__ = ["TOKEN_PATH", "fingerprint", "main", "make_config"]

TOKEN_PATH = "/oauth2/v1/tokens/bearer"


def fingerprint(token: str) -> str:
    """A short, one-way name for a token, safe to print and to send over a pipe."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def make_config(base_url: str, *, client_id: str, client_secret: str) -> QBOConfig:
    """The client configuration for the emulator served at `base_url`."""
    return emulator_config(base_url, client_id=client_id, client_secret=client_secret)


class Reporter:
    """Writes JSON lines to stdout; with `pause`, waits for the parent's line after each one."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self.pause = False

    async def checkpoint(self, name: str, **fields: Any) -> None:
        write({"cp": name, **fields})
        if self.pause:
            line = await self._reader.readline()
            if not line:
                raise SystemExit(3)  # the parent went away


class CheckpointTransport:
    """Reports `send` and `answered` around every call to the token endpoint."""

    def __init__(self, inner: HttpTransport, reporter: Reporter) -> None:
        self._inner = inner
        self._reporter = reporter

    async def send(self, request: HttpRequest) -> HttpResponse:
        if not request.url.endswith(TOKEN_PATH):
            return await self._inner.send(request)
        await self._reporter.checkpoint("send")
        response = await self._inner.send(request)
        issued = ""
        with contextlib.suppress(ValueError, AttributeError):
            issued = fingerprint(json.loads(response.body)["refresh_token"])
        await self._reporter.checkpoint("answered", status=response.status, rt=issued)
        return response


class CheckpointTokenStore:
    """Reports `saving` and `saved` around every save."""

    def __init__(self, inner: TokenStore, reporter: Reporter) -> None:
        self._inner = inner
        self._reporter = reporter

    async def ping(self) -> None:
        await self._inner.ping()

    async def load(self, realm_id: str) -> VersionedTokenSet | None:
        return await self._inner.load(realm_id)

    async def save(
        self, realm_id: str, tokens: TokenSet, *, expected_version: int | None
    ) -> VersionedTokenSet:
        await self._reporter.checkpoint(
            "saving", expected=expected_version, rt=fingerprint(tokens.refresh_token)
        )
        saved = await self._inner.save(realm_id, tokens, expected_version=expected_version)
        await self._reporter.checkpoint(
            "saved", version=saved.version, rt=fingerprint(saved.tokens.refresh_token)
        )
        return saved

    async def delete(self, realm_id: str, *, expected_version: int | None = None) -> bool:
        return await self._inner.delete(realm_id, expected_version=expected_version)


def write(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


@contextlib.asynccontextmanager
async def backend(
    spec: dict[str, Any], clock: SystemClock
) -> AsyncIterator[tuple[TokenStore, Lock]]:
    """The token store and lock SPEC names, their clients closed on the way out."""
    async with contextlib.AsyncExitStack() as stack:
        store_spec, lock_spec = spec["store"], spec["lock"]
        redis_client: Any = None
        if "redis" in (store_spec["kind"], lock_spec["kind"]):
            import redis.asyncio

            from tests.adapters.redis_server import TEST_DB

            redis_client = redis.asyncio.Redis(host="127.0.0.1", port=6379, db=TEST_DB)
            stack.push_async_callback(redis_client.aclose)
        store: TokenStore
        if store_spec["kind"] == "sqlite":
            from tests.adapters.sql_databases import sqlite_engine

            engine = sqlite_engine(Path(store_spec["path"]))
            stack.push_async_callback(engine.dispose)
            store = SqlTokenStore(engine)
        elif store_spec["kind"] == "postgres":
            from tests.adapters.sql_databases import postgres_engine

            engine = postgres_engine(store_spec["schema"])
            stack.push_async_callback(engine.dispose)
            store = SqlTokenStore(engine)
        else:
            from qbo_adapters.redis.token_store import RedisTokenStore

            store = RedisTokenStore(redis_client, prefix=store_spec["prefix"])
        lock: Lock
        if lock_spec["kind"] == "file":
            lock = FileLock(lock_spec["directory"], clock)
        else:
            from qbo_adapters.redis.lock import RedisLock

            lock = RedisLock(redis_client, clock, prefix=lock_spec["prefix"])
        yield store, lock


async def run(spec: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    clock = SystemClock()
    config = make_config(
        spec["base_url"], client_id=spec["client_id"], client_secret=spec["client_secret"]
    )
    realm = spec["realm"]
    reporter = Reporter(reader)
    async with (
        aiohttp.ClientSession() as session,
        backend(spec, clock) as (store, lock),
    ):
        transport: HttpTransport = AiohttpTransport(session)
        if spec["role"] == "crash":
            transport = CheckpointTransport(transport, reporter)
            store = CheckpointTokenStore(store, reporter)
        auth = QBOAuthService(
            transport=transport,
            config=config,
            token_store=store,
            lock=lock,
            state_store=MemoryStateStore(clock),
            clock=clock,
            events=RecordingEventSink(max_events=1000),
            lock_lease=spec["lock_lease"],
            lock_wait=spec["lock_wait"],
        )
        client = QBORawClient(transport, config, clock=clock)

        async def call() -> None:
            token = await auth.access_token(realm)
            await client.company_info(RealmAuth(realm_id=realm, access_token=token))

        write({"ready": True})
        while True:
            line = await reader.readline()
            if not line:
                return
            message = json.loads(line)
            if "exit" in message:
                return
            if spec["role"] == "many":
                outcomes = await asyncio.gather(
                    *(call() for _ in range(spec["calls"])), return_exceptions=True
                )
                errors = [type(o).__name__ for o in outcomes if isinstance(o, BaseException)]
                write({"round": message["go"], "ok": len(outcomes) - len(errors), "errors": errors})
            else:
                reporter.pause = bool(message.get("pause"))
                for _ in range(spec["max_refreshes"]):
                    try:
                        await call()
                    except QBOError as exc:
                        write({"cp": "error", "error": type(exc).__name__})
                        return
                    await reporter.checkpoint("ok")
                return


def main() -> None:
    spec = json.loads(sys.argv[1])
    asyncio.run(run(spec))


if __name__ == "__main__":
    main()
