"""Every adapter and fake satisfies its port: for mypy --strict, and by real signatures.

`conforming_adapters` assigns each adapter to a variable annotated with its port, so
mypy checks every method's types. At run time, `runtime_checkable` protocols only
compare method names; `test_every_adapter_has_its_ports_signatures` compares what a
caller depends on instead: parameter names, kinds and defaults, and async-ness.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio
from sqlalchemy.ext.asyncio import create_async_engine

import qbo_adapters.crypto
import qbo_adapters.file
import qbo_adapters.memory
import qbo_adapters.redis
import qbo_adapters.sql
from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.crypto.token_store import EncryptedTokenStore
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.file.lock import FileLock
from qbo_adapters.memory.cache import MemoryCache
from qbo_adapters.memory.clock import FakeClock, SystemClock
from qbo_adapters.memory.event_sinks import FanOutEventSink, LoggingEventSink, RecordingEventSink
from qbo_adapters.memory.fake_transport import FakeTransport
from qbo_adapters.memory.lock import AsyncioLock
from qbo_adapters.memory.mirror import MemoryMirror
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.memory.state_store import MemoryStateStore
from qbo_adapters.memory.token_store import MemoryTokenStore
from qbo_adapters.redis.cache import RedisCache
from qbo_adapters.redis.lock import RedisLock
from qbo_adapters.redis.quota_store import RedisQuotaStore
from qbo_adapters.redis.state_store import RedisStateStore
from qbo_adapters.redis.token_store import RedisTokenStore
from qbo_adapters.sql.mirror import SqlMirror
from qbo_adapters.sql.state_store import SqlStateStore
from qbo_adapters.sql.token_store import SqlTokenStore
from qbo_core import ports
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.ports import (
    Cache,
    Clock,
    EventSink,
    HttpTransport,
    Lock,
    Mirror,
    QuotaStore,
    StateStore,
    TokenStore,
)


def _ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=200)


async def _async_ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=200)


def conforming_adapters(
    session: aiohttp.ClientSession, client: redis.asyncio.Redis, directory: str
) -> list[tuple[type[Any], object]]:
    """Every adapter and fake, each assigned to its port (mypy checks the assignments)."""
    fake_clock = FakeClock()
    system_clock: Clock = SystemClock()
    virtual_clock: Clock = fake_clock
    memory_cache: Cache = MemoryCache(fake_clock)
    memory_token_store: TokenStore = MemoryTokenStore()
    sql_token_store: TokenStore = SqlTokenStore(create_async_engine("sqlite+aiosqlite://"))
    encrypted_token_store: TokenStore = EncryptedTokenStore(
        MemoryTokenStore(), keys=[EncryptedTokenStore.generate_key()]
    )
    asyncio_lock: Lock = AsyncioLock(fake_clock)
    memory_quota_store: QuotaStore = MemoryQuotaStore(fake_clock)
    memory_state_store: StateStore = MemoryStateStore(fake_clock)
    sql_state_store: StateStore = SqlStateStore(
        create_async_engine("sqlite+aiosqlite://"), fake_clock
    )
    memory_mirror: Mirror = MemoryMirror()
    sql_mirror: Mirror = SqlMirror(create_async_engine("sqlite+aiosqlite://"))
    logging_sink: EventSink = LoggingEventSink()
    recording_sink: EventSink = RecordingEventSink()
    fan_out_sink: EventSink = FanOutEventSink(logging_sink, recording_sink)
    fake_transport: HttpTransport = FakeTransport(_ok)
    aiohttp_transport: HttpTransport = AiohttpTransport(session)
    emulator_transport: HttpTransport = EmulatorTransport(_async_ok)
    redis_cache: Cache = RedisCache(client, fake_clock)
    redis_token_store: TokenStore = RedisTokenStore(client)
    redis_lock: Lock = RedisLock(client, fake_clock)
    redis_quota_store: QuotaStore = RedisQuotaStore(client, fake_clock)
    redis_state_store: StateStore = RedisStateStore(client, fake_clock)
    file_lock: Lock = FileLock(directory, fake_clock)
    return [
        (Clock, system_clock),
        (Clock, virtual_clock),
        (Cache, memory_cache),
        (TokenStore, memory_token_store),
        (TokenStore, sql_token_store),
        (TokenStore, encrypted_token_store),
        (Lock, asyncio_lock),
        (QuotaStore, memory_quota_store),
        (StateStore, memory_state_store),
        (StateStore, sql_state_store),
        (Mirror, memory_mirror),
        (Mirror, sql_mirror),
        (EventSink, logging_sink),
        (EventSink, recording_sink),
        (EventSink, fan_out_sink),
        (HttpTransport, fake_transport),
        (HttpTransport, aiohttp_transport),
        (HttpTransport, emulator_transport),
        (Cache, redis_cache),
        (TokenStore, redis_token_store),
        (Lock, redis_lock),
        (QuotaStore, redis_quota_store),
        (StateStore, redis_state_store),
        (Lock, file_lock),
    ]


def _port_methods(port: type[Any]) -> list[str]:
    """The methods a port declares (its protocol members)."""
    return sorted(
        name
        for name, member in vars(port).items()
        if not name.startswith("_") and inspect.isfunction(member)
    )


def _shape(function: Any) -> tuple[bool, list[tuple[str, str, object]]]:
    """What a caller relies on: async-ness, and each parameter's name, kind and default."""
    parameters = [
        (parameter.name, parameter.kind.name, parameter.default)
        for parameter in inspect.signature(function).parameters.values()
    ]
    return inspect.iscoroutinefunction(function), parameters


