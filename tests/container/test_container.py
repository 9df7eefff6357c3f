"""The container: builds with nothing configured, reads every settings source, swaps providers."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from qbo_adapters.file.lock import FileLock
from qbo_adapters.memory.cache import MemoryCache
from qbo_adapters.memory.clock import FakeClock, SystemClock
from qbo_adapters.memory.event_sinks import FanOutEventSink, LoggingEventSink, RecordingEventSink
from qbo_adapters.memory.lock import AsyncioLock
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.memory.state_store import MemoryStateStore
from qbo_adapters.memory.token_store import MemoryTokenStore
from qbo_adapters.sql.state_store import SqlStateStore
from qbo_adapters.sql.token_store import SqlTokenStore
from qbo_container import QBOContainer, build_container, load_settings, shutdown
from qbo_core.config import QBOConfig
from qbo_core.errors import ConfigurationError
from qbo_core.services.health import HealthRecorder


async def _resolved(value: object) -> object:
    return await value if inspect.isawaitable(value) else value


async def test_container_builds_every_port_with_no_configuration() -> None:
    """A bare QBOContainer() yields the embedded defaults (each adapter held to its port by
    tests/test_port_conformance.py): SQLite tokens and states, a file lock, memory for the
    rest; the SQL ones are awaitable, on the engine resource."""
    container = QBOContainer()
    try:
        assert type(container.clock()) is SystemClock
        assert type(container.cache()) is MemoryCache
        assert type(await _resolved(container.token_store())) is SqlTokenStore
        assert type(container.lock()) is FileLock
        assert type(container.quota_store()) is MemoryQuotaStore
        assert type(await _resolved(container.state_store())) is SqlStateStore
        assert isinstance(container.qbo_config(), QBOConfig)
        events = container.event_sink()
        assert isinstance(events, FanOutEventSink)
        assert [type(sink) for sink in events.sinks] == [LoggingEventSink, HealthRecorder]
    finally:
        await shutdown(container)


def test_memory_backends_are_plain_values() -> None:
    """With the memory backends chosen, every port resolves synchronously, no resource used."""
    container = build_container({"token_store": {"backend": "memory"}}, environ={})
    assert type(container.token_store()) is MemoryTokenStore
    assert type(container.lock()) is AsyncioLock
    assert type(container.state_store()) is MemoryStateStore


def test_singletons_are_shared_within_one_container_only() -> None:
    """Each container owns its adapters: the same object within it, a different one in another."""
    memory = {"token_store": {"backend": "memory"}}
    first, second = build_container(memory, environ={}), build_container(memory, environ={})
    assert first.token_store() is first.token_store()
    assert first.token_store() is not second.token_store()


def test_build_container_applies_dict_settings() -> None:
    """Explicit settings reach the providers: the API config and the chosen event backend."""
    container = build_container(
        {"api": {"client_id": "abc", "minor_version": "75"}, "events": {"backend": "recording"}},
        environ={},
    )
    assert container.qbo_config().client_id == "abc"
    assert isinstance(container.event_backend(), RecordingEventSink)
    assert container.event_sink().sinks == (
        container.event_backend(),
        container.health_recorder(),
    )


def test_environment_variables_override_the_file_and_the_dict_overrides_both(
    tmp_path: Path,
) -> None:
    """Sources merge in order: defaults < TOML file < QBO_* variables < explicit dict."""
    file = tmp_path / "qbo.toml"
    file.write_text('[api]\nclient_id = "from-file"\nenvironment = "production"\n')
    settings = load_settings(file=file, environ={"QBO_API__CLIENT_ID": "from-env"})
    assert settings["api"]["client_id"] == "from-env"
    assert settings["api"]["environment"] == "production"
    settings = load_settings(
        {"api": {"client_id": "from-dict"}},
        file=file,
        environ={"QBO_API__CLIENT_ID": "from-env"},
    )
    assert settings["api"]["client_id"] == "from-dict"


def test_unknown_backend_is_a_configuration_error_naming_the_field() -> None:
    """Choosing a backend that does not exist fails early, naming `<section>.backend`."""
    with pytest.raises(ConfigurationError) as caught:
        build_container({"cache": {"backend": "memcached"}}, environ={})
    assert caught.value.field == "cache.backend"
    assert "memcached" in str(caught.value)


def test_unknown_section_and_bad_file_are_configuration_errors(tmp_path: Path) -> None:
    """A misspelt section or an unreadable / invalid TOML file is reported, not ignored."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"cahce": {"backend": "memory"}}, environ={})
    assert caught.value.field == "cahce"
    bad = tmp_path / "bad.toml"
    bad.write_text("[api\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_settings(file=bad, environ={})
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_settings(file=tmp_path / "missing.toml", environ={})


def test_invalid_api_setting_is_reported_when_the_container_is_built() -> None:
    """A bad QBOConfig value fails build_container itself, naming `api.<setting>`."""
    with pytest.raises(ConfigurationError) as caught:
        build_container({"api": {"minor_version": "12"}}, environ={})
    assert caught.value.field == "api.minor_version"


def test_check_dependencies_passes_on_a_built_container() -> None:
    """The container declares no unmet dependency: check_dependencies() raises nothing."""
    build_container(environ={}).check_dependencies()
    QBOContainer().check_dependencies()


def test_the_emulator_settings_reach_the_embedded_emulator() -> None:
    """emulator.* settings shape the container's emulator: realms, seed and throttling."""
    container = build_container(
        {"emulator": {"realms": 2, "seed": 3, "throttle": False, "size": "empty"}}, environ={}
    )
    emulator = container.emulator()
    assert len(emulator.realm_ids) == 2
    assert emulator.settings.seed == 3
    assert emulator.settings.throttle is False
    assert emulator.settings.size == "empty"


def test_any_provider_can_be_overridden_with_a_fake() -> None:
    """Hosts swap adapters for fakes with override(), and the rest of the graph follows."""
    container = QBOContainer()
    fake = FakeClock()
    with container.clock.override(fake):
        current: object = container.clock()
        assert current is fake
        cache = container.cache()
    assert isinstance(container.clock(), SystemClock)
    assert isinstance(cache, MemoryCache)


def test_importing_the_container_starts_nothing() -> None:
    """Importing qbo_container creates no thread, event loop, socket or adapter."""
    probe = (
        "import threading, asyncio, socket\n"
        "opened = []\n"
        "real = socket.socket.__init__\n"
        "def spy(self, *a, **k):\n"
        "    opened.append(a)\n"
        "    real(self, *a, **k)\n"
        "socket.socket.__init__ = spy\n"
        "import qbo_container, qbo_container.cli, qbo_container.emulator_command\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert not opened, opened\n"
        "try:\n"
        "    asyncio.get_running_loop()\n"
        "    raise SystemExit('a loop is running')\n"
        "except RuntimeError:\n"
        "    pass\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
