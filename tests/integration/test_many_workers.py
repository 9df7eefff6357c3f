"""Many worker processes, one shared token store: exactly one refresh per rotation.

What is proven, over real OS processes and real HTTP on loopback: the emulator serves
its HTTP door with `rotation_window=0` (every refresh rotates the refresh token) and
`old_refresh_token_grace=0` (a superseded refresh token gets `invalid_grant` at once,
the strictest reading of Intuit's sources). A realm's tokens are stored with the access
token expired both in the store and at the emulator. Four worker interpreters
(`refresh_worker`, started with `sys.executable`, never forked from the test) each build
their own `QBOAuthService` on the shared backend and a real `AiohttpTransport`, wait at a
start barrier (a line on stdin, written to all four at once), and make 50 concurrent
calls: `access_token(realm)` and then a CompanyInfo read with that token. Three rounds,
the access token expired again (store by compare-and-set, emulator by its control API)
before each, so each round is one rotation.

Per round, from the emulator's request log: exactly one POST to the token endpoint (the
only grant these workers can send is `refresh_token`), answered 200, hence no
`invalid_grant`; 200 CompanyInfo reads, all 200; every worker reports 50 successes; the
stored version went up by exactly one and holds a new refresh token. At the end a fresh
service in the test process refreshes once more with the stored refresh token and reads
with the result: with no grace this works only if the store holds the emulator's current
refresh token.

Backends: SQLite file store + `FileLock`; `RedisTokenStore` + `RedisLock`; PostgreSQL
`SqlTokenStore` + `RedisLock`. The grace caveat (what happens to an answer lost in a
crash) is `test_refresh_crash.py`'s subject.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.memory.clock import SystemClock
from qbo_adapters.memory.event_sinks import RecordingEventSink
from qbo_adapters.memory.state_store import MemoryStateStore
from qbo_core.dtos import RealmAuth
from qbo_core.services import QBOAuthService, QBORawClient
from tests.integration.procs import (
    BACKENDS,
    TOKEN_PATH,
    Backend,
    WorkerProcess,
    expire_access_everywhere,
    make_config,
    seed_tokens,
    served_emulator,
    worker_spec,
)

WORKERS = 4
CALLS = 50
ROUNDS = 3


@pytest.fixture(
    params=[
        "sqlite+filelock",
        pytest.param("redis+redislock", marks=pytest.mark.redis),
        pytest.param("postgres+redislock", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Backend, Path]]:
    with tempfile.TemporaryDirectory(prefix="qbo-workers-") as directory:
        async with BACKENDS[request.param](Path(directory), SystemClock()) as made:
            yield made, Path(directory)


def token_posts(emulator: QBOEmulator, since: int) -> list[int | None]:
    """The statuses of the token-endpoint requests logged from position `since` on."""
    return [e.status for e in list(emulator.request_log)[since:] if e.path == TOKEN_PATH]


def data_reads(emulator: QBOEmulator, since: int, realm: str) -> list[int | None]:
    """The statuses of the CompanyInfo reads logged from position `since` on."""
    path = f"/v3/company/{realm}/companyinfo/{realm}"
    return [e.status for e in list(emulator.request_log)[since:] if e.path == path]


async def test_many_worker_processes_refresh_once_per_rotation(
    backend: tuple[Backend, Path],
) -> None:
    """4 processes x 50 concurrent calls per round: one refresh per round, no invalid_grant,
    every call succeeds, and the stored refresh token is the emulator's current one."""
    shared, directory = backend
    async with served_emulator(rotation_window=0, old_refresh_token_grace=0) as (emulator, _):
        realm = emulator.realm_ids[0]
        seeded = await seed_tokens(emulator, shared.store, realm)
        spec = worker_spec(
            "many",
            emulator=emulator,
            realm=realm,
            store=shared.store_spec,
            lock=shared.lock_spec,
            lock_lease=30.0,
            lock_wait=60.0,
            calls=CALLS,
        )
        async with contextlib.AsyncExitStack() as stack:
            workers = [
                await stack.enter_async_context(
                    WorkerProcess.running(spec, directory / f"worker-{n}.log")
                )
                for n in range(WORKERS)
            ]
            for worker in workers:
                assert await worker.receive() == {"ready": True}
            previous = seeded
            for round_number in range(ROUNDS):
                if round_number:
                    previous = await expire_access_everywhere(emulator, shared.store, realm)
                mark = len(emulator.request_log)
                for worker in workers:  # the start barrier: released for all at once
                    worker.send({"go": round_number})
                reports = await asyncio.gather(*(worker.receive() for worker in workers))
                for report in reports:
                    assert report == {"round": round_number, "ok": CALLS, "errors": []}
                assert token_posts(emulator, mark) == [200], f"round {round_number}"
                reads = data_reads(emulator, mark, realm)
                assert reads == [200] * (WORKERS * CALLS), f"round {round_number}"
                stored = await shared.store.load(realm)
                assert stored is not None
                assert stored.version == previous.version + 1
                assert stored.tokens.refresh_token != previous.tokens.refresh_token
                assert stored.tokens.usable
            for worker in workers:
                worker.send({"exit": True})
            for worker in workers:
                assert await asyncio.wait_for(worker.process.wait(), 30) == 0, worker.stderr()
        assert len(emulator.request_log) < 10_000  # the log kept every request counted

        # The stored refresh token is the emulator's current one: with no grace, only it
        # can be refreshed once more (and the result read with).
        await expire_access_everywhere(emulator, shared.store, realm)
        mark = len(emulator.request_log)
        clock = SystemClock()
        config = make_config(
            emulator.base_url,
            client_id=emulator.settings.client_id,
            client_secret=emulator.settings.client_secret,
        )
        async with aiohttp.ClientSession() as session:
            transport = AiohttpTransport(session)
            auth = QBOAuthService(
                transport=transport,
                config=config,
                token_store=shared.store,
                lock=shared.lock,
                state_store=MemoryStateStore(clock),
                clock=clock,
                events=RecordingEventSink(),
            )
            token = await auth.access_token(realm)
            info = await QBORawClient(transport, config).company_info(
                RealmAuth(realm_id=realm, access_token=token)
            )
        assert info.company_name
        assert token_posts(emulator, mark) == [200]