def signature_mismatches(port: type[Any], adapter: type[Any]) -> list[str]:
    """How `adapter`'s methods differ from `port`'s in names, kinds, defaults or async-ness."""
    problems: list[str] = []
    for name in _port_methods(port):
        implementation = inspect.getattr_static(adapter, name, None)
        if not inspect.isfunction(implementation):
            problems.append(f"{adapter.__name__}.{name} is missing or not a plain method")
            continue
        expected, actual = _shape(getattr(port, name)), _shape(implementation)
        if expected != actual:
            problems.append(f"{adapter.__name__}.{name}: expected {expected}, got {actual}")
    return problems


async def test_every_adapter_has_its_ports_signatures(tmp_path: Path) -> None:
    """Each adapter's port methods match the port's parameters, defaults and async-ness."""
    async with aiohttp.ClientSession() as session, redis.asyncio.Redis() as client:
        pairs = conforming_adapters(session, client, str(tmp_path))
    problems = [
        problem for port, adapter in pairs for problem in signature_mismatches(port, type(adapter))
    ]
    assert problems == []


async def test_every_port_and_every_adapter_is_covered(tmp_path: Path) -> None:
    """The table names every port of `qbo_core.ports` and every adapter shipped for one."""
    async with aiohttp.ClientSession() as session, redis.asyncio.Redis() as client:
        pairs = conforming_adapters(session, client, str(tmp_path))
    covered_ports = {port for port, _ in pairs}
    declared_ports = {
        value
        for name in ports.__all__
        if getattr(value := getattr(ports, name), "_is_protocol", False)
    }
    assert covered_ports == declared_ports
    covered_adapters = {type(adapter) for _, adapter in pairs}
    shipped = {getattr(qbo_adapters.memory, name) for name in qbo_adapters.memory.__all__}
    shipped |= {getattr(qbo_adapters.sql, name) for name in qbo_adapters.sql.__all__}
    shipped |= {getattr(qbo_adapters.crypto, name) for name in qbo_adapters.crypto.__all__}
    shipped |= {getattr(qbo_adapters.redis, name) for name in qbo_adapters.redis.__all__}
    shipped |= {getattr(qbo_adapters.file, name) for name in qbo_adapters.file.__all__}
    shipped |= {AiohttpTransport, EmulatorTransport}
    assert covered_adapters == shipped


# -- the check itself fails on a wrong signature ------------------------------------------


class _RenamedParameter:
    async def ping(self) -> None: ...
    async def put(self, name: str, value: bytes, *, ttl: float) -> None: ...
    async def take(self, key: str) -> bytes | None: ...
    async def claim(self, key: str, *, ttl: float) -> bool:
        return True


class _PositionalTtl:
    async def ping(self) -> None: ...
    async def put(self, key: str, value: bytes, ttl: float) -> None: ...
    async def take(self, key: str) -> bytes | None: ...
    async def claim(self, key: str, *, ttl: float) -> bool:
        return True


class _ExtraDefault:
    async def ping(self) -> None: ...
    async def put(self, key: str, value: bytes, *, ttl: float = 60) -> None: ...
    async def take(self, key: str) -> bytes | None: ...
    async def claim(self, key: str, *, ttl: float) -> bool:
        return True


class _NotAsync:
    async def ping(self) -> None: ...
    async def put(self, key: str, value: bytes, *, ttl: float) -> None: ...
    def take(self, key: str) -> bytes | None: ...
    async def claim(self, key: str, *, ttl: float) -> bool:
        return True


class _Missing:
    async def ping(self) -> None: ...
    async def put(self, key: str, value: bytes, *, ttl: float) -> None: ...
    async def claim(self, key: str, *, ttl: float) -> bool:
        return True


class _Exact:
    async def ping(self) -> None: ...
    async def put(self, key: str, value: bytes, *, ttl: float) -> None: ...
    async def take(self, key: str) -> bytes | None: ...
    async def claim(self, key: str, *, ttl: float) -> bool:
        return True


@pytest.mark.parametrize(
    ("adapter", "wrong"),
    [
        (_RenamedParameter, "put"),
        (_PositionalTtl, "put"),
        (_ExtraDefault, "put"),
        (_NotAsync, "take"),
        (_Missing, "take"),
    ],
)
def test_a_wrong_signature_is_reported(adapter: type[Any], wrong: str) -> None:
    """A renamed parameter, a changed kind or default, a sync method or a gap is caught."""
    (problem,) = signature_mismatches(StateStore, adapter)
    assert problem.startswith(f"{adapter.__name__}.{wrong}")


@pytest.mark.parametrize("adapter", [_RenamedParameter, _PositionalTtl, _ExtraDefault, _NotAsync])
def test_isinstance_alone_would_accept_the_wrong_signatures(adapter: type[Any]) -> None:
    """The runtime protocol check passes these (it compares names only): hence the check."""
    assert isinstance(adapter(), StateStore)


def test_an_exact_signature_is_accepted() -> None:
    """An adapter whose methods match the port's exactly has no mismatch."""
    assert signature_mismatches(StateStore, _Exact) == []
