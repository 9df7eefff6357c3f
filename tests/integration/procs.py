"""Helpers for the multi-process refresh tests: the emulator's HTTP door, worker processes.

The emulator runs in the test's own event loop behind its real HTTP door on loopback,
so its request log and control API are read directly. Workers are fresh interpreters
(`sys.executable -m tests.integration.refresh_worker`, never a fork of the test
process and its event loop), spoken to in JSON lines over stdin / stdout; each is
SIGKILLed on the way out of `WorkerProcess.running` whatever happened, and its stderr is
kept in a file that failures quote.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.server import HandlerServer, serve_emulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.file.lock import FileLock
from qbo_adapters.memory.clock import SystemClock
from qbo_adapters.sql.token_store import SqlTokenStore
from qbo_core.dtos import TokenSet, VersionedTokenSet
from qbo_core.ports.lock import Lock
from qbo_core.ports.token_store import TokenStore
from tests.integration.refresh_worker import TOKEN_PATH, fingerprint, make_config

__all__ = [
    "BACKENDS",
    "TOKEN_PATH",
    "Backend",
    "WorkerProcess",
    "expire_access_everywhere",
    "fingerprint",
    "make_config",
    "seed_tokens",
    "served_emulator",
    "worker_spec",
]

REPO = Path(__file__).resolve().parents[2]
#: How long a worker may take to start (imports included) or to answer one message.
ANSWER_TIMEOUT = 60.0


@contextlib.asynccontextmanager
async def served_emulator(**settings: Any) -> AsyncIterator[tuple[QBOEmulator, HandlerServer]]:
    """An emulator on the system clock (one empty company, no throttling) behind its HTTP door."""
    values: dict[str, Any] = {"size": "empty", "throttle": False, "seed": 9}
    values.update(settings)
    emulator = QBOEmulator(EmulatorSettings(**values), clock=SystemClock())
    server = await serve_emulator(emulator)
    try:
        yield emulator, server
    finally:
        await server.close()


async def seed_tokens(emulator: QBOEmulator, store: TokenStore, realm: str) -> VersionedTokenSet:
    """Mint a grant for `realm` and store it with its access token already expired locally."""
    payload = emulator.control.mint_tokens(realm)
    now = emulator.clock.now()
    tokens = TokenSet(
        access_token=payload["access_token"],
        refresh_token=payload["refresh_token"],
        access_token_expires_at=now - timedelta(hours=1),
        refresh_token_expires_at=now + timedelta(seconds=payload["x_refresh_token_expires_in"]),
        realm_id=realm,
    )
    emulator.control.expire_tokens("access", realm_id=realm)
    return await store.save(realm, tokens, expected_version=None)


async def expire_access_everywhere(
    emulator: QBOEmulator, store: TokenStore, realm: str
) -> VersionedTokenSet:
    """Expire the realm's access token in the store (by compare-and-set) and at the emulator."""
    current = await store.load(realm)
    assert current is not None
    expired = attrs.evolve(
        current.tokens, access_token_expires_at=emulator.clock.now() - timedelta(hours=1)
    )
    saved = await store.save(realm, expired, expected_version=current.version)
    assert emulator.control.expire_tokens("access", realm_id=realm) >= 1
    return saved


class WorkerProcess:
    """One `refresh_worker` interpreter and the JSON-lines conversation with it."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, spec: dict[str, Any], log: Path) -> AsyncIterator[WorkerProcess]:
        """Start a worker on `spec`; SIGKILL it (if still alive) and reap it on the way out."""
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.integration.refresh_worker",
                json.dumps(spec),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                cwd=REPO,
            )
        worker = cls(process, log)
        try:
            yield worker
        finally:
            worker.kill()
            await process.wait()

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(ConnectionError):  # a dead worker shows up in receive()
            self.process.stdin.write((json.dumps(message) + "\n").encode())

    async def receive(self, patience: float = ANSWER_TIMEOUT) -> dict[str, Any]:
        """The worker's next message; AssertionError (quoting its stderr) if it ended instead."""
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), patience)
        if not line:
            await self.process.wait()
            raise AssertionError(
                f"worker {self.pid} ended (exit {self.process.returncode}) without answering; "
                f"stderr:\n{self.stderr()}"
            )
        message: dict[str, Any] = json.loads(line)
        return message

    async def drain(self, patience: float = ANSWER_TIMEOUT) -> list[dict[str, Any]]:
        """Every complete message left in the pipe, up to its end (call after `kill`).

        A line cut short by the kill (no newline) is not a message and is dropped.
        """
        assert self.process.stdout is not None
        rest = await asyncio.wait_for(self.process.stdout.read(), patience)
        lines = rest.split(b"\n")[:-1]  # the last piece is empty, or a cut line
        return [json.loads(line) for line in lines if line]

    def kill(self) -> None:
        """SIGKILL the worker, if it is still running."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def worker_spec(
    role: str,
    *,
    emulator: QBOEmulator,
    realm: str,
    store: dict[str, Any],
    lock: dict[str, Any],
    lock_lease: float,
    lock_wait: float,
    **extra: Any,
) -> dict[str, Any]:
    """What `refresh_worker` needs: role, where the emulator is, the shared backend, the lease."""
    return {
        "role": role,
        "base_url": emulator.base_url,
        "client_id": emulator.settings.client_id,
        "client_secret": emulator.settings.client_secret,
        "realm": realm,
        "store": store,
        "lock": lock,
        "lock_lease": lock_lease,
        "lock_wait": lock_wait,
        **extra,
    }


@attrs.frozen(kw_only=True)
class Backend:
    """The shared store and lock as the test process sees them, and as a worker names them."""

    store: TokenStore
    lock: Lock
    store_spec: dict[str, Any]
    lock_spec: dict[str, Any]


@contextlib.asynccontextmanager
async def sqlite_and_file_lock(directory: Path, clock: SystemClock) -> AsyncIterator[Backend]:
    from tests.adapters.sql_databases import disposing, sqlite_engine

    path = directory / "tokens.sqlite3"
    engine = sqlite_engine(path)
    async with disposing(engine):
        yield Backend(
            store=SqlTokenStore(engine),
            lock=FileLock(directory / "locks", clock),
            store_spec={"kind": "sqlite", "path": str(path)},
            lock_spec={"kind": "file", "directory": str(directory / "locks")},
        )


@contextlib.asynccontextmanager
async def redis_store_and_lock(directory: Path, clock: SystemClock) -> AsyncIterator[Backend]:
    from qbo_adapters.redis.lock import RedisLock
    from qbo_adapters.redis.token_store import RedisTokenStore
    from tests.adapters.redis_server import redis_client

    async with redis_client() as (client, prefix):
        yield Backend(
            store=RedisTokenStore(client, prefix=prefix),
            lock=RedisLock(client, clock, prefix=prefix),
            store_spec={"kind": "redis", "prefix": prefix},
            lock_spec={"kind": "redis", "prefix": prefix},
        )


@contextlib.asynccontextmanager
async def postgres_store_and_redis_lock(
    directory: Path, clock: SystemClock
) -> AsyncIterator[Backend]:
    pytest.importorskip("asyncpg", reason="the postgres extra (asyncpg) is not installed")
    from qbo_adapters.redis.lock import RedisLock
    from tests.adapters.redis_server import redis_client
    from tests.adapters.sql_databases import disposing, postgres_engine, postgres_schema

    async with postgres_schema() as schema, redis_client() as (client, prefix):
        engine = postgres_engine(schema)
        async with disposing(engine):
            yield Backend(
                store=SqlTokenStore(engine),
                lock=RedisLock(client, clock, prefix=prefix),
                store_spec={"kind": "postgres", "schema": schema},
                lock_spec={"kind": "redis", "prefix": prefix},
            )


BACKENDS = {
    "sqlite+filelock": sqlite_and_file_lock,
    "redis+redislock": redis_store_and_lock,
    "postgres+redislock": postgres_store_and_redis_lock,
}
